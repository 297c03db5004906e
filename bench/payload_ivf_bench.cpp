// VP8 RTP packetize + depacketize over a real VP8 stream, the same work as GStreamer's
// `ivfparse ! rtpvp8pay ! rtpvp8depay` (see bench/compare_gst_vp8.sh, which runs both on one file).
// Reads the IVF file named by $TERN_BENCH_IVF; without it, uses synthetic frames of typical sizes.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "tern/core/byte_io.h"
#include "tern/core/random.h"
#include "tern/rtp/payload/frame_assembler.h"
#include "tern/rtp/payload/vp8_payload.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"

using namespace tern;
using namespace tern::rtp;

namespace {

std::vector<std::vector<uint8_t>> load_frames() {
  std::vector<std::vector<uint8_t>> frames;
  if (const char* path = std::getenv("TERN_BENCH_IVF")) {
    std::FILE* f = std::fopen(path, "rb");
    if (f) {
      std::vector<uint8_t> all;
      uint8_t buf[65536];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) all.insert(all.end(), buf, buf + n);
      std::fclose(f);
      ByteReader r(all);
      r.skip(32);  // IVF file header
      while (r.remaining() >= 12) {
        const uint8_t* h = r.bytes(12).data();
        const uint32_t size = h[0] | (h[1] << 8) | (h[2] << 16) | (uint32_t{h[3]} << 24);
        auto data = r.bytes(size);
        if (!r.ok()) break;
        frames.emplace_back(data.begin(), data.end());
      }
    }
  }
  if (frames.empty()) {
    Random rng(1);
    for (int i = 0; i < 300; ++i) {
      std::vector<uint8_t> f(static_cast<size_t>(i % 60 == 0 ? 30000 : rng.uniform_int(2000, 6000)));
      for (auto& b : f) b = static_cast<uint8_t>(rng.next_u32());
      f[0] = i % 60 == 0 ? 0x10 : 0x11;  // frame tag P bit: keyframe or not
      frames.push_back(std::move(f));
    }
  }
  return frames;
}

void BM_Vp8PayDepayStream(benchmark::State& state) {
  const auto frames = load_frames();
  Vp8Packetizer packetizer;
  PayloadLimits limits;
  limits.max_payload_size = 1200 - kFixedHeaderSize;  // rtpvp8pay mtu=1200 counts the RTP header
  std::array<uint8_t, 1500> payload;
  std::array<uint8_t, 1500> packet;
  FrameAssembler assembler;
  uint16_t seq = 0;
  size_t packets = 0;
  size_t frames_out = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < frames.size(); ++i) {
      if (!packetizer.plan(frames[i], Vp8Descriptor{}, limits).ok()) state.SkipWithError("plan failed");
      for (size_t k = 0; k < packetizer.num_packets(); ++k) {
        auto n = packetizer.write(k, payload);
        RtpPacketBuilder b;
        b.set_payload_type(96).set_sequence_number(seq++).set_timestamp(static_cast<uint32_t>(3000 * i));
        b.set_ssrc(0x1234).set_marker(packetizer.marker(k)).set_payload(std::span<const uint8_t>(payload.data(), *n));
        auto written = b.write(packet);
        // Receive side: parse RTP, parse the descriptor, append to the frame.
        auto view = RtpPacketView::parse(std::span<const uint8_t>(packet.data(), *written));
        auto parsed = Vp8Depacketizer::parse(view->payload());
        (void)assembler.add(parsed->payload, parsed->is_first_packet_in_frame, view->marker());
        ++packets;
      }
      if (assembler.complete()) {
        benchmark::DoNotOptimize(assembler.frame().data());
        ++frames_out;
      }
    }
  }
  state.counters["packets"] = benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate);
  state.counters["ns_per_packet"] = benchmark::Counter(static_cast<double>(packets),
                                                       benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["frames_per_pass"] = static_cast<double>(frames.size());
  state.counters["packets_per_pass"] = static_cast<double>(packets) / static_cast<double>(state.iterations());
  if (frames_out != frames.size() * state.iterations()) state.SkipWithError("frame lost");
}
BENCHMARK(BM_Vp8PayDepayStream)->Unit(benchmark::kMillisecond);

}  // namespace
