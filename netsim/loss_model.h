// LossModel: per-packet loss decisions for an emulated link: none, independent (Bernoulli) loss,
// or Gilbert-Elliott burst loss.
//
// The burst model is the two-state Gilbert channel (E. N. Gilbert, "Capacity of a burst-noise
// channel", 1960; the simple form used by RFC 3611 4.7.2 and netem "loss gemodel"): every packet
// in the Bad state is lost, every packet in the Good state goes through. It is parameterised the
// way people describe real paths, by the average loss rate p and the mean burst length L (packets):
//   P(Bad -> Good) = r = 1 / L,  P(Good -> Bad) = q = p * r / (1 - p),
// so the stationary Bad probability q / (q + r) is p and bursts are geometric with mean L.
#pragma once

#include <cstdint>

#include "tern/core/random.h"
#include "tern/core/result.h"

namespace tern::netsim {

struct LossConfig {
  enum class Kind { kNone, kRandom, kGilbertElliott };
  Kind kind = Kind::kNone;
  double loss_rate = 0.0;          // average fraction of packets lost, in [0, 1)
  double mean_burst_length = 1.0;  // Gilbert-Elliott only: mean consecutive losses, >= 1

  static LossConfig None() { return {}; }
  static LossConfig Random(double p) { return {Kind::kRandom, p, 1.0}; }
  static LossConfig GilbertElliott(double p, double burst) { return {Kind::kGilbertElliott, p, burst}; }
};

class LossModel {
 public:
  // Validates the config (rates in range, burst >= 1, and q <= 1 for the burst model).
  static Result<LossModel> Create(const LossConfig& config, uint64_t seed);

  // Decides the fate of the next packet; true means lost. Advances the Markov chain once.
  bool next_lost();
  const LossConfig& config() const { return config_; }

 private:
  LossModel(const LossConfig& config, uint64_t seed);

  LossConfig config_;
  Random random_;
  double p_good_to_bad_ = 0.0;
  double p_bad_to_good_ = 1.0;
  bool bad_ = false;
};

}  // namespace tern::netsim
