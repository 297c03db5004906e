// WebmTap: records what arrives at B into a WebM file (media::WebmRecorder). It sees the raw
// datagrams in front of B, so it does its own small reassembly: RTX unwrapped (RFC 4588 OSN),
// RED (RFC 2198) primary block taken, ULPFEC ignored, packets kept by unwrapped sequence number
// and a video frame written once every packet from its first (descriptor start bit) to its last
// (RTP marker) is there. Frames still incomplete when a newer frame completes are skipped, as a
// receiver that gave up on them would. Bounded: at most kMaxPackets packets are kept.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/seq_num.h"
#include "tern/media/webm_recorder.h"
#include "tern/pipeline/pipeline_config.h"

namespace tern::tools {

class WebmTap {
 public:
  static constexpr size_t kMaxPackets = 4096;

  // `sender` is A's configuration (its SSRCs, payload types and codecs).
  static Result<std::unique_ptr<WebmTap>> Create(const std::string& path, const pipeline::EndpointConfig& sender);

  // One datagram as it reaches B (RTP or RTCP; RTCP and unknown SSRCs are ignored).
  void on_datagram(std::span<const uint8_t> datagram, Timestamp now);
  Status finish() { return recorder_->finish(); }
  const media::WebmRecorderStats& stats() const { return recorder_->stats(); }

 private:
  struct Packet {
    uint32_t timestamp = 0;
    bool marker = false;
    bool first = false;
    bool keyframe = false;
    std::vector<uint8_t> codec_bytes;  // after the codec descriptor
  };
  WebmTap(std::unique_ptr<media::WebmRecorder> recorder, const pipeline::EndpointConfig& sender);
  void on_video(uint16_t seq, uint32_t timestamp, bool marker, std::span<const uint8_t> payload, Timestamp now);
  void try_complete(int64_t seq, Timestamp now);

  std::unique_ptr<media::WebmRecorder> recorder_;
  pipeline::EndpointConfig sender_;
  SeqUnwrapper<uint16_t> unwrapper_;
  std::map<int64_t, Packet> packets_;
  int64_t written_up_to_ = -1;  // last sequence number of the newest frame written
};

}  // namespace tern::tools
