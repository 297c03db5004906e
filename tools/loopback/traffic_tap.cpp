#include "tern/tools/loopback/traffic_tap.h"

#include <algorithm>

#include "tern/recovery/red.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_rtcp_split.h"

namespace tern::tools {
namespace {

// Bin `k` of a counter that may not have grown that far (nothing counted there yet).
template <typename T>
T at(const std::vector<T>& v, size_t k) {
  return k < v.size() ? v[k] : T{};
}

}  // namespace

int64_t bin_of(Timestamp t) { return std::max<int64_t>(0, t.us() / kSeriesBin.us()); }

size_t max_bins_for(TimeDelta duration) { return static_cast<size_t>(duration.us() / kSeriesBin.us()) + 2; }

void TrafficBins::ensure(size_t n) {
  if (sent_packets.size() >= n) return;
  sent_packets.resize(n);
  received_packets.resize(n);
  sent_bytes.resize(n);
  received_bytes.resize(n);
  delay_sum_ms.resize(n);
  delay_count.resize(n);
}

VideoMediaFilter::Numbers VideoMediaFilter::classify(std::span<const uint8_t> datagram) const {
  Numbers out;
  if (ssrc == 0 || datagram.size() < 12 || rtp::is_rtcp(datagram)) return out;
  const auto view = rtp::RtpPacketView::parse(datagram);
  if (!view || view->payload().empty()) return out;  // padding only: no media
  const std::span<const uint8_t> p = view->payload();
  if (view->ssrc() == ssrc) {
    if (view->payload_type() == media_pt) {
      out.media = view->sequence_number();
    } else if (red_pt != 0 && view->payload_type() == red_pt) {
      auto red = recovery::parse_red_payload(p);
      if (red && red->primary.payload_type == media_pt) out.media = view->sequence_number();
    }
  } else if (rtx_ssrc != 0 && view->ssrc() == rtx_ssrc && p.size() > 2) {  // the original number, then media
    out.retransmitted = static_cast<uint16_t>((uint16_t{p[0]} << 8) | p[1]);
  }
  return out;
}

std::optional<int64_t> VideoLossLedger::index_of(uint16_t seq) const {
  if (newest_ < 0) return std::nullopt;
  // Against the last number on_sent() unwrapped: the newest sent for an in-order sender (one older
  // than the window moves the reference too, and is dropped there; nearby numbers unwrap the same).
  const int64_t index = unwrap_.peek(seq);
  if (index > newest_ || index <= newest_ - kWindow || index < 0) return std::nullopt;
  return index;
}

void VideoLossLedger::on_sent(uint16_t seq) {
  if (states_.empty()) states_.assign(static_cast<size_t>(kWindow), kNone);
  const int64_t index = unwrap_.unwrap(seq);
  if (index < 0 || index <= newest_ - kWindow) return;  // older than the window
  if (index > newest_) {
    // The slots the window moves over are reused: cleared (numbers skipped were never sent).
    for (int64_t i = std::max(newest_ + 1, index - kWindow + 1); i <= index; ++i) state(i) = kNone;
    newest_ = index;
  }
  uint8_t& s = state(index);
  if (s != kNone) return;  // sent again: counted once
  s = kSent;
  ++sent_;
}

uint8_t* VideoLossLedger::slot(uint16_t seq) {
  const auto index = index_of(seq);
  return index ? &state(*index) : nullptr;
}

void VideoLossLedger::on_arrived(uint16_t seq) {
  uint8_t* s = slot(seq);
  if (s == nullptr || (*s != kSent && *s != kRepaired)) return;
  if (*s == kRepaired) --repaired_;  // late, not lost: its own copy came after all
  *s = kArrived;
  ++arrived_;
}

void VideoLossLedger::on_retransmission(uint16_t original_seq) {
  uint8_t* s = slot(original_seq);
  if (s == nullptr || *s != kSent) return;
  *s = kRepaired;
  ++repaired_;
}

void TrafficTap::on_packet(netsim::SimPacket packet, Timestamp now) {
  if (!packet.duplicate) {
    const VideoMediaFilter::Numbers n = video_.classify(packet.data);
    if (n.media) bins_.video.on_arrived(*n.media);
    if (n.retransmitted) bins_.video.on_retransmission(*n.retransmitted);
  }
  if (!packet.duplicate) {
    const size_t arrive = static_cast<size_t>(bin_of(now));
    const size_t sent = static_cast<size_t>(bin_of(packet.sent_time));
    if (arrive < max_bins_ && sent < max_bins_) {
      bins_.ensure(std::max(arrive, sent) + 1);
      if (bytes_) bins_.received_bytes[arrive] += static_cast<int64_t>(packet.wire_size().bytes());
      if (loss_and_delay_) {
        ++bins_.received_packets[sent];
        const double delay_ms = (now - packet.sent_time).ms_f();
        bins_.delay_sum_ms[arrive] += delay_ms;
        ++bins_.delay_count[arrive];
        if (audio_ssrc_ != 0 && is_audio(packet.data)) {
          audio_delay_sum_ms_ += delay_ms;
          ++audio_delay_count_;
        }
      }
    }
  }
  if (recorder_) recorder_(packet.data, now);
  if (inner_ != nullptr) inner_->on_packet(std::move(packet), now);
}

std::optional<double> TrafficTap::audio_delay_ms() const {
  if (audio_delay_count_ == 0) return std::nullopt;
  return audio_delay_sum_ms_ / static_cast<double>(audio_delay_count_);
}

bool TrafficTap::is_audio(const std::vector<uint8_t>& d) const {
  if (d.size() < 12 || rtp::is_rtcp(d)) return false;
  const uint32_t ssrc = (uint32_t{d[8]} << 24) | (uint32_t{d[9]} << 16) | (uint32_t{d[10]} << 8) | d[11];
  return ssrc == audio_ssrc_;
}

void CountingSend::operator()(netsim::SimPacket p, Timestamp now) const {
  if (bins != nullptr) {
    if (auto seq = video.classify(p.data).media) bins->video.on_sent(*seq);
  }
  const size_t b = static_cast<size_t>(bin_of(now));
  if (bins != nullptr && b < max_bins) {
    bins->ensure(b + 1);
    ++bins->sent_packets[b];
    bins->sent_bytes[b] += static_cast<int64_t>(p.wire_size().bytes());
  }
  next(std::move(p), now);
}

uint64_t path_drops(const netsim::Path& path) {
  uint64_t n = 0;
  for (size_t i = 0; i < path.hop_count(); ++i) {
    const netsim::LinkStats& s = path.hop(i).stats();
    n += s.dropped_blackout + s.dropped_queue + s.dropped_codel + s.dropped_loss + s.dropped_in_flight_limit;
  }
  return n;
}

std::vector<SeriesPoint> build_series(int64_t bins, const TrafficBins& sent, const TrafficBins& received,
                                      const std::vector<pipeline::NetworkSample>& samples,
                                      const netsim::LinkConfig& link) {
  std::vector<SeriesPoint> series;
  size_t next_sample = 0;
  const pipeline::NetworkSample* latest = nullptr;
  for (int64_t i = 0; i < bins; ++i) {
    const Timestamp bin_end = Timestamp::Zero() + kSeriesBin * (i + 1);
    while (next_sample < samples.size() && samples[next_sample].time <= bin_end) {
      latest = &samples[next_sample++];
    }
    SeriesPoint p;
    const size_t k = static_cast<size_t>(i);
    p.time_ms = (bin_end - Timestamp::Zero()).ms_f();
    const DataRate cap = netsim::mean_capacity(link, kSeriesBin * i, kSeriesBin * (i + 1));
    if (cap.is_finite()) p.capacity_kbps = cap.kbps_f();
    const double bin_s = kSeriesBin.seconds_f();
    p.send_kbps = static_cast<double>(at(sent.sent_bytes, k)) * 8 / bin_s / 1000;
    p.receive_kbps = static_cast<double>(at(received.received_bytes, k)) * 8 / bin_s / 1000;
    if (latest != nullptr) {
      p.target_kbps = latest->target_bitrate.kbps_f();
      p.video_target_kbps = latest->video_target.kbps_f();
      if (latest->rtt) p.rtt_ms = latest->rtt->ms_f();
    }
    if (const int64_t n = at(sent.delay_count, k); n > 0) {
      p.one_way_delay_ms = at(sent.delay_sum_ms, k) / static_cast<double>(n);
    }
    if (const int64_t n = at(sent.sent_packets, k); n > 0) {
      const int64_t lost = std::max<int64_t>(0, n - at(sent.received_packets, k));
      p.loss_percent = 100.0 * static_cast<double>(lost) / static_cast<double>(n);
    }
    series.push_back(p);
  }
  return series;
}

}  // namespace tern::tools
