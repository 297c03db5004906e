#include "tern/codecs/codec_type.h"

#include <array>

namespace tern::codecs {
namespace {

struct CodecNames {
  CodecType codec;
  const char* name;
  const char* encoding_name;
  const char* mime_type;
};

constexpr std::array<CodecNames, 3> kCodecs{{
    {CodecType::kOpus, "opus", "opus", "audio/opus"},
    {CodecType::kVp8, "vp8", "VP8", "video/VP8"},
    {CodecType::kVp9, "vp9", "VP9", "video/VP9"},
}};

const CodecNames& names(CodecType codec) {
  for (const CodecNames& c : kCodecs) {
    if (c.codec == codec) return c;
  }
  return kCodecs[0];  // unreachable: every enumerator has a row
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

bool is_video(CodecType codec) { return codec == CodecType::kVp8 || codec == CodecType::kVp9; }

const char* codec_name(std::optional<CodecType> codec) { return codec ? names(*codec).name : "none"; }

const char* encoding_name(CodecType codec) { return names(codec).encoding_name; }

const char* mime_type(CodecType codec) { return names(codec).mime_type; }

std::optional<CodecType> codec_from_name(std::string_view name) {
  for (const CodecNames& c : kCodecs) {
    if (equal_ignoring_case(name, c.name) || equal_ignoring_case(name, c.encoding_name)) return c.codec;
  }
  return std::nullopt;
}

}  // namespace tern::codecs
