// FecLossWatch: a keyframe is wanted once a lost media packet can no longer be rebuilt by FEC
// (several newer frames later), at most once until the keyframe arrives; lost FEC packets (ULPFEC
// shares the media numbering) are not mistaken for media.
#include "tern/recovery/fec_loss_watch.h"

#include <doctest/doctest.h>

#include <array>

using namespace tern;
using namespace tern::recovery;

namespace {

// Feeds frames of `per_frame` packets (3000 RTP ticks and 33 ms apart) starting at packet `seq`,
// skipping the sequence numbers in `lost`; returns how many keyframe requests were made.
struct FecWatchFeed {
  FecLossWatch& watch;
  uint16_t seq = 100;
  uint32_t ts = 9000;
  Timestamp now = Timestamp::Seconds(1);
  int requests = 0;
  void frames(int n, int per_frame, std::initializer_list<uint16_t> lost = {}) {
    for (int f = 0; f < n; ++f) {
      for (int p = 0; p < per_frame; ++p, ++seq) {
        bool skip = false;
        for (uint16_t l : lost) skip = skip || l == seq;
        if (!skip && watch.on_packet(seq, ts, p + 1 == per_frame, now)) ++requests;
      }
      ts += 3000;
      now = now + TimeDelta::Millis(33);
    }
  }
};

}  // namespace

TEST_CASE("fec loss watch: a repaired gap asks for nothing, a lost one for one keyframe") {
  FecLossWatch watch;
  FecWatchFeed feed{watch};
  feed.frames(3, 3);
  feed.frames(1, 3, {110});  // the middle packet of a frame goes missing...
  CHECK(watch.missing() == 1);
  CHECK(!watch.on_packet(110, feed.ts - 3000, false, feed.now));  // ...and FEC rebuilds it
  CHECK(watch.missing() == 0);
  feed.frames(8, 3);
  CHECK(feed.requests == 0);
  CHECK(watch.stats().recovered == 1);

  feed.frames(1, 3, {static_cast<uint16_t>(feed.seq + 1)});  // lost for good this time
  feed.frames(2, 3);
  CHECK(feed.requests == 0);  // its FEC group may still be in flight
  feed.frames(3, 3);
  CHECK(feed.requests == 1);  // 3 newer frames later: gone, ask at once
  CHECK(watch.stats().keyframe_requests == 1);
}

TEST_CASE("fec loss watch: rate-limited until the keyframe arrives or the hold passes") {
  FecLossWatch watch;
  FecWatchFeed feed{watch};
  feed.frames(2, 3);
  feed.frames(1, 3, {static_cast<uint16_t>(feed.seq + 1)});
  feed.frames(5, 3);
  REQUIRE(feed.requests == 1);
  // More losses while the keyframe is on its way (hold = max(300 ms, 2 x 100 ms + 200 ms)).
  feed.frames(1, 3, {static_cast<uint16_t>(feed.seq + 1)});
  feed.frames(5, 3);
  CHECK(feed.requests == 1);
  // The keyframe arrives: losses before it are moot, reports resume.
  watch.on_keyframe(feed.seq);
  CHECK(watch.missing() == 0);
  feed.frames(1, 3, {static_cast<uint16_t>(feed.seq + 1)});
  feed.frames(5, 3);
  CHECK(feed.requests == 2);
  // The keyframe never comes: a loss held back is reported once the hold has passed (~400 ms).
  feed.frames(1, 3, {static_cast<uint16_t>(feed.seq + 1)});
  feed.frames(5, 3);
  CHECK(feed.requests == 2);
  feed.frames(10, 3);
  CHECK(feed.requests == 3);
}

TEST_CASE("fec loss watch: with ULPFEC numbering a gap between frames needs FEC to name it media") {
  FecLossWatchConfig c;
  c.confirm_media = true;
  FecLossWatch watch(c);
  FecWatchFeed feed{watch};
  feed.frames(3, 3);
  // The number after a frame's marker packet is missing: a lost FEC packet, most likely.
  feed.seq = static_cast<uint16_t>(feed.seq + 1);
  feed.frames(8, 3);
  CHECK(feed.requests == 0);
  CHECK(watch.missing() == 0);  // dropped quietly once old
  // Same place, but a later FEC packet names it as protected media: lost media, a keyframe.
  const uint16_t gap = feed.seq;
  feed.seq = static_cast<uint16_t>(feed.seq + 1);
  feed.frames(1, 3);
  const std::array<uint16_t, 2> named{gap, static_cast<uint16_t>(gap + 1)};
  watch.on_fec_protects(named, static_cast<uint16_t>(gap + 2));
  feed.frames(4, 3);
  CHECK(feed.requests == 1);
  // Inside a frame (no marker before the gap) no confirmation is needed.
  watch.on_keyframe(feed.seq);
  feed.frames(1, 3, {static_cast<uint16_t>(feed.seq + 1)});
  feed.frames(5, 3);
  CHECK(feed.requests == 2);
}

TEST_CASE("fec loss watch: a jump beyond the list is one loss, bounded") {
  FecLossWatchConfig c;
  c.max_missing = 50;
  FecLossWatch watch(c);
  FecWatchFeed feed{watch};
  feed.frames(2, 3);
  feed.seq = static_cast<uint16_t>(feed.seq + 1000);
  feed.frames(1, 3);
  CHECK(feed.requests == 1);
  CHECK(watch.missing() == 0);
  // Sequence numbers wrap without false gaps.
  feed.seq = 65530;
  watch.on_keyframe(65530);
  feed.frames(10, 3);
  CHECK(watch.missing() <= 50);
}

TEST_CASE("fec loss watch: a gap its FEC group could not rebuild is reported at the next frame, not three later") {
  FecLossWatchConfig c;
  c.confirm_media = true;
  FecLossWatch watch(c);
  Timestamp now = Timestamp::Seconds(1);
  uint32_t ts = 9000;
  // Frame: media 100-102 (101 lost), then its group's two FEC packets 103 and 104, which name
  // 100-102 (ULPFEC numbering: they take the media's sequence numbers).
  CHECK(!watch.on_packet(100, ts, false, now));
  CHECK(!watch.on_packet(102, ts, true, now));
  const std::array<uint16_t, 3> group{100, 101, 102};
  for (uint16_t fec : {uint16_t{103}, uint16_t{104}}) {
    watch.on_fec_protects(group, fec);
    CHECK(!watch.on_packet(fec, ts, false, now, /*media=*/false));
  }
  CHECK(watch.missing() == 1);
  // The next frame's media: the group is over, but min_wait (50 ms, for reordering) is not.
  now += TimeDelta::Millis(33);
  ts += 3000;
  CHECK(!watch.on_packet(105, ts, false, now));
  CHECK(!watch.on_packet(106, ts, true, now));
  // The frame after: reported (the three-frame rule alone would wait for a third).
  now += TimeDelta::Millis(33);
  ts += 3000;
  CHECK(watch.on_packet(107, ts, true, now));
  CHECK(watch.stats().keyframe_requests == 1);
  CHECK(watch.stats().unrecoverable == 1);

  // Only media closes a group: the group's later FEC packets (past min_wait here) do not, and the
  // second one rebuilds the packet.
  watch.on_keyframe(108);
  now += TimeDelta::Seconds(1);
  ts += 3000;
  CHECK(!watch.on_packet(108, ts, false, now));
  CHECK(!watch.on_packet(110, ts, true, now));  // 109 lost
  const std::array<uint16_t, 3> group2{108, 109, 110};
  watch.on_fec_protects(group2, 111);
  CHECK(!watch.on_packet(111, ts, false, now, /*media=*/false));
  now += TimeDelta::Millis(60);
  CHECK(!watch.on_packet(111, ts, false, now, /*media=*/false));  // a duplicate FEC packet: not media
  watch.on_fec_protects(group2, 112);
  CHECK(!watch.on_packet(112, ts, false, now, /*media=*/false));
  CHECK(!watch.on_packet(109, ts, false, now));  // rebuilt by the second FEC packet
  ts += 3000;
  CHECK(!watch.on_packet(113, ts, true, now));
  CHECK(watch.missing() == 0);
  CHECK(watch.stats().keyframe_requests == 1);
  CHECK(watch.stats().recovered == 1);
}
