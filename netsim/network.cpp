#include "tern/netsim/network.h"

#include "tern/netsim/derive_seed.h"

namespace tern::netsim {

NetworkConfig NetworkConfig::Direct(const LinkConfig& a_to_b, const LinkConfig& b_to_a) {
  NetworkConfig c;
  c.a_to_b = {a_to_b};
  c.b_to_a = {b_to_a};
  return c;
}

NetworkConfig NetworkConfig::Relay(const LinkConfig& a_up, const LinkConfig& relay_to_b, const LinkConfig& b_up,
                                   const LinkConfig& relay_to_a) {
  NetworkConfig c;
  c.a_to_b = {a_up, relay_to_b};
  c.b_to_a = {b_up, relay_to_a};
  return c;
}

Result<std::unique_ptr<Network>> Network::Create(NetworkConfig config) {
  if (config.seed) {
    uint64_t salt = 0;
    for (LinkConfig& l : config.a_to_b) l.seed = derive_seed(*config.seed, salt++);
    for (LinkConfig& l : config.b_to_a) l.seed = derive_seed(*config.seed, salt++);
  }
  auto ab = Path::Chain(config.a_to_b);
  if (!ab) return Error{ab.error()};
  auto ba = Path::Chain(config.b_to_a);
  if (!ba) return Error{ba.error()};
  return std::unique_ptr<Network>(new Network(std::move(*ab), std::move(*ba)));
}

void Network::attach(EventLoop& loop) {
  loop.add_pollable(&a_to_b_);
  loop.add_pollable(&b_to_a_);
}

void Network::detach(EventLoop& loop) {
  loop.remove_pollable(&a_to_b_);
  loop.remove_pollable(&b_to_a_);
}

}  // namespace tern::netsim
