#include "tern/ice/ice_agent.h"

#include <algorithm>

namespace tern::ice {
namespace {

constexpr std::string_view kIceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

uint16_t local_preference_of(uint32_t priority) { return static_cast<uint16_t>(priority >> 8); }

bool same_family(const TransportAddress& a, const TransportAddress& b) { return a.family == b.family; }

}  // namespace

const char* to_string(IceState state) {
  switch (state) {
    case IceState::kNew: return "new";
    case IceState::kChecking: return "checking";
    case IceState::kConnected: return "connected";
    case IceState::kFailed: return "failed";
    case IceState::kClosed: return "closed";
  }
  return "?";
}

const char* to_string(IceTransportPolicy policy) {
  return policy == IceTransportPolicy::kRelay ? "relay" : "all";
}

Result<IceAgent> IceAgent::Create(IceAgentConfig config) {
  if (config.sockets.empty()) return Error{"ice: at least one local socket"};
  if (config.lite && config.policy == IceTransportPolicy::kRelay) return Error{"ice: a lite agent has host candidates only"};
  if (config.sockets.size() > kMaxLocalCandidates / 2) return Error{"ice: too many local sockets"};
  const auto& cr = config.credentials;
  if (!cr.ufrag.empty() && (cr.ufrag.size() < 4 || cr.ufrag.size() > 256)) return Error{"ice: ufrag needs 4..256 chars"};
  if (!cr.pwd.empty() && (cr.pwd.size() < 22 || cr.pwd.size() > 256)) return Error{"ice: pwd needs 22..256 chars"};
  if (cr.ufrag.empty() != cr.pwd.empty()) return Error{"ice: give both ufrag and pwd, or neither"};
  if (config.ta <= TimeDelta::Zero() || config.check_rto <= TimeDelta::Zero()) return Error{"ice: timers must be positive"};
  if (config.check_max_transmissions < 1 || config.gather_max_transmissions < 1) return Error{"ice: transmissions >= 1"};
  if (config.consent_interval_min <= TimeDelta::Zero() || config.consent_interval_max < config.consent_interval_min)
    return Error{"ice: bad consent interval"};
  if (config.lite) config.role = IceRole::kControlled;
  return IceAgent(std::move(config));
}

IceAgent::IceAgent(IceAgentConfig config) : config_(std::move(config)), random_(config_.seed), role_(config_.role) {
  tie_breaker_ = random_.next_u64();
  local_creds_ = config_.credentials;
  if (local_creds_.ufrag.empty()) local_creds_ = IceCredentials{random_string(8), random_string(24)};
}

std::string IceAgent::random_string(size_t n) {
  std::string s(n, 'x');
  for (char& c : s) c = kIceChars[static_cast<size_t>(random_.uniform_int(0, static_cast<int64_t>(kIceChars.size()) - 1))];
  return s;
}

TransactionId IceAgent::new_transaction_id() {
  TransactionId id;
  for (size_t i = 0; i < id.bytes.size(); i += 4) {
    const uint32_t v = random_.next_u32();
    for (size_t k = 0; k < 4; ++k) id.bytes[i + k] = static_cast<uint8_t>(v >> (8 * k));
  }
  return id;
}

std::string IceAgent::make_foundation(CandidateType type, const TransportAddress& base, const TransportAddress& server) {
  // RFC 8445 5.1.1.3: same type, base IP, server IP and transport -> same foundation.
  std::string key = to_string(type);
  key += '/';
  key.append(reinterpret_cast<const char*>(base.ip.data()), base.ip_size());
  key += '/';
  if (server.port != 0) key.append(reinterpret_cast<const char*>(server.ip.data()), server.ip_size());
  auto it = std::find(foundations_.begin(), foundations_.end(), key);
  if (it == foundations_.end()) {
    foundations_.push_back(key);
    it = foundations_.end() - 1;
  }
  return std::to_string(it - foundations_.begin() + 1);
}

void IceAgent::emit_event(IceEvent e) {
  if (events_.size() >= kMaxEvents) {
    events_.pop_front();
    ++stats_.events_dropped;
  }
  events_.push_back(std::move(e));
}

void IceAgent::emit(const Via& via, const TransportAddress& to, std::vector<uint8_t> bytes, Timestamp now) {
  if (via.relay != nullptr) {
    via.relay->send_to(to, bytes, now);
    return;
  }
  if (outgoing_.size() >= kMaxOutgoing) {
    outgoing_.erase(outgoing_.begin());
    ++stats_.outgoing_dropped;
  }
  outgoing_.push_back(IceOutgoing{via.socket, to, std::move(bytes)});
}

std::vector<IceOutgoing> IceAgent::take_outgoing() {
  std::vector<IceOutgoing> out = std::exchange(outgoing_, {});
  outgoing_.reserve(out.size());  // room for as many next time: one allocation, not a doubling series
  return out;
}

std::optional<IceEvent> IceAgent::poll_event() {
  if (events_.empty()) return std::nullopt;
  IceEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::vector<Candidate> IceAgent::local_candidates() const {
  std::vector<Candidate> out;
  for (const Local& l : local_) out.push_back(l.c);
  return out;
}

void IceAgent::set_state(IceState s) {
  if (state_ == s) return;
  state_ = s;
  IceEvent e{IceEvent::Kind::kStateChanged, {}, {}, s, role_};
  emit_event(std::move(e));
}

// --- gathering --------------------------------------------------------------------------------

std::optional<size_t> IceAgent::add_local(Candidate c, const Via& via, bool pairable) {
  for (size_t i = 0; i < local_.size(); ++i)
    if (local_[i].c.address == c.address && local_[i].via == via) return std::nullopt;  // redundant
  if (local_.size() >= kMaxLocalCandidates) return std::nullopt;
  local_.push_back(Local{std::move(c), via, pairable});
  return local_.size() - 1;
}

void IceAgent::start(Timestamp now) {
  if (started_ || state_ == IceState::kClosed) return;
  started_ = true;
  checks_started_ = now;
  if (config_.policy == IceTransportPolicy::kRelay) {  // no host, no server-reflexive candidates
    set_state(IceState::kChecking);
    poll_relays(now);
    check_gathering_done();
    return;
  }
  // Local preference (RFC 8445 5.1.2.1, RFC 8421): IPv6 above IPv4, then configuration order.
  for (size_t i = 0; i < config_.sockets.size(); ++i) {
    const LocalSocket& s = config_.sockets[i];
    const auto pref = s.local_preference.value_or(
        static_cast<uint16_t>((s.address.is_v6() ? 0xFFFF : 0x7FFF) - static_cast<uint16_t>(i)));
    Candidate c;
    c.type = CandidateType::kHost;
    c.address = s.address;
    c.priority = candidate_priority(CandidateType::kHost, pref, c.component);
    c.foundation = make_foundation(CandidateType::kHost, s.address, {});
    if (auto idx = add_local(c, Via{s.id, nullptr}, true)) {
      emit_event(IceEvent{IceEvent::Kind::kLocalCandidate, local_[*idx].c, {}, state_, role_});
      pair_local(*idx, now);
    }
  }
  set_state(IceState::kChecking);
  if (!config_.lite) send_gather_requests(now);
  poll_relays(now);
  check_gathering_done();
}

void IceAgent::send_gather_requests(Timestamp now) {
  for (const LocalSocket& s : config_.sockets) {
    for (const TransportAddress& server : config_.stun_servers) {
      if (!same_family(server, s.address) || txns_.size() >= kMaxTransactions) continue;
      Txn t;
      t.id = new_transaction_id();
      t.kind = TxnKind::kGather;
      t.via = Via{s.id, nullptr};
      t.destination = server;
      StunMessageBuilder b(StunClass::kRequest, StunMethod::kBinding, t.id);
      b.add_fingerprint();
      auto bytes = std::move(b).finish();
      if (!bytes) continue;  // cannot happen for an empty request; nothing to send then
      t.bytes = std::move(*bytes);
      t.rto = config_.check_rto;
      t.deadline = now + t.rto;
      t.max_sent = config_.gather_max_transmissions;
      emit(t.via, server, t.bytes, now);
      txns_.push_back(std::move(t));
    }
  }
}

void IceAgent::poll_relays(Timestamp now) {
  last_relay_poll_ = now;
  for (auto& [relay, added] : relays_) {
    if (added) continue;
    auto addr = relay->relayed_address();
    if (!addr) {
      added = relay->failed();  // settled without a candidate
      continue;
    }
    added = true;
    Candidate c;
    c.type = CandidateType::kRelay;
    c.address = *addr;
    c.related = relay->mapped_address().value_or(TransportAddress{});
    c.priority = candidate_priority(CandidateType::kRelay, addr->is_v6() ? 0xFFFF : 0x7FFF, c.component);
    c.foundation = make_foundation(CandidateType::kRelay, *addr, *addr);
    if (auto idx = add_local(c, Via{0, relay}, true)) {
      emit_event(IceEvent{IceEvent::Kind::kLocalCandidate, local_[*idx].c, {}, state_, role_});
      pair_local(*idx, now);
    }
  }
  check_gathering_done();
}

void IceAgent::add_relay(RelayTransport* relay, Timestamp now) {
  if (relay == nullptr || relays_.size() >= kMaxLocalCandidates / 2) return;
  for (const auto& r : relays_)
    if (r.first == relay) return;
  relays_.emplace_back(relay, false);
  gathering_done_ = false;
  if (started_) poll_relays(now);
}

void IceAgent::check_gathering_done() {
  if (gathering_done_ || !started_) return;
  for (const Txn& t : txns_)
    if (t.kind == TxnKind::kGather) return;
  for (const auto& r : relays_)
    if (!r.second) return;
  // Under the relay policy the relays are the only candidates: gathering is not over before one
  // was added (add_relay() may follow start()).
  if (config_.policy == IceTransportPolicy::kRelay && relays_.empty()) return;
  gathering_done_ = true;
  emit_event(IceEvent{IceEvent::Kind::kGatheringDone, {}, {}, state_, role_});
}

// --- remote side ------------------------------------------------------------------------------

void IceAgent::set_remote_credentials(IceCredentials remote, Timestamp now) {
  if (remote_creds_ && remote_creds_->ufrag != remote.ufrag) {
    // Remote ICE restart: the old generation's candidates and checks are gone; addresses the peer
    // already checked from with the new ufrag (it restarted before we learned its credentials)
    // stay, paired again, their nomination honoured once our check succeeds.
    std::erase_if(remote_, [&](const Remote& r) { return r.peer_ufrag != remote.ufrag; });
    clear_checks();
    pairs_.clear();
    remote_end_of_candidates_ = false;
    restarting_ = selected_.has_value();
    first_valid_.reset();
    nomination_delay_passed_ = false;
    checks_started_ = now;
    if (state_ == IceState::kFailed) set_state(IceState::kChecking);
    remote_creds_ = std::move(remote);
    for (size_t i = 0; i < remote_.size(); ++i) {
      pair_remote(i, now);
      for (Pair& p : pairs_) {
        if (p.remote != i || p.state == PairState::kInProgress) continue;
        p.nominate_on_success = remote_[i].peer_nominated && role_ == IceRole::kControlled;
        p.state = PairState::kWaiting;
        if (triggered_.size() < kMaxPairs) triggered_.push_back(p.id);
      }
    }
    return;
  }
  remote_creds_ = std::move(remote);
}

std::optional<size_t> IceAgent::find_remote(const TransportAddress& address) const {
  for (size_t i = 0; i < remote_.size(); ++i)
    if (remote_[i].resolved && remote_[i].c.address == address) return i;
  return std::nullopt;
}

bool IceAgent::add_remote_candidate(Candidate c, Timestamp now) {
  if (state_ == IceState::kClosed || c.component != 1) {
    ++stats_.remote_candidates_refused;
    return false;
  }
  bool resolved = true;
  if (!c.hostname.empty()) {
    if (!is_mdns_hostname(c.hostname)) {
      ++stats_.remote_candidates_refused;
      return false;
    }
    std::optional<TransportAddress> a;
    if (config_.resolve_mdns) a = config_.resolve_mdns(c.hostname, c.address.port);
    if (a) {
      c.address = *a;
    } else {
      resolved = false;
    }
  }
  if (resolved && c.address.port == 0) {
    ++stats_.remote_candidates_refused;
    return false;
  }
  if (resolved) {
    if (auto existing = find_remote(c.address)) {
      Remote& r = remote_[*existing];
      if (r.c.type != CandidateType::kPeerReflexive) return false;  // duplicate
      r.c = std::move(c);  // the signalled candidate replaces the one learned from a check
      for (Pair& p : pairs_)
        if (p.remote == *existing) p.priority = compute_priority(p);
      return true;
    }
  }
  if (remote_.size() >= kMaxRemoteCandidates) {
    ++stats_.remote_candidates_refused;
    return false;
  }
  remote_.push_back(Remote{std::move(c), resolved, {}, {}, false});
  if (resolved) pair_remote(remote_.size() - 1, now);
  return true;
}

void IceAgent::resolve_remote_hostname(std::string_view hostname, const TransportAddress& ip, Timestamp now) {
  for (size_t i = 0; i < remote_.size(); ++i) {
    Remote& r = remote_[i];
    if (r.resolved || r.c.hostname != hostname) continue;
    const uint16_t port = r.c.address.port;
    TransportAddress a = ip;
    a.port = port;
    if (find_remote(a)) continue;  // already known (e.g. learned as peer-reflexive)
    r.c.address = a;
    r.resolved = true;
    pair_remote(i, now);
  }
}

void IceAgent::end_of_remote_candidates(Timestamp /*now*/) { remote_end_of_candidates_ = true; }

// --- pairs ------------------------------------------------------------------------------------

uint64_t IceAgent::compute_priority(const Pair& p) const {
  const uint32_t l = local_[p.local].c.priority, r = remote_[p.remote].c.priority;
  return role_ == IceRole::kControlling ? pair_priority(l, r) : pair_priority(r, l);
}

void IceAgent::recompute_priorities() {
  for (Pair& p : pairs_) p.priority = compute_priority(p);
}

void IceAgent::pair_local(size_t local, Timestamp now) {
  if (config_.lite || !local_[local].pairable) return;
  for (size_t r = 0; r < remote_.size(); ++r)
    if (remote_[r].resolved) (void)add_pair(local, r, now);  // refusals are counted inside
}

void IceAgent::pair_remote(size_t remote, Timestamp now) {
  if (config_.lite) return;
  for (size_t l = 0; l < local_.size(); ++l)
    if (local_[l].pairable) (void)add_pair(l, remote, now);  // refusals are counted inside
}

IceAgent::Pair* IceAgent::find_pair(uint64_t id) {
  for (Pair& p : pairs_)
    if (p.id == id) return &p;
  return nullptr;
}

IceAgent::Pair* IceAgent::find_pair(size_t local, size_t remote) {
  for (Pair& p : pairs_)
    if (p.local == local && p.remote == remote) return &p;
  return nullptr;
}

std::optional<uint64_t> IceAgent::add_pair(size_t local, size_t remote, Timestamp now) {
  const Local& l = local_[local];
  const Remote& r = remote_[remote];
  if (!same_family(l.c.address, r.c.address) || l.c.component != r.c.component) return std::nullopt;
  if (Pair* existing = find_pair(local, remote)) return existing->id;
  Pair p;
  p.id = next_pair_id_++;
  p.local = local;
  p.remote = remote;
  p.priority = compute_priority(p);
  p.foundation = l.c.foundation + ":" + r.c.foundation;
  if (l.via.relay != nullptr) l.via.relay->add_permission(r.c.address, now);
  if (pairs_.size() >= kMaxPairs) {
    // RFC 8445 6.1.2.5: keep the highest-priority pairs; never drop one in progress or valid.
    auto victim = pairs_.end();
    for (auto it = pairs_.begin(); it != pairs_.end(); ++it) {
      if (it->state == PairState::kInProgress || it->state == PairState::kSucceeded) continue;
      if (victim == pairs_.end() || it->priority < victim->priority) victim = it;
    }
    ++stats_.pairs_discarded;
    if (victim == pairs_.end() || victim->priority >= p.priority) return std::nullopt;
    std::erase(triggered_, victim->id);
    pairs_.erase(victim);
  }
  // RFC 8838 11 / RFC 8445 6.1.2.6: a new pair waits unless a pair of its foundation is already
  // being checked, in which case it stays frozen until that one succeeds.
  const bool sibling_active = std::any_of(pairs_.begin(), pairs_.end(), [&](const Pair& o) {
    return o.foundation == p.foundation && (o.state == PairState::kWaiting || o.state == PairState::kInProgress);
  });
  p.state = sibling_active ? PairState::kFrozen : PairState::kWaiting;
  pairs_.push_back(std::move(p));
  return pairs_.back().id;
}

std::optional<size_t> IceAgent::find_local(const Via& via) const {
  for (size_t i = 0; i < local_.size(); ++i)
    if (local_[i].pairable && local_[i].via == via) return i;
  return std::nullopt;
}

void IceAgent::set_role(IceRole role) {
  if (role_ == role) return;
  role_ = role;
  ++stats_.role_conflicts;
  recompute_priorities();
  for (Pair& p : pairs_) p.nominating = false;
  emit_event(IceEvent{IceEvent::Kind::kRoleChanged, {}, {}, state_, role_});
}

void IceAgent::clear_checks() {
  std::erase_if(txns_, [](const Txn& t) { return t.kind == TxnKind::kCheck; });
  triggered_.clear();
}

void IceAgent::rebuild_pairs(Timestamp now) {
  pairs_.clear();
  for (size_t l = 0; l < local_.size(); ++l) pair_local(l, now);
}

void IceAgent::restart(Timestamp now, std::optional<IceCredentials> credentials) {
  if (state_ == IceState::kClosed) return;
  previous_local_ = local_creds_;
  const bool legal = credentials && credentials->ufrag.size() >= 4 && credentials->ufrag.size() <= 256 &&
                     credentials->pwd.size() >= 22 && credentials->pwd.size() <= 256;
  local_creds_ = legal ? std::move(*credentials) : IceCredentials{random_string(8), random_string(24)};
  clear_checks();
  restarting_ = selected_.has_value();
  first_valid_.reset();
  nomination_delay_passed_ = false;
  checks_started_ = now;
  rebuild_pairs(now);
  if (state_ == IceState::kFailed) set_state(IceState::kChecking);
  // The candidates are signalled again under the new ufrag.
  for (const Local& l : local_)
    if (l.c.type != CandidateType::kPeerReflexive)
      emit_event(IceEvent{IceEvent::Kind::kLocalCandidate, l.c, {}, state_, role_});
  if (gathering_done_) emit_event(IceEvent{IceEvent::Kind::kGatheringDone, {}, {}, state_, role_});
}

void IceAgent::close() {
  set_state(IceState::kClosed);
  txns_.clear();
  triggered_.clear();
  selected_.reset();
}

// --- checks -----------------------------------------------------------------------------------

Result<std::vector<uint8_t>> IceAgent::build_request(const TransactionId& id, uint32_t priority, bool use_candidate,
                                                     const IceCredentials& local, const IceCredentials& remote) {
  StunMessageBuilder b(StunClass::kRequest, StunMethod::kBinding, id);
  b.add_username(remote.ufrag + ":" + local.ufrag);
  b.add_priority(priority);
  if (role_ == IceRole::kControlling) {
    b.add_ice_controlling(tie_breaker_);
    if (use_candidate) b.add_use_candidate();
  } else {
    b.add_ice_controlled(tie_breaker_);
  }
  b.add_message_integrity(short_term_key(remote.pwd));
  b.add_fingerprint();
  return std::move(b).finish();
}

bool IceAgent::can_check() const {
  return started_ && !config_.lite && remote_creds_.has_value() && state_ != IceState::kClosed &&
         state_ != IceState::kFailed;
}

void IceAgent::send_check(Pair& pair, Timestamp now) {
  last_check_ = now;  // a deferred check also uses up its Ta slot
  if (txns_.size() >= kMaxTransactions) {
    ++stats_.transactions_deferred;
    return;
  }
  const Local& l = local_[pair.local];
  const Remote& r = remote_[pair.remote];
  Txn t;
  t.id = new_transaction_id();
  t.kind = TxnKind::kCheck;
  t.via = l.via;
  t.destination = r.c.address;
  t.pair_id = pair.id;
  t.use_candidate = pair.nominating && role_ == IceRole::kControlling;
  t.role = role_;
  t.key = short_term_key(remote_creds_->pwd);
  const uint32_t prflx_priority =
      candidate_priority(CandidateType::kPeerReflexive, local_preference_of(l.c.priority), l.c.component);
  const IceCredentials& local_creds = local_creds_for(r);
  t.previous_local = &local_creds != &local_creds_;
  auto bytes = build_request(t.id, prflx_priority, t.use_candidate, local_creds, *remote_creds_);
  if (!bytes) {  // only a password longer than the 16-bit length allows; the pair cannot work
    pair.state = PairState::kFailed;
    return;
  }
  t.bytes = std::move(*bytes);
  t.rto = config_.check_rto;
  t.deadline = now + t.rto;
  t.max_sent = config_.check_max_transmissions;
  pair.state = PairState::kInProgress;
  ++stats_.checks_sent;
  last_check_ = now;
  emit(t.via, t.destination, t.bytes, now);
  txns_.push_back(std::move(t));
}

void IceAgent::tick_checks(Timestamp now) {
  if (!can_check() || now < last_check_ + config_.ta) return;
  // One check per Ta: a triggered check first, then the highest-priority waiting pair, then
  // (RFC 8445 6.1.4.2) the highest-priority frozen one.
  while (!triggered_.empty()) {
    const uint64_t id = triggered_.front();
    triggered_.pop_front();
    Pair* p = find_pair(id);
    if (p == nullptr || p->state == PairState::kInProgress) continue;
    ++stats_.triggered_checks;
    send_check(*p, now);
    return;
  }
  Pair* best = nullptr;
  for (PairState wanted : {PairState::kWaiting, PairState::kFrozen}) {
    for (Pair& p : pairs_)
      if (p.state == wanted && (best == nullptr || p.priority > best->priority)) best = &p;
    if (best != nullptr) break;
  }
  if (best != nullptr) send_check(*best, now);
}

void IceAgent::tick_transactions(Timestamp now) {
  bool gather_ended = false;
  for (size_t i = 0; i < txns_.size();) {
    Txn& t = txns_[i];
    if (t.deadline > now) {
      ++i;
      continue;
    }
    if (t.sent < t.max_sent && !t.cancelled) {
      ++t.sent;
      t.rto = std::min(t.rto * 2, config_.check_rto_max);
      t.deadline = now + t.rto;
      ++stats_.retransmissions;
      emit(t.via, t.destination, t.bytes, now);
      ++i;
      continue;
    }
    if (t.kind == TxnKind::kCheck && !t.cancelled) {
      if (Pair* p = find_pair(t.pair_id)) {
        p->state = PairState::kFailed;
        p->nominating = false;
      }
    }
    gather_ended |= t.kind == TxnKind::kGather;
    txns_.erase(txns_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  if (gather_ended) check_gathering_done();
}

const IceAgent::Pair* IceAgent::best_valid() const {
  const Pair* best = nullptr;
  for (const Pair& p : pairs_)
    if (p.valid && p.state == PairState::kSucceeded && (best == nullptr || p.priority > best->priority)) best = &p;
  return best;
}

bool IceAgent::better_pending(const Pair& best) const {
  return std::any_of(pairs_.begin(), pairs_.end(), [&](const Pair& p) {
    return p.priority > best.priority && (p.state == PairState::kWaiting || p.state == PairState::kInProgress ||
                                          p.state == PairState::kFrozen);
  });
}

bool IceAgent::wants_nomination() const {
  if (role_ != IceRole::kControlling || config_.lite || !can_check()) return false;
  if (selected_ && !restarting_) return false;
  return std::none_of(pairs_.begin(), pairs_.end(), [](const Pair& p) { return p.nominating; }) &&
         best_valid() != nullptr;
}

void IceAgent::tick_nomination(Timestamp now) {
  if (!wants_nomination()) return;
  Pair* best = const_cast<Pair*>(best_valid());  // points into pairs_, which this method owns
  if (first_valid_ && now >= *first_valid_ + config_.nomination_delay) nomination_delay_passed_ = true;
  if (better_pending(*best) && !nomination_delay_passed_) return;
  best->nominating = true;
  triggered_.push_front(best->id);
}

void IceAgent::send_consent(Timestamp now) {
  Selected& s = *selected_;
  if (txns_.size() >= kMaxTransactions) {
    ++stats_.transactions_deferred;
    return;
  }
  Txn t;
  t.id = new_transaction_id();
  t.kind = TxnKind::kConsent;
  t.via = s.via;
  t.destination = s.remote.address;
  t.role = role_;
  t.key = short_term_key(s.remote_creds.pwd);
  const uint32_t prflx_priority =
      candidate_priority(CandidateType::kPeerReflexive, local_preference_of(s.local.priority), s.local.component);
  auto bytes = build_request(t.id, prflx_priority, false, s.local_creds, s.remote_creds);
  if (!bytes) return;  // cannot happen: the same credentials built the checks that selected it
  t.bytes = std::move(*bytes);
  // RFC 7675 5.1: one transmission; a lost request is not a failure, the 30 s expiry is.
  t.rto = config_.consent_interval_max;
  t.deadline = now + t.rto;
  t.max_sent = 1;
  ++stats_.consent_requests;
  emit(t.via, t.destination, t.bytes, now);
  txns_.push_back(std::move(t));
}

Timestamp IceAgent::next_consent_time(Timestamp now) {
  // RFC 7675 5.1: uniformly random in [min, max] from this request (4-6 s by default).
  const double span = static_cast<double>((config_.consent_interval_max - config_.consent_interval_min).us());
  return now + config_.consent_interval_min + TimeDelta::Micros(static_cast<int64_t>(random_.uniform() * span));
}

void IceAgent::tick_consent(Timestamp now) {
  if (!selected_ || config_.lite || state_ == IceState::kClosed) return;
  if (now - selected_->last_consent >= config_.consent_timeout) {
    selected_.reset();
    restarting_ = false;
    set_state(IceState::kFailed);
    return;
  }
  if (now >= selected_->next_consent) {
    send_consent(now);
    selected_->next_consent = next_consent_time(now);
  }
}

bool IceAgent::failure_armed() const {
  return !config_.lite && started_ && !selected_ && state_ == IceState::kChecking &&
         std::none_of(pairs_.begin(), pairs_.end(), [](const Pair& p) { return p.valid; });
}

void IceAgent::tick_failure(Timestamp now) {
  if (!failure_armed()) return;
  const bool all_failed = std::all_of(pairs_.begin(), pairs_.end(), [](const Pair& p) { return p.state == PairState::kFailed; });
  const bool checks_in_flight =
      std::any_of(txns_.begin(), txns_.end(), [](const Txn& t) { return t.kind == TxnKind::kCheck; });
  const bool unresolved = std::any_of(remote_.begin(), remote_.end(), [](const Remote& r) { return !r.resolved; });
  if ((remote_end_of_candidates_ && gathering_done_ && all_failed && !checks_in_flight && !unresolved &&
       triggered_.empty()) ||
      now - checks_started_ >= config_.failure_timeout)
    set_state(IceState::kFailed);
}

void IceAgent::process(Timestamp now) {
  if (state_ == IceState::kClosed) return;
  poll_relays(now);
  tick_transactions(now);
  tick_nomination(now);
  tick_checks(now);
  tick_consent(now);
  tick_failure(now);
}

std::optional<Timestamp> IceAgent::next_wakeup() const {
  if (state_ == IceState::kClosed || !started_) return std::nullopt;
  std::optional<Timestamp> next;
  auto consider = [&](Timestamp t) {
    if (!next || t < *next) next = t;
  };
  for (const Txn& t : txns_) consider(t.deadline);
  if (can_check()) {
    const bool work = !triggered_.empty() || std::any_of(pairs_.begin(), pairs_.end(), [](const Pair& p) {
      return p.state == PairState::kWaiting || p.state == PairState::kFrozen;
    });
    if (work) consider(last_check_ + config_.ta);
    if (wants_nomination()) {
      // Nominate at the next check slot, or when the wait for better pairs ends.
      const bool wait = better_pending(*best_valid()) && !nomination_delay_passed_ && first_valid_;
      consider(wait ? *first_valid_ + config_.nomination_delay : last_check_ + config_.ta);
    }
  }
  if (selected_ && !config_.lite) {
    consider(selected_->next_consent);
    consider(selected_->last_consent + config_.consent_timeout);
  }
  if (failure_armed()) consider(checks_started_ + config_.failure_timeout);
  // Relays that have not allocated yet are polled every Ta.
  if (std::any_of(relays_.begin(), relays_.end(), [](const auto& r) { return !r.second; }))
    consider(last_relay_poll_ + config_.ta);
  return next;
}

// --- input ------------------------------------------------------------------------------------

IceAgent::Inbound IceAgent::on_datagram(SocketId socket, const TransportAddress& source,
                                        std::span<const uint8_t> data, Timestamp now) {
  return handle(Via{socket, nullptr}, source, data, now);
}

IceAgent::Inbound IceAgent::on_relayed_datagram(RelayTransport* relay, const TransportAddress& peer,
                                                std::span<const uint8_t> data, Timestamp now) {
  return handle(Via{0, relay}, peer, data, now);
}

bool IceAgent::accepts_app_data(const Via& via, const TransportAddress& source) const {
  if (selected_ && selected_->via == via && selected_->remote.address == source) return true;
  return std::any_of(pairs_.begin(), pairs_.end(), [&](const Pair& p) {
    return p.valid && local_[p.local].via == via && remote_[p.remote].c.address == source;
  });
}

IceAgent::Inbound IceAgent::handle(const Via& via, const TransportAddress& source, std::span<const uint8_t> data,
                                   Timestamp now) {
  if (state_ == IceState::kClosed) return Inbound::kDropped;
  if (!looks_like_stun(data)) {
    if (accepts_app_data(via, source)) {
      ++stats_.app_received;
      return Inbound::kApplication;
    }
    ++stats_.dropped_not_stun;
    return Inbound::kDropped;
  }
  auto msg = StunMessage::parse(data);
  if (!msg || msg->method() != StunMethod::kBinding) {
    ++stats_.dropped_malformed;
    return Inbound::kDropped;
  }
  switch (msg->message_class()) {
    case StunClass::kRequest:
      handle_request(via, source, *msg, now);
      break;
    case StunClass::kSuccess:
    case StunClass::kError:
      handle_response(via, source, *msg, now);
      break;
    case StunClass::kIndication:  // keepalives (RFC 8445 11): nothing to do
      break;
  }
  return Inbound::kIce;
}

void IceAgent::send_response(const Via& via, const TransportAddress& to, const StunMessage& request,
                             const StunKey& key, std::optional<uint16_t> error, Timestamp now) {
  StunMessageBuilder b(error ? StunClass::kError : StunClass::kSuccess, StunMethod::kBinding,
                       request.transaction_id());
  if (error) {
    b.add_error_code(*error, "Role Conflict");
  } else {
    b.add_xor_mapped_address(to);
  }
  b.add_message_integrity(key);
  b.add_fingerprint();
  auto bytes = std::move(b).finish();
  if (bytes) emit(via, to, std::move(*bytes), now);  // a response always fits
}

void IceAgent::handle_request(const Via& via, const TransportAddress& source, const StunMessage& msg, Timestamp now) {
  if (!msg.check_fingerprint().ok()) {
    ++stats_.dropped_bad_fingerprint;
    return;
  }
  const auto username = msg.username();
  const size_t colon = username ? username->find(':') : std::string_view::npos;
  if (colon == std::string_view::npos || !started_) {
    ++stats_.dropped_bad_username;
    return;
  }
  const std::string_view ours = username->substr(0, colon);
  const IceCredentials* creds = nullptr;
  if (ours == local_creds_.ufrag) {
    creds = &local_creds_;
  } else if (previous_local_ && ours == previous_local_->ufrag) {
    creds = &*previous_local_;
  } else if (selected_ && ours == selected_->local_creds.ufrag) {
    creds = &selected_->local_creds;
  }
  if (creds == nullptr) {
    ++stats_.dropped_bad_username;
    return;
  }
  const StunKey key = short_term_key(creds->pwd);
  if (!msg.check_integrity(key).ok()) {
    ++stats_.dropped_bad_integrity;
    return;
  }
  if (!msg.priority()) {  // RFC 8445 7.3: a check without PRIORITY is a bad request
    ++stats_.dropped_malformed;
    return;
  }
  // Role conflict (RFC 8445 7.3.1.1).
  if (!config_.lite) {
    if (role_ == IceRole::kControlling && msg.ice_controlling()) {
      if (tie_breaker_ >= *msg.ice_controlling()) {
        ++stats_.role_conflicts;
        send_response(via, source, msg, key, stun_error::kRoleConflict, now);
        return;
      }
      set_role(IceRole::kControlled);
    } else if (role_ == IceRole::kControlled && msg.ice_controlled()) {
      if (tie_breaker_ >= *msg.ice_controlled()) {
        set_role(IceRole::kControlling);
      } else {
        ++stats_.role_conflicts;
        send_response(via, source, msg, key, stun_error::kRoleConflict, now);
        return;
      }
    }
  }
  ++stats_.requests_received;
  send_response(via, source, msg, key, std::nullopt, now);
  const bool use_candidate = msg.use_candidate() && role_ == IceRole::kControlled;
  const std::string_view peer_ufrag = username->substr(colon + 1);
  // A peer generation we have no credentials for yet: no check can be built (see Remote).
  const bool future_generation = remote_creds_ && peer_ufrag != remote_creds_->ufrag;

  // The remote candidate; unknown sources are peer-reflexive (RFC 8445 7.3.1.3).
  auto remote = find_remote(source);
  if (!remote) {
    if (remote_.size() >= kMaxRemoteCandidates) {
      ++stats_.remote_candidates_refused;
      return;
    }
    Candidate c;
    c.type = CandidateType::kPeerReflexive;
    c.address = source;
    c.priority = *msg.priority();
    c.foundation = "prflx" + std::to_string(++prflx_counter_);
    remote_.push_back(Remote{std::move(c), true, {}, {}, false});
    remote = remote_.size() - 1;
    ++stats_.peer_reflexive_remote;
    if (!config_.lite && !future_generation) pair_remote(*remote, now);
  }
  // What the check named (see Remote), unless it is a consent check of the generation before a
  // remote restart, on the pair that still carries data.
  const bool old_generation = selected_ && remote_creds_ && peer_ufrag == selected_->remote_creds.ufrag &&
                              peer_ufrag != remote_creds_->ufrag;
  if (!old_generation) {
    remote_[*remote].named_local_ufrag = creds->ufrag;
    remote_[*remote].peer_ufrag = std::string(peer_ufrag);
    remote_[*remote].peer_nominated = use_candidate;
  }
  if (config_.lite) {
    // A lite agent has no check list: the controlling peer's nomination selects the pair.
    if (use_candidate && (!selected_ || !(selected_->via == via && selected_->remote.address == source))) {
      Candidate local;
      if (auto l = find_local(via)) local = local_[*l].c;
      select(via, local, remote_[*remote].c, *creds, now);
    }
    if (selected_ && selected_->via == via && selected_->remote.address == source) selected_->last_consent = now;
    return;
  }
  if (future_generation && !old_generation) return;
  // Triggered check (RFC 8445 7.3.1.4) and nomination (7.3.1.5).
  auto local = find_local(via);
  if (!local) return;
  Pair* p = find_pair(*local, *remote);
  if (p == nullptr) {
    auto id = add_pair(*local, *remote, now);
    p = id ? find_pair(*id) : nullptr;
    if (p == nullptr) return;
  }
  if (selected_ && selected_->via == via && selected_->remote.address == source && !restarting_) return;
  switch (p->state) {
    case PairState::kSucceeded:
      if (use_candidate) select(via, local_[p->local].c, remote_[p->remote].c, local_creds_for(remote_[p->remote]), now);
      break;
    case PairState::kInProgress: {
      // The check in progress got an unauthenticated error (a 401 without integrity: libwebrtc's
      // answer to a check that reached its new port before it had our restart's credentials):
      // now that the peer checked us, it is cancelled (RFC 8445 7.3.1.4: no retransmissions, its
      // silence no failure, a late success still counts) and a triggered check replaces it, rather
      // than waiting for its retransmission. Otherwise the check goes on.
      bool replace = false;
      for (Txn& t : txns_) {
        if (t.kind != TxnKind::kCheck || t.pair_id != p->id || !t.refused_unauthenticated) continue;
        t.cancelled = true;
        replace = true;
      }
      if (!replace) {
        if (use_candidate) p->nominate_on_success = true;
        break;
      }
      [[fallthrough]];
    }
    case PairState::kWaiting:
    case PairState::kFrozen:
    case PairState::kFailed:
      if (use_candidate) p->nominate_on_success = true;
      p->state = PairState::kWaiting;
      if (std::find(triggered_.begin(), triggered_.end(), p->id) == triggered_.end() && triggered_.size() < kMaxPairs)
        triggered_.push_back(p->id);
      break;
  }
}

void IceAgent::handle_response(const Via& via, const TransportAddress& source, const StunMessage& msg, Timestamp now) {
  auto it = std::find_if(txns_.begin(), txns_.end(), [&](const Txn& t) { return t.id == msg.transaction_id(); });
  if (it == txns_.end()) {
    ++stats_.dropped_unmatched;
    return;
  }
  if (!msg.check_fingerprint().ok()) {
    ++stats_.dropped_bad_fingerprint;
    return;
  }
  if (it->kind == TxnKind::kGather) {
    // A STUN server's answer carries no integrity: it counts only from the server we asked.
    if (!(source == it->destination && via == it->via)) {
      ++stats_.dropped_unmatched;
      return;
    }
    const Txn t = std::move(*it);
    txns_.erase(it);
    auto mapped = msg.xor_mapped_address();
    auto base = find_local(t.via);
    if (msg.message_class() == StunClass::kSuccess && mapped && base && !(local_[*base].c.address == *mapped)) {
      const Local& b = local_[*base];
      Candidate c;
      c.type = CandidateType::kServerReflexive;
      c.address = *mapped;
      c.related = b.c.address;
      c.priority = candidate_priority(CandidateType::kServerReflexive, local_preference_of(b.c.priority), 1);
      c.foundation = make_foundation(CandidateType::kServerReflexive, b.c.address, t.destination);
      if (auto idx = add_local(c, t.via, false))
        emit_event(IceEvent{IceEvent::Kind::kLocalCandidate, local_[*idx].c, {}, state_, role_});
    }
    check_gathering_done();
    return;
  }
  if (!msg.check_integrity(it->key).ok()) {
    ++stats_.dropped_bad_integrity;
    // Noted, never acted on alone (see handle_request): libwebrtc's 401 carries no integrity.
    if (msg.message_class() == StunClass::kError && source == it->destination) it->refused_unauthenticated = true;
    return;
  }
  ++stats_.responses_received;
  const Txn t = std::move(*it);
  txns_.erase(it);
  if (t.kind == TxnKind::kConsent) {
    if (msg.message_class() == StunClass::kSuccess && selected_ && selected_->via == t.via &&
        selected_->remote.address == t.destination && source == t.destination) {
      selected_->last_consent = now;
      ++stats_.consent_responses;
    }
    return;
  }
  Pair* p = find_pair(t.pair_id);
  if (p == nullptr) return;
  if (msg.message_class() == StunClass::kError) {
    const auto err = msg.error_code();
    if (err && err->code == stun_error::kRoleConflict) {
      // RFC 8445 7.2.5.1: switch only if we still hold the role the request claimed.
      ++stats_.role_conflicts;
      if (role_ == t.role)
        set_role(t.role == IceRole::kControlling ? IceRole::kControlled : IceRole::kControlling);
      p->state = PairState::kWaiting;
      triggered_.push_back(p->id);
      return;
    }
    p->state = PairState::kFailed;
    p->nominating = false;
    return;
  }
  // RFC 8445 7.2.5.2.1: the response must come from where the request went, to where it left.
  if (!(source == t.destination && via == t.via)) {
    p->state = PairState::kFailed;
    return;
  }
  on_check_success(*p, t, msg, now);
}

void IceAgent::on_check_success(Pair& pair, const Txn& txn, const StunMessage& msg, Timestamp now) {
  // A mapped address that is no local candidate is a peer-reflexive local candidate (7.2.5.3.1);
  // data is still sent from its base, so the pair itself becomes valid.
  if (auto mapped = msg.xor_mapped_address()) {
    const bool known = std::any_of(local_.begin(), local_.end(), [&](const Local& l) { return l.c.address == *mapped; });
    if (!known) {
      const Local& base = local_[pair.local];
      Candidate c;
      c.type = CandidateType::kPeerReflexive;
      c.address = *mapped;
      c.related = base.c.address;
      c.priority = candidate_priority(CandidateType::kPeerReflexive, local_preference_of(base.c.priority), 1);
      c.foundation = make_foundation(CandidateType::kPeerReflexive, base.c.address, {});
      if (add_local(c, base.via, false)) ++stats_.peer_reflexive_local;
    }
  }
  pair.state = PairState::kSucceeded;
  pair.valid = true;
  if (!first_valid_) first_valid_ = now;
  // RFC 8445 7.2.5.3.3: unfreeze the pairs of the same foundation.
  for (Pair& o : pairs_)
    if (o.state == PairState::kFrozen && o.foundation == pair.foundation) o.state = PairState::kWaiting;
  const bool nominated = (txn.use_candidate && role_ == IceRole::kControlling) ||
                         (pair.nominate_on_success && role_ == IceRole::kControlled);
  pair.nominating = false;
  if (nominated) {
    const IceCredentials& creds = txn.previous_local && previous_local_ ? *previous_local_ : local_creds_;
    select(txn.via, local_[pair.local].c, remote_[pair.remote].c, creds, now);
  }
}

const IceCredentials& IceAgent::local_creds_for(const Remote& r) const {
  if (previous_local_ && !r.named_local_ufrag.empty() && r.named_local_ufrag == previous_local_->ufrag)
    return *previous_local_;
  return local_creds_;
}

void IceAgent::select(const Via& via, const Candidate& local, const Candidate& remote, const IceCredentials& local_creds,
                      Timestamp now) {
  Selected s;
  s.via = via;
  s.local = local;
  s.remote = remote;
  s.local_creds = local_creds;
  s.remote_creds = remote_creds_.value_or(IceCredentials{});
  s.last_consent = now;
  s.next_consent = next_consent_time(now);
  selected_ = std::move(s);
  restarting_ = false;
  if (via.relay != nullptr) via.relay->on_selected(remote.address, now);
  emit_event(IceEvent{IceEvent::Kind::kSelectedPair, local, remote, state_, role_});
  set_state(IceState::kConnected);
}

// --- data -------------------------------------------------------------------------------------

Status IceAgent::send(std::span<const uint8_t> data, Timestamp now) {
  if (!selected_ || state_ == IceState::kClosed) return Error{"ice: no selected pair"};
  ++stats_.app_sent;
  emit(selected_->via, selected_->remote.address, std::vector<uint8_t>(data.begin(), data.end()), now);
  return Status::Ok();
}

Status IceAgent::send(std::vector<uint8_t>&& data, Timestamp now) {
  if (!selected_ || state_ == IceState::kClosed) return Error{"ice: no selected pair"};
  ++stats_.app_sent;
  emit(selected_->via, selected_->remote.address, std::move(data), now);
  return Status::Ok();
}

std::optional<std::pair<Candidate, Candidate>> IceAgent::selected_pair() const {
  if (!selected_) return std::nullopt;
  return std::make_pair(selected_->local, selected_->remote);
}

std::optional<IceCredentials> IceAgent::selected_credentials() const {
  if (!selected_) return std::nullopt;
  return selected_->local_creds;
}

}  // namespace tern::ice
