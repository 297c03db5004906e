// Drivers of a tern-loopback call: what advances time and moves packets. `SimDriver` is the
// virtual-time netsim::EventLoop (the default: a 20 s call runs in about two seconds, the same seed
// gives the same run); `RealtimeDriver` (`--realtime`) runs the same objects at wall-clock speed
// under transport::EpollDriver, with the last step into each endpoint a real UDP datagram over
// 127.0.0.1. Both see time measured from the start of the call.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/netsim/event_loop.h"
#include "tern/netsim/packet_sink.h"
#include "tern/transport/epoll_driver.h"
#include "tern/transport/udp_socket.h"

namespace tern::tools {

// Real-time mode: the last step to each endpoint is a real UDP datagram over 127.0.0.1. Packets
// the emulated network delivers are sent from one socket to the other; the receiving socket's
// handler hands them to the endpoint.
class UdpHop final : public netsim::PacketSink {
 public:
  UdpHop(transport::UdpSocket& from, transport::SocketAddress to) : from_(from), to_(std::move(to)) {}
  void on_packet(netsim::SimPacket packet, Timestamp) override {
    if (!from_.send_to(packet.data, to_).ok()) ++send_failures_;
  }
  uint64_t send_failures() const { return send_failures_; }

 private:
  transport::UdpSocket& from_;
  transport::SocketAddress to_;
  uint64_t send_failures_ = 0;
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
    if (Status s = watch(socket_a_, a); !s.ok()) return s;
    return watch(socket_b_, b);
  }
  Status add(netsim::Pollable* p) override {
    shifted_.push_back(std::make_unique<ShiftedPollable>(*p, offset_));
    return epoll_.add_pollable(shifted_.back().get());
  }
  Status run_until(Timestamp t) override { return epoll_.run_until(t + offset_); }
  Timestamp now() const override { return transport::EpollDriver::Now() - offset_; }
  uint64_t send_failures() const { return to_a_.send_failures() + to_b_.send_failures(); }

 private:
  RealtimeDriver(transport::EpollDriver epoll, transport::UdpSocket a, transport::UdpSocket b);
  Status watch(transport::UdpSocket& socket, netsim::PacketSink* target);

  transport::EpollDriver epoll_;
  transport::UdpSocket socket_a_, socket_b_;
  UdpHop to_a_, to_b_;
  TimeDelta offset_;
  transport::DatagramBatch batch_;
  std::vector<std::unique_ptr<ShiftedPollable>> shifted_;
};

}  // namespace tern::tools
