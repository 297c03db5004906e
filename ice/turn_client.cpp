#include "tern/ice/turn_client.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "tern/ice/channel_data.h"

namespace tern::ice {
namespace {

bool SameIp(const TransportAddress& a, const TransportAddress& b) {
  return a.family == b.family && std::memcmp(a.ip.data(), b.ip.data(), a.ip_size()) == 0;
}

uint32_t Seconds(TimeDelta d) { return d.seconds() <= 0 ? 0 : static_cast<uint32_t>(std::min<int64_t>(d.seconds(), 0xFFFFFFFF)); }

// The output queues' policy: bounded at kMaxQueued, the oldest entry dropped (and counted) first.
template <typename T>
void PushBounded(std::deque<T>& q, T item, uint64_t& drops) {
  if (q.size() >= TurnClient::kMaxQueued) {
    q.pop_front();
    ++drops;
  }
  q.push_back(std::move(item));
}

template <typename T>
std::optional<T> PopFront(std::deque<T>& q) {
  if (q.empty()) return std::nullopt;
  std::optional<T> out(std::move(q.front()));
  q.pop_front();
  return out;
}

}  // namespace

Result<TurnClient> TurnClient::Create(TurnClientConfig config) {
  if (config.username.empty()) return Error{"TURN username is empty"};
  if (config.rto <= TimeDelta::Zero()) return Error{"rto must be positive"};
  if (config.keepalive < TimeDelta::Zero()) return Error{"keepalive must not be negative"};
  if (config.max_sends < 1) return Error{"max_sends must be at least 1"};
  if (config.final_wait_rtos < 1) return Error{"final_wait_rtos must be at least 1"};
  if (config.max_channels > 0x1000) return Error{"max_channels above 4096 channel numbers"};
  return TurnClient(std::move(config));
}

StunMethod TurnClient::method_of(Kind kind) {
  switch (kind) {
    case Kind::kAllocate: return StunMethod::kAllocate;
    case Kind::kRefresh: return StunMethod::kRefresh;
    case Kind::kPermission: return StunMethod::kCreatePermission;
    case Kind::kChannelBind: return StunMethod::kChannelBind;
  }
  return StunMethod::kBinding;  // unreachable: every Kind is listed
}

TurnClient::TurnClient(TurnClientConfig config) : config_(std::move(config)), rng_(config_.seed) {}

TransactionId TurnClient::new_transaction_id() {
  TransactionId id;
  if (config_.seed == 0 && RAND_bytes(id.bytes.data(), static_cast<int>(id.bytes.size())) == 1) return id;
  // Deterministic ids for tests (or, should the CSPRNG ever fail, still unique ones).
  for (size_t i = 0; i < id.bytes.size(); i += 4) store_be32(id.bytes.data() + i, rng_.next_u32());
  return id;
}

// --- requests ----------------------------------------------------------------------------------

void TurnClient::build(Transaction& t) {
  StunMessageBuilder b(StunClass::kRequest, method_of(t.kind), t.id);
  switch (t.kind) {
    case Kind::kAllocate:
      b.add_requested_transport(17);
      b.add_lifetime(Seconds(config_.requested_lifetime));
      if (!config_.software.empty()) b.add_software(config_.software);
      break;
    case Kind::kRefresh:
      b.add_lifetime(Seconds(t.lifetime));
      break;
    case Kind::kPermission:
      b.add_xor_peer_address(t.peer);
      break;
    case Kind::kChannelBind:
      b.add_channel_number(t.channel).add_xor_peer_address(t.peer);
      break;
  }
  t.authenticated = !key_.empty();
  if (t.authenticated) {
    b.add_username(config_.username).add_realm(realm_).add_nonce(nonce_).add_message_integrity(key_);
  }
  b.add_fingerprint();
  auto bytes = std::move(b).finish();
  // Only a username/realm/nonce near 64 KiB could overflow; such a request is sent empty and
  // fails by timeout, which the caller sees as an event.
  t.bytes = bytes.ok() ? std::move(bytes).value() : std::vector<uint8_t>{};
}

void TurnClient::start(Transaction t, Timestamp now) {
  t.id = new_transaction_id();
  t.sends = 0;
  t.rto = config_.rto;
  build(t);
  transmit(t, now);
  ++counters_.requests_sent;
  transactions_.push_back(std::move(t));
}

void TurnClient::transmit(Transaction& t, Timestamp now) {
  if (!t.bytes.empty()) push_outgoing(t.bytes);
  ++t.sends;
  if (config_.transport != TurnTransport::kUdp) {
    t.deadline = now + kReliableTimeout;  // RFC 8489 6.2.2: no retransmission on a stream
    t.sends = config_.max_sends;
  } else if (t.sends < config_.max_sends) {
    t.deadline = now + t.rto;
    t.rto = t.rto * 2;
  } else {
    t.deadline = now + config_.rto * config_.final_wait_rtos;  // Rm * RTO after the last send
  }
}

void TurnClient::allocate(Timestamp now) {
  if (state_ != TurnState::kIdle) return;
  state_ = TurnState::kAllocating;
  Transaction t;
  t.kind = Kind::kAllocate;
  start(std::move(t), now);
}

void TurnClient::send_refresh(TimeDelta lifetime, Timestamp now) {
  Transaction t;
  t.kind = Kind::kRefresh;
  t.lifetime = lifetime;
  refresh_at_ = Timestamp::PlusInfinity();  // re-armed by the answer
  start(std::move(t), now);
}

void TurnClient::deallocate(Timestamp now) {
  if (state_ != TurnState::kAllocated) return;
  state_ = TurnState::kDeallocating;
  // Drop the allocation's own refreshes in flight; their answers will be unmatched.
  std::erase_if(transactions_, [](const Transaction& t) { return t.kind == Kind::kRefresh; });
  send_refresh(TimeDelta::Zero(), now);
}

void TurnClient::send_permission(Permission& p, Timestamp now) {
  p.in_flight = true;
  Transaction t;
  t.kind = Kind::kPermission;
  t.peer = p.peer;
  start(std::move(t), now);
}

void TurnClient::send_channel_bind(Channel& c, Timestamp now) {
  c.in_flight = true;
  Transaction t;
  t.kind = Kind::kChannelBind;
  t.peer = c.peer;
  t.channel = c.number;
  start(std::move(t), now);
}

TurnClient::Permission* TurnClient::find_permission(const TransportAddress& peer) {
  for (auto& p : permissions_) {
    if (SameIp(p.peer, peer)) return &p;
  }
  return nullptr;
}

TurnClient::Channel* TurnClient::find_channel(const TransportAddress& peer) {
  for (auto& c : channels_) {
    if (c.peer == peer) return &c;
  }
  return nullptr;
}

TurnClient::Channel* TurnClient::find_channel(uint16_t number) {
  for (auto& c : channels_) {
    if (c.number == number) return &c;
  }
  return nullptr;
}

Status TurnClient::create_permission(const TransportAddress& peer, Timestamp now) {
  if (state_ != TurnState::kAllocated) return Error{"no allocation"};
  if (find_permission(peer) != nullptr) return Status::Ok();  // installed or on its way; kept fresh
  if (permissions_.size() >= config_.max_permissions) return Error{"permission table full"};
  permissions_.push_back(Permission{peer});
  send_permission(permissions_.back(), now);
  return Status::Ok();
}

Result<uint16_t> TurnClient::bind_channel(const TransportAddress& peer, Timestamp now) {
  if (state_ != TurnState::kAllocated) return Error{"no allocation"};
  if (const Channel* c = find_channel(peer)) return c->number;
  if (channels_.size() >= config_.max_channels) return Error{"channel table full"};
  // The next free number after the last one handed out (numbers of failed binds come back).
  uint16_t number = next_channel_;
  for (int i = 0; i <= 0xFFF && find_channel(number) != nullptr; ++i) {
    number = number == ChannelData::kMaxChannel ? ChannelData::kMinChannel : static_cast<uint16_t>(number + 1);
  }
  next_channel_ = number == ChannelData::kMaxChannel ? ChannelData::kMinChannel : static_cast<uint16_t>(number + 1);
  channels_.push_back(Channel{number, peer});
  send_channel_bind(channels_.back(), now);
  return number;
}

Status TurnClient::send(const TransportAddress& peer, std::span<const uint8_t> data) {
  if (state_ != TurnState::kAllocated) return Error{"no allocation"};
  const Channel* c = find_channel(peer);
  if (c != nullptr && c->bound) {
    std::vector<uint8_t> out;
    out.reserve(ChannelData::kHeaderSize + data.size() + 3);
    if (Status s = ChannelData::write(c->number, data, config_.transport != TurnTransport::kUdp, out); !s.ok()) return s;
    push_outgoing(std::move(out));
    ++counters_.channel_data_sent;
    return Status::Ok();
  }
  StunMessageBuilder b(StunClass::kIndication, StunMethod::kSend, new_transaction_id());
  b.add_xor_peer_address(peer).add_data(data);
  auto bytes = std::move(b).finish();
  if (!bytes.ok()) return Error{bytes.error()};
  push_outgoing(std::move(bytes).value());
  ++counters_.send_indications;
  return Status::Ok();
}

// --- input -------------------------------------------------------------------------------------

void TurnClient::on_datagram(std::span<const uint8_t> datagram, Timestamp now) {
  if (!datagram.empty() && (datagram[0] & 0xF0) == 0x40) {
    handle_channel_data(datagram);
  } else {
    handle_message(datagram, now);
  }
}

void TurnClient::on_stream_bytes(std::span<const uint8_t> bytes, Timestamp now) {
  if (framer_.failed()) return;
  if (!framer_.push(bytes).ok()) {
    ++counters_.stream_errors;
  }
  for (auto message = framer_.next(); !message.empty(); message = framer_.next()) {
    on_datagram(message, now);
  }
  if (framer_.failed()) {
    ++counters_.stream_errors;
    if (state_ == TurnState::kAllocated || state_ == TurnState::kAllocating) {
      state_ = TurnState::kFailed;
      push_event({TurnEvent::Type::kAllocationLost, {}, 0, 0, framer_.error()});
    }
  }
}

void TurnClient::handle_channel_data(std::span<const uint8_t> bytes) {
  auto cd = ChannelData::parse(bytes);
  if (!cd.ok()) {
    ++counters_.malformed;
    return;
  }
  const Channel* c = find_channel(cd->channel);
  if (c == nullptr) {
    ++counters_.received_unknown_channel;
    return;
  }
  ++counters_.channel_data_received;
  push_received({c->peer, std::vector<uint8_t>(cd->data.begin(), cd->data.end()), true});
}

void TurnClient::handle_message(std::span<const uint8_t> bytes, Timestamp now) {
  auto m = StunMessage::parse(bytes);
  if (!m.ok()) {
    ++counters_.malformed;
    return;
  }
  if (m->has_fingerprint() && !m->check_fingerprint().ok()) {
    ++counters_.fingerprint_failures;
    return;
  }
  switch (m->message_class()) {
    case StunClass::kSuccess:
    case StunClass::kError:
      handle_response(*m, now);
      break;
    case StunClass::kIndication:
      if (m->method() == StunMethod::kData) {
        handle_data_indication(*m);
      } else {
        ++counters_.responses_unmatched;
      }
      break;
    case StunClass::kRequest:
      ++counters_.responses_unmatched;  // a TURN server sends the client no requests
      break;
  }
}

void TurnClient::handle_data_indication(const StunMessage& m) {
  const auto peer = m.xor_peer_address();
  const auto data = m.data();
  if (!peer || !data) {
    ++counters_.malformed;
    return;
  }
  ++counters_.data_indications;
  push_received({*peer, std::vector<uint8_t>(data->begin(), data->end()), false});
}

void TurnClient::handle_response(const StunMessage& m, Timestamp now) {
  auto it = std::find_if(transactions_.begin(), transactions_.end(),
                         [&](const Transaction& t) { return t.id == m.transaction_id(); });
  if (it == transactions_.end() || !m.is(m.message_class(), method_of(it->kind))) {
    ++counters_.responses_unmatched;
    return;
  }
  // RFC 8489 9.2.5: a response to an authenticated request is believed only with a valid
  // MESSAGE-INTEGRITY; the exceptions are the errors that change the credentials themselves.
  const bool success = m.message_class() == StunClass::kSuccess;
  if (it->authenticated) {
    if (m.has_message_integrity()) {
      if (!m.check_integrity(key_).ok()) {
        ++counters_.integrity_failures;
        return;
      }
    } else if (success) {
      ++counters_.integrity_failures;
      return;
    }
  }
  Transaction t = std::move(*it);
  transactions_.erase(it);
  if (success) {
    on_success(t, m, now);
    return;
  }
  const auto error = m.error_code();
  const uint16_t code = error ? error->code : 0;
  // RFC 8489 9.2.3: a 401 to an unauthenticated request is the challenge (to an authenticated one
  // it means bad credentials); a 438 brings a fresh nonce. Both are answered by resending.
  const bool challenge = code == stun_error::kUnauthorized && !t.authenticated && m.realm() && m.nonce();
  const bool stale = code == stun_error::kStaleNonce && m.nonce();
  if ((challenge || stale) && t.auth_retries < kMaxAuthRetries) {
    nonce_ = std::string(*m.nonce());
    if (m.realm()) realm_ = std::string(*m.realm());
    key_ = long_term_key(config_.username, realm_, config_.password);
    ++(challenge ? counters_.auth_challenges : counters_.stale_nonces);
    ++t.auth_retries;
    start(std::move(t), now);
    return;
  }
  on_failure(t, code, code == 0 ? "error response without ERROR-CODE" : "error response");
}

void TurnClient::arm_refresh(Timestamp now) {
  // A minute before expiry (RFC 8656 7.3 leaves the margin to the client), or at half a short
  // lifetime, so that one lost Refresh still has time for its retransmissions.
  refresh_at_ = now + lifetime_ - std::min(TimeDelta::Seconds(60), lifetime_ / 2);
}

void TurnClient::arm_keepalive(Timestamp now) {
  outgoing_at_keepalive_ = outgoing_total_;
  const bool on = config_.transport == TurnTransport::kUdp && config_.keepalive > TimeDelta::Zero();
  keepalive_at_ = on ? now + config_.keepalive : Timestamp::PlusInfinity();
}

void TurnClient::keepalive(Timestamp now) {
  // Sent only after a whole interval of silence toward the server: media or refreshes going out
  // keep the NAT binding by themselves. So the binding is refreshed at least every 2 intervals.
  if (outgoing_total_ == outgoing_at_keepalive_) {
    StunMessageBuilder b(StunClass::kIndication, StunMethod::kBinding, new_transaction_id());
    b.add_fingerprint();
    auto bytes = std::move(b).finish();
    if (bytes.ok()) {  // a 20-byte header and a fingerprint cannot overflow
      push_outgoing(std::move(bytes).value());
      ++counters_.keepalives;
    }
  }
  arm_keepalive(now);
}

void TurnClient::on_success(Transaction& t, const StunMessage& m, Timestamp now) {
  switch (t.kind) {
    case Kind::kAllocate: {
      relayed_ = m.xor_relayed_address();
      mapped_ = m.xor_mapped_address();
      if (!relayed_) {
        on_failure(t, 0, "Allocate success without XOR-RELAYED-ADDRESS");
        return;
      }
      lifetime_ = TimeDelta::Seconds(m.lifetime_seconds().value_or(600));
      arm_refresh(now);
      arm_keepalive(now);
      state_ = TurnState::kAllocated;
      push_event({TurnEvent::Type::kAllocated, *relayed_, 0, 0, "allocated"});
      return;
    }
    case Kind::kRefresh:
      if (t.lifetime == TimeDelta::Zero()) {
        state_ = TurnState::kClosed;
        refresh_at_ = Timestamp::PlusInfinity();
        push_event({TurnEvent::Type::kDeallocated, {}, 0, 0, "deallocated"});
        return;
      }
      lifetime_ = TimeDelta::Seconds(m.lifetime_seconds().value_or(Seconds(t.lifetime)));
      arm_refresh(now);
      push_event({TurnEvent::Type::kRefreshed, {}, 0, 0, "refreshed"});
      return;
    case Kind::kPermission:
      if (Permission* p = find_permission(t.peer)) {
        p->installed = true;
        p->in_flight = false;
        p->refresh_at = now + kPermissionRefresh;
        push_event({TurnEvent::Type::kPermissionCreated, t.peer, 0, 0, "permission created"});
      }
      return;
    case Kind::kChannelBind:
      if (Channel* c = find_channel(t.channel)) {
        c->bound = true;
        c->in_flight = false;
        c->refresh_at = now + kChannelRefresh;
        push_event({TurnEvent::Type::kChannelBound, c->peer, c->number, 0, "channel bound"});
      }
      return;
  }
}

void TurnClient::on_failure(Transaction& t, uint16_t code, const char* reason) {
  switch (t.kind) {
    case Kind::kAllocate:
      state_ = TurnState::kFailed;
      push_event({TurnEvent::Type::kAllocationFailed, {}, 0, code, reason});
      return;
    case Kind::kRefresh:
      refresh_at_ = Timestamp::PlusInfinity();
      if (t.lifetime == TimeDelta::Zero()) {
        // Whatever the answer (437: already gone), the allocation is over for us.
        state_ = TurnState::kClosed;
        push_event({TurnEvent::Type::kDeallocated, {}, 0, code, reason});
      } else {
        state_ = TurnState::kFailed;
        push_event({TurnEvent::Type::kAllocationLost, {}, 0, code, reason});
      }
      return;
    case Kind::kPermission:
      std::erase_if(permissions_, [&](const Permission& p) { return SameIp(p.peer, t.peer); });
      push_event({TurnEvent::Type::kPermissionFailed, t.peer, 0, code, reason});
      return;
    case Kind::kChannelBind:
      std::erase_if(channels_, [&](const Channel& c) { return c.number == t.channel; });
      push_event({TurnEvent::Type::kChannelBindFailed, t.peer, t.channel, code, reason});
      return;
  }
}

// --- time --------------------------------------------------------------------------------------

std::optional<Timestamp> TurnClient::next_wakeup() const {
  Timestamp next = Timestamp::PlusInfinity();
  for (const auto& t : transactions_) next = std::min(next, t.deadline);
  if (state_ == TurnState::kAllocated) {
    next = std::min(next, refresh_at_);
    next = std::min(next, keepalive_at_);
    for (const auto& p : permissions_) {
      if (!p.in_flight) next = std::min(next, p.refresh_at);
    }
    for (const auto& c : channels_) {
      if (!c.in_flight) next = std::min(next, c.refresh_at);
    }
  }
  if (next.is_plus_infinity()) return std::nullopt;
  return next;
}

void TurnClient::process(Timestamp now) {
  // Retransmissions and timeouts. A timeout may start nothing new, but collect first: on_failure
  // edits the tables, and start() appends to transactions_.
  std::vector<Transaction> expired;
  for (auto it = transactions_.begin(); it != transactions_.end();) {
    if (it->deadline > now) {
      ++it;
    } else if (it->sends < config_.max_sends) {
      ++counters_.retransmissions;
      transmit(*it, now);
      ++it;
    } else {
      expired.push_back(std::move(*it));
      it = transactions_.erase(it);
    }
  }
  for (auto& t : expired) {
    ++counters_.timeouts;
    on_failure(t, 0, "timeout");
  }
  if (state_ != TurnState::kAllocated) return;
  if (refresh_at_ <= now) send_refresh(config_.requested_lifetime, now);
  if (keepalive_at_ <= now) keepalive(now);
  for (auto& p : permissions_) {
    if (!p.in_flight && p.refresh_at <= now) send_permission(p, now);
  }
  for (auto& c : channels_) {
    if (!c.in_flight && c.refresh_at <= now) send_channel_bind(c, now);
  }
}

// --- outputs -----------------------------------------------------------------------------------

void TurnClient::push_outgoing(std::vector<uint8_t> bytes) {
  ++outgoing_total_;
  PushBounded(outgoing_, std::move(bytes), counters_.queue_drops);
}
void TurnClient::push_event(TurnEvent e) { PushBounded(events_, e, counters_.queue_drops); }
void TurnClient::push_received(TurnReceived r) { PushBounded(received_, std::move(r), counters_.queue_drops); }

std::optional<std::vector<uint8_t>> TurnClient::pop_outgoing() { return PopFront(outgoing_); }
std::optional<TurnReceived> TurnClient::pop_received() { return PopFront(received_); }
std::optional<TurnEvent> TurnClient::pop_event() { return PopFront(events_); }

std::optional<uint16_t> TurnClient::channel_for(const TransportAddress& peer) const {
  for (const auto& c : channels_) {
    if (c.peer == peer && c.bound) return c.number;
  }
  return std::nullopt;
}

bool TurnClient::permission_installed(const TransportAddress& peer) const {
  for (const auto& p : permissions_) {
    if (SameIp(p.peer, peer) && p.installed) return true;
  }
  for (const auto& c : channels_) {
    if (SameIp(c.peer, peer) && c.bound) return true;
  }
  return false;
}

}  // namespace tern::ice
