#include "sfu_worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <utility>

#include "tern/ice/core_address.h"
#include "tern/sfu/sfu_signalling.h"
#include "tern/tools/net/tool_loop.h"
#include "tern/transport/epoll_driver.h"
#include "tern/transport/pollable.h"
#include "tern/transport/udp_socket.h"
#include "tern/whip/whip_endpoint.h"
#include "ice_tcp_driver.h"
#include "recording.h"

namespace tern::tools::sfu_tool {

namespace {

// Per datagram both ways: no text on the way (SocketAddress <-> core <-> ice are plain copies).
ice::TransportAddress to_ice(const transport::SocketAddress& a) { return ice::from_core(a.to_core()); }
transport::SocketAddress to_socket(const ice::TransportAddress& a) { return transport::SocketAddress::FromCore(ice::to_core(a)); }

// The server on its worker's loop: the UDP socket's reads in, its datagrams out (sendmmsg batches),
// its timers, and the sessions it ended dropped from their endpoint.
class SfuDriver final : public transport::Pollable {
 public:
  SfuDriver(sfu::SfuServer& server, transport::UdpSocket& socket, IceTcpDriver* tcp, std::function<void()> on_ended)
      : server_(server), socket_(socket), tcp_(tcp), on_ended_(std::move(on_ended)) {}
  std::optional<Timestamp> next_wakeup() const override { return server_.next_wakeup(); }
  void process(Timestamp now) override {
    server_.process(now);
    flush();
    on_ended_();
  }
  void on_readable(Timestamp now) {
    for (int round = 0; round < 64; ++round) {  // bounded: other work gets its turn
      std::array<transport::Datagram, 32> slots;
      for (size_t i = 0; i < slots.size(); ++i) slots[i].buffer = std::span<uint8_t>(buffers_[i]);
      auto n = socket_.receive_batch(slots);
      if (!n.ok() || *n == 0) break;
      for (size_t i = 0; i < *n; ++i) {
        if (!slots[i].truncated) server_.on_datagram(to_ice(slots[i].peer), slots[i].data(), now);
      }
      flush();
      if (*n < slots.size()) break;  // drained: no second recvmmsg just to read EAGAIN (epoll is level-triggered)
    }
  }
  void on_tcp_readable(Timestamp now) {
    tcp_->on_readable(now);
    flush();
  }
  void flush() {
    std::vector<sfu::SfuOutgoing> out = server_.take_outgoing();
    if (tcp_ != nullptr) {  // ICE-TCP packets to their connections; the datagrams stay
      for (const sfu::SfuOutgoing& o : out)
        if (o.connection != 0) tcp_->send(o.connection, o.data);
      std::erase_if(out, [](const sfu::SfuOutgoing& o) { return o.connection != 0; });
      tcp_->close_ended();
    }
    for (size_t start = 0; start < out.size(); start += kBatch) {
      std::array<transport::Datagram, kBatch> batch;
      size_t n = 0;
      for (size_t i = start; i < out.size() && i < start + kBatch; ++i) {
        batch[n].peer = to_socket(out[i].destination);
        if (batch[n].peer.empty()) {
          ++send_failures;
          continue;
        }
        batch[n].buffer = std::span<uint8_t>(out[i].data);
        batch[n].size = out[i].data.size();
        ++n;
      }
      auto sent = socket_.send_batch(std::span<const transport::Datagram>(batch.data(), n));
      // UDP: what the kernel did not take is lost; the peer repairs (NACK/RTX) or conceals.
      if (!sent.ok()) send_failures += n;
      else if (*sent < n) send_failures += n - *sent;
    }
    server_.recycle(std::move(out));  // the kernel copied them: buffers for the next forwarded packets
  }
  uint64_t send_failures = 0;

 private:
  static constexpr size_t kBatch = 32;
  sfu::SfuServer& server_;
  transport::UdpSocket& socket_;
  IceTcpDriver* tcp_;  // null without --tcp
  std::function<void()> on_ended_;
  std::array<std::array<uint8_t, 2048>, 32> buffers_{};
};

}  // namespace

struct SfuWorker::State {
  transport::EpollDriver driver;
  transport::UdpSocket socket;
  std::unique_ptr<IceTcpDriver> tcp;  // --tcp (null without); its destructor only closes descriptors
  std::unique_ptr<SfuRecorder> recorder;  // the server's MediaTap: outlives it
  std::unique_ptr<sfu::SfuServer> server;
  std::unique_ptr<sfu::SfuSignalling> signalling;
  std::unique_ptr<whip::WhipEndpoint> whip;
  std::unique_ptr<whip::WhipEndpoint> whep;
  std::unique_ptr<SfuDriver> sfu_driver;
  std::string final_stats;
};

Result<std::unique_ptr<SfuWorker>> SfuWorker::Start(int index, const WorkerOptions& options) {
  auto driver = transport::EpollDriver::Create();
  if (!driver) return Error{driver.error()};
  auto socket = transport::UdpSocket::Open(options.udp);
  if (!socket) return Error{socket.error()};
  sfu::SfuConfig config;
  config.address = to_ice(socket->local_address());
  std::unique_ptr<IceTcpDriver> tcp;
  if (options.tcp) {
    auto opened = IceTcpDriver::Open(*options.tcp, options.tcp_max_send_queue, index);
    if (!opened) return Error{opened.error()};
    tcp = std::move(opened).value();
    config.tcp_address = to_ice(tcp->local_address());
    config.max_tcp_connections = options.max_tcp_connections;
  }
  config.udp_candidate = options.udp_candidates;
  config.max_sessions = options.max_sessions;
  config.max_subscribers_per_room = options.max_subscribers;
  config.room_mode = options.room_mode;
  config.srtp_backend = options.srtp_backend;
  config.max_publisher_bitrate = DataRate::BitsPerSec(static_cast<int64_t>(options.max_publisher_kbps * 1000));
  config.max_total_publisher_bitrate = DataRate::BitsPerSec(static_cast<int64_t>(options.max_publish_mbps * 1e6));
  config.subscriber_probing = options.probing;
  config.probe_budget_per_session = DataRate::BitsPerSec(static_cast<int64_t>(options.probe_budget_kbps * 1000));
  config.subscriber_start_rate = DataRate::BitsPerSec(static_cast<int64_t>(options.subscriber_start_kbps * 1000));
  config.seed = 1 + static_cast<uint64_t>(index);
  auto recorder = std::make_unique<SfuRecorder>(options.record_dir, options.quiet, index);
  config.media_tap = recorder.get();
  auto server = sfu::SfuServer::Create(config);
  if (!server) return Error{server.error()};

  auto state = std::make_unique<State>();
  state->driver = std::move(driver).value();
  state->socket = std::move(socket).value();
  state->tcp = std::move(tcp);
  state->recorder = std::move(recorder);
  state->server = std::move(server).value();
  state->signalling = std::make_unique<sfu::SfuSignalling>(*state->server);
  auto endpoint_config = [&](whip::SignallingKind kind) {
    return net::tool_endpoint_config(kind, options.token, options.max_sessions);
  };
  state->whip = std::make_unique<whip::WhipEndpoint>(endpoint_config(whip::SignallingKind::kWhip),
                                                     state->signalling->whip_handler());
  state->whep = std::make_unique<whip::WhipEndpoint>(endpoint_config(whip::SignallingKind::kWhep),
                                                     state->signalling->whep_handler());
  std::unique_ptr<SfuWorker> w(new SfuWorker(index, std::move(state)));
  w->max_jobs_ = std::max<size_t>(1, options.max_jobs);
  w->max_waiting_ = std::max<size_t>(1, options.max_waiting);
  w->event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (w->event_fd_ < 0) return Error{"tern-sfu: eventfd failed"};
  State& s = *w->state_;
  SfuWorker* self = w.get();
  if (s.tcp) s.tcp->attach(*s.server);
  s.sfu_driver = std::make_unique<SfuDriver>(*s.server, s.socket, s.tcp.get(), [self] {
    State& st = *self->state_;
    std::vector<std::string> ended = st.signalling->ended();
    for (const std::string& id : ended) (void)(st.whip->drop(id) || st.whep->drop(id));  // in one
    if (!ended.empty()) {
      std::lock_guard<std::mutex> lock(self->mutex_);
      for (std::string& id : ended) {
        if (self->ended_.size() < kMaxEnded) self->ended_.push_back(std::move(id));  // else: the room stays pinned
      }
    }
    self->load_.store(st.server->session_count(), std::memory_order_relaxed);
  });
  if (Status st = s.driver.add_fd(s.socket.fd(), [self](Timestamp now) { self->state_->sfu_driver->on_readable(now); }); !st.ok())
    return Error{st.error()};
  if (Status st = s.driver.add_fd(w->event_fd_, [self](Timestamp now) { self->run_jobs(now); }); !st.ok()) return Error{st.error()};
  if (s.tcp) {
    if (Status st = s.driver.add_fd(s.tcp->fd(), [self](Timestamp now) { self->state_->sfu_driver->on_tcp_readable(now); });
        !st.ok())
      return Error{st.error()};
    w->tcp_address_ = to_ice(s.tcp->local_address()).to_string();
  }
  if (Status st = s.driver.add_pollable(s.sfu_driver.get()); !st.ok()) return Error{st.error()};
  if (Status st = s.driver.add_pollable(s.recorder.get()); !st.ok()) return Error{st.error()};
  s.driver.set_stop_flag(&w->stop_flag_);
  w->udp_address_ = to_ice(s.socket.local_address()).to_string();
  w->thread_ = std::thread([self] { self->run(); });
  return w;
}

SfuWorker::SfuWorker(int index, std::unique_ptr<State> state) : index_(index), state_(std::move(state)) {}

SfuWorker::~SfuWorker() {
  (void)stop(TimeDelta::Seconds(5));
  if (event_fd_ >= 0) ::close(event_fd_);
}

void SfuWorker::run() {
  // Signals go to the HTTP thread (ToolLoop blocks them before the workers start).
  (void)state_->driver.run_until(transport::EpollDriver::Now() + TimeDelta::Seconds(86400LL * 365 * 10));
}

double SfuWorker::cpu_seconds() const {
  if (!thread_.joinable() || stopped_.load()) return final_cpu_seconds_.load();
  clockid_t clock;
  timespec ts{};
  if (pthread_getcpuclockid(const_cast<std::thread&>(thread_).native_handle(), &clock) != 0) return 0;
  if (clock_gettime(clock, &ts) != 0) return 0;
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

uint64_t SfuWorker::post(std::function<void(Timestamp)> job) {
  if (stopped_.load()) return 0;
  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (jobs_.size() >= max_jobs_) return 0;
    seq = ++jobs_posted_;
    jobs_.emplace_back(seq, std::move(job));
  }
  const uint64_t one = 1;
  return ::write(event_fd_, &one, sizeof(one)) == static_cast<ssize_t>(sizeof(one)) ? seq : 0;
}

void SfuWorker::run_jobs(Timestamp now) {
  uint64_t value = 0;
  (void)!::read(event_fd_, &value, sizeof(value));
  // The datagrams already queued first: a client's request (a DELETE, an ICE restart) follows what
  // it sent before it. When the loop wakes for both, epoll may list the jobs first; a busy worker
  // then ended a publisher's session under its last packets (dropped as unauthenticated, missing
  // from its recording). Bounded as any read.
  state_->sfu_driver->on_readable(now);
  std::deque<std::pair<uint64_t, std::function<void(Timestamp)>>> jobs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs.swap(jobs_);
  }
  for (auto& [seq, job] : jobs) {
    job(now);
    jobs_run_.store(seq);
  }
  load_.store(state_->server->session_count(), std::memory_order_relaxed);
  if (jobs.empty()) return;
  std::lock_guard<std::mutex> lock(stall_mutex_);
  if (stall_since_ && !stalled()) {  // the overdue job ran: logged once, like the stall's start
    std::fprintf(stderr, "tern-sfu: worker %d answers again (%.1f s after its first missed deadline)\n", index_,
                 (transport::EpollDriver::Now() - *stall_since_).seconds_f());
    stall_since_.reset();
  }
}

bool SfuWorker::stalled() const { return jobs_run_.load() < overdue_seq_.load(); }

void SfuWorker::missed(uint64_t seq, const char* what) {
  if (seq == 0) return;
  uint64_t overdue = overdue_seq_.load();
  while (overdue < seq && !overdue_seq_.compare_exchange_weak(overdue, seq)) {
  }
  std::lock_guard<std::mutex> lock(stall_mutex_);
  if (stall_since_ || !stalled()) return;  // logged already, or it ran the job meanwhile
  stall_since_ = transport::EpollDriver::Now();
  stalls_.fetch_add(1, std::memory_order_relaxed);
  std::fprintf(stderr,
               "tern-sfu: worker %d missed a deadline (%s): stalled; its requests get 503 at once and /stats, /metrics "
               "show its last figures (stale) until it runs again\n",
               index_, what);
}

template <typename R>
std::optional<R> SfuWorker::call(std::function<R(Timestamp)> job, TimeDelta timeout, const char** refused) {
  auto refuse = [&](const char* why) -> std::optional<R> {
    refused_.fetch_add(1, std::memory_order_relaxed);
    if (refused != nullptr) *refused = why;
    return std::nullopt;
  };
  if (stalled()) return refuse("worker stalled: it has not run a job it was given in time");
  if (waiting_.fetch_add(1) >= max_waiting_) {
    waiting_.fetch_sub(1);
    return refuse("worker busy: too many requests wait for it");
  }
  struct Waiting {
    std::atomic<size_t>& n;
    ~Waiting() { n.fetch_sub(1); }
  } waiting{waiting_};
  auto promise = std::make_shared<std::promise<R>>();
  std::future<R> future = promise->get_future();
  const uint64_t seq = post([promise, job = std::move(job)](Timestamp now) { promise->set_value(job(now)); });
  if (seq == 0) return refuse("worker busy: its job queue is full");
  if (future.wait_for(std::chrono::microseconds(timeout.us())) != std::future_status::ready) {
    timed_out_.fetch_add(1, std::memory_order_relaxed);
    missed(seq, "a request had no answer in time");
    return std::nullopt;
  }
  return future.get();
}

whip::HttpResponse SfuWorker::handle(const whip::HttpRequest& request, TimeDelta timeout) {
  const char* refused = nullptr;
  auto response = call<whip::HttpResponse>(
      [this, request](Timestamp now) {
        State& s = *state_;
        whip::HttpResponse r = (request.path.rfind("/whep", 0) == 0 ? *s.whep : *s.whip).handle(request, now);
        s.sfu_driver->flush();  // an end_session's close_notify
        load_.store(s.server->session_count(), std::memory_order_relaxed);  // before the HTTP thread places the next room
        return r;
      },
      timeout, &refused);
  if (response) return *response;
  whip::HttpResponse busy;
  busy.status = 503;
  busy.add("Retry-After", "1");
  busy.body = std::string(refused != nullptr ? refused : "worker busy: no answer in time") + "\n";
  return busy;
}

std::string SfuWorker::make_stats(Timestamp now) const {
  const State& s = *state_;
  std::string stats = s.recorder->annotate_stats(s.server->stats_json(now));
  if (!s.tcp) return stats;
  nlohmann::json j = nlohmann::json::parse(stats, nullptr, false);
  if (!j.is_object()) return stats;
  const IceTcpDriverCounters& c = s.tcp->counters();
  j["iceTcp"] = {{"connections", static_cast<uint64_t>(s.tcp->connections())},
                 {"accepted", c.accepted},
                 {"slowDropped", c.slow_dropped},
                 {"queuedBytes", static_cast<uint64_t>(s.tcp->queued_bytes())},
                 {"bytesSent", c.bytes_sent}};
  return j.dump(2);
}

std::string SfuWorker::make_metrics() const {
  const State& s = *state_;
  std::string text = s.server->prometheus_metrics() + s.recorder->prometheus_metrics();
  if (s.tcp) {
    const IceTcpDriverCounters& c = s.tcp->counters();
    text.append("# HELP tern_sfu_ice_tcp_slow_dropped_total ICE-TCP connections closed because their peer stopped reading.\n")
        .append("# TYPE tern_sfu_ice_tcp_slow_dropped_total counter\n")
        .append("tern_sfu_ice_tcp_slow_dropped_total ").append(std::to_string(c.slow_dropped)).append("\n")
        .append("# HELP tern_sfu_ice_tcp_queued_bytes Bytes waiting for ICE-TCP connections' sockets.\n")
        .append("# TYPE tern_sfu_ice_tcp_queued_bytes gauge\n")
        .append("tern_sfu_ice_tcp_queued_bytes ").append(std::to_string(s.tcp->queued_bytes())).append("\n");
  }
  return text;
}

std::optional<uint64_t> SfuWorker::refresh(SnapshotKind kind) {
  SnapshotSlot& slot = slots_[static_cast<size_t>(kind)];
  uint64_t version = 0;
  {
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    if (stalled()) return std::nullopt;  // its queued refresh (if any) would not come in time either
    version = slot.version + 1;  // one refresh queued at a time: the next figures are that one's
    if (slot.queued) return version;
    slot.queued = true;
  }
  const uint64_t seq = post([this, kind](Timestamp now) {
    std::string text = kind == SnapshotKind::kStats ? make_stats(now) : make_metrics();
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    SnapshotSlot& done = slots_[static_cast<size_t>(kind)];
    done.text = std::move(text);
    done.taken = now;
    ++done.version;
    done.queued = false;
    snapshot_done_.notify_all();
  });
  std::lock_guard<std::mutex> lock(snapshot_mutex_);
  if (seq == 0) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    slot.queued = false;
    return std::nullopt;
  }
  if (slot.queued) slot.queued_seq = seq;  // (not when it ran already)
  return version;
}

WorkerSnapshot SfuWorker::snapshot(SnapshotKind kind, std::optional<uint64_t> version, Timestamp deadline) {
  const SnapshotSlot& slot = slots_[static_cast<size_t>(kind)];
  WorkerSnapshot out;
  uint64_t overdue = 0;
  {
    std::unique_lock<std::mutex> lock(snapshot_mutex_);
    if (version) {
      const TimeDelta left = deadline - transport::EpollDriver::Now();
      (void)snapshot_done_.wait_for(lock, std::chrono::microseconds(std::max<int64_t>(0, left.us())),
                                    [&] { return slot.version >= *version; });  // the result: fresh below
    }
    out.text = slot.text;
    out.taken = slot.taken;
    out.fresh = version && slot.version >= *version;
    if (version && !out.fresh && slot.queued) overdue = slot.queued_seq;
  }
  if (!out.fresh) snapshots_missed_.fetch_add(1, std::memory_order_relaxed);
  missed(overdue, kind == SnapshotKind::kStats ? "no /stats figures in time" : "no /metrics figures in time");
  return out;
}

std::optional<std::string> SfuWorker::fresh_figures(SnapshotKind kind, TimeDelta timeout) {
  const std::optional<uint64_t> version = refresh(kind);
  WorkerSnapshot s = snapshot(kind, version, transport::EpollDriver::Now() + timeout);
  if (!s.fresh) return std::nullopt;
  return std::move(s.text);
}

std::vector<std::string> SfuWorker::take_ended() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::exchange(ended_, {});
}

std::string SfuWorker::stop(TimeDelta timeout) {
  if (!thread_.joinable()) return state_->final_stats;
  auto done = call<bool>(
      [this](Timestamp now) {
        State& s = *state_;
        const std::string before_drain = s.server->stats_json(now);
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);  // this thread: the worker's
        final_cpu_seconds_.store(double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9);
        s.server->drain(now);  // no new offers; every session's close_notify; recordings finalised (their publishers end)
        s.recorder->finish_all(now);  // none should be left open
        s.sfu_driver->flush();
        s.sfu_driver->process(now);
        s.final_stats = s.recorder->annotate_stats(before_drain);
        s.driver.stop();
        return true;
      },
      timeout);
  stopped_.store(true);
  if (!done) {  // not answered in time: stop the loop without the drain
    stop_flag_.store(true);
    const uint64_t one = 1;
    (void)!::write(event_fd_, &one, sizeof(one));
  }
  thread_.join();
  return state_->final_stats;
}

// ---- RoomPins ----

size_t RoomPins::place(const std::string& room, const std::vector<size_t>& loads) const {
  if (auto it = rooms_.find(room); it != rooms_.end()) return it->second.worker;
  size_t best = 0;
  for (size_t i = 1; i < loads.size(); ++i) {
    if (loads[i] < loads[best]) best = i;
  }
  return best;
}

void RoomPins::hold(const std::string& room, size_t worker) {
  Pin& p = rooms_[room];
  if (p.sessions == 0 && p.holds == 0) p.worker = worker;  // new: pinned now
  ++p.holds;
}

void RoomPins::release(const std::string& room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || it->second.holds == 0) return;
  if (--it->second.holds == 0 && it->second.sessions == 0) rooms_.erase(it);
}

void RoomPins::add(const std::string& resource, size_t worker, const std::string& room) {
  if (resources_.count(resource) != 0) return;
  resources_[resource] = Resource{worker, room};
  Pin& p = rooms_[room];
  p.worker = worker;
  ++p.sessions;
}

std::optional<size_t> RoomPins::worker_of(const std::string& resource) const {
  if (auto it = resources_.find(resource); it != resources_.end()) return it->second.worker;
  return std::nullopt;
}

void RoomPins::remove(const std::string& resource) {
  auto it = resources_.find(resource);
  if (it == resources_.end()) return;
  auto room = rooms_.find(it->second.room);
  if (room != rooms_.end() && room->second.sessions > 0 && --room->second.sessions == 0 && room->second.holds == 0)
    rooms_.erase(room);
  resources_.erase(it);
}

void RoomPins::remove_id(const std::string& id) {
  for (const char* prefix : {"/whip/resource/", "/whep/resource/"}) remove(std::string(prefix).append(id));
}

// ---- aggregation ----

namespace {

std::vector<WorkerSnapshot> all_fresh(const std::vector<std::string>& per_worker, Timestamp now) {
  std::vector<WorkerSnapshot> out;
  for (const std::string& text : per_worker) out.push_back({text, now, true});
  return out;
}

}  // namespace

std::string merge_stats(const std::vector<std::string>& per_worker, const std::vector<SfuWorker*>& workers) {
  const Timestamp now = transport::EpollDriver::Now();
  return merge_stats(all_fresh(per_worker, now), workers, now);
}

std::string merge_metrics(const std::vector<std::string>& per_worker, const std::vector<SfuWorker*>& workers) {
  const Timestamp now = transport::EpollDriver::Now();
  return merge_metrics(all_fresh(per_worker, now), workers, now);
}

std::string merge_stats(const std::vector<WorkerSnapshot>& per_worker, const std::vector<SfuWorker*>& workers, Timestamp now) {
  using nlohmann::json;
  json out;
  json server = json::object();
  json rooms = json::object();
  json sessions = json::array();
  json list = json::array();
  json recorder = json::object();
  json recordings = json::array();
  json ice_tcp = json::object();
  bool draining = false;
  double timestamp = 0;
  for (size_t i = 0; i < per_worker.size() && i < workers.size(); ++i) {
    const json parsed = json::parse(per_worker[i].text, nullptr, false);
    const json w = parsed.is_object() ? parsed : json::object();  // none yet: the worker's entry alone
    timestamp = std::max(timestamp, w.value("timestamp", 0.0));
    draining = draining || w.value("draining", false);
    if (w.contains("server") && w["server"].is_object()) {
      for (const auto& [k, v] : w["server"].items()) {
        if (v.is_number_unsigned()) server[k] = server.value(k, uint64_t{0}) + v.get<uint64_t>();
      }
    }
    if (w.contains("rooms") && w["rooms"].is_object()) {
      for (const auto& [name, r] : w["rooms"].items()) {
        json room = r;
        room["worker"] = i;
        rooms[name] = room;
      }
    }
    size_t count = 0;
    if (w.contains("sessions") && w["sessions"].is_array()) {
      for (const json& s : w["sessions"]) {
        json e = s;
        e["worker"] = i;  // session ids are per worker
        sessions.push_back(e);
        ++count;
      }
    }
    if (w.contains("recorder") && w["recorder"].is_object()) {
      for (const auto& [k, v] : w["recorder"].items()) {
        if (v.is_number_unsigned()) {
          recorder[k] = recorder.value(k, uint64_t{0}) + v.get<uint64_t>();  // the counters
        } else if (k == "recordings" && v.is_array()) {
          for (const json& r : v) {
            json e = r;
            e["worker"] = i;  // its "session" is that worker's id
            recordings.push_back(e);
          }
        } else if (!recorder.contains(k)) {
          recorder[k] = v;  // "dir": the same for every worker
        }
      }
    }
    if (w.contains("iceTcp") && w["iceTcp"].is_object()) {
      for (const auto& [k, v] : w["iceTcp"].items()) {
        if (v.is_number_unsigned()) ice_tcp[k] = ice_tcp.value(k, uint64_t{0}) + v.get<uint64_t>();
      }
    }
    uint64_t created = 0;
    if (w.contains("server") && w["server"].is_object()) created = w["server"].value("sessionsCreated", uint64_t{0});
    const WorkerJobCounters c = workers[i]->job_counters();
    const std::optional<Timestamp> taken = per_worker[i].taken;
    list.push_back({{"worker", i}, {"udp", workers[i]->udp_address()}, {"sessions", count}, {"sessionsCreated", created},
                    {"cpuSeconds", workers[i]->cpu_seconds()}, {"jobsRefused", c.refused}, {"jobsTimedOut", c.timed_out},
                    {"snapshotsMissed", c.snapshots_missed}, {"stalls", c.stalls}, {"stalled", workers[i]->stalled()},
                    {"stale", !per_worker[i].fresh},
                    {"ageSeconds", taken ? json((now - *taken).seconds_f()) : json(nullptr)},
                    {"timestamp", w.value("timestamp", 0.0)}});
  }
  out["timestamp"] = timestamp;
  out["pid"] = static_cast<int>(::getpid());  // for load generators reading /proc/<pid>
  out["draining"] = draining;
  out["server"] = server;
  out["rooms"] = rooms;
  out["sessions"] = sessions;
  out["workers"] = list;
  if (!ice_tcp.empty()) out["iceTcp"] = ice_tcp;
  if (!recorder.empty()) {
    recorder["recordings"] = recordings;
    out["recorder"] = recorder;
  }
  return out.dump(2);
}

std::string merge_metrics(const std::vector<WorkerSnapshot>& per_worker, const std::vector<SfuWorker*>& workers, Timestamp now) {
  struct Family {
    std::string help_type;  // its "# HELP" and "# TYPE" lines
    std::string samples;
  };
  std::vector<std::string> order;
  std::map<std::string, Family> families;
  auto family_of = [&](const std::string& name) -> Family& {
    if (families.count(name) == 0) order.push_back(name);
    return families[name];
  };
  for (size_t i = 0; i < per_worker.size(); ++i) {
    const std::string label = "worker=\"" + std::to_string(i) + "\"";
    size_t pos = 0;
    const std::string& text = per_worker[i].text;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(pos, end - pos);
      pos = end + 1;
      if (line.empty()) continue;
      if (line[0] == '#') {  // "# HELP name ..." / "# TYPE name ..."
        const size_t name_start = line.find(' ', 2);
        if (name_start == std::string::npos) continue;
        const size_t name_end = line.find(' ', name_start + 1);
        Family& f = family_of(line.substr(name_start + 1, name_end - name_start - 1));
        if (f.help_type.find(line.substr(0, 6)) == std::string::npos) f.help_type.append(line).append("\n");  // once
        continue;
      }
      const size_t name_end = line.find_first_of("{ ");
      if (name_end == std::string::npos) continue;
      Family& f = family_of(line.substr(0, name_end));
      if (line[name_end] == '{') {
        f.samples.append(line, 0, name_end + 1).append(label).append(",").append(line, name_end + 1, std::string::npos);
      } else {
        f.samples.append(line, 0, name_end).append("{").append(label).append("}").append(line, name_end, std::string::npos);
      }
      f.samples.append("\n");
    }
  }
  std::string out;
  for (const std::string& name : order) out.append(families[name].help_type).append(families[name].samples);
  out.append("# HELP tern_sfu_workers Worker threads (one SfuServer, one UDP port each).\n# TYPE tern_sfu_workers gauge\n");
  out.append("tern_sfu_workers ").append(std::to_string(workers.size())).append("\n");
  out.append("# HELP tern_sfu_worker_cpu_seconds_total CPU time of a worker's thread.\n");
  out.append("# TYPE tern_sfu_worker_cpu_seconds_total counter\n");
  for (size_t i = 0; i < workers.size(); ++i) {
    char value[32];
    std::snprintf(value, sizeof(value), "%.6f", workers[i]->cpu_seconds());
    out.append("tern_sfu_worker_cpu_seconds_total{worker=\"").append(std::to_string(i)).append("\"} ").append(value).append("\n");
  }
  for (const bool refused : {true, false}) {
    const char* name = refused ? "tern_sfu_worker_jobs_refused_total" : "tern_sfu_worker_jobs_timed_out_total";
    out.append("# HELP ").append(name).append(refused ? " HTTP requests answered 503 at once: the worker's job queue was full.\n"
                                                      : " HTTP requests answered 503: the worker did not answer in time.\n");
    out.append("# TYPE ").append(name).append(" counter\n");
    for (size_t i = 0; i < workers.size(); ++i) {
      const WorkerJobCounters c = workers[i]->job_counters();
      out.append(name).append("{worker=\"").append(std::to_string(i)).append("\"} ")
          .append(std::to_string(refused ? c.refused : c.timed_out)).append("\n");
    }
  }
  // Per worker: whether it answered this scrape, how old its figures are, its stalls.
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
    for (size_t i = 0; i < workers.size() && i < per_worker.size(); ++i)
      out.append(name).append("{worker=\"").append(std::to_string(i)).append("\"} ").append(value(i)).append("\n");
  };
  family("tern_sfu_worker_up", "gauge", "1: the worker's figures here are fresh; 0: it did not answer in time (its last figures, stale).",
         [&](size_t i) { return std::string(per_worker[i].fresh ? "1" : "0"); });
  family("tern_sfu_worker_stalled", "gauge", "1 while a job whose caller gave up on it has not run: the worker's requests get 503 at once.",
         [&](size_t i) { return std::string(workers[i]->stalled() ? "1" : "0"); });
  family("tern_sfu_worker_snapshot_age_seconds", "gauge", "Age of the worker's figures here (NaN: none yet).", [&](size_t i) {
    if (!per_worker[i].taken) return std::string("NaN");
    char value[32];
    std::snprintf(value, sizeof(value), "%.3f", (now - *per_worker[i].taken).seconds_f());
    return std::string(value);
  });
  family("tern_sfu_worker_snapshots_missed_total", "counter", "/stats or /metrics answers that carried the worker's last figures: no fresh ones in time.",
         [&](size_t i) { return std::to_string(workers[i]->job_counters().snapshots_missed); });
  family("tern_sfu_worker_stalls_total", "counter", "Missed deadlines that made the worker stalled (each logged once).",
         [&](size_t i) { return std::to_string(workers[i]->job_counters().stalls); });
  return out;
}

}  // namespace tern::tools::sfu_tool
