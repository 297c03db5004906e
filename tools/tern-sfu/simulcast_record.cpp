#include "simulcast_record.h"

#include <algorithm>

#include "tern/pipeline/layer_selector.h"
#include "tern/rtp/payload/vp8_payload.h"
#include "tern/rtp/rtcp/rtcp_packet.h"

namespace tern::tools::sfu_tool {

Result<SimulcastRecordSelector> SimulcastRecordSelector::Create(const SimulcastRecordConfig& config) {
  if (config.rids.empty() || config.rids.size() > pipeline::MediaRouter::kMaxSimulcastEncodings) {
    return Error{"simulcast recording: 1..4 rids"};
  }
  if (config.rid_extension_id == 0) return Error{"simulcast recording: no rid extension"};
  SimulcastRecordSelector s(config);
  if (!s.rid_map_.register_extension<rtp::RtpStreamId>(config.rid_extension_id) ||
      (config.repaired_rid_extension_id != 0 &&
       !s.rid_map_.register_extension<rtp::RepairedRtpStreamId>(config.repaired_rid_extension_id))) {
    return Error{"simulcast recording: bad rid extension ids"};
  }
  return s;
}

SimulcastRecordSelector::SimulcastRecordSelector(const SimulcastRecordConfig& config)
    : config_(config), encodings_(config.rids.size()) {}

int SimulcastRecordSelector::encoding_of(const rtp::RtpPacketView& packet) {
  const uint32_t ssrc = packet.ssrc();
  for (size_t e = 0; e < encodings_.size(); ++e) {
    if (encodings_[e].ssrc == ssrc || encodings_[e].rtx_ssrc == ssrc) return static_cast<int>(e);
  }
  if (config_.audio_ssrc != 0 && ssrc == config_.audio_ssrc) return -1;
  std::optional<std::string> rid = packet.get<rtp::RtpStreamId>(rid_map_);
  const bool repair = !rid;
  if (repair && config_.repaired_rid_extension_id != 0) rid = packet.get<rtp::RepairedRtpStreamId>(rid_map_);
  if (!rid) return -1;  // not video of this publisher (or before its rid: the router drops it too)
  const auto it = std::find(config_.rids.begin(), config_.rids.end(), *rid);
  const auto e = static_cast<size_t>(it - config_.rids.begin());
  if (it == config_.rids.end() || (repair ? encodings_[e].rtx_ssrc : encodings_[e].ssrc)) {
    ++counters_.unknown_rid;  // not announced, or the encoding has its SSRC already
    return -1;
  }
  Encoding& enc = encodings_[e];
  if (repair) {
    if (!config_.rtx_payload_type) {
      ++counters_.unknown_rid;
      return -1;
    }
    enc.rtx_ssrc = ssrc;
  } else {
    enc.ssrc = ssrc;
  }
  ++counters_.ssrcs_learned;
  if (enc.ssrc && enc.rtx_ssrc && !enc.rtx) {
    recovery::RtxReceiver::Config rc;
    rc.rtx_ssrc = *enc.rtx_ssrc;
    rc.media_ssrc = *enc.ssrc;
    rc.rtx_to_media_pt[*config_.rtx_payload_type] = config_.media_payload_type;
    enc.rtx.emplace(rc);
  }
  return static_cast<int>(e);
}

bool SimulcastRecordSelector::sending(const Encoding& e, Timestamp now) const {
  return e.ssrc && e.first_arrival && now - e.last_media <= config_.stop_after;
}

int SimulcastRecordSelector::best(Timestamp now) const {
  bool sizes = true;
  for (const Encoding& e : encodings_) {
    if (sending(e, now) && e.width * e.height == 0) sizes = false;
  }
  int best = -1;
  for (size_t i = 0; i < encodings_.size(); ++i) {
    const Encoding& e = encodings_[i];
    if (!sending(e, now)) continue;
    // Equal sizes (and the list order): the later one.
    if (best < 0 || !sizes ||
        e.width * e.height >= encodings_[static_cast<size_t>(best)].width * encodings_[static_cast<size_t>(best)].height) {
      best = static_cast<int>(i);
    }
  }
  return best;
}

std::optional<TimeDelta> SimulcastRecordSelector::elapsed(int from, int to, uint32_t ts) const {
  const Encoding& a = encodings_[static_cast<size_t>(from)];
  const Encoding& b = encodings_[static_cast<size_t>(to)];
  const auto newest_a = static_cast<uint32_t>(a.newest_ts);
  if (a.sender_report.valid() && b.sender_report.valid()) {
    // Both senders' NTP clocks are the publisher's one clock.
    return TimeDelta::Micros(*b.sender_report.ntp_micros(ts) - *a.sender_report.ntp_micros(newest_a));
  }
  if (!a.first_arrival || !b.first_arrival) return std::nullopt;
  // Each encoding's first-packet offset: its first arrival plus its RTP clock since.
  const int64_t b_ticks = b.newest_ts + static_cast<int32_t>(ts - b.last_ts) - b.first_ts;
  const Timestamp capture_a = *a.first_arrival + TimeDelta::Micros((a.newest_ts - a.first_ts) * 1000 / 90);
  const Timestamp capture_b = *b.first_arrival + TimeDelta::Micros(b_ticks * 1000 / 90);
  return capture_b - capture_a;
}

void SimulcastRecordSelector::request(int e, Timestamp now) {
  if (e < 0 || now - last_request_ < config_.keyframe_retry) return;
  const std::optional<uint32_t> ssrc = encodings_[static_cast<size_t>(e)].ssrc;
  if (!ssrc || std::find(requests_.begin(), requests_.end(), *ssrc) != requests_.end()) return;
  last_request_ = now;
  requests_.push_back(*ssrc);
  ++counters_.keyframe_requests;
}

std::vector<uint32_t> SimulcastRecordSelector::take_keyframe_requests() { return std::exchange(requests_, {}); }

void SimulcastRecordSelector::switch_to(int e, uint16_t first_seq) {
  // Called with the first packet of `e`'s keyframe about to be emitted.
  if (current_ >= 0) {
    ++counters_.switches;
    const Encoding& from = encodings_[static_cast<size_t>(current_)];
    const Encoding& to = encodings_[static_cast<size_t>(e)];
    if (to.width * to.height < from.width * from.height) ++counters_.switches_down;
  }
  current_ = e;
  counters_.encoding = e;
  counters_.rid = config_.rids[static_cast<size_t>(e)];
  counters_.width = encodings_[static_cast<size_t>(e)].width;
  counters_.height = encodings_[static_cast<size_t>(e)].height;
  seq_.switch_source();
  switch_floor_ = first_seq;
}

void SimulcastRecordSelector::emit(rtp::RtpPacket packet, Timestamp arrival, std::vector<Output>& out) {
  // Packets of the encoding from before the keyframe it was switched at (late, retransmitted)
  // would take numbers the previous encoding's packets have: dropped. The floor is forgotten once
  // the numbers moved well past it (so a wrap cannot put later packets under it).
  if (switch_floor_) {
    const auto ahead = static_cast<uint16_t>(packet.sequence_number() - *switch_floor_);
    if (ahead >= 0x8000) return;
    if (ahead >= 0x4000) switch_floor_.reset();
  }
  const std::optional<uint16_t> seq = seq_.rewrite(packet.sequence_number());
  if (!seq) return;  // a duplicate (an RTX copy after its original)
  packet.set_sequence_number(*seq);
  packet.set_timestamp(timestamps_.on_packet(packet.timestamp(), std::nullopt));
  packet.set_ssrc(config_.output_ssrc);
  out.push_back({std::move(packet), arrival});
}

void SimulcastRecordSelector::choose(Timestamp now) {
  chosen_ = true;
  target_ = best(now);
  held_ = 0;
  for (size_t i = 0; i < encodings_.size(); ++i) {
    if (static_cast<int>(i) != target_) counters_.held_dropped += encodings_[i].held.size();
  }
}

bool SimulcastRecordSelector::on_rtp(std::span<const uint8_t> bytes, Timestamp now, std::vector<Output>& out) {
  // A view first: the packets of encodings not recorded are not copied.
  auto view = rtp::RtpPacketView::parse(bytes);
  if (!view) return false;
  const int index = encoding_of(*view);
  if (index < 0) return false;
  Encoding& enc = encodings_[static_cast<size_t>(index)];
  const bool retransmission = enc.rtx_ssrc == view->ssrc() && enc.ssrc != enc.rtx_ssrc;
  std::optional<rtp::RtpPacket> restored;
  if (retransmission) {
    if (!enc.rtx) return true;  // RTX before its media SSRC: nothing to restore it to
    auto parsed = rtp::RtpPacket::parse(bytes);
    if (!parsed) return true;
    auto original = enc.rtx->unwrap(*parsed);
    if (!original) return true;  // padding-only probes
    restored = std::move(original).value();
  } else if (view->payload_type() != config_.media_payload_type) {
    return true;
  }
  const std::span<const uint8_t> payload = restored ? restored->payload() : view->payload();
  const uint32_t ts = restored ? restored->timestamp() : view->timestamp();
  const uint16_t seq = restored ? restored->sequence_number() : view->sequence_number();
  if (payload.empty()) return true;  // padding
  const std::optional<pipeline::VideoLayerPacket> layer = pipeline::VideoLayerPacket::Parse(config_.codec, payload);
  const bool keyframe = layer && layer->keyframe;
  if (!retransmission) {
    // Media: the encoding is sending; its timeline for the first-packet offset.
    if (!enc.first_arrival) {
      enc.first_arrival = now;
      enc.first_ts = enc.newest_ts = ts;
      enc.last_ts = ts;
    }
    const int64_t unwrapped = enc.newest_ts + static_cast<int32_t>(ts - enc.last_ts);
    if (unwrapped > enc.newest_ts) {
      enc.newest_ts = unwrapped;
      enc.last_ts = ts;
    }
    enc.last_media = now;
    if (!first_video_) first_video_ = now;
  }
  if (keyframe) {
    enc.keyframe_seen = true;
    if (config_.codec == codecs::CodecType::kVp8) {
      if (auto vp8 = rtp::Vp8Depacketizer::parse(payload); vp8 && vp8->width > 0 && vp8->height > 0) {
        enc.width = vp8->width;
        enc.height = vp8->height;
      }
    }
  }
  // The packet as one to keep (held, recorded): a copy of the bytes unless restored from RTX.
  auto owned = [&]() -> std::optional<rtp::RtpPacket> {
    if (restored) return std::move(restored);
    auto parsed = rtp::RtpPacket::parse(bytes);
    if (!parsed) return std::nullopt;
    return std::move(parsed).value();
  };

  if (!chosen_) {
    // The start: hold each encoding's packets from its latest keyframe until the choice.
    if (keyframe) {
      held_ -= enc.held.size();
      counters_.held_dropped += enc.held.size();
      enc.held.clear();
    }
    if (keyframe || !enc.held.empty()) {
      if (auto p = owned()) {
        enc.held.push_back({std::move(*p), now});
        ++held_;
      }
    }
    bool all_known = true;
    for (const Encoding& e : encodings_) {
      if (!e.ssrc || !e.keyframe_seen) all_known = false;
    }
    if (!all_known && now - *first_video_ < config_.start_wait && held_ < kMaxHeldPackets) return true;
    choose(now);
    if (target_ < 0) return true;
    Encoding& t = encodings_[static_cast<size_t>(target_)];
    std::deque<Output> held = std::move(t.held);
    for (Encoding& e : encodings_) e.held.clear();
    if (held.empty()) {
      request(target_, now);
      return true;
    }
    switch_to(target_, held.front().packet.sequence_number());
    for (Output& o : held) emit(std::move(o.packet), o.arrival, out);
    return true;
  }

  // The target: the highest sending (the recorded one while it is that).
  const int b = best(now);
  if (b >= 0) target_ = b;
  if (index == current_) {
    if (auto p = owned()) emit(std::move(*p), now, out);
  } else if (index == target_ && keyframe) {
    // The target's keyframe: its timeline continues the recording's.
    if (auto p = owned()) {
      std::optional<TimeDelta> gap;
      if (current_ >= 0) gap = elapsed(current_, index, ts);
      timestamps_.switch_source_after(ts, gap);
      switch_to(index, seq);
      emit(std::move(*p), now, out);
    }
  }
  if (target_ != current_) request(target_, now);
  if (index == current_ && keyframe) {  // its size may change at any keyframe
    counters_.width = enc.width;
    counters_.height = enc.height;
  }
  return true;
}

void SimulcastRecordSelector::on_rtcp(std::span<const uint8_t> bytes) {
  for (const rtcp::RtcpPacket& p : rtcp::parse_compound(bytes).packets) {
    const auto* sr = std::get_if<rtcp::SenderReport>(&p);
    if (sr == nullptr) continue;
    for (Encoding& e : encodings_) {
      if (e.ssrc == sr->sender_ssrc) e.sender_report.on_sender_report(sr->ntp, sr->rtp_timestamp);
    }
  }
}

}  // namespace tern::tools::sfu_tool
