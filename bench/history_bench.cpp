// The send-side histories on the forwarding path, per packet: recovery::PacketHistory (put + a
// lookup) and congestion::SendTimeHistory (on_sent + the feedback lookup and clear that follow),
// each on its SeqRing (the library) and on the std::map it replaced (tests/support/map_histories.h,
// the baseline), in the same run: compare Ring against Map of the same name.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "../tests/support/map_histories.h"
#include "tern/congestion/send_time_history.h"
#include "tern/recovery/packet_history.h"
#include "tern/rtp/rtp_packet_builder.h"

using namespace tern;

namespace {

rtp::RtpPacket media_packet(size_t payload) {
  const std::vector<uint8_t> bytes(payload, 0x5A);
  rtp::RtpPacketBuilder b;
  b.set_ssrc(0x1234).set_payload_type(96).set_sequence_number(0);
  b.set_payload(bytes);
  return b.build().value();
}

// A forwarder's RTX history (pipeline::MediaRouter): 1 s or 1024 packets, 1000-byte payloads at
// `state.range(0)` packets/s, steady state (full), one lookup per put.
template <typename History>
void put_get(benchmark::State& state, History& h) {
  rtp::RtpPacket pk = media_packet(1000);
  const TimeDelta gap = TimeDelta::Micros(1'000'000 / state.range(0));
  uint16_t seq = 0;
  Timestamp t = Timestamp::Seconds(1);
  for (int i = 0; i < 5000; ++i) {  // fill first
    pk.set_sequence_number(seq++);
    h.put(pk, t);
    t += gap;
  }
  for (auto _ : state) {
    pk.set_sequence_number(seq);
    h.put(pk, t);  // from a const packet, as RtpEgress::on_sent does
    benchmark::DoNotOptimize(h.get(static_cast<uint16_t>(seq - 50)));
    ++seq;
    t += gap;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["held"] = static_cast<double>(h.size());
}

recovery::PacketHistory::Config rtx_config() {
  recovery::PacketHistory::Config c;
  c.max_age = TimeDelta::Seconds(1);
  c.rtx_ssrc = 0x5678;
  c.rtx_payload_type = 97;
  return c;
}

void BM_PacketHistoryPutGet_Ring(benchmark::State& state) {
  auto h = recovery::PacketHistory::Create(rtx_config()).value();
  put_get(state, h);
}
void BM_PacketHistoryPutGet_Map(benchmark::State& state) {
  test::map_model::PacketHistory h(rtx_config());
  put_get(state, h);
}

// One sent packet, and (as transport-cc feedback does, 20 packets later) its feedback lookup;
// every 100 packets the in-flight clear. `state.range(0)` packets/s.
template <typename History>
void sent_feedback(benchmark::State& state, History& h) {
  const TimeDelta gap = TimeDelta::Micros(1'000'000 / state.range(0));
  uint16_t seq = 0;
  Timestamp t = Timestamp::Seconds(1);
  const auto step = [&] {
    benchmark::DoNotOptimize(h.on_sent(seq, t, DataSize::Bytes(1100)));
    benchmark::DoNotOptimize(h.on_feedback(static_cast<uint16_t>(seq - 20), t));
    if (seq % 100 == 0) h.clear_in_flight_up_to(static_cast<uint16_t>(seq - 20));
    ++seq;
    t += gap;
  };
  for (int i = 0; i < 40000; ++i) step();  // fill first (past the count bound)
  for (auto _ : state) step();
  state.SetItemsProcessed(state.iterations());
  state.counters["held"] = static_cast<double>(h.size());
}

congestion::SendTimeHistory::Config forwarder_config() {  // pipeline::MediaRouter's
  congestion::SendTimeHistory::Config c;
  c.max_age = TimeDelta::Seconds(3);
  c.max_packets = 1 << 13;
  return c;
}

void BM_SendTimeHistoryEndpoint_Ring(benchmark::State& state) {
  congestion::SendTimeHistory h;
  sent_feedback(state, h);
}
void BM_SendTimeHistoryEndpoint_Map(benchmark::State& state) {
  test::map_model::SendTimeHistory h;
  sent_feedback(state, h);
}
void BM_SendTimeHistoryForwarder_Ring(benchmark::State& state) {
  congestion::SendTimeHistory h(forwarder_config());
  sent_feedback(state, h);
}
void BM_SendTimeHistoryForwarder_Map(benchmark::State& state) {
  test::map_model::SendTimeHistory h(forwarder_config());
  sent_feedback(state, h);
}

}  // namespace

BENCHMARK(BM_PacketHistoryPutGet_Map)->Arg(200)->Arg(2000);
BENCHMARK(BM_PacketHistoryPutGet_Ring)->Arg(200)->Arg(2000);
BENCHMARK(BM_SendTimeHistoryEndpoint_Map)->Arg(1000);
BENCHMARK(BM_SendTimeHistoryEndpoint_Ring)->Arg(1000);
BENCHMARK(BM_SendTimeHistoryForwarder_Map)->Arg(200)->Arg(2000);
BENCHMARK(BM_SendTimeHistoryForwarder_Ring)->Arg(200)->Arg(2000);
