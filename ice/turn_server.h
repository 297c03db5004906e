// TurnServer: the server side of TURN (RFC 8656) for UDP allocations, sans-I/O.
//
// The driver owns the sockets. Client datagrams arrive on a listening socket (`listener`, an
// opaque id the driver chooses) and are fed to on_client_datagram(); datagrams a peer sends to a
// relayed address are fed to on_peer_datagram() with the relay socket's id. Relay sockets are
// opened and closed by the driver on the core's request, through the small RelayPorts interface
// given to the constructor (a real driver binds a UDP port, netsim binds a simulated one). Every
// output is a TurnServerDatagram (from which socket, to which address) taken with pop_outgoing().
// Time comes in as `now`; next_wakeup()/process(now) expire allocations, permissions and channels.
//
// What it does (section numbers of RFC 8656 unless said otherwise):
//  - Binding requests are answered with XOR-MAPPED-ADDRESS without authentication (RFC 8489), so
//    one server is also the STUN server.
//  - Long-term credentials (RFC 8489 9.2.4) on Allocate, Refresh, CreatePermission, ChannelBind:
//    no MESSAGE-INTEGRITY -> 401 with REALM and NONCE; USERNAME, REALM or NONCE missing -> 400;
//    a nonce that this server did not issue or that has expired -> 438 with a fresh NONCE; an
//    unknown user, another realm or a bad MESSAGE-INTEGRITY -> 401. Nonces are stateless: the
//    expiry time and an HMAC of it and the client's address under a server secret. Success and
//    error responses to authenticated requests carry MESSAGE-INTEGRITY; every response carries a
//    FINGERPRINT. Nothing is allocated before a request authenticates.
//  - Unknown comprehension-required attributes in an authenticated request -> 420 with
//    UNKNOWN-ATTRIBUTES. DONT-FRAGMENT is accepted and ignored (relayed datagrams go without DF):
//    7.2 would answer 420, but clients that send it do not all retry without it, and a relay that
//    works beats a strict one here. An unknown request method -> 400.
//  - Allocate (7.2): REQUESTED-TRANSPORT missing -> 400, not UDP -> 442; REQUESTED-ADDRESS-FAMILY
//    malformed -> 400, other than `relay_family` -> 440; a second Allocate on a
//    5-tuple that has an allocation -> 437, unless it is a retransmission of the request that
//    created it (same transaction id), which gets the same success response again (each
//    allocation keeps that one response: the transaction cache is one entry per allocation, so
//    it is bounded by the allocation table). A request from another user on the 5-tuple -> 441.
//    Quotas: `max_allocations_per_user` and `max_allocations` -> 486; no relay port from the
//    driver -> 508.
//  - EVEN-PORT and RESERVATION-TOKEN (7.2): an even relay port from the driver; with the R bit the
//    port above it is reserved for kReservationLifetime and its token returned; an Allocate with
//    the token takes that port (both attributes or a malformed one -> 400; an unknown or expired
//    token, or no even port from the driver -> 508, each with its own reason phrase, as 7.2
//    says). At most `max_allocations` reservations; beyond, 508.
//  - Refresh (7.3): LIFETIME clamped to [default_lifetime, max_lifetime] (a shorter request gets
//    the default, as 7.2 says), 0 deletes the allocation; no allocation -> 437.
//  - CreatePermission (9): every XOR-PEER-ADDRESS installs or refreshes a 300 s permission for
//    that IP; none -> 400; a family other than the relayed address's -> 443; a peer the
//    `peer_allowed` policy refuses -> 403.
//  - ChannelBind (11): channel outside 0x4000-`max_channel` (0x4FFF unless widened), the channel
//    bound to another peer, or the
//    peer bound to another channel -> 400; family -> 443; policy -> 403. Lasts 600 s and also
//    installs/refreshes the peer's permission.
//  - Send indications and ChannelData go from the client to the peer from the relay socket when
//    a permission (ChannelData: a live channel) exists; datagrams from peers go to the client as
//    ChannelData when the peer has a live channel, as a Data indication otherwise, only while the
//    peer's IP has a permission. Everything dropped is counted by reason.
//
// Bounds and policies: at most `max_allocations` allocations (486 beyond, the global limit), at
// most `max_permissions` permissions and `max_channels` channels per allocation: a new entry when
// full is refused with 508 (never evict: evicting would silently break a live path, and the client
// knows from the error). Expired entries are removed by process(), which frees their slots. The
// outgoing queue holds at most `max_queued` datagrams; when full the oldest is dropped and counted
// (UDP loss; a driver that drains after every input never reaches it).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/ice/stun_message.h"
#include "tern/ice/transport_address.h"

namespace tern::ice {

using RelayId = uint32_t;

// The driver's side of relay sockets: open one UDP port per allocation, close it when the
// allocation ends. open() returns the relayed transport address the client will be told, or
// nullopt when no port is free (the Allocate is answered 508).
class RelayPorts {
 public:
  virtual ~RelayPorts() = default;
  struct Opened {
    RelayId id;
    TransportAddress address;
  };
  virtual std::optional<Opened> open(const TransportAddress& client, Timestamp now) = 0;
  // EVEN-PORT (RFC 8656 7.2, 18.6): an even port; with `reserve_next` also the port above it,
  // returned second and held for a later Allocate with the RESERVATION-TOKEN. A driver that
  // cannot returns nullopt (the default), and the Allocate is answered 508.
  struct Pair {
    Opened even;
    std::optional<Opened> next;
  };
  virtual std::optional<Pair> open_even(const TransportAddress& client, bool reserve_next, Timestamp now) {
    (void)client, (void)reserve_next, (void)now;  // no even ports by default
    return std::nullopt;
  }
  virtual void close(RelayId id) = 0;
};

struct TurnUser {
  std::string username;
  std::string password;
};

struct TurnServerConfig {
  std::string realm = "tern";
  std::vector<TurnUser> users;  // long-term credentials, keyed MD5(user:realm:password)
  std::string software = "tern-turn";
  // The family of the relayed addresses the driver hands out; an Allocate whose
  // REQUESTED-ADDRESS-FAMILY (RFC 8656 18.9) asks for the other one gets 440.
  TransportAddress::Family relay_family = TransportAddress::Family::kIPv4;
  TimeDelta default_lifetime = TimeDelta::Seconds(600);
  TimeDelta max_lifetime = TimeDelta::Seconds(3600);
  TimeDelta nonce_lifetime = TimeDelta::Seconds(3600);
  size_t max_allocations = 1024;
  size_t max_allocations_per_user = 16;
  size_t max_permissions = 32;  // per allocation
  size_t max_channels = 32;     // per allocation, at most 4096
  // Highest channel number accepted: RFC 8656 12 allows 0x4000-0x4FFF; RFC 5766 allowed up to
  // 0x7FFF, and some clients still pick from there (coturn's turnutils_uclient draws up to
  // 0x7FFF). 0x4FFF or 0x7FFF; tern-turn sets 0x7FFF for compatibility.
  uint16_t max_channel = 0x4FFF;
  size_t max_queued = 4096;
  // Listener ids that carry TCP (or TLS) byte streams, one client connection per 5-tuple: the
  // driver frames each connection with StunStreamFramer and feeds whole messages. ChannelData
  // sent to them is padded to a multiple of 4 (RFC 8656 12.5), and the driver reports a closed
  // connection with on_client_closed(), which deletes its allocation (RFC 8656 3.1: the
  // allocation lives as long as the connection).
  std::vector<uint32_t> stream_listeners;
  // Peers the server relays to; refused ones get 403. Empty: every peer.
  std::function<bool(const TransportAddress&)> peer_allowed;
  // The nonce HMAC secret; 0 draws it from OpenSSL's CSPRNG, any other value is a fixed secret
  // (tests, reproducible simulations).
  uint64_t nonce_secret = 0;
};

// One datagram to send: from the listening socket `listener` (to a client) or from the relay
// socket `relay` (to a peer).
struct TurnServerDatagram {
  enum class From : uint8_t { kListener, kRelay };
  From from = From::kListener;
  uint32_t socket = 0;  // listener id or RelayId
  TransportAddress to;
  std::vector<uint8_t> data;
  // True for relayed application data (to a peer, or ChannelData / Data indication to a client),
  // false for responses: a driver that impairs only relayed traffic tells them apart by this.
  bool relayed = false;
};

struct TurnServerCounters {
  // Requests answered, by outcome.
  uint64_t bindings = 0;
  uint64_t allocations_created = 0;
  uint64_t allocate_retransmits = 0;  // same transaction id, same success again
  uint64_t refreshes = 0;
  uint64_t deallocations = 0;         // Refresh with LIFETIME 0
  uint64_t permissions_created = 0;   // new or refreshed, per XOR-PEER-ADDRESS
  uint64_t channels_bound = 0;        // new or refreshed
  uint64_t allocations_expired = 0;
  uint64_t reservations_made = 0;     // EVEN-PORT with the R bit
  uint64_t reservations_used = 0;     // Allocate with RESERVATION-TOKEN
  uint64_t reservations_expired = 0;
  uint64_t permissions_expired = 0;
  uint64_t channels_expired = 0;
  // Rejections (each one error response sent).
  uint64_t rejected_unauthenticated = 0;  // 401 without MESSAGE-INTEGRITY (the challenge)
  uint64_t rejected_bad_credentials = 0;  // 401: unknown user, other realm, integrity mismatch
  uint64_t rejected_stale_nonce = 0;      // 438
  uint64_t rejected_bad_request = 0;      // 400
  uint64_t rejected_unknown_attribute = 0;  // 420
  uint64_t rejected_mismatch = 0;         // 437
  uint64_t rejected_wrong_credentials = 0;  // 441
  uint64_t rejected_transport = 0;        // 442
  uint64_t rejected_family = 0;           // 443, and 440 for REQUESTED-ADDRESS-FAMILY
  uint64_t rejected_forbidden = 0;        // 403
  uint64_t rejected_user_quota = 0;       // 486, per-user quota
  uint64_t rejected_global_quota = 0;     // 486, max_allocations
  uint64_t rejected_capacity = 0;         // 508: no relay port, permission or channel table full
  // Drops (nothing sent back).
  uint64_t malformed = 0;                 // neither STUN nor ChannelData
  uint64_t fingerprint_failures = 0;
  uint64_t ignored_messages = 0;          // responses, unknown indications, non-Send indications
  uint64_t send_no_allocation = 0;        // Send indication / ChannelData without an allocation
  uint64_t send_bad_indication = 0;       // Send without XOR-PEER-ADDRESS or DATA
  uint64_t send_no_permission = 0;
  uint64_t channel_data_unbound = 0;      // ChannelData on a channel not (or no longer) bound
  uint64_t peer_no_allocation = 0;        // to a relay socket we do not know
  uint64_t peer_no_permission = 0;
  uint64_t queue_drops = 0;
  uint64_t closed_with_connection = 0;    // allocations deleted because their TCP connection closed
  // Relayed traffic.
  uint64_t relayed_to_peer = 0;
  uint64_t relayed_to_client = 0;
  uint64_t relayed_bytes_to_peer = 0;
  uint64_t relayed_bytes_to_client = 0;
};

class TurnServer {
 public:
  static constexpr TimeDelta kPermissionLifetime = TimeDelta::Seconds(300);
  static constexpr TimeDelta kChannelLifetime = TimeDelta::Seconds(600);
  static constexpr TimeDelta kReservationLifetime = TimeDelta::Seconds(30);

  // Fails on an empty realm, no users, an empty username, default_lifetime <= 0 or above
  // max_lifetime, max_channels > 4096, a zero table size. `relays` is not owned and must outlive
  // the server.
  static Result<TurnServer> Create(TurnServerConfig config, RelayPorts* relays);

  // A datagram from `client` on the listening socket `listener` (the listener id and the client's
  // address name the 5-tuple).
  void on_client_datagram(uint32_t listener, const TransportAddress& client, std::span<const uint8_t> data,
                          Timestamp now);
  // The client's TCP/TLS connection on a stream listener closed: its allocation (if any) is
  // deleted and its relay port closed.
  void on_client_closed(uint32_t listener, const TransportAddress& client);
  // A datagram from `peer` to relay socket `relay`.
  void on_peer_datagram(RelayId relay, const TransportAddress& peer, std::span<const uint8_t> data, Timestamp now);

  // Earliest expiry of an allocation, permission or channel (may be early: process() then finds
  // nothing due and recomputes).
  std::optional<Timestamp> next_wakeup() const;
  void process(Timestamp now);

  // Outputs, oldest first.
  std::optional<TurnServerDatagram> pop_outgoing();
  bool has_outgoing() const { return !outgoing_.empty(); }

  size_t allocation_count() const { return allocations_.size(); }
  size_t allocation_count(std::string_view username) const;
  // Introspection for tests and tools: the allocation on a 5-tuple.
  struct AllocationInfo {
    RelayId relay;
    TransportAddress relayed;
    Timestamp expires;
    size_t permissions;
    size_t channels;
  };
  std::optional<AllocationInfo> allocation(uint32_t listener, const TransportAddress& client) const;
  const TurnServerCounters& counters() const { return counters_; }
  const TurnServerConfig& config() const { return config_; }

  // Approximate bytes one allocation holds (its struct plus its tables' and cached response's
  // heap capacity), for sizing and the memory figure.
  static size_t allocation_struct_size();
  size_t allocation_heap_bytes(uint32_t listener, const TransportAddress& client) const;

 private:
  struct Permission {
    TransportAddress ip;  // port ignored
    Timestamp expires;
  };
  struct Channel {
    uint16_t number;
    TransportAddress peer;
    Timestamp expires;
  };
  struct Allocation {
    uint32_t listener;
    TransportAddress client;
    RelayId relay;
    TransportAddress relayed;
    size_t user;  // index into users_
    Timestamp expires;
    TransactionId allocate_id;                // the request that created it
    std::vector<uint8_t> allocate_response;   // its success, for retransmissions
    std::vector<Permission> permissions;
    std::vector<Channel> channels;
  };
  struct Reservation {
    std::array<uint8_t, 8> token;
    RelayPorts::Opened port;
    Timestamp expires;
  };
  struct User {
    std::string name;
    StunKey key;
    size_t allocations = 0;
  };
  // 5-tuple key: listener id and the client's transport address, as bytes.
  struct Tuple {
    uint32_t listener;
    TransportAddress client;
    friend bool operator==(const Tuple&, const Tuple&) = default;
  };
  struct TupleHash {
    size_t operator()(const Tuple& t) const;
  };
  // What an authenticated request resolved to.
  struct Auth {
    size_t user;
    const StunKey* key;
  };

  TurnServer(TurnServerConfig config, RelayPorts* relays);

  void handle_request(uint32_t listener, const TransportAddress& client, const StunMessage& m, Timestamp now);
  void handle_send_indication(uint32_t listener, const TransportAddress& client, const StunMessage& m, Timestamp now);
  void handle_channel_data(uint32_t listener, const TransportAddress& client, std::span<const uint8_t> data,
                           Timestamp now);
  std::optional<Auth> authenticate(uint32_t listener, const TransportAddress& client, const StunMessage& m,
                                   Timestamp now);
  void handle_allocate(const Tuple& t, const StunMessage& m, const Auth& a, Timestamp now);
  void handle_refresh(Allocation& alloc, const Tuple& t, const StunMessage& m, const Auth& a, Timestamp now);
  void handle_create_permission(Allocation& alloc, const StunMessage& m, const Auth& a, Timestamp now);
  void handle_channel_bind(Allocation& alloc, const StunMessage& m, const Auth& a, Timestamp now);

  // Nonce: 16 hex digits of the expiry (microseconds) and 16 of HMAC(secret, expiry, client).
  std::string make_nonce(const TransportAddress& client, Timestamp now) const;
  bool nonce_valid(std::string_view nonce, const TransportAddress& client, Timestamp now) const;

  // Responses. `key` null: unauthenticated (no MESSAGE-INTEGRITY).
  void send_error(uint32_t listener, const TransportAddress& client, const StunMessage& m, uint16_t code,
                  std::string_view reason, const StunKey* key, uint64_t& counter);
  void send_challenge(uint32_t listener, const TransportAddress& client, const StunMessage& m, uint16_t code,
                      Timestamp now, uint64_t& counter);
  // Seals `b` (MESSAGE-INTEGRITY when `key`, FINGERPRINT) and queues it to the client.
  std::vector<uint8_t> seal(StunMessageBuilder& b, const StunKey* key);
  void push(TurnServerDatagram d);
  // Queues a response (not relayed data) to the client.
  void reply(uint32_t listener, const TransportAddress& client, std::vector<uint8_t> bytes);

  bool peer_ok(const TransportAddress& peer) const;
  bool family_ok(const Allocation& alloc, const TransportAddress& peer) const;
  static Permission* find_permission(Allocation& alloc, const TransportAddress& peer, Timestamp now);
  static bool install_permission(Allocation& alloc, const TransportAddress& peer, Timestamp now, size_t max);
  void erase_allocation(std::unordered_map<Tuple, Allocation, TupleHash>::iterator it);
  void note_deadline(Timestamp t);

  TurnServerConfig config_;
  RelayPorts* relays_;
  std::array<uint8_t, 16> secret_{};
  std::vector<User> users_;
  std::unordered_map<Tuple, Allocation, TupleHash> allocations_;
  std::unordered_map<RelayId, Tuple> by_relay_;
  std::vector<Reservation> reservations_;  // few: at most max_allocations
  uint64_t tokens_issued_ = 0;
  std::deque<TurnServerDatagram> outgoing_;
  Timestamp next_wakeup_ = Timestamp::PlusInfinity();
  TurnServerCounters counters_;
};

}  // namespace tern::ice
