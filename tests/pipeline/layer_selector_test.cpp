// LayerSelector / TemporalLayerRates tests: hysteresis, switching up only at switching points,
// contiguous picture ids and sequence numbers across dropped frames, and (through MediaRouter) no
// retransmission of a dropped packet.
#include "tern/pipeline/layer_selector.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "doctest/doctest.h"
#include "tern/core/seq_rewriter.h"
#include "tern/pipeline/media_router.h"
#include "tern/rtp/rtcp/rtcp_packet.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"
#include "tern/rtp/rtp_rtcp_split.h"
#include "tern/rtp/payload/vp8_payload.h"
#include "tern/rtp/payload/vp9_payload.h"

namespace tern::pipeline {
namespace {

// The 3-layer pattern's temporal ids (0 2 1 2 ...).
int tid_at(int frame) {
  static constexpr int kIds[4] = {0, 2, 1, 2};
  return kIds[frame % 4];
}

// One VP8 packet payload: descriptor with picture id, TL0PICIDX, TID/Y, then `size` bytes.
std::vector<uint8_t> vp8_payload(uint16_t picture_id, uint8_t tl0, int tid, bool sync, bool start, bool key,
                                 size_t size = 100) {
  rtp::Vp8Descriptor d;
  d.start_of_partition = start;
  d.picture_id = picture_id;
  d.tl0_pic_idx = tl0;
  d.temporal_id = static_cast<uint8_t>(tid);
  d.layer_sync = sync;
  std::vector<uint8_t> out(d.size() + size, 0x55);
  d.write(out);
  out[d.size()] = key ? 0x00 : 0x01;  // frame tag P bit
  return out;
}

// A stream of 3-layer VP8 frames, `packets` per frame, with a sync frame every 8 frames (the
// first TL1 and TL2 frames of each repetition), fed through a selector and a seq rewriter.
struct Vp8Stream {
  LayerSelector selector;
  SeqRewriter rewriter{0};
  uint16_t seq = 1000;
  uint16_t picture_id = 100;
  uint8_t tl0 = 0;
  uint32_t timestamp = 0;
  int frame = 0;
  struct Out {
    uint16_t seq;
    uint16_t picture_id;
    uint8_t tl0;
    int tid;
  };
  std::vector<Out> out;
  explicit Vp8Stream(const LayerSelector::Config& c) : selector(c) {}

  // Sends the next frame (dropping the packets in `lose`, by index, as an upstream loss would).
  void next_frame(Timestamp now, int packets = 2, std::vector<int> lose = {}) {
    const int tid = tid_at(frame);
    const bool key = frame == 0;
    const bool sync = (frame % 8 == 1 || frame % 8 == 2);  // first TL2 and first TL1 of a repetition
    if (tid == 0 && !key) ++tl0;
    for (int i = 0; i < packets; ++i) {
      const uint16_t s = seq++;
      if (std::find(lose.begin(), lose.end(), i) != lose.end()) continue;
      std::vector<uint8_t> p = vp8_payload(picture_id, tl0, tid, sync, i == 0, key && i == 0);
      const bool marker = i + 1 == packets;
      const LayerSelector::Decision d = selector.on_packet(s, timestamp, marker, p, now);
      if (!d.forward) {
        rewriter.drop(s, d.drop_gap);
        continue;
      }
      if (d.drop_gap) rewriter.drop(static_cast<uint16_t>(s - 1), true);
      const std::optional<uint16_t> o = rewriter.rewrite(s);
      REQUIRE(o.has_value());
      auto parsed = rtp::Vp8Depacketizer::parse(p);
      REQUIRE(parsed.ok());
      out.push_back(Out{*o, *parsed->descriptor.picture_id, *parsed->descriptor.tl0_pic_idx, tid});
    }
    ++picture_id;
    timestamp += 3000;
    ++frame;
  }
};

// Layer rates of 100/50/100 kbps (cumulative 100, 150, 250), fed in 10 ms steps for `d`.
void feed(TemporalLayerRates& r, Timestamp& now, TimeDelta d) {
  for (Timestamp end = now + d; now < end; now += TimeDelta::Millis(10)) {
    r.on_packet(0, 125, now);
    if ((now.ms() / 10) % 2 == 0) r.on_packet(1, 125, now);
    r.on_packet(2, 125, now);
  }
}
TemporalLayerRates rates_100_50_100(Timestamp& now) {
  TemporalLayerRates r;
  feed(r, now, TimeDelta::Millis(1200));
  return r;
}

// A VP8 stream after a second of 100/50/100 kbps layers, its estimate 120 kbps: TL0 only.
struct Tl0Fixture {
  Timestamp now = Timestamp::Seconds(10);
  TemporalLayerRates rates = rates_100_50_100(now);
  Vp8Stream st{LayerSelector::Config{codecs::CodecType::kVp8, TimeDelta::Zero(), true}};
  Tl0Fixture() { st.selector.update(DataRate::KilobitsPerSec(120), rates, now); }
};

TEST_CASE("layer rates: per layer over the last second, cumulative") {
  Timestamp now = Timestamp::Seconds(10);
  TemporalLayerRates r;
  r.on_packet(0, 125, now);
  CHECK_FALSE(r.rate_up_to(0, now).has_value());  // under a second of measurement
  r = rates_100_50_100(now);
  REQUIRE(r.rate_up_to(0, now).has_value());
  CHECK(r.num_layers(now) == 3);
  CHECK(r.rate_up_to(0, now)->kbps() == doctest::Approx(100).epsilon(0.1));
  CHECK(r.rate_up_to(1, now)->kbps() == doctest::Approx(150).epsilon(0.1));
  CHECK(r.rate_up_to(2, now)->kbps() == doctest::Approx(250).epsilon(0.1));
  // Two seconds of silence: nothing measured any more.
  now += TimeDelta::Seconds(2);
  CHECK(r.num_layers(now) == 0);
}

TEST_CASE("layer selector: down at once, up only after the estimate held for up_hold") {
  Timestamp now = Timestamp::Seconds(10);
  TemporalLayerRates rates = rates_100_50_100(now);
  LayerSelector::Config c;
  c.up_hold = TimeDelta::Seconds(2);
  LayerSelector s(c);
  s.update(DataRate::KilobitsPerSec(1000), rates, now);
  CHECK(s.counters().target_layer == 2);  // first target: what the estimate allows
  s.update(DataRate::KilobitsPerSec(120), rates, now);
  CHECK(s.counters().target_layer == 0);  // down at once
  // 200 kbps allows TL0+TL1 (150): held 1.9 s, not yet; a dip restarts the hold.
  const auto hold = [&](DataRate estimate, TimeDelta d) {
    for (Timestamp end = now + d; now < end;) {
      feed(rates, now, TimeDelta::Millis(25));
      s.update(estimate, rates, now);
    }
  };
  hold(DataRate::KilobitsPerSec(200), TimeDelta::Millis(1900));
  CHECK(s.desired_layer() == 1);
  CHECK(s.counters().target_layer == 0);
  hold(DataRate::KilobitsPerSec(120), TimeDelta::Millis(25));
  hold(DataRate::KilobitsPerSec(200), TimeDelta::Millis(1900));
  CHECK(s.counters().target_layer == 0);
  hold(DataRate::KilobitsPerSec(200), TimeDelta::Millis(200));
  CHECK(s.counters().target_layer == 1);
  // Not enough for TL2 (250): stays at TL1 however long.
  hold(DataRate::KilobitsPerSec(240), TimeDelta::Seconds(5));
  CHECK(s.counters().target_layer == 1);
  hold(DataRate::KilobitsPerSec(140), TimeDelta::Millis(25));
  CHECK(s.counters().target_layer == 0);
}

TEST_CASE("layer selector: drops upper layers, switches up only at sync frames, ids contiguous") {
  Tl0Fixture fx;
  Vp8Stream& st = fx.st;
  const Timestamp now = fx.now;
  const TemporalLayerRates& rates = fx.rates;
  for (int i = 0; i < 12; ++i) st.next_frame(now);
  CHECK(st.selector.counters().current_layer == 0);
  // 12 frames: TL0 at 0, 4, 8 -> 3 frames x 2 packets.
  REQUIRE(st.out.size() == 6);
  for (size_t i = 1; i < st.out.size(); ++i) {
    CHECK(st.out[i].seq == static_cast<uint16_t>(st.out[i - 1].seq + 1));  // no gap in seq
    CHECK(st.out[i].tid == 0);
  }
  CHECK(st.out[2].picture_id == static_cast<uint16_t>(st.out[0].picture_id + 1));  // consecutive pictures
  CHECK(st.out[4].picture_id == static_cast<uint16_t>(st.out[2].picture_id + 1));
  CHECK(st.out[4].tl0 == static_cast<uint8_t>(st.out[2].tl0 + 1));  // TL0PICIDX consistent
  CHECK(st.selector.counters().frames_dropped == 9);
  CHECK(st.selector.counters().packets_dropped == 18);
  CHECK(st.selector.counters().bytes_dropped > 0);

  // The estimate allows everything: frame 12 (TL0), 13 (TL2, not sync), 14 (TL1, not sync), 15
  // (TL2) ... the first switch is at frame 17/18 (sync TL2 / sync TL1): TL1 first (one layer at
  // a time), then TL2 at the next repetition's sync frame (25).
  st.selector.update(DataRate::KilobitsPerSec(1000), rates, now);
  CHECK(st.selector.counters().target_layer == 2);
  st.out.clear();
  for (int i = 12; i < 18; ++i) st.next_frame(now);
  CHECK(st.selector.counters().current_layer == 0);  // frames 13..16 are no switching points
  st.next_frame(now);  // frame 18 (% 8 == 2): the TL1 sync
  CHECK(st.selector.counters().current_layer == 1);
  CHECK(st.selector.counters().switches_up == 1);
  for (int i = 19; i < 26; ++i) st.next_frame(now);
  CHECK(st.selector.counters().current_layer == 2);  // the TL2 sync at 25
  CHECK(st.selector.counters().switches_up == 2);
  for (size_t i = 1; i < st.out.size(); ++i) {
    CHECK(st.out[i].seq == static_cast<uint16_t>(st.out[i - 1].seq + 1));
    const int dp = (st.out[i].picture_id - st.out[i - 1].picture_id + 0x8000) % 0x8000;
    CHECK(dp <= 1);  // the same picture or the next one: no gap a receiver would wait on
  }
  // Down again: at the very next frame, whatever its layer.
  st.selector.update(DataRate::KilobitsPerSec(120), rates, now);
  st.next_frame(now);
  CHECK(st.selector.counters().current_layer == 0);
  CHECK(st.selector.counters().switches_down == 1);
}

TEST_CASE("layer selector: a keyframe switches up at once, a dropped frame's upstream loss leaves no hole") {
  Tl0Fixture fx;
  Vp8Stream& st = fx.st;
  const Timestamp now = fx.now;
  const TemporalLayerRates& rates = fx.rates;
  st.next_frame(now, 3);             // 0: keyframe TL0
  st.next_frame(now, 3, {1});        // 1: TL2, dropped, its middle packet lost upstream
  st.next_frame(now, 3, {0});        // 2: TL1, dropped, its first packet lost upstream
  st.next_frame(now, 3, {2});        // 3: TL2 dropped, its last packet lost upstream
  st.next_frame(now, 3);             // 4: TL0
  REQUIRE(st.out.size() == 6);
  CHECK(st.out[3].seq == static_cast<uint16_t>(st.out[2].seq + 1));  // frame 4 right after frame 0
  CHECK(st.rewriter.late_drops() == 0);
  // A keyframe with room for everything: straight to the top layer.
  st.selector.update(DataRate::KilobitsPerSec(1000), rates, now);
  st.frame = 0;  // the pattern restarts at a keyframe
  st.next_frame(now, 1);
  CHECK(st.selector.counters().current_layer == 2);
  st.next_frame(now, 1);  // TL2 forwarded now
  CHECK(st.out.back().tid == 2);
}

TEST_CASE("layer selector: streams without temporal ids and disabled selection pass untouched") {
  Timestamp now = Timestamp::Seconds(10);
  const TemporalLayerRates rates = rates_100_50_100(now);
  LayerSelector s({});
  rtp::Vp8Descriptor d;
  d.start_of_partition = true;
  d.picture_id = 5;
  std::vector<uint8_t> p(d.size() + 10, 1);
  d.write(p);
  const std::vector<uint8_t> before = p;
  s.update(DataRate::KilobitsPerSec(10), rates, now);
  CHECK(s.on_packet(1, 0, true, p, now).forward);
  CHECK(p == before);
  std::vector<uint8_t> garbage{0xFF};
  CHECK(s.on_packet(2, 3000, true, garbage, now).forward);

  LayerSelector::Config off;
  off.enabled = false;
  Vp8Stream st(off);
  st.selector.update(DataRate::KilobitsPerSec(10), rates, now);
  for (int i = 0; i < 8; ++i) st.next_frame(now);
  CHECK(st.out.size() == 16);
  CHECK(st.selector.counters().frames_dropped == 0);
}

TEST_CASE("layer selector: VP9 switches up at U frames and keeps its picture ids") {
  Timestamp now = Timestamp::Seconds(10);
  const TemporalLayerRates rates = rates_100_50_100(now);
  LayerSelector::Config c;
  c.codec = codecs::CodecType::kVp9;
  c.up_hold = TimeDelta::Zero();
  LayerSelector s(c);
  s.update(DataRate::KilobitsPerSec(120), rates, now);
  auto packet = [](uint16_t pid, int tid, bool u) {
    rtp::Vp9Descriptor d;
    d.flexible_mode = true;
    d.start_of_frame = true;
    d.end_of_frame = true;
    d.inter_picture_predicted = pid != 0;
    if (d.inter_picture_predicted) {
      d.num_p_diffs = 1;
      d.p_diff[0] = 1;
    }
    d.picture_id = pid;
    d.layer = rtp::Vp9LayerIndices{static_cast<uint8_t>(tid), u, 0, false};
    std::vector<uint8_t> out(d.size() + 20, 0x11);
    d.write(out);
    return out;
  };
  std::vector<int> forwarded;
  for (int f = 0; f < 12; ++f) {
    if (f == 6) s.update(DataRate::KilobitsPerSec(1000), rates, now);
    const int tid = tid_at(f);
    auto p = packet(static_cast<uint16_t>(f), tid, f == 9 || f == 10);
    const auto before = p;
    if (s.on_packet(static_cast<uint16_t>(f), static_cast<uint32_t>(f * 3000), true, p, now).forward) {
      forwarded.push_back(f);
      CHECK(p == before);  // VP9: untouched
    }
  }
  // TL0 frames 0, 4, 8; up to TL1 at 10 (TL1 with U), not at 9 (TL2 would skip TL1); TL2 not yet.
  CHECK(forwarded == std::vector<int>{0, 4, 8, 10});
  CHECK(s.counters().current_layer == 1);
}

TEST_CASE("layer selector: a forwarded frame's upstream loss stays a hole its retransmission fills") {
  Tl0Fixture fx;
  Vp8Stream& st = fx.st;
  const Timestamp now = fx.now;
  st.next_frame(now, 2);       // 0: keyframe, seq 1000-1001 -> out 1000, 1001
  st.next_frame(now, 2);       // 1: TL2 dropped (1002-1003)
  st.next_frame(now, 2);       // 2: TL1 dropped (1004-1005)
  st.next_frame(now, 2);       // 3: TL2 dropped (1006-1007)
  st.next_frame(now, 3, {1});  // 4: TL0, 1009 lost upstream -> 1008 out 1002, 1010 out 1004
  REQUIRE(st.out.size() == 4);
  CHECK(st.out[2].seq == 1002);
  CHECK(st.out[3].seq == 1004);  // the hole is a real loss: the receiver NACKs, the server repairs
  // The publisher's retransmission of 1009 arrives: forwarded into the hole, same picture id.
  std::vector<uint8_t> p = vp8_payload(104, 1, 0, false, false, false);
  const LayerSelector::Decision d = st.selector.on_packet(1009, 4 * 3000, false, p, now);
  CHECK(d.forward);
  CHECK(st.rewriter.rewrite(1009) == std::optional<uint16_t>(1003));
  auto parsed = rtp::Vp8Depacketizer::parse(p);
  REQUIRE(parsed.ok());
  CHECK(*parsed->descriptor.picture_id == st.out[3].picture_id);
}

// Through MediaRouter: a subscriber with a low estimate gets TL0 only, numbered without gaps; its
// NACKs are answered for forwarded packets only, never with a dropped layer's packet.
struct Capture final : DatagramSink {
  std::vector<std::vector<uint8_t>> datagrams;
  void on_datagram(std::vector<uint8_t> d, Timestamp) override { datagrams.push_back(std::move(d)); }
};

TEST_CASE("media router: a subscriber's NACKs never bring back a dropped layer") {
  constexpr uint32_t kSsrc = 0x1111, kRtx = 0x2222;
  MediaRouter::Config rc;
  rc.subscriber_start_rate = DataRate::KilobitsPerSec(40);  // no feedback: the estimate stays low
  rc.subscriber_probing = false;  // its padding on the RTX SSRC is not what this test reads
  auto router = MediaRouter::Create(rc);
  REQUIRE(router.ok());
  MediaRouter& r = **router;
  Capture to_pub, to_sub;
  MediaRouter::ForwardedStream f;
  f.ssrc = kSsrc;
  f.rtx_ssrc = kRtx;
  f.codec = codecs::CodecType::kVp8;
  auto pub = r.add_leg(0x51, &to_pub, {f});
  auto sub = r.add_leg(0x52, &to_sub, {});
  REQUIRE(pub.ok());
  REQUIRE(sub.ok());
  REQUIRE(r.add_outbound(*sub, f).ok());
  Timestamp now = Timestamp::Seconds(1);
  uint16_t seq = 5000;
  uint8_t tl0 = 0;
  for (int frame = 0; frame < 60; ++frame, now += TimeDelta::Millis(33)) {
    const int tid = tid_at(frame);
    if (tid == 0 && frame > 0) ++tl0;
    for (int i = 0; i < 2; ++i) {
      rtp::RtpPacketBuilder b;
      const std::vector<uint8_t> payload = vp8_payload(static_cast<uint16_t>(frame), tl0, tid,
                                                       frame % 8 == 1 || frame % 8 == 2, i == 0, frame == 0 && i == 0, 400);
      b.set_sequence_number(seq++).set_timestamp(static_cast<uint32_t>(frame * 3000)).set_ssrc(kSsrc).set_payload_type(96);
      b.set_marker(i == 1).set_payload(payload);
      const rtp::RtpPacket packet = b.build().value();
      r.on_packet(*pub, packet.data(), now);
    }
    r.process(now);
  }
  std::vector<uint16_t> got;
  std::map<uint16_t, rtp::RtpPacket> forwarded;  // what the subscriber got (picture ids rewritten)
  for (const auto& d : to_sub.datagrams) {
    if (rtp::is_rtcp(d)) continue;
    auto p = rtp::RtpPacket::parse(std::span<const uint8_t>(d));
    REQUIRE(p.ok());
    REQUIRE(p->ssrc() == kSsrc);
    auto vp8 = rtp::Vp8Depacketizer::parse(p->payload());
    REQUIRE(vp8.ok());
    CHECK(*vp8->descriptor.temporal_id == 0);
    got.push_back(p->sequence_number());
    forwarded.emplace(p->sequence_number(), *p);
  }
  REQUIRE(got.size() == 30);  // 15 TL0 frames x 2 packets of 60 frames
  for (size_t i = 1; i < got.size(); ++i) CHECK(got[i] == static_cast<uint16_t>(got[i - 1] + 1));
  const MediaRouter::LegCounters c = r.counters(*sub);
  CHECK(c.temporal_layer == 0);
  CHECK(c.layer_frames_dropped == 45);
  CHECK(c.layer_bytes_dropped > 45 * 2 * 400);
  REQUIRE(c.estimate.has_value());
  // NACK every number from before the first to well after the last: only the 30 sent come back.
  rtcp::Nack nack;
  nack.sender_ssrc = 0x99;
  nack.media_ssrc = kSsrc;
  for (uint16_t s = static_cast<uint16_t>(got.front() - 10); s != static_cast<uint16_t>(got.back() + 40); ++s) nack.lost.push_back(s);
  to_sub.datagrams.clear();
  r.on_packet(*sub, rtcp::build_compound(std::vector<rtcp::RtcpPacket>{rtcp::ReceiverReport{0x99, {}, {}}, nack}), now);
  // The router keeps 1 s of a hop's packets for RTX: the NACK, 2 s into the stream, gets back those
  // of the forwarded ones still held (the last 1 s: 7 TL0 frames), each a packet the subscriber was
  // sent, none from a dropped layer.
  size_t rtx = 0;
  std::set<uint16_t> resent;
  for (const auto& d : to_sub.datagrams) {
    if (rtp::is_rtcp(d)) continue;
    auto p = rtp::RtpPacket::parse(std::span<const uint8_t>(d));
    REQUIRE(p.ok());
    CHECK(p->ssrc() == kRtx);
    REQUIRE(p->payload().size() > 2);
    const auto osn = static_cast<uint16_t>(p->payload()[0] << 8 | p->payload()[1]);
    resent.insert(osn);
    auto vp8 = rtp::Vp8Depacketizer::parse(p->payload().subspan(2));  // after the OSN
    REQUIRE(vp8.ok());
    CHECK(*vp8->descriptor.temporal_id == 0);
    // The retransmission is the packet the subscriber was sent (rebuilt from the publisher's shared
    // copy and what the hop rewrote: the descriptor's picture id and TL0PICIDX), not the
    // publisher's original.
    auto original = forwarded.find(osn);
    REQUIRE(original != forwarded.end());
    CHECK(std::ranges::equal(p->payload().subspan(2), original->second.payload()));
    CHECK(p->timestamp() == original->second.timestamp());
    CHECK(p->marker() == original->second.marker());
    ++rtx;
  }
  CHECK(rtx >= 12);
  CHECK(rtx == resent.size());
  const std::set<uint16_t> sent(got.begin(), got.end());
  for (uint16_t s : resent) CHECK_MESSAGE(sent.count(s) == 1, "retransmitted but never forwarded: " << s);
  for (size_t i = got.size() - 12; i < got.size(); ++i) CHECK_MESSAGE(resent.count(got[i]) == 1, "not retransmitted: " << got[i]);
  CHECK(r.counters(*sub).retransmissions_sent == rtx);
}

TEST_CASE("media router: REMB toward a leg marked set_send_remb, from its abs-send-time") {
  constexpr uint32_t kSsrc = 0x3333;
  MediaRouter::Config rc;
  auto router = MediaRouter::Create(rc);
  REQUIRE(router.ok());
  MediaRouter& r = **router;
  Capture to_remb, to_plain;
  MediaRouter::ForwardedStream f;
  f.ssrc = kSsrc;
  MediaRouter::ForwardedStream g = f;
  g.ssrc = kSsrc + 1;
  auto remb_leg = r.add_leg(0x61, &to_remb, {f});
  auto plain_leg = r.add_leg(0x62, &to_plain, {g});
  REQUIRE(remb_leg.ok());
  REQUIRE(plain_leg.ok());
  REQUIRE(r.set_send_remb(*remb_leg, true).ok());
  CHECK_FALSE(r.set_send_remb(77, true).ok());
  rtp::ExtensionMap ext;
  REQUIRE(ext.register_extension<rtp::AbsSendTime>(rc.extension_ids.abs_send_time));
  Timestamp now = Timestamp::Seconds(3);
  uint16_t seq = 1;
  const std::vector<uint8_t> payload(1000, 0x22);  // outlives the builders: set_payload() keeps a view
  for (int i = 0; i < 700; ++i, now += TimeDelta::Millis(10)) {  // 7 s at ~800 kbps (the first estimate after 5 s)
    for (uint32_t ssrc : {kSsrc, kSsrc + 1}) {
      rtp::RtpPacketBuilder b;
      b.set_sequence_number(seq).set_timestamp(static_cast<uint32_t>(i * 900)).set_ssrc(ssrc).set_payload_type(96);
      b.set<rtp::AbsSendTime>(ext, rtp::AbsSendTime::from_time(now));
      b.set_payload(payload);
      r.on_packet(ssrc == kSsrc ? *remb_leg : *plain_leg, b.build().value().data(), now);
    }
    ++seq;
    r.process(now);
  }
  auto rembs = [](const Capture& c) {
    size_t n = 0;
    for (const auto& d : c.datagrams) {
      if (!rtp::is_rtcp(d)) continue;
      for (const rtcp::RtcpPacket& p : rtcp::parse_compound(d).packets) n += std::holds_alternative<rtcp::Remb>(p) ? 1 : 0;
    }
    return n;
  };
  CHECK(rembs(to_remb) > 0);
  CHECK(rembs(to_plain) == 0);
  CHECK(r.counters(*remb_leg).remb_sent == rembs(to_remb));
  REQUIRE(r.counters(*remb_leg).remb_estimate.has_value());
  CHECK(*r.counters(*remb_leg).remb_estimate > DataRate::KilobitsPerSec(100));
  CHECK_FALSE(r.counters(*plain_leg).remb_estimate.has_value());
}

}  // namespace
}  // namespace tern::pipeline
