// UdpTransport: the real-network side shared by tern-send and tern-recv. One UDP socket for RTP
// (and RTCP when multiplexed, RFC 5761) or two sockets (RTP on port P, RTCP on P+1, RFC 3550 11),
// optional SRTP/SRTCP (RFC 3711) on both paths, and the DatagramSink the Endpoint sends
// through. Datagrams are protected on the way out and unprotected on the way in; failures are
// counted, never thrown. Also: key and address parsing helpers and an Endpoint Pollable adapter.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/core/datagram_sink.h"
#include "tern/core/result.h"
#include "tern/pipeline/endpoint.h"
#include "tern/transport/epoll_driver.h"
#include "tern/transport/pollable.h"
#include "tern/transport/signal_fd.h"
#include "tern/transport/socket_address.h"
#include "tern/transport/srtp_key.h"
#include "tern/transport/srtp_session.h"
#include "tern/transport/udp_socket.h"

namespace tern::tools::net {

// "host:port" or "[v6]:port" (numeric addresses only).
Result<transport::SocketAddress> parse_host_port(const std::string& text);
// An SRTP master key plus salt given as hex or base64 (an optional "inline:" prefix and
// "|lifetime" suffix are accepted), checked against the profile's key size.
Result<std::vector<uint8_t>> parse_key(const std::string& text, transport::SrtpProfile profile);
// RFC 5761 4: payload type 192..223 (after the version check) is RTCP.
bool looks_like_rtcp(std::span<const uint8_t> datagram);

struct UdpTransportConfig {
  transport::SocketAddress local;         // RTP (and muxed RTCP) socket; port 0 picks one
  bool rtcp_mux = true;                   // false: a second socket on local port + 1 for RTCP
  std::optional<transport::SrtpProfile> srtp_profile;  // set with key: SRTP on both paths
  std::vector<uint8_t> srtp_key;
  // Read ICMP errors (port/host unreachable) for what we send: counted as `unreachable`.
  bool report_unreachable = false;
};

struct UdpTransportCounters {
  uint64_t rtp_sent = 0, rtcp_sent = 0, rtp_received = 0, rtcp_received = 0;
  uint64_t send_failures = 0;        // kernel refused or buffer full (datagram dropped)
  uint64_t unprotect_failures = 0;   // SRTP auth/replay/format failures (datagram dropped)
  uint64_t dropped_by_filter = 0;    // outgoing datagrams the filter refused
  uint64_t not_rtp = 0;              // incoming datagrams that are neither RTP nor RTCP
  uint64_t truncated = 0;            // incoming datagrams larger than a receive slot (dropped)
  uint64_t unreachable = 0;          // ICMP errors for datagrams we sent (report_unreachable)

  // Sums another transport's counters (one Endpoint over two ports).
  UdpTransportCounters& operator+=(const UdpTransportCounters& o) {
    rtp_sent += o.rtp_sent;
    rtcp_sent += o.rtcp_sent;
    rtp_received += o.rtp_received;
    rtcp_received += o.rtcp_received;
    send_failures += o.send_failures;
    unprotect_failures += o.unprotect_failures;
    dropped_by_filter += o.dropped_by_filter;
    not_rtp += o.not_rtp;
    truncated += o.truncated;
    unreachable += o.unreachable;
    return *this;
  }
};

class UdpTransport : public DatagramSink {
 public:
  // A plain (unprotected) datagram received; `rtcp` tells which kind.
  using ReceiveHandler = std::function<void(std::span<const uint8_t> datagram, bool rtcp, Timestamp now)>;
  // Returns false to drop an outgoing plain datagram (before protection).
  using SendFilter = std::function<bool(std::span<const uint8_t> datagram)>;

  // Binds the socket(s) and creates the SRTP sessions; errors name the address.
  static Result<std::unique_ptr<UdpTransport>> Open(const UdpTransportConfig& config);

  // Where RTP goes; RTCP goes to rtp_peer (mux) or rtcp_peer (separate, default RTP port + 1).
  void set_peer(const transport::SocketAddress& rtp_peer, std::optional<transport::SocketAddress> rtcp_peer = {});
  bool has_peer() const { return !rtp_peer_.empty(); }
  // RTCP always goes here, whatever set_peer() or peer learning says (a peer whose RTCP port is
  // not its RTP source port + 1, e.g. GStreamer's rtpbin with its own udpsrc).
  void set_fixed_rtcp_peer(const transport::SocketAddress& rtcp_peer) { fixed_rtcp_peer_ = rtcp_peer; }
  // Learns the peer from the first datagram received when none was set (receivers answering RTCP).
  void set_learn_peer(bool learn) { learn_peer_ = learn; }
  void set_receive_handler(ReceiveHandler handler) { handler_ = std::move(handler); }
  void set_send_filter(SendFilter filter) { filter_ = std::move(filter); }
  // Registers the socket(s) with the driver (reads until EAGAIN on each wakeup).
  Status attach(transport::EpollDriver& driver);

  // DatagramSink: protects (SRTP) and sends one RTP or RTCP datagram.
  void on_datagram(std::vector<uint8_t> packet, Timestamp now) override;

  const transport::SocketAddress& local_address() const { return rtp_socket_.local_address(); }
  const UdpTransportCounters& counters() const { return counters_; }
  // The destination of the latest ICMP error (report_unreachable) and its errno, if any.
  const std::optional<transport::IcmpError>& last_unreachable() const { return last_unreachable_; }
  const transport::UdpSocket& rtp_socket() const { return rtp_socket_; }

 private:
  // Slots of the largest UDP payload (a 4000-byte datagram from ffmpeg's pkt_size is real
  // traffic): 16 x 64 KiB = 1 MiB per transport.
  static constexpr size_t kReceiveSlots = 16;
  UdpTransport() : batch_(kReceiveSlots, transport::kMaxUdpPayload) {}
  void drain(transport::UdpSocket& socket, Timestamp now);

  UdpTransportConfig config_;
  transport::UdpSocket rtp_socket_;
  transport::UdpSocket rtcp_socket_;
  std::optional<transport::SrtpSession> srtp_send_;
  std::optional<transport::SrtpSession> srtp_receive_;
  transport::SocketAddress rtp_peer_;
  transport::SocketAddress rtcp_peer_;
  std::optional<transport::SocketAddress> fixed_rtcp_peer_;
  bool learn_peer_ = false;
  ReceiveHandler handler_;
  SendFilter filter_;
  transport::DatagramBatch batch_;
  std::vector<uint8_t> scratch_;
  UdpTransportCounters counters_;
  std::optional<transport::IcmpError> last_unreachable_;
};

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

// The real-time loop tern-send and tern-recv run: an EpollDriver that stops on SIGINT/SIGTERM
// (signal() tells which), with the tool's transports attached. Errors are the driver's or the
// signalfd's ("epoll driver: ...", "signalfd: ...").
class ToolLoop {
 public:
  // `transports`: the ones to read from; null entries (an absent audio port) are skipped.
  static Result<std::unique_ptr<ToolLoop>> Open(std::initializer_list<UdpTransport*> transports);

  transport::EpollDriver& driver() { return driver_; }
  // The signal that stopped the loop, 0 while none has.
  int signal() const { return signal_; }

 private:
  explicit ToolLoop(transport::EpollDriver driver) : driver_(std::move(driver)) {}

  transport::EpollDriver driver_;
  transport::SignalFd signals_;
  int signal_ = 0;
};

}  // namespace tern::tools::net
