// RED receive-side deduplication (see red_receiver.h).
#include "tern/recovery/red_receiver.h"

#include "tern/recovery/red.h"

namespace tern::recovery {

bool RedReceiver::deliver(uint16_t seq) {
  const int64_t s = unwrapper_.peek(seq);
  const size_t cap = config_.history == 0 ? 1 : config_.history;
  if (!delivered_.empty() && delivered_.size() >= cap && s < *delivered_.begin()) return false;
  if (!delivered_.insert(s).second) return false;
  while (delivered_.size() > cap) delivered_.erase(delivered_.begin());
  return true;
}

std::vector<rtp::RtpPacket> RedReceiver::on_packet(const rtp::RtpPacket& red) {
  std::vector<rtp::RtpPacket> out;
  auto blocks = decode_red(red);
  if (!blocks) {
    ++stats_.malformed;
    return out;
  }
  ++stats_.red_packets;
  unwrapper_.unwrap(red.sequence_number());
  const size_t n = blocks->size();
  for (size_t i = 0; i < n; ++i) {
    rtp::RtpPacket& p = (*blocks)[i];
    if (!deliver(p.sequence_number())) {
      ++stats_.duplicates_dropped;
      continue;
    }
    if (i + 1 < n) ++stats_.packets_recovered;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace tern::recovery
