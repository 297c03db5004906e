// ICE agents (RFC 8445) on netsim's addressed Internet: direct, through every pair of RFC 4787 NAT
// kinds, relayed through the real TURN client and server core, with role conflicts, trickle, restart and consent.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "tern/icesim/hosts.h"
#include "tern/netsim/event_loop.h"

using namespace tern;
using namespace tern::icesim;
using namespace tern::unit_literals;
using netsim::NatKind;

namespace {

IpAddress ip(const char* t) { return IpAddress::Parse(t).value(); }
TransportAddress addr(const char* t) { return TransportAddress::Parse(t).value(); }

netsim::AccessLinks delay(TimeDelta d) {
  netsim::AccessLinks l;
  l.up.delay = d;
  l.down.delay = d;
  return l;
}

// Two agents, A (controlling) and B (controlled), each optionally behind a NAT, a public STUN
// server, and signalling that carries candidates after `signal_delay`.
struct Call {
  explicit Call(uint64_t seed = 1) : net(seed) {
    loop.add_pollable(&net);
    stun_host = net.add_host(netsim::kPublicRealm, {ip("198.51.100.100"), ip("2001:db8::100")}, delay(5_ms)).value();
    stun = std::make_unique<StunServer>(net, stun_host);
    net.set_receiver(stun_host, stun.get());
    (void)net.bind(stun_host, addr("198.51.100.100:3478")).value();
  }

  // side 0 = A, 1 = B. Public hosts get 198.51.100.{1,2}; NATed ones 192.168.{1,2}.10 behind
  // 203.0.113.{1,2}.
  IceHost& side(int i, std::optional<NatKind> nat, bool ipv6 = false) {
    netsim::RealmId realm = netsim::kPublicRealm;
    std::string host_ip = "198.51.100." + std::to_string(i + 1);
    if (nat) {
      const std::string pub = "203.0.113." + std::to_string(i + 1);
      realm = net.add_nat(netsim::NatConfig::Of(*nat, ip(pub.c_str())), netsim::kPublicRealm, delay(5_ms)).value();
      host_ip = "192.168." + std::to_string(i + 1) + ".10";
    }
    std::vector<IpAddress> ips{ip(host_ip.c_str())};
    const std::string v6 = "2001:db8::" + std::to_string(i + 1);
    if (ipv6) ips.push_back(ip(v6.c_str()));
    hosts[i] = net.add_host(realm, ips, delay(10_ms)).value();
    ends[i] = std::make_unique<IceHost>(net, hosts[i]);
    ice::IceAgentConfig c;
    c.role = i == 0 ? ice::IceRole::kControlling : ice::IceRole::kControlled;
    c.seed = 100 + static_cast<uint64_t>(i);
    c.stun_servers = {to_ice(addr("198.51.100.100:3478"))};
    configs[i] = c;
    std::vector<TransportAddress> binds{TransportAddress{ips[0], 0}};
    if (ipv6) binds.push_back(TransportAddress{ips[1], 0});
    binds_[i] = binds;
    return *ends[i];
  }

  // Creates both agents (after tweaks to configs[]), wires signalling and starts them.
  void start(bool exchange_credentials = true) {
    for (int i = 0; i < 2; ++i) {
      REQUIRE(ends[i]->create(configs[i], binds_[i]).ok());
      loop.add_pollable(ends[i].get());
    }
    for (int i = 0; i < 2; ++i) {
      IceHost* peer = ends[1 - i].get();
      ends[i]->on_event = [this, peer, i](const ice::IceEvent& e, Timestamp) {
        if (e.kind == ice::IceEvent::Kind::kLocalCandidate && signal_candidates) {
          ice::Candidate c = e.candidate;
          if (mangle[i]) mangle[i](c);
          loop.post_in(signal_delay + extra_delay_from[i], [this, peer, c] {
            peer->agent->add_remote_candidate(c, loop.now());
            peer->flush(loop.now());
          });
        } else if (e.kind == ice::IceEvent::Kind::kGatheringDone && signal_candidates) {
          loop.post_in(signal_delay + extra_delay_from[i], [this, peer] { peer->agent->end_of_remote_candidates(loop.now()); });
        }
      };
    }
    if (exchange_credentials) exchange_creds();
    for (int i = 0; i < 2; ++i) {
      ends[i]->agent->start(loop.now());
      ends[i]->flush(loop.now());
    }
  }
  void exchange_creds() {
    for (int i = 0; i < 2; ++i) {
      ends[i]->agent->set_remote_credentials(ends[1 - i]->agent->local_credentials(), loop.now());
      ends[i]->flush(loop.now());
    }
  }
  void run(TimeDelta d) { REQUIRE(loop.run_for(d).ok()); }
  bool connected() const {
    return ends[0]->agent->state() == ice::IceState::kConnected && ends[1]->agent->state() == ice::IceState::kConnected;
  }
  // Data A -> B and B -> A over the selected pair; true when both arrive.
  bool data_flows() {
    const size_t a0 = ends[0]->app_received.size(), b0 = ends[1]->app_received.size();
    const std::vector<uint8_t> payload{0x80, 0x60, 1, 2, 3};  // RTP-looking, not STUN
    if (!ends[0]->agent->send(payload, loop.now()).ok() || !ends[1]->agent->send(payload, loop.now()).ok()) return false;
    ends[0]->flush(loop.now());
    ends[1]->flush(loop.now());
    run(500_ms);
    return ends[0]->app_received.size() == a0 + 1 && ends[1]->app_received.size() == b0 + 1;
  }
  // The TurnServer core on a public host (198.51.100.50:3478), users a/pa and b/pb.
  TurnServerHost& add_turn_server() {
    const netsim::HostId host = net.add_host(netsim::kPublicRealm, {ip("198.51.100.50")}, delay(5_ms)).value();
    ice::TurnServerConfig sc;
    sc.realm = "netsim";
    sc.users = {{"a", "pa"}, {"b", "pb"}};
    sc.nonce_secret = 5;
    turn = TurnServerHost::Create(net, host, addr("198.51.100.50:3478"), sc).value();
    loop.add_pollable(turn.get());
    return *turn;
  }
  ice::CandidateType selected_type(int i, bool remote) const {
    auto p = ends[i]->agent->selected_pair();
    REQUIRE(p);
    return remote ? p->second.type : p->first.type;
  }

  netsim::Internet net;
  netsim::EventLoop loop;
  netsim::HostId stun_host = 0;
  std::unique_ptr<StunServer> stun;
  std::unique_ptr<TurnServerHost> turn;
  netsim::HostId hosts[2] = {0, 0};
  std::unique_ptr<IceHost> ends[2];
  ice::IceAgentConfig configs[2];
  std::vector<TransportAddress> binds_[2];
  TimeDelta signal_delay = 50_ms;
  TimeDelta extra_delay_from[2] = {TimeDelta::Zero(), TimeDelta::Zero()};
  std::function<void(ice::Candidate&)> mangle[2];  // rewrites what side i signals
  bool signal_candidates = true;
};

}  // namespace

TEST_CASE("Host to host on the public internet, IPv6 preferred, data both ways") {
  Call call;
  call.side(0, std::nullopt, /*ipv6=*/true);
  call.side(1, std::nullopt, /*ipv6=*/true);
  call.start();
  call.run(3_s);
  REQUIRE(call.connected());
  CHECK(call.selected_type(0, false) == ice::CandidateType::kHost);
  CHECK(call.selected_type(0, true) == ice::CandidateType::kHost);
  CHECK(call.ends[0]->agent->selected_pair()->first.address.is_v6());
  CHECK(call.data_flows());
  const auto& s = call.ends[1]->agent->stats();
  CHECK(s.dropped_bad_integrity == 0);
  CHECK(s.dropped_bad_fingerprint == 0);
  MESSAGE("host-host connected at A " << call.ends[0]->connected_at->ms() << " ms, B "
                                      << call.ends[1]->connected_at->ms() << " ms");
}

TEST_CASE("Every pair of NAT kinds: direct where RFC 4787 allows it, failure otherwise") {
  const std::optional<NatKind> kinds[] = {std::nullopt, NatKind::kFullCone, NatKind::kAddressRestricted,
                                          NatKind::kPortRestricted, NatKind::kSymmetric};
  auto name = [](std::optional<NatKind> k) { return std::string(k ? netsim::to_string(*k) : "public"); };
  for (size_t i = 0; i < 5; ++i) {
    for (size_t j = i; j < 5; ++j) {
      const auto ka = kinds[i], kb = kinds[j];
      CAPTURE(name(ka));
      CAPTURE(name(kb));
      // Without a relay, a symmetric NAT cannot reach a port-restricted or symmetric one: the
      // peer's filter only admits the address:port it sent to, which is not the one the symmetric
      // NAT maps toward it.
      const bool sym_a = ka == NatKind::kSymmetric, sym_b = kb == NatKind::kSymmetric;
      const bool port_a = ka == NatKind::kPortRestricted, port_b = kb == NatKind::kPortRestricted;
      const bool expect = !((sym_a && (sym_b || port_b)) || (sym_b && (sym_a || port_a)));
      Call call(7);
      call.side(0, ka);
      call.side(1, kb);
      call.start();
      call.run(expect ? 5_s : 45_s);
      CHECK(call.connected() == expect);
      if (expect) {
        CHECK(call.data_flows());
        MESSAGE(name(ka) << " <-> " << name(kb) << ": connected at " << call.ends[0]->connected_at->ms() << " / "
                         << call.ends[1]->connected_at->ms() << " ms, A local "
                         << std::string(ice::to_string(call.selected_type(0, false))) << " remote "
                         << std::string(ice::to_string(call.selected_type(0, true))));
      } else {
        CHECK(call.ends[0]->agent->state() == ice::IceState::kFailed);
        CHECK(call.ends[1]->agent->state() == ice::IceState::kFailed);
        REQUIRE(call.ends[0]->failed_at);
        REQUIRE(call.ends[1]->failed_at);
        MESSAGE(name(ka) << " <-> " << name(kb) << ": failed at " << call.ends[0]->failed_at->ms() << " / "
                         << call.ends[1]->failed_at->ms() << " ms");
        CHECK(!call.ends[0]->agent->send(std::vector<uint8_t>{1}, call.loop.now()).ok());
      }
    }
  }
}

TEST_CASE("Relay policy: two public hosts that could talk directly end relay to relay, announcing relay candidates only") {
  // W3C iceTransportPolicy "relay": no host or server-reflexive candidate is gathered, paired or
  // signalled, so the peer never learns the host's address and every datagram crosses the TURN
  // server. icesim stamps the sender's origin (send time, id) on the ChannelData and the server
  // passes it on, so the receiver sees when the first sender sent it.
  Call call(5);
  call.side(0, std::nullopt);
  call.side(1, std::nullopt);
  for (ice::IceAgentConfig& c : call.configs) c.policy = ice::IceTransportPolicy::kRelay;
  TurnServerHost& turn = call.add_turn_server();
  call.start();
  std::unique_ptr<IceRelay> relays[2];
  for (int i = 0; i < 2; ++i) {
    ice::TurnClientConfig cc;
    cc.username = std::string(i == 0 ? "a" : "b");
    cc.password = std::string(i == 0 ? "pa" : "pb");
    cc.seed = 41 + static_cast<uint64_t>(i);
    relays[i] = std::make_unique<IceRelay>(*call.ends[i], 0, turn.listen_address(), ice::TurnClient::Create(cc).value(),
                                           call.loop.now());
    call.loop.add_pollable(relays[i].get());
    relays[i]->allocate(call.loop.now());
  }
  call.run(5_s);
  REQUIRE(call.connected());
  for (int i = 0; i < 2; ++i) {
    CAPTURE(i);
    CHECK(call.selected_type(i, false) == ice::CandidateType::kRelay);
    CHECK(call.selected_type(i, true) == ice::CandidateType::kRelay);
    for (const ice::IceEvent& e : call.ends[i]->events) {
      if (e.kind == ice::IceEvent::Kind::kLocalCandidate) CHECK(e.candidate.type == ice::CandidateType::kRelay);
    }
    for (const ice::Candidate& c : call.ends[i]->agent->local_candidates()) CHECK(c.type != ice::CandidateType::kHost);
  }
  CHECK(turn.server().counters().allocations_created == 2);

  std::vector<netsim::Datagram> got;
  call.ends[1]->on_application = [&](netsim::Datagram&& d, Timestamp) { got.push_back(std::move(d)); };
  const Timestamp origin_time = call.loop.now() - 3_ms;
  const std::vector<uint8_t> payload{0x80, 0x60, 9, 9, 9};
  REQUIRE(call.ends[0]->send_application(payload, Origin{origin_time, 777, false}, call.loop.now()).ok());
  call.run(500_ms);
  REQUIRE(got.size() == 1);
  CHECK(got[0].data == payload);
  CHECK(got[0].sent_time == origin_time);
  CHECK(got[0].id == 777u);
  CHECK(got[0].source.ip == ip("198.51.100.50"));  // from A's relayed address, not A's host

  ice::IceAgentConfig lite_relay = call.configs[0];
  lite_relay.lite = true;
  lite_relay.sockets = {ice::LocalSocket{0, to_ice(addr("198.51.100.9:5000")), {}}};
  CHECK(!ice::IceAgent::Create(lite_relay));
}

TEST_CASE("Symmetric to symmetric ends on the relay through the real TURN server, media flows for 11 minutes") {
  // Both sides allocate on the TurnServer core with the TurnClient (ice::TurnRelayTransport) on
  // the agent's own socket; the relay carries checks (Send/Data indications) and, once selected,
  // media on a ChannelBind. 11 simulated minutes cross every refresh: permissions and channels
  // (every 4 min), the allocation (at 9 of its 10 min), consent (every 4-6 s).
  Call call(3);
  call.side(0, NatKind::kSymmetric);
  call.side(1, NatKind::kSymmetric);
  TurnServerHost& turn = call.add_turn_server();
  call.start();
  std::unique_ptr<IceRelay> relays[2];
  for (int i = 0; i < 2; ++i) {
    ice::TurnClientConfig cc;
    cc.username = std::string(i == 0 ? "a" : "b");
    cc.password = std::string(i == 0 ? "pa" : "pb");  // not operator=(const char*): GCC 12 -Wrestrict false positive
    cc.seed = 21 + static_cast<uint64_t>(i);
    relays[i] = std::make_unique<IceRelay>(*call.ends[i], 0, turn.listen_address(), ice::TurnClient::Create(cc).value(),
                                           call.loop.now());
    call.loop.add_pollable(relays[i].get());
    relays[i]->allocate(call.loop.now());
  }
  const Timestamp t0 = call.loop.now();
  call.run(8_s);
  REQUIRE(call.connected());
  for (int i = 0; i < 2; ++i) {
    CAPTURE(i);
    const auto pair = call.ends[i]->agent->selected_pair();
    REQUIRE(pair);
    CHECK((pair->first.type == ice::CandidateType::kRelay || pair->second.type == ice::CandidateType::kRelay));
    CHECK(relays[i]->relay.client().state() == ice::TurnState::kAllocated);
    CHECK(relays[i]->relay.counters().permissions_refused == 0);
  }
  MESSAGE("symmetric <-> symmetric via TurnServer (TurnClient both sides): A local "
          << std::string(ice::to_string(call.selected_type(0, false))) << " remote "
          << std::string(ice::to_string(call.selected_type(0, true))) << ", connected at "
          << (*call.ends[0]->connected_at - t0).ms() << " / " << (*call.ends[1]->connected_at - t0).ms()
          << " ms (relays allocated, checks through Send indications)");

  // Media: one 100-byte RTP-looking packet each way every 50 ms for 11 minutes.
  struct Media : Pollable {
    Call* call = nullptr;
    Timestamp next = Timestamp::Zero();
    Timestamp stop = Timestamp::Zero();
    uint64_t sent[2] = {0, 0};
    uint64_t refused = 0;
    std::optional<Timestamp> next_wakeup() const override {
      if (next > stop) return std::nullopt;
      return next;
    }
    void process(Timestamp now) override {
      if (now < next || next > stop) return;
      std::vector<uint8_t> rtp(100, 0x55);
      rtp[0] = 0x80;
      for (int i = 0; i < 2; ++i) {
        if (call->ends[i]->agent->send(rtp, now).ok()) {
          ++sent[i];
        } else {
          ++refused;
        }
        call->ends[i]->flush(now);
      }
      next = now + 50_ms;
    }
  } media;
  media.call = &call;
  media.next = call.loop.now();
  media.stop = call.loop.now() + TimeDelta::Seconds(660);
  const size_t received0[2] = {call.ends[0]->app_received.size(), call.ends[1]->app_received.size()};
  call.loop.add_pollable(&media);
  size_t last[2] = {received0[0], received0[1]};
  for (int second = 0; second < 662; ++second) {  // each second's packets arrive within that second
    call.run(1_s);
    if (second >= 660) continue;
    for (int i = 0; i < 2; ++i) {
      CAPTURE(second);
      CAPTURE(i);
      REQUIRE(call.ends[i]->app_received.size() > last[i]);  // never a whole second without media
      last[i] = call.ends[i]->app_received.size();
    }
  }
  call.loop.remove_pollable(&media);
  CHECK(media.refused == 0);
  CHECK(call.connected());
  CHECK(call.ends[1]->app_received.size() - received0[1] == media.sent[0]);
  CHECK(call.ends[0]->app_received.size() - received0[0] == media.sent[1]);
  for (int i = 0; i < 2; ++i) {
    CAPTURE(i);
    const ice::TurnClient& c = relays[i]->relay.client();
    CHECK(c.state() == ice::TurnState::kAllocated);
    if (call.ends[i]->agent->selected_pair()->first.type == ice::CandidateType::kRelay) {
      CHECK(c.channel_count() == 1);  // bound on selection
      CHECK(c.counters().channel_data_sent >= media.sent[i] - 10);
    }
  }
  const auto& sc_counters = turn.server().counters();
  CHECK(sc_counters.peer_no_permission == 0);
  CHECK(sc_counters.channel_data_unbound == 0);
  MESSAGE("11 min relayed: " << media.sent[0] << " + " << media.sent[1] << " packets sent, all received; server "
                             << sc_counters.channels_bound << " ChannelBinds, " << sc_counters.relayed_to_peer
                             << " relayed to peers");
}

TEST_CASE("A relay whose allocation fails (wrong password) ends gathering without a relay candidate") {
  Call call(4);
  call.side(0, NatKind::kPortRestricted);
  call.side(1, NatKind::kFullCone);
  TurnServerHost& turn = call.add_turn_server();
  call.start();
  ice::TurnClientConfig cc;
  cc.username = std::string("a");
  cc.password = std::string("wrong");
  cc.seed = 3;
  IceRelay relay(*call.ends[0], 0, turn.listen_address(), ice::TurnClient::Create(cc).value(), call.loop.now());
  call.loop.add_pollable(&relay);
  relay.allocate(call.loop.now());
  call.run(3_s);
  CHECK(relay.relay.client().state() == ice::TurnState::kFailed);
  CHECK(call.ends[0]->agent->gathering_done());
  for (const auto& c : call.ends[0]->agent->local_candidates()) CHECK(c.type != ice::CandidateType::kRelay);
  CHECK(call.connected());
  CHECK(call.data_flows());
}

TEST_CASE("Role conflict: both start controlling, the larger tie-breaker keeps the role") {
  for (bool both_controlling : {true, false}) {
    CAPTURE(both_controlling);
    Call call;
    call.side(0, std::nullopt);
    call.side(1, NatKind::kFullCone);
    const ice::IceRole r = both_controlling ? ice::IceRole::kControlling : ice::IceRole::kControlled;
    call.configs[0].role = r;
    call.configs[1].role = r;
    call.start();
    call.run(5_s);
    REQUIRE(call.connected());
    const auto& a = *call.ends[0]->agent;
    const auto& b = *call.ends[1]->agent;
    CHECK(a.role() != b.role());
    const ice::IceAgent& bigger = a.tie_breaker() > b.tie_breaker() ? a : b;
    // RFC 8445 7.3.1.1: with both controlling the larger tie-breaker stays controlling; with both
    // controlled the larger one switches to controlling.
    CHECK(bigger.role() == ice::IceRole::kControlling);
    CHECK(a.stats().role_conflicts + b.stats().role_conflicts > 0);
    CHECK(call.data_flows());
  }
}

TEST_CASE("Trickle: candidates before the remote description, late end-of-candidates") {
  Call call;
  call.side(0, NatKind::kPortRestricted);
  call.side(1, NatKind::kAddressRestricted);
  call.signal_delay = 10_ms;
  call.start(/*exchange_credentials=*/false);
  call.run(1_s);  // candidates arrive and pair, but no check can go out without the password
  CHECK(call.ends[0]->agent->pair_count() > 0);
  CHECK(call.ends[0]->agent->stats().checks_sent == 0);
  CHECK(call.ends[0]->agent->state() == ice::IceState::kChecking);
  call.exchange_creds();
  call.run(3_s);
  REQUIRE(call.connected());
  CHECK(call.data_flows());
}

TEST_CASE("Trickle: a peer-reflexive candidate learned from a check is replaced by the signalled one") {
  Call call;
  call.side(0, std::nullopt);
  call.side(1, std::nullopt);
  call.extra_delay_from[0] = 2_s;  // A's checks reach B long before A's candidates do
  call.start();
  call.run(1_s);
  // B learned A's address from A's check before the signalling delivered it.
  CHECK(call.ends[1]->agent->stats().peer_reflexive_remote >= 1);
  call.run(3_s);
  REQUIRE(call.connected());
  CHECK(call.ends[1]->agent->remote_candidate_count() == 1);
}

TEST_CASE("ICE restart: data keeps flowing on the old pair until the new one is selected") {
  Call call;
  call.side(0, NatKind::kFullCone);
  call.side(1, NatKind::kPortRestricted);
  call.start();
  call.run(3_s);
  REQUIRE(call.connected());
  const auto old_ufrag = call.ends[0]->agent->local_credentials().ufrag;
  auto selections = [&call] {
    return std::count_if(call.ends[0]->events.begin(), call.ends[0]->events.end(),
                         [](const ice::IceEvent& e) { return e.kind == ice::IceEvent::Kind::kSelectedPair; });
  };
  const auto selections_before = selections();
  call.signal_delay = 300_ms;
  call.ends[0]->agent->restart(call.loop.now());
  call.ends[1]->agent->restart(call.loop.now());
  CHECK(call.ends[0]->agent->local_credentials().ufrag != old_ufrag);
  // Before the new credentials are exchanged, media still flows on the old pair.
  CHECK(call.data_flows());
  call.exchange_creds();
  CHECK(call.data_flows());
  call.run(3_s);
  CHECK(call.connected());
  CHECK(selections() == selections_before + 1);
  CHECK(call.data_flows());
}

TEST_CASE("Consent freshness: checks every 4-6 s, expiry 30 s after the last response, not after one loss") {
  Call call;
  call.side(0, std::nullopt);
  call.side(1, std::nullopt);
  call.start();
  call.run(2_s);
  REQUIRE(call.connected());
  const auto& a = *call.ends[0]->agent;
  Timestamp last_response = call.loop.now();
  uint64_t responses = a.stats().consent_responses;
  auto step = [&] {
    call.run(100_ms);
    if (a.stats().consent_responses != responses) {
      responses = a.stats().consent_responses;
      last_response = call.loop.now();
    }
  };
  for (int i = 0; i < 600; ++i) step();
  CHECK(call.connected());
  // 60 s at one request per 4-6 s.
  CHECK(a.stats().consent_requests >= 10);
  CHECK(a.stats().consent_requests <= 16);
  CHECK(a.stats().consent_responses >= a.stats().consent_requests - 1);

  // B goes silent: its host drops everything from now on.
  call.ends[1]->relay_hook = [](netsim::Datagram&, Timestamp) { return true; };  // swallow all
  const uint64_t requests_at_silence = a.stats().consent_requests;
  std::optional<Timestamp> failed_at;
  for (int i = 0; i < 400 && !failed_at; ++i) {
    step();
    if (a.state() == ice::IceState::kFailed) failed_at = call.loop.now();
  }
  REQUIRE(failed_at);
  // Expiry 30 s after the last response (within the 100 ms polling step), after several lost
  // requests rather than the first one.
  CHECK(*failed_at - last_response >= 29900_ms);
  CHECK(*failed_at - last_response <= 30100_ms);
  CHECK(a.stats().consent_requests - requests_at_silence >= 4);
  CHECK(!call.ends[0]->agent->send(std::vector<uint8_t>{1}, call.loop.now()).ok());
}

TEST_CASE("Lite agent answers, the full agent controls and nominates") {
  Call call;
  call.side(0, NatKind::kPortRestricted);
  call.side(1, std::nullopt);
  call.configs[1].lite = true;
  call.configs[1].stun_servers.clear();
  call.start();
  call.ends[0]->agent->set_remote_lite(true);
  call.run(3_s);
  REQUIRE(call.connected());
  CHECK(call.ends[1]->agent->role() == ice::IceRole::kControlled);
  CHECK(call.ends[1]->agent->stats().checks_sent == 0);
  CHECK(call.data_flows());
}

TEST_CASE("mDNS candidates: resolved through the hook, else left to peer-reflexive discovery") {
  for (bool resolvable : {true, false}) {
    CAPTURE(resolvable);
    Call call;
    call.side(0, std::nullopt);
    call.side(1, std::nullopt);
    // B's resolver knows A's name only when resolvable.
    call.configs[1].resolve_mdns = [resolvable](std::string_view name, uint16_t port) -> std::optional<ice::TransportAddress> {
      if (!resolvable || name != "a1b2.local") return std::nullopt;
      return to_ice(TransportAddress{IpAddress::V4(198, 51, 100, 1), port});
    };
    // A signals its host candidate under an mDNS name.
    call.mangle[0] = [](ice::Candidate& c) {
      if (c.type != ice::CandidateType::kHost) return;
      c.hostname = "a1b2.local";
      c.address = ice::TransportAddress::V4(0, 0, 0, 0, c.address.port);
    };
    call.start();
    call.run(3_s);
    REQUIRE(call.connected());
    CHECK((call.ends[1]->agent->stats().peer_reflexive_remote > 0) == !resolvable);
  }
}

TEST_CASE("Unauthenticated and foreign datagrams never change state") {
  Call call;
  call.side(0, std::nullopt);
  call.side(1, std::nullopt);
  call.start();
  call.run(2_s);
  REQUIRE(call.connected());
  ice::IceAgent& a = *call.ends[0]->agent;
  const auto src = to_ice(call.ends[1]->socket_address(0));
  const auto before = a.remote_candidate_count();
  // A Binding request with a wrong password, one without fingerprint, junk, and a stray response.
  ice::TransactionId id;
  id.bytes[0] = 7;
  {
    ice::StunMessageBuilder b(ice::StunClass::kRequest, ice::StunMethod::kBinding, id);
    b.add_username(a.local_credentials().ufrag + ":x").add_priority(1).add_ice_controlling(1).add_use_candidate();
    b.add_message_integrity(ice::short_term_key("wrong-password-wrong-password"));
    b.add_fingerprint();
    auto m = std::move(b).finish().value();
    CHECK(a.on_datagram(0, ice::TransportAddress::V4(198, 51, 100, 99, 9), m, call.loop.now()) == ice::IceAgent::Inbound::kIce);
  }
  {
    ice::StunMessageBuilder b(ice::StunClass::kSuccess, ice::StunMethod::kBinding, id);
    b.add_xor_mapped_address(src);
    auto m = std::move(b).finish().value();
    (void)a.on_datagram(0, src, m, call.loop.now());
  }
  CHECK(a.on_datagram(0, ice::TransportAddress::V4(198, 51, 100, 99, 9), std::vector<uint8_t>{0x80, 1, 2},
                      call.loop.now()) == ice::IceAgent::Inbound::kDropped);
  CHECK(a.stats().dropped_bad_integrity == 1);
  CHECK(a.stats().dropped_unmatched == 1);
  CHECK(a.stats().dropped_not_stun == 1);
  CHECK(a.remote_candidate_count() == before);
  CHECK(a.state() == ice::IceState::kConnected);
  CHECK(a.role() == ice::IceRole::kControlling);
}

TEST_CASE("Remote candidate and pair tables are bounded") {
  ice::IceAgentConfig c;
  c.sockets = {ice::LocalSocket{0, ice::TransportAddress::V4(198, 51, 100, 1, 5000), {}},
               ice::LocalSocket{1, ice::TransportAddress::V4(198, 51, 100, 2, 5000), {}},
               ice::LocalSocket{2, ice::TransportAddress::V4(198, 51, 100, 3, 5000), {}},
               ice::LocalSocket{3, ice::TransportAddress::V4(198, 51, 100, 4, 5000), {}}};
  auto agent = ice::IceAgent::Create(c).value();
  agent.start(Timestamp::Zero());
  for (int i = 0; i < 40; ++i) {
    ice::Candidate r;
    r.foundation = std::to_string(i);
    r.priority = ice::candidate_priority(ice::CandidateType::kHost, static_cast<uint16_t>(i), 1);
    r.address = ice::TransportAddress::V4(203, 0, 113, static_cast<uint8_t>(i + 1), 6000);
    (void)agent.add_remote_candidate(r, Timestamp::Zero());
  }
  CHECK(agent.remote_candidate_count() == ice::IceAgent::kMaxRemoteCandidates);
  CHECK(agent.stats().remote_candidates_refused == 8);
  CHECK(agent.pair_count() == ice::IceAgent::kMaxPairs);  // 4 x 32 = 128 formed, lowest discarded
  CHECK(agent.stats().pairs_discarded == 28);
}

TEST_CASE("Runs are deterministic for a seed") {
  auto run = [](uint64_t seed) {
    Call call(seed);
    call.side(0, NatKind::kPortRestricted);
    call.side(1, NatKind::kAddressRestricted);
    call.start();
    call.run(3_s);
    return std::make_pair(call.ends[0]->connected_at.value_or(Timestamp::Zero()).us(),
                          call.ends[0]->agent->stats().checks_sent);
  };
  CHECK(run(5) == run(5));
}

TEST_CASE("Server-reflexive candidates: gathered from the STUN server, signalled, pruned to their base") {
  ice::IceAgentConfig c;
  c.sockets = {ice::LocalSocket{0, ice::TransportAddress::V4(192, 168, 1, 10, 5000), {}}};
  const auto server = ice::TransportAddress::V4(198, 51, 100, 100, 3478);
  c.stun_servers = {server, ice::TransportAddress::V6({0x20, 0x01, 0x0d, 0xb8}, 3478)};  // v6 unused: no v6 socket
  auto agent = ice::IceAgent::Create(c).value();
  agent.start(Timestamp::Zero());
  auto out = agent.take_outgoing();
  REQUIRE(out.size() == 1);
  CHECK(out[0].destination == server);
  auto request = ice::StunMessage::parse(out[0].data);
  REQUIRE(request.ok());
  CHECK(request->check_fingerprint().ok());
  CHECK(!agent.gathering_done());

  ice::Candidate remote;
  remote.foundation = "r";
  remote.address = ice::TransportAddress::V4(198, 51, 100, 2, 6000);
  remote.priority = ice::candidate_priority(ice::CandidateType::kHost, 65535, 1);
  REQUIRE(agent.add_remote_candidate(remote, Timestamp::Zero()));
  CHECK(agent.pair_count() == 1);

  const auto mapped = ice::TransportAddress::V4(203, 0, 113, 1, 40000);
  ice::StunMessageBuilder b(ice::StunClass::kSuccess, ice::StunMethod::kBinding, request->transaction_id());
  b.add_xor_mapped_address(mapped).add_fingerprint();
  const auto response = std::move(b).finish().value();
  // From anyone but the server it is ignored; from the server it yields the candidate.
  (void)agent.on_datagram(0, ice::TransportAddress::V4(198, 51, 100, 66, 3478), response, Timestamp::Millis(20));
  CHECK(agent.stats().dropped_unmatched == 1);
  CHECK(agent.on_datagram(0, server, response, Timestamp::Millis(20)) == ice::IceAgent::Inbound::kIce);
  CHECK(agent.gathering_done());
  const auto locals = agent.local_candidates();
  REQUIRE(locals.size() == 2);
  CHECK(locals[1].type == ice::CandidateType::kServerReflexive);
  CHECK(locals[1].address == mapped);
  CHECK(locals[1].related == c.sockets[0].address);
  CHECK(locals[1].priority == ice::candidate_priority(ice::CandidateType::kServerReflexive, 0x7FFF, 1));
  CHECK(locals[1].foundation != locals[0].foundation);
  CHECK(agent.pair_count() == 1);  // the srflx candidate is pruned: checks go from its base
  bool signalled = false, done = false;
  while (auto e = agent.poll_event()) {
    signalled |= e->kind == ice::IceEvent::Kind::kLocalCandidate && e->candidate.type == ice::CandidateType::kServerReflexive;
    done |= e->kind == ice::IceEvent::Kind::kGatheringDone;
  }
  CHECK(signalled);
  CHECK(done);
}

namespace {

// A scripted controlling peer that behaves as libwebrtc does across ICE restarts: one connection
// per (its port, our address), keeping the remote ufrag it had when it made the connection. It
// answers a check to `port` only when the USERNAME names its ufrag there and the ufrag its
// connection expects from us (else 401 without MESSAGE-INTEGRITY, as libwebrtc's "bad remote
// username"; `expects` empty: no connection to us there yet, every check refused).
struct LwPeer {
  struct Port {
    uint16_t port = 0;
    ice::IceCredentials creds;
    std::string expects;  // our ufrag its connection to our address holds
  };
  std::vector<Port> ports;
  std::vector<std::string> checks_refused, checks_answered;
  uint8_t next_id = 1;

  static ice::TransportAddress At(uint16_t port) { return ice::TransportAddress::V4(10, 0, 0, 1, port); }

  std::vector<uint8_t> check(const Port& p, bool nominate) {
    ice::TransactionId id;
    id.bytes[0] = next_id++;
    ice::StunMessageBuilder b(ice::StunClass::kRequest, ice::StunMethod::kBinding, id);
    b.add_username(p.expects + ":" + p.creds.ufrag).add_priority(2122260223).add_ice_controlling(7);
    if (nominate) b.add_use_candidate();
    b.add_message_integrity(ice::short_term_key(p.expects + "-password-0123456789ab"));
    b.add_fingerprint();
    return std::move(b).finish().value();
  }

  // Delivers the agent's datagrams: answers its checks (as above), drops the rest.
  void serve(ice::IceAgent& agent, const ice::TransportAddress& agent_address, Timestamp now) {
    for (const ice::IceOutgoing& out : agent.take_outgoing()) {
      auto msg = ice::StunMessage::parse(out.data);
      if (!msg || msg->message_class() != ice::StunClass::kRequest) continue;
      const Port* p = nullptr;
      for (const Port& q : ports)
        if (At(q.port) == out.destination) p = &q;
      if (p == nullptr) continue;
      const std::string username(msg->username().value_or(""));
      const bool ok = !p->expects.empty() && username == p->creds.ufrag + ":" + p->expects;
      (ok ? checks_answered : checks_refused).push_back(std::to_string(p->port) + " " + username);
      ice::StunMessageBuilder b(ok ? ice::StunClass::kSuccess : ice::StunClass::kError, ice::StunMethod::kBinding,
                                msg->transaction_id());
      if (ok) {
        b.add_xor_mapped_address(agent_address);
        b.add_message_integrity(ice::short_term_key(p->creds.pwd));
      } else {
        b.add_error_code(401, "Unauthorized");
      }
      b.add_fingerprint();
      (void)agent.on_datagram(0, out.destination, std::move(b).finish().value(), now);
    }
  }
};

}  // namespace

TEST_CASE("ICE restart with a libwebrtc-like peer: it checks from a new port before signalling, naming our old ufrag, and we follow it") {
  const ice::TransportAddress ours = ice::TransportAddress::V4(10, 0, 0, 2, 5000);
  ice::IceAgentConfig config;
  config.role = ice::IceRole::kControlled;
  config.sockets = {{0, ours, std::nullopt}};
  config.credentials = {"TTT1", "TTT1-password-0123456789ab"};
  auto made = ice::IceAgent::Create(config);
  REQUIRE(made.ok());
  ice::IceAgent agent = std::move(made).value();
  Timestamp now = Timestamp::Micros(1'000'000);
  LwPeer peer;
  peer.ports.push_back({6000, {"PPP1", "PPP1-password-0123456789ab"}, "TTT1"});
  agent.start(now);
  agent.set_remote_credentials(peer.ports[0].creds, now);
  ice::Candidate c;
  c.foundation = "1";
  c.priority = 2122260223;
  c.address = LwPeer::At(6000);
  REQUIRE(agent.add_remote_candidate(c, now));
  auto pump = [&](int ticks) {
    for (int i = 0; i < ticks; ++i) {
      now = now + TimeDelta::Millis(10);
      agent.process(now);
      peer.serve(agent, ours, now);
    }
  };
  (void)agent.on_datagram(0, LwPeer::At(6000), peer.check(peer.ports[0], true), now);
  pump(20);
  REQUIRE(agent.selected_pair());
  CHECK(agent.selected_pair()->second.address == LwPeer::At(6000));

  // The peer restarts: a new port with its new ufrag, whose connection to our (unchanged) address
  // holds our old ufrag TTT1; it checks (and nominates) before we have its offer.
  peer.ports.push_back({7000, {"PPP2", "PPP2-password-0123456789ab"}, "TTT1"});
  CHECK(agent.on_datagram(0, LwPeer::At(7000), peer.check(peer.ports[1], true), now) == ice::IceAgent::Inbound::kIce);
  pump(5);
  CHECK(peer.checks_refused.empty());  // no check to it: we do not know PPP2's password yet
  // Its offer arrives (the WHIP PATCH): our restart (TTT2), its credentials and candidate.
  agent.restart(now, ice::IceCredentials{"TTT2", "TTT2-password-0123456789ab"});
  agent.set_remote_credentials(peer.ports[1].creds, now);
  c.address = LwPeer::At(7000);
  (void)agent.add_remote_candidate(c, now);
  pump(20);
  // Our checks to it named TTT1, which it accepts: the new pair is selected at once, its consent
  // names TTT1 too, and its data is ours.
  INFO("refused: " << (peer.checks_refused.empty() ? std::string() : peer.checks_refused.front()));
  CHECK(peer.checks_refused.empty());
  REQUIRE(agent.selected_pair());
  CHECK(agent.selected_pair()->second.address == LwPeer::At(7000));
  CHECK(agent.selected_credentials()->ufrag == "TTT1");
  CHECK(agent.local_credentials().ufrag == "TTT2");
  CHECK(agent.on_datagram(0, LwPeer::At(7000), std::vector<uint8_t>{0x80, 0x60, 1, 2}, now) ==
        ice::IceAgent::Inbound::kApplication);
  CHECK(std::find(peer.checks_answered.begin(), peer.checks_answered.end(), "7000 PPP2:TTT1") != peer.checks_answered.end());

  // Another restart, signalled first this time: our first check reaches its new port before it
  // has our answer (401, unauthenticated: we cannot take it, the check stays in progress); then
  // its nominating check names our new ufrag. RFC 8445 7.3.1.4: a triggered check replaces the one
  // in progress, so the pair is selected at once, not after the first one's 500 ms retransmission.
  peer.ports.push_back({8000, {"PPP3", "PPP3-password-0123456789ab"}, ""});
  agent.restart(now, ice::IceCredentials{"TTT3", "TTT3-password-0123456789ab"});
  agent.set_remote_credentials(peer.ports[2].creds, now);
  c.address = LwPeer::At(8000);
  REQUIRE(agent.add_remote_candidate(c, now));
  peer.checks_refused.clear();
  pump(3);
  CHECK(peer.checks_refused == std::vector<std::string>{"8000 PPP3:TTT3"});
  peer.ports[2].expects = "TTT3";
  CHECK(agent.on_datagram(0, LwPeer::At(8000), peer.check(peer.ports[2], true), now) == ice::IceAgent::Inbound::kIce);
  pump(8);  // 80 ms
  REQUIRE(agent.selected_pair());
  CHECK(agent.selected_pair()->second.address == LwPeer::At(8000));
  CHECK(agent.selected_credentials()->ufrag == "TTT3");
}
