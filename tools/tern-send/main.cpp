// tern-send: sends tern media (synthetic VP8/VP9 camera, Opus microphone) over UDP to host:port
// through a pipeline::Endpoint under the real-time transport::EpollDriver: RTCP both ways (SR out,
// RR/NACK/PLI/REMB/transport-cc in), NACK/RTX, ULPFEC and congestion control when the receiver
// supports them (--peer tern), optional SRTP, and an SDP file describing the stream for the
// receiver (GStreamer, ffmpeg or tern-recv). Ends after --frames video frames (plus a linger for
// retransmissions) or --duration, or on SIGINT/SIGTERM; writes stats JSON.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

#include "tern/core/seq_num.h"
#include "tern/media/file_io.h"
#include "tern/media/wav_file.h"
#include "tern/media/y4m_file.h"
#include "tern/pipeline/endpoint.h"
#include "tern/rtp/rtcp/rtcp_packet.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/tools/net/port_split_sink.h"
#include "tern/tools/net/session_plan.h"
#include "tern/tools/net/udp_transport.h"
#include "tern/transport/epoll_driver.h"

namespace {

using namespace tern;
namespace net = tern::tools::net;

int fail(const std::string& what) {
  std::fprintf(stderr, "tern-send: %s\n", what.c_str());
  return 1;
}

// "1000k", "1.5M", "800000" -> bits per second; nullopt when malformed or not positive.
std::optional<int64_t> parse_bitrate(const std::string& text) {
  if (text.empty()) return std::nullopt;
  double scale = 1;
  std::string digits = text;
  const char suffix = text.back();
  if (suffix == 'k' || suffix == 'K') scale = 1e3;
  if (suffix == 'm' || suffix == 'M') scale = 1e6;
  if (scale != 1) digits.pop_back();
  try {
    size_t used = 0;
    const double v = std::stod(digits, &used);
    if (used != digits.size() || !std::isfinite(v) || v * scale < 1000 || v * scale > 1e9) return std::nullopt;
    return static_cast<int64_t>(v * scale);
  } catch (...) {
    return std::nullopt;
  }
}

bool ends_with(const std::string& s, const char* suffix) {
  const std::string x(suffix);
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

// Counts encoded video frames, stops the stream after the limit and keeps the source pictures.
class CaptureTap : public pipeline::VideoCaptureListener {
 public:
  CaptureTap(int limit, std::optional<media::Y4mWriter> writer) : limit_(limit), writer_(std::move(writer)) {}
  void on_video_frame_captured(const pipeline::CapturedVideoFrame& frame) override {
    if (!frame.encoded || done()) return;
    ++encoded_;
    if (writer_ && frame.picture != nullptr) (void)writer_->append(*frame.picture);
    if (limit_ > 0 && encoded_ >= limit_) last_timestamp_ = frame.rtp_timestamp;
  }
  bool done() const { return last_timestamp_.has_value(); }
  // False for RTP of the media SSRC after the last frame (later captures are not sent).
  // Also drops every drop_every-th new video media packet (a test aid for NACK/RTX; 0: never),
  // except in the last frame, whose loss no later packet would reveal to the receiver.
  bool allow(std::span<const uint8_t> datagram, uint32_t video_ssrc, int drop_every) {
    if (net::looks_like_rtcp(datagram)) return true;
    auto h = rtp::RtpHeader::parse(datagram);
    if (!h || h.value().ssrc != video_ssrc) return true;
    if (last_timestamp_ && static_cast<int32_t>(h.value().timestamp - *last_timestamp_) > 0) return false;
    if (drop_every > 0 && !last_timestamp_ && (!highest_seq_ || seq_newer(h.value().sequence_number, *highest_seq_))) {
      highest_seq_ = h.value().sequence_number;
      if (++media_packets_ % static_cast<uint64_t>(drop_every) == 0) {
        ++dropped_;
        return false;
      }
    }
    return true;
  }
  uint64_t dropped() const { return dropped_; }
  int encoded() const { return encoded_; }
  const std::optional<media::Y4mWriter>& writer() const { return writer_; }

 private:
  int limit_;
  int encoded_ = 0;
  std::optional<uint32_t> last_timestamp_;
  std::optional<uint16_t> highest_seq_;
  uint64_t media_packets_ = 0;
  uint64_t dropped_ = 0;
  std::optional<media::Y4mWriter> writer_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tern-send: send tern media over RTP/UDP (optionally SRTP) and write an SDP for the receiver"};
  std::string dest, video = "vp8", audio = "none", bitrate_text = "1000k", cc = "fixed", peer = "generic";
  std::string key, profile_name = "AES_CM_128_HMAC_SHA1_80", sdp_path, source_path, stats_path, input;
  std::string bind_address, rtcp_dest;
  std::vector<std::string> inputs;
  bool loop_input = false;
  int width = 320, height = 240, frames = -1, drop_every = 0;
  double fps = 30, duration = 0, linger_ms = 500;
  uint16_t local_port = 0, audio_port = 0;
  uint32_t video_ssrc = 0x1000'0002, audio_ssrc = 0x1000'0001, rtx_ssrc = 0x1000'0003;
  bool nack = false, fec = false, no_rtcp_mux = false;
  uint64_t seed = 1;
  app.add_option("--dest", dest, "Receiver host:port (numeric IPv4/IPv6; RTCP goes to port+1 with --no-rtcp-mux)")->required();
  app.add_option("--bind", bind_address, "Local address to bind (default: any of the destination's family)");
  app.add_option("--audio-port", audio_port, "Send audio to this port of the destination host, from its own socket "
                 "(default with --peer ffmpeg and both kinds: the video port + 2)");
  app.add_option("--local-port", local_port, "Local RTP port (0: any; RTCP uses +1 with --no-rtcp-mux)");
  app.add_option("--video", video, "Video codec")->check(CLI::IsMember({"vp8", "vp9", "none"}));
  app.add_option("--audio", audio, "Audio codec")->check(CLI::IsMember({"opus", "none"}));
  app.add_option("--input", inputs, "Send a Y4M (video, its size and rate) and/or WAV (48 kHz mono/stereo PCM16) file "
                 "instead of the synthetic sources; exits after the file(s)");
  app.add_flag("--loop", loop_input, "Play --input files in a loop (bound the run with --frames or --duration)");
  app.add_option("--width", width, "Synthetic camera width")->check(CLI::Range(64, 4096));
  app.add_option("--height", height, "Synthetic camera height")->check(CLI::Range(40, 4096));
  app.add_option("--fps", fps, "Frame rate")->check(CLI::Range(1.0, 120.0));
  app.add_option("--frames", frames, "Video frames to send, then linger and exit (default 90 with video)")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--duration", duration, "Seconds to send (audio-only default 3; with video a cap)")
      ->check(CLI::Range(0.1, 86400.0));
  app.add_option("--linger-ms", linger_ms, "Time after the last frame to answer NACKs and send RTCP")
      ->check(CLI::Range(0.0, 10000.0));
  app.add_option("--bitrate", bitrate_text, "Send budget (fixed mode) or ceiling, e.g. 1000k, 2M");
  app.add_option("--cc", cc, "Congestion control")->check(CLI::IsMember({"fixed", "remb", "transport-cc"}));
  app.add_option("--peer", peer, "Receiver kind: generic (GStreamer), ffmpeg (VP9 non-flexible mode) or tern "
                 "(NACK/RTX + transport-cc)")
      ->check(CLI::IsMember({"generic", "tern", "ffmpeg"}));
  app.add_option("--drop-every", drop_every, "Test aid: drop every Nth new video packet before sending (NACK/RTX repair it)")
      ->check(CLI::Range(2, 1000000));
  app.add_flag("--nack", nack, "Answer NACKs with RTX (RFC 4588)");
  app.add_flag("--fec", fec, "ULPFEC in RED for video");
  app.add_flag("--no-rtcp-mux", no_rtcp_mux, "RTCP on port+1 instead of the RTP port");
  app.add_option("--rtcp-dest", rtcp_dest, "Send RTCP to this host:port instead (e.g. a GStreamer rtpbin's RTCP udpsrc)");
  app.add_option("--key", key, "SRTP master key+salt, hex or base64 (enables SRTP)");
  app.add_option("--srtp-profile", profile_name, "SRTP profile (AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, ...)");
  app.add_option("--ssrc", video_ssrc, "Video SSRC");
  app.add_option("--audio-ssrc", audio_ssrc, "Audio SSRC");
  app.add_option("--rtx-ssrc", rtx_ssrc, "Video RTX SSRC");
  app.add_option("--seed", seed, "Synthetic source seed");
  app.add_option("--sdp", sdp_path, "Write the SDP describing this stream for the receiver");
  app.add_option("--source-y4m", source_path, "Write the pictures that were sent (the PSNR reference)");
  app.add_option("--stats-json", stats_path, "Write webrtc-stats JSON at exit");
  CLI11_PARSE(app, argc, argv);

  std::optional<media::Y4mFileSource> video_file;
  std::optional<media::WavFileSource> audio_file;
  double file_seconds = 0;
  for (const std::string& path : inputs) {
    auto bytes = media::load_file(path, size_t{1} << 31);
    if (!bytes) return fail("--input '" + path + "': " + bytes.error());
    if (ends_with(path, ".y4m") && !video_file) {
      auto y = media::parse_y4m(bytes.value());
      if (!y) return fail("--input '" + path + "': " + y.error());
      if (y.value().frames.empty()) return fail("--input '" + path + "': no frames");
      if (video == "none") return fail("--input '" + path + "': a Y4M file needs --video vp8 or vp9");
      video_file.emplace(std::move(y.value()), loop_input);
      width = video_file->width();
      height = video_file->height();
      fps = video_file->fps();
      file_seconds = std::max(file_seconds, static_cast<double>(video_file->frame_count()) / fps);
      if (!app.count("--video") && !app.count("--audio") && !audio_file) audio = "none";
    } else if (ends_with(path, ".wav") && !audio_file) {
      auto w = media::parse_wav(bytes.value());
      if (!w) return fail("--input '" + path + "': " + w.error());
      if (w.value().sample_rate_hz != 48000 || (w.value().channels != 1 && w.value().channels != 2)) {
        return fail("--input '" + path + "': " + std::to_string(w.value().sample_rate_hz) + " Hz " +
                    std::to_string(w.value().channels) + " channels; 48000 Hz mono or stereo PCM16 is required");
      }
      file_seconds = std::max(file_seconds, static_cast<double>(w.value().samples_per_channel()) / 48000.0);
      audio_file.emplace(std::move(w.value()), loop_input);
      audio = "opus";
      if (!app.count("--video") && !video_file) video = "none";
    } else {
      return fail("--input '" + path + "': expected one .y4m and/or one .wav file");
    }
  }
  const bool files = video_file || audio_file;
  if (video == "none" && audio == "none") return fail("nothing to send: --video and --audio are both none");
  auto dest_address = net::parse_host_port(dest);
  if (!dest_address) return fail("--dest '" + dest + "': " + dest_address.error());
  const auto bitrate = parse_bitrate(bitrate_text);
  if (!bitrate) return fail("--bitrate '" + bitrate_text + "': expected e.g. 1000k, 2M or bits per second >= 1000");
  if (peer == "tern") {
    nack = true;
    if (!app.count("--cc")) cc = "transport-cc";
  }
  if (peer == "ffmpeg" && audio_port == 0 && video != "none" && audio != "none") {
    if (dest_address.value().port() > 65533) return fail("--dest: no room for the audio port (port + 2)");
    audio_port = static_cast<uint16_t>(dest_address.value().port() + 2);
  }
  if (audio == "none" || video == "none" || audio_port == dest_address.value().port()) audio_port = 0;
  if (frames < 0) frames = video != "none" && !app.count("--duration") && !video_file ? 90 : 0;
  if (video == "none") frames = 0;
  if (duration == 0 && frames == 0 && (!files || loop_input)) duration = 3;

  std::optional<transport::SrtpProfile> profile;
  std::vector<uint8_t> key_material;
  if (!key.empty()) {
    profile = transport::srtp_profile_from_name(profile_name);
    if (!profile) return fail("--srtp-profile '" + profile_name + "': unknown profile");
    auto k = net::parse_key(key, *profile);
    if (!k) return fail(std::string("--key: ") + k.error());
    key_material = std::move(k.value());
  }

  pipeline::EndpointConfig config;
  config.cname = "tern-send";
  config.send.video = codecs::codec_from_name(video);
  config.send.audio = codecs::codec_from_name(audio);
  config.send.width = width;
  config.send.height = height;
  config.send.fps = fps;
  config.send.source_seed = seed;
  config.send.protection = {nack, fec, false};
  config.send.vp9_flexible_mode = peer != "ffmpeg";  // ffmpeg reads no P_DIFF (see tools/README.md)
  config.receive.video.reset();
  config.receive.audio.reset();
  config.local.video = video_ssrc;
  config.local.audio = audio_ssrc;
  config.local.video_rtx = rtx_ssrc;
  config.remote = {0x7E50'0001, 0x7E50'0002, 0x7E50'0003, "0", "1"};
  config.congestion = cc == "fixed"  ? pipeline::CongestionControlMode::kFixed
                      : cc == "remb" ? pipeline::CongestionControlMode::kRemb
                                     : pipeline::CongestionControlMode::kTransportCc;
  config.fixed_rate = DataRate::BitsPerSec(*bitrate);
  config.max_rate = DataRate::BitsPerSec(*bitrate);
  config.start_rate = std::min(config.start_rate, config.max_rate);
  config.min_rate = std::min(config.min_rate, config.start_rate);
  config.send.video_max_rate = config.max_rate;
  config.send.video_min_rate = std::min(config.send.video_min_rate, config.max_rate);
  config.measure_quality = false;
  config.av_sync = false;
  config.seed = seed;

  net::SessionPlan plan;
  plan.address = dest_address.value().ip_string();
  plan.port = dest_address.value().port();
  plan.rtcp_mux = !no_rtcp_mux;
  if (audio_port != 0) plan.audio_port = audio_port;
  plan.video = config.send.video;
  plan.audio = config.send.audio;
  plan.payload_types = config.payload_types;
  plan.extension_ids = config.extension_ids;
  if (plan.video) plan.video_ssrc = video_ssrc;
  if (nack) plan.video_rtx_ssrc = rtx_ssrc;
  if (plan.audio) plan.audio_ssrc = audio_ssrc;
  plan.nack = nack;
  plan.fec = fec;
  plan.transport_cc = config.congestion == pipeline::CongestionControlMode::kTransportCc;
  plan.remb = config.congestion == pipeline::CongestionControlMode::kRemb;
  plan.srtp_profile = profile;
  plan.srtp_key = key_material;
  plan.cname = config.cname;

  net::UdpTransportConfig tc;
  if (bind_address.empty()) bind_address = dest_address.value().is_v6() ? "::" : "0.0.0.0";
  auto local = transport::SocketAddress::Parse(bind_address, local_port);
  if (!local) return fail("--bind '" + bind_address + "': " + local.error());
  tc.local = local.value();
  tc.rtcp_mux = !no_rtcp_mux;
  tc.srtp_profile = profile;
  tc.srtp_key = key_material;
  tc.report_unreachable = true;  // tell the user when nothing listens at the destination
  auto link = net::UdpTransport::Open(tc);
  if (!link) return fail("cannot open UDP socket on " + tc.local.to_string() + ": " + link.error());
  if (!rtcp_dest.empty()) {
    auto a = net::parse_host_port(rtcp_dest);
    if (!a) return fail("--rtcp-dest '" + rtcp_dest + "': " + a.error());
    link.value()->set_fixed_rtcp_peer(a.value());
  }
  link.value()->set_peer(dest_address.value());
  std::unique_ptr<net::UdpTransport> audio_link;
  if (audio_port != 0) {
    net::UdpTransportConfig ac = tc;
    auto a_local = transport::SocketAddress::Parse(bind_address, local_port == 0 ? 0 : static_cast<uint16_t>(local_port + 2));
    auto a_dest = transport::SocketAddress::Parse(dest_address.value().ip_string(), audio_port);
    if (!a_local || !a_dest) return fail("--audio-port: bad address");
    ac.local = a_local.value();
    auto a = net::UdpTransport::Open(ac);
    if (!a) return fail("cannot open UDP socket on " + ac.local.to_string() + ": " + a.error());
    audio_link = std::move(a.value());
    audio_link->set_peer(a_dest.value());
  }
  // Audio on its own port: audio RTP and the audio SR there, the rest on the video port.
  net::PortSplitSink split(link.value().get(), audio_link.get(), {audio_ssrc, 0, 0, config.cname});

  auto endpoint = pipeline::Endpoint::Create(config, audio_link ? static_cast<DatagramSink*>(&split)
                                                                : link.value().get());
  if (!endpoint) return fail(std::string("configuration: ") + endpoint.error());
  // The SDP only once the options proved usable (sockets open, endpoint accepted the configuration).
  if (!sdp_path.empty()) {
    const std::string text = net::build_sdp(plan).to_string();
    if (!media::save_file(sdp_path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size())).ok()) {
      return fail("--sdp '" + sdp_path + "': cannot write the file");
    }
  }

  std::optional<media::Y4mWriter> reference_writer;
  if (!source_path.empty() && config.send.video) {
    auto w = media::Y4mWriter::Create(width, height, std::max(1, static_cast<int>(std::lround(fps))), 1);
    if (!w) return fail("--source-y4m: cannot set up the reference writer");
    reference_writer.emplace(std::move(w.value()));
  }
  if (video_file) endpoint.value()->set_video_source(&*video_file);
  if (audio_file) endpoint.value()->set_audio_source(&*audio_file);
  CaptureTap capture(frames, std::move(reference_writer));
  endpoint.value()->set_video_capture_listener(&capture);
  link.value()->set_send_filter(
      [&capture, video_ssrc, drop_every](std::span<const uint8_t> d) { return capture.allow(d, video_ssrc, drop_every); });
  link.value()->set_receive_handler([&endpoint](std::span<const uint8_t> d, bool, Timestamp now) {
    endpoint.value()->on_packet(d, now);
  });
  if (audio_link) {
    audio_link->set_receive_handler([&endpoint](std::span<const uint8_t> d, bool, Timestamp now) {
      endpoint.value()->on_packet(d, now);
    });
  }

  auto tool_loop = net::ToolLoop::Open({link.value().get(), audio_link.get()});
  if (!tool_loop) return fail(tool_loop.error());
  transport::EpollDriver& loop = tool_loop.value()->driver();
  net::EndpointPollable pollable;
  pollable.set(endpoint.value().get());
  (void)loop.add_pollable(&pollable);

  const Timestamp start = transport::EpollDriver::Now();
  // Hard bound: the frames at their rate plus slack, or the duration.
  const TimeDelta limit = duration > 0 ? TimeDelta::SecondsF(duration)
                         : frames > 0 ? TimeDelta::SecondsF(frames / fps + 30.0)
                                      : TimeDelta::SecondsF(file_seconds + 30.0);
  // With file sources: done once every kind sent comes to its end (or the --frames limit).
  auto finished = [&] {
    if (!files) return capture.done();
    const bool v = !config.send.video || capture.done() ||
                   (video_file && video_file->ended());
    return v && (!audio_file || audio_file->ended());
  };
  std::optional<Timestamp> done_at;
  bool warned_unreachable = false;
  auto warn_unreachable = [&](const net::UdpTransport& t) {
    if (warned_unreachable || !t.last_unreachable()) return;
    warned_unreachable = true;
    const transport::IcmpError& e = *t.last_unreachable();
    std::fprintf(stderr, "tern-send: warning: %s is unreachable (%s)%s\n", e.destination.to_string().c_str(),
                 std::strerror(e.error), e.error == ECONNREFUSED ? ": nothing is listening there (yet)" : "");
  };
  for (int i = 0; i < 1'000'000 && tool_loop.value()->signal() == 0; ++i) {
    const Timestamp now = transport::EpollDriver::Now();
    if (now - start >= limit) break;
    if (!done_at && finished()) done_at = now;
    if (done_at && now - *done_at >= TimeDelta::Micros(static_cast<int64_t>(linger_ms * 1000))) break;
    if (Status st = loop.run_for(TimeDelta::Millis(20)); !st.ok()) return fail(std::string("loop: ") + st.error());
    warn_unreachable(*link.value());
    if (audio_link) warn_unreachable(*audio_link);
  }
  const Timestamp end = transport::EpollDriver::Now();

  if (capture.writer() && !media::save_file(source_path, capture.writer()->bytes()).ok()) {
    return fail("--source-y4m '" + source_path + "': cannot write the file");
  }
  const pipeline::StatsReport report = endpoint.value()->stats(end);
  net::UdpTransportCounters c = link.value()->counters();
  if (audio_link) c += audio_link->counters();
  nlohmann::json j;
  j["tool"] = "tern-send";
  j["video_frames_sent"] = capture.encoded();
  j["rtp_sent"] = c.rtp_sent;
  j["dropped_for_test"] = capture.dropped();
  j["rtcp_sent"] = c.rtcp_sent;
  j["rtcp_received"] = c.rtcp_received;
  j["send_failures"] = c.send_failures;
  j["unprotect_failures"] = c.unprotect_failures;
  j["icmp_unreachable"] = c.unreachable;
  j["duration_s"] = (end - start).seconds_f();
  const int signal_number = tool_loop.value()->signal();
  j["signal"] = signal_number;
  j["stats"] = nlohmann::json::parse(report.to_json(-1), nullptr, false);
  if (!stats_path.empty()) {
    std::ofstream out(stats_path);
    out << j.dump(2) << "\n";
    if (!out) return fail("--stats-json '" + stats_path + "': cannot write the file");
  }
  std::printf("tern-send: %d video frames, %llu RTP and %llu RTCP packets sent, %llu RTCP received in %.2f s%s%s\n",
              capture.encoded(), static_cast<unsigned long long>(c.rtp_sent),
              static_cast<unsigned long long>(c.rtcp_sent), static_cast<unsigned long long>(c.rtcp_received),
              (end - start).seconds_f(), signal_number != 0 ? " (stopped by signal)" : "",
              c.unreachable > 0 ? (", " + std::to_string(c.unreachable) + " ICMP unreachable reports").c_str() : "");
  return 0;
}
