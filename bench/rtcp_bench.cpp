// RTCP compound parse/build costs (RFC 3550 6.1): the typical SR + report blocks + SDES CNAME
// compound, and NACK PID/BLP packing and expansion.
#include <benchmark/benchmark.h>

#include <vector>

#include "tern/rtp/rtcp/rtcp_packet.h"

using namespace tern;
using namespace tern::rtcp;

namespace {

std::vector<RtcpPacket> typical_compound() {
  SenderReport sr;
  sr.sender_ssrc = 0x11223344;
  sr.ntp = NtpTime(3900000000u, 0x80000000u);
  sr.rtp_timestamp = 123456;
  sr.packet_count = 1000;
  sr.octet_count = 1000000;
  sr.report_blocks.push_back(ReportBlock{0xA, 12, 34, 56789, 120, 0xABCD, 0x8000});
  sr.report_blocks.push_back(ReportBlock{0xB, 0, 0, 1234, 80, 0xABCE, 0x4000});
  return {sr, Sdes::WithCname(0x11223344, "tern-endpoint-0123456789@example")};
}

void BM_RtcpCompoundParse(benchmark::State& state) {
  const auto wire = build_compound(typical_compound());
  for (auto _ : state) {
    CompoundParseResult r = parse_compound(wire);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(wire.size()));
}
BENCHMARK(BM_RtcpCompoundParse);

void BM_RtcpCompoundBuild(benchmark::State& state) {
  const auto packets = typical_compound();
  std::vector<uint8_t> out(compound_size(packets));
  for (auto _ : state) {
    auto written = write_compound(packets, out);
    benchmark::DoNotOptimize(written);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_RtcpCompoundBuild);

// 50 lost packets in bursts around a sequence wrap: pack into PID/BLP, write, parse and expand.
void BM_NackBuildParse(benchmark::State& state) {
  Nack nack{1, 2, {}};
  uint16_t seq = 65500;
  for (int i = 0; i < 50; ++i) {
    nack.lost.push_back(seq);
    seq = static_cast<uint16_t>(seq + (i % 5 == 4 ? 23 : 2));
  }
  std::vector<uint8_t> out(nack.size());
  for (auto _ : state) {
    ByteWriter w(out);
    nack.write(w);
    auto header = CommonHeader::parse(w.written());
    auto parsed = Nack::parse(*header);
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK(BM_NackBuildParse);

}  // namespace
