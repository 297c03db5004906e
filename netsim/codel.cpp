#include "tern/netsim/codel.h"

#include <cmath>

namespace tern::netsim {

Result<Codel> Codel::Create(const CodelConfig& config) {
  if (!config.target.is_finite() || config.target <= TimeDelta::Zero()) return Error{"codel target must be > 0"};
  if (!config.interval.is_finite() || config.interval <= TimeDelta::Zero())
    return Error{"codel interval must be > 0"};
  if (!config.mtu.is_finite() || config.mtu < DataSize::Zero()) return Error{"codel mtu must be >= 0"};
  return Codel(config);
}

Timestamp Codel::control_law(Timestamp t, uint32_t count) const {
  return t + config_.interval * (1.0 / std::sqrt(static_cast<double>(count == 0 ? 1 : count)));
}

}  // namespace tern::netsim
