// Glue between an assembly that speaks datagrams (pipeline::Endpoint, one side of a
// pipeline::MediaServer, anything else) and the netsim virtual-time world. Depends only on core/ and
// netsim/, so netsim knows no assembly and the assembly knows no driver:
// - NetsimTransport is a tern::DatagramSink (core/datagram_sink.h) that wraps each datagram in a
//   SimPacket (next id, send time, IPv4+UDP overhead) and hands it to a send function (a Network
//   direction or a Path);
// - PollableAdapter<T> registers any object with next_wakeup()/process(now) and
//   on_packet(span, now) with an EventLoop and as the PacketSink of the path that delivers to it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "tern/core/datagram_sink.h"
#include "tern/core/units.h"
#include "tern/netsim/packet_sink.h"
#include "tern/netsim/pollable.h"
#include "tern/netsim/sim_packet.h"

namespace tern::netsim {

class NetsimTransport final : public DatagramSink {
 public:
  using SendFn = std::function<void(SimPacket packet, Timestamp now)>;
  static constexpr DataSize kUdpIpv4Overhead = DataSize::Bytes(28);

  NetsimTransport() = default;
  explicit NetsimTransport(SendFn send) : send_(std::move(send)) {}
  void set_send(SendFn send) { send_ = std::move(send); }

  void on_datagram(std::vector<uint8_t> datagram, Timestamp now) override {
    SimPacket p;
    p.data = std::move(datagram);
    p.id = next_id_++;
    p.sent_time = now;
    p.overhead = kUdpIpv4Overhead;
    if (send_) send_(std::move(p), now);
  }
  uint64_t packets_sent() const { return next_id_ - 1; }

 private:
  SendFn send_;
  uint64_t next_id_ = 1;
};

// T needs: std::optional<Timestamp> next_wakeup() const; void process(Timestamp);
// void on_packet(std::span<const uint8_t>, Timestamp). The adapter does not own `target`.
template <typename T>
class PollableAdapter final : public Pollable, public PacketSink {
 public:
  explicit PollableAdapter(T& target) : target_(target) {}
  std::optional<Timestamp> next_wakeup() const override { return target_.next_wakeup(); }
  void process(Timestamp now) override { target_.process(now); }
  void on_packet(SimPacket packet, Timestamp now) override { target_.on_packet(packet.data, now); }

 private:
  T& target_;
};

}  // namespace tern::netsim
