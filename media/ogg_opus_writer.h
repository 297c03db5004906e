// OggOpusWriter: records already-encoded Opus packets (for example depacketized RTP) into an Ogg
// Opus file (RFC 7845) with libogg: an OpusHead page, an OpusTags page, then audio pages whose
// granule positions come from the packets' 48 kHz RTP timestamps, so that the file plays with the
// timing that was received. Timestamp gaps (DTX, loss) are filled with zero-length packets that
// make the player conceal (comfort silence) instead of shortening the timeline; packets at or
// before the already written position (duplicates, late reordering) are dropped.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/seq_num.h"

namespace tern::media {

struct OggOpusConfig {
  int channels = 1;            // 1 or 2 (mapping family 0)
  int pre_skip = 0;            // samples at 48 kHz the player discards at the start (encoder lookahead)
  int input_sample_rate = 48000;  // informational, written into OpusHead
  uint32_t serial = 0x7e4e0001;   // Ogg logical stream serial number
  size_t max_bytes = size_t{1} << 30;  // add_packet fails beyond this
};

class OggOpusWriter {
 public:
  static Result<std::unique_ptr<OggOpusWriter>> Create(const OggOpusConfig& config);
  ~OggOpusWriter();
  OggOpusWriter(const OggOpusWriter&) = delete;
  OggOpusWriter& operator=(const OggOpusWriter&) = delete;

  // Adds one Opus packet whose first sample has this 48 kHz RTP timestamp.
  Status add_packet(std::span<const uint8_t> packet, uint32_t rtp_timestamp);
  // Ends the stream (last page flagged end-of-stream) and returns the whole file. Later calls to
  // add_packet fail; finish() again returns the same bytes.
  const std::vector<uint8_t>& finish();

  // Ogg packets written, gap fills included.
  int64_t packets_written() const { return packets_; }
  int64_t gap_fill_packets() const { return gap_fills_; }
  int64_t dropped_packets() const { return dropped_; }
  // Playback length so far (last granule minus pre-skip), in 48 kHz samples.
  int64_t duration_samples() const;

 private:
  struct State;
  OggOpusWriter(const OggOpusConfig& config, std::unique_ptr<State> state);
  void submit(std::span<const uint8_t> packet, int64_t end_granule);
  void flush_pending(bool eos);
  void drain_pages(bool flush);

  OggOpusConfig config_;
  std::unique_ptr<State> state_;
  std::vector<uint8_t> bytes_;
  RtpTimestampUnwrapper unwrapper_;
  std::optional<int64_t> first_rtp_;
  int64_t next_position_ = 0;  // samples (excl. pre-skip) written so far
  std::vector<uint8_t> pending_;  // held back one packet so that the last one can carry EOS
  int64_t pending_granule_ = -1;
  int64_t packet_no_ = 0;
  int64_t packets_ = 0;
  int64_t gap_fills_ = 0;
  int64_t dropped_ = 0;
  bool finished_ = false;
};

}  // namespace tern::media
