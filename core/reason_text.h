// Error reasons that name runtime values. Result/Status carry `const char*` reasons of static
// storage (result.h); a reason built at run time (an address, the system's errno text, a length)
// is made lasting by lasting_reason(), and input echoed in a reason goes through printable() so
// that a stray control character (a CR from an SDP, an escape sequence) never reaches a terminal.
#pragma once

#include <string>
#include <string_view>

namespace tern {

// Stores `text` for the life of the process and returns it (the same pointer for the same text).
// Bounded: once kMaxLastingReasons distinct texts are stored, returns `fallback` (which must be a
// static string) instead. Thread-safe.
inline constexpr size_t kMaxLastingReasons = 4096;
const char* lasting_reason(std::string_view text, const char* fallback);

// `text` with every byte outside printable ASCII (0x20..0x7E) and every backslash escaped as
// \r, \n, \t, \\ or \xNN.
std::string printable(std::string_view text);

}  // namespace tern
