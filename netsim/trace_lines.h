// Internal helpers shared by the trace parsers: a bounded line walker and non-throwing number
// parsing over std::string_view. Not part of the public API.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "tern/core/result.h"

namespace tern::netsim::trace_internal {

// Walks the lines of a text, one per next() call; handles "\n" and "\r\n", strips '#' comments
// and surrounding blanks. Empty (or comment-only) lines are returned as empty views.
class LineWalker {
 public:
  explicit LineWalker(std::string_view text) : text_(text) {}

  // The next line (stripped), or nullopt at the end of the text. line_number() is 1-based.
  std::optional<std::string_view> next() {
    if (pos_ >= text_.size()) return std::nullopt;
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    std::string_view line = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    ++line_number_;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    return strip(line);
  }
  size_t line_number() const { return line_number_; }

  static std::string_view strip(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
  }
  static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t line_number_ = 0;
};

// Splits off the first blank-separated token of `s` (which must be stripped); `s` keeps the rest.
inline std::string_view take_token(std::string_view& s) {
  size_t n = 0;
  while (n < s.size() && !LineWalker::is_blank(s[n])) ++n;
  std::string_view tok = s.substr(0, n);
  s = LineWalker::strip(s.substr(n));
  return tok;
}

// A whole token as a non-negative integer; nullopt on any other character or overflow.
inline std::optional<int64_t> parse_int(std::string_view tok) {
  if (tok.empty()) return std::nullopt;
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
  if (ec != std::errc() || ptr != tok.data() + tok.size() || v < 0) return std::nullopt;
  return v;
}

// A whole token as a finite non-negative decimal number ("12", "0.5"); nullopt otherwise.
// Hand-written so that no locale, exception or libc++/libstdc++ difference is involved.
inline std::optional<double> parse_decimal(std::string_view tok) {
  if (tok.empty()) return std::nullopt;
  double v = 0.0;
  size_t i = 0;
  bool digits = false;
  for (; i < tok.size() && tok[i] >= '0' && tok[i] <= '9'; ++i) {
    v = v * 10.0 + (tok[i] - '0');
    digits = true;
    if (v > 1e15) return std::nullopt;
  }
  if (i < tok.size() && tok[i] == '.') {
    ++i;
    double scale = 0.1;
    for (; i < tok.size() && tok[i] >= '0' && tok[i] <= '9'; ++i) {
      v += (tok[i] - '0') * scale;
      scale *= 0.1;
      digits = true;
    }
  }
  if (!digits || i != tok.size()) return std::nullopt;
  return v;
}

// Runs `on_line(std::string_view)` on every non-empty stripped line; it returns nullptr or a static
// reason. Then returns `finish()` (a Result<T>). On failure *error_line (if given) receives the
// 1-based line at fault (the last line read when finish() fails).
template <typename T, typename OnLine, typename Finish>
Result<T> parse_lines(std::string_view text, size_t* error_line, OnLine&& on_line, Finish&& finish) {
  LineWalker lines(text);
  while (auto line = lines.next()) {
    if (line->empty()) continue;
    if (const char* reason = on_line(*line)) {
      if (error_line) *error_line = lines.line_number();
      return Error{reason};
    }
  }
  Result<T> result = finish();
  if (!result.ok() && error_line) *error_line = lines.line_number();
  return result;
}

}  // namespace tern::netsim::trace_internal
