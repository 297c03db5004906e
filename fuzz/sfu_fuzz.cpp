// Fuzzes tern-sfu's core (sfu/): an offer (the input up to the first "\0\0") is posted as a
// publisher of room "r" and, when that worked, as a subscriber of it; the rest of the input is cut
// into datagrams ([length][source][bytes]) that reach the server's socket from a handful of
// addresses, with time moving on between them. Nothing may crash or hang; the session count never
// exceeds its bound; a datagram from an address no session's ICE validated is never routed by
// address (the fuzzer cannot know the random ICE credentials, so no session ever gets one).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string_view>
#include <variant>

#include "tern/sfu/sfu_server.h"

using namespace tern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto certificate = dtls::DtlsCertificate::Generate("fuzz").value();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = std::min(input.find(std::string_view("\0\0", 2)), input.size());
  sfu::SfuConfig config;
  config.address = ice::TransportAddress::V4(192, 0, 2, 1, 3478);
  config.certificate = certificate;
  config.max_sessions = 2;
  config.room_mode = size % 2 == 1 ? sfu::RoomMode::kCall : sfu::RoomMode::kBroadcast;  // call rooms: subscribe_peer()
  auto server = sfu::SfuServer::Create(config);
  if (!server) std::abort();
  sfu::SfuServer& s = **server;
  Timestamp now = Timestamp::Zero() + TimeDelta::Seconds(1);
  const std::string_view offer = input.substr(0, split);
  const auto published = s.publish("r", offer, now);
  if (const auto* answer = std::get_if<sfu::SfuAnswer>(&published)) {
    (void)s.subscribe_peer(answer->id, offer, now);  // no other side: refused
    (void)s.subscribe("r", offer, now);  // refused or not: both are fine here
    (void)s.subscribe("r", offer, now);  // a third session: over max_sessions, must be refused
  }
  if (s.session_count() > config.max_sessions) std::abort();
  std::span<const uint8_t> rest(data + std::min(split + 2, size), size - std::min(split + 2, size));
  while (rest.size() >= 2) {
    const size_t n = std::min<size_t>(rest[0] * 4u, rest.size() - 2);
    const auto source = ice::TransportAddress::V4(198, 51, 100, rest[1] & 7, static_cast<uint16_t>(40000 + (rest[1] >> 3)));
    s.on_datagram(source, rest.subspan(2, n), now);
    rest = rest.subspan(2 + n);
    now = now + TimeDelta::Millis(10);
    if (auto at = s.next_wakeup(); at && *at <= now) s.process(now);
    (void)s.take_outgoing();  // the fuzzer has no peer to send to
  }
  if (s.counters().routed_by_address != 0 || s.session_count() > config.max_sessions) std::abort();
  s.process(now + TimeDelta::Seconds(60));  // every session times out (never connected)
  if (s.session_count() != 0) std::abort();
  return 0;
}
