// Closed-loop GCC scenarios over netsim links, in virtual time and seeded. Each flow is a full
// send-side pipeline: a 30 fps media source at the controller's target (frames cut into packets
// of at most 1200 bytes) -> Pacer at the pacing rate -> TransportFeedbackAdapter (transport-wide
// sequence numbers) -> netsim forward path -> TransportFeedbackGenerator at the receiver -> real
// transport-cc RTCP bytes over the netsim reverse path (so feedback loss and blackouts are real)
// -> adapter -> GoogCcNetworkController, whose updates drive the source, the pacer and probes.
// Targets are the ones from the congestion-control issue (RFC 8867 section 5.1 among them).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "tern/congestion/goog_cc_network_controller.h"
#include "tern/congestion/pacer.h"
#include "tern/congestion/transport_feedback_adapter.h"
#include "tern/congestion/transport_feedback_generator.h"
#include "tern/core/byte_io.h"
#include "tern/netsim/event_loop.h"
#include "tern/netsim/network.h"
#include "tern/rtp/rtcp/common_header.h"
#include "tern/rtp/rtcp/transport_feedback.h"

using namespace tern;
using namespace tern::congestion;
using namespace tern::netsim;
using namespace tern::unit_literals;

namespace {

constexpr DataSize kIpUdpOverhead = DataSize::Bytes(28);
constexpr DataSize kMaxPacket = DataSize::Bytes(1200);
constexpr TimeDelta kFrameInterval = TimeDelta::Micros(33'333);
constexpr TimeDelta kProcessInterval = TimeDelta::Millis(25);
constexpr size_t kMaxPacketsPerFrame = 400;

// Datagram layout inside the simulation: [flow id][kind][transport seq (2 bytes)] for media and
// padding, [flow id][kind][RTCP bytes...] for feedback. The rest of a media packet's size is
// simulated as wire overhead so no megabytes of zeros are copied around.
enum Kind : uint8_t { kMedia = 1, kFeedback = 2 };

class Flow;

// Demultiplexes packets at one endpoint to the flows by the first byte; can add a (changeable)
// extra one-way delay in front of them, for scenarios whose path delay changes mid-run.
class Demux final : public PacketSink {
 public:
  Demux(EventLoop& loop, bool at_receiver) : loop_(loop), at_receiver_(at_receiver) {}
  void add(Flow* f) { flows_.push_back(f); }
  void set_extra_delay(TimeDelta d) { extra_ = d; }
  void on_packet(SimPacket packet, Timestamp now) override;

 private:
  void deliver(const SimPacket& packet, Timestamp now);
  EventLoop& loop_;
  bool at_receiver_;
  TimeDelta extra_ = TimeDelta::Zero();
  std::vector<Flow*> flows_;
};

struct FlowStats {
  std::vector<DataRate> target;      // target every 100 ms (sampled by the scenario)
  std::deque<DataSize> sent_bins;    // bytes handed to the network per 100 ms
  std::deque<DataSize> received_bins;
  std::vector<TimeDelta> pacer_delay;  // every media packet's wait in the pacer
};

class Flow final : public Pollable {
 public:
  Flow(uint8_t id, Network& net, GoogCcNetworkController::Config config, Timestamp start)
      : id_(id), net_(net), cc_(config), media_target_(config.start_rate) {
    next_frame_ = start;
    next_process_ = start;
    apply(cc_.on_network_availability(true, start));
  }

  std::optional<Timestamp> next_wakeup() const override {
    Timestamp t = min(next_frame_, next_process_);
    if (auto p = pacer_.next_send_time()) t = min(t, *p);
    if (auto g = generator_.next_wakeup()) t = min(t, *g);
    return t;
  }

  void process(Timestamp now) override {
    if (now >= next_process_) {
      apply(cc_.on_process_interval(now));
      next_process_ = now + kProcessInterval;
    }
    if (now >= next_frame_) {
      produce_frame(now);
      next_frame_ = next_frame_ + kFrameInterval;
      if (next_frame_ < now) next_frame_ = now + kFrameInterval;
    }
    if (auto p = pacer_.next_send_time(); p && *p <= now) send_paced(now);
    if (auto g = generator_.next_wakeup(); g && *g <= now) send_feedback(now);
  }

  // Sender side: a feedback datagram arrived over the reverse path.
  void on_feedback_packet(const SimPacket& packet, Timestamp now) {
    const std::span<const uint8_t> rtcp(packet.data.data() + 2, packet.data.size() - 2);
    auto header = rtcp::CommonHeader::parse(rtcp);
    REQUIRE(header.ok());
    auto fb = rtcp::TransportFeedback::parse(header.value());
    REQUIRE(fb.ok());
    auto report = adapter_.on_transport_feedback(fb.value(), now);
    if (!report) return;
    // RR-style RTT (what RTCP would measure): the round trip minus the receiver's hold time.
    // Feedback receive times are on the receiver's clock, which is the simulation clock here.
    for (auto it = report->packets.rbegin(); it != report->packets.rend(); ++it) {
      if (!it->is_received()) continue;
      const TimeDelta rtt = (now - it->sent.send_time) - (packet.sent_time - it->receive_time);
      if (now - last_rtt_update_ >= 1_s && rtt > TimeDelta::Zero()) {
        apply(cc_.on_rtt(rtt, now));
        last_rtt_update_ = now;
      }
      break;
    }
    apply(cc_.on_transport_feedback(*report));
  }

  // Receiver side: a media or padding packet arrived over the forward path.
  void on_media_packet(const SimPacket& packet, Timestamp now) {
    const uint16_t seq = load_be16(&packet.data[2]);
    generator_.on_received_packet(seq, now);
    received_bytes_ += packet.wire_size();
    received_window_ += packet.wire_size();
    if (now - received_window_start_ >= 1_s) {
      // The receiver keeps feedback near 5% of what it receives.
      generator_.set_bitrate_hint(received_window_ / (now - received_window_start_));
      received_window_ = DataSize::Zero();
      received_window_start_ = now;
    }
  }

  // Moves the byte counters into 100 ms bins; called by the scenario every 100 ms.
  void sample() {
    stats_.target.push_back(cc_.target_rate().is_finite() ? current_target() : DataRate::Zero());
    stats_.sent_bins.push_back(sent_bytes_);
    stats_.received_bins.push_back(received_bytes_);
    sent_bytes_ = DataSize::Zero();
    received_bytes_ = DataSize::Zero();
  }

  DataRate current_target() const { return media_target_; }
  const FlowStats& stats() const { return stats_; }
  const Pacer& pacer() const { return pacer_; }
  uint8_t id() const { return id_; }

 private:
  void apply(const NetworkControlUpdate& u) {
    if (u.target_rate) media_target_ = u.target_rate->target_rate;
    if (u.pacer_config) pacer_.set_pacing_config(*u.pacer_config);
    for (const auto& p : u.probe_cluster_configs) pacer_.create_probe_cluster(p);
  }

  void produce_frame(Timestamp now) {
    DataSize frame = media_target_ * kFrameInterval;
    for (size_t i = 0; i < kMaxPacketsPerFrame && frame > DataSize::Zero(); ++i) {
      const DataSize part = min(frame, kMaxPacket);
      frame -= part;
      (void)pacer_.enqueue(PacedPacket{next_media_id_++, part, PacketPriority::kVideo}, now);
    }
  }

  void send_paced(Timestamp now) {
    const PacerOutput out = pacer_.process(now);
    for (const auto& p : out.packets) {
      stats_.pacer_delay.push_back(now - p.enqueue_time);
      send_one(p.size, p.probe_cluster_id, now);
    }
    for (const auto& pad : out.padding) send_one(pad.size, pad.probe_cluster_id, now);
  }

  void send_one(DataSize size, int probe_cluster_id, Timestamp now) {
    const DataSize wire = size + kIpUdpOverhead;
    const auto stamped = adapter_.on_sent_packet(now, wire, probe_cluster_id);
    apply(cc_.on_sent_packet(stamped.info));
    SimPacket packet;
    packet.data = {id_, kMedia, static_cast<uint8_t>(stamped.transport_seq >> 8),
                   static_cast<uint8_t>(stamped.transport_seq & 0xFF)};
    packet.overhead = wire - DataSize::Bytes(4);
    packet.sent_time = now;
    sent_bytes_ += wire;
    net_.send_from_a(std::move(packet), now);
  }

  void send_feedback(Timestamp now) {
    for (const auto& fb : generator_.process(now)) {
      SimPacket packet;
      packet.data.resize(2 + fb.size());
      packet.data[0] = id_;
      packet.data[1] = kFeedback;
      ByteWriter w(std::span<uint8_t>(packet.data).subspan(2));
      fb.write(w);
      packet.overhead = kIpUdpOverhead;
      packet.sent_time = now;
      net_.send_from_b(std::move(packet), now);
    }
  }

  uint8_t id_;
  Network& net_;
  GoogCcNetworkController cc_;
  Pacer pacer_;
  TransportFeedbackAdapter adapter_;
  TransportFeedbackGenerator generator_;
  DataRate media_target_;
  Timestamp next_frame_;
  Timestamp next_process_;
  Timestamp last_rtt_update_ = Timestamp::MinusInfinity();
  uint64_t next_media_id_ = 1;
  DataSize sent_bytes_ = DataSize::Zero();
  DataSize received_bytes_ = DataSize::Zero();
  DataSize received_window_ = DataSize::Zero();
  Timestamp received_window_start_ = Timestamp::Zero();
  FlowStats stats_;
};

void Demux::on_packet(SimPacket packet, Timestamp now) {
  if (extra_ > TimeDelta::Zero()) {
    loop_.post_at(now + extra_, [this, p = std::move(packet)]() { deliver(p, loop_.now()); });
    return;
  }
  deliver(packet, now);
}

void Demux::deliver(const SimPacket& packet, Timestamp now) {
  REQUIRE(packet.data.size() >= 4);
  for (Flow* f : flows_) {
    if (f->id() != packet.data[0]) continue;
    if (at_receiver_ && packet.data[1] == kMedia) f->on_media_packet(packet, now);
    if (!at_receiver_ && packet.data[1] == kFeedback) f->on_feedback_packet(packet, now);
  }
}

// A network, its loop and some flows from A to B.
class Scenario {
 public:
  Scenario(const LinkConfig& forward, const LinkConfig& reverse, uint64_t seed, int flows = 1,
           GoogCcNetworkController::Config config = {}) {
    NetworkConfig nc = NetworkConfig::Direct(forward, reverse);
    nc.seed = seed;
    auto net = Network::Create(nc);
    REQUIRE(net.ok());
    net_ = std::move(net.value());
    net_->attach(loop_);
    net_->set_sink_b(&at_b_);
    net_->set_sink_a(&at_a_);
    for (int i = 0; i < flows; ++i) {
      flows_.push_back(std::make_unique<Flow>(static_cast<uint8_t>(i + 1), *net_, config, loop_.now()));
      at_a_.add(flows_.back().get());
      at_b_.add(flows_.back().get());
      loop_.add_pollable(flows_.back().get());
    }
  }

  // Runs in 100 ms steps, sampling every flow after each step.
  void run_for(TimeDelta d) {
    const Timestamp end = loop_.now() + d;
    for (int guard = 0; loop_.now() < end && guard < 100'000; ++guard) {
      REQUIRE(loop_.run_until(min(end, loop_.now() + 100_ms)).ok());
      for (auto& f : flows_) f->sample();
    }
  }

  Flow& flow(size_t i = 0) { return *flows_[i]; }
  Link& forward_link() { return net_->a_to_b().hop(0); }
  Link& reverse_link() { return net_->b_to_a().hop(0); }
  Demux& receiver_side() { return at_b_; }
  Demux& sender_side() { return at_a_; }
  EventLoop& loop() { return loop_; }
  Timestamp now() const { return loop_.now(); }

 private:
  EventLoop loop_;
  std::unique_ptr<Network> net_;
  Demux at_a_{loop_, false};
  Demux at_b_{loop_, true};
  std::vector<std::unique_ptr<Flow>> flows_;
};

LinkConfig link(DataRate capacity, TimeDelta one_way) {
  LinkConfig c;
  c.capacity = capacity;
  c.delay = one_way;
  return c;
}

// Mean of 100 ms samples [from, to) in seconds of the run.
DataRate mean_rate(const std::deque<DataSize>& bins, double from_s, double to_s) {
  const auto a = static_cast<size_t>(from_s * 10);
  const auto b = std::min(bins.size(), static_cast<size_t>(to_s * 10));
  if (b <= a) return DataRate::Zero();
  DataSize sum = DataSize::Zero();
  for (size_t i = a; i < b; ++i) sum += bins[i];
  return sum / (100_ms * static_cast<int64_t>(b - a));
}

std::string trace(const std::vector<DataRate>& v, size_t every = 10) {
  std::string out;
  for (size_t i = every - 1; i < v.size(); i += every) out += std::to_string(v[i].kbps()) + " ";
  return out;
}

}  // namespace

TEST_CASE("netsim GCC follows capacity steps 500 then 800 then 100 kbps") {
  Scenario s(link(500_kbps, 100_ms), link(10_mbps, 100_ms), 11);
  s.run_for(25_s);
  const DataRate a = s.flow().current_target();
  s.forward_link().set_capacity(800_kbps, s.now());
  s.run_for(20_s);
  const DataRate b = s.flow().current_target();
  // 100 kbps at 200 ms one-way: the extra 100 ms is added on both directions.
  s.forward_link().set_capacity(100_kbps, s.now());
  s.receiver_side().set_extra_delay(100_ms);
  s.sender_side().set_extra_delay(100_ms);
  s.run_for(50_s);
  const DataRate c = s.flow().current_target();
  MESSAGE("capacity steps: target at end of phases " << a.kbps() << " / " << b.kbps() << " / " << c.kbps()
                                                     << " kbps; per second: " << trace(s.flow().stats().target));
  CHECK(a.kbps() >= 350);
  CHECK(b.kbps() >= 600);
  CHECK(c.kbps() >= 65);
  // GCC's sawtooth probes above the capacity for moments (514 / 837 / 113 kbps peaks measured), so
  // the ceiling is on the mean target over each phase's last 10 s: never above the capacity.
  const auto& t = s.flow().stats().target;
  auto mean_kbps = [&t](size_t from, size_t to) {
    double sum = 0;
    for (size_t i = from; i < to && i < t.size(); ++i) sum += t[i].kbps_f();
    return sum / static_cast<double>(to - from);
  };
  REQUIRE(t.size() >= 950);
  const double ma = mean_kbps(150, 250), mb = mean_kbps(350, 450), mc = mean_kbps(850, 950);
  MESSAGE("mean target over each phase's last 10 s: " << ma << " / " << mb << " / " << mc << " kbps");
  CHECK(ma <= 500);
  CHECK(mb <= 800);
  CHECK(mc <= 100);
}

TEST_CASE("netsim RFC 8867 5.1 variable available capacity with a single flow") {
  // 50 ms one-way, 300 ms drop-tail queue; capacity 1.0 / 2.5 / 0.6 / 1.0 Mbps at 0 / 40 / 60 / 80 s.
  LinkConfig fwd = link(1_mbps, 50_ms);
  fwd.queue_packets.reset();
  fwd.queue_delay = 300_ms;
  Scenario s(fwd, link(10_mbps, 50_ms), 8867);
  const double starts[] = {0, 40, 60, 80, 100};
  const DataRate caps[] = {1_mbps, 2500_kbps, 600_kbps, 1_mbps};
  for (int phase = 0; phase < 4; ++phase) {
    if (phase > 0) s.forward_link().set_capacity(caps[phase], s.now());
    s.run_for(TimeDelta::SecondsF(starts[phase + 1] - starts[phase]));
  }
  const auto& stats = s.flow().stats();
  std::string util;
  double min_util = 1e9;
  for (int phase = 0; phase < 4; ++phase) {
    const DataRate got = mean_rate(stats.received_bins, starts[phase] + 5, starts[phase + 1]);
    const double u = got.bps_f() / caps[phase].bps_f();
    min_util = std::min(min_util, u);
    util += std::to_string(static_cast<int>(u * 100)) + "% ";
  }
  const LinkStats& ls = s.forward_link().stats();
  const double loss = static_cast<double>(ls.dropped_queue + ls.dropped_loss) / static_cast<double>(ls.packets_sent);
  const TimeDelta p95 = s.forward_link().queue_delay_percentile(0.95);
  MESSAGE("RFC 8867 5.1: utilisation per phase (after 5 s) " << util << "; p95 queue delay " << p95.ms()
                                                             << " ms; loss " << loss * 100 << "%; target per second: "
                                                             << trace(stats.target));
  CHECK(min_util >= 0.85);
  CHECK(p95 < 100_ms);
  CHECK(loss < 0.01);
}

TEST_CASE("netsim GCC under a policer: 1 Mbps with a 10 ms queue, loss below 3% and target within capacity") {
  // A policer (or a queue too shallow to build delay) gives no delay signal: loss is the only sign
  // of congestion, and it follows the send rate. The loss-based estimator's inherent-loss floor
  // must not mistake it for random loss (it used to hold ~10% loss at ~800 kbps for a whole run).
  LinkConfig fwd = link(1_mbps, 25_ms);
  fwd.queue_packets.reset();
  fwd.queue_delay = 10_ms;
  Scenario s(fwd, link(10_mbps, 25_ms), 1001);
  s.run_for(20_s);
  const LinkStats before = s.forward_link().stats();
  s.run_for(40_s);
  const LinkStats& after = s.forward_link().stats();
  const double sent = static_cast<double>(after.packets_sent - before.packets_sent);
  const double lost = static_cast<double>(after.dropped_queue + after.dropped_loss - before.dropped_queue - before.dropped_loss);
  const auto& t = s.flow().stats().target;
  double mean_target = 0;
  for (size_t i = 200; i < t.size(); ++i) mean_target += t[i].kbps_f();
  mean_target /= static_cast<double>(t.size() - 200);
  const DataRate got = mean_rate(s.flow().stats().received_bins, 20, 60);
  MESSAGE("policer 1 Mbps / 10 ms queue, 20-60 s: loss " << 100 * lost / sent << "%, mean target " << mean_target
          << " kbps, received " << got.kbps() << " kbps; target per second: " << trace(t));
  CHECK(lost / sent < 0.03);
  CHECK(mean_target <= 1000);
  CHECK(got >= 600_kbps);  // and the link is still used
}

TEST_CASE("netsim GCC is not fooled by jitter and reordering without a trend") {
  // Issue 14's far-jittery link: 2.5 Mbps, 120 ms, +-35 ms uniform jitter that reorders packets,
  // 2% random loss. Nothing queues, so the target should climb towards the capacity. Reports said
  // "not received" for ~15% of the packets (overtaken ones, reported received a report later) and
  // the loss rules held the target near 18% of the link. Over seeds, from 60% of the link: the
  // target never falls far below it, and its mean over 5-25 s is 70-100% of the capacity.
  for (uint64_t seed : {1, 2, 3}) {
    LinkConfig fwd = link(2500_kbps, 120_ms);
    fwd.jitter_model = LinkConfig::Jitter::kUniform;
    fwd.jitter = 35_ms;
    fwd.allow_reordering = true;
    fwd.loss = LossConfig::Random(0.02);
    GoogCcNetworkController::Config config;
    config.start_rate = 1500_kbps;  // 60% of the link: it must keep it, and climb
    Scenario s(fwd, link(10_mbps, 120_ms), seed, 1, config);
    s.run_for(25_s);
    const auto& t = s.flow().stats().target;
    double mean = 0;
    DataRate lowest = DataRate::PlusInfinity();
    for (size_t i = 50; i < 250; ++i) {
      mean += t.at(i).kbps_f() / 200.0;
      lowest = min(lowest, t[i]);
    }
    MESSAGE("seed " << seed << ": mean target 5-25 s " << mean << " kbps, lowest " << lowest.kbps()
                    << " kbps; per second: " << trace(t));
    CHECK(mean >= 0.7 * 2500);
    CHECK(lowest >= 1200_kbps);
    CHECK(mean <= 2500);
  }
}

TEST_CASE("netsim GCC probes a jittery reordering path from the 300 kbps start with clusters long enough") {
  // The same link from the default start rate. 15 ms clusters arrive scattered over +-35 ms and
  // in another order: they measured nothing, and the target climbed only by the 8%/s increase
  // (18-22% of the link over 3-10 s, under 30% at 10 s). The estimator reports the jitter, the
  // controller sends longer clusters in gentle steps (1.2x), and a fit over send order reads the
  // path: 36-57% over 3-10 s here, twice as much, and 46-100% at 10 s (in tern-loopback's
  // far-jittery scenario, whose media and feedback timing differ, the target reaches 1.9 Mbps in
  // 2 s).
  auto run = [](uint64_t seed, bool fit) {
    LinkConfig fwd = link(2500_kbps, 120_ms);
    fwd.jitter_model = LinkConfig::Jitter::kUniform;
    fwd.jitter = 35_ms;
    fwd.allow_reordering = true;
    fwd.loss = LossConfig::Random(0.02);
    GoogCcNetworkController::Config config;  // start 300 kbps
    if (!fit) config.probe_estimator.max_fit_error = 0;
    Scenario s(fwd, link(10_mbps, 120_ms), seed, 1, config);
    s.run_for(10_s);
    const auto& t = s.flow().stats().target;
    double mean = 0;
    for (size_t i = 30; i < 100; ++i) mean += t.at(i).kbps_f() / 70.0;
    MESSAGE("seed " << seed << (fit ? std::string(" with") : std::string(" without")) << " the fit: mean target 3-10 s " << mean
                    << " kbps; per second: " << trace(t));
    return mean;
  };
  for (uint64_t seed : {1, 2, 3}) {
    const double with_fit = run(seed, true);
    const double without = run(seed, false);
    CHECK(with_fit >= 1.7 * without);
    CHECK(with_fit >= 0.35 * 2500);
    CHECK(with_fit <= 2500);
  }
}

TEST_CASE("netsim GCC keeps sending through 10 percent random loss at 2 Mbps and 200 ms") {
  LinkConfig fwd = link(2_mbps, 200_ms);
  fwd.loss = LossConfig::Random(0.10);
  Scenario s(fwd, link(10_mbps, 200_ms), 1010);
  s.run_for(120_s);
  const auto& t = s.flow().stats().target;
  DataRate lowest = DataRate::PlusInfinity();
  for (size_t i = 50; i < t.size(); ++i) lowest = min(lowest, t[i]);  // after the first 5 s
  MESSAGE("10% loss, 2 Mbps / 200 ms: lowest target after 5 s " << lowest.kbps() << " kbps, final "
                                                                 << t.back().kbps() << " kbps; per 5 s: " << trace(t, 50));
  CHECK(lowest > 100_kbps);
}

TEST_CASE("netsim GCC does not oscillate under 20 percent random loss at 2 Mbps and 10 ms") {
  LinkConfig fwd = link(2_mbps, 10_ms);
  fwd.loss = LossConfig::Random(0.20);
  Scenario s(fwd, link(10_mbps, 10_ms), 2020);
  s.run_for(60_s);
  const auto& t = s.flow().stats().target;
  // Count drops of at least 100 kbps between consecutive samples in each 500 ms window
  // (5 samples), after the start-up.
  int worst = 0;
  for (size_t start = 100; start + 5 < t.size(); ++start) {
    int drops = 0;
    for (size_t i = start + 1; i <= start + 5; ++i) {
      if (t[i - 1] - t[i] >= 100_kbps) ++drops;
    }
    worst = std::max(worst, drops);
  }
  MESSAGE("20% loss, 2 Mbps / 10 ms: most 100 kbps drops in a 500 ms window " << worst << "; per second: "
                                                                               << trace(t));
  CHECK(worst < 2);
}

TEST_CASE("netsim GCC send rate collapses during a feedback blackout and recovers") {
  LinkConfig rev = link(1_mbps, 100_ms);
  rev.blackouts.push_back({Timestamp::Seconds(20), Timestamp::Seconds(30)});
  Scenario s(link(1_mbps, 100_ms), rev, 404);
  s.run_for(20_s);
  const DataRate before = mean_rate(s.flow().stats().sent_bins, 15, 20);
  s.run_for(10_s);
  s.run_for(20_s);
  const auto& bins = s.flow().stats().sent_bins;
  // Feedback stops reaching the sender ~100 ms after 20 s (the last report in flight).
  const DataRate at_3s = mean_rate(bins, 22.5, 23.0);
  const DataRate late = mean_rate(bins, 25, 30);
  const DataRate after = mean_rate(bins, 42, 50);
  std::vector<DataRate> sent;
  for (const auto& b : bins) sent.push_back(b / 100_ms);
  MESSAGE("feedback blackout 20-30 s at 1 Mbps / 100 ms: send rate before " << before.kbps() << " kbps, 22.5-23 s "
          << at_3s.kbps() << " kbps, 25-30 s " << late.kbps() << " kbps, 42-50 s " << after.kbps()
          << " kbps; per second: " << trace(sent));
  CHECK(before > 700_kbps);
  CHECK(at_3s < 40_kbps);
  CHECK(late < 40_kbps);
  CHECK(after > 600_kbps);
}

TEST_CASE("netsim two GCC flows share 2 Mbps fairly") {
  LinkConfig fwd = link(2_mbps, 50_ms);
  fwd.queue_packets.reset();
  fwd.queue_delay = 300_ms;
  Scenario s(fwd, link(10_mbps, 50_ms), 2222, 2);
  s.run_for(90_s);
  const auto& a = s.flow(0).stats().received_bins;
  const auto& b = s.flow(1).stats().received_bins;
  double worst = 1.0;
  std::string ratios;
  for (double w = 30; w + 5 <= 90; w += 5) {
    const double ra = mean_rate(a, w, w + 5).bps_f();
    const double rb = mean_rate(b, w, w + 5).bps_f();
    const double ratio = rb > 0 ? ra / rb : 1e9;
    worst = std::max(worst, std::max(ratio, 1.0 / ratio));
    ratios += std::to_string(static_cast<int>(ratio * 100)) + " ";
  }
  const DataRate total = mean_rate(a, 30, 90) + mean_rate(b, 30, 90);
  MESSAGE("two flows on 2 Mbps: rate ratio a/b (percent) per 5 s after 30 s: " << ratios << "; flow a "
          << mean_rate(a, 30, 90).kbps() << " kbps, flow b " << mean_rate(b, 30, 90).kbps() << " kbps, together "
          << total.kbps() << " kbps");
  CHECK(worst <= 2.0);
  // Fair is not enough: together they use the link (two flows starving each other equally would pass).
  CHECK(total >= 1600_kbps);
}

TEST_CASE("netsim pacer queue delay stays under 150 ms at 1 Mbps and 50 ms") {
  Scenario s(link(1_mbps, 50_ms), link(10_mbps, 50_ms), 150);
  s.run_for(30_s);
  std::vector<TimeDelta> d = s.flow().stats().pacer_delay;
  REQUIRE(d.size() > 3000);
  d.erase(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(d.size() / 6));  // the first 5 s
  std::sort(d.begin(), d.end());
  const TimeDelta p95 = d[d.size() * 95 / 100];
  const TimeDelta worst = d.back();
  TimeDelta sum = TimeDelta::Zero();
  for (auto x : d) sum += x;
  MESSAGE("pacer queue delay at 1 Mbps / 50 ms: mean " << (sum / static_cast<int64_t>(d.size())).ms() << " ms, p95 "
                                                       << p95.ms() << " ms, max " << worst.ms() << " ms");
  CHECK(p95 < 150_ms);
  CHECK(worst < 150_ms);
}

TEST_CASE("netsim GCC start-up probe through jitter that keeps order does not raise the target above the link") {
  // Issue 14's default link: 2 Mbps, 50 ms, +-20 ms uniform jitter that keeps packet order, 2%
  // loss, from tern-loopback's 1 Mbps start. A packet held back holds the ones behind it, so the
  // 3 Mbps start-up cluster's arrivals bunch (an over-read, up to the 3 Mbps sent) or spread. A
  // reading whose arrivals scatter about their line may lower the estimate but not raise it:
  // over ten seeds the target stays within 10% of the capacity through the first 3 s (a clean
  // cluster may read the link a little high: 2063 kbps on seed 10), where taking every reading
  // set it 15-70% above the link on five of them (2.3-3.4 Mbps; 2.3-3 Mbps in tern-loopback, each
  // a 100-160 ms queue).
  auto run = [](uint64_t seed, bool may_raise) {
    LinkConfig fwd = link(2_mbps, 50_ms);
    fwd.jitter_model = LinkConfig::Jitter::kUniform;
    fwd.jitter = 20_ms;
    fwd.loss = LossConfig::Random(0.02);
    GoogCcNetworkController::Config config;
    config.start_rate = 1_mbps;
    config.scattered_probe_may_raise = may_raise;
    Scenario s(fwd, link(10_mbps, 50_ms), seed, 1, config);
    s.run_for(3_s);
    DataRate peak = DataRate::Zero();
    for (const DataRate r : s.flow().stats().target) peak = max(peak, r);
    return peak;
  };
  int over_with_rule = 0;
  int over_taking_all = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const DataRate with_rule = run(seed, false);
    const DataRate taking_all = run(seed, true);
    MESSAGE("seed " << seed << ": highest target in 3 s " << with_rule.kbps() << " kbps (every reading taken: "
                    << taking_all.kbps() << ")");
    if (with_rule > 2200_kbps) ++over_with_rule;
    if (taking_all > 2200_kbps) ++over_taking_all;
  }
  CHECK(over_with_rule == 0);
  CHECK(over_taking_all >= 1);  // the case is real on this link
}
