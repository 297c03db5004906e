// Differential fuzzing of SrtpSession's two backends (transport/srtp_evp.h against libsrtp2), for
// the suite the first byte picks: the input is a list of packets; each is protected by both senders
// (outputs must be byte-identical, or both refuse) and then handed, as sent or with a byte the
// input chooses flipped, or as raw input bytes, to both receivers (verdicts and plaintexts must
// agree). RTP and RTCP alike.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tern/transport/srtp_session.h"

using namespace tern::transport;

namespace {

SrtpSession make(SrtpProfile profile, SrtpDirection direction, SrtpBackend backend) {
  SrtpConfig c;
  c.profile = profile;
  c.direction = direction;
  c.backend = backend;
  c.key_material.assign(srtp_key_material_size(profile), 0x5c);
  auto s = SrtpSession::Create(c);
  if (!s.ok()) std::abort();
  return std::move(s).value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr SrtpProfile kProfiles[] = {SrtpProfile::kAesCm128HmacSha1_80, SrtpProfile::kAesCm128HmacSha1_32,
                                              SrtpProfile::kAeadAes128Gcm, SrtpProfile::kAeadAes256Gcm};
  const SrtpProfile profile = kProfiles[data[0] % 4];
  SrtpSession tx[2] = {make(profile, SrtpDirection::kSend, SrtpBackend::kLibsrtp), make(profile, SrtpDirection::kSend, SrtpBackend::kOpenSsl)};
  SrtpSession rx[2] = {make(profile, SrtpDirection::kReceive, SrtpBackend::kLibsrtp),
                       make(profile, SrtpDirection::kReceive, SrtpBackend::kOpenSsl)};
  size_t pos = 1;
  for (int n = 0; n < 64 && pos + 3 <= size; ++n) {
    // <flags> <length> <bytes...>: flags bit 0 RTCP, bit 1 raw (not protected), bits 2..7 which byte to flip.
    const uint8_t flags = data[pos];
    const size_t length = std::min<size_t>(data[pos + 1] * 8u + 12u, size - pos - 2);
    std::vector<uint8_t> plain(data + pos + 2, data + pos + 2 + length);
    pos += 2 + length;
    const bool rtcp = flags & 1;
    if (!plain.empty()) plain[0] = static_cast<uint8_t>((plain[0] & 0x3f) | 0x80);  // mostly well-formed RTP/RTCP
    std::vector<uint8_t> out[2] = {plain, plain};
    if (!(flags & 2)) {
      bool ok[2];
      for (int b = 0; b < 2; ++b) ok[b] = (rtcp ? tx[b].protect_rtcp(out[b]) : tx[b].protect_rtp(out[b])).ok();
      if (ok[0] != ok[1]) std::abort();
      if (ok[0] && out[0] != out[1]) std::abort();
      if (!ok[0]) continue;
      if (flags >> 2 && !out[0].empty()) {
        const size_t at = (flags >> 2) % out[0].size();
        out[0][at] ^= 0x01;
        out[1][at] ^= 0x01;
      }
    }
    bool ok[2];
    for (int b = 0; b < 2; ++b) ok[b] = (rtcp ? rx[b].unprotect_rtcp(out[b]) : rx[b].unprotect_rtp(out[b])).ok();
    if (ok[0] != ok[1]) std::abort();
    if (ok[0] && out[0] != out[1]) std::abort();
  }
  return 0;
}
