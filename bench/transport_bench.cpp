// transport/ benchmarks.
//  - SRTP protect + unprotect of a 1200-byte RTP packet through SrtpSession, beside the same calls
//    made on libsrtp2 directly: the ratio is our wrapper's overhead.
//  - The receive path per packet: UDP recvmmsg batch -> demux -> SRTP unprotect -> RTP parse (no
//    jitter buffer: transport/ does not depend on one). Sending and protecting are untimed.
//  - Packets per second over loopback, 1200-byte datagrams in batches of 32: UdpSocket beside a
//    plain sendmmsg/recvmmsg pair (the physical limit here).
#include <benchmark/benchmark.h>
#include <srtp2/srtp.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <vector>

#include "tern/core/byte_io.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"
#include "tern/transport/demuxer.h"
#include "tern/transport/srtp_session.h"
#include "tern/transport/udp_socket.h"
#include "raw_mmsg.h"

using namespace tern;
using namespace tern::transport;

namespace {

constexpr size_t kPacketSize = 1200;
constexpr size_t kBatch = 32;
constexpr uint32_t kSsrc = 0x11223344;

std::vector<uint8_t> RtpPacket(uint16_t seq) {
  std::vector<uint8_t> payload(kPacketSize - 12, 0x5A);
  rtp::RtpPacketBuilder b;
  b.set_payload_type(96).set_sequence_number(seq).set_timestamp(seq * 3000u).set_ssrc(kSsrc).set_payload(payload);
  auto p = b.build();
  return {p->data().begin(), p->data().end()};
}

std::vector<uint8_t> Key() {
  std::vector<uint8_t> k(30);
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i);
  return k;
}

SrtpSession Session(SrtpDirection d) {
  SrtpConfig c;
  c.key_material = Key();
  c.direction = d;
  return SrtpSession::Create(c).value();
}

void BM_SrtpProtectUnprotect_Tern(benchmark::State& state) {
  SrtpSession tx = Session(SrtpDirection::kSend);
  SrtpSession rx = Session(SrtpDirection::kReceive);
  const std::vector<uint8_t> plain = RtpPacket(0);
  std::vector<uint8_t> packet;
  packet.reserve(kPacketSize + SrtpSession::kMaxOverhead);
  uint16_t seq = 0;
  for (auto _ : state) {
    packet.assign(plain.begin(), plain.end());
    store_be16(&packet[2], seq++);
    if (!tx.protect_rtp(packet).ok() || !rx.unprotect_rtp(packet).ok()) state.SkipWithError("srtp failed");
    benchmark::DoNotOptimize(packet.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kPacketSize));
}
BENCHMARK(BM_SrtpProtectUnprotect_Tern);

void BM_SrtpProtectUnprotect_RawLibsrtp(benchmark::State& state) {
  srtp_init();
  std::vector<uint8_t> key = Key();
  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof(policy));
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
  policy.key = key.data();
  policy.window_size = 128;
  policy.allow_repeat_tx = 1;
  policy.ssrc.type = ssrc_any_outbound;
  srtp_t tx = nullptr, rx = nullptr;
  srtp_create(&tx, &policy);
  policy.ssrc.type = ssrc_any_inbound;
  srtp_create(&rx, &policy);
  const std::vector<uint8_t> plain = RtpPacket(0);
  std::array<uint8_t, kPacketSize + SRTP_MAX_TRAILER_LEN> buf;
  uint16_t seq = 0;
  for (auto _ : state) {
    std::memcpy(buf.data(), plain.data(), plain.size());
    store_be16(&buf[2], seq++);
    int len = static_cast<int>(plain.size());
    if (srtp_protect(tx, buf.data(), &len) != srtp_err_status_ok ||
        srtp_unprotect(rx, buf.data(), &len) != srtp_err_status_ok)
      state.SkipWithError("srtp failed");
    benchmark::DoNotOptimize(buf.data());
  }
  srtp_dealloc(tx);
  srtp_dealloc(rx);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kPacketSize));
}
BENCHMARK(BM_SrtpProtectUnprotect_RawLibsrtp);

struct CountingSink final : DatagramSink {
  void on_datagram(std::vector<uint8_t>, Timestamp) override { ++count; }
  size_t count = 0;
};

// Per packet: recvmmsg (batch of 32) -> demux -> unprotect in the receive slot -> parse.
void BM_ReceivePath(benchmark::State& state) {
  auto tx = UdpSocket::Open(SocketAddress::LoopbackV4(0));
  auto rx = UdpSocket::Open(SocketAddress::LoopbackV4(0));
  if (!tx.ok() || !rx.ok()) {
    state.SkipWithError("no loopback");
    return;
  }
  SrtpSession protect = Session(SrtpDirection::kSend);
  SrtpSession unprotect = Session(SrtpDirection::kReceive);
  Demuxer demux;
  CountingSink sink;
  (void)demux.add_rtp_sink(kSsrc, &sink);
  DatagramBatch out(kBatch, 1500);
  DatagramBatch in(kBatch, 1500);
  const std::vector<uint8_t> plain = RtpPacket(0);
  uint16_t seq = 0;
  int64_t packets = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (size_t i = 0; i < kBatch; ++i) {
      std::memcpy(out[i].buffer.data(), plain.data(), plain.size());
      store_be16(&out[i].buffer[2], seq++);
      out[i].size = plain.size();
      out[i].peer = rx->local_address();
      (void)protect.protect_rtp(out[i].buffer, out[i].size);
    }
    (void)tx->send_batch(out.slots());
    state.ResumeTiming();
    size_t got = 0;
    for (int round = 0; round < 100 && got < kBatch; ++round) {
      auto n = rx->receive_batch(in.slots().subspan(got));
      if (!n.ok()) break;
      got += *n;
    }
    for (size_t i = 0; i < got; ++i) {
      Datagram& d = in[i];
      if (demux.demux(std::vector<uint8_t>(d.data().begin(), d.data().end()), Timestamp::Zero()) != PacketClass::kRtp) continue;
      if (!unprotect.unprotect_rtp(d.buffer, d.size).ok()) continue;
      auto view = rtp::RtpPacketView::parse(d.data());
      benchmark::DoNotOptimize(view);
    }
    packets += static_cast<int64_t>(got);
  }
  state.SetItemsProcessed(packets);
  state.counters["auth_failures"] = static_cast<double>(unprotect.counters().auth_failures);
}
BENCHMARK(BM_ReceivePath);

void BM_LoopbackPps_UdpSocket(benchmark::State& state) {
  auto tx = UdpSocket::Open(SocketAddress::LoopbackV4(0));
  auto rx = UdpSocket::Open(SocketAddress::LoopbackV4(0));
  if (!tx.ok() || !rx.ok()) {
    state.SkipWithError("no loopback");
    return;
  }
  DatagramBatch out(kBatch, kPacketSize);
  DatagramBatch in(kBatch, 1500);
  const std::vector<uint8_t> payload(kPacketSize, 0x80);
  for (size_t i = 0; i < kBatch; ++i) out.set(i, payload, rx->local_address());
  int64_t received = 0;
  for (auto _ : state) {
    auto sent = tx->send_batch(out.slots());
    const size_t want = sent.ok() ? *sent : 0;
    size_t got = 0;
    for (int round = 0; round < 100 && got < want; ++round) {
      auto n = rx->receive_batch(in.slots().subspan(got));
      if (!n.ok()) break;
      got += *n;
    }
    received += static_cast<int64_t>(got);
  }
  state.SetItemsProcessed(received);
}
BENCHMARK(BM_LoopbackPps_UdpSocket);

void BM_LoopbackPps_RawMmsg(benchmark::State& state) {
  auto txs = UdpSocket::Open(SocketAddress::LoopbackV4(0));  // only for fds and the address
  auto rxs = UdpSocket::Open(SocketAddress::LoopbackV4(0));
  if (!txs.ok() || !rxs.ok()) {
    state.SkipWithError("no loopback");
    return;
  }
  const int tx = txs->fd(), rx = rxs->fd();
  const SocketAddress to = rxs->local_address();
  bench::RawMmsgExchange<kBatch> raw(tx, rx, to, kPacketSize);
  int64_t received = 0;
  for (auto _ : state) received += raw.exchange();
  state.SetItemsProcessed(received);
}
BENCHMARK(BM_LoopbackPps_RawMmsg);

}  // namespace
