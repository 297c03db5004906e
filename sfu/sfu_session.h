// SfuSession: the transport stack of one WHIP or WHEP resource on the server, sans-I/O: an ICE-lite
// agent (RFC 8445 2.5, controlled, the server's one UDP address as its only candidate) -> RFC 7983
// demultiplexing -> DTLS-SRTP (RFC 5764; the role the server's answer gave it) -> one SRTP session
// per direction. What it decrypts goes to a MediaPacketSink (the SfuServer hands it to its media
// router); what the router sends it is protected and sent on the selected pair.
//
// The session never sees a socket: SfuServer routes a datagram here (by STUN USERNAME, then by
// the 5-tuple ICE validated) and sends what take_outgoing() returns from its one UDP socket, or, for
// an ICE-TCP pair (IceOutgoing::socket == kTcpSocket), on the TCP connection to that peer.
// Bad input (unauthenticated STUN, DTLS from nowhere, SRTP that fails authentication) is counted
// and dropped by the layer that sees it; it never reaches another session.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/core/datagram_sink.h"
#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/dtls/certificate_fingerprint.h"
#include "tern/dtls/dtls_certificate.h"
#include "tern/dtls/dtls_setup.h"
#include "tern/dtls/dtls_transport.h"
#include "tern/ice/ice_agent.h"
#include "tern/transport/srtp_session.h"

namespace tern::sfu {

struct SfuSessionConfig {
  ice::IceCredentials local;   // the server's ufrag/pwd for this session (from its answer)
  ice::IceCredentials remote;  // the client's (from its offer)
  ice::TransportAddress server_address;  // the one UDP socket's address: the host candidate
  // ICE-TCP (RFC 6544): the server's passive TCP candidate, a second local socket of the agent
  // (kTcpSocket; the lite agent needs nothing else: it answers checks on whichever socket they came).
  std::optional<ice::TransportAddress> tcp_address;
  std::shared_ptr<const dtls::DtlsCertificate> certificate;
  dtls::CertificateFingerprint remote_fingerprint;
  dtls::DtlsRole role = dtls::DtlsRole::kClient;  // the server's role, from the answer's a=setup
  // Which implementation protects and unprotects the session's SRTP once DTLS keys it (the same
  // bytes on the wire either way: transport/srtp_evp.h).
  transport::SrtpBackend srtp_backend = transport::SrtpBackend::kOpenSsl;
  uint64_t seed = 1;
};

struct SfuSessionCounters {
  uint64_t datagrams_received = 0;
  uint64_t datagrams_sent = 0;
  uint64_t bytes_received = 0;  // UDP payload bytes, every datagram routed here
  uint64_t bytes_sent = 0;      // UDP payload bytes handed out by take_outgoing()
  uint64_t media_before_srtp = 0;      // RTP/RTCP received before DTLS keyed SRTP: dropped
  uint64_t media_out_before_srtp = 0;  // RTP/RTCP the router sent before SRTP was keyed: dropped
  uint64_t srtp_unprotect_failures = 0;
  uint64_t srtp_protect_failures = 0;
  uint64_t unknown_datagrams = 0;      // neither STUN, DTLS nor RTP/RTCP (from the validated pair)
  // Datagrams from an address ICE has not validated are the agent's (stats().dropped_not_stun).
  uint64_t ice_send_failures = 0;      // no selected pair (or consent) for an outgoing packet
};

class SfuSession {
 public:
  // The agent's local sockets: what arrives on / goes out by each (IceOutgoing::socket).
  static constexpr ice::SocketId kUdpSocket = 0;
  static constexpr ice::SocketId kTcpSocket = 1;  // any of the server's ICE-TCP connections

  // Where decrypted RTP and RTCP go (the server's router leg).
  class MediaPacketSink {
   public:
    virtual ~MediaPacketSink() = default;
    virtual void on_media(std::span<const uint8_t> packet, Timestamp now) = 0;
  };

  // Creates the agent and the DTLS transport (a client starts once ICE selects a pair).
  static Result<std::unique_ptr<SfuSession>> Create(const SfuSessionConfig& config, Timestamp now);
  ~SfuSession();
  SfuSession(const SfuSession&) = delete;
  SfuSession& operator=(const SfuSession&) = delete;

  void set_media_sink(MediaPacketSink* sink) { media_sink_ = sink; }
  // Called once when the session queues a datagram while nothing was queued since the last
  // take_outgoing() (the server then takes only the sessions that have something to send, instead
  // of asking every session at every flush). It must not call back into the session.
  void set_outgoing_notify(std::function<void()> notify) { notify_outgoing_ = std::move(notify); }
  // The sink the router sends this session's RTP/RTCP to: protected, sent on the selected pair.
  DatagramSink* media_out() { return &media_out_; }

  // A datagram routed to this session (from `source` to the server's socket): from the UDP socket,
  // or one RFC 4571 frame of a TCP connection (kTcpSocket). True when the agent authenticated it (a
  // Binding request it answered) or took it as application data of a validated pair.
  bool on_datagram(const ice::TransportAddress& source, std::span<const uint8_t> data, Timestamp now,
                   ice::SocketId socket = kUdpSocket);
  std::optional<Timestamp> next_wakeup() const;
  void process(Timestamp now);
  // DTLS close_notify (drain take_outgoing() once more); media stops.
  void close(Timestamp now);
  // An ICE restart (RFC 8445 9, signalled by a WHIP/WHEP PATCH): the agent takes the server's new
  // `local` credentials and the client's new `remote` ones. The selected pair keeps carrying media
  // (and DTLS, SRTP stay as they are) until the client's checks of the new generation nominate a
  // pair; requests with the old ufrag are still answered meanwhile (the agent keeps one generation).
  void restart_ice(const ice::IceCredentials& local, const ice::IceCredentials& remote, Timestamp now);

  // Datagrams to send from the server's socket (destination, bytes).
  std::vector<ice::IceOutgoing> take_outgoing();

  bool connected() const { return srtp_send_.has_value(); }  // DTLS done, SRTP keyed
  bool failed() const;
  // The client's address once ICE selected a pair (the 5-tuple the server routes by).
  std::optional<ice::TransportAddress> remote_address() const;
  const ice::IceAgent& agent() const { return agent_; }
  const dtls::DtlsTransport& dtls() const { return *dtls_; }
  std::string srtp_cipher() const { return srtp_cipher_; }
  // The implementation doing the session's SRTP; nullopt before DTLS keyed it.
  std::optional<transport::SrtpBackend> srtp_backend() const {
    return srtp_send_ ? std::optional(srtp_send_->backend()) : std::nullopt;
  }
  const SfuSessionCounters& counters() const { return counters_; }
  std::optional<Timestamp> last_received() const { return last_received_; }

 private:
  class MediaOut final : public DatagramSink {
   public:
    explicit MediaOut(SfuSession& s) : session_(s) {}
    void on_datagram(std::vector<uint8_t> datagram, Timestamp now) override { session_.send_media(std::move(datagram), now); }

   private:
    SfuSession& session_;
  };

  SfuSession(ice::IceAgent agent, std::unique_ptr<dtls::DtlsTransport> dtls);
  void handle_application(std::span<const uint8_t> data, Timestamp now);
  void send_media(std::vector<uint8_t> packet, Timestamp now);
  void ice_send(std::span<const uint8_t> data, Timestamp now);
  void announce_outgoing();
  void pump(Timestamp now);
  void on_dtls_connected(Timestamp now);

  ice::IceAgent agent_;
  std::unique_ptr<dtls::DtlsTransport> dtls_;
  transport::SrtpBackend srtp_backend_ = transport::SrtpBackend::kOpenSsl;
  std::optional<transport::SrtpSession> srtp_send_;
  std::optional<transport::SrtpSession> srtp_receive_;
  std::string srtp_cipher_;
  MediaPacketSink* media_sink_ = nullptr;
  MediaOut media_out_;
  bool selected_ = false;
  bool keying_failed_ = false;
  bool closed_ = false;
  std::optional<Timestamp> last_received_;
  std::vector<ice::IceOutgoing> outgoing_;
  // A received SRTP datagram is unprotected in this buffer (reused: no allocation per packet).
  std::vector<uint8_t> receive_buffer_;
  std::function<void()> notify_outgoing_;
  bool outgoing_announced_ = false;  // notify_outgoing_ called since the last take_outgoing()
  SfuSessionCounters counters_;
};

}  // namespace tern::sfu
