// Closed-loop simulations of the video jitter buffer with the NACK generator, in virtual time:
// a 30 fps VP8/VP9 sender with a packet history that answers NACKs and keyframe requests, a lossy
// link (random or burst loss, reordering up to 100 ms, duplication), sequence numbers, RTP
// timestamps and picture ids starting just before their wrap.
//
//  - 5% loss with NACK answered within an RTT of 50 ms renders every frame with no freeze.
//  - Seeded property runs: released frames are always decodable and in decode order, and every
//    buffer stays under its bound.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "tern/core/random.h"
#include "tern/recovery/nack_generator.h"
#include "tern/jitterbuffer/video/video_jitter_buffer.h"
#include "video_test_util.h"

using namespace tern;
using namespace tern::jitterbuffer;
using namespace tern::jitterbuffer::test;

namespace {

struct SimConfig {
  uint64_t seed = 1;
  codecs::CodecType codec = codecs::CodecType::kVp8;
  int frames = 600;
  double loss = 0.0;              // good-state loss probability
  double burst_enter = 0.0;       // probability per packet of entering a loss burst
  double burst_leave = 0.3;       // probability per packet of leaving it
  TimeDelta one_way_delay = TimeDelta::Millis(25);
  TimeDelta max_extra_delay = TimeDelta::Zero();  // uniform extra delay per packet (reordering)
  double duplicate = 0.0;
  bool temporal_layers = false;   // L1T3
  bool picture_ids = true;        // VP8 only: false exercises the sequence-number mode
  bool nack = true;
  int keyframe_interval = 0;      // frames; 0 = first frame and on request only
};

struct SimResult {
  VideoJitterBufferStats stats;
  recovery::NackGeneratorStats nack;
  size_t released = 0;
  size_t max_packets_held = 0;
  size_t max_frames_held = 0;
  TimeDelta max_release_gap = TimeDelta::Zero();
  int keyframes_sent = 0;
  TimeDelta target_delay_sum = TimeDelta::Zero();  // target at each release, summed by the test
  TimeDelta min_target = TimeDelta::PlusInfinity();
  TimeDelta max_target = TimeDelta::MinusInfinity();
};

class Simulation {
 public:
  explicit Simulation(const SimConfig& c) : c_(c), rng_(c.seed) {
    VideoJitterBufferConfig config;
    config.codec = c.codec;
    jb_ = VideoJitterBuffer(config);
    jb_.on_rtt(c.one_way_delay * 2);
    nack_.on_rtt(c.one_way_delay * 2);
  }

  SimResult run() {
    const Timestamp start = Timestamp::Seconds(10);
    const Timestamp end_send = start + TimeDelta::Micros(33333) * c_.frames;
    const Timestamp end = end_send + TimeDelta::Seconds(3);
    Timestamp now = start;
    Timestamp next_frame = start;
    int sent_frames = 0;
    std::optional<Timestamp> last_release;
    for (int guard = 0; guard < 5'000'000 && now <= end; ++guard) {
      // Sender.
      if (sent_frames < c_.frames && now >= next_frame) {
        send_frame(now, sent_frames++);
        next_frame += TimeDelta::Micros(33333);
      }
      // Events due now.
      while (!events_.empty() && events_.begin()->first <= now) {
        Event e = std::move(events_.begin()->second);
        events_.erase(events_.begin());
        handle(e, now);
      }
      // Receiver timers.
      for (const EncodedVideoFrame& f : jb_.process(now)) {
        // jitterBufferTargetDelay: the target each frame was released with, summed.
        result_.target_delay_sum += jb_.stats().target_delay;
        result_.min_target = std::min(result_.min_target, jb_.stats().target_delay);
        result_.max_target = std::max(result_.max_target, jb_.stats().target_delay);
        checker_.on_frame(f);
        ++result_.released;
        if (last_release) result_.max_release_gap = std::max(result_.max_release_gap, now - *last_release);
        last_release = now;
      }
      if (auto req = jb_.poll_keyframe_request(now)) schedule_feedback(now, Event{Event::kPli, {}, {}});
      if (c_.nack) {
        std::vector<uint16_t> lost = nack_.process(now);
        if (!lost.empty()) schedule_feedback(now, Event{Event::kNack, {}, std::move(lost)});
      }
      result_.max_packets_held = std::max(result_.max_packets_held, jb_.packets_held());
      result_.max_frames_held = std::max(result_.max_frames_held, jb_.frames_held());
      // Next instant anything happens.
      Timestamp next = end + TimeDelta::Micros(1);
      if (sent_frames < c_.frames) next = std::min(next, next_frame);
      if (!events_.empty()) next = std::min(next, events_.begin()->first);
      if (auto w = jb_.next_wakeup()) {
        CHECK(*w > now);  // process() and poll left nothing due
        next = std::min(next, *w);
      }
      if (c_.nack) {
        if (auto w = nack_.next_wakeup()) {
          CHECK(*w > now);
          next = std::min(next, *w);
        }
      }
      now = std::max(next, now + TimeDelta::Micros(1));
    }
    result_.stats = jb_.stats();
    result_.nack = nack_.stats();
    return result_;
  }

 private:
  struct Event {
    enum Kind { kPacket, kNack, kPli } kind;
    std::optional<rtp::RtpPacket> packet;
    std::vector<uint16_t> seqs;
    bool retransmission = false;  // a packet sent again after a NACK
  };

  void schedule_feedback(Timestamp now, Event e) { events_.emplace(now + c_.one_way_delay, std::move(e)); }

  // The media path: loss (random or bursty), extra delay (reordering), duplication.
  void transmit(const rtp::RtpPacket& p, Timestamp now, bool retransmission = false) {
    if (in_burst_) {
      if (rng_.bernoulli(c_.burst_leave)) in_burst_ = false;
    } else if (rng_.bernoulli(c_.burst_enter)) {
      in_burst_ = true;
    }
    if (in_burst_ || rng_.bernoulli(c_.loss)) return;
    const int copies = rng_.bernoulli(c_.duplicate) ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      const TimeDelta extra = TimeDelta::Micros(rng_.uniform_int(0, c_.max_extra_delay.us()));
      events_.emplace(now + c_.one_way_delay + extra, Event{Event::kPacket, p, {}, retransmission});
    }
  }

  void send_frame(Timestamp now, int index) {
    const bool key = index == 0 || keyframe_pending_ || (c_.keyframe_interval > 0 && index % c_.keyframe_interval == 0);
    keyframe_pending_ = false;
    if (key) {
      ++result_.keyframes_sent;
      layer_index_ = 0;
    }
    // L1T3: TID 0 2 1 2; TL0PICIDX counts TID 0 frames; the first frame of each upper layer after
    // a base frame is a sync frame.
    static constexpr uint8_t kPattern[4] = {0, 2, 1, 2};
    const uint8_t tid = c_.temporal_layers ? kPattern[layer_index_ % 4] : 0;
    if (tid == 0 && !key) ++tl0_;
    const bool sync = tid > 0 && layer_index_ % 4 != 3;
    ++layer_index_;
    const size_t size = key ? 15000 : static_cast<size_t>(rng_.uniform_int(1500, 6000));
    std::vector<rtp::RtpPacket> packets;
    if (c_.codec == codecs::CodecType::kVp9) {
      std::vector<uint8_t> p_diffs;
      if (!key) {
        // Flexible-mode references matching the L1T3 pattern (or the previous picture).
        if (!c_.temporal_layers) p_diffs = {1};
        else if (tid == 0) p_diffs = {static_cast<uint8_t>(layer_index_ == 1 ? 1 : 4)};
        else if (tid == 1) p_diffs = {2};
        else p_diffs = {1};
        if (pid_distance_to_key_ < p_diffs[0]) p_diffs = {static_cast<uint8_t>(pid_distance_to_key_)};
      }
      packets = vp9_frame_packets({.first_seq = seq_, .timestamp = ts_, .picture_id = pid_, .keyframe = key,
                                   .p_diffs = p_diffs, .size = size});
    } else {
      Vp8FrameSpec spec{.first_seq = seq_, .timestamp = ts_, .keyframe = key, .size = size};
      if (c_.picture_ids) spec.picture_id = pid_;
      if (c_.temporal_layers) {
        spec.tl0_pic_idx = tl0_;
        spec.temporal_id = tid;
        spec.layer_sync = sync;
      }
      packets = vp8_frame_packets(spec);
    }
    pid_distance_to_key_ = key ? 1 : std::min(pid_distance_to_key_ + 1, 100);
    seq_ = static_cast<uint16_t>(seq_ + packets.size());
    pid_ = static_cast<uint16_t>((pid_ + 1) & 0x7FFF);
    ts_ += 3000;
    for (auto& p : packets) {
      transmit(p, now);
      history_[p.sequence_number()] = std::move(p);
    }
    while (history_.size() > 3000) history_.erase(history_.begin());
  }

  void handle(Event& e, Timestamp now) {
    switch (e.kind) {
      case Event::kPacket: {
        const uint16_t seq = e.packet->sequence_number();
        const auto r = jb_.insert(std::move(*e.packet), now);
        if (c_.nack) {
          const auto arrival = e.retransmission ? recovery::PacketArrival::kRetransmission : recovery::PacketArrival::kOriginal;
          if (nack_.on_packet(seq, r.keyframe_packet, arrival, now).keyframe_needed) keyframe_pending_ = true;
          if (r.keyframe_first_seq) nack_.clear_up_to(*r.keyframe_first_seq);
        }
        break;
      }
      case Event::kNack:
        for (uint16_t s : e.seqs) {
          auto it = history_.find(s);
          if (it != history_.end()) transmit(it->second, now, true);
        }
        break;
      case Event::kPli:
        keyframe_pending_ = true;
        break;
    }
  }

  SimConfig c_;
  Random rng_;
  VideoJitterBuffer jb_;
  recovery::NackGenerator nack_;
  DecodabilityChecker checker_;
  std::multimap<Timestamp, Event> events_;
  std::map<uint16_t, rtp::RtpPacket> history_;
  SimResult result_;
  bool in_burst_ = false;
  bool keyframe_pending_ = false;
  uint16_t seq_ = 65500;
  uint32_t ts_ = 0xFFFFFFFFu - 90000;  // wraps after one second
  uint16_t pid_ = 32700;               // 15-bit picture id wraps after 68 frames
  uint8_t tl0_ = 250;
  int layer_index_ = 0;
  int pid_distance_to_key_ = 1;
};

}  // namespace

TEST_CASE("video jitter buffer 30 fps with 5 percent loss and NACK at RTT 50 ms has no freeze") {
  SimConfig c;
  c.seed = 2024;
  c.frames = 600;  // 20 s
  c.loss = 0.05;
  c.max_extra_delay = TimeDelta::Millis(2);
  const SimResult r = Simulation(c).run();
  MESSAGE("released ", r.released, " frames, max gap ", r.max_release_gap.ms(), " ms, target delay ",
          r.stats.target_delay.ms(), " ms, NACKed packets ", r.nack.packets_requested, ", retries ",
          r.nack.retries, ", recovered ", r.nack.packets_recovered);
  CHECK(r.released == 600);
  CHECK(r.stats.frames_decoded == 600);
  CHECK(r.stats.frames_dropped == 0);
  CHECK(r.stats.freeze_count == 0);
  CHECK(r.stats.pli_count == 0);
  CHECK(r.keyframes_sent == 1);
  CHECK(r.nack.packets_recovered > 50);
  CHECK(r.max_release_gap < TimeDelta::Millis(183));
  // jitterBufferTargetDelay is a running sum of the target at each release, not the last target
  // times the count: the target moved during the call.
  CHECK(r.stats.jitter_buffer_target_delay == r.target_delay_sum);
  CHECK(r.max_target > r.min_target);
  CHECK(r.stats.jitter_buffer_target_delay.us() !=
        r.stats.target_delay.us() * static_cast<int64_t>(r.stats.jitter_buffer_emitted_count));
}

TEST_CASE("video jitter buffer without loss releases every frame smoothly") {
  SimConfig c;
  c.frames = 300;
  c.temporal_layers = true;
  const SimResult r = Simulation(c).run();
  CHECK(r.released == 300);
  CHECK(r.stats.freeze_count == 0);
  CHECK(r.stats.frames_dropped == 0);
  CHECK(r.max_release_gap < TimeDelta::Millis(40));
  CHECK(r.stats.jitter_buffer_emitted_count == 300);
  CHECK(r.stats.jitter_buffer_delay / 300 < TimeDelta::Millis(40));
}

TEST_CASE("video jitter buffer seeded property runs release only decodable frames within bounds") {
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    CAPTURE(seed);
    Random pick(seed * 7919);
    SimConfig c;
    c.seed = seed;
    c.frames = 240;
    c.codec = pick.bernoulli(0.3) ? codecs::CodecType::kVp9 : codecs::CodecType::kVp8;
    c.loss = pick.uniform(0.0, 0.2);
    c.burst_enter = pick.bernoulli(0.5) ? pick.uniform(0.0, 0.02) : 0.0;
    c.max_extra_delay = TimeDelta::Millis(pick.uniform_int(0, 100));
    c.duplicate = pick.uniform(0.0, 0.05);
    c.temporal_layers = pick.bernoulli(0.5);
    c.picture_ids = c.codec == codecs::CodecType::kVp9 || pick.bernoulli(0.8);
    c.nack = pick.bernoulli(0.8);
    c.keyframe_interval = pick.bernoulli(0.3) ? 60 : 0;
    CAPTURE(c.loss);
    CAPTURE(c.temporal_layers);
    const SimResult r = Simulation(c).run();  // the checker inside asserts decodability and order
    CHECK(r.max_packets_held <= PacketBufferConfig{}.max_capacity);
    CHECK(r.max_frames_held <= VideoJitterBufferConfig{}.max_frames + ReferenceFinder::kDefaultMaxStashed);
    // Without NACK a lossy link may never deliver a whole keyframe; with it, something gets through.
    if (c.nack) CHECK(r.released > 0);
    CHECK(r.stats.frames_decoded == r.released);
    CHECK(r.stats.frames_decoded + r.stats.frames_dropped <= r.stats.frames_received);
  }
}
