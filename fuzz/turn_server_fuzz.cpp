// libFuzzer target: a TurnServer fed arbitrary datagrams from three client addresses and three
// peers, interleaved with time steps and with requests the harness authenticates itself (the
// fuzzer cannot forge MESSAGE-INTEGRITY, so without them it would never get past the 401).
// Asserts no crash, bounded tables and a bounded outgoing queue.
//
// Input: records of [op][arg][len][len bytes]:
//   op % 4 == 0: the bytes as a datagram from client arg % 3
//   op % 4 == 1: the bytes as a datagram from peer arg % 3 to relay socket arg / 3 % 8
//   op % 4 == 2: time advances by arg * 10 s (so expiries at 300/600 s are reached)
//   op % 4 == 3: an authenticated request from client arg % 3, method arg / 3 % 4 (Allocate,
//                Refresh, CreatePermission, ChannelBind), lifetime / channel / peer / EVEN-PORT /
//                RESERVATION-TOKEN from the bytes
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>

#include "tern/ice/turn_server.h"

using namespace tern;
using namespace tern::ice;

namespace {

// Eight relay ports; ids are reused once closed, as a real driver's would be.
struct Relays : RelayPorts {
  bool used[8] = {};
  size_t open_count = 0;
  std::optional<Opened> open(const TransportAddress&, Timestamp) override {
    for (RelayId id = 0; id < 8; ++id) {
      if (used[id]) continue;
      used[id] = true;
      ++open_count;
      return Opened{id, TransportAddress::V4(192, 0, 2, 1, static_cast<uint16_t>(50000 + id))};
    }
    return std::nullopt;
  }
  std::optional<Pair> open_even(const TransportAddress& c, bool reserve_next, Timestamp now) override {
    auto even = open(c, now);
    if (!even) return std::nullopt;
    Pair p{*even, std::nullopt};
    if (reserve_next) {
      p.next = open(c, now);
      if (!p.next) {
        close(even->id);
        return std::nullopt;
      }
    }
    return p;
  }
  void close(RelayId id) override {
    if (id >= 8 || !used[id]) std::abort();  // closed twice or never opened
    used[id] = false;
    --open_count;
  }
};

const TransportAddress kClients[3] = {TransportAddress::V4(198, 51, 100, 1, 1000),
                                      TransportAddress::V4(198, 51, 100, 2, 2000),
                                      TransportAddress::V4(198, 51, 100, 2, 2001)};
const TransportAddress kPeers[3] = {TransportAddress::V4(203, 0, 113, 1, 1), TransportAddress::V4(203, 0, 113, 1, 2),
                                    TransportAddress::V4(203, 0, 113, 9, 3)};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Relays relays;
  TurnServerConfig config;
  config.realm = "fuzz";
  config.users = {{"u", "p"}, {"v", "q"}};
  config.nonce_secret = 1;
  config.max_allocations = 4;
  config.max_allocations_per_user = 2;
  config.max_permissions = 3;
  config.max_channels = 2;
  config.max_queued = 16;
  config.max_channel = 0x7FFF;  // the wider RFC 5766 range, its own framing path
  auto created = TurnServer::Create(config, &relays);
  if (!created) std::abort();
  TurnServer& server = *created;
  const StunKey key = long_term_key("u", "fuzz", "p");
  std::string nonce;
  Timestamp now = Timestamp::Seconds(1);
  uint8_t tid = 0;

  std::span<const uint8_t> in(data, size);
  while (in.size() >= 3) {
    const uint8_t op = in[0], arg = in[1];
    const size_t len = std::min<size_t>(in[2], in.size() - 3);
    const std::span<const uint8_t> body = in.subspan(3, len);
    in = in.subspan(3 + len);
    switch (op % 4) {
      case 0: server.on_client_datagram(0, kClients[arg % 3], body, now); break;
      case 1: server.on_peer_datagram(static_cast<RelayId>(arg / 3 % 8), kPeers[arg % 3], body, now); break;
      case 2:
        now = now + TimeDelta::Seconds(arg * 10);
        server.process(now);
        break;
      default: {
        static constexpr StunMethod kMethods[] = {StunMethod::kAllocate, StunMethod::kRefresh,
                                                  StunMethod::kCreatePermission, StunMethod::kChannelBind};
        TransactionId id{};
        id.bytes[0] = ++tid;
        StunMessageBuilder b(StunClass::kRequest, kMethods[arg / 3 % 4], id);
        const uint8_t x = body.empty() ? 0 : body[0];
        b.add_requested_transport(x & 1 ? 17 : 6);
        b.add_lifetime(x & 2 ? 0 : x * 30u);
        b.add_channel_number(static_cast<uint16_t>(0x3FFE + (x >> 5)));
        b.add_xor_peer_address(kPeers[x % 3]);
        const uint8_t even[1] = {static_cast<uint8_t>(x & 8 ? 0x80 : 0)};
        if (x & 4) b.add_bytes(0x0018, even);  // EVEN-PORT, R bit from x
        if (body.size() >= 9 && (body[1] & 1)) b.add_bytes(0x0022, body.subspan(1, 8));  // a guessed token
        if (!nonce.empty()) b.add_username("u").add_realm("fuzz").add_nonce(nonce).add_message_integrity(key);
        auto bytes = std::move(b).finish();
        if (bytes) server.on_client_datagram(0, kClients[arg % 3], *bytes, now);
        break;
      }
    }
    while (auto out = server.pop_outgoing()) {
      if (out->data.empty()) std::abort();
      // Keep the latest nonce so later requests authenticate.
      auto m = StunMessage::parse(out->data);
      if (m && m->message_class() == StunClass::kError && m->nonce()) nonce = std::string(*m->nonce());
    }
    // Open relay ports: one per allocation plus reserved ones (at most max_allocations).
    if (server.allocation_count() > config.max_allocations ||
        relays.open_count < server.allocation_count() ||
        relays.open_count > server.allocation_count() + config.max_allocations)
      std::abort();
    for (const TransportAddress& c : kClients) {
      if (auto a = server.allocation(0, c); a && (a->permissions > config.max_permissions || a->channels > config.max_channels))
        std::abort();
    }
  }
  return 0;
}
