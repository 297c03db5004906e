// tools/net send_session: tern-send's option defaults, the Endpoint configuration and SDP plan
// they give, the capture tap's end-of-stream and drop rules, and the --input files played from
// disk (no processes, no sockets).
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tern/tools/net/send_session.h"
#include "support/process.h"

namespace net = tern::tools::net;
using tern::pipeline::CongestionControlMode;

namespace {

std::vector<uint8_t> SendRtp(uint32_t ssrc, uint16_t seq, uint32_t timestamp) {
  std::vector<uint8_t> d(20, 0);
  d[0] = 0x80;
  d[1] = 96;
  d[2] = static_cast<uint8_t>(seq >> 8);
  d[3] = static_cast<uint8_t>(seq);
  for (int i = 0; i < 4; ++i) {
    d[4 + i] = static_cast<uint8_t>(timestamp >> (24 - 8 * i));
    d[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  }
  return d;
}

}  // namespace

TEST_CASE("bitrates take k and M suffixes and stay within 1 kbps .. 1 Gbps") {
  CHECK(net::parse_bitrate("1000k") == 1'000'000);
  CHECK(net::parse_bitrate("1.5M") == 1'500'000);
  CHECK(net::parse_bitrate("800000") == 800'000);
  CHECK(net::parse_bitrate("1000") == 1000);
  for (const char* bad : {"", "k", "999", "2G", "1e10", "12x", "-5k", "nan", "inf"}) {
    CAPTURE(bad);
    CHECK_FALSE(net::parse_bitrate(bad).has_value());
  }
}

TEST_CASE("option defaults: frames, duration, peer kinds and the ffmpeg audio port") {
  net::SendOptions o;
  o.dest = "127.0.0.1:5004";
  auto t = net::resolve_send_options(o, false);
  REQUIRE(t.ok());
  CHECK(o.frames == 90);  // video, no --duration, no files
  CHECK(o.duration == 0);
  CHECK(t.value().bitrate == 1'000'000);
  CHECK_FALSE(o.nack);
  CHECK(o.cc == "fixed");

  net::SendOptions tern_peer;
  tern_peer.dest = "127.0.0.1:5004";
  tern_peer.peer = "tern";
  REQUIRE(net::resolve_send_options(tern_peer, false).ok());
  CHECK(tern_peer.nack);
  CHECK(tern_peer.cc == "transport-cc");
  tern_peer = {};
  tern_peer.dest = "127.0.0.1:5004";
  tern_peer.peer = "tern";
  tern_peer.cc = "remb";
  tern_peer.cc_given = true;
  REQUIRE(net::resolve_send_options(tern_peer, false).ok());
  CHECK(tern_peer.cc == "remb");

  net::SendOptions ff;
  ff.dest = "127.0.0.1:5004";
  ff.peer = "ffmpeg";
  ff.audio = "opus";
  REQUIRE(net::resolve_send_options(ff, false).ok());
  CHECK(ff.audio_port == 5006);
  ff = {};
  ff.dest = "127.0.0.1:65534";
  ff.peer = "ffmpeg";
  ff.audio = "opus";
  auto no_room = net::resolve_send_options(ff, false);
  REQUIRE_FALSE(no_room.ok());
  CHECK(std::string(no_room.error()) == "--dest: no room for the audio port (port + 2)");

  net::SendOptions audio_only;
  audio_only.dest = "[::1]:6000";
  audio_only.video = "none";
  audio_only.audio = "opus";
  audio_only.audio_port = 6002;
  REQUIRE(net::resolve_send_options(audio_only, false).ok());
  CHECK(audio_only.frames == 0);
  CHECK(audio_only.duration == 3);
  CHECK(audio_only.audio_port == 0);  // one kind: one port
}

TEST_CASE("bad options are reported in tern-send's order and words") {
  auto error = [](net::SendOptions o) {
    auto t = net::resolve_send_options(o, false);
    return t.ok() ? std::string("ok") : std::string(t.error());
  };
  net::SendOptions o;
  o.dest = "127.0.0.1:5004";
  o.video = "none";
  CHECK(error(o) == "nothing to send: --video and --audio are both none");
  o = {};
  o.dest = "nowhere";
  o.bitrate = "x";
  CHECK(error(o) == "--dest 'nowhere': address: expected host:port");
  o.dest = "127.0.0.1:5004";
  CHECK(error(o) == "--bitrate 'x': expected e.g. 1000k, 2M or bits per second >= 1000");
  o.bitrate = "2M";
  o.key = "00";
  o.srtp_profile = "ROT13";
  CHECK(error(o) == "--srtp-profile 'ROT13': unknown profile");
  o.srtp_profile = "AES_CM_128_HMAC_SHA1_80";
  CHECK(error(o).rfind("--key: key: ", 0) == 0);
  o.key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d";
  CHECK(error(o) == "ok");
}

TEST_CASE("the Endpoint configuration and the SDP plan follow the options") {
  net::SendOptions o;
  o.dest = "127.0.0.1:5004";
  o.video = "vp9";
  o.audio = "opus";
  o.peer = "tern";
  o.fec = true;
  o.bitrate = "600k";
  o.key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d";
  auto t = net::resolve_send_options(o, false);
  REQUIRE(t.ok());
  const tern::pipeline::EndpointConfig c = net::send_endpoint_config(o, t.value());
  CHECK(c.send.video == tern::codecs::CodecType::kVp9);
  CHECK(c.send.vp9_flexible_mode);
  CHECK_FALSE(c.receive.video.has_value());
  CHECK(c.congestion == CongestionControlMode::kTransportCc);
  CHECK(c.max_rate == tern::DataRate::BitsPerSec(600'000));
  CHECK(c.start_rate <= c.max_rate);
  CHECK(c.local.video == o.video_ssrc);
  CHECK(c.validate().ok());
  const net::SessionPlan plan = net::send_session_plan(o, t.value(), c);
  CHECK(plan.port == 5004);
  CHECK(plan.video_ssrc == o.video_ssrc);
  CHECK(plan.video_rtx_ssrc == o.rtx_ssrc);
  CHECK(plan.audio_ssrc == o.audio_ssrc);
  CHECK(plan.nack);
  CHECK(plan.fec);
  CHECK(plan.transport_cc);
  CHECK_FALSE(plan.remb);
  CHECK(plan.srtp_key == t.value().srtp_key);
  o.peer = "ffmpeg";
  CHECK_FALSE(net::send_endpoint_config(o, t.value()).send.vp9_flexible_mode);
}

TEST_CASE("the capture tap stops the video after the last frame and drops every Nth new packet") {
  constexpr uint32_t kVideo = 0x1000'0002;
  net::SendCaptureTap tap(2, std::nullopt);
  tern::pipeline::CapturedVideoFrame frame;
  frame.encoded = true;
  frame.rtp_timestamp = 3000;
  // Drop every 3rd new packet of the video SSRC; retransmissions (old sequence numbers) pass.
  int dropped = 0;
  for (uint16_t seq = 1; seq <= 9; ++seq) dropped += tap.allow(SendRtp(kVideo, seq, 0), kVideo, 3) ? 0 : 1;
  CHECK(dropped == 3);
  CHECK(tap.dropped() == 3);
  CHECK(tap.allow(SendRtp(kVideo, 3, 0), kVideo, 3));  // not new: a retransmission goes out
  CHECK(tap.allow(SendRtp(0x1234, 12, 0), kVideo, 3));  // other SSRCs are never touched
  tap.on_video_frame_captured(frame);
  CHECK_FALSE(tap.done());
  frame.rtp_timestamp = 6000;
  tap.on_video_frame_captured(frame);
  CHECK(tap.done());
  CHECK(tap.encoded() == 2);
  CHECK(tap.allow(SendRtp(kVideo, 10, 6000), kVideo, 3));  // the last frame: never dropped
  CHECK(tap.allow(SendRtp(kVideo, 11, 6000), kVideo, 3));
  CHECK(tap.allow(SendRtp(kVideo, 12, 6000), kVideo, 3));
  CHECK_FALSE(tap.allow(SendRtp(kVideo, 13, 9000), kVideo, 3));  // after the last frame: not sent
  const uint8_t rr[8] = {0x80, 201, 0, 1, 0, 0, 0, 1};
  CHECK(tap.allow(rr, kVideo, 3));  // RTCP always
  tap.on_video_frame_captured(frame);
  CHECK(tap.encoded() == 2);
}

TEST_CASE("--input files are played from disk: a long Y4M in bounded memory, a truncated one an error") {
  const std::string dir = tern::test::scratch_dir("send_inputs");
  constexpr int kFrames = 400;
  constexpr size_t kPicture = 160 * 120 * 3 / 2;
  {
    auto w = tern::media::Y4mFileWriter::Create(dir + "/long.y4m", 25, 1);
    REQUIRE(w.ok());
    for (int i = 0; i < kFrames; ++i) REQUIRE(w->append(tern::codecs::VideoFrame::Allocate(160, 120)).ok());
    REQUIRE(w->close().ok());
  }
  net::SendOptions o;
  o.inputs = {dir + "/long.y4m"};
  auto in = net::load_send_inputs(o);
  REQUIRE(in.ok());
  CHECK(o.width == 160);
  CHECK(o.height == 120);
  CHECK(o.fps == 25);
  CHECK(in->seconds == doctest::Approx(kFrames / 25.0));
  int played = 0;
  for (int i = 0; i < kFrames + 5 && in->video->next_frame(tern::Timestamp::Seconds(i)); ++i) {
    ++played;
    CHECK(in->video->buffered_bytes() <= kPicture);  // one picture read ahead, never the file
  }
  CHECK(played == kFrames);
  CHECK(in->video->ended());
  CHECK(in->error().ok());
  // Cut inside a picture: what came before plays, then a clear error (tern-send exits 1).
  std::filesystem::resize_file(dir + "/long.y4m", 50000);
  auto cut = net::load_send_inputs(o);
  REQUIRE(cut.ok());
  played = 0;
  while (played < 10 && cut->video->next_frame(tern::Timestamp::Seconds(played))) ++played;
  CHECK(played == 1);
  CHECK(std::string(cut->error().error()) == "y4m: frame truncated");
  o.inputs = {dir + "/missing.y4m"};
  CHECK(std::string(net::load_send_inputs(o).error()) == "--input '" + dir + "/missing.y4m': y4m: cannot open the file");
}
