#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "codecs/codec_test_util.h"
#include "tern/codecs/codec_factory.h"
#include "tern/codecs/vp8_encoder.h"
#include "tern/codecs/vp9_encoder.h"
#include "tern/codecs/vpx_decoder.h"
#include "tern/core/random.h"

using namespace tern;
using namespace tern::codecs;
using namespace tern::unit_literals;

namespace {

constexpr int kW = 320;
constexpr int kH = 240;

VideoEncoderConfig Config(CodecType codec, DataRate rate = 500_kbps, int layers = 1) {
  VideoEncoderConfig c;
  c.codec = codec;
  c.width = kW;
  c.height = kH;
  c.start_bitrate = rate;
  c.num_temporal_layers = layers;
  c.frame_drop_threshold = 0;  // deterministic frame counts in tests
  return c;
}

std::unique_ptr<VideoEncoder> MakeEncoder(const VideoEncoderConfig& c) {
  auto e = CreateVideoEncoder(c);
  REQUIRE_MESSAGE(e.ok(), e.error());
  return std::move(e).value();
}

std::unique_ptr<VideoDecoder> MakeDecoder(CodecType codec) {
  auto d = CreateVideoDecoder(VideoDecoderConfig{codec, 1});
  REQUIRE(d.ok());
  return std::move(d).value();
}

struct Encoded {
  int index;
  EncodedFrame frame;
};

std::vector<Encoded> EncodeClip(VideoEncoder& enc, int frames, int first = 0) {
  std::vector<Encoded> out;
  for (int i = first; i < first + frames; ++i) {
    auto r = enc.encode(test::MovingPattern(kW, kH, i));
    REQUIRE_MESSAGE(r.ok(), r.error());
    if (r->has_value()) out.push_back({i, std::move(**r)});
  }
  return out;
}

const CodecType kVideoCodecs[] = {CodecType::kVp8, CodecType::kVp9};

}  // namespace

TEST_CASE("vpx encode -> decode round trip keeps quality above 30 dB at 500 kbps") {
  for (CodecType codec : kVideoCodecs) {
    const std::string name = codec_name(codec);
    CAPTURE(name);
    auto enc = MakeEncoder(Config(codec));
    auto dec = MakeDecoder(codec);
    const auto clip = EncodeClip(*enc, 30);
    REQUIRE(clip.size() == 30);
    CHECK(clip[0].frame.is_keyframe);
    double psnr_sum = 0;
    for (const auto& e : clip) {
      CHECK(e.frame.codec == codec);
      CHECK(e.frame.width == kW);
      CHECK(e.frame.height == kH);
      CHECK(e.frame.rtp_timestamp == static_cast<uint32_t>(e.index * 3000));
      auto d = dec->decode(e.frame);
      REQUIRE_MESSAGE(d.ok(), d.error());
      REQUIRE(d->has_value());
      CHECK((*d)->rtp_timestamp == e.frame.rtp_timestamp);
      psnr_sum += test::LumaPsnr(test::MovingPattern(kW, kH, e.index), **d);
    }
    const double psnr = psnr_sum / double(clip.size());
    MESSAGE(name, " mean PSNR ", psnr, " dB");
    CHECK(psnr > 30.0);
  }
}

TEST_CASE("vpx keyframe on request, and only then") {
  for (CodecType codec : kVideoCodecs) {
    const std::string name = codec_name(codec);
    CAPTURE(name);
    auto enc = MakeEncoder(Config(codec));
    for (int i = 0; i < 20; ++i) {
      if (i == 12) enc->force_keyframe();
      auto r = enc->encode(test::MovingPattern(kW, kH, i));
      REQUIRE(r.ok());
      REQUIRE(r->has_value());
      CHECK((*r)->is_keyframe == (i == 0 || i == 12));
    }
  }
}

TEST_CASE("vpx keyframe interval forces periodic keyframes") {
  VideoEncoderConfig c = Config(CodecType::kVp8);
  c.keyframe_interval = 5;
  auto enc = MakeEncoder(c);
  const auto clip = EncodeClip(*enc, 12);
  for (const auto& e : clip) CHECK(e.frame.is_keyframe == (e.index % 5 == 0));
}

TEST_CASE("vpx lowering the bitrate mid-stream lowers frame sizes") {
  for (CodecType codec : kVideoCodecs) {
    const std::string name = codec_name(codec);
    CAPTURE(name);
    auto enc = MakeEncoder(Config(codec, 1000_kbps));
    double high = 0, low = 0;
    int n_high = 0, n_low = 0;
    for (int i = 0; i < 60; ++i) {
      if (i == 30) REQUIRE(enc->set_target_bitrate(150_kbps).ok());
      auto r = enc->encode(test::MovingPattern(kW, kH, i));
      REQUIRE(r.ok());
      if (!r->has_value()) continue;
      if (i >= 10 && i < 30) high += double((*r)->data.size()), ++n_high;
      if (i >= 45) low += double((*r)->data.size()), ++n_low;
    }
    REQUIRE(n_high > 0);
    REQUIRE(n_low > 0);
    CHECK(low / n_low < 0.5 * high / n_high);
    CHECK(enc->config().start_bitrate == 150_kbps);
    CHECK_FALSE(enc->set_target_bitrate(1_kbps).ok());
    CHECK(enc->set_frame_rate(15.0).ok());
    CHECK_FALSE(enc->set_frame_rate(0.0).ok());
  }
}

TEST_CASE("vp8 temporal layers follow the 0-1 and 0-2-1-2 patterns with sync flags") {
  SUBCASE("two layers") {
    auto enc = MakeEncoder(Config(CodecType::kVp8, 500_kbps, 2));
    const auto clip = EncodeClip(*enc, 16);
    REQUIRE(clip.size() == 16);
    for (const auto& e : clip) {
      CAPTURE(e.index);
      CHECK(e.frame.layers.num_temporal_layers == 2);
      CHECK(e.frame.layers.temporal_id == e.index % 2);
      // The first TL1 frame of each 8-frame cycle references only TL0.
      CHECK(e.frame.layers.layer_sync == (e.index % 8 == 1));
      CHECK(e.frame.layers.tl0_pic_idx == static_cast<uint8_t>(e.index / 2));
      CHECK(e.frame.layers.picture_id == e.index);
      CHECK(e.frame.layers.non_reference == (e.index % 8 == 7));
    }
  }
  SUBCASE("three layers") {
    auto enc = MakeEncoder(Config(CodecType::kVp8, 500_kbps, 3));
    const auto clip = EncodeClip(*enc, 16);
    REQUIRE(clip.size() == 16);
    const int expected_tid[4] = {0, 2, 1, 2};
    for (const auto& e : clip) {
      CAPTURE(e.index);
      CHECK(e.frame.layers.temporal_id == expected_tid[e.index % 4]);
      CHECK(e.frame.layers.layer_sync == (e.index % 8 == 1 || e.index % 8 == 2));
      CHECK(e.frame.layers.tl0_pic_idx == static_cast<uint8_t>(e.index / 4));
    }
  }
  SUBCASE("a keyframe request restarts the pattern") {
    auto enc = MakeEncoder(Config(CodecType::kVp8, 500_kbps, 3));
    auto clip = EncodeClip(*enc, 6);
    enc->force_keyframe();
    auto after = EncodeClip(*enc, 4, 6);
    REQUIRE(after.size() == 4);
    CHECK(after[0].frame.is_keyframe);
    CHECK(after[0].frame.layers.temporal_id == 0);
    CHECK(after[1].frame.layers.temporal_id == 2);
    CHECK(after[1].frame.layers.layer_sync);
    CHECK(after[2].frame.layers.temporal_id == 1);
  }
}

TEST_CASE("vp9 temporal layers follow the 0-1 and 0-2-1-2 patterns") {
  for (int layers : {2, 3}) {
    CAPTURE(layers);
    auto enc = MakeEncoder(Config(CodecType::kVp9, 500_kbps, layers));
    const auto clip = EncodeClip(*enc, 16);
    REQUIRE(clip.size() == 16);
    const int expected3[4] = {0, 2, 1, 2};
    int syncs = 0;
    for (const auto& e : clip) {
      CAPTURE(e.index);
      const int tid = layers == 2 ? e.index % 2 : expected3[e.index % 4];
      if (tid == 0) CHECK_FALSE(e.frame.layers.layer_sync);
      if (e.frame.layers.layer_sync) ++syncs;
      CHECK(e.frame.layers.picture_id == e.index);
      CHECK(e.frame.layers.temporal_id == tid);
      CHECK(e.frame.layers.spatial_id == 0);
      CHECK_FALSE(e.frame.layers.inter_layer_predicted);
      if (e.index > 0) {
        // Every delta frame references at least one earlier picture, never one of a higher layer.
        CHECK(e.frame.layers.num_ref_pics >= 1);
        for (int r = 0; r < e.frame.layers.num_ref_pics; ++r) {
          const int ref_index = e.index - e.frame.layers.p_diff[static_cast<std::size_t>(r)];
          REQUIRE(ref_index >= 0);
          const int ref_tid = layers == 2 ? ref_index % 2 : expected3[ref_index % 4];
          CHECK(ref_tid <= tid);
        }
      }
    }
    CHECK(syncs > 0);  // up-switch points exist for a receiver joining a higher layer
  }
}

TEST_CASE("dropping all enhancement-layer frames still decodes the base layer cleanly") {
  struct Case {
    CodecType codec;
    int layers;
    int keep_up_to;  // highest temporal id delivered to the decoder
  };
  for (const Case c : {Case{CodecType::kVp8, 2, 0}, Case{CodecType::kVp8, 3, 0}, Case{CodecType::kVp8, 3, 1},
                       Case{CodecType::kVp9, 2, 0}, Case{CodecType::kVp9, 3, 0}, Case{CodecType::kVp9, 3, 1}}) {
    const std::string name = codec_name(c.codec);
    CAPTURE(name);
    CAPTURE(c.layers);
    CAPTURE(c.keep_up_to);
    auto enc = MakeEncoder(Config(c.codec, 500_kbps, c.layers));
    auto dec = MakeDecoder(c.codec);
    const auto clip = EncodeClip(*enc, 24);
    int decoded = 0;
    for (const auto& e : clip) {
      if (e.frame.layers.temporal_id > c.keep_up_to) continue;
      auto d = dec->decode(e.frame);
      REQUIRE_MESSAGE(d.ok(), d.error());
      REQUIRE(d->has_value());
      CHECK(test::LumaPsnr(test::MovingPattern(kW, kH, e.index), **d) > 28.0);
      ++decoded;
    }
    CHECK(decoded >= 24 / (c.layers == 2 ? 2 : (c.keep_up_to == 0 ? 4 : 2)));
  }
}

TEST_CASE("vpx decoders reject garbage, truncation and missing keyframes without crashing") {
  for (CodecType codec : kVideoCodecs) {
    const std::string name = codec_name(codec);
    CAPTURE(name);
    auto enc = MakeEncoder(Config(codec));
    const auto clip = EncodeClip(*enc, 6);
    REQUIRE(clip.size() == 6);

    auto dec = MakeDecoder(codec);
    CHECK(dec->waiting_for_keyframe());
    CHECK_FALSE(dec->decode(std::span<const uint8_t>(), 0).ok());
    // A delta frame first: refused, the decoder keeps waiting.
    auto delta_first = dec->decode(clip[1].frame);
    CHECK_FALSE(delta_first.ok());
    CHECK(dec->waiting_for_keyframe());

    Random rng(99);
    for (int i = 0; i < 200; ++i) {
      std::vector<uint8_t> junk(static_cast<std::size_t>(rng.uniform_int(1, 3000)));
      for (auto& b : junk) b = static_cast<uint8_t>(rng.next_u32());
      auto r = dec->decode(junk, 0);
      CHECK_FALSE(r.ok());
    }
    // Garbage that looks like a keyframe header: first bytes of a real keyframe, rest random.
    for (int i = 0; i < 50; ++i) {
      std::vector<uint8_t> fake = clip[0].frame.data;
      for (std::size_t k = 12; k < fake.size(); ++k) fake[k] = static_cast<uint8_t>(rng.next_u32());
      auto r = dec->decode(fake, 0);
      if (r.ok() && r->has_value()) CHECK((*r)->width == kW);
    }
    // Truncated frames: errors or (rarely) a damaged picture, never a crash.
    auto fresh = MakeDecoder(codec);
    for (std::size_t len : {std::size_t{1}, std::size_t{3}, std::size_t{10}, clip[0].frame.data.size() / 2}) {
      std::vector<uint8_t> cut(clip[0].frame.data.begin(), clip[0].frame.data.begin() + static_cast<std::ptrdiff_t>(len));
      auto r = fresh->decode(cut, 0);
      if (len < 10) CHECK_FALSE(r.ok());
    }
    // A real keyframe brings a decoder back; the stream then decodes normally.
    auto good = MakeDecoder(codec);
    for (const auto& e : clip) {
      auto r = good->decode(e.frame);
      REQUIRE_MESSAGE(r.ok(), r.error());
    }
    CHECK_FALSE(good->waiting_for_keyframe());
    // Garbage in the middle of a stream: error, then the decoder waits for a keyframe again.
    std::vector<uint8_t> junk(500, 0xA5);
    junk[0] = 0x01;  // VP8: an inter frame tag; VP9: a frame marker it will reject
    (void)good->decode(junk, 0);
    auto again = good->decode(clip[0].frame);
    CHECK(again.ok());
  }
}

TEST_CASE("video encoders reject invalid configurations and mismatched frames") {
  auto bad = [](CodecType codec, auto mutate) {
    VideoEncoderConfig c = Config(codec);
    mutate(c);
    return !CreateVideoEncoder(c).ok();
  };
  for (CodecType codec : kVideoCodecs) {
    const std::string name = codec_name(codec);
    CAPTURE(name);
    CHECK(bad(codec, [](VideoEncoderConfig& c) { c.width = 0; }));
    CHECK(bad(codec, [](VideoEncoderConfig& c) { c.height = 20000; }));
    CHECK(bad(codec, [](VideoEncoderConfig& c) { c.start_bitrate = 1_kbps; }));
    CHECK(bad(codec, [](VideoEncoderConfig& c) { c.max_framerate = 0; }));
    CHECK(bad(codec, [](VideoEncoderConfig& c) { c.num_temporal_layers = 4; }));
    CHECK(bad(codec, [](VideoEncoderConfig& c) { c.num_temporal_layers = 0; }));
    CHECK(bad(codec, [](VideoEncoderConfig& c) { c.threads = 0; }));
    CHECK(bad(codec, [](VideoEncoderConfig& c) { c.cpu_used = 17; }));
    CHECK(bad(codec, [](VideoEncoderConfig& c) { c.min_qp = 40, c.max_qp = 30; }));
    CHECK(bad(codec, [](VideoEncoderConfig& c) { c.frame_drop_threshold = 101; }));
    CHECK(bad(codec, [](VideoEncoderConfig& c) { c.keyframe_interval = 0; }));
  }
  CHECK(bad(CodecType::kVp9, [](VideoEncoderConfig& c) { c.cpu_used = 10; }));
  CHECK(bad(CodecType::kOpus, [](VideoEncoderConfig&) {}));
  CHECK_FALSE(Vp8Encoder::Create(Config(CodecType::kVp9)).ok());
  CHECK_FALSE(Vp9Encoder::Create(Config(CodecType::kVp8)).ok());
  CHECK_FALSE(CreateVideoDecoder(VideoDecoderConfig{CodecType::kOpus, 1}).ok());
  CHECK_FALSE(VpxDecoder::Create(VideoDecoderConfig{CodecType::kVp8, 0}).ok());

  auto enc = MakeEncoder(Config(CodecType::kVp8));
  CHECK_FALSE(enc->encode(test::MovingPattern(160, 120, 0)).ok());
  VideoFrame broken = test::MovingPattern(kW, kH, 0);
  broken.u.resize(10);
  CHECK_FALSE(enc->encode(broken).ok());
}

TEST_CASE("vpx encoder accepts padded strides") {
  auto enc = MakeEncoder(Config(CodecType::kVp8));
  auto dec = MakeDecoder(CodecType::kVp8);
  const VideoFrame tight = test::MovingPattern(kW, kH, 3);
  VideoFrame padded = tight;
  padded.stride_y = kW + 32;
  padded.stride_u = padded.stride_v = kW / 2 + 16;
  padded.y.assign(static_cast<std::size_t>(padded.stride_y * kH), 0);
  padded.u.assign(static_cast<std::size_t>(padded.stride_u * kH / 2), 0);
  padded.v.assign(padded.u.size(), 0);
  for (int y = 0; y < kH; ++y) {
    for (int x = 0; x < kW; ++x) padded.y[static_cast<std::size_t>(y * padded.stride_y + x)] = tight.y[static_cast<std::size_t>(y * kW + x)];
  }
  for (int y = 0; y < kH / 2; ++y) {
    for (int x = 0; x < kW / 2; ++x) {
      padded.u[static_cast<std::size_t>(y * padded.stride_u + x)] = tight.u[static_cast<std::size_t>(y * kW / 2 + x)];
      padded.v[static_cast<std::size_t>(y * padded.stride_v + x)] = tight.v[static_cast<std::size_t>(y * kW / 2 + x)];
    }
  }
  auto r = enc->encode(padded);
  REQUIRE(r.ok());
  REQUIRE(r->has_value());
  auto d = dec->decode(**r);
  REQUIRE(d.ok());
  REQUIRE(d->has_value());
  CHECK(test::LumaPsnr(tight, **d) > 25.0);
}
