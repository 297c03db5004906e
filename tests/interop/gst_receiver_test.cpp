// Interop: tern encoder + payload packetizer -> UDP loopback -> GStreamer receiver
// (rtpjitterbuffer ! rtpvp8depay/rtpvp9depay/rtpopusdepay ! decoder ! y4menc/wavenc).
// Every frame must arrive, and GStreamer's decode must be as good as tern's own decode of the
// same encoded frames (PSNR/SNR against the source within 0.5 dB), ideally bit-exact.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "interop/interop_util.h"
#include "support/wav.h"
#include "support/y4m.h"

using namespace tern;
using namespace tern::interop;

namespace {

struct VideoCase {
  codecs::CodecType codec;
  uint8_t pt;
  const char* encoding_name;
  const char* depay_dec;
  const char* name;
};

void TernToGstVideo(const VideoCase& c, uint16_t port, int num_frames) {
  if (!HavePeers({"gst-launch-1.0"})) return;
  const std::string dir = test::scratch_dir(std::string("interop_tern_to_gst_") + c.name);
  const std::string y4m_path = dir + "/recv.y4m";
  std::remove(y4m_path.c_str());

  const auto encoded = EncodeVideo(c.codec, num_frames);
  // What the encoder alone gives: tern's decode of the very same frames.
  auto dec = codecs::CreateVideoDecoder(codecs::VideoDecoderConfig{c.codec, 1});
  REQUIRE(dec.ok());
  std::vector<codecs::VideoFrame> local;
  for (const auto& f : encoded) {
    auto d = (*dec)->decode(f);
    REQUIRE_MESSAGE(d.ok(), std::string(d.error()));
    REQUIRE(d->has_value());
    local.push_back(std::move(**d));
  }

  rtp::Vp8Packetizer vp8;
  rtp::Vp9Packetizer vp9;
  uint16_t seq = 65500;  // wraps during the clip
  std::vector<std::vector<std::vector<uint8_t>>> packets;
  size_t total_packets = 0;
  for (const auto& f : encoded) {
    packets.push_back(PacketizeVideo(f, c.pt, &seq, vp8, vp9));
    total_packets += packets.back().size();
  }
  CHECK(total_packets > encoded.size());  // some frames span several packets

  const std::string caps = std::string("application/x-rtp,media=video,clock-rate=90000,encoding-name=") +
                           c.encoding_name + ",payload=" + std::to_string(c.pt);
  BackgroundPeer rx("gst-launch-1.0 -e udpsrc address=127.0.0.1 port=" + std::to_string(port) + " caps=\"" + caps +
                        "\" ! rtpjitterbuffer latency=100 ! " + c.depay_dec +
                        // drop-allocation: without video-meta support downstream the decoder
                        // writes tightly packed frames (gst 1.22 y4menc ignores padded strides).
                        " ! identity drop-allocation=true ! videoconvert ! video/x-raw,format=I420 ! y4menc ! filesink location='" + y4m_path + "'",
                    25, dir + "/gst.log");
  REQUIRE(rx.started());
  REQUIRE_MESSAGE(WaitForUdpPort(port, 8000), "gst receiver did not bind its port: " << rx.log());
  SendPaced(packets, port, 33);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // jitter buffer latency + decode
  rx.interrupt();
  REQUIRE_MESSAGE(rx.wait(10000), "gst receiver did not stop: " << rx.log());
  CHECK_MESSAGE(rx.exit_code() == 0, "gst receiver did not finish with EOS: " << rx.log());

  const test::Y4mVideo got = test::ReadY4m(y4m_path);
  REQUIRE_MESSAGE(got.error == nullptr, std::string(got.error ? got.error : "") << "\n" << rx.log());
  CHECK(got.width == kWidth);
  CHECK(got.height == kHeight);
  REQUIRE_MESSAGE(got.frames.size() == encoded.size(), "gst log:\n" << rx.log());

  int bit_exact = 0;
  double worst_margin = 1e9;
  for (size_t i = 0; i < got.frames.size(); ++i) {
    const codecs::VideoFrame source = codecs::test::MovingPattern(kWidth, kHeight, static_cast<int>(i));
    const codecs::VideoFrame remote = FromPacked(got.frames[i], kWidth, kHeight);
    const double ours = codecs::test::LumaPsnr(source, local[i]);
    const double theirs = codecs::test::LumaPsnr(source, remote);
    worst_margin = std::min(worst_margin, theirs - ours);
    CHECK_MESSAGE(theirs >= ours - 0.5, "frame " << i << ": gst " << theirs << " dB, tern " << ours << " dB");
    if (codecs::test::LumaPsnr(local[i], remote) >= 99.0) ++bit_exact;
  }
  MESSAGE(std::string(c.name) << ": " << got.frames.size() << " frames, " << total_packets << " packets, " << bit_exact
                 << " bit-exact with tern's decode, worst PSNR margin " << worst_margin << " dB");
}

}  // namespace

TEST_CASE("tern VP8 packetizer to GStreamer rtpvp8depay and vp8dec") {
  TernToGstVideo({codecs::CodecType::kVp8, 96, "VP8", "rtpvp8depay ! vp8dec", "vp8"}, 5601, 90);
}

TEST_CASE("tern VP9 packetizer to GStreamer rtpvp9depay and vp9dec") {
  TernToGstVideo({codecs::CodecType::kVp9, 98, "VP9", "rtpvp9depay ! vp9dec", "vp9"}, 5603, 90);
}

TEST_CASE("tern Opus packetizer to GStreamer rtpopusdepay and opusdec") {
  if (!HavePeers({"gst-launch-1.0"})) return;
  const uint16_t port = 5605;
  const std::string dir = test::scratch_dir("interop_tern_to_gst_opus");
  const std::string wav_path = dir + "/recv.wav";
  std::remove(wav_path.c_str());

  constexpr int kFrames = 150;  // 3 s of 20 ms packets
  constexpr int kSamples = 960;
  codecs::AudioEncoderConfig ec;
  ec.channels = 1;
  ec.bitrate = DataRate::KilobitsPerSec(48);
  auto enc = codecs::CreateAudioEncoder(ec);
  REQUIRE(enc.ok());
  auto dec = codecs::CreateAudioDecoder(codecs::AudioDecoderConfig{codecs::CodecType::kOpus, 48000, 1});
  REQUIRE(dec.ok());
  std::vector<int16_t> source, local;
  std::vector<std::vector<std::vector<uint8_t>>> packets;
  rtp::OpusPacketizer pz;
  for (int i = 0; i < kFrames; ++i) {
    const codecs::AudioFrame in = codecs::test::SpeechLikeFrame(kSamples, int64_t{i} * kSamples, 7);
    source.insert(source.end(), in.samples.begin(), in.samples.end());
    auto e = (*enc)->encode(in);
    REQUIRE_MESSAGE(e.ok(), std::string(e.error()));
    auto d = (*dec)->decode(e->data);
    REQUIRE_MESSAGE(d.ok(), std::string(d.error()));
    local.insert(local.end(), d->frame.samples.begin(), d->frame.samples.end());
    Status s = pz.plan(e->data, rtp::OpusFrameInfo{i == 0}, rtp::PayloadLimits{});
    REQUIRE(s.ok());
    std::vector<uint8_t> payload(pz.packet_size(0));
    REQUIRE(pz.write(0, payload).ok());
    rtp::RtpPacketBuilder b;
    b.set_payload_type(111).set_sequence_number(static_cast<uint16_t>(65530 + i)).set_timestamp(e->rtp_timestamp);
    b.set_ssrc(kSsrc).set_marker(pz.marker(0)).set_payload(payload);
    auto p = b.build();
    REQUIRE(p.ok());
    packets.push_back({std::vector<uint8_t>(p->data().begin(), p->data().end())});
  }

  BackgroundPeer rx("gst-launch-1.0 -e udpsrc address=127.0.0.1 port=" + std::to_string(port) +
                        " caps=\"application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=111\" "
                        "! rtpjitterbuffer latency=50 ! rtpopusdepay ! opusdec ! audioconvert ! audioresample "
                        "! audio/x-raw,format=S16LE,rate=48000,channels=1 ! wavenc ! filesink location='" +
                        wav_path + "'",
                    25, dir + "/gst.log");
  REQUIRE(rx.started());
  REQUIRE_MESSAGE(WaitForUdpPort(port, 8000), "gst receiver did not bind its port: " << rx.log());
  SendPaced(packets, port, 20);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  rx.interrupt();
  REQUIRE_MESSAGE(rx.wait(10000), "gst receiver did not stop: " << rx.log());
  CHECK_MESSAGE(rx.exit_code() == 0, "gst receiver did not finish with EOS: " << rx.log());

  const test::WavAudio got = test::ReadWav(wav_path);
  REQUIRE_MESSAGE(got.error == nullptr, std::string(got.error ? got.error : "") << "\n" << rx.log());
  CHECK(got.sample_rate == 48000);
  REQUIRE(got.channels == 1);
  // Every packet decoded: 3 s of audio, give or take one packet.
  CHECK_MESSAGE(std::abs(static_cast<long>(got.frames()) - static_cast<long>(source.size())) <= kSamples,
                "received " << got.frames() << " samples, sent " << source.size() << "\n" << rx.log());

  // Quality: GStreamer's decode against the source must be within 0.5 dB of tern's own decode.
  // A decoder only delays (Opus pre-skip: 6.5 ms); the two decodes should line up exactly.
  int lag_ours = 0, lag_theirs = 0;
  const double ours = BestAlignedSnr(source, local, 0, 960, &lag_ours);
  const double theirs = BestAlignedSnr(source, got.samples, 0, 960, &lag_theirs);
  const double agreement = BestAlignedSnr(local, got.samples, -960, 960);
  MESSAGE("opus: " << got.frames() << " samples; SNR vs source tern " << ours << " dB (lag " << lag_ours
                   << "), gst " << theirs << " dB (lag " << lag_theirs << "); gst vs tern decode " << agreement
                   << " dB");
  CHECK(ours > 5.0);  // the codec itself works
  CHECK(theirs >= ours - 0.5);
  CHECK(agreement >= 40.0);  // the same libopus decoding the same packets: near bit-exact
}
