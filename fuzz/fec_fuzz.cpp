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
#include "tern/rtp/rtp_packet_builder.h"

using namespace tern;
using namespace tern::recovery;

namespace {

constexpr uint32_t kMedia = 0x1234, kFlex = 0x5678;

// Structured mode: a real protected stream (sizes, losses and byte flips chosen by the input), so
// the recovery paths run on plausible FEC packets, not only on noise.
void structured(ByteReader& r) {
  UlpfecGenerator ulp_gen({122, std::nullopt});
  FlexfecGenerator flex_gen({kFlex, 49, 0, kMedia});
  const FecProtection p{static_cast<uint8_t>(r.u8() | 1), size_t{1} + (r.u8() & 3),
                        (r.u8() & 1) ? FecMaskType::kBursty : FecMaskType::kRandom};
  ulp_gen.set_protection(p, p);
  flex_gen.set_protection(p, p);
  UlpfecReceiver ulp({kMedia, 122, std::nullopt, {48, 16}});
  FlexfecReceiver flex({kFlex, 49, kMedia, {48, 16}});
  uint16_t seq = r.u16();
  for (int f = 0; f < 8 && r.has(2); ++f) {
    const size_t n = size_t{1} + (r.u8() % 16);
    std::vector<rtp::RtpPacket> wire;
    for (size_t i = 0; i < n; ++i) {
      std::vector<uint8_t> payload(size_t{1} + r.u8());
      for (size_t j = 0; j < payload.size(); ++j) payload[j] = static_cast<uint8_t>(j * 31 + i);
      rtp::RtpPacketBuilder b;
      b.set_payload_type(96).set_sequence_number(seq++).set_timestamp(static_cast<uint32_t>(f) * 3000u);
      b.set_ssrc(kMedia).set_marker(i + 1 == n).set_payload(payload);
      auto pk = b.build().value();
      ulp_gen.add_media_packet(pk, false);
      flex_gen.add_media_packet(pk, false);
      wire.push_back(std::move(pk));
    }
    for (auto& fec : ulp_gen.take_fec_packets(seq)) wire.push_back(std::move(fec));
    seq = static_cast<uint16_t>(seq + 16);
    for (auto& fec : flex_gen.take_fec_packets()) wire.push_back(std::move(fec));
    for (auto& pk : wire) {
      const uint8_t action = r.u8();
      if (action & 1) continue;  // lost
      std::vector<uint8_t> bytes(pk.data().begin(), pk.data().end());
      if ((action & 6) == 6 && bytes.size() > 12) bytes[12 + r.u8() % (bytes.size() - 12)] ^= r.u8();
      auto q = rtp::RtpPacket::parse(std::move(bytes));
      if (!q) continue;
      for (const auto& rec : ulp.on_packet(*q).recovered) {
        if (!rtp::RtpPacketView::parse(rec.data())) std::abort();
      }
      for (const auto& rec : flex.on_packet(*q)) {
        if (!rtp::RtpPacketView::parse(rec.data())) std::abort();
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  UlpfecReceiver ulp({kMedia, 122, 127, {48, 16}});
  UlpfecReceiver plain({kMedia, 122, std::nullopt, {48, 16}});
  FlexfecReceiver flex({kFlex, 49, kMedia, {48, 16}});
  ByteReader r(std::span<const uint8_t>(data, size));
  if (size > 0 && data[0] == 0xFF) {
    r.u8();
    structured(r);
    return 0;
  }
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
