// The scorecard (tern-loopback --matrix): matrix validation, goals judged on real runs (in
// parallel), the built-in quality matrix, and the command line's outputs and exit codes.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tern/tools/loopback/scorecard.h"

namespace tern::tools {
namespace {

TEST_CASE("scorecard matrix files are checked before any run") {
  const char* bad[] = {
      "[]",
      R"({"seeds": [], "scenarios": [{"name": "a", "goals": {"e2e_p95_ms": {"max": 1}}}]})",
      R"({"seeds": [1], "scenarios": []})",
      R"({"seeds": [1], "scenarios": [{"name": "a", "goals": {"no_such_metric": {"max": 1}}}]})",
      R"({"seeds": [1], "scenarios": [{"name": "a", "goals": {"e2e_p95_ms": {"min": 5, "max": 1}}}]})",
      R"({"seeds": [1], "scenarios": [{"name": "a", "goals": {"e2e_p95_ms": {}}}]})",
      R"({"seeds": [-1], "scenarios": [{"name": "a", "goals": {"e2e_p95_ms": {"max": 1}}}]})",
      R"({"seeds": [1], "scenarios": [{"name": "a", "args": [3], "goals": {"e2e_p95_ms": {"max": 1}}}]})",
      R"({"seeds": [1], "scenarios": [{"name": "a", "goals": {"e2e_p95_ms": {"max": 1}}},
                                      {"name": "a", "goals": {"e2e_p95_ms": {"max": 1}}}]})",
      "{not json",
  };
  for (const char* text : bad) {
    INFO(text);
    const MatrixParse p = parse_matrix(text);
    CHECK_FALSE(p.matrix.has_value());
    CHECK_FALSE(p.error.empty());
  }
  // The bounds: seeds, scenarios, names, arguments, the text itself. (Built with append():
  // GCC 12's -Wrestrict misfires on "literal" + std::string.)
  auto cat = [](std::initializer_list<std::string_view> parts) {
    std::string out;
    for (std::string_view p : parts) out.append(p);
    return out;
  };
  const std::string goal = R"("goals": {"e2e_p95_ms": {"max": 1}})";
  const std::string ok_scenario = cat({R"({"name": "a", )", goal, "}"});
  auto with = [&](const std::string& seeds, const std::string& scenarios, const std::string& name = "m") {
    return cat({R"({"name": ")", name, R"(", "seeds": [)", seeds, R"(], "scenarios": [)", scenarios, "]}"});
  };
  std::string seeds_101 = "1", scenarios_101 = ok_scenario;
  for (int i = 1; i <= 100; ++i) {
    seeds_101.append(",").append(std::to_string(i));
    scenarios_101.append(cat({R"(, {"name": "s)", std::to_string(i), R"(", )", goal, "}"}));
  }
  CHECK(parse_matrix(with("1", ok_scenario)).matrix.has_value());
  CHECK(parse_matrix(with(seeds_101, ok_scenario)).error.find("1..100 seeds") != std::string::npos);
  CHECK(parse_matrix(with("1", scenarios_101)).error.find("1..100 scenarios") != std::string::npos);
  CHECK(parse_matrix(with("1", ok_scenario, std::string(65, 'n'))).error.find("at most 64") != std::string::npos);
  CHECK(parse_matrix(with("1", cat({R"({"name": ")", std::string(65, 's'), R"(", )", goal, "}"}))).error.find("1..64") !=
        std::string::npos);
  CHECK(parse_matrix(with("1", cat({R"({"name": "a", "args": [")", std::string(1025, 'x'), R"("], )", goal, "}"})))
            .error.find("at most 1024") != std::string::npos);
  CHECK(parse_matrix(std::string(Matrix::kMaxTextBytes + 1, ' ')).error.find("larger than 1 MiB") != std::string::npos);
  // The built-in matrix: issue 14's nine networks, ten seeds, every goal on a known metric.
  const MatrixParse q = parse_matrix(builtin_matrix("quality"));
  REQUIRE_MESSAGE(q.matrix.has_value(), q.error);
  CHECK(q.matrix->scenarios.size() == 9);
  CHECK(q.matrix->seeds.size() == 10);
  CHECK(builtin_matrix("nope") == nullptr);
}

TEST_CASE("scorecard runs scenarios x seeds in parallel and judges each run against its goals") {
  const std::string matrix = R"({"name": "t", "seeds": [1, 2], "duration_s": 3, "scenarios": [
    {"name": "clean", "args": ["--capacity", "2mbps", "--loss", "0", "--jitter", "0", "--resolution", "320x240"],
     "goals": {"longest_gap_ms": {"max": 500}, "send_over_capacity": {"max": 1.0}, "psnr_mean_db": {"min": 99}}},
    {"name": "outage", "args": ["--capacity", "1mbps", "--outage", "1-2", "--resolution", "320x240"],
     "goals": {"longest_gap_ms": {"min": 900}}},
    {"name": "broken", "args": ["--capacity", "nonsense"], "goals": {"e2e_p95_ms": {"max": 1}}}]})";
  const MatrixParse p = parse_matrix(matrix);
  REQUIRE_MESSAGE(p.matrix.has_value(), p.error);
  size_t reported = 0;
  const auto runs = run_matrix(*p.matrix, ".", 2, [&](const RunOutcome&, size_t done, size_t total) {
    CHECK(done == ++reported);
    CHECK(total == 6);
  });
  REQUIRE(runs.size() == 6);
  // Matrix order, scenario-major.
  CHECK(runs[0].scenario == "clean");
  CHECK(runs[1].seed == 2);
  for (int i = 0; i < 2; ++i) {
    const RunOutcome& clean = runs[static_cast<size_t>(i)];
    REQUIRE(clean.error.empty());
    REQUIRE(clean.goals.size() == 3);
    CHECK(clean.goals[0].met);                           // no gap on a clean link
    CHECK(clean.goals[1].met);                           // sends below capacity
    CHECK(*clean.goals[1].value < 1.0);
    CHECK_FALSE(clean.goals[2].met);                     // 99 dB is out of reach
    CHECK(clean.goals[2].value.value_or(0) > 30);
    CHECK_FALSE(clean.passed());
    // The outage freezes video for about its length: the goal it was given holds.
    const RunOutcome& outage = runs[2 + static_cast<size_t>(i)];
    REQUIRE(outage.error.empty());
    CHECK(outage.passed());
    CHECK(outage.metrics.at("longest_gap_ms") >= 900);
    // A scenario whose options are wrong is an error run, not a crash or a pass.
    CHECK(runs[4 + static_cast<size_t>(i)].error.find("--capacity") != std::string::npos);
    CHECK_FALSE(runs[4 + static_cast<size_t>(i)].passed());
  }
  // Same seed, same figures: the parallel runs are independent.
  CHECK(runs[0].metrics == run_matrix(*p.matrix, ".", 1)[0].metrics);
  const std::string text = scorecard_text(*p.matrix, runs);
  CHECK(text.find("clean          0/2") != std::string::npos);
  CHECK(text.find("outage         2/2") != std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(scorecard_json(*p.matrix, runs));
  CHECK(j["runs"].size() == 6);
  CHECK(j["scenarios"][0]["goals"][2]["missed"] == 2);
  CHECK(scorecard_html(*p.matrix, runs).find("<td class=no>") != std::string::npos);
}

TEST_CASE("scorecard command line: exit codes and outputs") {
  const std::string dir = TERN_BINARY_DIR;
  const std::string file = dir + "/scorecard_test_matrix.json";
  std::ofstream(file) << R"({"seeds": [1], "duration_s": 1, "scenarios": [{"name": "a",
    "args": ["--video", "none"], "goals": {"concealment_percent": {"max": 50}}}]})";
  const std::string json_out = dir + "/scorecard_test_out.json";
  CHECK(scorecard_main({"--matrix", file, "--seeds", "3-4", "--jobs", "2", "--json", json_out}) == 0);
  std::ifstream in(json_out);
  std::stringstream ss;
  ss << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(ss.str());
  CHECK(j["seeds"] == nlohmann::json::array({3, 4}));
  CHECK(j["runs"][1]["passed"] == true);
  CHECK(scorecard_main({"--matrix", "no-such-matrix"}) == 2);
  CHECK(scorecard_main({"--matrix", file, "--seeds", "5-1"}) == 2);
  CHECK(scorecard_main({"--matrix", file, "--json", "/nonexistent/dir/out.json"}) == 2);
  std::remove(file.c_str());
  std::remove(json_out.c_str());
}

}  // namespace
}  // namespace tern::tools
