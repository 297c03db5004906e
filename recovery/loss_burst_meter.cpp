#include "tern/recovery/loss_burst_meter.h"

#include <algorithm>

namespace tern::recovery {

LossBurstMeter::LossBurstMeter(Config config) : config_(config) {
  config_.window = std::clamp<size_t>(config_.window, 1, 4096);
  lost_.assign(config_.window, 0);
  seq_.assign(config_.window, kNoSeq);
}

bool LossBurstMeter::starts_run(size_t i) const {
  // i is a logical index into the window (0 = oldest).
  const size_t n = lost_.size();
  const size_t oldest = (head_ + n - size_) % n;
  if (lost_[(oldest + i) % n] == 0) return false;
  return i == 0 || lost_[(oldest + i - 1) % n] == 0;
}

void LossBurstMeter::on_packet(bool lost, std::optional<int64_t> seq) {
  const size_t n = lost_.size();
  if (size_ == n) {
    // The oldest outcome leaves: it takes its loss, and its run if it started one (then the next
    // packet, now the oldest, starts that run if it is lost too).
    const bool was_start = starts_run(0);
    const bool next_lost = n > 1 && lost_[(head_ + 1) % n] != 0;
    if (lost_[head_] != 0) --losses_;
    if (was_start && !next_lost) --runs_;
    --size_;
  }
  const bool continues = size_ > 0 && lost_[(head_ + n - 1) % n] != 0;
  lost_[head_] = lost ? 1 : 0;
  seq_[head_] = seq.value_or(kNoSeq);
  head_ = (head_ + 1) % n;
  ++size_;
  if (lost) {
    ++losses_;
    if (!continues) ++runs_;
  }
}

bool LossBurstMeter::on_late_arrival(int64_t seq) {
  if (seq == kNoSeq || losses_ == 0) return false;
  const size_t n = lost_.size();
  const size_t oldest = (head_ + n - size_) % n;
  for (size_t k = size_; k-- > 0;) {  // logical index k, newest first
    const size_t slot = (oldest + k) % n;
    if (seq_[slot] != seq) continue;
    if (lost_[slot] == 0) return false;
    const bool prev_lost = k > 0 && lost_[(oldest + k - 1) % n] != 0;
    const bool next_lost = k + 1 < size_ && lost_[(oldest + k + 1) % n] != 0;
    lost_[slot] = 0;
    --losses_;
    if (!prev_lost && !next_lost) --runs_;  // a run of one is gone
    if (prev_lost && next_lost) ++runs_;    // a run is split in two
    return true;
  }
  return false;
}

}  // namespace tern::recovery
