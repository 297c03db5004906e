// ASCII case folding for protocol tokens (SDP encoding names, HTTP header names, DTLS setup roles):
// locale-free, as the RFCs that define those tokens compare them.
#pragma once

#include <string_view>

namespace tern {

constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// True when a and b are equal ignoring ASCII case (bytes outside A-Z compare exactly).
constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace tern
