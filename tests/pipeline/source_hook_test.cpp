// Send streams pulling from a media::VideoSource / AudioSource (file sources) instead of the
// synthetic ones, the decoded picture and played samples lent to the render/playout listeners, and
// VP9 in non-flexible mode end to end.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "call_fixture.h"
#include "tern/media/app_source.h"
#include "tern/media/wav_file.h"
#include "tern/media/y4m_file.h"

namespace tern::pipeline::testing {
namespace {

constexpr int kFrames = 30;

// kFrames flat pictures, frame i with luma 40 + 5 i.
media::Y4mData flat_clip() {
  media::Y4mData d;
  d.width = 320;
  d.height = 240;
  d.fps_num = 30;
  d.fps_den = 1;
  for (int i = 0; i < kFrames; ++i) {
    codecs::VideoFrame f = codecs::VideoFrame::Allocate(d.width, d.height);
    std::fill(f.y.begin(), f.y.end(), static_cast<uint8_t>(40 + 5 * i));
    std::fill(f.u.begin(), f.u.end(), uint8_t{128});
    std::fill(f.v.begin(), f.v.end(), uint8_t{128});
    d.frames.push_back(std::move(f));
  }
  return d;
}

// One second of a 1 kHz tone at 48 kHz stereo.
media::WavData tone() {
  media::WavData w;
  w.sample_rate_hz = 48000;
  w.channels = 2;
  for (int n = 0; n < 48000; ++n) {
    const auto s = static_cast<int16_t>(10000 * std::sin(2 * 3.14159265358979 * 1000 * n / 48000.0));
    w.samples.push_back(s);
    w.samples.push_back(s);
  }
  return w;
}

double mean_luma(const codecs::VideoFrame& f) {
  double sum = 0;
  for (int y = 0; y < f.height; ++y) {
    for (int x = 0; x < f.width; ++x) sum += f.y[static_cast<size_t>(y * f.stride_y + x)];
  }
  return sum / (f.width * f.height);
}

struct Lent : VideoRenderListener, AudioPlayoutListener {
  int pictures = 0, in_order = 0, matching = 0, blocks = 0, loud_blocks = 0;
  double last_luma = 0;
  void on_video_frame_rendered(const RenderedVideoFrame& f) override {
    if (f.picture == nullptr || f.picture->width != f.width || f.picture->height != f.height) return;
    ++pictures;
    const double luma = mean_luma(*f.picture);
    const double step = (luma - 40) / 5;  // which source picture
    if (std::abs(step - std::round(step)) < 0.3 && step > -0.5 && step < kFrames - 0.5) ++matching;
    if (luma > last_luma) ++in_order;
    last_luma = luma;
  }
  void on_audio_playout(const AudioPlayoutEvent& e) override {
    if (e.samples == nullptr || e.samples->samples_per_channel != e.samples->sample_rate_hz / 100) return;
    ++blocks;
    double energy = 0;
    for (int16_t s : e.samples->samples) energy += double(s) * s;
    if (std::sqrt(energy / static_cast<double>(e.samples->samples.size())) > 2000) ++loud_blocks;
  }
};

// A sends (audio, and video when `video`), B only receives, over a clean 5 Mbit/s 20 ms link.
std::unique_ptr<Call> OneWayCall(bool video) {
  EndpointConfig a = small_call_config();
  a.measure_quality = false;
  if (!video) a.send.video.reset();
  EndpointConfig b = a.mirrored();
  b.send.video.reset();
  b.send.audio.reset();
  a.receive = b.send;
  return Call::Make(a, b,
                    netsim::NetworkConfig::Direct(link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(20)),
                                                  link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(20))));
}

}  // namespace

TEST_CASE("pipeline send streams play file sources and listeners get the decoded media") {
  auto call = OneWayCall(true);
  media::Y4mFileSource video(flat_clip(), false);
  media::WavFileSource audio(tone(), false);
  call->a->set_video_source(&video);
  call->a->set_audio_source(&audio);
  Lent lent;
  call->b->set_video_render_listener(&lent);
  call->b->set_audio_playout_listener(&lent);
  call->run(TimeDelta::Seconds(3));

  CHECK(video.ended());
  CHECK(audio.ended());
  const VideoSendStream* vs = call->a->video_send_stream();
  const AudioSendStream* as = call->a->audio_send_stream();
  REQUIRE(vs != nullptr);
  REQUIRE(as != nullptr);
  CHECK(vs->counters().frames_captured == kFrames);  // the file, then nothing more
  CHECK(as->counters().frames_encoded == 50);         // 1 s in 20 ms frames
  CHECK(lent.pictures >= vs->counters().frames_encoded - 2);
  CHECK(lent.pictures > 20);
  CHECK(lent.matching == lent.pictures);  // every picture is one of the file's
  CHECK(lent.in_order + 1 >= lent.pictures);
  CHECK(lent.blocks > 250);                          // 10 ms blocks over the call
  CHECK(lent.loud_blocks >= 80);                     // about 1 s of the tone
  CHECK(lent.loud_blocks <= 105);
}

TEST_CASE("pipeline audio send stream plays an app source pushed in 10 ms blocks") {
  auto call = OneWayCall(false);
  // 1 s of the tone in 10 ms stereo blocks, all due at once, then the end.
  const media::WavData w = tone();
  media::AppAudioSource app(100, 48000, 2);
  for (size_t at = 0; at < w.samples.size(); at += 960) {
    codecs::AudioFrame block = codecs::AudioFrame::Silence(48000, 2, 480);
    std::copy_n(w.samples.begin() + static_cast<std::ptrdiff_t>(at), 960, block.samples.begin());
    REQUIRE(app.push(std::move(block)));
  }
  app.close();
  call->a->set_audio_source(&app);
  Lent lent;
  call->b->set_audio_playout_listener(&lent);
  call->run(TimeDelta::Seconds(3));
  CHECK(app.ended());
  const AudioSendStream* as = call->a->audio_send_stream();
  REQUIRE(as != nullptr);
  CHECK(as->counters().frames_encoded == 50);  // 1 s in 20 ms frames
  CHECK(lent.loud_blocks >= 80);               // about 1 s of the tone
  CHECK(lent.loud_blocks <= 105);
}

TEST_CASE("pipeline VP9 non-flexible mode without layer indices renders every frame") {
  EndpointConfig a = small_call_config();
  a.send.video = codecs::CodecType::kVp9;
  a.send.audio.reset();
  a.send.vp9_flexible_mode = false;
  a.receive = a.send;
  auto call = Call::Make(a, a.mirrored(),
                         netsim::NetworkConfig::Direct(link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(20)),
                                                       link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(20))));
  call->run(TimeDelta::Seconds(3));
  const StatsReport rb = call->b->stats(call->now());
  const InboundRtpStats* video = rb.inbound("video");
  REQUIRE(video != nullptr);
  const int64_t encoded = call->a->video_send_stream()->counters().frames_encoded;
  CHECK(encoded > 60);
  CHECK(video->frames_rendered.value() + 10 >= encoded);
  CHECK(video->tern_mean_psnr.value() > 30.0);
}

}  // namespace tern::pipeline::testing

namespace tern::pipeline::testing {
namespace {

// Silence with a click (one full-scale 1 ms burst) at the start of every 10th 20 ms frame; records
// when the send stream took each frame (its capture time: the frame's last sample is in).
struct ClickSource : media::AudioSource {
  std::vector<Timestamp> taken;
  std::optional<codecs::AudioFrame> next_samples(int samples_per_channel, Timestamp now) override {
    codecs::AudioFrame f = codecs::AudioFrame::Silence(48000, 1, samples_per_channel);
    if (taken.size() % 10 == 0) {
      for (int i = 0; i < 96; ++i) f.samples[static_cast<size_t>(i)] = static_cast<int16_t>(30000 * std::sin(2 * 3.14159265358979 * i / 48.0));
    }
    taken.push_back(now);
    return f;
  }
  int sample_rate_hz() const override { return 48000; }
  int channels() const override { return 1; }
};

// Finds each click in the played samples: its playout time, and the capture_to_playout the event
// gave for the block it is in.
struct ClickEar : AudioPlayoutListener {
  struct Heard {
    Timestamp at;
    std::optional<TimeDelta> capture_to_playout;
  };
  std::vector<Heard> heard;
  Timestamp quiet_since = Timestamp::MinusInfinity();
  void on_audio_playout(const AudioPlayoutEvent& e) override {
    if (e.samples == nullptr) return;
    const int n = e.samples->samples_per_channel;
    for (int i = 0; i < n; ++i) {
      if (std::abs(int{e.samples->samples[static_cast<size_t>(i * e.samples->channels)]}) < 8000) continue;
      const Timestamp at = e.time + TimeDelta::Micros(int64_t{i} * 1000000 / e.samples->sample_rate_hz);
      if (heard.empty() || at - heard.back().at > TimeDelta::Millis(100)) heard.push_back({at, e.capture_to_playout});
      break;
    }
  }
};

}  // namespace

// The mouth-to-ear the tools report is the events' capture_to_playout: a tern sender's reports
// stamp the RTP clock with the instant each played sample was spoken, the 20 ms of packetization
// and the Opus encoder's look-ahead (OPUS_GET_LOOKAHEAD: 6.5 ms at 48 kHz) included. Checked here
// against clicks timed by ear.
TEST_CASE("pipeline audio playout: capture_to_playout is the delay a click is heard after it is spoken") {
  EndpointConfig a = small_call_config();
  a.measure_quality = false;
  a.send.video.reset();
  EndpointConfig b = a.mirrored();
  b.send.video.reset();
  b.send.audio.reset();
  a.receive = b.send;
  netsim::LinkConfig l = link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(40));
  l.jitter_model = netsim::LinkConfig::Jitter::kUniform;
  l.jitter = TimeDelta::Millis(10);
  auto call = Call::Make(a, b, netsim::NetworkConfig::Direct(l, link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(40))));
  ClickSource mouth;
  ClickEar ear;
  call->a->set_audio_source(&mouth);
  call->b->set_audio_playout_listener(&ear);
  call->run(TimeDelta::Seconds(8));

  // Click j was spoken at the start of frame 10 j: 20 ms before that frame was taken.
  int compared = 0;
  double min_diff = 1e9, max_diff = -1e9;
  for (const ClickEar::Heard& h : ear.heard) {
    if (!h.capture_to_playout) continue;  // before the first sender report
    // The click heard is the latest one spoken at least 40 ms before.
    std::optional<Timestamp> spoken;
    for (size_t k = 0; k < mouth.taken.size(); k += 10) {
      const Timestamp s = mouth.taken[k] - TimeDelta::Millis(20);
      if (s <= h.at - TimeDelta::Millis(40)) spoken = s;
    }
    REQUIRE(spoken.has_value());
    const double by_ear_ms = (h.at - *spoken).ms_f();
    const double reported_ms = h.capture_to_playout->ms_f();
    CAPTURE(by_ear_ms);
    CAPTURE(reported_ms);
    CHECK(by_ear_ms > 40 + 20);                       // at least the link and the frame
    CHECK(std::abs(by_ear_ms - reported_ms) <= 1.0);  // a sample's worth of click detection
    min_diff = std::min(min_diff, by_ear_ms - reported_ms);
    max_diff = std::max(max_diff, by_ear_ms - reported_ms);
    ++compared;
  }
  MESSAGE(compared << " clicks: heard " << min_diff << " .. " << max_diff << " ms after the reported mouth-to-ear");
  CHECK(compared >= 25);  // clicks every 200 ms over ~7 s after the first report
}

}  // namespace tern::pipeline::testing
