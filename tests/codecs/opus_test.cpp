#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "codecs/codec_test_util.h"
#include "tern/codecs/codec_factory.h"
#include "tern/codecs/opus_decoder.h"
#include "tern/codecs/opus_encoder.h"
#include "tern/core/random.h"

using namespace tern;
using namespace tern::codecs;
using namespace tern::unit_literals;

namespace {

AudioEncoderConfig MonoConfig(TimeDelta frame = 20_ms) {
  AudioEncoderConfig c;
  c.frame_duration = frame;
  c.bitrate = 64_kbps;
  return c;
}

std::unique_ptr<OpusDecoder> MakeDecoder(int channels = 1) {
  AudioDecoderConfig c;
  c.channels = channels;
  auto d = OpusDecoder::Create(c);
  REQUIRE(d.ok());
  return std::move(d).value();
}

}  // namespace

TEST_CASE("opus round trip reproduces a sine for every frame size") {
  for (int ms : {10, 20, 40, 60}) {
    CAPTURE(ms);
    auto enc = OpusEncoder::Create(MonoConfig(TimeDelta::Millis(ms)));
    REQUIRE(enc.ok());
    auto dec = MakeDecoder();
    const int n = 48 * ms;
    std::vector<int16_t> in, out;
    for (int64_t start = 0; start < 48000; start += n) {
      AudioFrame f = test::SineFrame(48000, 1, n, start, 440.0, 8000.0);
      in.insert(in.end(), f.samples.begin(), f.samples.end());
      auto pkt = (*enc)->encode(f);
      REQUIRE(pkt.ok());
      CHECK(pkt->rtp_timestamp == f.rtp_timestamp);
      CHECK(pkt->duration == TimeDelta::Millis(ms));
      CHECK_FALSE(pkt->is_dtx);
      auto pcm = dec->decode(pkt->data);
      REQUIRE(pcm.ok());
      CHECK(pcm->kind == AudioDecodeKind::kNormal);
      CHECK(pcm->frame.samples_per_channel == n);
      out.insert(out.end(), pcm->frame.samples.begin(), pcm->frame.samples.end());
    }
    const int lookahead = static_cast<int>((*enc)->lookahead().us() * 48 / 1000);
    CHECK(lookahead > 0);
    // The output is the input delayed by the encoder's lookahead (the codec's whole delay).
    int lag = -1;
    const double corr = test::BestCorrelation(in, out, 4800, 24000, lookahead - 2, lookahead + 2, &lag);
    CHECK(corr > 0.95);
    CHECK(test::Energy(out) == doctest::Approx(test::Energy(in)).epsilon(0.3));
  }
}

TEST_CASE("opus stereo round trip keeps both channels") {
  AudioEncoderConfig c = MonoConfig();
  c.channels = 2;
  auto enc = OpusEncoder::Create(c);
  REQUIRE(enc.ok());
  auto dec = MakeDecoder(2);
  std::vector<int16_t> out;
  for (int i = 0; i < 25; ++i) {
    auto pkt = (*enc)->encode(test::SineFrame(48000, 2, 960, i * 960, 300.0, 6000.0));
    REQUIRE(pkt.ok());
    auto pcm = dec->decode(pkt->data);
    REQUIRE(pcm.ok());
    CHECK(pcm->frame.channels == 2);
    CHECK(pcm->frame.samples.size() == 1920);
    out = pcm->frame.samples;
  }
  CHECK(test::Energy(out) > 1e6);
}

TEST_CASE("opus bitrate change mid-stream changes packet sizes") {
  AudioEncoderConfig c = MonoConfig();
  c.bitrate = 12_kbps;
  c.application = AudioApplication::kAudio;
  auto enc = OpusEncoder::Create(c);
  REQUIRE(enc.ok());
  Random rng(7);
  auto frame_at = [&](int i) {
    AudioFrame f = test::SineFrame(48000, 1, 960, i * 960, 523.0, 5000.0);
    for (auto& s : f.samples) s = static_cast<int16_t>(s + rng.uniform_int(-2000, 2000));  // rich content
    return f;
  };
  double low = 0, high = 0;
  for (int i = 0; i < 100; ++i) {
    if (i == 50) REQUIRE((*enc)->set_target_bitrate(128_kbps).ok());
    auto pkt = (*enc)->encode(frame_at(i));
    REQUIRE(pkt.ok());
    if (i >= 25 && i < 50) low += double(pkt->data.size());
    if (i >= 75) high += double(pkt->data.size());
  }
  low /= 25;
  high /= 25;
  CHECK(low == doctest::Approx(12000.0 / 8 / 50).epsilon(0.35));
  CHECK(high > 5 * low);
  CHECK((*enc)->config().bitrate == 128_kbps);
  CHECK_FALSE((*enc)->set_target_bitrate(1_kbps).ok());
  CHECK_FALSE((*enc)->set_target_bitrate(600_kbps).ok());
}

TEST_CASE("opus DTX on silence yields tiny packets marked as DTX") {
  for (bool dtx : {true, false}) {
    CAPTURE(dtx);
    AudioEncoderConfig c = MonoConfig();
    c.dtx = dtx;
    auto enc = OpusEncoder::Create(c);
    REQUIRE(enc.ok());
    auto dec = MakeDecoder();
    int tiny = 0;
    for (int i = 0; i < 50; ++i) {
      auto pkt = (*enc)->encode(AudioFrame::Silence(48000, 1, 960));
      REQUIRE(pkt.ok());
      CHECK(pkt->is_dtx == (pkt->data.size() <= 2));
      if (pkt->is_dtx) ++tiny;
      auto pcm = dec->decode(pkt->data);  // DTX packets still decode (to comfort noise / silence)
      REQUIRE(pcm.ok());
    }
    if (dtx) {
      CHECK(tiny > 35);
    } else {
      CHECK(tiny == 0);
    }
  }
}

TEST_CASE("opus in-band FEC recovers a dropped packet from the next one") {
  AudioEncoderConfig c = MonoConfig();
  c.bitrate = 32_kbps;
  c.inband_fec = true;
  c.packet_loss_percent = 20;
  auto enc = OpusEncoder::Create(c);
  REQUIRE(enc.ok());
  std::vector<EncodedFrame> pkts;
  for (int i = 0; i < 30; ++i) {
    AudioFrame f = test::SpeechLikeFrame(960, i * 960, 5);
    auto pkt = (*enc)->encode(f);
    REQUIRE(pkt.ok());
    pkts.push_back(std::move(pkt).value());
  }
  auto reference = MakeDecoder();
  auto lossy = MakeDecoder();
  constexpr int kLost = 20;
  std::vector<int16_t> expected, recovered;
  for (int i = 0; i < 30; ++i) {
    auto ref = reference->decode(pkts[static_cast<std::size_t>(i)].data);
    REQUIRE(ref.ok());
    if (i == kLost) {
      expected = ref->frame.samples;
      continue;  // lost on the way
    }
    if (i == kLost + 1) {
      auto fec = lossy->decode_fec(pkts[static_cast<std::size_t>(i)].data, 20_ms);
      REQUIRE(fec.ok());
      CHECK(fec->kind == AudioDecodeKind::kFec);
      CHECK(fec->frame.samples_per_channel == 960);
      recovered = fec->frame.samples;
    }
    auto out = lossy->decode(pkts[static_cast<std::size_t>(i)].data);
    REQUIRE(out.ok());
  }
  REQUIRE(recovered.size() == expected.size());
  CHECK(test::Energy(recovered) > 0.3 * test::Energy(expected));
  CHECK(test::Energy(recovered) < 3.0 * test::Energy(expected));
  int lag = 0;
  CHECK(test::BestCorrelation(expected, recovered, 0, 800, 0, 100, &lag) > 0.7);
}

TEST_CASE("opus decode_fec without FEC data falls back to concealment") {
  auto enc = OpusEncoder::Create(MonoConfig());  // FEC off, 64 kbps: CELT, no LBRR
  REQUIRE(enc.ok());
  auto dec = MakeDecoder();
  auto p0 = (*enc)->encode(test::SineFrame(48000, 1, 960, 0, 440.0, 8000.0));
  auto p1 = (*enc)->encode(test::SineFrame(48000, 1, 960, 960, 440.0, 8000.0));
  REQUIRE(p0.ok());
  REQUIRE(p1.ok());
  REQUIRE(dec->decode(p0->data).ok());
  auto r = dec->decode_fec(p1->data, 20_ms);
  REQUIRE(r.ok());
  CHECK(r->kind == AudioDecodeKind::kConcealment);
  CHECK(r->frame.samples_per_channel == 960);
}

TEST_CASE("opus concealment produces the requested duration") {
  auto enc = OpusEncoder::Create(MonoConfig());
  REQUIRE(enc.ok());
  auto dec = MakeDecoder();
  for (int i = 0; i < 5; ++i) {
    auto p = (*enc)->encode(test::SineFrame(48000, 1, 960, i * 960, 440.0, 8000.0));
    REQUIRE(p.ok());
    REQUIRE(dec->decode(p->data).ok());
  }
  auto plc = dec->conceal(20_ms);
  REQUIRE(plc.ok());
  CHECK(plc->kind == AudioDecodeKind::kConcealment);
  CHECK(plc->frame.samples_per_channel == 960);
  CHECK(test::Energy(plc->frame.samples) > 0.0);  // continues the tone, not silence
  auto plc10 = dec->conceal(10_ms);
  REQUIRE(plc10.ok());
  CHECK(plc10->frame.samples_per_channel == 480);
  CHECK_FALSE(dec->conceal(0_ms).ok());
  CHECK_FALSE(dec->conceal(200_ms).ok());
  CHECK_FALSE(dec->conceal(TimeDelta::PlusInfinity()).ok());
}

TEST_CASE("opus encoder rejects invalid configurations and mismatched frames") {
  auto bad = [](auto mutate) {
    AudioEncoderConfig c;
    mutate(c);
    return !OpusEncoder::Create(c).ok();
  };
  CHECK(bad([](AudioEncoderConfig& c) { c.sample_rate_hz = 44100; }));
  CHECK(bad([](AudioEncoderConfig& c) { c.channels = 3; }));
  CHECK(bad([](AudioEncoderConfig& c) { c.channels = 0; }));
  CHECK(bad([](AudioEncoderConfig& c) { c.frame_duration = 25_ms; }));
  CHECK(bad([](AudioEncoderConfig& c) { c.frame_duration = TimeDelta::Micros(20500); }));
  CHECK(bad([](AudioEncoderConfig& c) { c.bitrate = 1_kbps; }));
  CHECK(bad([](AudioEncoderConfig& c) { c.bitrate = 1_mbps; }));
  CHECK(bad([](AudioEncoderConfig& c) { c.complexity = 11; }));
  CHECK(bad([](AudioEncoderConfig& c) { c.packet_loss_percent = 101; }));
  CHECK(bad([](AudioEncoderConfig& c) { c.codec = CodecType::kVp8; }));
  CHECK_FALSE(OpusDecoder::Create(AudioDecoderConfig{CodecType::kOpus, 44100, 1}).ok());
  CHECK_FALSE(OpusDecoder::Create(AudioDecoderConfig{CodecType::kOpus, 48000, 3}).ok());

  auto enc = OpusEncoder::Create(AudioEncoderConfig{});
  REQUIRE(enc.ok());
  CHECK_FALSE((*enc)->encode(AudioFrame::Silence(48000, 1, 480)).ok());   // 10 ms into a 20 ms encoder
  CHECK_FALSE((*enc)->encode(AudioFrame::Silence(48000, 2, 960)).ok());   // stereo into mono
  CHECK_FALSE((*enc)->encode(AudioFrame::Silence(16000, 1, 320)).ok());   // wrong rate
  AudioFrame short_buffer = AudioFrame::Silence(48000, 1, 960);
  short_buffer.samples.resize(100);
  CHECK_FALSE((*enc)->encode(short_buffer).ok());
  CHECK_FALSE((*enc)->set_packet_loss_percent(-1).ok());
  CHECK((*enc)->set_packet_loss_percent(10).ok());
}

TEST_CASE("opus decoder rejects corrupt packets and survives garbage") {
  auto dec = MakeDecoder();
  CHECK_FALSE(dec->decode({}).ok());
  // Code 3 (arbitrary frame count) with zero frames is invalid (RFC 6716 3.2.5).
  const uint8_t zero_frames[] = {0x03, 0x00};
  CHECK_FALSE(dec->decode(zero_frames).ok());
  // Code 2 (two frames, explicit length) whose first length exceeds the packet.
  const uint8_t lying_length[] = {0x02, 0xFB, 0x01, 0x02};
  CHECK_FALSE(dec->decode(lying_length).ok());
  // Code 3 asking for 48 x 20 ms = 960 ms: more than the 120 ms an Opus packet may hold.
  const uint8_t too_long[] = {0x0B, 0x30, 0x00};
  CHECK_FALSE(dec->decode(too_long).ok());
  CHECK_FALSE(dec->decode_fec(zero_frames, 20_ms).ok());

  Random rng(1234);
  int errors = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> junk(static_cast<std::size_t>(rng.uniform_int(1, 200)));
    for (auto& b : junk) b = static_cast<uint8_t>(rng.next_u32());
    auto r = dec->decode(junk);
    if (!r.ok()) {
      ++errors;
      CHECK(std::string(r.error()).size() > 0);
    } else {
      CHECK(r->frame.samples_per_channel <= 48 * 120);
    }
    auto f = dec->decode_fec(junk, 20_ms);
    if (f.ok()) CHECK(f->frame.samples_per_channel == 960);
  }
  CHECK(errors > 0);
  // Still a working decoder afterwards.
  auto enc = OpusEncoder::Create(AudioEncoderConfig{});
  REQUIRE(enc.ok());
  auto p = (*enc)->encode(test::SineFrame(48000, 1, 960, 0, 440.0, 8000.0));
  REQUIRE(p.ok());
  CHECK(dec->decode(p->data).ok());
}

TEST_CASE("audio factories create opus and refuse video codecs") {
  auto enc = CreateAudioEncoder(AudioEncoderConfig{});
  REQUIRE(enc.ok());
  CHECK((*enc)->config().codec == CodecType::kOpus);
  auto dec = CreateAudioDecoder(AudioDecoderConfig{});
  REQUIRE(dec.ok());
  AudioEncoderConfig v;
  v.codec = CodecType::kVp9;
  CHECK_FALSE(CreateAudioEncoder(v).ok());
  AudioDecoderConfig vd;
  vd.codec = CodecType::kVp8;
  CHECK_FALSE(CreateAudioDecoder(vd).ok());
}
