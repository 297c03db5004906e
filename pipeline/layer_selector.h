// Temporal and spatial layer selection for one subscriber's video stream at a media server (the
// role of mediasoup's SimpleConsumer/SvcConsumer layer handling, for VP8 and VP9 temporal
// scalability and VP9 spatial scalability, SVC; the simulcast encoding is chosen by MediaRouter,
// which calls switch_source() when a subscriber moves to another encoding).
//
//   VideoLayerPacket     what the forwarder reads from a packet's VP8 (RFC 7741) or VP9 (RFC 9628)
//                        payload descriptor: temporal id, switching point, keyframe, picture id;
//                        VP9 also spatial id, B/E (layer frame start/end), P (inter-picture
//                        predicted) and D (inter-layer dependency).
//   TemporalLayerRates   the publisher's incoming rate per spatial x temporal layer, measured at
//                        the server (RTP packet bytes over the last second), shared by every
//                        subscriber.
//   LayerSelector        per subscriber stream: the highest temporal layer whose cumulative rate
//                        fits the subscriber's congestion estimate, with hysteresis (down at
//                        once, up only after the estimate allowed it for `up_hold`), applied at
//                        frames where it is legal: down at any frame, up one layer at a time at a
//                        frame of that layer marked as a switching point (VP8 Y, VP9 U) or at a
//                        keyframe (any layer). Frames above the current layer are dropped whole.
//                        VP8 picture ids of forwarded frames are rewritten so a receiver sees
//                        them contiguous (TL0PICIDX needs no rewrite: TL0 frames are never
//                        dropped); VP9 keeps its picture ids, since flexible mode's P_DIFF
//                        references name them and receivers follow those references across gaps.
//                        VP9 SVC (a stream whose packets carry more than one spatial id): the
//                        target is a (spatial, temporal) pair whose cumulative rate fits the
//                        estimate, frame rate first: the highest spatial layer whose every
//                        temporal layer fits, or, when not even the base spatial layer fits
//                        whole, its highest temporal layer that fits (the base pair always;
//                        mediasoup prefers the spatial layer, which left a subscriber at 5 fps in
//                        the Chromium check), with the same hysteresis on the pair. Until the
//                        rates are measured (a second) every layer is forwarded: going down is
//                        free, going up costs a keyframe. A first choice above the layers flowing
//                        (a subscriber joining a measured stream starts at the base spatial
//                        layer) waits up_hold like any step up. Down: at the next picture
//                        (dropping upper spatial layers is always legal). Up: at a keyframe
//                        picture (its upper layers use no inter-picture prediction: in K-SVC,
//                        L3T3_KEY, only inter-layer dependencies are there; full SVC's intra-only
//                        upper layer frames in delta pictures are not used, since the layer below
//                        has already gone out marked as the picture's end); meanwhile
//                        wants_keyframe() asks the forwarder to request one upstream. Spatial
//                        layers above the picture's chosen one are dropped whole, and the last
//                        packet (E) of the highest forwarded one gets the RTP marker (VP9: end of
//                        picture), so the receiver's frame assembly completes the picture. A
//                        picture in which the encoder skipped that very layer ends unmarked (the
//                        receiver completes it when the next picture starts).
// The forwarder pairs the selector with the stream's SeqRewriter: a dropped packet is passed to
// SeqRewriter::drop() (with the gap before it when the selector says the gap lies inside the
// dropped frame), so sequence numbers stay contiguous and NACKs never name a dropped packet.
//
// A stream whose packets carry no temporal id (one layer), or whose payload does not parse as the
// stream's codec (RED, a foreign codec), passes untouched. Sans-I/O; bounded: the decisions of the
// last kFrameCache frames are kept for late packets (older ones are decided by the current layer).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "tern/codecs/codec_type.h"
#include "tern/core/seq_num.h"
#include "tern/core/units.h"

namespace tern::pipeline {

struct VideoLayerPacket {
  std::optional<uint8_t> temporal_id;  // none: no temporal layering in this packet
  bool switching_point = false;        // VP8 Y (layer sync) / VP9 U (switching up point)
  bool keyframe = false;               // first packet of a keyframe
  bool frame_start = false;            // VP8 S=1 PID=0 / VP9 B (of any spatial layer)
  bool picture_start = false;          // VP8 as frame_start / VP9 B of spatial layer 0
  // VP9 only (spatial scalability):
  std::optional<uint8_t> spatial_id;   // SID (with L)
  bool layer_end = false;              // E: last packet of its layer frame
  bool inter_picture_predicted = false;  // P
  bool inter_layer_dependency = false;   // D
  uint8_t ss_spatial_layers = 0;         // N_S + 1 of an SS in this packet (0: none)
  std::optional<uint16_t> picture_id;
  bool picture_id_15bit = true;
  size_t picture_id_offset = 0;  // byte offset of the picture id in the payload
  std::optional<uint8_t> tl0_pic_idx;  // VP8 L: TL0PICIDX
  size_t tl0_pic_idx_offset = 0;       // its byte offset in the payload

  // Nullopt when `payload` is not a VP8/VP9 payload with a valid descriptor.
  static std::optional<VideoLayerPacket> Parse(codecs::CodecType codec, std::span<const uint8_t> payload);
};

class TemporalLayerRates {
 public:
  static constexpr int kMaxLayers = 4;  // VP8 TID 0..3; VP9 TIDs above 3 count as layer 3
  // VP9 SIDs above 3 count as spatial layer 3 (Chromium sends at most 3; a selector at the top
  // layer forwards them all).
  static constexpr int kMaxSpatialLayers = 4;
  static constexpr int kBuckets = 10;   // of 100 ms: a one-second window

  // One packet of layer `temporal_id` of spatial layer `spatial_id` (`bytes`: the whole RTP
  // packet) at `now` (non-decreasing).
  void on_packet(uint8_t temporal_id, size_t bytes, Timestamp now, uint8_t spatial_id = 0);
  // Temporal layers seen in the last second, over every spatial layer (0 before any layered packet).
  int num_layers(Timestamp now) const;
  // Spatial layers seen in the last second (0 before any layered packet).
  int num_spatial_layers(Timestamp now) const;
  // The rate of temporal layers 0..`layer` of spatial layers 0..`spatial` (default: all) together
  // over the last second; nullopt before a full second of measurement.
  std::optional<DataRate> rate_up_to(int layer, Timestamp now, int spatial = kMaxSpatialLayers - 1) const;

  // Every cumulative rate at once (one pass over the window): cumulative[s][t] is the rate of
  // spatial layers 0..s with temporal layers 0..t; `spatial`/`temporal` the layers seen.
  struct Table {
    int spatial = 0, temporal = 0;
    std::array<std::array<DataRate, kMaxLayers>, kMaxSpatialLayers> cumulative{};
  };
  // Nullopt before a full second of measurement.
  std::optional<Table> table(Timestamp now) const;

 private:
  struct Bucket {
    int64_t index = -1;  // now / 100 ms
    std::array<std::array<int64_t, kMaxLayers>, kMaxSpatialLayers> bytes{};  // [spatial][temporal]
  };
  std::array<Bucket, kBuckets> buckets_{};
  Timestamp first_ = Timestamp::PlusInfinity();
};

class LayerSelector {
 public:
  static constexpr size_t kFrameCache = 64;

  struct Config {
    codecs::CodecType codec = codecs::CodecType::kVp8;
    // How long the estimate must allow a higher layer before the selector moves up.
    TimeDelta up_hold = TimeDelta::Seconds(2);
    // Off: every packet is forwarded untouched (a router without selection).
    bool enabled = true;
    // Until the publisher's layer rates are measured (a second), forward every layer rather than
    // the base layer alone (MediaRouter sets it for simulcast, whose encoding choice already bounds
    // the rate).
    bool follow_until_measured = false;
  };
  struct Counters {
    int current_layer = -1;  // -1: not layered (yet)
    int target_layer = -1;
    uint64_t switches_up = 0, switches_down = 0;
    uint64_t frames_dropped = 0, packets_dropped = 0, bytes_dropped = 0;
    // VP9 SVC: the highest spatial layer forwarded (-1: no spatial ids seen), the target (-1:
    // every layer until the rates are measured), switches, layer frames of dropped spatial layers.
    int current_spatial = -1;
    int target_spatial = -1;
    uint64_t spatial_switches_up = 0, spatial_switches_down = 0;
    uint64_t spatial_frames_dropped = 0;
  };
  struct Decision {
    bool forward = true;
    // The input sequence numbers between the newest seen and this one (lost upstream) can only
    // belong to dropped frames: take them out of the numbering too (dropped packet:
    // SeqRewriter::drop(seq, true); forwarded: SeqRewriter::drop(seq - 1, true) first).
    bool drop_gap = false;
    // Set the RTP marker on the forwarded packet: it ends the highest spatial layer forwarded of
    // its picture (VP9 SVC with upper spatial layers dropped).
    bool marker = false;
  };

  explicit LayerSelector(const Config& config) : config_(config) {}

  // The subscriber's estimate and the publisher's layer rates: recomputes the target layer.
  void update(DataRate estimate, const TemporalLayerRates& rates, Timestamp now);
  // One packet of the stream (every packet, in arrival order, duplicates included): forward or
  // drop. A forwarded VP8 packet's picture id is rewritten in `payload` (same size).
  Decision on_packet(uint16_t seq, uint32_t rtp_timestamp, bool marker, std::span<uint8_t> payload, Timestamp now);
  // The same with the payload's descriptor already parsed by the caller (a forwarder parses each
  // packet once for all its subscribers): `parsed` must be VideoLayerPacket::Parse(codec, payload)
  // of these bytes before any rewrite.
  Decision on_packet(uint16_t seq, uint32_t rtp_timestamp, bool marker, std::span<uint8_t> payload,
                     const std::optional<VideoLayerPacket>& parsed, Timestamp now);

  // VP9 SVC: the target spatial layer is above the one forwarded, and only a keyframe (K-SVC) or
  // an intra-only upper layer frame lets the selector move up: the forwarder should ask the
  // publisher for a keyframe (rate-limited on its side).
  bool wants_keyframe() const { return target_spatial_ >= 0 && current_spatial_ >= 0 && target_spatial_ > current_spatial_; }

  // Simulcast: the next packet comes from another encoding (another SSRC, its own sequence
  // numbers, timestamps, picture ids and TL0PICIDX), starting with a keyframe. The frame cache and
  // sequence tracking restart; VP8 picture ids and TL0PICIDX are shifted so the receiver sees them
  // continue from the last ones forwarded (applied to every packet from now on, layered or not,
  // and even when selection is disabled). The temporal layer choice is kept.
  void switch_source();

  const Counters& counters() const { return counters_; }
  // The layer the estimate allows now (before hysteresis), for tests and stats; -1 unknown.
  int desired_layer() const { return desired_; }
  // The estimate the next step up needs (the cumulative rate of the layer above the one the
  // estimate allows now), as of the last update(); nullopt at the top layer, before the rates are
  // measured, or with selection off. A prober toward the subscriber aims here; a selector with
  // more kinds of steps (simulcast encodings) answers with its own next step.
  std::optional<DataRate> next_step_rate() const { return next_step_rate_; }

 private:
  static constexpr int kAllSpatial = 127;
  struct Frame {
    uint32_t timestamp = 0;
    bool valid = false;
    bool forward = true;  // the picture's temporal layer is forwarded
    uint16_t out_picture_id = 0;
    int max_spatial = kAllSpatial;  // spatial layers above are dropped
    bool keyframe = false;          // its first packet seen started a keyframe
  };
  Frame* find_frame(uint32_t timestamp);
  Frame& decide(const VideoLayerPacket& p, uint32_t timestamp);
  // update() for a stream with more than one spatial layer.
  void update_spatial(DataRate estimate, const TemporalLayerRates& rates, Timestamp now);
  // Whether one packet of picture `f` goes, by its spatial layer.
  bool select_spatial(const VideoLayerPacket& p, const Frame& f);
  void rewrite_picture_id(const VideoLayerPacket& p, const Frame& f, std::span<uint8_t> payload) const;
  // Simulcast continuity: shifts picked at the first packet after switch_source(), the newest
  // numbers sent, and the rewrite of a forwarded packet's TL0PICIDX (and picture id when
  // unlayered).
  void rebase(const VideoLayerPacket& p);
  void rewrite_continuity(const VideoLayerPacket& p, std::optional<uint16_t> out_picture_id, std::span<uint8_t> payload);

  Config config_;
  Counters counters_;
  int current_ = -1;  // layer forwarded: -1 until the first layered frame
  int target_ = -1;   // layer the hysteresis allows
  int desired_ = -1;  // layer the estimate allows
  int current_spatial_ = -1;  // VP9 SVC: highest spatial layer forwarded (following: seen)
  int target_spatial_ = -1;   // -1: every spatial layer (rates not measured yet)
  bool svc_ = false;          // a spatial id above 0 was seen
  // Following (no target yet): the highest spatial layer forwarded in a keyframe picture, what the
  // receiver can decode (-1: none). A first choice goes up from there only after up_hold.
  int keyframe_spatial_ = -1;
  std::optional<DataRate> next_step_rate_;
  Timestamp up_since_ = Timestamp::PlusInfinity();
  std::array<Frame, kFrameCache> frames_{};
  size_t next_frame_ = 0;
  std::optional<uint32_t> newest_timestamp_;
  RtpSeqUnwrapper seq_unwrapper_;
  std::optional<int64_t> newest_seq_;
  bool newest_dropped_ = false;        // the newest packet seen was dropped
  uint32_t newest_packet_timestamp_ = 0;
  bool newest_marker_ = false;          // the input marker: the picture ended
  bool newest_rest_dropped_ = false;    // the rest of the newest packet's picture is dropped
  std::optional<uint16_t> newest_picture_id_;  // input numbering
  int64_t picture_id_shift_ = 0;       // dropped pictures so far (VP8), plus a switch's shift
  bool rebase_pending_ = false;        // switch_source() called, no packet of the new source yet
  bool switched_ = false;              // a switch happened: rewrite every packet's numbers
  int64_t tl0_shift_ = 0;
  std::optional<uint16_t> last_out_picture_id_;  // newest forwarded (output numbering)
  std::optional<uint8_t> last_out_tl0_;
};

}  // namespace tern::pipeline
