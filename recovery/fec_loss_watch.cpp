// Unrecoverable-loss detection for FEC without NACK (see fec_loss_watch.h).
#include "tern/recovery/fec_loss_watch.h"

#include <algorithm>

namespace tern::recovery {

void FecLossWatch::clear_missing(uint64_t& counter) {
  counter += missing_.size();
  missing_.clear();
}

bool FecLossWatch::on_packet(uint16_t seq, uint32_t rtp_timestamp, bool marker, Timestamp now, bool media) {
  const int64_t s = seqs_.unwrap(seq);
  if (media && (!newest_media_seq_ || s > *newest_media_seq_)) newest_media_seq_ = s;
  const int64_t ts = timestamps_.unwrap(rtp_timestamp);
  if (!newest_timestamp_ || ts > *newest_timestamp_) {
    if (newest_timestamp_) ++frames_;
    newest_timestamp_ = ts;
  }
  if (!newest_seq_) {
    newest_seq_ = s;
    newest_seq_timestamp_ = ts;
    newest_seq_marker_ = marker;
  } else if (s > *newest_seq_) {
    const int64_t gap = s - *newest_seq_ - 1;
    if (gap > 0 && missing_.size() + static_cast<size_t>(gap) > config_.max_missing) {
      // A jump or a long outage: nothing to wait for; one loss that needs a keyframe.
      clear_missing(stats_.unrecoverable);
      ++stats_.unrecoverable;
      newest_seq_ = s;
      newest_seq_timestamp_ = ts;
    newest_seq_marker_ = marker;
      if (hold_until_ && now < *hold_until_) return false;
      hold_until_ = now + std::max(config_.min_hold, 2 * rtt_ + config_.hold_margin);
      ++stats_.keyframe_requests;
      return true;
    }
    // Inside one frame (the same timestamp on both sides, or after a packet that did not end its
    // frame) a gap is media: FEC packets follow the last (marker) packet of their frame.
    const bool inside_frame = newest_seq_timestamp_ == ts || !newest_seq_marker_;
    for (int64_t m = *newest_seq_ + 1; m < s; ++m) {
      const auto named = confirmed_ahead_.find(m);
      const bool is_media = !config_.confirm_media || inside_frame || named != confirmed_ahead_.end();
      Gap g{now, frames_, is_media, std::nullopt};
      if (named != confirmed_ahead_.end()) g.fec_seq = named->second;
      missing_.emplace(m, g);
    }
    confirmed_ahead_.erase(confirmed_ahead_.begin(), confirmed_ahead_.upper_bound(s));
    stats_.gaps += static_cast<uint64_t>(std::max<int64_t>(gap, 0));
    newest_seq_ = s;
    newest_seq_timestamp_ = ts;
    newest_seq_marker_ = marker;
  } else if (missing_.erase(s) > 0) {
    ++stats_.recovered;
  }
  // Gaps old enough, or whose FEC group is over: lost for good. Unconfirmed ones (maybe FEC
  // packets) are dropped quietly. Bounded: at most max_missing entries.
  bool lost_media = false;
  for (auto it = missing_.begin(); it != missing_.end();) {
    const Gap& g = it->second;
    const bool group_over = g.fec_seq && newest_media_seq_ && *newest_media_seq_ > *g.fec_seq;
    if ((frames_ - g.frames_at_gap < config_.frames_to_wait && !group_over) || now - g.seen < config_.min_wait) {
      ++it;
      continue;
    }
    if (g.media) {
      lost_media = true;
      break;
    }
    it = missing_.erase(it);
  }
  if (!lost_media) return false;
  if (hold_until_ && now < *hold_until_) return false;  // a keyframe is on its way
  clear_missing(stats_.unrecoverable);
  hold_until_ = now + std::max(config_.min_hold, 2 * rtt_ + config_.hold_margin);
  ++stats_.keyframe_requests;
  return true;
}

void FecLossWatch::on_fec_protects(std::span<const uint16_t> seqs, uint16_t fec_seq) {
  const int64_t f = seqs_.peek(fec_seq);
  for (uint16_t seq : seqs) {
    const int64_t s = seqs_.peek(seq);
    if (auto it = missing_.find(s); it != missing_.end()) {
      it->second.media = true;
      it->second.fec_seq = std::max(it->second.fec_seq.value_or(f), f);
    } else if (newest_seq_ && s > *newest_seq_) {
      // Named before its gap is seen (the FEC packet right after a lost last packet): remember.
      auto [named, inserted] = confirmed_ahead_.emplace(s, f);
      if (!inserted) named->second = std::max(named->second, f);
      while (confirmed_ahead_.size() > config_.max_missing) confirmed_ahead_.erase(confirmed_ahead_.begin());
    }
  }
}

void FecLossWatch::on_keyframe(uint16_t first_seq) {
  hold_until_.reset();
  const int64_t k = seqs_.peek(first_seq);
  while (!missing_.empty() && missing_.begin()->first < k) {
    missing_.erase(missing_.begin());
  }
}

}  // namespace tern::recovery
