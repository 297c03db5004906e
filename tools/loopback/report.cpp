#include "tern/tools/loopback/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace tern::tools {
namespace {

using nlohmann::json;

double r3(double v) { return std::round(v * 1000.0) / 1000.0; }
json opt(const std::optional<double>& v) { return v ? json(r3(*v)) : json(nullptr); }
std::string rate_text(DataRate r) {
  if (r.is_plus_infinity()) return "unlimited";
  return std::to_string(r.kbps()) + " kbps";
}

std::string protection_text(const pipeline::ProtectionConfig& p) {
  std::string s;
  if (p.nack) s += "nack";
  if (p.fec) s += s.empty() ? "fec" : ",fec";
  if (p.flexfec) s += s.empty() ? "flexfec" : ",flexfec";
  if (p.red) s += s.empty() ? "red" : ",red";
  return s.empty() ? "none" : s;
}

json config_json(const LoopbackConfig& c) {
  json j;
  j["preset"] = c.preset;
  j["video"] = codecs::codec_name(c.video);
  j["audio"] = codecs::codec_name(c.audio);
  j["width"] = c.width;
  j["height"] = c.height;
  j["fps"] = r3(c.fps);
  j["duration_s"] = r3(c.duration.seconds_f());
  const DataRate capacity = c.mean_capacity();  // a trace's mean over the call
  j["capacity_kbps"] = capacity.is_finite() ? json(r3(capacity.kbps_f())) : json("unlimited");
  j["trace"] = c.link.trace_name;
  j["delay_ms"] = r3(c.link.delay.ms_f());
  j["jitter_ms"] = r3(c.link.jitter.ms_f());
  j["loss_percent"] = r3(c.link.loss * 100);
  j["burst"] = r3(c.link.burst);
  j["queue_ms"] = r3(c.link.queue.ms_f());
  j["reordering"] = c.link.reordering;
  j["topology"] = topology_name(c.topology);
  if (c.flows != 1) j["flows"] = c.flows;  // only then, so the JSON of one call is unchanged
  if (c.uses_ice()) {  // only then, so the JSON of the other topologies is unchanged
    j["nat_a"] = c.nat_a ? netsim::to_string(*c.nat_a) : "none";
    j["nat_b"] = c.nat_b ? netsim::to_string(*c.nat_b) : "none";
  }
  j["protection"] = protection_text(c.protection);
  j["congestion_control"] = pipeline::congestion_mode_name(c.congestion);
  j["fixed_rate_kbps"] = r3(c.fixed_rate.kbps_f());
  j["bidirectional"] = c.bidirectional;
  j["ssim_every"] = c.ssim_every;
  j["degradation"] = pipeline::to_string(c.degradation);
  j["seed"] = c.seed;
  return j;
}

json summary_json(const Summary& s) {
  json j;
  if (s.video.present) {
    const VideoSummary& v = s.video;
    j["video"] = {{"psnr_mean_db", opt(v.psnr_mean)},    {"psnr_p5_db", opt(v.psnr_p5)},
                  {"ssim_mean", opt(v.ssim_mean)},       {"ssim_p5", opt(v.ssim_p5)},
                  {"freeze_count", v.freeze_count},      {"freeze_total_ms", r3(v.freeze_total_ms)},
                  {"longest_gap_ms", r3(v.longest_gap_ms)}, {"fps_received", r3(v.fps_received)},
                  {"e2e_delay_p50_ms", opt(v.e2e_p50_ms)}, {"e2e_delay_p95_ms", opt(v.e2e_p95_ms)},
                  {"frames_captured", v.frames_captured}, {"frames_encoded", v.frames_encoded},
                  {"frames_rendered", v.frames_rendered}, {"frames_scored", v.frames_scored},
                  {"keyframes_encoded", v.keyframes_encoded},
                  // SSIM is sampled (frame numbers that are multiples of ssim_every; 0 = off).
                  {"ssim_sampled", v.ssim_every != 1}, {"ssim_every", v.ssim_every},
                  {"frames_ssim", v.frames_ssim},
                  {"resolution_changes", v.resolution_changes}, {"adapted_fps", r3(v.adapted_fps)},
                  {"sent_width", v.sent_width}, {"sent_height", v.sent_height},
                  {"received_width", v.received_width}, {"received_height", v.received_height},
                  {"quality_limited_bandwidth_s", r3(v.limited_bandwidth_s)},
                  {"quality_limited_cpu_s", r3(v.limited_cpu_s)}};
  }
  if (s.audio.present) {
    const AudioSummary& a = s.audio;
    j["audio"] = {{"concealment_percent", r3(a.concealment_percent)},
                  {"jitter_buffer_delay_ms", r3(a.jitter_buffer_delay_ms)},
                  {"codec_delay_ms", r3(a.codec_delay_ms)},
                  {"network_delay_ms", r3(a.network_delay_ms)},
                  {"sync_delay_ms", r3(a.sync_delay_ms)},
                  {"e2e_delay_ms", r3(a.e2e_delay_ms)},
                  {"playout_ms", a.playout_ms}};
  }
  const NetworkSummary& n = s.network;
  j["network"] = {{"packets_sent", n.packets_sent},     {"packets_lost", n.packets_lost},
                  {"nack_recovered", n.nack_recovered}, {"fec_recovered", n.fec_recovered},
                  {"rtx_sent", n.rtx_sent},             {"rtx_received", n.rtx_received},
                  {"nacks_sent", n.nacks_sent},         {"rtt_mean_ms", opt(n.rtt_mean_ms)},
                  {"rtt_p95_ms", opt(n.rtt_p95_ms)},    {"target_mean_kbps", r3(n.target_mean_kbps)},
                  {"capacity_mean_kbps", opt(n.capacity_mean_kbps)},
                  {"send_mean_kbps", r3(n.send_mean_kbps)},
                  {"receive_mean_kbps", r3(n.receive_mean_kbps)},
                  {"one_way_delay_p50_ms", r3(n.one_way_delay_p50_ms)},
                  {"one_way_delay_p95_ms", r3(n.one_way_delay_p95_ms)}};
  if (n.video_packets_lost) {
    j["network"]["video_packets_lost"] = *n.video_packets_lost;
    j["network"]["video_repaired_by_rtx"] = n.video_repaired_by_rtx;
    j["network"]["video_repaired_by_fec"] = n.video_repaired_by_fec;
  }
  const RejectCounts& x = n.rejected;
  j["network"]["rejected"] = {{"malformed_rtp", x.malformed_rtp},         {"unknown_ssrc", x.unknown_ssrc},
                              {"rtcp_parse_errors", x.rtcp_parse_errors}, {"not_rtp", x.not_rtp},
                              {"send_failures", x.send_failures},         {"recorder_dropped", x.recorder_dropped}};
  if (s.second_flow) {
    j["second_flow"] = {{"packets_sent", s.second_flow->packets_sent},
                        {"target_mean_kbps", r3(s.second_flow->target_mean_kbps)},
                        {"receive_mean_kbps", r3(s.second_flow->receive_mean_kbps)}};
  }
  if (s.ice.present) {
    const IceSummary& i = s.ice;
    j["ice"] = {{"policy", i.policy},
                {"nat_a", i.nat_a},
                {"nat_b", i.nat_b},
                {"connected_a_ms", opt(i.connected_a_ms)},
                {"connected_b_ms", opt(i.connected_b_ms)},
                {"selected_local_type", i.local_type},
                {"selected_remote_type", i.remote_type},
                {"state_a", i.state_a},
                {"state_b", i.state_b},
                {"checks_sent", i.checks_sent},
                {"turn_allocations", i.turn_allocations},
                {"turn_channels_bound", i.turn_channels_bound},
                {"send_refused", i.send_refused}};
  }
  return j;
}

// --- SVG line charts ---------------------------------------------------------------------------

struct Line {
  std::string name;
  std::string color;
  std::vector<std::pair<double, double>> points;  // (seconds, value)
};

std::string f1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

// A "nice" axis maximum: 1, 2 or 5 times a power of ten at or above v.
double nice_max(double v) {
  if (!(v > 0)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

std::string svg_chart(const std::string& title, const std::string& unit, const std::vector<Line>& lines,
                      double x_max) {
  const double w = 900, h = 260, left = 60, right = 150, top = 30, bottom = 35;
  const double pw = w - left - right, ph = h - top - bottom;
  double y_max = 0;
  for (const Line& l : lines) {
    for (const auto& p : l.points) y_max = std::max(y_max, p.second);
  }
  y_max = nice_max(y_max);
  if (!(x_max > 0)) x_max = 1;
  auto X = [&](double x) { return left + pw * std::clamp(x / x_max, 0.0, 1.0); };
  auto Y = [&](double y) { return top + ph * (1.0 - std::clamp(y / y_max, 0.0, 1.0)); };
  std::string s = "<svg width=\"" + f1(w) + "\" height=\"" + f1(h) +
                  "\" viewBox=\"0 0 " + f1(w) + " " + f1(h) + "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s += "<text x=\"" + f1(left) + "\" y=\"18\" font-size=\"14\" font-weight=\"bold\">" + html_escape(title) + "</text>\n";
  for (int i = 0; i <= 4; ++i) {
    const double v = y_max * i / 4.0;
    s += "<line x1=\"" + f1(left) + "\" x2=\"" + f1(left + pw) + "\" y1=\"" + f1(Y(v)) + "\" y2=\"" + f1(Y(v)) +
         "\" stroke=\"#ddd\"/><text x=\"" + f1(left - 5) + "\" y=\"" + f1(Y(v) + 4) + "\" text-anchor=\"end\">" +
         f1(v) + "</text>\n";
  }
  const double x_step = nice_max(x_max / 8.0);
  for (double x = 0; x <= x_max + 1e-9; x += x_step) {
    s += "<text x=\"" + f1(X(x)) + "\" y=\"" + f1(top + ph + 15) + "\" text-anchor=\"middle\">" + f1(x) + "</text>\n";
  }
  s += "<text x=\"" + f1(left + pw / 2) + "\" y=\"" + f1(h - 4) + "\" text-anchor=\"middle\">time (s)</text>\n";
  s += "<text x=\"12\" y=\"" + f1(top + ph / 2) + "\" transform=\"rotate(-90 12 " + f1(top + ph / 2) +
       ")\" text-anchor=\"middle\">" + html_escape(unit) + "</text>\n";
  s += "<rect x=\"" + f1(left) + "\" y=\"" + f1(top) + "\" width=\"" + f1(pw) + "\" height=\"" + f1(ph) +
       "\" fill=\"none\" stroke=\"#888\"/>\n";
  double ly = top + 10;
  for (const Line& l : lines) {
    s += "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"" + l.color + "\" points=\"";
    for (const auto& p : l.points) s += f1(X(p.first)) + "," + f1(Y(p.second)) + " ";
    s += "\"/>\n";
    s += "<line x1=\"" + f1(left + pw + 10) + "\" x2=\"" + f1(left + pw + 30) + "\" y1=\"" + f1(ly) + "\" y2=\"" +
         f1(ly) + "\" stroke=\"" + l.color + "\" stroke-width=\"2\"/><text x=\"" + f1(left + pw + 35) + "\" y=\"" +
         f1(ly + 4) + "\">" + html_escape(l.name) + "</text>\n";
    ly += 16;
  }
  s += "</svg>\n";
  return s;
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

std::string describe(const LoopbackConfig& c) {
  std::string s = "preset " + c.preset + ": ";
  if (c.video) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%s %dx%d@%g", codecs::codec_name(c.video), c.width, c.height, c.fps);
    s += buf;
  }
  if (c.audio) {
    s += c.video ? " + " : "";
    s += codecs::codec_name(c.audio);
  }
  char buf[256];
  std::snprintf(buf, sizeof(buf), ", %g s, %s, %g ms one-way, %g ms jitter, %g%% loss", c.duration.seconds_f(),
                c.link.has_trace() ? ("trace " + c.link.trace_name + " (mean " + rate_text(c.mean_capacity()) + ")").c_str()
                                   : rate_text(c.link.capacity).c_str(),
                c.link.delay.ms_f(), c.link.jitter.ms_f(), c.link.loss * 100);
  s += buf;
  if (c.link.burst > 1) s += " (bursts of " + f1(c.link.burst) + ")";
  s += ", " + std::string(topology_name(c.topology));
  if (c.nat_a || c.nat_b) {
    s += std::string(", NAT ") + (c.nat_a ? netsim::to_string(*c.nat_a) : "none") + " / " +
         (c.nat_b ? netsim::to_string(*c.nat_b) : "none");
  }
  s += ", protection " + protection_text(c.protection) + ", cc " +
       pipeline::congestion_mode_name(c.congestion) + ", seed " + std::to_string(c.seed);
  return s;
}

std::string to_json(const ScenarioResult& result) {
  json j;
  j["tool"] = "tern-loopback";
  j["config"] = config_json(result.config);
  j["summary"] = summary_json(result.summary);
  json frames = json::array();
  for (const FrameRecord& f : result.frames) {
    frames.push_back({{"render_ms", r3(f.render_ms)},
                      {"frame", f.frame_number ? json(*f.frame_number) : json(nullptr)},
                      {"psnr_db", opt(f.psnr)},
                      {"ssim", opt(f.ssim)},
                      {"e2e_delay_ms", opt(f.e2e_delay_ms)}});
  }
  j["frames"] = std::move(frames);
  json series = json::array();
  for (const SeriesPoint& p : result.series) {
    series.push_back({{"time_ms", r3(p.time_ms)},
                      {"capacity_kbps", r3(p.capacity_kbps.value_or(0))},  // 0: unlimited
                      {"target_kbps", r3(p.target_kbps)},
                      {"video_target_kbps", r3(p.video_target_kbps)},
                      {"send_kbps", r3(p.send_kbps)},
                      {"receive_kbps", r3(p.receive_kbps)},
                      {"rtt_ms", opt(p.rtt_ms)},
                      {"one_way_delay_ms", opt(p.one_way_delay_ms)},
                      {"loss_percent", r3(p.loss_percent)}});
  }
  j["series"] = std::move(series);
  if (!result.second_flow_series.empty()) {
    json second = json::array();
    for (const SeriesPoint& p : result.second_flow_series) {
      second.push_back({{"time_ms", r3(p.time_ms)}, {"target_kbps", r3(p.target_kbps)}, {"receive_kbps", r3(p.receive_kbps)}});
    }
    j["second_flow_series"] = std::move(second);
  }
  return j.dump(1) + "\n";
}

std::string to_html(const ScenarioResult& result) {
  const double x_max = result.config.duration.seconds_f();
  Line capacity{"capacity", "#444", {}}, target{"target", "#d62728", {}}, send{"sent", "#1f77b4", {}},
      receive{"received", "#2ca02c", {}}, owd{"one-way delay", "#1f77b4", {}}, rtt{"RTT", "#ff7f0e", {}},
      loss{"loss", "#d62728", {}}, e2e{"video e2e", "#9467bd", {}}, psnr{"PSNR", "#2ca02c", {}};
  for (const SeriesPoint& p : result.series) {
    const double t = p.time_ms / 1000.0;
    if (p.capacity_kbps) capacity.points.emplace_back(t, *p.capacity_kbps);
    target.points.emplace_back(t, p.target_kbps);
    send.points.emplace_back(t, p.send_kbps);
    receive.points.emplace_back(t, p.receive_kbps);
    if (p.one_way_delay_ms) owd.points.emplace_back(t, *p.one_way_delay_ms);
    if (p.rtt_ms) rtt.points.emplace_back(t, *p.rtt_ms);
    loss.points.emplace_back(t, p.loss_percent);
  }
  for (const FrameRecord& f : result.frames) {
    if (f.e2e_delay_ms) e2e.points.emplace_back(f.render_ms / 1000.0, *f.e2e_delay_ms);
    if (f.psnr) psnr.points.emplace_back(f.render_ms / 1000.0, *f.psnr);
  }
  std::string h = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>tern-loopback report</title>\n"
                  "<style>body{font-family:sans-serif;margin:24px;color:#222}pre{background:#f6f6f6;padding:12px}"
                  "svg{display:block;margin:12px 0}</style></head><body>\n";
  h += "<h1>tern-loopback</h1>\n<p>" + html_escape(describe(result.config)) + "</p>\n";
  h += "<h2>Summary</h2>\n<pre>" + html_escape(format_summary(result.summary)) + "</pre>\n<h2>Plots</h2>\n";
  std::vector<Line> rates;
  if (!capacity.points.empty()) rates.push_back(capacity);
  rates.push_back(target);
  rates.push_back(send);
  rates.push_back(receive);
  h += svg_chart("Target bitrate vs capacity vs received rate", "kbps", rates, x_max);
  h += svg_chart("Delay", "ms", {owd, rtt, e2e}, x_max);
  h += svg_chart("Packet loss on the link (per 100 ms)", "%", {loss}, x_max);
  if (!psnr.points.empty()) h += svg_chart("PSNR per rendered frame", "dB", {psnr}, x_max);
  h += "</body></html>\n";
  return h;
}

}  // namespace tern::tools
