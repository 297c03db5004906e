#include "tern/core/reason_text.h"

#include <mutex>
#include <set>

namespace tern {

const char* lasting_reason(std::string_view text, const char* fallback) {
  // std::set nodes never move, so c_str() of a stored element stays valid for the process.
  static std::mutex mutex;
  static std::set<std::string, std::less<>> reasons;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = reasons.find(text);
  if (it != reasons.end()) return it->c_str();
  if (reasons.size() >= kMaxLastingReasons) return fallback;
  return reasons.emplace(text).first->c_str();
}

std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c > 0x7E) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace tern
