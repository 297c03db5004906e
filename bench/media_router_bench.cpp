// tern-sfu's forwarding core at load-test sizes (issue 17, docs/sfu-load.md), user space only: a
// pipeline::MediaRouter with K publisher legs and M subscriber legs per publisher (VP8 + RTX,
// NACK, transport-cc, estimates and probing as tern-sfu configures it), driven like a worker
// drives it: per publisher packet (1000-byte payload, round robin over the publishers at 200
// packets/s each, simulated time) on_packet(), then next_wakeup() and process() when due, and
// each subscriber's copy SRTP-protected (AEAD_AES_128_GCM, OpenSSL EVP) by its sink. Beside it,
// in the same run, the bare reference forwarder's user-space work per packet: a copy per subscriber
// and its protect. Items are packets forwarded (one per subscriber per publisher packet): compare
// items_per_second of Router against Reference of the same K/M (the load test's ratio, without
// the sockets and the unprotect, which both pay alike).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "tern/core/byte_io.h"
#include "tern/pipeline/media_router.h"
#include "tern/rtp/rtp_packet_builder.h"
#include "tern/transport/srtp_session.h"

using namespace tern;

namespace {

constexpr size_t kPayload = 1000;
constexpr int64_t kRatePerPublisher = 200;

transport::SrtpSession protect_session(uint8_t key) {
  transport::SrtpConfig c;
  c.profile = transport::SrtpProfile::kAeadAes128Gcm;
  c.direction = transport::SrtpDirection::kSend;
  c.key_material.assign(transport::srtp_key_material_size(c.profile), key);
  return transport::SrtpSession::Create(c).value();
}

// A subscriber's SfuSession, as far as the router sees it: each datagram protected, then dropped.
// Its datagram's buffer goes back to the router's pool, as tern-sfu's worker gives them back after
// sendmmsg (SfuServer::recycle).
class ProtectingSink final : public DatagramSink {
 public:
  ProtectingSink(uint8_t key, BufferPool* pool) : srtp_(protect_session(key)), pool_(pool) {}
  void on_datagram(std::vector<uint8_t> datagram, Timestamp) override {
    if (srtp_.protect_muxed(datagram).ok()) ++sent;
    pool_->give(std::move(datagram));
  }
  uint64_t sent = 0;

 private:
  transport::SrtpSession srtp_;
  BufferPool* pool_;
};

// The publishers' packets: VP8 (a one-byte descriptor, S=1), a transport-wide sequence number (a
// one-byte-header extension element right after the 12-byte header and the 4-byte extension
// header: its value at kTransportSeqOffset). Built once per publisher; stamp() numbers a copy.
constexpr size_t kTransportSeqOffset = 12 + 4 + 1;
std::vector<uint8_t> publisher_packet(uint32_t ssrc) {
  std::vector<uint8_t> payload(kPayload, 0x5A);
  payload[0] = 0x10;
  const uint8_t tseq[2] = {0, 0};
  rtp::RtpPacketBuilder b;
  b.set_ssrc(ssrc).set_payload_type(96).set_sequence_number(0).set_timestamp(0).set_marker(true);
  b.set_extension(pipeline::ExtensionIds{}.transport_sequence_number, tseq);
  b.set_payload(payload);
  const rtp::RtpPacket p = b.build().value();
  return std::vector<uint8_t>(p.data().begin(), p.data().end());
}
void stamp(std::vector<uint8_t>& packet, uint16_t seq, uint32_t timestamp, uint16_t transport_seq) {
  store_be16(&packet[2], seq);
  store_be32(&packet[4], timestamp);
  store_be16(&packet[kTransportSeqOffset], transport_seq);
}

pipeline::MediaRouter::ForwardedStream video_stream(uint32_t ssrc) {
  pipeline::MediaRouter::ForwardedStream f;
  f.ssrc = ssrc;
  f.rtx_ssrc = ssrc + 1;
  f.codec = codecs::CodecType::kVp8;
  return f;
}

void BM_Router(benchmark::State& state) {
  const auto k = static_cast<size_t>(state.range(0)), m = static_cast<size_t>(state.range(1));
  pipeline::MediaRouter::Config config;  // as tern-sfu's SfuServer sets it
  config.cname = "tern-sfu";
  config.keyframe_request_interval = TimeDelta::Millis(300);
  BufferPool pool(1536, 4096);  // as SfuServer's
  config.buffers = &pool;
  auto router = pipeline::MediaRouter::Create(config).value();
  std::vector<std::unique_ptr<ProtectingSink>> sinks;
  std::vector<pipeline::MediaRouter::LegId> publishers;
  std::vector<std::vector<uint8_t>> packets;
  for (size_t p = 0; p < k; ++p) {
    const uint32_t ssrc = 0x2A00'0000u + static_cast<uint32_t>(p) * 16;
    sinks.push_back(std::make_unique<ProtectingSink>(0x10, &pool));
    publishers.push_back(router->add_leg(0x5F00'0000u + static_cast<uint32_t>(sinks.size()), sinks.back().get(),
                                         {video_stream(ssrc)}).value());
    packets.push_back(publisher_packet(ssrc));
    for (size_t s = 0; s < m; ++s) {
      sinks.push_back(std::make_unique<ProtectingSink>(static_cast<uint8_t>(0x20 + s), &pool));
      const auto leg = router->add_leg(0x5F00'0000u + static_cast<uint32_t>(sinks.size()), sinks.back().get(), {}).value();
      if (!router->add_outbound(leg, video_stream(ssrc)).ok()) state.SkipWithError("add_outbound failed");
    }
  }
  // Round robin: one publisher packet every 1 / (K x rate) seconds.
  const TimeDelta gap = TimeDelta::Micros(1'000'000 / (kRatePerPublisher * static_cast<int64_t>(k)));
  Timestamp now = Timestamp::Seconds(10);
  uint64_t n = 0;
  auto step = [&] {
    const size_t p = n % k;
    const auto round = static_cast<uint32_t>(n / k);
    stamp(packets[p], static_cast<uint16_t>(round), round * 3000, static_cast<uint16_t>(round));
    router->on_packet(publishers[p], packets[p], now);
    if (auto at = router->next_wakeup(); at && *at <= now) router->process(now);
    (void)router->next_wakeup();  // the driver's second look after a process(), or the timer's
    now += gap;
    ++n;
  };
  for (int i = 0; i < 4000; ++i) step();  // past the first estimates, histories filling
  const uint64_t before = [&] {
    uint64_t s = 0;
    for (const auto& sink : sinks) s += sink->sent;
    return s;
  }();
  for (auto _ : state) step();
  uint64_t after = 0;
  for (const auto& sink : sinks) after += sink->sent;
  state.SetItemsProcessed(static_cast<int64_t>(after - before));  // RTCP included: a few per mille
}

// The reference forwarder's user-space work for one publisher packet: per subscriber a copy of the
// packet and its protect (its datagrams go to sendmmsg; here they are dropped).
void BM_Reference(benchmark::State& state) {
  const auto k = static_cast<size_t>(state.range(0)), m = static_cast<size_t>(state.range(1));
  std::vector<transport::SrtpSession> out;
  for (size_t i = 0; i < k * m; ++i) out.push_back(protect_session(static_cast<uint8_t>(0x20 + i % m)));
  std::vector<std::vector<uint8_t>> packets;
  for (size_t p = 0; p < k; ++p) packets.push_back(publisher_packet(0x2A00'0000u + static_cast<uint32_t>(p) * 16));
  std::vector<uint8_t> buffer(2048);
  uint64_t n = 0;
  int64_t forwarded = 0;
  for (auto _ : state) {
    const size_t p = n % k;
    std::vector<uint8_t>& packet = packets[p];
    stamp(packet, static_cast<uint16_t>(n / k), static_cast<uint32_t>(n / k) * 3000, static_cast<uint16_t>(n / k));
    for (size_t s = 0; s < m; ++s) {
      std::copy(packet.begin(), packet.end(), buffer.begin());
      size_t size = packet.size();
      if (out[p * m + s].protect_rtp(std::span<uint8_t>(buffer), size).ok()) ++forwarded;
    }
    ++n;
  }
  state.SetItemsProcessed(forwarded);
}

}  // namespace

BENCHMARK(BM_Reference)->Args({4, 8})->Args({8, 25});
BENCHMARK(BM_Router)->Args({4, 8})->Args({8, 25});
