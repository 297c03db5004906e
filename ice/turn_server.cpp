// TurnServer (RFC 8656, UDP allocations): see turn_server.h for the behaviour and bounds.
#include "tern/ice/turn_server.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

#include "tern/ice/candidate.h"
#include "tern/ice/channel_data.h"
#include "tern/ice/stun_crypto.h"

namespace tern::ice {
namespace {

constexpr uint8_t kUdp = 17;

void put_hex(std::string& out, const uint8_t* bytes, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
}

std::optional<uint64_t> parse_hex64(std::string_view s) {
  if (s.size() != 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

std::array<uint8_t, 8> be64(uint64_t v) {
  std::array<uint8_t, 8> b{};
  for (int i = 7; i >= 0; --i, v >>= 8) b[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
  return b;
}

}  // namespace

size_t TurnServer::TupleHash::operator()(const Tuple& t) const {
  uint64_t h = 1469598103934665603ull ^ t.listener;
  auto mix = [&h](uint8_t b) { h = (h ^ b) * 1099511628211ull; };
  for (size_t i = 0; i < t.client.ip_size(); ++i) mix(t.client.ip[i]);
  mix(static_cast<uint8_t>(t.client.port >> 8));
  mix(static_cast<uint8_t>(t.client.port));
  return static_cast<size_t>(h);
}

Result<TurnServer> TurnServer::Create(TurnServerConfig config, RelayPorts* relays) {
  if (relays == nullptr) return Error{"no relay port provider"};
  if (config.realm.empty()) return Error{"empty realm"};
  if (config.users.empty()) return Error{"no users"};
  for (const TurnUser& u : config.users)
    if (u.username.empty()) return Error{"empty username"};
  if (config.default_lifetime <= TimeDelta::Zero() || config.default_lifetime > config.max_lifetime)
    return Error{"default_lifetime must be in (0, max_lifetime]"};
  if (config.nonce_lifetime <= TimeDelta::Zero()) return Error{"nonce_lifetime must be positive"};
  if (config.max_channels > 4096) return Error{"max_channels above 4096"};
  if (config.max_channel != 0x4FFF && config.max_channel != 0x7FFF) return Error{"max_channel must be 0x4FFF or 0x7FFF"};
  if (config.max_allocations == 0 || config.max_allocations_per_user == 0 || config.max_permissions == 0 ||
      config.max_channels == 0 || config.max_queued == 0)
    return Error{"table sizes must be positive"};
  return TurnServer(std::move(config), relays);
}

TurnServer::TurnServer(TurnServerConfig config, RelayPorts* relays) : config_(std::move(config)), relays_(relays) {
  if (config_.nonce_secret != 0 || RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1) {
    // A fixed secret (tests) or, if the CSPRNG fails, one derived from the configured value.
    const auto b = be64(config_.nonce_secret);
    std::memcpy(secret_.data(), b.data(), b.size());
  }
  for (const TurnUser& u : config_.users)
    users_.push_back(User{u.username, long_term_key(u.username, config_.realm, u.password), 0});
}

// --- nonces ----------------------------------------------------------------------------------

std::string TurnServer::make_nonce(const TransportAddress& client, Timestamp now) const {
  const auto expiry = be64(static_cast<uint64_t>((now + config_.nonce_lifetime).us()));
  const uint8_t port[2] = {static_cast<uint8_t>(client.port >> 8), static_cast<uint8_t>(client.port)};
  const auto mac = hmac_sha1(secret_, {expiry, {client.ip.data(), client.ip_size()}, port});
  std::string nonce;
  nonce.reserve(32);
  put_hex(nonce, expiry.data(), expiry.size());
  put_hex(nonce, mac.data(), 8);
  return nonce;
}

bool TurnServer::nonce_valid(std::string_view nonce, const TransportAddress& client, Timestamp now) const {
  if (nonce.size() != 32) return false;
  const auto expiry_us = parse_hex64(nonce.substr(0, 16));
  if (!expiry_us || static_cast<int64_t>(*expiry_us) <= now.us()) return false;
  const auto expiry = be64(*expiry_us);
  const uint8_t port[2] = {static_cast<uint8_t>(client.port >> 8), static_cast<uint8_t>(client.port)};
  const auto mac = hmac_sha1(secret_, {expiry, {client.ip.data(), client.ip_size()}, port});
  std::string expect;
  put_hex(expect, mac.data(), 8);
  return nonce.substr(16) == expect;
}

// --- input -----------------------------------------------------------------------------------

void TurnServer::on_client_datagram(uint32_t listener, const TransportAddress& client, std::span<const uint8_t> data,
                                    Timestamp now) {
  if (!data.empty() && ChannelData::looks_like_channel_data(data[0])) {
    handle_channel_data(listener, client, data, now);
    return;
  }
  auto parsed = StunMessage::parse(data);
  if (!parsed) {
    ++counters_.malformed;
    return;
  }
  const StunMessage& m = *parsed;
  if (m.has_fingerprint() && !m.check_fingerprint().ok()) {
    ++counters_.fingerprint_failures;
    return;
  }
  switch (m.message_class()) {
    case StunClass::kRequest:
      handle_request(listener, client, m, now);
      return;
    case StunClass::kIndication:
      if (m.method() == StunMethod::kSend) {
        handle_send_indication(listener, client, m, now);
        return;
      }
      break;
    default:
      break;
  }
  ++counters_.ignored_messages;
}

void TurnServer::on_client_closed(uint32_t listener, const TransportAddress& client) {
  const auto it = allocations_.find(Tuple{listener, client});
  if (it == allocations_.end()) return;
  ++counters_.closed_with_connection;
  erase_allocation(it);
}

void TurnServer::on_peer_datagram(RelayId relay, const TransportAddress& peer, std::span<const uint8_t> data,
                                  Timestamp now) {
  const auto r = by_relay_.find(relay);
  if (r == by_relay_.end()) {
    ++counters_.peer_no_allocation;
    return;
  }
  Allocation& alloc = allocations_.at(r->second);
  if (alloc.expires <= now) {
    ++counters_.peer_no_allocation;
    return;
  }
  if (find_permission(alloc, peer, now) == nullptr) {
    ++counters_.peer_no_permission;
    return;
  }
  TurnServerDatagram out{TurnServerDatagram::From::kListener, alloc.listener, alloc.client, {}, true};
  const auto ch = std::find_if(alloc.channels.begin(), alloc.channels.end(),
                               [&](const Channel& c) { return c.peer == peer && c.expires > now; });
  // ChannelData (12.6) when the peer's channel is bound, padded on a stream (12.5; optional over
  // UDP, so not done there); write() fails, writing nothing, only for data over 64 KiB, which no
  // indication can carry either.
  const bool pad = std::find(config_.stream_listeners.begin(), config_.stream_listeners.end(), alloc.listener) !=
                   config_.stream_listeners.end();
  const bool as_channel_data =
      ch != alloc.channels.end() && ChannelData::write(ch->number, data, pad, out.data, config_.max_channel).ok();
  if (!as_channel_data) {
    // Data indication (11.6); a new random transaction id is not needed for an indication that
    // is never answered, but RFC 8489 asks for one: derive it cheaply from the counter.
    TransactionId id{};
    const auto c = be64(counters_.relayed_to_client);
    std::memcpy(id.bytes.data() + 4, c.data(), 8);
    StunMessageBuilder b(StunClass::kIndication, StunMethod::kData, id);
    b.add_xor_peer_address(peer).add_data(data);
    auto bytes = std::move(b).finish();
    if (!bytes) {  // over 64 KiB: cannot be framed
      ++counters_.ignored_messages;
      return;
    }
    out.data = std::move(*bytes);
  }
  ++counters_.relayed_to_client;
  counters_.relayed_bytes_to_client += data.size();
  push(std::move(out));
}

void TurnServer::handle_channel_data(uint32_t listener, const TransportAddress& client, std::span<const uint8_t> data,
                                     Timestamp now) {
  // RFC 8656 12.4-12.5: a reserved number (above max_channel) or bad framing is dropped.
  const auto cd = ChannelData::parse(data, config_.max_channel);
  if (!cd) {
    ++counters_.malformed;
    return;
  }
  const auto it = allocations_.find(Tuple{listener, client});
  if (it == allocations_.end()) {
    ++counters_.send_no_allocation;
    return;
  }
  Allocation& alloc = it->second;
  // Expired entries linger until process(); compare with their expiry rather than trusting them.
  const auto ch = std::find_if(alloc.channels.begin(), alloc.channels.end(),
                               [&](const Channel& c) { return c.number == cd->channel; });
  if (ch == alloc.channels.end() || ch->expires <= now || alloc.expires <= now) {
    ++counters_.channel_data_unbound;
    return;
  }
  ++counters_.relayed_to_peer;
  counters_.relayed_bytes_to_peer += cd->data.size();
  push(TurnServerDatagram{TurnServerDatagram::From::kRelay, alloc.relay, ch->peer, {cd->data.begin(), cd->data.end()},
                          true});
}

void TurnServer::handle_send_indication(uint32_t listener, const TransportAddress& client, const StunMessage& m,
                                        Timestamp now) {
  const auto it = allocations_.find(Tuple{listener, client});
  if (it == allocations_.end() || it->second.expires <= now) {
    ++counters_.send_no_allocation;
    return;
  }
  Allocation& alloc = it->second;
  const auto peer = m.xor_peer_address();
  const auto data = m.data();
  if (!peer || !data) {
    ++counters_.send_bad_indication;
    return;
  }
  if (find_permission(alloc, *peer, now) == nullptr) {
    ++counters_.send_no_permission;
    return;
  }
  ++counters_.relayed_to_peer;
  counters_.relayed_bytes_to_peer += data->size();
  push(TurnServerDatagram{TurnServerDatagram::From::kRelay, alloc.relay, *peer, {data->begin(), data->end()}, true});
}

// --- requests --------------------------------------------------------------------------------

void TurnServer::handle_request(uint32_t listener, const TransportAddress& client, const StunMessage& m,
                                Timestamp now) {
  if (m.method() == StunMethod::kBinding) {
    StunMessageBuilder b(StunClass::kSuccess, StunMethod::kBinding, m.transaction_id());
    b.add_xor_mapped_address(client);
    if (!config_.software.empty()) b.add_software(config_.software);
    ++counters_.bindings;
    reply(listener, client, seal(b, nullptr));
    return;
  }
  const StunMethod method = m.method();
  if (method != StunMethod::kAllocate && method != StunMethod::kRefresh && method != StunMethod::kCreatePermission &&
      method != StunMethod::kChannelBind) {
    send_error(listener, client, m, stun_error::kBadRequest, "Unknown method", nullptr, counters_.rejected_bad_request);
    return;
  }
  const auto auth = authenticate(listener, client, m, now);
  if (!auth) return;  // answered
  const auto unknown = m.unknown_required();
  if (!unknown.empty()) {
    StunMessageBuilder b(StunClass::kError, method, m.transaction_id());
    b.add_error_code(stun_error::kUnknownAttribute, "Unknown Attribute");
    b.add_unknown_attributes(unknown);
    ++counters_.rejected_unknown_attribute;
    reply(listener, client, seal(b, auth->key));
    return;
  }
  const Tuple t{listener, client};
  if (method == StunMethod::kAllocate) {
    handle_allocate(t, m, *auth, now);
    return;
  }
  const auto it = allocations_.find(t);
  if (it == allocations_.end() || it->second.expires <= now) {
    send_error(listener, client, m, stun_error::kAllocationMismatch, "Allocation Mismatch", auth->key,
               counters_.rejected_mismatch);
    return;
  }
  if (it->second.user != auth->user) {  // 5: the same credentials for the allocation's lifetime
    send_error(listener, client, m, stun_error::kWrongCredentials, "Wrong Credentials", auth->key,
               counters_.rejected_wrong_credentials);
    return;
  }
  switch (method) {
    case StunMethod::kRefresh: handle_refresh(it->second, t, m, *auth, now); break;
    case StunMethod::kCreatePermission: handle_create_permission(it->second, m, *auth, now); break;
    default: handle_channel_bind(it->second, m, *auth, now); break;
  }
}

std::optional<TurnServer::Auth> TurnServer::authenticate(uint32_t listener, const TransportAddress& client,
                                                         const StunMessage& m, Timestamp now) {
  if (!m.has_message_integrity()) {
    send_challenge(listener, client, m, stun_error::kUnauthorized, now, counters_.rejected_unauthenticated);
    return std::nullopt;
  }
  const auto username = m.username();
  const auto realm = m.realm();
  const auto nonce = m.nonce();
  if (!username || !realm || !nonce) {
    send_error(listener, client, m, stun_error::kBadRequest, "Bad Request", nullptr, counters_.rejected_bad_request);
    return std::nullopt;
  }
  if (!nonce_valid(*nonce, client, now)) {
    send_challenge(listener, client, m, stun_error::kStaleNonce, now, counters_.rejected_stale_nonce);
    return std::nullopt;
  }
  const auto user = std::find_if(users_.begin(), users_.end(), [&](const User& u) { return u.name == *username; });
  if (user == users_.end() || *realm != config_.realm || !m.check_integrity(user->key).ok()) {
    send_challenge(listener, client, m, stun_error::kUnauthorized, now, counters_.rejected_bad_credentials);
    return std::nullopt;
  }
  return Auth{static_cast<size_t>(user - users_.begin()), &user->key};
}

void TurnServer::handle_allocate(const Tuple& t, const StunMessage& m, const Auth& a, Timestamp now) {
  const auto existing = allocations_.find(t);
  if (existing != allocations_.end() && existing->second.expires > now) {
    Allocation& alloc = existing->second;
    if (alloc.allocate_id == m.transaction_id() && alloc.user == a.user) {
      ++counters_.allocate_retransmits;
      reply(t.listener, t.client, alloc.allocate_response);
      return;
    }
    send_error(t.listener, t.client, m, stun_error::kAllocationMismatch, "Allocation Mismatch", a.key,
               counters_.rejected_mismatch);
    return;
  }
  if (existing != allocations_.end()) erase_allocation(existing);  // expired, not yet swept
  const auto transport = m.requested_transport();
  if (!transport) {
    send_error(t.listener, t.client, m, stun_error::kBadRequest, "Missing REQUESTED-TRANSPORT", a.key,
               counters_.rejected_bad_request);
    return;
  }
  if (*transport != kUdp) {
    send_error(t.listener, t.client, m, stun_error::kUnsupportedTransportProtocol, "Unsupported Transport Protocol",
               a.key, counters_.rejected_transport);
    return;
  }
  if (m.has(stun_attr::kRequestedAddressFamily)) {
    const auto want = m.requested_address_family();
    if (!want) {
      send_error(t.listener, t.client, m, stun_error::kBadRequest, "Malformed REQUESTED-ADDRESS-FAMILY", a.key,
                 counters_.rejected_bad_request);
      return;
    }
    if (*want != static_cast<uint8_t>(config_.relay_family)) {
      send_error(t.listener, t.client, m, stun_error::kAddressFamilyNotSupported, "Address Family not Supported", a.key,
                 counters_.rejected_family);
      return;
    }
  }
  User& user = users_[a.user];
  if (user.allocations >= config_.max_allocations_per_user) {
    send_error(t.listener, t.client, m, stun_error::kAllocationQuotaReached, "Allocation Quota Reached", a.key,
               counters_.rejected_user_quota);
    return;
  }
  if (allocations_.size() >= config_.max_allocations) {
    send_error(t.listener, t.client, m, stun_error::kAllocationQuotaReached, "Allocation Quota Reached", a.key,
               counters_.rejected_global_quota);
    return;
  }
  const bool has_even = m.has(stun_attr::kEvenPort);
  const bool has_token = m.has(stun_attr::kReservationToken);
  const auto even = m.even_port();
  const auto token = m.reservation_token();
  const char* bad = has_even && has_token ? "EVEN-PORT with RESERVATION-TOKEN"
                    : has_even && !even   ? "Malformed EVEN-PORT"
                    : has_token && !token ? "Malformed RESERVATION-TOKEN"
                                          : nullptr;
  if (bad != nullptr) {  // RFC 8656 7.2: 400
    send_error(t.listener, t.client, m, stun_error::kBadRequest, bad, a.key, counters_.rejected_bad_request);
    return;
  }
  std::optional<RelayPorts::Opened> opened;
  std::optional<RelayPorts::Opened> reserved;
  // 508 in every case (RFC 8656 7.2), with a reason phrase that says which.
  const char* no_port = "Insufficient Capacity";
  if (token) {
    no_port = "Unknown or expired RESERVATION-TOKEN";
    const auto r = std::find_if(reservations_.begin(), reservations_.end(), [&](const Reservation& x) {
      return x.token == *token && x.expires > now;
    });
    if (r != reservations_.end()) {
      opened = r->port;
      reservations_.erase(r);
      ++counters_.reservations_used;
    }
  } else if (even) {
    const bool reserve = *even;
    no_port = reserve ? "No even port pair (EVEN-PORT) available" : "No even port (EVEN-PORT) available";
    if (!reserve || reservations_.size() < config_.max_allocations) {
      if (auto pair = relays_->open_even(t.client, reserve, now)) {
        opened = pair->even;
        reserved = pair->next;
      }
    }
  } else {
    opened = relays_->open(t.client, now);
  }
  if (!opened) {
    send_error(t.listener, t.client, m, stun_error::kInsufficientCapacity, no_port, a.key, counters_.rejected_capacity);
    return;
  }
  TimeDelta lifetime = config_.default_lifetime;
  if (const auto asked = m.lifetime_seconds())
    lifetime = std::clamp(TimeDelta::Seconds(*asked), config_.default_lifetime, config_.max_lifetime);

  Allocation alloc{t.listener, t.client, opened->id, opened->address, a.user, now + lifetime, m.transaction_id(), {}, {},
                   {}};
  StunMessageBuilder b(StunClass::kSuccess, StunMethod::kAllocate, m.transaction_id());
  b.add_xor_relayed_address(opened->address);
  b.add_lifetime(static_cast<uint32_t>(lifetime.us() / 1'000'000));
  b.add_xor_mapped_address(t.client);
  if (reserved) {
    Reservation r{{}, *reserved, now + kReservationLifetime};
    const auto counter = be64(++tokens_issued_);
    const auto mac = hmac_sha1(secret_, {counter});
    std::copy_n(mac.begin(), r.token.size(), r.token.begin());
    b.add_reservation_token(r.token);
    reservations_.push_back(r);
    ++counters_.reservations_made;
    note_deadline(r.expires);
  }
  if (!config_.software.empty()) b.add_software(config_.software);
  alloc.allocate_response = seal(b, a.key);
  reply(t.listener, t.client, alloc.allocate_response);
  ++user.allocations;
  ++counters_.allocations_created;
  note_deadline(alloc.expires);
  by_relay_[opened->id] = t;
  allocations_.insert_or_assign(t, std::move(alloc));
}

void TurnServer::handle_refresh(Allocation& alloc, const Tuple& t, const StunMessage& m, const Auth& a, Timestamp now) {
  TimeDelta lifetime = config_.default_lifetime;
  if (const auto asked = m.lifetime_seconds()) {
    lifetime = *asked == 0 ? TimeDelta::Zero()
                           : std::clamp(TimeDelta::Seconds(*asked), config_.default_lifetime, config_.max_lifetime);
  }
  StunMessageBuilder b(StunClass::kSuccess, StunMethod::kRefresh, m.transaction_id());
  b.add_lifetime(static_cast<uint32_t>(lifetime.us() / 1'000'000));
  if (!config_.software.empty()) b.add_software(config_.software);
  reply(t.listener, t.client, seal(b, a.key));
  if (lifetime == TimeDelta::Zero()) {
    ++counters_.deallocations;
    erase_allocation(allocations_.find(t));
    return;
  }
  ++counters_.refreshes;
  alloc.expires = now + lifetime;
  note_deadline(alloc.expires);
}

void TurnServer::handle_create_permission(Allocation& alloc, const StunMessage& m, const Auth& a, Timestamp now) {
  const std::vector<TransportAddress> peers = m.xor_peer_addresses();
  if (peers.empty()) {
    send_error(alloc.listener, alloc.client, m, stun_error::kBadRequest, "Missing XOR-PEER-ADDRESS", a.key,
               counters_.rejected_bad_request);
    return;
  }
  // Check every peer first: the request installs all or none (9.2).
  for (const TransportAddress& p : peers) {
    if (!family_ok(alloc, p)) {
      send_error(alloc.listener, alloc.client, m, stun_error::kPeerAddressFamilyMismatch,
                 "Peer Address Family Mismatch", a.key, counters_.rejected_family);
      return;
    }
    if (!peer_ok(p)) {
      send_error(alloc.listener, alloc.client, m, stun_error::kForbidden, "Forbidden", a.key,
                 counters_.rejected_forbidden);
      return;
    }
  }
  size_t fresh = 0;
  for (size_t i = 0; i < peers.size(); ++i) {
    const bool known = std::any_of(alloc.permissions.begin(), alloc.permissions.end(),
                                   [&](const Permission& p) { return same_ip(p.ip, peers[i]); });
    const bool repeated = std::any_of(peers.begin(), peers.begin() + static_cast<ptrdiff_t>(i),
                                      [&](const TransportAddress& q) { return same_ip(q, peers[i]); });
    if (!known && !repeated) ++fresh;
  }
  if (alloc.permissions.size() + fresh > config_.max_permissions) {
    send_error(alloc.listener, alloc.client, m, stun_error::kInsufficientCapacity, "Insufficient Capacity", a.key,
               counters_.rejected_capacity);
    return;
  }
  for (const TransportAddress& p : peers) {
    if (install_permission(alloc, p, now, config_.max_permissions)) ++counters_.permissions_created;
  }
  note_deadline(now + kPermissionLifetime);
  StunMessageBuilder b(StunClass::kSuccess, StunMethod::kCreatePermission, m.transaction_id());
  if (!config_.software.empty()) b.add_software(config_.software);
  reply(alloc.listener, alloc.client, seal(b, a.key));
}

void TurnServer::handle_channel_bind(Allocation& alloc, const StunMessage& m, const Auth& a, Timestamp now) {
  const auto number = m.channel_number();
  const auto peer = m.xor_peer_address();
  auto reject = [&](uint16_t code, std::string_view reason, uint64_t& counter) {
    send_error(alloc.listener, alloc.client, m, code, reason, a.key, counter);
  };
  if (!number || !peer || *number < ChannelData::kMinChannel || *number > config_.max_channel) {
    reject(stun_error::kBadRequest, "Bad Request", counters_.rejected_bad_request);
    return;
  }
  if (!family_ok(alloc, *peer)) {
    reject(stun_error::kPeerAddressFamilyMismatch, "Peer Address Family Mismatch", counters_.rejected_family);
    return;
  }
  if (!peer_ok(*peer)) {
    reject(stun_error::kForbidden, "Forbidden", counters_.rejected_forbidden);
    return;
  }
  // 11.2: the channel bound to another peer, or the peer to another channel -> 400. An expired
  // binding not yet swept still counts: RFC 8656 12 keeps a channel from rebinding to another
  // peer for a while after expiry, which this approximates until process() runs.
  Channel* existing = nullptr;
  for (Channel& c : alloc.channels) {
    const bool same_number = c.number == *number;
    const bool same_peer = c.peer == *peer;
    if (same_number != same_peer) {
      reject(stun_error::kBadRequest, "Channel or peer already bound", counters_.rejected_bad_request);
      return;
    }
    if (same_number) existing = &c;
  }
  const bool needs_permission = std::none_of(alloc.permissions.begin(), alloc.permissions.end(),
                                             [&](const Permission& p) { return same_ip(p.ip, *peer); });
  if ((existing == nullptr && alloc.channels.size() >= config_.max_channels) ||
      (needs_permission && alloc.permissions.size() >= config_.max_permissions)) {
    reject(stun_error::kInsufficientCapacity, "Insufficient Capacity", counters_.rejected_capacity);
    return;
  }
  if (existing != nullptr) {
    existing->expires = now + kChannelLifetime;
  } else {
    alloc.channels.push_back(Channel{*number, *peer, now + kChannelLifetime});
  }
  if (!install_permission(alloc, *peer, now, config_.max_permissions)) {
    // Cannot happen: capacity was checked above. Counted, the channel still stands.
    ++counters_.rejected_capacity;
  }
  ++counters_.channels_bound;
  note_deadline(now + kPermissionLifetime);
  StunMessageBuilder b(StunClass::kSuccess, StunMethod::kChannelBind, m.transaction_id());
  if (!config_.software.empty()) b.add_software(config_.software);
  reply(alloc.listener, alloc.client, seal(b, a.key));
}

// --- responses -------------------------------------------------------------------------------

std::vector<uint8_t> TurnServer::seal(StunMessageBuilder& b, const StunKey* key) {
  if (key != nullptr) b.add_message_integrity(*key);
  b.add_fingerprint();
  auto bytes = std::move(b).finish();
  // Responses hold a few short attributes; they cannot reach the 64 KiB limit.
  return bytes ? std::move(*bytes) : std::vector<uint8_t>{};
}

void TurnServer::send_error(uint32_t listener, const TransportAddress& client, const StunMessage& m, uint16_t code,
                            std::string_view reason, const StunKey* key, uint64_t& counter) {
  ++counter;
  StunMessageBuilder b(StunClass::kError, m.method(), m.transaction_id());
  b.add_error_code(code, reason);
  if (!config_.software.empty()) b.add_software(config_.software);
  reply(listener, client, seal(b, key));
}

void TurnServer::send_challenge(uint32_t listener, const TransportAddress& client, const StunMessage& m, uint16_t code,
                                Timestamp now, uint64_t& counter) {
  ++counter;
  StunMessageBuilder b(StunClass::kError, m.method(), m.transaction_id());
  b.add_error_code(code, code == stun_error::kStaleNonce ? "Stale Nonce" : "Unauthorized");
  b.add_realm(config_.realm);
  b.add_nonce(make_nonce(client, now));
  if (!config_.software.empty()) b.add_software(config_.software);
  reply(listener, client, seal(b, nullptr));
}

void TurnServer::reply(uint32_t listener, const TransportAddress& client, std::vector<uint8_t> bytes) {
  push(TurnServerDatagram{TurnServerDatagram::From::kListener, listener, client, std::move(bytes), false});
}

void TurnServer::push(TurnServerDatagram d) {
  if (d.data.empty()) return;
  if (outgoing_.size() >= config_.max_queued) {
    outgoing_.pop_front();
    ++counters_.queue_drops;
  }
  outgoing_.push_back(std::move(d));
}

std::optional<TurnServerDatagram> TurnServer::pop_outgoing() {
  if (outgoing_.empty()) return std::nullopt;
  TurnServerDatagram d = std::move(outgoing_.front());
  outgoing_.pop_front();
  return d;
}

// --- tables ----------------------------------------------------------------------------------

bool TurnServer::peer_ok(const TransportAddress& peer) const {
  return !config_.peer_allowed || config_.peer_allowed(peer);
}

bool TurnServer::family_ok(const Allocation& alloc, const TransportAddress& peer) const {
  return alloc.relayed.family == peer.family;
}

TurnServer::Permission* TurnServer::find_permission(Allocation& alloc, const TransportAddress& peer, Timestamp now) {
  for (Permission& p : alloc.permissions)
    if (same_ip(p.ip, peer) && p.expires > now) return &p;
  return nullptr;
}

bool TurnServer::install_permission(Allocation& alloc, const TransportAddress& peer, Timestamp now, size_t max) {
  for (Permission& p : alloc.permissions) {
    if (same_ip(p.ip, peer)) {
      p.expires = now + kPermissionLifetime;
      return true;
    }
  }
  if (alloc.permissions.size() >= max) return false;
  TransportAddress ip = peer;
  ip.port = 0;
  alloc.permissions.push_back(Permission{ip, now + kPermissionLifetime});
  return true;
}

void TurnServer::erase_allocation(std::unordered_map<Tuple, Allocation, TupleHash>::iterator it) {
  if (it == allocations_.end()) return;
  User& user = users_[it->second.user];
  if (user.allocations > 0) --user.allocations;
  by_relay_.erase(it->second.relay);
  relays_->close(it->second.relay);
  allocations_.erase(it);
}

void TurnServer::note_deadline(Timestamp t) { next_wakeup_ = std::min(next_wakeup_, t); }

std::optional<Timestamp> TurnServer::next_wakeup() const {
  if (next_wakeup_.is_plus_infinity()) return std::nullopt;
  return next_wakeup_;
}

void TurnServer::process(Timestamp now) {
  if (now < next_wakeup_) return;
  Timestamp next = Timestamp::PlusInfinity();
  for (auto it = reservations_.begin(); it != reservations_.end();) {
    if (it->expires <= now) {
      relays_->close(it->port.id);
      ++counters_.reservations_expired;
      it = reservations_.erase(it);
    } else {
      next = std::min(next, it->expires);
      ++it;
    }
  }
  for (auto it = allocations_.begin(); it != allocations_.end();) {
    Allocation& a = it->second;
    if (a.expires <= now) {
      ++counters_.allocations_expired;
      auto dead = it++;
      erase_allocation(dead);
      continue;
    }
    const size_t permissions = a.permissions.size();
    std::erase_if(a.permissions, [&](const Permission& p) { return p.expires <= now; });
    counters_.permissions_expired += permissions - a.permissions.size();
    const size_t channels = a.channels.size();
    std::erase_if(a.channels, [&](const Channel& c) { return c.expires <= now; });
    counters_.channels_expired += channels - a.channels.size();
    next = std::min(next, a.expires);
    for (const Permission& p : a.permissions) next = std::min(next, p.expires);
    for (const Channel& c : a.channels) next = std::min(next, c.expires);
    ++it;
  }
  next_wakeup_ = next;
}

// --- introspection ---------------------------------------------------------------------------

size_t TurnServer::allocation_count(std::string_view username) const {
  for (const User& u : users_)
    if (u.name == username) return u.allocations;
  return 0;
}

std::optional<TurnServer::AllocationInfo> TurnServer::allocation(uint32_t listener, const TransportAddress& client) const {
  const auto it = allocations_.find(Tuple{listener, client});
  if (it == allocations_.end()) return std::nullopt;
  const Allocation& a = it->second;
  return AllocationInfo{a.relay, a.relayed, a.expires, a.permissions.size(), a.channels.size()};
}

size_t TurnServer::allocation_struct_size() {
  // The map node holds the key and the value, plus the relay index entry.
  return sizeof(Tuple) + sizeof(Allocation) + sizeof(RelayId) + sizeof(Tuple);
}

size_t TurnServer::allocation_heap_bytes(uint32_t listener, const TransportAddress& client) const {
  const auto it = allocations_.find(Tuple{listener, client});
  if (it == allocations_.end()) return 0;
  const Allocation& a = it->second;
  return a.allocate_response.capacity() + a.permissions.capacity() * sizeof(Permission) +
         a.channels.capacity() * sizeof(Channel);
}

}  // namespace tern::ice
