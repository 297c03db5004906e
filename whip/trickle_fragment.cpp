#include "tern/whip/trickle_fragment.h"

namespace tern::whip {
namespace {

bool is_ice_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

bool valid_ice_string(std::string_view s, size_t min_len, size_t max_len) {
  if (s.size() < min_len || s.size() > max_len) return false;
  for (char c : s) {
    if (!is_ice_char(c)) return false;
  }
  return true;
}

bool is_token(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.' || c == '+' || c == '~' || c == '!' || c == '#' || c == '$' ||
              c == '%' || c == '&' || c == '\'' || c == '*' || c == '^' || c == '`' || c == '|';
    if (!ok) return false;
  }
  return true;
}

// Splits on single spaces into at most `max` words; false if there are more or an empty word.
bool split_words(std::string_view s, std::vector<std::string>& out, size_t max) {
  out.clear();
  while (!s.empty()) {
    size_t space = s.find(' ');
    std::string_view word = s.substr(0, space);
    if (word.empty() || out.size() == max) return false;
    out.emplace_back(word);
    if (space == std::string_view::npos) break;
    s.remove_prefix(space + 1);
    if (s.empty()) return false;  // trailing space
  }
  return true;
}

}  // namespace

Result<IceFragment> IceFragment::parse(std::string_view text) {
  if (text.size() > kMaxSize) return Error{"ICE fragment larger than 16 KiB"};
  IceFragment fragment;
  size_t candidates = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.size() > kMaxLineLength) return Error{"ICE fragment line too long"};
    if (line.size() < 2 || line[1] != '=') return Error{"ICE fragment line is not <type>=<value>"};
    std::string_view value = line.substr(2);
    if (line[0] == 'm') {
      if (fragment.media.size() == kMaxMedia) return Error{"too many media sections in ICE fragment"};
      std::string_view kind = value.substr(0, value.find(' '));
      if (!is_token(kind)) return Error{"malformed m= line in ICE fragment"};
      fragment.media.push_back(FragmentMedia{std::string(kind), "", {}, false});
      continue;
    }
    if (line[0] != 'a') return Error{"ICE fragment holds a line other than a= or m="};
    size_t colon = value.find(':');
    std::string_view name = value.substr(0, colon);
    std::string_view arg = colon == std::string_view::npos ? std::string_view() : value.substr(colon + 1);
    FragmentMedia* section = fragment.media.empty() ? nullptr : &fragment.media.back();
    if (name == "ice-ufrag") {
      if (!valid_ice_string(arg, 4, 256)) return Error{"malformed a=ice-ufrag in ICE fragment"};
      if (fragment.ufrag && *fragment.ufrag != arg) return Error{"conflicting a=ice-ufrag values in ICE fragment"};
      fragment.ufrag = std::string(arg);
    } else if (name == "ice-pwd") {
      if (!valid_ice_string(arg, 22, 256)) return Error{"malformed a=ice-pwd in ICE fragment"};
      if (fragment.pwd && *fragment.pwd != arg) return Error{"conflicting a=ice-pwd values in ICE fragment"};
      fragment.pwd = std::string(arg);
    } else if (name == "ice-options") {
      if (!split_words(arg, fragment.ice_options, 16)) return Error{"malformed a=ice-options in ICE fragment"};
      for (const auto& option : fragment.ice_options) {
        if (!is_token(option)) return Error{"malformed a=ice-options in ICE fragment"};
      }
    } else if (name == "group") {
      std::vector<std::string> words;
      if (!split_words(arg, words, kMaxMedia + 1) || words.empty()) return Error{"malformed a=group in ICE fragment"};
      if (words.front() == "BUNDLE") fragment.bundle_mids.assign(words.begin() + 1, words.end());
    } else if (name == "mid") {
      if (!section) return Error{"a=mid outside a media section in ICE fragment"};
      if (!section->mid.empty()) return Error{"two a=mid in one media section of ICE fragment"};
      if (!is_token(arg)) return Error{"malformed a=mid in ICE fragment"};
      section->mid = std::string(arg);
    } else if (name == "candidate") {
      if (!section) return Error{"a=candidate outside a media section in ICE fragment"};
      if (candidates == kMaxCandidates) return Error{"too many candidates in ICE fragment"};
      auto candidate = sdp::SdpCandidate::parse(arg);
      if (!candidate.ok()) return Error{candidate.error()};
      section->candidates.push_back(std::move(candidate).value());
      ++candidates;
    } else if (name == "end-of-candidates") {
      if (!section) return Error{"a=end-of-candidates outside a media section in ICE fragment"};
      section->end_of_candidates = true;
    } else {
      ++fragment.ignored_attributes;
    }
  }
  for (const auto& section : fragment.media) {
    if (section.mid.empty()) return Error{"media section without a=mid in ICE fragment"};
  }
  return fragment;
}

std::string IceFragment::to_string() const {
  std::string out;
  if (!ice_options.empty()) {
    out += "a=ice-options:";
    for (size_t i = 0; i < ice_options.size(); ++i) out += (i ? " " : "") + ice_options[i];
    out += "\r\n";
  }
  if (!bundle_mids.empty()) {
    out += "a=group:BUNDLE";
    for (const auto& mid : bundle_mids) out += " " + mid;
    out += "\r\n";
  }
  if (ufrag) out += "a=ice-ufrag:" + *ufrag + "\r\n";
  if (pwd) out += "a=ice-pwd:" + *pwd + "\r\n";
  for (const auto& section : media) {
    out += "m=" + section.kind + " 9 UDP/TLS/RTP/SAVPF 0\r\n";
    out += "a=mid:" + section.mid + "\r\n";
    for (const auto& candidate : section.candidates) out += "a=candidate:" + candidate.to_value() + "\r\n";
    if (section.end_of_candidates) out += "a=end-of-candidates\r\n";
  }
  return out;
}

size_t IceFragment::candidate_count() const {
  size_t n = 0;
  for (const auto& section : media) n += section.candidates.size();
  return n;
}

}  // namespace tern::whip
