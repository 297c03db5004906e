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
  if (config.max_group_frames < 1 || config.max_group_frames > 8) {
    return Error{"protection policy: max_group_frames outside [1, 8]"};
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

const UnrecoverablePatterns& ProtectionPolicy::patterns(size_t k, size_t m, FecMaskType type) const {
  const auto key = std::make_tuple(k, m, type);
  if (auto it = patterns_.find(key); it != patterns_.end()) return it->second;
  if (patterns_.size() >= kMaxCachedPatterns) patterns_.clear();
  return patterns_.emplace(key, unrecoverable_patterns(k, m, type)).first->second;
}

ProtectionPolicy::Residual ProtectionPolicy::residual_rate(const StreamFigures& stream, double loss,
                                                           FecMaskType type) const {
  if (stream.fps <= 0.0 || config_.packet_payload_bytes <= 0) return {};
  const size_t n = static_cast<size_t>(std::max(1.0, std::ceil(stream.bytes_per_frame() / static_cast<double>(config_.packet_payload_bytes))));
  // For each group length, the fewest FEC packets whose group fails at most once per
  // 1 / max_frame_loss frames (a failed group costs one freeze, whichever of its frames it hits),
  // judged with the masks themselves. The cheapest length that meets it within max_fec_rate wins
  // (the shorter on a tie); when none does, the one that fails least at max_fec_rate. Groups of
  // more than kMaxJudgedGroup packets are not judged (frames over ~9 Mbps at 30 fps): max_fec_rate.
  Residual best{static_cast<double>(config_.max_fec_rate), 1};
  double best_failures = 2.0;  // per frame at max_fec_rate, while no length meets the goal
  bool met = false;
  for (size_t frames = 1; frames <= config_.max_group_frames; ++frames) {
    const size_t k = n * frames;
    if (k > kMaxJudgedGroup) break;
    const double allowed = config_.max_frame_loss * static_cast<double>(frames);
    const auto fails = [&](size_t m) { return residual_group_loss(k, m, patterns(k, m, type), loss); };
    const size_t m_cap = fec_packet_count(k, config_.max_fec_rate);
    if (const double at_cap = fails(m_cap); at_cap > allowed) {
      if (!met && at_cap / static_cast<double>(frames) < best_failures) {
        best = {256.0 * static_cast<double>(m_cap + 1) / static_cast<double>(k), frames};  // over the cap
        best_failures = at_cap / static_cast<double>(frames);
      }
      continue;
    }
    // The fewest within the cap, by bisection: more FEC packets fail less (nearly always: the
    // two-class masks beyond 12 packets are not strictly monotone; the answer meets the goal all
    // the same, and ~5 FEC packet counts are judged instead of up to 24).
    size_t lo = 0, hi = m_cap;  // fails(hi) <= allowed; lo = 0 or fails(lo) > allowed
    while (hi - lo > 1) {
      const size_t mid = (lo + hi) / 2;
      if (fails(mid) <= allowed) hi = mid;
      else lo = mid;
    }
    const double rate = 256.0 * static_cast<double>(hi) / static_cast<double>(k);
    if (!met || rate < best.rate) best = {rate, frames};
    met = true;
  }
  return best;
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
  size_t group_frames = 1;
  if (config_.allow_nack && stream != nullptr && path_rtt >= config_.high_rtt) {
    if (const Residual r = residual_rate(*stream, loss, d.mask_type); r.frames > 0 && r.rate > rate) {
      rate = r.rate;
      group_frames = r.frames;
    }
  }
  rate = std::min(rate, static_cast<double>(config_.max_fec_rate));
  d.use_fec = true;
  d.fec_rate = static_cast<uint8_t>(std::max(1.0, std::round(rate)));
  const double key = std::max(2.0 * d.fec_rate, static_cast<double>(config_.key_min_fec_rate));
  d.key_fec_rate = static_cast<uint8_t>(std::min(255.0, key));
  // Beside NACK, FEC is there to repair sooner than a round trip: a group closes with its frame,
  // or with the next one where rule 6 finds a pair cheaper.
  d.max_frames = loss < 0.05 && !config_.allow_nack ? 3 : group_frames;
  return d;
}

}  // namespace tern::recovery
