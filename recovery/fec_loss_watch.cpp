// Unrecoverable-loss detection for FEC without NACK (see fec_loss_watch.h).
#include "tern/recovery/fec_loss_watch.h"

#include <algorithm>

namespace tern::recovery {

void FecLossWatch::clear_missing(uint64_t& counter) {
  counter += missing_.size();
  missing_.clear();
}

bool FecLossWatch::on_packet(uint16_t seq, uint32_t rtp_timestamp, bool marker, Timestamp now) {
  const int64_t s = seqs_.unwrap(seq);
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
      const bool media = !config_.confirm_media || inside_frame || confirmed_ahead_.count(m) > 0;
      missing_.emplace(m, Gap{now, frames_, media});
    }
    confirmed_ahead_.erase(confirmed_ahead_.begin(), confirmed_ahead_.upper_bound(s));
    stats_.gaps += static_cast<uint64_t>(std::max<int64_t>(gap, 0));
    newest_seq_ = s;
    newest_seq_timestamp_ = ts;
    newest_seq_marker_ = marker;
  } else if (missing_.erase(s) > 0) {
    ++stats_.recovered;
  }
  // Gaps old enough: lost for good. Unconfirmed ones (maybe FEC packets) are dropped quietly.
  bool lost_media = false;
  for (auto it = missing_.begin(); it != missing_.end();) {
    const Gap& g = it->second;
    if (frames_ - g.frames_at_gap < config_.frames_to_wait || now - g.seen < config_.min_wait) break;
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

void FecLossWatch::on_fec_protects(std::span<const uint16_t> seqs) {
  for (uint16_t seq : seqs) {
    const int64_t s = seqs_.peek(seq);
    if (auto it = missing_.find(s); it != missing_.end()) {
      it->second.media = true;
    } else if (newest_seq_ && s > *newest_seq_) {
      // Named before its gap is seen (the FEC packet right after a lost last packet): remember.
      confirmed_ahead_.insert(s);
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
