#include "tern/jitterbuffer/video/video_header.h"

#include "tern/rtp/payload/vp8_payload.h"
#include "tern/rtp/payload/vp9_payload.h"

namespace tern::jitterbuffer {
namespace {

size_t offset_in(const rtp::RtpPacket& packet, std::span<const uint8_t> part) {
  return static_cast<size_t>(part.data() - packet.data().data());
}

Result<ParsedVideoPacket> parse_vp8(const rtp::RtpPacket& packet) {
  auto parsed = rtp::Vp8Depacketizer::parse(packet.payload());
  if (!parsed) return Error{parsed.error()};
  ParsedVideoPacket out;
  VideoHeader& h = out.header;
  const rtp::Vp8Descriptor& d = parsed->descriptor;
  h.codec = codecs::CodecType::kVp8;
  h.first_packet_in_frame = parsed->is_first_packet_in_frame;
  h.layer_start = parsed->is_first_packet_in_frame;
  h.last_packet_in_frame = packet.marker();
  h.keyframe = parsed->is_keyframe;
  h.inter_picture_predicted = !parsed->is_keyframe;
  h.picture_id = d.picture_id;
  h.picture_id_15bit = d.picture_id_15bit;
  h.tl0_pic_idx = d.tl0_pic_idx;
  h.temporal_id = d.temporal_id;
  h.layer_sync = d.temporal_id.has_value() && d.layer_sync;
  h.width = parsed->width;
  h.height = parsed->height;
  out.payload_offset = offset_in(packet, parsed->payload);
  out.payload_size = parsed->payload.size();
  return out;
}

Result<ParsedVideoPacket> parse_vp9(const rtp::RtpPacket& packet) {
  auto parsed = rtp::Vp9Depacketizer::parse(packet.payload());
  if (!parsed) return Error{parsed.error()};
  ParsedVideoPacket out;
  VideoHeader& h = out.header;
  const rtp::Vp9Descriptor& d = parsed->descriptor;
  h.codec = codecs::CodecType::kVp9;
  h.spatial_id = d.layer ? d.layer->spatial_id : 0;
  // A frame here is a whole picture (every spatial layer), which is what a VP9 decoder takes.
  h.layer_start = d.start_of_frame;
  h.first_packet_in_frame = d.start_of_frame && h.spatial_id == 0;
  h.last_packet_in_frame = packet.marker();
  h.inter_picture_predicted = d.inter_picture_predicted;
  h.inter_layer_predicted = d.layer && d.layer->inter_layer_dependency;
  h.keyframe = h.first_packet_in_frame && !d.inter_picture_predicted;
  h.picture_id = d.picture_id;
  h.picture_id_15bit = d.picture_id_15bit;
  h.flexible_mode = d.flexible_mode;
  if (d.layer) {
    h.temporal_id = d.layer->temporal_id;
    h.layer_sync = d.layer->switching_up;
    if (!d.flexible_mode) h.tl0_pic_idx = d.tl0_pic_idx;
  }
  if (d.flexible_mode && d.inter_picture_predicted) {
    h.num_p_diffs = d.num_p_diffs;
    for (size_t i = 0; i < d.num_p_diffs && i < d.p_diff.size(); ++i) h.p_diff[i] = d.p_diff[i];
  }
  if (d.ss) {
    h.has_ss = true;
    h.num_spatial_layers = d.ss->num_spatial_layers;
    if (d.ss->has_picture_group && !d.ss->picture_group.empty()) {
      h.picture_group = std::make_shared<const std::vector<rtp::Vp9PictureGroupEntry>>(d.ss->picture_group);
    }
    if (d.ss->has_resolutions) {
      const size_t top = d.ss->num_spatial_layers - 1u;
      h.width = d.ss->width[top];
      h.height = d.ss->height[top];
    }
  }
  out.payload_offset = offset_in(packet, parsed->payload);
  out.payload_size = parsed->payload.size();
  return out;
}

}  // namespace

Result<ParsedVideoPacket> parse_video_packet(codecs::CodecType codec, const rtp::RtpPacket& packet) {
  switch (codec) {
    case codecs::CodecType::kVp8: return parse_vp8(packet);
    case codecs::CodecType::kVp9: return parse_vp9(packet);
    case codecs::CodecType::kOpus: break;
  }
  return Error{"video header: not a video codec"};
}

}  // namespace tern::jitterbuffer
