// SrtpSession: SRTP and SRTCP (RFC 3711; AES-GCM per RFC 7714) for one direction of one session,
// over OpenSSL's EVP (transport/srtp_evp.h, the default) or libsrtp2 (SrtpConfig::backend); both
// give the same bytes and the same verdicts. Packets are transformed in place in a std::vector
// (protect grows it by the auth tag / SRTCP index, unprotect shrinks it). Each backend keeps the
// rollover counter per SSRC, estimates the packet index across sequence-number wrap (RFC 3711
// 3.3.1), and runs the replay list (RFC 3711 3.3.2) with the configured window.
//
// Failures are values: each failed call returns an Error and bumps a counter (authentication,
// replay, other); nothing is fatal, so a receiver can keep going after garbage or an attack.
// Not thread-safe: one session per thread (libsrtp's global init is done once, thread-safely).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "tern/core/result.h"
#include "tern/transport/srtp_key.h"

namespace tern::transport {

class EvpSrtp;

// Who does the cryptography. libsrtp2 (Debian's is built on NSS) is the reference; OpenSSL's EVP
// (transport/srtp_evp.h) gives the same bytes at a fraction of the cost on AES-NI/SHA-NI machines.
enum class SrtpBackend : uint8_t { kLibsrtp, kOpenSsl };
std::string_view to_string(SrtpBackend backend);
// The inverse of to_string ("openssl", "libsrtp"); nullopt for anything else.
std::optional<SrtpBackend> srtp_backend_from_string(std::string_view name);

enum class SrtpDirection : uint8_t {
  kSend,     // protect_rtp / protect_rtcp; any SSRC the caller sends
  kReceive,  // unprotect_rtp / unprotect_rtcp; any SSRC that arrives
};

struct SrtpConfig {
  SrtpProfile profile = SrtpProfile::kAesCm128HmacSha1_80;
  std::vector<uint8_t> key_material;  // master key || master salt, srtp_key_material_size() bytes
  SrtpDirection direction = SrtpDirection::kSend;
  // Replay window in packets (RFC 3711 3.3.2 default is 64); libsrtp accepts 64..32767.
  uint32_t replay_window = 128;
  // Lets the sender protect the same sequence number again (plain NACK retransmission).
  bool allow_repeat_tx = true;
  // OpenSSL by default: the same bytes as libsrtp2 (tests/transport/srtp_evp_test.cpp), 2-4x cheaper.
  SrtpBackend backend = SrtpBackend::kOpenSsl;
};

struct SrtpCounters {
  uint64_t protected_rtp = 0;
  uint64_t protected_rtcp = 0;
  uint64_t unprotected_rtp = 0;
  uint64_t unprotected_rtcp = 0;
  uint64_t auth_failures = 0;    // tag mismatch: corrupted or forged packet
  uint64_t replay_failures = 0;  // duplicate or older than the replay window
  uint64_t other_failures = 0;   // malformed, too short, wrong direction, too many SSRCs, ...
};

class SrtpSession {
 public:
  // Validates the config (key length, window range) and creates the libsrtp session.
  static Result<SrtpSession> Create(const SrtpConfig& config);

  SrtpSession();  // an empty session (every call fails); defined where EvpSrtp is complete
  ~SrtpSession();
  SrtpSession(SrtpSession&& other) noexcept;
  SrtpSession& operator=(SrtpSession&& other) noexcept;
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  // RTP in, SRTP out (grows by at most kMaxOverhead bytes). On error the packet is unchanged.
  Status protect_rtp(std::vector<uint8_t>& packet);
  // SRTP in, RTP out. On error the packet content is unspecified and should be dropped.
  Status unprotect_rtp(std::vector<uint8_t>& packet);
  Status protect_rtcp(std::vector<uint8_t>& packet);
  Status unprotect_rtcp(std::vector<uint8_t>& packet);
  // RTP or RTCP as the packet's payload type says (RFC 5761 4, transport::classify): for rtcp-mux
  // paths that carry both. Anything else is refused, unchanged.
  Status protect_muxed(std::vector<uint8_t>& packet);
  Status unprotect_muxed(std::vector<uint8_t>& packet);

  // In-place variants on caller storage: `buffer` holds the packet in its first `size` bytes and
  // has room for kMaxOverhead more; `size` is updated. For zero-copy receive paths.
  Status unprotect_rtp(std::span<uint8_t> buffer, size_t& size);
  Status protect_rtp(std::span<uint8_t> buffer, size_t& size);

  SrtpProfile profile() const { return profile_; }
  SrtpBackend backend() const { return evp_ ? SrtpBackend::kOpenSsl : SrtpBackend::kLibsrtp; }
  SrtpDirection direction() const { return direction_; }
  const SrtpCounters& counters() const { return counters_; }

  // The most protect can add: SRTP tag (<= 16) or SRTCP E|index (4) + tag; MKI unused.
  static constexpr size_t kMaxOverhead = 4 + 16;

 private:
  enum class Op { kProtectRtp, kUnprotectRtp, kProtectRtcp, kUnprotectRtcp };
  Status run(Op op, uint8_t* data, size_t& size, size_t capacity);
  Status apply(Op op, std::vector<uint8_t>& packet);
  void destroy();

  void* session_ = nullptr;  // srtp_t, kept opaque so users need not include srtp.h
  std::unique_ptr<EvpSrtp> evp_;  // instead of session_ with SrtpBackend::kOpenSsl
  SrtpProfile profile_ = SrtpProfile::kAesCm128HmacSha1_80;
  SrtpDirection direction_ = SrtpDirection::kSend;
  SrtpCounters counters_;
};

// The two sessions' configs of a DTLS-SRTP association (RFC 5764 4.2): protect with this side's
// exported key||salt, unprotect with the peer's. `dtls_profile_id` is the negotiated use_srtp
// profile (srtp_profile_from_dtls_id); each key||salt must have the profile's length.
struct DtlsSrtpConfigs {
  SrtpConfig send;
  SrtpConfig receive;
};
Result<DtlsSrtpConfigs> srtp_configs_from_dtls(uint16_t dtls_profile_id, std::span<const uint8_t> local_key_salt,
                                               std::span<const uint8_t> remote_key_salt);

}  // namespace tern::transport
