// The video jitter buffer (sans-I/O): RTP packets in, decodable frames out at their render time.
//
//   insert(packet, now) -> packet buffer + frame assembler -> reference finder -> frame buffer
//   process(now)        -> frames whose render time has come, decodable, in decode order
//   poll_keyframe_request(now) -> PLI (or FIR) when the stream stays undecodable, throttled
//
// Render times come from VideoTiming (frame-size-aware Kalman jitter estimate + RTT once
// retransmissions are seen). Every stage is bounded: PacketBuffer (packets), ReferenceFinder
// (stashed frames), FrameBuffer (frames); a stage that overflows is emptied and a keyframe asked
// for. Stats follow webrtc-stats inbound-rtp names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/jitterbuffer/video/encoded_video_frame.h"
#include "tern/jitterbuffer/video/frame_buffer.h"
#include "tern/jitterbuffer/video/freeze_meter.h"
#include "tern/jitterbuffer/video/packet_buffer.h"
#include "tern/jitterbuffer/video/reference_finder.h"
#include "tern/jitterbuffer/video/video_header.h"
#include "tern/jitterbuffer/video/video_timing.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::jitterbuffer {

struct VideoJitterBufferConfig {
  codecs::CodecType codec = codecs::CodecType::kVp8;  // VP8 or VP9
  PacketBufferConfig packet_buffer;
  size_t max_frames = 300;          // frames held by the frame buffer
  size_t max_stashed_frames = ReferenceFinder::kDefaultMaxStashed;
  VideoTimingConfig timing;
  // Ask for a keyframe when packets keep arriving but no frame has been released for this long.
  TimeDelta undecodable_limit = TimeDelta::Millis(500);
  // At most one keyframe request per interval.
  TimeDelta keyframe_request_interval = TimeDelta::Millis(300);
  bool use_fir = false;             // FIR (RFC 5104) instead of PLI (RFC 4585)

  // Fails with a reason on inconsistent values.
  Status validate() const;
};

struct VideoJitterBufferStats {  // webrtc-stats RTCInboundRtpStreamStats names
  uint64_t frames_received = 0;  // assembled
  uint64_t frames_decoded = 0;   // released to the decoder
  uint64_t frames_dropped = 0;   // assembled but never released
  uint64_t key_frames_decoded = 0;
  uint64_t freeze_count = 0;
  TimeDelta total_freezes_duration = TimeDelta::Zero();
  uint64_t pli_count = 0;
  uint64_t fir_count = 0;
  TimeDelta jitter_buffer_delay = TimeDelta::Zero();  // sum over released frames: release - first packet
  uint64_t jitter_buffer_emitted_count = 0;
  // Sum over released frames of the target delay when each was released (webrtc-stats
  // jitterBufferTargetDelay: divided by jitter_buffer_emitted_count it is the mean target).
  TimeDelta jitter_buffer_target_delay = TimeDelta::Zero();
  TimeDelta target_delay = TimeDelta::Zero();         // current
  TimeDelta jitter_estimate = TimeDelta::Zero();      // current
  uint64_t packets_invalid = 0;  // payload descriptor did not parse
  PacketBufferStats packet_buffer;
};

struct KeyframeRequest {
  enum class Kind { kPli, kFir };
  Kind kind = Kind::kPli;
  uint8_t fir_seq_nr = 0;  // FIR command sequence number, increasing per new request
};

class VideoJitterBuffer {
 public:
  struct InsertResult {
    bool accepted = false;           // parsed and stored (not a duplicate, not too old)
    bool keyframe_packet = false;    // the first packet of a keyframe
    size_t frames_completed = 0;
    bool buffer_cleared = false;     // a stage overflowed and was emptied
    // Set when a complete keyframe has arrived: NACKs before this sequence number are moot
    // (hand it to NackGenerator::clear_up_to()).
    std::optional<uint16_t> keyframe_first_seq;
    // The packet's picture id (7 or 15 bits) and whether it starts its picture (parsed packets).
    std::optional<uint16_t> picture_id;
    bool picture_id_15bit = true;
    bool first_packet_in_frame = false;
  };

  // Rejects an invalid configuration.
  static Result<VideoJitterBuffer> Create(const VideoJitterBufferConfig& config);
  // Uses `config` as given (assumed valid; invalid sub-configs fall back to defaults).
  explicit VideoJitterBuffer(const VideoJitterBufferConfig& config = {});

  // Takes ownership of one received RTP packet of this stream.
  InsertResult insert(rtp::RtpPacket packet, Timestamp now);
  // When process() next has work (a frame due, a keyframe request due); nullopt when idle.
  std::optional<Timestamp> next_wakeup() const;
  // Frames whose render time is at or before `now`, decodable, in decode order.
  std::vector<EncodedVideoFrame> process(Timestamp now);
  // A keyframe request to send now, if one is due (at most one per keyframe_request_interval).
  std::optional<KeyframeRequest> poll_keyframe_request(Timestamp now);
  // Round-trip time, for the target delay once frames needed retransmission.
  void on_rtt(TimeDelta rtt) { timing_.set_rtt(rtt); }
  // The packet inserted last came from a retransmission (RTX): see
  // VideoTimingConfig::frequent_repair_fraction.
  void on_retransmitted_packet(Timestamp now) { timing_.on_retransmitted_packet(now); }
  // An FEC packet of this stream arrived (VideoTimingConfig::frequent_repair_fraction).
  void on_fec_packet(Timestamp now) { timing_.on_fec_packet(now); }
  const VideoJitterBufferConfig& config() const { return config_; }

  VideoJitterBufferStats stats() const;
  size_t packets_held() const { return packets_.size(); }
  size_t frames_held() const { return frames_.size() + finder_.stashed(); }
  TimeDelta target_delay() const { return timing_.target_delay(); }

 private:
  std::optional<Timestamp> keyframe_request_due() const;
  void on_frames(std::vector<EncodedVideoFrame> frames, Timestamp now, InsertResult& result);

  VideoJitterBufferConfig config_;
  PacketBuffer packets_;
  ReferenceFinder finder_;
  FrameBuffer frames_;
  VideoTiming timing_;
  // Counts releases; a gap above 5 s is a freeze here too (no pause figure in these stats).
  FreezeMeter freezes_{FreezeMeter::LongGaps::kFreeze};
  VideoJitterBufferStats stats_;

  std::optional<Timestamp> first_packet_time_;
  Timestamp last_packet_time_ = Timestamp::MinusInfinity();
  std::optional<Timestamp> last_release_time_;
  Timestamp last_render_time_ = Timestamp::MinusInfinity();
  std::optional<Timestamp> last_keyframe_request_;
  bool seen_keyframe_packet_ = false;
  bool keyframe_wanted_ = false;  // an overflow or a missing keyframe: ask as soon as allowed
  uint8_t fir_seq_nr_ = 0;
};

}  // namespace tern::jitterbuffer
