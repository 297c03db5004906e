// WAV, Y4M and IVF: write -> read round trips, the file sources, the streaming writers and
// sources (bounded memory, a file cut short, a full disk), and malformed input (truncations,
// lying lengths, random garbage) rejected with a reason and without crashing.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "tern/core/random.h"
#include "tern/media/file_io.h"
#include "tern/media/ivf_file.h"
#include "tern/media/synthetic_audio_source.h"
#include "tern/media/synthetic_video_source.h"
#include "tern/media/wav_file.h"
#include "tern/media/y4m_file.h"

namespace tern::media {
namespace {

std::vector<uint8_t> MakeWav(int rate, int channels, int blocks) {
  SyntheticAudioConfig c;
  c.sample_rate_hz = rate;
  c.channels = channels;
  auto src = SyntheticAudioSource::Create(c);
  REQUIRE(src.ok());
  auto w = WavWriter::Create(rate, channels);
  REQUIRE(w.ok());
  for (int i = 0; i < blocks; ++i) REQUIRE(w->append(src->next_audio(Timestamp::Zero())).ok());
  return w->finish();
}

template <typename Parse>
void CheckTruncationsRejected(const std::vector<uint8_t>& file, Parse parse, size_t step) {
  for (size_t n = 0; n < file.size(); n += step) {
    std::vector<uint8_t> cut(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(n));
    auto r = parse(cut);
    if (r.ok()) continue;  // some cuts land on a frame boundary and are valid shorter files
    CHECK(std::string(r.error()).size() > 0);
  }
}

TEST_CASE("wav write then parse round-trips samples") {
  for (int channels : {1, 2}) {
    SyntheticAudioConfig c;
    c.kind = SyntheticAudioKind::kSweep;
    c.channels = channels;
    auto src = SyntheticAudioSource::Create(c);
    REQUIRE(src.ok());
    auto w = WavWriter::Create(48000, channels);
    REQUIRE(w.ok());
    std::vector<int16_t> all;
    for (int i = 0; i < 25; ++i) {
      auto f = src->next_audio(Timestamp::Zero());
      all.insert(all.end(), f.samples.begin(), f.samples.end());
      REQUIRE(w->append(f).ok());
    }
    const auto bytes = w->finish();
    CHECK(bytes.size() == 44 + all.size() * 2);
    auto parsed = parse_wav(bytes);
    REQUIRE(parsed.ok());
    CHECK(parsed->sample_rate_hz == 48000);
    CHECK(parsed->channels == channels);
    CHECK(parsed->samples == all);
    CHECK_FALSE(w->append(codecs::AudioFrame::Silence(16000, channels, 160)).ok());
  }
}

TEST_CASE("wav source plays blocks and stops or loops") {
  auto parsed = parse_wav(MakeWav(16000, 1, 3));
  REQUIRE(parsed.ok());
  WavFileSource once(*parsed, false);
  for (int i = 0; i < 3; ++i) {
    auto f = once.next_audio(Timestamp::Millis(i * 10));
    REQUIRE(f);
    CHECK(f->samples_per_channel == 160);
    CHECK(f->rtp_timestamp == static_cast<uint32_t>(160 * i));
  }
  CHECK_FALSE(once.next_audio(Timestamp::Millis(30)));
  WavFileSource looped(*parsed, true);
  for (int i = 0; i < 10; ++i) CHECK(looped.next_audio(Timestamp::Zero()));
}

TEST_CASE("wav parser skips unknown chunks and rejects malformed files") {
  auto file = MakeWav(8000, 1, 2);
  // Insert an odd-sized LIST chunk (padded) between fmt and data.
  std::vector<uint8_t> with_list(file.begin(), file.begin() + 36);
  const uint8_t list[] = {'L', 'I', 'S', 'T', 3, 0, 0, 0, 'a', 'b', 'c', 0};
  with_list.insert(with_list.end(), std::begin(list), std::end(list));
  with_list.insert(with_list.end(), file.begin() + 36, file.end());
  auto ok = parse_wav(with_list);
  REQUIRE(ok.ok());
  CHECK(ok->samples.size() == 160);

  auto bad = file;
  bad[0] = 'X';
  CHECK(std::string(parse_wav(bad).error()) == "wav: not a RIFF file");
  bad = file;
  bad[34] = 8;  // 8-bit samples
  CHECK(std::string(parse_wav(bad).error()) == "wav: only 16-bit samples are supported");
  bad = file;
  bad[40] = 0xFF;  // data length beyond the end
  bad[41] = 0xFF;
  CHECK(std::string(parse_wav(bad).error()) == "wav: data chunk truncated");
  // Unset data sizes (streaming writers) run to the end of the file.
  for (uint8_t fill : {uint8_t{0}, uint8_t{0xFF}}) {
    std::vector<uint8_t> streamed(file.begin(), file.begin() + 40);
    for (int i = 0; i < 4; ++i) streamed.push_back(fill);
    streamed.insert(streamed.end(), file.begin() + 44, file.end());
    streamed.push_back(7);  // a stray byte that is not a whole sample
    auto parsed = parse_wav(streamed);
    REQUIRE(parsed.ok());
    CHECK(parsed->samples.size() == 160);
  }
  CheckTruncationsRejected(file, [](std::span<const uint8_t> b) { return parse_wav(b); }, 1);
}

TEST_CASE("y4m write then parse round-trips pictures and the frame rate") {
  SyntheticVideoConfig vc;
  vc.width = 96;
  vc.height = 64;
  auto src = SyntheticVideoSource::Create(vc);
  REQUIRE(src.ok());
  auto w = Y4mWriter::Create(96, 64, 30000, 1001);
  REQUIRE(w.ok());
  std::vector<codecs::VideoFrame> frames;
  for (uint32_t i = 0; i < 5; ++i) {
    frames.push_back(src->render(i));
    REQUIRE(w->append(frames.back()).ok());
  }
  // A padded-stride frame is written tightly.
  codecs::VideoFrame padded = frames[0];
  padded.stride_y = 100;
  padded.y.assign(100 * 64, 0);
  for (int y = 0; y < 64; ++y) std::copy_n(frames[0].y.begin() + y * 96, 96, padded.y.begin() + y * 100);
  REQUIRE(w->append(padded).ok());
  auto parsed = parse_y4m(w->bytes());
  REQUIRE(parsed.ok());
  CHECK(parsed->width == 96);
  CHECK(parsed->height == 64);
  CHECK(parsed->fps_num == 30000);
  CHECK(parsed->fps_den == 1001);
  REQUIRE(parsed->frames.size() == 6);
  for (size_t i = 0; i < 5; ++i) {
    CHECK(parsed->frames[i].y == frames[i].y);
    CHECK(parsed->frames[i].u == frames[i].u);
    CHECK(parsed->frames[i].v == frames[i].v);
  }
  CHECK(parsed->frames[5].y == frames[0].y);
  CHECK_FALSE(w->append(codecs::VideoFrame::Allocate(64, 64)).ok());

  Y4mFileSource player(std::move(parsed).value(), false);
  const Timestamp t0 = Timestamp::Seconds(3);
  REQUIRE(player.next_frame(t0));
  CHECK_FALSE(player.next_frame(t0 + TimeDelta::Millis(30)));
  auto f1 = player.next_frame(t0 + TimeDelta::Millis(34));
  REQUIRE(f1);
  CHECK(f1->rtp_timestamp == 3003u);
}

TEST_CASE("y4m parser rejects malformed headers and truncated frames") {
  auto w = Y4mWriter::Create(4, 2, 25, 1);
  REQUIRE(w.ok());
  REQUIRE(w->append(codecs::VideoFrame::Allocate(4, 2)).ok());
  const auto file = w->bytes();
  auto parse = [](std::string s) {
    std::vector<uint8_t> b(s.begin(), s.end());
    return parse_y4m(b);
  };
  CHECK(std::string(parse("YUV4MPEG2 W4 H2 F25:1 C444\n").error()) == "y4m: only 8-bit 4:2:0 is supported");
  CHECK(std::string(parse("YUV4MPEG2 W4 H2 F25:0\n").error()) == "y4m: bad frame rate");
  CHECK(std::string(parse("YUV4MPEG2 W4 F25:1\n").error()) == "y4m: missing or out-of-range size");
  CHECK(std::string(parse("YUV4MPEG2 W4 H2 It\n").error()) == "y4m: interlaced video is not supported");
  CHECK(std::string(parse("YUV4MPEG W4 H2\n").error()) == "y4m: bad magic");
  CHECK(std::string(parse("YUV4MPEG2 W99999999999 H2\n").error()) == "y4m: bad width");
  CHECK(std::string(parse("YUV4MPEG2 W4 H2\nFRAME\n12").error()) == "y4m: frame truncated");
  CHECK(parse("YUV4MPEG2 W4 H2 F25:1 A1:1 XYSCSS=420JPEG\n").ok());
  CheckTruncationsRejected(file, [](std::span<const uint8_t> b) { return parse_y4m(b); }, 1);
}

TEST_CASE("ivf write then parse round-trips frames and unwrapped RTP timestamps") {
  auto w = IvfWriter::Create(codecs::CodecType::kVp9, 320, 240);
  REQUIRE(w.ok());
  Random rng(21);
  std::vector<std::vector<uint8_t>> payloads;
  uint32_t ts = 0xFFFFFFFFu - 6000;  // wraps after two frames
  for (int i = 0; i < 8; ++i) {
    std::vector<uint8_t> p(static_cast<size_t>(rng.uniform_int(1, 300)));
    for (auto& b : p) b = static_cast<uint8_t>(rng.next_u32());
    payloads.push_back(p);
    REQUIRE(w->add_frame(p, ts).ok());
    ts += 3000;
  }
  CHECK_FALSE(w->add_frame(std::span<const uint8_t>(), ts).ok());
  auto parsed = parse_ivf(w->bytes());
  REQUIRE(parsed.ok());
  CHECK(parsed->codec == codecs::CodecType::kVp9);
  CHECK(parsed->width == 320);
  CHECK(parsed->height == 240);
  CHECK(parsed->timebase_den == 90000u);
  REQUIRE(parsed->frames.size() == 8);
  for (size_t i = 0; i < 8; ++i) {
    CHECK(parsed->frames[i].pts == static_cast<int64_t>(3000 * i));
    CHECK(parsed->frames[i].data == payloads[i]);
  }
  const auto& bytes = w->bytes();
  CHECK(bytes[24] == 8);  // frame count in the header
  auto bad = bytes;
  bad[8] = 'X';
  CHECK(std::string(parse_ivf(bad).error()) == "ivf: unsupported codec");
  bad = bytes;
  bad[32] = 0xFF;  // first frame's size lies
  bad[33] = 0xFF;
  CHECK(std::string(parse_ivf(bad).error()) == "ivf: frame truncated");
  CheckTruncationsRejected(bytes, [](std::span<const uint8_t> b) { return parse_ivf(b); }, 1);
  CHECK_FALSE(IvfWriter::Create(codecs::CodecType::kOpus, 320, 240).ok());
}

TEST_CASE("file parsers survive random garbage") {
  Random rng(99);
  int rejected[3] = {0, 0, 0};
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> junk(static_cast<size_t>(rng.uniform_int(0, 200)));
    for (auto& b : junk) b = static_cast<uint8_t>(rng.next_u32());
    // Give some inputs a valid magic so that the deeper paths run.
    if (i % 3 == 0 && junk.size() >= 12) std::copy_n("RIFF....WAVE", 12, junk.begin());
    if (i % 3 == 1 && junk.size() >= 4) std::copy_n("DKIF", 4, junk.begin());
    if (i % 3 == 2 && junk.size() >= 10) std::copy_n("YUV4MPEG2 ", 10, junk.begin());
    // Each parser either rejects the junk with its own reason or returns no more than it was given.
    auto wav = parse_wav(junk);
    auto ivf = parse_ivf(junk);
    auto y4m = parse_y4m(junk);
    if (wav) {
      CHECK(wav->samples.size() * 2 <= junk.size());
    } else {
      CHECK(std::string(wav.error()).rfind("wav: ", 0) == 0);
      ++rejected[0];
    }
    if (ivf) {
      size_t bytes = 0;
      for (const auto& f : ivf->frames) bytes += f.data.size();
      CHECK(bytes + ivf->frames.size() * 12 + 32 <= junk.size());
    } else {
      CHECK(std::string(ivf.error()).rfind("ivf: ", 0) == 0);
      ++rejected[1];
    }
    if (y4m) {
      CHECK(y4m->frames.empty());  // 200 bytes hold no frame of a plausible size
    } else {
      CHECK(std::string(y4m.error()).rfind("y4m: ", 0) == 0);
      ++rejected[2];
    }
  }
  // All of it is junk to every parser (with seed 99: none slips through as a valid file).
  CHECK(rejected[0] == 2000);
  CHECK(rejected[1] == 2000);
  CHECK(rejected[2] == 2000);
}

TEST_CASE("Y4M streams to and from disk a picture at a time") {
  const std::string path = std::string(TERN_BINARY_DIR) + "/media_stream_test.y4m";
  constexpr int kFrames = 300;
  constexpr size_t kPicture = 64 * 48 * 3 / 2;
  const size_t header = std::string("YUV4MPEG2 W64 H48 F30:1 Ip A1:1 C420jpeg\n").size();
  {
    auto w = Y4mFileWriter::Create(path, 30, 1);
    REQUIRE(w.ok());
    for (int i = 0; i < kFrames; ++i) {
      auto f = codecs::VideoFrame::Allocate(64, 48);
      f.y[0] = static_cast<uint8_t>(i);
      REQUIRE(w->append(f).ok());
      CHECK(w->buffered_bytes() <= kPicture + 64);  // one picture and its FRAME line, never the file
    }
    CHECK(w->frames() == kFrames);
    CHECK(w->bytes_written() == header + kFrames * (6 + kPicture));
    CHECK(w->close().ok());
  }
  // Played from disk: every picture in order with one picture held, then the loop starts over.
  auto src = Y4mFileSource::Open(path, true);
  REQUIRE(src.ok());
  CHECK(src.value()->width() == 64);
  CHECK(src.value()->frame_count() == kFrames);
  for (int i = 0; i < kFrames + 2; ++i) {
    auto f = src.value()->next_frame(Timestamp::Seconds(i));  // each picture due by then
    REQUIRE(f);
    CHECK(f->y[0] == static_cast<uint8_t>(i % kFrames));
    CHECK(src.value()->buffered_bytes() <= kPicture);
  }
  CHECK(src.value()->error().ok());
  // A file cut inside its third picture: two pictures, then the stream ends with the reason.
  auto whole = load_file(path);
  REQUIRE(whole.ok());
  whole->resize(header + 2 * (6 + kPicture) + 100);
  REQUIRE(save_file(path, *whole).ok());
  auto cut = Y4mFileSource::Open(path, false);
  REQUIRE(cut.ok());
  int played = 0;
  while (cut.value()->next_frame(Timestamp::Seconds(played)) && played < 10) ++played;
  CHECK(played == 2);
  CHECK(cut.value()->ended());
  CHECK(std::string(cut.value()->error().error()) == "y4m: frame truncated");
  whole->resize(header + 6 + kPicture);  // one picture, looped
  REQUIRE(save_file(path, *whole).ok());
  auto one = Y4mFileSource::Open(path, true);
  REQUIRE(one.ok());
  for (int i = 0; i < 3; ++i) CHECK(one.value()->next_frame(Timestamp::Seconds(i)));
  whole->resize(30);
  REQUIRE(save_file(path, *whole).ok());
  CHECK(std::string(Y4mFileSource::Open(path, false).error()) == "y4m: no header line");
  // A full disk: the first write fails, and so does every later one.
  auto full = Y4mFileWriter::Create("/dev/full", 30, 1);
  REQUIRE(full.ok());
  CHECK_FALSE(full->append(codecs::VideoFrame::Allocate(64, 48)).ok());
  CHECK_FALSE(full->error().ok());
  CHECK(full->frames() == 0);
  CHECK_FALSE(Y4mFileWriter::Create(path + ".missing/x.y4m", 30, 1).ok());
}

TEST_CASE("WAV streams to and from disk a block at a time, readable before it is closed") {
  const std::string path = std::string(TERN_BINARY_DIR) + "/media_stream_test.wav";
  auto w = WavFileWriter::Create(path);
  REQUIRE(w.ok());
  for (int i = 0; i < 500; ++i) {
    codecs::AudioFrame f = codecs::AudioFrame::Silence(48000, 2, 480);
    f.samples[0] = static_cast<int16_t>(i);
    REQUIRE(w->append(f).ok());
    CHECK(w->buffered_bytes() <= 44 + 480 * 4);
  }
  CHECK_FALSE(w->append(codecs::AudioFrame::Silence(16000, 2, 160)).ok());  // another shape: refused
  CHECK(w->error().ok());
  // Before close() (a process killed here): the unset sizes read as "to the end of the file".
  auto open = load_file(path);
  REQUIRE(open.ok());
  CHECK(parse_wav(*open)->samples_per_channel() == 500 * 480);
  REQUIRE(w->close().ok());
  auto closed = load_file(path);
  REQUIRE(closed.ok());
  CHECK((*closed)[40] == static_cast<uint8_t>((500 * 480 * 4) & 0xFF));  // the data size, filled in
  CHECK(parse_wav(*closed)->samples_per_channel() == 500 * 480);
  auto src = WavFileSource::Open(path, true);
  REQUIRE(src.ok());
  CHECK(src.value()->channels() == 2);
  CHECK(src.value()->total() == 500 * 480);
  for (int i = 0; i < 502; ++i) {
    auto f = src.value()->next_audio(Timestamp::Zero());
    REQUIRE(f);
    CHECK(f->samples[0] == static_cast<int16_t>(i % 500));
    CHECK(src.value()->buffered_bytes() <= 480 * 4);
  }
  auto full = WavFileWriter::Create("/dev/full");
  REQUIRE(full.ok());
  CHECK_FALSE(full->append(codecs::AudioFrame::Silence(48000, 1, 480)).ok());
  CHECK_FALSE(full->error().ok());
  CHECK(full->samples_per_channel() == 0);
  CHECK_FALSE(WavFileSource::Open(path + ".missing", false).ok());
}

TEST_CASE("file helpers save and load bytes") {
  const std::string path = std::string(TERN_BINARY_DIR) + "/media_file_io_test.bin";
  const std::vector<uint8_t> data = {1, 2, 3, 4, 5};
  REQUIRE(save_file(path, data).ok());
  auto back = load_file(path);
  REQUIRE(back.ok());
  CHECK(*back == data);
  CHECK_FALSE(load_file(path, 4).ok());
  CHECK_FALSE(load_file(path + ".missing").ok());
}

}  // namespace
}  // namespace tern::media
