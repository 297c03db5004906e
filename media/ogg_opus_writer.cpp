#include "tern/media/ogg_opus_writer.h"

#include <ogg/ogg.h>

#include <cstring>
#include <string_view>

#include "tern/media/little_endian.h"
#include "tern/media/opus_packet_info.h"

namespace tern::media {
namespace {
constexpr std::string_view kVendor = "tern";
}  // namespace

struct OggOpusWriter::State {
  ogg_stream_state stream{};
  ~State() { ogg_stream_clear(&stream); }
};

Result<std::unique_ptr<OggOpusWriter>> OggOpusWriter::Create(const OggOpusConfig& config) {
  if (config.channels != 1 && config.channels != 2) return Error{"ogg opus: channels must be 1 or 2"};
  if (config.pre_skip < 0 || config.pre_skip > 65535) return Error{"ogg opus: pre-skip out of range"};
  if (config.input_sample_rate < 0) return Error{"ogg opus: negative input sample rate"};
  auto state = std::make_unique<State>();
  if (ogg_stream_init(&state->stream, static_cast<int>(config.serial)) != 0) return Error{"ogg opus: libogg init failed"};
  std::unique_ptr<OggOpusWriter> w(new OggOpusWriter(config, std::move(state)));

  // RFC 7845 5.1: identification header, alone on the first (BOS) page.
  std::vector<uint8_t> head;
  head.insert(head.end(), {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd'});
  head.push_back(1);  // version
  head.push_back(static_cast<uint8_t>(config.channels));
  put_le16(head, static_cast<uint16_t>(config.pre_skip));
  put_le32(head, static_cast<uint32_t>(config.input_sample_rate));
  put_le16(head, 0);  // output gain
  head.push_back(0);  // channel mapping family 0
  ogg_packet op{};
  op.packet = head.data();
  op.bytes = static_cast<long>(head.size());
  op.b_o_s = 1;
  op.packetno = w->packet_no_++;
  ogg_stream_packetin(&w->state_->stream, &op);
  w->drain_pages(true);

  // RFC 7845 5.2: comment header, starting on its own page.
  std::vector<uint8_t> tags;
  tags.insert(tags.end(), {'O', 'p', 'u', 's', 'T', 'a', 'g', 's'});
  put_le32(tags, static_cast<uint32_t>(kVendor.size()));
  tags.insert(tags.end(), kVendor.begin(), kVendor.end());
  put_le32(tags, 0);  // no user comments
  op = ogg_packet{};
  op.packet = tags.data();
  op.bytes = static_cast<long>(tags.size());
  op.packetno = w->packet_no_++;
  ogg_stream_packetin(&w->state_->stream, &op);
  w->drain_pages(true);
  return w;
}

OggOpusWriter::OggOpusWriter(const OggOpusConfig& config, std::unique_ptr<State> state)
    : config_(config), state_(std::move(state)) {}

OggOpusWriter::~OggOpusWriter() = default;

void OggOpusWriter::drain_pages(bool flush) {
  ogg_page page;
  // Each call emits one page and removes its data from the stream, so the loop ends.
  while (flush ? ogg_stream_flush(&state_->stream, &page) : ogg_stream_pageout(&state_->stream, &page)) {
    bytes_.insert(bytes_.end(), page.header, page.header + page.header_len);
    bytes_.insert(bytes_.end(), page.body, page.body + page.body_len);
  }
}

void OggOpusWriter::submit(std::span<const uint8_t> packet, int64_t end_granule) {
  flush_pending(false);
  pending_.assign(packet.begin(), packet.end());
  pending_granule_ = end_granule;
}

void OggOpusWriter::flush_pending(bool eos) {
  if (pending_granule_ < 0) return;
  ogg_packet op{};
  op.packet = pending_.data();
  op.bytes = static_cast<long>(pending_.size());
  op.granulepos = pending_granule_;
  op.e_o_s = eos ? 1 : 0;
  op.packetno = packet_no_++;
  ogg_stream_packetin(&state_->stream, &op);
  drain_pages(eos);
  pending_granule_ = -1;
  ++packets_;
}

Status OggOpusWriter::add_packet(std::span<const uint8_t> packet, uint32_t rtp_timestamp) {
  if (finished_) return Error{"ogg opus: already finished"};
  const auto samples = opus_packet_samples_48k(packet);
  if (!samples) return Error{"ogg opus: malformed Opus packet"};
  if (bytes_.size() + packet.size() > config_.max_bytes) return Error{"ogg opus: size limit reached"};
  const int64_t ts = unwrapper_.unwrap(rtp_timestamp);
  if (!first_rtp_) first_rtp_ = ts;
  const int64_t start = ts - *first_rtp_;
  if (start < next_position_) {
    ++dropped_;
    return Error{"ogg opus: packet at or before the written position"};
  }
  // Fill the gap with zero-length packets, largest durations first. A remainder below 2.5 ms is
  // left in the timeline (the granule of the next packet still carries the exact position).
  int64_t gap = start - next_position_;
  static constexpr int kFill[] = {960, 480, 240, 120};
  for (int fill : kFill) {
    // Bounded by gap / fill iterations; gaps above 10 minutes are not filled packet by packet.
    if (gap > int64_t{48000} * 600) break;
    while (gap >= fill) {
      const uint8_t toc = *opus_empty_packet_toc(fill);
      next_position_ += fill;
      gap -= fill;
      submit(std::span<const uint8_t>(&toc, 1), next_position_ + config_.pre_skip);
      ++gap_fills_;
    }
  }
  next_position_ = start + *samples;
  submit(packet, next_position_ + config_.pre_skip);
  return Status::Ok();
}

const std::vector<uint8_t>& OggOpusWriter::finish() {
  if (!finished_) {
    finished_ = true;
    flush_pending(true);
    drain_pages(true);
  }
  return bytes_;
}

int64_t OggOpusWriter::duration_samples() const { return next_position_; }

}  // namespace tern::media
