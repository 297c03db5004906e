// Audio RED sender (see audio_red_encoder.h).
#include "tern/recovery/audio_red_encoder.h"

#include "tern/recovery/red.h"
#include "tern/recovery/rtp_rewrite.h"

namespace tern::recovery {

Result<AudioRedEncoder> AudioRedEncoder::Create(Config config) {
  if (config.generations < 1 || config.generations > 2) return Error{"audio red: generations must be 1 or 2"};
  if (config.max_packet_size < 64) return Error{"audio red: max_packet_size too small"};
  return AudioRedEncoder(config);
}

Result<rtp::RtpPacket> AudioRedEncoder::encode(const rtp::RtpPacket& primary) {
  // Pick the newest consecutive previous packets that fit, newest first, then emit oldest first.
  std::vector<RedBlock> chosen;
  size_t size = primary.header().header_size + 1 + primary.payload_size();
  uint16_t expected_seq = static_cast<uint16_t>(primary.sequence_number() - 1);
  for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
    const uint32_t offset = primary.timestamp() - it->timestamp;
    const bool fits = it->seq == expected_seq && offset <= kRedMaxTimestampOffset &&
                      it->payload.size() <= kRedMaxBlockLength &&
                      size + 4 + it->payload.size() <= config_.max_packet_size;
    if (!fits) {
      stats_.skipped_blocks += static_cast<uint64_t>(history_.rend() - it);
      break;
    }
    size += 4 + it->payload.size();
    chosen.push_back(RedBlock{it->payload_type, offset, it->payload});
    --expected_seq;
  }
  std::vector<RedBlock> redundant(chosen.rbegin(), chosen.rend());
  RedBlock main{primary.payload_type(), 0, primary.payload()};
  auto payload = build_red_payload(redundant, main);
  if (!payload) return Error{payload.error()};
  HeaderFields f = HeaderFields::Of(primary);
  f.payload_type = config_.red_payload_type;
  auto out = rewrite_packet(primary, f, {}, *payload, padding_of(primary));
  if (!out) return out;

  ++stats_.packets;
  stats_.redundant_blocks += redundant.size();
  const auto pl = primary.payload();
  history_.push_back(Previous{primary.sequence_number(), primary.timestamp(), primary.payload_type(),
                              std::vector<uint8_t>(pl.begin(), pl.end())});
  while (history_.size() > config_.generations) history_.pop_front();
  return out;
}

}  // namespace tern::recovery
