// Tests of SeqRewriter: offset across wrap-around, gaps and reordering kept, duplicates dropped,
// source switches continuing the output numbering.
#include "tern/core/seq_rewriter.h"

#include <doctest/doctest.h>

#include <optional>

using namespace tern;

TEST_CASE("seq rewriter: offset applied across the input's and the output's wrap-around") {
  SeqRewriter r(100);
  CHECK(r.rewrite(65530) == std::optional<uint16_t>(static_cast<uint16_t>(65530 + 100)));  // output wraps
  CHECK(r.rewrite(65535) == std::optional<uint16_t>(99));  // 65535 + 100 - 65536
  CHECK(r.rewrite(0) == std::optional<uint16_t>(100));                                    // input wraps
  CHECK(r.rewrite(1) == std::optional<uint16_t>(101));
  // Many wraps later the mapping still holds.
  uint16_t seq = 1;
  for (int i = 0; i < 200000; ++i) {
    ++seq;
    REQUIRE(r.rewrite(seq) == std::optional<uint16_t>(static_cast<uint16_t>(seq + 100)));
  }
}

TEST_CASE("seq rewriter: gaps and reordering pass through as they came") {
  SeqRewriter r(1000);
  CHECK(r.rewrite(10) == std::optional<uint16_t>(1010));
  CHECK(r.rewrite(13) == std::optional<uint16_t>(1013));  // 11, 12 lost: the gap stays visible
  CHECK(r.rewrite(11) == std::optional<uint16_t>(1011));  // late
  CHECK(r.rewrite(9) == std::optional<uint16_t>(1009));   // before the first
}

TEST_CASE("seq rewriter: duplicates are dropped, within the window only") {
  SeqRewriter r(7);
  CHECK(r.rewrite(500));
  CHECK(r.rewrite(501));
  CHECK_FALSE(r.rewrite(500));  // an RTX copy after its original
  CHECK_FALSE(r.rewrite(501));
  CHECK(r.rewrite(502) == std::optional<uint16_t>(509));
  // A first packet unwrapping to -1 (reordered across zero) is not mistaken for a duplicate.
  SeqRewriter z(0);
  CHECK(z.rewrite(0) == std::optional<uint16_t>(0));
  CHECK(z.rewrite(65535) == std::optional<uint16_t>(65535));
  // Past the window a number's slot was taken by a newer one: forwarded again.
  SeqRewriter w(0);
  CHECK(w.rewrite(1));
  for (uint16_t s = 2; s <= SeqRewriter::kWindow + 1; ++s) REQUIRE(w.rewrite(s));
  CHECK(w.rewrite(1));
}

TEST_CASE("seq rewriter: a source switch continues after the highest number sent") {
  SeqRewriter r(50);
  CHECK(r.rewrite(200) == std::optional<uint16_t>(250));
  CHECK(r.rewrite(202) == std::optional<uint16_t>(252));
  CHECK(r.rewrite(201) == std::optional<uint16_t>(251));
  r.switch_source();
  CHECK(r.rewrite(40000) == std::optional<uint16_t>(253));
  CHECK(r.rewrite(40001) == std::optional<uint16_t>(254));
  CHECK(r.rewrite(39999) == std::optional<uint16_t>(252));  // reordered before the switch point
  // The new source's numbers are not the old one's: 200 is new input now.
  r.switch_source();
  CHECK(r.rewrite(202) == std::optional<uint16_t>(255));
  CHECK_FALSE(r.rewrite(202));
  // A switch across the output's wrap-around.
  SeqRewriter w(65534);
  CHECK(w.rewrite(0) == std::optional<uint16_t>(65534));
  CHECK(w.rewrite(1) == std::optional<uint16_t>(65535));
  w.switch_source();
  CHECK(w.rewrite(777) == std::optional<uint16_t>(0));
  CHECK(w.rewrite(778) == std::optional<uint16_t>(1));
}

TEST_CASE("seq rewriter: dropped inputs leave no gap, their retransmissions are refused") {
  SeqRewriter r(500);
  CHECK(r.rewrite(10) == std::optional<uint16_t>(510));
  CHECK(r.drop(11));
  CHECK(r.drop(12));
  CHECK(r.rewrite(13) == std::optional<uint16_t>(511));  // contiguous after two dropped
  CHECK(r.rewrite(14) == std::optional<uint16_t>(512));
  CHECK_FALSE(r.rewrite(12).has_value());  // an RTX of a dropped packet: never forwarded
  CHECK_FALSE(r.drop(12));                 // seen already
  // A packet lost on the way in, before the drops, keeps the number it had: a NACKable hole.
  CHECK(r.rewrite(16) == std::optional<uint16_t>(514));
  CHECK(r.rewrite(15) == std::optional<uint16_t>(513));
  // A dropped frame whose middle packet was lost upstream: drop with the gap.
  CHECK(r.drop(17));
  CHECK(r.drop(19, true));  // 18 went with it
  CHECK(r.rewrite(20) == std::optional<uint16_t>(515));
  CHECK_FALSE(r.rewrite(18).has_value());  // its late retransmission is refused, as 19's would be
  CHECK(r.late_drops() == 0);
  // Dropping an input older than the newest seen leaves a hole (counted).
  CHECK(r.rewrite(22) == std::optional<uint16_t>(517));
  CHECK(r.drop(21));
  CHECK(r.late_drops() == 1);
  CHECK(r.rewrite(23) == std::optional<uint16_t>(518));
}

TEST_CASE("seq rewriter: drops across the wrap and a late packet before a drop keeps its old number") {
  SeqRewriter r(0);
  CHECK(r.rewrite(65534) == std::optional<uint16_t>(65534));
  CHECK(r.rewrite(0) == std::optional<uint16_t>(0));  // 65535 late
  CHECK(r.drop(1));
  CHECK(r.rewrite(2) == std::optional<uint16_t>(1));
  CHECK(r.rewrite(65535) == std::optional<uint16_t>(65535));  // before the drop: unchanged offset
  // Many drops: the output stays contiguous; the offset history stays bounded.
  uint16_t in = 2, out = 1;
  for (int i = 0; i < 3000; ++i) {
    ++in;
    REQUIRE(r.drop(in));
    ++in;
    ++out;
    REQUIRE(r.rewrite(in) == std::optional<uint16_t>(out));
  }
}
