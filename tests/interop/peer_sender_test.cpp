// Interop: real senders -> UDP loopback -> tern depacketizers, frame assembly and decoders.
// GStreamer (rtpvp8pay, rtpvp9pay, rtpopuspay) and ffmpeg (-f rtp with libvpx, libvpx-vp9,
// libopus) send live; the test captures every datagram, checks each payload parses with sane
// descriptor fields (PictureID continuity, keyframe on the first frame, marker on the last
// packet of a frame), reassembles every frame and decodes all of them with tern's decoders.
#include <doctest/doctest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "interop/interop_util.h"
#include "support/pcap_writer.h"

using namespace tern;
using namespace tern::interop;

namespace {

enum class PictureIdCheck { kNone, k15Bit };

struct VideoExpectation {
  codecs::CodecType codec;
  uint8_t pt;
  int frames;
  PictureIdCheck picture_id;
  // The descriptor's keyframe flag must match the decoder's view on every frame (false for
  // senders that leave P=0 on every VP9 packet, like ffmpeg's experimental payloader).
  bool keyframe_flag_exact;
  // The first keyframe's payload header carries the resolution (always for VP8; VP9 only with SS).
  bool announces_resolution;
};

struct ParsedFrame {
  std::vector<uint8_t> data;
  bool keyframe = false;
  std::optional<uint16_t> picture_id;
  // Resolution the payload header announces on a keyframe: VP8 keyframe header (RFC 7741
  // section 4.3), VP9 scalability structure with Y set (RFC 9628 section 4.2.1); 0 when absent.
  int width = 0;
  int height = 0;
};

// Parses every packet with the format's depacketizer and assembles one frame per timestamp.
template <typename Depacketizer>
std::vector<ParsedFrame> AssembleFrames(const std::vector<rtp::RtpPacket>& sorted) {
  std::vector<ParsedFrame> frames;
  for (const auto& group : GroupByTimestamp(sorted)) {
    std::vector<std::span<const uint8_t>> payloads;
    for (const auto* p : group) payloads.push_back(p->payload());
    for (size_t i = 0; i < group.size(); ++i) {
      auto parsed = Depacketizer::parse(payloads[i]);
      REQUIRE_MESSAGE(parsed.ok(), "packet seq " << group[i]->sequence_number() << ": " << std::string(parsed.error()));
      // Marker bit exactly on the last packet of the picture (RFC 7741 / RFC 9628).
      CHECK_MESSAGE(group[i]->marker() == (i + 1 == group.size()), "seq " << group[i]->sequence_number());
    }
    auto first = Depacketizer::parse(payloads.front());
    REQUIRE(first.ok());
    ParsedFrame f;
    f.keyframe = first->is_keyframe;
    f.picture_id = first->descriptor.picture_id;
    if constexpr (std::is_same_v<Depacketizer, rtp::Vp8Depacketizer>) {
      f.width = first->width;
      f.height = first->height;
    } else {
      if (first->descriptor.ss && first->descriptor.ss->has_resolutions) {
        f.width = first->descriptor.ss->width[0];
        f.height = first->descriptor.ss->height[0];
      }
    }
    auto assembled = rtp::assemble_frame<Depacketizer>(payloads);
    REQUIRE_MESSAGE(assembled.ok(), "frame ts " << group.front()->timestamp() << ": " << std::string(assembled.error()));
    f.data = std::move(*assembled);
    frames.push_back(std::move(f));
  }
  return frames;
}

void CheckVideoStream(std::vector<rtp::RtpPacket> packets, const VideoExpectation& e) {
  REQUIRE(!packets.empty());
  const uint32_t ssrc = packets.front().ssrc();
  for (const auto& p : packets) {
    CHECK(p.payload_type() == e.pt);
    CHECK(p.ssrc() == ssrc);
  }
  const auto sorted = SortBySequence(std::move(packets));
  // Loopback: nothing lost, so the sequence numbers are contiguous.
  for (size_t i = 1; i < sorted.size(); ++i)
    CHECK(static_cast<uint16_t>(sorted[i - 1].sequence_number() + 1) == sorted[i].sequence_number());

  const auto frames = e.codec == codecs::CodecType::kVp8 ? AssembleFrames<rtp::Vp8Depacketizer>(sorted)
                                                        : AssembleFrames<rtp::Vp9Depacketizer>(sorted);
  CHECK(frames.size() == static_cast<size_t>(e.frames));
  REQUIRE(!frames.empty());
  CHECK(sorted.size() > frames.size());  // some frames were fragmented over several packets
  CHECK(frames.front().keyframe);
  if (e.announces_resolution) CHECK(frames.front().width == kWidth);

  if (e.picture_id == PictureIdCheck::k15Bit) {
    for (size_t i = 0; i < frames.size(); ++i) {
      REQUIRE_MESSAGE(frames[i].picture_id.has_value(), "frame " << i << " has no PictureID");
      if (i > 0)
        CHECK_MESSAGE(*frames[i].picture_id == ((*frames[i - 1].picture_id + 1) & 0x7FFF),
                      "frame " << i << ": PictureID " << *frames[i].picture_id << " after "
                               << *frames[i - 1].picture_id);
    }
  }

  auto dec = codecs::CreateVideoDecoder(codecs::VideoDecoderConfig{e.codec, 1});
  REQUIRE(dec.ok());
  int shown = 0, keyframes = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (e.keyframe_flag_exact) {
      // The descriptor's keyframe flag tells the truth: exactly the flagged frames decode on a
      // fresh decoder (tern's decoder refuses a delta frame before any keyframe).
      auto fresh = codecs::CreateVideoDecoder(codecs::VideoDecoderConfig{e.codec, 1});
      REQUIRE(fresh.ok());
      CHECK_MESSAGE((*fresh)->decode(frames[i].data, 0).ok() == frames[i].keyframe, "frame " << i);
    }
    auto d = (*dec)->decode(frames[i].data, 0);
    REQUIRE_MESSAGE(d.ok(), "frame " << i << " (" << frames[i].data.size() << " bytes): " << std::string(d.error()));
    if (d->has_value()) {
      ++shown;
      CHECK((*d)->width > 0);
      CHECK((*d)->height > 0);
    }
    if (frames[i].keyframe) ++keyframes;
    if (frames[i].width != 0 || frames[i].height != 0) {
      CHECK(frames[i].width == kWidth);
      CHECK(frames[i].height == kHeight);
    }
  }
  CHECK(shown == e.frames);
  MESSAGE(std::string(codecs::codec_name(e.codec)) << ": " << sorted.size() << " packets, " << frames.size() << " frames, "
                                     << shown << " shown, " << keyframes << " flagged keyframes");
}

// Runs `command` (a sender to 127.0.0.1:port) in the background and collects what it sends.
std::vector<rtp::RtpPacket> CaptureFrom(const std::string& name, const std::string& command, uint16_t port) {
  test::UdpSocket rx(port);
  REQUIRE_MESSAGE(rx.ok(), "cannot bind 127.0.0.1:" << port);
  const std::string dir = test::scratch_dir("interop_" + name);
  BackgroundPeer tx(command, 20, dir + "/sender.log");
  REQUIRE(tx.started());
  auto packets = CollectRtp(rx, tx, 25000);
  REQUIRE_MESSAGE(tx.wait(5000), "sender did not stop: " << tx.log());
  CHECK_MESSAGE(tx.exit_code() == 0, "sender exit " << tx.exit_code() << ": " << tx.log());
  INFO("sender log: " << tx.log());
  REQUIRE(!packets.empty());
  // Keep what was captured for inspection (tshark/wireshark), next to the sender's log.
  test::PcapWriter pcap(dir + "/capture.pcap");
  int64_t t = 0;
  for (const auto& p : packets) pcap.add_udp(p.data(), 40000, port, t += 100);
  return packets;
}

std::string GstVideoSender(const std::string& encoder_payloader, uint16_t port) {
  return "gst-launch-1.0 -e videotestsrc num-buffers=60 pattern=smpte ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 "
         "! " +
         encoder_payloader + " ! udpsink host=127.0.0.1 port=" + std::to_string(port);
}

std::string FfmpegSender(const std::string& input, const std::string& codec_args, uint8_t pt, uint16_t port) {
  return "ffmpeg -nostdin -hide_banner -loglevel warning -re " + input + " " + codec_args +
         " -f rtp -payload_type " + std::to_string(pt) + " -ssrc " + std::to_string(kSsrc) +
         " 'rtp://127.0.0.1:" + std::to_string(port) + "?pkt_size=1200'";
}

// Every Opus packet parses and decodes; the decoded signal is the peer's 440 Hz test tone.
// 3 s of 20 ms frames is 150 packets; encoders flush their lookahead (pre-skip) in one more.
void CheckOpusStream(std::vector<rtp::RtpPacket> packets, int channels) {
  const auto sorted = SortBySequence(std::move(packets));
  CHECK(sorted.size() >= 150);
  CHECK(sorted.size() <= 151);
  auto dec = codecs::CreateAudioDecoder(codecs::AudioDecoderConfig{codecs::CodecType::kOpus, 48000, channels});
  REQUIRE(dec.ok());
  std::vector<int16_t> mono;
  TimeDelta total = TimeDelta::Zero();
  for (size_t i = 0; i < sorted.size(); ++i) {
    CHECK(sorted[i].payload_type() == 111);
    if (i > 0) CHECK(static_cast<uint16_t>(sorted[i - 1].sequence_number() + 1) == sorted[i].sequence_number());
    if (i > 1) {
      // The RTP clock advances by each packet's duration (48 kHz). Not checked between the first
      // two: gst's opusenc stamps its first packet 312 samples (the pre-skip) late.
      auto prev = rtp::OpusDepacketizer::parse(sorted[i - 1].payload());
      REQUIRE(prev.ok());
      CHECK_MESSAGE(sorted[i].timestamp() - sorted[i - 1].timestamp() == static_cast<uint32_t>(prev->duration.us() * 48 / 1000), "packet " << i);
    }
    auto parsed = rtp::OpusDepacketizer::parse(sorted[i].payload());
    REQUIRE_MESSAGE(parsed.ok(), "packet " << i << ": " << std::string(parsed.error()));
    total += parsed->duration;
    auto d = (*dec)->decode(parsed->payload);
    REQUIRE_MESSAGE(d.ok(), "packet " << i << ": " << std::string(d.error()));
    CHECK(d->frame.samples_per_channel * 1000 / 48 == parsed->duration.us());
    for (int s = 0; s < d->frame.samples_per_channel; ++s)
      mono.push_back(d->frame.samples[static_cast<size_t>(s * channels)]);
  }
  CHECK(total.ms() >= 2960);
  CHECK(total.ms() <= 3060);
  // Fraction of the energy at 440 Hz after the first 100 ms (codec start-up).
  double a = 0, b = 0, energy = 0;
  const size_t start = 4800;
  for (size_t i = start; i < mono.size(); ++i) {
    const double w = 2 * 3.14159265358979 * 440.0 * double(i) / 48000.0;
    a += mono[i] * std::cos(w);
    b += mono[i] * std::sin(w);
    energy += double(mono[i]) * mono[i];
  }
  const double n = double(mono.size() - start);
  const double tone_fraction = energy > 0 ? 2.0 * (a * a + b * b) / n / energy : 0.0;
  MESSAGE("opus: " << sorted.size() << " packets, " << total.ms() << " ms, 440 Hz energy fraction " << tone_fraction);
  CHECK(tone_fraction > 0.9);
}

}  // namespace

TEST_CASE("GStreamer rtpvp8pay sender to tern VP8 depacketizer and decoder") {
  if (!HavePeers({"gst-launch-1.0"})) return;
  const uint16_t port = 5621;
  auto packets = CaptureFrom("gst_vp8", GstVideoSender("vp8enc deadline=1 target-bitrate=600000 ! rtpvp8pay pt=96 "
                                                       "mtu=1200 picture-id-mode=15-bit",
                                                       port),
                             port);
  CheckVideoStream(std::move(packets), {codecs::CodecType::kVp8, 96, 60, PictureIdCheck::k15Bit, true, true});
}

TEST_CASE("GStreamer rtpvp9pay sender to tern VP9 depacketizer and decoder") {
  if (!HavePeers({"gst-launch-1.0"})) return;
  const uint16_t port = 5623;
  auto packets = CaptureFrom("gst_vp9", GstVideoSender("vp9enc deadline=1 cpu-used=8 target-bitrate=600000 ! "
                                                       "rtpvp9pay pt=98 mtu=1200 picture-id-mode=15-bit",
                                                       port),
                             port);
  CheckVideoStream(std::move(packets), {codecs::CodecType::kVp9, 98, 60, PictureIdCheck::k15Bit, true, true});
}

TEST_CASE("GStreamer rtpopuspay sender to tern Opus depacketizer and decoder") {
  if (!HavePeers({"gst-launch-1.0"})) return;
  const uint16_t port = 5625;
  auto packets = CaptureFrom("gst_opus",
                             "gst-launch-1.0 -e audiotestsrc num-buffers=150 samplesperbuffer=960 freq=440 "
                             "! audio/x-raw,rate=48000,channels=2 ! opusenc bitrate=64000 frame-size=20 "
                             "! rtpopuspay pt=111 ! udpsink host=127.0.0.1 port=" +
                                 std::to_string(port),
                             port);
  CheckOpusStream(std::move(packets), 2);
}

TEST_CASE("ffmpeg VP8 RTP sender to tern VP8 depacketizer and decoder") {
  if (!HavePeers({"ffmpeg"})) return;
  const uint16_t port = 5631;
  auto packets = CaptureFrom("ffmpeg_vp8",
                             FfmpegSender("-f lavfi -i testsrc=size=320x240:rate=30",
                                          "-frames:v 60 -pix_fmt yuv420p -c:v libvpx -deadline realtime -cpu-used 8 -b:v 500k -g 30",
                                          96, port),
                             port);
  CheckVideoStream(std::move(packets), {codecs::CodecType::kVp8, 96, 60, PictureIdCheck::k15Bit, true, true});
}

TEST_CASE("ffmpeg VP9 RTP sender to tern VP9 depacketizer and decoder") {
  if (!HavePeers({"ffmpeg"})) return;
  const uint16_t port = 5633;
  auto packets = CaptureFrom("ffmpeg_vp9",
                             FfmpegSender("-f lavfi -i testsrc=size=320x240:rate=30",
                                          "-frames:v 60 -pix_fmt yuv420p -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 500k "
                                          "-g 30 -strict experimental",
                                          98, port),
                             port);
  CheckVideoStream(std::move(packets), {codecs::CodecType::kVp9, 98, 60, PictureIdCheck::kNone, false, false});
}

TEST_CASE("ffmpeg Opus RTP sender to tern Opus depacketizer and decoder") {
  if (!HavePeers({"ffmpeg"})) return;
  const uint16_t port = 5635;
  auto packets = CaptureFrom("ffmpeg_opus",
                             FfmpegSender("-f lavfi -i sine=frequency=440:sample_rate=48000:duration=3",
                                          "-ac 2 -c:a libopus -b:a 64k", 111, port),
                             port);
  CheckOpusStream(std::move(packets), 2);
}
