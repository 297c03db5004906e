#include "tern/tools/loopback/scenario.h"

#include <algorithm>
#include <map>
#include <memory>

#include "tern/media/end_to_end_delay_meter.h"
#include "tern/netsim/event_loop.h"
#include "tern/netsim/network.h"
#include "tern/netsim/rate_trace.h"
#include "tern/pipeline/endpoint.h"
#include "tern/pipeline/media_server.h"
#include "tern/netsim/datagram_adapter.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/tools/loopback/reference_frame_cache.h"
#include "tern/tools/loopback/webm_tap.h"
#include "tern/transport/epoll_driver.h"
#include "tern/transport/udp_socket.h"

namespace tern::tools {
namespace {

constexpr TimeDelta kBin = TimeDelta::Millis(100);

int64_t bin_of(Timestamp t) { return std::max<int64_t>(0, t.us() / kBin.us()); }

// Per-bin counters of one direction, indexed by bin number (bounded: one entry per 100 ms of a
// run of at most an hour).
struct Bins {
  std::vector<int64_t> sent_packets, received_packets;  // by send time
  std::vector<int64_t> sent_bytes, received_bytes;      // by send / arrival time
  std::vector<double> delay_sum_ms;                     // by arrival time
  std::vector<int64_t> delay_count;
  void ensure(size_t n) {
    if (sent_packets.size() >= n) return;
    sent_packets.resize(n);
    received_packets.resize(n);
    sent_bytes.resize(n);
    received_bytes.resize(n);
    delay_sum_ms.resize(n);
    delay_count.resize(n);
  }
};

// Sits in front of a netsim sink: counts what arrives and measures its network delay.
class Tap final : public netsim::PacketSink {
 public:
  Tap(Bins& bins, size_t max_bins, bool measure_loss_and_delay, bool count_bytes)
      : bins_(bins), max_bins_(max_bins), loss_and_delay_(measure_loss_and_delay), bytes_(count_bytes) {}
  void set_inner(netsim::PacketSink* inner) { inner_ = inner; }
  void set_recorder(WebmTap* recorder) { recorder_ = recorder; }
  void set_audio_ssrc(uint32_t ssrc) { audio_ssrc_ = ssrc; }

  void on_packet(netsim::SimPacket packet, Timestamp now) override {
    if (!packet.duplicate) {
      const size_t arrive = static_cast<size_t>(bin_of(now));
      const size_t sent = static_cast<size_t>(bin_of(packet.sent_time));
      if (arrive < max_bins_ && sent < max_bins_) {
        bins_.ensure(std::max(arrive, sent) + 1);
        if (bytes_) bins_.received_bytes[arrive] += static_cast<int64_t>(packet.wire_size().bytes());
        if (loss_and_delay_) {
          ++bins_.received_packets[sent];
          const double delay_ms = (now - packet.sent_time).ms_f();
          bins_.delay_sum_ms[arrive] += delay_ms;
          ++bins_.delay_count[arrive];
          if (audio_ssrc_ != 0 && is_audio(packet.data)) {
            audio_delay_sum_ms_ += delay_ms;
            ++audio_delay_count_;
          }
        }
      }
    }
    if (recorder_ != nullptr) recorder_->on_datagram(packet.data, now);
    if (inner_ != nullptr) inner_->on_packet(std::move(packet), now);
  }
  std::optional<double> audio_delay_ms() const {
    if (audio_delay_count_ == 0) return std::nullopt;
    return audio_delay_sum_ms_ / static_cast<double>(audio_delay_count_);
  }

 private:
  bool is_audio(const std::vector<uint8_t>& d) const {
    if (d.size() < 12 || (d[1] >= 192 && d[1] <= 223)) return false;  // RTCP (RFC 5761)
    const uint32_t ssrc = (uint32_t{d[8]} << 24) | (uint32_t{d[9]} << 16) | (uint32_t{d[10]} << 8) | d[11];
    return ssrc == audio_ssrc_;
  }

  Bins& bins_;
  size_t max_bins_;
  bool loss_and_delay_;
  bool bytes_;
  netsim::PacketSink* inner_ = nullptr;
  WebmTap* recorder_ = nullptr;
  uint32_t audio_ssrc_ = 0;
  double audio_delay_sum_ms_ = 0;
  int64_t audio_delay_count_ = 0;
};

struct CaptureLog final : pipeline::VideoCaptureListener {
  media::EndToEndDelayMeter* meter = nullptr;
  ReferenceFrameCache* references = nullptr;  // A's pictures for B's quality measurement
  int64_t captured = 0, encoded = 0, keyframes = 0;
  void on_video_frame_captured(const pipeline::CapturedVideoFrame& f) override {
    ++captured;
    if (f.encoded) ++encoded;
    if (f.keyframe) ++keyframes;
    meter->on_captured(f.frame_number, f.capture_time);
    if (references != nullptr) references->on_video_frame_captured(f);
  }
};

struct RenderLog final : pipeline::VideoRenderListener {
  media::EndToEndDelayMeter* meter = nullptr;
  std::vector<FrameRecord>* frames = nullptr;
  void on_video_frame_rendered(const pipeline::RenderedVideoFrame& f) override {
    FrameRecord r;
    r.render_ms = (f.render_time - Timestamp::Zero()).ms_f();
    r.frame_number = f.frame_number;
    if (f.quality) {
      r.psnr = f.quality->psnr;
      r.ssim = f.quality->ssim;
    }
    if (f.frame_number) {
      if (auto d = meter->on_rendered(*f.frame_number, f.render_time)) r.e2e_delay_ms = d->ms_f();
    }
    frames->push_back(r);
  }
};

struct PlayoutLog final : pipeline::AudioPlayoutListener {
  AudioPlayoutCounts counts;
  bool started = false;
  void on_audio_playout(const pipeline::AudioPlayoutEvent& e) override {
    if (e.operation == jitterbuffer::PlayoutOperation::kNormal) started = true;
    if (!started) return;
    ++counts.pulls;
    if (e.operation == jitterbuffer::PlayoutOperation::kExpand) ++counts.concealed;
    counts.buffer_delay_sum_ms += e.buffer_delay.ms_f();
    counts.sync_delay_sum_ms += e.sync_delay.ms_f();
  }
};

struct SampleLog final : pipeline::NetworkSampleListener {
  std::vector<pipeline::NetworkSample> samples;
  void on_network_sample(const pipeline::NetworkSample& s) override { samples.push_back(s); }
};

// Sends into a netsim path and counts per send-time bin.
struct CountingSend {
  Bins* bins = nullptr;
  size_t max_bins = 0;
  std::function<void(netsim::SimPacket, Timestamp)> next;
  void operator()(netsim::SimPacket p, Timestamp now) const {
    const size_t b = static_cast<size_t>(bin_of(now));
    if (bins != nullptr && b < max_bins) {
      bins->ensure(b + 1);
      ++bins->sent_packets[b];
      bins->sent_bytes[b] += static_cast<int64_t>(p.wire_size().bytes());
    }
    next(std::move(p), now);
  }
};

uint64_t path_drops(const netsim::Path& path) {
  uint64_t n = 0;
  for (size_t i = 0; i < path.hop_count(); ++i) {
    const netsim::LinkStats& s = path.hop(i).stats();
    n += s.dropped_blackout + s.dropped_queue + s.dropped_codel + s.dropped_loss + s.dropped_in_flight_limit;
  }
  return n;
}

netsim::LinkConfig clean_hop(TimeDelta delay) {
  netsim::LinkConfig l;
  l.capacity = DataRate::MegabitsPerSec(100);
  l.delay = delay;
  return l;
}

// Real-time mode: the last step to each endpoint is a real UDP datagram over 127.0.0.1. Packets
// the emulated network delivers are sent from one socket to the other; the receiving socket's
// handler hands them to the endpoint.
class UdpHop final : public netsim::PacketSink {
 public:
  UdpHop(transport::UdpSocket& from, transport::SocketAddress to) : from_(from), to_(std::move(to)) {}
  void on_packet(netsim::SimPacket packet, Timestamp) override {
    if (!from_.send_to(packet.data, to_).ok()) ++send_failures_;
  }
  uint64_t send_failures() const { return send_failures_; }

 private:
  transport::UdpSocket& from_;
  transport::SocketAddress to_;
  uint64_t send_failures_ = 0;
};

// Runs a netsim-time object under the real-time driver: everything inside sees time measured from
// the start of the call, exactly as under the virtual-time loop.
class ShiftedPollable final : public transport::Pollable {
 public:
  ShiftedPollable(netsim::Pollable& inner, TimeDelta offset) : inner_(inner), offset_(offset) {}
  std::optional<Timestamp> next_wakeup() const override {
    auto t = inner_.next_wakeup();
    if (!t) return std::nullopt;
    return *t + offset_;
  }
  void process(Timestamp now) override { inner_.process(now - offset_); }

 private:
  netsim::Pollable& inner_;
  TimeDelta offset_;
};

// What drives the call: the virtual-time EventLoop, or epoll + UDP sockets at wall-clock speed.
class Driver {
 public:
  virtual ~Driver() = default;
  virtual Status add(netsim::Pollable* p) = 0;
  // Runs until `t` (call time, from zero).
  virtual Status run_until(Timestamp t) = 0;
  virtual Timestamp now() const = 0;
};

class SimDriver final : public Driver {
 public:
  Status add(netsim::Pollable* p) override {
    loop_.add_pollable(p);
    return Status();
  }
  Status run_until(Timestamp t) override { return loop_.run_until(t); }
  Timestamp now() const override { return loop_.now(); }

 private:
  netsim::EventLoop loop_;
};

class RealtimeDriver final : public Driver {
 public:
  static Result<std::unique_ptr<RealtimeDriver>> Create() {
    auto epoll = transport::EpollDriver::Create();
    if (!epoll) return Error{epoll.error()};
    auto a = transport::UdpSocket::Open(transport::SocketAddress::LoopbackV4(0));
    if (!a) return Error{a.error()};
    auto b = transport::UdpSocket::Open(transport::SocketAddress::LoopbackV4(0));
    if (!b) return Error{b.error()};
    return std::unique_ptr<RealtimeDriver>(
        new RealtimeDriver(std::move(epoll).value(), std::move(a).value(), std::move(b).value()));
  }
  // Sinks that carry delivered packets over UDP to A's / B's socket.
  netsim::PacketSink* hop_to_a() { return &to_a_; }
  netsim::PacketSink* hop_to_b() { return &to_b_; }
  // Datagrams arriving at A's / B's socket go to these.
  Status connect(netsim::PacketSink* a, netsim::PacketSink* b) {
    if (Status s = watch(socket_a_, a); !s.ok()) return s;
    return watch(socket_b_, b);
  }
  Status add(netsim::Pollable* p) override {
    shifted_.push_back(std::make_unique<ShiftedPollable>(*p, offset_));
    return epoll_.add_pollable(shifted_.back().get());
  }
  Status run_until(Timestamp t) override { return epoll_.run_until(t + offset_); }
  Timestamp now() const override { return transport::EpollDriver::Now() - offset_; }
  uint64_t send_failures() const { return to_a_.send_failures() + to_b_.send_failures(); }

 private:
  RealtimeDriver(transport::EpollDriver epoll, transport::UdpSocket a, transport::UdpSocket b)
      : epoll_(std::move(epoll)),
        socket_a_(std::move(a)),
        socket_b_(std::move(b)),
        to_a_(socket_b_, socket_a_.local_address()),
        to_b_(socket_a_, socket_b_.local_address()),
        offset_(transport::EpollDriver::Now() - Timestamp::Zero()),
        batch_(32, 2048) {}
  Status watch(transport::UdpSocket& socket, netsim::PacketSink* target) {
    return epoll_.add_fd(socket.fd(), [this, &socket, target](Timestamp now) {
      for (int round = 0; round < 64; ++round) {  // bounded drain; level-triggered epoll wakes again
        auto n = socket.receive_batch(batch_.slots());
        if (!n || *n == 0) return;
        for (size_t i = 0; i < *n; ++i) {
          netsim::SimPacket p;
          const auto d = batch_[i].data();
          p.data.assign(d.begin(), d.end());
          p.sent_time = now - offset_;
          p.delivery_time = now - offset_;
          target->on_packet(std::move(p), now - offset_);
        }
      }
    });
  }

  transport::EpollDriver epoll_;
  transport::UdpSocket socket_a_, socket_b_;
  UdpHop to_a_, to_b_;
  TimeDelta offset_;
  transport::DatagramBatch batch_;
  std::vector<std::unique_ptr<ShiftedPollable>> shifted_;
};

}  // namespace

ScenarioOutcome run_scenario(const LoopbackConfig& config, const ProgressFn& progress) {
  ScenarioOutcome outcome;
  if (std::string e = config.validate(); !e.empty()) {
    outcome.error = e;
    return outcome;
  }
  auto fwd = config.forward_link();
  if (!fwd) {
    outcome.error = std::string("forward link: ") + fwd.error();
    return outcome;
  }
  const netsim::LinkConfig back = config.return_link();
  std::optional<netsim::RateTrace> trace;
  if (!config.link.rate_trace.empty()) trace = netsim::RateTrace::Parse(config.link.rate_trace).value();

  // Topology. `access` carries A's packets to the first hop that terminates them (B, or the
  // media server); `edge` (media server only) carries the server's packets to B.
  netsim::NetworkConfig access_cfg;
  switch (config.topology) {
    case Topology::kDirect: access_cfg = netsim::NetworkConfig::Direct(*fwd, back); break;
    case Topology::kRelay:
      // Client -> TURN over the configured link, TURN -> peer over a clean 5 ms hop.
      access_cfg = netsim::NetworkConfig::Relay(*fwd, clean_hop(TimeDelta::Millis(5)), clean_hop(TimeDelta::Millis(5)),
                                                back);
      break;
    case Topology::kMediaServer: access_cfg = netsim::NetworkConfig::Direct(*fwd, back); break;
  }
  access_cfg.seed = config.seed;
  auto access = netsim::Network::Create(access_cfg);
  if (!access) {
    outcome.error = std::string("network: ") + access.error();
    return outcome;
  }
  std::unique_ptr<netsim::Network> edge;
  if (config.topology == Topology::kMediaServer) {
    netsim::NetworkConfig ec =
        netsim::NetworkConfig::Direct(clean_hop(TimeDelta::Millis(5)), clean_hop(TimeDelta::Millis(5)));
    ec.seed = config.seed + 7;
    auto e = netsim::Network::Create(ec);
    if (!e) {
      outcome.error = std::string("network: ") + e.error();
      return outcome;
    }
    edge = std::move(e).value();
  }
  netsim::Network& net = *access.value();

  const size_t max_bins = static_cast<size_t>(config.duration.us() / kBin.us()) + 2;
  Bins fwd_bins, b_bins;

  std::unique_ptr<Driver> driver;
  RealtimeDriver* realtime = nullptr;
  if (config.realtime) {
    auto rt = RealtimeDriver::Create();
    if (!rt) {
      outcome.error = std::string("--realtime: ") + rt.error();
      return outcome;
    }
    realtime = rt.value().get();
    driver = std::move(rt).value();
  } else {
    driver = std::make_unique<SimDriver>();
  }
  netsim::NetsimTransport transport_a, transport_b, server_to_a, server_to_b;
  transport_a.set_send(CountingSend{&fwd_bins, max_bins,
                                    [&net](netsim::SimPacket p, Timestamp now) { net.send_from_a(std::move(p), now); }});
  netsim::Network& b_net = edge ? *edge : net;
  transport_b.set_send([&b_net](netsim::SimPacket p, Timestamp now) { b_net.send_from_b(std::move(p), now); });

  const pipeline::EndpointConfig ca = config.endpoint_a();
  const pipeline::EndpointConfig cb = config.endpoint_b();
  auto ea = pipeline::Endpoint::Create(ca, &transport_a);
  if (!ea) {
    outcome.error = std::string("endpoint A: ") + ea.error();
    return outcome;
  }
  auto eb = pipeline::Endpoint::Create(cb, &transport_b);
  if (!eb) {
    outcome.error = std::string("endpoint B: ") + eb.error();
    return outcome;
  }
  std::unique_ptr<pipeline::Endpoint> a = std::move(ea).value();
  std::unique_ptr<pipeline::Endpoint> b = std::move(eb).value();
  netsim::PollableAdapter<pipeline::Endpoint> drive_a(*a), drive_b(*b);
  // The endpoints' inputs: directly, or through a real UDP datagram in real-time mode.
  netsim::PacketSink* into_a = &drive_a;
  netsim::PacketSink* into_b = &drive_b;
  if (realtime != nullptr) {
    into_a = realtime->hop_to_a();
    into_b = realtime->hop_to_b();
    if (Status st = realtime->connect(&drive_a, &drive_b); !st.ok()) {
      outcome.error = std::string("--realtime: ") + st.error();
      return outcome;
    }
  }

  std::unique_ptr<WebmTap> recorder;
  if (!config.record_path.empty()) {
    auto r = WebmTap::Create(config.record_path, ca);
    if (!r) {
      outcome.error = "--record " + config.record_path + ": " + r.error();
      return outcome;
    }
    recorder = std::move(r).value();
  }

  // Taps: loss and delay where A's packets leave the access network, bytes where B receives.
  Tap access_tap(fwd_bins, max_bins, true, !edge);
  access_tap.set_audio_ssrc(ca.send.audio ? ca.local.audio : 0);
  Tap b_tap(b_bins, max_bins, false, true);
  b_tap.set_inner(into_b);
  b_tap.set_recorder(recorder.get());

  std::unique_ptr<pipeline::MediaServer> server;
  std::unique_ptr<netsim::PollableAdapter<pipeline::MediaServer::Port>> drive_sa, drive_sb;
  if (edge) {
    server_to_a.set_send([&net](netsim::SimPacket p, Timestamp now) { net.send_from_b(std::move(p), now); });
    server_to_b.set_send([&b_net](netsim::SimPacket p, Timestamp now) { b_net.send_from_a(std::move(p), now); });
    auto s = pipeline::MediaServer::Create(pipeline::MediaServer::Config::ForCall(ca), &server_to_a, &server_to_b);
    if (!s) {
      outcome.error = std::string("media server: ") + s.error();
      return outcome;
    }
    server = std::move(s).value();
    drive_sa = std::make_unique<netsim::PollableAdapter<pipeline::MediaServer::Port>>(
        server->port(pipeline::MediaServer::Side::kA));
    drive_sb = std::make_unique<netsim::PollableAdapter<pipeline::MediaServer::Port>>(
        server->port(pipeline::MediaServer::Side::kB));
    access_tap.set_inner(drive_sa.get());
    net.set_sink_b(&access_tap);
    net.set_sink_a(into_a);
    edge->set_sink_a(drive_sb.get());
    edge->set_sink_b(&b_tap);
    // Bytes reaching B come through b_tap; loss and delay are of the access link.
  } else {
    access_tap.set_inner(&b_tap);
    b_tap.set_recorder(nullptr);
    access_tap.set_recorder(recorder.get());
    net.set_sink_b(&access_tap);
    net.set_sink_a(into_a);
  }
  std::vector<netsim::Pollable*> pollables;
  if (edge) {
    pollables.push_back(&edge->a_to_b());
    pollables.push_back(&edge->b_to_a());
  }
  pollables.push_back(&net.a_to_b());
  pollables.push_back(&net.b_to_a());
  pollables.push_back(&drive_a);
  pollables.push_back(&drive_b);
  if (drive_sa) pollables.push_back(drive_sa.get());
  for (netsim::Pollable* p : pollables) {
    if (Status st = driver->add(p); !st.ok()) {
      outcome.error = std::string("driver: ") + st.error();
      return outcome;
    }
  }

  ScenarioResult result;
  result.config = config;
  media::EndToEndDelayMeter e2e(4096);
  // Each receiver scores against the pictures its peer captured instead of rendering them again.
  ReferenceFrameCache a_pictures, b_pictures;
  CaptureLog capture;
  capture.meter = &e2e;
  if (cb.measure_quality) {
    capture.references = &a_pictures;
    b->set_reference_frame_provider(&a_pictures);
  }
  if (ca.measure_quality && ca.receive.video) {
    b->set_video_capture_listener(&b_pictures);
    a->set_reference_frame_provider(&b_pictures);
  }
  RenderLog render;
  render.meter = &e2e;
  render.frames = &result.frames;
  PlayoutLog playout;
  SampleLog samples_a;
  a->set_video_capture_listener(&capture);
  b->set_video_render_listener(&render);
  b->set_audio_playout_listener(&playout);
  a->set_network_sample_listener(&samples_a);

  // Run in 100 ms steps so progress can be reported; bounded by the duration.
  const int64_t steps = config.duration.us() / kBin.us();
  const int64_t report_every = 5;
  for (int64_t i = 1; i <= steps; ++i) {
    Status s = driver->run_until(Timestamp::Zero() + kBin * i);
    if (!s.ok()) {
      outcome.error = std::string("simulation stopped: ") + s.error();
      return outcome;
    }
    if (progress && i % report_every == 0) progress(static_cast<double>(i) / static_cast<double>(steps));
  }
  if (const TimeDelta rest = config.duration - kBin * steps; rest > TimeDelta::Zero()) {
    Status s = driver->run_until(Timestamp::Zero() + config.duration);
    if (!s.ok()) {
      outcome.error = std::string("simulation stopped: ") + s.error();
      return outcome;
    }
  }
  const Timestamp end = driver->now();
  if (recorder) {
    if (Status s = recorder->finish(); !s.ok()) {
      outcome.error = "--record " + config.record_path + ": " + s.error();
      return outcome;
    }
  }

  // Time series: one point per 100 ms bin; A's latest network sample in each bin.
  fwd_bins.ensure(static_cast<size_t>(steps) + 1);
  b_bins.ensure(static_cast<size_t>(steps) + 1);
  size_t next_sample = 0;
  const pipeline::NetworkSample* latest = nullptr;
  for (int64_t i = 0; i < steps; ++i) {
    const Timestamp bin_end = Timestamp::Zero() + kBin * (i + 1);
    while (next_sample < samples_a.samples.size() && samples_a.samples[next_sample].time <= bin_end) {
      latest = &samples_a.samples[next_sample++];
    }
    SeriesPoint p;
    const size_t k = static_cast<size_t>(i);
    p.time_ms = (bin_end - Timestamp::Zero()).ms_f();
    const DataRate cap = trace ? trace->rate_at(kBin * i) : config.link.capacity;
    p.capacity_kbps = cap.is_finite() ? cap.kbps_f() : 0;
    const double bin_s = kBin.seconds_f();
    p.send_kbps = static_cast<double>(fwd_bins.sent_bytes[k]) * 8 / bin_s / 1000;
    p.receive_kbps = static_cast<double>(b_bins.received_bytes[k]) * 8 / bin_s / 1000;
    if (latest != nullptr) {
      p.target_kbps = latest->target_bitrate.kbps_f();
      p.video_target_kbps = latest->video_target.kbps_f();
      if (latest->rtt) p.rtt_ms = latest->rtt->ms_f();
    }
    if (fwd_bins.delay_count[k] > 0) p.one_way_delay_ms = fwd_bins.delay_sum_ms[k] / static_cast<double>(fwd_bins.delay_count[k]);
    if (fwd_bins.sent_packets[k] > 0) {
      const int64_t lost = std::max<int64_t>(0, fwd_bins.sent_packets[k] - fwd_bins.received_packets[k]);
      p.loss_percent = 100.0 * static_cast<double>(lost) / static_cast<double>(fwd_bins.sent_packets[k]);
    }
    result.series.push_back(p);
  }

  Summary& sum = result.summary;
  if (ca.send.video) {
    sum.video.present = true;
    summarize_frames(result.frames, config.duration, sum.video);
    sum.video.ssim_every = config.ssim_every;
    sum.video.frames_captured = capture.captured;
    sum.video.frames_encoded = capture.encoded;
    sum.video.keyframes_encoded = capture.keyframes;
  }
  if (ca.send.audio) {
    sum.audio = summarize_audio(playout.counts, access_tap.audio_delay_ms());
    sum.audio.present = true;
  }
  summarize_series(result.series, sum.network);
  sum.network.packets_sent = a->transport_counters().packets_sent;
  sum.network.packets_lost = path_drops(net.a_to_b());
  const pipeline::StatsReport rb = b->stats(end);
  for (const pipeline::InboundRtpStats& in : rb.inbound_rtp) {
    sum.network.nack_recovered += in.retransmitted_packets_received;
    sum.network.fec_recovered += in.fec_packets_recovered.value_or(0);
    sum.network.nacks_sent += in.nack_count;
  }
  outcome.result = std::move(result);
  return outcome;
}

}  // namespace tern::tools
