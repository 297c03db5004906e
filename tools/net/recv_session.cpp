#include "tern/tools/net/recv_session.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

#include "tern/core/byte_io.h"
#include "tern/core/reason_text.h"
#include "tern/media/file_io.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::tools::net {
namespace {

Error recv_setup_failed(const std::string& text) { return Error{lasting_reason(text, "tern-recv: setup failed")}; }

uint8_t video_media_pt(const SessionPlan& plan) {
  return plan.payload_types.of(plan.video.value_or(codecs::CodecType::kVp8));
}

}  // namespace

Result<SessionPlan> recv_session_plan(const RecvOptions& o) {
  SessionPlan plan;
  if (!o.sdp_path.empty()) {
    auto text = media::load_file(o.sdp_path, transport::SessionDescription::kMaxSize);
    if (!text) return recv_setup_failed("--sdp '" + o.sdp_path + "': " + text.error());
    size_t line = 0;
    auto sdp = transport::SessionDescription::parse(
        std::string_view(reinterpret_cast<const char*>(text.value().data()), text.value().size()), &line);
    if (!sdp) {
      return recv_setup_failed("--sdp '" + o.sdp_path + "': malformed SDP at line " + std::to_string(line) + ": " + sdp.error());
    }
    auto p = plan_from_sdp(sdp.value());
    if (!p) return recv_setup_failed("--sdp '" + o.sdp_path + "': " + p.error());
    plan = std::move(p.value());
    if (o.no_rtcp_mux_given) plan.rtcp_mux = false;
  } else {
    if (o.port == 0) return Error{"either --sdp or --port is required"};
    plan.video = codecs::codec_from_name(o.video);
    plan.audio = codecs::codec_from_name(o.audio);
    if (!plan.video.has_value() && !plan.audio.has_value()) {
      return Error{"nothing to receive: --video and --audio are both none"};
    }
    if (o.video_pt >= 0) {
      plan.payload_types.of(plan.video.value_or(codecs::CodecType::kVp8)) = static_cast<uint8_t>(o.video_pt);
    }
    plan.payload_types.opus = static_cast<uint8_t>(o.audio_pt);
    plan.rtcp_mux = !o.no_rtcp_mux;
    plan.address = o.address;
    bool nack = o.nack, fec = o.fec, flexfec = o.flexfec;
    if (!o.protection.empty()) {
      auto pc = pipeline::parse_protection_list(o.protection);
      if (!pc) return recv_setup_failed("--protection '" + o.protection + "': " + pc.error());
      nack = nack || pc->nack;
      fec = fec || pc->fec;
      flexfec = flexfec || pc->flexfec;
    }
    if (fec && flexfec) return Error{"--fec and --flexfec: one FEC scheme at a time"};
    plan.nack = nack && plan.video.has_value();
    plan.fec = fec && plan.video.has_value();
    plan.flexfec = flexfec && plan.video.has_value();
    // tern-send's default FlexFEC SSRC unless --fec-ssrc names another.
    if (plan.flexfec) plan.video_fec_ssrc = pipeline::StreamSsrcs{}.video_fec;
  }
  if (!o.sdp_path.empty() && !o.protection.empty()) {
    return Error{"--protection: the SDP says which protection the session has"};
  }
  if (o.port != 0) plan.port = o.port;
  if (o.audio_port != 0) plan.audio_port = o.audio_port;
  if (o.address_given) plan.address = o.address;
  if (o.video_ssrc != 0) plan.video_ssrc = o.video_ssrc;
  if (o.audio_ssrc != 0) plan.audio_ssrc = o.audio_ssrc;
  if (!o.key.empty()) {
    auto profile = transport::srtp_profile_from_name(o.srtp_profile);
    if (!profile) return recv_setup_failed("--srtp-profile '" + o.srtp_profile + "': unknown profile");
    auto k = transport::parse_key_text(o.key, *profile);
    if (!k) return recv_setup_failed(std::string("--key: ") + k.error());
    plan.srtp_profile = profile;
    plan.srtp_key = std::move(k.value());
    plan.audio_srtp.reset();  // one key for every port
  }
  if (o.fec_ssrc != 0) {
    if (!plan.flexfec) return Error{"--fec-ssrc: the session has no FlexFEC (give --flexfec, or an SDP with flexfec-03)"};
    plan.video_fec_ssrc = o.fec_ssrc;
  }
  if (o.rtx_ssrc != 0) {
    if (!plan.nack) return Error{"--rtx-ssrc: the session has no NACK/RTX (give --nack, or an SDP with nack and rtx)"};
    plan.video_rtx_ssrc = o.rtx_ssrc;
  }
  // Without an RTX SSRC up front, it is learned from the first RTX packet (StreamLearner).

  const bool want_video = plan.video.has_value();
  const bool want_audio = plan.audio.has_value();
  if (!o.y4m_path.empty() && !want_video) return Error{"--y4m: the session has no video"};
  if (!o.wav_path.empty() && !want_audio) return Error{"--wav: the session has no audio"};
  if (plan.audio_port && (!want_audio || !want_video || *plan.audio_port == plan.port)) plan.audio_port.reset();
  return plan;
}

pipeline::EndpointConfig recv_endpoint_config(const SessionPlan& plan) {
  pipeline::EndpointConfig config;
  config.cname = "tern-recv";
  config.send.video = std::nullopt;
  config.send.audio = std::nullopt;
  config.receive.video = plan.video;
  config.receive.audio = plan.audio;
  config.receive.protection = {plan.nack, plan.fec, plan.audio_red, plan.flexfec && plan.video_fec_ssrc.has_value()};
  config.payload_types = plan.payload_types;
  config.extension_ids = plan.extension_ids;
  config.remote.video = plan.video_ssrc.value_or(0x7E50'0102);
  config.remote.audio = plan.audio_ssrc.value_or(0x7E50'0101);
  // No RTX SSRC yet: a placeholder until one is learned (Endpoint::set_remote_video_rtx_ssrc).
  config.remote.video_rtx = plan.video_rtx_ssrc.value_or(config.remote.video ^ 0x5A5A'5A5A);
  if (plan.video_fec_ssrc) config.remote.video_fec = *plan.video_fec_ssrc;
  config.local = {0x7E50'0001, 0x7E50'0002, 0x7E50'0003, "0", "1", 0x7E50'0004};
  for (uint32_t* s : {&config.local.audio, &config.local.video, &config.local.video_rtx}) {
    while (*s == config.remote.video || *s == config.remote.audio || *s == config.remote.video_rtx ||
           (plan.video_fec_ssrc && *s == *plan.video_fec_ssrc)) {
      *s += 16;
    }
  }
  config.congestion = plan.transport_cc ? pipeline::CongestionControlMode::kTransportCc
                      : plan.remb       ? pipeline::CongestionControlMode::kRemb
                                        : pipeline::CongestionControlMode::kFixed;
  config.use_fir = plan.use_fir;
  config.measure_quality = false;
  config.av_sync = false;
  return config;
}

std::optional<bool> StreamLearner::kind_of(uint8_t pt) const {
  if (plan_.video.has_value() && (pt == video_media_pt(plan_) || (plan_.fec && pt == plan_.payload_types.red))) {
    return true;
  }
  if (plan_.audio.has_value() &&
      (pt == plan_.payload_types.opus || (plan_.audio_red && pt == plan_.payload_types.audio_red))) {
    return false;
  }
  return std::nullopt;
}

bool StreamLearner::may_take(bool video, Timestamp now) const {
  const std::optional<uint32_t>& current = video ? plan_.video_ssrc : plan_.audio_ssrc;
  // A stream named (by the SDP or --ssrc) but never heard counts as heard when the learner began.
  const Timestamp heard = (video ? video_heard_ : audio_heard_).value_or(began_.value_or(now));
  return !current || now - heard >= kSilenceBeforeSwitch;
}

StreamLearner::Outcome StreamLearner::observe(const rtp::RtpHeader& h, std::span<const uint8_t> datagram, bool keep,
                                              Timestamp now) {
  if (!began_) began_ = now;
  const uint32_t ssrc = h.ssrc;
  if (plan_.video_ssrc == ssrc) {
    video_heard_ = now;
    last_video_seq_ = h.sequence_number;
    return Outcome::kKnown;
  }
  if (plan_.audio_ssrc == ssrc) {
    audio_heard_ = now;
    return Outcome::kKnown;
  }
  if (plan_.video_rtx_ssrc == ssrc || plan_.video_fec_ssrc == ssrc) return Outcome::kKnown;
  if (plan_.nack && plan_.video_ssrc && !plan_.video_rtx_ssrc && h.payload_type == plan_.payload_types.video_rtx) {
    // RFC 4588 4: the payload starts with the original sequence number, which must be one the
    // video stream has used lately (a retransmission answers our NACK).
    const size_t payload = h.header_size;
    if (last_video_seq_ && h.payload_size >= 2 && datagram.size() >= payload + 2) {
      const uint16_t osn = static_cast<uint16_t>((datagram[payload] << 8) | datagram[payload + 1]);
      if (static_cast<uint16_t>(*last_video_seq_ - osn) <= kMaxRtxDistance) {
        plan_.video_rtx_ssrc = ssrc;
        return Outcome::kRtxLearned;
      }
    }
    return Outcome::kForeign;
  }
  const std::optional<bool> video = kind_of(h.payload_type);
  if (!video) return Outcome::kForeign;
  auto it = std::find_if(candidates_.begin(), candidates_.end(), [&](const Candidate& c) { return c.ssrc == ssrc; });
  if (it == candidates_.end()) {
    if (candidates_.size() >= kMaxCandidates) {
      abandoned_ += candidates_.front().kept.size();
      candidates_.erase(candidates_.begin());
    }
    candidates_.push_back(Candidate{ssrc, *video, h.sequence_number, 1, {}});
    it = candidates_.end() - 1;
  } else {
    // Strictly the next sequence number (RFC 3550 A.1); anything else starts the count again.
    const bool next = h.sequence_number == static_cast<uint16_t>(it->last_seq + 1);
    it->in_sequence = next ? it->in_sequence + 1 : 1;
    it->last_seq = h.sequence_number;
  }
  if (it->in_sequence < kMinSequential || !may_take(*video, now)) {
    if (keep && it->kept.size() < static_cast<size_t>(kMinSequential)) {
      it->kept.emplace_back(datagram.begin(), datagram.end());
    } else if (keep) {
      ++abandoned_;
    }
    return Outcome::kProbation;
  }
  learned_video_ = *video;
  learned_unheard_ = !(*video ? video_heard_ : audio_heard_).has_value();
  if (*video ? plan_.video_ssrc.has_value() : plan_.audio_ssrc.has_value()) ++switches_;
  if (*video) {
    plan_.video_ssrc = ssrc;
    if (plan_.video_rtx_ssrc) plan_.video_rtx_ssrc.reset();  // the restarted sender's RTX is learned anew
    video_heard_ = now;
    last_video_seq_ = h.sequence_number;
  } else {
    plan_.audio_ssrc = ssrc;
    audio_heard_ = now;
  }
  learned_packets_ = std::move(it->kept);
  candidates_.erase(it);
  return Outcome::kLearned;
}

void StreamLearner::hold(std::span<const uint8_t> d, bool rtcp, Timestamp now) {
  if (!began_) began_ = now;
  if (!first_held_) first_held_ = now;
  if (held_.size() < kMaxHeldPackets) {
    held_.emplace_back(std::vector<uint8_t>(d.begin(), d.end()), rtcp);
  } else {
    ++dropped_;
  }
}

bool StreamLearner::ready(Timestamp now) const {
  const bool video_known = !plan_.video.has_value() || plan_.video_ssrc;
  const bool audio_known = !plan_.audio.has_value() || plan_.audio_ssrc;
  if (video_known && audio_known) return true;
  const bool any = (plan_.video.has_value() && plan_.video_ssrc) || (plan_.audio.has_value() && plan_.audio_ssrc);
  return any && first_held_ && now - *first_held_ >= kMaxHoldTime;
}

Result<std::unique_ptr<RecvSession>> RecvSession::Create(RecvOptions options) {
  std::unique_ptr<RecvSession> s(new RecvSession());
  s->options_ = std::move(options);
  const RecvOptions& o = s->options_;
  auto plan = recv_session_plan(o);
  if (!plan) return Error{plan.error()};
  s->plan_ = std::move(plan.value());

  auto local = transport::SocketAddress::Parse(s->plan_.address, s->plan_.port);
  if (!local) return recv_setup_failed("listen address '" + s->plan_.address + "': " + local.error());
  transport::RtpUdpTransportConfig tc;
  tc.local = local.value();
  tc.rtcp_mux = s->plan_.rtcp_mux;
  tc.srtp_profile = s->plan_.srtp_profile;
  tc.srtp_key = s->plan_.srtp_key;
  auto link = transport::RtpUdpTransport::Open(tc);
  if (!link) return recv_setup_failed("cannot listen on " + tc.local.to_string() + ": " + link.error());
  s->link_ = std::move(link.value());
  s->link_->set_learn_peer(true);
  if (s->plan_.audio_port) {
    transport::RtpUdpTransportConfig ac = tc;
    ac.local.set_port(*s->plan_.audio_port);
    if (s->plan_.audio_srtp) {
      ac.srtp_profile = s->plan_.audio_srtp->profile;
      ac.srtp_key = s->plan_.audio_srtp->key;
    }
    auto a = transport::RtpUdpTransport::Open(ac);
    if (!a) return recv_setup_failed("cannot listen on " + ac.local.to_string() + " (audio): " + a.error());
    s->audio_link_ = std::move(a.value());
    s->audio_link_->set_learn_peer(true);
  }
  if (!o.rtcp_dest.empty()) {
    auto a = transport::parse_host_port(o.rtcp_dest);
    if (!a) return recv_setup_failed("--rtcp-dest '" + o.rtcp_dest + "': " + a.error());
    s->link_->set_fixed_rtcp_peer(a.value());
  }

  // Every output exists before the first packet is read: an unwritable path stops here.
  if (Status st = check_output_path("--webm", o.webm_path); !st.ok()) return Error{st.error()};
  if (Status st = check_output_path("--stats-json", o.stats_path); !st.ok()) return Error{st.error()};
  auto outputs = ReceiveOutputs::Create(o.y4m_path, o.wav_path, o.fps);
  if (!outputs) return Error{outputs.error()};
  s->outputs_ = std::move(outputs.value());
  RecvSession* self = s.get();
  for (transport::RtpUdpTransport* port : {s->link_.get(), s->audio_link_.get()}) {
    if (port == nullptr) continue;
    port->set_receive_handler([self, port](std::span<const uint8_t> d, bool rtcp, Timestamp now) {
      return self->on_datagram(*port, d, rtcp, now);
    });
  }
  if (s->learner_.ready(transport::EpollDriver::Now())) {
    if (Status st = s->start_endpoint(transport::EpollDriver::Now()); !st.ok()) {
      return recv_setup_failed(std::string("configuration: ") + st.error());
    }
  }

  auto loop = ToolLoop::Open({s->link_.get(), s->audio_link_.get()});
  if (!loop) return Error{loop.error()};
  s->loop_ = std::move(loop.value());
  for (transport::Pollable* p : {static_cast<transport::Pollable*>(&s->endpoint_pollable_),
                                 static_cast<transport::Pollable*>(&s->tap_pollable_)}) {
    if (Status st = s->loop_->driver().add_pollable(p); !st.ok()) return Error{st.error()};
  }
  return s;
}

Status RecvSession::create_endpoint() {
  const pipeline::EndpointConfig config = recv_endpoint_config(plan_);
  DatagramSink* sink = link_.get();
  if (audio_link_) {
    // Receive-only: reports about the audio SSRC go to the audio port, from our (otherwise
    // unused) local video SSRC, so the two ports' SRTCP never share a head SSRC.
    split_.emplace(link_.get(), audio_link_.get(), PortSplitConfig{0, config.remote.audio, config.local.video, config.cname});
    sink = &*split_;
  }
  auto e = pipeline::Endpoint::Create(config, sink);
  if (!e) return Error{e.error()};
  endpoint_pollable_.set(nullptr);
  endpoint_ = std::move(e.value());
  endpoint_->set_video_render_listener(outputs_.get());
  endpoint_->set_audio_playout_listener(outputs_.get());
  endpoint_->set_link_counters([this] { return link_counters(counters()); });
  endpoint_pollable_.set(endpoint_.get());
  // The WebM recording follows the first streams taken: a sender switching SSRC later is decoded
  // (Y4M/WAV) but not recorded.
  if (options_.webm_path.empty() || tap_) return Status{};
  auto t = ReceiveTap::Create(receive_tap_config(config, options_.fps, options_.webm_path));
  if (!t) return Error{t.error()};
  tap_ = std::move(t.value());
  return Status{};
}

Status RecvSession::start_endpoint(Timestamp now) {
  if (Status st = create_endpoint(); !st.ok()) return st;
  for (const auto& [bytes, is_rtcp] : learner_.take()) deliver(bytes, is_rtcp, now);
  return Status{};
}

bool RecvSession::deliver(std::span<const uint8_t> d, bool rtcp, Timestamp now) {
  if (!rtcp && tap_) tap_->on_rtp(d, now);
  switch (endpoint_->on_packet(d, now)) {
    case pipeline::PacketVerdict::kRtp: ++received_.rtp; return true;
    case pipeline::PacketVerdict::kRtcp: {
      ++received_.rtcp;
      // Of the session only when it comes from a stream we receive (its first packet's SSRC).
      const uint32_t sender = d.size() >= 8 ? load_be32(&d[4]) : 0;
      return sender != 0 && (sender == plan_.video_ssrc || sender == plan_.audio_ssrc || sender == plan_.video_rtx_ssrc ||
                             sender == plan_.video_fec_ssrc);
    }
    case pipeline::PacketVerdict::kMalformedRtp: ++received_.malformed_rtp; return false;
    case pipeline::PacketVerdict::kUnknownSsrc: ++received_.unknown_ssrc; return false;
    case pipeline::PacketVerdict::kBadRtcp: ++received_.rtcp_parse_errors; return false;
  }
  return false;
}

bool RecvSession::on_rtp(transport::RtpUdpTransport& link, std::span<const uint8_t> d, Timestamp now) {
  auto header = rtp::RtpHeader::parse(d);
  if (!header) {
    if (endpoint_) return deliver(d, false, now);  // counted by the Endpoint's verdict
    ++received_.malformed_rtp;
    return false;
  }
  using Outcome = StreamLearner::Outcome;
  const Outcome outcome = learner_.observe(header.value(), d, endpoint_ != nullptr, now);
  if (!endpoint_) {
    if (outcome == Outcome::kForeign) {
      ++received_.unknown_ssrc;
      return false;
    }
    learner_.hold(d, false, now);
    if (!learner_.ready(now)) return false;
    if (Status st = start_endpoint(now); !st.ok()) setup_error_ = st.error();
    return false;  // the held packets were replayed; the peer is learned from the next one
  }
  switch (outcome) {
    case Outcome::kProbation: break;  // kept by the learner; the Endpoint counts it (unknown SSRC)
    case Outcome::kRtxLearned:
      endpoint_->set_remote_video_rtx_ssrc(*plan_.video_rtx_ssrc);
      if (tap_) tap_->set_rtx_ssrc(*plan_.video_rtx_ssrc);
      break;
    case Outcome::kLearned: {
      const uint32_t ssrc = header.value().ssrc;
      const bool video = learner_.learned_video();
      if (learner_.learned_unheard() &&
          (video ? endpoint_->set_remote_video_ssrc(ssrc) : endpoint_->set_remote_audio_ssrc(ssrc)).ok()) {
        // A stream announced but not sent at first (it was given a placeholder after the hold)
        // began: only its own receive stream is made anew; the WebM tap does not record it.
      } else {
        // The sender restarted with a new SSRC, maybe from another port: a fresh Endpoint, and
        // RTCP goes to wherever this packet came from.
        link.forget_peer();
        if (Status st = create_endpoint(); !st.ok()) {
          setup_error_ = st.error();
          return false;
        }
      }
      const std::vector<std::vector<uint8_t>> kept = learner_.take_learned();
      received_.unknown_ssrc -= std::min<uint64_t>(received_.unknown_ssrc, kept.size());  // counted on probation
      for (const std::vector<uint8_t>& k : kept) deliver(k, false, now);
      break;
    }
    case Outcome::kKnown:
    case Outcome::kForeign: break;
  }
  return deliver(d, false, now);
}

bool RecvSession::on_datagram(transport::RtpUdpTransport& link, std::span<const uint8_t> d, bool rtcp,
                              Timestamp now) {
  last_packet_ = now;
  if (!rtcp) return on_rtp(link, d, now);
  if (endpoint_) return deliver(d, true, now);
  learner_.hold(d, true, now);
  return false;
}

std::string RecvSession::listening() const {
  return "listening on " + link_->local_address().to_string() +
         (audio_link_ ? ", audio on " + audio_link_->local_address().to_string() : std::string()) +
         (plan_.srtp_profile ? " (SRTP)" : "");
}

Status RecvSession::run() {
  const RecvOptions& o = options_;
  transport::EpollDriver& loop = loop_->driver();
  start_ = transport::EpollDriver::Now();
  end_ = start_;
  const TimeDelta limit = o.duration > 0 ? TimeDelta::SecondsF(o.duration) : TimeDelta::PlusInfinity();
  while (loop_->signal() == 0 && setup_error_.empty()) {
    // A write error stops the run at once (the files keep what was written before it).
    if (outputs_->failed() || (tap_ && !tap_->write_status().ok())) break;
    const Timestamp now = transport::EpollDriver::Now();
    if (now - start_ >= limit) break;
    if (o.frames > 0 && outputs_->frames() >= o.frames) break;
    if (o.idle_timeout > 0 && last_packet_ && now - *last_packet_ >= TimeDelta::SecondsF(o.idle_timeout)) break;
    if (Status st = loop.run_for(TimeDelta::Millis(20)); !st.ok()) return recv_setup_failed(std::string("loop: ") + st.error());
  }
  end_ = transport::EpollDriver::Now();
  if (!setup_error_.empty()) return recv_setup_failed("configuration: " + setup_error_);
  return Status{};
}

transport::RtpUdpTransportCounters RecvSession::counters() const {
  transport::RtpUdpTransportCounters c = link_->counters();  // both ports
  if (audio_link_) c += audio_link_->counters();
  return c;
}

int64_t RecvSession::audio_packets() const {
  const pipeline::AudioReceiveStream* ars = endpoint_ ? endpoint_->audio_receive_stream() : nullptr;
  return ars ? static_cast<int64_t>(ars->jitter_buffer_stats().packets_received) : 0;
}

Status RecvSession::finish() {
  const RecvOptions& o = options_;
  Status result = outputs_->close();
  if (!outputs_->not_written().empty()) notes_.push_back(outputs_->not_written());
  const Status webm = tap_ ? tap_->finish(end_) : Status::Ok();
  if (result.ok() && !webm.ok()) result = webm;
  if (!o.webm_path.empty() && webm.ok() && (!tap_ || !tap_->recording())) {
    std::remove(o.webm_path.c_str());  // created at start-up to check the path; nothing came
    notes_.push_back("nothing recorded: WebM file not written");
  }
  const transport::RtpUdpTransportCounters c = counters();
  nlohmann::json j;
  j["tool"] = "tern-recv";
  const pipeline::VideoReceiveStream* vrs = endpoint_ ? endpoint_->video_receive_stream() : nullptr;
  j["video_frames_decoded"] = outputs_->frames();  // rendered, i.e. decoded and handed out
  j["video_decode_errors"] = vrs ? vrs->counters().decode_errors : 0;
  j["fec_recovered"] = vrs ? vrs->counters().fec_packets_recovered : 0;
  j["fec_recovered_then_received"] = vrs ? vrs->counters().fec_recovered_then_received : 0;
  j["width"] = outputs_->width();
  j["height"] = outputs_->height();
  j["audio_packets_decoded"] = audio_packets();
  j["audio_samples_per_channel"] = outputs_->wav_samples_per_channel();
  // What reached the files: a picture or block counts once it was written.
  const int write_errors = outputs_->write_errors() + (webm.ok() ? 0 : 1);
  j["outputs"] = {{"y4m_frames_written", outputs_->y4m_frames()},
                  {"y4m_resolution_changes", outputs_->resolution_changes()},
                  {"y4m_frames_scaled", outputs_->scaled_frames()},
                  {"wav_samples_per_channel", outputs_->wav_samples_per_channel()},
                  {"wav_blocks_refused", outputs_->refused_blocks()},
                  {"webm_frames_not_recorded", tap_ ? tap_->counters().frames_not_recorded : 0},
                  {"webm_frames_unrepaired_at_end", tap_ ? tap_->counters().video_frames_unrepaired_at_end : 0},
                  {"write_errors", write_errors},
                  {"lost_to_write_errors", outputs_->lost_to_write_errors()}};
  if (!result.ok()) j["outputs"]["write_error"] = result.error();
  // Received: RTP of the session's streams, RTCP that parsed. Everything else is "invalid", by kind.
  j["rtp_received"] = received_.rtp;
  j["rtcp_received"] = received_.rtcp;
  j["rtcp_sent"] = c.rtcp_sent;
  j["unprotect_failures"] = c.unprotect_failures;
  j["held_dropped"] = learner_.dropped();
  j["invalid"] = {{"not_rtp", c.not_rtp},
                  {"truncated", c.truncated},
                  {"srtp_failures", c.unprotect_failures},
                  {"malformed_rtp", received_.malformed_rtp},
                  {"unknown_ssrc", received_.unknown_ssrc},
                  {"rtcp_parse_errors", received_.rtcp_parse_errors},
                  {"held_dropped", learner_.dropped()}};
  j["ssrc_switches"] = learner_.switches();
  if (plan_.video_ssrc) j["video_ssrc"] = *plan_.video_ssrc;
  if (plan_.audio_ssrc) j["audio_ssrc"] = *plan_.audio_ssrc;
  j["duration_s"] = (end_ - start_).seconds_f();
  j["signal"] = loop_->signal();
  if (endpoint_) j["stats"] = nlohmann::json::parse(endpoint_->stats(end_).to_json(-1), nullptr, false);
  const Status json = write_stats_json(o.stats_path, j.dump(2));
  return result.ok() ? json : result;
}

std::string RecvSession::summary() const {
  const transport::RtpUdpTransportCounters c = counters();
  char line[512];
  std::snprintf(line, sizeof line,
                "tern-recv: %lld video frames decoded (%dx%d), %lld audio packets, %llu RTP / %llu RTCP received, "
                "%llu SRTP failures, %.2f s%s",
                static_cast<long long>(outputs_->frames()), outputs_->width(), outputs_->height(),
                static_cast<long long>(audio_packets()), static_cast<unsigned long long>(received_.rtp),
                static_cast<unsigned long long>(received_.rtcp), static_cast<unsigned long long>(c.unprotect_failures),
                (end_ - start_).seconds_f(), loop_->signal() != 0 ? " (stopped by signal)" : "");
  return line;
}

}  // namespace tern::tools::net
