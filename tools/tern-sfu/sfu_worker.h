// tern-sfu's workers (the mediasoup worker model): one single-threaded worker per core, each with
// its own sfu::SfuServer, its own UDP socket (its own port) and its own EpollDriver loop on its own
// thread. The HTTP front (worker_front.h) pins every room to one worker (all of a room's sessions
// there, a new room on the least-loaded worker) and hands it the room's WHIP/WHEP requests through
// the worker's job queue, woken by an eventfd; the sans-I/O core never sees a lock or another
// thread. The front calls workers from several HTTP threads at once, so one stuck worker delays
// only the requests routed to it.
// Each worker's server has its own SfuRecorder (recording.h) as its MediaTap, called on the
// worker's thread: it counts the publishers' frames and, with --record-dir, records them into
// DIR/<room>-w<worker>-<session>.webm (session ids are per worker, the worker index keeps the names
// apart); the worker's stop() drains its server, which finalises its recordings.
//
// Bounds and policies: at most kMaxJobs (WorkerOptions::max_jobs) jobs wait per worker and at most
// max_waiting callers wait on one worker at once (each holds one HTTP thread; beyond either: the
// request gets 503 + Retry-After at once, counted as refused); a caller waits at most its timeout
// (503 + Retry-After, counted as timed out; the job stays queued and its late answer is discarded).
// A worker with such an overdue job not yet run is stalled (stalled()): its requests get 503 at
// once and its /stats and /metrics figures are its last ones, marked stale, until it runs the job;
// the first missed deadline of a stall is counted (stalls) and logged once, and so is the end of
// the stall. /stats and /metrics figures are snapshots (refresh(), snapshot()): at most one refresh
// of each kind queued per worker, the latest text of each kind kept (one string each). At most
// kMaxEnded ended resource ids wait for the HTTP thread (beyond: dropped, and their room stays pinned
// to its worker, which is harmless). RoomPins: at most one pin per live session or request in flight
// (a pin goes with its room's last session).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
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
#include "tern/transport/srtp_session.h"
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
  size_t max_waiting = 4;  // callers waiting on this worker at once (HTTP threads it holds); more: 503 at once
  transport::SrtpBackend srtp_backend = transport::SrtpBackend::kOpenSsl;  // --srtp-backend
  double max_publisher_kbps = 8000;   // SfuConfig::max_publisher_bitrate (0: none)
  double max_publish_mbps = 1000;     // SfuConfig::max_total_publisher_bitrate of this worker (0: none)
  bool probing = true;              // bandwidth probes toward subscribers short of their next layer
  double probe_budget_kbps = 300;   // padding per subscriber (the worker's total: SfuConfig's)
  double subscriber_start_kbps = 1500;  // a subscriber's estimate before its feedback
};

struct WorkerJobCounters {
  uint64_t refused = 0;    // 503 at once: the job queue was full, max_waiting callers waited already, or stalled
  uint64_t timed_out = 0;  // 503: the worker did not answer within the caller's timeout
  uint64_t snapshots_missed = 0;  // /stats or /metrics served this worker's last figures: no fresh ones in time
  uint64_t stalls = 0;     // missed deadlines that made the worker stalled (each logged once)
};

// /stats JSON or /metrics text of one worker.
enum class SnapshotKind { kStats = 0, kMetrics = 1 };
struct WorkerSnapshot {
  std::string text;                // "" before the worker's first
  std::optional<Timestamp> taken;  // on the worker's loop (EpollDriver::Now's clock); nullopt: none yet
  bool fresh = false;              // taken for this request (false: its last figures, stale)
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
  // Fresh figures of `kind` from this worker alone: its server's /stats JSON (with its recorder's
  // additions: SfuRecorder::annotate_stats) or /metrics text, waiting at most `timeout` (nullopt:
  // none by then: refused, stalled or late; counted in snapshots_missed). refresh() + snapshot().
  std::optional<std::string> fresh_figures(SnapshotKind kind, TimeDelta timeout);
  // Jobs refused, timed out, snapshots missed and stalls so far; any thread.
  WorkerJobCounters job_counters() const {
    return {refused_.load(std::memory_order_relaxed), timed_out_.load(std::memory_order_relaxed),
            snapshots_missed_.load(std::memory_order_relaxed), stalls_.load(std::memory_order_relaxed)};
  }
  // Whether a job whose caller gave up waiting on it has not run yet (the worker's loop is stuck or
  // far behind): its requests get 503 at once meanwhile, and no refresh is queued. Any thread.
  bool stalled() const;
  // Callers waiting for this worker now (at most max_waiting). Any thread.
  size_t waiting() const { return waiting_.load(); }
  // Figures without waiting on workers one after the other: refresh() queues one job making fresh
  // figures of `kind` (unless one is queued already, or the worker is stalled) and returns the
  // version to wait for (nullopt: none coming); snapshot() waits for it until `deadline` at most and
  // returns the latest figures, fresh or not (not: counted in snapshots_missed, and a refresh not
  // run by `deadline` makes the worker stalled). Any thread.
  std::optional<uint64_t> refresh(SnapshotKind kind);
  WorkerSnapshot snapshot(SnapshotKind kind, std::optional<uint64_t> version, Timestamp deadline);
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
  // nullopt: refused at once (stalled, queue full, max_waiting callers waiting) or timed out (each
  // counted; a time-out makes the worker stalled). `refused` (nullable): why it was refused.
  template <typename R>
  std::optional<R> call(std::function<R(Timestamp)> job, TimeDelta timeout, const char** refused = nullptr);
  // The job's sequence number (from 1); 0: refused (stopped, or the queue is full).
  uint64_t post(std::function<void(Timestamp)> job);
  void run();
  void run_jobs(Timestamp now);
  // Job `seq` missed its caller's deadline: the worker is stalled until it has run it.
  void missed(uint64_t seq, const char* what);
  // The figures, on the worker's thread.
  std::string make_stats(Timestamp now) const;
  std::string make_metrics() const;

  struct SnapshotSlot {
    std::string text;
    std::optional<Timestamp> taken;
    uint64_t version = 0;  // figures made so far
    bool queued = false;   // a refresh is queued (its job: queued_seq)
    uint64_t queued_seq = 0;
  };
  int index_;
  size_t max_jobs_ = kMaxJobs;
  size_t max_waiting_ = 4;
  std::atomic<size_t> waiting_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> timed_out_{0};
  std::atomic<uint64_t> snapshots_missed_{0};
  std::atomic<uint64_t> stalls_{0};
  std::atomic<uint64_t> jobs_run_{0};    // the sequence number of the last job run
  std::atomic<uint64_t> overdue_seq_{0};  // the latest job whose caller gave up on it
  std::mutex stall_mutex_;  // guards the stall's start and log (stall_since_); never held while waiting
  std::optional<Timestamp> stall_since_;  // a stall was logged and has not ended
  std::mutex snapshot_mutex_;  // guards slots_
  std::condition_variable snapshot_done_;
  std::array<SnapshotSlot, 2> slots_;
  std::string udp_address_;
  std::string tcp_address_;
  std::unique_ptr<State> state_;
  std::atomic<size_t> load_{0};
  std::mutex mutex_;  // guards jobs_ and ended_ (the queue between threads; never the core)
  std::deque<std::pair<uint64_t, std::function<void(Timestamp)>>> jobs_;  // (sequence number, job)
  uint64_t jobs_posted_ = 0;
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
  // A request for `room` is on its way to `worker`: the room stays pinned there until release(),
  // so concurrent requests for a new room all go to one worker.
  void hold(const std::string& room, size_t worker);
  void release(const std::string& room);
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
    size_t holds = 0;  // requests in flight
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
// [{worker, udp, sessions, sessionsCreated, cpuSeconds, jobsRefused, jobsTimedOut, snapshotsMissed,
// stalls, stalled, stale (its figures are its last ones: it did not answer this request in time),
// ageSeconds (of its figures; null: none yet), timestamp (when that worker's figures were taken)}],
// "iceTcp": the workers' ICE-TCP driver counters summed (with --tcp), "recorder": the workers'
// recorder counters summed, their "recordings" listed (each tagged with its "worker"), worker 0's
// first. `now`: the clock of the snapshots' `taken`.
std::string merge_stats(const std::vector<WorkerSnapshot>& per_worker, const std::vector<SfuWorker*>& workers, Timestamp now);
// The same for figures all fresh (taken now).
std::string merge_stats(const std::vector<std::string>& per_worker, const std::vector<SfuWorker*>& workers);
// /metrics of several workers: every sample gets a worker="<i>" label, samples grouped by family
// (a stale worker's: its last ones); plus tern_sfu_workers, and per worker
// tern_sfu_worker_cpu_seconds_total, tern_sfu_worker_jobs_{refused,timed_out}_total,
// tern_sfu_worker_up (1: it answered this scrape in time), tern_sfu_worker_stalled,
// tern_sfu_worker_snapshot_age_seconds, tern_sfu_worker_snapshots_missed_total and
// tern_sfu_worker_stalls_total.
std::string merge_metrics(const std::vector<WorkerSnapshot>& per_worker, const std::vector<SfuWorker*>& workers, Timestamp now);
std::string merge_metrics(const std::vector<std::string>& per_worker, const std::vector<SfuWorker*>& workers);

}  // namespace tern::tools::sfu_tool
