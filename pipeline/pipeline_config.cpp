#include "tern/pipeline/pipeline_config.h"

#include <set>
#include <utility>

namespace tern::pipeline {

const char* video_codec_name(VideoCodecKind codec) {
  switch (codec) {
    case VideoCodecKind::kVp8: return "vp8";
    case VideoCodecKind::kVp9: return "vp9";
    case VideoCodecKind::kNone: break;
  }
  return "none";
}

const char* audio_codec_name(AudioCodecKind codec) { return codec == AudioCodecKind::kOpus ? "opus" : "none"; }

const char* congestion_mode_name(CongestionControlMode mode) {
  switch (mode) {
    case CongestionControlMode::kTransportCc: return "transport-cc";
    case CongestionControlMode::kRemb: return "remb";
    case CongestionControlMode::kFixed: return "fixed";
  }
  return "unknown";
}

namespace {
Status validate_media(const MediaConfig& m) {
  if (m.video != VideoCodecKind::kNone) {
    if (m.width < 64 || m.height < 32 || m.width > 4096 || m.height > 4096 || m.width % 2 != 0 || m.height % 2 != 0) {
      return Error{"endpoint config: video size must be even, 64x32..4096x4096"};
    }
    if (!(m.fps >= 1.0 && m.fps <= 120.0)) return Error{"endpoint config: fps must be 1..120"};
    if (m.video_min_rate > m.video_max_rate || m.video_min_rate <= DataRate::Zero()) {
      return Error{"endpoint config: video rate bounds"};
    }
  }
  if (m.audio != AudioCodecKind::kNone &&
      (m.audio_bitrate < DataRate::KilobitsPerSec(6) || m.audio_bitrate > DataRate::KilobitsPerSec(510))) {
    return Error{"endpoint config: Opus bitrate must be 6..510 kbps"};
  }
  return Status::Ok();
}
}  // namespace

Status EndpointConfig::validate() const {
  if (Status s = validate_media(send); !s) return s;
  if (Status s = validate_media(receive); !s) return s;
  if (ssim_every < 0) return Error{"endpoint config: ssim_every must be 0 (off) or positive"};
  const std::set<uint32_t> ssrcs{local.audio, local.video, local.video_rtx, remote.audio, remote.video, remote.video_rtx};
  if (ssrcs.size() != 6 || ssrcs.count(0) != 0) return Error{"endpoint config: SSRCs must be distinct and non-zero"};
  if (min_rate > max_rate || start_rate < min_rate || start_rate > max_rate) {
    return Error{"endpoint config: start rate must lie in [min, max]"};
  }
  if (fixed_rate <= DataRate::Zero()) return Error{"endpoint config: fixed rate must be positive"};
  if (max_packet_size < 200 || max_packet_size > 1500) return Error{"endpoint config: packet size 200..1500"};
  if (rtcp_interval <= TimeDelta::Zero() || feedback_interval <= TimeDelta::Zero() ||
      network_sample_interval <= TimeDelta::Zero()) {
    return Error{"endpoint config: intervals must be positive"};
  }
  const uint8_t ids[] = {extension_ids.abs_send_time, extension_ids.transport_sequence_number, extension_ids.mid};
  for (uint8_t id : ids) {
    if (id == 0 || id > 14) return Error{"endpoint config: extension ids must be 1..14"};
  }
  if (ids[0] == ids[1] || ids[0] == ids[2] || ids[1] == ids[2]) return Error{"endpoint config: duplicate extension id"};
  return Status::Ok();
}

EndpointConfig EndpointConfig::mirrored() const {
  EndpointConfig m = *this;
  std::swap(m.send, m.receive);
  std::swap(m.local, m.remote);
  m.seed = seed ^ 0x9E3779B97F4A7C15ull;
  m.cname = cname + "-peer";
  return m;
}

}  // namespace tern::pipeline
