// tern-sfu's bounds, in process (tools/tern-sfu's sources compiled into this suite):
//  1. ICE-TCP over real loopback sockets (the worker's IceTcpDriver; the SfuServer, the clients'
//     PeerConnections and OpenSSL on simulated time): a publisher and two subscribers, every packet
//     of each carried over its own TCP connection in RFC 4571 frames. One subscriber stops reading
//     (its 4 KiB receive window and the kernel's send buffer fill): the driver drops its connection
//     once its queue would pass the limit (counted, logged), never holding more than the limit,
//     and the other subscriber keeps decoding the publisher's video.
//  2. A recording's write error (a file size limit, RLIMIT_FSIZE with SIGXFSZ ignored: EFBIG, as a
//     full disk gives ENOSPC): the recorder stops that recording (state "failed", counted in /stats
//     and /metrics), the session goes on and its subscriber keeps decoding.
//  3. A stuck worker (SfuWorker, its own thread, real time): a full job queue answers 503 +
//     Retry-After at once; a request that times out (503 + Retry-After) makes it stalled, logged
//     once, and further requests get 503 + Retry-After at once, counted; once unstuck it answers
//     again (logged).
//  4. tern-sfu's HTTP front (WorkerFront behind HttpBridge::StartThreaded, real HTTP, two workers):
//     with worker 0 stuck and a request to it waiting, requests for worker 1's room and sessions,
//     a new room, /metrics and /stats are all answered; worker 0 is reported down and stale, its
//     own requests get 503 at once; once released it is up again.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "ice_tcp_driver.h"
#include "recording.h"
#include "sfu_test_pc.h"
#include "sfu_worker.h"
#include "tern/tools/net/http_bridge.h"
#include "tern/transport/epoll_driver.h"
#include "tern/dtls/openssl_virtual_clock.h"
#include "tern/sfu/sfu_server.h"
#include "tern/webrtc/peer_connection.h"
#include "worker_front.h"

using namespace tern;

namespace {

// What the clients believe the server's candidates are (the packets really go over the sockets).
const ice::TransportAddress kBoundsUdp = ice::TransportAddress::V4(192, 0, 2, 7, 3478);
const ice::TransportAddress kBoundsTcp = ice::TransportAddress::V4(192, 0, 2, 7, 3479);

std::unique_ptr<webrtc::PeerConnection> BoundsPc(int n, bool publisher) {
  // Its socket's address is the agent's only; the rig carries its packets over TCP.
  const TransportAddress bound{IpAddress::V4(198, 51, 100, static_cast<uint8_t>(n + 20)), 40000};
  return sfu_test::make_sfu_test_pc(bound, n, publisher, {700, 0x2000'0000u, 19, false});
}

// The answer as a UDP-only agent can use it (its TCP candidate as if UDP; the rig carries the packets).
std::string BoundsTcpAsUdp(std::string sdp) {
  const auto at = sdp.find(" tcp ");
  REQUIRE(at != std::string::npos);
  sdp.replace(at, 5, " udp ");
  const auto t = sdp.find(" tcptype passive");
  REQUIRE(t != std::string::npos);
  sdp.erase(t, 16);
  return sdp;
}

// One client: its PeerConnection, and its real TCP connection to the driver's listener.
struct BoundsClient {
  std::unique_ptr<webrtc::PeerConnection> pc;
  std::optional<sfu::SessionId> id;
  int fd = -1;
  bool reading = true;
  std::vector<uint8_t> outbound;  // framed, not yet taken by the kernel
  std::vector<uint8_t> inbound;   // received, not yet deframed
  bool first_video = false;
  BoundsClient() = default;
  BoundsClient(const BoundsClient&) = delete;
  BoundsClient& operator=(const BoundsClient&) = delete;
  ~BoundsClient() {
    if (fd >= 0) ::close(fd);
  }
  uint64_t frames_decoded(Timestamp now) const {
    const auto s = pc->get_stats(now);
    const auto* in = s.media.inbound("video");
    return in != nullptr ? in->frames_decoded.value_or(0) : 0;
  }
};

// The server and the worker's ICE-TCP driver on one simulated clock, the clients' sockets real.
class BoundsRig {
 public:
  // `recorder` (nullable): the server's media tap, processed with it.
  BoundsRig(size_t max_send_queue, tools::sfu_tool::SfuRecorder* recorder) : recorder_(recorder) {
    auto listen = transport::SocketAddress::Parse("127.0.0.1", 0);
    REQUIRE(listen.ok());
    auto driver = tools::sfu_tool::IceTcpDriver::Open(*listen, max_send_queue, 0);
    REQUIRE_MESSAGE(driver.ok(), driver.error());
    driver_ = std::move(driver).value();
    sfu::SfuConfig config;
    config.address = kBoundsUdp;
    config.tcp_address = kBoundsTcp;  // the answer's; the driver listens on loopback
    config.udp_candidate = false;
    config.media_tap = recorder;
    auto server = sfu::SfuServer::Create(config);
    REQUIRE_MESSAGE(server.ok(), server.error());
    server_ = std::move(server).value();
    driver_->attach(*server_);
  }

  sfu::SfuServer& server() { return *server_; }
  tools::sfu_tool::IceTcpDriver& driver() { return *driver_; }

  // A publisher (WHIP) or subscriber (WHEP) of "room", connected by TCP; `rcvbuf` > 0: its socket's
  // receive buffer (set before connect(), so the window it offers stays small).
  void join(BoundsClient& c, int n, bool publisher, int rcvbuf, Timestamp now) {
    c.pc = BoundsPc(n, publisher);
    auto offer = c.pc->create_offer(now);
    REQUIRE(offer.ok());
    REQUIRE(c.pc->set_local_description(*offer, now).ok());
    auto r = publisher ? server_->publish("room", offer->sdp, now) : server_->subscribe("room", offer->sdp, now);
    REQUIRE(std::holds_alternative<sfu::SfuAnswer>(r));
    c.id = std::get<sfu::SfuAnswer>(r).id;
    Status st = c.pc->set_remote_description({webrtc::SdpType::kAnswer, BoundsTcpAsUdp(std::get<sfu::SfuAnswer>(r).sdp)}, now);
    INFO("client " << n << " answer:\n" << std::get<sfu::SfuAnswer>(r).sdp);
    REQUIRE_MESSAGE(st.ok(), std::string(st.error()));
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(c.fd >= 0);
    if (rcvbuf > 0) REQUIRE(::setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) == 0);
    const transport::SocketAddress& to = driver_->local_address();
    REQUIRE(::connect(c.fd, to.sockaddr_ptr(), to.sockaddr_len()) == 0);
    REQUIRE(::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK) == 0);
    clients_.push_back(&c);
  }

  // One step of simulated time: clients' timers and packets, the sockets both ways, the server.
  void step(Timestamp now) {
    for (BoundsClient* c : clients_) {
      if (auto at = c->pc->next_wakeup(); at && *at <= now) c->pc->process(now);
      for (ice::IceOutgoing& o : c->pc->take_outgoing()) {
        REQUIRE(o.destination == kBoundsTcp);
        c->outbound.push_back(static_cast<uint8_t>(o.data.size() >> 8));
        c->outbound.push_back(static_cast<uint8_t>(o.data.size()));
        c->outbound.insert(c->outbound.end(), o.data.begin(), o.data.end());
      }
      if (!c->outbound.empty()) {
        const ssize_t w = ::send(c->fd, c->outbound.data(), c->outbound.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) c->outbound.erase(c->outbound.begin(), c->outbound.begin() + w);
      }
      while (c->reading) {  // bounded: the socket's buffer
        uint8_t buf[16384];
        const ssize_t r = ::recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r <= 0) break;
        c->inbound.insert(c->inbound.end(), buf, buf + r);
      }
      while (c->inbound.size() >= 2) {
        const size_t len = (size_t{c->inbound[0]} << 8) | c->inbound[1];
        if (c->inbound.size() < 2 + len) break;
        const std::vector<uint8_t> packet(c->inbound.begin() + 2, c->inbound.begin() + 2 + static_cast<std::ptrdiff_t>(len));
        c->inbound.erase(c->inbound.begin(), c->inbound.begin() + 2 + static_cast<std::ptrdiff_t>(len));
        c->pc->on_datagram(0, kBoundsTcp, packet, now);
      }
      while (auto e = c->pc->poll_event()) {
        if (e->type == webrtc::PeerConnectionEvent::Type::kFirstFrame && e->kind == "video") c->first_video = true;
      }
    }
    driver_->on_readable(now);  // accepts, reads, writes what waits for EPOLLOUT
    if (auto at = server_->next_wakeup(); at && *at <= now) server_->process(now);
    for (sfu::SfuOutgoing& o : server_->take_outgoing()) {
      if (o.connection != 0) driver_->send(o.connection, o.data);
    }
    driver_->close_ended();
    max_queued_ = std::max(max_queued_, driver_->queued_bytes());
  }
  size_t max_queued() const { return max_queued_; }

  // Steps of 2 ms of simulated time (`now`, `step`: the test's) until done() or step `last_step`.
  template <typename Done>
  void run_until(Timestamp& now, int& step, int last_step, Done done) {
    for (; step < last_step && !done(); ++step) {
      now = Timestamp::Zero() + TimeDelta::Millis(2 * step);
      this->step(now);
      if (recorder_ == nullptr) continue;
      if (auto at = recorder_->next_wakeup(); at && *at <= now) recorder_->process(now);
    }
  }

 private:
  tools::sfu_tool::SfuRecorder* recorder_;
  std::unique_ptr<tools::sfu_tool::IceTcpDriver> driver_;
  std::unique_ptr<sfu::SfuServer> server_;
  std::vector<BoundsClient*> clients_;
  size_t max_queued_ = 0;
};

// RLIMIT_FSIZE's soft limit and SIGXFSZ ignored for the scope (restored after).
class BoundsFileSizeLimit {
 public:
  explicit BoundsFileSizeLimit(rlim_t bytes) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved_) == 0);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit l = saved_;
    l.rlim_cur = bytes;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &l) == 0);
  }
  ~BoundsFileSizeLimit() {
    (void)::setrlimit(RLIMIT_FSIZE, &saved_);
    (void)::signal(SIGXFSZ, old_handler_);
  }
  BoundsFileSizeLimit(const BoundsFileSizeLimit&) = delete;
  BoundsFileSizeLimit& operator=(const BoundsFileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  sighandler_t old_handler_ = SIG_DFL;
};

// What this process writes to stderr in the scope (a non-blocking pipe: beyond its 64 KiB, lost).
class BoundsStderr {
 public:
  BoundsStderr() {
    REQUIRE(::pipe2(fds_, O_CLOEXEC | O_NONBLOCK) == 0);
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    REQUIRE(saved_ >= 0);
    REQUIRE(::dup2(fds_[1], STDERR_FILENO) == STDERR_FILENO);
  }
  ~BoundsStderr() {
    restore();
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  BoundsStderr(const BoundsStderr&) = delete;
  BoundsStderr& operator=(const BoundsStderr&) = delete;
  // Everything so far; stderr is the terminal's again.
  std::string take() {
    restore();
    std::string out;
    char buf[4096];
    for (ssize_t r; (r = ::read(fds_[0], buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(r));
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    (void)::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    saved_ = -1;
  }
  int fds_[2] = {-1, -1};
  int saved_ = -1;
};

}  // namespace

TEST_CASE("tern-sfu ice-tcp: a subscriber that stops reading is dropped at the queue limit, the other keeps receiving") {
  Timestamp now = Timestamp::Zero();
  dtls::ScopedOpenSslVirtualClock clock([&] { return now; });
  constexpr size_t kLimit = 16 * 1024;
  BoundsRig rig(kLimit, nullptr);
  BoundsClient pub, fast, slow;
  BoundsStderr stderr_log;
  rig.join(pub, 3, true, 0, now);
  rig.join(fast, 5, false, 0, now);
  rig.join(slow, 6, false, 4096, now);

  // 2 ms steps of simulated time: both subscribers decode, then `slow` stops reading (at most 8 s).
  int step = 0;
  auto run_until = [&](int last_step, auto done) { rig.run_until(now, step, last_step, done); };
  run_until(4000, [&] { return fast.first_video && slow.first_video; });
  REQUIRE(fast.first_video);
  REQUIRE(slow.first_video);
  CHECK(rig.driver().counters().accepted == 3);
  CHECK(rig.server().counters().tcp_connections_bound == 3);
  slow.reading = false;
  const Timestamp stopped = now;
  // Its window, the kernel's send buffer (SO_SNDBUF: the limit), then the driver's queue fill: dropped (at most 20 s later).
  run_until(step + 10000, [&] { return rig.driver().counters().slow_dropped > 0; });
  REQUIRE(rig.driver().counters().slow_dropped == 1);
  const std::string logged = stderr_log.take();
  INFO("stderr: " << logged);
  CHECK(logged.find("ICE-TCP connection 3 from 127.0.0.1:") != std::string::npos);  // the third accepted: `slow`
  CHECK(logged.find("dropped: its peer stopped reading (16384 bytes queued, the limit)") != std::string::npos);
  MESSAGE("ICE-TCP: the subscriber that stopped reading was dropped " << (now - stopped).ms() << " ms (simulated) later, "
          << rig.driver().counters().bytes_sent << " bytes sent in all; the most queued at once: " << rig.max_queued() << " bytes");
  CHECK(rig.max_queued() <= kLimit);  // never buffered past the limit
  CHECK(rig.driver().connections() == 2);
  CHECK(rig.server().stream_count() == 2);
  // The other subscriber goes on: 2 s more of simulated time, ~15 fps decoded.
  const uint64_t before = fast.frames_decoded(now);
  const Timestamp dropped_at = now;
  run_until(step + 1000, [] { return false; });
  const uint64_t after = fast.frames_decoded(now);
  MESSAGE("the other subscriber decoded " << after - before << " frames in the " << (now - dropped_at).ms() << " ms after the drop");
  CHECK(after - before >= 0.8 * 15 * (now - dropped_at).seconds_f());
  CHECK(rig.driver().counters().slow_dropped == 1);
}

TEST_CASE("tern-sfu recorder: a write error (file size limit) stops the recording, counted, while the session goes on") {
  const std::string dir = (std::filesystem::temp_directory_path() / ("tern_sfu_bounds_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  REQUIRE(tools::sfu_tool::SfuRecorder::prepare_dir(dir).ok());
  Timestamp now = Timestamp::Zero();
  dtls::ScopedOpenSslVirtualClock clock([&] { return now; });
  tools::sfu_tool::SfuRecorder recorder(dir, true, 3);
  BoundsRig rig(256 * 1024, &recorder);
  BoundsClient pub, sub;
  constexpr rlim_t kFileLimit = 48 * 1024;
  BoundsFileSizeLimit limit(kFileLimit);  // every file this process writes from here on; the WebM is the only one
  BoundsStderr stderr_log;
  rig.join(pub, 3, true, 0, now);
  rig.join(sub, 4, false, 0, now);

  int step = 0;
  auto run_until = [&](int last_step, auto done) { rig.run_until(now, step, last_step, done); };
  // At most 30 s: the file reaches the limit (48 KiB of 320x180 video at 15 fps: a few seconds).
  run_until(15000, [&] { return recorder.counters().write_errors > 0; });
  REQUIRE(recorder.counters().write_errors == 1);
  const std::string logged = stderr_log.take();
  INFO("stderr: " << logged);
  CHECK(logged.find("tern-sfu: worker 3 session " + std::to_string(*pub.id) + ": recording " + dir + "/room-w3-" +
                    std::to_string(*pub.id) + ".webm stopped by a write error (the session goes on): ") != std::string::npos);
  REQUIRE(sub.first_video);
  const Timestamp failed_at = now;
  const uint64_t before = sub.frames_decoded(now);
  run_until(step + 500, [] { return false; });  // 1 s more: the session goes on
  const uint64_t after = sub.frames_decoded(now);
  CHECK(after - before >= 0.8 * 15 * (now - failed_at).seconds_f());
  CHECK(rig.server().session_count() == 2);

  const nlohmann::json stats = nlohmann::json::parse(recorder.annotate_stats(rig.server().stats_json(now)));
  const nlohmann::json& rec = stats["recorder"];
  INFO("recorder: " << rec.dump(1));
  CHECK(rec["recordingsOpen"] == 0);
  CHECK(rec["recordingsStarted"] == 1);
  CHECK(rec["recordingsFinished"] == 0);
  CHECK(rec["writeErrors"] == 1);
  REQUIRE(rec["recordings"].size() == 1);
  const nlohmann::json& r = rec["recordings"][0];
  CHECK(r["room"] == "room");
  CHECK(r["session"] == *pub.id);
  CHECK(r["path"] == dir + "/room-w3-" + std::to_string(*pub.id) + ".webm");
  CHECK(r["state"] == "failed");
  CHECK(r["writeErrors"] == 1);
  CHECK(r.value("error", std::string()).size() > 0);
  CHECK(r["videoFramesRecorded"].get<int64_t>() > 10);
  CHECK(r["keyframesRecorded"].get<int64_t>() >= 1);
  CHECK(r["audioFramesRecorded"].get<int64_t>() > 10);
  CHECK(r["gaps"] == 0);  // no loss on the TCP hops
  CHECK(r["bytes"].get<uint64_t>() > 0);
  CHECK(r["bytes"].get<uint64_t>() <= kFileLimit);
  const std::string metrics = recorder.prometheus_metrics();
  INFO("metrics:\n" << metrics);
  CHECK(metrics.find("tern_sfu_recordings_open 0\n") != std::string::npos);
  CHECK(metrics.find("tern_sfu_recording_write_failures_total 1\n") != std::string::npos);
  const std::string labels = std::string("{room=\"room\",session=\"") + std::to_string(*pub.id) + "\",file=\"" + r["path"].get<std::string>() + "\"}";
  CHECK(metrics.find("tern_sfu_recording_write_errors_total" + labels + " 1\n") != std::string::npos);
  CHECK(metrics.find("tern_sfu_recording_open" + labels + " 0\n") != std::string::npos);
  CHECK(metrics.find("tern_sfu_recording_video_frames_total" + labels + " " + std::to_string(r["videoFramesRecorded"].get<int64_t>()) + "\n") !=
        std::string::npos);
  // tern-sfu's /metrics: every sample labelled with its worker first.
  const std::string merged = tools::sfu_tool::merge_metrics({metrics}, {});
  CHECK(merged.find("tern_sfu_recording_write_failures_total{worker=\"0\"} 1\n") != std::string::npos);
  CHECK(merged.find("tern_sfu_recording_write_errors_total{worker=\"0\"," + labels.substr(1) + " 1\n") != std::string::npos);
  // Its end changes nothing more.
  CHECK(rig.server().end_session(*pub.id, now));
  CHECK(recorder.counters().write_errors == 1);
  CHECK(recorder.counters().recordings_finished == 0);
  std::filesystem::remove_all(dir);
}

namespace {

// The worker's thread blocks in a job until the test releases it.
class BoundsStall {
 public:
  explicit BoundsStall(tools::sfu_tool::SfuWorker& worker) : released_(release_.get_future().share()) {
    std::promise<void> running;
    std::future<void> is_running = running.get_future();
    REQUIRE(worker.post_for_test([&running, released = released_] {
      running.set_value();
      released.wait();
    }));
    REQUIRE(is_running.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  }
  ~BoundsStall() { release(); }
  BoundsStall(const BoundsStall&) = delete;
  BoundsStall& operator=(const BoundsStall&) = delete;
  void release() {
    if (!done_) release_.set_value();
    done_ = true;
  }

 private:
  std::promise<void> release_;
  std::shared_future<void> released_;
  bool done_ = false;
};

// OPTIONS to `worker` until it answers something else than 503 (bounded: 10 s).
int BoundsAnswered(tools::sfu_tool::SfuWorker& worker, const whip::HttpRequest& request) {
  int answered = 503;
  for (int i = 0; i < 1000 && answered == 503; ++i) {
    answered = worker.handle(request, TimeDelta::Seconds(5)).status;
    if (answered == 503) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return answered;
}

}  // namespace

TEST_CASE("tern-sfu worker: a stuck worker answers 503 with Retry-After at once, when its queue is full and once it missed a deadline") {
  tools::sfu_tool::WorkerOptions o;
  o.udp = transport::SocketAddress::Parse("127.0.0.1", 0).value();
  o.max_jobs = 3;
  o.quiet = true;
  auto started = tools::sfu_tool::SfuWorker::Start(0, o);
  REQUIRE_MESSAGE(started.ok(), started.error());
  tools::sfu_tool::SfuWorker& worker = **started;
  whip::HttpRequest options;
  options.method = "OPTIONS";
  options.path = "/whip/room";
  const int healthy = worker.handle(options, TimeDelta::Seconds(5)).status;
  CHECK(healthy != 503);
  BoundsStderr stderr_log;

  {  // 1. Its queue full (no deadline missed yet): refused without waiting (without the 10 s wait), counted.
    BoundsStall stall(worker);
    for (int i = 0; i < 3; ++i) CHECK(worker.post_for_test([] {}));
    CHECK(!worker.post_for_test([] {}));
    for (int i = 0; i < 2; ++i) {
      const whip::HttpResponse r = worker.handle(options, TimeDelta::Seconds(10));
      CHECK(r.status == 503);
      CHECK(r.header("Retry-After") == std::optional<std::string_view>("1"));
      CHECK(r.body.find("queue is full") != std::string::npos);
    }
    CHECK(!worker.fresh_figures(tools::sfu_tool::SnapshotKind::kStats, TimeDelta::Seconds(10)).has_value());  // refused too
    CHECK(worker.job_counters().refused == 3);
    CHECK(worker.job_counters().timed_out == 0);
    CHECK(!worker.stalled());
  }
  CHECK(BoundsAnswered(worker, options) == healthy);

  {  // 2. A request waits 1 ms and gets 503: the worker is stalled, and what follows gets 503 at once.
    const uint64_t refused = worker.job_counters().refused;  // 1.'s and the retries while its queue drained
    BoundsStall stall(worker);
    const whip::HttpResponse late = worker.handle(options, TimeDelta::Millis(1));
    CHECK(late.status == 503);
    CHECK(late.header("Retry-After") == std::optional<std::string_view>("1"));
    CHECK(late.body.find("no answer in time") != std::string::npos);
    CHECK(worker.job_counters().timed_out == 1);
    CHECK(worker.stalled());
    CHECK(worker.job_counters().stalls == 1);
    for (int i = 0; i < 2; ++i) {  // without the 10 s wait
      const whip::HttpResponse r = worker.handle(options, TimeDelta::Seconds(10));
      CHECK(r.status == 503);
      CHECK(r.header("Retry-After") == std::optional<std::string_view>("1"));
      CHECK(r.body.find("worker stalled") != std::string::npos);
    }
    CHECK(!worker.fresh_figures(tools::sfu_tool::SnapshotKind::kStats, TimeDelta::Seconds(10)).has_value());  // not even asked: no new job queued
    CHECK(worker.job_counters().refused == refused + 2);
    CHECK(worker.job_counters().snapshots_missed == 2);  // this one and 1.'s
    CHECK(worker.job_counters().stalls == 1);  // one stall, however many misses
    const std::string metrics = tools::sfu_tool::merge_metrics({""}, {&worker});
    CHECK(metrics.find("tern_sfu_worker_jobs_refused_total{worker=\"0\"} " + std::to_string(refused + 2) + "\n") != std::string::npos);
    CHECK(metrics.find("tern_sfu_worker_jobs_timed_out_total{worker=\"0\"} 1\n") != std::string::npos);
    CHECK(metrics.find("tern_sfu_worker_stalled{worker=\"0\"} 1\n") != std::string::npos);
    CHECK(metrics.find("tern_sfu_worker_stalls_total{worker=\"0\"} 1\n") != std::string::npos);
  }
  // Unstuck: the stale jobs run (their answers discarded) and requests are answered again.
  CHECK(BoundsAnswered(worker, options) == healthy);
  CHECK(!worker.stalled());
  const auto stats = worker.fresh_figures(tools::sfu_tool::SnapshotKind::kStats, TimeDelta::Seconds(5));
  REQUIRE(stats.has_value());
  const nlohmann::json merged = nlohmann::json::parse(tools::sfu_tool::merge_stats({*stats}, {&worker}));
  CHECK(merged["workers"][0]["jobsRefused"] == worker.job_counters().refused);
  CHECK(merged["workers"][0]["jobsTimedOut"] == 1);
  CHECK(merged["workers"][0]["stalls"] == 1);
  CHECK(merged["workers"][0]["stalled"] == false);
  CHECK(merged["workers"][0]["stale"] == false);
  const std::string logged = stderr_log.take();
  INFO("stderr: " << logged);
  const std::string stalled_line = "tern-sfu: worker 0 missed a deadline (a request had no answer in time): stalled;";
  CHECK(logged.find(stalled_line) != std::string::npos);
  CHECK(logged.find(stalled_line, logged.find(stalled_line) + 1) == std::string::npos);  // once
  CHECK(logged.find("tern-sfu: worker 0 answers again (") != std::string::npos);
}

namespace {

// An SDP offer of a test client (its ICE never completes: the front's routing is what is tested).
std::string BoundsOffer(int n, bool publisher) {
  const TransportAddress bound{IpAddress::V4(198, 51, 100, static_cast<uint8_t>(n)), 40000};
  auto pc = sfu_test::make_sfu_test_pc(bound, n, publisher, {900, 0x3000'0000u, 23, false});
  auto offer = pc->create_offer(transport::EpollDriver::Now());
  REQUIRE(offer.ok());
  return offer->sdp;
}

}  // namespace

TEST_CASE("tern-sfu front: a stuck worker holds up neither the other worker's requests nor /stats and /metrics, and is reported stale") {
  tools::sfu_tool::WorkerOptions o;
  o.udp = transport::SocketAddress::Parse("127.0.0.1", 0).value();
  o.quiet = true;
  auto w0 = tools::sfu_tool::SfuWorker::Start(0, o);
  REQUIRE_MESSAGE(w0.ok(), w0.error());
  auto w1 = tools::sfu_tool::SfuWorker::Start(1, o);
  REQUIRE_MESSAGE(w1.ok(), w1.error());
  tools::sfu_tool::SfuWorker& stuck = **w0;
  tools::sfu_tool::WorkerFrontConfig fc;
  fc.call_timeout = TimeDelta::Seconds(60);  // the stuck worker's request waits until it is released
  fc.snapshot_wait = TimeDelta::Seconds(5);
  auto created = tools::sfu_tool::WorkerFront::Create({w0->get(), w1->get()}, fc);
  REQUIRE_MESSAGE(created.ok(), created.error());
  tools::sfu_tool::WorkerFront& front = **created;
  tools::net::HttpBridgeConfig bc;
  bc.threads = 8;
  auto bridge = tools::net::HttpBridge::StartThreaded(bc, [&front](const whip::HttpRequest& request, Timestamp) {
    whip::HttpResponse r;
    if (request.path == "/stats" || request.path == "/metrics") {
      r.status = 200;
      r.body = request.path == "/stats" ? front.stats_json() : front.prometheus_metrics();
      return r;
    }
    return front.handle(request);
  });
  REQUIRE_MESSAGE(bridge.ok(), bridge.error());
  const std::string base = "http://127.0.0.1:" + std::to_string((*bridge)->port());
  auto send = [&](const std::string& method, const std::string& path, const std::string& sdp) {
    whip::HttpRequest request;
    request.method = method;
    request.path = path;
    if (!sdp.empty()) {
      request.headers.emplace_back("Content-Type", "application/sdp");
      request.body = sdp;
    }
    auto url = whip::HttpUrl::parse(base + path);
    REQUIRE(url.ok());
    auto response = tools::net::http_request(*url, request, TimeDelta::Seconds(90));
    REQUIRE_MESSAGE(response.ok(), response.error());
    return *response;
  };
  auto location = [](const whip::HttpResponse& r) { return std::string(r.header("Location").value_or("")); };
  BoundsStderr stderr_log;

  // Room a on worker 0, room b on worker 1 (the least loaded); figures of both once.
  const whip::HttpResponse a = send("POST", "/whip/a", BoundsOffer(41, true));
  REQUIRE(a.status == 201);
  const whip::HttpResponse b = send("POST", "/whip/b", BoundsOffer(42, true));
  REQUIRE(b.status == 201);
  nlohmann::json stats = nlohmann::json::parse(send("GET", "/stats", "").body);
  REQUIRE(stats["rooms"]["a"]["worker"] == 0);
  REQUIRE(stats["rooms"]["b"]["worker"] == 1);
  CHECK(stats["workers"][0]["stale"] == false);
  CHECK(send("GET", "/metrics", "").body.find("tern_sfu_worker_up{worker=\"0\"} 1\n") != std::string::npos);

  std::future<whip::HttpResponse> to_stuck;  // before the stall: on a failure the stall is released first
  BoundsStall stall(stuck);
  // A request to worker 0 (room a's resource) waits for it; its answer comes only once released.
  to_stuck = std::async(std::launch::async, [&] { return send("DELETE", location(a), ""); });
  for (int i = 0; i < 1000 && stuck.waiting() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(stuck.waiting() == 1);
  auto still_waiting = [&] { return to_stuck.wait_for(std::chrono::seconds(0)) == std::future_status::timeout; };

  // Worker 1's room: a subscriber comes and goes.
  auto ms_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
  };
  const std::string offer = BoundsOffer(43, false);
  auto t = std::chrono::steady_clock::now();
  const whip::HttpResponse sub = send("POST", "/whep/b", offer);
  const auto sub_ms = ms_since(t);
  CHECK(sub.status == 201);
  CHECK(send("DELETE", location(sub), "").status == 200);
  CHECK(still_waiting());

  // /metrics: worker 1's fresh figures, worker 0's last ones marked down; the missed deadline
  // makes worker 0 stalled.
  t = std::chrono::steady_clock::now();
  const std::string metrics = send("GET", "/metrics", "").body;
  const auto first_metrics_ms = ms_since(t);
  t = std::chrono::steady_clock::now();
  const std::string second_metrics = send("GET", "/metrics", "").body;
  MESSAGE("worker 0 stuck: worker 1's WHEP POST answered in " << sub_ms << " ms; /metrics in " << first_metrics_ms
          << " ms (the wait for worker 0, snapshot_wait 5 s), then in " << ms_since(t) << " ms (worker 0 stalled: not waited for)");
  CHECK(second_metrics.find("tern_sfu_worker_up{worker=\"0\"} 0\n") != std::string::npos);
  INFO("metrics:\n" << metrics);
  CHECK(still_waiting());
  CHECK(metrics.find("tern_sfu_worker_up{worker=\"0\"} 0\n") != std::string::npos);
  CHECK(metrics.find("tern_sfu_worker_up{worker=\"1\"} 1\n") != std::string::npos);
  CHECK(metrics.find("tern_sfu_worker_stalled{worker=\"0\"} 1\n") != std::string::npos);
  CHECK(metrics.find("tern_sfu_worker_stalls_total{worker=\"0\"} 1\n") != std::string::npos);
  CHECK(metrics.find("tern_sfu_worker_snapshots_missed_total{worker=\"0\"} 1\n") != std::string::npos);
  CHECK(second_metrics.find("tern_sfu_worker_snapshots_missed_total{worker=\"0\"} 2\n") != std::string::npos);
  CHECK(metrics.find("tern_sfu_sessions_created_total{worker=\"1\"} 2\n") != std::string::npos);  // fresh: b's publisher, the subscriber
  CHECK(metrics.find("tern_sfu_sessions_created_total{worker=\"0\"} 1\n") != std::string::npos);  // its last figures

  // /stats: the same; worker 0's rooms from its last figures.
  stats = nlohmann::json::parse(send("GET", "/stats", "").body);
  INFO("stats workers: " << stats["workers"].dump());
  CHECK(still_waiting());
  CHECK(stats["workers"][0]["stale"] == true);
  CHECK(stats["workers"][0]["stalled"] == true);
  CHECK(stats["workers"][0]["ageSeconds"].get<double>() >= 0);
  CHECK(stats["workers"][1]["stale"] == false);
  CHECK(stats["rooms"]["a"]["worker"] == 0);
  CHECK(stats["rooms"]["b"]["worker"] == 1);

  // Worker 0's room now: 503 at once (not the 60 s wait); a new room goes to worker 1.
  const std::string offer_a = BoundsOffer(44, false);
  t = std::chrono::steady_clock::now();
  const whip::HttpResponse refused = send("POST", "/whep/a", offer_a);
  MESSAGE("worker 0 stalled: its room's WHEP POST got " << refused.status << " in " << ms_since(t) << " ms");
  CHECK(refused.status == 503);
  CHECK(refused.header("Retry-After") == std::optional<std::string_view>("1"));
  CHECK(refused.body.find("worker stalled") != std::string::npos);
  const whip::HttpResponse c = send("POST", "/whip/c", BoundsOffer(45, true));
  CHECK(c.status == 201);
  CHECK(still_waiting());
  stats = nlohmann::json::parse(send("GET", "/stats", "").body);
  CHECK(stats["rooms"]["c"]["worker"] == 1);
  CHECK(send("DELETE", location(c), "").status == 200);
  CHECK(still_waiting());

  // Released: the waiting request gets worker 0's own answer, and worker 0 is up again.
  stall.release();
  CHECK(to_stuck.get().status == 200);
  std::string up;
  for (int i = 0; i < 100 && up.find("tern_sfu_worker_up{worker=\"0\"} 1\n") == std::string::npos; ++i) {
    up = send("GET", "/metrics", "").body;
    if (up.find("tern_sfu_worker_up{worker=\"0\"} 1\n") == std::string::npos) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(up.find("tern_sfu_worker_up{worker=\"0\"} 1\n") != std::string::npos);
  CHECK(up.find("tern_sfu_worker_stalled{worker=\"0\"} 0\n") != std::string::npos);
  CHECK(send("DELETE", location(b), "").status == 200);
  CHECK(front.rooms() == 0);
  bridge->reset();
  const std::string logged = stderr_log.take();
  INFO("stderr: " << logged);
  CHECK(logged.find("tern-sfu: worker 0 missed a deadline (no /metrics figures in time): stalled;") != std::string::npos);
  CHECK(logged.find("missed a deadline", logged.find("missed a deadline") + 1) == std::string::npos);  // once
  CHECK(logged.find("tern-sfu: worker 0 answers again (") != std::string::npos);
  CHECK(logged.find("worker 1") == std::string::npos);
}
