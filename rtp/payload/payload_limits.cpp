#include "tern/rtp/payload/payload_limits.h"

#include <algorithm>

namespace tern::rtp {

Status FragmentPlan::plan(size_t length, const PayloadLimits& limits) {
  offsets_.clear();
  if (length == 0) return Error{"payload: empty frame"};
  if (length > UINT32_MAX) return Error{"payload: frame too large"};
  const size_t max = limits.max_payload_size;
  if (limits.single_packet_reduction < max && length <= max - limits.single_packet_reduction) {
    offsets_.push_back(0);
    offsets_.push_back(static_cast<uint32_t>(length));
    return Status::Ok();
  }
  // Several packets; each of the first and last must still carry at least one byte.
  if (limits.first_packet_reduction >= max || limits.last_packet_reduction >= max)
    return Error{"payload: limits leave no room for a fragment"};
  const size_t total = length + limits.first_packet_reduction + limits.last_packet_reduction;
  size_t n = std::max<size_t>(2, (total + max - 1) / max);
  if (n > kMaxFragments) return Error{"payload: frame needs too many packets"};
  if (length < n) return Error{"payload: limits leave no room for a fragment"};
  // Fill packet by packet: each takes an equal share of what is left (occupancy, so the share
  // includes its reduction). Shares are non-decreasing, so the last never exceeds ceil(total/n).
  // A reduction larger than the share is clamped to a 1-byte fragment; the rest shrink to match.
  offsets_.reserve(n + 1);
  offsets_.push_back(0);
  size_t remaining_bytes = length;
  size_t remaining_reduction = total - length;
  for (size_t i = 0; i < n; ++i) {
    const size_t packets_left = n - i;
    const size_t reduction = i == 0 ? limits.first_packet_reduction
                             : i == n - 1 ? limits.last_packet_reduction : 0;
    size_t fragment;
    if (packets_left == 1) {
      fragment = remaining_bytes;
    } else {
      const size_t share = (remaining_bytes + remaining_reduction) / packets_left;
      fragment = share > reduction ? share - reduction : 1;
      fragment = std::min(fragment, max - reduction);
      // Leave at least one byte for each packet still to come.
      fragment = std::min(fragment, remaining_bytes - (packets_left - 1));
      fragment = std::max<size_t>(fragment, 1);
    }
    remaining_bytes -= fragment;
    remaining_reduction -= reduction;
    offsets_.push_back(static_cast<uint32_t>(offsets_.back() + fragment));
  }
  if (offsets_.back() != length || size(n - 1) + limits.last_packet_reduction > max) {
    offsets_.clear();  // unreachable for valid limits; kept as a guard
    return Error{"payload: fragment plan does not fit"};
  }
  return Status::Ok();
}

}  // namespace tern::rtp
