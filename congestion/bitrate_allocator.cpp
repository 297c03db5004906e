#include "tern/congestion/bitrate_allocator.h"

#include <algorithm>
#include <numeric>

namespace tern::congestion {

Status BitrateAllocator::set_audio(std::optional<AudioAllocationConfig> audio) {
  if (audio) {
    if (audio->min_rate > audio->max_rate) return Error{"audio min_rate above max_rate"};
    if (audio->min_rate < DataRate::Zero()) return Error{"negative audio min_rate"};
    if (!(audio->wire_factor >= 1.0 && audio->wire_factor <= 16.0)) return Error{"audio wire_factor outside 1..16"};
  }
  audio_ = audio;
  return Status::Ok();
}

Status BitrateAllocator::add_video_stream(const VideoStreamConfig& stream) {
  if (stream.min_rate > stream.max_rate) return Error{"video min_rate above max_rate"};
  if (stream.min_rate < DataRate::Zero()) return Error{"negative video min_rate"};
  if (!(stream.fec_overhead >= 0.0)) return Error{"negative fec_overhead"};
  if (!(stream.priority > 0.0)) return Error{"priority must be positive"};
  if (streams_.size() >= config_.max_video_streams) return Error{"too many video streams"};
  for (const auto& s : streams_) {
    if (s.config.id == stream.id) return Error{"duplicate video stream id"};
  }
  streams_.push_back(Stream{stream, false});
  return Status::Ok();
}

bool BitrateAllocator::remove_video_stream(uint32_t id) {
  auto it = std::find_if(streams_.begin(), streams_.end(),
                         [id](const Stream& s) { return s.config.id == id; });
  if (it == streams_.end()) return false;
  streams_.erase(it);
  return true;
}

bool BitrateAllocator::set_fec_overhead(uint32_t id, double fec_overhead) {
  if (!(fec_overhead >= 0.0)) return false;
  auto it = std::find_if(streams_.begin(), streams_.end(), [id](const Stream& s) { return s.config.id == id; });
  if (it == streams_.end()) return false;
  it->config.fec_overhead = fec_overhead;
  return true;
}

BitrateAllocation BitrateAllocator::allocate(DataRate target, DataRate spare) {
  BitrateAllocation out;
  target = max(target, DataRate::Zero());
  out.rtx = min(target * config_.rtx_share, config_.max_rtx_rate);
  DataRate avail = target - out.rtx;

  // Audio's codec rate first (its minimum, then after the video minimums its maximum); the
  // redundancy on top only if the budget allows it.
  DataRate audio = DataRate::Zero();
  if (audio_) {
    audio = min(avail, audio_->min_rate);
    avail -= audio;
  }

  // Totals (media + FEC) per stream, in the order added.
  std::vector<DataRate> total(streams_.size(), DataRate::Zero());
  std::vector<size_t> order(streams_.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return streams_[a].config.priority > streams_[b].config.priority;
  });
  for (size_t i : order) {
    Stream& s = streams_[i];
    const double k = 1.0 + s.config.fec_overhead;
    const DataRate need = s.config.min_rate * k;
    DataRate required = need;
    if (s.suspended) required = need * (1.0 + config_.resume_hysteresis_factor) + config_.resume_hysteresis;
    if (avail >= required || !s.config.can_suspend) {
      s.suspended = false;
      total[i] = need;
      avail = max(avail - need, DataRate::Zero());
    } else {
      s.suspended = true;
    }
  }

  const bool video_off = !streams_.empty() && std::all_of(streams_.begin(), streams_.end(),
                                                          [](const Stream& st) { return st.suspended; });
  if (audio_ && video_off && audio_->wire_factor > 1.0 && (audio + avail) * (1.0 / audio_->wire_factor) >= audio_->min_rate) {
    // Every video stream suspended: the copies take nothing from video, and Opus shares audio's
    // budget with them (each frame three times at a third of the rate) rather than leave the
    // sender application-limited on a path too narrow for video.
    const DataRate wire = min(audio + avail, audio_->max_rate * audio_->wire_factor);
    avail -= wire - audio;
    redundancy_ = true;
    out.audio = wire * (1.0 / audio_->wire_factor);
    out.audio_wire = wire;
    out.audio_redundancy = true;
  } else if (audio_) {
    const DataRate extra = min(avail, audio_->max_rate - audio);
    audio += extra;
    avail -= extra;
    const DataRate copies = audio * (audio_->wire_factor - 1.0);
    const double share = redundancy_ ? config_.redundancy_off_share : config_.max_redundancy_share;
    // The share bounds what the copies take from video; audio alone needs only room for them.
    redundancy_ = audio_->wire_factor > 1.0 && audio == audio_->max_rate && copies <= avail &&
                  (streams_.empty() || copies <= target * share);
    if (redundancy_) avail -= copies;
    out.audio = audio;
    out.audio_wire = redundancy_ ? audio + copies : audio;
    out.audio_redundancy = redundancy_;
  }

  avail += max(spare, DataRate::Zero());
  // Water-fill the rest by priority; each round saturates at least one stream or spends all.
  for (size_t round = 0; round <= streams_.size() && avail > DataRate::Zero(); ++round) {
    double weight = 0;
    for (size_t i = 0; i < streams_.size(); ++i) {
      const auto& c = streams_[i].config;
      if (!streams_[i].suspended && total[i] < c.max_rate * (1.0 + c.fec_overhead)) {
        weight += c.priority;
      }
    }
    if (weight <= 0) break;
    DataRate spent = DataRate::Zero();
    for (size_t i = 0; i < streams_.size(); ++i) {
      const auto& c = streams_[i].config;
      const DataRate cap = c.max_rate * (1.0 + c.fec_overhead);
      if (streams_[i].suspended || total[i] >= cap) continue;
      const DataRate share = min(avail * (c.priority / weight), cap - total[i]);
      total[i] += share;
      spent += share;
    }
    avail = max(avail - spent, DataRate::Zero());
    if (spent < DataRate::BitsPerSec(1)) break;
  }
  out.unallocated = avail;

  for (size_t i = 0; i < streams_.size(); ++i) {
    const auto& s = streams_[i];
    VideoAllocation v;
    v.id = s.config.id;
    v.suspended = s.suspended;
    v.media = total[i] * (1.0 / (1.0 + s.config.fec_overhead));
    v.fec = total[i] - v.media;
    out.video.push_back(v);
  }
  return out;
}

}  // namespace tern::congestion
