// RTP packet parse and build costs (issue targets: parse < 20 ns, build with 3 extensions < 40 ns).
#include <benchmark/benchmark.h>

#include <array>
#include <vector>

#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"

using namespace tern;
using namespace tern::rtp;

namespace {

std::vector<uint8_t> sample_packet() {
  const ExtensionMap map = ExtensionMap::Default();
  std::vector<uint8_t> payload(1100, 0x42);
  RtpPacketBuilder b;
  b.set_payload_type(96).set_sequence_number(1).set_timestamp(90000).set_ssrc(0x12345678).set_marker(true);
  b.set<TransportSequenceNumber>(map, 77).set<AbsSendTime>(map, 0x1234).set<Mid>(map, "0");
  b.set_payload(payload);
  auto p = b.build();
  return std::vector<uint8_t>(p->data().begin(), p->data().end());
}

void BM_RtpParse(benchmark::State& state) {
  const auto bytes = sample_packet();
  for (auto _ : state) {
    auto v = RtpPacketView::parse(bytes);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_RtpParse);

// Parsing into a reused view: what a receive loop does per packet.
void BM_RtpParseInPlace(benchmark::State& state) {
  const auto bytes = sample_packet();
  RtpPacketView v;
  for (auto _ : state) {
    Status s = v.reset(bytes);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_RtpParseInPlace);

void BM_RtpParseAndReadExtension(benchmark::State& state) {
  const auto bytes = sample_packet();
  const ExtensionMap map = ExtensionMap::Default();
  for (auto _ : state) {
    auto v = RtpPacketView::parse(bytes);
    auto seq = v->get<TransportSequenceNumber>(map);
    benchmark::DoNotOptimize(seq);
  }
}
BENCHMARK(BM_RtpParseAndReadExtension);

// Header + 3 extensions written into a preallocated buffer; the payload copy is excluded by using
// an empty payload (BM_RtpBuild1100 shows the cost with a 1100-byte payload copy).
void BM_RtpBuild3Extensions(benchmark::State& state) {
  const ExtensionMap map = ExtensionMap::Default();
  std::array<uint8_t, 1500> out;
  uint16_t seq = 0;
  for (auto _ : state) {
    RtpPacketBuilder b;
    b.set_payload_type(96).set_sequence_number(seq++).set_timestamp(90000).set_ssrc(0x12345678);
    b.set<TransportSequenceNumber>(map, seq).set<AbsSendTime>(map, 0x1234).set<AudioLevel>(map, {true, 20});
    auto n = b.write(out);
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_RtpBuild3Extensions);

void BM_RtpBuild1100(benchmark::State& state) {
  const ExtensionMap map = ExtensionMap::Default();
  std::vector<uint8_t> payload(1100, 0x42);
  std::array<uint8_t, 1500> out;
  uint16_t seq = 0;
  for (auto _ : state) {
    RtpPacketBuilder b;
    b.set_payload_type(96).set_sequence_number(seq++).set_timestamp(90000).set_ssrc(0x12345678);
    b.set<TransportSequenceNumber>(map, seq).set<AbsSendTime>(map, 0x1234).set<AudioLevel>(map, {true, 20});
    b.set_payload(payload);
    auto n = b.write(out);
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_RtpBuild1100);

}  // namespace
