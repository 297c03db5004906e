// Recorders: WebM (VP8 + Opus) read back with libwebm's parser and checked with ffprobe/ffmpeg,
// Ogg Opus (timing from RTP, gaps filled) decoded by ffmpeg, IVF probed by ffprobe. The external
// tools are skipped when missing unless TERN_REQUIRE_INTEROP=1.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "support/process.h"
#include "tern/codecs/opus_encoder.h"
#include "tern/codecs/vp8_encoder.h"
#include "tern/media/file_io.h"
#include "tern/media/ivf_file.h"
#include "tern/media/ogg_opus_writer.h"
#include "tern/media/opus_packet_info.h"
#include "tern/media/synthetic_audio_source.h"
#include "tern/media/synthetic_video_source.h"
#include "tern/media/webm_reader.h"
#include "tern/media/webm_recorder.h"

namespace tern::media {
namespace {

bool HaveTool(const std::string& name) {
  if (test::have_tool(name)) return true;
  if (test::interop_required()) {
    FAIL(name << " is missing and TERN_REQUIRE_INTEROP=1");
  }
  MESSAGE(name << " not installed: skipping the interop part");
  return false;
}

// Output of a tool at -v warning (stderr merged): empty means no warning.
std::string Warnings(const std::string& command) {
  const auto r = test::run_command(command, 60, true);
  CHECK(r.exit_code == 0);
  return r.out;
}

double ProbeValue(const std::string& file, const std::string& entry) {
  const auto r = test::run_command("ffprobe -v error -show_entries " + entry + " -of default=nw=1:nk=1 '" + file + "'", 60);
  REQUIRE(r.exit_code == 0);
  return std::atof(r.out.c_str());
}

struct Encoded {
  std::vector<codecs::EncodedFrame> video;
  std::vector<codecs::EncodedFrame> audio;
};

Encoded EncodeClip(TimeDelta length, int width, int height) {
  Encoded out;
  SyntheticVideoConfig vc;
  vc.width = width;
  vc.height = height;
  auto video = SyntheticVideoSource::Create(vc);
  REQUIRE(video.ok());
  codecs::VideoEncoderConfig ec;
  ec.width = width;
  ec.height = height;
  ec.start_bitrate = DataRate::KilobitsPerSec(300);
  auto venc = codecs::Vp8Encoder::Create(ec);
  REQUIRE(venc.ok());
  auto audio = SyntheticAudioSource::Create({});
  REQUIRE(audio.ok());
  auto aenc = codecs::OpusEncoder::Create({});
  REQUIRE(aenc.ok());
  const Timestamp t0 = Timestamp::Seconds(10);
  for (Timestamp now = t0; now < t0 + length; now += TimeDelta::Millis(1)) {
    if (auto f = video->next_frame(now)) {
      auto e = (*venc)->encode(*f);
      REQUIRE(e.ok());
      if (*e) out.video.push_back(**e);
    }
    if ((now - t0).us() % 20000 == 0) {
      auto e = (*aenc)->encode(audio->next_samples(960, now));
      REQUIRE(e.ok());
      out.audio.push_back(*e);
    }
  }
  return out;
}

// Adds a clip's frames in capture order, as a receiver hands them over.
void Record(WebmRecorder& rec, const Encoded& clip) {
  size_t vi = 0;
  size_t ai = 0;
  while (vi < clip.video.size() || ai < clip.audio.size()) {
    const bool take_video = ai == clip.audio.size() ||
                            (vi < clip.video.size() && clip.video[vi].capture_time <= clip.audio[ai].capture_time);
    if (take_video) {
      REQUIRE(rec.add_video(clip.video[vi], clip.video[vi].capture_time).ok());
      ++vi;
    } else {
      REQUIRE(rec.add_audio(clip.audio[ai].data, clip.audio[ai].rtp_timestamp, clip.audio[ai].capture_time).ok());
      ++ai;
    }
  }
}

TEST_CASE("webm recording of VP8 and Opus reads back with the RTP timing") {
  const Encoded clip = EncodeClip(TimeDelta::Seconds(3), 160, 120);
  REQUIRE(clip.video.size() >= 80);
  REQUIRE(clip.audio.size() == 150);
  const std::string path = test::scratch_dir("media_webm") + "/av.webm";
  WebmRecorderConfig rc;
  rc.video = codecs::CodecType::kVp8;
  rc.width = 160;
  rc.height = 120;
  auto rec = WebmRecorder::Create(path, rc);
  REQUIRE(rec.ok());
  Record(**rec, clip);
  // A repeated timestamp is refused and counted.
  CHECK_FALSE((*rec)->add_audio(clip.audio.back().data, clip.audio.back().rtp_timestamp, Timestamp::Seconds(20)).ok());
  CHECK((*rec)->stats().dropped == 1);
  REQUIRE((*rec)->finish().ok());
  CHECK_FALSE((*rec)->finish().ok());

  auto bytes = load_file(path);
  REQUIRE(bytes.ok());
  auto info = parse_webm(*bytes);
  REQUIRE(info.ok());
  REQUIRE(info->tracks.size() == 2);
  const WebmTrackInfo* vt = nullptr;
  const WebmTrackInfo* at = nullptr;
  for (const auto& t : info->tracks) (t.is_video ? vt : at) = &t;
  REQUIRE(vt != nullptr);
  REQUIRE(at != nullptr);
  CHECK(vt->codec_id == "V_VP8");
  CHECK(vt->width == 160);
  CHECK(at->codec_id == "A_OPUS");
  CHECK(at->channels == 1);
  const auto vframes = info->frames_of(vt->number);
  const auto aframes = info->frames_of(at->number);
  REQUIRE(vframes.size() == clip.video.size());
  REQUIRE(aframes.size() == clip.audio.size());
  CHECK(vframes.front().keyframe);
  for (size_t i = 0; i < vframes.size(); ++i) {
    const int64_t expect_ms = std::llround((clip.video[i].rtp_timestamp - clip.video[0].rtp_timestamp) / 90.0);
    CHECK(std::llabs(vframes[i].time.ms() - expect_ms) <= 1);
    CHECK(vframes[i].size == clip.video[i].data.size());
  }
  for (size_t i = 0; i < aframes.size(); ++i) CHECK(aframes[i].time == TimeDelta::Millis(20 * static_cast<int64_t>(i)));
  CHECK(info->duration.ms() == doctest::Approx(3000).epsilon(0.02));

  if (!HaveTool("ffprobe") || !HaveTool("ffmpeg")) return;
  CHECK(Warnings("ffprobe -v warning -show_entries format=nb_streams -of default=nw=1:nk=1 '" + path + "'") == "2\n");
  CHECK(ProbeValue(path, "format=duration") == doctest::Approx(3.0).epsilon(0.02));
  CHECK(Warnings("ffmpeg -nostdin -v warning -i '" + path + "' -f null -") == "");
}

TEST_CASE("webm recording streams to disk: cut short without finish(), it keeps all but the last cluster") {
  // What a recorder killed with SIGKILL leaves: the clusters closed so far, each written and
  // flushed as it closed. With 1 s clusters that is the clip but its last second or so; with
  // libavformat's default 5 s clusters a 4 s clip would have left nothing but the header.
  const Encoded clip = EncodeClip(TimeDelta::Seconds(4), 160, 120);
  const std::string dir = test::scratch_dir("media_webm");
  for (const int cluster_s : {1, 5}) {
    INFO("clusters of " << cluster_s << " s");
    const std::string path = dir + "/cut" + std::to_string(cluster_s) + ".webm";
    WebmRecorderConfig rc;
    rc.video = codecs::CodecType::kVp8;
    rc.width = 160;
    rc.height = 120;
    rc.cluster_duration = TimeDelta::Seconds(cluster_s);
    auto rec = WebmRecorder::Create(path, rc);
    REQUIRE(rec.ok());
    Record(**rec, clip);
    auto bytes = load_file(path);  // the recorder is still open: nothing was finished
    REQUIRE(bytes.ok());
    auto info = parse_webm(*bytes);
    REQUIRE_MESSAGE(info.ok(), info.error());
    TimeDelta last = TimeDelta::Zero();
    for (const WebmFrameInfo& f : info->frames) last = std::max(last, f.time);
    MESSAGE("on disk before finish(): " << info->frames.size() << " frames, up to " << last.ms() << " ms of 4000");
    if (cluster_s == 1) {
      CHECK(last >= TimeDelta::Millis(2500));
      CHECK(info->frames.size() >= (clip.video.size() + clip.audio.size()) * 6 / 10);
    } else {
      CHECK(info->frames.empty());
    }
    REQUIRE((*rec)->finish().ok());
    bytes = load_file(path);
    REQUIRE(bytes.ok());
    info = parse_webm(*bytes);
    REQUIRE(info.ok());
    CHECK(info->frames.size() == clip.video.size() + clip.audio.size());
  }
  WebmRecorderConfig bad;
  bad.cluster_duration = TimeDelta::Millis(50);
  CHECK_FALSE(WebmRecorder::Create(dir + "/bad_cluster.webm", bad).ok());
  bad.cluster_duration = TimeDelta::Seconds(31);
  CHECK_FALSE(WebmRecorder::Create(dir + "/bad_cluster.webm", bad).ok());
}

TEST_CASE("webm recorder waits for a keyframe and validates its configuration") {
  WebmRecorderConfig rc;
  rc.audio = false;
  CHECK_FALSE(WebmRecorder::Create(test::scratch_dir("media_webm") + "/none.webm", rc).ok());
  rc.video = codecs::CodecType::kOpus;
  CHECK_FALSE(WebmRecorder::Create(test::scratch_dir("media_webm") + "/bad.webm", rc).ok());
  rc.video = codecs::CodecType::kVp9;
  auto rec = WebmRecorder::Create(test::scratch_dir("media_webm") + "/vp9.webm", rc);
  REQUIRE(rec.ok());
  const std::vector<uint8_t> delta = {1, 2, 3};
  CHECK_FALSE((*rec)->add_video(delta, 0, false, Timestamp::Seconds(1)).ok());
  CHECK_FALSE((*rec)->add_audio(delta, 0, Timestamp::Seconds(1)).ok());  // no audio track
  CHECK((*rec)->stats().dropped == 1);
}

TEST_CASE("ogg opus recording keeps the received timing across a gap") {
  const Encoded clip = EncodeClip(TimeDelta::Seconds(2), 64, 48);
  REQUIRE(clip.audio.size() == 100);
  auto w = OggOpusWriter::Create({});
  REQUIRE(w.ok());
  for (size_t i = 0; i < clip.audio.size(); ++i) {
    if (i >= 40 && i < 50) continue;  // 200 ms lost
    REQUIRE((*w)->add_packet(clip.audio[i].data, clip.audio[i].rtp_timestamp + 0xFFFFF000u).ok());
  }
  CHECK_FALSE((*w)->add_packet(clip.audio[60].data, clip.audio[60].rtp_timestamp + 0xFFFFF000u).ok());  // late
  CHECK((*w)->gap_fill_packets() == 10);
  CHECK((*w)->dropped_packets() == 1);
  CHECK((*w)->duration_samples() == 96000);
  const auto& file = (*w)->finish();
  CHECK((*w)->packets_written() == 100);
  CHECK_FALSE((*w)->add_packet(clip.audio[0].data, 0).ok());
  REQUIRE(file.size() > 100);
  CHECK(std::string(file.begin(), file.begin() + 4) == "OggS");

  const std::string path = test::scratch_dir("media_ogg") + "/speech.opus";
  REQUIRE(save_file(path, file).ok());
  if (!HaveTool("ffprobe") || !HaveTool("ffmpeg")) return;
  CHECK(Warnings("ffmpeg -nostdin -v warning -i '" + path + "' -f null -") == "");
  CHECK(ProbeValue(path, "format=duration") == doctest::Approx(2.0).epsilon(0.01));
  // Decoded length in samples, from a WAV conversion.
  const std::string wav = test::scratch_dir("media_ogg") + "/speech.wav";
  REQUIRE(test::run_command("ffmpeg -nostdin -v error -y -i '" + path + "' '" + wav + "'").exit_code == 0);
  CHECK(ProbeValue(wav, "stream=duration") == doctest::Approx(2.0).epsilon(0.01));
}

TEST_CASE("opus packet durations come from the TOC") {
  const std::vector<uint8_t> silk20 = {0x08};          // config 1: SILK NB 20 ms, code 0
  const std::vector<uint8_t> celt10x2 = {0xF1, 0, 0};  // config 30: CELT 10 ms, code 1 (2 frames)
  const std::vector<uint8_t> code3 = {0xFB, 0x03};     // config 31: 20 ms, code 3, 3 frames
  const std::vector<uint8_t> too_long = {0xFB, 0x07};  // 7 x 20 ms > 120 ms
  CHECK(opus_packet_samples_48k(silk20) == 960);
  CHECK(opus_packet_samples_48k(celt10x2) == 960);
  CHECK(opus_packet_samples_48k(code3) == 2880);
  CHECK_FALSE(opus_packet_samples_48k(too_long));
  CHECK_FALSE(opus_packet_samples_48k({}));
  for (int n : {120, 240, 480, 960}) {
    const auto toc = opus_empty_packet_toc(n);
    REQUIRE(toc);
    const uint8_t b = *toc;
    CHECK(opus_packet_samples_48k(std::span<const uint8_t>(&b, 1)) == n);
  }
  CHECK_FALSE(opus_empty_packet_toc(100));
}

TEST_CASE("ivf recording of VP8 probes cleanly with ffprobe") {
  const Encoded clip = EncodeClip(TimeDelta::Seconds(1), 160, 120);
  auto w = IvfWriter::Create(codecs::CodecType::kVp8, 160, 120);
  REQUIRE(w.ok());
  for (const auto& f : clip.video) REQUIRE(w->add_frame(f).ok());
  const std::string path = test::scratch_dir("media_ivf") + "/v.ivf";
  REQUIRE(save_file(path, w->bytes()).ok());
  if (!HaveTool("ffprobe") || !HaveTool("ffmpeg")) return;
  CHECK(Warnings("ffmpeg -nostdin -v warning -i '" + path + "' -f null -") == "");
  CHECK(ProbeValue(path, "stream=nb_read_frames -count_frames") == doctest::Approx(static_cast<double>(clip.video.size())));
}

}  // namespace
}  // namespace tern::media
