// Seeded property tests: arbitrary (even nonsensical) inputs never break the estimators' bounds.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "tern/congestion/congestion_window_pushback.h"
#include "tern/congestion/goog_cc_network_controller.h"
#include "tern/congestion/inter_arrival.h"
#include "tern/congestion/pacer.h"
#include "tern/core/random.h"

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {
Timestamp random_time(Random& r, Timestamp base) {
  switch (r.uniform_int(0, 9)) {
    case 0: return Timestamp::PlusInfinity();
    case 1: return base - TimeDelta::Millis(r.uniform_int(0, 100000));  // far in the past
    default: return base + TimeDelta::Micros(r.uniform_int(-50000, 500000));
  }
}
}  // namespace

TEST_CASE("GoogCcNetworkController keeps its target within bounds under random feedback") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Random r(seed);
    GoogCcNetworkController::Config cfg;
    cfg.min_rate = 20_kbps;
    cfg.max_rate = 5_mbps;
    GoogCcNetworkController cc(cfg);
    Timestamp now = Timestamp::Seconds(100);
    int64_t seq = 0;
    for (int step = 0; step < 300; ++step) {
      now += TimeDelta::Millis(r.uniform_int(0, 60));
      NetworkControlUpdate u;
      switch (r.uniform_int(0, 5)) {
        case 0: u = cc.on_process_interval(now); break;
        case 1: u = cc.on_rtt(TimeDelta::Millis(r.uniform_int(-10, 5000)), now); break;
        case 2:
          u = cc.on_loss_report(LossReport::FromFractionLost(
              static_cast<uint8_t>(r.uniform_int(0, 255)), r.uniform_int(-5, 500), now));
          break;
        case 3: u = cc.on_remote_bitrate_report(DataRate::KilobitsPerSec(r.uniform_int(0, 9000)), now); break;
        default: {
          TransportPacketsFeedback fb;
          fb.feedback_time = now;
          fb.data_in_flight = DataSize::Bytes(r.uniform_int(0, 200000));
          const int n = static_cast<int>(r.uniform_int(0, 120));
          for (int i = 0; i < n; ++i) {
            PacketResult p;
            p.sent.sequence_number = seq++;
            p.sent.send_time = random_time(r, now - 100_ms);
            p.sent.size = DataSize::Bytes(r.uniform_int(0, 1500));
            p.sent.probe_cluster_id = r.bernoulli(0.1) ? static_cast<int>(r.uniform_int(0, 5)) : kNotAProbe;
            p.receive_time = random_time(r, now - 50_ms);
            fb.packets.push_back(p);
            if (p.sent.send_time.is_finite()) (void)cc.on_sent_packet(p.sent);
          }
          u = cc.on_transport_feedback(fb);
        }
      }
      if (u.target_rate) {
        CHECK(u.target_rate->target_rate >= DataRate::Zero());
        CHECK(u.target_rate->target_rate <= cfg.max_rate);
        CHECK(u.target_rate->loss_rate >= 0.0);
        CHECK(u.target_rate->loss_rate <= 1.0);
      }
      if (u.pacer_config) CHECK(u.pacer_config->data_rate.is_finite());
    }
    CHECK(cc.target_rate() >= cfg.min_rate);
    CHECK(cc.target_rate() <= cfg.max_rate);
  }
}

TEST_CASE("InterArrival never reports a negative arrival delta") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Random r(seed);
    InterArrival ia;
    const Timestamp base = Timestamp::Seconds(10);
    for (int i = 0; i < 2000; ++i) {
      const Timestamp send = base + TimeDelta::Micros(r.uniform_int(0, 10'000'000));
      const Timestamp recv = base + TimeDelta::Micros(r.uniform_int(-1'000'000, 20'000'000));
      if (auto d = ia.compute_deltas(send, recv, base, DataSize::Bytes(r.uniform_int(0, 1500)))) {
        CHECK(d->arrival_delta >= TimeDelta::Zero());
        CHECK(d->send_delta >= TimeDelta::Zero());
      }
    }
  }
}

TEST_CASE("Pacer conserves packets under random load: every packet is sent or reported dropped") {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Random r(seed);
    Pacer::Config cfg;
    cfg.max_queue_packets = 50;
    Pacer pacer(cfg);
    Timestamp now = Timestamp::Seconds(1);
    uint64_t enqueued = 0;
    uint64_t sent = 0;
    uint64_t dropped = 0;
    for (int step = 0; step < 2000; ++step) {
      now += TimeDelta::Micros(r.uniform_int(0, 5000));
      if (r.bernoulli(0.1)) {
        pacer.set_pacing_rates(DataRate::KilobitsPerSec(r.uniform_int(1, 5000)),
                               DataRate::KilobitsPerSec(r.uniform_int(0, 300)));
      }
      if (r.bernoulli(0.01)) {
        ProbeClusterConfig c;
        c.id = static_cast<int>(step);
        c.target_rate = DataRate::KilobitsPerSec(r.uniform_int(0, 5000));
        pacer.create_probe_cluster(c);
      }
      for (int k = 0; k < r.uniform_int(0, 3); ++k) {
        PacedPacket p{enqueued++, DataSize::Bytes(r.uniform_int(1, 1500)),
                      static_cast<PacketPriority>(r.uniform_int(0, 4))};
        if (pacer.enqueue(p, now)) ++dropped;
      }
      if (auto next = pacer.next_send_time(); next && *next <= now) {
        sent += pacer.process(now).packets.size();
      }
      CHECK(pacer.queue_packets() <= cfg.max_queue_packets);
    }
    CHECK(enqueued == sent + dropped + pacer.queue_packets());
  }
}

TEST_CASE("CongestionWindowPushback cuts the rate while the window is over-full") {
  CongestionWindowPushback p;
  CHECK(p.update_and_adjust(1_mbps) == 1_mbps);  // no window yet
  p.set_window(10000_bytes);
  p.set_data_in_flight(5000_bytes);
  CHECK(p.update_and_adjust(1_mbps) == 1_mbps);
  p.set_data_in_flight(20000_bytes);  // 200% full
  CHECK(p.update_and_adjust(1_mbps) == 900_kbps);
  CHECK(p.update_and_adjust(1_mbps) == 810_kbps);
  p.set_data_in_flight(12000_bytes);  // 120%
  CHECK(p.update_and_adjust(1_mbps).kbps() == 770);
  CHECK(p.congested());
  for (int i = 0; i < 200; ++i) (void)p.update_and_adjust(1_mbps);
  CHECK(p.update_and_adjust(1_mbps) == 30_kbps);  // floor
  CHECK(p.update_and_adjust(20_kbps) == 20_kbps);  // never above the target itself
  p.set_data_in_flight(500_bytes);  // drained below 10%: full rate again
  CHECK(p.update_and_adjust(1_mbps) == 1_mbps);
  CHECK_FALSE(p.congested());
}
