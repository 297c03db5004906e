// Drivers of a tern-loopback call: what advances time and moves packets. `SimDriver` is the
// virtual-time netsim::EventLoop (the default: a 20 s call runs in about two seconds, the same seed
// gives the same run); `RealtimeDriver` (`--realtime`) runs the same objects at wall-clock speed
// under transport::EpollDriver, with the last step into each endpoint a real UDP datagram over
// 127.0.0.1 through the library's transport::RtpUdpTransport (the one tern-send and tern-recv use;
// here plain, without SRTP). Both see time measured from the start of the call.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/netsim/event_loop.h"
#include "tern/netsim/packet_sink.h"
#include "tern/transport/epoll_driver.h"
#include "tern/transport/rtp_udp_transport.h"

namespace tern::tools {

// Real-time mode: the last step to each endpoint is a real UDP datagram over 127.0.0.1. Packets
// the emulated network delivers are sent by the other side's transport (whose peer is this side);
// the receiving transport's handler hands them to the endpoint. Send failures are the sending
// transport's `send_failures`.
class UdpHop final : public netsim::PacketSink {
 public:
  explicit UdpHop(transport::RtpUdpTransport& from) : from_(from) {}
  void on_packet(netsim::SimPacket packet, Timestamp now) override { from_.on_datagram(std::move(packet.data), now); }

 private:
  transport::RtpUdpTransport& from_;
};

// Runs a netsim-time object under the real-time driver: everything inside sees time measured from
// the start of the call, exactly as under the virtual-time loop.
class ShiftedPollable final : public transport::Pollable {
 public:
  ShiftedPollable(netsim::Pollable& inner, TimeDelta offset) : inner_(inner), offset_(offset) {}
  std::optional<Timestamp> next_wakeup() const override {
    auto t = inner_.next_wakeup();
    if (!t) return std::nullopt;
    return *t + offset_;
  }
  void process(Timestamp now) override { inner_.process(now - offset_); }

 private:
  netsim::Pollable& inner_;
  TimeDelta offset_;
};

// What drives the call: the virtual-time EventLoop, or epoll + UDP sockets at wall-clock speed.
class Driver {
 public:
  virtual ~Driver() = default;
  virtual Status add(netsim::Pollable* p) = 0;
  // Runs until `t` (call time, from zero).
  virtual Status run_until(Timestamp t) = 0;
  virtual Timestamp now() const = 0;
};

class SimDriver final : public Driver {
 public:
  Status add(netsim::Pollable* p) override {
    loop_.add_pollable(p);
    return Status();
  }
  Status run_until(Timestamp t) override { return loop_.run_until(t); }
  Timestamp now() const override { return loop_.now(); }

 private:
  netsim::EventLoop loop_;
};

class RealtimeDriver final : public Driver {
 public:
  static Result<std::unique_ptr<RealtimeDriver>> Create();
  // Sinks that carry delivered packets over UDP to A's / B's socket.
  netsim::PacketSink* hop_to_a() { return &to_a_; }
  netsim::PacketSink* hop_to_b() { return &to_b_; }
  // Datagrams arriving at A's / B's socket go to these.
  Status connect(netsim::PacketSink* a, netsim::PacketSink* b) {
    if (Status s = watch(*transport_a_, a); !s.ok()) return s;
    return watch(*transport_b_, b);
  }
  Status add(netsim::Pollable* p) override {
    shifted_.push_back(std::make_unique<ShiftedPollable>(*p, offset_));
    return epoll_.add_pollable(shifted_.back().get());
  }
  Status run_until(Timestamp t) override { return epoll_.run_until(t + offset_); }
  Timestamp now() const override { return transport::EpollDriver::Now() - offset_; }
  uint64_t send_failures() const {
    return transport_a_->counters().send_failures + transport_b_->counters().send_failures;
  }
  // Datagrams that arrived but were neither RTP nor RTCP (the Demuxer's verdict), both sides.
  uint64_t not_rtp() const { return transport_a_->counters().not_rtp + transport_b_->counters().not_rtp; }

 private:
  RealtimeDriver(transport::EpollDriver epoll, std::unique_ptr<transport::RtpUdpTransport> a,
                 std::unique_ptr<transport::RtpUdpTransport> b);
  Status watch(transport::RtpUdpTransport& transport, netsim::PacketSink* target);

  transport::EpollDriver epoll_;
  std::unique_ptr<transport::RtpUdpTransport> transport_a_, transport_b_;
  UdpHop to_a_, to_b_;
  TimeDelta offset_;
  std::vector<std::unique_ptr<ShiftedPollable>> shifted_;
};

}  // namespace tern::tools
