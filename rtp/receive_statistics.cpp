#include "tern/rtp/receive_statistics.h"

#include <algorithm>

namespace tern::rtp {
namespace {

auto lower_bound_ssrc(std::vector<StreamStatistician>& v, uint32_t ssrc) {
  return std::lower_bound(v.begin(), v.end(), ssrc,
                          [](const StreamStatistician& s, uint32_t x) { return s.ssrc() < x; });
}
auto lower_bound_ssrc(const std::vector<StreamStatistician>& v, uint32_t ssrc) {
  return std::lower_bound(v.begin(), v.end(), ssrc,
                          [](const StreamStatistician& s, uint32_t x) { return s.ssrc() < x; });
}

}  // namespace

Result<ReceiveStatistics> ReceiveStatistics::Create(Config config) {
  if (config.max_streams == 0 || config.max_streams > 1024) {
    return Error{"receive statistics: max_streams must be 1..1024"};
  }
  ReceiveStatistics r(config);
  r.streams_.reserve(config.max_streams);
  return r;
}

Status ReceiveStatistics::register_payload_type(uint8_t pt, uint32_t clock_rate) {
  if (pt > 127) return Error{"receive statistics: payload type above 127"};
  if (clock_rate == 0) return Error{"receive statistics: clock rate must be positive"};
  clock_rates_[pt] = clock_rate;
  return Status::Ok();
}

StreamStatistician& ReceiveStatistics::get_or_create(uint32_t ssrc) {
  auto it = lower_bound_ssrc(streams_, ssrc);
  if (it != streams_.end() && it->ssrc() == ssrc) return *it;
  if (streams_.size() >= config_.max_streams) {
    // Full: evict the least recently active source.
    auto victim = std::min_element(streams_.begin(), streams_.end(),
                                   [](const StreamStatistician& a, const StreamStatistician& b) {
                                     return a.last_packet_time() < b.last_packet_time();
                                   });
    streams_.erase(victim);
    ++evicted_;
    it = lower_bound_ssrc(streams_, ssrc);
  }
  return *streams_.insert(it, StreamStatistician(ssrc));
}

bool ReceiveStatistics::on_rtp_packet(const RtpHeader& header, Timestamp arrival, size_t packet_bytes,
                                      bool retransmitted) {
  uint32_t rate = clock_rates_[header.payload_type & 0x7F];
  if (rate == 0) rate = config_.default_clock_rate;
  return get_or_create(header.ssrc).on_packet(header, arrival, packet_bytes, rate, retransmitted);
}

void ReceiveStatistics::on_sender_report(uint32_t ssrc, NtpTime ntp, Timestamp arrival) {
  get_or_create(ssrc).on_sender_report(ntp, arrival);
}

std::vector<rtcp::ReportBlock> ReceiveStatistics::report_blocks(Timestamp now, size_t max_blocks) {
  std::vector<rtcp::ReportBlock> out;
  if (max_blocks == 0 || streams_.empty()) return out;
  const size_t n = streams_.size();
  // First stream at or after the cursor, then wrap around once.
  size_t start = static_cast<size_t>(
      next_report_ssrc_ > 0xFFFFFFFFull
          ? 0
          : lower_bound_ssrc(streams_, static_cast<uint32_t>(next_report_ssrc_)) - streams_.begin());
  if (start == n) start = 0;
  out.reserve(std::min(max_blocks, n));
  for (size_t k = 0; k < n && out.size() < max_blocks; ++k) {
    StreamStatistician& s = streams_[(start + k) % n];
    if (!s.validated() || !s.received_since_last_report()) continue;
    out.push_back(s.make_report_block(now));
    next_report_ssrc_ = uint64_t{s.ssrc()} + 1;
  }
  return out;
}

const StreamStatistician* ReceiveStatistics::stream(uint32_t ssrc) const {
  auto it = lower_bound_ssrc(streams_, ssrc);
  return it != streams_.end() && it->ssrc() == ssrc ? &*it : nullptr;
}

std::optional<InboundRtpCounters> ReceiveStatistics::stats(uint32_t ssrc) const {
  const StreamStatistician* s = stream(ssrc);
  if (s == nullptr) return std::nullopt;
  return s->counters();
}

std::vector<uint32_t> ReceiveStatistics::ssrcs() const {
  std::vector<uint32_t> out;
  out.reserve(streams_.size());
  for (const auto& s : streams_) out.push_back(s.ssrc());
  return out;
}

void ReceiveStatistics::remove_stream(uint32_t ssrc) {
  auto it = lower_bound_ssrc(streams_, ssrc);
  if (it != streams_.end() && it->ssrc() == ssrc) streams_.erase(it);
}

}  // namespace tern::rtp
