#include "tern/pipeline/media_router.h"

#include <algorithm>
#include <array>
#include <set>
#include <string_view>

#include "tern/congestion/remote_bitrate_estimator_abs_send_time.h"
#include "tern/congestion/transport_feedback_generator.h"
#include "tern/core/seq_rewriter.h"
#include "tern/pipeline/layer_selector.h"
#include "tern/pipeline/rtcp_session.h"
#include "tern/pipeline/rtp_receive_front.h"
#include "tern/pipeline/rtp_sender.h"
#include "tern/pipeline/rtp_to_ntp.h"
#include "tern/pipeline/send_transport.h"
#include "tern/pipeline/simulcast_splice.h"
#include "tern/rtp/receive_statistics.h"
#include "tern/rtp/rtp_rtcp_split.h"
#include "tern/rtp/rtt_estimator.h"

namespace tern::pipeline {

namespace {
constexpr size_t kMaxStreamsPerLeg = 64;  // inbound and outbound each; a WebRTC session has 2-3
// find_source()'s SSRC -> leg entries: one per SSRC found (a stale one is dropped when looked up,
// a removed leg's with it); beyond this many, lookups walk the legs as they did before.
constexpr size_t kMaxSourceCache = 4096;
constexpr TimeDelta kEstimateInterval = TimeDelta::Millis(25);  // GCC's tick, and the selectors'
constexpr double kSimulcastDownMargin = 1.2;  // a simulcast leg keeps an encoding up to 1.2x its estimate

bool layered_codec(const std::optional<codecs::CodecType>& c) {
  return c == codecs::CodecType::kVp8 || c == codecs::CodecType::kVp9;
}
// A hop's per-leg histories, sized for answers that come back within an RTT rather than an
// endpoint's defaults (2 s of RTX, 60 s / 32768 send times): with hundreds of subscribers they are
// most of the router's memory and per-packet work. RTX: 1 s (libwebrtc's minimum as well) or
// PacketHistory's 1024 packets. Transport-wide send times: 3 s or 8192 packets per leg, and 4096
// (ssrc, seq) entries per SSRC for RFC 8888 feedback.
constexpr TimeDelta kRtxHistoryAge = TimeDelta::Seconds(1);
constexpr TimeDelta kSendTimeHistoryAge = TimeDelta::Seconds(3);
constexpr size_t kSendTimeHistoryPackets = size_t{1} << 13;
constexpr size_t kSendTimeHistoryPacketsPerSsrc = size_t{1} << 12;
// Each inbound stream's packets, shared by the RTX histories of the legs it is forwarded to (they
// keep references, recovery/packet_store.h): as long as those histories keep them (kRtxHistoryAge),
// and up to twice their count bound (a leg's history holds at most 1024 of the packets it got).
// A NACK for a packet the store dropped (a sender above 2048 packets/s) is answered as expired.
constexpr recovery::PacketStore::Config kStoreConfig{.max_packets = 2048, .max_age = kRtxHistoryAge};

Result<RtpReceiveFront> make_front(const MediaRouter::ForwardedStream& f, uint32_t local_ssrc, rtp::ReceiveStatistics* stats) {
  RtpReceiveFront::Config front_config;
  front_config.ssrc = f.ssrc;
  front_config.local_ssrc = local_ssrc;
  if (f.rtx_ssrc) {
    front_config.rtx_ssrc = *f.rtx_ssrc;
    front_config.rtx_payload_types[f.rtx_payload_type] = f.media_payload_type;
  }
  front_config.statistics = stats;
  front_config.clock_rates = {{f.media_payload_type, f.clock_rate}};
  if (f.red_payload_type) front_config.clock_rates[*f.red_payload_type] = f.clock_rate;
  if (f.nack) front_config.nack = recovery::NackGeneratorConfig{};
  return RtpReceiveFront::Create(front_config);
}

Status check_simulcast(const MediaRouter::ForwardedStream& f) {
  if (f.rids.size() > MediaRouter::kMaxSimulcastEncodings) return Error{"media router: too many simulcast encodings"};
  for (size_t i = 0; i < f.rids.size(); ++i) {
    if (f.rids[i].empty() || f.rids[i].size() > 255) return Error{"media router: a rid must be 1..255 bytes"};
    for (size_t j = 0; j < i; ++j)
      if (f.rids[i] == f.rids[j]) return Error{"media router: duplicate rid"};
  }
  if (f.rid_extension_id == 0) return Error{"media router: simulcast needs the rid extension"};
  return Status::Ok();
}
}  // namespace

// A stream received on a leg (from that leg's sender): its receive front (RTX unwrap, the leg's
// statistics, NACK generator when `nack`) forwards what it passes on to the legs that receive it.
struct MediaRouter::Inbound {
  ForwardedStream config;
  LegId leg = 0;  // the leg that sends it
  RtpReceiveFront front;
  RtpToNtp rtp_to_ntp;
  Timestamp last_keyframe_request = Timestamp::MinusInfinity();
  uint8_t fir_seq = 0;  // RFC 5104 4.3.1.1: one more per new request
  TemporalLayerRates layer_rates;  // VP8/VP9: what each temporal layer brings in
  // Simulcast: the server's SSRC of the group this encoding belongs to (0: not simulcast), its
  // index in the group's rids, and its whole incoming rate (as layer 0).
  uint32_t group_ssrc = 0;
  int encoding = -1;
  TemporalLayerRates encoding_rate;
  // What it forwarded recently, for the receiving legs' RTX histories (put when one keeps one).
  std::shared_ptr<recovery::PacketStore> store = std::make_shared<recovery::PacketStore>(kStoreConfig);
  Inbound(const ForwardedStream& c, RtpReceiveFront f) : config(c), front(std::move(f)), rtp_to_ntp(c.clock_rate) {}
};

// A simulcast stream a leg sends: its announced rids and the SSRCs learned for them (bounded by
// kMaxSimulcastEncodings; an SSRC is bound once).
struct MediaRouter::SimulcastGroup {
  ForwardedStream config;  // ssrc, rtx_ssrc: the server's, what receiving legs get
  rtp::ExtensionMap rid_map;
  std::vector<std::optional<uint32_t>> media_ssrc, rtx_ssrc;  // per rid
  explicit SimulcastGroup(const ForwardedStream& c)
      : config(c), media_ssrc(c.rids.size()), rtx_ssrc(c.rids.size()) {}
};

// Which encoding of a simulcast group one receiving leg gets, and the rewrite that makes the
// encodings it gets one stream: timestamps continue across a switch (each encoding has its own
// random offset), sequence numbers and picture ids restart their rewriters.
struct MediaRouter::SimulcastState {
  int current = -1;  // forwarded encoding
  int target = -1;   // the one the estimate (after hysteresis) wants; forwarded from its keyframe on
  std::string rid;   // of `current`
  Timestamp up_since = Timestamp::PlusInfinity();
  Timestamp last_request = Timestamp::MinusInfinity();
  SimulcastTimestampSplice timestamps;  // capture times from the senders' SR mappings
  uint64_t switches = 0;
};

// A stream sent on a leg (forwarded from another), with the leg's own numbering. Its send counters
// and packet history are the leg's SendTransport egress for the SSRC.
struct MediaRouter::Outbound {
  ForwardedStream config;
  SeqRewriter seq;  // the leg's numbering; drops duplicates (RTX after the original)
  std::optional<LayerSelector> selector;  // VP8/VP9 with subscriber estimates
  std::optional<SimulcastState> simulcast;  // the stream is a simulcast group
  Timestamp last_layer_keyframe_request = Timestamp::MinusInfinity();  // VP9 SVC: waiting to go up
  // Extension ids from the sending leg's to this leg's (0: drop), built at the first packet
  // from `ext_from` (Config::rewrite_numbers); identity: nothing to rewrite.
  std::optional<LegId> ext_from;
  bool ext_identity = true;
  std::array<uint8_t, 256> ext_ids{};
  Outbound(const ForwardedStream& c, uint16_t seq_offset) : config(c), seq(seq_offset) {}
  // The egress: a history answering NACKs on the RTX SSRC when the stream has both.
  bool keeps_history() const { return config.nack && config.rtx_ssrc.has_value(); }
  RtpEgress::Config egress(uint16_t rtx_first_seq) const {
    RtpEgress::Config e;
    e.ssrc = config.ssrc;
    e.clock_rate = config.clock_rate;
    if (keeps_history()) {
      recovery::PacketHistory::Config hc;
      hc.rtx_ssrc = *config.rtx_ssrc;
      hc.rtx_payload_type = config.rtx_payload_type;
      hc.unwrap_red_payload_type = config.red_payload_type;
      hc.fec_payload_type = config.ulpfec_payload_type;
      hc.first_rtx_sequence_number = rtx_first_seq;
      hc.max_age = kRtxHistoryAge;
      e.history = hc;
    }
    return e;
  }
};

struct MediaRouter::Leg {
  LegId id;
  rtp::ExtensionMap extensions;              // what the leg's packets carry (its own, or Config's)
  std::optional<ExtensionUris> extension_uris;  // the leg's own ids (add_leg)
  std::unique_ptr<SendTransport> out;  // unpaced, no congestion controller: forwards at once
  rtp::ReceiveStatistics statistics;
  RtcpSession rtcp;
  congestion::TransportFeedbackGenerator feedback_generator;
  std::vector<Inbound> inbound;
  std::vector<SimulcastGroup> simulcast;
  std::vector<Outbound> outbound;
  rtp::RttEstimator rtt;
  LegCounters counters;
  Timestamp next_estimate = Timestamp::MinusInfinity();  // the controller's and selectors' tick
  std::optional<congestion::RemoteBitrateEstimatorAbsSendTime> remb;  // set_send_remb()
  bool started = false;
  // Probing (Config::subscriber_probing): the prober, the leg's padding budget, and the sender
  // that builds padding on the RTX SSRC of its first layered video stream with RTX (the
  // SendTransport's padding sender; none: the leg does not probe).
  std::optional<SubscriberProber> prober;
  PaddingBudget probe_budget;
  std::optional<RtpSender> padding_sender;
  Leg(LegId i, std::unique_ptr<SendTransport> o, rtp::ReceiveStatistics st, RtcpSession r,
      congestion::TransportFeedbackGenerator::Config fc, PaddingBudget budget)
      : id(i),
        out(std::move(o)),
        statistics(std::move(st)),
        rtcp(std::move(r)),
        feedback_generator(fc),
        probe_budget(budget) {}
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

// Where an inbound stream's front delivers: every leg that receives the stream.
class MediaRouter::Forwarder final : public RtpReceiveFront::Listener {
 public:
  Forwarder(MediaRouter& router, Leg& from, uint32_t ssrc) : router_(router), from_(from), ssrc_(ssrc) {}
  Verdict on_media_packet(rtp::RtpPacket packet, PacketOrigin origin, Timestamp now) override {
    if (origin == PacketOrigin::kRetransmission) ++from_.counters.rtx_packets_received;
    router_.forward(from_.id, ssrc_, packet, now);
    return {};  // a forwarder does not look into payloads: no keyframe knowledge for the NACKs
  }

 private:
  MediaRouter& router_;
  Leg& from_;
  uint32_t ssrc_;
};

// What the RTCP of one leg tells the router.
class MediaRouter::LegListener final : public RtcpSession::Listener {
 public:
  LegListener(MediaRouter& router, Leg& leg) : router_(router), leg_(leg) {}
  void on_nack(uint32_t media_ssrc, std::span<const uint16_t> seqs, Timestamp now) override {
    const RtpEgress* egress = leg_.out->stream(media_ssrc);
    if (egress == nullptr || egress->history() == nullptr) return;
    leg_.counters.nacked_packets_received += seqs.size();
    const TimeDelta rtt = leg_.rtt.smoothed().value_or(TimeDelta::Millis(100));
    // Unpaced: the RTX packets leave at once, counted on the media SSRC's egress.
    leg_.counters.retransmissions_sent += leg_.out->retransmit(media_ssrc, seqs, rtt, now).value_or(0);
  }
  void on_keyframe_request(uint32_t media_ssrc, bool fir, Timestamp now) override {
    router_.relay_keyframe_request(leg_, media_ssrc, fir, now);
  }
  void on_remb(DataRate, Timestamp) override {}
  void on_transport_feedback(const rtcp::TransportFeedback& feedback, Timestamp now) override {
    ++leg_.counters.transport_feedback_received;
    // Terminated here: the hop's controller (kNone) takes nothing from it, the adapter keeps step.
    leg_.out->on_transport_feedback(feedback, now);
  }
  void on_report_block(const rtcp::ReportBlock& block, std::optional<TimeDelta> rtt, int64_t expected,
                       Timestamp now) override {
    (void)leg_.out->on_report_block(block, rtt, expected, now);  // RTT for the leg's controller
    if (!rtt) return;
    on_rtt(*rtt);
  }
  void on_receiver_rtt(TimeDelta rtt, Timestamp) override { on_rtt(rtt); }
  void on_sender_report(const rtcp::SenderReport& report, Timestamp now) override {
    leg_.statistics.on_sender_report(report.sender_ssrc, report.ntp, now);
    if (Inbound* i = leg_.find_inbound(report.sender_ssrc)) i->rtp_to_ntp.on_sender_report(report.ntp, report.rtp_timestamp);
  }

 private:
  // The leg's fronts and REMB estimator take the new smoothed RTT now (process() also hands it to
  // them, but visits only legs with something due).
  void on_rtt(TimeDelta rtt) {
    leg_.rtt.on_rtt(rtt);
    leg_.counters.rtt = rtt;
    const std::optional<TimeDelta> smoothed = leg_.rtt.smoothed();
    if (!smoothed) return;
    for (Inbound& in : leg_.inbound) in.front.on_rtt(*smoothed);
    if (leg_.remb) leg_.remb->on_rtt(*smoothed);
  }

  MediaRouter& router_;
  Leg& leg_;
};

Result<std::unique_ptr<MediaRouter>> MediaRouter::Create(const Config& config) {
  if (config.max_legs == 0) return Error{"media router: max_legs must be positive"};
  if (config.keyframe_request_interval < TimeDelta::Zero()) return Error{"media router: negative keyframe request interval"};
  std::unique_ptr<MediaRouter> r(new MediaRouter(config));
  if (!r->extensions_.register_extension<rtp::AbsSendTime>(config.extension_ids.abs_send_time) ||
      !r->extensions_.register_extension<rtp::TransportSequenceNumber>(config.extension_ids.transport_sequence_number) ||
      !r->extensions_.register_extension<rtp::Mid>(config.extension_ids.mid)) {
    return Error{"media server: extension ids"};
  }
  return r;
}

MediaRouter::MediaRouter(const Config& config)
    : config_(config), rng_(config.seed), probe_budget_(config.probe_budget_total, config.probe_budget_window) {}

MediaRouter::~MediaRouter() = default;

MediaRouter::Leg* MediaRouter::find_leg(LegId id) {
  auto it = legs_.find(id);
  return it == legs_.end() ? nullptr : it->second.get();
}

const MediaRouter::Leg* MediaRouter::find_leg(LegId id) const {
  auto it = legs_.find(id);
  return it == legs_.end() ? nullptr : it->second.get();
}

bool MediaRouter::has_leg(LegId leg) const { return find_leg(leg) != nullptr; }

std::pair<MediaRouter::Leg*, MediaRouter::Inbound*> MediaRouter::find_source(uint32_t ssrc) {
  // The leg found last time, checked (an SSRC is sent by one leg at most: add_leg() and
  // learn_simulcast() refuse SSRCs in use, so a leg that still owns it is the answer). Every leg's
  // estimate tick asks this for each of its layered streams: a walk over every leg each time made
  // the ticks quadratic in the number of legs.
  if (auto hit = source_legs_.find(ssrc); hit != source_legs_.end()) {
    if (Leg* leg = find_leg(hit->second)) {
      if (Inbound* i = leg->find_inbound(ssrc)) return {leg, i};
    }
    source_legs_.erase(hit);
  }
  for (auto& [id, leg] : legs_) {
    if (Inbound* i = leg->find_inbound(ssrc)) {
      if (source_legs_.size() < kMaxSourceCache) source_legs_.emplace(ssrc, id);
      return {leg.get(), i};
    }
  }
  return {nullptr, nullptr};
}

Result<MediaRouter::LegId> MediaRouter::add_leg(uint32_t rtcp_ssrc, DatagramSink* sink,
                                                const std::vector<ForwardedStream>& inbound,
                                                const std::optional<ExtensionUris>& extension_uris) {
  rtp::ExtensionMap leg_extensions = extensions_;
  if (extension_uris) {
    leg_extensions = rtp::ExtensionMap();
    std::set<std::string_view> uris;
    for (const auto& [ext_id, uri] : *extension_uris) {
      if (ext_id == 0 || !uris.insert(uri).second) return Error{"media router: extension ids must be 1..255, one per URI"};
      (void)leg_extensions.register_uri(ext_id, uri);  // false: a URI the router does not read
    }
  }
  if (sink == nullptr) return Error{"media router: missing packet sink"};
  if (rtcp_ssrc == 0) return Error{"media router: a leg's RTCP SSRC must be non-zero"};
  if (legs_.size() >= config_.max_legs) return Error{"media router: too many legs"};
  if (inbound.size() > kMaxStreamsPerLeg) return Error{"media router: too many streams on one leg"};
  for (const ForwardedStream& f : inbound) {
    if (f.ssrc == 0 || (f.rtx_ssrc && (*f.rtx_ssrc == 0 || *f.rtx_ssrc == f.ssrc)))
      return Error{"media router: a stream's SSRCs must be non-zero and distinct"};
    if (ssrc_in_use(f.ssrc) || (f.rtx_ssrc && ssrc_in_use(*f.rtx_ssrc)))
      return Error{"media router: another leg already sends this SSRC"};
    if (!f.rids.empty()) {
      if (Status st = check_simulcast(f); !st) return Error{st.error()};
    }
  }
  const LegId id = next_id_;
  auto stats = rtp::ReceiveStatistics::Create({});
  if (!stats) return Error{stats.error()};
  RtcpSession::Config rc;
  rc.ssrc = rtcp_ssrc;
  rc.cname = config_.cname;
  rc.min_interval = config_.rtcp_interval;
  rc.ntp_clock = config_.ntp_clock;
  rc.seed = config_.seed + id;
  rc.send_rrtr = true;  // a leg the server only receives on still needs its RTT for NACKs
  auto rtcp = RtcpSession::Create(rc);
  if (!rtcp) return Error{rtcp.error()};
  congestion::TransportFeedbackGenerator::Config fc;
  fc.sender_ssrc = rc.ssrc;
  SendTransport::Config tc;
  tc.controller.mode = config_.subscriber_estimates ? congestion::NetworkControllerMode::kTransportCc
                                                   : congestion::NetworkControllerMode::kNone;
  tc.controller.start_rate = config_.subscriber_start_rate;
  tc.paced = false;
  tc.feedback.history.max_age = kSendTimeHistoryAge;
  tc.feedback.history.max_packets = kSendTimeHistoryPackets;
  tc.feedback.max_rtp_packets_per_ssrc = kSendTimeHistoryPacketsPerSsrc;
  auto out = SendTransport::Create(tc, leg_extensions, sink, nullptr);
  if (!out) return Error{out.error()};
  auto leg = std::make_unique<Leg>(id, std::move(out).value(), std::move(stats).value(), std::move(rtcp).value(), fc,
                                   PaddingBudget(config_.probe_budget_per_leg, config_.probe_budget_window));
  if (probing()) {
    SubscriberProber::Config pc = config_.probing;
    pc.first_cluster_id = congestion::kExternalProbeClusterIdBase;
    leg->prober.emplace(pc);
  }
  for (const ForwardedStream& f : inbound) {
    if (!f.rids.empty()) {
      // Simulcast: no front until an encoding's SSRC is learned (learn_simulcast()).
      SimulcastGroup& g = leg->simulcast.emplace_back(f);
      if (!g.rid_map.register_extension<rtp::RtpStreamId>(f.rid_extension_id) ||
          (f.repaired_rid_extension_id != 0 &&
           !g.rid_map.register_extension<rtp::RepairedRtpStreamId>(f.repaired_rid_extension_id)))
        return Error{"media router: rid extension ids"};
      continue;
    }
    auto front = make_front(f, rc.ssrc, &leg->statistics);
    if (!front) return Error{front.error()};
    leg->inbound.emplace_back(f, std::move(front).value());
  }
  for (const SimulcastGroup& g : leg->simulcast) group_owners_[g.config.ssrc] = id;
  leg->extensions = leg_extensions;
  leg->extension_uris = extension_uris;
  for (Inbound& i : leg->inbound) i.leg = id;
  wakes_.push_back(LegWake{id, leg.get()});  // ids only grow: the array stays in id order
  legs_.emplace(id, std::move(leg));
  ++next_id_;
  return id;
}

Status MediaRouter::add_outbound(LegId id, const ForwardedStream& stream) {
  Leg* leg = find_leg(id);
  if (leg == nullptr) return Error{"media router: unknown leg"};
  if (leg->find_outbound(stream.ssrc) != nullptr) return Error{"media router: the leg already receives this stream"};
  if (leg->outbound.size() >= kMaxStreamsPerLeg) return Error{"media router: too many streams on one leg"};
  const auto offset = static_cast<uint16_t>(rng_.next_u32() & 0xFFFF);
  const auto rtx_first_seq = static_cast<uint16_t>(rng_.next_u32());
  if (!stream.rids.empty() && !config_.subscriber_estimates)
    return Error{"media router: simulcast needs subscriber estimates (the encoding is chosen by them)"};
  Outbound& o = leg->outbound.emplace_back(stream, offset);
  if (config_.subscriber_estimates && layered_codec(stream.codec)) {
    LayerSelector::Config sc;
    sc.codec = *stream.codec;
    sc.up_hold = config_.layer_up_hold;
    sc.enabled = config_.layer_selection;
    sc.follow_until_measured = !stream.rids.empty();
    o.selector.emplace(sc);
  }
  if (!stream.rids.empty()) o.simulcast.emplace();
  if (Status st = leg->out->add_stream(o.egress(rtx_first_seq)); !st) {
    leg->outbound.pop_back();
    relink(*leg);  // the emplace may have moved the others
    return st;
  }
  if (leg->prober && !leg->padding_sender && o.selector && stream.nack && stream.rtx_ssrc) {
    RtpSender::Config pc;
    pc.ssrc = stream.ssrc;
    pc.clock_rate = stream.clock_rate;
    pc.rtx_ssrc = stream.rtx_ssrc;
    pc.rtx_payload_type = stream.rtx_payload_type;
    if (auto sender = RtpSender::Create(pc, leg->extensions)) {
      leg->padding_sender.emplace(std::move(sender).value());
      leg->out->set_padding_sender(&*leg->padding_sender);  // the Leg is heap-held: the address stays
    }
  }
  touch(*leg);
  std::vector<Receiver>& receivers = receivers_[stream.ssrc];
  receivers.insert(std::upper_bound(receivers.begin(), receivers.end(), id,
                                    [](LegId a, const Receiver& b) { return a < b.id; }),
                   Receiver{id, leg, &o});
  relink(*leg);
  return Status::Ok();
}

void MediaRouter::relink(Leg& l) {
  for (Outbound& o : l.outbound) {
    auto it = receivers_.find(o.config.ssrc);
    if (it == receivers_.end()) continue;
    for (Receiver& r : it->second) {
      if (r.leg == &l) r.outbound = &o;
    }
  }
}

void MediaRouter::remove_leg(LegId id) {
  Leg* leg = find_leg(id);
  if (leg == nullptr) return;
  for (const Outbound& o : leg->outbound) {
    auto it = receivers_.find(o.config.ssrc);
    if (it == receivers_.end()) continue;
    std::erase_if(it->second, [leg](const Receiver& r) { return r.leg == leg; });
    if (it->second.empty()) receivers_.erase(it);
  }
  for (const SimulcastGroup& g : leg->simulcast) group_owners_.erase(g.config.ssrc);
  std::erase_if(wakes_, [id](const LegWake& w) { return w.id == id; });
  std::erase_if(source_legs_, [id](const auto& e) { return e.second == id; });
  legs_.erase(id);
}

Status MediaRouter::set_send_remb(LegId id, bool on) {
  Leg* leg = find_leg(id);
  if (leg == nullptr) return Error{"media router: unknown leg"};
  if (!on) {
    leg->remb.reset();
  } else if (!leg->remb) {
    congestion::RemoteBitrateEstimatorAbsSendTime::Config rc;
    rc.sender_ssrc = leg->rtcp.ssrc();
    leg->remb.emplace(rc);
  }
  touch(*leg);
  return Status::Ok();
}

MediaRouter::LegCounters MediaRouter::counters(LegId id) const {
  const Leg* l = find_leg(id);
  if (l == nullptr) return {};
  LegCounters c = l->counters;
  for (const Inbound& i : l->inbound) c.packets_repaired_by_rtx += i.front.nack_stats().packets_repaired_by_rtx;
  for (uint32_t ssrc : l->statistics.ssrcs()) {
    if (auto st = l->statistics.stats(ssrc)) c.packets_lost += st->packets_lost;
  }
  if (config_.subscriber_estimates && l->started) c.estimate = l->out->target();
  if (l->remb) c.remb_estimate = l->remb->estimate();
  if (l->prober) {
    const SubscriberProber::Counters& p = l->prober->counters();
    c.probe_clusters = p.clusters;
    c.probe_clusters_succeeded = p.clusters_succeeded;
    c.probe_clusters_failed = p.clusters_failed;
    c.probe_clusters_aborted = p.clusters_aborted;
    c.probe_bytes = static_cast<uint64_t>(p.padding.bytes());
    c.probes_skipped_budget = p.skipped_budget;
    c.probes_skipped_congestion = p.skipped_congestion;
  }
  for (const Outbound& o : l->outbound) {
    if (o.simulcast) {
      if (c.simulcast_encoding < 0) {
        c.simulcast_encoding = o.simulcast->current;
        c.simulcast_rid = o.simulcast->rid;
      }
      c.encoding_switches += o.simulcast->switches;
    }
    if (!o.selector) continue;
    const LayerSelector::Counters& s = o.selector->counters();
    if (c.temporal_layer < 0) c.temporal_layer = s.current_layer;
    if (c.spatial_layer < 0) c.spatial_layer = s.current_spatial;
    c.spatial_switches_up += s.spatial_switches_up;
    c.spatial_switches_down += s.spatial_switches_down;
    c.layer_switches_up += s.switches_up;
    c.layer_switches_down += s.switches_down;
    c.layer_frames_dropped += s.frames_dropped;
    c.layer_bytes_dropped += s.bytes_dropped;
  }
  return c;
}

std::vector<DataRate> MediaRouter::layer_rates(uint32_t ssrc, Timestamp now) {
  std::vector<DataRate> out;
  const auto [leg, in] = find_source(ssrc);
  if (in == nullptr) return out;
  for (int l = 0; l < in->layer_rates.num_layers(now); ++l) {
    const std::optional<DataRate> r = in->layer_rates.rate_up_to(l, now);
    if (!r) return {};
    out.push_back(*r);
  }
  return out;
}

std::vector<std::optional<DataRate>> MediaRouter::encoding_rates(uint32_t ssrc, Timestamp now) {
  std::vector<std::optional<DataRate>> out;
  const auto [leg, g] = find_group(ssrc);
  if (g == nullptr) return out;
  for (const std::optional<uint32_t>& media : g->media_ssrc) {
    const Inbound* in = media ? leg->find_inbound(*media) : nullptr;
    out.push_back(in != nullptr ? in->encoding_rate.rate_up_to(0, now) : std::nullopt);
  }
  return out;
}

bool MediaRouter::ssrc_in_use(uint32_t ssrc) {
  if (find_source(ssrc).first != nullptr || find_group(ssrc).first != nullptr) return true;
  for (auto& [id, leg] : legs_) {
    for (const SimulcastGroup& g : leg->simulcast) {
      for (size_t e = 0; e < g.media_ssrc.size(); ++e)
        if (g.media_ssrc[e] == ssrc || g.rtx_ssrc[e] == ssrc) return true;
    }
  }
  return false;
}

std::pair<MediaRouter::Leg*, MediaRouter::SimulcastGroup*> MediaRouter::find_group(uint32_t group_ssrc) {
  const auto owner = group_owners_.find(group_ssrc);
  Leg* leg = owner == group_owners_.end() ? nullptr : find_leg(owner->second);
  if (leg == nullptr) return {nullptr, nullptr};
  for (SimulcastGroup& g : leg->simulcast)
    if (g.config.ssrc == group_ssrc) return {leg, &g};
  return {nullptr, nullptr};
}

MediaRouter::Inbound* MediaRouter::learn_simulcast(Leg& l, const rtp::RtpPacket& packet) {
  for (SimulcastGroup& g : l.simulcast) {
    std::optional<std::string> rid = packet.get<rtp::RtpStreamId>(g.rid_map);
    const bool repair = !rid;
    if (repair) rid = packet.get<rtp::RepairedRtpStreamId>(g.rid_map);
    if (!rid) continue;
    const auto it = std::find(g.config.rids.begin(), g.config.rids.end(), *rid);
    if (it == g.config.rids.end()) {
      ++l.counters.unknown_rid;  // a rid the sender did not announce
      return nullptr;
    }
    const auto e = static_cast<size_t>(it - g.config.rids.begin());
    std::optional<uint32_t>& slot = repair ? g.rtx_ssrc[e] : g.media_ssrc[e];
    if (slot == packet.ssrc()) return nullptr;  // RTX still waiting for its media SSRC
    if (slot || ssrc_in_use(packet.ssrc()) || l.inbound.size() >= kMaxStreamsPerLeg) {
      ++l.counters.unknown_rid;  // the encoding has its SSRC already (or this SSRC is taken)
      return nullptr;
    }
    slot = packet.ssrc();
    ++l.counters.simulcast_ssrcs_learned;
    if (!g.media_ssrc[e]) return nullptr;
    ForwardedStream f = g.config;
    f.rids.clear();
    f.ssrc = *g.media_ssrc[e];
    f.rtx_ssrc = g.config.nack && g.config.rtx_ssrc ? g.rtx_ssrc[e] : std::nullopt;
    auto front = make_front(f, l.rtcp.ssrc(), &l.statistics);
    if (!front) return nullptr;
    Inbound* in = l.find_inbound(f.ssrc);
    if (in != nullptr) {
      in->front = std::move(front).value();  // its RTX SSRC came second: the front starts over
      in->config = f;
    } else {
      in = &l.inbound.emplace_back(f, std::move(front).value());
      in->leg = l.id;  // the sender's extension ids for what is forwarded (rewrite_numbers)
      in->group_ssrc = g.config.ssrc;
      in->encoding = static_cast<int>(e);
    }
    return repair ? nullptr : in;  // the RTX packet that completed it is dropped
  }
  return nullptr;
}

void MediaRouter::on_packet(LegId id, std::span<const uint8_t> datagram, Timestamp now) {
  Leg* l = find_leg(id);
  if (l == nullptr) return;
  touch(*l);  // its fronts, feedback generator, REMB estimate and RTCP may move (what it forwards
              // to other legs does not move theirs: their timers are about what they send us)
  if (rtp::is_rtcp(datagram)) {
    ++l->counters.rtcp_received;
    LegListener listener(*this, *l);
    const std::vector<uint32_t> own = l->outbound_ssrcs();
    l->rtcp.on_receive(datagram, now, own, listener);
    return;
  }
  auto parsed = rtp::RtpPacket::parse(datagram);
  if (!parsed) {
    ++l->counters.malformed;
    return;
  }
  rtp::RtpPacket packet = std::move(parsed).value();
  packet.arrival_time = now;
  if (auto seq = packet.get<rtp::TransportSequenceNumber>(l->extensions)) {
    ++l->counters.transport_sequenced_received;
    // The feedback names an SSRC the sender sends: Chromium ignores transport-cc for other SSRCs
    // (0 included), and its send-side estimate would then never move.
    l->feedback_generator.set_media_ssrc(packet.ssrc());
    l->feedback_generator.on_received_packet(*seq, now);
  }
  if (l->remb) {
    if (auto ast = packet.get<rtp::AbsSendTime>(l->extensions)) {
      l->remb->on_received_packet(*ast, now, DataSize::Bytes(static_cast<int64_t>(packet.size())), packet.ssrc());
    }
  }
  Inbound* in = l->find_inbound(packet.ssrc());
  if (in == nullptr && !l->simulcast.empty()) in = learn_simulcast(*l, packet);
  if (in == nullptr) {
    ++l->counters.unknown_ssrc;
    return;
  }
  ++l->counters.rtp_packets_received;
  // Padding-only RTX probes end at this hop (the front restores nothing from them).
  Forwarder forwarder(*this, *l, in->config.ssrc);
  in->front.on_rtp(packet, now, forwarder);  // true: find_inbound() matched its SSRCs
  if (in->front.keyframe_wanted()) {
    if (LegWake* w = wake_of(id)) w->force = true;
  }
}

void MediaRouter::forward(LegId from, uint32_t ssrc, const rtp::RtpPacket& packet, Timestamp now) {
  const Inbound* source = nullptr;
  std::optional<VideoLayerPacket> layer;  // parsed once here for every receiving leg
  bool layer_parsed = false;
  for (Inbound& i : find_leg(from)->inbound) {
    if (i.config.ssrc != ssrc) continue;
    source = &i;
    if (layered_codec(i.config.codec)) {
      layer = VideoLayerPacket::Parse(*i.config.codec, packet.payload());
      layer_parsed = true;
      if (layer && layer->temporal_id)
        i.layer_rates.on_packet(*layer->temporal_id, packet.size(), now, layer->spatial_id.value_or(0));
    }
    if (i.group_ssrc != 0) i.encoding_rate.on_packet(0, packet.size(), now);
  }
  // A simulcast encoding goes to the legs that receive its group.
  const uint32_t key = source != nullptr && source->group_ssrc != 0 ? source->group_ssrc : ssrc;
  auto receivers = receivers_.find(key);
  if (receivers == receivers_.end()) return;
  recovery::StoredPacketRef stored;  // the packet in its source's store, put for the first history
  const std::vector<Receiver>& list = receivers->second;
  for (size_t r = 0; r < list.size(); ++r) {
    if (list[r].id == from) continue;
    Leg* leg = list[r].leg;
    Outbound* o = list[r].outbound;
    if (stored.store == nullptr && source != nullptr && o->keeps_history()) {
      stored = {&source->store, source->store->put(packet, now)};
    }
    const std::optional<VideoLayerPacket>* parsed = layer_parsed ? &layer : nullptr;
    if (o->simulcast && source != nullptr) {
      forward_simulcast(*leg, *o, copy_of(packet), *source, parsed, stored, now);
    } else {
      forward_to(*leg, *o, copy_of(packet), source, parsed, stored, now);
    }
  }
}

rtp::RtpPacket MediaRouter::copy_of(const rtp::RtpPacket& packet) const {
  if (config_.buffers == nullptr || packet.size() + rtp::RtpPacket::kTailroom > config_.buffers->buffer_size()) {
    return packet;
  }
  return rtp::RtpPacket::copy_into(packet, config_.buffers->take());
}

void MediaRouter::forward_simulcast(Leg& l, Outbound& o, rtp::RtpPacket packet, const Inbound& source,
                                    const std::optional<VideoLayerPacket>* layer,
                                    const recovery::StoredPacketRef& stored, Timestamp now) {
  SimulcastState& s = *o.simulcast;
  const bool keyframe = layer != nullptr && *layer && (*layer)->keyframe;
  const uint32_t ts = packet.timestamp();
  if (source.encoding != s.current) {
    // Another encoding than the one the leg gets: passed only from the target's keyframe on.
    if (source.encoding != s.target || !keyframe) return;
    if (s.current >= 0) ++s.switches;
    s.current = s.target;
    const auto [up, g] = find_group(o.config.ssrc);
    s.rid = g != nullptr ? g->config.rids[static_cast<size_t>(s.current)] : std::string();
    // Its timestamps continue from the last the leg saw by the capture time elapsed between the two
    // frames (both senders' SR mappings), so the leg's SRs, stamped from capture times, stay
    // monotonic even after a stopped encoding; without mappings: one frame after the last.
    s.timestamps.switch_source(ts, source.rtp_to_ntp.to_local(ts, config_.ntp_clock));
    o.seq.switch_source();
    if (o.selector) o.selector->switch_source();
  }
  (void)s.timestamps.on_packet(ts, source.rtp_to_ntp.to_local(ts, config_.ntp_clock));
  packet.set_ssrc(o.config.ssrc);
  forward_to(l, o, std::move(packet), &source, layer, stored, now, s.timestamps.offset());
}

void MediaRouter::select_encoding(Leg& l, Outbound& o, Timestamp now) {
  SimulcastState& s = *o.simulcast;
  const auto [up, g] = find_group(o.config.ssrc);
  if (g == nullptr) return;
  const DataRate estimate = l.out->target();
  // Learned encodings with a measured rate; the highest that fits the estimate (the lowest always).
  std::vector<std::pair<DataRate, int>> measured;
  int first_learned = -1;
  for (size_t e = 0; e < g->media_ssrc.size(); ++e) {
    const Inbound* in = g->media_ssrc[e] ? up->find_inbound(*g->media_ssrc[e]) : nullptr;
    if (in == nullptr) continue;
    if (first_learned < 0) first_learned = static_cast<int>(e);
    const std::optional<DataRate> r = in->encoding_rate.rate_up_to(0, now);
    if (r && *r > DataRate::Zero()) measured.emplace_back(*r, static_cast<int>(e));
  }
  auto rate_of = [&measured](int e) -> std::optional<DataRate> {
    for (const auto& [r, i] : measured)
      if (i == e) return r;
    return std::nullopt;
  };
  int desired = first_learned;  // before a second of measurement: the first rid announced
  if (!measured.empty()) {
    std::sort(measured.begin(), measured.end());
    desired = measured.front().second;
    for (const auto& [r, e] : measured)
      if (r <= estimate) desired = e;
  }
  if (desired < 0) return;
  const std::optional<DataRate> target_rate = rate_of(s.target);
  const std::optional<DataRate> desired_rate = rate_of(desired);
  // Down at once, but not for a rate within kSimulcastDownMargin of the estimate: the keyframe a
  // switch asked for lifts the new encoding's one-second rate for a moment.
  const bool keep = target_rate && *target_rate <= estimate * kSimulcastDownMargin;
  if (s.target < 0 || !target_rate || (desired_rate && *desired_rate < *target_rate && !keep)) {
    s.target = desired;  // the first choice, a stopped encoding, or down: at once
    s.up_since = Timestamp::PlusInfinity();
  } else if (desired != s.target) {
    if (s.up_since.is_plus_infinity()) s.up_since = now;
    if (now - s.up_since >= config_.layer_up_hold) {
      s.target = desired;
      s.up_since = Timestamp::PlusInfinity();
    }
  } else {
    s.up_since = Timestamp::PlusInfinity();
  }
  if (s.target == s.current || now - s.last_request < config_.simulcast_keyframe_retry) return;
  // Waiting for the target's keyframe: ask its sender (the current encoding keeps flowing).
  Inbound* in = up->find_inbound(*g->media_ssrc[static_cast<size_t>(s.target)]);
  s.last_request = now;
  in->last_keyframe_request = now;
  const rtcp::RtcpPacket request = rtcp::Pli{up->rtcp.ssrc(), in->config.ssrc};
  send_rtcp(*up, up->rtcp.build_feedback(std::span<const rtcp::RtcpPacket>(&request, 1), now), now);
}

void MediaRouter::forward_to(Leg& l, Outbound& o, rtp::RtpPacket packet, const Inbound* source,
                             const std::optional<VideoLayerPacket>* layer, const recovery::StoredPacketRef& stored,
                             Timestamp now, uint32_t timestamp_offset) {
  if (o.selector) {
    const LayerSelector::Decision d =
        layer != nullptr ? o.selector->on_packet(packet.sequence_number(), packet.timestamp(), packet.marker(),
                                                 packet.mutable_payload(), *layer, now)
                         : o.selector->on_packet(packet.sequence_number(), packet.timestamp(), packet.marker(),
                                                 packet.mutable_payload(), now);
    if (!d.forward) {
      (void)o.seq.drop(packet.sequence_number(), d.drop_gap);  // false: a copy of one dropped before
      return;
    }
    if (d.drop_gap) (void)o.seq.drop(static_cast<uint16_t>(packet.sequence_number() - 1), true);
    if (d.marker) packet.set_marker(true);  // VP9 SVC: the end of the highest spatial layer sent
  }
  const std::optional<uint16_t> seq = o.seq.rewrite(packet.sequence_number());
  if (!seq) {
    ++l.counters.duplicates_dropped;
    return;
  }
  packet.set_sequence_number(*seq);
  if (!rewrite_numbers(l, o, packet, source)) return;
  // Capture time on our clock through the sender's SR mapping keeps our SRs consistent with it.
  Timestamp capture = now;
  if (source != nullptr) capture = source->rtp_to_ntp.to_local(packet.timestamp(), config_.ntp_clock).value_or(now);
  if (timestamp_offset != 0) packet.set_timestamp(packet.timestamp() + timestamp_offset);
  OutgoingPacket out;
  out.packet = std::move(packet);
  out.capture_time = capture;
  out.media_ssrc = o.config.ssrc;
  // Header, descriptor (the selector's rewrites, in its first bytes) and payload type differ per
  // leg; the payload past the descriptor is the stored original's.
  out.stored = stored;
  l.out->enqueue(std::move(out), now);  // unpaced: stamped, counted, kept for RTX and sent now
  ++l.counters.packets_forwarded;
}

bool MediaRouter::rewrite_numbers(Leg& to, Outbound& o, rtp::RtpPacket& packet, const Inbound* source) {
  if (!config_.rewrite_numbers || source == nullptr) return true;
  if (packet.payload_type() == source->config.media_payload_type &&
      o.config.media_payload_type != source->config.media_payload_type) {
    packet.set_payload_type(o.config.media_payload_type);
  }
  if (o.ext_from != source->leg) {
    o.ext_from = source->leg;
    o.ext_identity = true;
    o.ext_ids.fill(0);
    const Leg* from = find_leg(source->leg);
    if (from != nullptr && (from->extension_uris || to.extension_uris)) {
      // A leg without ids of its own has the Config's three.
      auto uris_of = [this](const Leg& leg) {
        if (leg.extension_uris) return *leg.extension_uris;
        return ExtensionUris{{config_.extension_ids.abs_send_time, std::string(rtp::AbsSendTime::kUri)},
                             {config_.extension_ids.transport_sequence_number, std::string(rtp::TransportSequenceNumber::kUri)},
                             {config_.extension_ids.mid, std::string(rtp::Mid::kUri)}};
      };
      const ExtensionUris src = uris_of(*from), dst = uris_of(to);
      for (int i = 1; i < 256; ++i) {
        const auto s = src.find(static_cast<uint8_t>(i));
        uint8_t mapped = 0;
        if (s != src.end()) {
          for (const auto& [d_id, d_uri] : dst) {
            if (d_uri == s->second) mapped = d_id;
          }
        }
        o.ext_ids[static_cast<size_t>(i)] = mapped;
        if (mapped != i) o.ext_identity = false;
      }
    }
  }
  if (o.ext_identity || !packet.header().has_extension || !packet.header().rfc8285_extensions()) return true;
  // In place: an element's id takes the receiving leg's number, or the element becomes padding.
  if (!packet.remap_extension_ids(o.ext_ids)) {  // elements past the parser's 16 could not be translated
    ++to.counters.malformed;
    return false;
  }
  return true;
}

void MediaRouter::update_estimate(Leg& l, Timestamp now) {
  if (!l.started) {
    l.out->start(now);
    l.started = true;
  }
  l.out->update_controller(now);  // unpaced: probe clusters the controller asks for go unsent
  // On a common grid: every leg's tick falls on the same wakeup, whatever the leg count.
  l.next_estimate = Timestamp::Micros((now.us() / kEstimateInterval.us() + 1) * kEstimateInterval.us());
  for (Outbound& o : l.outbound) {
    if (o.simulcast) {
      select_encoding(l, o, now);
      // Temporal layers within the encoding the leg gets.
      const auto [up, g] = find_group(o.config.ssrc);
      const int e = o.simulcast->current;
      const Inbound* in = g != nullptr && e >= 0 && g->media_ssrc[static_cast<size_t>(e)]
                              ? up->find_inbound(*g->media_ssrc[static_cast<size_t>(e)]) : nullptr;
      if (o.selector && in != nullptr) o.selector->update(l.out->target(), in->layer_rates, now);
      continue;
    }
    if (!o.selector) continue;
    const auto [up, in] = find_source(o.config.ssrc);
    if (in == nullptr) continue;
    o.selector->update(l.out->target(), in->layer_rates, now);
    if (o.selector->wants_keyframe()) request_layer_keyframe(l, o, *up, *in, now);
  }
  if (l.prober) update_probing(l, now);
}

void MediaRouter::update_probing(Leg& l, Timestamp now) {
  if (!l.padding_sender) return;
  SubscriberProber::Input in;
  in.estimate = l.out->target();
  for (const Outbound& o : l.outbound) {
    if (!o.selector) continue;
    const std::optional<DataRate> step = o.selector->next_step_rate();
    if (step && (!in.next_step || *step < *in.next_step)) in.next_step = step;  // the nearest step
  }
  in.overuse = l.out->controller().delay_state() == congestion::BandwidthUsage::kOverusing;
  in.feedback_packets = l.out->counters().feedback_packets;
  in.feedback_lost = l.out->counters().feedback_lost;
  in.sent = DataSize::Bytes(static_cast<int64_t>(l.out->counters().bytes_sent));
  in.standing_queue = l.out->standing_queue_delay();
  if (const auto cluster = l.prober->maybe_start(in, l.probe_budget, probe_budget_, now)) {
    l.out->register_probe_cluster(*cluster);
    l.out->set_probe_cluster(cluster->id);  // what is forwarded meanwhile is part of the cluster
    send_probe_padding(l, now);
  } else if (!l.prober->sending()) {
    l.out->set_probe_cluster(congestion::kNotAProbe);  // aborted
  }
}

void MediaRouter::send_probe_padding(Leg& l, Timestamp now) {
  // Bounded: each round sends at least one packet of the cluster, or ends it (nothing sent).
  for (int round = 0; round < 64; ++round) {
    const std::optional<SubscriberProber::Burst> b =
        l.prober->due(now, DataSize::Bytes(static_cast<int64_t>(l.out->counters().bytes_sent)));
    if (!b) break;
    const int64_t packets_before = l.out->budget().packets;
    const DataSize sent = l.out->send_probe_padding(b->size, b->cluster_id, now);
    l.counters.probe_packets += static_cast<uint64_t>(l.out->budget().packets - packets_before);
    l.prober->on_sent(sent, now);
  }
  if (!l.prober->sending()) l.out->set_probe_cluster(congestion::kNotAProbe);
}

void MediaRouter::request_layer_keyframe(Leg& l, Outbound& o, Leg& up, Inbound& in, Timestamp now) {
  // Per receiving leg at most once per simulcast_keyframe_retry, per stream at most once per
  // keyframe_request_interval (shared with the relayed requests).
  if (&up == &l || now - o.last_layer_keyframe_request < config_.simulcast_keyframe_retry) return;
  if (config_.keyframe_request_interval > TimeDelta::Zero() &&
      now - in.last_keyframe_request < config_.keyframe_request_interval) {
    return;
  }
  o.last_layer_keyframe_request = now;
  in.last_keyframe_request = now;
  ++l.counters.layer_keyframe_requests;
  const rtcp::RtcpPacket request = rtcp::Pli{up.rtcp.ssrc(), in.config.ssrc};
  send_rtcp(up, up.rtcp.build_feedback(std::span<const rtcp::RtcpPacket>(&request, 1), now), now);
}

void MediaRouter::relay_keyframe_request(Leg& asking, uint32_t media_ssrc, bool fir, Timestamp now) {
  if (const Outbound* o = asking.find_outbound(media_ssrc); o != nullptr && o->simulcast) {
    // A simulcast receiver asks for the encoding it gets (or waits for).
    const auto [up, g] = find_group(media_ssrc);
    const int e = o->simulcast->current >= 0 ? o->simulcast->current : o->simulcast->target;
    if (g == nullptr || e < 0 || !g->media_ssrc[static_cast<size_t>(e)]) return;
    media_ssrc = *g->media_ssrc[static_cast<size_t>(e)];
  }
  auto [up, in] = find_source(media_ssrc);
  if (up == nullptr || up == &asking) return;
  if (config_.keyframe_request_interval > TimeDelta::Zero() &&
      now - in->last_keyframe_request < config_.keyframe_request_interval) {
    ++asking.counters.keyframe_requests_suppressed;
    return;
  }
  in->last_keyframe_request = now;
  ++asking.counters.keyframe_requests_forwarded;
  rtcp::RtcpPacket request;
  if (fir) {
    rtcp::Fir f;
    f.sender_ssrc = up->rtcp.ssrc();
    f.entries.push_back(rtcp::FirEntry{in->config.ssrc, in->fir_seq++});
    request = std::move(f);
  } else {
    request = rtcp::Pli{up->rtcp.ssrc(), in->config.ssrc};
  }
  send_rtcp(*up, up->rtcp.build_feedback(std::span<const rtcp::RtcpPacket>(&request, 1), now), now);
}

bool MediaRouter::request_keyframe(LegId leg, uint32_t media_ssrc, Timestamp now) {
  Leg* l = find_leg(leg);
  Inbound* in = l != nullptr ? l->find_inbound(media_ssrc) : nullptr;
  if (in == nullptr || in->config.ssrc != media_ssrc) return false;
  if (config_.keyframe_request_interval > TimeDelta::Zero() &&
      now - in->last_keyframe_request < config_.keyframe_request_interval) {
    return false;
  }
  in->last_keyframe_request = now;
  const rtcp::RtcpPacket request = rtcp::Pli{l->rtcp.ssrc(), in->config.ssrc};
  send_rtcp(*l, l->rtcp.build_feedback(std::span<const rtcp::RtcpPacket>(&request, 1), now), now);
  return true;
}

void MediaRouter::send_rtcp(Leg& to, std::vector<uint8_t> bytes, Timestamp now) {
  to.out->send_rtcp(std::move(bytes), now);
  touch(to);  // its RTCP session built it
}

MediaRouter::LegWake* MediaRouter::wake_of(LegId id) const {
  auto it = std::lower_bound(wakes_.begin(), wakes_.end(), id, [](const LegWake& w, LegId i) { return w.id < i; });
  return it != wakes_.end() && it->id == id ? &*it : nullptr;
}

void MediaRouter::touch(const Leg& l) {
  if (LegWake* w = wake_of(l.id)) w->dirty = true;
}

std::optional<Timestamp> MediaRouter::leg_wakeup(const Leg& l) const {
  std::optional<Timestamp> t;
  auto earliest = [&t](std::optional<Timestamp> o) {
    if (o && (!t || *o < *t)) t = o;
  };
  for (const Inbound& i : l.inbound) earliest(i.front.next_wakeup());
  earliest(l.feedback_generator.next_wakeup());
  if (config_.subscriber_estimates) earliest(l.next_estimate);
  if (l.prober) earliest(l.prober->next_wakeup());
  if (l.remb) earliest(l.remb->next_wakeup());
  const auto r = l.rtcp.next_wakeup();
  earliest(r ? r : std::optional<Timestamp>(Timestamp::MinusInfinity()));  // not started yet
  return t;
}

std::optional<Timestamp> MediaRouter::next_wakeup() const {
  std::optional<Timestamp> t;
  for (LegWake& w : wakes_) {
    if (w.dirty) {
      w.at = leg_wakeup(*w.leg).value_or(Timestamp::PlusInfinity());
      w.dirty = false;
    }
    if (!w.at.is_plus_infinity() && (!t || w.at < *t)) t = w.at;
  }
  return t;
}

void MediaRouter::process(Timestamp now) {
  // The legs with something due (or forced), in leg order. A leg with nothing due would do nothing
  // here: each of its timers acts only when due (its fronts and REMB get the RTT when it changes).
  // Processing a leg may touch another (a keyframe request upstream): its entry is recomputed
  // before it is looked at. Legs are neither added nor removed during process().
  for (LegWake& w : wakes_) {
    if (w.dirty) {
      w.at = leg_wakeup(*w.leg).value_or(Timestamp::PlusInfinity());
      w.dirty = false;
    }
    if (!(w.at <= now) && !w.force) continue;
    Leg& l = *w.leg;
    process_leg(l, now);
    w.at = leg_wakeup(l).value_or(Timestamp::PlusInfinity());
    w.dirty = false;
    w.force = l.prober && l.prober->sending();  // a cluster ends on bytes sent as well as on time
  }
}

void MediaRouter::process_leg(Leg& l, Timestamp now) {
  if (config_.subscriber_estimates && now >= l.next_estimate) update_estimate(l, now);
  if (l.prober) send_probe_padding(l, now);
  for (Inbound& in : l.inbound) {
    if (auto rtt = l.rtt.smoothed()) in.front.on_rtt(*rtt);
    std::vector<rtcp::RtcpPacket> nacks;  // the server never asks a front for a keyframe
    in.front.process(now, nacks);
    for (const rtcp::RtcpPacket& nack : nacks) {
      ++l.counters.nacks_sent;
      send_rtcp(l, l.rtcp.build_feedback(std::span<const rtcp::RtcpPacket>(&nack, 1), now), now);
    }
  }
  if (l.remb) {
    if (auto rtt = l.rtt.smoothed()) l.remb->on_rtt(*rtt);
    if (std::optional<rtcp::Remb> remb = l.remb->process(now)) {
      ++l.counters.remb_sent;
      const rtcp::RtcpPacket p = std::move(*remb);
      send_rtcp(l, l.rtcp.build_feedback(std::span<const rtcp::RtcpPacket>(&p, 1), now), now);
    }
  }
  for (rtcp::TransportFeedback& f : l.feedback_generator.process(now)) {
    ++l.counters.transport_feedback_sent;
    const rtcp::RtcpPacket p = std::move(f);
    send_rtcp(l, l.rtcp.build_feedback(std::span<const rtcp::RtcpPacket>(&p, 1), now), now);
  }
  // The SR sender info only when a report may be due (unstarted: the first call starts it).
  if (const auto due = l.rtcp.next_wakeup(); due && *due > now) return;
  std::vector<RtcpSession::Sender> senders;
  for (const Outbound& o : l.outbound) {
    senders.push_back({o.config.ssrc, l.out->stream(o.config.ssrc)->sender_report_info(now, config_.ntp_clock)});
  }
  if (auto report = l.rtcp.maybe_build_report(now, senders, l.statistics)) send_rtcp(l, std::move(*report), now);
}

}  // namespace tern::pipeline
