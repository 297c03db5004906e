#include "tern/tools/loopback/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tern/jitterbuffer/video/freeze_meter.h"
#include "tern/pipeline/audio_send_stream.h"

namespace tern::tools {
namespace {

std::string line(const char* label, const std::string& value) {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "  %-34s %s\n", label, value.c_str());
  return buf;
}

std::string num(std::optional<double> v, const char* format) {
  if (!v) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, *v);
  return buf;
}

std::string num(double v, const char* format) { return num(std::optional<double>(v), format); }

}  // namespace

std::optional<double> percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  p = std::clamp(p, 0.0, 100.0);
  // Nearest rank: the smallest value with at least p% of the values at or below it.
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const size_t index = rank < 1.0 ? 0 : static_cast<size_t>(rank) - 1;
  return values[std::min(index, values.size() - 1)];
}

std::optional<double> mean(const std::vector<double>& values) {
  if (values.empty()) return std::nullopt;
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

FreezeSummary analyze_freezes(const std::vector<double>& render_times_ms) {
  jitterbuffer::FreezeMeter meter;  // pauses apart, as the webrtc-stats figures
  // Each freeze is also in the meter's totals read below, so the gap returned per frame is not needed.
  for (double t : render_times_ms) (void)meter.on_frame(Timestamp::Zero() + TimeDelta::MillisF(t));
  const jitterbuffer::FreezeStats& s = meter.stats();
  FreezeSummary out;
  out.count = s.freeze_count;
  out.total_ms = s.total_freezes_duration.ms_f();
  out.longest_gap_ms = s.longest_gap.ms_f();
  return out;
}

void summarize_frames(const std::vector<FrameRecord>& frames, TimeDelta duration, VideoSummary& out) {
  std::vector<double> psnr, ssim, e2e, render;
  for (const FrameRecord& f : frames) {
    render.push_back(f.render_ms);
    if (f.psnr) psnr.push_back(*f.psnr);
    if (f.ssim) ssim.push_back(*f.ssim);
    if (f.e2e_delay_ms) e2e.push_back(*f.e2e_delay_ms);
  }
  out.frames_rendered = static_cast<int64_t>(frames.size());
  out.frames_scored = static_cast<int64_t>(psnr.size());
  out.frames_ssim = static_cast<int64_t>(ssim.size());
  out.psnr_mean = mean(psnr);
  out.psnr_p5 = percentile(psnr, 5);
  out.ssim_mean = mean(ssim);
  out.ssim_p5 = percentile(ssim, 5);
  const FreezeSummary fz = analyze_freezes(render);
  out.freeze_count = fz.count;
  out.freeze_total_ms = fz.total_ms;
  out.longest_gap_ms = fz.longest_gap_ms;
  out.e2e_p50_ms = percentile(e2e, 50);
  out.e2e_p95_ms = percentile(e2e, 95);
  out.fps_received = 0;
  if (!frames.empty()) {
    const double span_s = duration.seconds_f() - frames.front().render_ms / 1000.0;
    if (span_s > 0) out.fps_received = static_cast<double>(frames.size()) / span_s;
  }
}

void summarize_series(const std::vector<SeriesPoint>& series, NetworkSummary& out) {
  std::vector<double> target, capacity, send, receive, rtt, delay;
  bool unlimited = false;
  for (const SeriesPoint& p : series) {
    target.push_back(p.target_kbps);
    if (!p.capacity_kbps) unlimited = true;
    capacity.push_back(p.capacity_kbps.value_or(0));
    send.push_back(p.send_kbps);
    receive.push_back(p.receive_kbps);
    if (p.rtt_ms) rtt.push_back(*p.rtt_ms);
    if (p.one_way_delay_ms) delay.push_back(*p.one_way_delay_ms);
  }
  out.target_mean_kbps = mean(target).value_or(0);
  out.capacity_mean_kbps = unlimited ? std::nullopt : mean(capacity);
  out.send_mean_kbps = mean(send).value_or(0);
  out.receive_mean_kbps = mean(receive).value_or(0);
  out.rtt_mean_ms = mean(rtt);
  out.rtt_p95_ms = percentile(rtt, 95);
  out.one_way_delay_p50_ms = percentile(delay, 50).value_or(0);
  out.one_way_delay_p95_ms = percentile(delay, 95).value_or(0);
}

AudioSummary summarize_audio(const AudioPlayoutCounts& counts, std::optional<double> audio_network_delay_ms,
                             double codec_delay_ms) {
  AudioSummary out;
  out.present = counts.pulls > 0;
  out.playout_ms = counts.pulls * 10;
  if (counts.pulls == 0) return out;
  const double n = static_cast<double>(counts.pulls);
  out.concealment_percent = 100.0 * static_cast<double>(counts.concealed) / n;
  out.jitter_buffer_delay_ms = counts.buffer_delay_sum_ms / n;
  out.network_delay_ms = audio_network_delay_ms.value_or(0);
  out.sync_delay_ms = counts.sync_delay_sum_ms / n;
  out.codec_delay_ms = codec_delay_ms;
  // The sender's reports stamp each audio RTP timestamp with the instant the sample played there
  // was spoken (AudioSendStream: the 20 ms frame and the encoder's look-ahead before the frame was
  // taken), so a block's measured capture-to-playout is its mouth-to-ear
  // (tests/pipeline/source_hook_test.cpp hears clicks that long after they are spoken). Before a
  // sender report: frame + look-ahead + the network, buffer and sync means, an estimate that
  // counts the buffer's sawtooth and misses the sender's queue.
  if (counts.measured > 0) {
    out.e2e_delay_ms = counts.capture_to_playout_sum_ms / static_cast<double>(counts.measured);
  } else {
    out.e2e_delay_ms = pipeline::AudioSendStream::kFrameDuration.ms_f() + codec_delay_ms + out.network_delay_ms +
                       out.jitter_buffer_delay_ms + out.sync_delay_ms;
  }
  return out;
}

std::string format_summary(const Summary& s) {
  std::string out;
  if (s.video.present) {
    const VideoSummary& v = s.video;
    out += "video\n";
    out += line("PSNR mean / 5th percentile", num(v.psnr_mean, "%.2f dB") + " / " + num(v.psnr_p5, "%.2f dB"));
    // SSIM is sampled: say how often and over how many frames.
    const std::string sampling = v.ssim_every <= 0  ? "off"
                                 : v.ssim_every == 1 ? std::to_string(v.frames_ssim) + " frames, every frame"
                                                     : std::to_string(v.frames_ssim) + " frames, 1 in " + std::to_string(v.ssim_every);
    out += line("SSIM mean / 5th percentile", num(v.ssim_mean, "%.4f") + " / " + num(v.ssim_p5, "%.4f") + " (" + sampling + ")");
    out += line("freezes (count, total, longest gap)", std::to_string(v.freeze_count) + ", " +
                                                          num(v.freeze_total_ms, "%.0f ms") + ", " +
                                                          num(v.longest_gap_ms, "%.0f ms"));
    out += line("frames captured / encoded / rendered", std::to_string(v.frames_captured) + " / " +
                                                           std::to_string(v.frames_encoded) + " / " +
                                                           std::to_string(v.frames_rendered));
    out += line("fps received", num(v.fps_received, "%.1f"));
    out += line("size sent@fps / received (last)", std::to_string(v.sent_width) + "x" + std::to_string(v.sent_height) + "@" +
                                                       num(v.adapted_fps, "%g") + " / " + std::to_string(v.received_width) +
                                                       "x" + std::to_string(v.received_height));
    out += line("size changes; limited by rate / CPU", std::to_string(v.resolution_changes) + ", " +
                                                                  num(v.limited_bandwidth_s, "%.1f s") + " / " +
                                                                  num(v.limited_cpu_s, "%.1f s"));
    out += line("end-to-end delay p50 / p95", num(v.e2e_p50_ms, "%.0f ms") + " / " + num(v.e2e_p95_ms, "%.0f ms"));
  }
  if (s.audio.present) {
    const AudioSummary& a = s.audio;
    out += "audio\n";
    out += line("concealment", num(a.concealment_percent, "%.2f %%") + " of " + num(a.playout_ms / 1000.0, "%.1f s"));
    out += line("jitter-buffer delay (mean)", num(a.jitter_buffer_delay_ms, "%.0f ms"));
    out += line("end-to-end delay (mean)", num(a.e2e_delay_ms, "%.0f ms"));
  }
  const NetworkSummary& n = s.network;
  out += "network (A -> B)\n";
  out += line("packets sent / lost on the link", std::to_string(n.packets_sent) + " / " + std::to_string(n.packets_lost));
  out += line("repaired by NACK (RTX) / by FEC", std::to_string(n.nack_recovered) + " / " + std::to_string(n.fec_recovered));
  if (n.video_packets_lost) {
    out += line("video packets lost / by RTX / by FEC", std::to_string(*n.video_packets_lost) + " / " +
                                                          std::to_string(n.video_repaired_by_rtx) + " / " +
                                                          std::to_string(n.video_repaired_by_fec));
  }
  out += line("retransmissions sent / received", std::to_string(n.rtx_sent) + " / " + std::to_string(n.rtx_received));
  out += line("RTT mean / p95", num(n.rtt_mean_ms, "%.0f ms") + " / " + num(n.rtt_p95_ms, "%.0f ms"));
  out += line("one-way network delay p50 / p95", num(n.one_way_delay_p50_ms, "%.0f ms") + " / " +
                                                      num(n.one_way_delay_p95_ms, "%.0f ms"));
  out += line("target / capacity (mean)", num(n.target_mean_kbps, "%.0f kbps") + " / " +
                                              (n.capacity_mean_kbps ? num(n.capacity_mean_kbps, "%.0f kbps") : "unlimited"));
  out += line("sent / received rate (mean)", num(n.send_mean_kbps, "%.0f kbps") + " / " + num(n.receive_mean_kbps, "%.0f kbps"));
  if (s.second_flow) {
    out += "second call (A2 -> B2, same links)\n";
    out += line("target / received (mean)", num(s.second_flow->target_mean_kbps, "%.0f kbps") + " / " +
                                                num(s.second_flow->receive_mean_kbps, "%.0f kbps"));
  }
  if (s.ice.present) {
    const IceSummary& i = s.ice;
    out += "ICE (NAT A " + i.nat_a + ", NAT B " + i.nat_b + ", policy " + i.policy + ")\n";
    out += line("selected pair (A local / remote)", i.local_type.empty() ? "none" : i.local_type + " / " + i.remote_type);
    out += line("connected at A / B", num(i.connected_a_ms, "%.0f ms") + " / " + num(i.connected_b_ms, "%.0f ms"));
    out += line("TURN allocations / channels bound", std::to_string(i.turn_allocations) + " / " +
                                                         std::to_string(i.turn_channels_bound));
  }
  return out;
}

}  // namespace tern::tools
