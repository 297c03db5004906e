// Fuzzes the video packet buffer + frame assembler (and the rest of the video jitter buffer behind
// it) with arbitrary packet sequences. The input is one byte choosing the codec (bit 0: VP9, else
// VP8), then a list of records, each:
//   [seq lo][seq hi][ts byte][flags][len][len bytes of RTP payload]
// flags: bit 0 marker, bits 2-3 time step (x 20 ms). Assertions: released frames are
// decodable (keyframe first, references released) in increasing id order, and every buffer stays
// under its configured bound.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <span>
#include <vector>

#include "tern/jitterbuffer/video/video_jitter_buffer.h"
#include "tern/rtp/rtp_packet_builder.h"

using namespace tern;
using namespace tern::jitterbuffer;

namespace {

struct Checker {
  std::set<int64_t> released;
  bool any = false;
  int64_t last = 0;
  void on_frame(const EncodedVideoFrame& f) {
    if (any && f.id <= last) std::abort();
    if (f.keyframe) {
      released.clear();
    } else {
      if (!any || f.references.empty()) std::abort();
      for (int64_t r : f.references) {
        if (released.count(r) == 0) std::abort();
      }
    }
    released.insert(f.id);
    any = true;
    last = f.id;
  }
};

void run(std::span<const uint8_t> in, codecs::CodecType codec) {
  VideoJitterBufferConfig config;
  config.codec = codec;
  config.packet_buffer.start_capacity = 16;
  config.packet_buffer.max_capacity = 64;
  config.max_frames = 16;
  config.max_stashed_frames = 8;
  VideoJitterBuffer jb(config);
  Checker checker;
  Timestamp now = Timestamp::Seconds(1);
  size_t pos = 0;
  while (pos + 5 <= in.size()) {
    const uint16_t seq = static_cast<uint16_t>(in[pos] | in[pos + 1] << 8);
    const uint32_t ts = static_cast<uint32_t>(in[pos + 2]) * 3000u;
    const uint8_t flags = in[pos + 3];
    const size_t len = in[pos + 4];
    pos += 5;
    const size_t take = len < in.size() - pos ? len : in.size() - pos;
    rtp::RtpPacketBuilder b;
    b.set_sequence_number(seq).set_timestamp(ts).set_marker(flags & 1).set_payload_type(96);
    b.set_payload(in.subspan(pos, take));
    pos += take;
    auto packet = b.build();
    if (!packet) continue;
    now += TimeDelta::Millis((flags >> 2) & 3) * 20;
    (void)jb.insert(std::move(*packet), now);
    for (const EncodedVideoFrame& f : jb.process(now)) checker.on_frame(f);
    (void)jb.poll_keyframe_request(now);
    if (jb.packets_held() > config.packet_buffer.max_capacity) std::abort();
    if (jb.frames_held() > config.max_frames + config.max_stashed_frames) std::abort();
    if (auto w = jb.next_wakeup(); w && *w <= now) {
      // Only a keyframe request may be due right now (poll was throttled); frames never are.
      for (const EncodedVideoFrame& f : jb.process(now)) checker.on_frame(f);
    }
  }
  for (const EncodedVideoFrame& f : jb.process(now + TimeDelta::Seconds(10))) checker.on_frame(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  if (size == 0) return 0;
  run(in.subspan(1), (data[0] & 1) ? codecs::CodecType::kVp9 : codecs::CodecType::kVp8);
  return 0;
}
