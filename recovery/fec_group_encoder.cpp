// FEC group collection and repair generation (see fec_group_encoder.h).
#include "tern/recovery/fec_group_encoder.h"

#include <algorithm>

#include "tern/core/seq_num.h"

namespace tern::recovery {

FecGroupEncoder::FecGroupEncoder(size_t max_span) : max_span_(std::clamp<size_t>(max_span, 1, 64)) {}

void FecGroupEncoder::set_protection(const FecProtection& delta, const FecProtection& key) {
  delta_ = delta;
  key_ = key;
  delta_.max_frames = std::max<size_t>(delta_.max_frames, 1);
  key_.max_frames = std::max<size_t>(key_.max_frames, 1);
}

std::vector<FecRepair> FecGroupEncoder::add_media_packet(const rtp::RtpPacket& packet, bool keyframe) {
  std::vector<FecRepair> out;
  if (delta_.fec_rate == 0 && key_.fec_rate == 0) {  // FEC off: keep no copies
    group_.clear();
    group_has_key_ = false;
    frames_ = 0;
    return out;
  }
  if (!group_.empty()) {
    const int64_t offset = seq_diff(packet.sequence_number(), group_.front().sequence_number());
    const int64_t after_last = seq_diff(packet.sequence_number(), group_.back().sequence_number());
    if (offset >= static_cast<int64_t>(max_span_) || after_last <= 0 ||
        packet.ssrc() != group_.front().ssrc()) {
      out = flush();
    }
  }
  group_.push_back(packet);
  group_has_key_ = group_has_key_ || keyframe;
  if (packet.marker()) ++frames_;
  const FecProtection& p = group_has_key_ ? key_ : delta_;
  if ((packet.marker() && frames_ >= p.max_frames) || group_.size() >= max_span_) {
    auto more = flush();
    out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  return out;
}

std::vector<FecRepair> FecGroupEncoder::flush() {
  std::vector<FecRepair> out;
  const FecProtection& p = group_has_key_ ? key_ : delta_;
  const size_t k = std::min(group_.size(), kMaxFecMediaPackets);
  const size_t m = fec_packet_count(k, p.fec_rate);
  if (m > 0) {
    const std::vector<uint64_t> rows = fec_packet_masks(k, m, p.mask_type);
    const uint16_t base = group_.front().sequence_number();
    std::vector<const rtp::RtpPacket*> members;
    for (uint64_t row : rows) {
      FecRepair r;
      r.sn_base = base;
      r.timestamp = group_[k - 1].timestamp();
      r.ssrc = group_.front().ssrc();
      r.group_span = static_cast<uint16_t>(group_[k - 1].sequence_number() - base + 1);
      members.clear();
      for (size_t i = 0; i < k; ++i) {
        if (((row >> i) & 1) == 0) continue;
        members.push_back(&group_[i]);
        r.mask |= uint64_t{1} << static_cast<uint16_t>(group_[i].sequence_number() - base);
      }
      r.parity = compute_parity(members);
      out.push_back(std::move(r));
    }
  }
  group_.clear();
  group_has_key_ = false;
  frames_ = 0;
  return out;
}

}  // namespace tern::recovery
