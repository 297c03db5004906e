// The record format of the simulcast fuzz targets (media_router_simulcast_fuzz.cpp,
// sfu_simulcast_record_fuzz.cpp): kind (1), SSRC low byte (1), sequence number (2), timestamp step
// (1, x 3000), time step (1, ms), length (1), payload. kind: bit 0 raw datagram (the payload as it
// is), bits 1-2 rid / repaired rid / both / none, bits 3-5 rid index ('a' + index; past the
// announced ones: an unknown rid), bit 6 marker, bit 7 payload type 97 (else 96).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/core/units.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"

namespace tern::fuzz {

struct SimulcastFuzzRecord {
  uint8_t kind = 0;
  uint32_t ssrc = 0;
  uint16_t seq = 0;
  uint32_t timestamp = 0;
  TimeDelta step;
  std::span<const uint8_t> payload;
  bool raw() const { return (kind & 1) != 0; }
};

// The record at `at` (moved past it), nullopt at the end of the input.
inline std::optional<SimulcastFuzzRecord> next_simulcast_record(const uint8_t* data, size_t size, size_t& at) {
  if (at + 7 > size) return std::nullopt;
  SimulcastFuzzRecord r;
  r.kind = data[at];
  r.ssrc = 0x1000u + data[at + 1];
  r.seq = static_cast<uint16_t>(data[at + 2] << 8 | data[at + 3]);
  r.timestamp = static_cast<uint32_t>(data[at + 4]) * 3000;
  r.step = TimeDelta::Millis(data[at + 5]);
  const size_t length = std::min<size_t>(data[at + 6], size - at - 7);
  r.payload = std::span<const uint8_t>(data + at + 7, length);
  at += 7 + length;
  return r;
}

// A record that is not raw as an RTP packet with the rid extension at `rid_id` and the repaired
// rid at `repaired_rid_id`.
inline std::optional<rtp::RtpPacket> simulcast_record_packet(const SimulcastFuzzRecord& r, uint8_t rid_id, uint8_t repaired_rid_id) {
  rtp::RtpPacketBuilder b;
  b.set_ssrc(r.ssrc).set_sequence_number(r.seq).set_timestamp(r.timestamp).set_payload_type(r.kind & 0x80 ? 97 : 96).set_marker(r.kind & 0x40);
  const std::string rid(1, static_cast<char>('a' + (r.kind >> 3 & 7)));
  const std::vector<uint8_t> rid_bytes(rid.begin(), rid.end());
  const int which = r.kind >> 1 & 3;
  if (which == 0 || which == 2) b.set_extension(rid_id, rid_bytes);
  if (which == 1 || which == 2) b.set_extension(repaired_rid_id, rid_bytes);
  b.set_payload(r.payload);
  auto p = b.build();
  if (!p) return std::nullopt;
  return std::move(p).value();
}

}  // namespace tern::fuzz
