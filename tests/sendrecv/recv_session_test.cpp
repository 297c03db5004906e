// tools/net recv_session and receive_outputs: tern-recv's session plan from flags and SDP files,
// the receive-only Endpoint configuration, SSRC learning with bounded holding, and the WAV
// output's trailing-gap rule (no processes, no sockets).
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tern/tools/net/receive_outputs.h"
#include "tern/tools/net/recv_session.h"

namespace net = tern::tools::net;

namespace {

std::vector<uint8_t> Rtp(uint8_t pt, uint32_t ssrc) {
  std::vector<uint8_t> d(20, 0);
  d[0] = 0x80;
  d[1] = pt;
  for (int i = 0; i < 4; ++i) d[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  return d;
}

std::string PlanError(const net::RecvOptions& o) {
  auto p = net::recv_session_plan(o);
  return p.ok() ? std::string("ok") : std::string(p.error());
}

}  // namespace

TEST_CASE("the flags give the session plan, checked against the outputs asked for") {
  net::RecvOptions o;
  CHECK(PlanError(o) == "either --sdp or --port is required");
  o.port = 5004;
  o.video = "none";
  CHECK(PlanError(o) == "nothing to receive: --video and --audio are both none");
  o.video = "vp9";
  o.video_pt = 120;
  o.wav_path = "x.wav";
  CHECK(PlanError(o) == "--wav: the session has no audio");
  o.wav_path.clear();
  o.audio = "opus";
  o.audio_port = 5004;  // the video port: one port after all
  o.no_rtcp_mux = true;
  o.key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";
  auto plan = net::recv_session_plan(o);
  REQUIRE(plan.ok());
  CHECK(plan.value().video == tern::codecs::CodecType::kVp9);
  CHECK(plan.value().payload_types.vp9 == 120);
  CHECK(plan.value().audio == tern::codecs::CodecType::kOpus);
  CHECK_FALSE(plan.value().rtcp_mux);
  CHECK_FALSE(plan.value().audio_port.has_value());
  CHECK(plan.value().srtp_key.size() == 30);
  CHECK(plan.value().address == "127.0.0.1");
  o.srtp_profile = "nope";
  CHECK(PlanError(o) == "--srtp-profile 'nope': unknown profile");
}

TEST_CASE("an SDP file gives the plan; flags override its port, address and SSRCs; NACK needs RTX") {
  const std::string path = "recv_session_test.sdp";
  {
    std::ofstream f(path);
    f << "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=video 5004 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-mux\r\n";
  }
  net::RecvOptions o;
  o.sdp_path = path;
  auto plan = net::recv_session_plan(o);
  REQUIRE_MESSAGE(plan.ok(), plan.error());
  CHECK(plan.value().port == 5004);
  CHECK(plan.value().video == tern::codecs::CodecType::kVp8);
  CHECK_FALSE(plan.value().nack);  // no RTX SSRC in the SDP
  o.port = 6000;
  o.address = "::1";
  o.address_given = true;
  o.video_ssrc = 1234;
  plan = net::recv_session_plan(o);
  REQUIRE(plan.ok());
  CHECK(plan.value().port == 6000);
  CHECK(plan.value().address == "::1");
  CHECK(plan.value().video_ssrc == 1234u);
  {
    std::ofstream f(path);
    f << "v=0\r\nbroken\r\n";
  }
  CHECK(PlanError(o).rfind("--sdp 'recv_session_test.sdp': malformed SDP at line 2: ", 0) == 0);
  std::remove(path.c_str());
  CHECK(PlanError(o).rfind("--sdp 'recv_session_test.sdp': ", 0) == 0);
}

TEST_CASE("the receive-only Endpoint keeps its SSRCs clear of the sender's") {
  net::SessionPlan plan;
  plan.video = tern::codecs::CodecType::kVp8;
  plan.audio = tern::codecs::CodecType::kOpus;
  plan.video_ssrc = 0x7E50'0002;  // our default local video SSRC
  plan.audio_ssrc = 0x7E50'0001;  // our default local audio SSRC
  plan.transport_cc = true;
  const tern::pipeline::EndpointConfig c = net::recv_endpoint_config(plan);
  for (uint32_t local : {c.local.audio, c.local.video, c.local.video_rtx}) {
    CHECK(local != c.remote.video);
    CHECK(local != c.remote.audio);
    CHECK(local != c.remote.video_rtx);
  }
  CHECK(c.remote.video == 0x7E50'0002);
  CHECK(c.remote.video_rtx == (0x7E50'0002u ^ 0x5A5A'5A5Au));
  CHECK(c.congestion == tern::pipeline::CongestionControlMode::kTransportCc);
  CHECK_FALSE(c.send.video.has_value());
  CHECK(c.validate().ok());
  plan.fec = true;
  const net::ReceiveTapConfig rc = net::recv_tap_config(plan, c, 25, "out.webm");
  CHECK(rc.video_ssrc == c.remote.video);
  CHECK(rc.red_pt == plan.payload_types.red);
  CHECK_FALSE(rc.rtx_pt.has_value());
  CHECK(rc.audio);
  CHECK(rc.fps == 25);
}

TEST_CASE("sender SSRCs are learned by payload type while packets are held, bounded") {
  net::SessionPlan plan;
  plan.video = tern::codecs::CodecType::kVp8;
  plan.audio = tern::codecs::CodecType::kOpus;
  net::StreamLearner learner(plan);
  CHECK_FALSE(learner.ready());
  const uint8_t sr[8] = {0x80, 200, 0, 1, 0, 0, 0, 9};
  learner.hold(sr, true);
  learner.hold(Rtp(50, 0xAAAA), false);  // neither payload type: held, nothing learned
  learner.hold(Rtp(96, 0xBBBB), false);
  CHECK(plan.video_ssrc == 0xBBBBu);
  CHECK_FALSE(learner.ready());
  learner.hold(Rtp(111, 0xCCCC), false);
  CHECK(plan.audio_ssrc == 0xCCCCu);
  CHECK(learner.ready());
  auto held = learner.take();
  REQUIRE(held.size() == 4);
  CHECK(held[0].second);
  CHECK_FALSE(held[1].second);
  CHECK(learner.take().empty());

  net::SessionPlan video_only;
  video_only.video = tern::codecs::CodecType::kVp8;
  net::StreamLearner bounded(video_only);
  for (size_t i = 0; i < net::StreamLearner::kMaxHeldPackets + 5; ++i) bounded.hold(Rtp(50, 1), false);
  CHECK(bounded.dropped() == 5);
  CHECK(bounded.take().size() == net::StreamLearner::kMaxHeldPackets);
}

TEST_CASE("the WAV output leaves out the trailing concealment but keeps a gap inside the stream") {
  using Op = tern::jitterbuffer::PlayoutOperation;
  net::ReceiveOutputs outputs(false, true, 30);
  tern::codecs::AudioFrame block;
  block.samples_per_channel = 480;
  block.samples.assign(480, 100);
  auto play = [&](Op op) {
    tern::pipeline::AudioPlayoutEvent e;
    e.operation = op;
    e.samples = &block;
    outputs.on_audio_playout(e);
  };
  play(Op::kMuted);  // before the first audible block: not written
  CHECK(outputs.wav_samples_per_channel() == 0);
  play(Op::kNormal);
  play(Op::kExpand);
  play(Op::kExpand);
  CHECK(outputs.wav_samples_per_channel() == 480);  // the gap is pending
  play(Op::kNormal);
  CHECK(outputs.wav_samples_per_channel() == 4 * 480);  // inside the stream: written
  play(Op::kExpand);
  CHECK(outputs.wav_samples_per_channel() == 4 * 480);
  CHECK(outputs.write_failures() == 0);
  tern::codecs::AudioFrame stereo = block;
  stereo.channels = 2;
  stereo.samples.assign(960, 100);
  tern::pipeline::AudioPlayoutEvent e;
  e.operation = Op::kNormal;
  e.samples = &stereo;
  outputs.on_audio_playout(e);  // another shape than the file's: refused and counted
  CHECK(outputs.write_failures() == 1);
  CHECK(outputs.wav_samples_per_channel() == 5 * 480);  // the pending gap block went in first
  net::ReceiveOutputs nothing(true, false, 30);
  CHECK(std::string(nothing.save("x.y4m", "").error()) == "no video frame decoded: Y4M file not written");
}
