// Endpoint configurations beyond the default: VP9 with ULPFEC/RED and audio RED under loss, REMB
// and fixed-rate congestion modes, the relay (TURN-like) topology, A/V sync, config validation.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "call_fixture.h"
#include "doctest/doctest.h"
#include "tern/media/media_source.h"
#include "tern/pipeline/av_sync.h"
#include "tern/rtp/rtcp/rtcp_packet.h"
#include "tern/rtp/rtp_rtcp_split.h"

namespace tern::pipeline {
namespace {

using testing::Call;
using testing::link;
using testing::small_call_config;

// A sends video alone with `protection`; B receives it and sends nothing but RTCP.
struct OneWay {
  EndpointConfig a, b;
};
OneWay video_one_way(ProtectionConfig protection) {
  OneWay w;
  w.a = small_call_config();
  w.a.send.protection = protection;
  w.a.send.audio.reset();
  w.b = w.a.mirrored();
  w.b.send.video.reset();
  w.a.receive.video.reset();
  return w;
}

// A 240 ms round trip (120 ms each way, 3 Mbps) losing `loss` of A's packets at random.
netsim::NetworkConfig long_path(double loss, uint64_t seed) {
  netsim::NetworkConfig net = netsim::NetworkConfig::Direct(link(DataRate::MegabitsPerSec(3), TimeDelta::Millis(120), loss),
                                                            link(DataRate::MegabitsPerSec(3), TimeDelta::Millis(120)));
  net.seed = seed;
  return net;
}

TEST_CASE("pipeline endpoint VP9 with FEC and audio RED under loss") {
  EndpointConfig ca = small_call_config();
  ca.send.video = codecs::CodecType::kVp9;
  ca.send.protection = ProtectionConfig{true, true, true, false};
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

TEST_CASE("pipeline endpoint FEC picks bursty masks under bursty loss and random masks under independent loss") {
  // 100 ms one way (RTT 200 ms: FEC on), 5% loss; the sender learns the loss pattern from
  // transport-cc feedback (recovery::LossBurstMeter) and hands it to the protection policy.
  for (const double burst : {1.0, 4.0}) {
    OneWay w = video_one_way(ProtectionConfig{true, true, false, false});
    EndpointConfig& ca = w.a;
    EndpointConfig& cb = w.b;
    netsim::LinkConfig forward = link(DataRate::MegabitsPerSec(3), TimeDelta::Millis(100));
    forward.loss = burst > 1 ? netsim::LossConfig::GilbertElliott(0.05, burst) : netsim::LossConfig::Random(0.05);
    netsim::NetworkConfig net = netsim::NetworkConfig::Direct(forward, link(DataRate::MegabitsPerSec(3), TimeDelta::Millis(100)));
    net.seed = 17;
    auto call = Call::Make(ca, cb, net);
    call->run(TimeDelta::Seconds(10));
    const StatsReport ra = call->a->stats(call->now());
    const OutboundRtpStats* sent = ra.outbound("video");
    REQUIRE(sent != nullptr);
    const StatsReport rb = call->b->stats(call->now());
    const InboundRtpStats* got = rb.inbound("video");
    REQUIRE(got != nullptr);
    INFO("burst " << burst);
    MESSAGE("loss 5%, mean burst " << burst << ": FEC masks " << sent->fec_mask_type.value_or("?") << ", FEC sent "
            << sent->fec_packets_sent.value_or(0) << ", recovered " << got->fec_packets_recovered.value_or(0));
    REQUIRE(sent->fec_mask_type.has_value());
    CHECK(*sent->fec_mask_type == (burst > 1 ? "bursty" : "random"));
    CHECK(sent->fec_packets_sent.value_or(0) > 0);
    CHECK(got->fec_packets_recovered.value_or(0) > 0);
  }
}

TEST_CASE("pipeline endpoint FlexFEC on its own SSRC repairs random loss: more frames, fewer freezes") {
  // One way, VP8, 5% random loss, NACK off: the same seed without protection and with FlexFEC.
  struct Outcome {
    uint64_t rendered = 0, freezes = 0, fec_sent = 0, fec_received = 0, recovered = 0;
    int64_t fec_budget_bytes = 0;
    int wire_fec = 0, wire_fec_wellformed = 0;
  };
  auto run = [](bool flexfec) {
    OneWay w = video_one_way(ProtectionConfig{false, false, false, flexfec});
    EndpointConfig& ca = w.a;
    EndpointConfig& cb = w.b;
    netsim::NetworkConfig net = netsim::NetworkConfig::Direct(link(DataRate::MegabitsPerSec(3), TimeDelta::Millis(30), 0.05),
                                                              link(DataRate::MegabitsPerSec(3), TimeDelta::Millis(30)));
    net.seed = 29;
    auto call = Call::Make(ca, cb, net);
    Outcome o;
    std::optional<uint16_t> last_seq;
    netsim::Network* nw = call->network.get();
    // What A puts on the wire: FlexFEC packets on their own SSRC and payload type, the protected
    // SSRC as the only CSRC (RFC 8627 4.2.1), consecutive sequence numbers of their own, and the
    // transport-wide sequence number congestion control needs.
    call->transport_a.set_send([&, nw](netsim::SimPacket p, Timestamp now) {
      auto pk = rtp::RtpPacket::parse(p.data);
      if (!rtp::is_rtcp(p.data) && pk && pk->ssrc() == ca.local.video_fec) {
        ++o.wire_fec;
        const auto v = pk->view();
        rtp::ExtensionMap ext;
        (void)ext.register_extension<rtp::TransportSequenceNumber>(ca.extension_ids.transport_sequence_number);
        if (pk->payload_type() == ca.payload_types.flexfec && v.csrc_count() == 1 && v.csrc(0) == ca.local.video &&
            (!last_seq || static_cast<uint16_t>(*last_seq + 1) == pk->sequence_number()) &&
            pk->get<rtp::TransportSequenceNumber>(ext).has_value()) {
          ++o.wire_fec_wellformed;
        }
        last_seq = pk->sequence_number();
      }
      nw->send_from_a(std::move(p), now);
    });
    call->run(TimeDelta::Seconds(6));
    const StatsReport ra = call->a->stats(call->now());
    const StatsReport rb = call->b->stats(call->now());
    const OutboundRtpStats* sent = ra.outbound("video");
    const InboundRtpStats* got = rb.inbound("video");
    REQUIRE(sent != nullptr);
    REQUIRE(got != nullptr);
    o.rendered = got->frames_rendered.value_or(0);
    o.freezes = got->freeze_count.value_or(0);
    o.fec_sent = sent->fec_packets_sent.value_or(0);
    o.fec_received = got->fec_packets_received.value_or(0);
    o.recovered = got->fec_packets_recovered.value_or(0);
    o.fec_budget_bytes = call->a->send_transport().budget().fec.bytes();
    return o;
  };
  const Outcome none = run(false);
  const Outcome flex = run(true);
  MESSAGE("5% loss, no protection: rendered " << none.rendered << ", freezes " << none.freezes
          << "; FlexFEC: rendered " << flex.rendered << ", freezes " << flex.freezes << ", FEC sent " << flex.fec_sent
          << ", received " << flex.fec_received << ", recovered " << flex.recovered);
  CHECK(none.wire_fec == 0);
  CHECK(none.fec_sent == 0);
  CHECK(flex.fec_sent > 0);
  CHECK(flex.wire_fec > 0);
  CHECK(flex.wire_fec_wellformed == flex.wire_fec);
  CHECK(flex.fec_budget_bytes > 0);  // paced and counted as FEC by the send transport
  CHECK(flex.fec_received > 0);
  CHECK(flex.fec_received < flex.fec_sent);  // 5% of them were lost too
  CHECK(flex.recovered > 0);
  CHECK(flex.rendered > none.rendered);
  CHECK(flex.freezes < none.freezes);
}

TEST_CASE("pipeline endpoint with NACK and ULPFEC retransmits media, never a FEC packet") {
  // ULPFEC shares the media's sequence numbers, so the receiver NACKs a lost FEC packet like
  // media. Resent, it went out unwrapped under the codec's RTX type and reached the receiver as a
  // VP8 packet full of FEC bytes (recovery::PacketHistory::Config::fec_payload_type). RTT 240 ms,
  // 10% loss: FEC on at its highest rate, and NACKs for what it could not repair (at 5% the FEC
  // rule 6 sizes for two-frame groups repairs every loss of this call before its retransmission
  // comes: 53 of 53).
  OneWay w = video_one_way(ProtectionConfig{true, true, false, false});
  EndpointConfig& ca = w.a;
  EndpointConfig& cb = w.b;
  const netsim::NetworkConfig net = long_path(0.10, 41);
  auto call = Call::Make(ca, cb, net);
  std::vector<uint16_t> fec_seqs, rtx_osns;
  size_t wire_media = 0;
  netsim::Network* nw = call->network.get();
  call->transport_a.set_send([&, nw](netsim::SimPacket p, Timestamp now) {
    if (const auto wire = testing::classify_wire_video(p.data, ca)) {
      if (wire->kind == testing::WireVideoPacket::Kind::kFec) fec_seqs.push_back(wire->sequence_number);
      if (wire->kind == testing::WireVideoPacket::Kind::kMedia) ++wire_media;
      if (wire->kind == testing::WireVideoPacket::Kind::kRtx) rtx_osns.push_back(wire->sequence_number);
    }
    nw->send_from_a(std::move(p), now);
  });
  call->run(TimeDelta::Seconds(8));
  size_t fec_resent = 0;
  std::sort(fec_seqs.begin(), fec_seqs.end());
  for (const uint16_t osn : rtx_osns) fec_resent += std::binary_search(fec_seqs.begin(), fec_seqs.end(), osn) ? 1 : 0;
  const StatsReport rb = call->b->stats(call->now());
  const InboundRtpStats* got = rb.inbound("video");
  REQUIRE(got != nullptr);
  MESSAGE("media " << wire_media << ", FEC " << fec_seqs.size() << ", retransmissions " << rtx_osns.size()
                   << " (of FEC packets " << fec_resent << "); B: repaired by RTX " << got->tern_packets_repaired_by_rtx.value_or(0)
                   << ", FEC recovered " << got->fec_packets_recovered.value_or(0) << ", freezes "
                   << got->freeze_count.value_or(0));
  CHECK(wire_media > 300);
  CHECK(fec_seqs.size() > 100);
  CHECK(rtx_osns.size() > 0);  // media the FEC could not repair was resent
  CHECK(fec_resent == 0);
  CHECK(got->tern_packets_repaired_by_rtx.value_or(0) > 0);
  CHECK(got->tern_packets_repaired_by_rtx.value_or(0) <= rtx_osns.size());
}

TEST_CASE("pipeline endpoint with NACK and ULPFEC never NACKs a lost FEC packet, and still NACKs lost media") {
  // A FEC packet takes a number between its frame's last packet (the marker) and the next frame's
  // first; a receiver that sees both knows the numbers between carry no media and does not ask
  // for them (recovery::NackGenerator::forget_between); nor for the numbers between a frame's
  // last packet and a later FEC packet of the same frame. Before, every lost FEC packet was asked
  // for up to ten times over a second, and refused each time. Same call as above.
  OneWay w = video_one_way(ProtectionConfig{true, true, false, false});
  EndpointConfig& ca = w.a;
  const netsim::NetworkConfig net = long_path(0.10, 41);
  auto call = Call::Make(ca, w.b, net);
  std::vector<uint16_t> fec_seqs, media_seqs, nacked;
  netsim::Network* nw = call->network.get();
  call->transport_a.set_send([&, nw](netsim::SimPacket p, Timestamp now) {
    if (const auto wire = testing::classify_wire_video(p.data, ca)) {
      if (wire->kind == testing::WireVideoPacket::Kind::kFec) fec_seqs.push_back(wire->sequence_number);
      if (wire->kind == testing::WireVideoPacket::Kind::kMedia) media_seqs.push_back(wire->sequence_number);
    }
    nw->send_from_a(std::move(p), now);
  });
  call->transport_b.set_send([&, nw](netsim::SimPacket p, Timestamp now) {
    if (rtp::is_rtcp(p.data)) {
      for (const rtcp::RtcpPacket& packet : rtcp::parse_compound(p.data).packets) {
        if (const auto* nack = std::get_if<rtcp::Nack>(&packet); nack && nack->media_ssrc == ca.local.video) {
          nacked.insert(nacked.end(), nack->lost.begin(), nack->lost.end());
        }
      }
    }
    nw->send_from_b(std::move(p), now);
  });
  call->run(TimeDelta::Seconds(8));
  std::sort(fec_seqs.begin(), fec_seqs.end());
  std::sort(media_seqs.begin(), media_seqs.end());
  std::sort(nacked.begin(), nacked.end());
  nacked.erase(std::unique(nacked.begin(), nacked.end()), nacked.end());  // retries counted once
  std::vector<uint16_t> nacked_fec_seqs, nacked_media_seqs;
  for (const uint16_t seq : nacked) {
    if (std::binary_search(fec_seqs.begin(), fec_seqs.end(), seq)) nacked_fec_seqs.push_back(seq);
    if (std::binary_search(media_seqs.begin(), media_seqs.end(), seq)) nacked_media_seqs.push_back(seq);
  }
  // A FEC number can still be asked for when the frame edge that would tell is lost too: the
  // frame's last packet (just before its FEC) or the next frame's first (just after). Such a
  // number then sits next to a NACKed media number (a group is at most a few FEC packets).
  size_t fec_beside_lost_media = 0;
  for (const uint16_t f : nacked_fec_seqs) {
    const bool beside = std::any_of(nacked_media_seqs.begin(), nacked_media_seqs.end(), [f](uint16_t m) {
      const int d = static_cast<int16_t>(static_cast<uint16_t>(f - m));
      return d != 0 && d >= -4 && d <= 4;
    });
    fec_beside_lost_media += beside ? 1 : 0;
  }
  const size_t nacked_fec = nacked_fec_seqs.size(), nacked_media = nacked_media_seqs.size();
  const StatsReport rb = call->b->stats(call->now());
  const InboundRtpStats* got = rb.inbound("video");
  REQUIRE(got != nullptr);
  MESSAGE("FEC packets sent " << fec_seqs.size() << ", numbers NACKed " << nacked.size() << ": media " << nacked_media
                              << ", FEC " << nacked_fec << " (beside lost media " << fec_beside_lost_media
                              << "); B: repaired by RTX " << got->tern_packets_repaired_by_rtx.value_or(0)
                              << ", freezes " << got->freeze_count.value_or(0));
  CHECK(fec_seqs.size() > 100);  // ~5% of them lost
  CHECK(nacked_media > 0);
  CHECK(fec_beside_lost_media == nacked_fec);
  CHECK(got->tern_packets_repaired_by_rtx.value_or(0) > 0);
}

TEST_CASE("pipeline endpoint on a long path keeps FEC on from the first feedback while loss stays near 1%") {
  // At 240 ms RTT a retransmission comes after the jitter buffer gave its frame up, so FEC must not
  // stop while the path loses: a loss figure over a second of packets at ~1% loss falls under the
  // policy's 1% threshold now and then (rule 7 keeps FEC on down to 0.5%), and a receiver report
  // before the first RTT used to judge the path by a 100 ms guess and turn FEC off until the next
  // report. The wire is tapped: every 100 ms from 0.5 s on carries FEC packets.
  OneWay w = video_one_way(ProtectionConfig{true, true, false, false});
  EndpointConfig& ca = w.a;
  const netsim::NetworkConfig net = long_path(0.012, 7);
  auto call = Call::Make(ca, w.b, net);
  constexpr size_t kBins = 200;  // 20 s in 100 ms
  std::vector<int> fec_in_bin(kBins, 0), media_in_bin(kBins, 0);
  netsim::Network* nw = call->network.get();
  call->transport_a.set_send([&, nw](netsim::SimPacket p, Timestamp now) {
    const auto bin = static_cast<size_t>(now.ms() / 100);
    if (const auto wire = testing::classify_wire_video(p.data, ca); wire && bin < kBins) {
      if (wire->kind == testing::WireVideoPacket::Kind::kFec) ++fec_in_bin[bin];
      if (wire->kind == testing::WireVideoPacket::Kind::kMedia) ++media_in_bin[bin];
    }
    nw->send_from_a(std::move(p), now);
  });
  call->run(TimeDelta::Seconds(20));
  int bare = 0, fec = 0;
  for (size_t i = 5; i < kBins; ++i) {
    if (media_in_bin[i] > 0 && fec_in_bin[i] == 0) ++bare;
    fec += fec_in_bin[i];
  }
  const StatsReport rb = call->b->stats(call->now());
  const InboundRtpStats* got = rb.inbound("video");
  REQUIRE(got != nullptr);
  MESSAGE("100 ms spans with media and no FEC from 0.5 s on: " << bare << " of " << kBins - 5 << "; FEC packets " << fec
                                                            << "; B: FEC recovered " << got->fec_packets_recovered.value_or(0)
                                                            << ", repaired by RTX " << got->tern_packets_repaired_by_rtx.value_or(0)
                                                            << ", freezes " << got->freeze_count.value_or(0));
  CHECK(fec > 200);
  CHECK(bare == 0);
  CHECK(got->fec_packets_recovered.value_or(0) > 0);
}

TEST_CASE("pipeline endpoint on a long path repairs nearly every loss with FEC, not a round trip late") {
  // 240 ms RTT, 2% random loss, 20 s: a packet FEC misses is resent after its frame was given up,
  // a freeze of about a round trip. The protection policy's rule 6 sizes FEC by what the XOR masks
  // really repair and may group two frames (recovery/protection_policy.h). On each of three seeds
  // at most 4% of the repaired media packets wait for a retransmission, and there is at most one
  // freeze (measured: 0-1 of 56-68 and no freeze; sized as if m FEC packets repaired any m losses,
  // with one-frame groups, seed 8 had 3 of 60 and 2 freezes).
  for (const uint64_t seed : {7, 8, 9}) {
    OneWay w = video_one_way(ProtectionConfig{true, true, false, false});
    auto call = Call::Make(w.a, w.b, long_path(0.02, seed));
    call->run(TimeDelta::Seconds(20));
    const StatsReport rb = call->b->stats(call->now());
    const InboundRtpStats* got = rb.inbound("video");
    REQUIRE(got != nullptr);
    const uint64_t by_fec = got->fec_packets_recovered.value_or(0);
    const uint64_t by_rtx = got->tern_packets_repaired_by_rtx.value_or(0);
    MESSAGE("seed " << seed << ": media lost " << got->packets_lost << " net; repaired by FEC " << by_fec << ", by RTX "
                    << by_rtx << "; freezes " << got->freeze_count.value_or(0) << ", frames decoded "
                    << got->frames_decoded.value_or(0));
    CHECK(by_fec > 20);
    CHECK(by_rtx * 25 <= by_fec + by_rtx);
    CHECK(got->freeze_count.value_or(99) <= 1);
    CHECK(got->frames_decoded.value_or(0) > 550);
  }
}

TEST_CASE("pipeline endpoint asks for keyframes by FIR when the peer takes only FIR, by PLI otherwise") {
  // 10% loss with NACK off: frames go missing and the receiver asks for keyframes.
  for (const bool fir : {false, true}) {
    OneWay w = video_one_way(ProtectionConfig{false, false, false, false});
    EndpointConfig& ca = w.a;
    EndpointConfig& cb = w.b;
    cb.use_fir = fir;
    netsim::NetworkConfig net = netsim::NetworkConfig::Direct(link(DataRate::MegabitsPerSec(3), TimeDelta::Millis(20), 0.10),
                                                              link(DataRate::MegabitsPerSec(3), TimeDelta::Millis(20)));
    net.seed = 23;
    auto call = Call::Make(ca, cb, net);
    call->run(TimeDelta::Seconds(6));
    const StatsReport ra = call->a->stats(call->now());
    const OutboundRtpStats* sent = ra.outbound("video");
    REQUIRE(sent != nullptr);
    INFO("fir " << fir);
    MESSAGE("keyframe requests received by the sender: " << sent->pli_count.value_or(0) << " PLI, "
                                                         << sent->fir_count.value_or(0) << " FIR; keyframes "
                                                         << sent->key_frames_encoded.value_or(0));
    CHECK((fir ? sent->fir_count : sent->pli_count).value_or(0) > 0);
    CHECK((fir ? sent->pli_count : sent->fir_count).value_or(0) == 0);
    CHECK(sent->key_frames_encoded.value_or(0) > 1);  // the requests were answered
  }
}

TEST_CASE("pipeline endpoint REMB mode limits the sender at a bottleneck") {
  EndpointConfig ca = small_call_config();
  ca.congestion = CongestionControlMode::kRemb;
  EndpointConfig cb = ca.mirrored();
  cb.send.video.reset();
  ca.receive.video.reset();
  netsim::LinkConfig bottleneck = link(DataRate::KilobitsPerSec(600), TimeDelta::Millis(25));
  bottleneck.queue_delay = TimeDelta::Millis(300);
  auto call = Call::Make(ca, cb, netsim::NetworkConfig::Direct(bottleneck, link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(25))));
  call->run(TimeDelta::Seconds(15));
  // The target over the last 5 s (not one instant) must stay within the 600 kbps capacity.
  double sum = 0, peak = 0;
  int n = 0;
  for (const NetworkSample& s : call->samples_a.samples) {
    if (s.time < Timestamp::Seconds(10)) continue;
    sum += s.target_bitrate.kbps_f();
    peak = std::max(peak, s.target_bitrate.kbps_f());
    ++n;
  }
  REQUIRE(n > 0);
  std::printf("remb: target %.0f kbps at the end, mean %.0f kbps and peak %.0f kbps over the last 5 s\n",
              call->a->target_rate().kbps_f(), sum / n, peak);
  CHECK(sum / n <= 600);
  CHECK(call->a->target_rate() <= DataRate::KilobitsPerSec(600));
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

// A microphone of silence with a 1 kHz burst (one block) every 500 ms; it records when each burst was
// captured, so that a listener can measure capture-to-playout delay from the audio itself.
class BurstAudioSource : public media::AudioSource {
 public:
  std::optional<codecs::AudioFrame> next_samples(int samples_per_channel, Timestamp now) override {
    codecs::AudioFrame f;
    f.samples_per_channel = samples_per_channel;
    f.samples.assign(static_cast<size_t>(samples_per_channel), 0);
    f.capture_time = now;
    if (now >= next_burst_) {
      next_burst_ = now + TimeDelta::Millis(500);
      bursts.push_back(now - AudioSendStream::kFrameDuration);  // a frame taken at `now` holds the 20 ms before
      for (int i = 0; i < samples_per_channel; ++i) {
        f.samples[static_cast<size_t>(i)] = static_cast<int16_t>(16000 * std::sin(2 * M_PI * 1000.0 * i / 48000.0));
      }
    }
    return f;
  }
  int sample_rate_hz() const override { return 48000; }
  int channels() const override { return 1; }
  std::vector<Timestamp> bursts;

 private:
  Timestamp next_burst_ = Timestamp::Seconds(1);
};

// Playout times of the bursts, to the sample: the first loud sample after 5 ms of quiet ones (the
// 1 kHz tone's own zero crossings are 0.5 ms apart).
struct BurstDetector : AudioPlayoutListener {
  std::vector<Timestamp> onsets;
  int quiet_samples = 0;
  void on_audio_playout(const AudioPlayoutEvent& e) override {
    if (e.samples == nullptr || e.samples->samples.empty()) return;
    const int rate = e.samples->sample_rate_hz;
    for (int i = 0; i < e.samples->samples_per_channel; ++i) {
      if (std::abs(int{e.samples->samples[static_cast<size_t>(i * e.samples->channels)]}) < 8000) {
        ++quiet_samples;
        continue;
      }
      if (quiet_samples >= rate / 200) onsets.push_back(e.time + TimeDelta::Micros(int64_t{i} * 1000000 / rate));
      quiet_samples = 0;
    }
  }
};

// Holds A's video RTP packets (by SSRC) for `extra` before they enter the network; everything
// else goes in at once.
class VideoDelay : public Pollable {
 public:
  VideoDelay(netsim::Network& network, std::vector<uint32_t> ssrcs, TimeDelta extra)
      : network_(network), ssrcs_(std::move(ssrcs)), extra_(extra) {}
  void send(netsim::SimPacket p, Timestamp now) {
    const auto& d = p.data;
    const bool rtcp = rtp::is_rtcp(d);
    const uint32_t ssrc = d.size() >= 12 ? (uint32_t{d[8]} << 24 | uint32_t{d[9]} << 16 | uint32_t{d[10]} << 8 | d[11]) : 0;
    if (rtcp || std::find(ssrcs_.begin(), ssrcs_.end(), ssrc) == ssrcs_.end()) {
      network_.send_from_a(std::move(p), now);
      return;
    }
    held_.emplace_back(now + extra_, std::move(p));
  }
  std::optional<Timestamp> next_wakeup() const override {
    return held_.empty() ? std::nullopt : std::optional<Timestamp>(held_.front().first);
  }
  void process(Timestamp now) override {
    while (!held_.empty() && held_.front().first <= now) {
      netsim::SimPacket p = std::move(held_.front().second);
      p.sent_time = now;
      held_.pop_front();
      network_.send_from_a(std::move(p), now);
    }
  }

 private:
  netsim::Network& network_;
  std::vector<uint32_t> ssrcs_;
  TimeDelta extra_;
  std::deque<std::pair<Timestamp, netsim::SimPacket>> held_;
};

TEST_CASE("pipeline endpoint keeps audio and video in sync") {
  // Measured, not asked of the controller: audio capture-to-playout from bursts in the audio,
  // video capture-to-render from the frame numbers, on a path where video would otherwise play
  // 120 ms after audio.
  EndpointConfig ca = small_call_config();
  // A fixed rate: transport-cc would read the skew between audio and video packets as congestion.
  ca.congestion = CongestionControlMode::kFixed;
  ca.fixed_rate = DataRate::KilobitsPerSec(800);
  auto call = Call::Make(ca, ca.mirrored(),
                         netsim::NetworkConfig::Direct(link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(30)),
                                                       link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(30))));
  // Video RTP (media and RTX) from A takes 120 ms longer than audio and RTCP: only the sync
  // controller delaying audio can line the two up again.
  VideoDelay skew(*call->network, {ca.local.video, ca.local.video_rtx}, TimeDelta::Millis(120));
  call->transport_a.set_send([&skew](netsim::SimPacket p, Timestamp now) { skew.send(std::move(p), now); });
  call->loop.add_pollable(&skew);
  BurstAudioSource mic;
  BurstDetector ear;
  call->a->set_audio_source(&mic);
  call->b->set_audio_playout_listener(&ear);
  call->run(TimeDelta::Seconds(12));
  const Timestamp settled = Timestamp::Seconds(4);  // the controller moves 20 ms per update

  std::vector<double> audio_ms;
  for (Timestamp onset : ear.onsets) {
    if (onset < settled) continue;
    // The burst it plays: the latest one captured before it (bursts are 500 ms apart, delays far less).
    auto it = std::upper_bound(mic.bursts.begin(), mic.bursts.end(), onset);
    if (it == mic.bursts.begin()) continue;
    audio_ms.push_back((onset - *std::prev(it)).ms_f());
  }
  std::map<uint32_t, Timestamp> captured;
  for (const auto& f : call->capture_a.frames) captured[f.frame_number] = f.capture_time;
  std::vector<double> video_ms;
  for (const auto& f : call->render_b.frames) {
    if (f.render_time < settled || !f.frame_number || !captured.count(*f.frame_number)) continue;
    video_ms.push_back((f.render_time - captured[*f.frame_number]).ms_f());
  }
  REQUIRE(audio_ms.size() >= 12);
  REQUIRE(video_ms.size() >= 200);
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double audio_delay = median(audio_ms), video_delay = median(video_ms);
  const std::optional<TimeDelta> estimate = call->b->sync_offset();
  std::printf("av sync: measured audio %.1f ms, video %.1f ms capture to playout: offset %.1f ms (controller's "
              "estimate %.1f ms)\n",
              audio_delay, video_delay, video_delay - audio_delay, estimate ? estimate->ms_f() : -1.0);
  // Audio neither ahead of the picture by more than ATSC IS-191's 15 ms nor behind it by more
  // than its 45 ms (the controller's window and dead band).
  CHECK(video_delay - audio_delay <= 15);
  CHECK(video_delay - audio_delay >= -45);
  // Every burst after the first seconds played within a block of that window (no drift, no step).
  for (double a : audio_ms) {
    CHECK(video_delay - a <= 25);
    CHECK(video_delay - a >= -55);
  }
}

TEST_CASE("pipeline av sync delays the earlier stream step by step, into the tolerated window") {
  AvSync sync;  // audio may lead by 5 ms, lag by 35 ms
  // Video plays 100 ms after audio: audio gets delayed, at most max_step per update, until it
  // leads by the tolerance.
  sync.update(TimeDelta::Millis(50), TimeDelta::Millis(150));
  CHECK(sync.audio_extra_delay() == TimeDelta::Millis(20));
  CHECK(sync.video_extra_delay() == TimeDelta::Zero());
  for (int i = 0; i < 10; ++i) sync.update(TimeDelta::Millis(50), TimeDelta::Millis(150));
  CHECK(sync.audio_extra_delay() == TimeDelta::Millis(95));
  CHECK(sync.sync_offset() == TimeDelta::Millis(5));
  // Now audio is late: the audio delay unwinds first, then video is delayed until audio lags by
  // the tolerance (45 ms of hold; the step to 40 leaves 5, inside the dead band).
  for (int i = 0; i < 20; ++i) sync.update(TimeDelta::Millis(200), TimeDelta::Millis(120));
  CHECK(sync.audio_extra_delay() == TimeDelta::Zero());
  CHECK(sync.video_extra_delay() == TimeDelta::Millis(40));
  CHECK(sync.sync_offset() == TimeDelta::Millis(-40));
  // Unknown delays change nothing.
  sync.update(std::nullopt, TimeDelta::Millis(10));
  CHECK(sync.video_extra_delay() == TimeDelta::Millis(40));
  // An outage: no audio arrives and its delay grows with the clock. Beyond max_delay it is a
  // stall, not an offset: video is not held back (it was held ~800 ms for 4 s after the outage).
  for (int i = 0; i < 40; ++i) sync.update(TimeDelta::Millis(200 + 100 * i), TimeDelta::Millis(120));
  CHECK(sync.video_extra_delay() == TimeDelta::Zero());
  sync.update(TimeDelta::Millis(160), TimeDelta::Millis(120));  // audio is back
  CHECK(sync.video_extra_delay() <= TimeDelta::Millis(20));
}

TEST_CASE("pipeline av sync leaves offsets inside the window alone, holds nothing for them") {
  AvSync sync;
  // Audio 30 ms behind the picture, or 5 ms ahead of it: tolerated, no stream is held.
  for (int i = 0; i < 20; ++i) sync.update(TimeDelta::Millis(130), TimeDelta::Millis(100));
  CHECK(sync.audio_extra_delay() == TimeDelta::Zero());
  CHECK(sync.video_extra_delay() == TimeDelta::Zero());
  for (int i = 0; i < 20; ++i) sync.update(TimeDelta::Millis(100), TimeDelta::Millis(105));
  CHECK(sync.audio_extra_delay() == TimeDelta::Zero());
  CHECK(sync.video_extra_delay() == TimeDelta::Zero());
  // A symmetric configuration (no tolerance) lines the streams up exactly.
  AvSync::Config exact;
  exact.audio_lead_tolerance = TimeDelta::Zero();
  exact.audio_lag_tolerance = TimeDelta::Zero();
  AvSync strict(exact);
  for (int i = 0; i < 20; ++i) strict.update(TimeDelta::Millis(140), TimeDelta::Millis(100));
  CHECK(strict.video_extra_delay() == TimeDelta::Millis(40));
  CHECK(strict.sync_offset() == TimeDelta::Zero());
}

TEST_CASE("pipeline av sync releases a hold no longer needed, even one smaller than the dead band") {
  AvSync sync;  // dead band 10 ms
  // Video 50 ms behind audio: audio is held 20, then 40 ms (45 would be a 5 ms change: left alone).
  for (int i = 0; i < 3; ++i) sync.update(TimeDelta::Millis(100), TimeDelta::Millis(150));
  CHECK(sync.audio_extra_delay() == TimeDelta::Millis(40));
  sync.update(TimeDelta::Millis(100), TimeDelta::Millis(130));  // 25 ms of hold will do
  CHECK(sync.audio_extra_delay() == TimeDelta::Millis(25));
  // Video catches up: nothing needs the hold. The step leaves 5 ms, inside the dead band, which
  // the dead band alone kept for the rest of the call (a default-link call held audio 10 ms for
  // 28 of its 30 s after a start-up offset).
  sync.update(TimeDelta::Millis(100), TimeDelta::Millis(100));
  CHECK(sync.audio_extra_delay() == TimeDelta::Millis(5));
  sync.update(TimeDelta::Millis(100), TimeDelta::Millis(100));
  CHECK(sync.audio_extra_delay() == TimeDelta::Zero());
  // The same for video's hold.
  for (int i = 0; i < 3; ++i) sync.update(TimeDelta::Millis(200), TimeDelta::Millis(100));  // audio 100 late
  CHECK(sync.video_extra_delay() == TimeDelta::Millis(60));
  sync.update(TimeDelta::Millis(100), TimeDelta::Millis(100));  // in sync: 40, 20, 0
  sync.update(TimeDelta::Millis(100), TimeDelta::Millis(100));
  CHECK(sync.video_extra_delay() == TimeDelta::Millis(20));
  sync.update(TimeDelta::Millis(100), TimeDelta::Millis(100));
  CHECK(sync.video_extra_delay() == TimeDelta::Zero());
  // Small changes of a hold that is still needed stay damped, and none starts for a small offset.
  for (int i = 0; i < 5; ++i) sync.update(TimeDelta::Millis(100), TimeDelta::Millis(112));  // goal 7 ms
  CHECK(sync.audio_extra_delay() == TimeDelta::Zero());
  for (int i = 0; i < 5; ++i) sync.update(TimeDelta::Millis(100), TimeDelta::Millis(145));  // goal 40 ms
  CHECK(sync.audio_extra_delay() == TimeDelta::Millis(40));
  sync.update(TimeDelta::Millis(100), TimeDelta::Millis(137));  // goal 32 ms: inside the dead band
  CHECK(sync.audio_extra_delay() == TimeDelta::Millis(40));
}

TEST_CASE("pipeline av sync holds neither stream more than its cap and lets go when the offset does") {
  AvSync sync;  // caps: audio 200 ms, video 100 ms
  // Audio 400 ms late (its jitter buffer followed a queue spike): video waits at most 100 ms.
  for (int i = 0; i < 50; ++i) sync.update(TimeDelta::Millis(500), TimeDelta::Millis(100));
  CHECK(sync.video_extra_delay() == TimeDelta::Millis(100));
  CHECK(sync.audio_extra_delay() == TimeDelta::Zero());
  REQUIRE(sync.sync_offset().has_value());
  CHECK(*sync.sync_offset() == TimeDelta::Millis(-300));  // the rest stays uncorrected
  // The spike is over: the hold unwinds at max_step per update (100 ms -> 0 in five updates).
  for (int i = 0; i < 5; ++i) sync.update(TimeDelta::Millis(100), TimeDelta::Millis(100));
  CHECK(sync.video_extra_delay() == TimeDelta::Zero());
  // Video 600 ms late: audio waits at most 200 ms.
  for (int i = 0; i < 50; ++i) sync.update(TimeDelta::Millis(100), TimeDelta::Millis(700));
  CHECK(sync.audio_extra_delay() == TimeDelta::Millis(200));
  CHECK(sync.video_extra_delay() == TimeDelta::Zero());
  // Caps are configurable.
  AvSync::Config tight;
  tight.max_audio_hold = TimeDelta::Millis(40);
  AvSync capped(tight);
  for (int i = 0; i < 50; ++i) capped.update(TimeDelta::Millis(100), TimeDelta::Millis(300));
  CHECK(capped.audio_extra_delay() == TimeDelta::Millis(40));
}

TEST_CASE("pipeline endpoint resumes video within a second of an outage's end, not played late") {
  // 1 Mbps A -> B with capacity 0 from 2 s to 5 s. When the link returns, video must render again
  // within a second, and those frames must be fresh: A/V sync used to take the stalled audio's
  // growing delay for an offset and held video back ~600 ms for seconds after the outage.
  EndpointConfig ca = small_call_config();
  EndpointConfig cb = ca.mirrored();
  cb.send.video.reset();
  ca.receive.video.reset();
  netsim::LinkConfig fwd = link(DataRate::MegabitsPerSec(1), TimeDelta::Millis(40));
  auto trace = netsim::RateTrace::Parse("0 1000\n2000 0\n5000 1000\n");
  REQUIRE(trace.ok());
  fwd.rate_trace = std::make_shared<const netsim::RateTrace>(std::move(trace).value());
  auto call = Call::Make(ca, cb, netsim::NetworkConfig::Direct(fwd, link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(40))));
  call->run(TimeDelta::Seconds(2));
  const DataRate before = call->a->target_rate();
  call->run(TimeDelta::MillisF(4500));
  const Timestamp back = Timestamp::Seconds(5);
  std::optional<Timestamp> first_after;  // any frame
  std::optional<RenderedVideoFrame> first_fresh;  // captured after the link returned (older ones queued)
  for (const RenderedVideoFrame& f : call->render_b.frames) {
    if (f.render_time < back) continue;
    if (!first_after) first_after = f.render_time;
    if (!first_fresh && f.capture_time && *f.capture_time >= back) first_fresh = f;
  }
  REQUIRE(first_after.has_value());
  REQUIRE(first_fresh.has_value());
  std::printf("outage 2-5 s: target before %.0f kbps, at 6.5 s %.0f kbps; first frame %.0f ms after the link "
              "returned, first fresh frame %.0f ms after, %.0f ms capture to render\n",
              before.kbps_f(), call->a->target_rate().kbps_f(), (*first_after - back).ms_f(),
              (first_fresh->render_time - back).ms_f(), (first_fresh->render_time - *first_fresh->capture_time).ms_f());
  CHECK(*first_after - back < TimeDelta::Millis(500));  // 701 ms with the sync hold
  // The backlog queued through the outage (in the network and the pacer) drains first: ~1.1 s.
  CHECK(first_fresh->render_time - back < TimeDelta::MillisF(1500));
  CHECK(first_fresh->render_time - *first_fresh->capture_time < TimeDelta::Millis(400));
  CHECK(call->a->target_rate() >= before * 0.5);
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
  bad = c;
  bad.send.video = codecs::CodecType::kOpus;  // a codec of the wrong kind
  CHECK(!bad.validate().ok());
  bad = c;
  bad.receive.audio = codecs::CodecType::kVp8;
  CHECK(!bad.validate().ok());
  bad = c;
  bad.send.video.reset();  // no video is fine
  CHECK(bad.validate().ok());
  CHECK(c.payload_types.of(codecs::CodecType::kVp9) == c.payload_types.vp9);
  CHECK(c.payload_types.of(codecs::CodecType::kOpus) == c.payload_types.opus);
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
  CHECK(rtp::is_rtcp(sr));
  CHECK(!rtp::is_rtcp(rtp_pt96));
  CHECK(!rtp::is_rtcp(rtp_marker));
  CHECK(!rtp::is_rtcp(std::span<const uint8_t>(sr, 1)));
}

}  // namespace
}  // namespace tern::pipeline
