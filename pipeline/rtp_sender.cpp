#include "tern/pipeline/rtp_sender.h"

#include "tern/rtp/rtp_packet_builder.h"

namespace tern::pipeline {

Result<RtpSender> RtpSender::Create(Config config, const rtp::ExtensionMap& extensions) {
  if (config.ssrc == 0) return Error{"rtp sender: zero SSRC"};
  if (config.clock_rate == 0) return Error{"rtp sender: zero clock rate"};
  if (config.rtx_ssrc && (*config.rtx_ssrc == 0 || *config.rtx_ssrc == config.ssrc)) {
    return Error{"rtp sender: RTX SSRC must differ from the media SSRC"};
  }
  if (config.history_packets == 0) return Error{"rtp sender: empty history"};
  return RtpSender(std::move(config), extensions);
}

RtpSender::RtpSender(Config config, const rtp::ExtensionMap& extensions)
    : config_(std::move(config)),
      extensions_(extensions),
      next_seq_(config_.first_sequence_number) {}

RtpEgress::Config RtpSender::egress_config() const {
  RtpEgress::Config c;
  c.ssrc = config_.ssrc;
  c.clock_rate = config_.clock_rate;
  if (config_.rtx_ssrc) {
    recovery::PacketHistory::Config hc;
    hc.max_packets = config_.history_packets;
    hc.rtx_ssrc = *config_.rtx_ssrc;
    hc.rtx_payload_type = config_.rtx_payload_type;
    hc.rtx_pt_for_media_pt = config_.rtx_pt_for_media_pt;
    hc.unwrap_red_payload_type = config_.unwrap_red_payload_type;
    hc.fec_payload_type = config_.fec_payload_type;
    hc.first_rtx_sequence_number = static_cast<uint16_t>(config_.first_sequence_number + 0x8000);
    c.history = hc;
  }
  return c;
}

Result<rtp::RtpPacket> RtpSender::build(uint8_t payload_type, uint32_t rtp_timestamp, bool marker,
                                        std::span<const uint8_t> payload) {
  rtp::RtpPacketBuilder b;
  b.set_payload_type(payload_type)
      .set_sequence_number(next_seq_)
      .set_timestamp(rtp_timestamp)
      .set_ssrc(config_.ssrc)
      .set_marker(marker)
      .set_payload(payload);
  // Zeroed slots, stamped in place when the pacer releases the packet.
  b.set<rtp::TransportSequenceNumber>(extensions_, 0);
  b.set<rtp::AbsSendTime>(extensions_, 0);
  if (!config_.mid.empty()) b.set<rtp::Mid>(extensions_, config_.mid);
  auto packet = b.build();
  if (packet) ++next_seq_;
  return packet;
}

uint16_t RtpSender::allocate_sequence_numbers(uint16_t count) {
  const uint16_t first = next_seq_;
  next_seq_ = static_cast<uint16_t>(next_seq_ + count);
  return first;
}

std::optional<rtp::RtpPacket> RtpSender::build_padding(uint8_t padding, uint32_t rtp_timestamp,
                                                       uint16_t rtx_sequence_number) {
  if (padding == 0 || !config_.rtx_ssrc) return std::nullopt;
  rtp::RtpPacketBuilder b;
  b.set_payload_type(config_.rtx_payload_type)
      .set_sequence_number(rtx_sequence_number)
      .set_timestamp(rtp_timestamp)
      .set_ssrc(*config_.rtx_ssrc)
      .set_padding(padding);
  b.set<rtp::TransportSequenceNumber>(extensions_, 0);
  b.set<rtp::AbsSendTime>(extensions_, 0);
  auto packet = b.build();
  if (!packet) return std::nullopt;
  return std::move(packet).value();
}

}  // namespace tern::pipeline
