#include "tern/pipeline/audio_receive_stream.h"

#include <algorithm>

#include "tern/core/seq_num.h"

namespace tern::pipeline {

Result<std::unique_ptr<AudioReceiveStream>> AudioReceiveStream::Create(const Config& config,
                                                                       rtp::ReceiveStatistics& statistics) {
  if (config.ssrc == 0) return Error{"audio receive stream: zero SSRC"};
  auto jb = jitterbuffer::AudioJitterBuffer::Create(jitterbuffer::AudioJitterBufferConfig{});
  if (!jb) return Error{jb.error()};
  RtpReceiveFront::Config fc;
  fc.ssrc = config.ssrc;
  // Every block of a RED packet goes on, redundant ones first: the jitter buffer drops the ones it
  // already has (duplicates) and keeps the ones standing in for lost packets.
  fc.red_payload_type = config.payload_types.audio_red;
  fc.statistics = &statistics;
  fc.clock_rates = {{config.payload_types.opus, 48000}, {config.payload_types.audio_red, 48000}};
  auto front = RtpReceiveFront::Create(fc);
  if (!front) return Error{front.error()};
  return std::unique_ptr<AudioReceiveStream>(
      new AudioReceiveStream(config, std::move(front).value(), std::move(jb).value()));
}

AudioReceiveStream::AudioReceiveStream(const Config& config, RtpReceiveFront front,
                                       std::unique_ptr<jitterbuffer::AudioJitterBuffer> jitter_buffer)
    : config_(config), front_(std::move(front)), jitter_buffer_(std::move(jitter_buffer)) {}

void AudioReceiveStream::on_rtp(const rtp::RtpPacket& packet, Timestamp now) {
  // The device starts pulling with the first packet of our SSRC (RED or not, parsed or not).
  if (front_.on_rtp(packet, now, *this) && !next_pull_) next_pull_ = now;
}

RtpReceiveFront::Listener::Verdict AudioReceiveStream::on_media_packet(rtp::RtpPacket packet, PacketOrigin origin,
                                                                       Timestamp now) {
  const uint64_t accepted = jitter_buffer_->stats().packets_received;
  jitter_buffer_->insert(packet, now);
  if (origin == PacketOrigin::kRedundancy) {
    ++fec_packets_received_;
    if (jitter_buffer_->stats().packets_received == accepted) ++fec_packets_discarded_;
  }
  const uint32_t end = packet.timestamp() + 960;
  if (!newest_timestamp_ || seq_newer(end, *newest_timestamp_)) newest_timestamp_ = end;
  return {};
}

void AudioReceiveStream::set_sync_delay(TimeDelta delay) {
  sync_delay_ = std::clamp(delay, TimeDelta::Zero(), kMaxSyncDelay);
}

std::optional<TimeDelta> AudioReceiveStream::current_delay(Timestamp now, const NtpClock& clock) const {
  if (!newest_timestamp_) return std::nullopt;
  // The sample playing now is the newest one received minus what is buffered ahead of playout.
  const int64_t buffered_ticks = jitter_buffer_->current_delay().us() * 48 / 1000;
  const uint32_t playing = *newest_timestamp_ - static_cast<uint32_t>(std::max<int64_t>(0, buffered_ticks));
  auto capture = rtp_to_ntp_.to_local(playing, clock);
  if (!capture) return std::nullopt;
  return now - *capture;
}

void AudioReceiveStream::process(Timestamp now) {
  // A late driver catches up at most one second of pulls per call.
  for (int i = 0; i < 100 && next_pull_ && *next_pull_ <= now; ++i) {
    const Timestamp t = *next_pull_;
    next_pull_ = t + kPullInterval;
    // Before the pull, the sample at the playout point is the first one of the block pulled now.
    const std::optional<TimeDelta> delay = current_delay(t, config_.ntp_clock);
    jitterbuffer::PlayoutFrame frame = jitter_buffer_->pull_10ms(t);
    AudioPlayoutEvent e;
    e.ssrc = config_.ssrc;
    e.time = t;
    e.operation = frame.operation;
    if (delay && jitterbuffer::plays_received_audio(frame.operation)) e.capture_to_playout = *delay;
    e.buffer_delay = jitter_buffer_->current_delay();
    e.sync_delay = sync_delay_;
    delay_line_.push_back(Delayed{e, std::move(frame.frame)});
    // The delay line plays events sync_delay later, to the nearest whole 10 ms block (rounding
    // down would always leave audio up to a block ahead of the picture it is synced to).
    const size_t keep = static_cast<size_t>((sync_delay_.us() + kPullInterval.us() / 2) / kPullInterval.us());
    while (delay_line_.size() > keep) {
      Delayed out = std::move(delay_line_.front());
      delay_line_.pop_front();
      if (out.event.capture_to_playout) *out.event.capture_to_playout += t - out.event.time;  // the sync hold
      out.event.time = t;
      out.event.samples = &out.samples;
      emit(out.event);
    }
  }
}

void AudioReceiveStream::emit(const AudioPlayoutEvent& event) {
  if (listener_ != nullptr) listener_->on_audio_playout(event);
}

}  // namespace tern::pipeline
