#include "tern/pipeline/pipeline_config.h"

#include <cctype>
#include <set>
#include <utility>

#include "tern/core/reason_text.h"

namespace tern::pipeline {

const uint8_t& PayloadTypes::of(codecs::CodecType codec) const {
  switch (codec) {
    case codecs::CodecType::kOpus: return opus;
    case codecs::CodecType::kVp9: return vp9;
    case codecs::CodecType::kVp8: break;
  }
  return vp8;
}

uint8_t& PayloadTypes::of(codecs::CodecType codec) { return const_cast<uint8_t&>(std::as_const(*this).of(codec)); }

const char* congestion_mode_name(CongestionControlMode mode) {
  switch (mode) {
    case CongestionControlMode::kTransportCc: return "transport-cc";
    case CongestionControlMode::kRemb: return "remb";
    case CongestionControlMode::kFixed: return "fixed";
    case CongestionControlMode::kRfc8888: return "rfc8888";
  }
  return "unknown";
}

Result<ProtectionConfig> parse_protection_list(std::string_view list) {
  ProtectionConfig pc{false, false, false, false};
  bool any = false;
  std::string item;
  for (size_t i = 0; i <= list.size(); ++i) {
    const char c = i < list.size() ? list[i] : ',';
    if (c != ',' && c != '+') {
      if (c != ' ' && c != '\t') item += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      continue;
    }
    if (item.empty()) continue;
    any = true;
    if (item == "nack") pc.nack = true;
    else if (item == "fec" || item == "ulpfec") pc.fec = true;
    else if (item == "flexfec") pc.flexfec = true;
    else if (item == "red") pc.red = true;
    else if (item != "none") {
      return Error{lasting_reason("unknown scheme '" + printable(item) + "' (nack, fec, flexfec, red, none)",
                                  "unknown scheme (nack, fec, flexfec, red, none)")};
    }
    item.clear();
  }
  if (!any) return Error{"empty list (nack, fec, flexfec, red or none)"};
  if (pc.fec && pc.flexfec) return Error{"fec (ULPFEC) and flexfec are exclusive"};
  return pc;
}

namespace {
Status validate_media(const MediaConfig& m) {
  if (m.temporal_layers < 1 || m.temporal_layers > 3) return Error{"endpoint config: temporal layers must be 1..3"};
  if (m.video && !codecs::is_video(*m.video)) return Error{"endpoint config: the video codec must be VP8 or VP9"};
  if (m.audio && *m.audio != codecs::CodecType::kOpus) return Error{"endpoint config: the audio codec must be Opus"};
  if (m.video) {
    if (m.width < 64 || m.height < 32 || m.width > 4096 || m.height > 4096 || m.width % 2 != 0 || m.height % 2 != 0) {
      return Error{"endpoint config: video size must be even, 64x32..4096x4096"};
    }
    if (!(m.fps >= 1.0 && m.fps <= 120.0)) return Error{"endpoint config: fps must be 1..120"};
    if (m.video_min_rate > m.video_max_rate || m.video_min_rate <= DataRate::Zero()) {
      return Error{"endpoint config: video rate bounds"};
    }
  }
  if (m.protection.fec && m.protection.flexfec) return Error{"endpoint config: ULPFEC and FlexFEC are exclusive"};
  if (m.audio &&
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
  std::set<uint32_t> ssrcs{local.audio, local.video, local.video_rtx, remote.audio, remote.video, remote.video_rtx};
  bool distinct = ssrcs.size() == 6;
  // The FlexFEC SSRCs matter only where FlexFEC is on.
  if (send.protection.flexfec) distinct = ssrcs.insert(local.video_fec).second && distinct;
  if (receive.protection.flexfec) distinct = ssrcs.insert(remote.video_fec).second && distinct;
  if (!distinct || ssrcs.count(0) != 0) return Error{"endpoint config: SSRCs must be distinct and non-zero"};
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
