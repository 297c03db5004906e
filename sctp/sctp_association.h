// SctpAssociation: one SCTP association for WebRTC data channels (RFC 8831) over usrsctp, with the
// DCEP handshake (RFC 8832). Sans-I/O: SCTP packets in and out as values, time given by the owner.
//   start(now)             both sides connect (simultaneous open, as WebRTC does) from local_port
//                          to remote_port (a=sctp-port, 5000 by default)
//   on_packet(bytes, now)  one SCTP packet: a DTLS application record (DtlsTransport::pop_application)
//   pop_outgoing()         SCTP packets to send, each one DTLS record (DtlsTransport::send_application)
//   pop_event()            association up/down, channel opened/closed, messages, buffered-amount-low
//   next_wakeup()/process(now)  usrsctp's timers, ticked every timer_interval while it exists
//
// Channels: create_channel() picks a stream id by the DTLS role (client even, server odd) or takes
// a negotiated one; send() queues a message (string or binary, ordered or not, reliable or PR-SCTP
// by retransmissions or lifetime); close_channel() resets the outgoing stream and the peer resets
// its own (RFC 8831 6.7): kChannelClosed on both sides once both directions are reset.
//
// Bounds and policies:
//  - message size: send() refuses a message above the peer's max-message-size
//    (remote_max_message_size, RFC 8841; 0 = no limit, capped by the send buffer); a received
//    message above max_message_size (what we advertise) is dropped and counted.
//  - send buffer: messages usrsctp cannot take yet (its buffer, send_buffer bytes, is full) wait
//    in one FIFO for all channels, at most max_buffered_amount bytes; when full send() refuses
//    with an error (W3C: an OperationError). This queue is the channels' bufferedAmount.
//  - reassembly: usrsctp hands large messages in pieces (partial delivery); pieces are joined per
//    stream up to max_message_size, beyond which the message is discarded to its end.
//  - events: at most max_events queued; drain pop_event() after every call. When full a received
//    message is dropped and counted (a reliable channel then misses it: size the bound, drain).
//  - outgoing: at most max_outgoing packets; when full a packet is dropped and counted (SCTP
//    retransmits).
// Bad input: usrsctp checks the CRC32c and verification tag and drops what fails (its counters);
// DCEP errors (malformed, wrong stream parity, id in use, unexpected ACK) and messages on streams
// without a channel or with unknown PPIDs are counted, never fatal.
//
// usrsctp is process-wide (usrsctp_library.h): every association of a process is driven from one
// thread and one clock. Callbacks from inside usrsctp only queue; the queues are worked through
// after each usrsctp call returns (sctp/README.md, "usrsctp quirks").
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/sctp/data_channel.h"
#include "tern/sctp/dcep_message.h"
#include "tern/sctp/usrsctp_library.h"

struct socket;

namespace tern::sctp {

struct SctpConfig {
  SctpRole role = SctpRole::kDtlsClient;
  uint16_t local_port = 5000;   // a=sctp-port (RFC 8841)
  uint16_t remote_port = 5000;  // the peer's a=sctp-port
  // Largest message we accept (our a=max-message-size; Chromium advertises 262144).
  size_t max_message_size = 262144;
  // The peer's a=max-message-size: largest message send() takes. 0: no limit (RFC 8841 6.1),
  // capped by the send buffer. An SDP without the attribute means 65536 (RFC 8841 6.1).
  size_t remote_max_message_size = 65536;
  // Largest SCTP packet, each one DTLS record: set DtlsTransport::max_application_size().
  size_t max_packet_size = 1152;
  uint16_t streams = 1024;  // inbound and outbound streams offered (channel ids 0..streams-1)
  size_t send_buffer = 1 << 20;     // usrsctp SO_SNDBUF (raised to the largest sendable message)
  size_t receive_buffer = 1 << 20;  // usrsctp SO_RCVBUF: the advertised receive window
  size_t max_buffered_amount = 16 << 20;  // tern's send FIFO (all channels), bytes (Chromium: 16 MiB)
  size_t max_events = 65536;
  size_t max_outgoing = 4096;  // packets
  TimeDelta timer_interval = TimeDelta::Millis(10);  // usrsctp_handle_timers cadence
  // Retransmission timeout (SCTP_RTOINFO). usrsctp's defaults (3 s initial, 1 s minimum, 60 s
  // maximum) leave a reliable channel stalled for a second or more after a tail loss and for up to
  // a minute after an outage; these follow libwebrtc's data channels (dcsctp: 400 ms minimum, the
  // backoff capped at 3 s). The minimum stays above the peer's delayed-SACK time (200 ms).
  TimeDelta rto_initial = TimeDelta::Millis(1000);
  TimeDelta rto_min = TimeDelta::Millis(400);
  TimeDelta rto_max = TimeDelta::Millis(3000);
  // Consecutive retransmission timeouts before usrsctp gives the association up (SCTP_ASSOCINFO
  // and the path's limit; 1..65535). The default never does in practice (65535 x rto_max): how
  // long a call lives is ICE's and DTLS's business (consent, restarts), as in libwebrtc; usrsctp's
  // own default (10) would end the data channels after an outage of ~25 s that ICE survives.
  uint16_t max_retransmissions = 65535;
};

struct SctpCounters {
  uint64_t packets_sent = 0;  // produced for pop_outgoing
  uint64_t bytes_sent = 0;
  uint64_t packets_received = 0;  // handed to on_packet
  uint64_t bytes_received = 0;
  uint64_t outgoing_dropped = 0;       // outgoing queue full
  uint64_t dcep_errors = 0;            // malformed DCEP, wrong parity, id in use, stray ACK
  uint64_t refused_messages = 0;       // send() refused: too large, buffer full, channel not open
  uint64_t received_too_large = 0;     // above max_message_size, discarded
  uint64_t received_dropped = 0;       // events queue full
  uint64_t unknown_stream_messages = 0;  // user message on a stream with no open channel
  uint64_t unknown_ppid_messages = 0;
  uint64_t abandoned_messages = 0;     // PR-SCTP gave up (SCTP_SEND_FAILED_EVENT)
  uint64_t send_errors = 0;            // usrsctp_sendv failed for another reason than a full buffer
  uint64_t stream_resets_sent = 0;     // SCTP_RESET_STREAMS requests (each may list several streams)
  uint64_t stream_reset_failures = 0;  // denied or failed, retried
};

class SctpAssociation final : private UsrsctpLibrary::Connection {
 public:
  // Validates the config and creates the usrsctp socket (no packet yet).
  static Result<std::unique_ptr<SctpAssociation>> Create(SctpConfig config);
  // Aborts the association (an ABORT is queued but nobody drains it: send close first if needed).
  ~SctpAssociation();
  SctpAssociation(const SctpAssociation&) = delete;
  SctpAssociation& operator=(const SctpAssociation&) = delete;

  // Connects (INIT). Both peers call it; idempotent.
  void start(Timestamp now);
  // One SCTP packet from the peer.
  void on_packet(std::span<const uint8_t> packet, Timestamp now);
  std::optional<std::vector<uint8_t>> pop_outgoing();
  bool has_outgoing() const { return !outgoing_.empty(); }
  std::optional<SctpEvent> pop_event();

  // Next usrsctp timer tick (every timer_interval from start), or now-ish when packets wait.
  std::optional<Timestamp> next_wakeup() const;
  void process(Timestamp now);

  // Opens a channel; its id. Before the association is up the channel is kConnecting and opens
  // (DCEP OPEN sent, or at once when negotiated) on kAssociationUp.
  Result<uint16_t> create_channel(const DataChannelInit& init, Timestamp now);
  // One message: string (PPID 51/56) or binary (53/57). Refused with a reason when the channel is
  // not open, the message is above max_send_message_size(), or the send FIFO is full.
  Status send(uint16_t channel, std::span<const uint8_t> data, bool binary, Timestamp now);
  // Starts the closing handshake: queued messages go first, then the outgoing stream is reset.
  void close_channel(uint16_t channel, Timestamp now);

  // Bytes of this channel waiting in tern's send FIFO (W3C bufferedAmount).
  size_t buffered_amount(uint16_t channel) const;
  // kBufferedAmountLow fires when the buffered amount drops from above `bytes` to `bytes` or below.
  void set_buffered_amount_low_threshold(uint16_t channel, size_t bytes);
  std::optional<DataChannelState> channel_state(uint16_t channel) const;
  std::optional<DataChannelStats> channel_stats(uint16_t channel) const;
  // Every channel this association knows (closed ones until their id is reused), by id.
  std::vector<DataChannelStats> stats() const;

  // The peer's max-message-size once the answer is known (0: no limit).
  void set_remote_max_message_size(size_t bytes);
  size_t max_send_message_size() const;
  bool is_up() const { return up_; }
  // Streams negotiated in each direction (the lower of both offers), 0 before kAssociationUp.
  uint16_t negotiated_streams() const { return negotiated_streams_; }
  const SctpCounters& counters() const { return counters_; }
  // usrsctp's process-wide counters (UsrsctpLibrary::stats).
  UsrsctpLibrary::Stats usrsctp_stats() const { return library_->stats(); }
  const SctpConfig& config() const { return config_; }

  // For usrsctp's C callbacks in sctp_association.cpp; not part of the API.
  struct Inbound {
    uint16_t stream = 0;
    uint32_t ppid = 0;  // host order
    int flags = 0;      // MSG_EOR, MSG_NOTIFICATION
    bool unordered = false;
    std::vector<uint8_t> data;
  };
  void on_usrsctp_receive(Inbound inbound);

 private:
  struct Channel {
    DataChannelInit init;
    DataChannelStats stats;
    bool remote = false;
    bool acked = true;  // DCEP: false while a local channel waits for DATA_CHANNEL_ACK
    size_t buffered = 0;
    size_t low_threshold = 0;
    bool reset_requested = false;  // our outgoing stream reset asked for
    bool outgoing_reset = false;
    bool incoming_reset = false;
  };
  struct Partial {
    std::vector<uint8_t> data;
    bool discarding = false;
  };
  struct Pending {
    uint16_t stream = 0;
    uint32_t ppid = 0;
    bool ordered = true;
    Reliability reliability = Reliability::kReliable;
    uint32_t reliability_parameter = 0;
    size_t user_bytes = 0;  // counted in the channel's buffered amount (0 for DCEP)
    std::vector<uint8_t> data;  // filled only while it waits in the FIFO
  };

  explicit SctpAssociation(SctpConfig config);
  Status open_socket();
  void on_usrsctp_packet(std::span<const uint8_t> packet) override;
  // Everything that follows a usrsctp call: inbound messages and notifications, the send FIFO,
  // stream resets.
  void after_usrsctp(Timestamp now);
  void handle_notification(std::span<const uint8_t> bytes, Timestamp now);
  void handle_message(uint16_t stream, uint32_t ppid, std::vector<uint8_t> data, Timestamp now);
  void handle_dcep(uint16_t stream, std::span<const uint8_t> data, Timestamp now);
  void handle_stream_reset(uint16_t flags, std::span<const uint16_t> streams);
  void on_up(uint16_t streams, Timestamp now);
  void on_down(const char* reason);
  void open_local_channel(uint16_t id, Channel& channel);
  void enqueue(Pending pending, std::span<const uint8_t> data);
  // Hands the FIFO to usrsctp until it refuses; buffered-amount-low and pending closes follow.
  void flush_send_queue();
  enum class SendResult : uint8_t { kSent, kBlocked, kFailed };
  SendResult try_send(const Pending& pending, std::span<const uint8_t> data);
  void request_resets();
  void finish_close(uint16_t id, Channel& channel);
  void push_event(SctpEvent event);
  bool own_parity(uint16_t id) const;

  SctpConfig config_;
  std::shared_ptr<UsrsctpLibrary> library_;
  void* token_ = nullptr;        // AF_CONN address
  struct ::socket* socket_ = nullptr;
  bool started_ = false;
  bool up_ = false;
  bool down_ = false;
  bool destroying_ = false;
  uint16_t negotiated_streams_ = 0;
  Timestamp last_now_ = Timestamp::Zero();
  std::optional<Timestamp> next_tick_;
  std::map<uint16_t, Channel> channels_;
  std::unordered_map<uint16_t, Partial> partials_;
  std::deque<Inbound> inbox_;  // filled from usrsctp's receive callback
  std::deque<Pending> send_queue_;
  size_t send_queue_bytes_ = 0;
  std::vector<uint16_t> pending_resets_;
  std::deque<std::vector<uint8_t>> outgoing_;
  std::deque<SctpEvent> events_;
  SctpCounters counters_;
};

}  // namespace tern::sctp
