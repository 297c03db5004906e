// TurnClient: the client side of a TURN allocation (RFC 8656), sans-I/O.
//
// One object holds one allocation on one server over one transport (UDP, TCP or TLS; for TLS the
// driver puts the bytes through its TLS engine). It speaks only to the server: every output is a
// datagram (UDP) or a chunk of stream bytes (TCP/TLS) for the server, taken with pop_outgoing();
// everything the server sends is fed to on_datagram() / on_stream_bytes(). Time comes in as
// `now`; next_wakeup()/process(now) run retransmissions and refreshes.
//
// What it does:
//  - Allocate with long-term credentials (RFC 8656 7.1, RFC 8489 9.2): the first request goes
//    unauthenticated, a 401 gives REALM and NONCE, the request is resent with USERNAME, REALM,
//    NONCE and MESSAGE-INTEGRITY keyed MD5(username:realm:password). A 438 (stale nonce) on any
//    request takes the new NONCE and resends it. At most kMaxAuthRetries such resends per request.
//  - Refresh before expiry: at lifetime - min(60 s, lifetime / 2); deallocate() sends Refresh with
//    LIFETIME 0 (RFC 8656 7.2).
//  - Permissions (RFC 8656 9): per peer IP, refreshed every 4 minutes (they last 5).
//  - Channels (RFC 8656 12): numbers from 0x4000 up. A channel lasts 10 minutes but the
//    permission its ChannelBind installs only 5, and the server drops what the peer sends once
//    that permission has expired even while the channel is bound; so a channel is refreshed
//    every 4 minutes, like a permission: one ChannelBind keeps both alive.
//  - send(): ChannelData when the peer's channel is bound, else a Send indication. Received
//    ChannelData and Data indications come out of pop_received() with the peer's address.
//  - NAT keepalive over UDP (RFC 8656 5 leaves it to the client; RFC 8489 uses Binding
//    indications for it): when nothing went to the server for `keepalive`, a Binding indication
//    does, so the NAT in front of the client keeps the 5-tuple the allocation is bound to (a NAT
//    mapping may last only 2 minutes, RFC 4787 REQ-5, less than the 4-minute refreshes).
//  - Requests over UDP are retransmitted per RFC 8489 6.2.1: RTO doubling from `rto`, at most Rc
//    sends, then a final wait of Rm * RTO; over TCP/TLS a single send and a 39.5 s timeout.
//  - Responses are matched by transaction id; success responses to authenticated requests must
//    carry a valid MESSAGE-INTEGRITY, a FINGERPRINT if present must match; others are dropped and
//    counted.
//
// Bounds and policies: permission and channel tables hold at most `max_permissions` and
// `max_channels` entries; a new entry when full is refused (the call returns an error; existing
// entries are never evicted, since evicting would break a live path silently). Received data and
// events queue up to kMaxQueued entries each; when full the oldest is dropped and counted. The
// outgoing queue is bounded likewise (oldest dropped: retransmission recovers requests).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/core/random.h"
#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/ice/stun_message.h"
#include "tern/ice/stun_stream_framer.h"
#include "tern/ice/transport_address.h"

namespace tern::ice {

enum class TurnTransport : uint8_t { kUdp, kTcp, kTls };

struct TurnClientConfig {
  std::string username;
  std::string password;
  TurnTransport transport = TurnTransport::kUdp;
  // Requested allocation lifetime (RFC 8656 default 600 s); the server's answer wins.
  TimeDelta requested_lifetime = TimeDelta::Seconds(600);
  // RFC 8489 6.2.1 retransmission over UDP.
  TimeDelta rto = TimeDelta::Millis(500);
  int max_sends = 7;         // Rc
  int final_wait_rtos = 16;  // Rm
  // UDP only: a Binding indication after this long without anything sent; zero disables.
  TimeDelta keepalive = TimeDelta::Seconds(15);
  size_t max_permissions = 64;
  size_t max_channels = 64;  // at most 4096 (0x4000-0x4FFF)
  std::string software = "tern";
  // Transaction ids: 0 draws them from OpenSSL's CSPRNG (RFC 8489 says they MUST be
  // cryptographically random); any other value gives a deterministic sequence for tests.
  uint64_t seed = 0;
};

enum class TurnState : uint8_t { kIdle, kAllocating, kAllocated, kDeallocating, kClosed, kFailed };

struct TurnEvent {
  enum class Type : uint8_t {
    kAllocated,          // relayed/mapped addresses known
    kAllocationFailed,   // Allocate failed or timed out; state kFailed
    kAllocationLost,     // a Refresh failed or timed out; state kFailed
    kRefreshed,
    kDeallocated,        // state kClosed
    kPermissionCreated,  // also on each refresh
    kPermissionFailed,
    kChannelBound,       // also on each refresh
    kChannelBindFailed,
  };
  Type type;
  TransportAddress peer{};  // permission/channel events
  uint16_t channel = 0;     // channel events
  uint16_t error_code = 0;  // from the server's ERROR-CODE, 0 for timeouts
  const char* reason = "";  // static text
};

struct TurnReceived {
  TransportAddress peer;
  std::vector<uint8_t> data;
  bool via_channel = false;
};

struct TurnClientCounters {
  uint64_t requests_sent = 0;
  uint64_t retransmissions = 0;
  uint64_t timeouts = 0;
  uint64_t auth_challenges = 0;  // 401 answered with credentials
  uint64_t stale_nonces = 0;     // 438 answered with the new nonce
  uint64_t responses_unmatched = 0;
  uint64_t integrity_failures = 0;  // responses dropped for a bad or missing MESSAGE-INTEGRITY
  uint64_t fingerprint_failures = 0;
  uint64_t malformed = 0;        // unparseable STUN or ChannelData from the server
  uint64_t channel_data_sent = 0;
  uint64_t send_indications = 0;
  uint64_t keepalives = 0;  // Binding indications sent to keep the NAT binding
  uint64_t channel_data_received = 0;
  uint64_t data_indications = 0;
  uint64_t received_unknown_channel = 0;
  uint64_t queue_drops = 0;  // outgoing, received or event entries dropped at a bound
  uint64_t stream_errors = 0;
};

class TurnClient {
 public:
  static constexpr int kMaxAuthRetries = 3;
  static constexpr size_t kMaxQueued = 256;
  static constexpr TimeDelta kPermissionLifetime = TimeDelta::Seconds(300);
  static constexpr TimeDelta kPermissionRefresh = TimeDelta::Seconds(240);
  static constexpr TimeDelta kChannelLifetime = TimeDelta::Seconds(600);
  // Not 9 minutes: the ChannelBind refresh must also keep the peer's 5-minute permission alive.
  static constexpr TimeDelta kChannelRefresh = kPermissionRefresh;
  static constexpr TimeDelta kReliableTimeout = TimeDelta::Millis(39500);

  // Fails on an empty username, a negative keepalive, a non-positive rto, max_sends < 1 or max_channels > 4096.
  static Result<TurnClient> Create(TurnClientConfig config);

  // Starts the allocation (no-op unless kIdle).
  void allocate(Timestamp now);
  // Refresh with LIFETIME 0; the state becomes kClosed when answered (or times out).
  void deallocate(Timestamp now);
  // Installs (and keeps refreshing) a permission for the peer's IP. Fails when not allocated or
  // the table is full.
  Status create_permission(const TransportAddress& peer, Timestamp now);
  // Binds a channel to the peer (and keeps it bound); returns its number, the existing one when
  // already bound. Fails when not allocated or the table is full.
  Result<uint16_t> bind_channel(const TransportAddress& peer, Timestamp now);
  // Relays data to a peer: ChannelData once its channel is bound, a Send indication otherwise.
  Status send(const TransportAddress& peer, std::span<const uint8_t> data);

  // Input from the server: one UDP datagram, or bytes of the TCP/TLS stream.
  void on_datagram(std::span<const uint8_t> datagram, Timestamp now);
  void on_stream_bytes(std::span<const uint8_t> bytes, Timestamp now);

  std::optional<Timestamp> next_wakeup() const;
  void process(Timestamp now);

  // Outputs, oldest first.
  std::optional<std::vector<uint8_t>> pop_outgoing();
  std::optional<TurnReceived> pop_received();
  std::optional<TurnEvent> pop_event();

  TurnState state() const { return state_; }
  const std::optional<TransportAddress>& relayed_address() const { return relayed_; }
  const std::optional<TransportAddress>& mapped_address() const { return mapped_; }
  TimeDelta lifetime() const { return lifetime_; }
  std::optional<uint16_t> channel_for(const TransportAddress& peer) const;
  bool permission_installed(const TransportAddress& peer) const;
  size_t permission_count() const { return permissions_.size(); }
  size_t channel_count() const { return channels_.size(); }
  const TurnClientCounters& counters() const { return counters_; }
  const std::string& realm() const { return realm_; }
  const std::string& nonce() const { return nonce_; }

 private:
  explicit TurnClient(TurnClientConfig config);

  enum class Kind : uint8_t { kAllocate, kRefresh, kPermission, kChannelBind };
  struct Transaction {
    TransactionId id;
    Kind kind;
    TransportAddress peer{};
    uint16_t channel = 0;
    TimeDelta lifetime = TimeDelta::Zero();  // Refresh: the lifetime asked for
    std::vector<uint8_t> bytes;
    bool authenticated = false;
    int sends = 0;
    int auth_retries = 0;
    TimeDelta rto = TimeDelta::Zero();
    Timestamp deadline = Timestamp::PlusInfinity();  // next retransmission or the timeout
  };
  struct Permission {
    TransportAddress peer;  // port ignored (permissions are per IP)
    bool installed = false;
    bool in_flight = false;
    Timestamp refresh_at = Timestamp::PlusInfinity();
  };
  struct Channel {
    uint16_t number;
    TransportAddress peer;
    bool bound = false;
    bool in_flight = false;
    Timestamp refresh_at = Timestamp::PlusInfinity();
  };

  TransactionId new_transaction_id();
  // Builds the request for `t` (with credentials once known) into t.bytes and sends it.
  void start(Transaction t, Timestamp now);
  void build(Transaction& t);
  void transmit(Transaction& t, Timestamp now);
  void push_outgoing(std::vector<uint8_t> bytes);
  void push_event(TurnEvent e);
  void push_received(TurnReceived r);

  void handle_message(std::span<const uint8_t> bytes, Timestamp now);
  void handle_response(const StunMessage& m, Timestamp now);
  void handle_data_indication(const StunMessage& m);
  void handle_channel_data(std::span<const uint8_t> bytes);
  void on_success(Transaction& t, const StunMessage& m, Timestamp now);
  void on_failure(Transaction& t, uint16_t code, const char* reason);
  static StunMethod method_of(Kind kind);
  void arm_refresh(Timestamp now);
  void arm_keepalive(Timestamp now);
  void keepalive(Timestamp now);

  void send_permission(Permission& p, Timestamp now);
  void send_channel_bind(Channel& c, Timestamp now);
  void send_refresh(TimeDelta lifetime, Timestamp now);
  Permission* find_permission(const TransportAddress& peer);
  Channel* find_channel(const TransportAddress& peer);
  Channel* find_channel(uint16_t number);

  TurnClientConfig config_;
  Random rng_;
  TurnState state_ = TurnState::kIdle;
  std::string realm_;
  std::string nonce_;
  StunKey key_;  // empty until the first 401
  std::optional<TransportAddress> relayed_;
  std::optional<TransportAddress> mapped_;
  TimeDelta lifetime_ = TimeDelta::Zero();
  Timestamp refresh_at_ = Timestamp::PlusInfinity();
  Timestamp keepalive_at_ = Timestamp::PlusInfinity();
  uint64_t outgoing_total_ = 0;          // everything queued for the server, ever
  uint64_t outgoing_at_keepalive_ = 0;   // outgoing_total_ when the keepalive timer was last armed
  std::vector<Transaction> transactions_;  // few: one per table entry at most, plus Allocate/Refresh
  std::vector<Permission> permissions_;
  std::vector<Channel> channels_;
  uint16_t next_channel_ = 0x4000;
  StunStreamFramer framer_;
  std::deque<std::vector<uint8_t>> outgoing_;
  std::deque<TurnReceived> received_;
  std::deque<TurnEvent> events_;
  TurnClientCounters counters_;
};

}  // namespace tern::ice
