// LibvpxEncoder::set_resolution: a new libvpx context at the new size (fresh rate control, as
// libwebrtc re-initialises on a resolution change); down and back up to the size it was created
// with, never beyond; every size starts with a keyframe and the stream decodes across the changes.
#include <doctest/doctest.h>

#include <string>

#include "codecs/codec_test_util.h"
#include "tern/codecs/codec_factory.h"

using namespace tern;
using namespace tern::codecs;
using namespace tern::unit_literals;

TEST_CASE("vpx resolution changes re-initialise the encoder and decode across them") {
  for (CodecType codec : {CodecType::kVp8, CodecType::kVp9}) {
    const std::string name = codec_name(codec);
    CAPTURE(name);
    VideoEncoderConfig c;
    c.codec = codec;
    c.width = 320;
    c.height = 240;
    c.start_bitrate = 400_kbps;
    c.frame_drop_threshold = 0;
    auto created = CreateVideoEncoder(c);
    REQUIRE(created.ok());
    std::unique_ptr<VideoEncoder> enc = std::move(created).value();
    auto dec_made = CreateVideoDecoder(VideoDecoderConfig{codec, 1});
    REQUIRE(dec_made.ok());
    std::unique_ptr<VideoDecoder> dec = std::move(dec_made).value();
    int index = 0;
    const int sizes[][2] = {{320, 240}, {160, 120}, {240, 180}, {320, 240}};
    for (const auto& size : sizes) {
      REQUIRE(enc->set_resolution(size[0], size[1]).ok());
      CHECK(enc->config().width == size[0]);
      CHECK(enc->config().start_bitrate == 400_kbps);  // the rate survives the new context
      for (int i = 0; i < 10; ++i, ++index) {
        auto r = enc->encode(test::MovingPattern(size[0], size[1], index));
        REQUIRE(r.ok());
        REQUIRE(r->has_value());
        const EncodedFrame& f = **r;
        CHECK(f.width == size[0]);
        CHECK(f.is_keyframe == (i == 0));
        auto d = dec->decode(f.data, f.rtp_timestamp);
        REQUIRE(d.ok());
        REQUIRE(d->has_value());
        CHECK((*d)->width == size[0]);
        CHECK((*d)->height == size[1]);
      }
    }
    CHECK_FALSE(enc->set_resolution(640, 480).ok());  // beyond the size it was created with
    CHECK(enc->config().width == 320);
    auto r = enc->encode(test::MovingPattern(320, 240, index));
    CHECK(r.ok());
  }
}
