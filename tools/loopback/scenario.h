// Scenario: runs one tern-loopback call. Builds the topology (direct link, TURN-like relay, or a
// pipeline::MediaServer between two access networks), two pipeline::Endpoints (A sends, B
// receives; B also sends when bidirectional), drives them (drivers.h: a virtual-time
// netsim::EventLoop, or wall clock + UDP for --realtime) for the configured duration, and collects
// per-frame records and 100 ms time series through the pipeline listeners (call_listeners.h) and
// taps in front of the receivers (traffic_tap.h). The result holds no wall-clock value, so the same
// configuration and seed give the same result bit for bit (in virtual time).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tern/core/units.h"
#include "tern/tools/loopback/loopback_config.h"
#include "tern/tools/loopback/metrics.h"

namespace tern::tools {

struct ScenarioResult {
  LoopbackConfig config;
  std::vector<FrameRecord> frames;
  std::vector<SeriesPoint> series;
  // --flows 2: the second call's series (target and receive rate are its own; send, loss and
  // delay are the shared link's, as in `series`, whose receive rate and target are the first call's).
  std::vector<SeriesPoint> second_flow_series;
  Summary summary;
};

// Called every ~0.5 s of simulated time with the fraction done (0..1).
using ProgressFn = std::function<void(double fraction)>;

// Runs the call. Errors (bad trace, pipeline refusing the configuration, recorder failure) come
// back as a message.
struct ScenarioOutcome {
  std::optional<ScenarioResult> result;
  std::string error;
};
ScenarioOutcome run_scenario(const LoopbackConfig& config, const ProgressFn& progress = {});

}  // namespace tern::tools
