// Helpers shared by the recovery tests: seeded random RTP packets and frames.
#pragma once

#include <cstdint>
#include <vector>

#include "tern/core/random.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"

namespace tern::recovery::test {

// A random but valid RTP packet: random marker, CSRCs, one-byte extensions, payload and padding.
inline rtp::RtpPacket random_packet(Random& rng, uint16_t seq, uint32_t ts, uint32_t ssrc, uint8_t pt,
                                    size_t max_payload = 1100) {
  rtp::RtpPacketBuilder b;
  b.set_sequence_number(seq).set_timestamp(ts).set_ssrc(ssrc).set_payload_type(pt);
  b.set_marker(rng.bernoulli(0.3));
  std::vector<uint32_t> csrcs;
  if (rng.bernoulli(0.2)) {
    for (int i = 0, n = static_cast<int>(rng.uniform_int(1, 3)); i < n; ++i) csrcs.push_back(rng.next_u32());
    b.set_csrcs(csrcs);
  }
  std::vector<uint8_t> ext(static_cast<size_t>(rng.uniform_int(1, 8)));
  for (auto& e : ext) e = static_cast<uint8_t>(rng.next_u32());
  if (rng.bernoulli(0.5)) b.set_extension(static_cast<uint8_t>(rng.uniform_int(1, 14)), ext);
  std::vector<uint8_t> payload(static_cast<size_t>(rng.uniform_int(1, static_cast<int64_t>(max_payload))));
  for (auto& x : payload) x = static_cast<uint8_t>(rng.next_u32());
  b.set_payload(payload);
  if (rng.bernoulli(0.1)) b.set_padding(static_cast<uint8_t>(rng.uniform_int(1, 40)));
  return b.build().value();
}

// A frame of n packets with consecutive sequence numbers, one timestamp, marker on the last.
inline std::vector<rtp::RtpPacket> random_frame(Random& rng, uint16_t first_seq, uint32_t ts, uint32_t ssrc,
                                                uint8_t pt, size_t n) {
  std::vector<rtp::RtpPacket> out;
  for (size_t i = 0; i < n; ++i) {
    auto p = random_packet(rng, static_cast<uint16_t>(first_seq + i), ts, ssrc, pt);
    p.set_marker(i + 1 == n);
    out.push_back(std::move(p));
  }
  return out;
}

inline bool same_bytes(const rtp::RtpPacket& a, const rtp::RtpPacket& b) {
  return std::vector<uint8_t>(a.data().begin(), a.data().end()) ==
         std::vector<uint8_t>(b.data().begin(), b.data().end());
}

}  // namespace tern::recovery::test
