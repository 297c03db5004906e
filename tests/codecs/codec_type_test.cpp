// The one codec enum's names: tern's tokens, RTP payload format names, MIME types, and parsing back.
#include "tern/codecs/codec_type.h"

#include <doctest/doctest.h>

#include <string>

using namespace tern::codecs;

TEST_CASE("codec names round-trip through codec_from_name in either spelling") {
  for (CodecType c : {CodecType::kOpus, CodecType::kVp8, CodecType::kVp9}) {
    CAPTURE(codec_name(c));
    CHECK(codec_from_name(codec_name(c)) == c);
    CHECK(codec_from_name(encoding_name(c)) == c);
  }
  CHECK(std::string(codec_name(CodecType::kVp8)) == "vp8");
  CHECK(std::string(encoding_name(CodecType::kVp9)) == "VP9");
  CHECK(std::string(encoding_name(CodecType::kOpus)) == "opus");
  CHECK(std::string(mime_type(CodecType::kVp8)) == "video/VP8");
  CHECK(std::string(mime_type(CodecType::kOpus)) == "audio/opus");
  CHECK(codec_from_name("Vp9") == CodecType::kVp9);  // media subtypes are case-insensitive
  CHECK(codec_from_name("OPUS") == CodecType::kOpus);
}

TEST_CASE("no codec is nullopt, spelled none") {
  CHECK(std::string(codec_name(std::nullopt)) == "none");
  CHECK_FALSE(codec_from_name("none").has_value());
  CHECK_FALSE(codec_from_name("").has_value());
  CHECK_FALSE(codec_from_name("h264").has_value());
  CHECK_FALSE(codec_from_name("vp").has_value());
  CHECK_FALSE(codec_from_name("vp80").has_value());
}

TEST_CASE("codec kinds") {
  CHECK(is_video(CodecType::kVp8));
  CHECK(is_video(CodecType::kVp9));
  CHECK_FALSE(is_video(CodecType::kOpus));
}
