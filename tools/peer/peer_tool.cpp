#include "tern/tools/peer/peer_tool.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <functional>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <thread>

#include "tern/ice/core_address.h"
#include "tern/sdp/sdp_description.h"
#include "tern/sdp/webrtc_attributes.h"
#include "tern/tools/net/http_bridge.h"
#include "tern/tools/net/receive_tap.h"
#include "tern/tools/net/send_session.h"
#include "tern/tools/net/tool_loop.h"
#include "tern/transport/demuxer.h"
#include "tern/transport/epoll_driver.h"
#include "tern/transport/pollable.h"
#include "tern/transport/udp_socket.h"
#include "tern/webrtc/peer_connection.h"
#include "tern/whip/whip_client.h"
#include "tern/whip/whip_endpoint.h"

namespace tern::tools::peer {
namespace {

using json = nlohmann::json;
using webrtc::PeerConnection;
using webrtc::PeerConnectionEvent;
using Type = webrtc::PeerConnectionEvent::Type;

// Ended calls whose stats are kept for the JSON (the oldest are forgotten beyond this).
constexpr size_t kMaxFinishedCalls = 64;
// Events handled per flush round (echoes create more outgoing work; bounded).
constexpr int kMaxFlushRounds = 16;

using net::split_host_port;

ice::TransportAddress to_ice(const transport::SocketAddress& a) { return ice::from_core(a.to_core()); }

std::shared_ptr<const dtls::DtlsCertificate> shared_certificate() {
  static std::shared_ptr<const dtls::DtlsCertificate> certificate = [] {
    auto c = dtls::DtlsCertificate::Generate();
    return c.ok() ? std::move(c).value() : nullptr;
  }();
  return certificate;
}

// The driver's monotonic Timestamps mapped to wall-clock NTP (RFC 3550 6.4.1): sender reports then
// carry the real time of capture, so a receiver on the same machine can measure end-to-end delay
// (Chromium's estimatedPlayoutTimestamp).
NtpClock wall_ntp_clock() {
  const auto wall_us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
  return NtpClock(NtpTime::FromUnixMicros(wall_us - transport::EpollDriver::Now().us()));
}

// WHIP's ICE restart (RFC 9725 4.4) carries credentials and candidates, no SDP: the PeerConnection
// gets the peer's last description again with the new credentials (and without the old
// generation's candidates; the fragment's come as trickled ones).
Result<std::string> with_ice_credentials(const std::string& sdp_text, const std::string& ufrag, const std::string& pwd) {
  auto sd = sdp::SessionDescription::parse(sdp_text);
  if (!sd) return Error{sd.error()};
  auto edit = [&](sdp::AttributeList& list) {
    std::erase_if(list.attributes, [](const sdp::Attribute& a) { return a.name == "candidate" || a.name == "end-of-candidates"; });
    for (sdp::Attribute& a : list.attributes) {
      if (a.name == "ice-ufrag") a.value = ufrag;
      if (a.name == "ice-pwd") a.value = pwd;
    }
  };
  edit(*sd);
  for (sdp::MediaSection& m : sd->media) edit(m);
  return sd->to_string();
}

// The fragment of one ICE generation: credentials and the BUNDLE section's candidates (`candidates`
// are "candidate:..." values), end-of-candidates when gathering is done.
whip::IceFragment local_fragment(const webrtc::PeerConnection& pc, const std::vector<std::string>& candidates,
                                 bool gathering_done) {
  whip::IceFragment f;
  f.ufrag = pc.local_ice_credentials().ufrag;
  f.pwd = pc.local_ice_credentials().pwd;
  whip::FragmentMedia m;
  if (auto local = pc.local_description()) {
    if (auto sd = sdp::SessionDescription::parse(local->sdp); sd && !sd->media.empty()) {
      m.kind = sd->media.front().media;
      m.mid = std::string(sd->media.front().value("mid").value_or(""));
    }
  }
  for (const std::string& c : candidates) {
    auto parsed = sdp::SdpCandidate::parse(std::string_view(c).substr(c.rfind("candidate:", 0) == 0 ? 10 : 0));
    if (parsed) m.candidates.push_back(std::move(parsed).value());
  }
  m.end_of_candidates = gathering_done;
  f.media.push_back(std::move(m));
  return f;
}

// The peer's fragment's candidates (of generation `ufrag`) to the connection.
Status add_fragment_candidates(webrtc::PeerConnection& pc, const whip::IceFragment& fragment, Timestamp now) {
  const std::string ufrag = fragment.ufrag.value_or("");
  for (const whip::FragmentMedia& m : fragment.media) {
    for (const sdp::SdpCandidate& c : m.candidates) {
      Status added = pc.add_ice_candidate({"candidate:" + c.to_value(), m.mid, ufrag}, now);
      if (!added.ok()) return added;
    }
    if (m.end_of_candidates) (void)pc.add_ice_candidate({"", m.mid, ufrag}, now);  // never refused
  }
  return Status::Ok();
}

double ms_between(Timestamp from, std::optional<Timestamp> to) { return to ? (*to - from).ms_f() : -1.0; }

// --record for one call: tern-recv's WebM tap (net::ReceiveTap) on the plain RTP the
// PeerConnection receives, made at the first packet from the negotiated Endpoint's configuration.
class CallRecording {
 public:
  CallRecording(std::string path, int fps) : path_(std::move(path)), fps_(fps) {}
  void attach(const PeerConnection* pc) { pc_ = pc; }

  void on_rtp(std::span<const uint8_t> packet, Timestamp now) {
    if (finished_ || !error_.ok()) return;
    if (!tap_) {
      if (pc_ == nullptr || pc_->endpoint() == nullptr) return;
      auto tap = net::ReceiveTap::Create(net::receive_tap_config(pc_->endpoint()->config(), fps_, path_));
      if (!tap) {
        error_ = Error{tap.error()};
        return;
      }
      tap_ = std::move(tap).value();
    }
    tap_->on_rtp(packet, now);
  }
  std::optional<Timestamp> next_wakeup() const { return tap_ ? tap_->next_wakeup() : std::nullopt; }
  void process(Timestamp now) {
    if (tap_) tap_->process(now);
  }
  // Releases what the tap holds and closes the file (idempotent); the first error, if any.
  Status finish(Timestamp now) {
    if (!finished_ && tap_) {
      if (Status st = tap_->finish(now); !st.ok() && error_.ok()) error_ = st;
    }
    finished_ = true;
    return error_;
  }
  json stats() const {
    json j = {{"path", path_}, {"recorded", tap_ != nullptr && tap_->recording()}};
    if (tap_) {
      const net::ReceiveTapCounters& c = tap_->counters();
      j["videoFrames"] = c.video_frames_assembled;
      j["notRecorded"] = c.frames_not_recorded;
      j["unrepairedAtEnd"] = c.video_frames_unrepaired_at_end;
      j["width"] = c.width;
      j["height"] = c.height;
    }
    if (!error_.ok()) j["error"] = error_.error();
    return j;
  }

 private:
  std::string path_;
  int fps_;
  const PeerConnection* pc_ = nullptr;
  std::unique_ptr<net::ReceiveTap> tap_;
  Status error_;
  bool finished_ = false;
};

// --input-video / --input-audio, opened for one call (net::load_send_inputs, as tern-send --input).
Result<net::SendInputs> open_inputs(const PeerOptions& options) {
  net::SendOptions so;
  for (const std::string* path : {&options.input_video, &options.input_audio}) {
    if (!path->empty()) so.inputs.push_back(*path);
  }
  so.loop_input = options.loop_input;
  so.video_given = so.audio_given = true;  // a kind without a file stays synthetic
  return net::load_send_inputs(so);
}

// One call: a PeerConnection on its own UDP socket, driven by the EpollDriver.
class PeerCall final : public transport::Pollable {
 public:
  // `record`: this call's --record path (empty: none).
  static Result<std::unique_ptr<PeerCall>> Open(const PeerOptions& options, std::string id, bool offerer,
                                                transport::EpollDriver& driver, const std::string& record = "") {
    auto address = transport::SocketAddress::Parse(options.bind, 0);
    if (!address) return Error{"--bind: not a numeric IP address"};
    auto socket = transport::UdpSocket::Open(*address);
    if (!socket) return Error{socket.error()};
    auto inputs = open_inputs(options);
    if (!inputs) return Error{inputs.error()};
    webrtc::PeerConnectionConfig c;
    c.certificate = shared_certificate();
    if (!c.certificate) return Error{"cannot generate the DTLS certificate"};
    c.sockets = {ice::LocalSocket{0, to_ice(socket->local_address()), {}}};
    c.audio = options.audio;
    c.video = options.video;
    c.send_audio = options.audio && options.send_media;
    c.send_video = options.video && options.send_media;
    c.video_fec = options.video_fec;
    if (!options.turn.empty()) {  // validated
      auto hp = split_host_port(options.turn).value();
      const size_t colon = options.turn_user.find(':');
      c.ice_servers.push_back({webrtc::IceServer::Kind::kTurn, ice::TransportAddress::Parse(hp.first, hp.second).value(),
                               options.turn_user.substr(0, colon), options.turn_user.substr(colon + 1)});
      if (options.relay_only) c.ice_transport_policy = ice::IceTransportPolicy::kRelay;
    }
    c.media.ntp_clock = wall_ntp_clock();
    c.media.send.width = options.width;
    c.media.send.height = options.height;
    c.media.send.fps = options.fps;
    c.media.measure_quality = false;  // the peer's pictures are not tern's synthetic camera
    if (inputs->video) {
      c.media.send.width = inputs->video->width();
      c.media.send.height = inputs->video->height();
      c.media.send.fps = inputs->video->fps();
      c.media.send.degradation = pipeline::DegradationPreference::kDisabled;
      c.video_source = inputs->video.get();
    }
    c.audio_source = inputs->audio.get();
    std::unique_ptr<CallRecording> recording;
    if (!record.empty()) {
      recording = std::make_unique<CallRecording>(record, static_cast<int>(options.fps + 0.5));
      c.on_received_rtp = [r = recording.get()](std::span<const uint8_t> rtp, Timestamp now) { r->on_rtp(rtp, now); };
    }
    std::random_device device;
    const uint64_t seed = (static_cast<uint64_t>(device()) << 32) ^ device();
    c.seed = seed | 1;
    c.media.seed = seed >> 7;
    const uint32_t base = static_cast<uint32_t>(seed >> 16) & 0x7fff'fff0u;
    c.audio_ssrc = base + 1;
    c.video_ssrc = base + 2;
    c.video_rtx_ssrc = base + 3;
    c.media.local.video_fec = base + 4;
    auto pc = PeerConnection::Create(c);
    if (!pc) return Error{pc.error()};
    if (recording) recording->attach(pc->get());
    std::unique_ptr<PeerCall> call(new PeerCall(options, std::move(id), offerer, std::move(socket).value(),
                                                std::move(inputs).value(), std::move(recording), std::move(pc).value(),
                                                driver));
    PeerCall* self = call.get();
    Status watched = driver.add_fd(self->socket_.fd(), [self](Timestamp now) { self->on_readable(now); });
    if (!watched.ok()) return Error{watched.error()};
    Status added = driver.add_pollable(self);
    if (!added.ok()) {
      (void)driver.remove_fd(self->socket_.fd());  // undoing the line above; nothing else to do on failure
      return Error{added.error()};
    }
    call->registered_ = true;
    call->loss_rng_.seed(seed ^ 0x9e37'79b9'7f4a'7c15ull);
    return call;
  }

  ~PeerCall() override { unregister(); }
  PeerCall(const PeerCall&) = delete;
  PeerCall& operator=(const PeerCall&) = delete;

  PeerConnection& pc() { return *pc_; }
  const std::string& id() const { return id_; }
  const std::vector<std::string>& local_candidates() const { return local_candidates_; }
  bool gathering_done() const { return gathering_done_; }
  // An ICE restart was applied: the new generation's candidates come next (collected by flush()).
  void ice_restarted() {
    local_candidates_.clear();
    gathering_done_ = false;
  }
  void set_posted(Timestamp at) { posted_ = at; }
  bool failed() const { return pc_->connection_state() == webrtc::ConnectionState::kFailed; }
  // The peer hung up without a DELETE (its DTLS close_notify) at least `grace` ago (a DELETE
  // usually follows close_notify at once), or the call failed.
  bool over(Timestamp now, TimeDelta grace) const { return failed() || (peer_closed_ && now - *peer_closed_ >= grace); }

  std::optional<Timestamp> next_wakeup() const override {
    std::optional<Timestamp> at = pc_->next_wakeup();
    const std::optional<Timestamp> tap = recording_ ? recording_->next_wakeup() : std::nullopt;
    return tap && (!at || *tap < *at) ? tap : at;
  }
  void process(Timestamp now) override {
    pc_->process(now);
    if (recording_) recording_->process(now);
    flush(now);
    sample_e2e_delay(now);
  }
  // The --record file's error, if any (ok without one).
  Status finish_recording(Timestamp now) { return recording_ ? recording_->finish(now) : Status::Ok(); }
  // Why an input file stopped early (ok otherwise).
  Status input_error() const { return inputs_.error(); }

  void on_readable(Timestamp now) {
    for (int round = 0; round < 64; ++round) {
      std::array<transport::Datagram, 16> slots;
      for (size_t i = 0; i < slots.size(); ++i) slots[i].buffer = std::span<uint8_t>(buffers_[i]);
      auto n = socket_.receive_batch(slots);
      if (!n.ok() || *n == 0) break;
      for (size_t i = 0; i < *n; ++i) {
        if (drop_rtp(slots[i].data(), /*outbound=*/false)) continue;
        pc_->on_datagram(0, to_ice(slots[i].peer), slots[i].data(), now);
      }
    }
    flush(now);
  }

  // Sends what the connection produced and handles its events (echoes produce more: bounded rounds).
  void flush(Timestamp now) {
    for (int round = 0; round < kMaxFlushRounds; ++round) {
      for (ice::IceOutgoing& o : pc_->take_outgoing()) {
        if (drop_rtp(o.data, /*outbound=*/true)) continue;
        // A full socket buffer loses the datagram, as a network would (ICE/DTLS/SCTP retransmit).
        if (!socket_.send_to(o.data, transport::SocketAddress::FromCore(ice::to_core(o.destination))).ok()) ++send_failures_;
      }
      bool any = false;
      while (auto e = pc_->poll_event()) {
        any = true;
        handle(*e, now);
      }
      if (!any) break;
    }
  }

  // Closes the connection (close_notify out) and stops being driven.
  void close(Timestamp now) {
    if (closed_) return;
    (void)finish_recording(now);  // its error is in the stats and asked for by the caller
    final_stats_ = stats_json(now);
    pc_->close(now);
    flush(now);
    closed_ = true;
    unregister();
  }

  json stats_json(Timestamp now) const {
    if (closed_ && final_stats_) return *final_stats_;
    const webrtc::PeerConnectionStats s = pc_->get_stats(now);
    json j;
    j["id"] = id_;
    j["role"] = offerer_ ? "offerer" : "answerer";
    j["connectionState"] = std::string(webrtc::to_string(pc_->connection_state()));
    if (*pc_->failure_reason() != '\0') j["failureReason"] = pc_->failure_reason();
    j["postToConnectedMs"] = ms_between(posted_, connected_at_);
    j["postToFirstVideoFrameMs"] = ms_between(posted_, first_video_);
    j["postToFirstAudioMs"] = ms_between(posted_, first_audio_);
    if (!e2e_samples_ms_.empty()) j["videoE2eDelayMs"] = e2e_summary();
    const webrtc::TransportInfo& t = s.transport;
    json tr = {{"tlsVersion", t.tls_version}, {"dtlsCipher", t.dtls_cipher}, {"srtpCipher", t.srtp_cipher},
               {"dtlsRole", t.dtls_role}, {"dtlsState", t.dtls_state}, {"iceState", t.ice_state},
               {"iceRole", t.ice_role}, {"packetsSent", t.packets_sent}, {"packetsReceived", t.packets_received},
               {"bytesSent", t.bytes_sent}, {"bytesReceived", t.bytes_received}};
    auto candidate = [](const webrtc::CandidateInfo& c) {
      return json{{"candidateType", c.candidate_type}, {"address", c.address}, {"port", c.port}};
    };
    if (t.local_candidate) tr["selectedLocalCandidate"] = candidate(*t.local_candidate);
    if (t.remote_candidate) tr["selectedRemoteCandidate"] = candidate(*t.remote_candidate);
    if (t.round_trip_time) tr["roundTripTime"] = *t.round_trip_time;
    j["transport"] = tr;
    json channels = json::array();
    for (const sctp::DataChannelStats& d : s.data_channels) {
      channels.push_back({{"label", d.label}, {"protocol", d.protocol}, {"id", d.data_channel_identifier},
                          {"state", std::string(sctp::to_string(d.state))}, {"messagesSent", d.messages_sent},
                          {"bytesSent", d.bytes_sent}, {"messagesReceived", d.messages_received},
                          {"bytesReceived", d.bytes_received}});
    }
    j["dataChannels"] = channels;
    if (s.sctp) {
      const sctp::SctpCounters& c = *s.sctp;
      j["sctp"] = {{"packetsSent", c.packets_sent}, {"packetsReceived", c.packets_received},
                   {"outgoingDropped", c.outgoing_dropped}, {"refusedMessages", c.refused_messages},
                   {"receivedDropped", c.received_dropped}, {"sendErrors", c.send_errors}};
    }
    if (s.usrsctp) {  // process-wide: summed over every association this process ran
      const sctp::UsrsctpLibrary::Stats& u = *s.usrsctp;
      j["usrsctp"] = {{"dataChunksSent", u.data_chunks_sent}, {"dataChunksReceived", u.data_chunks_received},
                      {"duplicateDataChunksReceived", u.duplicate_data_chunks_received},
                      {"dataChunksRetransmitted", u.data_chunks_retransmitted},
                      {"dataChunksFastRetransmitted", u.data_chunks_fast_retransmitted},
                      {"t3Timeouts", u.t3_timeouts}, {"badChecksums", u.bad_checksums}};
    }
    // transport-cc: the peer's packets carried the transport-wide sequence number (we fed back on
    // them), and its feedback on ours.
    const pipeline::TransportCounters tc = pc_->endpoint() ? pc_->endpoint()->transport_counters()
                                                           : pipeline::TransportCounters{};
    j["transportCc"] = {{"sequencedPacketsReceived", tc.transport_sequenced_received},
                        {"feedbackSent", tc.transport_feedback_sent},
                        {"feedbackReceived", tc.transport_feedback_received}};
    if (options_.loss_percent > 0) {
      j["loss"] = {{"percent", options_.loss_percent}, {"rtpDroppedIn", rtp_dropped_in_},
                   {"rtpDroppedOut", rtp_dropped_out_}};
    }
    j["messages"] = {{"received", messages_received_}, {"echoed", messages_echoed_},
                     {"echoFailures", echo_failures_}, {"sent", messages_sent_},
                     {"echoesInOrder", echoes_in_order_}, {"echoesOutOfOrder", echoes_out_of_order_}};
    // The figures a test or a reader wants first.
    json summary;
    if (const auto* o = s.media.outbound("video")) summary["videoFramesSent"] = o->frames_sent.value_or(0);
    if (const auto* i = s.media.inbound("video")) {
      summary["videoFramesDecoded"] = i->frames_decoded.value_or(0);
      summary["videoFrameWidth"] = i->frame_width.value_or(0);
      summary["videoFreezes"] = i->freeze_count.value_or(0);
    }
    if (const auto* o = s.media.outbound("audio")) summary["audioPacketsSent"] = o->packets_sent;
    if (const auto* i = s.media.inbound("audio")) {
      summary["audioPacketsReceived"] = i->packets_received;
      summary["audioSamplesReceived"] = i->total_samples_received.value_or(0);
    }
    j["summary"] = summary;
    const webrtc::PeerConnectionCounters& c = s.counters;
    j["counters"] = {{"remoteDescriptionsRefused", c.remote_descriptions_refused},
                     {"candidatesRefused", c.candidates_refused},
                     {"mediaBeforeSrtp", c.media_before_srtp},
                     {"unknownDatagrams", c.unknown_datagrams},
                     {"srtpUnprotectFailures", c.srtp_unprotect_failures},
                     {"srtpProtectFailures", c.srtp_protect_failures},
                     {"iceSendFailures", c.ice_send_failures},
                     {"outgoingDropped", c.outgoing_dropped},
                     {"eventsDropped", c.events_dropped},
                     {"fingerprintMismatches", c.fingerprint_mismatches},
                     {"iceRestarts", c.ice_restarts},
                     {"iceRestartsRemote", c.ice_restarts_remote},
                     {"selectedPairChanges", c.selected_pair_changes},
                     {"dtlsHandshakes", c.dtls_handshakes},
                     {"socketSendFailures", send_failures_}};
    if (recording_) j["recording"] = recording_->stats();
    if (inputs_.any()) {
      const Status input = inputs_.error();
      j["inputs"] = {{"video", options_.input_video}, {"audio", options_.input_audio}, {"seconds", inputs_.seconds}};
      if (!input.ok()) j["inputs"]["error"] = input.error();
    }
    j["media"] = json::parse(s.media.to_json(-1), nullptr, false);
    return j;
  }

  // "v 87/90 a 150/151 dc 20/20" for the status line.
  std::string status(Timestamp now) const {
    const webrtc::PeerConnectionStats s = pc_->get_stats(now);
    char line[160];
    const auto* vo = s.media.outbound("video");
    const auto* vi = s.media.inbound("video");
    const auto* ai = s.media.inbound("audio");
    std::snprintf(line, sizeof(line), "%s v sent %u dec %u, a rcv %llu, dc rx %llu tx %llu",
                  std::string(webrtc::to_string(pc_->connection_state())).c_str(),
                  vo ? vo->frames_sent.value_or(0) : 0u, vi ? vi->frames_decoded.value_or(0) : 0u,
                  static_cast<unsigned long long>(ai ? ai->packets_received : 0),
                  static_cast<unsigned long long>(messages_received_),
                  static_cast<unsigned long long>(messages_sent_ + messages_echoed_));
    return line;
  }

 private:
  PeerCall(const PeerOptions& options, std::string id, bool offerer, transport::UdpSocket socket,
           net::SendInputs inputs, std::unique_ptr<CallRecording> recording, std::unique_ptr<PeerConnection> pc,
           transport::EpollDriver& driver)
      : options_(options), id_(std::move(id)), offerer_(offerer), socket_(std::move(socket)),
        inputs_(std::move(inputs)), recording_(std::move(recording)), pc_(std::move(pc)), driver_(driver),
        posted_(transport::EpollDriver::Now()) {}

  void unregister() {
    if (!registered_) return;
    registered_ = false;
    driver_.remove_pollable(this);
    (void)driver_.remove_fd(socket_.fd());  // the socket closes with this object either way
  }

  // Every 100 ms: the capture-to-render delay of the last rendered video frame (the receive
  // stream's capture-to-decode delay plus its A/V sync hold; capture times from the sender's
  // reports, so meaningful when both ends' NTP clocks are the same wall clock), bounded.
  void sample_e2e_delay(Timestamp now) {
    if (now < next_e2e_sample_ || e2e_samples_ms_.size() >= kMaxE2eSamples) return;
    next_e2e_sample_ = now + TimeDelta::Millis(100);
    const pipeline::Endpoint* endpoint = pc_->endpoint();
    const pipeline::VideoReceiveStream* video = endpoint ? endpoint->video_receive_stream() : nullptr;
    if (video == nullptr || !video->last_delay()) return;
    e2e_samples_ms_.push_back((*video->last_delay() + video->sync_delay()).ms_f());
  }

  json e2e_summary() const {
    std::vector<double> v = e2e_samples_ms_;
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)]; };
    return {{"samples", v.size()}, {"p50", at(0.5)}, {"p95", at(0.95)}, {"max", v.back()}};
  }

  // --loss: drops RTP datagrams (media or RTX, SRTP-protected; the header is in the clear), counted
  // per direction: evenly spaced in each stream (SSRC) and direction, one in every 100/percent, the
  // first at a seeded point of the first period. STUN, DTLS, SCTP and RTCP always pass, and so do RTP
  // packets with the padding bit set (bandwidth probes). Random drops over all RTP left a 2.5 s
  // test call with no lost video packet at all now and then (Chromium's audio and probes took
  // them), and NACK had nothing to do; evenly spaced drops per stream always give it work.
  bool drop_rtp(std::span<const uint8_t> datagram, bool outbound) {
    if (options_.loss_percent <= 0 || transport::classify(datagram) != transport::PacketClass::kRtp) return false;
    if (datagram.size() < 12 || (datagram[0] & 0x20) != 0) return false;  // P: padding (probes)
    const uint32_t ssrc = static_cast<uint32_t>(datagram[8]) << 24 | static_cast<uint32_t>(datagram[9]) << 16 |
                          static_cast<uint32_t>(datagram[10]) << 8 | datagram[11];
    auto key = std::make_pair(outbound, ssrc);
    auto it = loss_credit_.find(key);
    if (it == loss_credit_.end()) {
      if (loss_credit_.size() >= kMaxLossStreams) return false;  // bounded: later streams pass
      it = loss_credit_.emplace(key, std::uniform_real_distribution<double>(0, 1)(loss_rng_)).first;
    }
    it->second += options_.loss_percent / 100.0;
    if (it->second < 1.0) return false;
    it->second -= 1.0;
    ++(outbound ? rtp_dropped_out_ : rtp_dropped_in_);
    return true;
  }

  void handle(const PeerConnectionEvent& e, Timestamp now) {
    switch (e.type) {
      case Type::kLocalCandidate:
        if (e.candidate.candidate.empty()) {
          gathering_done_ = true;
        } else if (local_candidates_.size() < 32) {
          local_candidates_.push_back(e.candidate.candidate);
        }
        break;
      case Type::kConnectionStateChanged:
        if (e.connection_state == webrtc::ConnectionState::kConnected && !connected_at_) connected_at_ = now;
        if (e.connection_state == webrtc::ConnectionState::kFailed)
          std::fprintf(stderr, "tern-peer: call %s failed: %s\n", id_.c_str(), e.reason);
        break;
      case Type::kDtlsStateChanged:
        if (e.dtls_state == dtls::DtlsState::kClosed && !peer_closed_) peer_closed_ = now;
        break;
      case Type::kFirstFrame:
        if (e.kind == "video" && !first_video_) first_video_ = now;
        if (e.kind == "audio" && !first_audio_) first_audio_ = now;
        break;
      case Type::kDataChannelOpen:
        if (!e.remote && options_.send_messages > 0 && e.label == "tern") {
          for (int i = 0; i < options_.send_messages; ++i) {
            if (pc_->send_text(e.channel, "tern " + std::to_string(i), now).ok()) ++messages_sent_;
          }
        }
        break;
      case Type::kDataChannelMessage: {
        ++messages_received_;
        const std::string text(e.data.begin(), e.data.end());
        if (options_.echo) {
          if (pc_->send(e.channel, e.data, e.binary, now).ok()) {
            ++messages_echoed_;
          } else {
            ++echo_failures_;
          }
        }
        if (options_.send_messages > 0 && text.rfind("tern ", 0) == 0) {
          if (text == "tern " + std::to_string(next_echo_)) {
            ++echoes_in_order_;
          } else {
            ++echoes_out_of_order_;
          }
          ++next_echo_;
        }
        break;
      }
      default:
        break;
    }
  }

  const PeerOptions& options_;
  std::string id_;
  bool offerer_;
  transport::UdpSocket socket_;
  net::SendInputs inputs_;                    // the sources pc_ reads: they outlive it
  std::unique_ptr<CallRecording> recording_;  // fed by pc_: outlives it
  std::unique_ptr<PeerConnection> pc_;
  transport::EpollDriver& driver_;
  std::array<std::array<uint8_t, 2048>, 16> buffers_{};
  bool registered_ = false;
  bool closed_ = false;
  std::optional<json> final_stats_;
  std::vector<std::string> local_candidates_;
  bool gathering_done_ = false;
  Timestamp posted_;
  std::optional<Timestamp> connected_at_, first_video_, first_audio_, peer_closed_;
  uint64_t messages_received_ = 0, messages_echoed_ = 0, echo_failures_ = 0, messages_sent_ = 0;
  uint64_t echoes_in_order_ = 0, echoes_out_of_order_ = 0, next_echo_ = 0, send_failures_ = 0;
  static constexpr size_t kMaxE2eSamples = 36000;  // an hour at 10 per second; later ones are not taken
  std::vector<double> e2e_samples_ms_;
  Timestamp next_e2e_sample_ = Timestamp::Zero();
  std::mt19937_64 loss_rng_;
  static constexpr size_t kMaxLossStreams = 32;
  std::map<std::pair<bool, uint32_t>, double> loss_credit_;  // (outbound, SSRC) -> drop credit
  uint64_t rtp_dropped_in_ = 0, rtp_dropped_out_ = 0;
};

// Runs the loop until the gathering of host candidates is done (immediate for host-only ICE;
// bounded at 1 s).
void wait_for_gathering(PeerCall& call, transport::EpollDriver& driver) {
  call.flush(transport::EpollDriver::Now());
  for (int i = 0; i < 100 && !call.gathering_done(); ++i) (void)driver.run_for(TimeDelta::Millis(10));
}

// Once a second: the status line; at the deadline, stops the loop.
class Ticker final : public transport::Pollable {
 public:
  Ticker(transport::EpollDriver& driver, std::optional<Timestamp> deadline, bool quiet,
         std::function<std::string(Timestamp)> status)
      : driver_(driver), deadline_(deadline), quiet_(quiet), status_(std::move(status)),
        start_(transport::EpollDriver::Now()), next_(start_ + TimeDelta::Seconds(1)) {}
  std::optional<Timestamp> next_wakeup() const override {
    return deadline_ && *deadline_ < next_ ? *deadline_ : next_;
  }
  void process(Timestamp now) override {
    if (deadline_ && now >= *deadline_) driver_.stop();
    if (now >= next_) {
      const std::string line = status_(now);  // also does the server's per-second housekeeping
      if (!quiet_) std::fprintf(stderr, "tern-peer %5.1f s: %s\n", (now - start_).seconds_f(), line.c_str());
      while (next_ <= now) next_ = next_ + TimeDelta::Seconds(1);
    }
  }

 private:
  transport::EpollDriver& driver_;
  std::optional<Timestamp> deadline_;
  bool quiet_;
  std::function<std::string(Timestamp)> status_;
  Timestamp start_, next_;
};

int fail(const std::string& what) {
  std::fprintf(stderr, "tern-peer: %s\n", what.c_str());
  return 1;
}

int write_stats(const PeerOptions& options, const json& document) {
  Status written = net::write_stats_json(options.stats_json, document.dump(2));
  return written.ok() ? 0 : fail(written.error());
}

// ---- Server ----

class PeerServer final : public whip::SessionHandler {
 public:
  PeerServer(const PeerOptions& options, transport::EpollDriver& driver) : options_(options), driver_(driver) {}

  std::variant<std::string, whip::Refusal> create_session(const std::string& id, std::string_view,
                                                          std::string_view offer, Timestamp now) override {
    if (calls_.size() >= options_.max_sessions) return whip::Refusal{503, "too many sessions"};
    const std::string record = options_.record.empty() ? "" : recording_path(options_.record, calls_made_ + 1);
    auto call = PeerCall::Open(options_, id, false, driver_, record);
    if (!call) {
      std::fprintf(stderr, "tern-peer: cannot open a call: %s\n", call.error());
      return whip::Refusal{503, "cannot open a call"};
    }
    PeerConnection& pc = (*call)->pc();
    (*call)->set_posted(now);
    Status remote = pc.set_remote_description({webrtc::SdpType::kOffer, std::string(offer)}, now);
    if (!remote.ok()) return whip::Refusal{400, remote.error()};
    auto answer = pc.create_answer(now);
    if (!answer) return whip::Refusal{422, answer.error()};
    Status local = pc.set_local_description(*answer, now);
    if (!local.ok()) return whip::Refusal{422, local.error()};
    // Host candidates come out of set_local_description at once; the answer carries them.
    (*call)->flush(now);
    std::string text = add_candidates_to_sdp(answer->sdp, (*call)->local_candidates());
    calls_[id] = std::move(call).value();
    ++calls_made_;
    return text;
  }

  std::optional<whip::Refusal> trickle(const std::string& id, const whip::IceFragment& fragment, Timestamp now) override {
    auto it = calls_.find(id);
    if (it == calls_.end()) return whip::Refusal{404, "no such session"};
    if (Status added = add_fragment_candidates(it->second->pc(), fragment, now); !added.ok())
      return whip::Refusal{422, added.error()};
    it->second->flush(now);
    return std::nullopt;
  }

  // WHIP/WHEP ICE restart (PATCH, If-Match: "*", the client's new credentials): the connection's
  // remote restart (the client's offer again with those credentials), answered with the server's
  // new credentials and candidates.
  std::variant<whip::IceFragment, whip::Refusal> restart(const std::string& id, const whip::IceFragment& fragment,
                                                         Timestamp now) override {
    auto it = calls_.find(id);
    if (it == calls_.end()) return whip::Refusal{404, "no such session"};
    PeerCall& call = *it->second;
    PeerConnection& pc = call.pc();
    const auto remote = pc.remote_description();
    if (!remote || remote->type != webrtc::SdpType::kOffer || pc.signaling_state() != webrtc::SignalingState::kStable)
      return whip::Refusal{409, "the session cannot restart ICE now"};
    auto offer = with_ice_credentials(remote->sdp, *fragment.ufrag, *fragment.pwd);  // both present (the endpoint checks)
    if (!offer) return whip::Refusal{400, offer.error()};
    if (Status st = pc.set_remote_description({webrtc::SdpType::kOffer, *offer}, now); !st.ok())
      return whip::Refusal{422, st.error()};
    auto answer = pc.create_answer(now);
    if (!answer) return whip::Refusal{422, answer.error()};
    call.ice_restarted();
    if (Status st = pc.set_local_description(*answer, now); !st.ok()) return whip::Refusal{422, st.error()};
    if (Status st = add_fragment_candidates(pc, fragment, now); !st.ok()) return whip::Refusal{422, st.error()};
    call.flush(now);  // the new generation's host candidates, at once
    return local_fragment(pc, call.local_candidates(), call.gathering_done());
  }

  void end_session(const std::string& id, Timestamp now) override { finish(id, now); }

  // Calls that failed, or whose peer closed DTLS without a DELETE, end on their own (their resource
  // goes: a later DELETE gets 404).
  std::vector<std::string> ended_calls(Timestamp now) const {
    std::vector<std::string> ids;
    for (const auto& [id, call] : calls_)
      if (call->over(now, TimeDelta::Seconds(2))) ids.push_back(id);
    return ids;
  }

  void finish(const std::string& id, Timestamp now) {
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    it->second->close(now);
    for (const Status& st : {it->second->finish_recording(now), it->second->input_error()}) {
      if (!st.ok() && error_.empty()) error_ = std::string("call ") + id + ": " + st.error();
    }
    finished_.push_back(it->second->stats_json(now));
    if (finished_.size() > kMaxFinishedCalls) finished_.pop_front();
    calls_.erase(it);
  }

  void finish_all(Timestamp now) {
    while (!calls_.empty()) finish(calls_.begin()->first, now);
  }

  json sessions_json(Timestamp now) const {
    json all = json::array();
    for (const json& f : finished_) all.push_back(f);
    for (const auto& [id, call] : calls_) all.push_back(call->stats_json(now));
    return all;
  }

  // The first recording or input file error of a finished call ("" when none).
  const std::string& error() const { return error_; }

  std::string status(Timestamp now) const {
    std::string s = std::to_string(calls_.size()) + " session(s)";
    for (const auto& [id, call] : calls_) s += " | " + id.substr(0, 6) + " " + call->status(now);
    return s;
  }

 private:
  const PeerOptions& options_;
  transport::EpollDriver& driver_;
  std::map<std::string, std::unique_ptr<PeerCall>> calls_;
  std::deque<json> finished_;
  int calls_made_ = 0;
  std::string error_;
};

json whip_counters(const whip::WhipCounters& c) {
  return {{"requests", c.requests},       {"sessionsCreated", c.sessions_created},
          {"sessionsDeleted", c.sessions_deleted}, {"sessionsDropped", c.sessions_dropped},
          {"trickles", c.trickles},       {"restarts", c.restarts},
          {"unauthorized", c.unauthorized},
          {"refused", c.refused}};
}

int run_server(const PeerOptions& options) {
  auto loop = net::ToolLoop::Open({});
  if (!loop) return fail(loop.error());
  transport::EpollDriver& driver = (*loop)->driver();
  PeerServer server(options, driver);

  auto endpoint_config = [&](whip::SignallingKind kind) {
    return net::tool_endpoint_config(kind, options.token, options.max_sessions);
  };
  whip::WhipEndpoint whip_endpoint(endpoint_config(whip::SignallingKind::kWhip), server);
  whip::WhipEndpoint whep_endpoint(endpoint_config(whip::SignallingKind::kWhep), server);
  auto dispatch = [&](const whip::HttpRequest& request, Timestamp now) {
    const bool whep = request.path.rfind("/whep", 0) == 0;
    return (whep ? whep_endpoint : whip_endpoint).handle(request, now);
  };

  std::vector<std::unique_ptr<net::HttpBridge>> bridges;
  std::vector<std::string> listens;
  for (const std::string& l : {options.whip_listen, options.whep_listen}) {
    if (l.empty() || std::find(listens.begin(), listens.end(), l) != listens.end()) continue;
    listens.push_back(l);
    auto hp = split_host_port(l).value();  // validated
    net::HttpBridgeConfig bc;
    bc.bind_address = hp.first;
    bc.port = hp.second;
    auto bridge = net::HttpBridge::Start(bc, driver, dispatch);
    if (!bridge) return fail(bridge.error());
    std::fprintf(stderr, "tern-peer: serving %s%s on http://%s:%u\n", options.whip_listen == l ? "WHIP /whip" : "",
                 options.whep_listen == l ? " WHEP /whep" : "", hp.first.c_str(), bridge.value()->port());
    bridges.push_back(std::move(bridge).value());
  }

  const Timestamp start = transport::EpollDriver::Now();
  std::optional<Timestamp> deadline;
  if (options.duration > 0) deadline = start + TimeDelta::Micros(static_cast<int64_t>(options.duration * 1e6));
  Ticker ticker(driver, deadline, options.quiet, [&](Timestamp now) {
    for (const std::string& id : server.ended_calls(now)) {  // their resources go too
      server.finish(id, now);
      (void)(whip_endpoint.drop(id) || whep_endpoint.drop(id));  // in one of them
    }
    return server.status(now);
  });
  if (Status added = driver.add_pollable(&ticker); !added.ok()) return fail(added.error());
  Status ran = driver.run_until(deadline.value_or(start + TimeDelta::Seconds(86400 * 365)));
  driver.remove_pollable(&ticker);
  const Timestamp now = transport::EpollDriver::Now();
  if ((*loop)->signal() != 0) std::fprintf(stderr, "tern-peer: stopped by signal %d\n", (*loop)->signal());
  json doc;
  doc["tool"] = "tern-peer";
  doc["mode"] = "server";
  doc["durationS"] = (now - start).seconds_f();
  doc["sessions"] = server.sessions_json(now);
  doc["whip"] = whip_counters(whip_endpoint.counters());
  doc["whep"] = whip_counters(whep_endpoint.counters());
  server.finish_all(now);
  bridges.clear();
  if (!ran.ok()) return fail(ran.error());
  if (int rc = write_stats(options, doc); rc != 0) return rc;
  return server.error().empty() ? 0 : fail(server.error());
}

// ---- Client ----

// POSTs the offer; retries a refused connection for up to 3 s (a server starting up).
Result<whip::HttpResponse> post_offer(const whip::HttpUrl& url, const std::string& offer, const std::string& token) {
  Result<whip::HttpResponse> response = Error{"not sent"};
  for (int attempt = 0; attempt < 30; ++attempt) {
    response = net::http_request(url, whip::make_offer_request(url, offer, token));
    const std::string_view error = response.ok() ? std::string_view() : std::string_view(response.error());
    if (error.find("cannot connect") == std::string_view::npos && error.find("refused") == std::string_view::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return response;
}

// --ice-restart-after: W3C restartIce() on the connection, its new credentials and candidates
// PATCHed to the session (If-Match: "*"), the server's new ones in the 200 complete it. Returns
// why it failed ("" when it did not).
std::string restart_ice(PeerCall& call, const whip::WhipSession& session, const std::string& token) {
  PeerConnection& pc = call.pc();
  Timestamp now = transport::EpollDriver::Now();
  pc.restart_ice();
  auto offer = pc.create_offer(now);
  if (!offer) return offer.error();
  call.ice_restarted();
  if (Status st = pc.set_local_description(*offer, now); !st.ok()) return st.error();
  call.flush(now);  // host candidates of the new generation come out at once
  const whip::IceFragment fragment = local_fragment(pc, call.local_candidates(), call.gathering_done());
  auto response = net::http_request(session.resource, whip::make_restart_request(session, fragment, token),
                                    TimeDelta::Seconds(3));
  if (!response) return response.error();
  if (response->status != 200) {
    std::string why("the server refused it (");
    why.append(std::to_string(response->status)).append("): ").append(response->body);
    return why;
  }
  auto answer = whip::IceFragment::parse(response->body);
  if (!answer) return answer.error();
  if (!answer->ufrag || !answer->pwd) return "the server's fragment has no ice-ufrag/ice-pwd";
  const auto remote = pc.remote_description();
  if (!remote) return "no remote description";
  auto text = with_ice_credentials(remote->sdp, *answer->ufrag, *answer->pwd);
  if (!text) return text.error();
  now = transport::EpollDriver::Now();
  if (Status st = pc.set_remote_description({webrtc::SdpType::kAnswer, *text}, now); !st.ok()) return st.error();
  if (Status st = add_fragment_candidates(pc, *answer, now); !st.ok()) return st.error();
  call.flush(now);
  return "";
}

int run_client(const PeerOptions& options) {
  const bool whep = options.whip_url.empty();
  auto url = whip::HttpUrl::parse(whep ? options.whep_url : options.whip_url);
  if (!url) return fail(std::string(whep ? "--whep" : "--whip") + ": " + url.error());
  auto loop = net::ToolLoop::Open({});
  if (!loop) return fail(loop.error());
  transport::EpollDriver& driver = (*loop)->driver();
  auto opened = PeerCall::Open(options, "client", true, driver);
  if (!opened) return fail(opened.error());
  std::unique_ptr<PeerCall> call = std::move(opened).value();
  PeerConnection& pc = call->pc();
  Timestamp now = transport::EpollDriver::Now();
  if (options.send_messages > 0 || options.echo) {
    auto channel = pc.create_data_channel("tern", {}, now);
    if (!channel) return fail(channel.error());
  }
  auto offer = pc.create_offer(now);
  if (!offer) return fail(offer.error());
  if (Status s = pc.set_local_description(*offer, now); !s.ok()) return fail(s.error());
  wait_for_gathering(*call, driver);
  const std::string offer_text = add_candidates_to_sdp(offer->sdp, call->local_candidates());

  const Timestamp posted = transport::EpollDriver::Now();
  call->set_posted(posted);
  auto response = post_offer(*url, offer_text, options.token);
  if (!response) return fail(response.error());
  auto session = whip::read_offer_response(*url, *response);
  if (!session) return fail(std::string(session.error()) + ": " + response->body);
  now = transport::EpollDriver::Now();
  if (Status s = pc.set_remote_description({webrtc::SdpType::kAnswer, session->answer}, now); !s.ok())
    return fail(std::string("the answer: ") + s.error());
  call->flush(now);

  std::optional<Timestamp> deadline;
  if (options.duration > 0) deadline = posted + TimeDelta::Micros(static_cast<int64_t>(options.duration * 1e6));
  std::optional<Timestamp> restart_at;
  if (options.ice_restart_after > 0)
    restart_at = posted + TimeDelta::Micros(static_cast<int64_t>(options.ice_restart_after * 1e6));
  std::string restart_error;
  Ticker ticker(driver, deadline, options.quiet, [&](Timestamp t) {
    if (call->failed()) driver.stop();
    if (restart_at && t >= *restart_at) {
      restart_at.reset();
      if (std::string why = restart_ice(*call, *session, options.token); !why.empty()) {
        restart_error = std::string("ICE restart: ").append(why);
        driver.stop();
      } else if (!options.quiet) {
        std::fprintf(stderr, "tern-peer: ICE restarted (ufrag %s)\n", call->pc().local_ice_credentials().ufrag.c_str());
      }
    }
    return call->status(t);
  });
  if (Status added = driver.add_pollable(&ticker); !added.ok()) return fail(added.error());
  Status ran = driver.run_until(deadline.value_or(posted + TimeDelta::Seconds(86400 * 365)));
  driver.remove_pollable(&ticker);
  now = transport::EpollDriver::Now();
  if ((*loop)->signal() != 0) std::fprintf(stderr, "tern-peer: stopped by signal %d\n", (*loop)->signal());
  call->close(now);
  auto deleted = net::http_request(session->resource, whip::make_delete_request(*session, options.token),
                                   TimeDelta::Seconds(3));
  json doc;
  doc["tool"] = "tern-peer";
  doc["mode"] = "client";
  doc["signalling"] = whep ? "whep" : "whip";
  doc["url"] = url->to_string();
  doc["resource"] = session->resource.to_string();
  doc["deleteStatus"] = deleted.ok() ? deleted->status : 0;
  doc["durationS"] = (now - posted).seconds_f();
  doc["sessions"] = json::array({call->stats_json(now)});
  if (!deleted.ok()) std::fprintf(stderr, "tern-peer: DELETE failed: %s\n", deleted.error());
  const bool failed = call->failed();
  if (int rc = write_stats(options, doc); rc != 0) return rc;
  if (!ran.ok()) return fail(ran.error());
  if (!restart_error.empty()) return fail(restart_error);
  for (const Status& st : {call->finish_recording(now), call->input_error()}) {
    if (!st.ok()) return fail(st.error());
  }
  return failed ? fail("the call failed") : 0;
}

}  // namespace

Status PeerOptions::validate() const {
  const bool client = !whip_url.empty() || !whep_url.empty();
  if (client == server()) return Error{"give --whip-listen/--whep-listen (server) or --whip/--whep (client)"};
  if (!whip_url.empty() && !whep_url.empty()) return Error{"give one of --whip and --whep"};
  for (const std::string* l : {&whip_listen, &whep_listen}) {
    if (l->empty()) continue;
    auto hp = split_host_port(*l);
    if (!hp) return Error{"--whip-listen/--whep-listen: expected ADDR:PORT"};
  }
  if (!transport::SocketAddress::Parse(bind, 0).ok()) return Error{"--bind: not a numeric IP address"};
  if (!turn.empty()) {
    if (!client) return Error{"--turn: client only (the server answers with the candidates it has at once)"};
    auto hp = split_host_port(turn);
    if (!hp || !ice::TransportAddress::Parse(hp->first, hp->second).ok()) return Error{"--turn: expected IP:PORT"};
    if (turn_user.find(':') == std::string::npos || turn_user.front() == ':' || turn_user.back() == ':')
      return Error{"--turn-user: expected user:password"};
  }
  if (relay_only && turn.empty()) return Error{"--relay-only needs --turn"};
  if (!(ice_restart_after >= 0)) return Error{"--ice-restart-after: seconds, at least 0"};
  if (ice_restart_after > 0 && !client) return Error{"--ice-restart-after: client only (a server restarts when its client PATCHes)"};
  if (!audio && !video) return Error{"at least one of audio and video"};
  auto ends_with = [](const std::string& text, std::string_view tail) {
    return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
  };
  if (!input_video.empty() && (!video || !ends_with(input_video, ".y4m")))
    return Error{"--input-video: a .y4m file, and not with --no-video"};
  if (!input_audio.empty() && (!audio || !ends_with(input_audio, ".wav")))
    return Error{"--input-audio: a .wav file, and not with --no-audio"};
  if (max_sessions == 0) return Error{"--max-sessions: at least 1"};
  if (!(loss_percent >= 0 && loss_percent <= 100)) return Error{"--loss: a percentage, 0 to 100"};
  return Status::Ok();
}

std::string add_candidates_to_sdp(std::string_view sdp, const std::vector<std::string>& candidates) {
  std::string extra;
  for (const std::string& c : candidates) extra += "a=" + c + "\r\n";
  extra += "a=end-of-candidates\r\n";
  std::string out;
  bool in_media = false;
  size_t pos = 0;
  while (pos < sdp.size()) {
    size_t end = sdp.find('\n', pos);
    end = end == std::string_view::npos ? sdp.size() : end + 1;
    std::string_view line = sdp.substr(pos, end - pos);
    if (line.rfind("m=", 0) == 0) {
      if (in_media) out += extra;
      in_media = true;
    }
    out += line;
    if (line.back() != '\n') out += "\r\n";
    pos = end;
  }
  if (in_media) out += extra;
  return out;
}

std::string recording_path(const std::string& path, int n) {
  if (n <= 1) return path;
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  const size_t at = dot == std::string::npos || (slash != std::string::npos && dot < slash) ? path.size() : dot;
  return path.substr(0, at) + "-" + std::to_string(n) + path.substr(at);
}

int run_peer(const PeerOptions& options) {
  if (Status s = options.validate(); !s.ok()) return fail(s.error());
  if (Status s = net::check_output_path("--stats-json", options.stats_json); !s.ok()) return fail(s.error());
  if (Status s = net::check_output_path("--record", options.record); !s.ok()) return fail(s.error());
  return options.server() ? run_server(options) : run_client(options);
}

}  // namespace tern::tools::peer
