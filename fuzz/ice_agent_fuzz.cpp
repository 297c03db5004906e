// Fuzzes the ICE agent (RFC 8445) with arbitrary datagrams and signalling in every state: new,
// checking (remote credentials known), connected (a pair selected by a real exchange with a second
// agent), restarting, and lite. Inputs are a script of operations; besides raw datagrams, it
// builds correctly authenticated Binding requests with fuzzed attributes so that the code behind
// MESSAGE-INTEGRITY is reached. Nothing may crash, and the tables must stay within their bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "tern/ice/ice_agent.h"

using namespace tern;
using namespace tern::ice;

namespace {

const TransportAddress kA = TransportAddress::V4(10, 0, 0, 1, 1000);
const TransportAddress kB = TransportAddress::V4(10, 0, 0, 2, 2000);

IceAgent make(bool controlling, bool lite, const TransportAddress& at, uint64_t seed) {
  IceAgentConfig c;
  c.role = controlling ? IceRole::kControlling : IceRole::kControlled;
  c.lite = lite;
  c.seed = seed;
  c.sockets = {LocalSocket{0, at, {}}};
  c.stun_servers = {TransportAddress::V4(10, 0, 0, 9, 3478)};
  return IceAgent::Create(c).value();
}

Candidate host(const TransportAddress& a) {
  Candidate c;
  c.foundation = "1";
  c.address = a;
  c.priority = candidate_priority(CandidateType::kHost, 65535, 1);
  return c;
}

// Two agents talking over an ideal in-memory wire until A has selected a pair.
IceAgent connected_prototype() {
  IceAgent a = make(true, false, kA, 1), b = make(false, false, kB, 2);
  Timestamp t = Timestamp::Zero();
  a.start(t);
  b.start(t);
  a.set_remote_credentials(b.local_credentials(), t);
  b.set_remote_credentials(a.local_credentials(), t);
  (void)a.add_remote_candidate(host(kB), t);
  (void)b.add_remote_candidate(host(kA), t);
  for (int step = 0; step < 400 && a.state() != IceState::kConnected; ++step) {
    a.process(t);
    b.process(t);
    for (auto& o : a.take_outgoing())
      if (o.destination == kB) (void)b.on_datagram(0, kA, o.data, t);
    for (auto& o : b.take_outgoing())
      if (o.destination == kA) (void)a.on_datagram(0, kB, o.data, t);
    t = t + TimeDelta::Millis(10);
  }
  if (a.state() != IceState::kConnected) std::abort();  // the prototype itself is broken
  while (a.poll_event()) {
  }
  return a;
}

const IceAgent& prototype() {
  static const IceAgent p = connected_prototype();
  return p;
}

struct Reader {
  std::span<const uint8_t> d;
  size_t pos = 0;
  bool more() const { return pos < d.size(); }
  uint8_t u8() { return pos < d.size() ? d[pos++] : 0; }
  uint32_t u32() { return (uint32_t{u8()} << 24) | (uint32_t{u8()} << 16) | (uint32_t{u8()} << 8) | u8(); }
  std::span<const uint8_t> bytes(size_t n) {
    n = std::min(n, d.size() - pos);
    auto s = d.subspan(pos, n);
    pos += n;
    return s;
  }
};

TransportAddress source(Reader& r) {
  switch (r.u8() % 4) {
    case 0: return kB;
    case 1: return TransportAddress::V4(10, 0, 0, 9, 3478);
    case 2: return TransportAddress::V4(10, 0, 0, r.u8(), static_cast<uint16_t>(r.u8() | 1));
    default: {
      std::array<uint8_t, 16> ip{};
      ip[0] = 0x20;
      ip[15] = r.u8();
      return TransportAddress::V6(ip, 5000);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader r{std::span<const uint8_t>(data, size)};
  const uint8_t state = r.u8();
  Timestamp now = Timestamp::Seconds(10);
  IceAgent agent = [&] {
    switch (state % 5) {
      case 0: return make(true, false, kA, 3);  // new
      case 1: {                                 // checking, remote credentials known
        IceAgent a = make(state & 0x80, false, kA, 3);
        a.start(Timestamp::Zero());
        a.set_remote_credentials(IceCredentials{"remoteufrag", "remotepasswordremotepassword"}, Timestamp::Zero());
        return a;
      }
      case 2: return prototype();  // connected
      case 3: {                    // connected, then restarted
        IceAgent a = prototype();
        a.restart(now);
        return a;
      }
      default: {  // lite
        IceAgent a = make(false, true, kA, 3);
        a.start(Timestamp::Zero());
        return a;
      }
    }
  }();
  const IceCredentials local = agent.local_credentials();
  for (int ops = 0; r.more() && ops < 256; ++ops) {
    switch (r.u8() % 7) {
      case 0: {  // a raw datagram
        const TransportAddress from = source(r);
        (void)agent.on_datagram(r.u8() % 2, from, r.bytes(r.u8() * 2u), now);
        break;
      }
      case 1: {  // an authenticated Binding request with fuzzed ICE attributes
        TransactionId id;
        for (auto& b : id.bytes) b = r.u8();
        const uint8_t flags = r.u8();
        StunMessageBuilder b(flags & 1 ? StunClass::kRequest : StunClass::kSuccess, StunMethod::kBinding, id);
        b.add_username(local.ufrag + ":peer");
        if (flags & 2) b.add_priority(r.u32());
        if (flags & 4) b.add_ice_controlling((uint64_t{r.u32()} << 32) | r.u32());
        if (flags & 8) b.add_ice_controlled((uint64_t{r.u32()} << 32) | r.u32());
        if (flags & 16) b.add_use_candidate();
        if (flags & 32) b.add_error_code(487, "Role Conflict");
        if (flags & 64) b.add_xor_mapped_address(source(r));
        b.add_message_integrity(short_term_key(local.pwd));
        if (!(flags & 128)) b.add_fingerprint();
        auto m = std::move(b).finish();
        if (m) (void)agent.on_datagram(0, source(r), *m, now);
        break;
      }
      case 2:  // time passes; afterwards nothing may be due at once (a driver would spin)
        now = now + TimeDelta::Millis(r.u8() * 37);
        agent.process(now);
        if (auto w = agent.next_wakeup(); w && *w <= now) std::abort();
        break;
      case 3: {  // a trickled candidate
        Candidate c;
        c.foundation = "f";
        c.component = r.u8() % 3;
        c.priority = r.u32();
        c.address = source(r);
        c.type = static_cast<CandidateType>(r.u8() % 4);
        if (r.u8() & 1) c.hostname = r.u8() & 1 ? "x.local" : "example.com";
        (void)agent.add_remote_candidate(c, now);
        break;
      }
      case 4:
        agent.end_of_remote_candidates(now);
        break;
      case 5:
        if (r.u8() % 8 == 0) agent.restart(now);
        else (void)agent.send(r.bytes(r.u8()), now);  // fails without a selected pair: fine
        break;
      default:
        agent.set_remote_credentials(IceCredentials{r.u8() & 1 ? "newufrag" : "remoteufrag", "remotepasswordremotepassword"}, now);
        break;
    }
    if (agent.remote_candidate_count() > IceAgent::kMaxRemoteCandidates || agent.pair_count() > IceAgent::kMaxPairs ||
        agent.transaction_count() > IceAgent::kMaxTransactions)
      std::abort();
    (void)agent.take_outgoing();
    while (agent.poll_event()) {
    }
  }
  return 0;
}
