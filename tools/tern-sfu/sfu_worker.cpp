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

bool SfuWorker::post(std::function<void(Timestamp)> job) {
  if (stopped_.load()) return false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (jobs_.size() >= max_jobs_) return false;
    jobs_.push_back(std::move(job));
  }
  const uint64_t one = 1;
  return ::write(event_fd_, &one, sizeof(one)) == static_cast<ssize_t>(sizeof(one));
}

void SfuWorker::run_jobs(Timestamp now) {
  uint64_t value = 0;
  (void)!::read(event_fd_, &value, sizeof(value));
  std::deque<std::function<void(Timestamp)>> jobs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs.swap(jobs_);
  }
  for (auto& job : jobs) job(now);
  load_.store(state_->server->session_count(), std::memory_order_relaxed);
}

template <typename R>
std::optional<R> SfuWorker::call(std::function<R(Timestamp)> job, TimeDelta timeout, bool* refused) {
  auto promise = std::make_shared<std::promise<R>>();
  std::future<R> future = promise->get_future();
  if (!post([promise, job = std::move(job)](Timestamp now) { promise->set_value(job(now)); })) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    if (refused != nullptr) *refused = true;
    return std::nullopt;
  }
  if (future.wait_for(std::chrono::microseconds(timeout.us())) != std::future_status::ready) {
    timed_out_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  return future.get();
}

whip::HttpResponse SfuWorker::handle(const whip::HttpRequest& request, TimeDelta timeout) {
  bool refused = false;
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
  busy.body = refused ? "worker busy: its job queue is full\n" : "worker busy: no answer in time\n";
  return busy;
}

std::optional<std::string> SfuWorker::stats_json(TimeDelta timeout) {
  return call<std::string>(
      [this](Timestamp now) {
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
      },
      timeout);
}

std::optional<std::string> SfuWorker::prometheus_metrics(TimeDelta timeout) {
  return call<std::string>(
      [this](Timestamp) {
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
      },
      timeout);
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
  if (room != rooms_.end() && --room->second.sessions == 0) rooms_.erase(room);
  resources_.erase(it);
}

void RoomPins::remove_id(const std::string& id) {
  for (const char* prefix : {"/whip/resource/", "/whep/resource/"}) remove(std::string(prefix).append(id));
}

// ---- aggregation ----

std::string merge_stats(const std::vector<std::string>& per_worker, const std::vector<SfuWorker*>& workers) {
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
    const json w = json::parse(per_worker[i], nullptr, false);
    if (!w.is_object()) continue;
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
    list.push_back({{"worker", i}, {"udp", workers[i]->udp_address()}, {"sessions", count}, {"sessionsCreated", created},
                    {"cpuSeconds", workers[i]->cpu_seconds()}, {"jobsRefused", workers[i]->job_counters().refused},
                    {"jobsTimedOut", workers[i]->job_counters().timed_out}, {"timestamp", w.value("timestamp", 0.0)}});
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

std::string merge_metrics(const std::vector<std::string>& per_worker, const std::vector<SfuWorker*>& workers) {
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
    const std::string& text = per_worker[i];
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
  return out;
}

}  // namespace tern::tools::sfu_tool
