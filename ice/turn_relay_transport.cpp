#include "tern/ice/turn_relay_transport.h"

namespace tern::ice {

std::optional<TransportAddress> TurnRelayTransport::relayed_address() const {
  if (client_.state() != TurnState::kAllocated) return std::nullopt;
  return client_.relayed_address();
}

bool TurnRelayTransport::failed() const {
  const TurnState s = client_.state();
  return s == TurnState::kFailed || s == TurnState::kClosed;
}

std::optional<TransportAddress> TurnRelayTransport::mapped_address() const { return client_.mapped_address(); }

void TurnRelayTransport::refused(uint64_t& counter, const char* reason) {
  ++counter;
  counters_.last_error = reason;
}

void TurnRelayTransport::add_permission(const TransportAddress& peer, Timestamp now) {
  if (Status s = client_.create_permission(peer, now); !s.ok()) refused(counters_.permissions_refused, s.error());
}

void TurnRelayTransport::send_to(const TransportAddress& peer, std::span<const uint8_t> data, Timestamp) {
  if (Status s = client_.send(peer, data); !s.ok()) refused(counters_.sends_refused, s.error());
}

void TurnRelayTransport::on_selected(const TransportAddress& peer, Timestamp now) {
  // Without a channel the data still flows as Send/Data indications; the refusal is only counted.
  if (auto channel = client_.bind_channel(peer, now); !channel.ok()) refused(counters_.channels_refused, channel.error());
}

size_t TurnRelayTransport::deliver(IceAgent& agent, Timestamp now, const AppSink& on_app) {
  size_t n = 0;
  // Bounded by the client's received queue (kMaxQueued); the agent never feeds the client input.
  while (auto r = client_.pop_received()) {
    ++n;
    if (agent.on_relayed_datagram(this, r->peer, r->data, now) == IceAgent::Inbound::kApplication && on_app)
      on_app(r->peer, r->data);
  }
  counters_.delivered += n;
  return n;
}

}  // namespace tern::ice
