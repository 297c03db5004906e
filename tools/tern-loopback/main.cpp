// tern-loopback: the first thing to run. Parses the command line, runs the scenario, prints the
// summary table and writes the requested JSON / HTML / WebM outputs. Exit codes: 0 success,
// 1 the run failed, 2 bad options.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tern/tools/loopback/cli.h"
#include "tern/tools/loopback/report.h"
#include "tern/tools/loopback/scenario.h"
#include "tern/tools/loopback/scorecard.h"

namespace {

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return false;
  f << text;
  return static_cast<bool>(f);
}

void draw_progress(double fraction) {
  const int width = 40;
  const int filled = static_cast<int>(fraction * width + 0.5);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(width, '.');
  std::fprintf(stderr, "\r[%s] %3d%%", bar.c_str(), static_cast<int>(fraction * 100 + 0.5));
  std::fflush(stderr);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tern::tools;
  // The call allocates and frees half-megabyte pictures at every frame (decoder output, camera).
  // glibc would serve them with mmap or trim them off the heap top and fault the pages in again at
  // the next frame; keep freed memory in the heap instead (a bounded working set of pictures).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  std::vector<std::string> args(argv + 1, argv + argc);
  // The scorecard (--matrix) is its own command: many calls in parallel, judged against goals.
  if (std::find(args.begin(), args.end(), "--matrix") != args.end()) return scorecard_main(args);
  const CliOutcome cli = parse_command_line(args);
  if (!cli.config) {
    if (cli.exit_code == 0) {
      std::fputs(cli.message.c_str(), stdout);
    } else {
      std::fprintf(stderr, "tern-loopback: error: %s\n(run tern-loopback --help for the options)\n", cli.message.c_str());
    }
    return cli.exit_code;
  }
  const LoopbackConfig& config = *cli.config;
  std::printf("tern-loopback: %s\n", describe(config).c_str());
  std::fflush(stdout);

  // The bar goes to a terminal only, never into files or pipes; short runs skip it.
  const bool bar = cli.show_progress && isatty(STDERR_FILENO) && config.duration > tern::TimeDelta::Seconds(2);
  const auto wall_start = std::chrono::steady_clock::now();
  ProgressFn progress;
  if (bar) progress = draw_progress;
  const ScenarioOutcome outcome = run_scenario(config, progress);
  if (bar) std::fprintf(stderr, "\r%60s\r", "");
  if (!outcome.result) {
    std::fprintf(stderr, "tern-loopback: error: %s\n", outcome.error.c_str());
    return outcome.error.rfind("--", 0) == 0 ? 2 : 1;
  }
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  const ScenarioResult& result = *outcome.result;
  std::fputs(format_summary(result.summary).c_str(), stdout);
  if (config.realtime) {
    std::printf("ran %.1f s in real time over UDP loopback\n", config.duration.seconds_f());
  } else {
    std::printf("simulated %.1f s in %.2f s of wall time (%.1fx real time)\n", config.duration.seconds_f(), wall_s,
                config.duration.seconds_f() / std::max(wall_s, 1e-6));
  }
  int rc = 0;
  if (!config.json_path.empty()) {
    if (write_file(config.json_path, to_json(result))) {
      std::printf("JSON:   %s\n", config.json_path.c_str());
    } else {
      std::fprintf(stderr, "tern-loopback: error: cannot write %s\n", config.json_path.c_str());
      rc = 1;
    }
  }
  if (!config.report_path.empty()) {
    if (write_file(config.report_path, to_html(result))) {
      std::printf("report: %s\n", config.report_path.c_str());
    } else {
      std::fprintf(stderr, "tern-loopback: error: cannot write %s\n", config.report_path.c_str());
      rc = 1;
    }
  }
  if (!config.record_path.empty()) std::printf("WebM:   %s\n", config.record_path.c_str());
  return rc;
}
