// Fuzzes a receiving pipeline::Endpoint with arbitrary datagrams: RTP and RTCP parsing, RFC 5761
// demux, receive statistics, NACK generation, RTX/FEC paths, both jitter buffers and the decoders
// behind them. Input: a sequence of [u16 length][u8 time step ms][bytes] records.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "tern/core/byte_io.h"
#include "tern/pipeline/endpoint.h"

using namespace tern;

namespace {

struct NullSink : DatagramSink {
  void on_datagram(std::vector<uint8_t>, Timestamp) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pipeline::EndpointConfig config;
  config.send.video.reset();
  config.send.audio.reset();
  config.receive.width = 160;
  config.receive.height = 120;
  config.receive.protection.fec = true;
  config.measure_quality = false;
  NullSink sink;
  auto endpoint = pipeline::Endpoint::Create(config, &sink);
  if (!endpoint) return 0;
  Timestamp now = Timestamp::Seconds(1);
  ByteReader in(std::span<const uint8_t>(data, size));
  for (int records = 0; records < 256 && in.remaining() >= 3; ++records) {
    const size_t len = in.u16() % 1500;
    now += TimeDelta::Millis(in.u8());
    auto bytes = in.bytes(std::min(len, in.remaining()));
    (*endpoint)->on_packet(bytes, now);
    (*endpoint)->process(now);
  }
  // Let timers run out: playout, NACK retries, keyframe requests, RTCP.
  for (int i = 0; i < 20; ++i) {
    now += TimeDelta::Millis(50);
    (*endpoint)->process(now);
  }
  (void)(*endpoint)->stats(now).to_json();
  return 0;
}
