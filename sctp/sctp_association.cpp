// SCTP association with data channels over usrsctp. See sctp_association.h and README.md.
#include "tern/sctp/sctp_association.h"

#include <usrsctp.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <utility>

namespace tern::sctp {
namespace {

// usrsctp's receive callback: a message (or a piece of one, without MSG_EOR) or a notification
// (MSG_NOTIFICATION). Called from inside usrsctp (usrsctp_conninput, usrsctp_handle_timers, ...):
// only queue. `data` was malloc'ed by usrsctp and is ours to free; null means the socket closed.
int on_receive(struct socket* /*sock*/, union sctp_sockstore /*addr*/, void* data, size_t length,
               struct sctp_rcvinfo info, int flags, void* ulp_info) {
  auto* self = static_cast<SctpAssociation*>(ulp_info);
  if (data == nullptr) return 1;
  SctpAssociation::Inbound inbound;
  inbound.stream = info.rcv_sid;
  inbound.ppid = ntohl(info.rcv_ppid);  // usrsctp keeps the PPID in network order
  inbound.flags = flags;
  inbound.unordered = (info.rcv_flags & SCTP_UNORDERED) != 0;
  const auto* bytes = static_cast<const uint8_t*>(data);
  inbound.data.assign(bytes, bytes + length);
  std::free(data);
  if (self != nullptr) self->on_usrsctp_receive(std::move(inbound));
  return 1;
}

template <typename T>
bool set_option(struct socket* s, int level, int name, const T& value) {
  return usrsctp_setsockopt(s, level, name, &value, sizeof(value)) == 0;
}

sockaddr_conn conn_address(void* token, uint16_t port) {
  sockaddr_conn a{};
  a.sconn_family = AF_CONN;
  a.sconn_port = htons(port);
  a.sconn_addr = token;
  return a;
}

// The PR-SCTP policy of a channel (RFC 8832 5.1 channel types) and its parameter.
std::pair<Reliability, uint32_t> reliability_of(const DataChannelInit& init) {
  if (init.max_retransmits) return {Reliability::kMaxRetransmits, *init.max_retransmits};
  if (init.max_packet_lifetime_ms) return {Reliability::kMaxPacketLifetime, *init.max_packet_lifetime_ms};
  return {Reliability::kReliable, 0};
}

uint32_t user_ppid(bool binary, bool empty) {
  if (binary) return empty ? kPpidBinaryEmpty : kPpidBinary;
  return empty ? kPpidStringEmpty : kPpidString;
}

}  // namespace

std::string_view to_string(DataChannelState state) {
  switch (state) {
    case DataChannelState::kConnecting: return "connecting";
    case DataChannelState::kOpen: return "open";
    case DataChannelState::kClosing: return "closing";
    case DataChannelState::kClosed: return "closed";
  }
  return "?";
}

Result<std::unique_ptr<SctpAssociation>> SctpAssociation::Create(SctpConfig config) {
  if (config.local_port == 0 || config.remote_port == 0) return Error{"SCTP port 0"};
  if (config.max_message_size == 0) return Error{"max_message_size must be positive"};
  if (config.max_packet_size < 300 || config.max_packet_size > 16384) {
    return Error{"max_packet_size must be 300..16384"};
  }
  if (config.streams == 0) return Error{"at least one stream"};
  if (config.max_events == 0 || config.max_outgoing == 0) return Error{"queue bounds must be positive"};
  if (config.timer_interval <= TimeDelta::Zero()) return Error{"timer_interval must be positive"};
  if (config.rto_min <= TimeDelta::Zero() || config.rto_min > config.rto_initial ||
      config.rto_initial > config.rto_max || config.rto_max > TimeDelta::Seconds(120)) {
    return Error{"RTO bounds must satisfy 0 < rto_min <= rto_initial <= rto_max <= 120 s"};
  }
  if (config.max_retransmissions == 0) return Error{"max_retransmissions must be positive"};
  std::unique_ptr<SctpAssociation> a(new SctpAssociation(std::move(config)));
  if (Status s = a->open_socket(); !s.ok()) return Error{s.error()};
  return a;
}

SctpAssociation::SctpAssociation(SctpConfig config)
    : config_(std::move(config)), library_(UsrsctpLibrary::Acquire()) {
  token_ = library_->add_connection(this);
}

SctpAssociation::~SctpAssociation() {
  destroying_ = true;
  if (socket_ != nullptr) {
    usrsctp_set_ulpinfo(socket_, nullptr);  // late receive callbacks find no association
    usrsctp_close(socket_);                 // SO_LINGER 0: ABORT, freed by usrsctp's timers
  }
  library_->remove_connection(token_);
}

Status SctpAssociation::open_socket() {
  // One send-buffer worth of the largest sendable message: usrsctp (without explicit EOR) takes
  // a message whole or not at all.
  const size_t send_buffer = std::max(config_.send_buffer, max_send_message_size());
  socket_ = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, &on_receive, nullptr, 0, this);
  if (socket_ == nullptr) return Error{"usrsctp_socket failed"};
  if (usrsctp_set_non_blocking(socket_, 1) != 0) return Error{"usrsctp_set_non_blocking failed"};
  // Abort on close rather than a graceful SHUTDOWN nobody would pump.
  linger no_linger{1, 0};
  bool ok = set_option(socket_, SOL_SOCKET, SO_LINGER, no_linger);
  const int send_space = static_cast<int>(std::min<size_t>(send_buffer, 1 << 30));
  const int receive_space = static_cast<int>(std::min<size_t>(config_.receive_buffer, 1 << 30));
  ok = ok && set_option(socket_, SOL_SOCKET, SO_SNDBUF, send_space);
  ok = ok && set_option(socket_, SOL_SOCKET, SO_RCVBUF, receive_space);
  sctp_assoc_value reset{};
  reset.assoc_id = SCTP_ALL_ASSOC;
  reset.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;
  ok = ok && set_option(socket_, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, reset);
  ok = ok && set_option(socket_, IPPROTO_SCTP, SCTP_NODELAY, 1);  // no Nagle: messages go now
  // No partial delivery below the largest message we accept: usrsctp 0.9.5 delivers the next
  // complete message of the same stream in the middle of a partially delivered one (seen under
  // loss: a 256 KiB message's last piece came after the following 1 KiB message), so pieces could
  // not be joined in order. usrsctp caps the point at half the receive buffer.
  const uint32_t pd_point = static_cast<uint32_t>(std::min<size_t>(config_.max_message_size + 1, 1 << 30));
  ok = ok && set_option(socket_, IPPROTO_SCTP, SCTP_PARTIAL_DELIVERY_POINT, pd_point);
  sctp_initmsg init{};
  init.sinit_num_ostreams = config_.streams;
  init.sinit_max_instreams = config_.streams;
  ok = ok && set_option(socket_, IPPROTO_SCTP, SCTP_INITMSG, init);
  // The path MTU is fixed (no PMTU discovery over DTLS): every packet fits one DTLS record. For an
  // AF_CONN address usrsctp leaves the 12-byte common header out of the MTU (measured: packets
  // reach pathmtu + 12), so subtract it.
  sctp_paddrparams params{};
  params.spp_assoc_id = SCTP_FUTURE_ASSOC;
  params.spp_flags = SPP_PMTUD_DISABLE;
  params.spp_pathmtu = static_cast<uint32_t>(config_.max_packet_size - sizeof(sctp_common_header));
  params.spp_pathmaxrxt = config_.max_retransmissions;
  ok = ok && set_option(socket_, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, params);
  sctp_rtoinfo rto{};
  rto.srto_assoc_id = SCTP_FUTURE_ASSOC;
  rto.srto_initial = static_cast<uint32_t>(config_.rto_initial.ms());
  rto.srto_min = static_cast<uint32_t>(config_.rto_min.ms());
  rto.srto_max = static_cast<uint32_t>(config_.rto_max.ms());
  ok = ok && set_option(socket_, IPPROTO_SCTP, SCTP_RTOINFO, rto);
  sctp_assocparams assoc{};
  assoc.sasoc_assoc_id = SCTP_FUTURE_ASSOC;
  assoc.sasoc_asocmaxrxt = config_.max_retransmissions;
  ok = ok && set_option(socket_, IPPROTO_SCTP, SCTP_ASSOCINFO, assoc);
  for (uint16_t type : {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT, SCTP_SEND_FAILED_EVENT,
                        SCTP_PEER_ADDR_CHANGE, SCTP_REMOTE_ERROR, SCTP_STREAM_CHANGE_EVENT}) {
    sctp_event event{};
    event.se_assoc_id = SCTP_ALL_ASSOC;
    event.se_type = type;
    event.se_on = 1;
    ok = ok && set_option(socket_, IPPROTO_SCTP, SCTP_EVENT, event);
  }
  if (!ok) return Error{"usrsctp_setsockopt failed"};
  sockaddr_conn local = conn_address(token_, config_.local_port);
  if (usrsctp_bind(socket_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    return Error{"usrsctp_bind failed"};
  }
  return Status::Ok();
}

void SctpAssociation::start(Timestamp now) {
  if (started_) return;
  started_ = true;
  last_now_ = now;
  library_->advance_to(now);
  sockaddr_conn remote = conn_address(token_, config_.remote_port);
  // Non-blocking: EINPROGRESS is the normal answer; the INIT is already queued.
  const int rc = usrsctp_connect(socket_, reinterpret_cast<sockaddr*>(&remote), sizeof(remote));
  if (rc != 0 && errno != EINPROGRESS) on_down("usrsctp_connect failed");
  next_tick_ = now + config_.timer_interval;
  after_usrsctp(now);
}

void SctpAssociation::on_packet(std::span<const uint8_t> packet, Timestamp now) {
  ++counters_.packets_received;
  counters_.bytes_received += packet.size();
  last_now_ = std::max(last_now_, now);
  library_->advance_to(now);
  usrsctp_conninput(token_, packet.data(), packet.size(), 0);
  after_usrsctp(now);
}

std::optional<std::vector<uint8_t>> SctpAssociation::pop_outgoing() {
  if (outgoing_.empty()) return std::nullopt;
  auto packet = std::move(outgoing_.front());
  outgoing_.pop_front();
  return packet;
}

std::optional<SctpEvent> SctpAssociation::pop_event() {
  if (events_.empty()) return std::nullopt;
  auto event = std::move(events_.front());
  events_.pop_front();
  return event;
}

std::optional<Timestamp> SctpAssociation::next_wakeup() const {
  // Another association's call (a shared timer tick) can queue for this one: come back at once.
  if (!outgoing_.empty() || !inbox_.empty()) return last_now_;
  if (!started_ || down_) return std::nullopt;
  return next_tick_;
}

void SctpAssociation::process(Timestamp now) {
  last_now_ = std::max(last_now_, now);
  library_->advance_to(now);
  if (started_ && next_tick_ && now >= *next_tick_) next_tick_ = now + config_.timer_interval;
  after_usrsctp(now);
}

void SctpAssociation::on_usrsctp_packet(std::span<const uint8_t> packet) {
  if (destroying_) return;
  if (outgoing_.size() >= config_.max_outgoing) {
    ++counters_.outgoing_dropped;
    return;
  }
  ++counters_.packets_sent;
  counters_.bytes_sent += packet.size();
  outgoing_.emplace_back(packet.begin(), packet.end());
}

void SctpAssociation::on_usrsctp_receive(Inbound inbound) {
  if (!destroying_) inbox_.push_back(std::move(inbound));
}

void SctpAssociation::after_usrsctp(Timestamp now) {
  // Handling an item may call usrsctp (an ACK, a reset) and so append to the inbox: loop until
  // dry (bounded: each usrsctp call adds at most the few notifications its work caused).
  while (!inbox_.empty()) {
    Inbound in = std::move(inbox_.front());
    inbox_.pop_front();
    if (in.flags & MSG_NOTIFICATION) {
      handle_notification(in.data, now);
      continue;
    }
    Partial& partial = partials_[in.stream];
    if (!partial.discarding) {
      if (partial.data.size() + in.data.size() > config_.max_message_size) {
        partial.discarding = true;
        partial.data = {};
      } else if (partial.data.empty()) {
        partial.data = std::move(in.data);
      } else {
        partial.data.insert(partial.data.end(), in.data.begin(), in.data.end());
      }
    }
    if (!(in.flags & MSG_EOR)) continue;  // more pieces of this message follow
    const bool discarded = partial.discarding;
    std::vector<uint8_t> message = std::move(partial.data);
    partials_.erase(in.stream);
    if (discarded) {
      ++counters_.received_too_large;
      continue;
    }
    handle_message(in.stream, in.ppid, std::move(message), now);
  }
  flush_send_queue();
  request_resets();
}

void SctpAssociation::handle_message(uint16_t stream, uint32_t ppid, std::vector<uint8_t> data,
                                     Timestamp now) {
  if (ppid == kPpidDcep) {
    handle_dcep(stream, data, now);
    return;
  }
  const bool known = ppid == kPpidString || ppid == kPpidBinary || ppid == kPpidStringEmpty ||
                     ppid == kPpidBinaryEmpty;
  if (!known) {  // includes the deprecated partial PPIDs 52 and 54
    ++counters_.unknown_ppid_messages;
    return;
  }
  auto it = channels_.find(stream);
  if (it == channels_.end() || it->second.stats.state == DataChannelState::kClosed ||
      it->second.stats.state == DataChannelState::kConnecting) {
    ++counters_.unknown_stream_messages;
    return;
  }
  Channel& channel = it->second;
  channel.acked = true;  // RFC 8832 6: a user message on the stream also acknowledges the OPEN
  if (ppid == kPpidStringEmpty || ppid == kPpidBinaryEmpty) data.clear();
  if (events_.size() >= config_.max_events) {
    ++counters_.received_dropped;
    return;
  }
  ++channel.stats.messages_received;
  channel.stats.bytes_received += data.size();
  SctpEvent event;
  event.type = SctpEvent::Type::kMessage;
  event.channel = stream;
  event.binary = ppid == kPpidBinary || ppid == kPpidBinaryEmpty;
  event.data = std::move(data);
  events_.push_back(std::move(event));
}

void SctpAssociation::handle_dcep(uint16_t stream, std::span<const uint8_t> data, Timestamp now) {
  const auto type = dcep_message_type(data);
  if (type == kDcepAck && data.size() == 1) {
    auto it = channels_.find(stream);
    if (it == channels_.end() || it->second.remote || it->second.acked) {
      ++counters_.dcep_errors;  // an ACK nobody waits for
      return;
    }
    it->second.acked = true;
    return;
  }
  auto open = DcepOpen::Parse(data);
  if (!open.ok()) {
    ++counters_.dcep_errors;
    return;
  }
  // The peer allocates the other parity (RFC 8832 6); an id in use is a collision.
  auto existing = channels_.find(stream);
  if (own_parity(stream) || stream >= negotiated_streams_ ||
      (existing != channels_.end() && existing->second.stats.state != DataChannelState::kClosed)) {
    ++counters_.dcep_errors;
    return;
  }
  Channel channel;
  channel.remote = true;
  channel.init.label = open->label;
  channel.init.protocol = open->protocol;
  channel.init.ordered = open->ordered;
  channel.init.priority = open->priority;
  channel.init.id = stream;
  if (open->reliability == Reliability::kMaxRetransmits) {
    channel.init.max_retransmits = static_cast<uint16_t>(std::min<uint32_t>(open->reliability_parameter, 0xFFFF));
  } else if (open->reliability == Reliability::kMaxPacketLifetime) {
    channel.init.max_packet_lifetime_ms = static_cast<uint16_t>(std::min<uint32_t>(open->reliability_parameter, 0xFFFF));
  }
  channel.stats.label = open->label;
  channel.stats.protocol = open->protocol;
  channel.stats.data_channel_identifier = stream;
  channel.stats.state = DataChannelState::kOpen;
  channels_[stream] = std::move(channel);
  Pending ack;
  ack.stream = stream;
  ack.ppid = kPpidDcep;
  enqueue(std::move(ack), dcep_ack());
  SctpEvent event;
  event.type = SctpEvent::Type::kChannelOpened;
  event.channel = stream;
  event.remote = true;
  push_event(std::move(event));
  (void)now;
}

void SctpAssociation::handle_notification(std::span<const uint8_t> bytes, Timestamp now) {
  decltype(sctp_notification::sn_header) header{};
  if (bytes.size() < sizeof(header)) return;
  std::memcpy(&header, bytes.data(), sizeof(header));
  switch (header.sn_type) {
    case SCTP_ASSOC_CHANGE: {
      sctp_assoc_change change{};
      if (bytes.size() < sizeof(change)) return;
      std::memcpy(&change, bytes.data(), sizeof(change));
      switch (change.sac_state) {
        case SCTP_COMM_UP:
        case SCTP_RESTART:
          on_up(std::min(change.sac_outbound_streams, change.sac_inbound_streams), now);
          break;
        case SCTP_COMM_LOST: on_down("SCTP association lost (peer unreachable or aborted)"); break;
        case SCTP_SHUTDOWN_COMP: on_down("SCTP association shut down"); break;
        case SCTP_CANT_STR_ASSOC: on_down("SCTP association could not be started"); break;
        default: break;
      }
      break;
    }
    case SCTP_STREAM_RESET_EVENT: {
      sctp_stream_reset_event reset{};
      if (bytes.size() < sizeof(reset)) return;
      std::memcpy(&reset, bytes.data(), sizeof(reset));
      const size_t length = std::min<size_t>(reset.strreset_length, bytes.size());
      const size_t count = length > sizeof(reset) ? (length - sizeof(reset)) / sizeof(uint16_t) : 0;
      std::vector<uint16_t> streams(count);
      if (count > 0) std::memcpy(streams.data(), bytes.data() + sizeof(reset), count * sizeof(uint16_t));
      handle_stream_reset(reset.strreset_flags, streams);
      break;
    }
    case SCTP_SEND_FAILED_EVENT: ++counters_.abandoned_messages; break;
    default: break;  // peer address changes, remote errors, stream count changes: nothing to do
  }
}

void SctpAssociation::handle_stream_reset(uint16_t flags, std::span<const uint16_t> streams) {
  const bool failed = (flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) != 0;
  for (uint16_t id : streams) {
    auto it = channels_.find(id);
    if (it == channels_.end()) continue;
    Channel& channel = it->second;
    if (failed) {
      // The peer refused (it may have had its own request in flight): ask again later.
      ++counters_.stream_reset_failures;
      if (flags & SCTP_STREAM_RESET_OUTGOING_SSN) {
        channel.reset_requested = false;
        pending_resets_.push_back(id);
      }
      continue;
    }
    if (flags & SCTP_STREAM_RESET_INCOMING_SSN) {
      // The peer closed: RFC 8831 6.7, reset our outgoing stream as well.
      channel.incoming_reset = true;
      partials_.erase(id);
      if (channel.stats.state != DataChannelState::kClosed) {
        channel.stats.state = DataChannelState::kClosing;
        if (!channel.reset_requested && std::find(pending_resets_.begin(), pending_resets_.end(), id) ==
                                            pending_resets_.end()) {
          pending_resets_.push_back(id);
        }
      }
    }
    if (flags & SCTP_STREAM_RESET_OUTGOING_SSN) channel.outgoing_reset = true;
    if (channel.incoming_reset && channel.outgoing_reset) finish_close(id, channel);
  }
}

void SctpAssociation::on_up(uint16_t streams, Timestamp now) {
  if (up_) return;
  up_ = true;
  negotiated_streams_ = streams;
  SctpEvent event;
  event.type = SctpEvent::Type::kAssociationUp;
  push_event(std::move(event));
  for (auto& [id, channel] : channels_) {
    if (channel.stats.state != DataChannelState::kConnecting) continue;
    if (id >= negotiated_streams_) {  // the peer offered fewer streams than this id needs
      finish_close(id, channel);
      continue;
    }
    open_local_channel(id, channel);
  }
  (void)now;
}

void SctpAssociation::on_down(const char* reason) {
  if (down_) return;
  down_ = true;
  up_ = false;
  for (auto& [id, channel] : channels_) finish_close(id, channel);
  send_queue_.clear();
  send_queue_bytes_ = 0;
  pending_resets_.clear();
  SctpEvent event;
  event.type = SctpEvent::Type::kAssociationDown;
  event.reason = reason;
  push_event(std::move(event));
}

void SctpAssociation::open_local_channel(uint16_t id, Channel& channel) {
  if (!channel.init.negotiated) {
    DcepOpen open;
    open.ordered = channel.init.ordered;
    open.priority = channel.init.priority;
    open.label = channel.init.label;
    open.protocol = channel.init.protocol;
    std::tie(open.reliability, open.reliability_parameter) = reliability_of(channel.init);
    Pending pending;
    pending.stream = id;
    pending.ppid = kPpidDcep;
    enqueue(std::move(pending), open.serialize());  // ordered and reliable (RFC 8832 6)
    channel.acked = false;
  }
  // Open without waiting for the ACK, as browsers do: messages sent meanwhile go ordered.
  channel.stats.state = DataChannelState::kOpen;
  SctpEvent event;
  event.type = SctpEvent::Type::kChannelOpened;
  event.channel = id;
  push_event(std::move(event));
}

Result<uint16_t> SctpAssociation::create_channel(const DataChannelInit& init, Timestamp now) {
  if (down_) return Error{"the SCTP association is closed"};
  if (init.max_retransmits && init.max_packet_lifetime_ms) {
    return Error{"max_retransmits and max_packet_lifetime are exclusive"};
  }
  if (init.label.size() > 0xFFFF || init.protocol.size() > 0xFFFF) {
    return Error{"label or protocol longer than 65535 bytes"};
  }
  const uint16_t limit = up_ ? negotiated_streams_ : config_.streams;
  auto free_id = [&](uint16_t id) {
    auto it = channels_.find(id);
    return it == channels_.end() || it->second.stats.state == DataChannelState::kClosed;
  };
  uint16_t id = 0;
  if (init.negotiated || init.id) {
    if (!init.id) return Error{"a negotiated channel needs an id"};
    id = *init.id;
    if (id >= limit || id == 65535) return Error{"channel id beyond the negotiated streams"};
    if (!free_id(id)) return Error{"channel id in use"};
    if (!init.negotiated && !own_parity(id)) return Error{"channel id of the peer's parity (RFC 8832 6)"};
  } else {
    uint32_t candidate = config_.role == SctpRole::kDtlsClient ? 0 : 1;
    while (candidate < limit && !free_id(static_cast<uint16_t>(candidate))) candidate += 2;
    if (candidate >= limit) return Error{"no free stream id"};
    id = static_cast<uint16_t>(candidate);
  }
  Channel channel;
  channel.init = init;
  channel.init.id = id;
  channel.stats.label = init.label;
  channel.stats.protocol = init.protocol;
  channel.stats.data_channel_identifier = id;
  channel.stats.state = DataChannelState::kConnecting;
  partials_.erase(id);
  Channel& stored = channels_[id] = std::move(channel);
  if (up_) {
    open_local_channel(id, stored);
    flush_send_queue();
  }
  (void)now;
  return id;
}

Status SctpAssociation::send(uint16_t id, std::span<const uint8_t> data, bool binary, Timestamp now) {
  (void)now;
  auto it = channels_.find(id);
  if (it == channels_.end() || it->second.stats.state != DataChannelState::kOpen) {
    ++counters_.refused_messages;
    return Error{"data channel not open"};
  }
  if (data.size() > max_send_message_size()) {
    ++counters_.refused_messages;
    return Error{"message larger than the peer's max-message-size"};
  }
  if (send_queue_bytes_ + data.size() > config_.max_buffered_amount) {
    ++counters_.refused_messages;
    return Error{"data channel send buffer full"};
  }
  Channel& channel = it->second;
  ++channel.stats.messages_sent;
  channel.stats.bytes_sent += data.size();
  Pending pending;
  pending.stream = id;
  pending.ppid = user_ppid(binary, data.empty());
  // RFC 8832 6: until the ACK arrives, messages go ordered so that none overtakes the OPEN.
  pending.ordered = channel.init.ordered || !channel.acked;
  std::tie(pending.reliability, pending.reliability_parameter) = reliability_of(channel.init);
  pending.user_bytes = data.size();
  // RFC 8831 6.6: SCTP cannot carry an empty message; one byte with PPID 56/57 stands for it.
  static constexpr uint8_t kEmptyStandIn[1] = {0};
  enqueue(std::move(pending), data.empty() ? std::span<const uint8_t>(kEmptyStandIn) : data);
  return Status::Ok();
}

void SctpAssociation::enqueue(Pending pending, std::span<const uint8_t> data) {
  // Straight to usrsctp when nothing waits (no copy); into the FIFO otherwise.
  if (send_queue_.empty() && up_ && try_send(pending, data) != SendResult::kBlocked) return;
  pending.data.assign(data.begin(), data.end());
  send_queue_bytes_ += pending.user_bytes;
  if (auto it = channels_.find(pending.stream); it != channels_.end()) {
    it->second.buffered += pending.user_bytes;
  }
  send_queue_.push_back(std::move(pending));
}

SctpAssociation::SendResult SctpAssociation::try_send(const Pending& pending, std::span<const uint8_t> data) {
  sctp_sendv_spa spa{};
  spa.sendv_flags = SCTP_SEND_SNDINFO_VALID | SCTP_SEND_PRINFO_VALID;
  spa.sendv_sndinfo.snd_sid = pending.stream;
  spa.sendv_sndinfo.snd_ppid = htonl(pending.ppid);
  spa.sendv_sndinfo.snd_flags = static_cast<uint16_t>(SCTP_EOR | (pending.ordered ? 0 : SCTP_UNORDERED));
  switch (pending.reliability) {
    case Reliability::kReliable: spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_NONE; break;
    case Reliability::kMaxRetransmits: spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_RTX; break;
    case Reliability::kMaxPacketLifetime: spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_TTL; break;
  }
  spa.sendv_prinfo.pr_value = pending.reliability_parameter;
  const ssize_t rc = usrsctp_sendv(socket_, data.data(), data.size(), nullptr, 0, &spa,
                                   sizeof(spa), SCTP_SENDV_SPA, 0);
  if (rc >= 0) return SendResult::kSent;
  if (errno == EWOULDBLOCK || errno == EAGAIN) return SendResult::kBlocked;
  ++counters_.send_errors;
  return SendResult::kFailed;
}

void SctpAssociation::flush_send_queue() {
  if (!up_) return;
  while (!send_queue_.empty()) {
    Pending& front = send_queue_.front();
    if (try_send(front, front.data) == SendResult::kBlocked) break;
    send_queue_bytes_ -= front.user_bytes;
    auto it = channels_.find(front.stream);
    if (it != channels_.end() && front.user_bytes > 0) {
      Channel& channel = it->second;
      const size_t before = channel.buffered;
      channel.buffered -= std::min(channel.buffered, front.user_bytes);
      if (before > channel.low_threshold && channel.buffered <= channel.low_threshold) {
        SctpEvent event;
        event.type = SctpEvent::Type::kBufferedAmountLow;
        event.channel = front.stream;
        push_event(std::move(event));
      }
    }
    send_queue_.pop_front();
  }
  // Closing channels whose last message left: reset their outgoing stream.
  for (auto& [id, channel] : channels_) {
    if (channel.stats.state == DataChannelState::kClosing && channel.buffered == 0 &&
        !channel.reset_requested && !channel.outgoing_reset &&
        std::find(pending_resets_.begin(), pending_resets_.end(), id) == pending_resets_.end()) {
      const bool queued = std::any_of(send_queue_.begin(), send_queue_.end(),
                                      [id = id](const Pending& p) { return p.stream == id; });
      if (!queued) pending_resets_.push_back(id);
    }
  }
}

void SctpAssociation::request_resets() {
  if (!up_ || pending_resets_.empty()) return;
  std::vector<uint8_t> buffer(sizeof(sctp_reset_streams) + pending_resets_.size() * sizeof(uint16_t));
  sctp_reset_streams header{};
  header.srs_assoc_id = SCTP_ALL_ASSOC;
  header.srs_flags = SCTP_STREAM_RESET_OUTGOING;
  header.srs_number_streams = static_cast<uint16_t>(pending_resets_.size());
  std::memcpy(buffer.data(), &header, sizeof(header));
  std::memcpy(buffer.data() + sizeof(header), pending_resets_.data(), pending_resets_.size() * sizeof(uint16_t));
  if (usrsctp_setsockopt(socket_, IPPROTO_SCTP, SCTP_RESET_STREAMS, buffer.data(),
                         static_cast<socklen_t>(buffer.size())) != 0) {
    return;  // one request at a time (EALREADY/EBUSY): retried after the next call
  }
  ++counters_.stream_resets_sent;
  for (uint16_t id : pending_resets_) {
    if (auto it = channels_.find(id); it != channels_.end()) it->second.reset_requested = true;
  }
  pending_resets_.clear();
  // The request may complete inside the call (its notification is in the inbox): handled on the
  // next after_usrsctp(); make sure there is one soon.
}

void SctpAssociation::close_channel(uint16_t id, Timestamp now) {
  auto it = channels_.find(id);
  if (it == channels_.end()) return;
  Channel& channel = it->second;
  switch (channel.stats.state) {
    case DataChannelState::kClosing:
    case DataChannelState::kClosed: return;
    case DataChannelState::kConnecting: finish_close(id, channel); return;  // nothing sent yet
    case DataChannelState::kOpen: channel.stats.state = DataChannelState::kClosing; break;
  }
  flush_send_queue();
  request_resets();
  (void)now;
}

void SctpAssociation::finish_close(uint16_t id, Channel& channel) {
  if (channel.stats.state == DataChannelState::kClosed) return;
  channel.stats.state = DataChannelState::kClosed;
  SctpEvent event;
  event.type = SctpEvent::Type::kChannelClosed;
  event.channel = id;
  push_event(std::move(event));
}

void SctpAssociation::push_event(SctpEvent event) {
  // State events are never dropped (few, bounded by the channels); only messages are.
  events_.push_back(std::move(event));
}

bool SctpAssociation::own_parity(uint16_t id) const {
  return (id % 2 == 0) == (config_.role == SctpRole::kDtlsClient);
}

size_t SctpAssociation::buffered_amount(uint16_t id) const {
  auto it = channels_.find(id);
  return it == channels_.end() ? 0 : it->second.buffered;
}

void SctpAssociation::set_buffered_amount_low_threshold(uint16_t id, size_t bytes) {
  if (auto it = channels_.find(id); it != channels_.end()) it->second.low_threshold = bytes;
}

std::optional<DataChannelState> SctpAssociation::channel_state(uint16_t id) const {
  auto it = channels_.find(id);
  if (it == channels_.end()) return std::nullopt;
  return it->second.stats.state;
}

std::optional<DataChannelStats> SctpAssociation::channel_stats(uint16_t id) const {
  auto it = channels_.find(id);
  if (it == channels_.end()) return std::nullopt;
  return it->second.stats;
}

std::vector<DataChannelStats> SctpAssociation::stats() const {
  std::vector<DataChannelStats> out;
  out.reserve(channels_.size());
  for (const auto& [id, channel] : channels_) out.push_back(channel.stats);
  return out;
}

void SctpAssociation::set_remote_max_message_size(size_t bytes) { config_.remote_max_message_size = bytes; }

size_t SctpAssociation::max_send_message_size() const {
  // 0 means "no limit" (RFC 8841 6.1): capped by what usrsctp takes in one send.
  const size_t cap = std::max(config_.send_buffer, config_.max_message_size);
  return config_.remote_max_message_size == 0 ? cap : config_.remote_max_message_size;
}

}  // namespace tern::sctp
