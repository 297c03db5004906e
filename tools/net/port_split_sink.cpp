#include "tern/tools/net/port_split_sink.h"

#include <utility>

#include "tern/rtp/rtp_packet.h"
#include "tern/transport/demuxer.h"

namespace tern::tools::net {
namespace {

bool is_report(const rtcp::RtcpPacket& p) {
  return std::holds_alternative<rtcp::SenderReport>(p) || std::holds_alternative<rtcp::ReceiverReport>(p);
}

// Moves the blocks about `source` out of `blocks` into `out`.
void take_blocks(std::vector<rtcp::ReportBlock>& blocks, uint32_t source, std::vector<rtcp::ReportBlock>& out) {
  if (source == 0) return;
  std::vector<rtcp::ReportBlock> keep;
  for (rtcp::ReportBlock& b : blocks) (b.source_ssrc == source ? out : keep).push_back(b);
  blocks = std::move(keep);
}

}  // namespace

PortSplit split_rtcp_for_ports(const std::vector<uint8_t>& datagram, const PortSplitConfig& config) {
  rtcp::CompoundParseResult parsed = rtcp::parse_compound(datagram);
  if (!parsed.errors.empty() || parsed.packets.empty() || !is_report(parsed.packets.front())) {
    return {datagram, {}};  // feedback or something we do not rewrite: the video port, as is
  }
  std::optional<rtcp::SenderReport> audio_sr;
  std::vector<rtcp::ReportBlock> audio_blocks, other_blocks;
  std::vector<rtcp::RtcpPacket> video;
  bool bye = false;
  for (rtcp::RtcpPacket& p : parsed.packets) {
    if (auto* sr = std::get_if<rtcp::SenderReport>(&p)) {
      take_blocks(sr->report_blocks, config.audio_source_ssrc, audio_blocks);
      if (config.audio_sender_ssrc != 0 && sr->sender_ssrc == config.audio_sender_ssrc) {
        // Its blocks about other streams belong to the video port's report.
        other_blocks.insert(other_blocks.end(), sr->report_blocks.begin(), sr->report_blocks.end());
        sr->report_blocks.clear();
        audio_sr = std::move(*sr);
        continue;
      }
    } else if (auto* rr = std::get_if<rtcp::ReceiverReport>(&p)) {
      take_blocks(rr->report_blocks, config.audio_source_ssrc, audio_blocks);
    } else if (std::holds_alternative<rtcp::Bye>(p)) {
      bye = true;
    }
    video.push_back(std::move(p));
  }

  PortSplit out;
  uint32_t audio_head = 0;
  if (audio_sr || !audio_blocks.empty()) {
    std::vector<rtcp::RtcpPacket> audio;
    if (audio_sr) {
      audio_head = audio_sr->sender_ssrc;
      for (rtcp::ReportBlock& b : audio_blocks) audio_sr->report_blocks.push_back(b);
      audio.emplace_back(std::move(*audio_sr));
    } else {
      rtcp::ReceiverReport rr;
      rr.sender_ssrc = audio_head = config.audio_report_ssrc;
      rr.report_blocks = std::move(audio_blocks);
      audio.emplace_back(std::move(rr));
    }
    audio.emplace_back(rtcp::Sdes::WithCname(audio_head, config.cname));
    if (bye) audio.emplace_back(rtcp::Bye{{audio_head}, ""});
    out.audio = rtcp::build_compound(audio);
  }
  if (video.empty()) return out;
  if (!is_report(video.front())) {
    // Only the audio SR was a report: what else there was (feedback) goes as reduced-size RTCP
    // (RFC 5506) to the video port; CNAMEs and BYEs went with the audio SR.
    std::erase_if(video, [](const rtcp::RtcpPacket& p) {
      return std::holds_alternative<rtcp::Sdes>(p) || std::holds_alternative<rtcp::Bye>(p);
    });
    if (!video.empty()) out.video = rtcp::build_compound(video);
    return out;
  }
  if (!other_blocks.empty()) {
    std::visit(
        [&](auto& p) {
          if constexpr (requires { p.report_blocks; }) {
            p.report_blocks.insert(p.report_blocks.end(), other_blocks.begin(), other_blocks.end());
          }
        },
        video.front());
  }
  const uint32_t video_head = std::visit(
      [](const auto& p) -> uint32_t {
        if constexpr (requires { p.sender_ssrc; }) return p.sender_ssrc;
        return 0;
      },
      video.front());
  for (rtcp::RtcpPacket& p : video) {  // a CNAME for the audio port's SSRC names the video head instead
    auto* sdes = std::get_if<rtcp::Sdes>(&p);
    if (sdes == nullptr || audio_head == 0) continue;
    for (rtcp::SdesChunk& c : sdes->chunks) {
      if (c.ssrc == audio_head) c.ssrc = video_head;
    }
  }
  out.video = rtcp::build_compound(video);
  return out;
}

void PortSplitSink::on_datagram(std::vector<uint8_t> packet, Timestamp now) {
  if (transport::classify(packet) != transport::PacketClass::kRtcp) {
    auto h = rtp::RtpHeader::parse(packet);
    const bool audio = h && config_.audio_sender_ssrc != 0 && h.value().ssrc == config_.audio_sender_ssrc;
    (audio ? audio_ : video_)->on_datagram(std::move(packet), now);
    return;
  }
  PortSplit split = split_rtcp_for_ports(packet, config_);
  if (!split.audio.empty()) audio_->on_datagram(std::move(split.audio), now);
  if (!split.video.empty()) video_->on_datagram(std::move(split.video), now);
}

}  // namespace tern::tools::net
