// ULPFEC (RFC 5109) payload codec, generator and receiver (see ulpfec.h).
#include "tern/recovery/ulpfec.h"

#include "tern/core/byte_io.h"
#include "tern/recovery/red.h"
#include "tern/rtp/rtp_packet_builder.h"

namespace tern::recovery {
namespace {

// Mask bit order on the wire: most significant bit first = offset 0.
uint64_t wire_mask_to_offsets(uint64_t wire, int bits) {
  uint64_t out = 0;
  for (int i = 0; i < bits; ++i) {
    if ((wire >> (bits - 1 - i)) & 1) out |= uint64_t{1} << i;
  }
  return out;
}

}  // namespace

std::vector<uint16_t> UlpfecPayload::protected_sequence_numbers() const {
  std::vector<uint16_t> seqs;
  for (int i = 0; i < 48; ++i) {
    if ((mask >> i) & 1) seqs.push_back(static_cast<uint16_t>(sn_base + i));
  }
  return seqs;
}

Result<UlpfecPayload> parse_ulpfec_payload(std::span<const uint8_t> payload) {
  ByteReader r(payload);
  if (!r.has(kUlpfecHeaderSize)) return Error{"ulpfec: truncated FEC header"};
  UlpfecPayload out;
  const uint8_t b0 = r.u8();
  if (b0 & 0x80) return Error{"ulpfec: E bit set (extension not supported)"};
  out.long_mask = (b0 & 0x40) != 0;
  out.parity.bits = b0 & 0x3F;
  out.parity.marker_pt = r.u8();
  out.sn_base = r.u16();
  out.parity.timestamp = r.u32();
  out.parity.length = r.u16();
  const size_t level_header = out.long_mask ? 8 : 4;
  if (!r.has(level_header)) return Error{"ulpfec: truncated level 0 header"};
  const uint16_t protection_length = r.u16();
  uint64_t wire = r.u16();
  int bits = 16;
  if (out.long_mask) {
    wire = (wire << 32) | r.u32();
    bits = 48;
  }
  out.mask = wire_mask_to_offsets(wire, bits);
  if (out.mask == 0) return Error{"ulpfec: empty mask"};
  if (!r.has(protection_length)) return Error{"ulpfec: protection length past the end"};
  const auto protected_bytes = r.bytes(protection_length);
  out.parity.payload.assign(protected_bytes.begin(), protected_bytes.end());
  return out;
}

std::vector<uint8_t> build_ulpfec_payload(const FecRepair& repair) {
  // Like libwebrtc, every FEC packet of a group spanning more than 16 packets uses the long mask.
  const bool long_mask = (repair.mask >> 16) != 0 || repair.group_span > 16;
  ByteBuffer b(kUlpfecHeaderSize + 8 + repair.parity.payload.size());
  b.u8(static_cast<uint8_t>((long_mask ? 0x40 : 0) | (repair.parity.bits & 0x3F)));
  b.u8(repair.parity.marker_pt);
  b.u16(repair.sn_base);
  b.u32(repair.parity.timestamp);
  b.u16(repair.parity.length);
  b.u16(static_cast<uint16_t>(repair.parity.payload.size()));
  const int bits = long_mask ? 48 : 16;
  uint64_t wire = 0;
  for (int i = 0; i < bits; ++i) {
    if ((repair.mask >> i) & 1) wire |= uint64_t{1} << (bits - 1 - i);
  }
  if (long_mask) {
    b.u16(static_cast<uint16_t>(wire >> 32));
    b.u32(static_cast<uint32_t>(wire));
  } else {
    b.u16(static_cast<uint16_t>(wire));
  }
  b.bytes(repair.parity.payload);
  return b.take();
}

void UlpfecGenerator::add_media_packet(const rtp::RtpPacket& media, bool keyframe) {
  auto repairs = groups_.add_media_packet(media, keyframe);
  ++stats_.media_packets_protected;
  for (auto& r : repairs) pending_.push_back(std::move(r));
}

void UlpfecGenerator::flush() {
  for (auto& r : groups_.flush()) pending_.push_back(std::move(r));
}

std::vector<rtp::RtpPacket> UlpfecGenerator::take_fec_packets(uint16_t first_seq) {
  std::vector<rtp::RtpPacket> out;
  out.reserve(pending_.size());
  uint16_t seq = first_seq;
  for (const FecRepair& r : pending_) {
    std::vector<uint8_t> payload = build_ulpfec_payload(r);
    rtp::RtpPacketBuilder b;
    b.set_sequence_number(seq).set_timestamp(r.timestamp).set_ssrc(r.ssrc).set_marker(false);
    if (config_.red_payload_type) {
      payload.insert(payload.begin(), static_cast<uint8_t>(config_.ulpfec_payload_type & 0x7F));
      b.set_payload_type(*config_.red_payload_type);
    } else {
      b.set_payload_type(config_.ulpfec_payload_type);
    }
    b.set_payload(payload);
    auto p = b.build();
    if (!p) continue;  // only if the FEC payload exceeded the RTP size limit
    ++stats_.fec_packets_sent;
    stats_.fec_bytes_sent += p->size();
    out.push_back(std::move(p).value());
    ++seq;
  }
  pending_.clear();
  return out;
}

void UlpfecReceiver::on_fec_payload(std::span<const uint8_t> payload, Output& out) {
  auto fec = parse_ulpfec_payload(payload);
  if (!fec) {
    ++malformed_fec_;
    return;
  }
  std::vector<uint16_t> seqs = fec->protected_sequence_numbers();
  window_.add_fec(seqs, std::move(fec->parity), config_.media_ssrc, out.recovered);
  out.protected_seqs = std::move(seqs);
}

UlpfecReceiver::Output UlpfecReceiver::on_packet(const rtp::RtpPacket& packet) {
  Output out;
  if (packet.ssrc() != config_.media_ssrc) {
    out.media = packet;
    return out;
  }
  if (config_.red_payload_type && packet.payload_type() == *config_.red_payload_type) {
    auto red = parse_red_payload(packet.payload());
    if (!red) {
      ++malformed_red_;
      return out;
    }
    if (red->primary.payload_type == config_.ulpfec_payload_type) {
      on_fec_payload(red->primary.data, out);
      return out;
    }
    auto blocks = decode_red(packet);
    if (!blocks) {
      ++malformed_red_;
      return out;
    }
    out.media = std::move(blocks->back());
  } else if (packet.payload_type() == config_.ulpfec_payload_type) {
    on_fec_payload(packet.payload(), out);
    return out;
  } else {
    out.media = packet;
  }
  window_.add_media(*out.media, out.recovered);
  return out;
}

UlpfecReceiver::Stats UlpfecReceiver::stats() const {
  Stats s;
  const auto& w = window_.stats();
  s.fec_packets_received = w.fec_packets_received + malformed_fec_;
  s.fec_packets_discarded = w.fec_packets_discarded + malformed_fec_;
  s.packets_recovered = w.packets_recovered;
  s.red_packets_malformed = malformed_red_;
  return s;
}

}  // namespace tern::recovery
