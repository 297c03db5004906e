// The receive front of one RTP stream (see rtp_receive_front.h).
#include "tern/pipeline/rtp_receive_front.h"

#include <utility>

#include "tern/core/seq_num.h"
#include "tern/recovery/red.h"
#include "tern/recovery/ulpfec.h"

namespace tern::pipeline {

// What follows statistics: turns a packet as travelled into media packets.
class RtpReceiveFront::PayloadStage {
 public:
  virtual ~PayloadStage() = default;
  virtual void on_packet(RtpReceiveFront& front, rtp::RtpPacket packet, bool retransmitted, Timestamp now,
                         Listener& listener) = 0;

 protected:
  static void account(RtpReceiveFront& f, const rtp::RtpPacket& p, bool retransmitted, Timestamp now) {
    f.account(p, retransmitted, now);
  }
  static void deliver(RtpReceiveFront& f, rtp::RtpPacket p, PacketOrigin origin, Timestamp now, Listener& l) {
    f.deliver(std::move(p), origin, now, l);
  }
  static NackStage& nack(RtpReceiveFront& f) { return *f.nack_; }
  static std::optional<recovery::FecLossWatch>& fec_loss(RtpReceiveFront& f) { return f.fec_loss_; }
  static void want_keyframe(RtpReceiveFront& f) { f.keyframe_wanted_ = true; }
  static RtpReceiveFrontCounters& counters(RtpReceiveFront& f) { return f.counters_; }
  static void note_rebuilt(RtpReceiveFront& f, uint16_t seq) { f.note_rebuilt(seq); }
};

// The NACK generator, or nothing.
class RtpReceiveFront::NackStage {
 public:
  virtual ~NackStage() = default;
  // Returns true when the generator gave up on its list and wants a keyframe instead.
  virtual bool on_packet(uint16_t seq, uint32_t rtp_timestamp, bool marker, const Listener::Verdict& verdict,
                         recovery::PacketArrival arrival, Timestamp now) = 0;
  virtual void on_rtt(TimeDelta rtt) = 0;
  virtual std::optional<Timestamp> next_wakeup() const = 0;
  virtual std::vector<uint16_t> process(Timestamp now) = 0;
  virtual recovery::NackGeneratorStats stats() const = 0;
};

namespace {

// What the NACK generator is told about a packet's way here: a redundant RED block is forward
// error correction too (RFC 2198), so it counts with FEC.
recovery::PacketArrival arrival_of(PacketOrigin origin) {
  switch (origin) {
    case PacketOrigin::kMedia:
      return recovery::PacketArrival::kOriginal;
    case PacketOrigin::kRetransmission:
      return recovery::PacketArrival::kRetransmission;
    case PacketOrigin::kFecRecovery:
    case PacketOrigin::kRedundancy:
      return recovery::PacketArrival::kFecRecovery;
  }
  return recovery::PacketArrival::kOriginal;
}

class NoNack final : public RtpReceiveFront::NackStage {
 public:
  bool on_packet(uint16_t, uint32_t, bool, const RtpReceiveFront::Listener::Verdict&, recovery::PacketArrival,
                 Timestamp) override {
    return false;
  }
  void on_rtt(TimeDelta) override {}
  std::optional<Timestamp> next_wakeup() const override { return std::nullopt; }
  std::vector<uint16_t> process(Timestamp) override { return {}; }
  recovery::NackGeneratorStats stats() const override { return {}; }
};

class Nack final : public RtpReceiveFront::NackStage {
 public:
  explicit Nack(recovery::NackGenerator generator) : generator_(std::move(generator)) {}
  bool on_packet(uint16_t seq, uint32_t rtp_timestamp, bool marker, const RtpReceiveFront::Listener::Verdict& verdict,
                 recovery::PacketArrival arrival, Timestamp now) override {
    const recovery::NackGenerator::PacketResult r = generator_.on_packet(seq, verdict.keyframe_packet, arrival, now);
    if (verdict.keyframe_first_seq) generator_.clear_up_to(*verdict.keyframe_first_seq);
    if (verdict.picture) {
      on_picture_packet(seq, rtp_timestamp, marker, *verdict.picture);
    } else if (last_ && last_->marker && rtp_timestamp == last_->timestamp && seq_newer(seq, last_->seq)) {
      // A packet of the picture that just ended, sent after its last packet: its FEC (RED keeps
      // the media's timestamp). The numbers between are more of the same.
      generator_.forget_between(last_->seq, seq);
    }
    return r.keyframe_needed;
  }
  void on_rtt(TimeDelta rtt) override { generator_.on_rtt(rtt); }
  std::optional<Timestamp> next_wakeup() const override { return generator_.next_wakeup(); }
  std::vector<uint16_t> process(Timestamp now) override { return generator_.process(now); }
  recovery::NackGeneratorStats stats() const override { return generator_.stats(); }

 private:
  // The newest media packet so far; after a marker, the numbers up to a later packet of the same
  // picture (its FEC) or up to the next picture's first packet are not media. Reordered or older
  // packets change nothing (a gap then stays NACKed, as before).
  void on_picture_packet(uint16_t seq, uint32_t rtp_timestamp, bool marker,
                         const RtpReceiveFront::Listener::Verdict::Picture& picture) {
    if (last_ && !seq_newer(seq, last_->seq)) return;
    if (last_ && last_->marker && picture.first_packet && picture.modulus == last_->modulus &&
        picture.id == (last_->id + 1) % picture.modulus) {
      generator_.forget_between(last_->seq, seq);
    }
    last_ = Last{seq, rtp_timestamp, picture.id, picture.modulus, marker};
  }
  struct Last {
    uint16_t seq;
    uint32_t timestamp;
    uint16_t id;
    uint16_t modulus;
    bool marker;
  };
  recovery::NackGenerator generator_;
  std::optional<Last> last_;
};

class PassThrough final : public RtpReceiveFront::PayloadStage {
 public:
  void on_packet(RtpReceiveFront& front, rtp::RtpPacket packet, bool retransmitted, Timestamp now,
                 RtpReceiveFront::Listener& listener) override {
    account(front, packet, retransmitted, now);
    deliver(front, std::move(packet),
            retransmitted ? PacketOrigin::kRetransmission : PacketOrigin::kMedia, now, listener);
  }
};

// RFC 2198: every block of a RED packet, oldest first; a consumer that keeps one copy per sequence
// number (an audio jitter buffer) drops the redundant blocks it already has.
class RedSplit final : public RtpReceiveFront::PayloadStage {
 public:
  explicit RedSplit(uint8_t red_pt) : red_pt_(red_pt) {}
  void on_packet(RtpReceiveFront& front, rtp::RtpPacket packet, bool retransmitted, Timestamp now,
                 RtpReceiveFront::Listener& listener) override {
    account(front, packet, retransmitted, now);
    const PacketOrigin origin = retransmitted ? PacketOrigin::kRetransmission : PacketOrigin::kMedia;
    if (packet.payload_type() != red_pt_) {
      deliver(front, std::move(packet), origin, now, listener);
      return;
    }
    ++counters(front).red_packets_received;
    auto blocks = recovery::decode_red(packet);
    if (!blocks) {
      ++counters(front).red_packets_malformed;
      return;
    }
    const size_t n = blocks->size();
    for (size_t i = 0; i < n; ++i) {
      rtp::RtpPacket& b = (*blocks)[i];
      b.arrival_time = now;
      deliver(front, std::move(b), i + 1 < n ? PacketOrigin::kRedundancy : origin, now, listener);
    }
  }

 private:
  uint8_t red_pt_;
};

// RFC 5109 inside RFC 2198 (browser style): RED packets carry media or ULPFEC; media goes on,
// FEC repairs lost media. A FEC packet counts in the statistics and the NACK generator of the
// media SSRC (it took one of its sequence numbers).
class UlpfecInRed final : public RtpReceiveFront::PayloadStage {
 public:
  explicit UlpfecInRed(const recovery::UlpfecReceiver::Config& config)
      : fec_(config), red_pt_(config.red_payload_type.value_or(0)) {}
  void on_packet(RtpReceiveFront& front, rtp::RtpPacket packet, bool retransmitted, Timestamp now,
                 RtpReceiveFront::Listener& listener) override {
    const bool is_red = packet.payload_type() == red_pt_;
    recovery::UlpfecReceiver::Output out = fec_.on_packet(packet);
    if (!out.protected_seqs.empty() && fec_loss(front)) fec_loss(front)->on_fec_protects(out.protected_seqs, packet.sequence_number());
    if (is_red && !out.media) {
      ++counters(front).fec_packets_received;
      account(front, packet, retransmitted, now);
      // Its sequence number is not missing. Should the gap before it overflow the NACK list, the
      // keyframe request that follows is not acted on (as the streams always did; a later media
      // packet cannot raise it again since the list was cleared): counted, for a later fix.
      const auto arrival = retransmitted ? recovery::PacketArrival::kRetransmission : recovery::PacketArrival::kOriginal;
      if (nack(front).on_packet(packet.sequence_number(), packet.timestamp(), packet.marker(), {}, arrival, now)) {
        ++counters(front).keyframe_requests_not_sent;
      }
      // The FEC loss watch (no NACK) sees the gap a FEC packet closes and acts on it.
      if (fec_loss(front) &&
          fec_loss(front)->on_packet(packet.sequence_number(), packet.timestamp(), packet.marker(), now, /*media=*/false)) {
        want_keyframe(front);
      }
    }
    if (out.media) {
      out.media->arrival_time = now;
      // Statistics see the packet as it travelled (RED-wrapped) for sizes and sequence numbers.
      account(front, packet, retransmitted, now);
      deliver(front, std::move(*out.media), retransmitted ? PacketOrigin::kRetransmission : PacketOrigin::kMedia,
              now, listener);
    }
    for (rtp::RtpPacket& rec : out.recovered) {
      note_rebuilt(front, rec.sequence_number());
      rec.arrival_time = now;
      deliver(front, std::move(rec), PacketOrigin::kFecRecovery, now, listener);
    }
    counters(front).fec_packets_discarded = static_cast<int64_t>(fec_.stats().fec_packets_discarded);
  }

 private:
  recovery::UlpfecReceiver fec_;
  uint8_t red_pt_;
};

}  // namespace

Result<RtpReceiveFront> RtpReceiveFront::Create(const Config& config) {
  if (config.ssrc == 0) return Error{"rtp receive front: zero SSRC"};
  if (config.ulpfec_payload_type && !config.red_payload_type) {
    return Error{"rtp receive front: ULPFEC is received inside RED only"};
  }
  if (config.flexfec_ssrc != 0 && (config.flexfec_ssrc == config.ssrc || config.flexfec_ssrc == config.rtx_ssrc)) {
    return Error{"rtp receive front: the FlexFEC SSRC must be a stream of its own"};
  }
  if (config.nack) {
    if (Status s = config.nack->validate(); !s.ok()) return Error{s.error()};
  }
  if (config.statistics != nullptr) {
    for (const auto& [pt, rate] : config.clock_rates) {
      if (Status s = config.statistics->register_payload_type(pt, rate); !s.ok()) return Error{s.error()};
    }
  }
  return RtpReceiveFront(config);
}

void RtpReceiveFront::set_rtx_ssrc(uint32_t rtx_ssrc) {
  config_.rtx_ssrc = rtx_ssrc;
  rtx_.reset();
  if (rtx_ssrc == 0) return;
  recovery::RtxReceiver::Config rc;
  rc.media_ssrc = config_.ssrc;
  rc.rtx_ssrc = rtx_ssrc;
  rc.rtx_to_media_pt = config_.rtx_payload_types;
  rtx_.emplace(rc);
}

RtpReceiveFront::RtpReceiveFront(const Config& config) : config_(config) {
  rebuilt_.fill(-1);
  set_rtx_ssrc(config_.rtx_ssrc);
  if (config_.flexfec_ssrc != 0) {
    recovery::FlexfecReceiver::Config fc;
    fc.flexfec_ssrc = config_.flexfec_ssrc;
    fc.flexfec_payload_type = config_.flexfec_payload_type;
    fc.protected_ssrc = config_.ssrc;
    flexfec_.emplace(fc);
  }
  if (config_.red_payload_type && config_.ulpfec_payload_type) {
    recovery::UlpfecReceiver::Config fc;
    fc.media_ssrc = config_.ssrc;
    fc.ulpfec_payload_type = *config_.ulpfec_payload_type;
    fc.red_payload_type = config_.red_payload_type;
    payload_ = std::make_unique<UlpfecInRed>(fc);
  } else if (config_.red_payload_type) {
    payload_ = std::make_unique<RedSplit>(*config_.red_payload_type);
  } else {
    payload_ = std::make_unique<PassThrough>();
  }
  if (config_.nack) {
    nack_ = std::make_unique<Nack>(recovery::NackGenerator(*config_.nack));
  } else {
    nack_ = std::make_unique<NoNack>();
    if (config_.ulpfec_payload_type || config_.flexfec_ssrc != 0) {
      recovery::FecLossWatchConfig wc;
      // ULPFEC numbers its packets in the media's sequence: a gap must be confirmed as media.
      wc.confirm_media = config_.ulpfec_payload_type.has_value();
      fec_loss_.emplace(wc);
    }
  }
}

RtpReceiveFront::RtpReceiveFront(RtpReceiveFront&&) noexcept = default;
RtpReceiveFront& RtpReceiveFront::operator=(RtpReceiveFront&&) noexcept = default;
RtpReceiveFront::~RtpReceiveFront() = default;

bool RtpReceiveFront::on_rtp(const rtp::RtpPacket& packet, Timestamp now, Listener& listener) {
  if (packet.ssrc() == config_.ssrc) {
    payload_->on_packet(*this, packet, false, now, listener);
    return true;
  }
  if (flexfec_ && packet.ssrc() == config_.flexfec_ssrc) {
    ++counters_.fec_packets_received;
    deliver_flexfec(flexfec_->on_packet(packet), now, listener);
    return true;
  }
  if (!rtx_ || packet.ssrc() != config_.rtx_ssrc) return false;
  auto original = rtx_->unwrap(packet);
  if (!original) {  // a padding-only probe (nothing to restore) or an unmapped payload type
    ++counters_.rtx_rejected;
    return true;
  }
  ++counters_.retransmitted_packets_received;
  rtp::RtpPacket restored = std::move(original).value();
  restored.arrival_time = now;
  payload_->on_packet(*this, std::move(restored), true, now, listener);
  return true;
}

void RtpReceiveFront::account(const rtp::RtpPacket& packet, bool retransmitted, Timestamp now) {
  if (config_.statistics == nullptr) return;
  // A packet failing validation is still passed on: the consumer's own buffers judge it, and
  // dropping during the probation of a new source would lose the start of every stream.
  if (!config_.statistics->on_rtp_packet(packet.header(), now, packet.size(), retransmitted)) {
    ++counters_.statistics_invalid;
  }
}

void RtpReceiveFront::deliver(rtp::RtpPacket packet, PacketOrigin origin, Timestamp now, Listener& listener) {
  const uint16_t seq = packet.sequence_number();
  const uint32_t rtp_timestamp = packet.timestamp();
  const bool marker = packet.marker();
  // Only the packet itself, arriving late, says the rebuild was of a reordered packet. A
  // retransmission of a rebuilt one answers a NACK sent before FEC rebuilt it: the loss was real
  // (counted here, wifi-lossy's 12 s turned 14 FEC repairs into 3).
  if (origin == PacketOrigin::kMedia && rebuilt_live_ > 0) check_rebuilt(seq);
  // FlexFEC protects media as sent: what arrived (or RTX restored) joins its window; what it
  // rebuilt is in the window already.
  std::vector<rtp::RtpPacket> recovered;
  if (flexfec_ && origin != PacketOrigin::kFecRecovery && packet.ssrc() == config_.ssrc) {
    recovered = flexfec_->on_packet(packet);
  }
  const Listener::Verdict verdict = listener.on_media_packet(std::move(packet), origin, now);
  if (nack_->on_packet(seq, rtp_timestamp, marker, verdict, arrival_of(origin), now)) keyframe_wanted_ = true;
  if (fec_loss_) {
    if (verdict.keyframe_first_seq) fec_loss_->on_keyframe(*verdict.keyframe_first_seq);
    if (fec_loss_->on_packet(seq, rtp_timestamp, marker, now)) keyframe_wanted_ = true;
  }
  if (!recovered.empty()) deliver_flexfec(std::move(recovered), now, listener);
}

void RtpReceiveFront::note_rebuilt(uint16_t seq) {
  ++counters_.fec_packets_recovered;
  if (rebuilt_[rebuilt_next_] < 0) ++rebuilt_live_;
  rebuilt_[rebuilt_next_] = seq;
  rebuilt_next_ = (rebuilt_next_ + 1) % kRebuiltWatch;
}

void RtpReceiveFront::check_rebuilt(uint16_t seq) {
  for (int32_t& r : rebuilt_) {
    if (r != seq) continue;
    r = -1;
    --rebuilt_live_;
    ++counters_.fec_recovered_then_received;
    return;
  }
}

void RtpReceiveFront::deliver_flexfec(std::vector<rtp::RtpPacket> recovered, Timestamp now, Listener& listener) {
  for (rtp::RtpPacket& rec : recovered) {
    note_rebuilt(rec.sequence_number());
    rec.arrival_time = now;
    deliver(std::move(rec), PacketOrigin::kFecRecovery, now, listener);
  }
  counters_.fec_packets_discarded = static_cast<int64_t>(flexfec_->stats().fec_packets_discarded);
}

void RtpReceiveFront::on_rtt(TimeDelta rtt) {
  nack_->on_rtt(rtt);
  if (fec_loss_) fec_loss_->on_rtt(rtt);
}

void RtpReceiveFront::request_keyframe(std::optional<uint8_t> fir_seq) {
  if (fir_seq) pending_fir_seq_ = fir_seq;
  keyframe_wanted_ = true;
}

std::optional<Timestamp> RtpReceiveFront::next_wakeup() const { return nack_->next_wakeup(); }

void RtpReceiveFront::process(Timestamp now, std::vector<rtcp::RtcpPacket>& feedback) {
  std::vector<uint16_t> lost = nack_->process(now);
  if (!lost.empty()) {
    ++counters_.nack_count;
    feedback.emplace_back(recovery::NackGenerator::make_nack(config_.local_ssrc, config_.ssrc, std::move(lost)));
  }
  if (!keyframe_wanted_) return;
  keyframe_wanted_ = false;
  if (config_.use_fir && !pending_fir_seq_) pending_fir_seq_ = next_fir_seq_++;
  if (pending_fir_seq_) {
    ++counters_.fir_count;
    rtcp::Fir fir;
    fir.sender_ssrc = config_.local_ssrc;
    fir.entries.push_back(rtcp::FirEntry{config_.ssrc, *pending_fir_seq_});
    feedback.emplace_back(std::move(fir));
    pending_fir_seq_.reset();
  } else {
    ++counters_.pli_count;
    feedback.emplace_back(rtcp::Pli{config_.local_ssrc, config_.ssrc});
  }
}

recovery::NackGeneratorStats RtpReceiveFront::nack_stats() const {
  recovery::NackGeneratorStats s = nack_->stats();
  if (fec_loss_) s.keyframe_requests += fec_loss_->stats().keyframe_requests;
  return s;
}

}  // namespace tern::pipeline
