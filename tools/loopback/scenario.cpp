#include "tern/tools/loopback/scenario.h"

#include <algorithm>
#include <memory>

#include "tern/core/byte_io.h"
#include "tern/media/end_to_end_delay_meter.h"
#include "tern/netsim/datagram_adapter.h"
#include "tern/netsim/network.h"
#include "tern/pipeline/endpoint.h"
#include "tern/pipeline/media_server.h"
#include "tern/rtp/rtp_rtcp_split.h"
#include "tern/tools/loopback/call_listeners.h"
#include "tern/tools/loopback/drivers.h"
#include "tern/tools/loopback/ice_network.h"
#include "tern/tools/loopback/reference_frame_cache.h"
#include "tern/tools/loopback/traffic_tap.h"
#include "tern/tools/loopback/webm_tap.h"

namespace tern::tools {
namespace {

netsim::LinkConfig clean_hop(TimeDelta delay) {
  netsim::LinkConfig l;
  l.capacity = DataRate::MegabitsPerSec(100);
  l.delay = delay;
  return l;
}

// The network between A and B. `access` carries A's packets to the first hop that terminates them
// (B, or the media server) and back; `edge` (media server only) carries the server's packets to B.
netsim::NetworkConfig access_network(const LoopbackConfig& config, const netsim::LinkConfig& forward,
                                     const netsim::LinkConfig& back) {
  netsim::NetworkConfig c = netsim::NetworkConfig::Direct(forward, back);
  c.seed = config.seed;
  return c;
}

netsim::NetworkConfig edge_network(const LoopbackConfig& config) {
  netsim::NetworkConfig c = netsim::NetworkConfig::Direct(clean_hop(TimeDelta::Millis(5)), clean_hop(TimeDelta::Millis(5)));
  c.seed = config.seed + 7;
  return c;
}

using ServerPort = netsim::PollableAdapter<pipeline::MediaServer::Port>;

// Two-flow runs: routes each datagram to the call whose sender SSRCs it carries (RTP by its SSRC,
// RTCP by the sender SSRC of its first packet); anything else to the first call.
class FlowDemux final : public netsim::PacketSink {
 public:
  void add(const pipeline::StreamSsrcs& ssrcs, netsim::PacketSink* sink) {
    routes_.push_back(Route{{ssrcs.audio, ssrcs.video, ssrcs.video_rtx, ssrcs.video_fec}, sink});
  }
  void on_packet(netsim::SimPacket packet, Timestamp now) override {
    netsim::PacketSink* to = routes_.front().sink;
    if (packet.data.size() >= 12) {
      const size_t at = rtp::is_rtcp(packet.data) ? 4 : 8;
      const uint32_t ssrc = load_be32(packet.data.data() + at);
      for (const Route& r : routes_) {
        if (std::find(r.ssrcs.begin(), r.ssrcs.end(), ssrc) != r.ssrcs.end()) to = r.sink;
      }
    }
    to->on_packet(std::move(packet), now);
  }

 private:
  struct Route {
    std::vector<uint32_t> ssrcs;
    netsim::PacketSink* sink;
  };
  std::vector<Route> routes_;
};

// Applies the link's delay steps (LinkSpec::delay_steps) to both directions of the direct network.
class DelaySchedule final : public netsim::Pollable {
 public:
  DelaySchedule(std::vector<LinkSpec::DelayStep> steps, netsim::Link& forward, netsim::Link& back)
      : steps_(std::move(steps)), forward_(forward), back_(back) {}
  std::optional<Timestamp> next_wakeup() const override {
    if (next_ >= steps_.size()) return std::nullopt;
    return Timestamp::Zero() + steps_[next_].at;
  }
  void process(Timestamp now) override {
    while (next_ < steps_.size() && Timestamp::Zero() + steps_[next_].at <= now) {
      forward_.set_delay(steps_[next_].delay, now);
      back_.set_delay(steps_[next_].delay, now);
      ++next_;
    }
  }

 private:
  std::vector<LinkSpec::DelayStep> steps_;
  netsim::Link& forward_;
  netsim::Link& back_;
  size_t next_ = 0;
};

// Runs an endpoint only once both ICE agents have selected a pair (ice_network.h), as a WebRTC
// endpoint sends media only after ICE and then DTLS have connected both sides: until then it has
// no wakeup, and its first process() (which starts its streams) comes at connection time.
class IceGate final : public netsim::Pollable {
 public:
  IceGate(netsim::Pollable& inner, const IceNetwork& ice) : inner_(inner), ice_(ice) {}
  std::optional<Timestamp> next_wakeup() const override {
    if (!open()) return std::nullopt;
    return inner_.next_wakeup();
  }
  void process(Timestamp now) override {
    if (open()) inner_.process(now);
  }

 private:
  bool open() const { return ice_.connected(0) && ice_.connected(1); }
  netsim::Pollable& inner_;
  const IceNetwork& ice_;
};

// One call, built step by step by run_scenario(). Each step returns "" or the message of what
// failed. The members are declared in the order they are built, so they are torn down in reverse.
class Call {
 public:
  explicit Call(const LoopbackConfig& config)
      : config_(config), ca_(config.endpoint_a()), cb_(config.endpoint_b()), ca2_(config.endpoint_a(1)),
        cb2_(config.endpoint_b(1)), max_bins_(max_bins_for(config.duration)) {}

  std::string build_networks();
  std::string build_driver();
  std::string build_endpoints();
  std::string open_recorder();
  std::string connect_network();
  std::string build_media_server();
  std::string register_with_driver();
  void attach_listeners();
  std::string run(const ProgressFn& progress);
  std::string finish_recording();
  ScenarioResult collect();

 private:
  bool via_server() const { return config_.topology == Topology::kMediaServer; }
  bool via_ice() const { return config_.uses_ice(); }
  bool two_flows() const { return config_.flows == 2; }
  std::string build_second_flow();
  netsim::Network& toward_b() { return via_server() ? *edge_ : *access_; }
  // A's video media packets (for the video's own loss count on the forward path).
  VideoMediaFilter video_media_filter() const {
    if (!ca_.send.video.has_value()) return {};
    return {ca_.local.video, ca_.payload_types.of(*ca_.send.video), ca_.payload_types.red,
            ca_.send.protection.nack ? ca_.local.video_rtx : 0};
  }

  const LoopbackConfig& config_;
  const pipeline::EndpointConfig ca_, cb_;
  const pipeline::EndpointConfig ca2_, cb2_;  // the second call (--flows 2)
  const size_t max_bins_;
  netsim::LinkConfig forward_;  // the forward link (its capacity or trace, for the series)
  std::unique_ptr<netsim::Network> access_, edge_;  // access_ unset when the path is found by ICE
  std::unique_ptr<IceNetwork> ice_;
  std::unique_ptr<DelaySchedule> delay_schedule_;  // LinkSpec::delay_steps, when any
  TrafficBins fwd_bins_, b_bins_;
  std::unique_ptr<Driver> driver_;
  RealtimeDriver* realtime_ = nullptr;  // driver_, in real-time mode
  netsim::NetsimTransport transport_a_, transport_b_, server_to_a_, server_to_b_;
  std::unique_ptr<pipeline::Endpoint> a_, b_;
  std::unique_ptr<netsim::PollableAdapter<pipeline::Endpoint>> drive_a_, drive_b_;
  std::unique_ptr<IceGate> gate_a_, gate_b_;  // ICE: the endpoints wait for their transport
  // The endpoints' inputs: directly, or through a real UDP datagram in real-time mode.
  netsim::PacketSink* into_a_ = nullptr;
  netsim::PacketSink* into_b_ = nullptr;
  std::unique_ptr<WebmTap> recorder_;
  // Loss and delay where A's packets leave the access network, bytes where B receives.
  TrafficTap access_tap_{fwd_bins_, max_bins_, true, !via_server()};
  TrafficTap b_tap_{b_bins_, max_bins_, false, true};
  // The second call (--flows 2): its endpoints, B2's receive counting, the demultiplexers that
  // share the access network between the two calls, A2's samples.
  netsim::NetsimTransport transport_a2_, transport_b2_;
  std::unique_ptr<pipeline::Endpoint> a2_, b2_;
  std::unique_ptr<netsim::PollableAdapter<pipeline::Endpoint>> drive_a2_, drive_b2_;
  TrafficBins b2_bins_;
  TrafficTap b2_tap_{b2_bins_, max_bins_, false, true};
  FlowDemux demux_to_b_, demux_to_a_;
  SampleLog samples_a2_;
  std::unique_ptr<pipeline::MediaServer> server_;
  std::unique_ptr<ServerPort> drive_sa_, drive_sb_;
  std::vector<FrameRecord> frames_;
  media::EndToEndDelayMeter e2e_{4096};
  // Each receiver scores against the pictures its peer captured instead of rendering them again.
  ReferenceFrameCache a_pictures_, b_pictures_;
  CaptureLog capture_;
  RenderLog render_;
  PlayoutLog playout_;
  SampleLog samples_a_;
  Timestamp end_ = Timestamp::Zero();
};

std::string Call::build_networks() {
  auto forward = config_.forward_link();
  if (!forward) return std::string("forward link: ") + forward.error();
  forward_ = *forward;
  if (via_ice()) {
    IceNetworkConfig ic;
    ic.forward = *forward;
    ic.back = config_.return_link();
    ic.nat_a = config_.nat_a;
    ic.nat_b = config_.nat_b;
    ic.relay_only = config_.topology == Topology::kRelay;
    ic.seed = config_.seed;
    auto ice = IceNetwork::Create(ic);
    if (!ice) return std::string("ICE network: ") + ice.error();
    ice_ = std::move(ice).value();
    return {};
  }
  auto access = netsim::Network::Create(access_network(config_, *forward, config_.return_link()));
  if (!access) return std::string("network: ") + access.error();
  access_ = std::move(access).value();
  if (!config_.link.delay_steps.empty()) {
    delay_schedule_ = std::make_unique<DelaySchedule>(config_.link.delay_steps, access_->a_to_b().hop(0),
                                                      access_->b_to_a().hop(0));
  }
  if (!via_server()) return {};
  auto edge = netsim::Network::Create(edge_network(config_));
  if (!edge) return std::string("network: ") + edge.error();
  edge_ = std::move(edge).value();
  return {};
}

std::string Call::build_driver() {
  if (!config_.realtime) {
    driver_ = std::make_unique<SimDriver>();
    return {};
  }
  auto rt = RealtimeDriver::Create();
  if (!rt) return std::string("--realtime: ") + rt.error();
  realtime_ = rt.value().get();
  driver_ = std::move(rt).value();
  return {};
}

std::string Call::build_endpoints() {
  if (ice_) {
    IceNetwork& ice = *ice_;
    transport_a_.set_send(CountingSend{&fwd_bins_, max_bins_,
                                       [&ice](netsim::SimPacket p, Timestamp now) { ice.send_from_a(std::move(p), now); },
                                       video_media_filter()});
    transport_b_.set_send([&ice](netsim::SimPacket p, Timestamp now) { ice.send_from_b(std::move(p), now); });
  } else {
    netsim::Network& access = *access_;
    netsim::Network& b_net = toward_b();
    transport_a_.set_send(CountingSend{
        &fwd_bins_, max_bins_, [&access](netsim::SimPacket p, Timestamp now) { access.send_from_a(std::move(p), now); },
        video_media_filter()});
    transport_b_.set_send([&b_net](netsim::SimPacket p, Timestamp now) { b_net.send_from_b(std::move(p), now); });
  }
  auto a = pipeline::Endpoint::Create(ca_, &transport_a_);
  if (!a) return std::string("endpoint A: ") + a.error();
  auto b = pipeline::Endpoint::Create(cb_, &transport_b_);
  if (!b) return std::string("endpoint B: ") + b.error();
  a_ = std::move(a).value();
  b_ = std::move(b).value();
  drive_a_ = std::make_unique<netsim::PollableAdapter<pipeline::Endpoint>>(*a_);
  drive_b_ = std::make_unique<netsim::PollableAdapter<pipeline::Endpoint>>(*b_);
  if (ice_) {
    gate_a_ = std::make_unique<IceGate>(*drive_a_, *ice_);
    gate_b_ = std::make_unique<IceGate>(*drive_b_, *ice_);
  }
  into_a_ = drive_a_.get();
  into_b_ = drive_b_.get();
  if (two_flows()) {
    if (std::string e = build_second_flow(); !e.empty()) return e;
  }
  if (realtime_ == nullptr) return {};
  into_a_ = realtime_->hop_to_a();
  into_b_ = realtime_->hop_to_b();
  if (Status st = realtime_->connect(drive_a_.get(), drive_b_.get()); !st.ok()) {
    return std::string("--realtime: ") + st.error();
  }
  return {};
}

// The second call sends into the same access network; its packets count in the link's send bins.
std::string Call::build_second_flow() {
  netsim::Network& access = *access_;
  transport_a2_.set_send(CountingSend{&fwd_bins_, max_bins_,
                                      [&access](netsim::SimPacket p, Timestamp now) { access.send_from_a(std::move(p), now); },
                                      VideoMediaFilter{}});  // the video figures are the first call's
  transport_b2_.set_send([&access](netsim::SimPacket p, Timestamp now) { access.send_from_b(std::move(p), now); });
  auto a = pipeline::Endpoint::Create(ca2_, &transport_a2_);
  if (!a) return std::string("endpoint A2: ") + a.error();
  auto b = pipeline::Endpoint::Create(cb2_, &transport_b2_);
  if (!b) return std::string("endpoint B2: ") + b.error();
  a2_ = std::move(a).value();
  b2_ = std::move(b).value();
  drive_a2_ = std::make_unique<netsim::PollableAdapter<pipeline::Endpoint>>(*a2_);
  drive_b2_ = std::make_unique<netsim::PollableAdapter<pipeline::Endpoint>>(*b2_);
  return {};
}

std::string Call::open_recorder() {
  if (config_.record_path.empty()) return {};
  auto r = WebmTap::Create(config_.record_path, ca_);
  if (!r) return "--record " + config_.record_path + ": " + r.error();
  recorder_ = std::move(r).value();
  return {};
}

// Direct and relay: A -> access network -> access tap -> B's tap -> B (the recorder on the access
// tap). Media server: A -> access network -> access tap -> server -> edge network -> B's tap -> B
// (the recorder on B's tap); the access tap measures loss and delay of the access link only.
std::string Call::connect_network() {
  access_tap_.set_audio_ssrc(ca_.send.audio.has_value() ? ca_.local.audio : 0);
  access_tap_.set_video_media(video_media_filter());
  b_tap_.set_inner(into_b_);
  if (recorder_) {
    (via_server() ? b_tap_ : access_tap_).set_recorder([this](std::span<const uint8_t> datagram, Timestamp now) {
      recorder_->on_datagram(datagram, now);
    });
  }
  if (via_server()) {
    if (std::string e = build_media_server(); !e.empty()) return e;
    access_tap_.set_inner(drive_sa_.get());
    edge_->set_sink_a(drive_sb_.get());
    edge_->set_sink_b(&b_tap_);
  } else if (two_flows()) {
    demux_to_b_.add(ca_.local, &b_tap_);
    demux_to_b_.add(ca2_.local, &b2_tap_);
    b2_tap_.set_inner(drive_b2_.get());
    access_tap_.set_inner(&demux_to_b_);
    demux_to_a_.add(cb_.local, into_a_);
    demux_to_a_.add(cb2_.local, drive_a2_.get());
    access_->set_sink_b(&access_tap_);
    access_->set_sink_a(&demux_to_a_);
    return {};
  } else {
    access_tap_.set_inner(&b_tap_);
  }
  if (ice_) {
    ice_->set_sink_b(&access_tap_);
    ice_->set_sink_a(into_a_);
    return {};
  }
  access_->set_sink_b(&access_tap_);
  access_->set_sink_a(into_a_);
  return {};
}

// The media server between the access network (its side A) and the edge network (its side B).
std::string Call::build_media_server() {
  netsim::Network& access = *access_;
  netsim::Network& edge = *edge_;
  server_to_a_.set_send([&access](netsim::SimPacket p, Timestamp now) { access.send_from_b(std::move(p), now); });
  server_to_b_.set_send([&edge](netsim::SimPacket p, Timestamp now) { edge.send_from_a(std::move(p), now); });
  auto s = pipeline::MediaServer::Create(pipeline::MediaServer::Config::ForCall(ca_), &server_to_a_, &server_to_b_);
  if (!s) return std::string("media server: ") + s.error();
  server_ = std::move(s).value();
  drive_sa_ = std::make_unique<ServerPort>(server_->port(pipeline::MediaServer::Side::kA));
  drive_sb_ = std::make_unique<ServerPort>(server_->port(pipeline::MediaServer::Side::kB));
  return {};
}

// Registration order is the event loop's order among pollables due at the same time: kept as it
// was so that a seed gives the same run as before.
std::string Call::register_with_driver() {
  std::vector<netsim::Pollable*> pollables;
  if (ice_) {
    pollables = ice_->pollables();
    pollables.push_back(gate_a_.get());
    pollables.push_back(gate_b_.get());
  }
  if (via_server()) {
    pollables.push_back(&edge_->a_to_b());
    pollables.push_back(&edge_->b_to_a());
  }
  if (access_) {
    pollables.push_back(&access_->a_to_b());
    pollables.push_back(&access_->b_to_a());
    pollables.push_back(drive_a_.get());
    pollables.push_back(drive_b_.get());
  }
  // One port drives the whole server (both ports process the same MediaServer).
  if (drive_sa_) pollables.push_back(drive_sa_.get());
  if (delay_schedule_) pollables.push_back(delay_schedule_.get());
  if (drive_a2_) pollables.push_back(drive_a2_.get());
  if (drive_b2_) pollables.push_back(drive_b2_.get());
  for (netsim::Pollable* p : pollables) {
    if (Status st = driver_->add(p); !st.ok()) return std::string("driver: ") + st.error();
  }
  return {};
}

void Call::attach_listeners() {
  capture_.meter = &e2e_;
  if (cb_.measure_quality) {
    capture_.references = &a_pictures_;
    b_->set_reference_frame_provider(&a_pictures_);
  }
  if (ca_.measure_quality && ca_.receive.video.has_value()) {
    b_->set_video_capture_listener(&b_pictures_);
    a_->set_reference_frame_provider(&b_pictures_);
  }
  render_.meter = &e2e_;
  render_.frames = &frames_;
  a_->set_video_capture_listener(&capture_);
  b_->set_video_render_listener(&render_);
  b_->set_audio_playout_listener(&playout_);
  a_->set_network_sample_listener(&samples_a_);
  if (a2_) a2_->set_network_sample_listener(&samples_a2_);
}

// Runs in 100 ms steps so progress can be reported; bounded by the duration.
std::string Call::run(const ProgressFn& progress) {
  const int64_t steps = config_.duration.us() / kSeriesBin.us();
  const int64_t report_every = 5;
  for (int64_t i = 1; i <= steps; ++i) {
    Status s = driver_->run_until(Timestamp::Zero() + kSeriesBin * i);
    if (!s.ok()) return std::string("simulation stopped: ") + s.error();
    if (progress && i % report_every == 0) progress(static_cast<double>(i) / static_cast<double>(steps));
  }
  if (const TimeDelta rest = config_.duration - kSeriesBin * steps; rest > TimeDelta::Zero()) {
    Status s = driver_->run_until(Timestamp::Zero() + config_.duration);
    if (!s.ok()) return std::string("simulation stopped: ") + s.error();
  }
  end_ = driver_->now();
  return {};
}

std::string Call::finish_recording() {
  if (!recorder_) return {};
  if (Status s = recorder_->finish(); !s.ok()) return "--record " + config_.record_path + ": " + s.error();
  return {};
}

ScenarioResult Call::collect() {
  ScenarioResult result;
  result.config = config_;
  result.frames = std::move(frames_);
  const int64_t bins = config_.duration.us() / kSeriesBin.us();
  result.series = build_series(bins, fwd_bins_, b_bins_, samples_a_.samples, forward_);
  Summary& sum = result.summary;
  if (ca_.send.video.has_value()) {
    sum.video.present = true;
    summarize_frames(result.frames, config_.duration, sum.video);
    sum.video.ssim_every = config_.ssim_every;
    sum.video.frames_captured = capture_.captured;
    sum.video.frames_encoded = capture_.encoded;
    sum.video.keyframes_encoded = capture_.keyframes;
    if (const pipeline::VideoSendStream* vs = a_->video_send_stream()) {
      const pipeline::VideoAdapter& ad = vs->adapter();
      sum.video.resolution_changes = ad.resolution_changes();
      sum.video.adapted_fps = ad.level().fps;
      sum.video.sent_width = vs->counters().frame_width;
      sum.video.sent_height = vs->counters().frame_height;
      sum.video.limited_bandwidth_s = ad.durations()[static_cast<size_t>(pipeline::QualityLimitationReason::kBandwidth)].seconds_f();
      sum.video.limited_cpu_s = ad.durations()[static_cast<size_t>(pipeline::QualityLimitationReason::kCpu)].seconds_f();
    }
    if (const pipeline::VideoReceiveStream* vr = b_->video_receive_stream()) {
      sum.video.received_width = vr->counters().frame_width;
      sum.video.received_height = vr->counters().frame_height;
    }
  }
  if (ca_.send.audio.has_value()) {
    const pipeline::AudioSendStream* as = a_->audio_send_stream();
    sum.audio = summarize_audio(playout_.counts, access_tap_.audio_delay_ms(),
                                as != nullptr ? as->encoder_lookahead().ms_f() : 0.0);
    sum.audio.present = true;
  }
  summarize_series(result.series, sum.network);
  if (two_flows()) {
    result.second_flow_series =
        build_series(bins, fwd_bins_, b2_bins_, samples_a2_.samples, forward_);
    sum.second_flow.emplace();
    summarize_series(result.second_flow_series, *sum.second_flow);
    sum.second_flow->packets_sent = a2_->transport_counters().packets_sent;
  }
  sum.network.packets_sent = a_->transport_counters().packets_sent;
  if (ice_) {
    // Across the ICE path (A's link, NATs, the TURN server): what A sent and B never received.
    int64_t sent = 0, received = 0;
    for (int64_t v : fwd_bins_.sent_packets) sent += v;
    for (int64_t v : fwd_bins_.received_packets) received += v;
    sum.network.packets_lost = static_cast<uint64_t>(std::max<int64_t>(0, sent - received));
    sum.ice = ice_->summary();
  } else {
    sum.network.packets_lost = path_drops(access_->a_to_b());
  }
  if (ca_.send.video.has_value()) {
    sum.network.video_packets_lost = static_cast<uint64_t>(std::max<int64_t>(0, fwd_bins_.video.lost()));
    sum.network.video_repaired_by_rtx = static_cast<uint64_t>(fwd_bins_.video.repaired_by_rtx());
  }
  RejectCounts& rejected = sum.network.rejected;
  for (const pipeline::Endpoint* e : {a_.get(), b_.get()}) {
    const pipeline::TransportCounters c = e->transport_counters();
    rejected.malformed_rtp += c.malformed_packets;
    rejected.unknown_ssrc += c.unknown_ssrc_packets;
    rejected.rtcp_parse_errors += c.rtcp_parse_errors;
  }
  if (realtime_ != nullptr) {
    rejected.not_rtp = realtime_->not_rtp();
    rejected.send_failures = realtime_->send_failures();
  }
  if (recorder_) rejected.recorder_dropped = static_cast<uint64_t>(recorder_->stats().dropped);
  const pipeline::StatsReport rb = b_->stats(end_);
  for (const pipeline::InboundRtpStats& in : rb.inbound_rtp) {
    sum.network.nack_recovered += in.tern_packets_repaired_by_rtx.value_or(0);
    // Losses repaired: a rebuilt packet whose own copy came after all was late, not lost.
    const uint64_t fec_repaired =
        in.fec_packets_recovered.value_or(0) - std::min(in.fec_packets_recovered.value_or(0),
                                                        in.tern_fec_recovered_then_received.value_or(0));
    sum.network.fec_recovered += fec_repaired;
    if (in.kind == "video") sum.network.video_repaired_by_fec += fec_repaired;
    sum.network.rtx_received += in.retransmitted_packets_received;
    sum.network.nacks_sent += in.nack_count;
  }
  for (const pipeline::OutboundRtpStats& out : a_->stats(end_).outbound_rtp) {
    sum.network.rtx_sent += out.retransmitted_packets_sent;
  }
  if (server_) {  // A's losses are repaired on the server's hop, which NACKs A
    const pipeline::MediaServer::SideCounters up = server_->counters(pipeline::MediaServer::Side::kA);
    sum.network.nack_recovered += up.packets_repaired_by_rtx;
    sum.network.rtx_received += up.rtx_packets_received;
  }
  return result;
}

}  // namespace

ScenarioOutcome run_scenario(const LoopbackConfig& config, const ProgressFn& progress) {
  ScenarioOutcome outcome;
  if (std::string e = config.validate(); !e.empty()) {
    outcome.error = e;
    return outcome;
  }
  Call call(config);
  std::string error = call.build_networks();                 // direct, relay, or two around a server
  if (error.empty()) error = call.build_driver();            // virtual time, or wall clock + UDP
  if (error.empty()) error = call.build_endpoints();         // A and B on their transports
  if (error.empty()) error = call.open_recorder();           // --record
  if (error.empty()) error = call.connect_network();         // taps, media server, sinks
  if (error.empty()) error = call.register_with_driver();
  if (error.empty()) {
    call.attach_listeners();                                 // captures, renders, playout, samples
    error = call.run(progress);
  }
  if (error.empty()) error = call.finish_recording();
  if (!error.empty()) {
    outcome.error = error;
    return outcome;
  }
  outcome.result = call.collect();
  return outcome;
}

}  // namespace tern::tools
