#include "tern/congestion/network_types.h"

#include <algorithm>

namespace tern::congestion {

std::vector<PacketResult> TransportPacketsFeedback::received_with_send_info() const {
  std::vector<PacketResult> out;
  out.reserve(packets.size());
  for (const auto& p : packets) {
    if (p.is_received()) out.push_back(p);
  }
  return out;
}

std::vector<PacketResult> TransportPacketsFeedback::sorted_by_receive_time() const {
  std::vector<PacketResult> out = received_with_send_info();
  std::stable_sort(out.begin(), out.end(), [](const PacketResult& a, const PacketResult& b) {
    if (a.receive_time != b.receive_time) return a.receive_time < b.receive_time;
    if (a.sent.send_time != b.sent.send_time) return a.sent.send_time < b.sent.send_time;
    return a.sent.sequence_number < b.sent.sequence_number;
  });
  return out;
}

}  // namespace tern::congestion
