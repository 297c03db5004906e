// Audio first at low rates: the Opus rate an endpoint sends follows its allocation (between
// AudioSendStream::kMinBitrate and the configured rate), RED's copies sent and charged only when
// the budget allows them, and the audio leaves ahead of video so the sender's total stays within
// the target.
#include <memory>
#include <vector>

#include "call_fixture.h"
#include "doctest/doctest.h"

namespace tern::pipeline {
namespace {

struct AudioAllocationSink : DatagramSink {
  void on_datagram(std::vector<uint8_t>, Timestamp) override {}
};

// A sender alone (nothing comes back) at a fixed target, run for `seconds` of simulated time.
std::unique_ptr<Endpoint> AudioAllocationRun(DataRate rate, bool red, AudioAllocationSink& sink, double seconds) {
  EndpointConfig c = testing::small_call_config();
  c.congestion = CongestionControlMode::kFixed;
  c.fixed_rate = rate;
  c.send.protection.red = red;
  c.receive.protection.red = red;
  auto e = Endpoint::Create(c, &sink);
  REQUIRE(e.ok());
  std::unique_ptr<Endpoint> ep = std::move(e).value();
  Timestamp now = Timestamp::Seconds(1);
  const Timestamp end = now + TimeDelta::SecondsF(seconds);
  for (int guard = 0; guard < 1000000 && now <= end; ++guard) {
    ep->process(now);
    const std::optional<Timestamp> next = ep->next_wakeup();
    if (!next) break;
    now = max(*next, now + TimeDelta::Micros(1));
  }
  return ep;
}

TEST_CASE("pipeline audio first: the Opus rate follows the allocation at low rates") {
  AudioAllocationSink sink;
  // Plenty: Opus at the configured 32 kbps.
  auto rich = AudioAllocationRun(DataRate::KilobitsPerSec(1000), true, sink, 2);
  REQUIRE(rich->audio_send_stream() != nullptr);
  CHECK(rich->audio_send_stream()->target() == DataRate::KilobitsPerSec(32));
  CHECK(rich->audio_send_stream()->counters().encoder_config_errors == 0);
  CHECK(rich->audio_send_stream()->red_active());  // two copies of 32 kbps: 6.4% of the target

  // 70 kbps with RED (each Opus frame sent three times): audio is served before video's minimum;
  // video is suspended rather than squeezing it, so the copies take nothing from video and Opus
  // shares audio's budget with them, above Opus's floor.
  auto poor = AudioAllocationRun(DataRate::KilobitsPerSec(70), true, sink, 3);
  const DataRate opus = poor->audio_send_stream()->target();
  CHECK(poor->audio_send_stream()->red_active());
  CHECK(opus < DataRate::KilobitsPerSec(32));
  CHECK(opus >= AudioSendStream::kMinBitrate);
  REQUIRE(poor->video_send_stream() != nullptr);
  CHECK(poor->video_send_stream()->suspended());
  // What left: payloads and headers within the target (a little slack for the first second's
  // nominal overhead estimate).
  const Endpoint::SendBudget& b = poor->send_budget();
  CHECK(b.total() / TimeDelta::Seconds(3) <= DataRate::KilobitsPerSec(75));

  // The same rate without RED leaves Opus more (no copies to share with).
  auto plain = AudioAllocationRun(DataRate::KilobitsPerSec(70), false, sink, 3);
  CHECK(plain->audio_send_stream()->target() > opus);

  // 200 kbps, video running: two copies of 32 kbps Opus would take over 25% of the target from
  // video: plain Opus at its full rate instead.
  auto mid = AudioAllocationRun(DataRate::KilobitsPerSec(200), true, sink, 3);
  CHECK_FALSE(mid->video_send_stream()->suspended());
  CHECK_FALSE(mid->audio_send_stream()->red_active());
  CHECK(mid->audio_send_stream()->target() == DataRate::KilobitsPerSec(32));
}

}  // namespace
}  // namespace tern::pipeline
