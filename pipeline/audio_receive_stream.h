// AudioReceiveStream: one remote Opus SSRC from transport to the audio device: RtpReceiveFront
// (receive statistics (RFC 3550), RED split (RFC 2198), every block) -> adaptive jitter buffer (decode, PLC, in-band FEC, time
// stretching) -> 10 ms pulls every 10 ms -> A/V sync delay line -> playout listener.
#pragma once

#include <deque>
#include <memory>
#include <optional>

#include "tern/core/result.h"
#include "tern/jitterbuffer/audio/audio_jitter_buffer.h"
#include "tern/pipeline/listeners.h"
#include "tern/pipeline/pipeline_config.h"
#include "tern/pipeline/rtp_receive_front.h"
#include "tern/pipeline/rtp_to_ntp.h"
#include "tern/rtp/receive_statistics.h"

namespace tern::pipeline {

class AudioReceiveStream final : private RtpReceiveFront::Listener {
 public:
  static constexpr TimeDelta kPullInterval = TimeDelta::Millis(10);
  static constexpr TimeDelta kMaxSyncDelay = TimeDelta::Seconds(1);

  struct Config {
    uint32_t ssrc = 0;
    bool red = false;
    PayloadTypes payload_types;
    NtpClock ntp_clock;  // this host's, to read capture times from the sender's reports
  };
  // `statistics` (the endpoint's) must outlive the stream.
  static Result<std::unique_ptr<AudioReceiveStream>> Create(const Config& config, rtp::ReceiveStatistics& statistics);

  void on_rtp(const rtp::RtpPacket& packet, Timestamp now);
  // Next 10 ms pull (nullopt before the first packet: the device starts with the stream).
  std::optional<Timestamp> next_wakeup() const { return next_pull_; }
  // Pulls every 10 ms block due by `now`.
  void process(Timestamp now);

  void on_sender_report(NtpTime ntp, uint32_t rtp_timestamp) { rtp_to_ntp_.on_sender_report(ntp, rtp_timestamp); }
  // Extra playout delay for A/V sync (clamped to kMaxSyncDelay).
  void set_sync_delay(TimeDelta delay);
  TimeDelta sync_delay() const { return sync_delay_; }
  // Capture-to-playout delay of the audio playing now, without the sync delay; nullopt before an
  // SR made capture times known.
  std::optional<TimeDelta> current_delay(Timestamp now, const NtpClock& clock) const;

  void set_playout_listener(AudioPlayoutListener* listener) { listener_ = listener; }
  const jitterbuffer::AudioJitterBufferStats& jitter_buffer_stats() const { return jitter_buffer_->stats(); }
  int64_t red_packets_received() const { return front_.counters().red_packets_received; }
  // RFC 2198 redundancy as webrtc-stats audio FEC: redundant blocks received, and of those the ones
  // not used (the jitter buffer had the packet already, or it came too late).
  uint64_t fec_packets_received() const { return fec_packets_received_; }
  uint64_t fec_packets_discarded() const { return fec_packets_discarded_; }
  uint32_t ssrc() const { return config_.ssrc; }

 private:
  AudioReceiveStream(const Config& config, RtpReceiveFront front,
                     std::unique_ptr<jitterbuffer::AudioJitterBuffer> jitter_buffer);
  // From the front: into the jitter buffer.
  Verdict on_media_packet(rtp::RtpPacket packet, PacketOrigin origin, Timestamp now) override;
  void emit(const AudioPlayoutEvent& event);

  Config config_;
  RtpReceiveFront front_;
  std::unique_ptr<jitterbuffer::AudioJitterBuffer> jitter_buffer_;
  RtpToNtp rtp_to_ntp_{48000};
  std::optional<Timestamp> next_pull_;
  std::optional<uint32_t> newest_timestamp_;  // end of the newest packet inserted
  TimeDelta sync_delay_ = TimeDelta::Zero();
  uint64_t fec_packets_received_ = 0;
  uint64_t fec_packets_discarded_ = 0;
  // Delay line of playout events (with their samples) for A/V sync: bounded by
  // kMaxSyncDelay / kPullInterval entries (set_sync_delay clamps).
  struct Delayed {
    AudioPlayoutEvent event;
    codecs::AudioFrame samples;
  };
  std::deque<Delayed> delay_line_;
  AudioPlayoutListener* listener_ = nullptr;
};

}  // namespace tern::pipeline
