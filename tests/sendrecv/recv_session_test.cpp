// tools/net recv_session and receive_outputs: tern-recv's session plan from flags and SDP files,
// the receive-only Endpoint configuration, SSRC learning with bounded holding, the WAV output's
// trailing-gap rule, and the outputs streamed to disk (bounded memory, write errors, resolution
// changes of a real VP8 stream) (no processes, no sockets).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <utility>
#include <string>
#include <vector>

#include "tern/codecs/codec_factory.h"
#include "tern/media/file_io.h"
#include "tern/media/synthetic_video_source.h"
#include "tern/media/wav_file.h"
#include "tern/media/y4m_file.h"
#include "tern/tools/net/receive_outputs.h"
#include "tern/tools/net/recv_session.h"
#include "support/process.h"

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

TEST_CASE("an SDP file gives the plan, flags override its port, address and SSRCs, NACK needs an RTX payload type") {
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
  CHECK_FALSE(plan.value().nack);  // nack offered without an RTX payload type: off, and said so
  REQUIRE(plan.value().warnings.size() == 1);
  CHECK(plan.value().warnings[0] == "the SDP offers nack without an RTX payload type (rtx, apt=): NACK is off");
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
  const net::ReceiveTapConfig rc = net::receive_tap_config(net::recv_endpoint_config(plan), 25, "out.webm");
  CHECK(rc.video_ssrc == c.remote.video);
  CHECK(rc.red_pt == plan.payload_types.red);
  CHECK_FALSE(rc.rtx_pt.has_value());
  CHECK(rc.audio);
  CHECK(rc.fps == 25);
}

namespace {

std::vector<uint8_t> Rtp(uint8_t pt, uint32_t ssrc, uint16_t seq) {
  std::vector<uint8_t> d = Rtp(pt, ssrc);
  d[2] = static_cast<uint8_t>(seq >> 8);
  d[3] = static_cast<uint8_t>(seq);
  return d;
}

// Observes one RTP packet at `ms` after the start.
net::StreamLearner::Outcome See(net::StreamLearner& l, const std::vector<uint8_t>& d, int64_t ms, bool keep = false) {
  auto h = tern::rtp::RtpHeader::parse(d);
  REQUIRE(h.ok());
  return l.observe(h.value(), d, keep, tern::Timestamp::Millis(1000 + ms));
}

}  // namespace

TEST_CASE("sender SSRCs are learned by payload type after two packets in sequence, held while learning, bounded") {
  using Outcome = net::StreamLearner::Outcome;
  net::SessionPlan plan;
  plan.video = tern::codecs::CodecType::kVp8;
  plan.audio = tern::codecs::CodecType::kOpus;
  net::StreamLearner learner(plan);
  const tern::Timestamp t0 = tern::Timestamp::Millis(1000);
  CHECK_FALSE(learner.ready(t0));
  CHECK(See(learner, Rtp(50, 0xAAAA, 1), 0) == Outcome::kForeign);  // neither payload type
  // One stray packet of the right payload type teaches nothing (RFC 3550 A.1 probation).
  CHECK(See(learner, Rtp(96, 0xDDDD, 7), 0) == Outcome::kProbation);
  CHECK(See(learner, Rtp(96, 0xBBBB, 100), 0) == Outcome::kProbation);
  CHECK_FALSE(plan.video_ssrc.has_value());
  CHECK(See(learner, Rtp(96, 0xBBBB, 101), 1) == Outcome::kLearned);
  CHECK(plan.video_ssrc == 0xBBBBu);
  CHECK(See(learner, Rtp(96, 0xDDDD, 8), 2) == Outcome::kProbation);  // in sequence, but video is taken and alive
  CHECK(plan.video_ssrc == 0xBBBBu);
  CHECK(See(learner, Rtp(111, 0xCCCC, 5), 3) == Outcome::kProbation);
  CHECK(See(learner, Rtp(111, 0xCCCC, 6), 4) == Outcome::kLearned);
  CHECK(plan.audio_ssrc == 0xCCCCu);
  CHECK(learner.ready(t0));
  CHECK(See(learner, Rtp(96, 0xBBBB, 102), 100) == Outcome::kKnown);

  // A restarted sender: a new SSRC is taken only once the old one has been silent long enough.
  const int64_t silent = net::StreamLearner::kSilenceBeforeSwitch.ms();
  CHECK(See(learner, Rtp(96, 0xEEEE, 1), 100 + silent - 50, true) == Outcome::kProbation);
  CHECK(See(learner, Rtp(96, 0xEEEE, 2), 100 + silent - 10, true) == Outcome::kProbation);
  CHECK(plan.video_ssrc == 0xBBBBu);
  CHECK(See(learner, Rtp(96, 0xEEEE, 3), 100 + silent + 1, true) == Outcome::kLearned);
  CHECK(plan.video_ssrc == 0xEEEEu);
  CHECK(learner.switches() == 1);
  CHECK(learner.take_learned().size() == 2);  // the packets on probation, for replay

  // The RTX SSRC: from the first packet of the RTX payload type whose original sequence number is
  // one the video stream used lately.
  plan.nack = true;
  std::vector<uint8_t> rtx = Rtp(97, 0x1234, 9);
  rtx[12] = 0x80;  // OSN 0x8000: far from the video stream's
  CHECK(See(learner, rtx, 5000) == Outcome::kForeign);
  rtx[12] = 0;
  rtx[13] = 2;  // OSN 2: just behind video seq 3
  CHECK(See(learner, rtx, 5001) == Outcome::kRtxLearned);
  CHECK(plan.video_rtx_ssrc == 0x1234u);

  net::SessionPlan video_only;
  video_only.video = tern::codecs::CodecType::kVp8;
  net::StreamLearner bounded(video_only);
  for (size_t i = 0; i < net::StreamLearner::kMaxHeldPackets + 5; ++i) bounded.hold(Rtp(96, 1), false, t0);
  CHECK(bounded.dropped() == 5);
  CHECK(bounded.take().size() == net::StreamLearner::kMaxHeldPackets);
}

TEST_CASE("a stream announced but never sent holds the others back for a bounded time only") {
  net::SessionPlan plan;
  plan.video = tern::codecs::CodecType::kVp8;
  plan.audio = tern::codecs::CodecType::kOpus;
  net::StreamLearner learner(plan);
  const auto a = Rtp(96, 0xBBBB, 1), b = Rtp(96, 0xBBBB, 2);
  learner.hold(a, false, tern::Timestamp::Millis(1000));
  CHECK(See(learner, a, 0) == net::StreamLearner::Outcome::kProbation);
  learner.hold(b, false, tern::Timestamp::Millis(1010));
  CHECK(See(learner, b, 10) == net::StreamLearner::Outcome::kLearned);
  CHECK_FALSE(learner.ready(tern::Timestamp::Millis(1010)));  // audio may still come
  const tern::Timestamp limit = tern::Timestamp::Millis(1000) + net::StreamLearner::kMaxHoldTime;
  CHECK_FALSE(learner.ready(limit - tern::TimeDelta::Millis(1)));
  CHECK(learner.ready(limit));  // video plays without it
}

TEST_CASE("the WAV output leaves out the trailing concealment but keeps a gap inside the stream") {
  using Op = tern::jitterbuffer::PlayoutOperation;
  const std::string dir = tern::test::scratch_dir("receive_outputs_gap");
  auto made = net::ReceiveOutputs::Create("", dir + "/gap.wav", 30);
  REQUIRE(made.ok());
  net::ReceiveOutputs& outputs = *made.value();
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
  CHECK(outputs.refused_blocks() == 0);
  tern::codecs::AudioFrame stereo = block;
  stereo.channels = 2;
  stereo.samples.assign(960, 100);
  tern::pipeline::AudioPlayoutEvent e;
  e.operation = Op::kNormal;
  e.samples = &stereo;
  outputs.on_audio_playout(e);  // another shape than the file's: refused and counted
  CHECK(outputs.refused_blocks() == 1);
  CHECK(outputs.wav_samples_per_channel() == 5 * 480);  // the pending gap block went in first
  CHECK(outputs.close().ok());
  auto wav = tern::media::load_file(dir + "/gap.wav");
  REQUIRE(wav.ok());
  auto parsed = tern::media::parse_wav(wav.value());
  REQUIRE(parsed.ok());
  CHECK(parsed->samples_per_channel() == 5 * 480);  // the trailing expand block left out
  auto nothing = net::ReceiveOutputs::Create(dir + "/none.y4m", "", 30);
  REQUIRE(nothing.ok());
  CHECK(nothing.value()->close().ok());
  CHECK(nothing.value()->not_written() == "no video frame decoded: Y4M file not written");
  CHECK_FALSE(tern::media::load_file(dir + "/none.y4m").ok());  // the empty file is removed
}

namespace {

void Render(net::ReceiveOutputs& outputs, const tern::codecs::VideoFrame& picture) {
  tern::pipeline::RenderedVideoFrame r;
  r.width = picture.width;
  r.height = picture.height;
  r.picture = &picture;
  outputs.on_video_frame_rendered(r);
}

double MeanLuma(const tern::codecs::VideoFrame& f) {
  uint64_t sum = 0;
  for (int y = 0; y < f.height; ++y) {
    for (int x = 0; x < f.width; ++x) sum += f.y[static_cast<size_t>(y * f.stride_y + x)];
  }
  return static_cast<double>(sum) / (f.width * f.height);
}

}  // namespace

TEST_CASE("the outputs go to disk as they come: files made up front, bounded memory, write errors stop and count") {
  const std::string dir = tern::test::scratch_dir("receive_outputs_stream");
  // An unwritable path fails when the outputs are made, before any packet.
  auto bad = net::ReceiveOutputs::Create(dir + "/missing/x.y4m", "", 30);
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.error()).find("--y4m: cannot create '" + dir + "/missing/x.y4m'") == 0);
  CHECK_FALSE(net::ReceiveOutputs::Create("", dir + "/missing/x.wav", 30).ok());

  // 300 pictures and 3 s of audio: the memory held stays one picture and one block.
  auto made = net::ReceiveOutputs::Create(dir + "/long.y4m", dir + "/long.wav", 30);
  REQUIRE(made.ok());
  net::ReceiveOutputs& out = *made.value();
  const auto picture = tern::codecs::VideoFrame::Allocate(64, 48);
  const size_t picture_bytes = 64 * 48 * 3 / 2;
  tern::codecs::AudioFrame block = tern::codecs::AudioFrame::Silence(48000, 1, 480);
  block.samples.assign(480, 7);
  tern::pipeline::AudioPlayoutEvent e;
  e.operation = tern::jitterbuffer::PlayoutOperation::kNormal;
  e.samples = &block;
  size_t most = 0;
  for (int i = 0; i < 300; ++i) {
    Render(out, picture);
    out.on_audio_playout(e);
    most = std::max(most, out.buffered_bytes());
  }
  CHECK(most <= picture_bytes + 64 + 44 + 480 * 2);  // one picture, one block
  CHECK(out.y4m_frames() == 300);
  CHECK(out.wav_samples_per_channel() == 300 * 480);
  REQUIRE(out.close().ok());
  auto y4m = tern::media::load_file(dir + "/long.y4m");
  REQUIRE(y4m.ok());
  CHECK(tern::media::parse_y4m(y4m.value())->frames.size() == 300);
  auto wav = tern::media::load_file(dir + "/long.wav");
  REQUIRE(wav.ok());
  CHECK(tern::media::parse_wav(wav.value())->samples_per_channel() == 300 * 480);

  // A full disk: the first picture fails, nothing more is written, each loss is counted.
  auto full = net::ReceiveOutputs::Create("/dev/full", "", 30);
  REQUIRE(full.ok());
  for (int i = 0; i < 3; ++i) Render(*full.value(), picture);
  CHECK(full.value()->failed());
  CHECK(full.value()->write_errors() == 1);
  CHECK(full.value()->y4m_frames() == 0);
  CHECK(full.value()->frames() == 3);
  CHECK(full.value()->lost_to_write_errors() == 3);
  const tern::Status closed = full.value()->close();
  REQUIRE_FALSE(closed.ok());
  CHECK(std::string(closed.error()) == "cannot write '/dev/full': No space left on device");
}

TEST_CASE("a VP8 stream that changes resolution is written whole, later pictures scaled to the first size") {
  const std::string dir = tern::test::scratch_dir("receive_outputs_resize");
  auto made = net::ReceiveOutputs::Create(dir + "/resize.y4m", "", 30);
  REQUIRE(made.ok());
  tern::codecs::VideoDecoderConfig dc;
  auto decoder = tern::codecs::CreateVideoDecoder(dc);
  REQUIRE(decoder.ok());
  // The sender's encoder restarts at another size: 5 pictures of 320x240, then 5 of 160x120.
  double last_mean = 0;
  uint32_t rtp = 0;
  for (const auto& [w, h] : {std::pair{320, 240}, std::pair{160, 120}}) {
    tern::codecs::VideoEncoderConfig ec;
    ec.width = w;
    ec.height = h;
    auto encoder = tern::codecs::CreateVideoEncoder(ec);
    REQUIRE(encoder.ok());
    tern::media::SyntheticVideoConfig sc;
    sc.width = w;
    sc.height = h;
    auto source = tern::media::SyntheticVideoSource::Create(sc);
    REQUIRE(source.ok());
    for (uint32_t i = 0; i < 5; ++i) {
      auto encoded = encoder.value()->encode(source->render(i));
      REQUIRE(encoded.ok());
      REQUIRE(encoded.value().has_value());
      auto decoded = decoder.value()->decode(encoded.value()->data, rtp += 3000);
      REQUIRE(decoded.ok());
      REQUIRE(decoded.value().has_value());
      CHECK(decoded.value()->width == w);
      Render(*made.value(), *decoded.value());
      last_mean = MeanLuma(*decoded.value());
    }
  }
  net::ReceiveOutputs& out = *made.value();
  CHECK(out.frames() == 10);
  CHECK(out.y4m_frames() == 10);
  CHECK(out.resolution_changes() == 1);
  CHECK(out.scaled_frames() == 5);
  CHECK(out.width() == 160);  // the stream's size now
  REQUIRE(out.close().ok());
  auto bytes = tern::media::load_file(dir + "/resize.y4m");
  REQUIRE(bytes.ok());
  auto y4m = tern::media::parse_y4m(bytes.value());
  REQUIRE(y4m.ok());
  CHECK(y4m->width == 320);
  REQUIRE(y4m->frames.size() == 10);
  // The scaled picture is the decoded one (not black, not garbage): the same mean brightness.
  CHECK(MeanLuma(y4m->frames.back()) == doctest::Approx(last_mean).epsilon(0.03));
}
