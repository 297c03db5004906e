// Transport-wide CC feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 3.1): building with
// greedy chunk selection, and a two-pass parser (chunks first to find where the deltas start).
#include "tern/rtp/rtcp/transport_feedback.h"

#include <algorithm>

#include "tern/core/seq_num.h"

namespace tern::rtcp {
namespace {

constexpr size_t kFixedFieldsSize = 16;  // sender SSRC, media SSRC, base seq, count, ref time, fb count
constexpr uint16_t kMaxRunLength = 0x1FFF;
constexpr size_t kTwoBitCapacity = 7;
constexpr int64_t kDeltaTickUs = 250;
constexpr int64_t kBaseTickUs = 64000;

constexpr int32_t sign_extend24(uint32_t v) {
  v &= 0xFFFFFF;
  return (v & 0x800000) ? static_cast<int32_t>(v) - 0x1000000 : static_cast<int32_t>(v);
}

constexpr int64_t floor_div(int64_t v, int64_t d) {
  const int64_t q = v / d;
  return (v % d != 0 && v < 0) ? q - 1 : q;
}

// Rounds v / d to nearest, halves away from zero (d > 0).
constexpr int64_t round_div(int64_t v, int64_t d) {
  return v >= 0 ? (v + d / 2) / d : -((-v + d / 2) / d);
}

constexpr bool fits_one_byte(int64_t ticks) { return ticks >= 0 && ticks <= 0xFF; }

}  // namespace

void TransportFeedback::clear_packets() {
  status_count_ = 0;
  delta_sum_ticks_ = 0;
  delta_bytes_ = 0;
  received_.clear();
  chunks_.clear();
  open_ = OpenChunk{};
}

void TransportFeedback::set_base(uint16_t base_seq, Timestamp ref_time) {
  base_seq_ = base_seq;
  const int64_t ticks = floor_div(ref_time.us(), kBaseTickUs);
  base_ticks_ = sign_extend24(static_cast<uint32_t>(static_cast<uint64_t>(ticks) & 0xFFFFFF));
  clear_packets();
}

TimeDelta TransportFeedback::base_time_delta_since(const TransportFeedback& earlier) const {
  const uint32_t diff = static_cast<uint32_t>(base_ticks_ - earlier.base_ticks_);
  return kBaseTimeTick * sign_extend24(diff);
}

uint16_t TransportFeedback::encode_vector(const OpenChunk& c, size_t n, bool two_bit) {
  uint16_t v = two_bit ? 0xC000 : 0x8000;
  for (size_t i = 0; i < n; ++i) {
    const unsigned shift = two_bit ? static_cast<unsigned>(12 - 2 * i) : static_cast<unsigned>(13 - i);
    v = static_cast<uint16_t>(v | (c.symbols[i] << shift));
  }
  return v;
}

// Emits one finished chunk from the front of the open chunk: the whole run, a full one-bit vector,
// or the first seven symbols as a two-bit vector (keeping the rest open).
void TransportFeedback::emit_front() {
  OpenChunk& c = open_;
  if (c.all_same) {
    chunks_.push_back(static_cast<uint16_t>((c.symbols[0] << 13) | c.size));
    c = OpenChunk{};
    return;
  }
  if (c.size == OpenChunk::kVectorCapacity && !c.has_large) {
    chunks_.push_back(encode_vector(c, c.size, false));
    c = OpenChunk{};
    return;
  }
  chunks_.push_back(encode_vector(c, kTwoBitCapacity, true));
  OpenChunk rest;
  for (size_t i = kTwoBitCapacity; i < c.size; ++i) {
    const uint8_t s = c.symbols[i];
    rest.all_same = rest.size == 0 || (rest.all_same && rest.symbols[0] == s);
    rest.has_large = rest.has_large || s == kLargeDelta;
    rest.symbols[rest.size++] = s;
  }
  c = rest;
}

void TransportFeedback::add_symbol(Symbol s) {
  OpenChunk& c = open_;
  const bool fits = c.size < kTwoBitCapacity ||
                    (c.size < OpenChunk::kVectorCapacity && !c.has_large && s != kLargeDelta) ||
                    (c.all_same && c.symbols[0] == s && c.size < kMaxRunLength);
  if (!fits) emit_front();
  if (c.size < OpenChunk::kVectorCapacity) c.symbols[c.size] = s;
  c.all_same = c.size == 0 || (c.all_same && c.symbols[0] == s);
  c.has_large = c.has_large || s == kLargeDelta;
  ++c.size;
  ++status_count_;
}

void TransportFeedback::add_symbols(Symbol s, size_t count) {
  while (count > 0) {
    OpenChunk& c = open_;
    if (c.size >= OpenChunk::kVectorCapacity && c.all_same && c.symbols[0] == s && c.size < kMaxRunLength) {
      // Already a run of this symbol: extend it in one step.
      const size_t n = std::min<size_t>(count, kMaxRunLength - c.size);
      c.size = static_cast<uint16_t>(c.size + n);
      status_count_ += static_cast<uint32_t>(n);
      count -= n;
    } else {
      add_symbol(s);
      --count;
    }
  }
}

bool TransportFeedback::add_received_packet(uint16_t seq, Timestamp arrival) {
  if (!arrival.is_finite()) return false;
  const uint16_t next = static_cast<uint16_t>(base_seq_ + status_count_);
  const int64_t gap = seq_diff<uint16_t>(seq, next);
  if (gap < 0) return false;  // duplicate, reordered behind the covered range, or before the base
  if (status_count_ + static_cast<uint64_t>(gap) + 1 > kMaxStatusCount) return false;

  // Delta from the previous arrival (or the reference time), modulo the reference time's wrap so
  // that callers may use timestamps beyond the 24-bit range.
  constexpr int64_t kWrapUs = kBaseTimeWrapPeriod.us();
  const int64_t last_us = base_time().us() + delta_sum_ticks_ * kDeltaTickUs;
  int64_t diff_us = (arrival.us() % kWrapUs - last_us % kWrapUs) % kWrapUs;
  if (diff_us >= kWrapUs / 2) diff_us -= kWrapUs;
  if (diff_us < -kWrapUs / 2) diff_us += kWrapUs;
  const int64_t ticks = round_div(diff_us, kDeltaTickUs);
  if (ticks < INT16_MIN || ticks > INT16_MAX) return false;

  const OpenChunk saved_open = open_;
  const size_t saved_chunks = chunks_.size();
  const uint32_t saved_count = status_count_;
  const bool small = fits_one_byte(ticks);
  add_symbols(kNotReceived, static_cast<size_t>(gap));
  add_symbol(small ? kSmallDelta : kLargeDelta);
  delta_bytes_ += small ? 1 : 2;
  if (size() > kMaxSizeBytes) {
    open_ = saved_open;
    chunks_.resize(saved_chunks);
    status_count_ = saved_count;
    delta_bytes_ -= small ? 1 : 2;
    return false;
  }
  received_.push_back(ReceivedPacket{seq, static_cast<int16_t>(ticks)});
  delta_sum_ticks_ += ticks;
  return true;
}

std::vector<TransportFeedback::PacketResult> TransportFeedback::packets() const {
  std::vector<PacketResult> out;
  out.reserve(status_count_);
  size_t r = 0;
  int64_t sum = 0;
  for (uint32_t i = 0; i < status_count_; ++i) {
    const uint16_t seq = static_cast<uint16_t>(base_seq_ + i);
    if (r < received_.size() && received_[r].sequence_number == seq) {
      sum += received_[r++].delta_ticks;
      out.push_back(PacketResult{seq, kDeltaTick * sum});
    } else {
      out.push_back(PacketResult{seq, std::nullopt});
    }
  }
  return out;
}

size_t TransportFeedback::unpadded_size() const {
  return kCommonHeaderSize + kFixedFieldsSize + 2 * (chunks_.size() + (open_.size > 0 ? 1 : 0)) + delta_bytes_;
}

size_t TransportFeedback::size() const { return (unpadded_size() + 3) & ~size_t{3}; }

void TransportFeedback::write(ByteWriter& out) const {
  const size_t total = size();
  write_common_header(out, kFormat, kPacketType, total - kCommonHeaderSize);
  out.u32(sender_ssrc_);
  out.u32(media_ssrc_);
  out.u16(base_seq_);
  out.u16(static_cast<uint16_t>(status_count_));
  out.u24(static_cast<uint32_t>(base_ticks_) & 0xFFFFFF);
  out.u8(feedback_sequence_);
  for (uint16_t chunk : chunks_) out.u16(chunk);
  const OpenChunk& c = open_;
  if (c.size > 0) {
    if (c.all_same) {
      out.u16(static_cast<uint16_t>((c.symbols[0] << 13) | c.size));
    } else {
      // More than seven mixed symbols only stay open while they are all 0/1 (see add_symbol).
      out.u16(encode_vector(c, c.size, c.size <= kTwoBitCapacity));
    }
  }
  for (const ReceivedPacket& p : received_) {
    if (fits_one_byte(p.delta_ticks)) {
      out.u8(static_cast<uint8_t>(p.delta_ticks));
    } else {
      out.u16(static_cast<uint16_t>(p.delta_ticks));
    }
  }
  out.zeros(total - unpadded_size());
}

Result<TransportFeedback> TransportFeedback::parse(const CommonHeader& header) {
  if (header.packet_type != kPacketType || header.count != kFormat) return Error{"rtcp tcc: wrong type"};
  ByteReader in(header.payload);
  TransportFeedback fb;
  fb.sender_ssrc_ = in.u32();
  fb.media_ssrc_ = in.u32();
  fb.base_seq_ = in.u16();
  const uint16_t count = in.u16();
  fb.base_ticks_ = sign_extend24(in.u24());
  fb.feedback_sequence_ = in.u8();
  if (!in.ok()) return Error{"rtcp tcc: shorter than the fixed fields"};
  if (count == 0) return Error{"rtcp tcc: packet status count is zero"};

  // Pass 1: walk the chunks until they cover `count` packets, to find where the deltas begin and
  // how many bytes they take. Symbols in a final chunk past `count` are padding and ignored; a run
  // longer than what is left is cut there, as libwebrtc and Pion read it.
  const std::span<const uint8_t> rest = in.rest();
  size_t pos = 0;
  size_t covered = 0;
  size_t delta_bytes = 0;
  size_t received = 0;
  while (covered < count) {
    if (rest.size() - pos < 2) return Error{"rtcp tcc: packet chunks run past the end"};
    const uint16_t chunk = load_be16(&rest[pos]);
    pos += 2;
    const size_t left = count - covered;
    if ((chunk & 0x8000) == 0) {
      const unsigned symbol = (chunk >> 13) & 3;
      const size_t n = std::min<size_t>(chunk & kMaxRunLength, left);
      if (symbol == 3 && n > 0) return Error{"rtcp tcc: run of the reserved status symbol"};
      if (symbol != kNotReceived) received += n;
      delta_bytes += n * symbol;  // symbol 1: one byte each, 2: two bytes each
      covered += n;
    } else if ((chunk & 0x4000) == 0) {
      const size_t n = std::min<size_t>(OpenChunk::kVectorCapacity, left);
      for (size_t i = 0; i < n; ++i) {
        const unsigned bit = (chunk >> (13 - i)) & 1;
        received += bit;
        delta_bytes += bit;
      }
      covered += n;
    } else {
      const size_t n = std::min<size_t>(kTwoBitCapacity, left);
      for (size_t i = 0; i < n; ++i) {
        const unsigned symbol = (chunk >> (12 - 2 * i)) & 3;
        if (symbol == 3) return Error{"rtcp tcc: reserved status symbol"};
        received += symbol != kNotReceived;
        delta_bytes += symbol;
      }
      covered += n;
    }
  }
  if (rest.size() - pos < delta_bytes) return Error{"rtcp tcc: receive deltas run past the end"};
  if (rest.size() - pos - delta_bytes > 3) return Error{"rtcp tcc: trailing bytes after the receive deltas"};

  // Pass 2: read the deltas in chunk order and rebuild the canonical state as a builder would.
  ByteReader deltas(rest.subspan(pos, delta_bytes));
  fb.received_.reserve(received);
  uint16_t seq = fb.base_seq_;
  auto on_received = [&](unsigned symbol) {
    const int64_t ticks = symbol == kSmallDelta ? int64_t{deltas.u8()} : int64_t{static_cast<int16_t>(deltas.u16())};
    const bool small = fits_one_byte(ticks);
    fb.add_symbol(small ? kSmallDelta : kLargeDelta);
    fb.delta_bytes_ += small ? 1 : 2;
    fb.received_.push_back(ReceivedPacket{seq, static_cast<int16_t>(ticks)});
    fb.delta_sum_ticks_ += ticks;
    ++seq;
  };
  auto on_lost = [&](size_t n) {
    fb.add_symbols(kNotReceived, n);
    seq = static_cast<uint16_t>(seq + n);
  };
  covered = 0;
  for (size_t at = 0; at < pos; at += 2) {
    const uint16_t chunk = load_be16(&rest[at]);
    const size_t left = count - covered;
    if ((chunk & 0x8000) == 0) {
      const unsigned symbol = (chunk >> 13) & 3;
      const size_t n = std::min<size_t>(chunk & kMaxRunLength, left);
      if (symbol == kNotReceived) {
        on_lost(n);
      } else {
        for (size_t i = 0; i < n; ++i) on_received(symbol);
      }
      covered += n;
    } else {
      const bool two_bit = (chunk & 0x4000) != 0;
      const size_t n = std::min<size_t>(two_bit ? kTwoBitCapacity : OpenChunk::kVectorCapacity, left);
      for (size_t i = 0; i < n; ++i) {
        const unsigned symbol = two_bit ? (chunk >> (12 - 2 * i)) & 3 : (chunk >> (13 - i)) & 1;
        if (symbol == kNotReceived) {
          on_lost(1);
        } else {
          on_received(symbol);
        }
      }
      covered += n;
    }
  }
  if (!deltas.ok() || fb.status_count_ != count) return Error{"rtcp tcc: inconsistent chunks"};
  return fb;
}

}  // namespace tern::rtcp
