// Glue between pipeline assemblies and the netsim virtual-time world: NetsimTransport is a
// tern::DatagramSink that wraps datagrams in netsim::SimPackets (with IPv4+UDP overhead) and hands
// them to a send function (a Network direction or a Path); PollableAdapter registers any object
// with next_wakeup()/process(now) and on_packet(span, now) (Endpoint, one side of a MediaServer)
// with a netsim::EventLoop and as the netsim::PacketSink of the path that delivers to it.
#pragma once

#include <functional>
#include <span>
#include <utility>

#include "tern/core/datagram_sink.h"
#include "tern/netsim/packet_sink.h"
#include "tern/netsim/pollable.h"
#include "tern/netsim/sim_packet.h"

namespace tern::pipeline {

class NetsimTransport final : public DatagramSink {
 public:
  using SendFn = std::function<void(netsim::SimPacket packet, Timestamp now)>;
  static constexpr DataSize kUdpIpv4Overhead = DataSize::Bytes(28);

  NetsimTransport() = default;
  explicit NetsimTransport(SendFn send) : send_(std::move(send)) {}
  void set_send(SendFn send) { send_ = std::move(send); }

  void on_datagram(std::vector<uint8_t> packet, Timestamp now) override {
    netsim::SimPacket p;
    p.data = std::move(packet);
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
class PollableAdapter final : public netsim::Pollable, public netsim::PacketSink {
 public:
  explicit PollableAdapter(T& target) : target_(target) {}
  std::optional<Timestamp> next_wakeup() const override { return target_.next_wakeup(); }
  void process(Timestamp now) override { target_.process(now); }
  void on_packet(netsim::SimPacket packet, Timestamp now) override { target_.on_packet(packet.data, now); }

 private:
  T& target_;
};

}  // namespace tern::pipeline
