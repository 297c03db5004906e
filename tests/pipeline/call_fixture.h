// Test harness for pipeline tests: two Endpoints joined by a netsim::Network on a virtual-time
// EventLoop, plus listeners that collect per-frame measurements and time series.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "tern/netsim/event_loop.h"
#include "tern/netsim/network.h"
#include "tern/pipeline/endpoint.h"
#include "tern/pipeline/media_router.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_rtcp_split.h"
#include "tern/netsim/datagram_adapter.h"

namespace tern::pipeline::testing {

struct RenderLog : VideoRenderListener {
  std::vector<RenderedVideoFrame> frames;
  void on_video_frame_rendered(const RenderedVideoFrame& f) override { frames.push_back(f); }
};
struct PlayoutLog : AudioPlayoutListener {
  int64_t pulls = 0, normal = 0, concealed = 0;
  void on_audio_playout(const AudioPlayoutEvent& e) override {
    ++pulls;
    if (e.operation == jitterbuffer::PlayoutOperation::kNormal) ++normal;
    if (e.operation == jitterbuffer::PlayoutOperation::kExpand) ++concealed;
  }
};
struct CaptureLog : VideoCaptureListener {
  std::vector<CapturedVideoFrame> frames;
  void on_video_frame_captured(const CapturedVideoFrame& f) override { frames.push_back(f); }
};
struct SampleLog : NetworkSampleListener {
  std::vector<NetworkSample> samples;
  void on_network_sample(const NetworkSample& s) override { samples.push_back(s); }
};

// Small, fast media for tests: 320x240 at 30 fps.
inline EndpointConfig small_call_config() {
  EndpointConfig c;
  c.send.width = 320;
  c.send.height = 240;
  c.receive = c.send;
  return c;
}

inline netsim::LinkConfig link(DataRate capacity, TimeDelta delay, double loss = 0.0) {
  netsim::LinkConfig l;
  l.capacity = capacity;
  l.delay = delay;
  if (loss > 0) l.loss = netsim::LossConfig::Random(loss);
  return l;
}

// A tapped datagram of `sender`'s video, as the wire shows it: ULPFEC travels in RED under the
// media's SSRC and sequence numbers (a RED packet whose only block is ULPFEC: F bit clear, block
// type = ulpfec), a retransmission on the RTX SSRC carries its original sequence number (OSN)
// first (probe padding carries none and is not counted).
struct WireVideoPacket {
  enum class Kind { kMedia, kFec, kRtx } kind;
  uint16_t sequence_number;  // kRtx: the original sequence number
};
inline std::optional<WireVideoPacket> classify_wire_video(std::span<const uint8_t> datagram, const EndpointConfig& sender) {
  if (rtp::is_rtcp(datagram)) return std::nullopt;
  auto pk = rtp::RtpPacket::parse(datagram);
  if (!pk) return std::nullopt;
  const auto payload = pk->payload();
  if (pk->ssrc() == sender.local.video && pk->payload_type() == sender.payload_types.red && !payload.empty()) {
    const bool fec = (payload[0] & 0x7f) == sender.payload_types.ulpfec;
    return WireVideoPacket{fec ? WireVideoPacket::Kind::kFec : WireVideoPacket::Kind::kMedia, pk->sequence_number()};
  }
  if (pk->ssrc() == sender.local.video_rtx && payload.size() > 2) {
    return WireVideoPacket{WireVideoPacket::Kind::kRtx, static_cast<uint16_t>(payload[0] << 8 | payload[1])};
  }
  return std::nullopt;
}

struct Call {
  netsim::EventLoop loop;
  std::unique_ptr<netsim::Network> network;
  netsim::NetsimTransport transport_a, transport_b;
  std::unique_ptr<Endpoint> a, b;
  std::unique_ptr<netsim::PollableAdapter<Endpoint>> driver_a, driver_b;
  RenderLog render_a, render_b;
  PlayoutLog playout_a, playout_b;
  CaptureLog capture_a;
  SampleLog samples_a;

  static std::unique_ptr<Call> Make(const EndpointConfig& config_a, const EndpointConfig& config_b,
                                    netsim::NetworkConfig net) {
    auto call = std::make_unique<Call>();
    auto n = netsim::Network::Create(std::move(net));
    REQUIRE_MESSAGE(n.ok(), std::string(n.error()));
    call->network = std::move(n).value();
    netsim::Network* nw = call->network.get();
    call->transport_a.set_send([nw](netsim::SimPacket p, Timestamp now) { nw->send_from_a(std::move(p), now); });
    call->transport_b.set_send([nw](netsim::SimPacket p, Timestamp now) { nw->send_from_b(std::move(p), now); });
    auto ea = Endpoint::Create(config_a, &call->transport_a);
    REQUIRE_MESSAGE(ea.ok(), std::string(ea.error()));
    auto eb = Endpoint::Create(config_b, &call->transport_b);
    REQUIRE_MESSAGE(eb.ok(), std::string(eb.error()));
    call->a = std::move(ea).value();
    call->b = std::move(eb).value();
    call->driver_a = std::make_unique<netsim::PollableAdapter<Endpoint>>(*call->a);
    call->driver_b = std::make_unique<netsim::PollableAdapter<Endpoint>>(*call->b);
    nw->set_sink_a(call->driver_a.get());
    nw->set_sink_b(call->driver_b.get());
    nw->attach(call->loop);
    call->loop.add_pollable(call->driver_a.get());
    call->loop.add_pollable(call->driver_b.get());
    call->a->set_video_render_listener(&call->render_a);
    call->b->set_video_render_listener(&call->render_b);
    call->a->set_audio_playout_listener(&call->playout_a);
    call->b->set_audio_playout_listener(&call->playout_b);
    call->a->set_video_capture_listener(&call->capture_a);
    call->a->set_network_sample_listener(&call->samples_a);
    return call;
  }

  void run(TimeDelta d) {
    Status s = loop.run_for(d);
    REQUIRE_MESSAGE(s.ok(), std::string(s.error()));
  }
  Timestamp now() const { return loop.now(); }
};

// One leg of a MediaRouter as something netsim::PollableAdapter drives (the router wakes through
// any one leg's port; add one of them to the loop).
struct RouterLegPort {
  MediaRouter& router;
  MediaRouter::LegId leg;
  std::optional<Timestamp> next_wakeup() const { return router.next_wakeup(); }
  void process(Timestamp now) { router.process(now); }
  void on_packet(std::span<const uint8_t> d, Timestamp now) { router.on_packet(leg, d, now); }
};

// An endpoint behind a netsim network of its own toward a server (A = the endpoint, B = the
// server: to_server is what the server sends on; the network's B sink is the caller's). Built in
// place (the endpoint and the network keep pointers into it).
struct ServerHop {
  std::unique_ptr<netsim::Network> network;
  netsim::NetsimTransport from_endpoint, to_server;
  std::unique_ptr<Endpoint> endpoint;
  std::unique_ptr<netsim::PollableAdapter<Endpoint>> driver;

  void make(netsim::EventLoop& loop, netsim::NetworkConfig net, const EndpointConfig& config) {
    auto n = netsim::Network::Create(std::move(net));
    REQUIRE_MESSAGE(n.ok(), std::string(n.error()));
    network = std::move(n).value();
    netsim::Network* nw = network.get();
    from_endpoint.set_send([nw](netsim::SimPacket p, Timestamp now) { nw->send_from_a(std::move(p), now); });
    to_server.set_send([nw](netsim::SimPacket p, Timestamp now) { nw->send_from_b(std::move(p), now); });
    auto e = Endpoint::Create(config, &from_endpoint);
    REQUIRE_MESSAGE(e.ok(), std::string(e.error()));
    endpoint = std::move(e).value();
    driver = std::make_unique<netsim::PollableAdapter<Endpoint>>(*endpoint);
    nw->set_sink_a(driver.get());
    nw->attach(loop);
    loop.add_pollable(driver.get());
  }
};

}  // namespace tern::pipeline::testing
