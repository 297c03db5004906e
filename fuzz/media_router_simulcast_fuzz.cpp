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

#include "simulcast_fuzz_record.h"
#include "tern/core/datagram_sink.h"
#include "tern/pipeline/media_router.h"
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
  // Records: fuzz/simulcast_fuzz_record.h.
  for (int records = 0; records < 256; ++records) {
    const std::optional<fuzz::SimulcastFuzzRecord> r = fuzz::next_simulcast_record(data, size, at);
    if (!r) break;
    now += r->step;
    if (r->raw()) {
      (*router)->on_packet(*pub, r->payload, now);
    } else if (auto p = fuzz::simulcast_record_packet(*r, 10, 11)) {
      (*router)->on_packet(*pub, p->data(), now);
    }
    (*router)->process(now);
    const auto c = (*router)->counters(*pub);
    if (c.simulcast_ssrcs_learned > 2 * rids) std::abort();
  }
  return 0;
}
