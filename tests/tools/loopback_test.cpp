// tern-loopback: determinism of the JSON, the default scenario's quality thresholds, bursty wifi
// loss repaired without freezes, the clean
// 1 Mbps link against the encoder alone, command-line validation, the metrics on hand-built
// inputs (a known 1 s freeze, known PSNR and delays), and the JSON / HTML / WebM outputs.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "support/process.h"
#include "tern/codecs/codec_factory.h"
#include "tern/media/synthetic_video_source.h"
#include "tern/media/video_quality.h"
#include "tern/media/webm_reader.h"
#include "tern/tools/loopback/cli.h"
#include "tern/tools/loopback/metrics.h"
#include "tern/tools/loopback/report.h"
#include "tern/tools/loopback/scenario.h"

// Sanitizer builds run about 10x slower: shorten the long runs there (the Release thresholds below
// are the ones that matter and are unchanged).
#if defined(__SANITIZE_ADDRESS__)
#define TERN_TOOLS_SLOW_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TERN_TOOLS_SLOW_BUILD 1
#endif
#endif
#ifndef TERN_TOOLS_SLOW_BUILD
#define TERN_TOOLS_SLOW_BUILD 0
#endif

namespace tern::tools {
namespace {

LoopbackConfig short_config(double seconds) {
  LoopbackConfig c = find_preset("default")->config;
  c.duration = TimeDelta::SecondsF(seconds);
  c.width = 320;
  c.height = 240;
  return c;
}

ScenarioResult run(const LoopbackConfig& c) {
  ScenarioOutcome o = run_scenario(c);
  REQUIRE_MESSAGE(o.result.has_value(), o.error);
  return std::move(*o.result);
}

CliOutcome parse(std::vector<std::string> args) { return parse_command_line(args); }

TEST_CASE("loopback same seed gives byte-identical JSON") {
  LoopbackConfig c = short_config(TERN_TOOLS_SLOW_BUILD ? 2.0 : 4.0);
  c.seed = 7;
  const std::string first = to_json(run(c));
  const std::string second = to_json(run(c));
  CHECK(first.size() > 1000);
  CHECK(first == second);
  c.seed = 8;
  const std::string other = to_json(run(c));
  CHECK(other != first);
}

TEST_CASE("loopback default scenario meets its quality thresholds") {
  LoopbackConfig c = find_preset("default")->config;
  if (TERN_TOOLS_SLOW_BUILD) c.duration = TimeDelta::Seconds(5);
  const ScenarioResult r = run(c);
  const Summary& s = r.summary;
  std::printf("default scenario (%s):\n%s", describe(c).c_str(), format_summary(s).c_str());
  REQUIRE(s.video.psnr_mean.has_value());
  REQUIRE(s.video.e2e_p95_ms.has_value());
  CHECK(*s.video.psnr_mean >= 34.0);
  CHECK(s.video.longest_gap_ms < 500.0);  // no freeze longer than 500 ms
  CHECK(s.audio.concealment_percent < 3.0);
  CHECK(*s.video.e2e_p95_ms < 300.0);
  CHECK(s.video.fps_received > 25.0);
  CHECK(s.network.packets_lost > 0);  // the link does lose packets ...
  CHECK(s.network.nack_recovered > 0);  // ... and NACK brings them back
  CHECK(s.network.nack_recovered <= s.network.packets_lost);
  CHECK(s.network.rtx_received >= s.network.nack_recovered);
}

TEST_CASE("loopback reordering alone costs (nearly) no retransmission") {
  // Jitter that reorders packets, no loss. Before the NACK generator learnt reordering, every
  // overtaken packet was NACKed and retransmitted: 140-400 NACKs and 169-471 retransmissions per
  // 10 s run at these settings. Now only the learning period costs anything: the first
  // reorderings, NACKed before the path's worst was seen (measured 1-5 retransmissions from 1-2
  // NACKs; 1-4 NACKs since probe clusters on a reordering path last 120-160 ms: a long cluster
  // early in the call reorders more packets before the generator has seen the path's worst).
  // Bound: 10 retransmissions, 5 NACKs.
  for (const double jitter_ms : {10.0, 30.0}) {
    for (uint64_t seed = 1; seed <= (TERN_TOOLS_SLOW_BUILD ? 1u : 2u); ++seed) {
      CAPTURE(jitter_ms);
      CAPTURE(seed);
      LoopbackConfig c = find_preset("default")->config;
      c.duration = TimeDelta::Seconds(TERN_TOOLS_SLOW_BUILD ? 4 : 10);
      c.seed = seed;
      c.link.loss = 0;
      c.link.jitter = TimeDelta::MillisF(jitter_ms);
      c.link.reordering = true;
      const Summary s = run(c).summary;
      CHECK(s.network.packets_lost == 0);
      CHECK(s.network.rtx_sent <= 10);
      CHECK(s.network.nacks_sent <= 5);
      CHECK(s.network.rtx_received <= s.network.rtx_sent);
      CHECK(s.network.nack_recovered <= s.network.rtx_received);
      CHECK(s.video.freeze_count == 0);
    }
  }
}

TEST_CASE("loopback counts repaired losses, not retransmissions received") {
  // --reorder --jitter 30 --loss 1 once showed 349 "recovered by NACK" for 16 losses: every
  // retransmission received was counted, needless ones (reordered packets NACKed) included.
  LoopbackConfig c = find_preset("default")->config;
  // 10 s at least: 1% of a shorter call is too few losses to count (5 s gave 4 under ASan).
  c.duration = TimeDelta::Seconds(TERN_TOOLS_SLOW_BUILD ? 10 : 20);
  c.link.loss = 0.01;
  c.link.jitter = TimeDelta::Millis(30);
  c.link.reordering = true;
  const Summary s = run(c).summary;
  CHECK(s.network.packets_lost > 5);
  CHECK(s.network.nack_recovered > 0);
  CHECK(s.network.nack_recovered <= s.network.packets_lost);
  CHECK(s.network.rtx_received >= s.network.nack_recovered);
  // Through the media server, A's losses are repaired on the server's hop (B sees none missing
  // for long): those repairs are the call's.
  LoopbackConfig sfu = find_preset("wifi-lossy")->config;
  sfu.topology = Topology::kMediaServer;
  // 10 s under the sanitizers too: at wifi-lossy's 1.4-1.5 Mbps (congestion/README.md) 5 s lost
  // 37 packets, under the 50 asked.
  sfu.duration = TimeDelta::Seconds(10);
  const Summary m = run(sfu).summary;
  CHECK(m.network.packets_lost > 50);
  CHECK(m.network.nack_recovered > m.network.packets_lost / 2);
  CHECK(m.network.nack_recovered <= m.network.packets_lost);
  // FEC on a reordering path: its packets overtake media, and rebuild packets that were only late
  // (551 "repaired by FEC" for 58 lost before such rebuilds were told apart from losses).
  LoopbackConfig far = find_preset("default")->config;
  far.audio.reset();
  far.protection.red = false;
  far.duration = TimeDelta::Seconds(TERN_TOOLS_SLOW_BUILD ? 8 : 15);  // 5 s: 9 lost, 1 rebuilt
  far.link.capacity = DataRate::KilobitsPerSec(2500);
  far.link.delay = TimeDelta::Millis(120);
  far.link.jitter = TimeDelta::Millis(35);
  far.link.reordering = true;
  far.link.loss = 0.02;
  const Summary f = run(far).summary;
  MESSAGE("reordering FEC path: lost " << f.network.packets_lost << ", repaired by NACK " << f.network.nack_recovered
          << ", by FEC " << f.network.fec_recovered);
  CHECK(f.network.packets_lost > 10);
  CHECK(f.network.fec_recovered > 0);
  // At most one more: a packet FEC rebuilt in the run's last moments whose reordered original was
  // still on the link when the run stopped is counted as a repair (seen once: 14 + 24 of 37, the
  // extra one the run's last sequence number; every earlier rebuilt packet whose original came
  // was told apart, 440 of 464).
  CHECK(f.network.nack_recovered + f.network.fec_recovered <= f.network.packets_lost + 1);
}

TEST_CASE("loopback --protection flexfec and nack,flexfec count FlexFEC repairs with the repaired losses") {
  // FlexFEC alone through the whole pipeline is tests/pipeline's; here the option and the counts.
  CliOutcome o = parse({"--protection", "flexfec", "--loss", "5", "--duration", "4", "--resolution", "320x240"});
  REQUIRE_MESSAGE(o.config.has_value(), o.message);
  CHECK(o.config->protection.flexfec);
  CHECK_FALSE(o.config->protection.nack);
  CHECK_FALSE(o.config->protection.fec);
  o = parse({"--protection", "nack,flexfec", "--loss", "5", "--duration", "4", "--resolution", "320x240"});
  REQUIRE_MESSAGE(o.config.has_value(), o.message);
  const Summary n = run(*o.config).summary;
  MESSAGE("nack,flexfec, 5% loss: lost " << n.network.packets_lost << ", repaired by FEC " << n.network.fec_recovered
          << ", by NACK " << n.network.nack_recovered);
  CHECK(n.network.fec_recovered > 0);
  CHECK(n.network.nack_recovered > 0);
  CHECK(n.network.fec_recovered + n.network.nack_recovered <= n.network.packets_lost);
}

TEST_CASE("loopback --protection fec (no retransmission): audio RED and a keyframe asked at once keep gaps short") {
  // Issue 14's fec-only row, shortened: VP9 + Opus, 1 Mbps, 3% random loss, FEC the only repair.
  // Opus codes no in-band FEC for quiet frames, so audio needs RED's copies (1.7-3.4% concealment
  // without them); a lost video packet past FEC's reach costs a keyframe, asked for once the FEC
  // group is over and at the latest 250 ms after the stream stopped decoding (500 ms, with NACK).
  for (const std::string& seed : TERN_TOOLS_SLOW_BUILD ? std::vector<std::string>{"2"} : std::vector<std::string>{"2", "9"}) {
    CliOutcome o = parse({"--codecs", "vp9,opus", "--capacity", "1mbps", "--loss", "3", "--protection", "fec",
                          "--duration", "20", "--resolution", "320x240", "--seed", seed});
    REQUIRE_MESSAGE(o.config.has_value(), o.message);
    CHECK_FALSE(o.config->protection.nack);
    CHECK(o.config->protection.red);  // forward correction for audio as well
    const Summary s = run(*o.config).summary;
    MESSAGE("seed " << seed << ": concealment " << s.audio.concealment_percent << "%, longest gap "
            << s.video.longest_gap_ms << " ms, freezes " << s.video.freeze_count << ", lost " << s.network.packets_lost
            << ", FEC repaired " << s.network.fec_recovered);
    CHECK(s.network.packets_lost > 50);
    CHECK(s.network.fec_recovered > 0);
    CHECK(s.network.nacks_sent == 0);
    CHECK(s.audio.concealment_percent < 1.5);
    CHECK(s.video.longest_gap_ms < 500);
  }
  // Audio without video FEC keeps what was asked for.
  CliOutcome o = parse({"--protection", "nack"});
  REQUIRE(o.config.has_value());
  CHECK_FALSE(o.config->protection.red);
}

TEST_CASE("loopback bursty loss on wifi is repaired without a freeze") {
  // 4% loss in bursts of 3 at up to 3 Mbps: NACK/RTX must get the burst's packets back before the
  // video stalls (the retransmission budget once starved the retries: 0.3-1.7 s freezes per run).
  const int seeds = TERN_TOOLS_SLOW_BUILD ? 1 : 4;
  for (int seed = 1; seed <= seeds; ++seed) {
    CAPTURE(seed);
    LoopbackConfig c = find_preset("wifi-lossy")->config;
    c.seed = static_cast<uint64_t>(seed);
    c.duration = TimeDelta::Seconds(TERN_TOOLS_SLOW_BUILD ? 10 : 12);  // 5 s: 33 lost at 1.4 Mbps
    const Summary s = run(c).summary;
    CHECK(s.network.packets_lost > 50);
    // The video's own losses (its media packets, by SSRC and payload type, that the link dropped;
    // the link's count also holds audio, RTCP, FEC, probes and lost retransmissions) came back.
    // Two independent counts: on the path, the retransmissions that carried a lost number; at B,
    // the numbers its NACK generator saw missing and then filled by RTX, or FEC rebuilt (a packet
    // FEC rebuilt is often retransmitted too: the NACK left first). Measured at 12 s, seeds 1-4:
    // 42-63 lost a run; B repaired all but 0-1 (RTX 32-46, FEC 10-24), the path saw RTX bring
    // 40-57 of them.
    REQUIRE(s.network.video_packets_lost.has_value());
    const uint64_t video_lost = *s.network.video_packets_lost;
    const uint64_t repaired_at_b = s.network.nack_recovered + s.network.video_repaired_by_fec;
    MESSAGE("wifi-lossy seed " << seed << ": link lost " << s.network.packets_lost << ", the video " << video_lost
            << "; B repaired " << s.network.nack_recovered << " by RTX and " << s.network.video_repaired_by_fec
            << " by FEC; retransmissions brought " << s.network.video_repaired_by_rtx);
    CHECK(video_lost > 20);
    CHECK(static_cast<double>(repaired_at_b) >= 0.9 * static_cast<double>(video_lost));
    CHECK(repaired_at_b <= video_lost);  // no reordering here: every repair filled a real loss
    CHECK(static_cast<double>(s.network.video_repaired_by_rtx) >= 0.8 * static_cast<double>(video_lost));
    CHECK(s.network.video_repaired_by_rtx <= video_lost);
    CHECK(s.network.nack_recovered <= s.network.video_repaired_by_rtx);
    CHECK(s.video.freeze_count == 0);
    CHECK(s.video.longest_gap_ms < 300.0);
  }
}

// Mean PSNR of encoding the loopback's synthetic source with VP8 at `rate`, no network.
double encoder_alone_psnr(const LoopbackConfig& c, DataRate rate, int frames) {
  media::SyntheticVideoConfig sc;
  sc.width = c.width;
  sc.height = c.height;
  sc.fps = c.fps;
  sc.seed = c.seed;
  auto source = media::SyntheticVideoSource::Create(sc);
  REQUIRE(source.ok());
  codecs::VideoEncoderConfig ec;
  ec.width = c.width;
  ec.height = c.height;
  ec.start_bitrate = rate;
  ec.max_framerate = c.fps;
  auto encoder = codecs::CreateVideoEncoder(ec);
  REQUIRE(encoder.ok());
  auto decoder = codecs::CreateVideoDecoder(codecs::VideoDecoderConfig{});
  REQUIRE(decoder.ok());
  double sum = 0;
  int n = 0;
  for (int i = 0; i < frames; ++i) {
    const Timestamp now = Timestamp::Zero() + TimeDelta::SecondsF(i / c.fps);
    std::optional<codecs::VideoFrame> frame = source->next_frame(now);
    REQUIRE(frame.has_value());
    frame->rtp_timestamp = static_cast<uint32_t>(now.us() * 9 / 100);
    auto encoded = (*encoder)->encode(*frame);
    REQUIRE(encoded.ok());
    if (!encoded->has_value()) continue;
    auto decoded = (*decoder)->decode((*encoded)->data, (*encoded)->rtp_timestamp);
    REQUIRE(decoded.ok());
    if (!decoded->has_value()) continue;
    auto q = media::compare_frames(*frame, **decoded);
    REQUIRE(q.ok());
    sum += q->psnr;
    ++n;
  }
  REQUIRE(n > 0);
  return sum / n;
}

TEST_CASE("loopback clean 1 Mbps link PSNR is within 1 dB of the encoder alone") {
  LoopbackConfig c = find_preset("clean-1mbps")->config;
  c.duration = TimeDelta::Seconds(TERN_TOOLS_SLOW_BUILD ? 3 : 10);
  const ScenarioResult r = run(c);
  double video_target = 0;
  for (const SeriesPoint& p : r.series) video_target += p.video_target_kbps;
  video_target /= static_cast<double>(r.series.size());
  REQUIRE(r.summary.video.psnr_mean.has_value());
  const int frames = static_cast<int>(c.duration.seconds_f() * c.fps);
  const double alone = encoder_alone_psnr(c, DataRate::KilobitsPerSecF(video_target), frames);
  std::printf("clean 1 Mbps: loopback PSNR %.2f dB, encoder alone at %.0f kbps %.2f dB, lost %llu\n",
              *r.summary.video.psnr_mean, video_target, alone,
              static_cast<unsigned long long>(r.summary.network.packets_lost));
  CHECK(r.summary.network.packets_lost == 0);
  CHECK(std::abs(*r.summary.video.psnr_mean - alone) <= 1.0);
  CHECK(r.summary.video.freeze_count == 0);
}

TEST_CASE("loopback rejects bad options with exit code 2") {
  const std::vector<std::vector<std::string>> bad = {
      {"--loss", "-1"},         {"--loss", "60"},          {"--loss", "abc"},        {"--video", "h264"},
      {"--audio", "aac"},       {"--codecs", "vp8,h265"},  {"--resolution", "640"},  {"--resolution", "641x480"},
      {"--resolution", "8x8"},  {"--fps", "0"},            {"--fps", "500"},         {"--duration", "0"},
      {"--duration", "-5"},     {"--capacity", "fast"},    {"--capacity", "10"},     {"--delay", "-10"},
      {"--jitter", "-1"},       {"--burst", "0.5"},        {"--queue", "0"},         {"--topology", "mesh"},
      {"--protection", "magic"}, {"--cc", "bbr"},          {"--rate", "lots"},       {"--seed", "-1"},
      {"--seed", "x"},          {"--preset", "moon"},      {"--trace", "/nonexistent/trace.txt"},
      {"--bogus"},              {"--codecs", "none"},      {"--max-rate", "100", "--start-rate", "200"},
      {"--delay", "nan"},       {"--fps", "inf"},          {"--duration"},           {"--capacity", "0"},
      {"--protection", "fec", "--video", "none"}, {"--ssim-every", "-1"}, {"--ssim-every", "x"},
      {"--ssim-every", "200000"}, {"--nat", "cgnat"},  {"--nat", "symmetric,full-cone,none"},
      {"--nat", "symmetric", "--topology", "sfu"}, {"--flows", "3"}, {"--flows", "2", "--topology", "relay"},
      {"--outage", "12-8"}, {"--outage", "8"}, {"--outage", "1-2", "--capacity", "unlimited"},
      {"--outage", "1-2", "--preset", "lte-trace"},
      {"--protection", "fec,flexfec"}, {"--protection", "flexfec", "--topology", "sfu"},
      {"--protection", "flexfec", "--video", "none"}, {"--degradation", "fast"}};
  for (const auto& args : bad) {
    const CliOutcome o = parse(args);
    INFO(args.front() << " " << (args.size() > 1 ? args[1] : ""));
    CHECK_FALSE(o.config.has_value());
    CHECK(o.exit_code == 2);
    CHECK_FALSE(o.message.empty());
  }
}

TEST_CASE("loopback accepts good options and presets") {
  CliOutcome o = parse({"--codecs", "vp9,opus", "--resolution", "1280x720", "--fps", "25", "--capacity", "1.5mbps",
                        "--delay", "30", "--jitter", "5", "--loss", "1.5", "--burst", "3", "--queue", "400",
                        "--topology", "sfu", "--protection", "nack,fec", "--cc", "remb", "--seed", "42"});
  REQUIRE_MESSAGE(o.config.has_value(), o.message);
  const LoopbackConfig& c = *o.config;
  CHECK(c.video == codecs::CodecType::kVp9);
  CHECK(c.audio == codecs::CodecType::kOpus);
  CHECK(c.width == 1280);
  CHECK(c.height == 720);
  CHECK(c.link.capacity == DataRate::KilobitsPerSec(1500));
  CHECK(c.link.loss == doctest::Approx(0.015));
  CHECK(c.topology == Topology::kMediaServer);
  CHECK(c.protection.fec);
  CHECK(c.protection.red);  // fec protects the audio too (RED, within the budget)
  CHECK(c.congestion == pipeline::CongestionControlMode::kRemb);
  CHECK(c.seed == 42);
  CHECK(c.ssim_every == 60);  // default: SSIM sampled every 60th frame
  CHECK(c.degradation == pipeline::DegradationPreference::kBalanced);
  o = parse({"--degradation", "maintain-resolution"});
  REQUIRE(o.config.has_value());
  CHECK(o.config->endpoint_a().send.degradation == pipeline::DegradationPreference::kMaintainResolution);
  o = parse({"--ssim-every", "0"});
  REQUIRE(o.config.has_value());
  CHECK(o.config->ssim_every == 0);
  CHECK(o.config->endpoint_b().ssim_every == 0);
  // A preset, then an override on top of it.
  o = parse({"--preset", "3g", "--loss", "0"});
  REQUIRE(o.config.has_value());
  CHECK(o.config->link.capacity == DataRate::KilobitsPerSec(750));
  CHECK(o.config->link.loss == 0.0);
  for (const Preset& p : presets()) {
    INFO(p.name);
    CHECK(p.config.validate().empty());
    CHECK(parse({"--preset", p.name}).config.has_value());
  }
  o = parse({"--help"});
  CHECK_FALSE(o.config.has_value());
  CHECK(o.exit_code == 0);
  CHECK(o.message.find("lte-trace") != std::string::npos);
  CHECK(parse_rate("2mbps") == DataRate::KilobitsPerSec(2000));
  CHECK(parse_rate("800k") == DataRate::KilobitsPerSec(800));
  CHECK(parse_rate("unlimited") == DataRate::PlusInfinity());
  CHECK_FALSE(parse_rate("-3").has_value());
}

TEST_CASE("loopback freeze metric reports a known 1 s freeze") {
  std::vector<double> times;
  double t = 0;
  for (int i = 0; i < 90; ++i) times.push_back(t += 1000.0 / 30);
  t += 1000.0;  // the stream stops for one second
  for (int i = 0; i < 90; ++i) times.push_back(t += 1000.0 / 30);
  const FreezeSummary f = analyze_freezes(times);
  CHECK(f.count == 1);
  CHECK(f.total_ms == doctest::Approx(1000.0 + 1000.0 / 30).epsilon(0.01));
  CHECK(f.longest_gap_ms == doctest::Approx(1000.0 + 1000.0 / 30).epsilon(0.01));
  // A steady stream has none; a 100 ms hiccup at 30 fps is below max(3 x 33, 33 + 150) ms.
  times.clear();
  t = 0;
  for (int i = 0; i < 60; ++i) times.push_back(t += 1000.0 / 30 + (i == 30 ? 67 : 0));
  CHECK(analyze_freezes(times).count == 0);
}

TEST_CASE("loopback frame summary of known PSNR and delays") {
  std::vector<FrameRecord> frames;
  for (int i = 0; i < 100; ++i) {
    FrameRecord f;
    f.render_ms = 1000 + i * 10.0;
    f.frame_number = static_cast<uint32_t>(i);
    f.psnr = 30.0 + i * 0.1;  // 30.0 .. 39.9
    f.ssim = 0.9;
    f.e2e_delay_ms = 100.0 + i;  // 100 .. 199
    frames.push_back(f);
  }
  VideoSummary v;
  summarize_frames(frames, TimeDelta::Seconds(2), v);
  CHECK(v.frames_rendered == 100);
  CHECK(*v.psnr_mean == doctest::Approx(34.95));
  CHECK(*v.psnr_p5 == doctest::Approx(30.4));  // 5th of 100 by nearest rank
  CHECK(*v.e2e_p50_ms == doctest::Approx(149.0));
  CHECK(*v.e2e_p95_ms == doctest::Approx(194.0));
  CHECK(v.fps_received == doctest::Approx(100.0));  // 100 frames in the last second
  CHECK(percentile({}, 50) == std::nullopt);
  CHECK(*percentile({5.0}, 0) == 5.0);
  // PSNR of a hand-built picture off by 4 in every sample: 10 log10(255^2 / 16) = 36.09 dB.
  codecs::VideoFrame a = codecs::VideoFrame::Allocate(64, 48);
  codecs::VideoFrame b = codecs::VideoFrame::Allocate(64, 48);
  for (auto* plane : {&b.y, &b.u, &b.v}) {
    for (uint8_t& s : *plane) s = static_cast<uint8_t>(s + 4);
  }
  auto q = media::compare_frames(a, b);
  REQUIRE(q.ok());
  CHECK(q->psnr == doctest::Approx(36.09).epsilon(0.001));
}

TEST_CASE("loopback audio summary of known playout") {
  AudioPlayoutCounts c;
  c.pulls = 1000;
  c.concealed = 25;
  c.buffer_delay_sum_ms = 60.0 * 1000;
  const AudioSummary a = summarize_audio(c, 40.0);
  CHECK(a.concealment_percent == doctest::Approx(2.5));
  CHECK(a.jitter_buffer_delay_ms == doctest::Approx(60.0));
  CHECK(a.e2e_delay_ms == doctest::Approx(20.0 + 40.0 + 60.0));  // no capture-to-playout measured: the means

  const AudioSummary e = summarize_audio(c, 40.0, 6.5);  // the estimate adds the look-ahead
  CHECK(e.e2e_delay_ms == doctest::Approx(20.0 + 6.5 + 40.0 + 60.0));

  // Measured capture-to-playout (mouth-to-ear itself: the sender's reports include packetization
  // and look-ahead) wins over the means.
  c.measured = 800;
  c.capture_to_playout_sum_ms = 137.0 * 800;
  const AudioSummary m = summarize_audio(c, 40.0, 6.5);
  CHECK(m.e2e_delay_ms == doctest::Approx(137.0));
  CHECK(m.codec_delay_ms == doctest::Approx(6.5));
}

TEST_CASE("loopback JSON HTML and WebM outputs are well formed") {
  LoopbackConfig c = short_config(3.0);
  c.record_path = std::string(TERN_BINARY_DIR) + "/tools_loopback_test.webm";
  const ScenarioResult r = run(c);
  const nlohmann::json j = nlohmann::json::parse(to_json(r));
  CHECK(j["tool"] == "tern-loopback");
  CHECK(j["config"]["seed"] == 1);
  CHECK(j["series"].size() == 30);
  CHECK(j["frames"].size() > 60);
  CHECK(j["summary"]["video"]["psnr_mean_db"].is_number());
  CHECK(j["summary"]["audio"]["concealment_percent"].is_number());
  CHECK(j["summary"]["network"]["packets_sent"].get<uint64_t>() > 100);
  // What was refused, by kind: nothing in a clean simulated call (the recorder may skip what
  // precedes the first keyframe).
  const nlohmann::json& rejected = j["summary"]["network"]["rejected"];
  for (const char* k : {"malformed_rtp", "unknown_ssrc", "rtcp_parse_errors", "not_rtp", "send_failures"}) {
    CAPTURE(k);
    CHECK(rejected[k] == 0);
  }
  CHECK(rejected["recorder_dropped"].get<int64_t>() == static_cast<int64_t>(r.summary.network.rejected.recorder_dropped));
  // SSIM is sampled and the JSON says how: frame numbers that are multiples of ssim_every.
  CHECK(j["config"]["ssim_every"] == 60);
  CHECK(j["summary"]["video"]["ssim_sampled"] == true);
  CHECK(j["summary"]["video"]["ssim_every"] == 60);
  int ssim_frames = 0;
  for (const auto& fr : j["frames"]) {
    if (!fr["ssim"].is_number()) continue;
    ++ssim_frames;
    CHECK(fr["frame"].get<uint32_t>() % 60 == 0);
  }
  CHECK(ssim_frames >= 1);
  CHECK(j["summary"]["video"]["frames_ssim"] == ssim_frames);
  CHECK(format_summary(r.summary).find("1 in 60") != std::string::npos);
  const std::string html = to_html(r);
  size_t svgs = 0;
  for (size_t pos = html.find("<svg"); pos != std::string::npos; pos = html.find("<svg", pos + 1)) ++svgs;
  CHECK(svgs == 4);  // rates, delay, loss, PSNR
  CHECK(html.find("<polyline") != std::string::npos);
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  std::ifstream f(c.record_path, std::ios::binary);
  REQUIRE(f.good());
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto info = media::parse_webm(bytes);
  REQUIRE_MESSAGE(info.ok(), info.error());
  REQUIRE(info->tracks.size() == 2);
  size_t video_frames = 0, audio_frames = 0;
  for (const media::WebmTrackInfo& t : info->tracks) {
    (t.is_video ? video_frames : audio_frames) += info->frames_of(t.number).size();
  }
  CHECK(video_frames > 60);
  CHECK(audio_frames > 100);
  std::remove(c.record_path.c_str());
}

TEST_CASE("loopback at 250 kbps adapts resolution, scores the scaled source and records across the change") {
  LoopbackConfig c = find_preset("default")->config;
  c.duration = TimeDelta::Seconds(8);
  c.link.capacity = DataRate::KilobitsPerSec(250);
  c.link.delay = TimeDelta::Millis(30);
  c.link.jitter = TimeDelta::Millis(5);
  c.link.loss = 0;
  c.record_path = test::scratch_dir("tools_adapt") + "/adapted.webm";
  const ScenarioResult r = run(c);
  const VideoSummary& v = r.summary.video;
  MESSAGE("sent " << v.sent_width << "x" << v.sent_height << "@" << v.adapted_fps << ", changes " << v.resolution_changes
                  << ", rendered " << v.frames_rendered << ", scored " << v.frames_scored << ", PSNR "
                  << v.psnr_mean.value_or(0));
  CHECK(v.resolution_changes >= 1);
  CHECK(v.sent_width < 640);
  CHECK(v.sent_width * 3 == v.sent_height * 4);  // the aspect ratio is kept
  CHECK(v.adapted_fps >= 20);                    // balanced: smaller before slower
  CHECK(v.received_width == v.sent_width);       // the receiver follows
  CHECK(v.limited_bandwidth_s > 4);
  // Every rendered frame is scored, at its own size, against the source scaled to it.
  CHECK(v.frames_rendered > 40);
  CHECK(v.frames_scored == v.frames_rendered);
  CHECK(v.psnr_mean.value_or(0) > 27);
  const nlohmann::json j = nlohmann::json::parse(to_json(r));
  CHECK(j["summary"]["video"]["resolution_changes"] == v.resolution_changes);
  CHECK(j["config"]["degradation"] == "balanced");
  // The WebM recording holds frames of both sizes and decodes without an error.
  std::ifstream f(c.record_path, std::ios::binary);
  REQUIRE(f.good());
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto info = media::parse_webm(bytes);
  REQUIRE_MESSAGE(info.ok(), info.error());
  if (!test::have_tool("ffprobe")) return;
  const auto widths = test::run_command("ffprobe -v error -select_streams v -show_entries frame=width -of csv=p=0 '" +
                                        c.record_path + "' | sort -u", 60);
  CHECK(widths.exit_code == 0);
  CHECK(widths.out.find("640") != std::string::npos);
  CHECK(widths.out.find(std::to_string(v.sent_width)) != std::string::npos);
}

TEST_CASE("loopback with video FEC at 500 kbps sends no more than its target") {
  // FEC rounds up to whole packets per frame: at a few hundred kbps (one or two packets a frame)
  // it is far above the allocator's 15% reserve. The send transport charges what FEC really sent,
  // as it does for headers and audio (before: 499 kbps sent on a 394 kbps target, a standing queue).
  LoopbackConfig c = find_preset("default")->config;
  c.duration = TimeDelta::Seconds(15);
  c.protection.fec = true;
  c.link.capacity = DataRate::KilobitsPerSec(500);
  c.link.delay = TimeDelta::Millis(30);
  c.link.jitter = TimeDelta::Millis(5);
  c.link.loss = 0.005;
  const ScenarioResult r = run(c);
  // After the start (a 1 Mbps start rate, its probes and the first keyframe), from the series.
  const nlohmann::json j = nlohmann::json::parse(to_json(r));
  double target_sum = 0, sent_sum = 0;
  int bins = 0;
  for (const auto& b : j["series"]) {
    if (b["time_ms"].get<double>() < 3000 || b["target_kbps"].is_null() || b["send_kbps"].is_null()) continue;
    target_sum += b["target_kbps"].get<double>();
    sent_sum += b["send_kbps"].get<double>();
    ++bins;
  }
  REQUIRE(bins > 50);
  MESSAGE("FEC at 500 kbps, from 3 s: target " << target_sum / bins << " kbps, sent " << sent_sum / bins
                                               << " kbps; FEC repairs " << r.summary.network.fec_recovered);
  CHECK(sent_sum <= target_sum * 1.02);
}

TEST_CASE("loopback relay and media server topologies deliver the call") {
  for (Topology t : {Topology::kRelay, Topology::kMediaServer}) {
    LoopbackConfig c = short_config(3.0);
    c.topology = t;
    c.protection.fec = true;
    const ScenarioResult r = run(c);
    INFO(topology_name(t));
    // The relayed call starts once ICE has connected both sides through the TURN server (~0.9 s).
    CHECK(r.summary.video.frames_rendered > (t == Topology::kRelay ? 45 : 60));
    CHECK(r.summary.audio.concealment_percent < 10.0);
    CHECK(r.summary.network.packets_sent > 100);
  }
}

TEST_CASE("loopback --nat picks each side's NAT kind: --nat with one kind or A,B") {
  CliOutcome o = parse({"--nat", "symmetric"});
  REQUIRE_MESSAGE(o.config.has_value(), o.message);
  CHECK(o.config->nat_a == netsim::NatKind::kSymmetric);
  CHECK(o.config->nat_b == netsim::NatKind::kSymmetric);
  CHECK(o.config->uses_ice());
  o = parse({"--nat", "none,port-restricted", "--topology", "relay"});
  REQUIRE_MESSAGE(o.config.has_value(), o.message);
  CHECK_FALSE(o.config->nat_a.has_value());
  CHECK(o.config->nat_b == netsim::NatKind::kPortRestricted);
  o = parse({});
  REQUIRE(o.config.has_value());
  CHECK_FALSE(o.config->uses_ice());
}

// The relay topology speaks TURN end to end: both sides allocate on the TURN server core with the
// TURN client, ICE runs with the relay policy, media crosses the server as ChannelData; the
// receiver measures delay and loss from the first sender's send time carried across the relay.
TEST_CASE("loopback relay topology: relay-only ICE through the TURN server, media as ChannelData") {
  // Not shortened in sanitizer builds (fast enough): ~0.9 s of the call goes to connecting, and
  // the loss share of a 3 s call is too noisy for the bound below.
  LoopbackConfig c = short_config(6.0);
  c.topology = Topology::kRelay;
  c.nat_a = netsim::NatKind::kPortRestricted;
  const ScenarioResult r = run(c);
  const IceSummary& ice = r.summary.ice;
  REQUIRE(ice.present);
  CHECK(ice.policy == "relay");
  CHECK(ice.local_type == "relay");
  CHECK(ice.remote_type == "relay");
  CHECK(ice.state_a == "connected");
  CHECK(ice.state_b == "connected");
  CHECK(ice.turn_allocations == 2);
  CHECK(ice.turn_channels_bound >= 2);  // each side binds a channel to the other's relayed address
  REQUIRE(ice.connected_a_ms);
  REQUIRE(ice.connected_b_ms);
  CHECK(*ice.connected_a_ms < 2000);
  CHECK(*ice.connected_b_ms < 2000);
  CHECK(ice.send_refused == 0);  // endpoints start only once both sides are connected
  // Media: the whole call after connection, loss near the link's 2 %, delay at least the link's.
  const double live_s = c.duration.seconds_f() - std::max(*ice.connected_a_ms, *ice.connected_b_ms) / 1000.0;
  CHECK(r.summary.video.frames_rendered > static_cast<int64_t>(live_s * c.fps * 0.85));
  CHECK(r.summary.audio.concealment_percent < 5.0);
  const NetworkSummary& n = r.summary.network;
  CHECK(n.packets_sent > 200);
  CHECK(n.packets_lost > 0);
  CHECK(static_cast<double>(n.packets_lost) < 0.06 * static_cast<double>(n.packets_sent));
  CHECK(n.one_way_delay_p50_ms >= 30.0);  // 50 ms +- 20 ms jitter on A's link, 5 ms to B
  CHECK(n.one_way_delay_p50_ms < 120.0);
  const nlohmann::json j = nlohmann::json::parse(to_json(r));
  CHECK(j["config"]["nat_a"] == "port-restricted");
  CHECK(j["config"]["nat_b"] == "none");
  CHECK(j["summary"]["ice"]["selected_local_type"] == "relay");
  CHECK(j["summary"]["ice"]["turn_allocations"] == 2);
}

TEST_CASE("loopback --nat without the relay topology: ICE finds the path the NATs allow") {
  struct Case {
    netsim::NatKind a, b;
    bool relayed;  // symmetric to symmetric can only meet on the relay
  };
  for (const Case& k : {Case{netsim::NatKind::kFullCone, netsim::NatKind::kFullCone, false},
                        Case{netsim::NatKind::kSymmetric, netsim::NatKind::kSymmetric, true}}) {
    LoopbackConfig c = short_config(4.0);  // not shortened: connecting takes ~0.8 s of it
    c.nat_a = k.a;
    c.nat_b = k.b;
    const ScenarioResult r = run(c);
    const IceSummary& ice = r.summary.ice;
    INFO(netsim::to_string(k.a) << " <-> " << netsim::to_string(k.b) << ": " << ice.local_type << " / " << ice.remote_type);
    REQUIRE(ice.present);
    CHECK(ice.policy == "all");
    CHECK(ice.state_a == "connected");
    CHECK(ice.turn_allocations == 2);  // both gather a relay candidate either way
    const bool relayed = ice.local_type == "relay" || ice.remote_type == "relay";
    CHECK(relayed == k.relayed);
    if (!k.relayed) CHECK(ice.turn_channels_bound == 0);  // nothing crossed the relay
    CHECK(r.summary.video.frames_rendered > 40);
  }
  // Without --nat the direct topology keeps netsim's anonymous A/B network: no ICE section.
  const ScenarioResult plain = run(short_config(1.0));
  CHECK_FALSE(plain.summary.ice.present);
  CHECK(nlohmann::json::parse(to_json(plain))["config"].count("nat_a") == 0);
}

TEST_CASE("loopback --cc rfc8888: GCC on RFC 8888 feedback keeps a 500 kbps bottleneck's 1 s queue short") {
  // The receiver sends RFC 8888 congestion control feedback instead of transport-cc; the sender
  // matches it by (SSRC, RTP sequence number). Only delay-based control keeps this queue short:
  // loss-based control alone (no feedback) would fill it to ~1 s before losing a packet.
  CliOutcome o = parse({"--preset", "cc-bottleneck", "--cc", "rfc8888", "--duration",
                        TERN_TOOLS_SLOW_BUILD ? "8" : "20"});
  REQUIRE_MESSAGE(o.config.has_value(), o.message);
  CHECK(o.config->congestion == pipeline::CongestionControlMode::kRfc8888);
  const ScenarioResult r = run(*o.config);
  const NetworkSummary& n = r.summary.network;
  MESSAGE("rfc8888 on 500 kbps / 1 s queue: target " << n.target_mean_kbps << " kbps, one-way p95 "
                                                     << n.one_way_delay_p95_ms << " ms");
  CHECK(n.one_way_delay_p95_ms < 250);
  CHECK(n.target_mean_kbps > 250);
  CHECK(n.target_mean_kbps < 520);
  CHECK(r.summary.video.freeze_count <= 1);
  CHECK(nlohmann::json::parse(to_json(r))["config"]["congestion_control"] == "rfc8888");
}

TEST_CASE("loopback --trace reads a mahimahi delivery-opportunity trace and reports its mean capacity") {
  const std::string path = std::string(TERN_SOURCE_DIR) + "/../shared/traces/TMobile-UMTS-driving.up";
  std::ifstream file(path);
  if (!file) {
    MESSAGE("no " << path << ": skipped");
    return;
  }
  // The trace's own mean over the first 8 s, counted here: one 1500-byte opportunity per line.
  int64_t opportunities = 0;
  for (int64_t ms = 0; file >> ms && ms < 8000;) ++opportunities;
  const double expected_kbps = static_cast<double>(opportunities) * 1500 * 8 / 8.0 / 1000;
  CliOutcome o = parse({"--trace", path, "--duration", "8", "--resolution", "320x240", "--delay", "40"});
  REQUIRE_MESSAGE(o.config.has_value(), o.message);
  CHECK_FALSE(o.config->link.delivery_trace.empty());
  CHECK(o.config->link.rate_trace.empty());
  CHECK(o.config->mean_capacity().kbps_f() == doctest::Approx(expected_kbps).epsilon(0.001));
  const ScenarioResult r = run(*o.config);
  const nlohmann::json j = nlohmann::json::parse(to_json(r));
  CHECK(j["config"]["capacity_kbps"].get<double>() == doctest::Approx(expected_kbps).epsilon(0.001));
  const NetworkSummary& n = r.summary.network;
  MESSAGE("UMTS uplink, first 8 s: trace mean " << expected_kbps << " kbps, series capacity mean "
                                                << n.capacity_mean_kbps.value_or(-1) << ", received "
                                                << n.receive_mean_kbps << " kbps");
  REQUIRE(n.capacity_mean_kbps.has_value());
  CHECK(*n.capacity_mean_kbps == doctest::Approx(expected_kbps).epsilon(0.05));
  CHECK(n.receive_mean_kbps <= *n.capacity_mean_kbps);  // the link's opportunities bound delivery
  CHECK(r.summary.video.frames_rendered > 0);
  // A two-column file is still a rate trace.
  const std::string rate_path = std::string(TERN_BINARY_DIR) + "/loopback_rate_trace.txt";
  std::ofstream(rate_path) << "# ms kbps\n0 800\n4000 400\n";
  o = parse({"--trace", rate_path, "--duration", "8"});
  REQUIRE_MESSAGE(o.config.has_value(), o.message);
  CHECK_FALSE(o.config->link.rate_trace.empty());
  CHECK(o.config->mean_capacity() == DataRate::KilobitsPerSec(600));
  std::remove(rate_path.c_str());
}

TEST_CASE("loopback realtime mode runs the call over UDP loopback") {
  // Wall-clock run (2 s): only that media flows end to end is asserted, never timing.
  LoopbackConfig c = short_config(2.0);
  c.realtime = true;
  const ScenarioOutcome o = run_scenario(c);
  REQUIRE_MESSAGE(o.result.has_value(), o.error);
  CHECK(o.result->summary.video.frames_rendered > 10);
  CHECK(o.result->summary.audio.playout_ms > 500);
  CHECK(o.result->series.size() == 20);
}

}  // namespace
}  // namespace tern::tools
