// tern-loopback's traffic figures (tools/loopback/traffic_tap.h): the tap's counts by send and
// arrival bin, audio delay by SSRC, the counting send, link drops and the 100 ms time series built
// from hand-made bins.
#include "tern/tools/loopback/traffic_tap.h"

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "support/sim_time.h"

namespace tern::tools {
namespace {

using tern::test::At;

// An RTP packet (version 2, payload type 111) of `size` bytes from `ssrc`, sent at `sent_ms`.
netsim::SimPacket Rtp(uint32_t ssrc, size_t size, int64_t sent_ms) {
  netsim::SimPacket p;
  // The header is written whole, then cut to `size` (shorter than 12: not RTP, for the tap's check).
  p.data.assign(std::max<size_t>(size, 12), 0);
  p.data[0] = 0x80;
  p.data[1] = 111;
  p.data[8] = static_cast<uint8_t>(ssrc >> 24);
  p.data[9] = static_cast<uint8_t>(ssrc >> 16);
  p.data[10] = static_cast<uint8_t>(ssrc >> 8);
  p.data[11] = static_cast<uint8_t>(ssrc);
  p.data.resize(size);
  p.sent_time = At(sent_ms);
  return p;
}

struct Collect final : netsim::PacketSink {
  std::vector<size_t> sizes;
  void on_packet(netsim::SimPacket p, Timestamp) override { sizes.push_back(p.data.size()); }
};

TEST_CASE("traffic tap counts packets by send bin and bytes and delay by arrival bin") {
  TrafficBins bins;
  TrafficTap tap(bins, 10, true, true);
  Collect inner;
  tap.set_inner(&inner);
  tap.on_packet(Rtp(1, 100, 50), At(130));  // sent in bin 0, arrives in bin 1 after 80 ms
  tap.on_packet(Rtp(1, 200, 60), At(170));  // 110 ms
  netsim::SimPacket dup = Rtp(1, 300, 60);
  dup.duplicate = true;
  tap.on_packet(std::move(dup), At(175));    // passed on, not counted
  tap.on_packet(Rtp(1, 400, 950), At(1200)); // arrives beyond the bound: passed on, not counted
  CHECK(inner.sizes == std::vector<size_t>{100, 200, 300, 400});
  REQUIRE(bins.received_packets.size() == 2);
  CHECK(bins.received_packets[0] == 2);
  CHECK(bins.received_packets[1] == 0);
  CHECK(bins.received_bytes[0] == 0);
  CHECK(bins.received_bytes[1] == 300);
  CHECK(bins.delay_count[1] == 2);
  CHECK(bins.delay_sum_ms[1] == doctest::Approx(190));
  CHECK(bins.sent_packets[0] == 0);  // the tap never counts sends
}

TEST_CASE("traffic tap measures only what it is asked to") {
  TrafficBins bins;
  TrafficTap bytes_only(bins, 10, false, true);
  bytes_only.on_packet(Rtp(1, 100, 0), At(20));
  CHECK(bins.received_bytes[0] == 100);
  CHECK(bins.received_packets[0] == 0);
  CHECK(bins.delay_count[0] == 0);
  TrafficBins other;
  TrafficTap loss_only(other, 10, true, false);
  loss_only.on_packet(Rtp(1, 100, 0), At(20));
  CHECK(other.received_bytes[0] == 0);
  CHECK(other.received_packets[0] == 1);
}

TEST_CASE("traffic tap averages the network delay of the audio SSRC's RTP packets only") {
  TrafficBins bins;
  TrafficTap tap(bins, 10, true, true);
  CHECK_FALSE(tap.audio_delay_ms().has_value());
  tap.on_packet(Rtp(7, 100, 0), At(40));  // audio SSRC not set yet
  CHECK_FALSE(tap.audio_delay_ms().has_value());
  tap.set_audio_ssrc(7);
  tap.on_packet(Rtp(7, 100, 0), At(40));
  tap.on_packet(Rtp(7, 100, 0), At(60));
  tap.on_packet(Rtp(8, 100, 0), At(500));  // video
  netsim::SimPacket rtcp = Rtp(7, 100, 0);
  rtcp.data[1] = 200;                      // a sender report carrying the same SSRC
  tap.on_packet(std::move(rtcp), At(500));
  tap.on_packet(Rtp(7, 8, 0), At(500));    // too short to be RTP
  REQUIRE(tap.audio_delay_ms().has_value());
  CHECK(*tap.audio_delay_ms() == doctest::Approx(50));
}

TEST_CASE("traffic tap hands every datagram to the recorder before the inner sink") {
  TrafficBins bins;
  TrafficTap tap(bins, 10, true, true);
  std::vector<std::string> order;
  struct Inner final : netsim::PacketSink {
    std::vector<std::string>* order;
    void on_packet(netsim::SimPacket, Timestamp) override { order->push_back("inner"); }
  } inner;
  inner.order = &order;
  tap.set_inner(&inner);
  tap.set_recorder([&](std::span<const uint8_t> d, Timestamp now) {
    CHECK(d.size() == 50);
    CHECK(now == At(20));
    order.push_back("recorder");
  });
  netsim::SimPacket dup = Rtp(1, 50, 0);
  dup.duplicate = true;
  tap.on_packet(std::move(dup), At(20));
  CHECK(order == std::vector<std::string>{"recorder", "inner"});
}

TEST_CASE("counting send counts packets and wire bytes by send bin and forwards them") {
  TrafficBins bins;
  std::vector<size_t> forwarded;
  CountingSend send{&bins, 3, [&](netsim::SimPacket p, Timestamp) { forwarded.push_back(p.data.size()); },
                    VideoMediaFilter{}};
  netsim::SimPacket p = Rtp(1, 100, 0);
  p.overhead = DataSize::Bytes(28);
  send(p, At(10));
  send(Rtp(1, 50, 0), At(150));
  send(Rtp(1, 60, 0), At(400));  // beyond 3 bins: forwarded, not counted
  CHECK(forwarded == std::vector<size_t>{100, 50, 60});
  REQUIRE(bins.sent_packets.size() == 2);
  CHECK(bins.sent_packets == std::vector<int64_t>{1, 1});
  CHECK(bins.sent_bytes == std::vector<int64_t>{128, 50});
}

// A video RTP packet: `ssrc`, payload type `pt`, sequence number `seq`, and `payload`; with
// `padding` bytes of RTP padding (P bit) after it.
netsim::SimPacket Video(uint32_t ssrc, uint8_t pt, uint16_t seq, std::vector<uint8_t> payload, uint8_t padding = 0) {
  netsim::SimPacket p = Rtp(ssrc, 12, 0);
  p.data[0] = padding > 0 ? 0xA0 : 0x80;
  p.data[1] = pt;
  p.data[2] = static_cast<uint8_t>(seq >> 8);
  p.data[3] = static_cast<uint8_t>(seq);
  p.data.insert(p.data.end(), payload.begin(), payload.end());
  if (padding > 0) {
    p.data.insert(p.data.end(), static_cast<size_t>(padding - 1), 0);
    p.data.push_back(padding);
  }
  return p;
}

constexpr uint32_t kVideo = 0x1000'0002, kRtx = 0x1000'0003;
constexpr VideoMediaFilter kFilter{kVideo, 96, 100, kRtx};

TEST_CASE("video media filter tells the video's media packets and retransmissions from the rest") {
  CHECK(kFilter.media_seq(Video(kVideo, 96, 7, {0x10, 1, 2}).data) == 7);
  CHECK(kFilter.media_seq(Video(kVideo, 100, 8, {96, 0x10, 1}).data) == 8);   // RED, primary VP8
  CHECK_FALSE(kFilter.media_seq(Video(kVideo, 100, 9, {101, 0, 0}).data));    // RED, primary ULPFEC
  CHECK_FALSE(kFilter.media_seq(Video(kVideo, 96, 10, {}, 200).data));        // padding only
  CHECK(kFilter.media_seq(Video(kVideo, 96, 11, {0x10}, 20).data) == 11);     // media and padding
  CHECK_FALSE(kFilter.media_seq(Video(0x1000'0001, 96, 12, {1}).data));       // another SSRC
  CHECK_FALSE(kFilter.media_seq(Video(kVideo, 97, 13, {1}).data));            // another payload type
  CHECK_FALSE(kFilter.media_seq(Rtp(kVideo, 11, 0).data));                    // not RTP
  std::vector<uint8_t> rtcp = {0x80, 200, 0, 6};
  rtcp.resize(28);
  CHECK_FALSE(kFilter.media_seq(rtcp));
  CHECK_FALSE(kFilter.retransmitted_seq(rtcp));
  // RTX: the original sequence number first; padding-only RTX (a probe's) carries none.
  CHECK(kFilter.retransmitted_seq(Video(kRtx, 97, 500, {0x12, 0x34, 0x10, 1}).data) == 0x1234);
  CHECK_FALSE(kFilter.retransmitted_seq(Video(kRtx, 97, 501, {}, 255).data));
  CHECK_FALSE(kFilter.retransmitted_seq(Video(kVideo, 96, 502, {0x12, 0x34, 0x10}).data));
  CHECK_FALSE(VideoMediaFilter{}.media_seq(Video(kVideo, 96, 7, {1}).data));  // off
  CHECK_FALSE((VideoMediaFilter{kVideo, 96, 100, 0}.retransmitted_seq(Video(kRtx, 97, 5, {0, 1, 2}).data)));
}

TEST_CASE("video loss ledger: seeded calls across the sequence wrap, through a counting send and a tap") {
  // Each seed: 20000 media packets from a random first number (most wrap), 5% lost on the way,
  // each lost one retransmitted with probability 0.7 (the retransmission lost with 0.2, sent twice
  // with 0.1), some originals arriving late after their retransmission, duplicates, FEC and
  // padding between. The ledger must count exactly what the test knows.
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    TrafficBins bins;
    TrafficTap tap(bins, 10, true, false);
    tap.set_video_media(kFilter);
    CountingSend send{&bins, 10, [&](netsim::SimPacket p, Timestamp now) { tap.on_packet(std::move(p), now); }, kFilter};
    auto lose = [](netsim::SimPacket, Timestamp) {};
    CountingSend lossy{&bins, 10, lose, kFilter};
    const auto first = static_cast<uint16_t>(rng());
    int64_t lost = 0, repaired = 0;
    std::vector<uint16_t> late;
    uint16_t rtx_seq = 0;
    for (int i = 0; i < 20000; ++i) {
      const auto seq = static_cast<uint16_t>(first + i);
      if (u(rng) < 0.05) {
        lossy(Video(kVideo, 100, seq, {96, 0x10, 1}), At(0));
        ++lost;
        if (u(rng) < 0.7) {
          const bool arrives = u(rng) >= 0.2;
          const int copies = u(rng) < 0.1 ? 2 : 1;
          for (int c = 0; c < copies && arrives; ++c) {
            tap.on_packet(Video(kRtx, 97, rtx_seq++, {static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq), 0x10}), At(0));
          }
          if (arrives) ++repaired;
          if (arrives && u(rng) < 0.1) late.push_back(seq);  // its own copy turns up later
        }
      } else {
        send(Video(kVideo, 96, seq, {0x10, 1}), At(0));
      }
      if (u(rng) < 0.05) send(Video(kVideo, 100, static_cast<uint16_t>(seq), {101, 0, 0}), At(0));  // not media
      if (u(rng) < 0.02) tap.on_packet(Video(kRtx, 97, rtx_seq++, {}, 100), At(0));                 // padding
      if (u(rng) < 0.02) {
        netsim::SimPacket dup = Video(kVideo, 96, seq, {0x10, 1});
        dup.duplicate = true;
        tap.on_packet(std::move(dup), At(0));
      }
      if (!late.empty() && u(rng) < 0.3) {
        tap.on_packet(Video(kVideo, 96, late.back(), {0x10, 1}), At(0));
        late.pop_back();
        --lost;
        --repaired;
      }
    }
    CHECK(bins.video.sent() == 20000);
    CHECK(bins.video.lost() == lost);
    CHECK(bins.video.repaired_by_rtx() == repaired);
    CHECK(repaired > 0.4 * lost);  // the case is real: most losses retransmitted, some not
    CHECK(repaired < lost);
  }
}

TEST_CASE("video loss ledger ignores what falls outside its window") {
  VideoLossLedger ledger;
  ledger.on_arrived(5);          // before anything was sent
  ledger.on_retransmission(5);
  CHECK(ledger.sent() == 0);
  for (int i = 0; i < 3; ++i) ledger.on_sent(static_cast<uint16_t>(i));  // 0..2, none arrives
  // Far ahead: the window moves past 0..2 (lost for good), a copy of 1 then counts nothing.
  for (int64_t i = 3; i < VideoLossLedger::kWindow + 10; ++i) {
    ledger.on_sent(static_cast<uint16_t>(i));
    ledger.on_arrived(static_cast<uint16_t>(i));
  }
  ledger.on_retransmission(1);
  ledger.on_arrived(2);
  CHECK(ledger.lost() == 3);
  CHECK(ledger.repaired_by_rtx() == 0);
  ledger.on_sent(static_cast<uint16_t>(VideoLossLedger::kWindow + 5));  // sent again: counted once
  CHECK(ledger.sent() == VideoLossLedger::kWindow + 10);
}

TEST_CASE("path drops add up every hop's drops") {
  netsim::LinkConfig l;
  l.capacity = DataRate::KilobitsPerSec(8);
  l.queue_packets = 1;
  auto path = netsim::Path::Relay(l, l);
  REQUIRE(path.ok());
  for (int i = 0; i < 5; ++i) path->send(Rtp(1, 100, 0), At(0));
  const uint64_t first = path->hop(0).stats().dropped_queue;
  CHECK(first >= 3);
  CHECK(path_drops(*path) == first + path->hop(1).stats().dropped_queue);
}

TEST_CASE("time series of known bins: rates, loss, delay, capacity and the latest sample") {
  TrafficBins sent, received;
  sent.ensure(2);  // bin 2 never grew: it reads as empty
  sent.sent_packets = {10, 4};
  sent.received_packets = {9, 6};  // more than sent (late arrivals of an earlier bin): no loss
  sent.sent_bytes = {12500, 0};
  sent.delay_sum_ms = {0, 300};
  sent.delay_count = {0, 5};
  received.ensure(2);
  received.received_bytes = {0, 25000};
  std::vector<pipeline::NetworkSample> samples(3);
  samples[0].time = At(20);
  samples[0].target_bitrate = DataRate::KilobitsPerSec(300);
  samples[1].time = At(90);
  samples[1].target_bitrate = DataRate::KilobitsPerSec(500);
  samples[1].video_target = DataRate::KilobitsPerSec(450);
  samples[1].rtt = TimeDelta::Millis(80);
  samples[2].time = At(250);
  samples[2].target_bitrate = DataRate::KilobitsPerSec(700);

  netsim::LinkConfig link;
  link.capacity = DataRate::KilobitsPerSec(2000);
  const auto series = build_series(3, sent, received, samples, link);
  REQUIRE(series.size() == 3);
  CHECK(series[0].time_ms == 100);
  CHECK(series[0].capacity_kbps == 2000.0);
  CHECK(series[0].send_kbps == doctest::Approx(1000));
  CHECK(series[0].receive_kbps == 0);
  CHECK(series[0].loss_percent == doctest::Approx(10));
  CHECK_FALSE(series[0].one_way_delay_ms.has_value());
  CHECK(series[0].target_kbps == 500);  // the later of the two samples in the bin
  CHECK(series[0].video_target_kbps == 450);
  CHECK(series[0].rtt_ms.value_or(0) == doctest::Approx(80));
  CHECK(series[1].receive_kbps == doctest::Approx(2000));
  CHECK(series[1].loss_percent == 0);
  CHECK(series[1].one_way_delay_ms.value_or(0) == doctest::Approx(60));
  CHECK(series[1].target_kbps == 500);  // no new sample: the latest one carries over
  CHECK(series[2].target_kbps == 700);
  CHECK_FALSE(series[2].rtt_ms.has_value());
  CHECK(series[2].send_kbps == 0);
  CHECK(series[2].loss_percent == 0);

  const auto unlimited = build_series(1, sent, received, {}, netsim::LinkConfig{});
  CHECK_FALSE(unlimited[0].capacity_kbps.has_value());
  CHECK(unlimited[0].target_kbps == 0);
  auto trace = netsim::RateTrace::Parse("0 1000\n100 3000\n");
  REQUIRE(trace.ok());
  link.rate_trace = std::make_shared<const netsim::RateTrace>(*trace);
  const auto traced = build_series(2, sent, received, {}, link);
  CHECK(traced[0].capacity_kbps.value_or(0) == doctest::Approx(1000));
  CHECK(traced[1].capacity_kbps.value_or(0) == doctest::Approx(3000));
  // A mahimahi trace: 10 opportunities of 1500 bytes in the first 100 ms bin, none in the second.
  link.delivery_trace = std::make_shared<const netsim::DeliveryTrace>(
      netsim::DeliveryTrace::Parse("10\n20\n30\n40\n50\n60\n70\n80\n90\n99\n200\n").value());
  const auto delivered = build_series(2, sent, received, {}, link);
  CHECK(delivered[0].capacity_kbps.value_or(0) == doctest::Approx(1200));
  CHECK(delivered[1].capacity_kbps == 0.0);  // an outage, not "unlimited"
}

TEST_CASE("bins of a call are bounded by its duration") {
  CHECK(bin_of(At(-5)) == 0);
  CHECK(bin_of(At(99)) == 0);
  CHECK(bin_of(At(100)) == 1);
  CHECK(max_bins_for(TimeDelta::Seconds(20)) == 202);
}

}  // namespace
}  // namespace tern::tools
