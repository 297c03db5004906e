#include "tern/tools/loopback/ice_network.h"

#include <utility>

#include "tern/netsim/datagram_adapter.h"
#include "tern/netsim/derive_seed.h"

namespace tern::tools {
namespace {

IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return IpAddress::V4(a, b, c, d); }

const TransportAddress kTurnServer{v4(198, 51, 100, 50), 3478};

netsim::LinkConfig clean(TimeDelta delay) {
  netsim::LinkConfig l;
  l.capacity = DataRate::MegabitsPerSec(100);
  l.delay = delay;
  return l;
}

}  // namespace

std::optional<Timestamp> IceNetwork::Signalling::next_wakeup() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.front().first;
}

void IceNetwork::Signalling::process(Timestamp now) {
  // What runs may post more (a candidate answered by a candidate): those wait for the next turn.
  for (size_t n = queue_.size(); n > 0 && !queue_.empty() && queue_.front().first <= now; --n) {
    auto fn = std::move(queue_.front().second);
    queue_.pop_front();
    fn(now);
  }
}

IceNetwork::IceNetwork(const IceNetworkConfig& config) : config_(config), net_(config.seed) {}

Result<std::unique_ptr<IceNetwork>> IceNetwork::Create(const IceNetworkConfig& config) {
  std::unique_ptr<IceNetwork> n(new IceNetwork(config));
  if (Status st = n->build(); !st.ok()) return Error{st.error()};
  return n;
}

Status IceNetwork::build() {
  // The TURN (and STUN) server on the public internet.
  netsim::AccessLinks server_links{clean(TimeDelta::Zero()), clean(TimeDelta::Zero())};
  auto server_host = net_.add_host(netsim::kPublicRealm, {kTurnServer.ip}, server_links);
  if (!server_host) return Error{server_host.error()};
  ice::TurnServerConfig sc;
  sc.realm = "tern-loopback";
  sc.users = {{"a", "pa"}, {"b", "pb"}};
  sc.nonce_secret = netsim::derive_seed(config_.seed, 91);
  auto turn = icesim::TurnServerHost::Create(net_, *server_host, kTurnServer, sc);
  if (!turn) return Error{turn.error()};
  turn_ = std::move(turn).value();

  for (int i = 0; i < 2; ++i) {
    const std::optional<netsim::NatKind> nat = i == 0 ? config_.nat_a : config_.nat_b;
    const uint8_t n = static_cast<uint8_t>(i + 1);
    netsim::RealmId realm = netsim::kPublicRealm;
    IpAddress address = v4(198, 51, 100, n);
    if (nat) {
      auto r = net_.add_nat(netsim::NatConfig::Of(*nat, v4(203, 0, 113, n)), netsim::kPublicRealm,
                            netsim::AccessLinks{clean(TimeDelta::Zero()), clean(TimeDelta::Zero())});
      if (!r) return Error{r.error()};
      realm = *r;
      address = v4(192, 168, n, 10);
    }
    const netsim::AccessLinks access = i == 0 ? netsim::AccessLinks{config_.forward, config_.back}
                                              : netsim::AccessLinks{clean(TimeDelta::Millis(5)), clean(TimeDelta::Millis(5))};
    auto host = net_.add_host(realm, {address}, access);
    if (!host) return Error{host.error()};
    ends_[i] = std::make_unique<icesim::IceHost>(net_, *host);
    ice::IceAgentConfig ac;
    ac.role = i == 0 ? ice::IceRole::kControlling : ice::IceRole::kControlled;
    ac.seed = netsim::derive_seed(config_.seed, 80 + static_cast<uint64_t>(i));
    ac.policy = config_.relay_only ? ice::IceTransportPolicy::kRelay : ice::IceTransportPolicy::kAll;
    ac.stun_servers = {icesim::to_ice(kTurnServer)};
    if (Status st = ends_[i]->create(ac, {TransportAddress{address, 0}}); !st.ok()) return st;
    ice::TurnClientConfig cc;
    cc.username = std::string(i == 0 ? "a" : "b");
    cc.password = std::string(i == 0 ? "pa" : "pb");
    cc.seed = netsim::derive_seed(config_.seed, 85 + static_cast<uint64_t>(i));
    auto client = ice::TurnClient::Create(cc);
    if (!client) return Error{client.error()};
    relays_[i] = std::make_unique<icesim::IceRelay>(*ends_[i], 0, kTurnServer, std::move(client).value(), Timestamp::Zero());
    ends_[i]->on_application = [this, i](netsim::Datagram&& d, Timestamp now) {
      if (sink_[i] == nullptr) return;
      netsim::SimPacket p;
      p.data = std::move(d.data);
      p.id = d.id.value_or(0);
      p.sent_time = d.sent_time.value_or(now);
      p.delivery_time = now;
      p.duplicate = d.duplicate;
      p.overhead = netsim::NetsimTransport::kUdpIpv4Overhead;
      sink_[i]->on_packet(std::move(p), now);
    };
  }
  // Trickle: each local candidate, and the end of them, reaches the peer one loop turn later.
  for (int i = 0; i < 2; ++i) {
    icesim::IceHost* peer = ends_[1 - i].get();
    ends_[i]->on_event = [this, peer](const ice::IceEvent& e, Timestamp now) {
      if (e.kind == ice::IceEvent::Kind::kLocalCandidate) {
        signalling_.post(now, [peer, c = e.candidate](Timestamp at) {
          (void)peer->agent->add_remote_candidate(c, at);  // refusals (a full table) are counted by the agent
          peer->flush(at);
        });
      } else if (e.kind == ice::IceEvent::Kind::kGatheringDone) {
        signalling_.post(now, [peer](Timestamp at) {
          peer->agent->end_of_remote_candidates(at);
          peer->flush(at);
        });
      }
    };
  }
  // The offer/answer: credentials both ways, then both agents start and allocate.
  signalling_.post(Timestamp::Zero(), [this](Timestamp now) {
    for (int i = 0; i < 2; ++i) ends_[i]->agent->set_remote_credentials(ends_[1 - i]->agent->local_credentials(), now);
    for (int i = 0; i < 2; ++i) {
      ends_[i]->agent->start(now);
      ends_[i]->flush(now);
      relays_[i]->allocate(now);
    }
  });
  return Status::Ok();
}

void IceNetwork::send(int side, netsim::SimPacket packet, Timestamp now) {
  const icesim::Origin origin{packet.sent_time, packet.id, false};
  if (!ends_[side]->send_application(packet.data, origin, now).ok()) ++send_refused_;
}

std::vector<Pollable*> IceNetwork::pollables() {
  return {&signalling_, &net_, turn_.get(), ends_[0].get(), ends_[1].get(), relays_[0].get(), relays_[1].get()};
}

IceSummary IceNetwork::summary() const {
  IceSummary s;
  s.present = true;
  s.policy = config_.relay_only ? "relay" : "all";
  s.nat_a = config_.nat_a ? netsim::to_string(*config_.nat_a) : "none";
  s.nat_b = config_.nat_b ? netsim::to_string(*config_.nat_b) : "none";
  auto ms = [](const std::optional<Timestamp>& t) -> std::optional<double> {
    if (!t) return std::nullopt;
    return (*t - Timestamp::Zero()).ms_f();
  };
  s.connected_a_ms = ms(ends_[0]->connected_at);
  s.connected_b_ms = ms(ends_[1]->connected_at);
  if (auto pair = ends_[0]->agent->selected_pair()) {
    s.local_type = ice::to_string(pair->first.type);
    s.remote_type = ice::to_string(pair->second.type);
  }
  s.state_a = ice::to_string(ends_[0]->agent->state());
  s.state_b = ice::to_string(ends_[1]->agent->state());
  s.checks_sent = ends_[0]->agent->stats().checks_sent + ends_[1]->agent->stats().checks_sent;
  s.turn_allocations = turn_->server().counters().allocations_created;
  s.turn_channels_bound = turn_->server().counters().channels_bound;
  s.send_refused = send_refused_;
  return s;
}

}  // namespace tern::tools
