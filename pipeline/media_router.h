// MediaRouter: the forwarding core of a media server (an SFU), at the RTP level (no decode), for
// any number of legs. A leg is one peer of the server (one transport: a WebRTC session, a side of
// a call); it receives some streams (inbound: what its peer sends) and sends some (outbound: what
// other legs receive, forwarded). Each hop terminates loss recovery and congestion feedback:
//   - RTP from a leg goes through one RtpReceiveFront per inbound stream: RTX-unwrapped (RFC
//     4588), accounted (RFC 3550 statistics, RR toward that leg), gap-checked by its own NACK
//     generator (NACKs go upstream, to that leg); the leg answers with its own transport-cc
//     feedback; what passes is forwarded to every other leg with an outbound stream of that SSRC,
//     each with the leg's own sequence numbers (SSRC and timestamps kept; seq rewritten by unwrap +
//     offset, core/seq_rewriter.h) and its own transport-wide sequence numbers (a SendTransport per
//     leg, unpaced: it forwards at the rate it receives; its controller only estimates, below);
//   - forwarded packets are kept in a per-leg, per-stream packet history, so a leg's NACKs are
//     answered by the server (RTX on the stream's RTX SSRC), never by the original sender, and one
//     leg's loss never reaches another leg; the histories refer to one shared copy of each inbound
//     stream's packets (recovery/packet_store.h) and keep only what their leg got differently;
//   - PLI/FIR from a leg are relayed to the leg that receives the stream, at most one per
//     `keyframe_request_interval` per stream (the rest are counted as suppressed: N subscribers
//     asking at once make one request upstream);
//   - SR/RR are regenerated per leg (SR NTP/RTP stays consistent with the sender's mapping, so A/V
//     sync downstream still works); REMB and transport-cc from a leg end here;
//   - each leg keeps its own numbers: forwarded packets take the receiving leg's payload types and
//     header extension ids (Config::rewrite_numbers);
//   - a leg whose GCC estimate is short of its next layer is probed: GCC probe clusters of
//     padding-only RTX plus the media forwarded meanwhile, within per-leg and router-wide padding
//     budgets (Config::subscriber_probing, pipeline/subscriber_prober.h).
// Sans-I/O: on_packet(leg, plain RTP/RTCP, now), next_wakeup(), process(now); each leg's packets
// leave through its DatagramSink (the caller protects them: SRTP, ICE). MediaServer is the
// two-leg assembly of this router.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "tern/codecs/codec_type.h"
#include "tern/core/buffer_pool.h"
#include "tern/core/datagram_sink.h"
#include "tern/core/random.h"
#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/pipeline/pipeline_config.h"
#include "tern/pipeline/subscriber_prober.h"
#include "tern/recovery/packet_store.h"
#include "tern/rtp/header_extensions.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::pipeline {

struct VideoLayerPacket;  // layer_selector.h

class MediaRouter {
 public:
  using LegId = uint32_t;

  // One stream a leg sends to the server (inbound) or receives from it (outbound, same SSRCs).
  struct ForwardedStream {
    uint32_t ssrc = 0;
    std::optional<uint32_t> rtx_ssrc;
    // Inbound: the sender's numbers. Outbound: the receiving leg's (Config::rewrite_numbers maps
    // the sending stream's media type to this one; RTX answers and probe padding use this RTX type).
    uint8_t rtx_payload_type = 97;
    uint8_t media_payload_type = 96;  // what RTX packets restore (apt)
    // Video RED (ULPFEC in RED): the media comes RED-wrapped, its retransmissions carry the media
    // block alone under the codec's RTX type (both ways: PacketHistory unwraps for the answers).
    std::optional<uint8_t> red_payload_type;
    // The ULPFEC payload type inside that RED: FEC packets are forwarded but never retransmitted
    // (recovery::PacketHistory::Config::fec_payload_type).
    std::optional<uint8_t> ulpfec_payload_type;
    uint32_t clock_rate = 90000;
    bool nack = true;  // generate NACKs upstream / answer them downstream
    // VP8 or VP9: temporal layers are selected per receiving leg (payloads carry descriptors).
    // Nullopt (audio, RED-wrapped video, unknown): forwarded whole.
    std::optional<codecs::CodecType> codec;
    // Simulcast (RFC 8853, encodings named by rid, RFC 8851): the encodings a sender announced,
    // 1..kMaxSimulcastEncodings distinct rids. Their SSRCs are not signalled (Chromium sends no
    // a=ssrc for them): add_leg() takes the stream with no inbound SSRC of its own and the router
    // learns each encoding's SSRC from the first packet carrying its rid in the RtpStreamId
    // extension (`rid_extension_id`), its RTX SSRC from RepairedRtpStreamId
    // (`repaired_rid_extension_id`, 0: no RTX). `ssrc`/`rtx_ssrc` are the server's own: a leg that
    // add_outbound()s this stream receives ONE encoding on them, chosen by its estimate.
    std::vector<std::string> rids;
    uint8_t rid_extension_id = 0;
    uint8_t repaired_rid_extension_id = 0;
  };
  static constexpr size_t kMaxSimulcastEncodings = 4;
  // A leg's RFC 8285 header extensions as its peer negotiated them: id -> URI.
  using ExtensionUris = std::map<uint8_t, std::string>;
  struct Config {
    // The ids of a leg added without ExtensionUris of its own (the SFU gives every leg its own).
    ExtensionIds extension_ids;
    // Per leg, forwarded packets take the receiving leg's numbers: the payload type of its
    // outbound stream (ForwardedStream::media_payload_type, RTX on its rtx_payload_type) and its
    // extension ids, by URI, dropping (zeroing to RFC 8285 padding, in place) the extensions it
    // did not negotiate. Off: packets keep the sender's numbers (a test of what that breaks).
    bool rewrite_numbers = true;
    std::string cname = "tern-sfu";
    TimeDelta rtcp_interval = TimeDelta::Seconds(1);
    NtpClock ntp_clock;
    uint64_t seed = 1;
    // Zero: every PLI/FIR is relayed (a two-party hop). An SFU sets a few hundred ms.
    TimeDelta keyframe_request_interval = TimeDelta::Zero();
    size_t max_legs = 1024;  // add_leg() refuses beyond
    // Not owned, may be null: the buffers forwarded packets are copied into (one per receiving leg
    // per packet); the caller gives the datagrams its sinks sent back to it (tern-sfu's worker after
    // sendmmsg). Null, or a packet larger than its buffers: plain copies.
    BufferPool* buffers = nullptr;
    // A GCC estimate per leg from its transport-cc feedback, and temporal layer selection by it.
    bool subscriber_estimates = true;
    // Off: every temporal layer is forwarded (the estimate is still computed and exposed).
    bool layer_selection = true;
    // A leg's estimate before its feedback says otherwise (GCC's start rate).
    DataRate subscriber_start_rate = DataRate::KilobitsPerSec(1500);
    // How long a leg's estimate must allow a higher layer before it gets it.
    TimeDelta layer_up_hold = TimeDelta::Seconds(2);
    // Simulcast: a leg waiting for the keyframe of the encoding it switches to asks the sender for
    // one (PLI on that encoding's SSRC) at most this often. The same for a leg waiting to go up a
    // VP9 spatial layer (PLI on the stream's SSRC).
    TimeDelta simulcast_keyframe_retry = TimeDelta::Millis(500);
    // Probing toward subscribers (with subscriber_estimates and layer_selection): a leg whose
    // estimate is short of its next layer sends GCC probe clusters of padding-only RTX packets
    // (pipeline/subscriber_prober.h), out of a per-leg and a router-wide padding budget (token
    // buckets holding rate x window). Legs without RTX on their layered video do not probe.
    bool subscriber_probing = true;
    SubscriberProber::Config probing;
    DataRate probe_budget_per_leg = DataRate::KilobitsPerSec(300);
    DataRate probe_budget_total = DataRate::MegabitsPerSec(20);
    TimeDelta probe_budget_window = TimeDelta::Seconds(1);
  };
  // Per-leg counters.
  struct LegCounters {
    uint64_t rtp_packets_received = 0;
    uint64_t rtx_packets_received = 0;   // retransmissions from this leg's sender
    uint64_t packets_repaired_by_rtx = 0;  // of those, ones that filled a packet the server saw missing
    uint64_t duplicates_dropped = 0;     // already forwarded
    uint64_t packets_forwarded = 0;      // RTP sent to this leg (media forwarded from another)
    uint64_t nacks_sent = 0;             // NACK packets sent to this leg (about its streams)
    uint64_t nacked_packets_received = 0;   // sequence numbers this leg asked the server for
    uint64_t retransmissions_sent = 0;   // RTX sent to this leg from the server's history
    uint64_t keyframe_requests_forwarded = 0;  // PLI/FIR from this leg passed upstream
    uint64_t keyframe_requests_suppressed = 0;  // ... held back by keyframe_request_interval
    uint64_t transport_feedback_received = 0;  // terminated here
    uint64_t transport_sequenced_received = 0;  // packets from this leg with a transport-wide seq
    uint64_t transport_feedback_sent = 0;       // transport-cc feedback packets to this leg
    uint64_t rtcp_received = 0;
    uint64_t unknown_ssrc = 0;
    uint64_t malformed = 0;              // RTP that does not parse
    int64_t packets_lost = 0;            // RFC 3550 cumulative lost over this leg's inbound streams
    std::optional<TimeDelta> rtt;        // server <-> this leg
    // Adaptation (Config::subscriber_estimates): the GCC target toward this leg; the temporal
    // layer its (first layered) video stream gets, -1 when none is layered; switches up and
    // down over all its streams; frames and bytes (RTP packets) of higher layers not sent.
    std::optional<DataRate> estimate;
    int temporal_layer = -1;
    uint64_t layer_switches_up = 0;
    uint64_t layer_switches_down = 0;
    uint64_t layer_frames_dropped = 0;
    uint64_t layer_bytes_dropped = 0;
    // VP9 SVC (one SSRC, several spatial layers): the highest spatial layer this leg's (first
    // SVC) video stream gets, -1 when none has spatial layers; switches up (each at a keyframe
    // or an intra-only upper layer frame) and down; PLIs the server sent the publisher because
    // this leg waited to go up a spatial layer (layer_keyframe_requests). Dropped spatial layers
    // count in layer_bytes_dropped.
    int spatial_layer = -1;
    uint64_t spatial_switches_up = 0;
    uint64_t spatial_switches_down = 0;
    uint64_t layer_keyframe_requests = 0;
    // Simulcast: the encoding this leg receives (index into the sender's rids, -1 none yet) and its
    // rid; switches between encodings (each at a keyframe of the new one). On a sending leg:
    // encodings whose SSRC was learned, and packets whose rid the leg did not announce (or named an
    // encoding already bound to another SSRC), dropped.
    int simulcast_encoding = -1;
    std::string simulcast_rid;
    uint64_t encoding_switches = 0;
    uint64_t simulcast_ssrcs_learned = 0;
    uint64_t unknown_rid = 0;
    uint64_t remb_sent = 0;              // REMB packets to this leg (set_send_remb)
    // Probing (Config::subscriber_probing): clusters started and how they ended, padding packets
    // and bytes (RTP packets, IP/UDP not counted), clusters held back by a budget or congestion.
    uint64_t probe_clusters = 0, probe_clusters_succeeded = 0, probe_clusters_failed = 0, probe_clusters_aborted = 0;
    uint64_t probe_packets = 0, probe_bytes = 0;
    uint64_t probes_skipped_budget = 0, probes_skipped_congestion = 0;
    std::optional<DataRate> remb_estimate;  // the receive-side estimate they carry
  };

  static Result<std::unique_ptr<MediaRouter>> Create(const Config& config);
  ~MediaRouter();
  MediaRouter(const MediaRouter&) = delete;
  MediaRouter& operator=(const MediaRouter&) = delete;

  // A new leg sending `inbound` streams (their SSRCs must be new to the router), its packets out
  // through `sink` (not owned; it must outlive the leg). Refused: no sink, rtcp_ssrc 0, a known
  // SSRC, max_legs reached.
  // `extensions`: the leg's own ids (what it stamps, parses and receives); nullopt: the Config's
  // ids, and extensions forwarded between two such legs untouched. Refused also: an id outside
  // 1..255, or a URI twice.
  Result<LegId> add_leg(uint32_t rtcp_ssrc, DatagramSink* sink, const std::vector<ForwardedStream>& inbound,
                        const std::optional<ExtensionUris>& extensions = std::nullopt);
  // `leg` receives `stream` (an SSRC another leg sends, or will send), with its own numbering.
  Status add_outbound(LegId leg, const ForwardedStream& stream);
  // Forgets a leg: its inbound streams stop (legs receiving them keep their numbering and get
  // nothing more), its outbound streams end. Unknown ids are ignored.
  void remove_leg(LegId leg);
  // `leg`'s peer adapts to REMB (it negotiated goog-remb and not transport-cc): the server runs a
  // receive-side estimate on the abs-send-time of what the leg sends and answers with REMB.
  Status set_send_remb(LegId leg, bool on);
  bool has_leg(LegId leg) const;
  size_t leg_count() const { return legs_.size(); }

  // A plain (already unprotected) RTP or RTCP packet from `leg`'s peer. Unknown legs are ignored.
  void on_packet(LegId leg, std::span<const uint8_t> datagram, Timestamp now);
  std::optional<Timestamp> next_wakeup() const;
  void process(Timestamp now);

  // Asks `leg`'s peer for a keyframe of its inbound stream `media_ssrc` (a PLI) on the server's own
  // behalf (tern-sfu's recorder switching simulcast encodings), within the stream's
  // keyframe_request_interval shared with the relayed requests. False: not an inbound SSRC of
  // `leg` (a simulcast encoding before its SSRC is learned included), or held back by the interval.
  bool request_keyframe(LegId leg, uint32_t media_ssrc, Timestamp now);

  // Counters of one leg (zeros for an unknown id).
  LegCounters counters(LegId leg) const;
  // The incoming rate of layers 0..i of the VP8/VP9 stream `ssrc` over the last second, for each
  // temporal layer i seen (empty: unknown stream, not layered, or under a second measured).
  std::vector<DataRate> layer_rates(uint32_t ssrc, Timestamp now);
  // Simulcast stream `ssrc` (the server's SSRC of the group): each announced encoding's incoming
  // rate over the last second, in rid order (nullopt: its SSRC not learned or under a second).
  std::vector<std::optional<DataRate>> encoding_rates(uint32_t ssrc, Timestamp now);

 private:
  struct Inbound;
  struct Outbound;
  struct SimulcastGroup;
  struct SimulcastState;
  struct Leg;
  class LegListener;
  class Forwarder;

  explicit MediaRouter(const Config& config);
  Leg* find_leg(LegId id);
  const Leg* find_leg(LegId id) const;
  // The leg that receives `ssrc` (inbound), and its stream.
  std::pair<Leg*, Inbound*> find_source(uint32_t ssrc);
  void forward(LegId from, uint32_t ssrc, const rtp::RtpPacket& packet, Timestamp now);
  // `layer`: the packet's VP8/VP9 descriptor as forward() parsed it once for every leg, or null
  // (not parsed: the leg's LayerSelector parses it).
  // `stored`: the packet as forward() got it, in the source's store (the leg's RTX history refers to
  // it), or none (the history copies).
  void forward_to(Leg& to, Outbound& o, rtp::RtpPacket packet, const Inbound* source,
                  const std::optional<VideoLayerPacket>* layer, const recovery::StoredPacketRef& stored,
                  Timestamp now, uint32_t timestamp_offset = 0);
  // Simulcast: learns an unknown SSRC of `l` from its rid/repaired-rid extension; the Inbound it
  // belongs to now, or null (counted).
  Inbound* learn_simulcast(Leg& l, const rtp::RtpPacket& packet);
  bool ssrc_in_use(uint32_t ssrc);
  // A leg's own copy of a forwarded packet, in a pooled buffer when Config::buffers has one.
  rtp::RtpPacket copy_of(const rtp::RtpPacket& packet) const;
  // Passes one packet of encoding `source` on to `to` when it is the encoding `to` receives (or
  // the keyframe `to` waits for to switch): SSRC, timestamps, sequence numbers rewritten.
  void forward_simulcast(Leg& to, Outbound& o, rtp::RtpPacket packet, const Inbound& source,
                         const std::optional<VideoLayerPacket>* layer, const recovery::StoredPacketRef& stored,
                         Timestamp now);
  // The leg's choice of encoding by its estimate; asks for the target's keyframe while it waits.
  void select_encoding(Leg& l, Outbound& o, Timestamp now);
  // The sending leg and group of simulcast stream `group_ssrc`.
  std::pair<Leg*, SimulcastGroup*> find_group(uint32_t group_ssrc);
  // The leg's controller tick and its selectors' targets.
  void update_estimate(Leg& l, Timestamp now);
  // Probing toward the leg: a new cluster when the prober starts one, and its padding when due.
  void update_probing(Leg& l, Timestamp now);
  void send_probe_padding(Leg& l, Timestamp now);
  // The receiving leg's payload type and extension ids on a forwarded packet (Config::
  // rewrite_numbers); false: the packet could not be rewritten (dropped, counted malformed).
  bool rewrite_numbers(Leg& to, Outbound& o, rtp::RtpPacket& packet, const Inbound* source);
  bool probing() const { return config_.subscriber_probing && config_.subscriber_estimates && config_.layer_selection; }
  // VP9 SVC: `l` waits for a keyframe to go up a spatial layer of `o` (sent by `up` as `in`): a
  // PLI upstream, at most once per simulcast_keyframe_retry for the leg and within the stream's
  // keyframe_request_interval.
  void request_layer_keyframe(Leg& l, Outbound& o, Leg& up, Inbound& in, Timestamp now);
  void relay_keyframe_request(Leg& asking, uint32_t media_ssrc, bool fir, Timestamp now);
  void send_rtcp(Leg& to, std::vector<uint8_t> bytes, Timestamp now);
  // One leg's timers (what next_wakeup() takes the earliest of), and its share of process().
  std::optional<Timestamp> leg_wakeup(const Leg& l) const;
  void process_leg(Leg& l, Timestamp now);
  // The leg's deadline may have moved (it received a packet, sent RTCP, was added to): recomputed
  // at the next next_wakeup() or process().
  void touch(const Leg& l);

  Config config_;
  rtp::ExtensionMap extensions_;
  Random rng_;
  std::map<LegId, std::unique_ptr<Leg>> legs_;  // ordered: processing order is the order legs came
  // A leg receiving a stream, and its Outbound of it: looked up once (add_outbound), not per packet.
  struct Receiver {
    LegId id;
    Leg* leg;
    Outbound* outbound;  // in leg->outbound: relinked whenever that vector changes (relink())
  };
  // SSRC -> the legs with an outbound stream of it, in leg order (what forward() visits per packet
  // instead of every leg). Kept by add_outbound() and remove_leg(); at most max_legs x 64 entries.
  std::map<uint32_t, std::vector<Receiver>> receivers_;
  // Points the leg's receiver entries at its Outbounds again (their vector may have moved them).
  void relink(Leg& l);
  // A simulcast group's SSRC -> the leg that sends it (find_group() per tick without a scan).
  std::map<uint32_t, LegId> group_owners_;
  LegId next_id_ = 0;
  PaddingBudget probe_budget_;  // every leg's probes together
  // Every leg's deadline, in leg id order (legs_'s), in one flat array: next_wakeup() and process()
  // run at every wakeup of a worker serving hundreds of legs, and most legs have nothing due; a
  // leg's entry is recomputed only when something touched it (`dirty`). `force`: process() visits
  // the leg at its next call whatever its deadline, as every leg was visited before (a probe
  // cluster being sent, a keyframe request from its NACK generator). One entry per leg (max_legs).
  struct LegWake {
    LegId id = 0;
    Leg* leg = nullptr;
    Timestamp at = Timestamp::PlusInfinity();  // PlusInfinity: nothing scheduled
    bool dirty = true;
    bool force = false;
  };
  mutable std::vector<LegWake> wakes_;
  // find_source()'s memory: SSRC -> the leg that sent it when last looked up (checked on use).
  std::unordered_map<uint32_t, LegId> source_legs_;
  LegWake* wake_of(LegId id) const;
};

}  // namespace tern::pipeline
