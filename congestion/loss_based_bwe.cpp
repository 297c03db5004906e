#include "tern/congestion/loss_based_bwe.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace tern::congestion {

ReorderTolerantLossCounter::Counts ReorderTolerantLossCounter::on_feedback(
    const std::vector<PacketResult>& packets, Timestamp now) {
  while (!pending_.empty() && now - pending_.front().reported > config_.reorder_window) pending_.pop_front();
  Counts counts;
  for (const PacketResult& p : packets) {
    const int64_t seq = p.sent.sequence_number;
    if (p.is_received()) {
      const auto it = std::find_if(pending_.begin(), pending_.end(),
                                   [seq](const Pending& e) { return e.seq == seq; });
      if (it != pending_.end()) {  // overtaken, not lost: already counted in `expected`
        pending_.erase(it);
        ++late_arrivals_;
        ++debt_;
        continue;
      }
    } else {
      ++counts.lost;
      if (pending_.size() >= config_.max_pending) pending_.pop_front();
      pending_.push_back(Pending{seq, now});
    }
    ++counts.expected;
  }
  const int64_t taken = std::min(debt_, counts.lost);
  counts.lost -= taken;
  debt_ -= taken;
  return counts;
}

LossBasedBwe::LossBasedBwe(Config config) : config_(config) {
  if (config_.max_rate < config_.min_rate) config_.max_rate = config_.min_rate;
  current_ = clamp(current_, config_.min_rate, config_.max_rate);
}

void LossBasedBwe::set_bitrates(std::optional<DataRate> start, DataRate min_rate,
                                DataRate max_rate, Timestamp now) {
  config_.min_rate = min_rate;
  config_.max_rate = max(max_rate, min_rate);
  if (start) {
    min_history_.clear();
    update_target(*start, now);
  } else {
    update_target(current_, now);
  }
}

void LossBasedBwe::set_send_bitrate(DataRate rate, Timestamp now) {
  min_history_.clear();  // a probe result replaces the history the increase is based on
  update_target(rate, now);
}

void LossBasedBwe::update_delay_based_limit(DataRate limit, Timestamp now) {
  delay_based_limit_ = limit;
  update_target(current_, now);
}

void LossBasedBwe::update_receiver_limit(DataRate limit, Timestamp now) {
  receiver_limit_ = limit.is_zero() ? DataRate::PlusInfinity() : limit;
  update_target(current_, now);
}

void LossBasedBwe::update_packets_lost(int64_t lost, int64_t expected, Timestamp now) {
  last_loss_report_ = now;
  if (expected <= 0) return;
  if (!block_start_.is_finite()) block_start_ = now;
  block_lost_ += std::clamp<int64_t>(lost, 0, expected);
  block_expected_ += expected;
  block_rate_sum_bps_ += current_.bps_f();
  ++block_rate_samples_;
  if (config_.inherent_loss_blocks > 0 && block_expected_ >= config_.inherent_loss_block_packets &&
      now - block_start_ >= config_.inherent_loss_block_duration) {
    block_start_ = now;
    blocks_.push_back(Block{static_cast<double>(block_lost_) / static_cast<double>(block_expected_),
                            block_rate_sum_bps_ / static_cast<double>(block_rate_samples_),
                            block_expected_});
    while (blocks_.size() > config_.inherent_loss_blocks) blocks_.pop_front();
    block_lost_ = 0;
    block_expected_ = 0;
    block_rate_sum_bps_ = 0;
    block_rate_samples_ = 0;
  }
  lost_accum_ += std::clamp<int64_t>(lost, 0, expected);
  expected_accum_ += expected;
  if (expected_accum_ < config_.min_packets_per_loss_report) return;  // too few to judge
  if (last_loss_figure_.is_finite() && now - last_loss_figure_ < config_.min_loss_report_interval) {
    return;
  }
  last_loss_figure_ = now;
  last_fraction_loss_ = static_cast<double>(lost_accum_) / static_cast<double>(expected_accum_);
  last_lost_packets_ = lost_accum_;
  lost_accum_ = 0;
  expected_accum_ = 0;
  has_decreased_since_loss_report_ = false;
  update_estimate(now);
}

double LossBasedBwe::inherent_loss() const {
  if (config_.inherent_loss_blocks == 0 || blocks_.size() < config_.inherent_loss_blocks) return 0.0;
  if (loss_follows_rate()) return 0.0;
  double lowest = 1.0;
  for (const Block& b : blocks_) lowest = std::min(lowest, b.loss);
  return lowest;
}

bool LossBasedBwe::loss_follows_rate() const {
  if (blocks_.size() < std::max<size_t>(2, config_.follow_min_blocks)) return false;
  std::vector<Block> sorted(blocks_.begin(), blocks_.end());
  std::sort(sorted.begin(), sorted.end(), [](const Block& a, const Block& b) { return a.rate_bps < b.rate_bps; });
  const size_t half = sorted.size() / 2;  // with an odd count the median block is in neither half
  double low_rate = 0, low_loss = 0, high_rate = 0, high_loss = 0;
  double low_packets = 0, high_packets = 0;
  for (size_t i = 0; i < half; ++i) {
    low_rate += sorted[i].rate_bps;
    low_loss += sorted[i].loss;
    low_packets += static_cast<double>(sorted[i].packets);
    high_rate += sorted[sorted.size() - 1 - i].rate_bps;
    high_loss += sorted[sorted.size() - 1 - i].loss;
    high_packets += static_cast<double>(sorted[sorted.size() - 1 - i].packets);
  }
  // Means over `half` blocks each; the comparisons below are scale-free in the count.
  if (high_rate < low_rate * config_.follow_min_rate_spread) return false;  // no spread: cannot tell
  const double difference = (high_loss - low_loss) / static_cast<double>(half);
  const double pooled = (high_loss + low_loss) / static_cast<double>(2 * half);
  const double standard_error =
      std::sqrt(pooled * (1 - pooled) * (1 / std::max(low_packets, 1.0) + 1 / std::max(high_packets, 1.0)));
  return difference > config_.follow_min_loss_difference &&
         difference > config_.follow_min_relative_difference * high_loss / static_cast<double>(half) &&
         difference > config_.follow_min_significance * standard_error;
}

void LossBasedBwe::update_min_history(Timestamp now) {
  min_history_.expire_before(now - config_.increase_interval + TimeDelta::Millis(1));
  min_history_.push(now, current_);
}

void LossBasedBwe::update_estimate(Timestamp now) {
  update_min_history(now);
  if (last_loss_report_.is_minus_infinity()) {
    update_target(current_, now);  // no loss information yet: only the caps apply
    return;
  }
  if (now - last_loss_report_ > config_.loss_report_timeout) {
    update_target(current_, now);
    return;
  }
  const double loss = std::max(0.0, last_fraction_loss_ - inherent_loss());
  // Congestive: the recent blocks show loss following the rate, or loss came back near the rate
  // that met congestion before (steady at a cap, the blocks have no rate spread to show it).
  const bool congestive =
      loss_follows_rate() || (congested_rate_ && current_ >= *congested_rate_ * config_.near_congestion_fraction);
  // The cap is lifted `congestion_memory` after the last congestive cut; the slow growth near the
  // congested rate stays until the rate has passed it by 10% without congestion.
  if (congested_rate_ && current_ > *congested_rate_ * 1.1) congested_rate_.reset();
  const bool capped = congested_rate_ && now - congested_at_ <= config_.congestion_memory;
  const double cut_threshold = congestive ? config_.low_loss_threshold : config_.high_loss_threshold;
  const bool random_loss = !congestive && !delay_increasing_ && loss <= cut_threshold;
  if (current_ < config_.bitrate_threshold || loss <= config_.low_loss_threshold || random_loss) {
    // Grow 8% a second from the lowest rate of the last second (the rule is applied each update,
    // but the base only moves once per interval, so the growth is 8% per interval); slower near
    // the rate of the recent congestive cuts, and not up to it while it is remembered.
    const DataRate base = min_history_.value();
    const bool near = congested_rate_ && base >= *congested_rate_ * config_.near_congestion_fraction;
    DataRate rate = base * (near ? config_.near_congestion_increase_factor : config_.increase_factor) +
                    config_.increase_offset;
    // Below the rate that met congestion, for as long as it is remembered.
    if (capped) rate = max(min(rate, *congested_rate_ * config_.congestion_cap), min(base, current_));
    update_target(rate, now);
  } else if (loss > cut_threshold && last_lost_packets_ >= config_.min_lost_packets_per_cut) {
    if (!has_decreased_since_loss_report_ &&
        now - last_decrease_ >= config_.decrease_interval + rtt_) {
      last_decrease_ = now;
      has_decreased_since_loss_report_ = true;
      if (congestive) {  // the highest recent rate that met congestion (a follow-up cut is lower)
        congested_rate_ = congested_rate_ ? max(*congested_rate_, current_) : current_;
        congested_at_ = now;
      }
      update_target(current_ * (1.0 - 0.5 * loss), now);
    }
  } else {
    update_target(current_, now);  // 2-10% of loss that does not follow the rate: hold
  }
}

void LossBasedBwe::update_target(DataRate rate, Timestamp now) {
  (void)now;
  rate = min(rate, min(delay_based_limit_, receiver_limit_));
  current_ = clamp(rate, config_.min_rate, config_.max_rate);
}

}  // namespace tern::congestion
