// tern-sfu --record-dir under a file size limit (`prlimit --fsize`, what `ulimit -f` sets): the
// process ignores SIGXFSZ, so a recording that reaches the limit gets EFBIG from write() (as a full
// disk gives ENOSPC), which stops that recording only (tests/sfu/sfu_tool_bounds_test.cpp checks
// that path in process, under RLIMIT_FSIZE); the default action would kill the server. Here the
// real binary gets SIGXFSZ while serving, keeps answering /stats, and drains on SIGTERM (exit 0).
// ~0.3 s wall: a recording reaches the disk only with libavformat's first 5 s cluster, too long
// to wait for here.
#include <doctest/doctest.h>

#include <signal.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "support/peer.h"
#include "support/process.h"
#include "support/tool_run.h"

namespace {

// GET /stats of the server at `base`, parsed (null when it does not answer).
nlohmann::json RecordLimitStats(const std::string& base) {
  const std::string body = tern::test::http_get(base, "/stats");
  return body.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(body, nullptr, false);
}

}  // namespace

TEST_CASE("tern-sfu: with --record-dir a file size limit's SIGXFSZ does not stop the server") {
  const std::string dir = tern::test::scratch_dir("tern_sfu_record_limit");
  const std::string base = "http://127.0.0.1:5997";
  tern::test::BackgroundPeer sfu("prlimit --fsize=4096 " + tern::test::tool_path("tern-sfu") + " --http 127.0.0.1:5997 --quiet --record-dir " +
                                     dir + "/recordings",
                                 20, dir + "/sfu.log");
  REQUIRE(sfu.started());
  nlohmann::json stats;
  for (int i = 0; i < 100 && !stats.is_object(); ++i) {  // bounded: 5 s while it starts
    stats = RecordLimitStats(base);
    if (!stats.is_object()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO("sfu:\n" << sfu.log());
  REQUIRE(stats.is_object());
  const int pid = stats.value("pid", 0);  // tern-sfu's own (the peer's pid is `timeout`'s)
  REQUIRE(pid > 0);
  REQUIRE(::kill(pid, SIGXFSZ) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const nlohmann::json after = RecordLimitStats(base);
  CHECK(after.is_object());
  CHECK(after.value("pid", 0) == pid);
  sfu.send_signal(SIGTERM);
  REQUIRE(sfu.wait(5000));
  CHECK(sfu.exit_code() == 0);
}
