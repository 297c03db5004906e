// Fuzzes temporal and VP9 spatial (SVC) layer selection as a media server runs it: records of the input become VP8 or
// VP9 packets (sequence number, timestamp, marker and payload from the input, any descriptor)
// fed to a LayerSelector and its SeqRewriter, with the estimate moving between records. Checks:
// no crash, the payload's size never changes, a forwarded VP8 packet still parses, only a
// forwarded packet is to be marked, and the
// rewriter's output stays within its window (no packet numbered twice in a row). A record whose
// time step is 63 ms is a simulcast switch: the selector and the rewriter switch_source().
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <span>
#include <vector>

#include "tern/core/seq_rewriter.h"
#include "tern/pipeline/layer_selector.h"
#include "tern/rtp/payload/vp8_payload.h"

using namespace tern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  pipeline::LayerSelector::Config config;
  config.codec = (data[0] & 1) ? codecs::CodecType::kVp9 : codecs::CodecType::kVp8;
  config.up_hold = TimeDelta::Millis((data[0] >> 1) & 0x3F);
  config.follow_until_measured = (data[0] & 0x80) != 0;
  pipeline::LayerSelector selector(config);
  pipeline::TemporalLayerRates rates;
  SeqRewriter rewriter(0);
  Timestamp now = Timestamp::Seconds(1);
  size_t at = 1;
  // Record: seq (2), timestamp step (1), flags (1: marker, estimate), length (1), payload.
  for (int records = 0; records < 512 && at + 5 <= size; ++records) {
    const auto seq = static_cast<uint16_t>(data[at] << 8 | data[at + 1]);
    const uint32_t timestamp = static_cast<uint32_t>(data[at + 2]) * 3000;
    const uint8_t flags = data[at + 3];
    const size_t length = std::min<size_t>(data[at + 4], size - at - 5);
    std::vector<uint8_t> payload(data + at + 5, data + at + 5 + length);
    at += 5 + length;
    now += TimeDelta::Millis(flags & 0x3F);
    if ((flags & 0x3F) == 0x3F) {
      selector.switch_source();
      rewriter.switch_source();
    }
    const auto parsed = pipeline::VideoLayerPacket::Parse(config.codec, payload);
    if (parsed && parsed->temporal_id)
      rates.on_packet(*parsed->temporal_id, payload.size() + 12, now, parsed->spatial_id.value_or(0));
    selector.update(DataRate::KilobitsPerSec(int64_t{flags >> 6} * 200), rates, now);
    const size_t before = payload.size();
    const pipeline::LayerSelector::Decision d = selector.on_packet(seq, timestamp, (flags & 0x40) != 0, payload, now);
    if (payload.size() != before) std::abort();
    if (d.marker && !d.forward) std::abort();
    if (!d.forward) {
      (void)rewriter.drop(seq, d.drop_gap);
      continue;
    }
    if (config.codec == codecs::CodecType::kVp8 && parsed && !rtp::Vp8Depacketizer::parse(payload).ok()) std::abort();
    if (d.drop_gap) (void)rewriter.drop(static_cast<uint16_t>(seq - 1), true);
    if (rewriter.rewrite(seq) && rewriter.rewrite(seq)) std::abort();  // a copy right after: refused
  }
  return 0;
}
