#include "tern/pipeline/media_server.h"

#include <algorithm>

#include "tern/core/random.h"
#include "tern/rtp/rtp_rtcp_split.h"

namespace tern::pipeline {

// A stream received on a leg (from that side's sender): its receive front (RTX unwrap, the leg's
// statistics, NACK generator when `nack`) forwards what it passes on to the other side.
struct MediaServer::Inbound {
  ForwardedStream config;
  RtpReceiveFront front;
  RtpToNtp rtp_to_ntp;
  Inbound(const ForwardedStream& c, RtpReceiveFront f) : config(c), front(std::move(f)), rtp_to_ntp(c.clock_rate) {}
};

// A stream sent on a leg (forwarded from the other side), with the server's own numbering. Its
// send counters and packet history are the leg's SendTransport egress for the SSRC.
struct MediaServer::Outbound {
  ForwardedStream config;
  SeqRewriter seq;  // the server's numbering; drops duplicates (RTX after the original)
  Outbound(const ForwardedStream& c, uint16_t seq_offset) : config(c), seq(seq_offset) {}
  // The egress: a history answering NACKs on the RTX SSRC when the stream has both.
  RtpEgress::Config egress(uint16_t rtx_first_seq) const {
    RtpEgress::Config e;
    e.ssrc = config.ssrc;
    e.clock_rate = config.clock_rate;
    if (config.nack && config.rtx_ssrc) {
      recovery::PacketHistory::Config hc;
      hc.rtx_ssrc = *config.rtx_ssrc;
      hc.rtx_payload_type = config.rtx_payload_type;
      hc.first_rtx_sequence_number = rtx_first_seq;
      e.history = hc;
    }
    return e;
  }
};

struct MediaServer::Leg {
  Side side;
  std::unique_ptr<SendTransport> out;  // unpaced, no congestion controller: forwards at once
  rtp::ReceiveStatistics statistics;
  RtcpSession rtcp;
  congestion::TransportFeedbackGenerator feedback_generator;
  std::vector<Inbound> inbound;
  std::vector<Outbound> outbound;
  rtp::RttEstimator rtt;
  SideCounters counters;
  Leg(Side s, std::unique_ptr<SendTransport> o, rtp::ReceiveStatistics st, RtcpSession r,
      congestion::TransportFeedbackGenerator::Config fc)
      : side(s), out(std::move(o)), statistics(std::move(st)), rtcp(std::move(r)), feedback_generator(fc) {}
  Inbound* find_inbound(uint32_t ssrc) {
    for (Inbound& i : inbound) {
      if (i.front.owns_ssrc(ssrc)) return &i;
    }
    return nullptr;
  }
  Outbound* find_outbound(uint32_t ssrc) {
    for (Outbound& o : outbound) {
      if (o.config.ssrc == ssrc) return &o;
    }
    return nullptr;
  }
  std::vector<uint32_t> outbound_ssrcs() const {
    std::vector<uint32_t> s;
    for (const Outbound& o : outbound) s.push_back(o.config.ssrc);
    return s;
  }
};

// Where an inbound stream's front delivers: the other side.
class MediaServer::Forwarder final : public RtpReceiveFront::Listener {
 public:
  Forwarder(MediaServer& server, Side from, uint32_t ssrc) : server_(server), from_(from), ssrc_(ssrc) {}
  Verdict on_media_packet(rtp::RtpPacket packet, PacketOrigin origin, Timestamp now) override {
    if (origin == PacketOrigin::kRetransmission) ++server_.leg(from_).counters.rtx_packets_received;
    server_.forward(other(from_), ssrc_, std::move(packet), now);
    return {};  // a forwarder does not look into payloads: no keyframe knowledge for the NACKs
  }

 private:
  MediaServer& server_;
  Side from_;
  uint32_t ssrc_;
};

// What the RTCP of one leg tells the server.
class MediaServer::LegListener final : public RtcpSession::Listener {
 public:
  LegListener(MediaServer& server, Side side) : server_(server), side_(side) {}
  void on_nack(uint32_t media_ssrc, std::span<const uint16_t> seqs, Timestamp now) override {
    Leg& l = server_.leg(side_);
    const RtpEgress* egress = l.out->stream(media_ssrc);
    if (egress == nullptr || egress->history() == nullptr) return;
    l.counters.nacked_packets_received += seqs.size();
    const TimeDelta rtt = l.rtt.smoothed().value_or(TimeDelta::Millis(100));
    // Unpaced: the RTX packets leave at once, counted on the media SSRC's egress.
    l.counters.retransmissions_sent += l.out->retransmit(media_ssrc, seqs, rtt, now).value_or(0);
  }
  void on_keyframe_request(uint32_t media_ssrc, bool fir, Timestamp now) override {
    Leg& up = server_.leg(other(side_));
    if (up.find_inbound(media_ssrc) == nullptr) return;
    ++server_.leg(side_).counters.keyframe_requests_forwarded;
    rtcp::RtcpPacket request;
    if (fir) {
      rtcp::Fir f;
      f.sender_ssrc = up.rtcp.ssrc();
      f.entries.push_back(rtcp::FirEntry{media_ssrc, fir_seq_++});
      request = std::move(f);
    } else {
      request = rtcp::Pli{up.rtcp.ssrc(), media_ssrc};
    }
    server_.send_rtcp(other(side_), up.rtcp.build_feedback(std::span<const rtcp::RtcpPacket>(&request, 1), now), now);
  }
  void on_remb(DataRate, Timestamp) override {}
  void on_transport_feedback(const rtcp::TransportFeedback& feedback, Timestamp now) override {
    Leg& l = server_.leg(side_);
    ++l.counters.transport_feedback_received;
    // Terminated here: the hop's controller (kNone) takes nothing from it, the adapter keeps step.
    l.out->on_transport_feedback(feedback, now);
  }
  void on_report_block(const rtcp::ReportBlock&, std::optional<TimeDelta> rtt, int64_t, Timestamp) override {
    Leg& l = server_.leg(side_);
    if (!rtt) return;
    l.rtt.on_rtt(*rtt);
    l.counters.rtt = *rtt;
  }
  void on_receiver_rtt(TimeDelta rtt, Timestamp) override {
    Leg& l = server_.leg(side_);
    l.rtt.on_rtt(rtt);
    l.counters.rtt = rtt;
  }
  void on_sender_report(const rtcp::SenderReport& report, Timestamp now) override {
    Leg& l = server_.leg(side_);
    l.statistics.on_sender_report(report.sender_ssrc, report.ntp, now);
    if (Inbound* i = l.find_inbound(report.sender_ssrc)) i->rtp_to_ntp.on_sender_report(report.ntp, report.rtp_timestamp);
  }

 private:
  MediaServer& server_;
  Side side_;
  uint8_t fir_seq_ = 0;
};

MediaServer::Config MediaServer::Config::ForCall(const EndpointConfig& a) {
  Config c;
  auto streams = [&](const MediaConfig& m, const StreamSsrcs& s) {
    std::vector<ForwardedStream> v;
    if (m.audio) {
      ForwardedStream f;
      f.ssrc = s.audio;
      f.clock_rate = 48000;
      f.nack = false;
      v.push_back(f);
    }
    if (m.video) {
      ForwardedStream f;
      f.ssrc = s.video;
      f.clock_rate = 90000;
      f.nack = m.protection.nack;
      if (m.protection.nack) f.rtx_ssrc = s.video_rtx;
      f.rtx_payload_type = a.payload_types.video_rtx;
      f.media_payload_type = m.protection.fec ? a.payload_types.red : a.payload_types.of(*m.video);
      v.push_back(f);
    }
    return v;
  };
  c.from_a = streams(a.send, a.local);
  c.from_b = streams(a.receive, a.remote);
  c.extension_ids = a.extension_ids;
  c.ntp_clock = a.ntp_clock;
  c.seed = a.seed ^ 0x5F5Full;
  return c;
}

Result<std::unique_ptr<MediaServer>> MediaServer::Create(const Config& config, DatagramSink* to_a, DatagramSink* to_b) {
  if (to_a == nullptr || to_b == nullptr) return Error{"media server: missing packet sink"};
  if (config.rtcp_ssrc_a == 0 || config.rtcp_ssrc_b == 0 || config.rtcp_ssrc_a == config.rtcp_ssrc_b) {
    return Error{"media server: RTCP SSRCs must be distinct and non-zero"};
  }
  std::unique_ptr<MediaServer> s(new MediaServer(config, to_a, to_b));
  if (Status st = s->init(); !st) return Error{st.error()};
  return s;
}

MediaServer::MediaServer(const Config& config, DatagramSink* to_a, DatagramSink* to_b)
    : config_(config), sinks_{to_a, to_b}, port_a_(*this, Side::kA), port_b_(*this, Side::kB) {}

MediaServer::~MediaServer() = default;

Status MediaServer::init() {
  if (!extensions_.register_extension<rtp::AbsSendTime>(config_.extension_ids.abs_send_time) ||
      !extensions_.register_extension<rtp::TransportSequenceNumber>(config_.extension_ids.transport_sequence_number) ||
      !extensions_.register_extension<rtp::Mid>(config_.extension_ids.mid)) {
    return Error{"media server: extension ids"};
  }
  Random rng(config_.seed);
  for (size_t i = 0; i < 2; ++i) {
    const Side side = i == 0 ? Side::kA : Side::kB;
    auto stats = rtp::ReceiveStatistics::Create({});
    if (!stats) return Error{stats.error()};
    RtcpSession::Config rc;
    rc.ssrc = i == 0 ? config_.rtcp_ssrc_a : config_.rtcp_ssrc_b;
    rc.cname = config_.cname;
    rc.min_interval = config_.rtcp_interval;
    rc.ntp_clock = config_.ntp_clock;
    rc.seed = config_.seed + i;
    rc.send_rrtr = true;  // a leg the server only receives on still needs its RTT for NACKs
    auto rtcp = RtcpSession::Create(rc);
    if (!rtcp) return Error{rtcp.error()};
    congestion::TransportFeedbackGenerator::Config fc;
    fc.sender_ssrc = rc.ssrc;
    SendTransport::Config tc;
    tc.controller.mode = congestion::NetworkControllerMode::kNone;
    tc.paced = false;
    auto out = SendTransport::Create(tc, extensions_, sinks_[i], nullptr);
    if (!out) return Error{out.error()};
    legs_[i] = std::make_unique<Leg>(side, std::move(out).value(), std::move(stats).value(), std::move(rtcp).value(), fc);
    Leg& l = *legs_[i];
    for (const ForwardedStream& f : i == 0 ? config_.from_a : config_.from_b) {
      RtpReceiveFront::Config front_config;
      front_config.ssrc = f.ssrc;
      front_config.local_ssrc = rc.ssrc;
      if (f.rtx_ssrc) {
        front_config.rtx_ssrc = *f.rtx_ssrc;
        front_config.rtx_payload_types[f.rtx_payload_type] = f.media_payload_type;
      }
      front_config.statistics = &l.statistics;
      front_config.clock_rates = {{f.media_payload_type, f.clock_rate}};
      if (f.nack) front_config.nack = recovery::NackGeneratorConfig{};
      auto front = RtpReceiveFront::Create(front_config);
      if (!front) return Error{front.error()};
      l.inbound.emplace_back(f, std::move(front).value());
    }
  }
  // Outbound streams: what one side receives is what the other sends.
  for (size_t i = 0; i < 2; ++i) {
    for (const ForwardedStream& f : i == 0 ? config_.from_b : config_.from_a) {
      const auto offset = static_cast<uint16_t>(rng.next_u32() & 0xFFFF);
      const auto rtx_first_seq = static_cast<uint16_t>(rng.next_u32());
      Outbound& o = legs_[i]->outbound.emplace_back(f, offset);
      if (Status st = legs_[i]->out->add_stream(o.egress(rtx_first_seq)); !st) return st;
    }
  }
  return Status::Ok();
}

MediaServer::SideCounters MediaServer::counters(Side side) const {
  const Leg& l = *legs_[static_cast<size_t>(side)];
  SideCounters c = l.counters;
  for (const Inbound& i : l.inbound) c.packets_repaired_by_rtx += i.front.nack_stats().packets_repaired_by_rtx;
  return c;
}

void MediaServer::on_packet(Side from, std::span<const uint8_t> datagram, Timestamp now) {
  Leg& l = leg(from);
  if (rtp::is_rtcp(datagram)) {
    ++l.counters.rtcp_received;
    LegListener listener(*this, from);
    const std::vector<uint32_t> own = l.outbound_ssrcs();
    l.rtcp.on_receive(datagram, now, own, listener);
    return;
  }
  auto parsed = rtp::RtpPacket::parse(datagram);
  if (!parsed) return;
  rtp::RtpPacket packet = std::move(parsed).value();
  packet.arrival_time = now;
  if (auto seq = packet.get<rtp::TransportSequenceNumber>(extensions_)) l.feedback_generator.on_received_packet(*seq, now);
  Inbound* in = l.find_inbound(packet.ssrc());
  if (in == nullptr) {
    ++l.counters.unknown_ssrc;
    return;
  }
  ++l.counters.rtp_packets_received;
  // Padding-only RTX probes end at this hop (the front restores nothing from them).
  Forwarder forwarder(*this, from, in->config.ssrc);
  in->front.on_rtp(packet, now, forwarder);  // true: find_inbound() matched its SSRCs
}

void MediaServer::forward(Side to, uint32_t ssrc, rtp::RtpPacket packet, Timestamp now) {
  Leg& l = leg(to);
  Outbound* o = l.find_outbound(ssrc);
  if (o == nullptr) return;
  const std::optional<uint16_t> seq = o->seq.rewrite(packet.sequence_number());
  if (!seq) {
    ++l.counters.duplicates_dropped;
    return;
  }
  packet.set_sequence_number(*seq);
  // Capture time on our clock through the sender's SR mapping keeps our SRs consistent with it.
  const Inbound* in = leg(other(to)).find_inbound(ssrc);
  Timestamp capture = now;
  if (in != nullptr) capture = in->rtp_to_ntp.to_local(packet.timestamp(), config_.ntp_clock).value_or(now);
  OutgoingPacket out;
  out.packet = std::move(packet);
  out.capture_time = capture;
  out.media_ssrc = ssrc;
  l.out->enqueue(std::move(out), now);  // unpaced: stamped, counted, kept for RTX and sent now
  ++l.counters.packets_forwarded;
}

void MediaServer::send_rtcp(Side to, std::vector<uint8_t> bytes, Timestamp now) { leg(to).out->send_rtcp(std::move(bytes), now); }

std::optional<Timestamp> MediaServer::next_wakeup() const {
  std::optional<Timestamp> t;
  auto earliest = [&t](std::optional<Timestamp> o) {
    if (o && (!t || *o < *t)) t = o;
  };
  for (const auto& l : legs_) {
    for (const Inbound& i : l->inbound) earliest(i.front.next_wakeup());
    earliest(l->feedback_generator.next_wakeup());
    const auto r = l->rtcp.next_wakeup();
    earliest(r ? r : std::optional<Timestamp>(Timestamp::MinusInfinity()));  // not started yet
  }
  return t;
}

void MediaServer::process(Timestamp now) {
  for (size_t i = 0; i < 2; ++i) {
    const Side side = i == 0 ? Side::kA : Side::kB;
    Leg& l = *legs_[i];
    for (Inbound& in : l.inbound) {
      if (auto rtt = l.rtt.smoothed()) in.front.on_rtt(*rtt);
      std::vector<rtcp::RtcpPacket> nacks;  // the server never asks a front for a keyframe
      in.front.process(now, nacks);
      for (const rtcp::RtcpPacket& nack : nacks) {
        ++l.counters.nacks_sent;
        send_rtcp(side, l.rtcp.build_feedback(std::span<const rtcp::RtcpPacket>(&nack, 1), now), now);
      }
    }
    for (rtcp::TransportFeedback& f : l.feedback_generator.process(now)) {
      const rtcp::RtcpPacket p = std::move(f);
      send_rtcp(side, l.rtcp.build_feedback(std::span<const rtcp::RtcpPacket>(&p, 1), now), now);
    }
    std::vector<RtcpSession::Sender> senders;
    for (const Outbound& o : l.outbound) {
      senders.push_back({o.config.ssrc, l.out->stream(o.config.ssrc)->sender_report_info(now, config_.ntp_clock)});
    }
    if (auto report = l.rtcp.maybe_build_report(now, senders, l.statistics)) send_rtcp(side, std::move(*report), now);
  }
}

}  // namespace tern::pipeline
