#include "tern/transport/srtp_session.h"

#include <srtp2/srtp.h>

#include "tern/transport/demuxer.h"
#include "tern/transport/srtp_evp.h"

#include <climits>
#include <cstring>
#include <mutex>
#include <utility>

namespace tern::transport {
namespace {

// libsrtp needs one global srtp_init(); it is never undone (sessions may live until exit).
bool ensure_libsrtp_initialized() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = srtp_init() == srtp_err_status_ok; });
  return ok;
}

void set_policies(SrtpProfile profile, srtp_policy_t& policy) {
  switch (profile) {
    case SrtpProfile::kAesCm128HmacSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case SrtpProfile::kAesCm128HmacSha1_32:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);  // RFC 4568 6.2.2: SRTCP keeps 80
      break;
    case SrtpProfile::kAeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      break;
    case SrtpProfile::kAeadAes256Gcm:
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
      break;
  }
}

}  // namespace

std::string_view to_string(SrtpBackend backend) {
  return backend == SrtpBackend::kOpenSsl ? "openssl" : "libsrtp";
}

std::optional<SrtpBackend> srtp_backend_from_string(std::string_view name) {
  for (SrtpBackend b : {SrtpBackend::kOpenSsl, SrtpBackend::kLibsrtp}) {
    if (name == to_string(b)) return b;
  }
  return std::nullopt;
}

Result<SrtpSession> SrtpSession::Create(const SrtpConfig& config) {
  if (config.key_material.size() != srtp_key_material_size(config.profile))
    return Error{"srtp: key material length does not match the profile"};
  if (config.replay_window < 64 || config.replay_window >= 0x8000)
    return Error{"srtp: replay window must be in [64, 32767]"};
  if (config.backend == SrtpBackend::kOpenSsl) {
    auto evp = EvpSrtp::Create(config);
    if (!evp.ok()) return Error{evp.error()};
    SrtpSession s;
    s.evp_ = std::move(evp).value();
    s.profile_ = config.profile;
    s.direction_ = config.direction;
    return s;
  }
  if (!ensure_libsrtp_initialized()) return Error{"srtp: srtp_init failed"};
  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof(policy));
  set_policies(config.profile, policy);
  policy.ssrc.type = config.direction == SrtpDirection::kSend ? ssrc_any_outbound : ssrc_any_inbound;
  policy.ssrc.value = 0;
  // libsrtp takes a non-const key pointer but only reads it during srtp_create.
  std::vector<uint8_t> key = config.key_material;
  policy.key = key.data();
  policy.window_size = config.replay_window;
  policy.allow_repeat_tx = config.allow_repeat_tx ? 1 : 0;
  policy.next = nullptr;
  srtp_t session = nullptr;
  const srtp_err_status_t st = srtp_create(&session, &policy);
  std::memset(key.data(), 0, key.size());
  if (st != srtp_err_status_ok) return Error{"srtp: srtp_create failed (cipher unavailable?)"};
  SrtpSession s;
  s.session_ = session;
  s.profile_ = config.profile;
  s.direction_ = config.direction;
  return s;
}

SrtpSession::SrtpSession() = default;
SrtpSession::~SrtpSession() { destroy(); }

SrtpSession::SrtpSession(SrtpSession&& other) noexcept
    : session_(std::exchange(other.session_, nullptr)),
      evp_(std::move(other.evp_)),
      profile_(other.profile_),
      direction_(other.direction_),
      counters_(other.counters_) {}

SrtpSession& SrtpSession::operator=(SrtpSession&& other) noexcept {
  if (this != &other) {
    destroy();
    session_ = std::exchange(other.session_, nullptr);
    evp_ = std::move(other.evp_);
    profile_ = other.profile_;
    direction_ = other.direction_;
    counters_ = other.counters_;
  }
  return *this;
}

void SrtpSession::destroy() {
  if (session_ != nullptr) srtp_dealloc(static_cast<srtp_t>(session_));
  session_ = nullptr;
  evp_.reset();
}

Status SrtpSession::run(Op op, uint8_t* data, size_t& size, size_t capacity) {
  if (session_ == nullptr && !evp_) {
    ++counters_.other_failures;
    return Error{"srtp: session not created"};
  }
  const bool protect = op == Op::kProtectRtp || op == Op::kProtectRtcp;
  if (protect != (direction_ == SrtpDirection::kSend)) {
    ++counters_.other_failures;
    return Error{"srtp: operation does not match the session direction"};
  }
  if (capacity < size + (protect ? kMaxOverhead : 0) || size > INT_MAX - kMaxOverhead) {
    ++counters_.other_failures;
    return Error{"srtp: no room for the trailer"};
  }
  int len = static_cast<int>(size);
  srtp_err_status_t st = srtp_err_status_fail;
  if (evp_) {
    size_t n = size;
    EvpSrtp::Outcome outcome = EvpSrtp::Outcome::kMalformed;
    switch (op) {
      case Op::kProtectRtp: outcome = evp_->protect_rtp(data, n, capacity); break;
      case Op::kUnprotectRtp: outcome = evp_->unprotect_rtp(data, n); break;
      case Op::kProtectRtcp: outcome = evp_->protect_rtcp(data, n, capacity); break;
      case Op::kUnprotectRtcp: outcome = evp_->unprotect_rtcp(data, n); break;
    }
    len = static_cast<int>(n);
    switch (outcome) {  // the same verdicts as libsrtp2's, so both backends count alike
      case EvpSrtp::Outcome::kOk: st = srtp_err_status_ok; break;
      case EvpSrtp::Outcome::kAuthFailure: st = srtp_err_status_auth_fail; break;
      case EvpSrtp::Outcome::kReplay: st = srtp_err_status_replay_fail; break;
      case EvpSrtp::Outcome::kMalformed:
      case EvpSrtp::Outcome::kTooManyStreams: st = srtp_err_status_bad_param; break;
    }
  } else {
    auto* ctx = static_cast<srtp_t>(session_);
    switch (op) {
      case Op::kProtectRtp: st = srtp_protect(ctx, data, &len); break;
      case Op::kUnprotectRtp: st = srtp_unprotect(ctx, data, &len); break;
      case Op::kProtectRtcp: st = srtp_protect_rtcp(ctx, data, &len); break;
      case Op::kUnprotectRtcp: st = srtp_unprotect_rtcp(ctx, data, &len); break;
    }
  }
  switch (st) {
    case srtp_err_status_ok:
      size = static_cast<size_t>(len);
      switch (op) {
        case Op::kProtectRtp: ++counters_.protected_rtp; break;
        case Op::kUnprotectRtp: ++counters_.unprotected_rtp; break;
        case Op::kProtectRtcp: ++counters_.protected_rtcp; break;
        case Op::kUnprotectRtcp: ++counters_.unprotected_rtcp; break;
      }
      return Status::Ok();
    case srtp_err_status_auth_fail:
      ++counters_.auth_failures;
      return Error{"srtp: authentication failed"};
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      ++counters_.replay_failures;
      return Error{"srtp: replayed or too old"};
    default:
      ++counters_.other_failures;
      return Error{"srtp: packet rejected (malformed or too short)"};
  }
}

Status SrtpSession::apply(Op op, std::vector<uint8_t>& packet) {
  size_t size = packet.size();
  const bool protect = op == Op::kProtectRtp || op == Op::kProtectRtcp;
  // libsrtp reads/writes up to the trailer beyond the packet when protecting; give it real memory.
  if (protect) packet.resize(size + kMaxOverhead);
  Status s = run(op, packet.data(), size, packet.size());
  if (!s.ok()) {
    if (protect) packet.resize(size);
    return s;
  }
  packet.resize(size);
  return s;
}

Status SrtpSession::protect_rtp(std::vector<uint8_t>& packet) { return apply(Op::kProtectRtp, packet); }
Status SrtpSession::unprotect_rtp(std::vector<uint8_t>& packet) { return apply(Op::kUnprotectRtp, packet); }
Status SrtpSession::protect_rtcp(std::vector<uint8_t>& packet) { return apply(Op::kProtectRtcp, packet); }
Status SrtpSession::unprotect_rtcp(std::vector<uint8_t>& packet) { return apply(Op::kUnprotectRtcp, packet); }

Status SrtpSession::protect_muxed(std::vector<uint8_t>& packet) {
  switch (classify(packet)) {
    case PacketClass::kRtp: return protect_rtp(packet);
    case PacketClass::kRtcp: return protect_rtcp(packet);
    default: ++counters_.other_failures; return Error{"srtp: neither RTP nor RTCP"};
  }
}

Status SrtpSession::unprotect_muxed(std::vector<uint8_t>& packet) {
  switch (classify(packet)) {
    case PacketClass::kRtp: return unprotect_rtp(packet);
    case PacketClass::kRtcp: return unprotect_rtcp(packet);
    default: ++counters_.other_failures; return Error{"srtp: neither RTP nor RTCP"};
  }
}

Status SrtpSession::unprotect_rtp(std::span<uint8_t> buffer, size_t& size) {
  if (size > buffer.size()) {
    ++counters_.other_failures;
    return Error{"srtp: size exceeds buffer"};
  }
  return run(Op::kUnprotectRtp, buffer.data(), size, buffer.size());
}

Status SrtpSession::protect_rtp(std::span<uint8_t> buffer, size_t& size) {
  if (size > buffer.size()) {
    ++counters_.other_failures;
    return Error{"srtp: size exceeds buffer"};
  }
  return run(Op::kProtectRtp, buffer.data(), size, buffer.size());
}

Result<DtlsSrtpConfigs> srtp_configs_from_dtls(uint16_t dtls_profile_id, std::span<const uint8_t> local_key_salt,
                                               std::span<const uint8_t> remote_key_salt) {
  const auto profile = srtp_profile_from_dtls_id(dtls_profile_id);
  if (!profile) return Error{"DTLS-SRTP: protection profile has no SRTP suite"};
  const size_t size = srtp_key_material_size(*profile);
  if (local_key_salt.size() != size || remote_key_salt.size() != size) return Error{"DTLS-SRTP: key||salt has the wrong length for the profile"};
  DtlsSrtpConfigs c;
  c.send.profile = c.receive.profile = *profile;
  c.send.direction = SrtpDirection::kSend;
  c.receive.direction = SrtpDirection::kReceive;
  c.send.key_material.assign(local_key_salt.begin(), local_key_salt.end());
  c.receive.key_material.assign(remote_key_salt.begin(), remote_key_salt.end());
  return c;
}

}  // namespace tern::transport
