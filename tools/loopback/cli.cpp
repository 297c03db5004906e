#include "tern/tools/loopback/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <utility>
#include <fstream>
#include <sstream>

#include "tern/netsim/delivery_trace.h"

namespace tern::tools {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',' || c == '+') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (!std::isspace(static_cast<unsigned char>(c))) {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string preset_list() {
  std::string s = "presets:\n";
  for (const Preset& p : presets()) {
    char buf[256];
    std::snprintf(buf, sizeof(buf), "  %-22s %s\n", p.name.c_str(), p.description.c_str());
    s += buf;
  }
  return s;
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

CliOutcome fail(std::string message) {
  CliOutcome o;
  o.exit_code = 2;
  o.message = std::move(message);
  return o;
}

}  // namespace

std::optional<DataRate> parse_rate(const std::string& text) {
  const std::string t = lower(text);
  if (t == "unlimited" || t == "inf" || t == "none") return DataRate::PlusInfinity();
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(t, &pos);
  } catch (...) {
    return std::nullopt;
  }
  if (!(v >= 0) || !std::isfinite(v)) return std::nullopt;
  const std::string unit = t.substr(pos);
  double kbps = 0;
  if (unit.empty() || unit == "k" || unit == "kbps" || unit == "kbit" || unit == "kbit/s") kbps = v;
  else if (unit == "m" || unit == "mbps" || unit == "mbit" || unit == "mbit/s") kbps = v * 1000;
  else if (unit == "bps") kbps = v / 1000;
  else return std::nullopt;
  if (kbps > 1e7) return std::nullopt;
  return DataRate::KilobitsPerSecF(kbps);
}

CliOutcome parse_command_line(const std::vector<std::string>& args) {
  CLI::App app{"tern-loopback: a simulated (or real-time) call between two tern endpoints, A -> B, over an\n"
               "emulated network; prints a summary and can write JSON and an HTML report.\n"
               "Presets set everything at once; any option given after overrides the preset.",
               "tern-loopback"};
  app.set_help_flag("-h,--help", "Show this help (with the preset list) and exit");
  app.footer(preset_list());
  std::string preset = "default", codecs, video, audio, resolution, capacity, trace, outage, topology, nat, protection,
              cc, rate, start_rate, max_rate, degradation;
  double fps = 0, duration = 0, delay = 0, jitter = 0, loss = 0, burst = 0, queue = 0;
  std::string seed;
  int ssim_every = 0;
  int flows = 1;
  bool list = false, reorder = false, bidirectional = false, realtime = false, no_progress = false;
  std::string record, json_path, report;
  app.add_flag("--list-presets", list, "List the named presets and exit");
  app.add_option("-p,--preset", preset, "Start from this preset (default: default)");
  app.add_option("--codecs", codecs, "Codec list, e.g. vp8,opus / vp9 / opus / none (sets --video and --audio)");
  app.add_option("--video", video, "Video codec: vp8, vp9 or none");
  app.add_option("--audio", audio, "Audio codec: opus or none");
  app.add_option("--resolution", resolution, "Video size WIDTHxHEIGHT, e.g. 1280x720");
  app.add_option("--fps", fps, "Video frame rate, 1..60");
  app.add_option("--degradation", degradation,
                 "When video is short of rate (or QP is high, or encoding overuses the CPU in --realtime): "
                 "balanced (default: smaller and somewhat slower), maintain-framerate (smaller), "
                 "maintain-resolution (slower) or disabled");
  app.add_option("-d,--duration", duration, "Call length in seconds (simulated), 0.5..3600");
  app.add_option("--capacity", capacity, "Link capacity A->B: 2mbps, 800kbps, 800 (kbps) or unlimited");
  app.add_option("--trace", trace,
                 "Capacity trace file (overrides --capacity): a mahimahi delivery-opportunity trace (one ms "
                 "timestamp per line, 1500 bytes each, looping) or '<time_ms> <kbps>' per line");
  app.add_option("--outage", outage, "Capacity 0 A->B from START to END seconds, e.g. 8-12 (on --capacity)");
  app.add_option("--delay", delay, "One-way propagation delay in ms");
  app.add_option("--jitter", jitter, "Delay jitter in ms (uniform +-)");
  app.add_option("--loss", loss, "Packet loss in percent, 0..50");
  app.add_option("--burst", burst, "Mean loss burst length in packets (1 = independent losses)");
  app.add_option("--queue", queue, "Bottleneck queue limit in ms of queueing delay, 10..10000");
  app.add_flag("--reorder", reorder, "Let jitter reorder packets");
  app.add_option("--topology", topology, "direct, relay (through a TURN server, relay-only ICE) or sfu (tern media server)");
  app.add_option("--nat", nat,
                 "NAT of A[,B]: none, full-cone, address-restricted, port-restricted, symmetric (one value: both); "
                 "the path is then found with ICE (host, srflx or TURN relay)");
  app.add_option("--protection", protection, "Loss protection: nack, fec (ULPFEC in RED; with audio, audio RED too), flexfec (RFC 8627; likewise), red (list) or none");
  app.add_option("--cc", cc, "Congestion control: gcc (transport-cc), rfc8888 (GCC on RFC 8888 feedback), remb or fixed");
  app.add_option("--rate", rate, "Send budget for --cc fixed, e.g. 1mbps");
  app.add_option("--start-rate", start_rate, "Initial send rate for gcc/remb");
  app.add_option("--max-rate", max_rate, "Highest send rate for gcc/remb");
  app.add_flag("--bidirectional", bidirectional, "B sends the same media back to A");
  app.add_option("--flows", flows, "1, or 2: a second identical call (A2 -> B2) shares the links (fairness)");
  app.add_option("--ssim-every", ssim_every, "SSIM on every Nth frame (default 60; 0 = off); PSNR is on every frame");
  app.add_option("--seed", seed, "Seed of the network and media (same seed -> same results)");
  app.add_flag("--realtime", realtime, "Run at wall-clock speed over UDP loopback instead of simulated time");
  app.add_option("--record", record, "Record what B received to this WebM file");
  app.add_option("--json", json_path, "Write the summary and time series to this JSON file");
  app.add_option("--report", report, "Write a self-contained HTML report with plots to this file");
  app.add_flag("--no-progress", no_progress, "Never draw the progress bar");

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    CliOutcome o;
    o.message = app.help();
    return o;
  } catch (const CLI::ParseError& e) {
    return fail(e.what());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  if (list) {
    CliOutcome o;
    o.message = preset_list();
    return o;
  }
  const std::pair<const char*, double> numbers[] = {{"--fps", fps},     {"--duration", duration}, {"--delay", delay},
                                                     {"--jitter", jitter}, {"--loss", loss},        {"--burst", burst},
                                                     {"--queue", queue}};
  for (const auto& [name, value] : numbers) {
    if (app.count(name) && !std::isfinite(value)) return fail(std::string(name) + ": expected a finite number");
  }
  const Preset* p = find_preset(lower(preset));
  if (p == nullptr) return fail("--preset " + preset + ": unknown preset (see --list-presets)");
  LoopbackConfig c = p->config;

  // "none" or a codec of the wanted kind; false for anything else.
  auto set_codec = [](std::optional<codecs::CodecType>& slot, const std::string& name, bool want_video) -> bool {
    const std::optional<codecs::CodecType> codec = codecs::codec_from_name(name);
    if (name != "none" && (!codec || codecs::is_video(*codec) != want_video)) return false;
    slot = codec;
    return true;
  };
  if (app.count("--codecs")) {
    c.video.reset();
    c.audio.reset();
    for (const std::string& item : split(lower(codecs))) {
      if (item == "none") continue;
      const std::optional<codecs::CodecType> codec = codecs::codec_from_name(item);
      if (!codec) return fail("--codecs " + codecs + ": unknown codec '" + item + "' (vp8, vp9, opus, none)");
      (codecs::is_video(*codec) ? c.video : c.audio) = codec;
    }
  }
  if (app.count("--video") && !set_codec(c.video, lower(video), true))
    return fail("--video " + video + ": unknown video codec (vp8, vp9, none)");
  if (app.count("--audio") && !set_codec(c.audio, lower(audio), false))
    return fail("--audio " + audio + ": unknown audio codec (opus, none)");
  if (app.count("--resolution")) {
    int w = 0, h = 0;
    char x = 0, extra = 0;
    std::istringstream in(lower(resolution));
    if (!(in >> w >> x >> h) || x != 'x' || (in >> extra))
      return fail("--resolution " + resolution + ": expected WIDTHxHEIGHT, e.g. 640x480");
    c.width = w;
    c.height = h;
  }
  if (app.count("--fps")) c.fps = fps;
  if (app.count("--degradation")) {
    const std::optional<pipeline::DegradationPreference> d = pipeline::parse_degradation_preference(lower(degradation));
    if (!d) return fail("--degradation " + degradation + ": expected balanced, maintain-framerate, maintain-resolution or disabled");
    c.degradation = *d;
  }
  if (app.count("--duration")) {
    if (!(duration >= 0.5 && duration <= 3600)) return fail("--duration " + num(duration) + ": must be in 0.5..3600 s");
    c.duration = TimeDelta::SecondsF(duration);
  }
  if (app.count("--capacity")) {
    auto r = parse_rate(capacity);
    if (!r) return fail("--capacity " + capacity + ": expected a rate like 2mbps, 800kbps, 800 or unlimited");
    c.link.capacity = *r;
    c.link.rate_trace.clear();
    c.link.delivery_trace.clear();
    c.link.trace_name.clear();
  }
  if (app.count("--trace")) {
    std::ifstream f(trace);
    if (!f) return fail("--trace " + trace + ": cannot open the file");
    std::stringstream ss;
    ss << f.rdbuf();
    std::string text = ss.str();
    if (text.empty()) return fail("--trace " + trace + ": the file is empty");
    // One column: a mahimahi delivery-opportunity trace; two: "<ms> <kbps>" rate points.
    c.link.rate_trace.clear();
    c.link.delivery_trace.clear();
    (netsim::DeliveryTrace::LooksLike(text) ? c.link.delivery_trace : c.link.rate_trace) = std::move(text);
    c.link.trace_name = trace;
  }
  if (app.count("--outage")) {
    double from = 0, to = 0;
    char dash = 0, extra = 0;
    if (std::sscanf(outage.c_str(), "%lf %c %lf %c", &from, &dash, &to, &extra) != 3 || dash != '-' ||
        !(from >= 0 && to > from && to <= 3600))
      return fail("--outage " + outage + ": expected START-END in seconds, e.g. 8-12");
    if (c.link.has_trace()) return fail("--outage: needs a constant --capacity, not a trace");
    if (c.link.capacity.is_plus_infinity()) return fail("--outage: needs a finite --capacity");
    const std::string kbps = num(c.link.capacity.kbps_f());
    c.link.rate_trace = "0 " + kbps + "\n" + std::to_string(std::llround(from * 1000)) + " 0\n" +
                        std::to_string(std::llround(to * 1000)) + " " + kbps + "\n";
    c.link.trace_name = kbps + " kbps with an outage at " + outage + " s";
  }
  auto ms = [](double v) { return TimeDelta::MillisF(v); };
  if (app.count("--delay")) c.link.delay = ms(delay);
  if (app.count("--jitter")) c.link.jitter = ms(jitter);
  if (app.count("--loss")) {
    if (!(loss >= 0 && loss <= 50)) return fail("--loss " + num(loss) + ": must be a percentage in 0..50");
    c.link.loss = loss / 100.0;
  }
  if (app.count("--burst")) c.link.burst = burst;
  if (app.count("--queue")) c.link.queue = ms(queue);
  if (reorder) c.link.reordering = true;
  if (app.count("--topology")) {
    const std::string t = lower(topology);
    if (t == "direct" || t == "p2p") c.topology = Topology::kDirect;
    else if (t == "relay" || t == "turn") c.topology = Topology::kRelay;
    else if (t == "sfu" || t == "media-server" || t == "server") c.topology = Topology::kMediaServer;
    else return fail("--topology " + topology + ": unknown topology (direct, relay, sfu)");
  }
  if (app.count("--nat")) {
    const std::vector<std::string> kinds = split(lower(nat));
    if (kinds.empty() || kinds.size() > 2) return fail("--nat " + nat + ": one NAT kind for both sides, or A,B");
    std::optional<netsim::NatKind> parsed[2];
    for (size_t i = 0; i < kinds.size(); ++i) {
      const std::string& k = kinds[i];
      if (k == "none") parsed[i] = std::nullopt;
      else if (k == "full-cone" || k == "fullcone") parsed[i] = netsim::NatKind::kFullCone;
      else if (k == "address-restricted") parsed[i] = netsim::NatKind::kAddressRestricted;
      else if (k == "port-restricted") parsed[i] = netsim::NatKind::kPortRestricted;
      else if (k == "symmetric") parsed[i] = netsim::NatKind::kSymmetric;
      else return fail("--nat " + nat + ": unknown NAT kind '" + k +
                       "' (none, full-cone, address-restricted, port-restricted, symmetric)");
    }
    c.nat_a = parsed[0];
    c.nat_b = kinds.size() == 2 ? parsed[1] : parsed[0];
  }
  if (app.count("--protection")) {
    auto pc = pipeline::parse_protection_list(protection);
    if (!pc) return fail("--protection " + protection + ": " + pc.error());
    c.protection = pc.value();
    // Forward correction protects both media: video FEC, and for audio RED's copies (sent only
    // while the allocator's budget holds them) beside Opus in-band FEC. Without it a list with
    // fec and no nack leaves audio nothing but in-band FEC, which libopus does not code for
    // quiet frames (issue 14's fec-only row: 1.7-3.4% concealment at 3% loss).
    if ((c.protection.fec || c.protection.flexfec) && c.audio) c.protection.red = true;
  } else if (!c.video) {
    c.protection.fec = false;  // the default's video FEC, without video
  }
  if (app.count("--cc")) {
    const std::string m = lower(cc);
    if (m == "gcc" || m == "transport-cc" || m == "twcc") c.congestion = pipeline::CongestionControlMode::kTransportCc;
    else if (m == "remb") c.congestion = pipeline::CongestionControlMode::kRemb;
    else if (m == "fixed") c.congestion = pipeline::CongestionControlMode::kFixed;
    else if (m == "rfc8888" || m == "ccfb") c.congestion = pipeline::CongestionControlMode::kRfc8888;
    else return fail("--cc " + cc + ": unknown congestion control (gcc, rfc8888, remb, fixed)");
  }
  auto rate_opt = [&](const char* name, const std::string& text, DataRate& out) -> std::string {
    auto r = parse_rate(text);
    if (!r || r->is_plus_infinity()) return std::string(name) + " " + text + ": expected a rate like 1mbps or 800kbps";
    out = *r;
    return {};
  };
  if (app.count("--rate")) {
    if (std::string e = rate_opt("--rate", rate, c.fixed_rate); !e.empty()) return fail(e);
  }
  if (app.count("--start-rate")) {
    if (std::string e = rate_opt("--start-rate", start_rate, c.start_rate); !e.empty()) return fail(e);
  }
  if (app.count("--max-rate")) {
    if (std::string e = rate_opt("--max-rate", max_rate, c.max_rate); !e.empty()) return fail(e);
  }
  if (app.count("--seed")) {
    if (seed.empty() || seed.size() > 19 || seed.find_first_not_of("0123456789") != std::string::npos)
      return fail("--seed " + seed + ": expected a whole number in 0..9999999999999999999");
    c.seed = std::stoull(seed);
  }
  if (app.count("--ssim-every")) c.ssim_every = ssim_every;
  if (bidirectional) c.bidirectional = true;
  if (app.count("--flows")) c.flows = flows;
  if (realtime) c.realtime = true;
  c.record_path = record;
  c.json_path = json_path;
  c.report_path = report;
  if (std::string e = c.validate(); !e.empty()) return fail(e);
  CliOutcome o;
  o.config = std::move(c);
  o.show_progress = !no_progress;
  return o;
}

}  // namespace tern::tools
