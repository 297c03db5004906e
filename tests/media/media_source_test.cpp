// media::VideoSource / AudioSource as the file and application sources implement them: capture
// times, the end of a file, looping, block sizes.
#include <doctest/doctest.h>

#include "tern/media/app_source.h"
#include "tern/media/wav_file.h"
#include "tern/media/y4m_file.h"

namespace tern::media {
namespace {

Y4mData clip(int frames, int fps_num, int fps_den) {
  Y4mData d;
  d.width = 64;
  d.height = 48;
  d.fps_num = fps_num;
  d.fps_den = fps_den;
  for (int i = 0; i < frames; ++i) d.frames.push_back(codecs::VideoFrame::Allocate(64, 48));
  return d;
}

}  // namespace

TEST_CASE("y4m file source as a VideoSource ends after its frames") {
  Y4mFileSource src(clip(3, 15, 1), false);
  VideoSource& v = src;
  CHECK(v.next_capture_time() == Timestamp::PlusInfinity());  // not started
  CHECK(src.fps() == doctest::Approx(15.0));
  const Timestamp t0 = Timestamp::Seconds(10);
  int got = 0;
  for (int step = 0; step < 100 && !v.ended(); ++step) {
    const Timestamp now = t0 + TimeDelta::Millis(10 * step);
    if (auto f = v.next_frame(now)) {
      CHECK(f->capture_time == t0 + TimeDelta::Micros(int64_t{got} * 1000000 / 15));
      ++got;
      if (!v.ended()) CHECK(v.next_capture_time() == t0 + TimeDelta::Micros(int64_t{got} * 1000000 / 15));
    }
  }
  CHECK(got == 3);
  CHECK(v.ended());
  CHECK(v.next_capture_time() == Timestamp::PlusInfinity());
  CHECK_FALSE(v.next_frame(t0 + TimeDelta::Seconds(5)).has_value());
}

TEST_CASE("y4m file source polled late hands out every frame in turn and loops") {
  Y4mFileSource src(clip(2, 30000, 1001), true);
  const Timestamp t0 = Timestamp::Seconds(1);
  REQUIRE(src.next_frame(t0).has_value());
  // Polled 1 s late: frames 1, 2, 3 ... come one per call, none skipped.
  const Timestamp late = t0 + TimeDelta::Seconds(1);
  for (int i = 1; i < 6; ++i) {
    auto f = src.next_frame(late);
    REQUIRE(f.has_value());
    CHECK(f->rtp_timestamp == static_cast<uint32_t>(int64_t{i} * 90000 * 1001 / 30000));
  }
  CHECK_FALSE(src.ended());
}

TEST_CASE("wav file source gives blocks of any length and ends") {
  WavData w;
  w.sample_rate_hz = 48000;
  w.channels = 2;
  w.samples.assign(2 * 2000, 7);
  WavFileSource src(w, false);
  AudioSource& a = src;
  CHECK(a.sample_rate_hz() == 48000);
  CHECK(a.channels() == 2);
  auto f = a.next_samples(960, Timestamp::Seconds(1));
  REQUIRE(f.has_value());
  CHECK(f->samples_per_channel == 960);
  CHECK(f->samples.size() == 1920);
  CHECK(f->rtp_timestamp == 0);
  f = a.next_samples(960, Timestamp::Seconds(1));
  REQUIRE(f.has_value());
  CHECK(f->rtp_timestamp == 960);
  f = a.next_samples(960, Timestamp::Seconds(1));  // 80 left: zero-padded
  REQUIRE(f.has_value());
  CHECK(f->samples[159] == 7);
  CHECK(f->samples[160] == 0);
  CHECK(a.ended());
  CHECK_FALSE(a.next_samples(960, Timestamp::Seconds(1)).has_value());
  CHECK_FALSE(WavFileSource(w, false).next_samples(0, Timestamp::Seconds(1)).has_value());
  CHECK_FALSE(WavFileSource(w, false).next_samples(48001, Timestamp::Seconds(1)).has_value());
  CHECK_FALSE(WavFileSource(WavData{}, true).next_samples(480, Timestamp::Seconds(1)).has_value());
}

TEST_CASE("app video source as a VideoSource reports its oldest frame") {
  AppVideoSource app(2);
  VideoSource& v = app;
  CHECK(v.next_capture_time() == Timestamp::PlusInfinity());
  codecs::VideoFrame f = codecs::VideoFrame::Allocate(64, 48);
  f.capture_time = Timestamp::Seconds(3);
  app.push(f);
  CHECK(v.next_capture_time() == Timestamp::Seconds(3));
  CHECK_FALSE(v.next_frame(Timestamp::Seconds(2)).has_value());
  CHECK(v.next_frame(Timestamp::Seconds(3)).has_value());
  CHECK(v.next_capture_time() == Timestamp::PlusInfinity());
  CHECK_FALSE(v.ended());
}

}  // namespace tern::media
