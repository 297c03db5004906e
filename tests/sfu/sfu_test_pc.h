// The PeerConnection clients of the tests/sfu suites: Opus + VP8 320x180 at 15 fps (publishers),
// no data channel, one socket bound to `bound`, numbered apart per client `n` (ICE seed, SSRCs,
// media seeds), so a suite's clients never share SSRCs with each other or the server's answer.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "tern/icesim/hosts.h"
#include "tern/netsim/internet.h"
#include "tern/sfu/sfu_server.h"
#include "tern/webrtc/peer_connection.h"

namespace tern::sfu_test {

struct PcNumbering {
  uint64_t seed_base = 100;              // PeerConnectionConfig::seed = seed_base + n
  uint32_t ssrc_base = 0x1000'0000u;     // audio/video/RTX SSRCs: ssrc_base + 1/2/3 + 16 n
  uint64_t media_seed_base = 5;          // media.seed = media_seed_base + n
  bool distinct_sources = false;         // media.send.source_seed = 3 (+ n when distinct)
};

inline std::unique_ptr<webrtc::PeerConnection> make_sfu_test_pc(const TransportAddress& bound, int n, bool publisher,
                                                                 const PcNumbering& numbering) {
  static const auto cert = dtls::DtlsCertificate::Generate("sfu-test").value();
  const auto k = static_cast<uint32_t>(n);
  webrtc::PeerConnectionConfig c;
  c.certificate = cert;
  c.sockets = {ice::LocalSocket{0, icesim::to_ice(bound), {}}};
  c.data_channels = false;
  c.send_audio = publisher;
  c.send_video = publisher;
  c.seed = numbering.seed_base + k;
  c.audio_ssrc = numbering.ssrc_base + 1u + k * 16u;
  c.video_ssrc = numbering.ssrc_base + 2u + k * 16u;
  c.video_rtx_ssrc = numbering.ssrc_base + 3u + k * 16u;
  c.media.send.width = 320;
  c.media.send.height = 180;
  c.media.send.fps = 15;
  c.media.send.source_seed = 3 + (numbering.distinct_sources ? k : 0u);
  c.media.measure_quality = false;
  c.media.seed = numbering.media_seed_base + k;
  auto pc = webrtc::PeerConnection::Create(c);
  REQUIRE_MESSAGE(pc.ok(), pc.error());
  return std::move(pc).value();
}

// A link of `delay` losing `loss` of its packets at random (no capacity limit).
inline netsim::LinkConfig sim_link(TimeDelta delay, double loss) {
  netsim::LinkConfig l;
  l.delay = delay;
  if (loss > 0) l.loss = netsim::LossConfig::Random(loss);
  return l;
}

// A netsim host running an SfuServer or a PeerConnection (one of the two), one bound socket:
// sends what either gives out after every input; `first_video` is when the client's first video
// frame was decoded.
class SfuTestNode final : public netsim::DatagramReceiver, public Pollable {
 public:
  SfuTestNode(netsim::Internet& net, netsim::HostId host, TransportAddress bound) : net_(net), host_(host), bound_(bound) {
    net_.set_receiver(host, this);
  }
  void on_datagram(netsim::HostId, netsim::Datagram d, Timestamp now) override {
    if (sfu) sfu->on_datagram(icesim::to_ice(d.source), d.data, now);
    if (pc) pc->on_datagram(0, icesim::to_ice(d.source), d.data, now);
    flush(now);
  }
  std::optional<Timestamp> next_wakeup() const override { return sfu ? sfu->next_wakeup() : pc->next_wakeup(); }
  void process(Timestamp now) override {
    if (sfu) sfu->process(now);
    if (pc) pc->process(now);
    flush(now);
  }
  void flush(Timestamp now) {
    auto send = [&](const ice::TransportAddress& to, std::vector<uint8_t> data) {
      (void)net_.send(host_, netsim::Datagram{bound_, icesim::from_ice(to), std::move(data)}, now);
    };
    if (sfu) {
      for (sfu::SfuOutgoing& o : sfu->take_outgoing()) send(o.destination, std::move(o.data));
    }
    if (pc) {
      for (ice::IceOutgoing& o : pc->take_outgoing()) send(o.destination, std::move(o.data));
      while (auto e = pc->poll_event()) {
        if (e->type == webrtc::PeerConnectionEvent::Type::kFirstFrame && e->kind == "video" && !first_video) first_video = now;
      }
    }
  }
  std::unique_ptr<sfu::SfuServer> sfu;
  std::unique_ptr<webrtc::PeerConnection> pc;
  std::optional<Timestamp> first_video;

 private:
  netsim::Internet& net_;
  netsim::HostId host_;
  TransportAddress bound_;
};

}  // namespace tern::sfu_test
