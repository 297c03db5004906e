// EvpSrtp: SRTP and SRTCP (RFC 3711; AES-GCM per RFC 7714) written over OpenSSL 3's EVP primitives
// (AES-CTR, AES-GCM; HMAC-SHA1 on OpenSSL's SHA-1 block functions from pre-keyed states), as a
// second backend of SrtpSession (SrtpBackend::kOpenSsl).
// Debian's libsrtp2 is built against NSS, whose AES-CM + HMAC-SHA1 costs several times what
// OpenSSL's AES-NI / SHA-NI code does; bench/transport_bench.cpp measures both beside the bare EVP
// calls. Output is byte for byte libsrtp2's (tests/transport/srtp_evp_test.cpp checks every suite
// both ways, across sequence-number wrap, with SRTCP), so either end may run either backend.
//
// What it implements (the subset WebRTC and SDES use, as libsrtp2 configured by SrtpSession):
//  - key derivation: the AES-CM PRF of RFC 3711 4.3.1/4.3.3, key derivation rate 0 (session keys
//    derived once); for the GCM suites the 96-bit master salt is placed as libsrtp2 places it;
//  - SRTP: AES-128-CM + HMAC-SHA1 (80- or 32-bit tags; SRTCP always 80), AEAD_AES_128_GCM and
//    AEAD_AES_256_GCM with 16-byte tags; no MKI;
//  - the packet index per SSRC: rollover counter and the estimate of RFC 3711 3.3.1 (as libsrtp2:
//    ROC 0 until the highest index passes 2^15), replay window of `replay_window` packets for
//    SRTP and 128 for SRTCP (RFC 3711 3.3.2), updated only after authentication; a sender may
//    protect a sequence number again when allow_repeat_tx (NACK retransmission without RTX);
//  - SRTCP: the E flag and 31-bit index trailer, first index 1, unencrypted SRTCP accepted.
// Bounds: at most kMaxStreams SSRCs per session (a new SSRC beyond it is refused and counted, as
// a receiver must not grow without bound on forged SSRCs: an unauthenticated packet never creates
// one; a stream is created only after its first packet authenticated).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "tern/core/result.h"
#include "tern/transport/srtp_key.h"

namespace tern::transport {

struct SrtpConfig;

class EvpSrtp {
 public:
  enum class Outcome : uint8_t { kOk, kAuthFailure, kReplay, kMalformed, kTooManyStreams };
  static constexpr size_t kMaxStreams = 1024;

  static Result<std::unique_ptr<EvpSrtp>> Create(const SrtpConfig& config);
  ~EvpSrtp();
  EvpSrtp(const EvpSrtp&) = delete;
  EvpSrtp& operator=(const EvpSrtp&) = delete;

  // `data` holds `size` bytes and has room for `capacity` (protect adds at most 20 bytes).
  Outcome protect_rtp(uint8_t* data, size_t& size, size_t capacity);
  Outcome unprotect_rtp(uint8_t* data, size_t& size);
  Outcome protect_rtcp(uint8_t* data, size_t& size, size_t capacity);
  Outcome unprotect_rtcp(uint8_t* data, size_t& size);

  size_t stream_count() const { return streams_.size(); }

  struct Keys;
  struct Crypto;

 private:
  // A replay window over 48-bit (SRTP) or 31-bit (SRTCP) indices.
  class ReplayWindow {
   public:
    explicit ReplayWindow(uint32_t size = 128);
    uint64_t highest() const { return highest_; }
    // kOk for an index above the highest or inside the window and not seen yet; kReplay otherwise.
    // The initial state is libsrtp2's: highest 0, nothing seen.
    Outcome check(uint64_t index) const;
    void add(uint64_t index);

   private:
    uint32_t size_;
    std::vector<uint64_t> bits_;  // bit (index % capacity)
    uint64_t highest_ = 0;
  };
  struct Stream {
    explicit Stream(uint32_t window) : rtp(window) {}
    ReplayWindow rtp;        // its highest() is the highest SRTP index (ROC << 16 | SEQ)
    ReplayWindow rtcp{128};
    uint32_t rtcp_sent = 0;  // last SRTCP index sent
  };

  EvpSrtp() = default;
  // The SSRC's stream; when it has none: a new one in the table if `create_allowed` (a sender),
  // else a new one in `scratch`, kept only once a packet authenticated. Null when the table is full.
  Stream* stream_for(uint32_t ssrc, bool create_allowed, std::optional<Stream>& scratch);
  // The packet index of `seq` given the stream's highest index (RFC 3711 3.3.1, as libsrtp2).
  static uint64_t estimate_index(const Stream& stream, uint16_t seq);

  SrtpProfile profile_ = SrtpProfile::kAesCm128HmacSha1_80;
  bool gcm_ = false;
  size_t rtp_tag_ = 10;
  uint32_t replay_window_ = 128;
  bool allow_repeat_tx_ = true;
  std::unique_ptr<Crypto> crypto_;
  std::unordered_map<uint32_t, Stream> streams_;
  // The stream stream_for() found last (a node of streams_: stays valid, nothing is erased), so a
  // run of packets of one SSRC (a subscriber's video) skips the hash lookup.
  uint32_t last_ssrc_ = 0;
  Stream* last_stream_ = nullptr;
};

}  // namespace tern::transport
