// Fuzzes the send-side feedback path end to end: arbitrary bytes -> transport-cc (RTPFB FMT 15) or
// RFC 8888 (RTPFB FMT 11) parser -> TransportFeedbackAdapter with a synthetic send history ->
// GoogCcNetworkController. Several feedbacks per input (reordered, duplicated, garbage) with time
// moving on between them. Aborts if any rate the controller reports is negative or not finite.
//
// Input: [mode][packets sent (2 bytes)][spare byte] then chunks of [length][payload...].
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tern/congestion/goog_cc_network_controller.h"
#include "tern/congestion/transport_feedback_adapter.h"
#include "tern/rtp/rtcp/congestion_control_feedback.h"
#include "tern/rtp/rtcp/transport_feedback.h"

using namespace tern;
using namespace tern::congestion;

namespace {

void check_rate(DataRate r) {
  if (!r.is_finite() || r < DataRate::Zero()) std::abort();
}

void check(const NetworkControlUpdate& u) {
  if (u.target_rate) {
    check_rate(u.target_rate->target_rate);
    check_rate(u.target_rate->stable_target_rate);
    const double loss = u.target_rate->loss_rate;
    if (!std::isfinite(loss) || loss < 0 || loss > 1) std::abort();
  }
  if (u.pacer_config) {
    check_rate(u.pacer_config->data_rate);
    check_rate(u.pacer_config->padding_rate);
  }
  for (const auto& p : u.probe_cluster_configs) check_rate(p.target_rate);
  if (u.congestion_window && *u.congestion_window < DataSize::Zero()) std::abort();
}

rtcp::CommonHeader header_for(uint8_t format, std::span<const uint8_t> payload) {
  rtcp::CommonHeader h;
  h.count = format;
  h.packet_type = rtcp::kPtRtpfb;
  h.packet_size = rtcp::kCommonHeaderSize + payload.size();
  h.payload = payload;
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const bool rfc8888 = (data[0] & 1) != 0;
  const size_t sent = (size_t{data[1]} << 8 | data[2]) % 1024;
  std::span<const uint8_t> rest(data + 4, size - 4);

  TransportFeedbackAdapter::Config ac;
  ac.history.max_packets = 4096;
  TransportFeedbackAdapter adapter(ac);
  GoogCcNetworkController cc;
  Timestamp now = Timestamp::Seconds(100);
  check(cc.on_network_availability(true, now));
  for (size_t i = 0; i < sent; ++i) {
    const auto s = adapter.on_sent_packet(now, DataSize::Bytes(100 + static_cast<int64_t>(i % 1100)),
                                          i % 50 < 5 ? 1 : kNotAProbe, i % 7 == 0,
                                          TransportFeedbackAdapter::RtpId{static_cast<uint32_t>(i % 4),
                                                                          static_cast<uint16_t>(i / 4)});
    check(cc.on_sent_packet(s.info));
    now += TimeDelta::Micros(500);
  }

  for (int chunks = 0; chunks < 64 && !rest.empty(); ++chunks) {
    const size_t len = std::min<size_t>(rest[0], rest.size() - 1) & ~size_t{3};
    const std::span<const uint8_t> payload = rest.subspan(1, len);
    rest = rest.subspan(1 + len);
    now += TimeDelta::Millis(1 + (len % 97));
    if (rfc8888) {
      auto fb = rtcp::CongestionControlFeedback::parse(header_for(rtcp::CongestionControlFeedback::kFormat, payload));
      if (!fb) continue;
      if (auto report = adapter.on_congestion_control_feedback(*fb, now)) check(cc.on_transport_feedback(*report));
    } else {
      auto fb = rtcp::TransportFeedback::parse(header_for(rtcp::TransportFeedback::kFormat, payload));
      if (!fb) continue;
      if (auto report = adapter.on_transport_feedback(*fb, now)) {
        for (const auto& p : report->packets) {
          if (p.is_received() && !p.receive_time.is_finite()) std::abort();
        }
        check(cc.on_transport_feedback(*report));
      }
    }
    check(cc.on_process_interval(now));
    check_rate(cc.target_rate());
    check_rate(cc.pushback_target_rate());
    if (adapter.data_in_flight() < DataSize::Zero()) std::abort();
  }
  return 0;
}
