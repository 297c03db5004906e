#include "tern/recovery/protection_policy.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace tern;
using namespace tern::recovery;

TEST_CASE("protection policy: NACK only at short RTT, FEC joins as RTT and loss grow") {
  auto p = ProtectionPolicy::Create({});
  REQUIRE(p.ok());
  auto d = p->decide(TimeDelta::Millis(20), 0.10);
  CHECK(d.use_nack);
  CHECK(!d.use_fec);
  d = p->decide(TimeDelta::Millis(80), 0.005);  // too little loss to pay for FEC
  CHECK(d.use_nack);
  CHECK(!d.use_fec);
  d = p->decide(TimeDelta::Millis(80), 0.02);
  CHECK(d.use_fec);
  CHECK(d.fec_rate == 10);  // 255 * 0.02 * 2
  CHECK(d.key_fec_rate == 64);
  CHECK(d.max_frames == 1);  // beside NACK a group closes with its frame
  const auto low = p->decide(TimeDelta::Millis(80), 0.10);
  const auto high = p->decide(TimeDelta::Millis(200), 0.10);
  CHECK(high.fec_rate > low.fec_rate);
  CHECK(low.max_frames == 1);
  CHECK(high.key_fec_rate >= high.fec_rate);
  CHECK(p->decide(TimeDelta::Millis(300), 0.9).fec_rate == 128);  // capped
  CHECK(p->decide(TimeDelta::Millis(300), 0.1, true).mask_type == FecMaskType::kBursty);
}

TEST_CASE("protection policy: switchable off, per tool, and validated") {
  ProtectionPolicy::Config c;
  c.enabled = false;
  auto off = ProtectionPolicy::Create(c);
  REQUIRE(off.ok());
  auto d = off->decide(TimeDelta::Millis(300), 0.2);
  CHECK(!d.use_nack);
  CHECK(!d.use_fec);
  c = ProtectionPolicy::Config{};
  c.allow_fec = false;
  auto no_fec = ProtectionPolicy::Create(c);
  d = no_fec->decide(TimeDelta::Millis(300), 0.2);
  CHECK(d.use_nack);
  CHECK(!d.use_fec);
  c = ProtectionPolicy::Config{};
  c.min_fec_loss = 2.0;
  CHECK(!ProtectionPolicy::Create(c).ok());
  c = ProtectionPolicy::Config{};
  c.nack_only_rtt = TimeDelta::Millis(-1);
  CHECK(!ProtectionPolicy::Create(c).ok());
  // Garbage loss values are clamped, never UB.
  auto p = ProtectionPolicy::Create({});
  CHECK(p->decide(TimeDelta::Millis(100), -3.0).fec_rate == 0);
  CHECK(p->decide(TimeDelta::Millis(100), std::nan("")).fec_rate == 0);
}

TEST_CASE("protection policy: FEC alone (no NACK) follows reported loss at any RTT, keyframes more") {
  ProtectionPolicy::Config c;
  c.allow_nack = false;
  c.nack_only_rtt = TimeDelta::Zero();
  auto p = ProtectionPolicy::Create(c);
  REQUIRE(p.ok());
  auto d = p->decide(TimeDelta::Millis(20), 0.0);
  CHECK(!d.use_nack);
  CHECK(!d.use_fec);
  d = p->decide(TimeDelta::Millis(20), 0.03);
  CHECK(d.use_fec);
  CHECK(d.fec_rate == 31);  // 255 x 0.03 x 4: twice what NACK + FEC would use
  CHECK(d.key_fec_rate == 64);
  const auto more = p->decide(TimeDelta::Millis(20), 0.08);
  CHECK(more.fec_rate == 82);
  CHECK(more.key_fec_rate == 164);
  CHECK(more.max_frames == 1);
  // The level comes back down with the loss.
  CHECK(p->decide(TimeDelta::Millis(20), 0.015).fec_rate == 15);
}

TEST_CASE("protection policy: beside NACK no FEC for a stream under two packets a frame") {
  auto p = ProtectionPolicy::Create({});
  REQUIRE(p.ok());
  StreamFigures big;  // 1.6 Mbps at 30 fps: ~6.7 kB a frame
  big.media_rate = DataRate::KilobitsPerSec(1600);
  auto d = p->decide(TimeDelta::Millis(120), 0.02, false, &big);
  CHECK(d.use_fec);
  CHECK(d.max_frames == 1);
  StreamFigures small;  // 150 kbps at 20 fps: ~940 B a frame, one packet
  small.media_rate = DataRate::KilobitsPerSec(150);
  small.fps = 20;
  CHECK(p->too_small_for_fec(small));
  d = p->decide(TimeDelta::Millis(120), 0.02, false, &small);
  CHECK(d.use_nack);
  CHECK(!d.use_fec);
  // From high_rtt on a retransmission comes after the jitter buffer gave the frame up: FEC then.
  CHECK(!p->decide(TimeDelta::Millis(149), 0.02, false, &small).use_fec);
  const auto far = p->decide(TimeDelta::Millis(400), 0.02, false, &small);
  CHECK(far.use_fec);
  CHECK(fec_packet_count(1, far.fec_rate) == 1);
  // Two full packets a frame are enough (300 kbps at 15 fps: 2.5 kB).
  StreamFigures two;
  two.media_rate = DataRate::KilobitsPerSec(300);
  two.fps = 15;
  CHECK(!p->too_small_for_fec(two));
  CHECK(p->decide(TimeDelta::Millis(120), 0.02, false, &two).use_fec);
  // Without NACK FEC is the only repair: never left out for size.
  ProtectionPolicy::Config c;
  c.allow_nack = false;
  auto fec_only = ProtectionPolicy::Create(c);
  REQUIRE(fec_only.ok());
  CHECK(fec_only->decide(TimeDelta::Millis(120), 0.02, false, &small).use_fec);
}

TEST_CASE("protection policy: rule 5 judges media + FEC, and FEC on stays on down to 1.5 packets a frame") {
  auto p = ProtectionPolicy::Create({});
  REQUIRE(p.ok());
  const TimeDelta rtt = TimeDelta::Millis(130);
  // 560 kbps of media at 30 fps: 2333 B a frame, under two packets (2400 B): no FEC.
  StreamFigures s;
  s.media_rate = DataRate::KilobitsPerSec(560);
  CHECK(!p->decide(rtt, 0.08, true, &s).use_fec);
  // 700 kbps: on. When the target dips, 480 kbps of media plus 80 of FEC count together (2333 B
  // a frame, over the 1800 B to stay on); judged on the media alone (2000 B) FEC went off, the
  // media got its share back and turned it on at the next figure, and so on.
  s.media_rate = DataRate::KilobitsPerSec(700);
  CHECK(p->decide(rtt, 0.08, true, &s).use_fec);
  s.fec_on = true;
  s.media_rate = DataRate::KilobitsPerSec(480);
  s.fec_rate = DataRate::KilobitsPerSec(80);
  CHECK(p->decide(rtt, 0.08, true, &s).use_fec);
  // Once on, it stays down to 1.5 packets a frame (1800 B: 432 kbps at 30 fps with its FEC) ...
  s.media_rate = DataRate::KilobitsPerSec(380);
  s.fec_rate = DataRate::KilobitsPerSec(60);
  CHECK(p->decide(rtt, 0.08, true, &s).use_fec);
  // ... and goes off below.
  s.media_rate = DataRate::KilobitsPerSec(350);
  s.fec_rate = DataRate::KilobitsPerSec(60);
  CHECK(!p->decide(rtt, 0.08, true, &s).use_fec);
  // The same 380 + 60 kbps with FEC off does not turn it on (1833 B < 2400 B).
  s.fec_on = false;
  s.media_rate = DataRate::KilobitsPerSec(380);
  CHECK(!p->decide(rtt, 0.08, true, &s).use_fec);
  ProtectionPolicy::Config c;
  c.min_fec_packets_per_frame_on = 2.5;  // above min_fec_packets_per_frame
  CHECK(!ProtectionPolicy::Create(c).ok());
}

TEST_CASE("protection policy: at high RTT enough FEC packets a frame that few frames wait for NACK") {
  auto p = ProtectionPolicy::Create({});
  REQUIRE(p.ok());
  StreamFigures s;  // 1.5 Mbps at 30 fps: 6.25 kB, 6 packets a frame
  s.media_rate = DataRate::KilobitsPerSec(1500);
  const auto residual = [](size_t k, size_t m, double loss) {
    return residual_group_loss(k, m, unrecoverable_patterns(k, m, FecMaskType::kRandom), loss);
  };
  // Under high_rtt rule 2 alone: 255 x 2% x 2 = 10, one FEC packet for 6, one frame a group.
  const auto near = p->decide(TimeDelta::Millis(120), 0.02, false, &s);
  CHECK(near.fec_rate == 10);
  CHECK(near.max_frames == 1);
  CHECK(fec_packet_count(6, near.fec_rate) == 1);
  // At 240 ms a packet FEC misses costs a round trip. One-frame groups would need 4 FEC packets
  // for 6 (3 leave 0.09% of groups with a packet lost, over the 0.05% rule 6 allows): 67%, over
  // max_fec_rate. Two-frame groups need 5 for 12 (42%): 0.014% of frames, where 4 leave 0.05%
  // a frame. Rule 6 takes the two-frame groups.
  CHECK(residual(6, 3, 0.02) > 0.0005);
  CHECK(residual(12, 4, 0.02) > 2 * 0.0005);
  CHECK(residual(12, 5, 0.02) <= 2 * 0.0005);
  const auto far = p->decide(TimeDelta::Millis(240), 0.02, false, &s);
  CHECK(far.max_frames == 2);
  CHECK(fec_packet_count(12, far.fec_rate) == 5);
  CHECK(far.fec_rate <= 128);
  // More loss: no length meets the goal within max_fec_rate, so the one that fails least at it
  // (two frames: 6 of 12 packets leave 0.27% of frames, against 1.06% for 3 of 6).
  const auto lossy = p->decide(TimeDelta::Millis(240), 0.06, false, &s);
  CHECK(lossy.fec_rate == 128);
  CHECK(lossy.max_frames == 2);
  CHECK(residual(12, 6, 0.06) / 2 < residual(6, 3, 0.06));
  // Rule 2's figure when it is the larger: 30% x 3 over the cap; 128.
  CHECK(p->decide(TimeDelta::Millis(240), 0.30, false, &s).fec_rate == 128);
  // Without the stream's figures rule 6 cannot count packets: rule 2 alone.
  const auto blind = p->decide(TimeDelta::Millis(240), 0.02, false);
  CHECK(blind.fec_rate == 15);
  CHECK(blind.max_frames == 1);
  // One-frame groups only: 4 of 6 is over the cap, so 3 of 6 (128).
  ProtectionPolicy::Config one;
  one.max_group_frames = 1;
  auto q = ProtectionPolicy::Create(one);
  REQUIRE(q.ok());
  const auto single = q->decide(TimeDelta::Millis(240), 0.02, false, &s);
  CHECK(single.max_frames == 1);
  CHECK(fec_packet_count(6, single.fec_rate) == 3);
  // At 1% one frame needs 3 of 6 (2 leave 0.07% of groups); two frames need 3 of 12 (0.049% a
  // frame), half the overhead.
  CHECK(fec_packet_count(6, q->decide(TimeDelta::Millis(240), 0.01, false, &s).fec_rate) == 3);
  const auto light = p->decide(TimeDelta::Millis(240), 0.01, false, &s);
  CHECK(light.max_frames == 2);
  CHECK(fec_packet_count(12, light.fec_rate) == 3);
  // Frames over 32 packets (12 Mbps at 30 fps: 42) are not judged: max_fec_rate, one frame.
  StreamFigures big;
  big.media_rate = DataRate::KilobitsPerSec(12000);
  const auto huge = p->decide(TimeDelta::Millis(240), 0.02, false, &big);
  CHECK(huge.fec_rate == 128);
  CHECK(huge.max_frames == 1);
  ProtectionPolicy::Config none;
  none.max_group_frames = 0;
  CHECK(!ProtectionPolicy::Create(none).ok());
}

TEST_CASE("protection policy: rules 5 and 6 judge the path by its least RTT when given") {
  auto p = ProtectionPolicy::Create({});
  REQUIRE(p.ok());
  StreamFigures small;  // 150 kbps at 20 fps: one packet a frame
  small.media_rate = DataRate::KilobitsPerSec(150);
  small.fps = 20;
  // 400 ms now, but the path itself is 60 ms: the rest is a queue the call built (a start-up burst
  // on a narrow link); a retransmission is not hopeless and FEC would only take video's rate.
  small.base_rtt = TimeDelta::Millis(60);
  CHECK(!p->decide(TimeDelta::Millis(400), 0.02, false, &small).use_fec);
  small.base_rtt = TimeDelta::Millis(200);
  CHECK(p->decide(TimeDelta::Millis(400), 0.02, false, &small).use_fec);
  StreamFigures s;  // 6 packets a frame
  s.media_rate = DataRate::KilobitsPerSec(1500);
  s.base_rtt = TimeDelta::Millis(60);
  CHECK(fec_packet_count(6, p->decide(TimeDelta::Millis(240), 0.02, false, &s).fec_rate) == 1);  // rule 2 alone
  s.base_rtt = TimeDelta::Millis(200);
  const ProtectionDecision far = p->decide(TimeDelta::Millis(240), 0.02, false, &s);
  CHECK(far.max_frames == 2);
  CHECK(fec_packet_count(12, far.fec_rate) == 5);  // rule 6
}

TEST_CASE("protection policy: FEC once on stays on down to fec_off_loss (rule 7), then goes off") {
  auto p = ProtectionPolicy::Create({});
  REQUIRE(p.ok());
  StreamFigures s;
  s.media_rate = DataRate::KilobitsPerSec(1200);
  s.fps = 30;
  s.base_rtt = TimeDelta::Millis(240);
  const TimeDelta rtt = TimeDelta::Millis(250);
  // Off: 0.9% is under min_fec_loss (1%), so FEC does not start.
  CHECK(!p->decide(rtt, 0.009, false, &s).use_fec);
  // On: the same 0.9% (a report of a 2% path that saw few losses) keeps it, sized for that loss.
  s.fec_on = true;
  const ProtectionDecision kept = p->decide(rtt, 0.009, false, &s);
  CHECK(kept.use_fec);
  CHECK(kept.fec_rate > 0);
  CHECK(p->decide(rtt, 0.005, false, &s).use_fec);
  // Below fec_off_loss it goes off.
  CHECK(!p->decide(rtt, 0.004, false, &s).use_fec);
  CHECK(!p->decide(rtt, 0.0, false, &s).use_fec);
  // The band is never above min_fec_loss, and the RTT rule still applies.
  ProtectionPolicy::Config c;
  c.fec_off_loss = 0.05;
  auto wide = ProtectionPolicy::Create(c);
  REQUIRE(wide.ok());
  CHECK(wide->decide(rtt, 0.012, false, &s).use_fec);
  CHECK(!p->decide(TimeDelta::Millis(20), 0.02, false, &s).use_fec);
  c.fec_off_loss = -0.1;
  CHECK(!ProtectionPolicy::Create(c).ok());
}
