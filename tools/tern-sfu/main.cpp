// tern-sfu: a selective forwarding media server. WHIP (RFC 9725) ingest at POST /whip/<room> and
// WHEP egress at POST /whep/<room> over HTTP (tools/net/http_bridge.h, answered on the loop's
// thread; PATCH/DELETE/OPTIONS by whip::WhipEndpoint, optional bearer token), every session's ICE
// (lite), DTLS-SRTP and media on one UDP socket under transport::EpollDriver, GET /stats as JSON,
// SIGINT/SIGTERM drain (every session gets its DTLS close_notify, the stats file is written, exit 0).
// GET / (or /ui) is a live page plotting /stats (page.h); --record-dir records every publisher into
// a WebM file (recording.h). The work is sfu::SfuServer (sfu/README.md); this file parses options
// and wires.
#include <CLI/CLI.hpp>

#include <array>
#include <functional>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tern/sdp/webrtc_attributes.h"
#include "tern/sfu/sfu_server.h"
#include "tern/sfu/sfu_signalling.h"
#include "tern/tools/net/http_bridge.h"
#include "tern/tools/net/tool_loop.h"
#include "tern/transport/udp_socket.h"
#include "tern/whip/whip_endpoint.h"
#include "page.h"
#include "recording.h"

using namespace tern;

namespace {

struct Options {
  std::string http = "127.0.0.1:8080";
  std::string udp = "127.0.0.1:0";
  std::string token;
  size_t max_sessions = 256;
  size_t max_subscribers = 64;
  double duration = 0;
  std::string stats_json;
  std::string record_dir;
  bool quiet = false;
};

int fail(const std::string& what) {
  std::fprintf(stderr, "tern-sfu: %s\n", what.c_str());
  return 1;
}

ice::TransportAddress to_ice(const transport::SocketAddress& a) {
  return ice::TransportAddress::Parse(a.ip_string(), a.port()).value();
}

// The server on the loop: the UDP socket's reads in, its datagrams out, its timers, and the
// sessions it ended dropped from their endpoint.
class SfuDriver final : public transport::Pollable {
 public:
  SfuDriver(sfu::SfuServer& server, transport::UdpSocket& socket, std::function<void()> on_ended)
      : server_(server), socket_(socket), on_ended_(std::move(on_ended)) {}
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
    }
  }
  void flush() {
    for (sfu::SfuOutgoing& o : server_.take_outgoing()) {
      auto to = transport::SocketAddress::Parse(sdp::ip_string(o.destination), o.destination.port);
      if (!to || !socket_.send_to(o.data, *to).ok()) ++send_failures;  // UDP: the peer repairs or conceals
    }
  }
  uint64_t send_failures = 0;

 private:
  sfu::SfuServer& server_;
  transport::UdpSocket& socket_;
  std::function<void()> on_ended_;
  std::array<std::array<uint8_t, 2048>, 32> buffers_{};
};

int run(const Options& o) {
  auto http = tools::net::split_host_port(o.http);
  if (!http) return fail(std::string("--http: ") + http.error());
  auto udp = tools::net::split_host_port(o.udp);
  if (!udp) return fail(std::string("--udp: ") + udp.error());
  auto udp_address = transport::SocketAddress::Parse(udp->first, udp->second);
  if (!udp_address) return fail("--udp: not a numeric IP address");
  if (Status st = tools::net::check_output_path("--stats-json", o.stats_json); !st.ok()) return fail(st.error());
  if (Status st = tools::sfu_tool::SfuRecorder::prepare_dir(o.record_dir); !st.ok()) return fail(st.error());

  auto loop = tools::net::ToolLoop::Open({});
  if (!loop) return fail(loop.error());
  transport::EpollDriver& driver = (*loop)->driver();
  auto socket = transport::UdpSocket::Open(*udp_address);
  if (!socket) return fail(socket.error());

  sfu::SfuConfig config;
  config.address = to_ice(socket->local_address());
  config.max_sessions = o.max_sessions;
  config.max_subscribers_per_room = o.max_subscribers;
  tools::sfu_tool::SfuRecorder recorder(o.record_dir, o.quiet);  // counts frames; records with --record-dir
  config.media_tap = &recorder;
  auto server = sfu::SfuServer::Create(config);
  if (!server) return fail(server.error());
  sfu::SfuSignalling signalling(**server);

  auto endpoint_config = [&](whip::SignallingKind kind) {
    return tools::net::tool_endpoint_config(kind, o.token, o.max_sessions);
  };
  whip::WhipEndpoint whip_endpoint(endpoint_config(whip::SignallingKind::kWhip), signalling.whip_handler());
  whip::WhipEndpoint whep_endpoint(endpoint_config(whip::SignallingKind::kWhep), signalling.whep_handler());
  auto drop_ended = [&] {
    for (const std::string& id : signalling.ended()) (void)(whip_endpoint.drop(id) || whep_endpoint.drop(id));  // in one
  };
  SfuDriver sfu_driver(**server, *socket, drop_ended);

  auto dispatch = [&](const whip::HttpRequest& request, Timestamp now) {
    whip::HttpResponse response;
    if (request.path == "/stats") {
      if (request.method != "GET") {
        response.status = 405;
        response.add("Allow", "GET");
        return response;
      }
      response.status = 200;
      response.add("Content-Type", "application/json");
      response.body = recorder.annotate_stats((*server)->stats_json(now)) + "\n";
      return response;
    }
    if (request.path == "/metrics") {  // Prometheus scrapes this
      if (request.method != "GET") {
        response.status = 405;
        response.add("Allow", "GET");
        return response;
      }
      response.status = 200;
      response.add("Content-Type", "text/plain; version=0.0.4");
      response.body = (*server)->prometheus_metrics();
      return response;
    }
    if (auto page = tools::sfu_tool::page_response(request)) return *page;
    response = (request.path.rfind("/whep", 0) == 0 ? whep_endpoint : whip_endpoint).handle(request, now);
    sfu_driver.flush();  // an end_session's close_notify
    return response;
  };
  tools::net::HttpBridgeConfig bc;
  bc.bind_address = http->first;
  bc.port = http->second;
  auto bridge = tools::net::HttpBridge::Start(bc, driver, dispatch);
  if (!bridge) return fail(bridge.error());

  transport::UdpSocket& s = *socket;
  if (Status st = driver.add_fd(s.fd(), [&](Timestamp now) { sfu_driver.on_readable(now); }); !st.ok()) return fail(st.error());
  if (Status st = driver.add_pollable(&sfu_driver); !st.ok()) return fail(st.error());
  if (Status st = driver.add_pollable(&recorder); !st.ok()) return fail(st.error());
  if (!o.quiet) {
    std::fprintf(stderr, "tern-sfu: WHIP http://%s:%u/whip/<room>, WHEP /whep/<room>, /stats, page /; media on UDP %s\n",
                 http->first.c_str(), (*bridge)->port(), config.address.to_string().c_str());
  }

  const Timestamp start = transport::EpollDriver::Now();
  const Timestamp deadline = o.duration > 0 ? start + TimeDelta::Micros(static_cast<int64_t>(o.duration * 1e6))
                                            : start + TimeDelta::Seconds(86400LL * 365);
  Status ran = driver.run_until(deadline);
  Timestamp now = transport::EpollDriver::Now();
  if ((*loop)->signal() != 0 && !o.quiet) std::fprintf(stderr, "tern-sfu: draining on signal %d\n", (*loop)->signal());
  // Drain: no new offers, every session ends with its close_notify on the wire.
  const std::string final_stats = (*server)->stats_json(now);
  (*server)->drain(now);  // recordings are finalised here (their publishers end)
  sfu_driver.flush();
  drop_ended();
  driver.remove_pollable(&sfu_driver);
  driver.remove_pollable(&recorder);
  (void)driver.remove_fd(s.fd());  // the socket closes with `socket` anyway
  bridge->reset();
  if (!ran.ok()) return fail(ran.error());
  if (Status st = tools::net::write_stats_json(o.stats_json, recorder.annotate_stats(final_stats)); !st.ok())
    return fail(st.error());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"tern-sfu: a WebRTC media server (WHIP ingest, WHEP egress, one UDP port)"};
  app.add_option("--http", o.http, "HTTP signalling on ADDR:PORT (POST /whip/<room>, /whep/<room>; GET /stats)");
  app.add_option("--udp", o.udp, "Media on this UDP ADDR:PORT (port 0: any); its address is every session's candidate");
  app.add_option("--token", o.token, "Bearer token clients must send (default: none)");
  app.add_option("--max-sessions", o.max_sessions, "Sessions (publishers + subscribers); more get 503")->check(CLI::Range(1, 4096));
  app.add_option("--max-subscribers", o.max_subscribers, "Subscribers per room; more get 503")->check(CLI::Range(1, 4096));
  app.add_option("--duration", o.duration, "Seconds to run (default: until SIGINT/SIGTERM)")->check(CLI::Range(0.0, 86400.0));
  app.add_option("--stats-json", o.stats_json, "Write the server's stats (as /stats) here when it stops");
  app.add_option("--record-dir", o.record_dir,
                 "Record each publisher's audio and video into DIR/<room>-<session>.webm (finalised when it ends)");
  app.add_flag("--quiet", o.quiet, "Nothing on stderr but errors");
  CLI11_PARSE(app, argc, argv);
  return run(o);
}
