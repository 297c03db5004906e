// RFC 8888 congestion control feedback: metric block coding, building per SSRC, parsing.
#include "tern/rtp/rtcp/congestion_control_feedback.h"

#include "tern/core/seq_num.h"

namespace tern::rtcp {
namespace {

constexpr uint16_t kAtoOverRange = 0x1FFE;
constexpr uint16_t kAtoUnavailable = 0x1FFF;
constexpr size_t kReportTimestampSize = 4;

}  // namespace

uint16_t CongestionControlFeedback::ato_code(std::optional<TimeDelta> offset) {
  if (!offset || *offset < TimeDelta::Zero()) return kAtoUnavailable;
  // Anything from 8 s up is over-range; below that the product cannot overflow.
  if (offset->us() >= 8000000) return kAtoOverRange;
  const int64_t code = (offset->us() * 1024 + 500000) / 1000000;
  return code >= kAtoOverRange ? kAtoOverRange : static_cast<uint16_t>(code);
}

std::optional<TimeDelta> CongestionControlFeedback::ato_from_code(uint16_t code) {
  code &= 0x1FFF;
  if (code == kAtoUnavailable) return std::nullopt;
  if (code == kAtoOverRange) return TimeDelta::PlusInfinity();
  return TimeDelta::Micros((int64_t{code} * 1000000 + 512) / 1024);
}

CongestionControlFeedback::PacketReport CongestionControlFeedback::canonical(const PacketReport& p) {
  if (!p.received) return PacketReport{};
  return PacketReport{true, p.ecn, ato_from_code(ato_code(p.arrival_time_offset))};
}

bool CongestionControlFeedback::add_received_packet(uint32_t media_ssrc, uint16_t seq,
                                                    std::optional<TimeDelta> arrival_time_offset, EcnMarking ecn) {
  const PacketReport report = canonical(PacketReport{true, ecn, arrival_time_offset});
  StreamReport* stream = nullptr;
  for (auto it = streams_.rbegin(); it != streams_.rend(); ++it) {
    if (it->media_ssrc == media_ssrc) {
      stream = &*it;
      break;
    }
  }
  if (stream == nullptr) {
    if (size_ + block_size(1) > kMaxSizeBytes) return false;
    streams_.push_back(StreamReport{media_ssrc, seq, {report}});
    size_ += block_size(1);
    return true;
  }
  const size_t n = stream->packets.size();
  const int64_t gap = seq_diff<uint16_t>(seq, static_cast<uint16_t>(stream->begin_seq + n));
  if (gap < 0) return false;
  const size_t new_n = n + static_cast<size_t>(gap) + 1;
  if (new_n > kMaxReportsPerStream) return false;
  const size_t new_size = size_ - block_size(n) + block_size(new_n);
  if (new_size > kMaxSizeBytes) return false;
  stream->packets.resize(new_n - 1);  // the gap: value-initialised, i.e. not received
  stream->packets.push_back(report);
  size_ = new_size;
  return true;
}

bool CongestionControlFeedback::add_stream(uint32_t media_ssrc, uint16_t begin_seq,
                                           std::span<const PacketReport> packets) {
  if (packets.size() > kMaxReportsPerStream) return false;
  if (size_ + block_size(packets.size()) > kMaxSizeBytes) return false;
  StreamReport stream{media_ssrc, begin_seq, {}};
  stream.packets.reserve(packets.size());
  for (const PacketReport& p : packets) stream.packets.push_back(canonical(p));
  streams_.push_back(std::move(stream));
  size_ += block_size(packets.size());
  return true;
}

size_t CongestionControlFeedback::size() const { return size_; }

void CongestionControlFeedback::write(ByteWriter& out) const {
  write_common_header(out, kFormat, kPacketType, size_ - kCommonHeaderSize);
  out.u32(sender_ssrc_);
  for (const StreamReport& s : streams_) {
    out.u32(s.media_ssrc);
    out.u16(s.begin_seq);
    out.u16(static_cast<uint16_t>(s.packets.size()));
    for (const PacketReport& p : s.packets) {
      if (!p.received) {
        out.u16(0);
        continue;
      }
      out.u16(static_cast<uint16_t>(0x8000 | (static_cast<unsigned>(p.ecn) << 13) | ato_code(p.arrival_time_offset)));
    }
    if (s.packets.size() % 2 != 0) out.u16(0);
  }
  out.u32(report_timestamp_);
}

Result<CongestionControlFeedback> CongestionControlFeedback::parse(const CommonHeader& header) {
  if (header.packet_type != kPacketType || header.count != kFormat) return Error{"rtcp ccfb: wrong type"};
  const std::span<const uint8_t> payload = header.payload;
  if (payload.size() % 4 != 0) return Error{"rtcp ccfb: payload is not 32-bit aligned"};
  if (payload.size() < 4 + kReportTimestampSize) return Error{"rtcp ccfb: shorter than sender SSRC and timestamp"};
  CongestionControlFeedback fb;
  fb.report_timestamp_ = load_be32(&payload[payload.size() - kReportTimestampSize]);
  ByteReader in(payload.first(payload.size() - kReportTimestampSize));
  fb.sender_ssrc_ = in.u32();
  while (in.remaining() > 0) {
    StreamReport s;
    s.media_ssrc = in.u32();
    s.begin_seq = in.u16();
    const uint16_t n = in.u16();
    if (!in.ok()) return Error{"rtcp ccfb: report block header runs into the report timestamp"};
    if (n > kMaxReportsPerStream) return Error{"rtcp ccfb: num_reports above 16384"};
    if (!in.has(2 * size_t{n} + (n % 2) * 2)) return Error{"rtcp ccfb: metric blocks run into the report timestamp"};
    s.packets.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const uint16_t m = in.u16();
      if ((m & 0x8000) == 0) {
        s.packets.push_back(PacketReport{});
      } else {
        s.packets.push_back(PacketReport{true, static_cast<EcnMarking>((m >> 13) & 3), ato_from_code(m)});
      }
    }
    if (n % 2 != 0) in.skip(2);  // alignment padding, value ignored
    fb.size_ += block_size(n);
    fb.streams_.push_back(std::move(s));
  }
  return fb;
}

}  // namespace tern::rtcp
