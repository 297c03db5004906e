#include "tern/jitterbuffer/video/reference_finder.h"

#include <algorithm>
#include <utility>

namespace tern::jitterbuffer {
namespace {

// Shortest signed distance from `last` (an unwrapped value) to `raw` in a space of `bits` bits.
int64_t unwrap_near(int64_t last, uint32_t raw, int bits) {
  const int64_t space = int64_t{1} << bits;
  const int64_t mask = space - 1;
  int64_t diff = (static_cast<int64_t>(raw) - (last & mask)) & mask;
  if (diff >= space / 2) diff -= space;
  return last + diff;
}

}  // namespace

int64_t ReferenceFinder::unwrap_picture_id(uint16_t pid, bool fifteen_bit) {
  const int bits = fifteen_bit ? 15 : 7;
  // Start well above zero so that reordered early frames never go negative.
  const int64_t u = last_picture_id_ ? unwrap_near(*last_picture_id_, pid, bits)
                                     : (int64_t{1} << 20) + (pid & ((1 << bits) - 1));
  if (!last_picture_id_ || u > *last_picture_id_) last_picture_id_ = u;
  return u;
}

int64_t ReferenceFinder::unwrap_tl0(uint8_t tl0) {
  const int64_t u = last_tl0_ ? unwrap_near(*last_tl0_, tl0, 8) : (int64_t{1} << 20) + tl0;
  if (!last_tl0_ || u > *last_tl0_) last_tl0_ = u;
  return u;
}

ReferenceFinder::Outcome ReferenceFinder::resolve(EncodedVideoFrame& f) {
  const VideoHeader& h = f.header;
  f.references.clear();
  const auto before = by_last_seq_.find(f.first_seq - 1);
  const SeqNeighbour* predecessor = before == by_last_seq_.end() ? nullptr : &before->second;
  if (!h.picture_id) {
    const bool continues = predecessor != nullptr && predecessor->picture_space;
    f.id = continues ? predecessor->id + 1 : f.last_seq;
    if (!f.keyframe) f.references.push_back(continues ? predecessor->id : f.first_seq - 1);
    if (continues && (!last_picture_id_ || f.id > *last_picture_id_)) last_picture_id_ = f.id;
    remember(f, continues);
    return Outcome::kResolved;
  }
  f.id = unwrap_picture_id(*h.picture_id, h.picture_id_15bit);
  const bool base_layer = !h.temporal_id || *h.temporal_id == 0;
  std::optional<int64_t> tl0;
  if (h.tl0_pic_idx && !h.flexible_mode) tl0 = unwrap_tl0(*h.tl0_pic_idx);
  if (h.has_ss && !h.flexible_mode) current_gof_ = h.picture_group;

  std::optional<Outcome> from_gof;
  if (tl0 && !f.keyframe) from_gof = resolve_from_gof(f, *tl0);
  if (from_gof) {
    if (*from_gof == Outcome::kStash) return Outcome::kStash;
  } else if (f.keyframe) {
    if (tl0 && base_layer) {
      tl0_to_picture_[*tl0] = f.id;
      if (current_gof_) tl0_to_gof_[*tl0] = GofAnchor{current_gof_, f.id};
    }
  } else if (h.flexible_mode) {
    for (size_t i = 0; i < h.num_p_diffs; ++i) f.references.push_back(f.id - h.p_diff[i]);
    if (h.num_p_diffs == 0) f.references.push_back(f.id - 1);
  } else if (tl0 && base_layer) {
    auto it = tl0_to_picture_.find(*tl0 - 1);
    if (it == tl0_to_picture_.end()) return Outcome::kStash;
    f.references.push_back(it->second);
    tl0_to_picture_[*tl0] = f.id;
  } else if (tl0 && h.layer_sync) {
    auto it = tl0_to_picture_.find(*tl0);
    if (it == tl0_to_picture_.end()) return Outcome::kStash;
    f.references.push_back(it->second);
  } else if (predecessor != nullptr && !predecessor->picture_space && predecessor->id < f.id) {
    f.references.push_back(predecessor->id);  // the frame before carried no picture id
  } else {
    f.references.push_back(f.id - 1);
  }
  while (tl0_to_picture_.size() > kMaxTl0History) tl0_to_picture_.erase(tl0_to_picture_.begin());
  while (tl0_to_gof_.size() > kMaxTl0History) tl0_to_gof_.erase(tl0_to_gof_.begin());
  // A reference to itself or to a later frame is malformed input: treat it as undecodable.
  for (int64_t r : f.references) {
    if (r >= f.id) {
      f.references.assign(1, f.id);
      break;
    }
  }
  remember(f, true);
  return Outcome::kResolved;
}

void ReferenceFinder::remember(const EncodedVideoFrame& f, bool picture_space) {
  by_last_seq_[f.last_seq] = SeqNeighbour{f.id, picture_space};
  while (by_last_seq_.size() > kMaxSeqHistory) by_last_seq_.erase(by_last_seq_.begin());
}

std::optional<ReferenceFinder::Outcome> ReferenceFinder::resolve_from_gof(EncodedVideoFrame& f, int64_t tl0) {
  const VideoHeader& h = f.header;
  if (!current_gof_ || !h.temporal_id) return std::nullopt;
  GofAnchor anchor;
  if (*h.temporal_id == 0 && h.picture_group) {
    anchor = GofAnchor{h.picture_group, f.id};  // a new GOF starts at this base frame
  } else {
    // A base frame continues the GOF of the previous base frame; an upper layer that of its own.
    auto it = tl0_to_gof_.find(*h.temporal_id == 0 ? tl0 - 1 : tl0);
    if (it == tl0_to_gof_.end()) return Outcome::kStash;
    anchor = it->second;
  }
  const auto& gof = *anchor.gof;
  const int64_t n = static_cast<int64_t>(gof.size());
  const auto& entry = gof[static_cast<size_t>(((f.id - anchor.first_id) % n + n) % n)];
  if (entry.temporal_id != *h.temporal_id) return std::nullopt;
  if (*h.temporal_id == 0) {
    tl0_to_gof_[tl0] = anchor;
    tl0_to_picture_[tl0] = f.id;
  }
  for (size_t i = 0; i < entry.num_refs && i < entry.p_diff.size(); ++i) f.references.push_back(f.id - entry.p_diff[i]);
  return Outcome::kResolved;
}

std::vector<EncodedVideoFrame> ReferenceFinder::manage(EncodedVideoFrame frame) {
  std::vector<EncodedVideoFrame> out;
  if (resolve(frame) == Outcome::kStash) {
    if (stash_.size() >= max_stashed_) {
      stash_.pop_front();
      ++dropped_;
    }
    stash_.push_back(std::move(frame));
    return out;
  }
  if (frame.keyframe) {
    // Stashed frames older than a keyframe can never be released after it.
    const int64_t key_id = frame.id;
    const size_t before = stash_.size();
    std::erase_if(stash_, [&](const EncodedVideoFrame& f) { return f.id < key_id; });
    dropped_ += before - stash_.size();
  }
  out.push_back(std::move(frame));
  retry_stash(out);
  return out;
}

void ReferenceFinder::retry_stash(std::vector<EncodedVideoFrame>& out) {
  // Each pass resolves at least one frame or stops; at most stash_.size() passes.
  for (size_t pass = 0, limit = stash_.size(); pass < limit; ++pass) {
    bool progressed = false;
    for (auto it = stash_.begin(); it != stash_.end();) {
      if (resolve(*it) == Outcome::kResolved) {
        out.push_back(std::move(*it));
        it = stash_.erase(it);
        progressed = true;
      } else {
        ++it;
      }
    }
    if (!progressed) break;
  }
}

void ReferenceFinder::clear() {
  dropped_ += stash_.size();
  stash_.clear();
  tl0_to_picture_.clear();
  tl0_to_gof_.clear();
  by_last_seq_.clear();
}

}  // namespace tern::jitterbuffer
