// Tests of the adaptive audio playout buffer: a synthetic Opus sender (speech-like signal, 20 ms
// frames, RFC 7587 packets) delivers over a seeded channel with jitter, loss, reordering and
// duplication, and the test pulls 10 ms every 10 ms of simulated time. Quantitative checks print
// their measured figures.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numbers>
#include <set>
#include <vector>

#include "tern/codecs/opus_encoder.h"
#include "tern/core/random.h"
#include "tern/jitterbuffer/audio/audio_jitter_buffer.h"
#include "tern/rtp/payload/opus_payload.h"
#include "tern/rtp/rtp_packet_builder.h"

using namespace tern;
using namespace tern::jitterbuffer;

namespace {

constexpr int kRate = 48000;
constexpr int kFrame = 960;  // 20 ms

// Voiced-speech-like: a gliding pitch with decaying harmonics under a syllable envelope.
class SpeechSource {
 public:
  codecs::AudioFrame next(bool silent) {
    codecs::AudioFrame f = codecs::AudioFrame::Silence(kRate, 1, kFrame);
    for (int i = 0; i < kFrame; ++i, ++n_) {
      const double t = static_cast<double>(n_) / kRate;
      const double f0 = 150.0 + 40.0 * std::sin(2 * std::numbers::pi * 0.7 * t);
      phase_ += 2 * std::numbers::pi * f0 / kRate;
      double v = 0;
      for (int h = 1; h <= 6; ++h) v += std::sin(phase_ * h) / h;
      const double env = std::abs(std::sin(2 * std::numbers::pi * 1.5 * t));  // syllables with pauses
      f.samples[static_cast<size_t>(i)] = silent ? 0 : static_cast<int16_t>(std::lround(5000.0 * env * v));
    }
    return f;
  }

 private:
  int64_t n_ = 0;
  double phase_ = 0;
};

struct Channel {
  double jitter_ms = 30;        // extra delay uniform in [0, jitter_ms)
  double loss = 0;              // independent loss probability
  double burst_start = 0;       // probability a burst of 2..5 losses starts
  double reorder = 0;           // probability of an extra 0..100 ms delay
  double duplicate = 0;         // probability of a second copy
  double drift_ppm = 0;         // sender clock faster (+) or slower (-) than the receiver's
};

struct SenderOptions {
  bool fec = false;
  bool dtx = false;             // 2 s silences every 6 s; DTX frames mostly not sent
  uint16_t first_seq = 0;
  uint32_t first_ts = 0;
  uint32_t ssrc = 0x1234;
};

struct Delivery {
  Timestamp arrival;
  rtp::RtpPacket packet;
  double jitter_ms = 0;
};

rtp::RtpPacket MakePacket(uint16_t seq, uint32_t ts, uint32_t ssrc, std::span<const uint8_t> payload, bool marker) {
  rtp::RtpPacketBuilder b;
  b.set_payload_type(111).set_sequence_number(seq).set_timestamp(ts).set_ssrc(ssrc).set_marker(marker).set_payload(payload);
  auto p = b.build();
  REQUIRE(p.ok());
  return std::move(p).value();
}

// Encodes `seconds` of audio and schedules every packet's arrival(s), sorted by arrival time.
std::vector<Delivery> Schedule(double seconds, const Channel& ch, const SenderOptions& opt, uint64_t seed) {
  codecs::AudioEncoderConfig ec;
  ec.bitrate = DataRate::KilobitsPerSec(32);
  ec.complexity = 5;
  ec.inband_fec = opt.fec;
  ec.packet_loss_percent = opt.fec ? 20 : 0;
  ec.dtx = opt.dtx;
  auto enc = codecs::OpusEncoder::Create(ec);
  REQUIRE(enc.ok());
  Random rng(seed);
  SpeechSource source;
  std::vector<Delivery> out;
  const int frames = static_cast<int>(seconds * 50);
  int burst_left = 0;
  bool was_silent = false;
  int dtx_run = 0;
  uint16_t seq = opt.first_seq;
  for (int i = 0; i < frames; ++i) {
    const bool silent = opt.dtx && (i / 100) % 3 == 2;  // 2 s talk, 1 s silence
    auto pkt = (*enc)->encode(source.next(silent));
    REQUIRE(pkt.ok());
    const uint32_t ts = opt.first_ts + static_cast<uint32_t>(i * kFrame);
    if (pkt->is_dtx) {
      // Like libwebrtc: the first DTX frame of a silence goes out (it tells the receiver the
      // silence is intended), later ones only every 400 ms.
      const bool send = !was_silent || ++dtx_run % 20 == 0;
      was_silent = true;
      if (!send) continue;
    } else {
      dtx_run = 0;
    }
    const bool marker = was_silent && !pkt->is_dtx;
    rtp::RtpPacket rtp_packet = MakePacket(seq++, ts, opt.ssrc, pkt->data, marker);
    if (!pkt->is_dtx) was_silent = false;
    bool lost = rng.bernoulli(ch.loss);
    if (burst_left > 0) {
      lost = true;
      --burst_left;
    } else if (rng.bernoulli(ch.burst_start)) {
      lost = true;
      burst_left = static_cast<int>(rng.uniform_int(1, 4));
    }
    if (lost) continue;
    const double send_ms = i * 20.0 / (1.0 + ch.drift_ppm * 1e-6);
    double jitter = rng.uniform(0, ch.jitter_ms);
    if (rng.bernoulli(ch.reorder)) jitter += rng.uniform(0, 100);
    out.push_back({Timestamp::Micros(static_cast<int64_t>((send_ms + 40 + jitter) * 1000)), rtp_packet, jitter});
    if (rng.bernoulli(ch.duplicate)) {
      out.push_back({Timestamp::Micros(static_cast<int64_t>((send_ms + 40 + jitter + rng.uniform(0, 50)) * 1000)),
                     rtp_packet, jitter});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Delivery& a, const Delivery& b) { return a.arrival < b.arrival; });
  return out;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

struct RunResult {
  AudioJitterBufferStats at_1s;
  AudioJitterBufferStats end;
  AudioJitterBufferStats at_half;
  std::vector<PlayoutOperation> ops;
  std::vector<TimeDelta> delays;   // current_delay after each pull
  std::vector<TimeDelta> targets;  // target_delay after each pull
  std::vector<int16_t> audio;
  size_t max_memory = 0;
  size_t max_packets = 0;
};

// Runs the buffer over the deliveries, pulling 10 ms every 10 ms for `seconds`.
RunResult Run(AudioJitterBuffer& jb, const std::vector<Delivery>& deliveries, double seconds, bool keep_audio = false) {
  RunResult r;
  size_t next = 0;
  const int pulls = static_cast<int>(seconds * 100);
  for (int k = 0; k < pulls; ++k) {
    const Timestamp now = Timestamp::Millis(10 * k);
    while (next < deliveries.size() && deliveries[next].arrival <= now) {
      jb.insert(deliveries[next].packet, deliveries[next].arrival);
      ++next;
    }
    PlayoutFrame f = jb.pull_10ms(now);
    REQUIRE(f.frame.samples_per_channel == 480);
    REQUIRE(f.frame.samples.size() == 480 * static_cast<size_t>(f.frame.channels));
    r.ops.push_back(f.operation);
    r.delays.push_back(jb.current_delay());
    r.targets.push_back(jb.target_delay());
    if (keep_audio) r.audio.insert(r.audio.end(), f.frame.samples.begin(), f.frame.samples.end());
    r.max_memory = std::max(r.max_memory, jb.memory_bytes());
    r.max_packets = std::max(r.max_packets, jb.buffered_packets());
    if (k == 99) r.at_1s = jb.stats();
    if (k == pulls / 2) r.at_half = jb.stats();
  }
  r.end = jb.stats();
  return r;
}

std::unique_ptr<AudioJitterBuffer> MakeBuffer(AudioJitterBufferConfig c = {}) {
  auto jb = AudioJitterBuffer::Create(c);
  REQUIRE(jb.ok());
  return std::move(jb).value();
}

double ConcealedFraction(const AudioJitterBufferStats& from, const AudioJitterBufferStats& to) {
  const double emitted = static_cast<double>(to.jitter_buffer_emitted_count - from.jitter_buffer_emitted_count);
  return emitted > 0 ? static_cast<double>(to.concealed_samples - from.concealed_samples) / emitted : 1.0;
}

double AverageDelayMs(const AudioJitterBufferStats& from, const AudioJitterBufferStats& to) {
  const double emitted = static_cast<double>(to.jitter_buffer_emitted_count - from.jitter_buffer_emitted_count);
  return emitted > 0 ? 1000.0 * (to.jitter_buffer_delay_s - from.jitter_buffer_delay_s) / emitted : 0;
}

std::vector<double> Jitters(const std::vector<Delivery>& d) {
  std::vector<double> v;
  for (const auto& x : d) v.push_back(x.jitter_ms);
  return v;
}

// A decoder that needs no codec: each "packet" is a TOC byte (SILK NB 20 ms, code 0) and a 32-bit
// index; decoding logs the index and outputs that value, so tests see decode order exactly.
class IndexDecoder final : public codecs::AudioDecoder {
 public:
  explicit IndexDecoder(std::vector<int64_t>* log) : log_(log) {}
  Result<codecs::DecodedAudio> decode(std::span<const uint8_t> p) override {
    if (p.size() != 5) return Error{"index decoder: bad packet"};
    const int64_t index = (int64_t{p[1]} << 24) | (int64_t{p[2]} << 16) | (int64_t{p[3]} << 8) | p[4];
    log_->push_back(index);
    return Make(static_cast<int16_t>(index % 20000 + 1), kFrame, codecs::AudioDecodeKind::kNormal);
  }
  Result<codecs::DecodedAudio> conceal(TimeDelta d) override {
    return Make(0, static_cast<int>(d.us() * 48 / 1000), codecs::AudioDecodeKind::kConcealment);
  }
  Result<codecs::DecodedAudio> decode_fec(std::span<const uint8_t>, TimeDelta d) override { return conceal(d); }
  void reset() override {}
  const codecs::AudioDecoderConfig& config() const override { return config_; }

 private:
  static codecs::DecodedAudio Make(int16_t value, int samples, codecs::AudioDecodeKind kind) {
    codecs::DecodedAudio out;
    out.kind = kind;
    out.frame = codecs::AudioFrame::Silence(kRate, 1, samples);
    std::fill(out.frame.samples.begin(), out.frame.samples.end(), value);
    return out;
  }
  std::vector<int64_t>* log_;
  codecs::AudioDecoderConfig config_;
};

// Like IndexDecoder, but each packet decodes to its 20 ms of one continuous 200 Hz tone, so any
// discontinuity in the output comes from the buffer's own splicing.
class ToneDecoder final : public codecs::AudioDecoder {
 public:
  Result<codecs::DecodedAudio> decode(std::span<const uint8_t> p) override {
    if (p.size() != 5) return Error{"tone decoder: bad packet"};
    const int64_t index = (int64_t{p[1]} << 24) | (int64_t{p[2]} << 16) | (int64_t{p[3]} << 8) | p[4];
    codecs::DecodedAudio out;
    out.frame = codecs::AudioFrame::Silence(kRate, 1, kFrame);
    for (int i = 0; i < kFrame; ++i) {
      const double t = static_cast<double>(index * kFrame + i) / kRate;
      out.frame.samples[static_cast<size_t>(i)] = static_cast<int16_t>(std::lround(8000 * std::sin(2 * std::numbers::pi * 200 * t)));
    }
    return out;
  }
  Result<codecs::DecodedAudio> conceal(TimeDelta d) override {
    codecs::DecodedAudio out;
    out.kind = codecs::AudioDecodeKind::kConcealment;
    out.frame = codecs::AudioFrame::Silence(kRate, 1, static_cast<int>(d.us() * 48 / 1000));
    return out;
  }
  Result<codecs::DecodedAudio> decode_fec(std::span<const uint8_t>, TimeDelta d) override { return conceal(d); }
  void reset() override {}
  const codecs::AudioDecoderConfig& config() const override { return config_; }

 private:
  codecs::AudioDecoderConfig config_;
};

std::vector<uint8_t> IndexPayload(int64_t index) {
  return {0x08, static_cast<uint8_t>(index >> 24), static_cast<uint8_t>(index >> 16), static_cast<uint8_t>(index >> 8),
          static_cast<uint8_t>(index)};
}

}  // namespace

TEST_CASE("audio jitter buffer rejects invalid configurations") {
  AudioJitterBufferConfig c;
  c.sample_rate_hz = 44100;
  CHECK_FALSE(AudioJitterBuffer::Create(c).ok());
  c = {};
  c.channels = 3;
  CHECK_FALSE(AudioJitterBuffer::Create(c).ok());
  c = {};
  c.min_delay = TimeDelta::Millis(500);
  c.max_delay = TimeDelta::Millis(100);
  CHECK_FALSE(AudioJitterBuffer::Create(c).ok());
  c = {};
  c.max_packets = 1;
  CHECK_FALSE(AudioJitterBuffer::Create(c).ok());
  c = {};
  c.delay_quantile = 1.5;
  CHECK_FALSE(AudioJitterBuffer::Create(c).ok());
  c = {};
  c.channels = 2;
  std::vector<int64_t> log;
  CHECK_FALSE(AudioJitterBuffer::Create(c, std::make_unique<IndexDecoder>(&log)).ok());  // mono decoder
  CHECK(AudioJitterBuffer::Create(AudioJitterBufferConfig{}).ok());
}

TEST_CASE("audio jitter buffer plays muted silence before the first packet and counts nothing") {
  auto jb = MakeBuffer();
  for (int k = 0; k < 20; ++k) {
    PlayoutFrame f = jb->pull_10ms(Timestamp::Millis(10 * k));
    CHECK(f.operation == PlayoutOperation::kMuted);
    CHECK(f.frame.samples_per_channel == 480);
    CHECK(std::all_of(f.frame.samples.begin(), f.frame.samples.end(), [](int16_t s) { return s == 0; }));
  }
  CHECK(jb->stats().concealed_samples == 0);
  CHECK(jb->stats().jitter_buffer_emitted_count == 20 * 480);
}

TEST_CASE("audio jitter buffer with 30 ms jitter and no loss conceals under 1 percent") {
  const auto d = Schedule(21, Channel{.jitter_ms = 30}, {}, 11);
  auto jb = MakeBuffer();
  const RunResult r = Run(*jb, d, 20);
  const double concealed = ConcealedFraction(r.at_1s, r.end);
  const double p97 = Percentile(Jitters(d), 0.97);
  const double avg_delay = AverageDelayMs(r.at_half, r.end);
  MESSAGE("0% loss, 30 ms jitter: concealed " << concealed * 100 << " % after 1 s; p97 jitter " << p97
          << " ms; target " << jb->target_delay().ms() << " ms; mean buffer delay (2nd half) " << avg_delay
          << " ms; bound " << 2 * p97 + 20 << " ms; accelerate " << r.end.removed_samples_for_acceleration
          << " / preemptive " << r.end.inserted_samples_for_deceleration << " samples");
  CHECK(concealed < 0.01);
  CHECK(avg_delay <= 2 * p97 + 20);
  CHECK(r.end.packets_discarded <= 2);
  CHECK(r.end.packets_received + 60 >= d.size());
}

TEST_CASE("audio jitter buffer with 5 percent loss and Opus FEC conceals under 2 percent") {
  const auto d = Schedule(21, Channel{.jitter_ms = 30, .loss = 0.05}, {.fec = true}, 12);
  auto jb = MakeBuffer();
  const RunResult r = Run(*jb, d, 20);
  const double concealed = ConcealedFraction(r.at_1s, r.end);
  MESSAGE("5% loss + FEC, 30 ms jitter: concealed " << concealed * 100 << " % after 1 s; FEC recoveries "
          << r.end.fec_packets_received << "; concealment events " << r.end.concealment_events << "; packets "
          << r.end.packets_received);
  CHECK(concealed < 0.02);
  CHECK(r.end.fec_packets_received > 0);
}

TEST_CASE("audio jitter buffer rebuilds a lone loss from FEC at once even when it runs at its minimum delay") {
  // A queue building up on the path (each packet 0.5 ms later than the last for 4 s) raises the
  // target while it drains the buffer, so lost packets fall due while the buffer is short and the
  // next packet has only just come. The FEC copy must play then: no 10 ms of concealment first.
  auto d = Schedule(21, Channel{.jitter_ms = 1, .loss = 0.03}, {.fec = true}, 14);
  for (Delivery& x : d) {
    const double sent_ms = x.packet.timestamp() / 48.0;
    const double queue_ms = std::clamp((sent_ms - 4000) / 40, 0.0, 100.0);
    x.arrival = x.arrival + TimeDelta::Micros(static_cast<int64_t>(queue_ms * 1000));
  }
  auto jb = MakeBuffer();
  const RunResult r = Run(*jb, d, 20);
  std::set<uint32_t> arrived;
  for (const Delivery& x : d) arrived.insert(x.packet.timestamp());
  uint64_t lone = 0;  // lost, with both neighbours arrived, due well before the run ends
  for (uint32_t i = 1; i < 19 * 50; ++i) {
    const uint32_t ts = i * kFrame;
    if (!arrived.contains(ts) && arrived.contains(ts - kFrame) && arrived.contains(ts + kFrame)) ++lone;
  }
  MESSAGE("3% loss + FEC, 100 ms queue ramp: lone losses " << lone << ", FEC recoveries " << r.end.fec_packets_received
          << ", concealment events " << r.end.concealment_events << ", concealed samples " << r.end.concealed_samples);
  REQUIRE(lone >= 15);
  CHECK(r.end.fec_packets_received >= lone);
  // What is left: the back-to-back losses and the ramp's underruns (4; waiting for a late original
  // before using FEC made it 8).
  CHECK(r.end.concealment_events <= 5);
}

TEST_CASE("audio jitter buffer delay settles within twice the jitter p97 plus a frame") {
  for (double jitter : {10.0, 60.0, 120.0}) {
    CAPTURE(jitter);
    const auto d = Schedule(16, Channel{.jitter_ms = jitter}, {}, 13);
    auto jb = MakeBuffer();
    const RunResult r = Run(*jb, d, 15);
    const double p97 = Percentile(Jitters(d), 0.97);
    const double avg_delay = AverageDelayMs(r.at_half, r.end);
    MESSAGE("jitter " << jitter << " ms: p97 " << p97 << " ms, target " << jb->target_delay().ms()
            << " ms, mean buffer delay " << avg_delay << " ms, concealed "
            << ConcealedFraction(r.at_1s, r.end) * 100 << " %");
    CHECK(avg_delay <= 2 * p97 + 20);
    CHECK(ConcealedFraction(r.at_half, r.end) < 0.01);
  }
}

TEST_CASE("audio jitter buffer target reacts to a jitter step within a second and relaxes after its release window") {
  // 10 ms jitter for 10 s, 100 ms for 5 s, then 10 ms again.
  auto calm = Schedule(25, Channel{.jitter_ms = 10}, {}, 14);
  auto rough = Schedule(25, Channel{.jitter_ms = 100}, {}, 15);
  std::vector<Delivery> d;
  for (size_t i = 0; i < calm.size(); ++i) {
    const double sent_ms = static_cast<double>(i) * 20;
    d.push_back(sent_ms >= 10000 && sent_ms < 15000 ? rough[i] : calm[i]);
  }
  std::stable_sort(d.begin(), d.end(), [](const Delivery& a, const Delivery& b) { return a.arrival < b.arrival; });
  auto jb = MakeBuffer();
  const RunResult r = Run(*jb, d, 25);
  const TimeDelta before = r.targets[999];
  const TimeDelta after_1s = r.targets[1099];
  const TimeDelta at_15s = r.targets[1499];
  const TimeDelta after_drop_2s = r.targets[1699];
  MESSAGE("jitter step 10 -> 100 -> 10 ms: target " << before.ms() << " ms before, " << after_1s.ms()
          << " ms 1 s after the step up, " << at_15s.ms() << " ms at the step down, " << after_drop_2s.ms()
          << " ms 2 s later, " << r.targets.back().ms() << " ms after 10 s");
  CHECK(after_1s >= TimeDelta::Millis(100));
  CHECK(after_drop_2s >= at_15s - TimeDelta::Millis(20));  // holds through the release window
  // ... and then lets go (DelayManagerConfig::release_window): the histogram alone kept the five
  // rough seconds above its 3% tail for the rest of this run.
  CHECK(r.targets.back() <= before + TimeDelta::Millis(20));
}

TEST_CASE("audio jitter buffer keeps its target through spikes that recur within the release window") {
  // 10 ms jitter, with a 300 ms rough patch (100 ms jitter) every 2 s from 5 s on: each patch
  // renews the release window's maximum, so the target stays up between them.
  auto calm = Schedule(25, Channel{.jitter_ms = 10}, {}, 16);
  auto rough = Schedule(25, Channel{.jitter_ms = 100}, {}, 17);
  std::vector<Delivery> d;
  for (size_t i = 0; i < calm.size(); ++i) {
    const int64_t sent_ms = static_cast<int64_t>(i) * 20;
    d.push_back(sent_ms >= 5000 && sent_ms % 2000 < 300 ? rough[i] : calm[i]);
  }
  std::stable_sort(d.begin(), d.end(), [](const Delivery& a, const Delivery& b) { return a.arrival < b.arrival; });
  auto jb = MakeBuffer();
  const RunResult r = Run(*jb, d, 25);
  const TimeDelta before = r.targets[240];
  TimeDelta lowest_late = TimeDelta::PlusInfinity();
  for (size_t i = 1500; i < r.targets.size(); ++i) lowest_late = std::min(lowest_late, r.targets[i]);
  MESSAGE("recurring spikes: target " << before.ms() << " ms before them, lowest " << lowest_late.ms()
          << " ms from 15 s on");
  // Released between the patches, it would come back to `before` (within a bucket).
  CHECK(lowest_late >= before + TimeDelta::Millis(25));
}

TEST_CASE("audio jitter buffer absorbs plus and minus 1000 ppm clock drift over 60 s") {
  for (double ppm : {1000.0, -1000.0}) {
    CAPTURE(ppm);
    const auto d = Schedule(60, Channel{.jitter_ms = 20, .drift_ppm = ppm}, {}, 16);
    auto jb = MakeBuffer();
    const RunResult r = Run(*jb, d, 60);
    TimeDelta max_delay_late = TimeDelta::Zero();
    for (size_t k = 3000; k < r.delays.size(); ++k) max_delay_late = std::max(max_delay_late, r.delays[k]);
    const double first = AverageDelayMs(r.at_1s, r.at_half);
    const double second = AverageDelayMs(r.at_half, r.end);
    MESSAGE("drift " << ppm << " ppm: mean delay " << first << " ms (1..30 s) then " << second
            << " ms (30..60 s), max " << max_delay_late.ms() << " ms, concealed "
            << ConcealedFraction(r.at_1s, r.end) * 100 << " %, accelerate " << r.end.removed_samples_for_acceleration
            << ", preemptive " << r.end.inserted_samples_for_deceleration << " samples");
    CHECK(std::abs(second - first) < 25);  // no growth, no starvation
    CHECK(max_delay_late < TimeDelta::Millis(200));
    CHECK(ConcealedFraction(r.at_1s, r.end) < 0.01);
  }
}

TEST_CASE("audio jitter buffer recovers from an RTP timestamp jump") {
  auto d = Schedule(6, Channel{.jitter_ms = 10}, {}, 17);
  for (auto& x : d) {
    if (x.arrival > Timestamp::Seconds(3)) x.packet.set_timestamp(x.packet.timestamp() + 48000 * 100);  // +100 s
  }
  auto jb = MakeBuffer();
  const RunResult r = Run(*jb, d, 6);
  CHECK(r.end.timestamp_jumps == 1);
  int normal_last_2s = 0;
  for (size_t k = 400; k < 600; ++k) normal_last_2s += r.ops[k] != PlayoutOperation::kExpand && r.ops[k] != PlayoutOperation::kMuted;
  MESSAGE("timestamp jump: " << normal_last_2s << " of the last 200 frames decoded, discarded "
          << r.end.packets_discarded);
  CHECK(normal_last_2s >= 195);
  CHECK(r.delays.back() < TimeDelta::Millis(150));
}

TEST_CASE("audio jitter buffer follows an SSRC change") {
  auto a = Schedule(3, Channel{.jitter_ms = 10}, {.first_seq = 100, .first_ts = 5000, .ssrc = 1}, 18);
  auto b = Schedule(3, Channel{.jitter_ms = 10}, {.first_seq = 40000, .first_ts = 77777777, .ssrc = 2}, 19);
  std::vector<Delivery> d = a;
  for (auto x : b) {
    x.arrival += TimeDelta::Seconds(3);
    d.push_back(x);
  }
  auto jb = MakeBuffer();
  const RunResult r = Run(*jb, d, 6);
  CHECK(r.end.ssrc_changes == 1);
  int decoded_tail = 0;
  for (size_t k = 400; k < 600; ++k) decoded_tail += r.ops[k] != PlayoutOperation::kExpand && r.ops[k] != PlayoutOperation::kMuted;
  CHECK(decoded_tail >= 195);
  CHECK(r.end.concealed_samples < 48000 / 5);
}

TEST_CASE("audio jitter buffer orders reordered packets and drops duplicates and late ones") {
  std::vector<int64_t> log;
  AudioJitterBufferConfig c;
  c.time_stretching = false;
  auto created = AudioJitterBuffer::Create(c, std::make_unique<IndexDecoder>(&log));
  REQUIRE(created.ok());
  auto& jb = **created;
  // Packets 0..59, 20 ms apart, delivered in pairs swapped; 7 duplicated; 40 held back 300 ms.
  std::vector<Delivery> d;
  for (int i = 0; i < 60; ++i) {
    const int slot = i % 2 == 0 ? i + 1 : i - 1;
    const auto payload = IndexPayload(i);
    auto p = MakePacket(static_cast<uint16_t>(65500 + i), static_cast<uint32_t>(4294960000u + static_cast<uint32_t>(i) * 960),
                        9, payload, false);
    Timestamp at = Timestamp::Millis(20 * slot + 5);
    if (i == 40) at += TimeDelta::Millis(300);
    d.push_back({at, p, 0});
    if (i == 7) d.push_back({at + TimeDelta::Millis(3), p, 0});
  }
  std::stable_sort(d.begin(), d.end(), [](const Delivery& a, const Delivery& b) { return a.arrival < b.arrival; });
  const RunResult r = Run(jb, d, 1.6);
  CHECK(r.end.duplicate_packets == 1);
  CHECK(r.end.packets_discarded == 1);  // packet 40 came after its turn
  CHECK(std::is_sorted(log.begin(), log.end()));
  CHECK(std::adjacent_find(log.begin(), log.end()) == log.end());
  CHECK(log.size() == 59);
  CHECK(r.end.concealment_events >= 1);
}

TEST_CASE("audio jitter buffer seeded property test never reorders and stays bounded") {
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    CAPTURE(seed);
    Random rng(seed * 7919);
    std::vector<int64_t> log;
    AudioJitterBufferConfig c;
    c.max_packets = static_cast<size_t>(rng.uniform_int(4, 60));
    c.max_bytes = static_cast<size_t>(rng.uniform_int(1500, 4000));
    c.max_delay = TimeDelta::Millis(rng.uniform_int(100, 1000));
    auto created = AudioJitterBuffer::Create(c, std::make_unique<IndexDecoder>(&log));
    REQUIRE(created.ok());
    auto& jb = **created;
    const double loss = rng.uniform(0, 0.3);
    const double burst = rng.uniform(0, 0.05);
    const double reorder = rng.uniform(0, 0.3);
    const double dup = rng.uniform(0, 0.2);
    const double jitter = rng.uniform(0, 120);
    const uint16_t seq0 = static_cast<uint16_t>(65536 - rng.uniform_int(1, 300));
    const uint32_t ts0 = static_cast<uint32_t>(4294967296 - rng.uniform_int(1, 300000));
    std::vector<Delivery> d;
    int burst_left = 0;
    for (int i = 0; i < 1000; ++i) {
      bool lost = rng.bernoulli(loss);
      if (burst_left > 0) {
        lost = true;
        --burst_left;
      } else if (rng.bernoulli(burst)) {
        burst_left = static_cast<int>(rng.uniform_int(1, 10));
      }
      if (lost) continue;
      const auto payload = IndexPayload(i);
      auto p = MakePacket(static_cast<uint16_t>(seq0 + i), ts0 + static_cast<uint32_t>(i) * 960, 5, payload, false);
      double ms = 20.0 * i + rng.uniform(0, jitter);
      if (rng.bernoulli(reorder)) ms += rng.uniform(0, 100);
      d.push_back({Timestamp::Micros(static_cast<int64_t>(ms * 1000)), p, 0});
      if (rng.bernoulli(dup)) d.push_back({Timestamp::Micros(static_cast<int64_t>((ms + rng.uniform(0, 100)) * 1000)), p, 0});
    }
    std::stable_sort(d.begin(), d.end(), [](const Delivery& a, const Delivery& b) { return a.arrival < b.arrival; });
    const RunResult r = Run(jb, d, 21);
    CHECK(std::adjacent_find(log.begin(), log.end(), [](int64_t a, int64_t b) { return b <= a; }) == log.end());
    CHECK(r.max_packets <= c.max_packets);
    // Encoded bytes within max_bytes, bookkeeping per packet, decoded audio below 150 ms.
    CHECK(r.max_memory <= c.max_bytes + c.max_packets * 160 + 150 * 48 * 2 + 4096);
    CHECK(r.end.jitter_buffer_emitted_count == 2100 * 480);
  }
}

TEST_CASE("audio jitter buffer survives garbage payloads and floods within its bounds") {
  AudioJitterBufferConfig c;
  c.max_packets = 50;
  c.max_bytes = 8000;
  auto jb = MakeBuffer(c);
  Random rng(99);
  for (int i = 0; i < 5000; ++i) {
    std::vector<uint8_t> payload(static_cast<size_t>(rng.uniform_int(0, 400)));
    for (auto& b : payload) b = static_cast<uint8_t>(rng.next_u32());
    auto p = MakePacket(static_cast<uint16_t>(rng.next_u32()), rng.next_u32(), rng.bernoulli(0.01) ? 2 : 1, payload, false);
    jb->insert(p, Timestamp::Millis(i));
    CHECK(jb->buffered_packets() <= 50);
    if (i % 10 == 0) {
      PlayoutFrame f = jb->pull_10ms(Timestamp::Millis(i));
      CHECK(f.frame.samples_per_channel == 480);
    }
  }
  CHECK(jb->memory_bytes() < 8000 + 50 * 160 + 150 * 48 * 2 + 4096);
}

TEST_CASE("audio jitter buffer plays comfort noise in DTX gaps") {
  const auto d = Schedule(9, Channel{.jitter_ms = 20}, {.dtx = true}, 21);
  auto jb = MakeBuffer();
  const RunResult r = Run(*jb, d, 9.2);
  int cn = 0;
  for (auto op : r.ops) cn += op == PlayoutOperation::kComfortNoise;
  MESSAGE("DTX: " << cn << " comfort-noise frames, silent concealed " << r.end.silent_concealed_samples
          << " of " << r.end.concealed_samples << " concealed samples, discarded " << r.end.packets_discarded);
  CHECK(cn > 100);
  CHECK(r.end.silent_concealed_samples > 0);
  CHECK(r.end.packets_discarded <= 2);
  // Talk spurts after the silences are played, not skipped.
  int normal_in_third_spurt = 0;
  for (size_t k = 620; k < 980; ++k) normal_in_third_spurt += r.ops[k] == PlayoutOperation::kNormal;
  CHECK(normal_in_third_spurt > 250);
}

TEST_CASE("audio jitter buffer stereo output at 16 kHz keeps 10 ms frames") {
  AudioJitterBufferConfig c;
  c.sample_rate_hz = 16000;
  c.channels = 2;
  auto jb = MakeBuffer(c);
  const auto d = Schedule(2, Channel{.jitter_ms = 20}, {}, 22);
  size_t next = 0;
  for (int k = 0; k < 200; ++k) {
    const Timestamp now = Timestamp::Millis(10 * k);
    while (next < d.size() && d[next].arrival <= now) jb->insert(d[next++].packet, now);
    PlayoutFrame f = jb->pull_10ms(now);
    CHECK(f.frame.samples_per_channel == 160);
    CHECK(f.frame.samples.size() == 320);
  }
  CHECK(jb->stats().concealed_samples < 16000 / 10);
}

TEST_CASE("audio jitter buffer time stretching keeps the waveform continuous at splice points") {
  for (double ppm : {3000.0, -3000.0}) {
    CAPTURE(ppm);
    auto created = AudioJitterBuffer::Create({}, std::make_unique<ToneDecoder>());
    REQUIRE(created.ok());
    auto& jb = **created;
    Random rng(23);
    std::vector<Delivery> d;
    for (int i = 0; i < 1600; ++i) {
      const auto payload = IndexPayload(i);
      const double ms = i * 20.0 / (1.0 + ppm * 1e-6) + rng.uniform(0, 30);
      d.push_back({Timestamp::Micros(static_cast<int64_t>(ms * 1000)), MakePacket(static_cast<uint16_t>(i), static_cast<uint32_t>(i * kFrame), 3, payload, false), 0});
    }
    std::stable_sort(d.begin(), d.end(), [](const Delivery& a, const Delivery& b) { return a.arrival < b.arrival; });
    const RunResult r = Run(jb, d, 30, true);
    REQUIRE(r.end.concealed_samples == 0);
    if (ppm > 0) CHECK(r.end.removed_samples_for_acceleration > 48 * 60);
    if (ppm < 0) CHECK(r.end.inserted_samples_for_deceleration > 48 * 60);
    // Skip the muted start; after that, no step beyond the tone's own steepest (~210 per sample).
    size_t first = 0;
    while (first < r.audio.size() && r.audio[first] == 0) ++first;
    int max_step = 0;
    for (size_t i = first + 1; i < r.audio.size(); ++i) max_step = std::max(max_step, std::abs(r.audio[i] - r.audio[i - 1]));
    MESSAGE("splice continuity at " << ppm << " ppm: max sample step " << max_step << " (tone alone: 210), removed "
            << r.end.removed_samples_for_acceleration << ", inserted " << r.end.inserted_samples_for_deceleration);
    CHECK(max_step <= 231);
  }
}

TEST_CASE("audio jitter buffer playout operations: concealment and received audio split every operation") {
  using tern::jitterbuffer::PlayoutOperation;
  // Every operation is concealment, received audio, or the silence before the first packet:
  // exactly one of them (stats count concealment; capture-to-playout is given for received audio).
  const PlayoutOperation all[] = {PlayoutOperation::kNormal,           PlayoutOperation::kExpand,
                                  PlayoutOperation::kFec,              PlayoutOperation::kAccelerate,
                                  PlayoutOperation::kPreemptiveExpand, PlayoutOperation::kComfortNoise,
                                  PlayoutOperation::kMuted};
  int concealment = 0, received = 0;
  for (PlayoutOperation op : all) {
    CHECK_FALSE((tern::jitterbuffer::is_concealment(op) && tern::jitterbuffer::plays_received_audio(op)));
    concealment += tern::jitterbuffer::is_concealment(op);
    received += tern::jitterbuffer::plays_received_audio(op);
  }
  CHECK(concealment == 2);  // expand, comfort noise
  CHECK(received == 4);     // normal, FEC, accelerate, preemptive expand
  CHECK_FALSE(tern::jitterbuffer::plays_received_audio(PlayoutOperation::kMuted));
  CHECK_FALSE(tern::jitterbuffer::is_concealment(PlayoutOperation::kMuted));
}
