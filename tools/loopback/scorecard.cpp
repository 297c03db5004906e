#include "tern/tools/loopback/scorecard.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tern/tools/loopback/cli.h"
#include "tern/tools/loopback/report.h"

namespace tern::tools {
namespace {

using nlohmann::json;

// Issue 14's networks and goals. Durations: 30 s, the traces' first 60 s.
constexpr const char* kQualityMatrix = R"json({
  "name": "quality",
  "seeds": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  "duration_s": 30,
  "scenarios": [
    {"name": "low-250k",
     "args": ["--capacity", "250kbps", "--delay", "30", "--jitter", "5", "--loss", "0.5"],
     "goals": {"send_over_capacity": {"max": 1.0}, "longest_gap_ms": {"max": 500}, "e2e_p95_ms": {"max": 250},
               "concealment_percent": {"max": 1}, "resolution_changes": {"min": 1}}},
    {"name": "low-500k",
     "args": ["--capacity", "500kbps", "--delay", "30", "--jitter", "5", "--loss", "0.5"],
     "goals": {"send_over_capacity": {"max": 1.0}, "longest_gap_ms": {"max": 500}, "e2e_p95_ms": {"max": 250},
               "concealment_percent": {"max": 1}, "resolution_changes": {"min": 1}}},
    {"name": "far-jittery",
     "args": ["--capacity", "2.5mbps", "--delay", "120", "--jitter", "35", "--reorder", "--loss", "2"],
     "goals": {"target_over_capacity": {"min": 0.6}, "freeze_total_percent": {"max": 1}, "e2e_p95_ms": {"max": 340}}},
    {"name": "bursty",
     "args": ["--capacity", "1.5mbps", "--delay", "60", "--jitter", "10", "--loss", "8", "--burst", "3"],
     "goals": {"freeze_total_percent": {"max": 2}, "concealment_percent": {"max": 3}}},
    {"name": "fec-only",
     "args": ["--codecs", "vp9,opus", "--capacity", "1mbps", "--loss", "3", "--protection", "fec"],
     "goals": {"concealment_percent": {"max": 1.5}, "longest_gap_ms": {"max": 500}}},
    {"name": "outage",
     "args": ["--capacity", "2mbps", "--outage", "8-12", "--loss", "0"],
     "goals": {"longest_gap_ms": {"max": 5000}}},
    {"name": "umts-trace",
     "args": ["--trace", "{traces}/TMobile-UMTS-driving.up", "--delay", "40", "--duration", "60"],
     "goals": {"freeze_total_percent": {"max": 3}, "e2e_p95_ms": {"max": 500}, "send_over_capacity": {"max": 1.0}}},
    {"name": "lte-short",
     "args": ["--trace", "{traces}/Verizon-LTE-short.up", "--delay", "40", "--duration", "60"],
     "goals": {"freeze_total_percent": {"max": 3}, "e2e_p95_ms": {"max": 500}, "send_over_capacity": {"max": 1.0}}},
    {"name": "default",
     "args": [],
     "goals": {"psnr_mean_db": {"min": 34}, "longest_gap_ms": {"max": 500}, "concealment_percent": {"max": 3},
               "e2e_p50_ms": {"max": 150}, "e2e_p95_ms": {"max": 220}, "audio_e2e_ms": {"max": 150}}}
  ]
})json";

constexpr const char* kMetricNames[] = {
    "send_over_capacity", "target_over_capacity", "loss_percent",        "longest_gap_ms",
    "freeze_count",       "freeze_total_percent", "fps_received",        "e2e_p50_ms",
    "e2e_p95_ms",         "psnr_mean_db",         "concealment_percent", "audio_e2e_ms",
    "rtt_p95_ms",         "one_way_delay_p95_ms", "resolution_changes",
};

std::string goal_text(const Goal& g) {
  char buf[128];
  if (g.min && g.max) {
    std::snprintf(buf, sizeof(buf), "%g <= %s <= %g", *g.min, g.metric.c_str(), *g.max);
  } else if (g.min) {
    std::snprintf(buf, sizeof(buf), "%s >= %g", g.metric.c_str(), *g.min);
  } else {
    std::snprintf(buf, sizeof(buf), "%s <= %g", g.metric.c_str(), g.max.value_or(0));
  }
  return buf;
}

std::string value_text(std::optional<double> v) {
  if (!v) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", *v);
  return buf;
}

// The value furthest on the wrong side of the goal (the worst run), over runs that measured it.
std::optional<double> worst_value(const std::vector<const RunOutcome*>& runs, size_t goal) {
  std::optional<double> worst;
  for (const RunOutcome* r : runs) {
    if (goal >= r->goals.size() || !r->goals[goal].value) continue;
    const double v = *r->goals[goal].value;
    const Goal& g = r->goals[goal].goal;
    const bool lower_is_worse = g.min.has_value() && !g.max.has_value();
    if (!worst || (lower_is_worse ? v < *worst : v > *worst)) worst = v;
  }
  return worst;
}

std::vector<const RunOutcome*> runs_of(const std::vector<RunOutcome>& runs, const std::string& scenario) {
  std::vector<const RunOutcome*> out;
  for (const RunOutcome& r : runs) {
    if (r.scenario == scenario) out.push_back(&r);
  }
  return out;
}

size_t missed(const std::vector<const RunOutcome*>& runs, size_t goal) {
  size_t n = 0;
  for (const RunOutcome* r : runs) {
    if (!r->error.empty() || goal >= r->goals.size() || !r->goals[goal].met) ++n;
  }
  return n;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// "3", "1-3" or "1,4,7" (at most Matrix::kMaxSeeds seeds).
std::optional<std::vector<uint64_t>> parse_seed_list(const std::string& text) {
  std::vector<uint64_t> list;
  unsigned long long a = 0, b = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%llu-%llu%c", &a, &b, &extra) == 2) {
    if (a > b || b - a >= Matrix::kMaxSeeds) return std::nullopt;
    for (unsigned long long s = a; s <= b; ++s) list.push_back(s);
    return list;
  }
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
    if (item.empty() || item[0] == '-' || *end != '\0' || list.size() == Matrix::kMaxSeeds) return std::nullopt;
    list.push_back(v);
  }
  if (list.empty()) return std::nullopt;
  return list;
}

RunOutcome run_one(const MatrixScenario& s, uint64_t seed, double duration_s, const std::string& traces_dir) {
  RunOutcome out;
  out.scenario = s.name;
  out.seed = seed;
  std::vector<std::string> args;
  bool has_duration = false;
  for (const std::string& a : s.args) {
    if (a == "--duration" || a == "-d") has_duration = true;
    args.push_back(replace_all(a, "{traces}", traces_dir));
  }
  if (!has_duration) {
    args.push_back("--duration");
    args.push_back(std::to_string(duration_s));
  }
  args.push_back("--seed");
  args.push_back(std::to_string(seed));
  args.push_back("--no-progress");
  const CliOutcome cli = parse_command_line(args);
  if (!cli.config) {
    out.error = cli.message;
    return out;
  }
  if (cli.config->realtime) {
    out.error = "--realtime runs are not part of a matrix";
    return out;
  }
  const auto start = std::chrono::steady_clock::now();
  ScenarioOutcome o = run_scenario(*cli.config);
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!o.result) {
    out.error = o.error;
    return out;
  }
  out.metrics = run_metrics(*o.result);
  for (const Goal& g : s.goals) {
    GoalOutcome go;
    go.goal = g;
    if (auto it = out.metrics.find(g.metric); it != out.metrics.end()) go.value = it->second;
    go.met = go.value && (!g.min || *go.value >= *g.min) && (!g.max || *go.value <= *g.max);
    out.goals.push_back(std::move(go));
  }
  return out;
}

}  // namespace

bool is_metric_name(std::string_view name) {
  return std::find(std::begin(kMetricNames), std::end(kMetricNames), name) != std::end(kMetricNames);
}

const char* builtin_matrix(std::string_view name) { return name == "quality" ? kQualityMatrix : nullptr; }

MatrixParse parse_matrix(std::string_view json_text) {
  auto fail = [](std::string why) { return MatrixParse{std::nullopt, std::move(why)}; };
  if (json_text.size() > Matrix::kMaxTextBytes) return fail("the matrix is larger than 1 MiB");
  // Ordered: goals keep the order the file gives them.
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail("the matrix is not a JSON object");
  Matrix m;
  if (j.contains("name") && (!j["name"].is_string() || j["name"].get<std::string>().size() > Matrix::kMaxNameLength))
    return fail("name: a string of at most " + std::to_string(Matrix::kMaxNameLength) + " characters");
  m.name = j.value("name", std::string("matrix"));
  if (j.contains("duration_s")) {
    if (!j["duration_s"].is_number() || !(j["duration_s"].get<double>() >= 0.5)) return fail("duration_s: a number >= 0.5");
    m.duration_s = j["duration_s"].get<double>();
  }
  if (!j.contains("seeds") || !j["seeds"].is_array() || j["seeds"].empty() || j["seeds"].size() > Matrix::kMaxSeeds)
    return fail("seeds: a list of 1.." + std::to_string(Matrix::kMaxSeeds) + " seeds");
  for (const nlohmann::ordered_json& s : j["seeds"]) {
    if (!s.is_number_unsigned()) return fail("seeds: each seed is a non-negative integer");
    m.seeds.push_back(s.get<uint64_t>());
  }
  if (!j.contains("scenarios") || !j["scenarios"].is_array() || j["scenarios"].empty() ||
      j["scenarios"].size() > Matrix::kMaxScenarios)
    return fail("scenarios: a list of 1.." + std::to_string(Matrix::kMaxScenarios) + " scenarios");
  for (const nlohmann::ordered_json& sj : j["scenarios"]) {
    if (!sj.is_object() || !sj.contains("name") || !sj["name"].is_string() || sj["name"].get<std::string>().empty() ||
        sj["name"].get<std::string>().size() > Matrix::kMaxNameLength)
      return fail("scenarios: each has a name of 1.." + std::to_string(Matrix::kMaxNameLength) + " characters");
    MatrixScenario s;
    s.name = sj["name"].get<std::string>();
    const std::string where = "scenario " + s.name + ": ";
    if (sj.contains("args")) {
      if (!sj["args"].is_array() || sj["args"].size() > Matrix::kMaxArgs) return fail(where + "args: a list of strings");
      for (const nlohmann::ordered_json& a : sj["args"]) {
        if (!a.is_string() || a.get<std::string>().size() > Matrix::kMaxArgLength)
          return fail(where + "args: a list of strings of at most " + std::to_string(Matrix::kMaxArgLength) + " characters");
        s.args.push_back(a.get<std::string>());
      }
    }
    if (!sj.contains("goals") || !sj["goals"].is_object() || sj["goals"].size() > Matrix::kMaxGoals)
      return fail(where + "goals: an object of metric: {min, max}");
    for (const auto& [metric, range] : sj["goals"].items()) {
      if (!is_metric_name(metric)) return fail(where + "unknown metric '" + metric + "'");
      Goal g;
      g.metric = metric;
      if (!range.is_object()) return fail(where + metric + ": {\"min\": x} and/or {\"max\": y}");
      if (range.contains("min")) {
        if (!range["min"].is_number()) return fail(where + metric + ": min is a number");
        g.min = range["min"].get<double>();
      }
      if (range.contains("max")) {
        if (!range["max"].is_number()) return fail(where + metric + ": max is a number");
        g.max = range["max"].get<double>();
      }
      if (!g.min && !g.max) return fail(where + metric + ": a min or a max");
      if (g.min && g.max && *g.min > *g.max) return fail(where + metric + ": min above max");
      s.goals.push_back(std::move(g));
    }
    for (const MatrixScenario& other : m.scenarios) {
      if (other.name == s.name) return fail(where + "the name is used twice");
    }
    m.scenarios.push_back(std::move(s));
  }
  return MatrixParse{std::move(m), {}};
}

std::map<std::string, double> run_metrics(const ScenarioResult& r) {
  std::map<std::string, double> m;
  const Summary& s = r.summary;
  const NetworkSummary& n = s.network;
  if (n.capacity_mean_kbps && *n.capacity_mean_kbps > 0) {
    m["send_over_capacity"] = n.send_mean_kbps / *n.capacity_mean_kbps;
    m["target_over_capacity"] = n.target_mean_kbps / *n.capacity_mean_kbps;
  }
  if (n.packets_sent > 0) m["loss_percent"] = 100.0 * static_cast<double>(n.packets_lost) / static_cast<double>(n.packets_sent);
  if (n.rtt_p95_ms) m["rtt_p95_ms"] = *n.rtt_p95_ms;
  m["one_way_delay_p95_ms"] = n.one_way_delay_p95_ms;
  if (s.video.present) {
    m["longest_gap_ms"] = s.video.longest_gap_ms;
    m["freeze_count"] = static_cast<double>(s.video.freeze_count);
    m["freeze_total_percent"] = 100.0 * s.video.freeze_total_ms / std::max(1.0, r.config.duration.ms_f());
    m["fps_received"] = s.video.fps_received;
    if (s.video.e2e_p50_ms) m["e2e_p50_ms"] = *s.video.e2e_p50_ms;
    if (s.video.e2e_p95_ms) m["e2e_p95_ms"] = *s.video.e2e_p95_ms;
    if (s.video.psnr_mean) m["psnr_mean_db"] = *s.video.psnr_mean;
    m["resolution_changes"] = static_cast<double>(s.video.resolution_changes);
  }
  if (s.audio.present) {
    m["concealment_percent"] = s.audio.concealment_percent;
    m["audio_e2e_ms"] = s.audio.e2e_delay_ms;
  }
  return m;
}

bool RunOutcome::passed() const {
  return error.empty() && std::all_of(goals.begin(), goals.end(), [](const GoalOutcome& g) { return g.met; });
}

std::vector<RunOutcome> run_matrix(const Matrix& m, const std::string& traces_dir, int jobs,
                                   const std::function<void(const RunOutcome&, size_t, size_t)>& on_done) {
  struct Job {
    const MatrixScenario* scenario;
    uint64_t seed;
  };
  std::vector<Job> work;
  for (const MatrixScenario& s : m.scenarios) {
    for (uint64_t seed : m.seeds) work.push_back({&s, seed});
  }
  std::vector<RunOutcome> out(work.size());
  std::atomic<size_t> next{0};
  std::mutex report;
  size_t done = 0;
  auto worker = [&] {
    // Bounded: each iteration takes one job of the fixed list.
    for (size_t i = next++; i < work.size(); i = next++) {
      out[i] = run_one(*work[i].scenario, work[i].seed, m.duration_s, traces_dir);
      std::lock_guard<std::mutex> lock(report);
      ++done;
      if (on_done) on_done(out[i], done, work.size());
    }
  };
  const size_t threads = std::clamp<size_t>(static_cast<size_t>(std::max(jobs, 1)), 1, std::max<size_t>(work.size(), 1));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  return out;
}

std::string scorecard_text(const Matrix& m, const std::vector<RunOutcome>& runs) {
  std::string out = "scorecard " + m.name + ": " + std::to_string(m.scenarios.size()) + " scenarios x " +
                    std::to_string(m.seeds.size()) + " seeds\n";
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%-14s %-8s %-34s %-10s %s\n", "scenario", "passed", "goal", "worst", "runs missing it");
  out += buf;
  size_t all_passed = 0;
  for (const MatrixScenario& s : m.scenarios) {
    const auto rs = runs_of(runs, s.name);
    const size_t passed = static_cast<size_t>(std::count_if(rs.begin(), rs.end(), [](const RunOutcome* r) { return r->passed(); }));
    all_passed += passed;
    const std::string ratio = std::to_string(passed) + "/" + std::to_string(rs.size());
    for (size_t g = 0; g < s.goals.size(); ++g) {
      std::snprintf(buf, sizeof(buf), "%-14s %-8s %-34s %-10s %zu\n", g == 0 ? s.name.c_str() : "", g == 0 ? ratio.c_str() : "",
                    goal_text(s.goals[g]).c_str(), value_text(worst_value(rs, g)).c_str(), missed(rs, g));
      out += buf;
    }
    for (const RunOutcome* r : rs) {
      if (!r->error.empty()) out += "  seed " + std::to_string(r->seed) + ": error: " + r->error + "\n";
    }
  }
  out += "runs meeting every goal: " + std::to_string(all_passed) + " of " + std::to_string(runs.size()) + "\n";
  return out;
}

std::string scorecard_json(const Matrix& m, const std::vector<RunOutcome>& runs) {
  auto goal_json = [](const Goal& g) {
    json j = {{"metric", g.metric}};
    if (g.min) j["min"] = *g.min;
    if (g.max) j["max"] = *g.max;
    return j;
  };
  json j;
  j["matrix"] = m.name;
  j["seeds"] = m.seeds;
  json scenarios = json::array();
  for (const MatrixScenario& s : m.scenarios) {
    const auto rs = runs_of(runs, s.name);
    json sj = {{"name", s.name}, {"args", s.args}, {"runs", rs.size()}};
    sj["passed"] = std::count_if(rs.begin(), rs.end(), [](const RunOutcome* r) { return r->passed(); });
    json goals = json::array();
    for (size_t g = 0; g < s.goals.size(); ++g) {
      json gj = goal_json(s.goals[g]);
      const auto w = worst_value(rs, g);
      gj["worst"] = w ? json(*w) : json(nullptr);
      gj["missed"] = missed(rs, g);
      goals.push_back(std::move(gj));
    }
    sj["goals"] = std::move(goals);
    scenarios.push_back(std::move(sj));
  }
  j["scenarios"] = std::move(scenarios);
  json rj = json::array();
  for (const RunOutcome& r : runs) {
    json x = {{"scenario", r.scenario}, {"seed", r.seed}, {"passed", r.passed()}, {"wall_s", r.wall_s}};
    if (!r.error.empty()) x["error"] = r.error;
    x["metrics"] = r.metrics;
    json goals = json::array();
    for (const GoalOutcome& g : r.goals) {
      json gj = goal_json(g.goal);
      gj["value"] = g.value ? json(*g.value) : json(nullptr);
      gj["met"] = g.met;
      goals.push_back(std::move(gj));
    }
    x["goals"] = std::move(goals);
    rj.push_back(std::move(x));
  }
  j["runs"] = std::move(rj);
  return j.dump(1) + "\n";
}

std::string scorecard_html(const Matrix& m, const std::vector<RunOutcome>& runs) {
  std::string h =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>tern scorecard " + html_escape(m.name) +
      "</title><style>body{font:14px sans-serif;margin:20px}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td.l,th.l{text-align:left}"
      ".ok{background:#d9f2d9}.no{background:#f8d0d0}.na{background:#eee}</style></head><body>";
  h += "<h1>tern-loopback scorecard: " + html_escape(m.name) + "</h1><p>Each cell is one run's value (green: goal met).</p>";
  h += "<table><tr><th class=l>scenario</th><th class=l>goal</th>";
  for (uint64_t seed : m.seeds) h += "<th>seed " + std::to_string(seed) + "</th>";
  h += "</tr>";
  for (const MatrixScenario& s : m.scenarios) {
    const auto rs = runs_of(runs, s.name);
    for (size_t g = 0; g < s.goals.size(); ++g) {
      h += "<tr><td class=l>" + (g == 0 ? html_escape(s.name) : std::string()) + "</td><td class=l>" +
           html_escape(goal_text(s.goals[g])) + "</td>";
      for (const RunOutcome* r : rs) {
        if (!r->error.empty() || g >= r->goals.size()) {
          h += "<td class=na title=\"" + html_escape(r->error) + "\">error</td>";
          continue;
        }
        const GoalOutcome& go = r->goals[g];
        h += std::string("<td class=") + (go.value ? (go.met ? "ok" : "no") : "na") + ">" + value_text(go.value) + "</td>";
      }
      h += "</tr>";
    }
  }
  h += "</table></body></html>\n";
  return h;
}

int scorecard_main(const std::vector<std::string>& args) {
  CLI::App app{"tern-loopback --matrix: runs scenarios x seeds and judges each run against its goals"};
  std::string matrix, seeds, json_path, html_path;
  const char* env_traces = std::getenv("TERN_TRACES_DIR");
  std::string traces = env_traces != nullptr ? env_traces : "../shared/traces";
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  app.add_option("--matrix", matrix, "A matrix JSON file, or a built-in matrix: quality (issue 14's networks)")->required();
  app.add_option("--seeds", seeds, "Override the matrix's seeds: 1-3 or 1,4,7");
  app.add_option("--jobs", jobs, "Runs at a time (default: the number of cores)");
  app.add_option("--traces", traces, "Folder of the mahimahi traces named {traces} in a matrix (default ../shared/traces, or $TERN_TRACES_DIR)");
  app.add_option("--json", json_path, "Write every run's figures and goals to this JSON file");
  app.add_option("--html", html_path, "Write the scorecard as an HTML table to this file");
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tern-loopback: error: %s\n", e.what());
    return 2;
  }
  std::string text;
  if (const char* builtin = builtin_matrix(matrix)) {
    text = builtin;
  } else {
    std::ifstream f(matrix);
    if (!f) {
      std::fprintf(stderr, "tern-loopback: error: --matrix %s: no such built-in matrix and cannot open the file\n", matrix.c_str());
      return 2;
    }
    text.resize(Matrix::kMaxTextBytes + 1);  // one more than allowed, so parse_matrix sees "too large"
    f.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(f.gcount()));
  }
  MatrixParse parsed = parse_matrix(text);
  if (!parsed.matrix) {
    std::fprintf(stderr, "tern-loopback: error: --matrix %s: %s\n", matrix.c_str(), parsed.error.c_str());
    return 2;
  }
  std::optional<Matrix>& m = parsed.matrix;
  if (!seeds.empty()) {
    auto list = parse_seed_list(seeds);
    if (!list) {
      std::fprintf(stderr, "tern-loopback: error: --seeds %s: expected 1-3 or 1,4,7 (at most %zu)\n", seeds.c_str(), Matrix::kMaxSeeds);
      return 2;
    }
    m->seeds = std::move(*list);
  }
  if (jobs < 1 || jobs > 256) {
    std::fprintf(stderr, "tern-loopback: error: --jobs %d: 1..256\n", jobs);
    return 2;
  }
  for (const std::string& path : {json_path, html_path}) {  // fail before hours of runs, not after
    if (path.empty()) continue;
    std::ofstream probe(path, std::ios::app);
    if (!probe) {
      std::fprintf(stderr, "tern-loopback: error: cannot write %s\n", path.c_str());
      return 2;
    }
  }
  std::printf("tern-loopback: scorecard %s, %zu scenarios x %zu seeds, %d at a time\n", m->name.c_str(),
              m->scenarios.size(), m->seeds.size(), jobs);
  std::fflush(stdout);
  const auto runs = run_matrix(*m, traces, jobs, [](const RunOutcome& r, size_t done, size_t total) {
    std::fprintf(stderr, "[%zu/%zu] %s seed %llu: %s (%.1f s)\n", done, total, r.scenario.c_str(),
                 static_cast<unsigned long long>(r.seed), !r.error.empty() ? "error" : r.passed() ? "met" : "missed", r.wall_s);
  });
  std::fputs(scorecard_text(*m, runs).c_str(), stdout);
  int rc = std::all_of(runs.begin(), runs.end(), [](const RunOutcome& r) { return r.passed(); }) ? 0 : 1;
  auto write = [&rc](const std::string& path, const std::string& body) {
    if (path.empty()) return;
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << body;
    f.flush();
    if (!f) {
      std::fprintf(stderr, "tern-loopback: error: writing %s failed\n", path.c_str());
      rc = 1;
    }
  };
  write(json_path, scorecard_json(*m, runs));
  write(html_path, scorecard_html(*m, runs));
  return rc;
}

}  // namespace tern::tools
