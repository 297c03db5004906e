// FlexFEC (RFC 8627) flexible-mask codec, generator and receiver (see flexfec.h).
#include "tern/recovery/flexfec.h"

#include "tern/core/byte_io.h"
#include "tern/rtp/rtp_packet_builder.h"

namespace tern::recovery {

std::vector<uint16_t> FlexfecPayload::protected_sequence_numbers() const {
  std::vector<uint16_t> seqs;
  seqs.reserve(offsets.size());
  for (uint16_t o : offsets) seqs.push_back(static_cast<uint16_t>(sn_base + o));
  return seqs;
}

Result<FlexfecPayload> parse_flexfec_payload(std::span<const uint8_t> payload) {
  ByteReader r(payload);
  if (!r.has(12)) return Error{"flexfec: truncated header"};
  FlexfecPayload out;
  const uint8_t b0 = r.u8();
  if (b0 & 0x80) return Error{"flexfec: retransmission mode (R=1) not supported"};
  if (b0 & 0x40) return Error{"flexfec: fixed L/D mask (F=1) not supported"};
  out.parity.bits = b0 & 0x3F;
  out.parity.marker_pt = r.u8();
  out.parity.length = r.u16();
  out.parity.timestamp = r.u32();
  out.sn_base = r.u16();
  // Chunks of 16, 32 and 64 bits, each led by its k bit.
  const uint16_t c0 = r.u16();
  auto take_bits = [&out](uint64_t chunk, int bits, uint16_t first_offset) {
    for (int i = 0; i < bits; ++i) {
      if ((chunk >> (bits - 1 - i)) & 1) out.offsets.push_back(static_cast<uint16_t>(first_offset + i));
    }
  };
  take_bits(c0 & 0x7FFF, 15, 0);
  if ((c0 & 0x8000) == 0) {
    if (!r.has(4)) return Error{"flexfec: truncated mask"};
    const uint32_t c1 = r.u32();
    take_bits(c1 & 0x7FFFFFFF, 31, 15);
    if ((c1 & 0x80000000u) == 0) {
      if (!r.has(8)) return Error{"flexfec: truncated mask"};
      take_bits(r.u64(), 64, 46);  // the last chunk has no k bit: 64 mask bits
    }
  }
  if (out.offsets.empty()) return Error{"flexfec: empty mask"};
  const auto rest = r.rest();
  out.parity.payload.assign(rest.begin(), rest.end());
  return out;
}

std::vector<uint8_t> build_flexfec_payload(const FecRepair& repair) {
  int highest = 0;
  for (int i = 0; i < 64; ++i) {
    if ((repair.mask >> i) & 1) highest = i;
  }
  ByteBuffer b(12 + 14 + repair.parity.payload.size());
  b.u8(repair.parity.bits & 0x3F);
  b.u8(repair.parity.marker_pt);
  b.u16(repair.parity.length);
  b.u32(repair.parity.timestamp);
  b.u16(repair.sn_base);
  auto chunk = [&repair](int bits, int first_offset) {
    uint64_t v = 0;
    for (int i = 0; i < bits; ++i) {
      const int offset = first_offset + i;
      if (offset < 64 && ((repair.mask >> offset) & 1)) v |= uint64_t{1} << (bits - 1 - i);
    }
    return v;
  };
  const bool one = highest < 15;
  const bool two = highest < 46;
  b.u16(static_cast<uint16_t>((one ? 0x8000 : 0) | chunk(15, 0)));
  if (!one) {
    b.u32(static_cast<uint32_t>((two ? 0x80000000u : 0) | chunk(31, 15)));
    if (!two) b.u64(chunk(64, 46));
  }
  b.bytes(repair.parity.payload);
  return b.take();
}

void FlexfecGenerator::add_media_packet(const rtp::RtpPacket& media, bool keyframe) {
  if (media.ssrc() != config_.protected_ssrc) return;
  for (auto& r : groups_.add_media_packet(media, keyframe)) pending_.push_back(std::move(r));
}

void FlexfecGenerator::flush() {
  for (auto& r : groups_.flush()) pending_.push_back(std::move(r));
}

std::vector<rtp::RtpPacket> FlexfecGenerator::take_fec_packets(const rtp::RtpPacket* extensions_from) {
  std::vector<rtp::RtpPacket> out;
  out.reserve(pending_.size());
  for (const FecRepair& r : pending_) {
    const std::vector<uint8_t> payload = build_flexfec_payload(r);
    rtp::RtpPacketBuilder b;
    b.set_payload_type(config_.payload_type).set_sequence_number(next_seq_).set_timestamp(r.timestamp);
    // RFC 8627 4.2.1: the CSRC list names the protected SSRC(s), one SN base/mask each.
    const uint32_t protected_ssrc[] = {config_.protected_ssrc};
    b.set_ssrc(config_.ssrc).set_csrcs(protected_ssrc).set_payload(payload);
    if (extensions_from != nullptr && extensions_from->header().rfc8285_extensions()) {
      const rtp::RtpHeader& h = extensions_from->header();
      const std::span<const uint8_t> bytes = extensions_from->data();
      for (size_t i = 0; i < h.num_extensions; ++i) {
        const rtp::ExtensionSlot& e = h.extensions[i];
        b.set_extension(e.id, bytes.subspan(e.offset, e.size));
      }
    }
    auto p = b.build();
    if (!p) continue;
    ++next_seq_;
    ++stats_.fec_packets_sent;
    stats_.fec_bytes_sent += p->size();
    out.push_back(std::move(p).value());
  }
  pending_.clear();
  return out;
}

std::vector<rtp::RtpPacket> FlexfecReceiver::on_packet(const rtp::RtpPacket& packet) {
  std::vector<rtp::RtpPacket> recovered;
  if (packet.ssrc() == config_.flexfec_ssrc && packet.payload_type() == config_.flexfec_payload_type) {
    // One protected stream only: its SSRC must be the repair packet's single CSRC (RFC 8627 4.2.1).
    const rtp::RtpPacketView view = packet.view();
    auto fec = parse_flexfec_payload(packet.payload());
    if (!fec || view.csrc_count() != 1 || view.csrc(0) != config_.protected_ssrc) {
      ++malformed_;
      return recovered;
    }
    const std::vector<uint16_t> seqs = fec->protected_sequence_numbers();
    window_.add_fec(seqs, std::move(fec->parity), config_.protected_ssrc, recovered);
  } else if (packet.ssrc() == config_.protected_ssrc) {
    window_.add_media(packet, recovered);
  }
  return recovered;
}

FlexfecReceiver::Stats FlexfecReceiver::stats() const {
  const auto& w = window_.stats();
  return {w.fec_packets_received + malformed_, w.fec_packets_discarded + malformed_, w.packets_recovered};
}

}  // namespace tern::recovery
