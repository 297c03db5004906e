// tern-sfu's recorder (tools/tern-sfu/recording.h) on a simulcast publisher, over netsim in virtual
// time: three real VP8 encodings of one source (tern's encoder at 160x90, 320x180 and 640x360, 15
// fps, each on its own SSRC and timestamp base, none signalled: learned from the rid extension, as
// Chromium sends them) into the server's router, with the recorder as the media tap, wired as
// SfuServer wires them (RTP and RTCP to the tap before the router; the tap's keyframe requests to
// MediaRouter::request_keyframe after each packet). tern's PeerConnection cannot send simulcast,
// so the publisher is three Endpoints on one uplink (tests/pipeline/simulcast_router_test.cpp's
// rig). The top encoding stops 2 s in (a publisher pausing its top layer): the recording switches
// to the middle one at a keyframe the server asked for. The WebM is read back with libwebm's parser
// (track size, every frame's time) and decoded by ffprobe (every frame's size).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recording.h"
#include "support/process.h"
#include "support/simulcast_sender.h"
#include "tern/media/file_io.h"
#include "tern/media/webm_reader.h"
#include "tern/netsim/datagram_adapter.h"
#include "tern/netsim/event_loop.h"
#include "tern/netsim/network.h"
#include "tern/pipeline/endpoint.h"
#include "tern/pipeline/media_router.h"
#include "tern/rtp/rtcp/rtcp_packet.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"
#include "tern/rtp/rtp_rtcp_split.h"

using namespace tern;

namespace {

constexpr uint8_t kSimRecRidExt = 10;
constexpr uint8_t kSimRecRepairedRidExt = 11;
constexpr uint32_t kSimRecGroupSsrc = 0x6C00'0002;  // the server's SSRC of the group (session 1)
constexpr sfu::SessionId kSimRecSession = 1;

// The server side: the router's publisher leg and the recorder as its media tap, as SfuServer's
// RouterInput drives them.
struct SimRecServer {
  pipeline::MediaRouter& router;
  pipeline::MediaRouter::LegId leg;
  tools::sfu_tool::SfuRecorder& recorder;
  uint64_t requests_sent = 0;
  std::optional<Timestamp> next_wakeup() const {
    auto a = router.next_wakeup();
    auto b = recorder.next_wakeup();
    if (a && b) return std::min(*a, *b);
    return a ? a : b;
  }
  void process(Timestamp now) {
    router.process(now);
    recorder.process(now);
  }
  void on_packet(std::span<const uint8_t> d, Timestamp now) {
    const bool rtcp = rtp::is_rtcp(d);
    if (rtcp) {
      recorder.on_publisher_rtcp(kSimRecSession, d, now);
    } else {
      recorder.on_publisher_rtp(kSimRecSession, d, now);
    }
    router.on_packet(leg, d, now);
    if (rtcp) return;
    for (const sfu::MediaTap::KeyframeRequest& r : recorder.take_keyframe_requests()) {
      if (r.publisher == kSimRecSession && router.request_keyframe(leg, r.ssrc, now)) ++requests_sent;
    }
  }
};

nlohmann::json SimRecRecording(const tools::sfu_tool::SfuRecorder& recorder) {
  const nlohmann::json j = nlohmann::json::parse(recorder.annotate_stats("{}"));
  REQUIRE(j["recorder"]["recordings"].size() == 1);
  return j["recorder"]["recordings"][0];
}

}  // namespace

TEST_CASE("tern-sfu recorder: a simulcast publisher's top encoding recorded, the middle one when the top stops") {
  netsim::EventLoop loop;
  netsim::LinkConfig link;
  link.capacity = DataRate::MegabitsPerSec(10);
  link.delay = TimeDelta::Millis(20);
  netsim::NetworkConfig nc = netsim::NetworkConfig::Direct(link, link);
  nc.seed = 91;
  auto net = netsim::Network::Create(nc);
  REQUIRE(net.ok());
  netsim::Network* up = net->get();
  up->attach(loop);

  // The publisher: q, h, f; f (the top) stops at kStop.
  const TimeDelta kStop = TimeDelta::Seconds(2);
  const TimeDelta kEnd = TimeDelta::Millis(4500);
  const Timestamp start = loop.now();
  const std::array<int, 3> widths = {160, 320, 640};
  const std::array<int64_t, 3> kbps = {100, 300, 900};
  const std::array<std::string, 3> rids = {"q", "h", "f"};
  std::array<uint32_t, 3> ssrcs{};
  std::array<uint64_t, 3> frames_sent{};  // media packets with the marker bit
  bool top_stopped = false;
  test::SimulcastEncoders<3> pub;  // support/simulcast_sender.h
  std::array<netsim::NetsimTransport, 3> pub_out;
  for (size_t i = 0; i < 3; ++i) {
    const pipeline::EndpointConfig c = test::SimulcastEncoderConfig(
        widths[i], 15, DataRate::KilobitsPerSec(kbps[i]), 0x2100'0002 + static_cast<uint32_t>(i) * 16, rids[i], 400 + i);
    ssrcs[i] = c.local.video;
    const uint8_t mid_id = c.extension_ids.mid;
    const uint32_t media = c.local.video;
    const uint32_t rtx = c.local.video_rtx;
    const uint32_t ts_offset = 0x2345'6789u * static_cast<uint32_t>(i + 1);
    uint64_t* sent = &frames_sent[i];
    const bool* stopped = i == 2 ? &top_stopped : nullptr;
    pub_out[i].set_send([up, mid_id, media, rtx, ts_offset, sent, stopped](netsim::SimPacket p, Timestamp now) {
      if (stopped != nullptr && *stopped) return;  // paused: nothing leaves for it, RTCP neither
      if (!rtp::is_rtcp(p.data)) {
        auto h = rtp::RtpHeader::parse(p.data);
        if (h.ok() && h->ssrc == media && h->marker) ++*sent;
      }
      test::SimulcastTagRid(p.data, mid_id, rtx, ts_offset, kSimRecRidExt, kSimRecRepairedRidExt);
      up->send_from_a(std::move(p), now);
    });
    auto e = pipeline::Endpoint::Create(c, &pub_out[i]);
    REQUIRE_MESSAGE(e.ok(), std::string(e.error()));
    pub.encoders[i] = std::move(e).value();
  }
  netsim::PollableAdapter<test::SimulcastEncoders<3>> pub_driver(pub);
  up->set_sink_a(&pub_driver);
  loop.add_pollable(&pub_driver);

  // The server: the publisher's leg (the group as SfuServer publishes it) and the recorder.
  pipeline::MediaRouter::Config rc;
  rc.keyframe_request_interval = TimeDelta::Millis(300);
  auto router = pipeline::MediaRouter::Create(rc);
  REQUIRE(router.ok());
  pipeline::MediaRouter::ForwardedStream group;
  group.ssrc = kSimRecGroupSsrc;
  group.rtx_ssrc = kSimRecGroupSsrc + 1;
  group.codec = codecs::CodecType::kVp8;
  group.rids = {rids.begin(), rids.end()};
  group.rid_extension_id = kSimRecRidExt;
  group.repaired_rid_extension_id = kSimRecRepairedRidExt;
  std::vector<uint32_t> plis;  // the media SSRCs of the PLIs the server sent the publisher
  netsim::NetsimTransport srv_out([up, &plis](netsim::SimPacket p, Timestamp now) {
    if (rtp::is_rtcp(p.data)) {
      for (const rtcp::RtcpPacket& r : rtcp::parse_compound(p.data).packets)
        if (const auto* pli = std::get_if<rtcp::Pli>(&r)) plis.push_back(pli->media_ssrc);
    }
    up->send_from_b(std::move(p), now);
  });
  auto leg = (*router)->add_leg(0x5100'0001, &srv_out, {group});
  REQUIRE_MESSAGE(leg.ok(), std::string(leg.error()));
  const std::string dir = test::scratch_dir("sfu_simulcast_record");
  REQUIRE(tools::sfu_tool::SfuRecorder::prepare_dir(dir).ok());
  tools::sfu_tool::SfuRecorder recorder(dir, true);
  sfu::PublishedMedia published;
  published.video = group;
  published.video_codec = codecs::CodecType::kVp8;
  recorder.on_publisher_started(kSimRecSession, "simrec", published, loop.now());
  SimRecServer server{**router, *leg, recorder};
  netsim::PollableAdapter<SimRecServer> server_driver(server);
  up->set_sink_b(&server_driver);
  loop.add_pollable(&server_driver);

  REQUIRE(loop.run_for(kStop).ok());
  const nlohmann::json before = SimRecRecording(recorder);
  CHECK(before["simulcast"]["rid"] == "f");
  CHECK(before["simulcast"]["width"] == 640);
  CHECK(before["simulcast"]["switches"] == 0);
  const uint64_t top_frames = frames_sent[2];
  const size_t plis_before = plis.size();

  // The top encoding stops: the recording moves to the middle one within 2 s.
  top_stopped = true;
  std::optional<TimeDelta> switched_after;
  while (loop.now() - start < kEnd) {
    REQUIRE(loop.run_for(TimeDelta::Millis(50)).ok());
    if (!switched_after && SimRecRecording(recorder)["simulcast"]["rid"] == "h") switched_after = loop.now() - start - kStop;
  }
  recorder.on_publisher_ended(kSimRecSession, loop.now());
  const nlohmann::json rec = SimRecRecording(recorder);
  INFO(rec.dump());
  REQUIRE(switched_after.has_value());
  MESSAGE("simulcast recording: top encoding frames sent " << top_frames << ", switch to h " << switched_after->ms()
                                                           << " ms after the top stopped; " << rec.dump());
  CHECK(*switched_after <= TimeDelta::Seconds(2));
  CHECK(rec["state"] == "finalised");
  CHECK(rec["simulcast"]["encoding"] == 1);
  CHECK(rec["simulcast"]["width"] == 320);
  CHECK(rec["simulcast"]["switches"] == 1);
  CHECK(rec["simulcast"]["switchesDown"] == 1);
  CHECK(rec["simulcast"]["keyframeRequests"].get<uint64_t>() >= 1);
  CHECK(rec["simulcast"]["ssrcsLearned"].get<uint64_t>() >= 3);
  CHECK(rec["simulcast"]["unknownRid"] == 0);
  CHECK(rec["width"] == 640);  // the track's: the first picture's
  CHECK(server.requests_sent >= 1);
  // The server asked for the middle encoding's keyframe (and, for the recording, never the others').
  CHECK(std::count(plis.begin() + static_cast<std::ptrdiff_t>(plis_before), plis.end(), ssrcs[1]) >= 1);

  // The file: one VP8 track of the top encoding's size; times increasing, no gap above 2 s, the
  // pause kept (the timeline follows the capture clock, it is not closed up).
  const std::string path = rec["path"].get<std::string>();
  auto bytes = media::load_file(path);
  REQUIRE(bytes.ok());
  auto info = media::parse_webm(*bytes);
  REQUIRE(info.ok());
  REQUIRE(info->tracks.size() == 1);
  CHECK(info->tracks[0].codec_id == "V_VP8");
  CHECK(info->tracks[0].width == 640);
  CHECK(info->tracks[0].height == 360);
  const auto frames = info->frames_of(info->tracks[0].number);
  REQUIRE(frames.size() > 10);
  TimeDelta max_gap = TimeDelta::Zero();
  size_t gap_at = 0, backwards = 0;
  for (size_t i = 1; i < frames.size(); ++i) {
    const TimeDelta step = frames[i].time - frames[i - 1].time;
    if (step <= TimeDelta::Zero()) ++backwards;
    if (step > max_gap) {
      max_gap = step;
      gap_at = i;
    }
  }
  MESSAGE("simulcast recording: " << frames.size() << " frames, " << gap_at << " of f before the gap of " << max_gap.ms()
                                   << " ms, span " << (frames.back().time - frames.front().time).ms() << " ms");
  CHECK(backwards == 0);
  CHECK(max_gap < TimeDelta::Seconds(2));
  CHECK(max_gap > TimeDelta::Millis(900));  // the top stopped ~1 s before the switch could be made
  CHECK(frames[gap_at].keyframe);           // the middle encoding from its keyframe
  // The top encoding's frames before the gap: >= 95% of those it sent.
  CHECK(static_cast<double>(gap_at) >= 0.95 * static_cast<double>(top_frames));
  // The middle one to the end: its frames over the rest (15 fps), the last near the run's end.
  CHECK(frames.size() - gap_at >= 15);
  const TimeDelta span = frames.back().time - frames.front().time;
  CHECK(span > kEnd - TimeDelta::Millis(500));
  CHECK(span < kEnd);

  // Decoded: every frame, the top size then the middle one's.
  if (!test::have_tool("ffprobe")) {
    CHECK_FALSE(test::interop_required());
    return;
  }
  const auto probe = test::run_command("ffprobe -v error -select_streams v -show_entries frame=width -of csv=p=0 '" + path + "'",
                                       30, true);
  REQUIRE(probe.exit_code == 0);
  const std::vector<std::string> lines = test::split_lines(probe.out);
  CHECK(lines.size() == frames.size());  // every frame decoded, no error printed
  const auto top = static_cast<size_t>(std::count(lines.begin(), lines.end(), "640"));
  const auto middle = static_cast<size_t>(std::count(lines.begin(), lines.end(), "320"));
  CHECK(top == gap_at);
  CHECK(middle == frames.size() - gap_at);
}

namespace {

// One VP8 frame in one packet, the rid (or repaired rid) extension when `rid` is not empty; a
// keyframe carries its size. RTX (`rtx_of`): the original sequence number first, payload type 97.
std::vector<uint8_t> SimRecFrame(uint32_t ssrc, uint16_t seq, uint32_t ts, const std::string& rid, bool keyframe, int width,
                                 int height, std::optional<uint16_t> rtx_of = std::nullopt) {
  std::vector<uint8_t> payload = {0x90, 0x80, static_cast<uint8_t>(0x80 | (seq >> 8 & 0x7F)), static_cast<uint8_t>(seq & 0xFF),
                                  static_cast<uint8_t>(keyframe ? 0x10 : 0x11), 0x02, 0x00};
  if (keyframe) {
    const std::vector<uint8_t> header = {0x9d, 0x01, 0x2a, static_cast<uint8_t>(width & 0xFF), static_cast<uint8_t>(width >> 8),
                                         static_cast<uint8_t>(height & 0xFF), static_cast<uint8_t>(height >> 8)};
    payload.insert(payload.end(), header.begin(), header.end());
  }
  payload.resize(payload.size() + 40, 0x33);
  if (rtx_of) payload.insert(payload.begin(), {static_cast<uint8_t>(*rtx_of >> 8), static_cast<uint8_t>(*rtx_of & 0xFF)});
  rtp::RtpPacketBuilder b;
  b.set_ssrc(ssrc).set_sequence_number(seq).set_timestamp(ts).set_payload_type(rtx_of ? 97 : 96).set_marker(true);
  const std::vector<uint8_t> rid_bytes(rid.begin(), rid.end());
  if (!rid.empty()) b.set_extension(rtx_of ? kSimRecRepairedRidExt : kSimRecRidExt, rid_bytes);
  b.set_payload(payload);
  auto packet = b.build();
  REQUIRE(packet.ok());
  return std::vector<uint8_t>(packet->data().begin(), packet->data().end());
}

}  // namespace

TEST_CASE("tern-sfu simulcast recording: the largest encoding whatever the rid order, first-packet offsets, down and up") {
  using tools::sfu_tool::SimulcastRecordSelector;
  tools::sfu_tool::SimulcastRecordConfig c;
  c.rids = {"f", "h", "q"};  // high to low: the sizes decide
  c.rid_extension_id = kSimRecRidExt;
  c.repaired_rid_extension_id = kSimRecRepairedRidExt;
  c.rtx_payload_type = 97;
  c.output_ssrc = kSimRecGroupSsrc;
  auto created = SimulcastRecordSelector::Create(c);
  REQUIRE(created.ok());
  SimulcastRecordSelector s = std::move(created).value();
  tools::sfu_tool::SimulcastRecordConfig bad = c;
  bad.rids.clear();
  CHECK(!SimulcastRecordSelector::Create(bad).ok());
  bad.rids = {"a", "b", "c", "d", "e"};
  CHECK(!SimulcastRecordSelector::Create(bad).ok());

  // f, h, q: SSRCs, timestamp bases (no SRs: first-packet offsets), sizes.
  const std::array<uint32_t, 3> ssrc = {0xF1, 0xA1, 0x51};
  const std::array<uint32_t, 3> base = {1'000'000, 4'000'000'000u, 77};
  const std::array<int, 3> width = {640, 320, 160};
  std::array<uint16_t, 3> seq = {100, 2000, 60000};
  std::vector<SimulcastRecordSelector::Output> out;
  Timestamp now = Timestamp::Seconds(10);
  // Frame n (15 fps) of encoding e, arriving 3 ms after the one before it (q first).
  auto send = [&](size_t e, int n, bool key, bool with_rid) {
    const uint32_t ts = base[e] + 6000u * static_cast<uint32_t>(n);
    const Timestamp at = Timestamp::Seconds(10) + TimeDelta::Micros(n * 66'667) + TimeDelta::Millis(3 * static_cast<int64_t>(2 - e));
    now = std::max(now, at);
    CHECK(s.on_rtp(SimRecFrame(ssrc[e], seq[e]++, ts, with_rid ? c.rids[e] : "", key, width[e], width[e] * 9 / 16), now, out));
  };
  auto frame_round = [&](int n, std::array<bool, 3> sending, int key_of = -1) {
    for (size_t e = 3; e-- > 0;)
      if (sending[e]) send(e, n, n == 0 || static_cast<int>(e) == key_of, n < 3);
  };
  std::vector<uint8_t> audio = SimRecFrame(0x99, 1, 1, "", false, 0, 0);  // no rid, unknown SSRC: not video
  CHECK(!s.on_rtp(audio, now, out));
  CHECK(!s.on_rtp(SimRecFrame(0x77, 1, 1, "zz", true, 640, 360), now, out));  // a rid not announced
  CHECK(s.counters().unknown_rid == 1);

  // The start: every encoding's keyframe seen (q's first): f is chosen and its held keyframe
  // replayed; nothing asked for.
  frame_round(0, {true, true, true});
  REQUIRE(out.size() == 1);
  CHECK(out[0].packet.ssrc() == kSimRecGroupSsrc);
  CHECK(out[0].packet.timestamp() == base[0]);  // the first encoding keeps its timestamps
  CHECK(s.counters().rid == "f");
  CHECK(s.counters().width == 640);
  for (int n = 1; n < 15; ++n) frame_round(n, {true, true, true});
  CHECK(out.size() == 15);
  CHECK(s.take_keyframe_requests().empty());
  // An RTX copy of f's last frame after its original: a duplicate, not recorded twice.
  CHECK(s.on_rtp(SimRecFrame(ssrc[0] + 1, 1, base[0] + 6000u * 14, "f", false, 0, 0, static_cast<uint16_t>(seq[0] - 1)), now, out));
  CHECK(out.size() == 15);
  CHECK(s.counters().ssrcs_learned == 4);

  // f stops after frame 14: 1 s later h becomes the target, its keyframe is asked for (again at
  // most every 500 ms), h's delta frames are not recorded until it comes.
  std::vector<uint32_t> requests;
  std::vector<int> request_frames;
  for (int n = 15; n < 40; ++n) {
    frame_round(n, {false, true, true});
    for (uint32_t r : s.take_keyframe_requests()) {
      requests.push_back(r);
      request_frames.push_back(n);
    }
  }
  CHECK(out.size() == 15);
  CHECK(requests == std::vector<uint32_t>{ssrc[1], ssrc[1]});
  CHECK(request_frames == std::vector<int>{30, 38});  // f's last packet + 1 s, then 500 ms later
  frame_round(40, {false, true, true}, 1);  // h's keyframe
  REQUIRE(out.size() == 16);
  CHECK(s.counters().rid == "h");
  CHECK(s.counters().switches == 1);
  CHECK(s.counters().switches_down == 1);
  CHECK(s.counters().width == 320);
  // Continued by the capture time elapsed (first-packet offsets): 26 frames of 6000 ticks after
  // f's last, less the 3 ms by which h's first packet came before f's (the offsets' error).
  const auto step = static_cast<int32_t>(out[15].packet.timestamp() - out[14].packet.timestamp());
  CHECK(std::abs(step - (26 * 6000 - 270)) <= 2);  // arrivals at whole microseconds
  CHECK(out[15].packet.sequence_number() == static_cast<uint16_t>(out[14].packet.sequence_number() + 1));
  frame_round(41, {false, true, true});
  REQUIRE(out.size() == 17);
  CHECK(out[16].packet.timestamp() - out[15].packet.timestamp() == 6000u);
  // A late copy of h's frame before its keyframe: not recorded (its number would be f's).
  CHECK(s.on_rtp(SimRecFrame(ssrc[1], static_cast<uint16_t>(seq[1] - 3), base[1] + 6000u * 39, "", false, 0, 0), now, out));
  CHECK(out.size() == 17);

  // f sends again, from a keyframe (after h's frame of the same instant): back up at once, no
  // request needed, the timeline moved on by the offsets' 3 ms.
  frame_round(42, {true, true, true}, 0);
  REQUIRE(out.size() == 19);
  CHECK(s.counters().rid == "f");
  CHECK(s.counters().switches == 2);
  CHECK(s.counters().switches_down == 1);
  CHECK(out[17].packet.timestamp() - out[16].packet.timestamp() == 6000u);
  CHECK(std::abs(static_cast<int32_t>(out[18].packet.timestamp() - out[17].packet.timestamp()) - 270) <= 2);
  CHECK(s.take_keyframe_requests().empty());
}

// The start's hold is bounded: with an announced encoding that never shows, the choice waits for
// start_wait, or until kMaxHeldPackets are held; then the held packets are replayed and the rest
// recorded as they come.
TEST_CASE("tern-sfu simulcast recording: at most kMaxHeldPackets held at the start, the choice made when full") {
  using tools::sfu_tool::SimulcastRecordSelector;
  tools::sfu_tool::SimulcastRecordConfig c;
  c.rids = {"q", "h"};  // h never sends
  c.rid_extension_id = kSimRecRidExt;
  c.output_ssrc = kSimRecGroupSsrc;
  auto created = SimulcastRecordSelector::Create(c);
  REQUIRE(created.ok());
  SimulcastRecordSelector s = std::move(created).value();
  std::vector<SimulcastRecordSelector::Output> out;
  const Timestamp now = Timestamp::Seconds(10);  // within start_wait throughout
  constexpr size_t kBound = SimulcastRecordSelector::kMaxHeldPackets;
  for (size_t i = 0; i < kBound + 10; ++i) {
    const auto seq = static_cast<uint16_t>(500 + i);
    CHECK(s.on_rtp(SimRecFrame(0x51, seq, static_cast<uint32_t>(3000 * i), i == 0 ? "q" : "", i == 0, 160, 90), now, out));
    if (i + 1 < kBound) REQUIRE(out.empty());
    if (i + 1 == kBound) REQUIRE(out.size() == kBound);  // full: chosen, all held replayed in order
  }
  CHECK(out.size() == kBound + 10);
  CHECK(out.front().packet.sequence_number() + kBound + 9 == out.back().packet.sequence_number());
  CHECK(s.counters().held_dropped == 0);
  CHECK(s.counters().rid == "q");
}

// Keyframe requests wait for the server's take_keyframe_requests(), at most kMaxKeyframeRequests:
// with a driver that does not take them, the earliest are kept and the later ones dropped, counted
// (/stats recorder.keyframeRequestsDropped, /metrics tern_sfu_recording_keyframe_requests_dropped_total).
TEST_CASE("tern-sfu recorder: at most kMaxKeyframeRequests keyframe requests wait, the earliest kept, later ones dropped and counted") {
  using tools::sfu_tool::SfuRecorder;
  const std::string dir = test::scratch_dir("sfu_keyframe_requests");
  REQUIRE(SfuRecorder::prepare_dir(dir).ok());
  SfuRecorder recorder(dir, true);
  constexpr size_t kPublishers = SfuRecorder::kMaxKeyframeRequests + 6;
  // Simulcast publishers of f and h (SSRCs of their own): f stops after its frame 14, and each
  // recording asks for h's keyframe (1 s later, again 500 ms after that).
  auto ssrc_of = [](size_t publisher, size_t e) { return static_cast<uint32_t>(0x4000'0000u + publisher * 16 + e); };
  for (size_t i = 0; i < kPublishers; ++i) {
    pipeline::MediaRouter::ForwardedStream v;
    v.ssrc = static_cast<uint32_t>(0x6D00'0000u + i * 16);
    v.codec = codecs::CodecType::kVp8;
    v.rids = {"f", "h"};
    v.rid_extension_id = kSimRecRidExt;
    v.nack = false;
    sfu::PublishedMedia media;
    media.video = v;
    media.video_codec = codecs::CodecType::kVp8;
    recorder.on_publisher_started(i + 1, "kf", media, Timestamp::Seconds(10));
  }
  std::vector<uint16_t> seq(kPublishers * 2, 1);
  auto frames = [&](int from, int to) {
    for (int n = from; n < to; ++n) {
      const Timestamp now = Timestamp::Seconds(10) + TimeDelta::Micros(n * 66'667);
      for (size_t i = 0; i < kPublishers; ++i) {
        for (size_t e = n < 15 ? 0 : 1; e < 2; ++e) {
          const int width = e == 0 ? 640 : 320;
          recorder.on_publisher_rtp(i + 1, SimRecFrame(ssrc_of(i, e), seq[i * 2 + e]++, 6000u * static_cast<uint32_t>(n),
                                                       e == 0 ? "f" : "h", n == 0, width, width * 9 / 16), now);
        }
      }
    }
  };
  auto asked = [&] {  // by the recordings' selectors
    const nlohmann::json j = nlohmann::json::parse(recorder.annotate_stats("{}"));
    uint64_t sum = 0;
    for (const nlohmann::json& r : j["recorder"]["recordings"]) sum += r["simulcast"]["keyframeRequests"].get<uint64_t>();
    return sum;
  };
  auto check_kept = [&](const std::vector<sfu::MediaTap::KeyframeRequest>& kept) {
    REQUIRE(kept.size() == SfuRecorder::kMaxKeyframeRequests);
    for (size_t k = 0; k < kept.size(); ++k) {  // the earliest: publishers 1..64, in the order they asked
      CHECK(kept[k].publisher == k + 1);
      CHECK(kept[k].ssrc == ssrc_of(k, 1));
    }
  };

  frames(0, 36);  // every recording asked once (about frame 30)
  REQUIRE(asked() == kPublishers);
  check_kept(recorder.take_keyframe_requests());
  CHECK(recorder.counters().keyframe_requests_dropped == kPublishers - SfuRecorder::kMaxKeyframeRequests);
  frames(36, 42);  // once more each (about frame 38): as many kept, as many dropped
  REQUIRE(asked() == 2 * kPublishers);
  check_kept(recorder.take_keyframe_requests());
  CHECK(recorder.take_keyframe_requests().empty());
  const uint64_t dropped = 2 * (kPublishers - SfuRecorder::kMaxKeyframeRequests);
  CHECK(recorder.counters().keyframe_requests_dropped == dropped);
  const nlohmann::json stats = nlohmann::json::parse(recorder.annotate_stats("{}"));
  CHECK(stats["recorder"]["keyframeRequestsDropped"] == dropped);
  const std::string metrics = recorder.prometheus_metrics();
  CHECK(metrics.find("tern_sfu_recording_keyframe_requests_dropped_total " + std::to_string(dropped) + "\n") != std::string::npos);
  for (size_t i = 0; i < kPublishers; ++i) recorder.on_publisher_ended(i + 1, Timestamp::Seconds(13));
}
