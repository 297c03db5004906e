// Path: one direction of a route through the emulated network, made of links in series. A packet
// leaving hop i enters hop i + 1 at its delivery time; the last hop hands it to the PacketSink.
// Direct = one link (P2P); Relay = two links (client -> TURN server -> peer), each with its own
// capacity, queue, delay and loss, so the end-to-end delay is the sum of both hops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "tern/core/result.h"
#include "tern/netsim/link.h"
#include "tern/netsim/packet_sink.h"
#include "tern/netsim/pollable.h"

namespace tern::netsim {

class Path final : public Pollable {
 public:
  static constexpr size_t kMaxHops = 16;

  static Result<Path> Direct(const LinkConfig& link);
  static Result<Path> Relay(const LinkConfig& to_relay, const LinkConfig& from_relay);
  // Any number of hops in [1, kMaxHops].
  static Result<Path> Chain(const std::vector<LinkConfig>& hops);

  // Where delivered packets go; not owned. Without a sink, delivered packets are counted in
  // undeliverable() and discarded.
  void set_sink(PacketSink* sink) { sink_ = sink; }
  // Hands a packet to the first hop at `now`.
  void send(SimPacket packet, Timestamp now);

  std::optional<Timestamp> next_wakeup() const override;
  void process(Timestamp now) override;

  size_t hop_count() const { return links_.size(); }
  Link& hop(size_t i) { return links_[i]; }
  const Link& hop(size_t i) const { return links_[i]; }
  uint64_t delivered() const { return delivered_; }
  uint64_t undeliverable() const { return undeliverable_; }

 private:
  explicit Path(std::vector<Link> links) : links_(std::move(links)) {}

  std::vector<Link> links_;
  PacketSink* sink_ = nullptr;
  uint64_t delivered_ = 0;
  uint64_t undeliverable_ = 0;
};

}  // namespace tern::netsim
