#include "tern/netsim/loss_model.h"

namespace tern::netsim {

LossModel::LossModel(const LossConfig& config, uint64_t seed) : config_(config), random_(seed) {
  if (config.kind == LossConfig::Kind::kGilbertElliott) {
    p_bad_to_good_ = 1.0 / config.mean_burst_length;
    p_good_to_bad_ = config.loss_rate * p_bad_to_good_ / (1.0 - config.loss_rate);
    // Start in the stationary distribution so short runs are unbiased too.
    bad_ = random_.bernoulli(config.loss_rate);
  }
}

Result<LossModel> LossModel::Create(const LossConfig& config, uint64_t seed) {
  if (config.kind == LossConfig::Kind::kNone) return LossModel(config, seed);
  if (!(config.loss_rate >= 0.0 && config.loss_rate < 1.0)) return Error{"loss rate must be in [0, 1)"};
  if (config.kind == LossConfig::Kind::kGilbertElliott) {
    if (!(config.mean_burst_length >= 1.0 && config.mean_burst_length < 1e9))
      return Error{"mean burst length must be >= 1"};
    const double r = 1.0 / config.mean_burst_length;
    if (config.loss_rate * r / (1.0 - config.loss_rate) > 1.0)
      return Error{"loss rate too high for this burst length (needs P(good->bad) > 1)"};
  }
  return LossModel(config, seed);
}

bool LossModel::next_lost() {
  switch (config_.kind) {
    case LossConfig::Kind::kNone:
      return false;
    case LossConfig::Kind::kRandom:
      return random_.bernoulli(config_.loss_rate);
    case LossConfig::Kind::kGilbertElliott: {
      const bool lost = bad_;
      bad_ = bad_ ? !random_.bernoulli(p_bad_to_good_) : random_.bernoulli(p_good_to_bad_);
      return lost;
    }
  }
  return false;
}

}  // namespace tern::netsim
