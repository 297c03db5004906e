#include "tern/congestion/transport_feedback_generator.h"

#include <algorithm>

namespace tern::congestion {

namespace {

// A transport-cc report of a few packets with IP/UDP/SRTCP overhead, as libwebrtc assumes.
constexpr DataSize kTypicalReportSize = DataSize::Bytes(68);

}  // namespace

TimeDelta feedback_interval_for(DataRate bitrate, double fraction, TimeDelta min_interval,
                                TimeDelta max_interval) {
  if (!(fraction > 0) || !bitrate.is_finite() || bitrate <= DataRate::Zero()) return max_interval;
  const DataRate feedback_rate = bitrate * fraction;
  if (feedback_rate <= DataRate::Zero()) return max_interval;
  return clamp(kTypicalReportSize / feedback_rate, min_interval, max_interval);
}

// --- TransportFeedbackGenerator ---

TransportFeedbackGenerator::TransportFeedbackGenerator(Config config)
    : config_(config), interval_(clamp(config.default_interval, config.min_interval, config.max_interval)) {
  if (config_.max_packets == 0) config_.max_packets = 1;
  if (config_.max_feedback_packets_per_process == 0) config_.max_feedback_packets_per_process = 1;
}

void TransportFeedbackGenerator::set_bitrate_hint(DataRate bitrate) {
  interval_ = feedback_interval_for(bitrate, config_.bandwidth_fraction, config_.min_interval,
                                    config_.max_interval);
}

void TransportFeedbackGenerator::on_received_packet(uint16_t seq, Timestamp arrival) {
  if (!arrival.is_finite()) return;
  const int64_t u = unwrapper_.unwrap(seq);
  // Far behind everything kept: too old to report.
  if (!arrivals_.empty() && u < arrivals_.rbegin()->first - static_cast<int64_t>(config_.max_packets)) return;
  const bool inserted = arrivals_.try_emplace(u, arrival).second;
  if (!window_start_ || (inserted && u < *window_start_)) window_start_ = u;
  while (arrivals_.size() > config_.max_packets) arrivals_.erase(arrivals_.begin());
  if (*window_start_ < arrivals_.begin()->first) window_start_ = arrivals_.begin()->first;
}

std::optional<Timestamp> TransportFeedbackGenerator::next_wakeup() const {
  if (!window_start_ || arrivals_.empty() || arrivals_.rbegin()->first < *window_start_) return std::nullopt;
  if (!last_process_.is_finite()) return arrivals_.lower_bound(*window_start_)->second + interval_;
  return last_process_ + interval_;
}

std::vector<rtcp::TransportFeedback> TransportFeedbackGenerator::process(Timestamp now) {
  std::vector<rtcp::TransportFeedback> out;
  const auto due = next_wakeup();
  if (!due || now < *due) return out;
  last_process_ = now;

  int64_t start = *window_start_;
  auto it = arrivals_.lower_bound(start);
  while (it != arrivals_.end() && out.size() < config_.max_feedback_packets_per_process) {
    rtcp::TransportFeedback fb(config_.sender_ssrc, config_.media_ssrc);
    fb.set_base(static_cast<uint16_t>(start), it->second);
    int64_t last_added = -1;
    for (; it != arrivals_.end(); ++it) {
      if (!fb.add_received_packet(static_cast<uint16_t>(it->first), it->second)) break;
      last_added = it->first;
    }
    if (last_added < 0) {
      // Not even the first packet fits behind this base (a gap too long to describe): report it
      // on its own base and give up on the unreported gap.
      if (start == it->first) ++it;  // cannot happen with a fresh base, but never loop
      if (it != arrivals_.end()) start = it->first;
      continue;
    }
    fb.set_feedback_sequence(feedback_count_++);
    out.push_back(std::move(fb));
    start = last_added + 1;
  }
  window_start_ = start;
  // Forget reported arrivals once they are older than the back window.
  while (!arrivals_.empty() && arrivals_.begin()->first < start &&
         arrivals_.begin()->second < now - config_.back_window) {
    arrivals_.erase(arrivals_.begin());
  }
  return out;
}

// --- CongestionControlFeedbackGenerator ---

CongestionControlFeedbackGenerator::CongestionControlFeedbackGenerator(Config config)
    : config_(config), interval_(clamp(config.default_interval, config.min_interval, config.max_interval)) {
  if (config_.max_packets_per_ssrc == 0) config_.max_packets_per_ssrc = 1;
  if (config_.max_feedback_packets_per_process == 0) config_.max_feedback_packets_per_process = 1;
  config_.max_packets_per_ssrc =
      std::min(config_.max_packets_per_ssrc, rtcp::CongestionControlFeedback::kMaxReportsPerStream);
  // Room for the header, one block header, a metric block and the report timestamp.
  config_.max_report_size = std::max<size_t>(config_.max_report_size, 32);
}

uint32_t CongestionControlFeedbackGenerator::CompactNtp(Timestamp t) {
  // 16.16 fixed-point seconds; the integer part wraps every 65536 s.
  const int64_t us = t.us();
  const int64_t secs = us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000;
  const int64_t frac_us = us - secs * 1'000'000;
  const auto frac = static_cast<uint32_t>((frac_us << 16) / 1'000'000);
  return (static_cast<uint32_t>(secs) << 16) | frac;
}

void CongestionControlFeedbackGenerator::set_bitrate_hint(DataRate bitrate) {
  interval_ = feedback_interval_for(bitrate, config_.bandwidth_fraction, config_.min_interval,
                                    config_.max_interval);
}

void CongestionControlFeedbackGenerator::on_received_packet(uint32_t ssrc, uint16_t seq, Timestamp arrival,
                                                            rtcp::EcnMarking ecn) {
  if (!arrival.is_finite()) return;
  auto sit = streams_.find(ssrc);
  if (sit == streams_.end()) {
    if (streams_.size() >= config_.max_ssrcs) return;
    sit = streams_.try_emplace(ssrc).first;
  }
  Stream& s = sit->second;
  const int64_t u = s.unwrapper.unwrap(seq);
  const auto limit = static_cast<int64_t>(config_.max_packets_per_ssrc);
  if (!s.arrivals.empty() && u < s.arrivals.rbegin()->first - limit) return;
  const bool inserted = s.arrivals.try_emplace(u, Arrival{arrival, ecn}).second;
  if (!s.window_start || (inserted && u < *s.window_start)) s.window_start = u;
  while (s.arrivals.size() > config_.max_packets_per_ssrc) s.arrivals.erase(s.arrivals.begin());
  if (*s.window_start < s.arrivals.begin()->first) s.window_start = s.arrivals.begin()->first;
  // One report block may span at most kMaxReportsPerStream sequence numbers.
  if (s.arrivals.rbegin()->first - *s.window_start >= limit) {
    s.window_start = s.arrivals.rbegin()->first - limit + 1;
  }
}

bool CongestionControlFeedbackGenerator::has_pending() const {
  for (const auto& [ssrc, s] : streams_) {
    if (s.window_start && !s.arrivals.empty() && s.arrivals.rbegin()->first >= *s.window_start) return true;
  }
  return false;
}

std::optional<Timestamp> CongestionControlFeedbackGenerator::next_wakeup() const {
  if (!has_pending()) return std::nullopt;
  if (!last_process_.is_finite()) {
    Timestamp first = Timestamp::PlusInfinity();
    for (const auto& [ssrc, s] : streams_) {
      if (!s.window_start) continue;
      auto it = s.arrivals.lower_bound(*s.window_start);
      if (it != s.arrivals.end()) first = min(first, it->second.time);
    }
    return first + interval_;
  }
  return last_process_ + interval_;
}

std::vector<rtcp::CongestionControlFeedback> CongestionControlFeedbackGenerator::process(Timestamp now) {
  std::vector<rtcp::CongestionControlFeedback> out;
  const auto due = next_wakeup();
  if (!due || now < *due) return out;
  last_process_ = now;
  const uint32_t report_ntp = CompactNtp(now);
  const auto new_feedback = [&] {
    out.emplace_back(config_.sender_ssrc);
    out.back().set_report_timestamp(report_ntp);
  };
  new_feedback();
  for (auto& [stream_ssrc, s] : streams_) {
    const uint32_t ssrc = stream_ssrc;  // a plain variable: lambdas cannot capture bindings in C++20
    if (!s.window_start) continue;
    int64_t start = *s.window_start;
    std::vector<rtcp::CongestionControlFeedback::PacketReport> reports;
    auto flush = [&](int64_t begin) {
      if (reports.empty()) return;
      out.back().add_stream(ssrc, static_cast<uint16_t>(begin), reports);
      reports.clear();
    };
    int64_t block_begin = start;
    for (auto it = s.arrivals.lower_bound(start); it != s.arrivals.end(); ++it) {
      auto block_bytes = [](size_t n) { return n == 0 ? size_t{0} : 8 + 2 * n + (n % 2) * 2; };
      const auto grown = static_cast<size_t>(it->first - block_begin) + 1;
      if (out.back().size() + block_bytes(grown) > config_.max_report_size) {
        const int64_t block_end = block_begin + static_cast<int64_t>(reports.size());
        if (!reports.empty() || !out.back().streams().empty()) {
          flush(block_begin);
          if (out.size() >= config_.max_feedback_packets_per_process) break;
          new_feedback();
        }
        // Continue where the last block ended, unless even a fresh report cannot hold the gap
        // (then the gap before this packet is left unreported).
        const auto fresh = static_cast<size_t>(it->first - block_end) + 1;
        block_begin = out.back().size() + block_bytes(fresh) <= config_.max_report_size ? block_end : it->first;
      }
      reports.resize(static_cast<size_t>(it->first - block_begin));  // not received
      rtcp::CongestionControlFeedback::PacketReport r;
      r.received = true;
      r.ecn = it->second.ecn;
      r.arrival_time_offset = now - it->second.time;
      reports.push_back(r);
      start = it->first + 1;
    }
    flush(block_begin);
    s.window_start = start;
    while (!s.arrivals.empty() && s.arrivals.begin()->first < start &&
           s.arrivals.begin()->second.time < now - config_.back_window) {
      s.arrivals.erase(s.arrivals.begin());
    }
    if (out.size() >= config_.max_feedback_packets_per_process) break;
  }
  if (out.back().streams().empty()) out.pop_back();
  return out;
}

}  // namespace tern::congestion
