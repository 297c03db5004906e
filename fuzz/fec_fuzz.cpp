// Fuzzes the ULPFEC (plain and in RED) and FlexFEC receivers with arbitrary packet sequences: the
// input is cut into length-prefixed RTP packets, each forced onto the protected or FEC SSRC. Every
// recovered packet must be valid RTP, and the windows must stay within their bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "tern/core/byte_io.h"
#include "tern/recovery/flexfec.h"
#include "tern/recovery/ulpfec.h"

using namespace tern;
using namespace tern::recovery;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr uint32_t kMedia = 0x1234, kFlex = 0x5678;
  UlpfecReceiver ulp({kMedia, 122, 127, {48, 16}});
  UlpfecReceiver plain({kMedia, 122, std::nullopt, {48, 16}});
  FlexfecReceiver flex({kFlex, 49, kMedia, {48, 16}});
  ByteReader r(std::span<const uint8_t>(data, size));
  for (int i = 0; i < 256 && r.has(2); ++i) {
    const uint8_t selector = r.u8();
    const size_t len = r.u8() + size_t{12};
    std::vector<uint8_t> bytes(len, 0);
    const auto chunk = r.bytes(std::min(len, r.remaining()));
    std::copy(chunk.begin(), chunk.end(), bytes.begin());
    bytes[0] = static_cast<uint8_t>(0x80 | (bytes[0] & 0x3F));
    store_be32(&bytes[8], (selector & 1) ? kFlex : kMedia);
    auto packet = rtp::RtpPacket::parse(std::move(bytes));
    if (!packet) continue;
    std::vector<rtp::RtpPacket> recovered;
    if (selector & 2) {
      auto out = ulp.on_packet(*packet);
      recovered = std::move(out.recovered);
    } else if (selector & 4) {
      recovered = plain.on_packet(*packet).recovered;
    } else {
      recovered = flex.on_packet(*packet);
    }
    for (const auto& p : recovered) {
      if (p.ssrc() != kMedia) std::abort();
      if (!rtp::RtpPacketView::parse(p.data())) std::abort();
    }
  }
  return 0;
}
