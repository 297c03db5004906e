// WorkerFront: tern-sfu's HTTP front over its workers (sfu_worker.h), called by several HTTP
// threads at once (tools/net/http_bridge.h StartThreaded), so one stuck worker never holds up the
// requests of the others. A WHIP/WHEP request goes to its room's worker alone (a new room: the
// least-loaded worker that is not stalled; a resource's PATCH/DELETE: the worker that made it) and
// waits for that worker at most call_timeout. /stats and /metrics ask every worker for fresh
// figures at once and wait at most snapshot_wait in all; a worker that did not answer by then is
// served from its last figures, marked stale (/stats "workers"[i].stale, ageSeconds; /metrics
// tern_sfu_worker_up 0, tern_sfu_worker_snapshot_age_seconds), and its missed deadline counted and
// logged once by the worker (SfuWorker::stalled()). Memory: the RoomPins table and one snapshot of
// each kind per worker.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "sfu_worker.h"
#include "tern/core/units.h"
#include "tern/whip/http_message.h"

namespace tern::tools::sfu_tool {

struct WorkerFrontConfig {
  TimeDelta call_timeout = TimeDelta::Seconds(4);   // a WHIP/WHEP request's wait for its worker; then 503
  TimeDelta snapshot_wait = TimeDelta::Seconds(1);  // /stats and /metrics: for all the workers' fresh figures
};

class WorkerFront {
 public:
  // `workers` outlive the front. Invalid configuration (a wait not above zero) is rejected.
  static Result<std::unique_ptr<WorkerFront>> Create(std::vector<SfuWorker*> workers, const WorkerFrontConfig& config);

  // Every method: any thread, concurrently.
  // A WHIP/WHEP request (POST /whip/<room>, /whep/<room>; PATCH, DELETE, OPTIONS of a resource),
  // answered by its worker; 503 + Retry-After when that worker is stalled, busy or late.
  whip::HttpResponse handle(const whip::HttpRequest& request);
  // /stats (merge_stats) and /metrics (merge_metrics) of every worker.
  std::string stats_json();
  std::string prometheus_metrics();
  // Rooms pinned to a worker now.
  size_t rooms() const;

 private:
  WorkerFront(std::vector<SfuWorker*> workers, const WorkerFrontConfig& config) : workers_(std::move(workers)), config_(config) {}
  std::vector<WorkerSnapshot> snapshots(SnapshotKind kind);

  std::vector<SfuWorker*> workers_;
  WorkerFrontConfig config_;
  mutable std::mutex mutex_;  // guards pins_ (never held while waiting for a worker)
  RoomPins pins_;
};

}  // namespace tern::tools::sfu_tool
