// The real-time loop tern-send and tern-recv run, the Pollable that drives their Endpoint, and
// the stats file both write.
#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "tern/core/result.h"
#include "tern/pipeline/endpoint.h"
#include "tern/transport/epoll_driver.h"
#include "tern/transport/pollable.h"
#include "tern/transport/rtp_udp_transport.h"
#include "tern/transport/signal_fd.h"
#include "tern/whip/whip_endpoint.h"

namespace tern::tools::net {

// What the UDP transport(s) below an Endpoint caught, as its stats report them.
inline pipeline::LinkCounters link_counters(const transport::RtpUdpTransportCounters& c) {
  return pipeline::LinkCounters{c.not_rtp, c.truncated, c.unprotect_failures, c.send_failures};
}

// Drives an Endpoint (possibly created later) from the EpollDriver.
class EndpointPollable : public transport::Pollable {
 public:
  void set(pipeline::Endpoint* endpoint) { endpoint_ = endpoint; }
  std::optional<Timestamp> next_wakeup() const override {
    return endpoint_ != nullptr ? endpoint_->next_wakeup() : std::nullopt;
  }
  void process(Timestamp now) override {
    if (endpoint_ != nullptr) endpoint_->process(now);
  }

 private:
  pipeline::Endpoint* endpoint_ = nullptr;
};

// An EpollDriver that stops on SIGINT/SIGTERM (signal() tells which), with the tool's transports
// attached. Errors are the driver's or the signalfd's ("epoll driver: ...", "signalfd: ...").
class ToolLoop {
 public:
  // `transports`: the ones to read from; null entries (an absent audio port) are skipped.
  static Result<std::unique_ptr<ToolLoop>> Open(std::initializer_list<transport::RtpUdpTransport*> transports);

  transport::EpollDriver& driver() { return driver_; }
  // The signal that stopped the loop, 0 while none has.
  int signal() const { return signal_; }

 private:
  explicit ToolLoop(transport::EpollDriver driver) : driver_(std::move(driver)) {}

  transport::EpollDriver driver_;
  transport::SignalFd signals_;
  int signal_ = 0;
};

// "ADDR:PORT" or "[v6]:PORT" -> (ADDR, PORT); "expected ADDR:PORT" or "port out of range" otherwise.
Result<std::pair<std::string, uint16_t>> split_host_port(std::string_view text);

// The tools' WHIP/WHEP endpoint: POST "/whip[/<name>]" (or "/whep..."), resources under
// "/whip/resource/<id>", CORS for any origin, `token` required when not empty.
whip::WhipEndpointConfig tool_endpoint_config(whip::SignallingKind kind, const std::string& token, size_t max_sessions);

// Writes `document` (a tool's stats JSON) and a newline to `path`; an empty path writes nothing.
// Error: "--stats-json: cannot write/create 'PATH': REASON" (a full disk included).
Status write_stats_json(const std::string& path, const std::string& document);
// Creates (truncates) the file an option names, so that an unwritable path is reported at
// start-up: "OPTION: cannot create 'PATH': REASON". An empty path is fine.
Status check_output_path(const char* option, const std::string& path);

}  // namespace tern::tools::net
