// Closed-loop GCC scenarios in virtual time over a tiny seeded bottleneck model kept inside this
// file (netsim will rerun these later): sender (media source -> Pacer -> SendTimeHistory), a
// drop-tail bottleneck with propagation delay and random loss, a receiver that reports every
// packet's arrival every 50 ms, and GoogCcNetworkController closing the loop.
#include <doctest/doctest.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "tern/congestion/goog_cc_network_controller.h"
#include "tern/congestion/pacer.h"
#include "tern/congestion/send_time_history.h"
#include "tern/core/random.h"
#include "tern/core/units.h"

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {

// A single FIFO bottleneck: serialisation at `capacity`, then `rtt / 2` of propagation; drop-tail
// when the queue holds more than `max_queue_delay` of data; independent random loss.
class BottleneckLink {
 public:
  struct Packet {
    uint16_t seq;
    DataSize size;
    Timestamp arrival;
  };
  BottleneckLink(DataRate capacity, TimeDelta one_way, double loss, uint64_t seed)
      : capacity_(capacity), one_way_(one_way), loss_(loss), random_(seed) {}

  void set(DataRate capacity, TimeDelta one_way, double loss) {
    capacity_ = capacity;
    one_way_ = one_way;
    loss_ = loss;
  }
  // Returns false if the packet was dropped (queue full or random loss).
  bool send(uint16_t seq, DataSize size, Timestamp now) {
    const Timestamp start = max(now, busy_until_);
    queue_delay_sum_ += start - now;
    ++queue_delay_samples_;
    if (start - now > max_queue_delay_) return false;
    busy_until_ = start + size / capacity_;
    if (random_.bernoulli(loss_)) return false;
    queue_.push_back(Packet{seq, size, busy_until_ + one_way_});
    return true;
  }
  std::optional<Packet> deliver(Timestamp now) {
    if (queue_.empty() || queue_.front().arrival > now) return std::nullopt;
    Packet p = queue_.front();
    queue_.pop_front();
    return p;
  }
  TimeDelta one_way() const { return one_way_; }
  // Mean queueing delay seen by packets offered since the last call.
  TimeDelta take_mean_queue_delay() {
    const TimeDelta mean =
        queue_delay_samples_ ? queue_delay_sum_ / queue_delay_samples_ : TimeDelta::Zero();
    queue_delay_sum_ = TimeDelta::Zero();
    queue_delay_samples_ = 0;
    return mean;
  }

 private:
  DataRate capacity_;
  TimeDelta one_way_;
  double loss_;
  Random random_;
  Timestamp busy_until_ = Timestamp::Zero();
  TimeDelta max_queue_delay_ = TimeDelta::Millis(500);
  TimeDelta queue_delay_sum_ = TimeDelta::Zero();
  int64_t queue_delay_samples_ = 0;
  std::deque<Packet> queue_;
};

class Scenario {
 public:
  Scenario(GoogCcNetworkController::Config config, DataRate capacity, TimeDelta rtt, double loss,
           uint64_t seed)
      : controller_(config), link_(capacity, rtt / 2, loss, seed), media_target_(config.start_rate) {
    apply(controller_.on_network_availability(true, now_));
  }

  void set_link(DataRate capacity, TimeDelta rtt, double loss) { link_.set(capacity, rtt / 2, loss); }
  void set_feedback_enabled(bool on) { feedback_enabled_ = on; }

  // Runs `duration` of virtual time in 1 ms steps.
  void run(TimeDelta duration) {
    const Timestamp end = now_ + duration;
    for (int guard = 0; now_ < end && guard < 10'000'000; ++guard) {
      step();
      now_ += 1_ms;
      if (now_.us() % 1'000'000 == 0) trace_.push_back(target().kbps());
    }
  }

  DataRate target() const { return controller_.pushback_target_rate(); }
  DataRate pacing_rate() const { return pacer_.pacing_rate(); }
  Timestamp now() const { return now_; }
  DataRate min_target_since_mark() const { return min_since_mark_; }
  void mark() { min_since_mark_ = DataRate::PlusInfinity(); }
  TimeDelta take_mean_queue_delay() { return link_.take_mean_queue_delay(); }
  const GoogCcNetworkController& controller() const { return controller_; }
  // Target (kbps) once a second since the last call, as "a b c ...".
  std::string take_trace() {
    std::string out;
    for (int64_t v : trace_) out += std::to_string(v) + " ";
    trace_.clear();
    return out;
  }

 private:
  void apply(const NetworkControlUpdate& u) {
    if (u.target_rate) media_target_ = u.target_rate->target_rate;
    if (u.pacer_config) pacer_.set_pacing_config(*u.pacer_config);
    for (const auto& p : u.probe_cluster_configs) pacer_.create_probe_cluster(p);
  }

  void send_packet(DataSize size, int probe_id) {
    const uint16_t seq = next_seq_++;
    const SentPacketInfo info = history_.on_sent(seq, now_, size, probe_id);
    apply(controller_.on_sent_packet(info));
    link_.send(seq, size, now_);
  }

  void step() {
    // Media: 30 frames/s at the current target, cut into packets of at most 1200 bytes.
    if (now_ >= next_frame_) {
      next_frame_ = now_ + TimeDelta::Micros(33'333);
      DataSize frame = media_target_ * TimeDelta::Micros(33'333);
      for (int i = 0; i < 200 && frame > DataSize::Zero(); ++i) {
        const DataSize part = min(frame, DataSize::Bytes(1200));
        frame -= part;
        PacedPacket p{next_media_id_++, part, PacketPriority::kVideo};
        (void)pacer_.enqueue(p, now_);  // a full queue just drops video here
      }
    }
    if (auto t = pacer_.next_send_time(); t && *t <= now_) {
      const PacerOutput out = pacer_.process(now_);
      for (const auto& p : out.packets) send_packet(p.size, p.probe_cluster_id);
      for (const auto& pad : out.padding) send_packet(pad.size, pad.probe_cluster_id);
    }
    // Receiver.
    while (auto p = link_.deliver(now_)) received_.push_back(*p);
    if (now_ >= next_feedback_) {
      next_feedback_ = now_ + 50_ms;
      if (!received_.empty() && feedback_enabled_) {
        feedback_in_flight_.push_back({now_ + link_.one_way(), received_});
      }
      received_.clear();
    }
    // Feedback reaches the sender (uncongested reverse path).
    while (!feedback_in_flight_.empty() && feedback_in_flight_.front().first <= now_) {
      handle_feedback(feedback_in_flight_.front().second);
      feedback_in_flight_.pop_front();
    }
    if (now_ >= next_process_) {
      next_process_ = now_ + 25_ms;
      apply(controller_.on_process_interval(now_));
    }
    min_since_mark_ = min(min_since_mark_, target());
  }

  void handle_feedback(const std::vector<BottleneckLink::Packet>& received) {
    // Like transport-cc: everything from the first unreported seq up to the newest received one
    // is reported, missing ones as lost.
    TransportPacketsFeedback fb;
    fb.feedback_time = now_;
    uint16_t newest = received.front().seq;
    for (const auto& r : received) newest = seq_latest(newest, r.seq);
    std::vector<Timestamp> arrival;
    const int64_t count = seq_diff(newest, next_report_seq_) + 1;
    for (int64_t i = 0; i < count && i < 20000; ++i) arrival.push_back(Timestamp::PlusInfinity());
    for (const auto& r : received) {
      const int64_t idx = seq_diff(r.seq, next_report_seq_);
      if (idx >= 0 && idx < static_cast<int64_t>(arrival.size())) arrival[idx] = r.arrival;
    }
    for (size_t i = 0; i < arrival.size(); ++i) {
      const uint16_t seq = static_cast<uint16_t>(next_report_seq_ + i);
      if (auto res = history_.on_feedback(seq, arrival[i])) fb.packets.push_back(*res);
    }
    next_report_seq_ = static_cast<uint16_t>(newest + 1);
    fb.data_in_flight = history_.data_in_flight();
    if (fb.packets.empty()) return;
    TimeDelta rtt = TimeDelta::PlusInfinity();
    for (const auto& p : fb.packets) {
      if (p.is_received()) rtt = min(rtt, now_ - p.sent.send_time);
    }
    if (rtt.is_finite()) apply(controller_.on_rtt(rtt, now_));
    apply(controller_.on_transport_feedback(fb));
  }

  Timestamp now_ = Timestamp::Seconds(1);
  GoogCcNetworkController controller_;
  Pacer pacer_;
  SendTimeHistory history_;
  BottleneckLink link_;
  DataRate media_target_;
  DataRate min_since_mark_ = DataRate::PlusInfinity();
  bool feedback_enabled_ = true;
  uint16_t next_seq_ = 65000;  // wraps early on purpose
  uint16_t next_report_seq_ = 65000;
  uint64_t next_media_id_ = 1;
  Timestamp next_frame_ = Timestamp::Zero();
  Timestamp next_feedback_ = Timestamp::Zero();
  Timestamp next_process_ = Timestamp::Zero();
  std::vector<int64_t> trace_;
  std::vector<BottleneckLink::Packet> received_;
  std::deque<std::pair<Timestamp, std::vector<BottleneckLink::Packet>>> feedback_in_flight_;
};

constexpr uint64_t kSeed = 0x7e57c0de;

}  // namespace

TEST_CASE("GCC follows capacity steps: 500 kbps, 800 kbps, 100 kbps at 200 ms") {
  GoogCcNetworkController::Config config;
  config.start_rate = 300_kbps;
  Scenario s(config, 500_kbps, 100_ms, 0.0, kSeed);
  s.run(25_s);
  const TimeDelta queue500 = s.take_mean_queue_delay();
  MESSAGE("seed " << kSeed << ": 500 kbps / 100 ms rtt -> target " << s.target().kbps()
                  << " kbps, mean queue delay " << queue500.ms() << " ms; per second: "
                  << s.take_trace());
  CHECK(queue500 < 100_ms);  // the delay-based loop keeps the bottleneck queue short
  CHECK(s.target() >= 350_kbps);
  CHECK(s.target() <= 550_kbps);
  CHECK(s.controller().delay_based_estimate() < 700_kbps);  // never ran away from the link

  s.set_link(800_kbps, 100_ms, 0.0);
  s.run(25_s);
  const TimeDelta queue800 = s.take_mean_queue_delay();
  MESSAGE("800 kbps / 100 ms rtt -> target " << s.target().kbps() << " kbps, mean queue delay "
                                             << queue800.ms() << " ms; per second: "
                                             << s.take_trace());
  CHECK(queue800 < 100_ms);
  CHECK(s.target() >= 600_kbps);
  CHECK(s.target() <= 900_kbps);

  s.set_link(100_kbps, 200_ms, 0.0);
  s.run(25_s);
  MESSAGE("100 kbps / 200 ms rtt -> target " << s.target().kbps() << " kbps, mean queue delay "
                                             << s.take_mean_queue_delay().ms() << " ms; per second: "
                                             << s.take_trace());
  CHECK(s.target() >= 65_kbps);
  CHECK(s.target() <= 115_kbps);
}

TEST_CASE("GCC target collapses when transport feedback stops") {
  GoogCcNetworkController::Config config;
  config.start_rate = 1_mbps;
  config.max_rate = 1_mbps;
  Scenario s(config, 2_mbps, 100_ms, 0.0, kSeed);
  s.run(10_s);
  const DataRate before = s.target();
  MESSAGE("before blackout: target " << before.kbps() << " kbps");
  CHECK(before >= 800_kbps);
  s.set_feedback_enabled(false);
  s.run(3_s);
  MESSAGE("3 s after feedback stopped: target " << s.target().kbps() << " kbps, pacing "
                                                  << s.pacing_rate().kbps() << " kbps; per second: "
                                                  << s.take_trace());
  CHECK(s.target() < 40_kbps);
  CHECK(s.pacing_rate() < 40_kbps);
  s.set_feedback_enabled(true);
  s.run(10_s);
  MESSAGE("10 s after feedback resumed: target " << s.target().kbps() << " kbps; per second: "
                                                   << s.take_trace());
  CHECK(s.target() > 200_kbps);
}

TEST_CASE("GCC keeps a usable rate under 10% random loss at 2 Mbps") {
  GoogCcNetworkController::Config config;
  config.start_rate = 500_kbps;
  Scenario s(config, 2_mbps, 100_ms, 0.10, kSeed);
  s.run(10_s);
  s.mark();
  s.run(20_s);
  MESSAGE("10% loss, 2 Mbps: target " << s.target().kbps() << " kbps, min over last 20 s "
                                      << s.min_target_since_mark().kbps() << " kbps");
  CHECK(s.target() > 100_kbps);
  CHECK(s.min_target_since_mark() > 100_kbps);
}
