#include "tern/tools/loopback/webm_tap.h"

#include "tern/rtp/payload/vp8_payload.h"
#include "tern/rtp/payload/vp9_payload.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::tools {
namespace {

// RFC 2198: the primary (last) block of a RED payload and its payload type.
bool red_primary(std::span<const uint8_t> payload, uint8_t& pt, std::span<const uint8_t>& block) {
  size_t pos = 0;
  size_t redundant = 0;
  while (true) {
    if (pos >= payload.size()) return false;
    const uint8_t b = payload[pos];
    if ((b & 0x80) == 0) {  // final header: 1 byte
      pt = b & 0x7f;
      ++pos;
      break;
    }
    if (pos + 4 > payload.size()) return false;
    redundant += ((static_cast<size_t>(payload[pos + 2]) & 0x03) << 8) | payload[pos + 3];
    pos += 4;
  }
  if (pos + redundant > payload.size()) return false;
  block = payload.subspan(pos + redundant);
  return true;
}

}  // namespace

Result<std::unique_ptr<WebmTap>> WebmTap::Create(const std::string& path, const pipeline::EndpointConfig& sender) {
  media::WebmRecorderConfig rc;
  if (sender.send.video == pipeline::VideoCodecKind::kVp8) rc.video = codecs::CodecType::kVp8;
  if (sender.send.video == pipeline::VideoCodecKind::kVp9) rc.video = codecs::CodecType::kVp9;
  rc.width = sender.send.width;
  rc.height = sender.send.height;
  rc.audio = sender.send.audio != pipeline::AudioCodecKind::kNone;
  auto r = media::WebmRecorder::Create(path, rc);
  if (!r) return Error{r.error()};
  return std::unique_ptr<WebmTap>(new WebmTap(std::move(r).value(), sender));
}

WebmTap::WebmTap(std::unique_ptr<media::WebmRecorder> recorder, const pipeline::EndpointConfig& sender)
    : recorder_(std::move(recorder)), sender_(sender) {}

void WebmTap::on_datagram(std::span<const uint8_t> datagram, Timestamp now) {
  if (datagram.size() >= 2 && datagram[1] >= 192 && datagram[1] <= 223) return;  // RTCP
  auto view = rtp::RtpPacketView::parse(datagram);
  if (!view) return;
  const pipeline::PayloadTypes& pts = sender_.payload_types;
  const uint32_t ssrc = view->ssrc();
  std::span<const uint8_t> payload = view->payload();
  uint8_t pt = view->payload_type();
  if (ssrc == sender_.local.audio) {
    if (pt == pts.audio_red && !red_primary(payload, pt, payload)) return;
    if (pt != pts.opus || payload.empty()) return;
    (void)recorder_->add_audio(payload, view->timestamp(), now);
    return;
  }
  uint16_t seq = view->sequence_number();
  if (ssrc == sender_.local.video_rtx) {
    if (payload.size() < 2) return;
    seq = static_cast<uint16_t>((payload[0] << 8) | payload[1]);
    payload = payload.subspan(2);
    pt = sender_.send.protection.fec ? pts.red : (sender_.send.video == pipeline::VideoCodecKind::kVp9 ? pts.vp9 : pts.vp8);
  } else if (ssrc != sender_.local.video) {
    return;
  }
  if (pt == pts.red && !red_primary(payload, pt, payload)) return;
  if (pt != pts.vp8 && pt != pts.vp9) return;  // ULPFEC and anything else
  on_video(seq, view->timestamp(), view->marker(), payload, now);
}

void WebmTap::on_video(uint16_t seq, uint32_t timestamp, bool marker, std::span<const uint8_t> payload, Timestamp now) {
  Packet p;
  p.timestamp = timestamp;
  p.marker = marker;
  if (sender_.send.video == pipeline::VideoCodecKind::kVp9) {
    auto parsed = rtp::Vp9Depacketizer::parse(payload);
    if (!parsed) return;
    p.first = parsed->is_first_packet_in_frame;
    p.keyframe = parsed->is_keyframe;
    p.codec_bytes.assign(parsed->payload.begin(), parsed->payload.end());
  } else {
    auto parsed = rtp::Vp8Depacketizer::parse(payload);
    if (!parsed) return;
    p.first = parsed->is_first_packet_in_frame;
    p.keyframe = parsed->is_keyframe;
    p.codec_bytes.assign(parsed->payload.begin(), parsed->payload.end());
  }
  const int64_t useq = unwrapper_.unwrap(seq);
  if (useq <= written_up_to_ || packets_.count(useq) != 0) return;  // late or duplicate
  packets_.emplace(useq, std::move(p));
  while (packets_.size() > kMaxPackets) packets_.erase(packets_.begin());
  try_complete(useq, now);
}

void WebmTap::try_complete(int64_t seq, Timestamp now) {
  const uint32_t ts = packets_.at(seq).timestamp;
  // Walk back to the frame's first packet and forward to its marker, requiring no gap.
  int64_t first = seq;
  while (!packets_.at(first).first) {
    auto it = packets_.find(first - 1);
    if (it == packets_.end() || it->second.timestamp != ts) return;
    first = it->first;
  }
  int64_t last = seq;
  while (!packets_.at(last).marker) {
    auto it = packets_.find(last + 1);
    if (it == packets_.end() || it->second.timestamp != ts) return;
    last = it->first;
  }
  std::vector<uint8_t> frame;
  for (int64_t s = first; s <= last; ++s) {
    const std::vector<uint8_t>& b = packets_.at(s).codec_bytes;
    frame.insert(frame.end(), b.begin(), b.end());
  }
  (void)recorder_->add_video(frame, ts, packets_.at(first).keyframe, now);
  written_up_to_ = last;
  packets_.erase(packets_.begin(), packets_.upper_bound(last));
}

}  // namespace tern::tools
