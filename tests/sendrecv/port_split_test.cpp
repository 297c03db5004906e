// tools/net PortSplitSink: audio and video on their own ports, each port's RTCP about its own stream.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "tern/core/random.h"
#include "tern/rtp/rtcp/rtcp_packet.h"
#include "tern/tools/net/port_split_sink.h"

namespace net = tern::tools::net;
namespace rtcp = tern::rtcp;

namespace {

constexpr uint32_t kVideoSender = 0x1000'0002, kAudioSender = 0x1000'0001;  // tern-send's SSRCs
constexpr uint32_t kRemoteVideo = 0x1122'3344, kRemoteAudio = 0x1122'3345;  // what a receiver hears
constexpr uint32_t kOurs = 0x7E50'0001, kOursSpare = 0x7E50'0002;         // a receiver's own SSRCs

rtcp::ReportBlock Block(uint32_t source, uint32_t seq = 1) {
  rtcp::ReportBlock b;
  b.source_ssrc = source;
  b.extended_highest_sequence = seq;
  return b;
}

rtcp::SenderReport Sr(uint32_t ssrc, std::vector<rtcp::ReportBlock> blocks = {}) {
  rtcp::SenderReport sr;
  sr.sender_ssrc = ssrc;
  sr.packet_count = ssrc & 0xFF;
  sr.report_blocks = std::move(blocks);
  return sr;
}

std::vector<rtcp::RtcpPacket> Parse(const std::vector<uint8_t>& bytes) {
  auto parsed = rtcp::parse_compound(bytes);
  CHECK(parsed.errors.empty());
  return parsed.packets;
}

uint32_t HeadSsrc(const std::vector<rtcp::RtcpPacket>& packets) {
  REQUIRE_FALSE(packets.empty());
  if (const auto* sr = std::get_if<rtcp::SenderReport>(&packets.front())) return sr->sender_ssrc;
  const auto* rr = std::get_if<rtcp::ReceiverReport>(&packets.front());
  REQUIRE(rr != nullptr);
  return rr->sender_ssrc;
}

std::vector<uint32_t> BlockSources(const std::vector<rtcp::RtcpPacket>& packets) {
  std::vector<uint32_t> out;
  for (const auto& p : packets) {
    const std::vector<rtcp::ReportBlock>* blocks = nullptr;
    if (const auto* sr = std::get_if<rtcp::SenderReport>(&p)) blocks = &sr->report_blocks;
    if (const auto* rr = std::get_if<rtcp::ReceiverReport>(&p)) blocks = &rr->report_blocks;
    if (blocks != nullptr) {
      for (const auto& b : *blocks) out.push_back(b.source_ssrc);
    }
  }
  return out;
}

// The CNAME chunks' SSRCs of a compound.
std::vector<uint32_t> CnameSsrcs(const std::vector<rtcp::RtcpPacket>& packets) {
  std::vector<uint32_t> out;
  for (const auto& p : packets) {
    if (const auto* sdes = std::get_if<rtcp::Sdes>(&p)) {
      for (const auto& c : sdes->chunks) out.push_back(c.ssrc);
    }
  }
  return out;
}

struct Recorder : tern::DatagramSink {
  void on_datagram(std::vector<uint8_t> packet, tern::Timestamp) override { packets.push_back(std::move(packet)); }
  std::vector<std::vector<uint8_t>> packets;
};

std::vector<uint8_t> RtpPacket(uint32_t ssrc) {
  std::vector<uint8_t> p = {0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0xAA};
  for (int i = 0; i < 4; ++i) p[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  return p;
}

}  // namespace

TEST_CASE("receiver reports split by the stream they are about") {
  const net::PortSplitConfig config{0, kRemoteAudio, kOursSpare, "rx"};
  rtcp::ReceiverReport rr;
  rr.sender_ssrc = kOurs;
  rr.report_blocks = {Block(kRemoteVideo, 100), Block(kRemoteAudio, 200)};
  const std::vector<rtcp::RtcpPacket> compound = {rr, rtcp::Sdes::WithCname(kOurs, "rx")};
  const net::PortSplit split = net::split_rtcp_for_ports(rtcp::build_compound(compound), config);
  const auto video = Parse(split.video);
  const auto audio = Parse(split.audio);
  CHECK(HeadSsrc(video) == kOurs);
  CHECK(BlockSources(video) == std::vector<uint32_t>{kRemoteVideo});
  CHECK(CnameSsrcs(video) == std::vector<uint32_t>{kOurs});
  CHECK(HeadSsrc(audio) == kOursSpare);  // never the video port's head: no SRTCP keystream reuse
  CHECK(BlockSources(audio) == std::vector<uint32_t>{kRemoteAudio});
  CHECK(CnameSsrcs(audio) == std::vector<uint32_t>{kOursSpare});
  REQUIRE(std::get_if<rtcp::ReceiverReport>(&audio.front()) != nullptr);
  CHECK(std::get<rtcp::ReceiverReport>(audio.front()).report_blocks.front().extended_highest_sequence == 200);

  // Before the audio SSRC is known, or with no audio block, everything stays on the video port.
  net::PortSplitConfig unknown = config;
  unknown.audio_source_ssrc = 0;
  const auto bytes = rtcp::build_compound(compound);
  CHECK(net::split_rtcp_for_ports(bytes, unknown).video == bytes);
  CHECK(net::split_rtcp_for_ports(bytes, unknown).audio.empty());
}

TEST_CASE("sender reports split with each port's SR first and a CNAME for it") {
  const net::PortSplitConfig config{kAudioSender, 0, 0, "tx"};
  const std::vector<rtcp::RtcpPacket> compound = {Sr(kVideoSender, {Block(kOurs)}), Sr(kAudioSender),
                                                  rtcp::Sdes::WithCname(kAudioSender, "tx")};
  const net::PortSplit split = net::split_rtcp_for_ports(rtcp::build_compound(compound), config);
  const auto video = Parse(split.video);
  const auto audio = Parse(split.audio);
  CHECK(HeadSsrc(video) == kVideoSender);
  CHECK(BlockSources(video) == std::vector<uint32_t>{kOurs});
  CHECK(CnameSsrcs(video) == std::vector<uint32_t>{kVideoSender});  // was the audio SSRC's
  REQUIRE(audio.size() == 2);
  CHECK(std::get<rtcp::SenderReport>(audio[0]) == Sr(kAudioSender));  // untouched
  CHECK(CnameSsrcs(audio) == std::vector<uint32_t>{kAudioSender});
  for (const auto& p : video) {
    const auto* sr = std::get_if<rtcp::SenderReport>(&p);
    if (sr != nullptr) CHECK(sr->sender_ssrc != kAudioSender);
  }

  SUBCASE("only the audio stream has sent yet: nothing for the video port") {
    const std::vector<rtcp::RtcpPacket> only_audio = {Sr(kAudioSender), rtcp::Sdes::WithCname(kAudioSender, "tx")};
    const net::PortSplit s = net::split_rtcp_for_ports(rtcp::build_compound(only_audio), config);
    CHECK(s.video.empty());
    CHECK(HeadSsrc(Parse(s.audio)) == kAudioSender);
  }
  SUBCASE("a BYE reaches both ports, each for its own head") {
    auto with_bye = compound;
    with_bye.emplace_back(rtcp::Bye{{kVideoSender, kAudioSender}, ""});
    const net::PortSplit s = net::split_rtcp_for_ports(rtcp::build_compound(with_bye), config);
    const auto a = Parse(s.audio);
    REQUIRE(std::get_if<rtcp::Bye>(&a.back()) != nullptr);
    CHECK(std::get<rtcp::Bye>(a.back()).ssrcs == std::vector<uint32_t>{kAudioSender});
    CHECK(std::get_if<rtcp::Bye>(&Parse(s.video).back()) != nullptr);
  }
}

TEST_CASE("feedback and unparsable datagrams go to the video port unchanged") {
  const net::PortSplitConfig config{0, kRemoteAudio, kOursSpare, "rx"};
  rtcp::Nack nack;
  nack.sender_ssrc = kOurs;
  nack.media_ssrc = kRemoteVideo;
  nack.lost = {10, 12};
  const auto feedback = rtcp::build_compound(std::vector<rtcp::RtcpPacket>{nack});
  CHECK(net::split_rtcp_for_ports(feedback, config).video == feedback);
  CHECK(net::split_rtcp_for_ports(feedback, config).audio.empty());
  const std::vector<uint8_t> junk = {0x80, 201, 0, 40, 1, 2, 3};
  CHECK(net::split_rtcp_for_ports(junk, config).video == junk);
  CHECK(net::split_rtcp_for_ports({}, config).video.empty());
}

TEST_CASE("the sink sends RTP by SSRC and RTCP split to the two transports") {
  Recorder video, audio;
  net::PortSplitSink sink(&video, &audio, {kAudioSender, 0, 0, "tx"});
  sink.on_datagram(RtpPacket(kVideoSender), tern::Timestamp::Millis(1));
  sink.on_datagram(RtpPacket(kAudioSender), tern::Timestamp::Millis(2));
  sink.on_datagram(RtpPacket(kVideoSender + 7), tern::Timestamp::Millis(3));  // e.g. RTX: video port
  sink.on_datagram(rtcp::build_compound(std::vector<rtcp::RtcpPacket>{Sr(kVideoSender), Sr(kAudioSender),
                                                               rtcp::Sdes::WithCname(kAudioSender, "tx")}),
            tern::Timestamp::Millis(4));
  REQUIRE(video.packets.size() == 3);
  REQUIRE(audio.packets.size() == 2);
  CHECK(video.packets[0] == RtpPacket(kVideoSender));
  CHECK(video.packets[1] == RtpPacket(kVideoSender + 7));
  CHECK(audio.packets[0] == RtpPacket(kAudioSender));
  CHECK(HeadSsrc(Parse(video.packets[2])) == kVideoSender);
  CHECK(HeadSsrc(Parse(audio.packets[1])) == kAudioSender);

  // A receiver learns the audio SSRC later.
  Recorder v2, a2;
  net::PortSplitSink rx(&v2, &a2, {0, 0, kOursSpare, "rx"});
  rtcp::ReceiverReport rr;
  rr.sender_ssrc = kOurs;
  rr.report_blocks = {Block(kRemoteVideo), Block(kRemoteAudio)};
  const auto report = rtcp::build_compound(std::vector<rtcp::RtcpPacket>{rr, rtcp::Sdes::WithCname(kOurs, "rx")});
  rx.on_datagram(report, tern::Timestamp::Millis(1));
  rx.set_audio_source_ssrc(kRemoteAudio);
  rx.on_datagram(report, tern::Timestamp::Millis(2));
  CHECK(v2.packets.size() == 2);
  REQUIRE(a2.packets.size() == 1);
  CHECK(BlockSources(Parse(a2.packets[0])) == std::vector<uint32_t>{kRemoteAudio});
}

TEST_CASE("seeded random report compounds lose and duplicate no block and never share a head") {
  tern::Random rng(8);
  for (int round = 0; round < 300; ++round) {
    CAPTURE(round);
    const bool sender = rng.uniform_int(0, 1) == 1;
    const net::PortSplitConfig config{sender ? kAudioSender : 0u, kRemoteAudio, kOursSpare, "c"};
    std::vector<rtcp::ReportBlock> blocks;
    const int n = static_cast<int>(rng.uniform_int(0, 6));
    for (int i = 0; i < n; ++i) {
      blocks.push_back(Block(rng.uniform_int(0, 2) == 0 ? kRemoteAudio : kRemoteVideo + 16 * static_cast<uint32_t>(i),
                             static_cast<uint32_t>(i)));
    }
    std::vector<rtcp::RtcpPacket> compound;
    if (sender) {
      const bool video_sent = rng.uniform_int(0, 3) != 0;
      if (video_sent) compound.emplace_back(Sr(kVideoSender, blocks));
      compound.emplace_back(Sr(kAudioSender, video_sent ? std::vector<rtcp::ReportBlock>{} : blocks));
      compound.emplace_back(rtcp::Sdes::WithCname(kAudioSender, "c"));
    } else {
      rtcp::ReceiverReport rr;
      rr.sender_ssrc = kOurs;
      rr.report_blocks = blocks;
      compound.emplace_back(rr);
      compound.emplace_back(rtcp::Sdes::WithCname(kOurs, "c"));
    }
    if (rng.uniform_int(0, 4) == 0) {
      rtcp::Remb remb;
      remb.sender_ssrc = kOurs;
      remb.bitrate = tern::DataRate::KilobitsPerSec(300);
      remb.ssrcs = {kRemoteVideo};
      compound.emplace_back(remb);
    }
    const net::PortSplit split = net::split_rtcp_for_ports(rtcp::build_compound(compound), config);
    std::multiset<uint32_t> before, after;
    for (const auto& b : blocks) before.insert(b.source_ssrc);
    std::vector<rtcp::RtcpPacket> video, audio;
    if (!split.video.empty()) video = Parse(split.video);
    if (!split.audio.empty()) audio = Parse(split.audio);
    const bool video_report = !video.empty() && (std::holds_alternative<rtcp::SenderReport>(video.front()) ||
                                                 std::holds_alternative<rtcp::ReceiverReport>(video.front()));
    for (uint32_t s : BlockSources(video)) {
      CHECK(s != kRemoteAudio);
      after.insert(s);
    }
    for (uint32_t s : BlockSources(audio)) {
      CHECK(s == kRemoteAudio);
      after.insert(s);
    }
    if (video_report || before.count(kRemoteAudio) == before.size()) {
      CHECK(before == after);
    } else {  // only the audio SR reported: the video blocks wait for the next report
      CHECK(after.size() == before.count(kRemoteAudio));
    }
    if (video_report && !audio.empty()) CHECK(HeadSsrc(video) != HeadSsrc(audio));
    if (!audio.empty()) CHECK(CnameSsrcs(audio) == std::vector<uint32_t>{HeadSsrc(audio)});
    // Something other than reports and CNAMEs (the REMB) is never dropped.
    const bool had_remb = std::any_of(compound.begin(), compound.end(),
                                      [](const auto& p) { return std::holds_alternative<rtcp::Remb>(p); });
    const bool kept_remb = std::any_of(video.begin(), video.end(),
                                       [](const auto& p) { return std::holds_alternative<rtcp::Remb>(p); });
    CHECK(had_remb == kept_remb);
  }
}
