// DtlsTransport: one DTLS 1.2 association for DTLS-SRTP (RFC 5763, RFC 5764; roles per RFC 8842),
// over OpenSSL 3 without a socket. Sans-I/O:
//   on_datagram(bytes, now)   a datagram the demultiplexer classified as DTLS (RFC 7983: 20..63)
//   pop_outgoing()            datagrams to send to the peer, in order
//   next_wakeup()/process()   the retransmission timer (DTLSv1_get_timeout/DTLSv1_handle_timeout)
//                             and the handshake's overall deadline
//   send_application() / pop_application()   application data records (SCTP, later)
//   srtp_keys()               the negotiated profile and exported master keys, once connected
//
// What it negotiates: DTLS 1.2 only (OpenSSL 3.0 has no DTLS 1.3; a ClientHello that also offers
// 1.3 is answered with 1.2, since a DTLS server reads only legacy_version), ECDHE-ECDSA with
// AES-128-GCM or ChaCha20-Poly1305, groups X25519 then P-256, the extended master secret (RFC 7627;
// required by default: a peer without it is refused), `use_srtp` with the configured profiles (GCM
// first: the server's order decides, RFC 5764 4.1.1), mutual certificates. The peer's certificate is
// self-signed and is accepted only when its digest equals the SDP fingerprint (RFC 8122 5); if the
// fingerprint is not known yet when the handshake ends, the transport waits for
// set_remote_fingerprint() before it reports kConnected (the answer may arrive after the
// peer's first flight).
//
// States: kNew -> kConnecting (start(), or a server's first datagram) -> kConnected -> kClosed
// (close(), or the peer's close_notify); kFailed from any state before kClosed, with a reason
// (failure_reason(), static text) and OpenSSL's error text (failure_detail()).
//
// Bounds and policies:
//  - outgoing: at most max_outgoing datagrams queued; when full a new datagram is dropped and
//    counted (like a full socket buffer; the handshake retransmits, application data is refused).
//  - received application data: at most max_received_application records; when full the newest is
//    dropped and counted (SCTP above recovers it); the caller drains pop_application() after each
//    on_datagram().
//  - datagrams larger than kMaxDatagramSize, or whose DTLSPlaintext record framing is broken
//    (truncated record, unknown content type, not a DTLS version, a protected record too short to
//    hold the AEAD nonce and tag, which OpenSSL 3.0 would turn into a fatal internal_error), are
//    dropped and counted before OpenSSL sees them; records OpenSSL discards (bad MAC, replay, stale epoch) are counted as
//    discarded_records and never break an established association.
//  - handshake: retransmission timeout from initial_retransmit doubling to max_retransmit; the
//    association fails if it is not connected handshake_timeout after start.
//
// Time: `now` is the driver's clock. OpenSSL reads gettimeofday() for its retransmission timer; a
// simulation links dtls/openssl_virtual_clock.h's override so that OpenSSL sees virtual time.
// Not thread-safe: one transport is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/dtls/certificate_fingerprint.h"
#include "tern/dtls/dtls_certificate.h"
#include "tern/dtls/dtls_setup.h"
#include "tern/dtls/dtls_srtp_keys.h"

namespace tern::dtls {

enum class DtlsState : uint8_t { kNew, kConnecting, kConnected, kClosed, kFailed };
std::string_view to_string(DtlsState state);

struct DtlsConfig {
  DtlsRole role = DtlsRole::kServer;
  std::shared_ptr<const DtlsCertificate> certificate;  // required
  // The peer's a=fingerprint; may instead be given later with set_remote_fingerprint().
  std::optional<CertificateFingerprint> remote_fingerprint;
  // use_srtp profiles in preference order (dtls_srtp_keys.h constants). Empty: no use_srtp (for
  // tests of a data-only association; WebRTC always negotiates it).
  std::vector<uint16_t> srtp_profiles = {kSrtpAeadAes128Gcm, kSrtpAeadAes256Gcm, kSrtpAes128CmSha1_80};
  // Fail the handshake when the peer does not negotiate use_srtp (with a non-empty list above).
  bool require_srtp = true;
  // Fail the handshake when the peer does not negotiate the extended master secret (RFC 7627).
  bool require_extended_master_secret = true;
  // Largest datagram the transport emits (DTLS record layer, before UDP/IP), 256..16384.
  size_t mtu = 1200;
  TimeDelta initial_retransmit = TimeDelta::Millis(200);
  TimeDelta max_retransmit = TimeDelta::Seconds(3);
  TimeDelta handshake_timeout = TimeDelta::Seconds(30);
  size_t max_outgoing = 256;               // datagrams
  size_t max_received_application = 256;  // records
};

struct DtlsCounters {
  uint64_t datagrams_received = 0;    // handed to on_datagram
  uint64_t bytes_received = 0;
  uint64_t datagrams_sent = 0;        // produced for pop_outgoing
  uint64_t bytes_sent = 0;
  uint64_t malformed_datagrams = 0;   // framing broken or oversized: dropped before OpenSSL
  uint64_t discarded_records = 0;     // application records that yielded nothing (bad MAC, replay, epoch)
  uint64_t ignored_datagrams = 0;     // arrived while kNew (client), kClosed or kFailed
  uint64_t retransmissions = 0;       // retransmission timer expiries that resent a flight
  uint64_t outgoing_dropped = 0;      // outgoing queue full
  uint64_t application_sent = 0;      // records
  uint64_t application_received = 0;  // records queued for pop_application
  uint64_t application_dropped = 0;   // received queue full
  uint64_t fingerprint_mismatches = 0;
};

class DtlsTransport {
 public:
  // Largest datagram accepted: one maximal DTLS 1.2 ciphertext record (2^14 + 2048 + 13 bytes).
  static constexpr size_t kMaxDatagramSize = 16384 + 2048 + 13;
  // Largest application record (DTLS plaintext limit); see max_application_size() for the MTU.
  static constexpr size_t kMaxApplicationSize = 16384;

  // Validates the config and sets up OpenSSL; fails with a reason (no certificate, bad MTU, ...).
  static Result<std::unique_ptr<DtlsTransport>> Create(DtlsConfig config);
  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  // Begins the handshake: a client queues its ClientHello, a server waits for one. Idempotent.
  void start(Timestamp now);
  // One datagram from the peer. A server in kNew starts on it.
  void on_datagram(std::span<const uint8_t> datagram, Timestamp now);
  // The next datagram to send, oldest first; nullopt when none.
  std::optional<std::vector<uint8_t>> pop_outgoing();
  bool has_outgoing() const { return !outgoing_.empty(); }

  // Retransmission deadline or handshake deadline while connecting; nullopt otherwise.
  std::optional<Timestamp> next_wakeup() const;
  void process(Timestamp now);

  // Sets (or replaces, before it was checked) the peer's fingerprint. When the handshake already
  // ended, the peer's certificate is checked now: kConnected on a match, kFailed otherwise.
  void set_remote_fingerprint(CertificateFingerprint fingerprint, Timestamp now);

  // One application data record (kConnected only; at most max_application_size() bytes).
  Status send_application(std::span<const uint8_t> data, Timestamp now);
  // The oldest received application record; nullopt when none (and while the peer is not yet
  // authenticated; records received before a close stay available).
  std::optional<std::vector<uint8_t>> pop_application();
  // Largest application record that still fits one datagram of `mtu` (DTLS_get_data_mtu), once
  // the cipher is known; kMaxApplicationSize before.
  size_t max_application_size() const;

  // Sends close_notify (when connected) and moves to kClosed. Idempotent.
  void close(Timestamp now);

  DtlsState state() const { return state_; }
  DtlsRole role() const { return config_.role; }
  // Why kFailed or kClosed (static text), "" otherwise; failure_detail() adds OpenSSL's errors.
  const char* failure_reason() const { return reason_ ? reason_ : ""; }
  const std::string& failure_detail() const { return detail_; }
  // Negotiated parameters (kConnected and after): "DTLSv1.2", the IANA cipher suite name
  // ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), the SRTP keys (nullopt without use_srtp).
  const std::string& tls_version() const { return tls_version_; }
  const std::string& cipher_suite() const { return cipher_suite_; }
  const std::optional<DtlsSrtpKeys>& srtp_keys() const { return srtp_keys_; }
  // The peer's certificate (DER) once received, empty before.
  const std::vector<uint8_t>& remote_certificate() const { return remote_certificate_; }
  std::optional<Timestamp> connected_at() const { return connected_at_; }
  const DtlsCounters& counters() const { return counters_; }

  // For the OpenSSL callbacks in dtls_transport.cpp; not part of the API.
  struct Impl;

 private:
  explicit DtlsTransport(DtlsConfig config);
  static ssl_ctx_st* shared_context(const DtlsCertificate& certificate);
  void pump(Timestamp now);
  void on_handshake_done(Timestamp now);
  bool fingerprint_matches() const;
  size_t min_protected_record() const;
  uint16_t negotiated_record_version() const;
  void read_application(Timestamp now);
  void update_timer(Timestamp now);
  void fail(const char* reason, Timestamp now);
  void emit(std::span<const uint8_t> datagram);

  DtlsConfig config_;
  std::unique_ptr<Impl> impl_;
  DtlsState state_ = DtlsState::kNew;
  const char* reason_ = nullptr;
  std::string detail_;
  bool handshake_done_ = false;  // OpenSSL finished; kConnected once the fingerprint matched too
  std::optional<Timestamp> handshake_deadline_;
  std::optional<Timestamp> retransmit_at_;
  std::optional<Timestamp> connected_at_;
  std::deque<std::vector<uint8_t>> outgoing_;
  std::deque<std::vector<uint8_t>> received_;
  std::string tls_version_;
  std::string cipher_suite_;
  std::optional<DtlsSrtpKeys> srtp_keys_;
  std::vector<uint8_t> remote_certificate_;
  DtlsCounters counters_;
};

}  // namespace tern::dtls
