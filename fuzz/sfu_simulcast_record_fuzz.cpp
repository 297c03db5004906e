// Fuzzes tern-sfu's simulcast recording selector (tools/tern-sfu/simulcast_record.h): a publisher
// announcing 1..4 rids (the input's first byte) sends the input's records (fuzz/
// simulcast_fuzz_record.h) as RTP (any SSRC, sequence number, timestamp, payload type, rid or
// repaired-rid extension, payload: VP8 keyframes with any size included) or raw datagrams (RTP or
// RTCP, SRs included), with time moving on.
// Checks: no crash; every packet out is RTP on the output SSRC with the media payload type; at most
// one keyframe request per announced rid between two takes; SSRCs learned at most two per rid.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "simulcast_fuzz_record.h"
#include "simulcast_record.h"
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
  // Records: fuzz/simulcast_fuzz_record.h; a raw one with bit 7 of its kind goes in as RTCP.
  for (int records = 0; records < 512; ++records) {
    const std::optional<fuzz::SimulcastFuzzRecord> r = fuzz::next_simulcast_record(data, size, at);
    if (!r) break;
    now += r->step;
    out.clear();
    if (r->raw() && (r->kind & 0x80)) {
      s.on_rtcp(r->payload);
    } else if (r->raw()) {
      (void)s.on_rtp(r->payload, now, out);
    } else if (auto p = fuzz::simulcast_record_packet(*r, 10, 11)) {
      (void)s.on_rtp(p->data(), now, out);
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
