#include "tern/jitterbuffer/video/video_jitter_buffer.h"

#include <algorithm>
#include <utility>

namespace tern::jitterbuffer {

Status VideoJitterBufferConfig::validate() const {
  if (!codecs::is_video(codec)) return Error{"video jitter buffer: not a video codec"};
  if (Status s = packet_buffer.validate(); !s) return s;
  if (max_frames == 0) return Error{"video jitter buffer: max_frames is zero"};
  if (max_stashed_frames == 0) return Error{"video jitter buffer: max_stashed_frames is zero"};
  if (timing.clock_rate == 0) return Error{"video jitter buffer: clock_rate is zero"};
  if (timing.min_delay < TimeDelta::Zero() || timing.max_delay < timing.min_delay)
    return Error{"video jitter buffer: delay bounds out of order"};
  if (undecodable_limit <= TimeDelta::Zero() || keyframe_request_interval <= TimeDelta::Zero())
    return Error{"video jitter buffer: keyframe timers must be positive"};
  return Status::Ok();
}

Result<VideoJitterBuffer> VideoJitterBuffer::Create(const VideoJitterBufferConfig& config) {
  if (Status s = config.validate(); !s) return Error{s.error()};
  return VideoJitterBuffer(config);
}

VideoJitterBuffer::VideoJitterBuffer(const VideoJitterBufferConfig& config)
    : config_(config),
      packets_(config.packet_buffer),
      finder_(config.max_stashed_frames == 0 ? 1 : config.max_stashed_frames),
      frames_(config.max_frames),
      timing_(config.timing) {}

VideoJitterBuffer::InsertResult VideoJitterBuffer::insert(rtp::RtpPacket packet, Timestamp now) {
  InsertResult result;
  auto parsed = parse_video_packet(config_.codec, packet);
  if (!parsed) {
    ++stats_.packets_invalid;
    return result;
  }
  if (!first_packet_time_) first_packet_time_ = now;
  last_packet_time_ = std::max(last_packet_time_, now);
  result.keyframe_packet = parsed->header.first_packet_in_frame && parsed->header.keyframe;
  result.picture_id = parsed->header.picture_id;
  result.picture_id_15bit = parsed->header.picture_id_15bit;
  result.first_packet_in_frame = parsed->header.first_packet_in_frame;
  seen_keyframe_packet_ = seen_keyframe_packet_ || result.keyframe_packet;
  const uint64_t dup_before = packets_.stats().duplicates + packets_.stats().too_old;
  PacketBuffer::InsertResult inserted = packets_.insert(std::move(packet), *parsed, now);
  result.accepted = packets_.stats().duplicates + packets_.stats().too_old == dup_before;
  if (inserted.buffer_cleared || inserted.resynced) {
    result.buffer_cleared = true;
    // After a resync the numbers (and frame ids made from them) start again below the jump: the
    // frame buffer forgets what it released, or it would refuse every frame from here as too old.
    stats_.frames_dropped += inserted.resynced ? frames_.reset() : frames_.clear();
    finder_.clear();
    keyframe_wanted_ = true;
  }
  on_frames(std::move(inserted.frames), now, result);
  return result;
}

void VideoJitterBuffer::on_frames(std::vector<EncodedVideoFrame> frames, Timestamp now, InsertResult& result) {
  for (EncodedVideoFrame& frame : frames) {
    ++stats_.frames_received;
    ++result.frames_completed;
    timing_.on_frame(frame.rtp_timestamp, now, DataSize::Bytes(static_cast<int64_t>(frame.data.size())),
                     frame.retransmitted, frame.first_receive_time);
    if (frame.keyframe) result.keyframe_first_seq = static_cast<uint16_t>(frame.first_seq);
    const uint64_t stash_drops = finder_.dropped();
    std::vector<EncodedVideoFrame> resolved = finder_.manage(std::move(frame));
    stats_.frames_dropped += finder_.dropped() - stash_drops;
    for (EncodedVideoFrame& f : resolved) {
      f.render_time = timing_.render_time(f.rtp_timestamp);
      switch (frames_.insert(std::move(f))) {
        case FrameBuffer::InsertOutcome::kInserted:
          break;
        case FrameBuffer::InsertOutcome::kCleared:
          // The frame buffer was full of frames that never became decodable.
          stats_.frames_dropped += config_.max_frames;
          result.buffer_cleared = true;
          keyframe_wanted_ = true;
          break;
        case FrameBuffer::InsertOutcome::kTooOld:
        case FrameBuffer::InsertOutcome::kDuplicate:
          ++stats_.frames_dropped;
          break;
      }
    }
  }
  // A delta frame before any sign of a keyframe cannot be decoded: ask right away. (A keyframe
  // whose first packet was seen is probably just waiting for a retransmission.)
  if (!seen_keyframe_packet_ && !frames_.last_released() && frames_.size() > 0 &&
      frames_.next_decodable() == nullptr)
    keyframe_wanted_ = true;
}

std::vector<EncodedVideoFrame> VideoJitterBuffer::process(Timestamp now) {
  std::vector<EncodedVideoFrame> out;
  // Bounded: each pass removes at least one frame.
  for (size_t guard = frames_.size(); guard > 0; --guard) {
    const EncodedVideoFrame* next = frames_.next_decodable();
    if (next == nullptr || next->render_time > now) break;
    size_t dropped = 0;
    EncodedVideoFrame f = frames_.pop_next_decodable(&dropped);
    stats_.frames_dropped += dropped;
    // Render times never go backwards in decode order.
    f.render_time = std::max(f.render_time, last_render_time_);
    last_render_time_ = f.render_time;
    ++stats_.frames_decoded;
    if (f.keyframe) ++stats_.key_frames_decoded;
    stats_.jitter_buffer_delay += std::max(now - f.first_receive_time, TimeDelta::Zero());
    stats_.jitter_buffer_target_delay += timing_.target_delay();
    ++stats_.jitter_buffer_emitted_count;
    freezes_.on_frame(now);
    last_release_time_ = now;
    keyframe_wanted_ = false;
    packets_.clear_to(f.last_seq);
    out.push_back(std::move(f));
  }
  return out;
}

std::optional<Timestamp> VideoJitterBuffer::keyframe_request_due() const {
  if (!first_packet_time_) return std::nullopt;
  std::optional<Timestamp> due;
  if (keyframe_wanted_) {
    due = first_packet_time_;
  } else {
    // Undecodable: packets arrived since the last release, and none released for the limit.
    const Timestamp progress = last_release_time_.value_or(*first_packet_time_);
    if (last_release_time_ && last_packet_time_ <= *last_release_time_) return std::nullopt;
    due = progress + config_.undecodable_limit;
  }
  if (last_keyframe_request_) due = std::max(*due, *last_keyframe_request_ + config_.keyframe_request_interval);
  return due;
}

std::optional<KeyframeRequest> VideoJitterBuffer::poll_keyframe_request(Timestamp now) {
  const std::optional<Timestamp> due = keyframe_request_due();
  if (!due || *due > now) return std::nullopt;
  last_keyframe_request_ = now;
  keyframe_wanted_ = false;
  KeyframeRequest request;
  if (config_.use_fir) {
    request.kind = KeyframeRequest::Kind::kFir;
    request.fir_seq_nr = fir_seq_nr_++;
    ++stats_.fir_count;
  } else {
    ++stats_.pli_count;
  }
  return request;
}

std::optional<Timestamp> VideoJitterBuffer::next_wakeup() const {
  std::optional<Timestamp> wake = keyframe_request_due();
  if (const EncodedVideoFrame* next = frames_.next_decodable()) {
    const Timestamp t = std::max(next->render_time, last_render_time_);
    wake = wake ? std::min(*wake, t) : t;
  }
  return wake;
}

VideoJitterBufferStats VideoJitterBuffer::stats() const {
  VideoJitterBufferStats s = stats_;
  s.freeze_count = static_cast<uint64_t>(freezes_.stats().freeze_count);
  s.total_freezes_duration = freezes_.stats().total_freezes_duration;
  s.target_delay = timing_.target_delay();
  s.jitter_estimate = timing_.jitter();
  s.packet_buffer = packets_.stats();
  return s;
}

}  // namespace tern::jitterbuffer
