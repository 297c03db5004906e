#include "tern/pipeline/rtcp_session.h"

#include <algorithm>

#include "tern/rtp/rtt_estimator.h"

namespace tern::pipeline {

Result<RtcpSession> RtcpSession::Create(const Config& config) {
  if (config.ssrc == 0) return Error{"rtcp session: zero SSRC"};
  rtp::RtcpScheduler::Config sc;
  sc.session_bandwidth = config.session_bandwidth;
  sc.minimum_interval = config.min_interval;
  sc.seed = config.seed;
  sc.we_sent = true;
  auto s = rtp::RtcpScheduler::Create(sc);
  if (!s) return Error{s.error()};
  return RtcpSession(config, std::move(s).value());
}

std::optional<std::vector<uint8_t>> RtcpSession::maybe_build_report(Timestamp now, std::span<const Sender> senders,
                                                                    rtp::ReceiveStatistics& statistics,
                                                                    std::vector<rtcp::RtcpPacket> extra) {
  if (!started_) {
    started_ = true;
    scheduler_.start(now);
  }
  const auto wake = scheduler_.next_wakeup();
  if (!wake || *wake > now || !scheduler_.due(now)) return std::nullopt;
  std::vector<rtcp::RtcpPacket> packets;
  std::vector<rtcp::ReportBlock> blocks = statistics.report_blocks(now, 31);
  bool first = true;
  uint32_t head = config_.ssrc;  // the compound's first SSRC: the first SR's, else the RR's
  for (const Sender& s : senders) {
    if (!s.info) continue;
    if (first) head = s.ssrc;
    rtcp::SenderReport sr;
    sr.sender_ssrc = s.ssrc;
    sr.ntp = s.info->ntp;
    sr.rtp_timestamp = s.info->rtp_timestamp;
    sr.packet_count = s.info->packet_count;
    sr.octet_count = s.info->octet_count;
    if (first) sr.report_blocks = std::move(blocks);
    first = false;
    packets.emplace_back(std::move(sr));
  }
  if (first) {
    rtcp::ReceiverReport rr;
    rr.sender_ssrc = config_.ssrc;
    rr.report_blocks = std::move(blocks);
    packets.emplace_back(std::move(rr));
  }
  rtcp::Sdes sdes = rtcp::Sdes::WithCname(config_.ssrc, config_.cname);
  packets.emplace_back(std::move(sdes));
  if (auto xr = build_xr(now, head, first && config_.send_rrtr)) packets.emplace_back(std::move(*xr));
  for (rtcp::RtcpPacket& p : extra) packets.push_back(std::move(p));
  std::vector<uint8_t> bytes = rtcp::build_compound(packets);
  scheduler_.set_we_sent(!first);
  // RFC 3550 6.2: sizes include UDP/IP headers (28 bytes for IPv4).
  scheduler_.on_sent(now, DataSize::Bytes(static_cast<int64_t>(bytes.size()) + 28), scheduler_.pending_is_early());
  ++counters_.compounds_sent;
  return bytes;
}

std::optional<rtcp::ExtendedReports> RtcpSession::build_xr(Timestamp now, uint32_t head, bool with_rrtr) {
  if (!with_rrtr && pending_rrtrs_.empty()) return std::nullopt;
  rtcp::ExtendedReports xr;
  xr.sender_ssrc = head;
  if (with_rrtr) {
    const NtpTime ntp = config_.ntp_clock.to_ntp(now);
    xr.rrtr = ntp;
    if (sent_rrtrs_.size() == kRrtrHistory) sent_rrtrs_.erase(sent_rrtrs_.begin());
    sent_rrtrs_.push_back(ntp.compact());
    ++counters_.rrtr_sent;
  }
  for (const auto& [ssrc, pending] : pending_rrtrs_) {
    xr.dlrr.push_back({ssrc, pending.last_rr, delta_to_compact_ntp(now - pending.arrival)});
    ++counters_.dlrr_sent;
  }
  pending_rrtrs_.clear();  // each RRTR is answered once (a lost answer waits for the next RRTR)
  return xr;
}

void RtcpSession::on_xr(const rtcp::ExtendedReports& xr, Timestamp now, Listener& listener) {
  if (xr.rrtr && xr.sender_ssrc != 0) {
    if (!pending_rrtrs_.contains(xr.sender_ssrc) && pending_rrtrs_.size() >= kMaxRrtrPeers) {
      auto oldest = std::min_element(pending_rrtrs_.begin(), pending_rrtrs_.end(), [](const auto& a, const auto& b) {
        return a.second.arrival < b.second.arrival;
      });
      pending_rrtrs_.erase(oldest);
    }
    pending_rrtrs_[xr.sender_ssrc] = {xr.rrtr->compact(), now};
  }
  for (const rtcp::DlrrItem& item : xr.dlrr) {
    if (item.ssrc != config_.ssrc) continue;
    if (std::find(sent_rrtrs_.begin(), sent_rrtrs_.end(), item.last_rr) == sent_rrtrs_.end()) {
      ++counters_.dlrr_unmatched;
      continue;
    }
    if (auto rtt = rtp::rtt_from_dlrr(item.last_rr, item.delay_since_last_rr, now, config_.ntp_clock)) {
      ++counters_.receiver_rtt_measured;
      listener.on_receiver_rtt(*rtt, now);
    }
  }
}

std::vector<uint8_t> RtcpSession::build_feedback(std::span<const rtcp::RtcpPacket> packets, Timestamp now) {
  (void)now;
  ++counters_.feedback_sent;
  return rtcp::build_compound(packets);
}

void RtcpSession::on_blocks(std::span<const rtcp::ReportBlock> blocks, Timestamp now,
                            std::span<const uint32_t> own_ssrcs, Listener& listener) {
  for (const rtcp::ReportBlock& b : blocks) {
    if (std::find(own_ssrcs.begin(), own_ssrcs.end(), b.source_ssrc) == own_ssrcs.end()) continue;
    int64_t expected = 0;
    auto it = last_extended_seq_.find(b.source_ssrc);
    if (it != last_extended_seq_.end()) {
      expected = std::max<int64_t>(0, static_cast<int32_t>(b.extended_highest_sequence - it->second));
    }
    last_extended_seq_[b.source_ssrc] = b.extended_highest_sequence;
    std::optional<TimeDelta> rtt;
    if (b.last_sr != 0) rtt = rtp::rtt_from_report_block(b, now, config_.ntp_clock);
    listener.on_report_block(b, rtt, expected, now);
  }
}

void RtcpSession::on_receive(std::span<const uint8_t> datagram, Timestamp now, std::span<const uint32_t> own_ssrcs,
                             Listener& listener) {
  ++counters_.packets_received;
  rtcp::CompoundParseResult parsed = rtcp::parse_compound(datagram);
  counters_.parse_errors += static_cast<int64_t>(parsed.errors.size());
  scheduler_.on_received(DataSize::Bytes(static_cast<int64_t>(datagram.size()) + 28));
  for (const rtcp::RtcpPacket& p : parsed.packets) {
    if (const auto* sr = std::get_if<rtcp::SenderReport>(&p)) {
      listener.on_sender_report(*sr, now);
      on_blocks(sr->report_blocks, now, own_ssrcs, listener);
    } else if (const auto* rr = std::get_if<rtcp::ReceiverReport>(&p)) {
      on_blocks(rr->report_blocks, now, own_ssrcs, listener);
    } else if (const auto* nack = std::get_if<rtcp::Nack>(&p)) {
      listener.on_nack(nack->media_ssrc, nack->lost, now);
    } else if (const auto* pli = std::get_if<rtcp::Pli>(&p)) {
      listener.on_keyframe_request(pli->media_ssrc, false, now);
    } else if (const auto* fir = std::get_if<rtcp::Fir>(&p)) {
      for (const rtcp::FirEntry& e : fir->entries) listener.on_keyframe_request(e.ssrc, true, now);
    } else if (const auto* remb = std::get_if<rtcp::Remb>(&p)) {
      listener.on_remb(remb->bitrate, now);
    } else if (const auto* tf = std::get_if<rtcp::TransportFeedback>(&p)) {
      listener.on_transport_feedback(*tf, now);
    } else if (const auto* ccfb = std::get_if<rtcp::CongestionControlFeedback>(&p)) {
      listener.on_congestion_control_feedback(*ccfb, now);
    } else if (const auto* xr = std::get_if<rtcp::ExtendedReports>(&p)) {
      on_xr(*xr, now, listener);
    }
  }
}

}  // namespace tern::pipeline
