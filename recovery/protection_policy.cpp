// NACK/FEC selection rules (see protection_policy.h).
#include "tern/recovery/protection_policy.h"

#include <algorithm>
#include <cmath>

namespace tern::recovery {

Result<ProtectionPolicy> ProtectionPolicy::Create(Config config) {
  if (!(config.min_fec_loss >= 0.0 && config.min_fec_loss <= 1.0)) {
    return Error{"protection policy: min_fec_loss outside [0, 1]"};
  }
  if (!(config.min_fec_packets_per_frame_on >= 0.0 && config.min_fec_packets_per_frame_on <= config.min_fec_packets_per_frame)) {
    return Error{"protection policy: min_fec_packets_per_frame_on outside [0, min_fec_packets_per_frame]"};
  }
  if (!(config.fec_off_loss >= 0.0 && config.fec_off_loss <= 1.0)) {
    return Error{"protection policy: fec_off_loss outside [0, 1]"};
  }
  if (config.nack_only_rtt < TimeDelta::Zero() || config.high_rtt < TimeDelta::Zero()) {
    return Error{"protection policy: negative RTT threshold"};
  }
  return ProtectionPolicy(config);
}

bool ProtectionPolicy::too_small_for_fec(const StreamFigures& stream) const {
  if (stream.fps <= 0.0) return false;
  // tern's one-frame groups: under two packets a frame, FEC costs half the media or more.
  // Judged on media + the FEC sent now: on media alone, turning FEC on took its share from the
  // media and turned it off again at the next figure (and so on: bursty flapped every second).
  const double per_frame = stream.fec_on ? config_.min_fec_packets_per_frame_on : config_.min_fec_packets_per_frame;
  const double fec_bytes = stream.fec_rate.bps_f() / 8.0 / stream.fps;
  return stream.bytes_per_frame() + fec_bytes < per_frame * static_cast<double>(config_.packet_payload_bytes);
}

double ProtectionPolicy::residual_rate(const StreamFigures& stream, double loss) const {
  if (stream.fps <= 0.0 || config_.packet_payload_bytes <= 0) return 0.0;
  const int n = std::max(1, static_cast<int>(std::ceil(stream.bytes_per_frame() / static_cast<double>(config_.packet_payload_bytes))));
  // P(more than k of the group's n + k packets lost), independent losses at `loss`.
  const auto beyond = [loss](int total, int k) {
    double within = 0.0;
    double term = std::pow(1.0 - loss, total);  // P(0 lost)
    for (int i = 0; i <= k; ++i) {
      within += term;
      term *= static_cast<double>(total - i) / static_cast<double>(i + 1) * loss / (1.0 - loss);
    }
    return 1.0 - within;
  };
  int k = 1;
  while (k < n && beyond(n + k, k) > config_.max_frame_loss) ++k;
  return 256.0 * static_cast<double>(k) / static_cast<double>(n);
}

ProtectionDecision ProtectionPolicy::decide(TimeDelta rtt, double loss_fraction, bool bursty,
                                            const StreamFigures* stream) const {
  ProtectionDecision d;
  if (!config_.enabled) return d;
  const double loss = std::isnan(loss_fraction) ? 0.0 : std::clamp(loss_fraction, 0.0, 1.0);
  d.use_nack = config_.allow_nack;
  d.mask_type = bursty ? FecMaskType::kBursty : FecMaskType::kRandom;
  const double min_loss = stream != nullptr && stream->fec_on ? std::min(config_.fec_off_loss, config_.min_fec_loss) : config_.min_fec_loss;
  if (!config_.allow_fec || rtt < config_.nack_only_rtt || loss < min_loss || loss == 0.0) {
    return d;
  }
  // Rules 5 and 6 look at the path's own round trip when the caller knows it.
  const TimeDelta path_rtt = stream != nullptr && stream->base_rtt ? *stream->base_rtt : rtt;
  if (config_.allow_nack && stream != nullptr && path_rtt < config_.high_rtt && too_small_for_fec(*stream)) return d;
  // Without NACK, FEC is the only repair: every packet it misses costs a keyframe.
  const double multiplier = !config_.allow_nack        ? config_.fec_only_multiplier
                            : rtt >= config_.high_rtt ? 3.0
                                                      : 2.0;
  double rate = 255.0 * loss * multiplier;
  if (config_.allow_nack && stream != nullptr && path_rtt >= config_.high_rtt) {
    rate = std::max(rate, residual_rate(*stream, loss));
  }
  rate = std::min(rate, static_cast<double>(config_.max_fec_rate));
  d.use_fec = true;
  d.fec_rate = static_cast<uint8_t>(std::max(1.0, std::round(rate)));
  const double key = std::max(2.0 * d.fec_rate, static_cast<double>(config_.key_min_fec_rate));
  d.key_fec_rate = static_cast<uint8_t>(std::min(255.0, key));
  // Beside NACK, FEC is there to repair sooner than a round trip: a group closes with its frame.
  d.max_frames = loss < 0.05 && !config_.allow_nack ? 3 : 1;
  return d;
}

}  // namespace tern::recovery
