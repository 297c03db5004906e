// Demuxer: the RFC 7983 first-byte table at every boundary, the RFC 5761 RTP/RTCP split by the
// second byte (192..223), routing by SSRC and counting of what has nowhere to go.
#include <doctest/doctest.h>

#include <vector>

#include "tern/core/random.h"
#include "tern/transport/demuxer.h"

using namespace tern;
using namespace tern::transport;

namespace {

std::vector<uint8_t> Packet(uint8_t b0, uint8_t b1, uint32_t ssrc = 0x11223344, size_t size = 20) {
  std::vector<uint8_t> p(size, 0);
  p[0] = b0;
  if (size > 1) p[1] = b1;
  if (size >= 12) {
    p[8] = static_cast<uint8_t>(ssrc >> 24);
    p[9] = static_cast<uint8_t>(ssrc >> 16);
    p[10] = static_cast<uint8_t>(ssrc >> 8);
    p[11] = static_cast<uint8_t>(ssrc);
  }
  return p;
}

struct Recorder final : DatagramSink {
  void on_datagram(std::vector<uint8_t> packet, Timestamp) override { sizes.push_back(packet.size()); }
  std::vector<size_t> sizes;
};

}  // namespace

TEST_CASE("demux classification table by first byte") {
  struct Row {
    uint8_t first;
    PacketClass expected;
  };
  const Row rows[] = {
      {0, PacketClass::kStun},        {3, PacketClass::kStun},         {4, PacketClass::kUnknown},
      {15, PacketClass::kUnknown},    {16, PacketClass::kZrtp},        {19, PacketClass::kZrtp},
      {20, PacketClass::kDtls},       {22, PacketClass::kDtls},        {63, PacketClass::kDtls},
      {64, PacketClass::kTurnChannel}, {79, PacketClass::kTurnChannel}, {80, PacketClass::kUnknown},
      {127, PacketClass::kUnknown},   {128, PacketClass::kRtp},        {0x90, PacketClass::kRtp},
      {191, PacketClass::kRtp},       {192, PacketClass::kUnknown},    {255, PacketClass::kUnknown},
  };
  for (const Row& r : rows) {
    CAPTURE(int(r.first));
    CHECK(classify(Packet(r.first, 96)) == r.expected);
  }
  // Every first byte maps to exactly the RFC 7983 range it lies in.
  for (int b = 0; b < 256; ++b) {
    const PacketClass c = classify(Packet(static_cast<uint8_t>(b), 96));
    const PacketClass want = b <= 3 ? PacketClass::kStun
                             : (b >= 16 && b <= 19) ? PacketClass::kZrtp
                             : (b >= 20 && b <= 63) ? PacketClass::kDtls
                             : (b >= 64 && b <= 79) ? PacketClass::kTurnChannel
                             : (b >= 128 && b <= 191) ? PacketClass::kRtp
                                                       : PacketClass::kUnknown;
    CHECK(c == want);
  }
}

TEST_CASE("demux RTP versus RTCP by the second byte") {
  // RFC 5761 4: RTCP packet types 192..223 on the second byte; everything else is RTP (marker
  // bit set or not).
  for (int b1 = 0; b1 < 256; ++b1) {
    CAPTURE(b1);
    const bool rtcp = b1 >= 192 && b1 <= 223;
    CHECK(classify(Packet(0x80, static_cast<uint8_t>(b1))) == (rtcp ? PacketClass::kRtcp : PacketClass::kRtp));
  }
  CHECK(classify(Packet(0x81, 200)) == PacketClass::kRtcp);  // SR with one report block
  CHECK(classify(Packet(0x8F, 205)) == PacketClass::kRtcp);  // RTPFB, FMT 15 (transport-cc)
  CHECK(classify(Packet(0x80, 96 | 0x80)) == PacketClass::kRtp);  // PT 96 with marker = 224
  CHECK(classify(Packet(0x80, 0x80 | 95)) == PacketClass::kRtcp);  // PT 95 + marker: why RFC 5761 bans 64..95
}

TEST_CASE("demux rejects truncated datagrams") {
  CHECK(classify({}) == PacketClass::kUnknown);
  CHECK(classify(Packet(0x80, 96, 0, 1)) == PacketClass::kUnknown);
  CHECK(classify(Packet(0x80, 96, 0, 11)) == PacketClass::kUnknown);  // RTP needs 12 bytes
  CHECK(classify(Packet(0x80, 96, 0, 12)) == PacketClass::kRtp);
  CHECK(classify(Packet(0x80, 201, 0, 7)) == PacketClass::kUnknown);  // RTCP needs 8
  CHECK(classify(Packet(0x80, 201, 0, 8)) == PacketClass::kRtcp);
  CHECK(classify(Packet(0x00, 0, 0, 1)) == PacketClass::kStun);  // STUN parsing is the STUN layer's job
}

TEST_CASE("demux routes RTP by SSRC and counts the rest") {
  Demuxer demux;
  Recorder a, b, rtcp, stun, dtls;
  REQUIRE(demux.add_rtp_sink(0xAAAA0001, &a).ok());
  REQUIRE(demux.add_rtp_sink(0xBBBB0002, &b).ok());
  CHECK_FALSE(demux.add_rtp_sink(1, nullptr).ok());
  demux.set_rtcp_sink(&rtcp);
  demux.set_stun_sink(&stun);
  demux.set_dtls_sink(&dtls);
  const Timestamp now = Timestamp::Millis(1);
  CHECK(demux.demux(Packet(0x80, 96, 0xAAAA0001, 30), now) == PacketClass::kRtp);
  CHECK(demux.demux(Packet(0x80, 96, 0xBBBB0002, 31), now) == PacketClass::kRtp);
  CHECK(demux.demux(Packet(0x80, 111, 0xAAAA0001, 32), now) == PacketClass::kRtp);
  CHECK(demux.demux(Packet(0x80, 96, 0xCCCC0003, 33), now) == PacketClass::kRtp);  // unknown SSRC
  CHECK(demux.demux(Packet(0x81, 201, 0, 32), now) == PacketClass::kRtcp);
  CHECK(demux.demux(Packet(0x00, 1, 0, 20), now) == PacketClass::kStun);
  CHECK(demux.demux(Packet(22, 0xFE, 0, 40), now) == PacketClass::kDtls);
  CHECK(demux.demux(Packet(0x40, 0, 0, 40), now) == PacketClass::kTurnChannel);  // no sink
  CHECK(demux.demux(Packet(0xFF, 0, 0, 40), now) == PacketClass::kUnknown);
  CHECK(a.sizes == std::vector<size_t>{30, 32});
  CHECK(b.sizes == std::vector<size_t>{31});
  CHECK(rtcp.sizes == std::vector<size_t>{32});
  CHECK(stun.sizes.size() == 1);
  CHECK(dtls.sizes.size() == 1);
  const DemuxerCounters& c = demux.counters();
  CHECK(c.rtp == 4);
  CHECK(c.rtcp == 1);
  CHECK(c.unknown_ssrc == 1);
  CHECK(c.turn_channel == 1);
  CHECK(c.no_sink == 1);
  CHECK(c.unknown_class == 1);
  // A default sink catches unknown SSRCs; removing a route sends its SSRC there too.
  Recorder fallback;
  demux.set_default_rtp_sink(&fallback);
  demux.remove_rtp_sink(0xAAAA0001);
  (void)demux.demux(Packet(0x80, 96, 0xAAAA0001, 40), now);
  (void)demux.demux(Packet(0x80, 96, 0xCCCC0003, 41), now);
  CHECK(fallback.sizes == std::vector<size_t>{40, 41});
  CHECK(a.sizes.size() == 2);
}

TEST_CASE("demux SSRC route table is bounded") {
  Demuxer demux;
  Recorder r;
  for (uint32_t i = 0; i < Demuxer::kMaxSsrcSinks; ++i) REQUIRE(demux.add_rtp_sink(i, &r).ok());
  CHECK_FALSE(demux.add_rtp_sink(0xFFFF, &r).ok());
  CHECK(demux.add_rtp_sink(5, &r).ok());  // replacing an existing route is always allowed
}

TEST_CASE("demux survives random garbage") {
  Demuxer demux;
  Recorder any;
  demux.set_default_rtp_sink(&any);
  Random rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> p(static_cast<size_t>(rng.uniform_int(0, 40)));
    for (auto& byte : p) byte = static_cast<uint8_t>(rng.uniform_int(0, 255));
    (void)demux.demux(p, Timestamp::Zero());
  }
  const DemuxerCounters& c = demux.counters();
  CHECK(c.stun + c.zrtp + c.dtls + c.turn_channel + c.rtp + c.rtcp + c.unknown_class == 2000);
}

TEST_CASE("RTCP classification follows RFC 5761 (what RtpUdpTransport sends on the RTCP path)") {
  std::vector<uint8_t> d(12, 0);
  d[0] = 0x80;
  for (int pt = 0; pt < 256; ++pt) {
    d[1] = static_cast<uint8_t>(pt);
    CHECK((classify(d) == PacketClass::kRtcp) == (pt >= 192 && pt <= 223));
  }
  d[0] = 0x40;  // version 1
  d[1] = 200;
  CHECK_FALSE((classify(d) == PacketClass::kRtcp));
  CHECK_FALSE((classify(std::span<const uint8_t>(d).first(4)) == PacketClass::kRtcp));
}
