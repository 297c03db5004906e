#include "tern/media/app_source.h"

#include <algorithm>

namespace tern::media {

bool AppAudioSource::push(codecs::AudioFrame frame) {
  if (frame.sample_rate_hz != rate_ || frame.channels != channels_ || frame.samples_per_channel < 0 ||
      frame.samples.size() != static_cast<size_t>(frame.samples_per_channel) * static_cast<size_t>(channels_)) {
    ++rejected_;
    return false;
  }
  return AppSource::push(std::move(frame));
}

std::optional<codecs::AudioFrame> AppAudioSource::next_samples(int samples_per_channel, Timestamp now) {
  if (samples_per_channel <= 0) return std::nullopt;
  const size_t want = static_cast<size_t>(samples_per_channel) * static_cast<size_t>(channels_);
  // Bounded by the queue: each pass takes one queued block or stops.
  while (pending_.size() < want) {
    std::optional<codecs::AudioFrame> block = next(now);
    if (!block) break;
    pending_.insert(pending_.end(), block->samples.begin(), block->samples.end());
  }
  if (pending_.size() < want && !(closed_ && size() == 0 && !pending_.empty())) return std::nullopt;
  codecs::AudioFrame out = codecs::AudioFrame::Silence(rate_, channels_, samples_per_channel);
  const size_t take = std::min(want, pending_.size());  // short only for the last, zero-padded block
  std::copy_n(pending_.begin(), take, out.samples.begin());
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(take));
  out.capture_time = now;
  return out;
}

}  // namespace tern::media
