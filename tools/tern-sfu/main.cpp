// tern-sfu: a selective forwarding media server. WHIP (RFC 9725) ingest at POST /whip/<room> and
// WHEP egress at POST /whep/<room> over HTTP (tools/net/http_bridge.h, each request on one of its
// threads; PATCH/DELETE/OPTIONS by whip::WhipEndpoint, optional bearer token), GET /stats as JSON and
// /metrics for Prometheus, GET / (or /ui) a live page plotting /stats (page.h), SIGINT/SIGTERM drain
// (every session gets its DTLS close_notify, every recording is finalised, the stats file is
// written, exit 0). The media work is done by --workers single-threaded workers (sfu_worker.h: one
// sfu::SfuServer, one UDP port, one EpollDriver each, and with --record-dir one recorder recording
// every publisher of the worker into a WebM file, recording.h); the front (worker_front.h) pins every
// room to one worker and hands it the room's requests. This file parses options and wires.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sfu_worker.h"
#include "tern/tools/net/http_bridge.h"
#include "tern/tools/net/tool_loop.h"
#include "tern/transport/socket_address.h"
#include "page.h"
#include "recording.h"
#include "worker_front.h"

using namespace tern;

namespace {

struct Options {
  std::string http = "127.0.0.1:8080";
  std::string https_cert, https_key;  // both: the signalling is HTTPS
  std::string udp = "127.0.0.1:0";
  std::string tcp;  // ICE-TCP; empty: none
  size_t max_tcp_connections = 256;
  size_t tcp_send_queue = 256 * 1024;
  bool no_udp_candidates = false;
  std::string token;
  size_t max_sessions = 256;
  size_t max_subscribers = 64;
  size_t workers = 1;
  std::string room_mode = "broadcast";
  double duration = 0;
  std::string stats_json;
  std::string record_dir;
  bool quiet = false;
  bool no_probing = false;
  double probe_budget_kbps = 300;
  double subscriber_start_kbps = 1500;
  std::string srtp_backend = "openssl";
  double max_publisher_kbps = 8000;
  double max_publish_mbps = 1000;
};

int fail(const std::string& what) {
  std::fprintf(stderr, "tern-sfu: %s\n", what.c_str());
  return 1;
}

whip::HttpResponse method_not_allowed() {
  whip::HttpResponse response;
  response.status = 405;
  response.add("Allow", "GET");
  return response;
}

// HTTP threads: requests answered at once. A stuck worker holds at most WorkerOptions::max_waiting
// (4) of them, and only until its first missed deadline.
constexpr int kHttpThreads = 8;

int run(const Options& o) {
  auto http = tools::net::split_host_port(o.http);
  if (!http) return fail(std::string("--http: ") + http.error());
  auto udp = tools::net::split_host_port(o.udp);
  if (!udp) return fail(std::string("--udp: ") + udp.error());
  if (!transport::SocketAddress::Parse(udp->first, udp->second)) return fail("--udp: not a numeric IP address");
  if (Status st = tools::net::check_output_path("--stats-json", o.stats_json); !st.ok()) return fail(st.error());
  const size_t worker_count = o.workers > 0 ? o.workers : std::max(1u, std::thread::hardware_concurrency());
  if (udp->second != 0 && udp->second + worker_count - 1 > 65535) return fail("--udp: port + workers - 1 above 65535");
  std::optional<std::pair<std::string, uint16_t>> tcp;
  if (!o.tcp.empty()) {
    auto parsed = tools::net::split_host_port(o.tcp);
    if (!parsed) return fail(std::string("--tcp: ") + parsed.error());
    if (!transport::SocketAddress::Parse(parsed->first, parsed->second)) return fail("--tcp: not a numeric IP address");
    if (parsed->second != 0 && parsed->second + worker_count - 1 > 65535) return fail("--tcp: port + workers - 1 above 65535");
    tcp = *parsed;
  }
  if (o.no_udp_candidates && !tcp) return fail("--no-udp-candidates needs --tcp");
  if (Status st = tools::sfu_tool::SfuRecorder::prepare_dir(o.record_dir); !st.ok()) return fail(st.error());
  // A file size limit (ulimit -f) must stop a recording, not the server: write() then fails with
  // EFBIG, which the recorder reports like a full disk.
  if (!o.record_dir.empty()) (void)std::signal(SIGXFSZ, SIG_IGN);

  // The HTTP thread's loop first: it blocks SIGINT/SIGTERM, and the workers' threads inherit that.
  auto loop = tools::net::ToolLoop::Open({});
  if (!loop) return fail(loop.error());
  transport::EpollDriver& driver = (*loop)->driver();

  std::vector<std::unique_ptr<tools::sfu_tool::SfuWorker>> workers;
  std::vector<tools::sfu_tool::SfuWorker*> worker_list;
  for (size_t i = 0; i < worker_count; ++i) {
    tools::sfu_tool::WorkerOptions wo;
    const uint16_t port = udp->second == 0 ? 0 : static_cast<uint16_t>(udp->second + i);  // base port + i
    wo.udp = transport::SocketAddress::Parse(udp->first, port).value();
    if (tcp) {  // like --udp: worker i on PORT + i
      const uint16_t tcp_port = tcp->second == 0 ? 0 : static_cast<uint16_t>(tcp->second + i);
      wo.tcp = transport::SocketAddress::Parse(tcp->first, tcp_port).value();
    }
    wo.max_tcp_connections = o.max_tcp_connections;
    wo.tcp_max_send_queue = o.tcp_send_queue;
    wo.udp_candidates = !o.no_udp_candidates;
    wo.token = o.token;
    wo.max_sessions = o.max_sessions;
    wo.max_subscribers = o.max_subscribers;
    wo.srtp_backend = transport::srtp_backend_from_string(o.srtp_backend).value_or(transport::SrtpBackend::kOpenSsl);
    wo.max_publisher_kbps = o.max_publisher_kbps;
    wo.max_publish_mbps = o.max_publish_mbps;
    wo.probing = !o.no_probing;
    wo.probe_budget_kbps = o.probe_budget_kbps;
    wo.subscriber_start_kbps = o.subscriber_start_kbps;
    wo.record_dir = o.record_dir;  // each worker its own recorder (its thread), names tagged -w<i>
    wo.quiet = o.quiet;
    wo.room_mode = o.room_mode == "call" ? sfu::RoomMode::kCall : sfu::RoomMode::kBroadcast;
    auto w = tools::sfu_tool::SfuWorker::Start(static_cast<int>(i), wo);
    if (!w) return fail(w.error());
    worker_list.push_back(w->get());
    workers.push_back(std::move(w).value());
  }

  // The HTTP front: each request on its own HTTP thread, routed to its room's worker alone, so a
  // stuck worker holds up only its own requests (at most max_waiting of these threads, until its
  // first missed deadline; then its requests get 503 at once). worker_front.h has the rest.
  const TimeDelta call_timeout = TimeDelta::Seconds(4);
  tools::sfu_tool::WorkerFrontConfig fc;
  fc.call_timeout = call_timeout;
  auto created = tools::sfu_tool::WorkerFront::Create(worker_list, fc);
  if (!created) return fail(created.error());
  tools::sfu_tool::WorkerFront& front = **created;
  auto dispatch = [&front](const whip::HttpRequest& request, Timestamp) {
    whip::HttpResponse response;
    if (request.path == "/stats") {
      if (request.method != "GET") return method_not_allowed();
      response.status = 200;
      response.add("Content-Type", "application/json");
      response.body = front.stats_json() + "\n";
      return response;
    }
    if (request.path == "/metrics") {  // Prometheus scrapes this
      if (request.method != "GET") return method_not_allowed();
      response.status = 200;
      response.add("Content-Type", "text/plain; version=0.0.4");
      response.body = front.prometheus_metrics();
      return response;
    }
    if (auto page = tools::sfu_tool::page_response(request)) return *page;  // GET / and /ui
    return front.handle(request);  // WHIP/WHEP
  };
  tools::net::HttpBridgeConfig bc;
  bc.bind_address = http->first;
  bc.port = http->second;
  bc.threads = kHttpThreads;
  bc.tls_certificate = o.https_cert;
  bc.tls_private_key = o.https_key;
  auto bridge = tools::net::HttpBridge::StartThreaded(bc, dispatch);
  if (!bridge) return fail(bridge.error());
  if (!o.quiet) {
    std::fprintf(stderr, "tern-sfu: WHIP %s://%s:%u/whip/<room>, WHEP /whep/<room>, /stats, /metrics, page /; %zu worker(s)\n",
                 o.https_cert.empty() ? "http" : "https", http->first.c_str(), (*bridge)->port(), worker_count);
    for (auto* w : worker_list) {
      std::fprintf(stderr, "tern-sfu: worker %d media on UDP %s\n", w->index(), w->udp_address().c_str());
      if (!w->tcp_address().empty())
        std::fprintf(stderr, "tern-sfu: worker %d ICE-TCP on %s\n", w->index(), w->tcp_address().c_str());
    }
  }

  const Timestamp start = transport::EpollDriver::Now();
  const Timestamp deadline = o.duration > 0 ? start + TimeDelta::Micros(static_cast<int64_t>(o.duration * 1e6))
                                            : start + TimeDelta::Seconds(86400LL * 365);
  Status ran = driver.run_until(deadline);
  if ((*loop)->signal() != 0 && !o.quiet) std::fprintf(stderr, "tern-sfu: draining on signal %d\n", (*loop)->signal());
  bridge->reset();  // no more requests
  // Drain every worker: no new offers, every session ends with its close_notify on the wire, every
  // recording is finalised (on its worker's thread, before stop() returns); all at once, so a stuck
  // worker does not delay the others' drain.
  std::vector<std::string> final_each(worker_list.size());
  {
    std::vector<std::thread> stopping;
    for (size_t i = 0; i < worker_list.size(); ++i)
      stopping.emplace_back([&final_each, &worker_list, i, call_timeout] { final_each[i] = worker_list[i]->stop(call_timeout); });
    for (std::thread& t : stopping) t.join();
  }
  const std::string final_stats = tools::sfu_tool::merge_stats(final_each, worker_list);
  workers.clear();
  if (!ran.ok()) return fail(ran.error());
  if (Status st = tools::net::write_stats_json(o.stats_json, final_stats); !st.ok()) return fail(st.error());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"tern-sfu: a WebRTC media server (WHIP ingest, WHEP egress, one UDP port)"};
  app.add_option("--http", o.http, "HTTP signalling on ADDR:PORT (POST /whip/<room>, /whep/<room>; GET /stats)");
  app.add_option("--https-cert", o.https_cert,
                 "Serve the signalling over HTTPS (RFC 9725 requires it beyond a trusted network): the server's "
                 "certificate chain, PEM (with --https-key)")
      ->check(CLI::ExistingFile);
  app.add_option("--https-key", o.https_key, "The private key of --https-cert, PEM")->check(CLI::ExistingFile);
  app.add_option("--udp", o.udp, "Media on this UDP ADDR:PORT, worker i on PORT + i (port 0: any); its address is every session's candidate");
  app.add_option("--tcp", o.tcp,
                 "ICE-TCP (RFC 6544 passive, RFC 4571 framing) on this TCP ADDR:PORT, worker i on PORT + i (port 0: any): "
                 "a second, lower-priority candidate for clients whose network blocks UDP");
  app.add_option("--max-tcp-connections", o.max_tcp_connections, "ICE-TCP connections per worker; more are closed at once")
      ->check(CLI::Range(1, 4096));
  app.add_option("--tcp-send-queue", o.tcp_send_queue,
                 "Bytes queued per ICE-TCP connection beyond the kernel's buffer; a connection whose peer stops reading "
                 "past this is closed (logged, /stats iceTcp.slowDropped)")
      ->check(CLI::Range(4096, 64 * 1024 * 1024));
  app.add_flag("--no-udp-candidates", o.no_udp_candidates,
               "Test only: answers carry the TCP candidate alone (UDP still served), so clients must use --tcp");
  app.add_option("--token", o.token, "Bearer token clients must send (default: none)");
  app.add_option("--max-sessions", o.max_sessions, "Sessions (publishers + subscribers) per worker; more get 503")->check(CLI::Range(1, 4096));
  app.add_option("--max-subscribers", o.max_subscribers, "Subscribers per room; more get 503")->check(CLI::Range(1, 4096));
  app.add_option("--max-publisher-kbps", o.max_publisher_kbps,
                 "What one publisher may send, kbps (default 8000; 0: no limit): its answer's b=AS/b=TIAS, and RTP "
                 "beyond 1.5x that on average is dropped and counted")
      ->check(CLI::Range(0.0, 1000000.0));
  app.add_option("--max-publish-mbps", o.max_publish_mbps,
                 "Publishers of one worker together, each counted at --max-publisher-kbps, Mbps (default 1000; 0: no "
                 "limit); one more is refused 503")
      ->check(CLI::Range(0.0, 1000000.0));
  app.add_option("--srtp-backend", o.srtp_backend,
                 "SRTP implementation of every session: openssl (tern's, over OpenSSL EVP; default) or libsrtp "
                 "(libsrtp2); the same bytes on the wire")
      ->check(CLI::IsMember({"openssl", "libsrtp"}));
  app.add_flag("--no-probing", o.no_probing, "No bandwidth probes toward subscribers (their estimates grow with what is forwarded only)");
  app.add_option("--probe-budget-kbps", o.probe_budget_kbps, "Probe padding per subscriber, kbps averaged over 1 s (default 300)")
      ->check(CLI::Range(1.0, 100000.0));
  app.add_option("--subscriber-start-kbps", o.subscriber_start_kbps,
                 "A subscriber's bandwidth estimate until its transport-cc feedback says otherwise, kbps (default 1500): "
                 "its first layer choices")
      ->check(CLI::Range(30.0, 100000.0));
  app.add_option("--workers", o.workers,
                 "Worker threads, each with its own UDP port (base port + i) and rooms; 0: one per core")
      ->check(CLI::Range(0, 64));
  app.add_option("--room-mode", o.room_mode, "broadcast: one publisher per room; call: two, each side at /whep/<its WHIP resource id>")
      ->check(CLI::IsMember({"broadcast", "call"}));
  app.add_option("--duration", o.duration, "Seconds to run (default: until SIGINT/SIGTERM)")->check(CLI::Range(0.0, 86400.0));
  app.add_option("--stats-json", o.stats_json, "Write the server's stats (as /stats) here when it stops");
  app.add_option("--record-dir", o.record_dir,
                 "Record each publisher's audio and video into DIR/<room>-w<worker>-<session>.webm (finalised when it ends)");
  app.add_flag("--quiet", o.quiet, "Nothing on stderr but errors");
  CLI11_PARSE(app, argc, argv);
  return run(o);
}
