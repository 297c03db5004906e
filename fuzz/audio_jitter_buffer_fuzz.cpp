// Fuzzes the audio jitter buffer with a stream of network events decoded from the input: RTP
// packets with arbitrary sequence numbers, timestamps, SSRCs and payloads (valid Opus TOC or
// garbage) at arbitrary times, interleaved with 10 ms pulls. Every pull must return exactly 10 ms
// and the buffer must stay within its packet bound.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "tern/core/byte_io.h"
#include "tern/jitterbuffer/audio/audio_jitter_buffer.h"
#include "tern/rtp/rtp_packet_builder.h"

using namespace tern;
using namespace tern::jitterbuffer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  AudioJitterBufferConfig config;
  config.max_packets = 32;
  config.max_bytes = 4096;
  static auto jb_or = AudioJitterBuffer::Create(config);  // decoder state carries over: more coverage
  if (!jb_or.ok()) std::abort();
  AudioJitterBuffer& jb = **jb_or;
  static int64_t clock_us = 0;
  size_t pos = 0;
  int steps = 0;
  while (pos + 10 <= size && steps++ < 2000) {
    const uint8_t op = data[pos];
    const uint16_t seq = static_cast<uint16_t>(data[pos + 1] << 8 | data[pos + 2]);
    const uint32_t ts = static_cast<uint32_t>(data[pos + 3]) << 24 | static_cast<uint32_t>(data[pos + 4]) << 16 |
                        static_cast<uint32_t>(data[pos + 5]) << 8 | data[pos + 6];
    const size_t len = data[pos + 7] % 64;
    const int64_t advance_us = int64_t{data[pos + 8]} * 200;
    const uint32_t ssrc = data[pos + 9] & 3;
    pos += 10;
    clock_us += advance_us;
    if (op & 1) {
      const PlayoutFrame f = jb.pull_10ms(Timestamp::Micros(clock_us));
      if (f.frame.samples_per_channel != 480 || f.frame.samples.size() != 480) std::abort();
      continue;
    }
    const size_t n = std::min(len, size - pos);
    std::vector<uint8_t> payload(data + pos, data + pos + n);
    pos += n;
    rtp::RtpPacketBuilder b;
    b.set_payload_type(111).set_sequence_number(seq).set_timestamp(ts).set_ssrc(ssrc).set_payload(payload);
    auto p = b.build();
    if (!p.ok()) continue;
    jb.insert(*p, Timestamp::Micros(clock_us));
    if (jb.buffered_packets() > config.max_packets) std::abort();
  }
  return 0;
}
