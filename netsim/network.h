// Network: two endpoints, A and B, joined by one Path per direction (directions are independent:
// each has its own capacity, queue, delay and loss). Topologies: direct (P2P, one link each way)
// and relay (TURN-like, two links in series each way). Drive it by attaching it to an EventLoop,
// or by calling next_wakeup()/process() on both paths from any other driver.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "tern/core/result.h"
#include "tern/netsim/event_loop.h"
#include "tern/netsim/path.h"

namespace tern::netsim {

struct NetworkConfig {
  std::vector<LinkConfig> a_to_b;  // hops in order from A
  std::vector<LinkConfig> b_to_a;  // hops in order from B
  // When set, every hop's seed is replaced by one derived from this and the hop's position, so
  // one number reproduces the whole network and no two hops share a random stream.
  std::optional<uint64_t> seed;

  static NetworkConfig Direct(const LinkConfig& a_to_b, const LinkConfig& b_to_a);
  // a_up: A -> relay, relay_to_b: relay -> B; b_up: B -> relay, relay_to_a: relay -> A.
  static NetworkConfig Relay(const LinkConfig& a_up, const LinkConfig& relay_to_b, const LinkConfig& b_up,
                             const LinkConfig& relay_to_a);
};

class Network {
 public:
  // Heap-allocated so the paths keep their addresses once attached to a loop.
  static Result<std::unique_ptr<Network>> Create(NetworkConfig config);
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // Registers / unregisters both paths with the loop.
  void attach(EventLoop& loop);
  void detach(EventLoop& loop);

  // Packets sent by B arrive at sink_a, and the other way round. Sinks are not owned.
  void set_sink_a(PacketSink* sink) { b_to_a_.set_sink(sink); }
  void set_sink_b(PacketSink* sink) { a_to_b_.set_sink(sink); }
  void send_from_a(SimPacket packet, Timestamp now) { a_to_b_.send(std::move(packet), now); }
  void send_from_b(SimPacket packet, Timestamp now) { b_to_a_.send(std::move(packet), now); }

  Path& a_to_b() { return a_to_b_; }
  Path& b_to_a() { return b_to_a_; }

 private:
  Network(Path a_to_b, Path b_to_a) : a_to_b_(std::move(a_to_b)), b_to_a_(std::move(b_to_a)) {}

  Path a_to_b_;
  Path b_to_a_;
};

}  // namespace tern::netsim
