// tern-recv: receives RTP (optionally SRTP) on host:port as described by an SDP file (tern-send's,
// ffmpeg's -sdp_file, a hand-written one) or by flags, audio and video on one port or each on its
// own (one socket, or RTP+RTCP pair, per port; each port's RTCP reports on its own stream); runs a
// pipeline::Endpoint under the real-time transport::EpollDriver for RTCP (RR, NACK, PLI, REMB,
// transport-cc), statistics and decoding: the Endpoint's rendered pictures go to a Y4M file and its
// 10 ms playout to a WAV file; a ReceiveTap records the encoded frames into WebM. Prints and writes
// stats JSON.
// Exits 0 on SIGINT/SIGTERM (files finalised), after --duration, after --frames decoded video
// frames, or after --idle-timeout without packets.
//
// Sender SSRCs the SDP does not name are learned from the first packet of each payload type: the
// Endpoint is created once every expected stream has been seen (earlier packets are held, at most
// kMaxHeldPackets, and replayed).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tern/media/file_io.h"
#include "tern/pipeline/endpoint.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/tools/net/port_split_sink.h"
#include "tern/tools/net/receive_tap.h"
#include "tern/tools/net/session_plan.h"
#include "tern/tools/net/udp_transport.h"
#include "tern/transport/epoll_driver.h"

namespace {

using namespace tern;
namespace net = tern::tools::net;

constexpr size_t kMaxHeldPackets = 2048;

int fail(const std::string& what) {
  std::fprintf(stderr, "tern-recv: %s\n", what.c_str());
  return 1;
}

// Writes what the Endpoint renders (decoded pictures) and plays out (10 ms of samples): the Y4M
// file gets every rendered picture; the WAV file starts at the first audible block and leaves out
// a trailing run of concealment or silence (the stream's end, or the idle timeout), kept pending
// until a later decoded block shows it was a gap inside the stream (bounded: kMaxPendingBlocks).
class Outputs : public pipeline::VideoRenderListener, public pipeline::AudioPlayoutListener {
 public:
  static constexpr size_t kMaxPendingBlocks = 1000;  // 10 s; beyond, the gap is written

  Outputs(bool y4m, bool wav, int fps) : want_y4m_(y4m), want_wav_(wav), fps_(fps) {}
  void on_video_frame_rendered(const pipeline::RenderedVideoFrame& frame) override {
    ++frames_;
    width_ = frame.width;
    height_ = frame.height;
    if (!want_y4m_ || frame.picture == nullptr) return;
    if (!y4m_) {
      auto w = media::Y4mWriter::Create(frame.width, frame.height, fps_, 1);
      if (!w) return;
      y4m_.emplace(std::move(w.value()));
    }
    (void)y4m_->append(*frame.picture);
  }
  void on_audio_playout(const pipeline::AudioPlayoutEvent& event) override {
    if (!want_wav_ || event.samples == nullptr) return;
    using Op = jitterbuffer::PlayoutOperation;
    const bool audible = event.operation != Op::kExpand && event.operation != Op::kMuted;
    if (!wav_) {
      if (!audible) return;
      auto w = media::WavWriter::Create(event.samples->sample_rate_hz, event.samples->channels);
      if (!w) return;
      wav_.emplace(std::move(w.value()));
    }
    if (!audible && pending_.size() < kMaxPendingBlocks) {
      pending_.push_back(*event.samples);
      return;
    }
    for (const codecs::AudioFrame& f : pending_) (void)wav_->append(f);
    pending_.clear();
    (void)wav_->append(*event.samples);
  }
  int64_t frames() const { return frames_; }
  int width() const { return width_; }
  int height() const { return height_; }
  int64_t wav_samples_per_channel() const { return wav_ ? wav_->samples_per_channel() : 0; }
  Status save(const std::string& y4m_path, const std::string& wav_path) const {
    Status result;
    if (want_y4m_) {
      if (!y4m_) {
        result = Error{"no video frame decoded: Y4M file not written"};
      } else if (Status st = media::save_file(y4m_path, y4m_->bytes()); !st.ok()) {
        result = st;
      }
    }
    if (want_wav_) {
      if (!wav_) {
        result = Error{"no audio played: WAV file not written"};
      } else if (Status st = media::save_file(wav_path, wav_->finish()); !st.ok()) {
        result = st;
      }
    }
    return result;
  }

 private:
  bool want_y4m_, want_wav_;
  int fps_;
  int64_t frames_ = 0;
  int width_ = 0, height_ = 0;
  std::optional<media::Y4mWriter> y4m_;
  std::optional<media::WavWriter> wav_;
  std::deque<codecs::AudioFrame> pending_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tern-recv: receive RTP/SRTP, decode to Y4M/WAV or record WebM, report stats"};
  std::string sdp_path, address = "127.0.0.1", video = "vp8", audio = "none", key;
  std::string rtcp_dest;
  std::string profile_name = "AES_CM_128_HMAC_SHA1_80", y4m_path, wav_path, webm_path, stats_path;
  uint16_t port = 0, audio_port = 0;
  int video_pt = -1, audio_pt = 111, frames = 0, fps = 30;
  uint32_t video_ssrc = 0, audio_ssrc = 0;
  double duration = 0, idle_timeout = 0;
  bool no_rtcp_mux = false, quiet = false;
  app.add_option("--sdp", sdp_path, "SDP file describing the incoming stream (port, codecs, ssrc, crypto)");
  app.add_option("--address", address, "Local address to listen on (flags mode)");
  app.add_option("--port", port, "Local RTP port (flags mode; overrides the SDP's first port)");
  app.add_option("--audio-port", audio_port, "Local RTP port for audio when it has its own (overrides the SDP's)");
  app.add_option("--video", video, "Video codec (flags mode)")->check(CLI::IsMember({"vp8", "vp9", "none"}));
  app.add_option("--audio", audio, "Audio codec (flags mode)")->check(CLI::IsMember({"opus", "none"}));
  app.add_option("--video-pt", video_pt, "Video payload type (default 96 VP8, 98 VP9)")->check(CLI::Range(0, 127));
  app.add_option("--audio-pt", audio_pt, "Opus payload type")->check(CLI::Range(0, 127));
  app.add_option("--ssrc", video_ssrc, "Video sender SSRC (default: learned from the first packet)");
  app.add_option("--audio-ssrc", audio_ssrc, "Audio sender SSRC (default: learned)");
  app.add_flag("--no-rtcp-mux", no_rtcp_mux, "Also listen for RTCP on port+1 and send RTCP to the peer's port+1");
  app.add_option("--rtcp-dest", rtcp_dest, "Send RTCP to this host:port instead (e.g. a GStreamer rtpbin's RTCP udpsrc)");
  app.add_option("--key", key, "SRTP master key+salt, hex or base64 (flags mode, or overrides a=crypto)");
  app.add_option("--srtp-profile", profile_name, "SRTP profile");
  app.add_option("--y4m", y4m_path, "Write decoded video (I420 Y4M)");
  app.add_option("--wav", wav_path, "Write the played-out audio (48 kHz mono WAV, as the Endpoint plays it)");
  app.add_option("--webm", webm_path, "Record the received encoded media into WebM");
  app.add_option("--fps", fps, "Frame rate written into the Y4M header")->check(CLI::Range(1, 240));
  app.add_option("--stats-json", stats_path, "Write stats JSON at exit");
  app.add_option("--frames", frames, "Exit after this many decoded video frames")->check(CLI::Range(1, 10000000));
  app.add_option("--duration", duration, "Exit after this many seconds")->check(CLI::Range(0.1, 86400.0));
  app.add_option("--idle-timeout", idle_timeout, "Exit when no packet arrived for this many seconds (after the first)")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_flag("--quiet", quiet, "Do not print the summary");
  CLI11_PARSE(app, argc, argv);

  net::SessionPlan plan;
  if (!sdp_path.empty()) {
    auto text = media::load_file(sdp_path, transport::SessionDescription::kMaxSize);
    if (!text) return fail("--sdp '" + sdp_path + "': " + text.error());
    size_t line = 0;
    auto sdp = transport::SessionDescription::parse(
        std::string_view(reinterpret_cast<const char*>(text.value().data()), text.value().size()), &line);
    if (!sdp) return fail("--sdp '" + sdp_path + "': malformed SDP at line " + std::to_string(line) + ": " + sdp.error());
    auto p = net::plan_from_sdp(sdp.value());
    if (!p) return fail("--sdp '" + sdp_path + "': " + p.error());
    plan = std::move(p.value());
    if (app.count("--no-rtcp-mux")) plan.rtcp_mux = false;
  } else {
    if (port == 0) return fail("either --sdp or --port is required");
    plan.video = codecs::codec_from_name(video);
    plan.audio = codecs::codec_from_name(audio);
    if (!plan.video && !plan.audio) {
      return fail("nothing to receive: --video and --audio are both none");
    }
    if (video_pt >= 0) plan.payload_types.of(plan.video.value_or(codecs::CodecType::kVp8)) = static_cast<uint8_t>(video_pt);
    plan.payload_types.opus = static_cast<uint8_t>(audio_pt);
    plan.rtcp_mux = !no_rtcp_mux;
    plan.address = address;
  }
  if (port != 0) plan.port = port;
  if (audio_port != 0) plan.audio_port = audio_port;
  if (app.count("--address")) plan.address = address;
  if (video_ssrc != 0) plan.video_ssrc = video_ssrc;
  if (audio_ssrc != 0) plan.audio_ssrc = audio_ssrc;
  if (!key.empty()) {
    auto profile = transport::srtp_profile_from_name(profile_name);
    if (!profile) return fail("--srtp-profile '" + profile_name + "': unknown profile");
    auto k = net::parse_key(key, *profile);
    if (!k) return fail(std::string("--key: ") + k.error());
    plan.srtp_profile = profile;
    plan.srtp_key = std::move(k.value());
    plan.audio_srtp.reset();  // one key for every port
  }
  if (plan.nack && !plan.video_rtx_ssrc) plan.nack = false;  // RTX needs its SSRC up front

  const bool want_video = plan.video.has_value();
  const bool want_audio = plan.audio.has_value();
  const uint8_t media_pt = plan.payload_types.of(plan.video.value_or(codecs::CodecType::kVp8));
  if (!y4m_path.empty() && !want_video) return fail("--y4m: the session has no video");
  if (!wav_path.empty() && !want_audio) return fail("--wav: the session has no audio");
  if (plan.audio_port && (!want_audio || !want_video || *plan.audio_port == plan.port)) plan.audio_port.reset();

  auto local = transport::SocketAddress::Parse(plan.address, plan.port);
  if (!local) return fail("listen address '" + plan.address + "': " + local.error());
  net::UdpTransportConfig tc;
  tc.local = local.value();
  tc.rtcp_mux = plan.rtcp_mux;
  tc.srtp_profile = plan.srtp_profile;
  tc.srtp_key = plan.srtp_key;
  auto link = net::UdpTransport::Open(tc);
  if (!link) return fail("cannot listen on " + tc.local.to_string() + ": " + link.error());
  link.value()->set_learn_peer(true);
  std::unique_ptr<net::UdpTransport> audio_link;  // audio on its own port
  if (plan.audio_port) {
    net::UdpTransportConfig ac = tc;
    ac.local.set_port(*plan.audio_port);
    if (plan.audio_srtp) {
      ac.srtp_profile = plan.audio_srtp->profile;
      ac.srtp_key = plan.audio_srtp->key;
    }
    auto a = net::UdpTransport::Open(ac);
    if (!a) return fail("cannot listen on " + ac.local.to_string() + " (audio): " + a.error());
    audio_link = std::move(a.value());
    audio_link->set_learn_peer(true);
  }
  if (!rtcp_dest.empty()) {
    auto a = net::parse_host_port(rtcp_dest);
    if (!a) return fail("--rtcp-dest '" + rtcp_dest + "': " + a.error());
    link.value()->set_fixed_rtcp_peer(a.value());
  }

  Outputs outputs(!y4m_path.empty(), !wav_path.empty(), fps);
  std::optional<net::PortSplitSink> split;  // with audio_link: what the Endpoint sends through
  std::unique_ptr<pipeline::Endpoint> endpoint;
  std::unique_ptr<net::ReceiveTap> tap;
  net::EndpointPollable endpoint_pollable;
  std::vector<std::vector<uint8_t>> held;
  uint64_t held_dropped = 0;
  std::string setup_error;

  auto create = [&]() -> Status {
    pipeline::EndpointConfig config;
    config.cname = "tern-recv";
    config.send.video.reset();
    config.send.audio.reset();
    config.receive.video = plan.video;
    config.receive.audio = plan.audio;
    config.receive.protection = {plan.nack, plan.fec, plan.audio_red};
    config.payload_types = plan.payload_types;
    config.extension_ids = plan.extension_ids;
    config.remote.video = plan.video_ssrc.value_or(0x7E50'0102);
    config.remote.audio = plan.audio_ssrc.value_or(0x7E50'0101);
    config.remote.video_rtx = plan.video_rtx_ssrc.value_or(config.remote.video ^ 0x5A5A'5A5A);
    config.local = {0x7E50'0001, 0x7E50'0002, 0x7E50'0003, "0", "1"};
    for (uint32_t* s : {&config.local.audio, &config.local.video, &config.local.video_rtx}) {
      while (*s == config.remote.video || *s == config.remote.audio || *s == config.remote.video_rtx) *s += 16;
    }
    config.congestion = plan.transport_cc ? pipeline::CongestionControlMode::kTransportCc
                        : plan.remb       ? pipeline::CongestionControlMode::kRemb
                                          : pipeline::CongestionControlMode::kFixed;
    config.measure_quality = false;
    config.av_sync = false;
    DatagramSink* sink = link.value().get();
    if (audio_link) {
      // Receive-only: reports about the audio SSRC go to the audio port, from our (otherwise
      // unused) local video SSRC, so the two ports' SRTCP never share a head SSRC.
      split.emplace(link.value().get(), audio_link.get(),
                    net::PortSplitConfig{0, config.remote.audio, config.local.video, config.cname});
      sink = &*split;
    }
    auto e = pipeline::Endpoint::Create(config, sink);
    if (!e) return Error{e.error()};
    endpoint = std::move(e.value());
    endpoint->set_video_render_listener(&outputs);
    endpoint->set_audio_playout_listener(&outputs);
    endpoint_pollable.set(endpoint.get());
    if (webm_path.empty()) return Status{};
    net::ReceiveTapConfig rc;
    if (want_video) {
      rc.video = plan.video;
    }
    rc.video_pt = media_pt;
    rc.video_ssrc = config.remote.video;
    if (plan.nack) rc.rtx_pt = plan.payload_types.video_rtx;
    rc.rtx_ssrc = config.remote.video_rtx;
    if (plan.fec) {
      rc.red_pt = plan.payload_types.red;
      rc.ulpfec_pt = plan.payload_types.ulpfec;
    }
    rc.audio = want_audio;
    rc.audio_pt = plan.payload_types.opus;
    rc.audio_ssrc = config.remote.audio;
    if (plan.audio_red) rc.audio_red_pt = plan.payload_types.audio_red;
    rc.fps = fps;
    rc.webm_path = webm_path;  // the Endpoint's pictures and samples give the Y4M and WAV files
    auto t = net::ReceiveTap::Create(rc);
    if (!t) return Error{t.error()};
    tap = std::move(t.value());
    return Status{};
  };
  auto ready = [&] {
    return (!want_video || plan.video_ssrc) && (!want_audio || plan.audio_ssrc);
  };

  std::optional<Timestamp> last_packet;
  auto deliver = [&](std::span<const uint8_t> d, bool rtcp, Timestamp now) {
    if (!rtcp && tap) tap->on_rtp(d, now);
    endpoint->on_packet(d, now);
  };
  const net::UdpTransport::ReceiveHandler on_datagram = [&](std::span<const uint8_t> d, bool rtcp, Timestamp now) {
    last_packet = now;
    if (endpoint) {
      deliver(d, rtcp, now);
      return;
    }
    if (!rtcp) {  // learn SSRCs by payload type
      auto h = rtp::RtpHeader::parse(d);
      if (h) {
        const uint8_t pt = h.value().payload_type;
        if (want_video && !plan.video_ssrc && (pt == media_pt || (plan.fec && pt == plan.payload_types.red))) {
          plan.video_ssrc = h.value().ssrc;
        }
        if (want_audio && !plan.audio_ssrc &&
            (pt == plan.payload_types.opus || (plan.audio_red && pt == plan.payload_types.audio_red))) {
          plan.audio_ssrc = h.value().ssrc;
        }
      }
    }
    if (held.size() < kMaxHeldPackets) {
      held.emplace_back(d.begin(), d.end());
    } else {
      ++held_dropped;
    }
    if (ready()) {
      if (Status st = create(); !st.ok()) {
        setup_error = st.error();
        return;
      }
      for (const auto& p : held) deliver(p, net::looks_like_rtcp(p), now);
      held.clear();
    }
  };
  link.value()->set_receive_handler(on_datagram);
  if (audio_link) audio_link->set_receive_handler(on_datagram);
  if (ready()) {
    if (Status st = create(); !st.ok()) return fail(std::string("configuration: ") + st.error());
  }

  auto tool_loop = net::ToolLoop::Open({link.value().get(), audio_link.get()});
  if (!tool_loop) return fail(tool_loop.error());
  transport::EpollDriver& loop = tool_loop.value()->driver();
  (void)loop.add_pollable(&endpoint_pollable);
  struct TapPollable : transport::Pollable {
    std::unique_ptr<net::ReceiveTap>* tap;
    std::optional<Timestamp> next_wakeup() const override { return *tap ? (*tap)->next_wakeup() : std::nullopt; }
    void process(Timestamp now) override {
      if (*tap) (*tap)->process(now);
    }
  } tap_pollable;
  tap_pollable.tap = &tap;
  (void)loop.add_pollable(&tap_pollable);

  std::fprintf(stderr, "tern-recv: listening on %s%s%s%s\n", link.value()->local_address().to_string().c_str(),
               audio_link ? ", audio on " : "", audio_link ? audio_link->local_address().to_string().c_str() : "",
               plan.srtp_profile ? " (SRTP)" : "");
  const Timestamp start = transport::EpollDriver::Now();
  const TimeDelta limit = duration > 0 ? TimeDelta::SecondsF(duration) : TimeDelta::PlusInfinity();
  for (int64_t i = 0; tool_loop.value()->signal() == 0 && setup_error.empty(); ++i) {
    const Timestamp now = transport::EpollDriver::Now();
    if (now - start >= limit) break;
    if (frames > 0 && outputs.frames() >= frames) break;
    if (idle_timeout > 0 && last_packet && now - *last_packet >= TimeDelta::SecondsF(idle_timeout)) break;
    if (Status st = loop.run_for(TimeDelta::Millis(20)); !st.ok()) return fail(std::string("loop: ") + st.error());
  }
  const Timestamp end = transport::EpollDriver::Now();
  if (!setup_error.empty()) return fail("configuration: " + setup_error);

  Status written = outputs.save(y4m_path, wav_path);
  if (tap) {
    if (Status st = tap->finish(end); !st.ok()) written = st;
  }
  net::UdpTransportCounters c = link.value()->counters();  // both ports
  if (audio_link) c += audio_link->counters();
  nlohmann::json j;
  j["tool"] = "tern-recv";
  const pipeline::VideoReceiveStream* vrs = endpoint ? endpoint->video_receive_stream() : nullptr;
  const pipeline::AudioReceiveStream* ars = endpoint ? endpoint->audio_receive_stream() : nullptr;
  const int64_t audio_packets = ars ? static_cast<int64_t>(ars->jitter_buffer_stats().packets_received) : 0;
  j["video_frames_decoded"] = outputs.frames();  // rendered, i.e. decoded and handed out
  j["video_decode_errors"] = vrs ? vrs->counters().decode_errors : 0;
  j["fec_recovered"] = vrs ? vrs->counters().fec_packets_recovered : 0;
  j["width"] = outputs.width();
  j["height"] = outputs.height();
  j["audio_packets_decoded"] = audio_packets;
  j["audio_samples_per_channel"] = outputs.wav_samples_per_channel();
  j["rtp_received"] = c.rtp_received;
  j["rtcp_received"] = c.rtcp_received;
  j["rtcp_sent"] = c.rtcp_sent;
  j["unprotect_failures"] = c.unprotect_failures;
  j["held_dropped"] = held_dropped;
  if (plan.video_ssrc) j["video_ssrc"] = *plan.video_ssrc;
  if (plan.audio_ssrc) j["audio_ssrc"] = *plan.audio_ssrc;
  j["duration_s"] = (end - start).seconds_f();
  const int signal_number = tool_loop.value()->signal();
  j["signal"] = signal_number;
  if (endpoint) j["stats"] = nlohmann::json::parse(endpoint->stats(end).to_json(-1), nullptr, false);
  if (!stats_path.empty()) {
    std::ofstream out(stats_path);
    out << j.dump(2) << "\n";
    if (!out) return fail("--stats-json '" + stats_path + "': cannot write the file");
  }
  if (!quiet) {
    std::printf("tern-recv: %lld video frames decoded (%dx%d), %lld audio packets, %llu RTP / %llu RTCP received, "
                "%llu SRTP failures, %.2f s%s\n",
                static_cast<long long>(outputs.frames()), outputs.width(), outputs.height(),
                static_cast<long long>(audio_packets), static_cast<unsigned long long>(c.rtp_received),
                static_cast<unsigned long long>(c.rtcp_received), static_cast<unsigned long long>(c.unprotect_failures),
                (end - start).seconds_f(), signal_number != 0 ? " (stopped by signal)" : "");
  }
  if (!written.ok()) std::fprintf(stderr, "tern-recv: warning: %s\n", written.error());
  return 0;
}
