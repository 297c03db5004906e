// VP9 spatial layer (SVC) selection per subscriber: synthetic K-SVC streams (3 spatial x 3
// temporal layers, L3T3_KEY as Chromium sends it, non-flexible mode with a GOF in the keyframe's
// SS), packetized by tern's Vp9Packetizer, through LayerSelector and MediaRouter. A subscriber
// whose estimate fits spatial layer 0 alone gets S0 only, with the marker on each S0 frame's last
// packet and contiguous sequence numbers, and tern's own VideoJitterBuffer releases every picture
// of it; one with a high estimate gets the stream unchanged; going up waits for a keyframe (and a
// PLI goes upstream meanwhile); going down happens at the next picture.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "doctest/doctest.h"
#include "tern/core/seq_rewriter.h"
#include "tern/jitterbuffer/video/video_jitter_buffer.h"
#include "tern/pipeline/layer_selector.h"
#include "tern/pipeline/media_router.h"
#include "tern/rtp/rtcp/rtcp_packet.h"
#include "tern/rtp/payload/vp9_payload.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"
#include "tern/rtp/rtp_rtcp_split.h"

namespace tern::pipeline {
namespace {

constexpr uint32_t kSvcSsrc = 0x5C5C'0001;
constexpr uint32_t kSvcRtx = 0x5C5C'0002;
// Layer frame sizes (bytes of VP9 data): S0 1 packet, S1 3, S2 6 at 700-byte payloads. At 30 fps
// the cumulative rates are about S0 (all temporal) 110 kbps, S0+S1 T0 150 kbps, everything 1.6 Mbps.
constexpr std::array<size_t, 3> kSvcLayerBytes = {420, 2000, 4000};

// One RTP packet as sent, with what the test needs to check.
struct SvcPacket {
  rtp::RtpPacket packet;
  int spatial = 0;
  int picture = 0;  // index of the picture in the stream
};

// A K-SVC VP9 publisher: pictures of `spatial` layers with the 0-2-1-2 temporal pattern; a
// keyframe restarts the pattern. Keyframe: S0 P=0 (with the SS), upper layers P=0 D=1 (from the
// layer below). Delta pictures: every layer P=1 D=0 (from its own layer only).
struct SvcVp9Source {
  uint16_t seq = 40000;
  uint16_t picture_id = 1000;
  uint8_t tl0 = 0;
  uint32_t timestamp = 90000;
  int gof_index = 0;
  int pictures = 0;

  static int tid_of(int index) {
    static constexpr int kIds[4] = {0, 2, 1, 2};
    return kIds[index % 4];
  }
  static rtp::Vp9ScalabilityStructure ss(int spatial) {
    rtp::Vp9ScalabilityStructure s;
    s.num_spatial_layers = static_cast<uint8_t>(spatial);
    s.has_resolutions = true;
    for (int i = 0; i < spatial; ++i) {
      s.width[static_cast<size_t>(i)] = static_cast<uint16_t>(320 << i);
      s.height[static_cast<size_t>(i)] = static_cast<uint16_t>(180 << i);
    }
    s.has_picture_group = true;
    const std::array<rtp::Vp9PictureGroupEntry, 4> gof = {
        rtp::Vp9PictureGroupEntry{0, false, 1, {4, 0, 0}}, rtp::Vp9PictureGroupEntry{2, true, 1, {1, 0, 0}},
        rtp::Vp9PictureGroupEntry{1, true, 1, {2, 0, 0}}, rtp::Vp9PictureGroupEntry{2, false, 1, {1, 0, 0}}};
    s.picture_group.assign(gof.begin(), gof.end());
    return s;
  }

  std::vector<SvcPacket> picture(bool key, int spatial = 3) {
    if (key) gof_index = 0;
    const int tid = tid_of(gof_index);
    if (tid == 0 && pictures > 0) ++tl0;
    std::vector<SvcPacket> out;
    for (int s = 0; s < spatial; ++s) {
      rtp::Vp9FrameInfo info;
      rtp::Vp9Descriptor& d = info.descriptor;
      d.inter_picture_predicted = !key;
      d.picture_id = picture_id;
      d.picture_id_15bit = true;
      rtp::Vp9LayerIndices l;
      l.temporal_id = static_cast<uint8_t>(tid);
      l.switching_up = gof_index % 4 == 1 || gof_index % 4 == 2;
      l.spatial_id = static_cast<uint8_t>(s);
      l.inter_layer_dependency = key && s > 0;
      d.layer = l;
      d.tl0_pic_idx = tl0;
      if (key && s == 0) d.ss = ss(spatial);
      info.end_of_picture = s + 1 == spatial;
      const std::vector<uint8_t> frame(kSvcLayerBytes[static_cast<size_t>(s)], static_cast<uint8_t>(0x10 + s));
      rtp::Vp9Packetizer packetizer;
      rtp::PayloadLimits limits;
      limits.max_payload_size = 700;
      REQUIRE(packetizer.plan(frame, info, limits).ok());
      for (size_t i = 0; i < packetizer.num_packets(); ++i) {
        std::vector<uint8_t> payload(packetizer.packet_size(i));
        REQUIRE(packetizer.write(i, payload).ok());
        rtp::RtpPacketBuilder b;
        b.set_sequence_number(seq++).set_timestamp(timestamp).set_ssrc(kSvcSsrc).set_payload_type(96);
        b.set_marker(packetizer.marker(i)).set_payload(payload);
        out.push_back(SvcPacket{b.build().value(), s, pictures});
      }
    }
    ++picture_id;
    picture_id &= 0x7FFF;
    timestamp += 3000;
    ++gof_index;
    ++pictures;
    return out;
  }
};

struct SvcCapture final : DatagramSink {
  std::vector<std::vector<uint8_t>> datagrams;
  void on_datagram(std::vector<uint8_t> d, Timestamp) override { datagrams.push_back(std::move(d)); }
  // The media packets sent (RTX and RTCP left out).
  std::vector<rtp::RtpPacket> media() const {
    std::vector<rtp::RtpPacket> out;
    for (const auto& d : datagrams) {
      if (rtp::is_rtcp(d)) continue;
      auto p = rtp::RtpPacket::parse(std::span<const uint8_t>(d));
      REQUIRE(p.ok());
      if (p->ssrc() == kSvcSsrc) out.push_back(std::move(p).value());
    }
    return out;
  }
  size_t plis(uint32_t media_ssrc) const {
    size_t n = 0;
    for (const auto& d : datagrams) {
      if (!rtp::is_rtcp(d)) continue;
      for (const rtcp::RtcpPacket& p : rtcp::parse_compound(d).packets) {
        if (const auto* pli = std::get_if<rtcp::Pli>(&p); pli != nullptr && pli->media_ssrc == media_ssrc) ++n;
      }
    }
    return n;
  }
};

struct SvcSeen {
  int spatial = 0;
  bool end_of_layer = false;
  bool keyframe_start = false;  // S0 B with P=0
};
SvcSeen svc_seen(const rtp::RtpPacket& p) {
  auto parsed = rtp::Vp9Depacketizer::parse(p.payload());
  REQUIRE(parsed.ok());
  SvcSeen s;
  s.spatial = parsed->descriptor.layer ? parsed->descriptor.layer->spatial_id : 0;
  s.end_of_layer = parsed->descriptor.end_of_frame;
  s.keyframe_start = parsed->descriptor.start_of_frame && s.spatial == 0 && !parsed->descriptor.inter_picture_predicted;
  return s;
}

void check_svc_contiguous(const std::vector<rtp::RtpPacket>& got) {
  for (size_t i = 1; i < got.size(); ++i) {
    CHECK_MESSAGE(got[i].sequence_number() == static_cast<uint16_t>(got[i - 1].sequence_number() + 1),
                  "gap after packet " << (i - 1));
  }
}

// What tern's receive side makes of the forwarded stream: pictures its jitter buffer releases as
// decodable (references satisfied, every packet up to the marker present).
struct SvcReceiveResult {
  uint64_t frames_received = 0, frames_decoded = 0, key_frames = 0;
  std::set<uint32_t> decoded_timestamps;
};
SvcReceiveResult svc_receive(const std::vector<rtp::RtpPacket>& got) {
  jitterbuffer::VideoJitterBufferConfig jc;
  jc.codec = codecs::CodecType::kVp9;
  jitterbuffer::VideoJitterBuffer jb(jc);
  SvcReceiveResult r;
  Timestamp now = Timestamp::Seconds(100);
  uint32_t last_ts = got.empty() ? 0 : got.front().timestamp();
  for (const rtp::RtpPacket& p : got) {
    if (p.timestamp() != last_ts) now += TimeDelta::Millis(33);
    last_ts = p.timestamp();
    (void)jb.insert(p, now);
    for (const auto& f : jb.process(now)) r.decoded_timestamps.insert(f.rtp_timestamp);
  }
  for (int i = 0; i < 100; ++i) {
    now += TimeDelta::Millis(50);
    for (const auto& f : jb.process(now)) r.decoded_timestamps.insert(f.rtp_timestamp);
  }
  const jitterbuffer::VideoJitterBufferStats st = jb.stats();
  r.frames_received = st.frames_received;
  r.frames_decoded = st.frames_decoded;
  r.key_frames = st.key_frames_decoded;
  return r;
}

// A publisher leg and one subscriber leg, the subscriber's estimate fixed at `estimate` (no
// feedback from it: GCC stays at its start rate).
struct SvcRouterFixture {
  std::unique_ptr<MediaRouter> router;
  SvcCapture to_pub, to_sub;
  MediaRouter::LegId pub = 0, sub = 0;
  SvcVp9Source source;
  std::vector<SvcPacket> sent;
  Timestamp now = Timestamp::Seconds(1);

  explicit SvcRouterFixture(DataRate estimate, TimeDelta up_hold = TimeDelta::Seconds(2)) {
    MediaRouter::Config rc;
    rc.subscriber_start_rate = estimate;
    rc.subscriber_probing = false;
    rc.layer_up_hold = up_hold;
    rc.keyframe_request_interval = TimeDelta::Millis(300);
    auto r = MediaRouter::Create(rc);
    REQUIRE(r.ok());
    router = std::move(r).value();
    MediaRouter::ForwardedStream f;
    f.ssrc = kSvcSsrc;
    f.rtx_ssrc = kSvcRtx;
    f.codec = codecs::CodecType::kVp9;
    auto p = router->add_leg(0x61, &to_pub, {f});
    auto s = router->add_leg(0x62, &to_sub, {});
    REQUIRE(p.ok());
    REQUIRE(s.ok());
    pub = *p;
    sub = *s;
    REQUIRE(router->add_outbound(sub, f).ok());
  }
  // One picture through the router, then 33 ms of its timers.
  void send(bool key, int spatial = 3) {
    for (SvcPacket& p : source.picture(key, spatial)) {
      router->on_packet(pub, p.packet.data(), now);
      sent.push_back(std::move(p));
    }
    const Timestamp end = now + TimeDelta::Millis(33);
    for (int i = 0; i < 8; ++i) {  // bounded: a few wakeups per picture
      router->process(now);
      const std::optional<Timestamp> next = router->next_wakeup();
      if (!next || *next >= end) break;
      now = std::max(now, *next);
    }
    now = end;
  }
  // Delta pictures until the server asks the publisher for a keyframe, which the publisher sends
  // 3 pictures (100 ms) later; the keyframe's picture index, or -1 when none was asked for within
  // `max_pictures`.
  int send_until_keyframe(int max_pictures) {
    int asked_at = -1;
    for (int i = 0; i < max_pictures; ++i) {
      if (asked_at < 0 && to_pub.plis(kSvcSsrc) > 0) asked_at = source.pictures;
      const bool key = asked_at >= 0 && source.pictures == asked_at + 3;
      const int at = source.pictures;
      send(key);
      if (key) return at;
    }
    return -1;
  }
};

TEST_CASE("vp9 svc: layer rates per spatial x temporal layer, cumulative in both") {
  TemporalLayerRates r;
  Timestamp now = Timestamp::Seconds(5);
  for (Timestamp end = now + TimeDelta::Millis(1200); now < end; now += TimeDelta::Millis(10)) {
    r.on_packet(0, 125, now, 0);  // 100 kbps each
    r.on_packet(1, 125, now, 0);
    r.on_packet(0, 250, now, 1);  // 200 kbps
    r.on_packet(1, 250, now, 1);
    r.on_packet(0, 500, now, 2);  // 400 kbps
  }
  CHECK(r.num_spatial_layers(now) == 3);
  CHECK(r.num_layers(now) == 2);
  const std::optional<TemporalLayerRates::Table> t = r.table(now);
  REQUIRE(t.has_value());
  CHECK(t->spatial == 3);
  CHECK(t->temporal == 2);
  auto kbps = [&t](size_t s, size_t l) { return static_cast<double>(t->cumulative[s][l].bps()) / 1000.0; };
  CHECK(kbps(0, 0) == doctest::Approx(100).epsilon(0.05));
  CHECK(kbps(0, 1) == doctest::Approx(200).epsilon(0.05));
  CHECK(kbps(1, 0) == doctest::Approx(300).epsilon(0.05));
  CHECK(kbps(1, 1) == doctest::Approx(600).epsilon(0.05));
  CHECK(kbps(2, 0) == doctest::Approx(700).epsilon(0.05));
  CHECK(kbps(2, 1) == doctest::Approx(1000).epsilon(0.05));
  // The per-temporal-layer view spans every spatial layer; a spatial bound narrows it.
  CHECK(static_cast<double>(r.rate_up_to(1, now)->bps()) / 1000.0 == doctest::Approx(1000).epsilon(0.05));
  CHECK(static_cast<double>(r.rate_up_to(0, now, 1)->bps()) / 1000.0 == doctest::Approx(300).epsilon(0.05));
}

TEST_CASE("vp9 svc: a low estimate gets spatial layer 0 alone, marked, contiguous, decodable by tern") {
  SvcRouterFixture fx(DataRate::KilobitsPerSec(130));
  fx.send(true);
  for (int i = 1; i < 90; ++i) fx.send(false);  // 3 s
  const std::vector<rtp::RtpPacket> got = fx.to_sub.media();
  REQUIRE(!got.empty());
  check_svc_contiguous(got);
  // The first second (rates not measured yet) goes whole; from the switch on, S0 alone, each of
  // its packets ending its layer frame marked.
  size_t first_s0_only = got.size();
  for (size_t i = got.size(); i-- > 0;) {
    if (svc_seen(got[i]).spatial != 0) break;
    first_s0_only = i;
  }
  REQUIRE(first_s0_only < got.size());
  const size_t s0_only = got.size() - first_s0_only;
  CHECK(s0_only >= 55);  // about 2 s of pictures, one S0 packet each
  for (size_t i = first_s0_only; i < got.size(); ++i) {
    const SvcSeen s = svc_seen(got[i]);
    CHECK(s.spatial == 0);
    CHECK(got[i].marker() == s.end_of_layer);
  }
  // Before the switch, the stream as sent: markers only at the end of S2.
  for (size_t i = 0; i < first_s0_only; ++i) CHECK(got[i].marker() == (svc_seen(got[i]).spatial == 2 && svc_seen(got[i]).end_of_layer));
  const MediaRouter::LegCounters c = fx.router->counters(fx.sub);
  CHECK(c.spatial_layer == 0);
  CHECK(c.spatial_switches_down == 1);
  CHECK(c.spatial_switches_up == 0);
  CHECK(c.temporal_layer == 2);  // S0 at every temporal layer fits 130 kbps, S1 T0 does not
  CHECK(c.layer_bytes_dropped > 0);
  CHECK(fx.to_pub.plis(kSvcSsrc) == 0);  // nothing to wait for
  // Every picture forwarded is one tern's jitter buffer releases as decodable.
  std::set<uint32_t> pictures;
  for (const rtp::RtpPacket& p : got) pictures.insert(p.timestamp());
  const SvcReceiveResult rx = svc_receive(got);
  CHECK(pictures.size() == 90);
  CHECK(rx.frames_received == 90);
  CHECK(rx.frames_decoded == 90);
  CHECK(rx.decoded_timestamps == pictures);
}

TEST_CASE("vp9 svc: a high estimate gets every layer unchanged") {
  SvcRouterFixture fx(DataRate::MegabitsPerSec(50));
  fx.send(true);
  for (int i = 1; i < 60; ++i) fx.send(false);
  const std::vector<rtp::RtpPacket> got = fx.to_sub.media();
  REQUIRE(got.size() == fx.sent.size());
  check_svc_contiguous(got);
  for (size_t i = 0; i < got.size(); ++i) {
    const rtp::RtpPacket& in = fx.sent[i].packet;
    CHECK(got[i].timestamp() == in.timestamp());
    CHECK(got[i].marker() == in.marker());
    REQUIRE(got[i].payload().size() == in.payload().size());
    CHECK(std::equal(got[i].payload().begin(), got[i].payload().end(), in.payload().begin()));
  }
  const MediaRouter::LegCounters c = fx.router->counters(fx.sub);
  CHECK(c.spatial_layer == 2);
  CHECK(c.temporal_layer == 2);
  CHECK(c.spatial_switches_down == 0);
  CHECK(c.spatial_switches_up == 0);
  CHECK(c.layer_bytes_dropped == 0);
  const SvcReceiveResult rx = svc_receive(got);
  CHECK(rx.frames_decoded == 60);
}

TEST_CASE("vp9 svc: going up waits for a keyframe and asks the publisher for one") {
  // The publisher starts with its base layer alone (as Chromium does while its estimate ramps
  // up), then adds the upper layers with delta pictures: the subscriber may take them only from a
  // keyframe on, which the server asks for.
  SvcRouterFixture fx(DataRate::MegabitsPerSec(50), TimeDelta::Millis(500));
  fx.send(true, 1);
  for (int i = 1; i < 75; ++i) fx.send(false, 1);  // 2.5 s of S0: measured, every temporal layer
  const size_t before_upper = fx.to_sub.media().size();
  CHECK(fx.router->counters(fx.sub).spatial_layer == -1);  // no SVC seen yet
  CHECK(fx.router->counters(fx.sub).temporal_layer == 2);
  const int keyframe_at = fx.send_until_keyframe(60);
  REQUIRE(keyframe_at > 0);
  CHECK(keyframe_at >= 75 + 14);  // the estimate allowed the upper layers for layer_up_hold first
  for (int i = 0; i < 15; ++i) fx.send(false);
  const std::vector<rtp::RtpPacket> got = fx.to_sub.media();
  check_svc_contiguous(got);
  // Nothing above S0 before the keyframe; every layer from it on.
  size_t upper_before = 0, upper_after = 0;
  bool keyframe_seen = false;
  for (size_t i = before_upper; i < got.size(); ++i) {
    const SvcSeen s = svc_seen(got[i]);
    if (s.keyframe_start) keyframe_seen = true;
    (keyframe_seen ? upper_after : upper_before) += s.spatial > 0 ? 1 : 0;
    if (!keyframe_seen) CHECK(got[i].marker() == s.end_of_layer);  // S0 alone, marked
  }
  CHECK(keyframe_seen);
  CHECK(upper_before == 0);
  CHECK(upper_after == 16 * 9);  // S1 (3 packets) and S2 (6) of the keyframe and the 15 after it
  const MediaRouter::LegCounters c = fx.router->counters(fx.sub);
  CHECK(c.spatial_layer == 2);
  CHECK(c.spatial_switches_up == 1);  // 0 -> 2 at the keyframe
  CHECK(c.layer_keyframe_requests >= 1);
  CHECK(c.layer_keyframe_requests == fx.to_pub.plis(kSvcSsrc));
  // The wait asked at most once per simulcast_keyframe_retry (500 ms).
  CHECK(c.layer_keyframe_requests <= 2);
  const SvcReceiveResult rx = svc_receive(got);
  std::set<uint32_t> pictures;
  for (const rtp::RtpPacket& p : got) pictures.insert(p.timestamp());
  CHECK(rx.decoded_timestamps == pictures);
}

TEST_CASE("vp9 svc: a subscriber joining a measured stream starts at spatial layer 0") {
  // Its estimate is a start value nothing has tested yet: the base spatial layer first, the upper
  // ones after layer_up_hold, at a keyframe asked for. The subscriber there from the start keeps
  // every layer.
  SvcRouterFixture fx(DataRate::MegabitsPerSec(50), TimeDelta::Millis(500));
  fx.send(true);
  for (int i = 1; i < 45; ++i) fx.send(false);
  SvcCapture to_late;
  auto late = fx.router->add_leg(0x63, &to_late, {});
  REQUIRE(late.ok());
  MediaRouter::ForwardedStream f;
  f.ssrc = kSvcSsrc;
  f.rtx_ssrc = kSvcRtx;
  f.codec = codecs::CodecType::kVp9;
  REQUIRE(fx.router->add_outbound(*late, f).ok());
  const int keyframe_at = fx.send_until_keyframe(60);
  REQUIRE(keyframe_at > 0);
  CHECK(keyframe_at >= 45 + 14);  // layer_up_hold (500 ms) after the join
  for (int i = 0; i < 5; ++i) fx.send(false);
  const std::vector<rtp::RtpPacket> got = to_late.media();
  REQUIRE(!got.empty());
  check_svc_contiguous(got);
  // Upper layers before the keyframe: at most those of the picture that came before the leg's
  // first estimate tick (while it followed the stream).
  std::set<uint32_t> upper_pictures;
  bool keyframe_seen = false;
  size_t upper_after = 0;
  for (const rtp::RtpPacket& p : got) {
    const SvcSeen s = svc_seen(p);
    if (s.keyframe_start) keyframe_seen = true;
    if (!keyframe_seen && s.spatial > 0) upper_pictures.insert(p.timestamp());
    if (keyframe_seen && s.spatial > 0) ++upper_after;
  }
  CHECK(upper_pictures.size() <= 1);
  CHECK(upper_after == 6 * 9);  // the keyframe and the 5 pictures after it, whole
  const MediaRouter::LegCounters c = fx.router->counters(*late);
  CHECK(c.spatial_layer == 2);
  CHECK(c.spatial_switches_up == 1);
  CHECK(c.layer_keyframe_requests >= 1);
  const MediaRouter::LegCounters first = fx.router->counters(fx.sub);
  CHECK(first.spatial_layer == 2);
  CHECK(first.spatial_switches_down == 0);
  CHECK(first.layer_bytes_dropped == 0);
}

// The selector alone, its estimate moved by hand: down at the next picture, up only at a keyframe.
TEST_CASE("vp9 svc: selector goes down at once and up at a keyframe only") {
  Timestamp now = Timestamp::Seconds(20);
  TemporalLayerRates rates;
  LayerSelector::Config sc;
  sc.codec = codecs::CodecType::kVp9;
  sc.up_hold = TimeDelta::Millis(300);
  LayerSelector selector(sc);
  SeqRewriter rewriter(0);
  SvcVp9Source source;
  std::vector<SvcPacket> out;  // forwarded, seq rewritten
  DataRate estimate = DataRate::MegabitsPerSec(10);
  auto run = [&](int pictures, bool key_first) {
    for (int i = 0; i < pictures; ++i) {
      for (SvcPacket& p : source.picture(key_first && i == 0)) {
        const std::optional<VideoLayerPacket> parsed = VideoLayerPacket::Parse(codecs::CodecType::kVp9, p.packet.payload());
        REQUIRE(parsed.has_value());
        rates.on_packet(*parsed->temporal_id, p.packet.size(), now, *parsed->spatial_id);
        const LayerSelector::Decision d = selector.on_packet(p.packet.sequence_number(), p.packet.timestamp(),
                                                             p.packet.marker(), p.packet.mutable_payload(), parsed, now);
        if (!d.forward) {
          rewriter.drop(p.packet.sequence_number(), d.drop_gap);
          continue;
        }
        if (d.drop_gap) rewriter.drop(static_cast<uint16_t>(p.packet.sequence_number() - 1), true);
        const std::optional<uint16_t> seq = rewriter.rewrite(p.packet.sequence_number());
        REQUIRE(seq.has_value());
        p.packet.set_sequence_number(*seq);
        if (d.marker) p.packet.set_marker(true);
        out.push_back(std::move(p));
      }
      now += TimeDelta::Millis(33);
      selector.update(estimate, rates, now);
    }
  };
  run(45, true);  // measured: every layer fits
  CHECK(selector.counters().current_spatial == 2);
  CHECK(selector.counters().target_spatial == 2);
  CHECK_FALSE(selector.wants_keyframe());
  // Down: the next picture already stops at S0.
  estimate = DataRate::KilobitsPerSec(120);
  const int first_low = out.back().picture + 1;
  run(1, false);
  CHECK(selector.counters().target_spatial == 0);
  run(20, false);
  for (const SvcPacket& p : out) {
    if (p.picture < first_low + 1) continue;  // the picture in flight when the estimate fell
    CHECK(p.spatial == 0);
    CHECK(p.packet.marker());  // one S0 packet per picture, the end of what is sent
  }
  CHECK(selector.counters().current_spatial == 0);
  CHECK(selector.counters().spatial_switches_down == 1);
  // A prober toward this subscriber aims at the next step: spatial layer 1 with every temporal one.
  const std::optional<TemporalLayerRates::Table> table = rates.table(now);
  REQUIRE(table.has_value());
  REQUIRE(selector.next_step_rate().has_value());
  CHECK(*selector.next_step_rate() == table->cumulative[1][2]);
  // Up: the estimate allows everything again; after up_hold the selector wants a keyframe, and
  // delta pictures' upper layers (P=1) never start it.
  estimate = DataRate::MegabitsPerSec(10);
  run(30, false);
  CHECK(selector.counters().target_spatial == 2);
  CHECK(selector.counters().current_spatial == 0);
  CHECK(selector.wants_keyframe());
  const size_t before_key = out.size();
  run(1, true);
  CHECK_FALSE(selector.wants_keyframe());
  CHECK(selector.counters().current_spatial == 2);
  CHECK(selector.counters().spatial_switches_up == 1);
  REQUIRE(out.size() == before_key + 10);  // the keyframe whole: 1 + 3 + 6 packets
  CHECK_FALSE(out[before_key].packet.marker());  // S0 is no longer the end of the picture
  CHECK(out.back().packet.marker());
  for (size_t i = 1; i < out.size(); ++i)
    CHECK(out[i].packet.sequence_number() == static_cast<uint16_t>(out[i - 1].packet.sequence_number() + 1));
}

// Upstream loss inside dropped spatial layers takes no hole into the subscriber's numbering; a
// loss inside the forwarded layer stays a hole for NACK.
TEST_CASE("vp9 svc: upstream loss in a dropped spatial layer leaves no hole") {
  SvcRouterFixture fx(DataRate::KilobitsPerSec(130));
  fx.send(true);
  for (int i = 1; i < 45; ++i) fx.send(false);  // measured: S0 only from here
  const size_t before = fx.to_sub.media().size();
  // Pictures whose S1/S2 packets are partly lost upstream (the head of S1, S2's tail and the
  // whole S2 of another), then S0's only packet of one picture lost.
  for (int i = 0; i < 7; ++i) {
    std::vector<SvcPacket> pic = fx.source.picture(false);
    for (size_t k = 0; k < pic.size(); ++k) {
      const bool lose = (i == 1 && k == 1) || (i == 2 && k + 1 == pic.size()) || (i == 3 && pic[k].spatial == 2) ||
                        (i == 5 && k == 0);
      if (!lose) fx.router->on_packet(fx.pub, pic[k].packet.data(), fx.now);
    }
    fx.router->process(fx.now);
    fx.now += TimeDelta::Millis(33);
  }
  const std::vector<rtp::RtpPacket> got = fx.to_sub.media();
  REQUIRE(got.size() == before + 6);  // one S0 packet per picture, one of them lost
  std::vector<uint16_t> seqs;
  for (size_t i = before - 1; i < got.size(); ++i) seqs.push_back(got[i].sequence_number());
  // Contiguous, except the hole where picture 5's S0 went missing.
  int holes = 0;
  for (size_t i = 1; i < seqs.size(); ++i) {
    const auto step = static_cast<uint16_t>(seqs[i] - seqs[i - 1]);
    CHECK((step == 1 || step == 2));
    holes += step == 2 ? 1 : 0;
  }
  CHECK(holes == 1);
}

}  // namespace
}  // namespace tern::pipeline
