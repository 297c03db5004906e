// TurnRelayTransport: a TurnClient as an IceAgent's RelayTransport (the hook in ice_agent.h), so a
// relayed candidate is a real TURN allocation. Sans-I/O like both sides: it owns the client, the
// driver carries the client's bytes to and from the TURN server, and deliver() hands what the
// relay received to the agent.
//
// What the hook calls become (RFC 8656):
//   relayed_address()  the allocation's XOR-RELAYED-ADDRESS while the client is kAllocated (the
//                      agent polls it every Ta until set: that is when the relay candidate
//                      appears); mapped_address() its XOR-MAPPED-ADDRESS, the candidate's raddr;
//   failed()           the Allocate failed or timed out: the agent's gathering completes without
//                      a relay candidate;
//   add_permission()   CreatePermission for each remote candidate paired with the relay candidate
//                      (per IP; the client refreshes it every 4 minutes while it lives);
//   send_to()          a Send indication, or ChannelData once the peer's channel is bound;
//   on_selected()      ChannelBind for the selected pair's remote (refreshed every 4 minutes,
//                      which also keeps that peer's permission alive).
// Allocation refreshes, retransmissions and timers are the client's: the driver runs
// client().process(now) at client().next_wakeup() like any other deadline.
//
// Refusals (a full permission/channel table, no allocation, data too large) never throw or stop
// the agent: they are counted in counters() with the last reason, and a check that could not be
// sent fails by timeout as on a lossy path.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "tern/ice/ice_agent.h"
#include "tern/ice/turn_client.h"

namespace tern::ice {

struct TurnRelayCounters {
  uint64_t permissions_refused = 0;
  uint64_t sends_refused = 0;
  uint64_t channels_refused = 0;
  uint64_t delivered = 0;  // datagrams handed to the agent by deliver()
  const char* last_error = "";  // the client's reason for the last refusal (static text)
};

class TurnRelayTransport final : public RelayTransport {
 public:
  explicit TurnRelayTransport(TurnClient client) : client_(std::move(client)) {}

  TurnClient& client() { return client_; }
  const TurnClient& client() const { return client_; }

  std::optional<TransportAddress> relayed_address() const override;
  std::optional<TransportAddress> mapped_address() const override;
  void add_permission(const TransportAddress& peer, Timestamp now) override;
  void send_to(const TransportAddress& peer, std::span<const uint8_t> data, Timestamp now) override;
  void on_selected(const TransportAddress& peer, Timestamp now) override;
  // The allocation failed (or was closed) before it produced an address.
  bool failed() const override;

  // Hands every datagram the client received from peers to `agent` (on_relayed_datagram), and the
  // application data among them (what the agent classifies kApplication) to `on_app`. Call after
  // feeding the client the server's bytes. Returns how many datagrams were handed over.
  using AppSink = std::function<void(const TransportAddress& peer, std::span<const uint8_t> data)>;
  size_t deliver(IceAgent& agent, Timestamp now, const AppSink& on_app);

  const TurnRelayCounters& counters() const { return counters_; }

 private:
  void refused(uint64_t& counter, const char* reason);

  TurnClient client_;
  TurnRelayCounters counters_;
};

}  // namespace tern::ice
