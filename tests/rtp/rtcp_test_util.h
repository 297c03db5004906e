// Helpers shared by the RTCP test files: serialize one packet, parse it back, and seeded generators
// of random valid packets of every type this folder owns.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tern/core/random.h"
#include "tern/rtp/rtcp/rtcp_packet.h"

namespace tern::rtcp::test {

// Serializes one packet, checking that write() fills exactly size() bytes.
template <typename T>
std::vector<uint8_t> serialize(const T& packet) {
  std::vector<uint8_t> buf(packet.size());
  ByteWriter w(buf);
  packet.write(w);
  REQUIRE(w.ok());
  REQUIRE(w.position() == buf.size());
  return buf;
}

// Parses exactly one packet of type T from `bytes` (which must be exactly that packet).
template <typename T>
Result<T> parse_one(std::span<const uint8_t> bytes) {
  auto h = CommonHeader::parse(bytes);
  if (!h) return Error{h.error()};
  if (h->packet_size != bytes.size()) return Error{"test: trailing bytes after the packet"};
  return T::parse(*h);
}

template <typename T>
T roundtrip(const T& packet) {
  const auto bytes = serialize(packet);
  auto parsed = parse_one<T>(bytes);
  REQUIRE_MESSAGE(parsed.ok(), std::string(parsed.error()));
  return *parsed;
}

inline std::vector<uint8_t> random_bytes(Random& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng.next_u32());
  return v;
}

inline std::string random_text(Random& rng, size_t max) {
  std::string s(static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(max))), ' ');
  for (auto& c : s) c = static_cast<char>(rng.uniform_int(0, 255));  // any bytes, nulls included
  return s;
}

inline ReportBlock random_report_block(Random& rng) {
  ReportBlock b;
  b.source_ssrc = rng.next_u32();
  b.fraction_lost = static_cast<uint8_t>(rng.next_u32());
  b.cumulative_lost = static_cast<int32_t>(rng.uniform_int(-0x800000, 0x7FFFFF));
  b.extended_highest_sequence = rng.next_u32();
  b.jitter = rng.next_u32();
  b.last_sr = rng.next_u32();
  b.delay_since_last_sr = rng.next_u32();
  return b;
}

inline SenderReport random_sr(Random& rng) {
  SenderReport sr;
  sr.sender_ssrc = rng.next_u32();
  sr.ntp = NtpTime(rng.next_u64());
  sr.rtp_timestamp = rng.next_u32();
  sr.packet_count = rng.next_u32();
  sr.octet_count = rng.next_u32();
  for (int64_t i = rng.uniform_int(0, 31); i > 0; --i) sr.report_blocks.push_back(random_report_block(rng));
  sr.extension = random_bytes(rng, 4 * static_cast<size_t>(rng.uniform_int(0, 3)));
  return sr;
}

inline ReceiverReport random_rr(Random& rng) {
  ReceiverReport rr;
  rr.sender_ssrc = rng.next_u32();
  for (int64_t i = rng.uniform_int(0, 31); i > 0; --i) rr.report_blocks.push_back(random_report_block(rng));
  rr.extension = random_bytes(rng, 4 * static_cast<size_t>(rng.uniform_int(0, 3)));
  return rr;
}

inline Sdes random_sdes(Random& rng) {
  Sdes sdes;
  for (int64_t c = rng.uniform_int(0, 5); c > 0; --c) {
    SdesChunk chunk{rng.next_u32(), {}};
    for (int64_t i = rng.uniform_int(0, 4); i > 0; --i)
      chunk.items.push_back(SdesItem{static_cast<uint8_t>(rng.uniform_int(1, 255)), random_text(rng, 255)});
    sdes.chunks.push_back(std::move(chunk));
  }
  return sdes;
}

inline Bye random_bye(Random& rng) {
  Bye bye;
  for (int64_t i = rng.uniform_int(0, 31); i > 0; --i) bye.ssrcs.push_back(rng.next_u32());
  bye.reason = random_text(rng, 255);
  return bye;
}

inline App random_app(Random& rng) {
  App app;
  app.subtype = static_cast<uint8_t>(rng.uniform_int(0, 31));
  app.ssrc = rng.next_u32();
  for (auto& c : app.name) c = static_cast<char>(rng.uniform_int('A', 'Z'));
  app.data = random_bytes(rng, 4 * static_cast<size_t>(rng.uniform_int(0, 8)));
  return app;
}

inline Nack random_nack(Random& rng) {
  Nack nack;
  nack.sender_ssrc = rng.next_u32();
  nack.media_ssrc = rng.next_u32();
  uint16_t seq = static_cast<uint16_t>(rng.next_u32());
  for (int64_t i = rng.uniform_int(1, 80); i > 0; --i) {
    nack.lost.push_back(seq);
    seq = static_cast<uint16_t>(seq + rng.uniform_int(1, 30));  // gaps above 17 force new entries
  }
  return nack;
}

inline Pli random_pli(Random& rng) { return Pli{rng.next_u32(), rng.next_u32()}; }

inline Fir random_fir(Random& rng) {
  Fir fir{rng.next_u32(), 0, {}};
  for (int64_t i = rng.uniform_int(1, 6); i > 0; --i)
    fir.entries.push_back(FirEntry{rng.next_u32(), static_cast<uint8_t>(rng.next_u32())});
  return fir;
}

inline Remb random_remb(Random& rng) {
  Remb remb{rng.next_u32(), 0, {}, {}};
  // Any mantissa/exponent pair that fits in int64 is representable exactly.
  const int exponent = static_cast<int>(rng.uniform_int(0, 44));
  remb.bitrate = DataRate::BitsPerSec(rng.uniform_int(0, (1 << 18) - 1) << exponent);
  for (int64_t i = rng.uniform_int(0, 10); i > 0; --i) remb.ssrcs.push_back(rng.next_u32());
  return remb;
}

inline ExtendedReports random_xr(Random& rng) {
  ExtendedReports xr;
  xr.sender_ssrc = rng.next_u32();
  if (rng.bernoulli(0.5)) xr.rrtr = NtpTime(rng.next_u64());
  for (int64_t i = rng.uniform_int(0, 4); i > 0; --i) xr.dlrr.push_back(DlrrItem{rng.next_u32(), rng.next_u32(), rng.next_u32()});
  for (int64_t i = rng.uniform_int(0, 2); i > 0; --i) {
    const auto bt = static_cast<uint8_t>(rng.uniform_int(6, 255));
    xr.other_blocks.push_back(XrBlock{bt, static_cast<uint8_t>(rng.next_u32()),
                                      random_bytes(rng, 4 * static_cast<size_t>(rng.uniform_int(0, 4)))});
  }
  return xr;
}

inline UnknownPacket random_unknown(Random& rng) {
  // PT 192..199 and 208..223 have no dedicated type; any payload length (padding added on write).
  const bool low = rng.bernoulli(0.5);
  const auto pt = static_cast<uint8_t>(low ? rng.uniform_int(192, 199) : rng.uniform_int(208, 223));
  return UnknownPacket{pt, static_cast<uint8_t>(rng.uniform_int(0, 31)),
                       random_bytes(rng, static_cast<size_t>(rng.uniform_int(0, 40)))};
}

// A random packet of any type this folder owns (not transport-cc / CCFB).
inline RtcpPacket random_packet(Random& rng) {
  switch (rng.uniform_int(0, 10)) {
    case 0: return random_sr(rng);
    case 1: return random_rr(rng);
    case 2: return random_sdes(rng);
    case 3: return random_bye(rng);
    case 4: return random_app(rng);
    case 5: return random_nack(rng);
    case 6: return random_pli(rng);
    case 7: return random_fir(rng);
    case 8: return random_remb(rng);
    case 9: return random_xr(rng);
    default: return random_unknown(rng);
  }
}

}  // namespace tern::rtcp::test
