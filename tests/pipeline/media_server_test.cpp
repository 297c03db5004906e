// MediaServer (SFU-like hop) tests over two netsim networks: A <-> server <-> B in virtual time.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "call_fixture.h"
#include "doctest/doctest.h"
#include "tern/pipeline/media_server.h"
#include "tern/rtp/rtp_rtcp_split.h"

namespace tern::pipeline {
namespace {

using testing::link;
using testing::small_call_config;

struct SfuCall {
  netsim::EventLoop loop;
  std::unique_ptr<netsim::Network> upstream, downstream;  // A <-> S, S <-> B
  netsim::NetsimTransport ta, tb, ts_a, ts_b;
  std::unique_ptr<Endpoint> a, b;
  std::unique_ptr<MediaServer> server;
  std::unique_ptr<netsim::PollableAdapter<Endpoint>> da, db;
  std::unique_ptr<netsim::PollableAdapter<MediaServer::Port>> dsa, dsb;
  testing::RenderLog render_b;

  SfuCall(const EndpointConfig& ca, const EndpointConfig& cb, double up_loss, double down_loss) {
    netsim::NetworkConfig up = netsim::NetworkConfig::Direct(link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(15), up_loss),
                                                             link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(15)));
    up.seed = 11;
    netsim::NetworkConfig down = netsim::NetworkConfig::Direct(
        link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(15), down_loss), link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(15)));
    down.seed = 12;
    auto u = netsim::Network::Create(up);
    auto d = netsim::Network::Create(down);
    REQUIRE(u.ok());
    REQUIRE(d.ok());
    upstream = std::move(u).value();
    downstream = std::move(d).value();
    netsim::Network* un = upstream.get();
    netsim::Network* dn = downstream.get();
    ta.set_send([un](netsim::SimPacket p, Timestamp now) { un->send_from_a(std::move(p), now); });
    ts_a.set_send([un](netsim::SimPacket p, Timestamp now) { un->send_from_b(std::move(p), now); });
    ts_b.set_send([dn](netsim::SimPacket p, Timestamp now) { dn->send_from_a(std::move(p), now); });
    tb.set_send([dn](netsim::SimPacket p, Timestamp now) { dn->send_from_b(std::move(p), now); });
    auto ea = Endpoint::Create(ca, &ta);
    auto eb = Endpoint::Create(cb, &tb);
    REQUIRE_MESSAGE(ea.ok(), std::string(ea.error()));
    REQUIRE_MESSAGE(eb.ok(), std::string(eb.error()));
    a = std::move(ea).value();
    b = std::move(eb).value();
    auto s = MediaServer::Create(MediaServer::Config::ForCall(ca), &ts_a, &ts_b);
    REQUIRE_MESSAGE(s.ok(), std::string(s.error()));
    server = std::move(s).value();
    da = std::make_unique<netsim::PollableAdapter<Endpoint>>(*a);
    db = std::make_unique<netsim::PollableAdapter<Endpoint>>(*b);
    dsa = std::make_unique<netsim::PollableAdapter<MediaServer::Port>>(server->port(MediaServer::Side::kA));
    dsb = std::make_unique<netsim::PollableAdapter<MediaServer::Port>>(server->port(MediaServer::Side::kB));
    un->set_sink_a(da.get());
    un->set_sink_b(dsa.get());
    dn->set_sink_a(dsb.get());
    dn->set_sink_b(db.get());
    un->attach(loop);
    dn->attach(loop);
    loop.add_pollable(da.get());
    loop.add_pollable(db.get());
    loop.add_pollable(dsa.get());
    b->set_video_render_listener(&render_b);
  }
  void run(TimeDelta d) {
    Status s = loop.run_for(d);
    REQUIRE_MESSAGE(s.ok(), std::string(s.error()));
  }
};

EndpointConfig one_way_sender() {
  EndpointConfig c = small_call_config();
  c.receive.video.reset();
  c.receive.audio.reset();
  return c;
}

TEST_CASE("pipeline media server forwards a clean call") {
  const EndpointConfig ca = one_way_sender();
  SfuCall call(ca, ca.mirrored(), 0.0, 0.0);
  call.run(TimeDelta::Seconds(4));
  const StatsReport rb = call.b->stats(call.loop.now());
  const InboundRtpStats* video = rb.inbound("video");
  const InboundRtpStats* audio = rb.inbound("audio");
  REQUIRE(video != nullptr);
  REQUIRE(audio != nullptr);
  const StatsReport ra = call.a->stats(call.loop.now());
  const OutboundRtpStats* sent = ra.outbound("video");
  REQUIRE(sent != nullptr);
  std::printf("sfu clean: sent %u rendered %u psnr %.2f\n", sent->frames_encoded.value(), video->frames_rendered.value(),
              video->tern_mean_psnr.value_or(0));
  CHECK(video->frames_rendered.value() + 10 >= sent->frames_encoded.value());
  CHECK(video->packets_lost == 0);
  CHECK(video->tern_mean_psnr.value_or(0) > 30);
  CHECK(audio->total_samples_received.value() > 3 * 48000);
  CHECK(audio->concealed_samples.value() < 4800);
  // Per-hop RTCP: both endpoints measure an RTT to the server (one hop, 2 x 15 ms), not end to end.
  REQUIRE(call.a->rtt().has_value());
  CHECK(call.a->rtt()->ms() < 45);
  REQUIRE(call.server->counters(MediaServer::Side::kB).rtt.has_value());
  CHECK(call.server->counters(MediaServer::Side::kB).rtt->ms() < 45);
  // Where nobody sends an SR to answer, RFC 3611 RRTR/DLRR gives the receiving side its RTT:
  // the server on A's hop (it only receives there; its upstream NACKs use it) and B.
  REQUIRE(call.server->counters(MediaServer::Side::kA).rtt.has_value());
  CHECK(call.server->counters(MediaServer::Side::kA).rtt->ms() >= 25);
  CHECK(call.server->counters(MediaServer::Side::kA).rtt->ms() < 45);
  REQUIRE(call.b->rtt().has_value());
  CHECK(call.b->rtt()->ms() >= 25);
  CHECK(call.b->rtt()->ms() < 45);
  // Transport-cc is terminated per hop: the server consumes B's feedback, A gets the server's.
  CHECK(call.server->counters(MediaServer::Side::kB).transport_feedback_received > 0);
  CHECK(call.a->target_rate() > DataRate::KilobitsPerSec(300));
}

TEST_CASE("pipeline media server NACKs upstream and retransmits downstream") {
  const EndpointConfig ca = one_way_sender();
  SfuCall call(ca, ca.mirrored(), 0.04, 0.04);
  call.run(TimeDelta::Seconds(6));
  const MediaServer::SideCounters& up = call.server->counters(MediaServer::Side::kA);
  const MediaServer::SideCounters& down = call.server->counters(MediaServer::Side::kB);
  std::printf("sfu loss: server nacks upstream %llu rtx from A %llu | nacked by B %llu rtx to B %llu\n",
              static_cast<unsigned long long>(up.nacks_sent), static_cast<unsigned long long>(up.rtx_packets_received),
              static_cast<unsigned long long>(down.nacked_packets_received),
              static_cast<unsigned long long>(down.retransmissions_sent));
  // The server asks A for what the upstream hop lost ...
  CHECK(up.nacks_sent > 0);
  CHECK(up.rtx_packets_received > 0);
  // ... repairing packets it saw missing (a retransmission of one that had come repairs nothing).
  CHECK(up.packets_repaired_by_rtx > 0);
  CHECK(up.packets_repaired_by_rtx <= up.rtx_packets_received);
  // ... and answers B's NACKs for the downstream hop from its own history.
  CHECK(down.nacked_packets_received > 0);
  CHECK(down.retransmissions_sent > 0);
  const StatsReport ra = call.a->stats(call.loop.now());
  const StatsReport rb = call.b->stats(call.loop.now());
  const OutboundRtpStats* sent = ra.outbound("video");
  const InboundRtpStats* video = rb.inbound("video");
  REQUIRE(sent != nullptr);
  REQUIRE(video != nullptr);
  // A only retransmits what the upstream hop lost: far fewer than the two hops lost together.
  CHECK(sent->retransmitted_packets_sent > 0);
  CHECK(sent->retransmitted_packets_sent <= up.rtx_packets_received + 5);
  CHECK(video->retransmitted_packets_received > 0);
  // B's repairs of the downstream hop's losses, in its webrtc-stats (ternPacketsRepairedByRtx).
  REQUIRE(video->tern_packets_repaired_by_rtx.has_value());
  CHECK(*video->tern_packets_repaired_by_rtx > 0);
  CHECK(*video->tern_packets_repaired_by_rtx <= video->retransmitted_packets_received);
  CHECK(video->frames_rendered.value() + 25 >= sent->frames_encoded.value());
  CHECK(video->freeze_count.value() <= 3);
}

TEST_CASE("pipeline media server with ULPFEC forwards FEC packets but never retransmits one") {
  // The server answers B's NACKs from its own history, which holds the forwarded FEC packets too
  // (they share the media's numbers): MediaRouter::ForwardedStream::ulpfec_payload_type keeps
  // them out of the answers (recovery::PacketHistory::Config::fec_payload_type).
  EndpointConfig ca = one_way_sender();
  ca.send.protection = ProtectionConfig{true, true, false, false};
  SfuCall call(ca, ca.mirrored(), 0.03, 0.05);
  std::vector<uint16_t> fec_seqs, rtx_osns;
  netsim::Network* dn = call.downstream.get();
  call.ts_b.set_send([&, dn](netsim::SimPacket p, Timestamp now) {
    if (const auto wire = testing::classify_wire_video(p.data, ca)) {
      if (wire->kind == testing::WireVideoPacket::Kind::kFec) fec_seqs.push_back(wire->sequence_number);
      if (wire->kind == testing::WireVideoPacket::Kind::kRtx) rtx_osns.push_back(wire->sequence_number);
    }
    dn->send_from_a(std::move(p), now);
  });
  call.run(TimeDelta::Seconds(6));
  std::sort(fec_seqs.begin(), fec_seqs.end());
  size_t fec_resent = 0;
  for (const uint16_t osn : rtx_osns) fec_resent += std::binary_search(fec_seqs.begin(), fec_seqs.end(), osn) ? 1 : 0;
  MESSAGE("server -> B: FEC " << fec_seqs.size() << ", retransmissions " << rtx_osns.size() << " (of FEC packets "
                              << fec_resent << ")");
  CHECK(fec_seqs.size() > 50);
  CHECK(rtx_osns.size() > 0);
  CHECK(fec_resent == 0);
}

}  // namespace
}  // namespace tern::pipeline
