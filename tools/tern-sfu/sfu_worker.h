// tern-sfu's workers (the mediasoup worker model): one single-threaded worker per core, each with
// its own sfu::SfuServer, its own UDP socket (its own port) and its own EpollDriver loop on its own
// thread. The HTTP thread (main.cpp) pins every room to one worker (all of a room's sessions there,
// a new room on the least-loaded worker) and hands it the room's WHIP/WHEP requests through the
// worker's job queue, woken by an eventfd; the sans-I/O core never sees a lock or another thread.
// Each worker's server has its own SfuRecorder (recording.h) as its MediaTap, called on the
// worker's thread: it counts the publishers' frames and, with --record-dir, records them into
// DIR/<room>-w<worker>-<session>.webm (session ids are per worker, the worker index keeps the names
// apart); the worker's stop() drains its server, which finalises its recordings.
//
// Bounds and policies: at most kMaxJobs (WorkerOptions::max_jobs) jobs wait per worker (beyond:
// the HTTP request gets 503 + Retry-After at once, counted as refused); a caller waits at most its
// timeout (503 + Retry-After, counted as timed out; the job stays queued and its late answer is
// discarded, so a stuck worker fills its queue and later requests are refused without waiting); at most kMaxEnded ended resource ids wait for the HTTP thread (beyond: dropped, and
// their room stays pinned to its worker, which is harmless). RoomPins: at most one pin per live
// session (a pin goes with its room's last session).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/sfu/sfu_server.h"
#include "tern/transport/socket_address.h"
#include "tern/whip/http_message.h"

namespace tern::tools::sfu_tool {

struct WorkerOptions {
  transport::SocketAddress udp;  // this worker's socket (port 0: any)
  // ICE-TCP (RFC 6544 passive, RFC 4571 framing): this worker's listening socket, a second
  // candidate in every answer; nullopt: UDP only.
  std::optional<transport::SocketAddress> tcp;
  size_t max_tcp_connections = 256;
  size_t tcp_max_send_queue = 256 * 1024;  // bytes queued per ICE-TCP connection; beyond: closed (ice_tcp_driver.h)
  bool udp_candidates = true;  // false (test only): answers carry the TCP candidate alone
  std::string token;
  size_t max_sessions = 256;
  size_t max_subscribers = 64;
  std::string record_dir;  // empty: frames counted, nothing recorded
  bool quiet = false;      // the recorder logs errors only
  sfu::RoomMode room_mode = sfu::RoomMode::kBroadcast;
  size_t max_jobs = 64;  // SfuWorker::kMaxJobs; smaller in tests
  bool probing = true;              // bandwidth probes toward subscribers short of their next layer
  double probe_budget_kbps = 300;   // padding per subscriber (the worker's total: SfuConfig's)
  double subscriber_start_kbps = 1500;  // a subscriber's estimate before its feedback
};

struct WorkerJobCounters {
  uint64_t refused = 0;    // 503 at once: the job queue was full (the worker is stuck or far behind)
  uint64_t timed_out = 0;  // 503: the worker did not answer within the caller's timeout
};

class SfuWorker {
 public:
  static constexpr size_t kMaxJobs = 64;
  static constexpr size_t kMaxEnded = 4096;  // ended resource ids the HTTP thread has not taken yet

  // Opens the socket, creates the server and starts the thread. Errors: the socket's or server's.
  static Result<std::unique_ptr<SfuWorker>> Start(int index, const WorkerOptions& options);
  ~SfuWorker();  // stop() if not yet, then joins
  SfuWorker(const SfuWorker&) = delete;
  SfuWorker& operator=(const SfuWorker&) = delete;

  int index() const { return index_; }
  // The UDP address every session of this worker has as its candidate.
  std::string udp_address() const { return udp_address_; }
  // The ICE-TCP listening address ("" without --tcp).
  std::string tcp_address() const { return tcp_address_; }
  // Sessions on this worker now (updated by the worker; read by the HTTP thread to place rooms).
  size_t load() const { return load_.load(std::memory_order_relaxed); }
  // CPU time the worker's thread used so far.
  double cpu_seconds() const;

  // A WHIP/WHEP request (POST, PATCH, DELETE, OPTIONS) answered by this worker's endpoints.
  whip::HttpResponse handle(const whip::HttpRequest& request, TimeDelta timeout);
  // The worker's server's /stats JSON (with its recorder's additions: SfuRecorder::annotate_stats)
  // and /metrics text (nullopt: busy or timed out).
  std::optional<std::string> stats_json(TimeDelta timeout);
  std::optional<std::string> prometheus_metrics(TimeDelta timeout);
  // Jobs refused (queue full) and timed out so far; any thread.
  WorkerJobCounters job_counters() const {
    return {refused_.load(std::memory_order_relaxed), timed_out_.load(std::memory_order_relaxed)};
  }
  // Test only: runs `job` on the worker's thread as a queued job (e.g. one that blocks, to make the
  // worker stuck); false when the queue is full.
  bool post_for_test(std::function<void()> job) {
    return post([job = std::move(job)](Timestamp) { job(); });
  }
  // Resource ids (Location paths' last segment) of sessions the server ended on its own.
  std::vector<std::string> take_ended();

  // Drains the server (every session closed, close_notify sent, every recording finalised), stops
  // the loop and joins the thread; returns the server's stats as they were just before the drain,
  // with the recorder's summary as it is after it ("" when it had stopped).
  std::string stop(TimeDelta timeout);

  struct State;  // the worker thread's objects (sfu_worker.cpp)

 private:
  SfuWorker(int index, std::unique_ptr<State> state);
  // Runs `job` on the worker's thread and waits for its result at most `timeout`.
  // nullopt: refused (queue full) or timed out (counted).
  template <typename R>
  std::optional<R> call(std::function<R(Timestamp)> job, TimeDelta timeout, bool* refused = nullptr);
  bool post(std::function<void(Timestamp)> job);
  void run();
  void run_jobs(Timestamp now);

  int index_;
  size_t max_jobs_ = kMaxJobs;
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> timed_out_{0};
  std::string udp_address_;
  std::string tcp_address_;
  std::unique_ptr<State> state_;
  std::atomic<size_t> load_{0};
  std::mutex mutex_;  // guards jobs_ and ended_ (the queue between threads; never the core)
  std::deque<std::function<void(Timestamp)>> jobs_;
  std::vector<std::string> ended_;
  int event_fd_ = -1;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> stop_flag_{false};  // the loop's stop flag when a drain did not answer
  std::atomic<double> final_cpu_seconds_{0};
  std::thread thread_;
};

// The HTTP thread's table of rooms -> worker and WHIP resources -> (worker, room).
class RoomPins {
 public:
  // The worker a request for `room` goes to: its pin, or the least-loaded of `loads`.
  size_t place(const std::string& room, const std::vector<size_t>& loads) const;
  // A session was created on `worker` for `room` under `resource` (the Location path).
  void add(const std::string& resource, size_t worker, const std::string& room);
  // The worker of a resource path ("/whip/resource/<id>"), if known.
  std::optional<size_t> worker_of(const std::string& resource) const;
  // A resource ended (DELETE, or the server ended it): unpins its room with its last session.
  void remove(const std::string& resource);
  // Like remove() for a resource id alone (the last path segment), as take_ended() reports them.
  void remove_id(const std::string& id);
  size_t rooms() const { return rooms_.size(); }

 private:
  struct Pin {
    size_t worker = 0;
    size_t sessions = 0;
  };
  struct Resource {
    size_t worker = 0;
    std::string room;
  };
  std::map<std::string, Pin> rooms_;
  std::map<std::string, Resource> resources_;
};

// /stats of several workers as one document: "server" counters summed, "rooms" and "sessions"
// merged (each tagged with its "worker"), "timestamp" the latest of the workers', "workers":
// [{worker, udp, sessions, sessionsCreated, cpuSeconds, jobsRefused, jobsTimedOut, timestamp (when that
// worker's figures were taken)}], "iceTcp": the workers' ICE-TCP driver counters summed (with --tcp),
// "recorder": the workers' recorder counters summed, their "recordings" listed (each tagged with its
// "worker"), worker 0's first.
std::string merge_stats(const std::vector<std::string>& per_worker, const std::vector<SfuWorker*>& workers);
// /metrics of several workers: every sample gets a worker="<i>" label, samples grouped by family;
// plus tern_sfu_workers, tern_sfu_worker_cpu_seconds_total{worker} and
// tern_sfu_worker_jobs_{refused,timed_out}_total{worker}.
std::string merge_metrics(const std::vector<std::string>& per_worker, const std::vector<SfuWorker*>& workers);

}  // namespace tern::tools::sfu_tool
