#include "tern/pipeline/layer_selector.h"

#include <algorithm>

#include "tern/rtp/payload/vp8_payload.h"
#include "tern/rtp/payload/vp9_payload.h"

namespace tern::pipeline {

namespace {
constexpr TimeDelta kBucket = TimeDelta::Millis(100);

bool newer_timestamp(uint32_t a, uint32_t b) { return a != b && static_cast<uint32_t>(a - b) < 0x8000'0000u; }
}  // namespace

std::optional<VideoLayerPacket> VideoLayerPacket::Parse(codecs::CodecType codec, std::span<const uint8_t> payload) {
  VideoLayerPacket p;
  if (codec == codecs::CodecType::kVp8) {
    auto parsed = rtp::Vp8Depacketizer::parse(payload);
    if (!parsed) return std::nullopt;
    const rtp::Vp8Descriptor& d = parsed->descriptor;
    p.temporal_id = d.temporal_id;
    p.switching_point = d.temporal_id.has_value() && d.layer_sync;
    p.keyframe = parsed->is_first_packet_in_frame && parsed->is_keyframe;
    p.frame_start = parsed->is_first_packet_in_frame;
    p.picture_start = p.frame_start;
    p.picture_id = d.picture_id;
    p.picture_id_15bit = d.picture_id_15bit;
    p.picture_id_offset = 2;  // X byte, then I|L|T|K, then the picture id (present only with X and I)
    p.tl0_pic_idx = d.tl0_pic_idx;  // after the picture id (present only with X and L)
    p.tl0_pic_idx_offset = 2 + (d.picture_id ? (d.picture_id_15bit ? 2 : 1) : 0);
    return p;
  }
  if (codec == codecs::CodecType::kVp9) {
    auto parsed = rtp::Vp9Depacketizer::parse(payload);
    if (!parsed) return std::nullopt;
    const rtp::Vp9Descriptor& d = parsed->descriptor;
    if (d.layer) {
      p.temporal_id = d.layer->temporal_id;
      p.switching_point = d.layer->switching_up;
      p.spatial_id = d.layer->spatial_id;
      p.inter_layer_dependency = d.layer->inter_layer_dependency;
    }
    p.keyframe = d.start_of_frame && parsed->is_keyframe;
    p.frame_start = d.start_of_frame;
    p.picture_start = d.start_of_frame && p.spatial_id.value_or(0) == 0;
    p.layer_end = d.end_of_frame;
    p.inter_picture_predicted = d.inter_picture_predicted;
    if (d.ss) p.ss_spatial_layers = d.ss->num_spatial_layers;
    p.picture_id = d.picture_id;
    p.picture_id_15bit = d.picture_id_15bit;
    p.picture_id_offset = 1;
    return p;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------

void TemporalLayerRates::on_packet(uint8_t temporal_id, size_t bytes, Timestamp now, uint8_t spatial_id) {
  if (first_.is_plus_infinity()) first_ = now;
  const int64_t index = now.us() / kBucket.us();
  Bucket& b = buckets_[static_cast<size_t>(index % kBuckets)];
  if (b.index != index) b = Bucket{index, {}};
  b.bytes[std::min<size_t>(spatial_id, kMaxSpatialLayers - 1)][std::min<size_t>(temporal_id, kMaxLayers - 1)] +=
      static_cast<int64_t>(bytes);
}

int TemporalLayerRates::num_layers(Timestamp now) const {
  const int64_t index = now.us() / kBucket.us();
  int n = 0;
  for (const Bucket& b : buckets_) {
    if (b.index < 0 || index - b.index >= kBuckets) continue;
    for (const auto& spatial : b.bytes) {
      for (int l = 0; l < kMaxLayers; ++l) {
        if (spatial[static_cast<size_t>(l)] > 0) n = std::max(n, l + 1);
      }
    }
  }
  return n;
}

int TemporalLayerRates::num_spatial_layers(Timestamp now) const {
  const int64_t index = now.us() / kBucket.us();
  int n = 0;
  for (const Bucket& b : buckets_) {
    if (b.index < 0 || index - b.index >= kBuckets) continue;
    for (int s = 0; s < kMaxSpatialLayers; ++s) {
      for (int64_t v : b.bytes[static_cast<size_t>(s)]) {
        if (v > 0) n = std::max(n, s + 1);
      }
    }
  }
  return n;
}

std::optional<DataRate> TemporalLayerRates::rate_up_to(int layer, Timestamp now, int spatial) const {
  if (first_.is_plus_infinity() || now - first_ < kBucket * kBuckets) return std::nullopt;
  const int64_t index = now.us() / kBucket.us();
  int64_t bytes = 0;
  for (const Bucket& b : buckets_) {
    // The last kBuckets - 1 whole buckets and the current partial one: about one second.
    if (b.index < 0 || index - b.index >= kBuckets) continue;
    for (int s = 0; s <= std::min(spatial, kMaxSpatialLayers - 1); ++s) {
      for (int l = 0; l <= std::min(layer, kMaxLayers - 1); ++l) bytes += b.bytes[static_cast<size_t>(s)][static_cast<size_t>(l)];
    }
  }
  const TimeDelta span = kBucket * (kBuckets - 1) + TimeDelta::Micros(now.us() % kBucket.us());
  return DataSize::Bytes(bytes) / span;
}

std::optional<TemporalLayerRates::Table> TemporalLayerRates::table(Timestamp now) const {
  if (first_.is_plus_infinity() || now - first_ < kBucket * kBuckets) return std::nullopt;
  const int64_t index = now.us() / kBucket.us();
  std::array<std::array<int64_t, kMaxLayers>, kMaxSpatialLayers> sum{};
  Table t;
  for (const Bucket& b : buckets_) {
    if (b.index < 0 || index - b.index >= kBuckets) continue;
    for (size_t s = 0; s < sum.size(); ++s) {
      for (size_t l = 0; l < sum[s].size(); ++l) {
        sum[s][l] += b.bytes[s][l];
        if (b.bytes[s][l] > 0) {
          t.spatial = std::max(t.spatial, static_cast<int>(s) + 1);
          t.temporal = std::max(t.temporal, static_cast<int>(l) + 1);
        }
      }
    }
  }
  const TimeDelta span = kBucket * (kBuckets - 1) + TimeDelta::Micros(now.us() % kBucket.us());
  // Cumulative over both dimensions: [s][t] = sum of [s' <= s][t' <= t].
  std::array<int64_t, kMaxLayers> below{};  // cumulative bytes of the spatial layers below, per t
  for (size_t s = 0; s < sum.size(); ++s) {
    int64_t row = 0;
    for (size_t l = 0; l < sum[s].size(); ++l) {
      row += sum[s][l];
      below[l] += row;
      t.cumulative[s][l] = DataSize::Bytes(below[l]) / span;
    }
  }
  return t;
}

// ---------------------------------------------------------------------------------------------

void LayerSelector::update(DataRate estimate, const TemporalLayerRates& rates, Timestamp now) {
  const int spatial_layers = rates.num_spatial_layers(now);
  if (spatial_layers > 1) {
    update_spatial(estimate, rates, now);
    return;
  }
  // One spatial layer (VP8, VP9 without SVC, or a VP9 SVC publisher sending its base layer alone):
  // once measured, upper spatial layers that appear wait for a keyframe.
  if (spatial_layers == 1 && target_spatial_ != 0 && rates.rate_up_to(0, now)) target_spatial_ = 0;
  if (config_.follow_until_measured && target_ < 0 && !rates.rate_up_to(0, now)) return;  // every layer meanwhile
  const int layers = rates.num_layers(now);
  next_step_rate_.reset();
  if (layers <= 1) {
    desired_ = layers - 1;
    return;
  }
  int desired = 0;  // the base layer goes whatever the estimate: without it nothing decodes
  for (int l = layers - 1; l > 0; --l) {
    const std::optional<DataRate> r = rates.rate_up_to(l, now);
    if (r && *r <= estimate) {
      desired = l;
      break;
    }
  }
  if (!config_.enabled) desired = layers - 1;
  desired_ = desired;
  if (desired + 1 < layers) next_step_rate_ = rates.rate_up_to(desired + 1, now);
  if (target_ < 0 || desired < target_) {
    target_ = desired;  // down at once
    up_since_ = Timestamp::PlusInfinity();
  } else if (desired > target_) {
    if (up_since_.is_plus_infinity()) up_since_ = now;
    if (now - up_since_ >= config_.up_hold || !config_.enabled) {
      target_ = desired;
      up_since_ = Timestamp::PlusInfinity();
    }
  } else {
    up_since_ = Timestamp::PlusInfinity();
  }
  counters_.target_layer = target_;
}

void LayerSelector::update_spatial(DataRate estimate, const TemporalLayerRates& rates, Timestamp now) {
  next_step_rate_.reset();
  const std::optional<TemporalLayerRates::Table> t = rates.table(now);
  if (!t) {
    // Every layer until measured: going down is free, going up a spatial layer costs a keyframe.
    target_ = TemporalLayerRates::kMaxLayers - 1;  // (reported as no target yet)
    return;
  }
  const int spatial = std::max(t->spatial, 1), temporal = std::max(t->temporal, 1);
  auto rate = [&t](int s, int l) { return t->cumulative[static_cast<size_t>(s)][static_cast<size_t>(l)]; };
  // Frame rate first: the highest spatial layer whose every temporal layer fits; when not even the
  // base spatial layer fits whole, its highest temporal layer that fits (the base pair whatever
  // the estimate). A subscriber short of bandwidth sees a smaller picture at the full frame rate
  // rather than a larger one at a fraction of it.
  int ds = 0, dt = temporal - 1;
  if (!config_.enabled) {
    ds = spatial - 1;
  } else {
    for (int s = 1; s < spatial; ++s) {
      if (rate(s, temporal - 1) <= estimate) ds = s;
    }
    while (dt > 0 && ds == 0 && rate(0, dt) > estimate) --dt;
  }
  desired_ = dt;
  // The nearest step up: the next temporal layer of the base, or the next spatial layer whole.
  if (dt + 1 < temporal) {
    next_step_rate_ = rate(0, dt + 1);
  } else if (ds + 1 < spatial) {
    next_step_rate_ = rate(ds + 1, temporal - 1);
  }
  const int desired = ds * TemporalLayerRates::kMaxLayers + dt;
  const int target = target_spatial_ * TemporalLayerRates::kMaxLayers + target_;
  const int flowing = std::max(keyframe_spatial_, 0);  // what the receiver can decode already
  if ((target_spatial_ < 0 || target_ < 0) && ds > flowing) {
    // The first choice, above what flows: the spatial layers flowing whole at once, the rest after
    // up_hold like any step up (a subscriber that just joined has an estimate nothing tested yet;
    // going up costs a keyframe, going down is free).
    target_spatial_ = flowing;
    target_ = temporal - 1;
    up_since_ = now;
  } else if (target_spatial_ < 0 || target_ < 0 || desired < target) {
    target_spatial_ = ds;  // the first choice, or down: at once
    target_ = dt;
    up_since_ = Timestamp::PlusInfinity();
  } else if (desired > target) {
    if (up_since_.is_plus_infinity()) up_since_ = now;
    if (now - up_since_ >= config_.up_hold || !config_.enabled) {
      target_spatial_ = ds;
      target_ = dt;
      up_since_ = Timestamp::PlusInfinity();
    }
  } else {
    up_since_ = Timestamp::PlusInfinity();
  }
  counters_.target_layer = target_;
  counters_.target_spatial = target_spatial_;
}

bool LayerSelector::select_spatial(const VideoLayerPacket& p, const Frame& f) {
  const int sid = *p.spatial_id;
  if (target_spatial_ < 0) {  // following: everything goes
    current_spatial_ = std::max(current_spatial_, sid);
    if (f.keyframe) keyframe_spatial_ = std::max(keyframe_spatial_, sid);
    return true;
  }
  // SIDs past the rates' last spatial layer count as it: at that target they all go.
  const bool forward = sid <= f.max_spatial || f.max_spatial >= TemporalLayerRates::kMaxSpatialLayers - 1;
  if (!forward && f.forward && p.frame_start) ++counters_.spatial_frames_dropped;
  return forward;
}

LayerSelector::Frame* LayerSelector::find_frame(uint32_t timestamp) {
  for (Frame& f : frames_) {
    if (f.valid && f.timestamp == timestamp) return &f;
  }
  return nullptr;
}

LayerSelector::Frame& LayerSelector::decide(const VideoLayerPacket& p, uint32_t timestamp) {
  const bool newest = !newest_timestamp_ || newer_timestamp(timestamp, *newest_timestamp_);
  Frame& f = frames_[next_frame_];
  next_frame_ = (next_frame_ + 1) % kFrameCache;
  f = Frame{timestamp, true, true, 0, kAllSpatial, p.keyframe};
  const int tid = *p.temporal_id;
  if (p.spatial_id && target_spatial_ >= 0) {
    // VP9 SVC: the picture's spatial layers, decided at its first packet. Down at any new
    // picture; up at a keyframe, whose upper layers use no inter-picture prediction (a VP9
    // keyframe resets every reference), so they decode from the layers below. Full SVC's
    // intra-only upper layer frames in delta pictures are not switch points here: the layer
    // below has already gone out marked as the end of the picture (nothing is held back).
    // An older picture is decided by the current layer.
    if (current_spatial_ < 0) current_spatial_ = 0;
    if (newest && current_spatial_ > target_spatial_) {
      ++counters_.spatial_switches_down;
      current_spatial_ = target_spatial_;
    } else if (newest && p.keyframe && current_spatial_ < target_spatial_) {
      ++counters_.spatial_switches_up;
      current_spatial_ = target_spatial_;
    }
    f.max_spatial = current_spatial_;
  }
  if (newest) {
    newest_timestamp_ = timestamp;
    const int target = target_ < 0 ? tid : target_;  // no estimate yet: follow what comes
    if (current_ < 0) {
      // An SVC keyframe before any estimate: every layer (as the spatial ones) until measured.
      current_ = target_ < 0 && p.ss_spatial_layers > 1 ? TemporalLayerRates::kMaxLayers - 1 : target;
    } else if (p.keyframe && target != current_) {
      (target > current_ ? counters_.switches_up : counters_.switches_down) += 1;
      current_ = target;
    } else if (target < current_) {
      ++counters_.switches_down;  // any frame boundary: frames above the new layer just stop
      current_ = target;
    } else if (target > current_ && tid == current_ + 1 && p.switching_point) {
      ++counters_.switches_up;  // one layer up, at a frame that depends on nothing above
      current_ = tid;
    }
  }
  f.forward = tid <= current_;
  if (!f.forward) {
    ++counters_.frames_dropped;
    if (newest) ++picture_id_shift_;
  }
  if (p.picture_id) {
    const int64_t modulus = p.picture_id_15bit ? 0x8000 : 0x80;
    f.out_picture_id = static_cast<uint16_t>(((*p.picture_id - picture_id_shift_) % modulus + modulus) % modulus);
  }
  counters_.current_layer = current_;
  return f;
}

void LayerSelector::rewrite_picture_id(const VideoLayerPacket& p, const Frame& f, std::span<uint8_t> payload) const {
  if (config_.codec != codecs::CodecType::kVp8 || !p.picture_id || f.out_picture_id == *p.picture_id) return;
  const size_t at = p.picture_id_offset;
  if (p.picture_id_15bit) {
    if (payload.size() < at + 2) return;
    payload[at] = static_cast<uint8_t>(0x80 | ((f.out_picture_id >> 8) & 0x7F));
    payload[at + 1] = static_cast<uint8_t>(f.out_picture_id & 0xFF);
  } else {
    if (payload.size() < at + 1) return;
    payload[at] = static_cast<uint8_t>(f.out_picture_id & 0x7F);
  }
}

void LayerSelector::switch_source() {
  frames_ = {};
  next_frame_ = 0;
  newest_timestamp_.reset();
  seq_unwrapper_ = RtpSeqUnwrapper();
  newest_seq_.reset();
  newest_dropped_ = false;
  newest_marker_ = false;
  newest_rest_dropped_ = false;
  newest_picture_id_.reset();
  rebase_pending_ = true;
}

void LayerSelector::rebase(const VideoLayerPacket& p) {
  rebase_pending_ = false;
  switched_ = true;
  if (p.picture_id && last_out_picture_id_) {
    const int64_t modulus = p.picture_id_15bit ? 0x8000 : 0x80;
    picture_id_shift_ = ((*p.picture_id - (*last_out_picture_id_ + 1)) % modulus + modulus) % modulus;
  } else {
    picture_id_shift_ = 0;
  }
  tl0_shift_ = p.tl0_pic_idx && last_out_tl0_ ? (*p.tl0_pic_idx - (*last_out_tl0_ + 1) + 256) % 256 : 0;
}

void LayerSelector::rewrite_continuity(const VideoLayerPacket& p, std::optional<uint16_t> out_picture_id,
                                       std::span<uint8_t> payload) {
  if (config_.codec != codecs::CodecType::kVp8) return;  // VP9 keeps its numbers (header comment)
  if (out_picture_id) {
    Frame f;
    f.out_picture_id = *out_picture_id;
    rewrite_picture_id(p, f, payload);
    last_out_picture_id_ = out_picture_id;
  }
  if (p.tl0_pic_idx) {
    const auto out = static_cast<uint8_t>((*p.tl0_pic_idx - tl0_shift_ + 256) % 256);
    if (out != *p.tl0_pic_idx && payload.size() > p.tl0_pic_idx_offset) payload[p.tl0_pic_idx_offset] = out;
    last_out_tl0_ = out;
  }
}

LayerSelector::Decision LayerSelector::on_packet(uint16_t seq, uint32_t rtp_timestamp, bool marker,
                                                 std::span<uint8_t> payload, Timestamp now) {
  if (!config_.enabled && !switched_ && !rebase_pending_) return {};
  return on_packet(seq, rtp_timestamp, marker, payload, VideoLayerPacket::Parse(config_.codec, payload), now);
}

LayerSelector::Decision LayerSelector::on_packet(uint16_t seq, uint32_t rtp_timestamp, bool marker,
                                                 std::span<uint8_t> payload,
                                                 const std::optional<VideoLayerPacket>& p, Timestamp) {
  if (!config_.enabled && !switched_ && !rebase_pending_) return {};
  if (!p) return {};
  if (rebase_pending_) rebase(*p);
  if (!p->temporal_id || !config_.enabled) {
    // Not layered (or selection off): forwarded whole; after a simulcast switch its numbers shift.
    std::optional<uint16_t> out;
    if (p->picture_id) {
      const int64_t modulus = p->picture_id_15bit ? 0x8000 : 0x80;
      out = static_cast<uint16_t>(((*p->picture_id - picture_id_shift_) % modulus + modulus) % modulus);
    }
    rewrite_continuity(*p, out, payload);
    return {};
  }
  const int64_t unwrapped = seq_unwrapper_.unwrap(seq);
  const bool newest_seq = !newest_seq_ || unwrapped > *newest_seq_;
  Frame* f = find_frame(rtp_timestamp);
  if (f == nullptr) f = &decide(*p, rtp_timestamp);
  Decision d;
  d.forward = f->forward;
  if (p->spatial_id) {
    d.forward = select_spatial(*p, *f) && f->forward;
    // The end of the highest spatial layer forwarded ends the picture for this receiver.
    d.marker = d.forward && !marker && p->layer_end && *p->spatial_id == f->max_spatial;
    if (*p->spatial_id > 0) svc_ = true;
    if (svc_) counters_.current_spatial = current_spatial_;  // reported for SVC streams only
  }
  if (d.forward) {
    rewrite_continuity(*p, p->picture_id ? std::optional<uint16_t>(f->out_picture_id) : std::nullopt, payload);
  } else {
    ++counters_.packets_dropped;
    counters_.bytes_dropped += payload.size();
  }
  if (newest_seq && newest_seq_ && unwrapped > *newest_seq_ + 1) {
    // Packets lost upstream between the newest seen and this one. They are taken out of the
    // numbering when they can only belong to dropped frames: this frame's (dropped) missing head,
    // or the missing tail of the previous (dropped) picture when no whole picture lies between.
    // With spatial layers (ascending within a picture), what follows a dropped packet or the
    // end of the highest forwarded layer in its picture is dropped too.
    if (newest_packet_timestamp_ == rtp_timestamp) {
      d.drop_gap = !d.forward && (newest_dropped_ || newest_rest_dropped_);
    } else if (p->picture_id && newest_picture_id_) {
      const int modulus = p->picture_id_15bit ? 0x8000 : 0x80;
      const bool next_picture = *p->picture_id == (*newest_picture_id_ + 1) % modulus;
      const bool tail_dropped = newest_rest_dropped_;
      // The head of this picture can be taken out only when the whole picture is dropped.
      const bool head_dropped = !f->forward && !p->picture_start;
      const bool tail_ok = newest_marker_ || newest_rest_dropped_;
      const bool head_ok = p->picture_start || !f->forward;
      d.drop_gap = next_picture && tail_ok && head_ok && (tail_dropped || head_dropped);
    }
  }
  if (newest_seq) {
    newest_seq_ = unwrapped;
    newest_dropped_ = !d.forward;
    newest_packet_timestamp_ = rtp_timestamp;
    newest_marker_ = marker;
    newest_rest_dropped_ = !marker && (!d.forward || d.marker);
    newest_picture_id_ = p->picture_id;
  }
  return d;
}

}  // namespace tern::pipeline
