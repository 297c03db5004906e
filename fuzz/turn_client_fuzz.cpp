// Fuzzes the TURN client with arbitrary input from its server: the bytes are cut into datagrams
// (UDP client) and also fed as one stream (TCP client), with timers run in between, after an
// allocation has been reached through a well-formed 401 + success exchange so that the allocated
// state (permissions, channels, Data indications, ChannelData) is reached too. Nothing may crash,
// leak, read out of bounds, or grow past the documented bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "tern/ice/stun_message.h"
#include "tern/ice/turn_client.h"

using namespace tern;
using namespace tern::ice;

namespace {

std::vector<uint8_t> Answer(std::span<const uint8_t> request, bool challenge) {
  auto m = StunMessage::parse(request);
  if (!m.ok()) abort();  // the client's own requests always parse
  const StunKey key = long_term_key("u", "r", "p");
  if (challenge) {
    StunMessageBuilder b(StunClass::kError, m->method(), m->transaction_id());
    b.add_error_code(401, "Unauthorized").add_realm("r").add_nonce("n");
    return std::move(b).finish().value();
  }
  StunMessageBuilder b(StunClass::kSuccess, m->method(), m->transaction_id());
  if (m->method() == StunMethod::kAllocate) {
    b.add_xor_relayed_address(TransportAddress::V4(10, 0, 0, 1, 5000)).add_lifetime(600);
  }
  b.add_message_integrity(key).add_fingerprint();
  return std::move(b).finish().value();
}

void Run(TurnTransport transport, std::span<const uint8_t> in) {
  TurnClientConfig c;
  c.username = "u";
  c.password = "p";
  c.transport = transport;
  c.seed = 1;
  c.max_permissions = 4;
  c.max_channels = 4;
  auto client = TurnClient::Create(c).value();
  Timestamp now = Timestamp::Seconds(1);
  client.allocate(now);
  bool first = true;
  for (int i = 0; i < 4 && client.state() != TurnState::kAllocated; ++i) {
    while (auto out = client.pop_outgoing()) {
      const auto answer = Answer(*out, first);
      first = false;
      if (transport == TurnTransport::kUdp) client.on_datagram(answer, now); else client.on_stream_bytes(answer, now);
    }
  }
  if (client.state() != TurnState::kAllocated) abort();
  const TransportAddress peer = TransportAddress::V4(10, 0, 0, 2, 6000);
  if (!client.create_permission(peer, now).ok() || !client.bind_channel(peer, now).ok()) abort();

  // Cut the input into pieces at each 0xFF byte (a datagram each, or stream chunks).
  size_t start = 0;
  for (size_t i = 0; i <= in.size(); ++i) {
    if (i < in.size() && in[i] != 0xFF) continue;
    const auto piece = in.subspan(start, i - start);
    if (transport == TurnTransport::kUdp) client.on_datagram(piece, now); else client.on_stream_bytes(piece, now);
    start = i + 1;
    now = now + TimeDelta::Millis(piece.empty() ? 0 : piece[0] * 100);
    if (auto wake = client.next_wakeup(); wake && *wake <= now) client.process(now);
    const std::vector<uint8_t> data = {1, 2, 3};
    // Status ignored: the client may legitimately have lost its allocation to the input.
    (void)client.send(peer, data);
  }
  if (client.permission_count() > 4 || client.channel_count() > 4) abort();
  size_t drained = 0;
  while (client.pop_outgoing()) ++drained;
  while (client.pop_received()) ++drained;
  while (client.pop_event()) ++drained;
  if (drained > 3 * TurnClient::kMaxQueued) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  Run(TurnTransport::kUdp, in);
  Run(TurnTransport::kTcp, in);
  return 0;
}
