// IceAgent: one ICE agent (RFC 8445) for one data stream with one component, full or lite,
// sans-I/O. It gathers host, server-reflexive (STUN Binding to a configured server) and relayed
// candidates (through a RelayTransport the TURN client implements), forms and prunes pairs, runs
// paced connectivity checks with short-term credentials, nominates (regular nomination, the
// controlling side sends USE-CANDIDATE), resolves role conflicts (487), learns peer-reflexive
// candidates, accepts trickled candidates (RFC 8838, also before the remote description, and
// end-of-candidates), restarts (new ufrag/pwd; data stays on the old pair until a new one is
// selected) and keeps consent fresh (RFC 7675).
//
// Driving it: sockets are opaque SocketIds the driver maps to its own sockets (or netsim hosts).
// Inputs: on_datagram(socket, source, bytes, now) for everything received on a socket,
// on_relayed_datagram() for what a relay delivers, and the signalling calls (remote credentials,
// candidates). Outputs: take_outgoing() datagrams (socket, destination, bytes) and poll_event()
// (local candidates to signal, gathering done, state and selected-pair changes). Timers are
// deadlines: next_wakeup() / process(now). Application data goes out with send() on the selected
// pair; on_datagram() returns kApplication for a non-STUN datagram from a valid pair's remote
// address, which the caller then hands up itself (no copy).
//
// Security: every check carries MESSAGE-INTEGRITY (short-term credentials) and FINGERPRINT, and
// every STUN message the agent sends carries FINGERPRINT. A datagram that fails FINGERPRINT,
// USERNAME or MESSAGE-INTEGRITY, or a response that matches no transaction, never changes state:
// it is counted and dropped (no 401 is sent either: an attacker learns nothing).
//
// Bounds and policies when full (all counted in stats()):
//   remote candidates kMaxRemoteCandidates (32): further ones (signalled or peer-reflexive) are
//     refused; local candidates kMaxLocalCandidates (16): further ones ignored;
//   pairs kMaxPairs (100, RFC 8445 6.1.2.5): the lowest-priority pair that is not in progress or
//     succeeded is discarded for a higher-priority newcomer, else the newcomer is;
//   transactions kMaxTransactions (64): a check that finds the table full waits for the next tick;
//   events kMaxEvents and outgoing datagrams kMaxOutgoing (256 each): the oldest is dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/core/random.h"
#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/ice/candidate.h"
#include "tern/ice/stun_message.h"

namespace tern::ice {

using SocketId = uint32_t;

// The hook a TURN client implements so the agent can use a relayed candidate without knowing
// TURN. The agent never owns it; it must outlive its registration with add_relay().
class RelayTransport {
 public:
  virtual ~RelayTransport() = default;
  // The relayed transport address once the allocation succeeded, nullopt before (or on failure).
  virtual std::optional<TransportAddress> relayed_address() const = 0;
  // The client's server-reflexive address as the TURN server saw it (the candidate's raddr).
  virtual std::optional<TransportAddress> mapped_address() const { return std::nullopt; }
  // Installs a permission so that `peer` may send to the relayed address (RFC 8656 9).
  virtual void add_permission(const TransportAddress& peer, Timestamp now) = 0;
  // Sends `data` to `peer` through the relay (Send indication or ChannelData).
  virtual void send_to(const TransportAddress& peer, std::span<const uint8_t> data, Timestamp now) = 0;
  // The pair from this relay to `peer` was selected: media will flow there, so a TURN client
  // binds a channel (RFC 8656 12) to save the 36 bytes of Send/Data indication framing.
  virtual void on_selected(const TransportAddress& /*peer*/, Timestamp /*now*/) {}
  // True once the relay will never have an address (the allocation failed): gathering then
  // completes without its candidate instead of waiting for it forever.
  virtual bool failed() const { return false; }
};

enum class IceRole : uint8_t { kControlling, kControlled };
enum class IceState : uint8_t { kNew, kChecking, kConnected, kFailed, kClosed };
const char* to_string(IceState state);

struct IceCredentials {
  std::string ufrag;
  std::string pwd;
};

struct LocalSocket {
  SocketId id = 0;
  TransportAddress address;              // the host candidate
  std::optional<uint16_t> local_preference;  // default: IPv6 before IPv4, then config order
};

// Which local candidates the agent gathers and pairs (W3C RTCIceTransportPolicy): every kind, or
// relayed candidates only (the sockets then only carry the TURN client's traffic, so the peer never
// learns a host or server-reflexive address and media always crosses the relay).
enum class IceTransportPolicy : uint8_t { kAll, kRelay };
const char* to_string(IceTransportPolicy policy);

struct IceAgentConfig {
  bool lite = false;
  // kRelay: gathering completes only once a relay was added (add_relay, before or after start())
  // and settled.
  IceTransportPolicy policy = IceTransportPolicy::kAll;  // RFC 8445 2.5: host candidates only, answers checks, always controlled
  IceRole role = IceRole::kControlling;
  std::vector<LocalSocket> sockets;
  // STUN servers for server-reflexive candidates, one per family at most used.
  std::vector<TransportAddress> stun_servers;
  // Local credentials; generated from `seed` when empty (8-char ufrag, 24-char password).
  IceCredentials credentials;
  uint64_t seed = 1;  // tie-breaker, transaction ids, credentials, consent jitter

  TimeDelta ta = TimeDelta::Millis(50);           // check pacing (RFC 8445 14.2)
  TimeDelta check_rto = TimeDelta::Millis(500);   // first retransmission timeout, doubling
  TimeDelta check_rto_max = TimeDelta::Millis(1600);
  int check_max_transmissions = 7;                // then the pair fails
  int gather_max_transmissions = 4;               // STUN server Binding requests
  // Controlling side: nominate the best valid pair once no better pair can still succeed, or this
  // long after the first pair became valid, whichever is first.
  TimeDelta nomination_delay = TimeDelta::Millis(500);
  // Without end-of-candidates, give up this long after checks started with no valid pair.
  TimeDelta failure_timeout = TimeDelta::Seconds(30);
  // RFC 7675: consent checks every uniform [4, 6] s from each request; consent is lost this long
  // after the last authenticated response.
  TimeDelta consent_interval_min = TimeDelta::Seconds(4);
  TimeDelta consent_interval_max = TimeDelta::Seconds(6);
  TimeDelta consent_timeout = TimeDelta::Seconds(30);
  // Resolves a remote "*.local" candidate synchronously; absent or nullopt leaves the candidate
  // to peer-reflexive discovery (resolve_remote_hostname() delivers a late answer).
  std::function<std::optional<TransportAddress>(std::string_view hostname, uint16_t port)> resolve_mdns;
};

struct IceOutgoing {
  SocketId socket = 0;
  TransportAddress destination;
  std::vector<uint8_t> data;
};

struct IceEvent {
  enum class Kind : uint8_t { kLocalCandidate, kGatheringDone, kStateChanged, kSelectedPair, kRoleChanged };
  Kind kind;
  Candidate candidate;  // kLocalCandidate; kSelectedPair: the local candidate
  Candidate remote;     // kSelectedPair: the remote candidate
  IceState state = IceState::kNew;  // kStateChanged
  IceRole role = IceRole::kControlling;  // kRoleChanged
};

struct IceAgentStats {
  uint64_t checks_sent = 0;           // first transmissions of connectivity checks
  uint64_t retransmissions = 0;
  uint64_t triggered_checks = 0;
  uint64_t requests_received = 0;     // authenticated Binding requests answered
  uint64_t responses_received = 0;    // authenticated responses matched to a transaction
  uint64_t role_conflicts = 0;        // 487 sent or received, or a role switch
  uint64_t peer_reflexive_remote = 0;
  uint64_t peer_reflexive_local = 0;
  uint64_t consent_requests = 0;
  uint64_t consent_responses = 0;
  uint64_t dropped_not_stun = 0;      // non-STUN from an address no valid pair uses
  uint64_t dropped_bad_fingerprint = 0;
  uint64_t dropped_bad_username = 0;
  uint64_t dropped_bad_integrity = 0;
  uint64_t dropped_unmatched = 0;     // response/error with no transaction
  uint64_t dropped_malformed = 0;     // STUN framing errors, unknown methods/classes
  uint64_t remote_candidates_refused = 0;
  uint64_t pairs_discarded = 0;
  uint64_t transactions_deferred = 0;
  uint64_t events_dropped = 0;
  uint64_t outgoing_dropped = 0;
  uint64_t app_sent = 0;
  uint64_t app_received = 0;
};

class IceAgent {
 public:
  static constexpr size_t kMaxLocalCandidates = 16;
  static constexpr size_t kMaxRemoteCandidates = 32;
  static constexpr size_t kMaxPairs = 100;
  static constexpr size_t kMaxTransactions = 64;
  static constexpr size_t kMaxEvents = 256;
  static constexpr size_t kMaxOutgoing = 256;

  // Validates the config (at least one socket, credentials of legal length, sane timers).
  static Result<IceAgent> Create(IceAgentConfig config);

  // Starts gathering (host candidates at once, srflx by STUN, relays when ready) and checks.
  void start(Timestamp now);
  // Adds a relayed candidate source; the candidate appears once relay->relayed_address() is set.
  void add_relay(RelayTransport* relay, Timestamp now);

  // Signalling: the remote description's credentials. A changed ufrag is a remote ICE restart:
  // remote candidates and pairs are discarded (the selected pair keeps carrying data).
  void set_remote_credentials(IceCredentials remote, Timestamp now);
  void set_remote_lite(bool lite) { remote_lite_ = lite; }
  // A remote candidate (trickled or from the description); accepted before the credentials too.
  // Returns false when refused (table full, bad address, duplicate).
  bool add_remote_candidate(Candidate candidate, Timestamp now);
  void end_of_remote_candidates(Timestamp now);
  // Late answer for a "*.local" remote candidate: `ip` (its port ignored) is where it lives.
  void resolve_remote_hostname(std::string_view hostname, const TransportAddress& ip, Timestamp now);
  // ICE restart (RFC 8445 9): new local credentials (signal them), fresh checks; data keeps
  // flowing on the current selected pair until a new one is selected. `credentials`: the new
  // generation's (already signalled, e.g. in a JSEP offer); empty: generated here. Credentials
  // of illegal length (ufrag 4..256, pwd 22..256) are replaced by generated ones.
  void restart(Timestamp now, std::optional<IceCredentials> credentials = std::nullopt);
  void close();

  // A datagram received on `socket` from `source`.
  enum class Inbound : uint8_t { kIce, kApplication, kDropped };
  Inbound on_datagram(SocketId socket, const TransportAddress& source, std::span<const uint8_t> data, Timestamp now);
  // A datagram the relay received from `peer` for its relayed address.
  Inbound on_relayed_datagram(RelayTransport* relay, const TransportAddress& peer, std::span<const uint8_t> data,
                              Timestamp now);

  // Application data on the selected pair. Fails without a selected pair or consent.
  Status send(std::span<const uint8_t> data, Timestamp now);
  // The same, taking the caller's buffer as the datagram (no copy: a media server's hot path).
  Status send(std::vector<uint8_t>&& data, Timestamp now);

  std::optional<Timestamp> next_wakeup() const;
  void process(Timestamp now);

  std::vector<IceOutgoing> take_outgoing();
  std::optional<IceEvent> poll_event();

  IceState state() const { return state_; }
  IceRole role() const { return role_; }
  uint64_t tie_breaker() const { return tie_breaker_; }
  const IceCredentials& local_credentials() const { return local_creds_; }
  std::vector<Candidate> local_candidates() const;
  size_t remote_candidate_count() const { return remote_.size(); }
  size_t pair_count() const { return pairs_.size(); }
  size_t transaction_count() const { return txns_.size(); }
  // The selected pair's candidates, if any.
  std::optional<std::pair<Candidate, Candidate>> selected_pair() const;
  // The local credentials of the generation that selected the current pair (its consent checks
  // use them), if any: after a restart they become the new ones once a new pair is selected.
  std::optional<IceCredentials> selected_credentials() const;
  bool gathering_done() const { return gathering_done_; }
  const IceAgentStats& stats() const { return stats_; }

 private:
  // Where a local candidate sends from: a socket, or a relay (socket unused).
  struct Via {
    SocketId socket = 0;
    RelayTransport* relay = nullptr;
    friend bool operator==(const Via&, const Via&) = default;
  };
  struct Local {
    Candidate c;
    Via via;
    bool pairable = false;  // host and relay candidates; srflx/prflx are pruned to their base
  };
  struct Remote {
    Candidate c;
    bool resolved = true;  // false while an mDNS name waits for an address
    // The peer's last authenticated check from this address: our local ufrag it named, its own
    // ufrag, USE-CANDIDATE. A peer that keeps one connection per address (libwebrtc) goes on naming
    // our previous ufrag after a restart of ours that kept our address, and refuses checks with
    // the new one: our checks to it name what it named. A check of a peer generation not signalled
    // yet (the peer restarted first) keeps the candidate across that generation's remote restart.
    std::string named_local_ufrag;
    std::string peer_ufrag;
    bool peer_nominated = false;
  };
  struct Pair {
    uint64_t id = 0;
    size_t local = 0;
    size_t remote = 0;
    uint64_t priority = 0;
    PairState state = PairState::kFrozen;
    std::string foundation;
    bool valid = false;
    bool nominating = false;           // controlling: the next check carries USE-CANDIDATE
    bool nominate_on_success = false;  // controlled: USE-CANDIDATE arrived before our check succeeded
  };
  enum class TxnKind : uint8_t { kGather, kCheck, kConsent };
  struct Txn {
    TransactionId id;
    TxnKind kind = TxnKind::kCheck;
    Via via;
    TransportAddress destination;
    std::vector<uint8_t> bytes;
    Timestamp deadline;
    TimeDelta rto;
    int sent = 1;
    int max_sent = 1;
    uint64_t pair_id = 0;
    bool use_candidate = false;
    bool previous_local = false;           // a check naming previous_local_ (see Remote)
    bool cancelled = false;                // RFC 8445 7.3.1.4: not retransmitted, no failure when silent
    bool refused_unauthenticated = false;  // an error response without valid integrity came back
    IceRole role = IceRole::kControlling;  // the role the request claimed
    StunKey key;                           // verifies the response (the remote password)
  };
  struct Selected {
    Via via;
    Candidate local;
    Candidate remote;
    IceCredentials local_creds;   // the generation that selected it, for consent
    IceCredentials remote_creds;
    Timestamp last_consent;
    Timestamp next_consent;
  };

  explicit IceAgent(IceAgentConfig config);

  std::string make_foundation(CandidateType type, const TransportAddress& base, const TransportAddress& server);
  std::string random_string(size_t n);
  TransactionId new_transaction_id();
  void emit_event(IceEvent e);
  void emit(const Via& via, const TransportAddress& to, std::vector<uint8_t> bytes, Timestamp now);
  std::optional<size_t> add_local(Candidate c, const Via& via, bool pairable);
  void poll_relays(Timestamp now);
  void pair_local(size_t local, Timestamp now);
  void pair_remote(size_t remote, Timestamp now);
  std::optional<uint64_t> add_pair(size_t local, size_t remote, Timestamp now);
  Pair* find_pair(uint64_t id);
  Pair* find_pair(size_t local, size_t remote);
  std::optional<size_t> find_local(const Via& via) const;
  std::optional<size_t> find_remote(const TransportAddress& address) const;
  uint64_t compute_priority(const Pair& p) const;
  void recompute_priorities();
  void set_role(IceRole role);
  void clear_checks();
  void rebuild_pairs(Timestamp now);
  bool can_check() const;
  void send_check(Pair& pair, Timestamp now);
  void send_consent(Timestamp now);
  Result<std::vector<uint8_t>> build_request(const TransactionId& id, uint32_t priority, bool use_candidate,
                                             const IceCredentials& local, const IceCredentials& remote);
  void send_gather_requests(Timestamp now);
  void check_gathering_done();
  Inbound handle(const Via& via, const TransportAddress& source, std::span<const uint8_t> data, Timestamp now);
  void handle_request(const Via& via, const TransportAddress& source, const StunMessage& msg, Timestamp now);
  void handle_response(const Via& via, const TransportAddress& source, const StunMessage& msg, Timestamp now);
  void send_response(const Via& via, const TransportAddress& to, const StunMessage& request, const StunKey& key,
                     std::optional<uint16_t> error, Timestamp now);
  void on_check_success(Pair& pair, const Txn& txn, const StunMessage& msg, Timestamp now);
  void select(const Via& via, const Candidate& local, const Candidate& remote, const IceCredentials& local_creds,
              Timestamp now);
  const IceCredentials& local_creds_for(const Remote& r) const;
  void tick_checks(Timestamp now);
  void tick_transactions(Timestamp now);
  void tick_nomination(Timestamp now);
  // Controlling side: the valid pair to nominate, and whether a better pair may still succeed.
  const Pair* best_valid() const;
  bool better_pending(const Pair& best) const;
  bool wants_nomination() const;
  void tick_consent(Timestamp now);
  Timestamp next_consent_time(Timestamp now);
  void tick_failure(Timestamp now);
  bool failure_armed() const;  // checking, nothing valid yet: the failure timeout applies
  void set_state(IceState s);
  bool accepts_app_data(const Via& via, const TransportAddress& source) const;

  IceAgentConfig config_;
  Random random_;
  IceRole role_;
  uint64_t tie_breaker_ = 0;
  IceState state_ = IceState::kNew;
  IceCredentials local_creds_;
  // The generation before the last restart: still accepted for requests, so a peer that has not
  // yet learned the new ufrag keeps its consent checks answered.
  std::optional<IceCredentials> previous_local_;
  std::optional<IceCredentials> remote_creds_;
  bool remote_lite_ = false;
  bool started_ = false;
  bool gathering_done_ = false;
  bool remote_end_of_candidates_ = false;
  bool restarting_ = false;  // a selected pair from an older generation carries data meanwhile

  std::vector<Local> local_;
  std::vector<Remote> remote_;
  std::vector<Pair> pairs_;
  uint64_t next_pair_id_ = 1;
  std::deque<uint64_t> triggered_;
  std::vector<Txn> txns_;
  std::vector<std::pair<RelayTransport*, bool>> relays_;  // relay, settled (candidate added, or failed)
  std::vector<std::string> foundations_;  // "type/base ip/server ip" keys; index + 1 is the foundation
  uint32_t prflx_counter_ = 0;

  Timestamp last_check_ = Timestamp::MinusInfinity();
  Timestamp last_relay_poll_ = Timestamp::MinusInfinity();
  Timestamp checks_started_ = Timestamp::PlusInfinity();
  std::optional<Timestamp> first_valid_;
  bool nomination_delay_passed_ = false;  // first_valid_ + nomination_delay reached
  std::optional<Selected> selected_;

  std::deque<IceEvent> events_;
  std::vector<IceOutgoing> outgoing_;
  IceAgentStats stats_;
};

}  // namespace tern::ice
