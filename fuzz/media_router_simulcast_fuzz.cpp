// Fuzzes MediaRouter's simulcast ingest: a publisher leg announcing rids (ids and extension ids
// from the input's first bytes) receives the input's records as RTP (any SSRC, sequence number,
// timestamp, rid or repaired-rid extension, payload) or raw datagrams, and a subscriber leg of the
// group gets what the router forwards, with time moving on and the router processing between
// records. Checks: no crash; SSRCs learned never exceed two per announced rid; what reaches the
// subscriber is RTP on the group's SSRC or RTX SSRC, or RTCP.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "tern/core/datagram_sink.h"
#include "tern/pipeline/media_router.h"
#include "tern/rtp/rtp_packet_builder.h"
#include "tern/rtp/rtp_rtcp_split.h"

using namespace tern;

namespace {
constexpr uint32_t kGroup = 0x6C00'0000u;

struct FuzzSink : DatagramSink {
  bool subscriber = false;
  void on_datagram(std::vector<uint8_t> d, Timestamp) override {
    if (!subscriber || rtp::is_rtcp(d)) return;
    auto h = rtp::RtpHeader::parse(d);
    if (!h || (h->ssrc != kGroup && h->ssrc != kGroup + 1)) std::abort();
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  pipeline::MediaRouter::Config rc;
  rc.keyframe_request_interval = TimeDelta::Millis(data[0] & 0x80 ? 300 : 0);
  auto router = pipeline::MediaRouter::Create(rc);
  if (!router) std::abort();
  pipeline::MediaRouter::ForwardedStream group;
  group.ssrc = kGroup;
  group.rtx_ssrc = kGroup + 1;
  group.codec = (data[0] & 1) ? codecs::CodecType::kVp9 : codecs::CodecType::kVp8;
  const size_t rids = 1 + (data[0] >> 1 & 3);
  for (size_t i = 0; i < rids; ++i) group.rids.push_back(std::string(1, static_cast<char>('a' + i)));
  group.rid_extension_id = 10;
  group.repaired_rid_extension_id = (data[1] & 1) ? 11 : 0;
  FuzzSink pub_sink, sub_sink;
  sub_sink.subscriber = true;
  auto pub = (*router)->add_leg(0x5000'0001, &pub_sink, {group});
  auto sub = (*router)->add_leg(0x5000'0002, &sub_sink, {});
  if (!pub || !sub || !(*router)->add_outbound(*sub, group)) std::abort();
  Timestamp now = Timestamp::Seconds(1);
  size_t at = 2;
  // Record: kind (1), ssrc low byte (1), seq (2), timestamp step (1), time step (1), length (1),
  // payload. kind: bit 0 raw datagram, bits 1-2 rid / repaired rid / both / none, bits 3-5 rid index
  // (past the announced ones: an unknown rid), bit 6 marker.
  for (int records = 0; records < 256 && at + 7 <= size; ++records) {
    const uint8_t kind = data[at];
    const uint32_t ssrc = 0x1000u + data[at + 1];
    const auto seq = static_cast<uint16_t>(data[at + 2] << 8 | data[at + 3]);
    const uint32_t ts = static_cast<uint32_t>(data[at + 4]) * 3000;
    now += TimeDelta::Millis(data[at + 5]);
    const size_t length = std::min<size_t>(data[at + 6], size - at - 7);
    const std::span<const uint8_t> payload(data + at + 7, length);
    at += 7 + length;
    if (kind & 1) {
      (*router)->on_packet(*pub, payload, now);
    } else {
      rtp::RtpPacketBuilder b;
      b.set_ssrc(ssrc).set_sequence_number(seq).set_timestamp(ts).set_payload_type(kind & 0x80 ? 97 : 96).set_marker(kind & 0x40);
      const std::string rid(1, static_cast<char>('a' + (kind >> 3 & 7)));
      const std::vector<uint8_t> rid_bytes(rid.begin(), rid.end());
      const int which = kind >> 1 & 3;
      if (which == 0 || which == 2) b.set_extension(10, rid_bytes);
      if (which == 1 || which == 2) b.set_extension(11, rid_bytes);
      b.set_payload(payload);
      if (auto p = b.build()) (*router)->on_packet(*pub, p->data(), now);
    }
    (*router)->process(now);
    const auto c = (*router)->counters(*pub);
    if (c.simulcast_ssrcs_learned > 2 * rids) std::abort();
  }
  return 0;
}
