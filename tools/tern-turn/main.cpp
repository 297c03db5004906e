// tern-turn: a TURN server (RFC 8656, UDP allocations, long-term credentials) on real UDP and TCP that
// applies netsim link models (loss, bursts, delay, jitter, capacity, queue; seeded) to the traffic
// it relays, so that any WebRTC client can be put through a controlled network with nothing but a
// TURN URL. The work is library code (tools/turn/); this file parses options and wires them.
//
// Prints "tern-turn listening on <ip:port>" once ready (and "tern-turn tcp listening on <ip:port>"
// for TURN over TCP on the same port); runs until SIGINT/SIGTERM (or --duration)
// and then prints its counters as JSON on stdout.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "tern/tools/turn/turn_options.h"
#include "tern/tools/turn/turn_relay.h"
#include "tern/tools/turn/turn_report.h"
#include "tern/transport/epoll_driver.h"
#include "tern/transport/signal_fd.h"

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "tern-turn: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tern;
  tools::turn::TurnOptions o;
  double duration_s = 0.0;
  CLI::App app{"tern-turn: an impairing TURN relay (clients over UDP or TCP, relaying over UDP)"};
  app.add_option("--user", o.users, "Long-term credential user:password (repeatable)")->required();
  app.add_option("--realm", o.realm, "Realm");
  app.add_option("--listen", o.listen, "Listening ip:port");
  app.add_option("--relay-ip", o.relay_ip, "Address relay sockets bind to");
  app.add_option("--min-port", o.min_port, "Lowest relay port");
  app.add_option("--max-port", o.max_port, "Highest relay port");
  app.add_option("--max-allocations", o.max_allocations, "Global allocation limit (486 beyond)");
  app.add_option("--user-quota", o.user_quota, "Allocations per user (486 beyond)");
  app.add_option("--max-tcp", o.max_tcp, "TURN-over-TCP connections on the listening port (0: UDP only)");
  app.add_option("--loss", o.loss_percent, "Relayed-packet loss, percent, each direction");
  app.add_option("--burst", o.burst, "Mean loss burst length in packets (> 1: Gilbert-Elliott)");
  app.add_option("--delay", o.delay_ms, "One-way delay added to relayed packets, ms");
  app.add_option("--jitter", o.jitter_ms, "Uniform jitter, +- ms");
  app.add_option("--capacity", o.capacity_kbps, "Relayed capacity per direction, kbit/s (0: unlimited)");
  app.add_option("--queue", o.queue_packets, "Queue limit in packets in front of the capacity");
  app.add_option("--seed", o.seed, "Seed of the loss and jitter models");
  app.add_option("--duration", duration_s, "Stop after this many seconds (0: until a signal)");
  CLI11_PARSE(app, argc, argv);

  auto config = tools::turn::make_relay_config(o);
  if (!config) return fail(config.error());
  auto signals = transport::SignalFd::Create();
  if (!signals) return fail(std::string("signalfd: ") + signals.error());
  auto driver = transport::EpollDriver::Create();
  if (!driver) return fail(driver.error());
  auto relay = tools::turn::TurnRelay::Open(std::move(config).value(), *driver);
  if (!relay) return fail(relay.error());
  int signal_number = 0;
  if (Status st = driver->add_fd(signals->fd(), [&](Timestamp) {
        signal_number = signals->read_signal();
        driver->stop();
      });
      !st.ok())
    return fail(st.error());
  std::printf("tern-turn listening on %s\n", (*relay)->listen_address().to_string().c_str());
  if ((*relay)->tcp_enabled())
    std::printf("tern-turn tcp listening on %s\n", (*relay)->listen_address().to_string().c_str());
  std::fflush(stdout);
  const TimeDelta run_for = duration_s > 0.0 ? TimeDelta::SecondsF(duration_s) : TimeDelta::Seconds(int64_t{1} << 40);
  if (Status st = driver->run_for(run_for); !st.ok()) return fail(st.error());

  std::printf("%s\n", tools::turn::relay_report_json(**relay, signal_number).c_str());
  return 0;
}
