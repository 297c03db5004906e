// Endpoint configurations beyond the default: VP9 with ULPFEC/RED and audio RED under loss, REMB
// and fixed-rate congestion modes, the relay (TURN-like) topology, A/V sync, config validation.
#include <cstdio>
#include <string>

#include "call_fixture.h"
#include "doctest/doctest.h"
#include "tern/pipeline/av_sync.h"

namespace tern::pipeline {
namespace {

using testing::Call;
using testing::link;
using testing::small_call_config;

TEST_CASE("pipeline endpoint VP9 with FEC and audio RED under loss") {
  EndpointConfig ca = small_call_config();
  ca.send.video = VideoCodecKind::kVp9;
  ca.send.protection = ProtectionConfig{true, true, true};
  ca.receive = ca.send;
  netsim::NetworkConfig net = netsim::NetworkConfig::Direct(link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(40), 0.05),
                                                            link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(40), 0.05));
  net.seed = 3;
  auto call = Call::Make(ca, ca.mirrored(), net);
  call->run(TimeDelta::Seconds(6));
  const StatsReport rb = call->b->stats(call->now());
  const InboundRtpStats* video = rb.inbound("video");
  const InboundRtpStats* audio = rb.inbound("audio");
  const StatsReport ra = call->a->stats(call->now());
  const OutboundRtpStats* sent = ra.outbound("video");
  REQUIRE(video != nullptr);
  REQUIRE(audio != nullptr);
  REQUIRE(sent != nullptr);
  std::printf("vp9 fec: sent %u rendered %u fec sent %llu recv %llu recovered %llu rtx %llu concealed %llu\n",
              sent->frames_encoded.value(), video->frames_rendered.value(),
              static_cast<unsigned long long>(sent->fec_packets_sent.value_or(0)),
              static_cast<unsigned long long>(video->fec_packets_received.value_or(0)),
              static_cast<unsigned long long>(video->fec_packets_recovered.value_or(0)),
              static_cast<unsigned long long>(video->retransmitted_packets_received),
              static_cast<unsigned long long>(audio->concealed_samples.value_or(0)));
  CHECK(sent->fec_packets_sent.value() > 0);
  CHECK(video->fec_packets_received.value() > 0);
  CHECK(video->fec_packets_recovered.value() > 0);
  CHECK(video->frames_rendered.value() + 25 >= sent->frames_encoded.value());
  CHECK(video->tern_mean_psnr.value_or(0) > 30);
  // RED carries each Opus frame twice more: 5% random loss leaves almost nothing to conceal.
  CHECK(audio->concealed_samples.value() < 48000 / 10);
}

TEST_CASE("pipeline endpoint REMB mode limits the sender at a bottleneck") {
  EndpointConfig ca = small_call_config();
  ca.congestion = CongestionControlMode::kRemb;
  EndpointConfig cb = ca.mirrored();
  cb.send.video = VideoCodecKind::kNone;
  ca.receive.video = VideoCodecKind::kNone;
  netsim::LinkConfig bottleneck = link(DataRate::KilobitsPerSec(600), TimeDelta::Millis(25));
  bottleneck.queue_delay = TimeDelta::Millis(300);
  auto call = Call::Make(ca, cb, netsim::NetworkConfig::Direct(bottleneck, link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(25))));
  call->run(TimeDelta::Seconds(15));
  std::printf("remb: target %.0f kbps\n", call->a->target_rate().kbps_f());
  CHECK(call->a->target_rate() < DataRate::KilobitsPerSec(800));
  CHECK(call->a->target_rate() > DataRate::KilobitsPerSec(100));
  const StatsReport rb = call->b->stats(call->now());
  REQUIRE(rb.candidate_pairs.size() == 1);
  CHECK(rb.candidate_pairs[0].available_incoming_bitrate.has_value());
  CHECK(rb.inbound("video")->frames_rendered.value() > 250);
}

TEST_CASE("pipeline endpoint fixed rate over a relay topology") {
  EndpointConfig ca = small_call_config();
  ca.congestion = CongestionControlMode::kFixed;
  ca.fixed_rate = DataRate::KilobitsPerSec(400);
  EndpointConfig cb = ca.mirrored();
  const netsim::LinkConfig hop = link(DataRate::MegabitsPerSec(10), TimeDelta::Millis(15));
  auto call = Call::Make(ca, cb, netsim::NetworkConfig::Relay(hop, hop, hop, hop));
  call->run(TimeDelta::Seconds(4));
  CHECK(call->a->target_rate() == DataRate::KilobitsPerSec(400));
  // Two hops of 15 ms each way.
  REQUIRE(call->a->rtt().has_value());
  CHECK(call->a->rtt()->ms() >= 60);
  CHECK(call->a->rtt()->ms() < 100);
  const StatsReport rb = call->b->stats(call->now());
  CHECK(rb.inbound("video")->frames_rendered.value() > 100);
  CHECK(rb.inbound("video")->freeze_count.value() == 0);
}

TEST_CASE("pipeline endpoint keeps audio and video in sync") {
  EndpointConfig ca = small_call_config();
  auto call = Call::Make(ca, ca.mirrored(),
                         netsim::NetworkConfig::Direct(link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(30)),
                                                       link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(30))));
  call->run(TimeDelta::Seconds(8));
  const std::optional<TimeDelta> offset = call->b->sync_offset();
  REQUIRE(offset.has_value());
  const StatsReport rb = call->b->stats(call->now());
  const InboundRtpStats* video = rb.inbound("video");
  const InboundRtpStats* audio = rb.inbound("audio");
  std::printf("av sync: offset %.1f ms, audio extra %.1f ms, video extra %.1f ms\n", offset->ms_f(),
              audio->tern_sync_delay.value_or(0) * 1e3, video->tern_sync_delay.value_or(0) * 1e3);
  CHECK(offset->abs() < TimeDelta::Millis(45));
  REQUIRE(video->tern_sync_offset.has_value());
}

TEST_CASE("pipeline av sync delays the earlier stream step by step") {
  AvSync sync;
  // Video plays 100 ms after audio: audio gets delayed, at most max_step per update.
  sync.update(TimeDelta::Millis(50), TimeDelta::Millis(150));
  CHECK(sync.audio_extra_delay() == TimeDelta::Millis(20));
  CHECK(sync.video_extra_delay() == TimeDelta::Zero());
  for (int i = 0; i < 10; ++i) sync.update(TimeDelta::Millis(50), TimeDelta::Millis(150));
  CHECK(sync.audio_extra_delay() == TimeDelta::Millis(100));
  CHECK(sync.sync_offset() == TimeDelta::Zero());
  // Now audio is late: the audio delay unwinds first, then video is delayed.
  for (int i = 0; i < 20; ++i) sync.update(TimeDelta::Millis(200), TimeDelta::Millis(120));
  CHECK(sync.audio_extra_delay() == TimeDelta::Zero());
  CHECK(sync.video_extra_delay() == TimeDelta::Millis(80));
  // Unknown delays change nothing.
  sync.update(std::nullopt, TimeDelta::Millis(10));
  CHECK(sync.video_extra_delay() == TimeDelta::Millis(80));
}

TEST_CASE("pipeline endpoint config validation") {
  EndpointConfig c = small_call_config();
  CHECK(c.validate().ok());
  EndpointConfig bad = c;
  bad.remote.video = bad.local.audio;
  CHECK(!bad.validate().ok());
  bad = c;
  bad.send.width = 321;
  CHECK(!bad.validate().ok());
  bad = c;
  bad.start_rate = DataRate::KilobitsPerSec(5);
  CHECK(!bad.validate().ok());
  bad = c;
  bad.extension_ids.mid = bad.extension_ids.abs_send_time;
  CHECK(!bad.validate().ok());
  const EndpointConfig m = c.mirrored();
  CHECK(m.local.audio == c.remote.audio);
  CHECK(m.remote.video == c.local.video);
  CHECK(m.validate().ok());
  CHECK(!Endpoint::Create(c, nullptr).ok());
}

TEST_CASE("pipeline rtcp demux follows RFC 5761") {
  const uint8_t sr[] = {0x80, 200, 0, 6};
  const uint8_t rtp_pt96[] = {0x80, 96, 0, 1};
  const uint8_t rtp_marker[] = {0x80, 0x80 | 96, 0, 1};
  CHECK(is_rtcp(sr));
  CHECK(!is_rtcp(rtp_pt96));
  CHECK(!is_rtcp(rtp_marker));
  CHECK(!is_rtcp(std::span<const uint8_t>(sr, 1)));
}

}  // namespace
}  // namespace tern::pipeline
