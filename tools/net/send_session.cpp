#include "tern/tools/net/send_session.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "tern/core/reason_text.h"
#include "tern/core/seq_num.h"
#include "tern/transport/epoll_driver.h"
#include "tern/media/file_io.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/transport/demuxer.h"

namespace tern::tools::net {
namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const std::string x(suffix);
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

Error send_setup_failed(const std::string& text) { return Error{lasting_reason(text, "tern-send: setup failed")}; }

}  // namespace

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

Status SendInputs::error() const {
  if (video && !video->error().ok()) return video->error();
  if (audio && !audio->error().ok()) return audio->error();
  return Status::Ok();
}

Result<SendInputs> load_send_inputs(SendOptions& o) {
  SendInputs in;
  for (const std::string& path : o.inputs) {
    if (ends_with(path, ".y4m") && !in.video) {
      auto y = media::Y4mFileSource::Open(path, o.loop_input);
      if (!y) return send_setup_failed("--input '" + path + "': " + y.error());
      if (o.video == "none") return send_setup_failed("--input '" + path + "': a Y4M file needs --video vp8 or vp9");
      in.video = std::move(y.value());
      o.width = in.video->width();
      o.height = in.video->height();
      o.fps = in.video->fps();
      in.seconds = std::max(in.seconds, static_cast<double>(in.video->frame_count()) / o.fps);
      if (!o.video_given && !o.audio_given && !in.audio) o.audio = "none";
    } else if (ends_with(path, ".wav") && !in.audio) {
      auto w = media::WavFileSource::Open(path, o.loop_input);
      if (!w) return send_setup_failed("--input '" + path + "': " + w.error());
      if (w.value()->sample_rate_hz() != 48000 || (w.value()->channels() != 1 && w.value()->channels() != 2)) {
        return send_setup_failed("--input '" + path + "': " + std::to_string(w.value()->sample_rate_hz()) + " Hz " +
                    std::to_string(w.value()->channels()) + " channels; 48000 Hz mono or stereo PCM16 is required");
      }
      in.seconds = std::max(in.seconds, static_cast<double>(w.value()->total()) / 48000.0);
      in.audio = std::move(w.value());
      o.audio = "opus";
      if (!o.video_given && !in.video) o.video = "none";
    } else {
      return send_setup_failed("--input '" + path + "': expected one .y4m and/or one .wav file");
    }
  }
  return in;
}

Result<SendTarget> resolve_send_options(SendOptions& o, bool files) {
  SendTarget t;
  if (o.video == "none" && o.audio == "none") return Error{"nothing to send: --video and --audio are both none"};
  auto dest = transport::parse_host_port(o.dest);
  if (!dest) return send_setup_failed("--dest '" + o.dest + "': " + dest.error());
  t.dest = dest.value();
  const auto bitrate = parse_bitrate(o.bitrate);
  if (!bitrate) return send_setup_failed("--bitrate '" + o.bitrate + "': expected e.g. 1000k, 2M or bits per second >= 1000");
  t.bitrate = *bitrate;
  if (!o.start_rate.empty()) {
    t.start_rate = parse_bitrate(o.start_rate);
    if (!t.start_rate) {
      return send_setup_failed("--start-rate '" + o.start_rate + "': expected e.g. 300k, 1M or bits per second >= 1000");
    }
  }
  if (!o.protection.empty()) {
    auto pc = pipeline::parse_protection_list(o.protection);
    if (!pc) return send_setup_failed("--protection '" + o.protection + "': " + pc.error());
    if (pc->red) return Error{"--protection red: tern-send sends no audio RED"};
    o.nack = o.nack || pc->nack;
    o.fec = o.fec || pc->fec;
    o.flexfec = o.flexfec || pc->flexfec;
  }
  if (o.fec && o.flexfec) return Error{"--fec and --flexfec: one FEC scheme at a time"};
  if (o.flexfec && o.video == "none") return Error{"--flexfec: no video to protect"};
  if (o.peer == "tern") {
    o.nack = true;
    if (!o.cc_given) o.cc = "transport-cc";
  }
  if (o.peer == "ffmpeg" && o.audio_port == 0 && o.video != "none" && o.audio != "none") {
    if (t.dest.port() > 65533) return Error{"--dest: no room for the audio port (port + 2)"};
    o.audio_port = static_cast<uint16_t>(t.dest.port() + 2);
  }
  if (o.audio == "none" || o.video == "none" || o.audio_port == t.dest.port()) o.audio_port = 0;
  if (o.frames < 0) o.frames = o.video != "none" && !o.duration_given && !files ? 90 : 0;
  if (o.video == "none") o.frames = 0;
  if (o.duration == 0 && o.frames == 0 && (!files || o.loop_input)) o.duration = 3;
  if (!o.key.empty()) {
    t.srtp_profile = transport::srtp_profile_from_name(o.srtp_profile);
    if (!t.srtp_profile) return send_setup_failed("--srtp-profile '" + o.srtp_profile + "': unknown profile");
    auto k = transport::parse_key_text(o.key, *t.srtp_profile);
    if (!k) return send_setup_failed(std::string("--key: ") + k.error());
    t.srtp_key = std::move(k.value());
  }
  return t;
}

pipeline::EndpointConfig send_endpoint_config(const SendOptions& o, const SendTarget& t) {
  pipeline::EndpointConfig config;
  config.cname = "tern-send";
  config.send.video = codecs::codec_from_name(o.video);
  config.send.audio = codecs::codec_from_name(o.audio);
  config.send.width = o.width;
  config.send.height = o.height;
  config.send.fps = o.fps;
  config.send.source_seed = o.seed;
  config.send.protection = {o.nack, o.fec, false, o.flexfec};
  config.send.vp9_flexible_mode = o.peer != "ffmpeg";  // ffmpeg reads no P_DIFF (see tools/README.md)
  config.receive.video = std::nullopt;
  config.receive.audio = std::nullopt;
  config.local.video = o.video_ssrc;
  config.local.audio = o.audio_ssrc;
  config.local.video_rtx = o.rtx_ssrc;
  config.local.video_fec = o.fec_ssrc;
  config.remote = {0x7E50'0001, 0x7E50'0002, 0x7E50'0003, "0", "1", 0x7E50'0004};
  config.congestion = o.cc == "fixed"  ? pipeline::CongestionControlMode::kFixed
                      : o.cc == "remb" ? pipeline::CongestionControlMode::kRemb
                                       : pipeline::CongestionControlMode::kTransportCc;
  config.fixed_rate = DataRate::BitsPerSec(t.bitrate);
  config.max_rate = DataRate::BitsPerSec(t.bitrate);
  if (t.start_rate) config.start_rate = DataRate::BitsPerSec(*t.start_rate);
  config.start_rate = std::min(config.start_rate, config.max_rate);
  config.min_rate = std::min(config.min_rate, config.start_rate);
  config.send.video_max_rate = config.max_rate;
  config.send.video_min_rate = std::min(config.send.video_min_rate, config.max_rate);
  config.send.degradation =
      pipeline::parse_degradation_preference(o.degradation).value_or(pipeline::DegradationPreference::kDisabled);
  // A real-time sender: encode time feeds the overuse detector.
  config.encode_clock = &transport::EpollDriver::Now;
  config.measure_quality = false;
  config.av_sync = false;
  config.seed = o.seed;
  return config;
}

SessionPlan send_session_plan(const SendOptions& o, const SendTarget& t, const pipeline::EndpointConfig& config) {
  SessionPlan plan;
  plan.address = t.dest.ip_string();
  plan.port = t.dest.port();
  plan.rtcp_mux = !o.no_rtcp_mux;
  if (o.audio_port != 0) plan.audio_port = o.audio_port;
  plan.video = config.send.video;
  plan.audio = config.send.audio;
  plan.payload_types = config.payload_types;
  plan.extension_ids = config.extension_ids;
  if (plan.video.has_value()) plan.video_ssrc = o.video_ssrc;
  if (o.nack) plan.video_rtx_ssrc = o.rtx_ssrc;
  if (plan.audio.has_value()) plan.audio_ssrc = o.audio_ssrc;
  plan.nack = o.nack;
  plan.fec = o.fec;
  plan.flexfec = o.flexfec && plan.video.has_value();
  if (plan.flexfec) plan.video_fec_ssrc = o.fec_ssrc;
  plan.transport_cc = config.congestion == pipeline::CongestionControlMode::kTransportCc;
  plan.remb = config.congestion == pipeline::CongestionControlMode::kRemb;
  plan.srtp_profile = t.srtp_profile;
  plan.srtp_key = t.srtp_key;
  plan.cname = config.cname;
  return plan;
}

void SendCaptureTap::on_video_frame_captured(const pipeline::CapturedVideoFrame& frame) {
  if (!frame.encoded || done()) return;
  ++encoded_;
  // A write error is kept in the writer (finish() reports it); the pictures it lost are counted.
  if (writer_ && frame.picture != nullptr && !writer_->append(*frame.picture).ok()) ++reference_write_failures_;
  if (limit_ > 0 && encoded_ >= limit_) last_timestamp_ = frame.rtp_timestamp;
}

bool SendCaptureTap::allow(std::span<const uint8_t> datagram, uint32_t video_ssrc, int drop_every) {
  if (transport::classify(datagram) == transport::PacketClass::kRtcp) return true;
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

Result<std::unique_ptr<SendSession>> SendSession::Create(SendOptions options) {
  std::unique_ptr<SendSession> s(new SendSession());
  SendOptions& o = s->options_;
  o = std::move(options);
  auto inputs = load_send_inputs(o);
  if (!inputs) return Error{inputs.error()};
  s->inputs_ = std::move(inputs.value());
  auto target = resolve_send_options(o, s->inputs_.any());
  if (!target) return Error{target.error()};
  const SendTarget& t = target.value();
  const pipeline::EndpointConfig config = send_endpoint_config(o, t);
  const SessionPlan plan = send_session_plan(o, t, config);

  transport::RtpUdpTransportConfig tc;
  if (o.bind_address.empty()) o.bind_address = t.dest.is_v6() ? "::" : "0.0.0.0";
  auto local = transport::SocketAddress::Parse(o.bind_address, o.local_port);
  if (!local) return send_setup_failed("--bind '" + o.bind_address + "': " + local.error());
  tc.local = local.value();
  tc.rtcp_mux = !o.no_rtcp_mux;
  tc.srtp_profile = t.srtp_profile;
  tc.srtp_key = t.srtp_key;
  tc.report_unreachable = true;  // tell the user when nothing listens at the destination
  auto link = transport::RtpUdpTransport::Open(tc);
  if (!link) return send_setup_failed("cannot open UDP socket on " + tc.local.to_string() + ": " + link.error());
  s->link_ = std::move(link.value());
  if (!o.rtcp_dest.empty()) {
    auto a = transport::parse_host_port(o.rtcp_dest);
    if (!a) return send_setup_failed("--rtcp-dest '" + o.rtcp_dest + "': " + a.error());
    s->link_->set_fixed_rtcp_peer(a.value());
  }
  s->link_->set_peer(t.dest);
  if (o.audio_port != 0) {
    transport::RtpUdpTransportConfig ac = tc;
    auto a_local = transport::SocketAddress::Parse(o.bind_address,
                                                   o.local_port == 0 ? 0 : static_cast<uint16_t>(o.local_port + 2));
    auto a_dest = transport::SocketAddress::Parse(t.dest.ip_string(), o.audio_port);
    if (!a_local || !a_dest) return Error{"--audio-port: bad address"};
    ac.local = a_local.value();
    auto a = transport::RtpUdpTransport::Open(ac);
    if (!a) return send_setup_failed("cannot open UDP socket on " + ac.local.to_string() + ": " + a.error());
    s->audio_link_ = std::move(a.value());
    s->audio_link_->set_peer(a_dest.value());
  }
  // Audio on its own port: audio RTP and the audio SR there, the rest on the video port.
  s->split_ = std::make_unique<PortSplitSink>(s->link_.get(), s->audio_link_.get(),
                                              PortSplitConfig{o.audio_ssrc, 0, 0, config.cname});
  auto endpoint = pipeline::Endpoint::Create(
      config, s->audio_link_ ? static_cast<DatagramSink*>(s->split_.get()) : s->link_.get());
  if (!endpoint) return send_setup_failed(std::string("configuration: ") + endpoint.error());
  s->endpoint_ = std::move(endpoint.value());
  // The SDP only once the options proved usable (sockets open, endpoint accepted the configuration).
  if (!o.sdp_path.empty()) {
    const std::string text = build_sdp(plan).to_string();
    if (!media::save_file(o.sdp_path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size())).ok()) {
      return send_setup_failed("--sdp '" + o.sdp_path + "': cannot write the file");
    }
  }

  if (Status st = check_output_path("--stats-json", o.stats_path); !st.ok()) return Error{st.error()};
  std::optional<media::Y4mFileWriter> reference_writer;
  if (!o.source_path.empty() && config.send.video.has_value()) {
    auto w = media::Y4mFileWriter::Create(o.source_path, std::max(1, static_cast<int>(std::lround(o.fps))), 1);
    if (!w) return send_setup_failed(std::string("--source-y4m: ") + w.error());
    reference_writer.emplace(std::move(w.value()));
  }
  if (s->inputs_.video) s->endpoint_->set_video_source(s->inputs_.video.get());
  if (s->inputs_.audio) s->endpoint_->set_audio_source(s->inputs_.audio.get());
  s->capture_ = std::make_unique<SendCaptureTap>(o.frames, std::move(reference_writer));
  s->endpoint_->set_video_capture_listener(s->capture_.get());
  SendCaptureTap* capture = s->capture_.get();
  s->link_->set_send_filter([capture, ssrc = o.video_ssrc, drop_every = o.drop_every](std::span<const uint8_t> d) {
    return capture->allow(d, ssrc, drop_every);
  });
  pipeline::Endpoint* e = s->endpoint_.get();
  SendSession* self = s.get();
  e->set_link_counters([self] { return link_counters(self->counters()); });
  // tern-send's peer is fixed (--dest): the verdict only decides what is counted as refused.
  auto to_endpoint = [e](std::span<const uint8_t> d, bool, Timestamp now) { return pipeline::of_session(e->on_packet(d, now)); };
  s->link_->set_receive_handler(to_endpoint);
  if (s->audio_link_) s->audio_link_->set_receive_handler(to_endpoint);

  auto loop = ToolLoop::Open({s->link_.get(), s->audio_link_.get()});
  if (!loop) return Error{loop.error()};
  s->loop_ = std::move(loop.value());
  s->pollable_.set(e);
  if (Status st = s->loop_->driver().add_pollable(&s->pollable_); !st.ok()) return Error{st.error()};
  return s;
}

bool SendSession::finished() const {
  // With file sources: done once every kind sent comes to its end (or the --frames limit).
  if (!inputs_.any()) return capture_->done();
  const bool v = options_.video == "none" || capture_->done() || (inputs_.video && inputs_.video->ended());
  return v && (!inputs_.audio || inputs_.audio->ended());
}

Status SendSession::run(const Warn& warn) {
  const SendOptions& o = options_;
  transport::EpollDriver& loop = loop_->driver();
  start_ = transport::EpollDriver::Now();
  end_ = start_;
  // Hard bound: the frames at their rate plus slack, or the duration.
  const TimeDelta limit = o.duration > 0 ? TimeDelta::SecondsF(o.duration)
                          : o.frames > 0 ? TimeDelta::SecondsF(o.frames / o.fps + 30.0)
                                         : TimeDelta::SecondsF(inputs_.seconds + 30.0);
  std::optional<Timestamp> done_at;
  bool warned_unreachable = false;
  auto warn_unreachable = [&](const transport::RtpUdpTransport& t) {
    if (warned_unreachable || !t.last_unreachable()) return;
    warned_unreachable = true;
    const transport::IcmpError& e = *t.last_unreachable();
    warn("warning: " + e.destination.to_string() + " is unreachable (" + std::strerror(e.error) + ")" +
         (e.error == ECONNREFUSED ? ": nothing is listening there (yet)" : ""));
  };
  for (int i = 0; i < 1'000'000 && loop_->signal() == 0; ++i) {
    const Timestamp now = transport::EpollDriver::Now();
    if (now - start_ >= limit) break;
    if (!done_at && finished()) done_at = now;
    if (done_at && now - *done_at >= TimeDelta::Micros(static_cast<int64_t>(o.linger_ms * 1000))) break;
    if (Status st = loop.run_for(TimeDelta::Millis(20)); !st.ok()) return send_setup_failed(std::string("loop: ") + st.error());
    warn_unreachable(*link_);
    if (audio_link_) warn_unreachable(*audio_link_);
  }
  end_ = transport::EpollDriver::Now();
  return Status{};
}

transport::RtpUdpTransportCounters SendSession::counters() const {
  transport::RtpUdpTransportCounters c = link_->counters();
  if (audio_link_) c += audio_link_->counters();
  return c;
}

Status SendSession::finish() {
  const SendOptions& o = options_;
  Status result = inputs_.error();
  if (!result.ok()) result = send_setup_failed("--input: " + std::string(result.error()));
  if (auto& w = capture_->writer()) {
    Status st = w->close();
    if (st.ok()) st = w->error();
    if (!st.ok() && result.ok()) result = send_setup_failed("--source-y4m: " + std::string(st.error()));
  }
  const pipeline::StatsReport report = endpoint_->stats(end_);
  const transport::RtpUdpTransportCounters c = counters();
  nlohmann::json j;
  j["tool"] = "tern-send";
  j["video_frames_sent"] = capture_->encoded();
  j["rtp_sent"] = c.rtp_sent;
  j["dropped_for_test"] = capture_->dropped();
  j["rtcp_sent"] = c.rtcp_sent;
  j["rtcp_received"] = c.rtcp_received;
  j["send_failures"] = c.send_failures;
  j["unprotect_failures"] = c.unprotect_failures;
  j["icmp_unreachable"] = c.unreachable;
  j["duration_s"] = (end_ - start_).seconds_f();
  j["signal"] = loop_->signal();
  j["source_y4m_write_failures"] = capture_->reference_write_failures();
  if (!result.ok()) j["error"] = result.error();
  j["stats"] = nlohmann::json::parse(report.to_json(-1), nullptr, false);
  const Status json = write_stats_json(o.stats_path, j.dump(2));
  return result.ok() ? json : result;
}

std::string SendSession::summary() const {
  const transport::RtpUdpTransportCounters c = counters();
  char line[512];
  std::snprintf(line, sizeof line, "tern-send: %d video frames, %llu RTP and %llu RTCP packets sent, %llu RTCP received in %.2f s%s%s",
                capture_->encoded(), static_cast<unsigned long long>(c.rtp_sent),
                static_cast<unsigned long long>(c.rtcp_sent), static_cast<unsigned long long>(c.rtcp_received),
                (end_ - start_).seconds_f(), loop_->signal() != 0 ? " (stopped by signal)" : "",
                c.unreachable > 0 ? (", " + std::to_string(c.unreachable) + " ICMP unreachable reports").c_str() : "");
  return line;
}

}  // namespace tern::tools::net
