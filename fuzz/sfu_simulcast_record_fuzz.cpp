// Fuzzes tern-sfu's simulcast recording selector (tools/tern-sfu/simulcast_record.h): a publisher
// announcing 1..4 rids (the input's first byte) sends the input's records as RTP (any SSRC,
// sequence number, timestamp, payload type, rid or repaired-rid extension, payload: VP8 keyframes
// with any size included) or raw datagrams (RTP or RTCP, SRs included), with time moving on.
// Checks: no crash; every packet out is RTP on the output SSRC with the media payload type; at most
// one keyframe request per announced rid between two takes; SSRCs learned at most two per rid.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "simulcast_record.h"
#include "tern/rtp/rtp_packet_builder.h"
#include "tern/rtp/rtp_rtcp_split.h"

using namespace tern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  tools::sfu_tool::SimulcastRecordConfig c;
  const size_t rids = 1 + (data[0] & 3);
  for (size_t i = 0; i < rids; ++i) c.rids.push_back(std::string(1, static_cast<char>('a' + i)));
  c.rid_extension_id = 10;
  c.repaired_rid_extension_id = (data[0] & 4) ? 11 : 0;
  if (data[0] & 4) c.rtx_payload_type = 97;
  c.codec = (data[0] & 8) ? codecs::CodecType::kVp9 : codecs::CodecType::kVp8;
  c.output_ssrc = 0x6C00'0002u;
  auto created = tools::sfu_tool::SimulcastRecordSelector::Create(c);
  if (!created) std::abort();
  tools::sfu_tool::SimulcastRecordSelector s = std::move(created).value();
  std::vector<tools::sfu_tool::SimulcastRecordSelector::Output> out;
  Timestamp now = Timestamp::Seconds(1);
  size_t at = 1;
  // Record: kind (1), ssrc low byte (1), seq (2), timestamp step (1), time step (1), length (1),
  // payload. kind: bit 0 raw datagram (bit 7 then: as RTCP), bits 1-2 rid / repaired rid / both /
  // none, bits 3-5 rid index (past the announced ones: an unknown rid), bit 6 marker, bit 7 RTX
  // payload type.
  for (int records = 0; records < 512 && at + 7 <= size; ++records) {
    const uint8_t kind = data[at];
    const uint32_t ssrc = 0x1000u + data[at + 1];
    const auto seq = static_cast<uint16_t>(data[at + 2] << 8 | data[at + 3]);
    const uint32_t ts = static_cast<uint32_t>(data[at + 4]) * 3000;
    now += TimeDelta::Millis(data[at + 5] * 8);
    const size_t length = std::min<size_t>(data[at + 6], size - at - 7);
    const std::span<const uint8_t> payload(data + at + 7, length);
    at += 7 + length;
    out.clear();
    if (kind & 1) {
      if (kind & 0x80) {
        s.on_rtcp(payload);
      } else {
        (void)s.on_rtp(payload, now, out);
      }
    } else {
      rtp::RtpPacketBuilder b;
      b.set_ssrc(ssrc).set_sequence_number(seq).set_timestamp(ts).set_payload_type(kind & 0x80 ? 97 : 96).set_marker(kind & 0x40);
      const std::string rid(1, static_cast<char>('a' + (kind >> 3 & 7)));
      const std::vector<uint8_t> rid_bytes(rid.begin(), rid.end());
      const int which = kind >> 1 & 3;
      if (which == 0 || which == 2) b.set_extension(10, rid_bytes);
      if (which == 1 || which == 2) b.set_extension(11, rid_bytes);
      b.set_payload(payload);
      if (auto p = b.build()) (void)s.on_rtp(p->data(), now, out);
    }
    for (const auto& o : out) {
      if (o.packet.ssrc() != c.output_ssrc || o.packet.payload_type() != c.media_payload_type) std::abort();
      if (rtp::is_rtcp(o.packet.data())) std::abort();
    }
    if (s.take_keyframe_requests().size() > rids) std::abort();
    if (s.counters().ssrcs_learned > 2 * rids) std::abort();
  }
  return 0;
}
