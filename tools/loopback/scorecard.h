// The scorecard: tern-loopback --matrix runs a list of scenarios times seeds (in parallel, one
// simulated call per job) and judges each run's figures against the scenario's goals, so a
// configuration can be judged across many networks in one command.
//
// A matrix is JSON:
//   {"name": "quality", "seeds": [1, 2, 3], "duration_s": 30,
//    "scenarios": [{"name": "low-250k",
//                   "args": ["--capacity", "250kbps", "--delay", "30", "--loss", "0.5"],
//                   "goals": {"send_over_capacity": {"max": 1.0}, "longest_gap_ms": {"max": 500}}}]}
// `args` are tern-loopback options (the same parser; --seed, and --duration when the scenario does
// not set it, are added per run; "{traces}" in an argument is replaced by the traces folder).
// Goals name a metric of run_metrics() with a "min" and/or "max"; a metric a run cannot measure
// (e.g. the capacity of an unlimited link) fails its goal, reported as such.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/tools/loopback/scenario.h"

namespace tern::tools {

struct Goal {
  std::string metric;
  std::optional<double> min, max;
};

struct MatrixScenario {
  std::string name;
  std::vector<std::string> args;
  std::vector<Goal> goals;
};

struct Matrix {
  static constexpr size_t kMaxScenarios = 100;
  static constexpr size_t kMaxSeeds = 100;
  static constexpr size_t kMaxArgs = 64;
  static constexpr size_t kMaxGoals = 32;
  static constexpr size_t kMaxTextBytes = 1 << 20;  // the matrix file
  static constexpr size_t kMaxNameLength = 64;      // matrix and scenario names
  static constexpr size_t kMaxArgLength = 1024;     // one argument
  std::string name;
  std::vector<uint64_t> seeds;
  double duration_s = 30;  // per run, unless a scenario's args set --duration
  std::vector<MatrixScenario> scenarios;
};

// Parses and checks a matrix (bounded sizes, known metric names, min <= max).
struct MatrixParse {
  std::optional<Matrix> matrix;
  std::string error;  // why there is no matrix
};
MatrixParse parse_matrix(std::string_view json_text);
// The built-in matrices by name ("quality": issue 14's networks and goals), or nullptr.
const char* builtin_matrix(std::string_view name);

// The figures of one run that goals can name (absent when the run cannot measure them):
//   send_over_capacity, target_over_capacity (means over the call), loss_percent,
//   longest_gap_ms, freeze_count, freeze_total_percent (of the call), fps_received,
//   e2e_p50_ms, e2e_p95_ms (video capture to render), psnr_mean_db, concealment_percent,
//   audio_e2e_ms, rtt_p95_ms, one_way_delay_p95_ms.
std::map<std::string, double> run_metrics(const ScenarioResult& r);
bool is_metric_name(std::string_view name);

struct GoalOutcome {
  Goal goal;
  std::optional<double> value;  // nullopt: not measurable in this run
  bool met = false;
};

struct RunOutcome {
  std::string scenario;
  uint64_t seed = 0;
  std::string error;  // the run could not be made (bad args, pipeline refusal); no goals then
  std::map<std::string, double> metrics;
  std::vector<GoalOutcome> goals;
  double wall_s = 0;
  bool passed() const;
};

// Runs every scenario with every seed, `jobs` runs at a time (each on its own thread); outcomes in
// matrix order (scenario-major). `on_done` (optional) is called, serialised, as each run ends.
std::vector<RunOutcome> run_matrix(const Matrix& m, const std::string& traces_dir, int jobs,
                                   const std::function<void(const RunOutcome&, size_t done, size_t total)>& on_done = {});

// Reports: a text table (one row per scenario: runs passed, each goal's worst value), JSON (every
// run's metrics and goals) and a self-contained HTML table.
std::string scorecard_text(const Matrix& m, const std::vector<RunOutcome>& runs);
std::string scorecard_json(const Matrix& m, const std::vector<RunOutcome>& runs);
std::string scorecard_html(const Matrix& m, const std::vector<RunOutcome>& runs);

// The --matrix command line (args without the program name): returns the exit code (0 every goal
// met, 1 some goal missed or a run failed, 2 bad options). Prints to stdout/stderr.
int scorecard_main(const std::vector<std::string>& args);

}  // namespace tern::tools
