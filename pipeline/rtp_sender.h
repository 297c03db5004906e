// RtpSender: builds the RTP packets of one outgoing media SSRC (RFC 3550 5.1): sequence numbering,
// header extensions (RFC 8285: mid, plus zeroed transport-wide sequence number and abs-send-time
// slots that the SendTransport stamps when the pacer releases the packet) and RTX padding for
// probes. What happens once a packet has left (send counters, the RFC 4588 history that answers
// NACKs) is the SendTransport's RtpEgress for this SSRC, described by egress_config().
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/core/ntp_time.h"
#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/pipeline/rtp_egress.h"
#include "tern/rtp/header_extensions.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::pipeline {

class RtpSender {
 public:
  struct Config {
    uint32_t ssrc = 0;
    uint32_t clock_rate = 90000;
    std::string mid;
    std::optional<uint32_t> rtx_ssrc;  // set: keep a history and answer NACKs with RTX
    uint8_t rtx_payload_type = 97;
    std::map<uint8_t, uint8_t> rtx_pt_for_media_pt;  // media PT -> RTX PT (default rtx_payload_type)
    // RED packets of this payload type are retransmitted as their media block (see
    // recovery::PacketHistory::Config::unwrap_red_payload_type).
    std::optional<uint8_t> unwrap_red_payload_type;
    // ULPFEC inside that RED: never retransmitted (recovery::PacketHistory::Config::fec_payload_type).
    std::optional<uint8_t> fec_payload_type;
    size_t history_packets = 1024;
    uint16_t first_sequence_number = 0;
  };
  // Rejects a zero SSRC or clock rate.
  static Result<RtpSender> Create(Config config, const rtp::ExtensionMap& extensions);

  // A new media packet with the next sequence number; `payload` is copied.
  Result<rtp::RtpPacket> build(uint8_t payload_type, uint32_t rtp_timestamp, bool marker,
                               std::span<const uint8_t> payload);
  // Reserves `count` sequence numbers (FEC packets built elsewhere); returns the first.
  uint16_t allocate_sequence_numbers(uint16_t count);
  // A padding-only packet of `padding` bytes (1..255) on the RTX SSRC, for bandwidth probes,
  // numbered `rtx_sequence_number` (from the egress's history: the RTX SSRC's one counter, shared
  // with retransmissions); nullopt without RTX or when it cannot be built.
  std::optional<rtp::RtpPacket> build_padding(uint8_t padding, uint32_t rtp_timestamp, uint16_t rtx_sequence_number);

  // The egress of this SSRC: its clock, and with RTX a history of history_packets answering on
  // the RTX SSRC (RTX sequence numbers start half the space away from the media ones).
  RtpEgress::Config egress_config() const;

  uint32_t ssrc() const { return config_.ssrc; }
  std::optional<uint32_t> rtx_ssrc() const { return config_.rtx_ssrc; }
  uint32_t clock_rate() const { return config_.clock_rate; }

 private:
  RtpSender(Config config, const rtp::ExtensionMap& extensions);
  Config config_;
  rtp::ExtensionMap extensions_;
  uint16_t next_seq_;
};

}  // namespace tern::pipeline
