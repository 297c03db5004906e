#include "tern/rtp/stream_statistician.h"

#include "tern/core/seq_num.h"
#include "tern/rtp/rtp_stats_math.h"

namespace tern::rtp {
namespace {

constexpr int64_t kSeqMod = 65536;  // RTP_SEQ_MOD

}  // namespace

void StreamStatistician::init_seq(uint16_t seq) {
  base_seq_ = seq;
  max_seq_ = seq;
  bad_seq_ = static_cast<uint32_t>(kSeqMod + 1);
  cycles_ = 0;
  received_ = 0;
  received_prior_ = 0;
  expected_prior_ = 0;
  reset_window(seq);
  resynced_ = true;
}

bool StreamStatistician::update_seq(uint16_t seq) {
  const uint16_t udelta = static_cast<uint16_t>(seq - max_seq_);
  if (probation_ > 0) {
    // Source not yet valid: require kMinSequential packets in sequence.
    if (seq == static_cast<uint16_t>(max_seq_ + 1)) {
      --probation_;
      max_seq_ = seq;
      if (probation_ == 0) {
        init_seq(seq);
        ++received_;
        return true;
      }
    } else {
      probation_ = kMinSequential - 1;
      max_seq_ = seq;
    }
    return false;
  }
  if (udelta < kMaxDropout) {
    // In order, possibly with a permissible gap.
    if (seq < max_seq_) cycles_ += kSeqMod;  // wrapped
    max_seq_ = seq;
  } else if (udelta <= kSeqMod - kMaxMisorder) {
    // A very large jump. Two sequential packets after it mean the sender restarted: resync.
    if (seq == bad_seq_) {
      init_seq(seq);
    } else {
      bad_seq_ = static_cast<uint32_t>((seq + 1) & (kSeqMod - 1));
      return false;
    }
  }
  // else: duplicate or reordered packet, counted as received per A.1.
  ++received_;
  return true;
}

void StreamStatistician::reset_window(int64_t ext_seq) {
  seen_.fill(0);
  window_max_ = ext_seq;
}

bool StreamStatistician::mark_seen(int64_t ext_seq) {
  if (ext_seq > window_max_) {
    const int64_t advance = ext_seq - window_max_;
    if (advance >= kDuplicateWindow) {
      seen_.fill(0);
    } else {
      for (int64_t s = window_max_ + 1; s <= ext_seq; ++s) {
        const auto bit = static_cast<size_t>(s % kDuplicateWindow);
        seen_[bit / 64] &= ~(uint64_t{1} << (bit % 64));
      }
    }
    window_max_ = ext_seq;
  } else if (ext_seq <= window_max_ - kDuplicateWindow || ext_seq < 0) {
    return false;  // too old to tell
  }
  const auto bit = static_cast<size_t>(ext_seq % kDuplicateWindow);
  uint64_t& word = seen_[bit / 64];
  const uint64_t mask = uint64_t{1} << (bit % 64);
  const bool dup = (word & mask) != 0;
  word |= mask;
  return dup;
}

void StreamStatistician::update_jitter(uint32_t rtp_timestamp, Timestamp arrival, uint32_t clock_rate) {
  if (clock_rate != jitter_clock_rate_) {
    // A payload type with another clock: earlier transits are in other units, start over.
    jitter_clock_rate_ = clock_rate;
    have_transit_ = false;
    jitter_q4_ = 0;
  }
  const auto transit = static_cast<int32_t>(micros_to_rtp_ticks(arrival.us(), clock_rate) - rtp_timestamp);
  if (have_transit_) {
    // Differences taken modulo 2^32, as the RTP timestamp wraps.
    const auto d32 = static_cast<int32_t>(static_cast<uint32_t>(transit) - static_cast<uint32_t>(transit_));
    const int64_t d = d32 < 0 ? -static_cast<int64_t>(d32) : d32;
    // A.8: J += |D| - ((J + 8) >> 4), with J scaled by 16.
    const int64_t j = static_cast<int64_t>(jitter_q4_) + d - ((static_cast<int64_t>(jitter_q4_) + 8) >> 4);
    jitter_q4_ = static_cast<uint32_t>(j < 0 ? 0 : (j > 0xFFFFFFFFll ? 0xFFFFFFFFll : j));
  }
  transit_ = transit;
  have_transit_ = true;
}

bool StreamStatistician::on_packet(const RtpHeader& header, Timestamp arrival, size_t packet_bytes,
                                   uint32_t clock_rate, bool retransmitted) {
  const PacketOctets octets = split_packet_octets(header, packet_bytes);
  counters_.packets_received += 1;
  counters_.bytes_received += octets.payload;
  counters_.header_bytes_received += octets.header;
  if (retransmitted) {
    counters_.retransmitted_packets_received += 1;
    counters_.retransmitted_bytes_received += octets.payload;
  }
  counters_.last_packet_received = arrival;

  const uint16_t seq = header.sequence_number;
  if (!seen_any_) {
    // New source: A.1 says init_seq(seq); max_seq = seq - 1; probation = MIN_SEQUENTIAL.
    seen_any_ = true;
    init_seq(seq);
    max_seq_ = static_cast<uint16_t>(seq - 1);
    probation_ = kMinSequential;
  }
  const uint16_t prev_max = max_seq_;
  const int64_t prev_ext = cycles_ + prev_max;
  resynced_ = false;
  if (!update_seq(seq)) {
    counters_.packets_invalid += 1;
    return false;
  }
  // Extended number of this packet: relative to the highest before it, unless the source was
  // just (re)synchronised on it (init_seq already cleared the window).
  const int64_t ext = resynced_ ? cycles_ + max_seq_ : prev_ext + seq_diff<uint16_t>(seq, prev_max);
  if (mark_seen(ext)) counters_.packets_duplicated += 1;
  validated_ = true;
  received_since_report_ = true;
  if (!retransmitted && clock_rate != 0) update_jitter(header.timestamp, arrival, clock_rate);
  return true;
}

void StreamStatistician::on_sender_report(NtpTime ntp, Timestamp arrival) {
  last_sr_compact_ = ntp.compact();
  last_sr_arrival_ = arrival;
}

int64_t StreamStatistician::cumulative_lost() const {
  if (!validated_) return 0;
  return expected() - received_;
}

rtcp::ReportBlock StreamStatistician::make_report_block(Timestamp now) {
  rtcp::ReportBlock b;
  b.source_ssrc = ssrc_;
  received_since_report_ = false;
  if (!validated_) return b;
  const int64_t expected_now = expected();
  const int64_t lost = expected_now - received_;
  // A.3: cumulative lost is a signed 24-bit field; clamp rather than wrap.
  b.cumulative_lost = static_cast<int32_t>(lost > 0x7FFFFF ? 0x7FFFFF : (lost < -0x800000 ? -0x800000 : lost));
  const int64_t expected_interval = expected_now - expected_prior_;
  expected_prior_ = expected_now;
  const int64_t received_interval = received_ - received_prior_;
  received_prior_ = received_;
  const int64_t lost_interval = expected_interval - received_interval;
  // Duplicates can make the interval loss negative: report 0, never a negative fraction.
  if (expected_interval > 0 && lost_interval > 0) {
    const int64_t f = (lost_interval << 8) / expected_interval;
    b.fraction_lost = static_cast<uint8_t>(f > 255 ? 255 : f);
  }
  b.extended_highest_sequence = extended_highest_sequence();
  b.jitter = jitter();
  if (last_sr_arrival_.is_finite()) {
    b.last_sr = last_sr_compact_;
    b.delay_since_last_sr = delta_to_compact_ntp(now - last_sr_arrival_);
  }
  return b;
}

InboundRtpCounters StreamStatistician::counters() const {
  InboundRtpCounters c = counters_;
  c.ssrc = ssrc_;
  c.packets_lost = cumulative_lost();
  c.jitter_rtp_units = jitter();
  c.jitter_seconds = jitter_clock_rate_ == 0 ? 0.0
                                             : static_cast<double>(jitter_q4_) / 16.0 / jitter_clock_rate_;
  c.extended_highest_sequence = validated_ ? extended_highest_sequence() : 0;
  return c;
}

}  // namespace tern::rtp
