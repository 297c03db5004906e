// Loss-recovery costs: ULPFEC encode of a 10-packet frame (with bytes/s of media protected),
// recovery of one lost packet, packet history insert + lookup, RTX build, NACK generator update per
// packet with 5% loss and process() every 10 packets, and the protection policy's long-path
// decision (rule 6: loss patterns decoded the first time a group size is judged, kept after).
#include <benchmark/benchmark.h>

#include <vector>

#include "tern/core/random.h"
#include "tern/recovery/nack_generator.h"
#include "tern/recovery/packet_history.h"
#include "tern/recovery/protection_policy.h"
#include "tern/recovery/ulpfec.h"
#include "tern/rtp/rtp_packet_builder.h"

using namespace tern;
using namespace tern::recovery;

namespace {

std::vector<rtp::RtpPacket> frame(uint16_t first_seq, size_t n, size_t payload_size) {
  Random rng(1);
  std::vector<rtp::RtpPacket> out;
  std::vector<uint8_t> payload(payload_size);
  for (size_t i = 0; i < n; ++i) {
    for (auto& b : payload) b = static_cast<uint8_t>(rng.next_u32());
    rtp::RtpPacketBuilder b;
    b.set_payload_type(96).set_sequence_number(static_cast<uint16_t>(first_seq + i)).set_timestamp(9000);
    b.set_ssrc(7).set_marker(i + 1 == n).set_payload(payload);
    out.push_back(b.build().value());
  }
  return out;
}

// 10 packets of 1200 bytes, protection factor 85 (~1/3: 3 FEC packets).
void BM_UlpfecEncodeFrame(benchmark::State& state) {
  const auto packets = frame(0, 10, 1200);
  UlpfecGenerator gen({122, std::nullopt});
  const FecProtection p{85, 1, FecMaskType::kRandom};
  gen.set_protection(p, p);
  size_t bytes = 0;
  for (const auto& pk : packets) bytes += pk.size();
  for (auto _ : state) {
    for (const auto& pk : packets) gen.add_media_packet(pk, false);
    auto fec = gen.take_fec_packets(10);
    benchmark::DoNotOptimize(fec);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_UlpfecEncodeFrame);

// A fresh receiver gets 9 of 10 media packets and the FEC packets; one packet is rebuilt.
void BM_UlpfecRecoverOne(benchmark::State& state) {
  const auto packets = frame(0, 10, 1200);
  UlpfecGenerator gen({122, std::nullopt});
  const FecProtection p{85, 1, FecMaskType::kRandom};
  gen.set_protection(p, p);
  for (const auto& pk : packets) gen.add_media_packet(pk, false);
  const auto fec = gen.take_fec_packets(10);
  size_t recovered = 0;
  for (auto _ : state) {
    UlpfecReceiver rx({7, 122, std::nullopt, {}});
    for (size_t i = 1; i < packets.size(); ++i) (void)rx.on_packet(packets[i]);
    for (const auto& f : fec) recovered += rx.on_packet(f).recovered.size();
  }
  if (recovered != static_cast<size_t>(state.iterations())) state.SkipWithError("recovery failed");
}
BENCHMARK(BM_UlpfecRecoverOne);

// Steady state of a full history: one insert (evicting the oldest) and one lookup per iteration.
void BM_PacketHistoryInsertLookup(benchmark::State& state) {
  PacketHistory::Config c;
  c.max_packets = 1024;
  auto h = PacketHistory::Create(c).value();
  const auto packets = frame(0, 1, 1000);
  rtp::RtpPacket pk = packets[0];
  uint16_t seq = 0;
  Timestamp t = Timestamp::Millis(0);
  for (auto _ : state) {
    pk.set_sequence_number(seq);
    h.put(pk, t);
    benchmark::DoNotOptimize(h.get(static_cast<uint16_t>(seq - 500)));
    ++seq;
    t += TimeDelta::Micros(100);
  }
}
BENCHMARK(BM_PacketHistoryInsertLookup);

void BM_NackToRtx(benchmark::State& state) {
  PacketHistory::Config c;
  c.retransmission_rate = DataRate::PlusInfinity();
  auto h = PacketHistory::Create(c).value();
  const auto packets = frame(0, 100, 1000);
  for (const auto& pk : packets) h.put(pk, Timestamp::Millis(0));
  const uint16_t nack[] = {50};
  const Timestamp t = Timestamp::Millis(1);  // fixed time: nothing expires, RTT 0 allows repeats
  for (auto _ : state) {
    auto out = h.on_nack(nack, t, TimeDelta::Zero());
    benchmark::DoNotOptimize(out);
  }
  state.counters["rtx_per_nack"] = static_cast<double>(h.stats().retransmitted_packets_sent) /
                                   static_cast<double>(state.iterations());
}
BENCHMARK(BM_NackToRtx);

void BM_NackGeneratorPerPacket(benchmark::State& state) {
  Random rng(3);
  std::vector<bool> lost(100000);
  for (size_t i = 0; i < lost.size(); ++i) lost[i] = rng.bernoulli(0.05);
  int64_t packets = 0;
  for (auto _ : state) {
    NackGenerator nack;
    nack.on_rtt(TimeDelta::Millis(50));
    Timestamp now = Timestamp::Seconds(1);
    for (size_t i = 0; i < lost.size(); ++i) {
      now += TimeDelta::Micros(1000);
      if (!lost[i]) benchmark::DoNotOptimize(nack.on_packet(static_cast<uint16_t>(i), false, PacketArrival::kOriginal, now));
      if (i % 10 == 0) benchmark::DoNotOptimize(nack.process(now));
    }
    packets += static_cast<int64_t>(lost.size());
  }
  state.counters["ns_per_packet"] = benchmark::Counter(
      static_cast<double>(packets), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(packets);
}
BENCHMARK(BM_NackGeneratorPerPacket)->Unit(benchmark::kMillisecond);

// Rule 6 at 240 ms RTT and 2% loss for a stream of state.range(0) kbps at 30 fps: a fresh policy
// each time (every group size judged from scratch: the first loss figure of a call, or a new rate),
// then the same decision again (the counts kept).
void BM_ProtectionPolicyLongPath(benchmark::State& state) {
  StreamFigures s;
  s.media_rate = DataRate::KilobitsPerSec(state.range(0));
  const bool fresh = state.range(1) != 0;
  auto kept = ProtectionPolicy::Create({});
  for (auto _ : state) {
    if (fresh) {
      auto p = ProtectionPolicy::Create({});
      benchmark::DoNotOptimize(p->decide(TimeDelta::Millis(240), 0.02, false, &s));
    } else {
      benchmark::DoNotOptimize(kept->decide(TimeDelta::Millis(240), 0.02, false, &s));
    }
  }
}
BENCHMARK(BM_ProtectionPolicyLongPath)->ArgsProduct({{1500, 4000, 8000}, {1, 0}})->Unit(benchmark::kMicrosecond);

}  // namespace
