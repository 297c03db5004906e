#include "worker_front.h"

#include <limits>

#include "tern/transport/epoll_driver.h"

namespace tern::tools::sfu_tool {

namespace {

// "/whip/<room>" or "/whep/<room>" -> room ("" for anything else, e.g. a resource path).
std::string front_room_of(const std::string& path) {
  if (path.rfind("/whip/", 0) != 0 && path.rfind("/whep/", 0) != 0) return "";
  std::string room = path.substr(6);
  if (room.empty() || room.find('/') != std::string::npos || room == "resource") return "";
  return room;
}

}  // namespace

Result<std::unique_ptr<WorkerFront>> WorkerFront::Create(std::vector<SfuWorker*> workers, const WorkerFrontConfig& config) {
  if (workers.empty()) return Error{"tern-sfu front: no workers"};
  if (config.call_timeout <= TimeDelta::Zero()) return Error{"tern-sfu front: call_timeout must be above zero"};
  if (config.snapshot_wait <= TimeDelta::Zero()) return Error{"tern-sfu front: snapshot_wait must be above zero"};
  return std::unique_ptr<WorkerFront>(new WorkerFront(std::move(workers), config));
}

whip::HttpResponse WorkerFront::handle(const whip::HttpRequest& request) {
  const std::string room = front_room_of(request.path);
  size_t index = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (SfuWorker* w : workers_) {
      for (const std::string& id : w->take_ended()) pins_.remove_id(id);  // sessions the servers ended
    }
    if (!room.empty()) {
      // A room's offer goes to the room's worker; a new room to the least-loaded worker that is not
      // stalled (all stalled: worker 0, which answers 503 at once).
      std::vector<size_t> loads;
      for (SfuWorker* w : workers_) loads.push_back(w->stalled() ? std::numeric_limits<size_t>::max() : w->load());
      index = pins_.place(room, loads);
      // A call side's "/whep/<its WHIP resource id>": the worker of that resource.
      if (request.path.rfind("/whep/", 0) == 0) {
        if (auto side = pins_.worker_of("/whip/resource/" + room)) index = *side;
      }
      pins_.hold(room, index);  // concurrent offers for a new room: one worker
    } else if (auto pinned = pins_.worker_of(request.path)) {
      index = *pinned;  // a resource's PATCH/DELETE (unknown: worker 0 answers 404)
    }
  }
  whip::HttpResponse response = workers_[index]->handle(request, config_.call_timeout);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!room.empty()) {
    if (request.method == "POST" && response.status == 201) {
      if (auto location = response.header("Location")) pins_.add(std::string(*location), index, room);
    }
    pins_.release(room);
  } else if (request.method == "DELETE" && response.status == 200) {
    pins_.remove(request.path);
  }
  return response;
}

std::vector<WorkerSnapshot> WorkerFront::snapshots(SnapshotKind kind) {
  // Every worker asked first, then each waited for until one common deadline: a late worker costs
  // snapshot_wait once, not once per worker; a stalled one is not asked (its last figures).
  std::vector<std::optional<uint64_t>> versions;
  for (SfuWorker* w : workers_) versions.push_back(w->refresh(kind));
  const Timestamp deadline = transport::EpollDriver::Now() + config_.snapshot_wait;
  std::vector<WorkerSnapshot> out;
  for (size_t i = 0; i < workers_.size(); ++i) out.push_back(workers_[i]->snapshot(kind, versions[i], deadline));
  return out;
}

std::string WorkerFront::stats_json() {
  std::vector<WorkerSnapshot> each = snapshots(SnapshotKind::kStats);
  return merge_stats(each, workers_, transport::EpollDriver::Now());
}

std::string WorkerFront::prometheus_metrics() {
  std::vector<WorkerSnapshot> each = snapshots(SnapshotKind::kMetrics);
  return merge_metrics(each, workers_, transport::EpollDriver::Now());
}

size_t WorkerFront::rooms() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pins_.rooms();
}

}  // namespace tern::tools::sfu_tool
