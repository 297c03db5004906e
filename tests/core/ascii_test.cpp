#include "tern/core/ascii.h"

#include <doctest/doctest.h>

namespace tern {

TEST_CASE("ascii_iequals folds A-Z only") {
  CHECK(ascii_iequals("Content-Type", "content-type"));
  CHECK(ascii_iequals("ULPFEC", "ulpfec"));
  CHECK(ascii_iequals("", ""));
  CHECK_FALSE(ascii_iequals("red", "reds"));
  CHECK_FALSE(ascii_iequals("rtx", "rtz"));
  // Bytes outside A-Z compare exactly: '@' (0x40) and '`' (0x60) differ only by the case bit, as do
  // '[' and '{'; a fold by OR-ing 0x20 would take them for equal.
  CHECK_FALSE(ascii_iequals("@", "`"));
  CHECK_FALSE(ascii_iequals("[", "{"));
  // No locale: bytes above 0x7F are not folded.
  CHECK_FALSE(ascii_iequals("\xC9", "\xE9"));
  static_assert(ascii_iequals("ActPass", "actpass"));
  static_assert(ascii_lower('Z') == 'z' && ascii_lower('z') == 'z' && ascii_lower('0') == '0');
}

}  // namespace tern
