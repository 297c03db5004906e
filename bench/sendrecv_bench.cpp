// tern-send / tern-recv per-packet transport costs over real UDP loopback.
//
// BM_RecvPath_JitterBuffer: what tern-recv does per packet: recvmmsg (batches of 32) -> SRTP
//   unprotect -> RTP parse into an owned packet -> VP8 jitter buffer insert (+ release of due frames).
// BM_SendRecvPps_Tern: the whole tern-send -> tern-recv datagram path per packet (RTP build, SRTP
//   protect, sendmmsg, recvmmsg, unprotect, parse, jitter buffer insert), as packets per second.
// BM_SendRecvPps_RawMmsg: the physical limit: a plain sendmmsg/recvmmsg pair, same sizes and batch.
// items_per_second of the last two give the ratio. The tools themselves are paced by media rate;
// bench/sendrecv_pps.sh measures them end to end.
#include <benchmark/benchmark.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <vector>

#include "tern/core/byte_io.h"
#include "tern/jitterbuffer/video/video_jitter_buffer.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"
#include "tern/transport/srtp_session.h"
#include "tern/transport/udp_socket.h"
#include "raw_mmsg.h"

namespace {

using namespace tern;
using namespace tern::transport;

constexpr size_t kPacketSize = 1200;
constexpr size_t kBatch = 32;
constexpr uint32_t kSsrc = 0x11223344;

// One VP8 keyframe in one packet: descriptor with a 15-bit PictureID, then a keyframe header
// (320x240) and filler, so every packet is a complete, independently decodable frame.
std::vector<uint8_t> Vp8Packet(uint16_t seq) {
  std::vector<uint8_t> payload(kPacketSize - 12, 0x5A);
  const uint16_t pid = seq & 0x7FFF;
  const uint8_t head[] = {0x90, 0x80, static_cast<uint8_t>(0x80 | (pid >> 8)), static_cast<uint8_t>(pid & 0xFF),
                          0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00};
  std::memcpy(payload.data(), head, sizeof(head));
  rtp::RtpPacketBuilder b;
  b.set_payload_type(96).set_sequence_number(seq).set_timestamp(seq * 3000u).set_ssrc(kSsrc).set_marker(true);
  b.set_payload(payload);
  auto p = b.build();
  return {p->data().begin(), p->data().end()};
}

SrtpSession Session(SrtpDirection d) {
  SrtpConfig c;
  c.key_material.resize(30);
  for (size_t i = 0; i < c.key_material.size(); ++i) c.key_material[i] = static_cast<uint8_t>(i);
  c.direction = d;
  return SrtpSession::Create(c).value();
}

struct Pair {
  UdpSocket tx, rx;
  bool ok = false;
  Pair() {
    auto a = UdpSocket::Open(SocketAddress::LoopbackV4(0));
    auto b = UdpSocket::Open(SocketAddress::LoopbackV4(0));
    if (!a.ok() || !b.ok()) return;
    tx = std::move(a.value());
    rx = std::move(b.value());
    ok = true;
  }
};

// Receives what was sent (bounded retries); returns how many arrived.
size_t ReceiveAll(UdpSocket& rx, DatagramBatch& in, size_t want) {
  size_t got = 0;
  for (int round = 0; round < 100 && got < want; ++round) {
    auto n = rx.receive_batch(in.slots().subspan(got, want - got));
    if (!n.ok()) break;
    got += *n;
  }
  return got;
}

// The receive half shared by both tern benchmarks: unprotect, parse, insert, release.
struct ReceiveSide {
  SrtpSession unprotect = Session(SrtpDirection::kReceive);
  jitterbuffer::VideoJitterBuffer jitter_buffer;
  Timestamp now = Timestamp::Seconds(1);
  int64_t frames = 0;
  void on_batch(DatagramBatch& in, size_t got) {
    for (size_t i = 0; i < got; ++i) {
      Datagram& d = in[i];
      if (!unprotect.unprotect_rtp(d.buffer, d.size).ok()) continue;
      auto packet = rtp::RtpPacket::parse(d.data());
      if (!packet.ok()) continue;
      now = now + TimeDelta::Millis(33);
      jitter_buffer.insert(std::move(packet.value()), now);
    }
    frames += static_cast<int64_t>(jitter_buffer.process(now).size());
  }
};

void BM_RecvPath_JitterBuffer(benchmark::State& state) {
  Pair p;
  if (!p.ok) {
    state.SkipWithError("no loopback");
    return;
  }
  SrtpSession protect = Session(SrtpDirection::kSend);
  ReceiveSide receive;
  DatagramBatch out(kBatch, 1500), in(kBatch, 1500);
  uint16_t seq = 0;
  int64_t packets = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (size_t i = 0; i < kBatch; ++i) {
      const std::vector<uint8_t> plain = Vp8Packet(seq++);
      std::memcpy(out[i].buffer.data(), plain.data(), plain.size());
      out[i].size = plain.size();
      out[i].peer = p.rx.local_address();
      (void)protect.protect_rtp(out[i].buffer, out[i].size);
    }
    (void)p.tx.send_batch(out.slots());
    state.ResumeTiming();
    const size_t got = ReceiveAll(p.rx, in, kBatch);
    receive.on_batch(in, got);
    packets += static_cast<int64_t>(got);
  }
  state.SetItemsProcessed(packets);
  state.counters["frames_released"] = static_cast<double>(receive.frames);
}
BENCHMARK(BM_RecvPath_JitterBuffer);

void BM_SendRecvPps_Tern(benchmark::State& state) {
  Pair p;
  if (!p.ok) {
    state.SkipWithError("no loopback");
    return;
  }
  SrtpSession protect = Session(SrtpDirection::kSend);
  ReceiveSide receive;
  DatagramBatch out(kBatch, 1500), in(kBatch, 1500);
  const std::vector<uint8_t> templ = Vp8Packet(0);
  uint16_t seq = 0;
  int64_t packets = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < kBatch; ++i) {
      std::memcpy(out[i].buffer.data(), templ.data(), templ.size());
      const uint16_t s = seq++;
      store_be16(&out[i].buffer[2], s);
      store_be32(&out[i].buffer[4], s * 3000u);
      const uint16_t pid = s & 0x7FFF;
      out[i].buffer[14] = static_cast<uint8_t>(0x80 | (pid >> 8));
      out[i].buffer[15] = static_cast<uint8_t>(pid & 0xFF);
      out[i].size = templ.size();
      out[i].peer = p.rx.local_address();
      (void)protect.protect_rtp(out[i].buffer, out[i].size);
    }
    auto sent = p.tx.send_batch(out.slots());
    const size_t got = ReceiveAll(p.rx, in, sent.ok() ? *sent : 0);
    receive.on_batch(in, got);
    packets += static_cast<int64_t>(got);
  }
  state.SetItemsProcessed(packets);
}
BENCHMARK(BM_SendRecvPps_Tern);

void BM_SendRecvPps_RawMmsg(benchmark::State& state) {
  Pair p;
  if (!p.ok) {
    state.SkipWithError("no loopback");
    return;
  }
  const int tx = p.tx.fd(), rx = p.rx.fd();
  const SocketAddress to = p.rx.local_address();
  const size_t size = Vp8Packet(0).size() + 10;  // the same bytes on the wire as SRTP (80-bit tag)
  bench::RawMmsgExchange<kBatch> raw(tx, rx, to, size);
  int64_t received = 0;
  for (auto _ : state) received += raw.exchange();
  state.SetItemsProcessed(received);
}
BENCHMARK(BM_SendRecvPps_RawMmsg);

}  // namespace
