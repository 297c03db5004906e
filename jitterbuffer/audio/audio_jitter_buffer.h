// AudioJitterBuffer: the adaptive audio playout buffer (tern's answer to libwebrtc's NetEq) for
// Opus over RTP (RFC 7587, RFC 6716). Sans-I/O: packets go in with their arrival time, the audio
// device pulls 10 ms at a time, and the buffer decides per pull what to play:
//
//   normal            decode the next packet
//   expand            Opus packet loss concealment for a missing packet
//   fec               recover a lost packet from the in-band FEC (LBRR) of the packet after it
//   accelerate        remove one pitch period (WSOLA) to shrink the delay
//   preemptive_expand insert one pitch period to grow the delay
//   comfort_noise     DTX gap: the sender is silent on purpose
//   muted             nothing to play yet (before the first packets, after a reset)
//
// The target delay comes from DelayManager (a high quantile of relative arrival delays); a
// smoothed buffer level is steered toward it by accelerate / preemptive expand, which also absorbs
// sender/receiver clock drift. Late packets (already played or concealed past) are discarded;
// duplicates ignored; reordering within the buffer is free; an SSRC change or a timestamp jump
// flushes the encoded packets and restarts the timeline. Counters follow W3C webrtc-stats
// inbound-rtp (audio).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "tern/codecs/audio_decoder.h"
#include "tern/codecs/audio_frame.h"
#include "tern/core/result.h"
#include "tern/core/seq_num.h"
#include "tern/core/units.h"
#include "tern/jitterbuffer/audio/audio_packet_buffer.h"
#include "tern/jitterbuffer/audio/comfort_noise.h"
#include "tern/jitterbuffer/audio/delay_manager.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::jitterbuffer {

enum class PlayoutOperation : uint8_t {
  kNormal,
  kExpand,
  kFec,
  kAccelerate,
  kPreemptiveExpand,
  kComfortNoise,
  kMuted,
};

const char* playout_operation_name(PlayoutOperation op);

// Samples made up where none were received: loss concealment (expand) or comfort noise.
constexpr bool is_concealment(PlayoutOperation op) {
  return op == PlayoutOperation::kExpand || op == PlayoutOperation::kComfortNoise;
}
// Samples decoded from received packets (FEC's included; accelerate and preemptive expand only
// stretch them): neither concealment nor the silence before the first packet.
constexpr bool plays_received_audio(PlayoutOperation op) {
  return !is_concealment(op) && op != PlayoutOperation::kMuted;
}

struct AudioJitterBufferConfig {
  int sample_rate_hz = 48000;  // output rate: 8000, 12000, 16000, 24000 or 48000 (RTP clock stays 48 kHz)
  int channels = 1;            // output channels, 1 or 2
  TimeDelta min_delay = TimeDelta::Millis(20);
  TimeDelta max_delay = TimeDelta::Millis(1000);
  TimeDelta initial_delay = TimeDelta::Millis(60);  // target before the delay statistics exist
  double delay_quantile = 0.95;
  double forget_factor = 0.9993;
  size_t max_packets = 250;         // encoded packets kept (5 s of 20 ms packets)
  size_t max_bytes = 256 * 1024;    // encoded bytes kept
  bool time_stretching = true;      // accelerate / preemptive expand
  bool use_fec = true;              // Opus in-band FEC recovery
};

// W3C webrtc-stats RTCInboundRtpStreamStats, audio members, plus a few diagnostics.
struct AudioJitterBufferStats {
  double jitter_buffer_delay_s = 0;         // sum over emitted samples of their time in the buffer
  double jitter_buffer_target_delay_s = 0;  // sum over emitted samples of the target at emission
  double jitter_buffer_minimum_delay_s = 0; // same as target here (no external minimum)
  uint64_t jitter_buffer_emitted_count = 0; // samples per channel emitted
  uint64_t total_samples_received = 0;      // samples per channel played out (incl. concealment)
  uint64_t concealed_samples = 0;
  uint64_t silent_concealed_samples = 0;
  uint64_t concealment_events = 0;
  uint64_t inserted_samples_for_deceleration = 0;
  uint64_t removed_samples_for_acceleration = 0;
  uint64_t packets_received = 0;           // accepted by insert() (duplicates excluded)
  uint64_t packets_discarded = 0;          // late, evicted by the bounds, or flushed
  uint64_t fec_packets_received = 0;       // packets whose in-band FEC recovered a lost one
  uint64_t duplicate_packets = 0;
  uint64_t malformed_packets = 0;          // not a valid Opus packet, or a decoder error
  uint64_t ssrc_changes = 0;
  uint64_t timestamp_jumps = 0;
};

struct PlayoutFrame {
  codecs::AudioFrame frame;  // exactly 10 ms: sample_rate_hz / 100 samples per channel
  PlayoutOperation operation = PlayoutOperation::kMuted;
};

class AudioJitterBuffer {
 public:
  // Validates the configuration. Without `decoder` an Opus decoder of the configured rate and
  // channel count is created (codecs::CreateAudioDecoder); an injected one must match them.
  static Result<std::unique_ptr<AudioJitterBuffer>> Create(const AudioJitterBufferConfig& config,
                                                           std::unique_ptr<codecs::AudioDecoder> decoder = nullptr);

  // Takes one RTP packet carrying one Opus packet, received at `now`. Malformed payloads, late
  // packets and duplicates are counted and dropped; never fails otherwise.
  void insert(const rtp::RtpPacket& packet, Timestamp now);
  // Produces exactly 10 ms of audio for playout at `now` and says how it was made.
  PlayoutFrame pull_10ms(Timestamp now);

  const AudioJitterBufferStats& stats() const { return stats_; }
  // The delay the buffer is steering toward.
  TimeDelta target_delay() const { return delay_manager_.target(); }
  // Audio buffered ahead of playout: decoded samples not yet played plus the encoded span.
  TimeDelta current_delay() const;
  // Bytes held in packets and decoded samples (bounded by the configuration; see README).
  size_t memory_bytes() const;
  size_t buffered_packets() const { return packets_.size(); }
  const AudioJitterBufferConfig& config() const { return config_; }

 private:
  AudioJitterBuffer(const AudioJitterBufferConfig& config, DelayManager delay_manager,
                    std::unique_ptr<codecs::AudioDecoder> decoder);

  struct Segment {
    int samples = 0;  // per channel
    PlayoutOperation op = PlayoutOperation::kNormal;
    Timestamp arrival = Timestamp::MinusInfinity();  // of the packet it came from; -inf if synthetic
    bool silent = false;
  };

  void flush_packets(bool new_stream);
  // Produces more decoded audio at the end of the sync buffer (one decision).
  void produce(Timestamp now);
  void decode_next();
  void conceal(int64_t ticks);
  void recover_fec(const BufferedAudioPacket& next);
  void comfort_noise(int64_t ticks);
  void append(const codecs::AudioFrame& frame, PlayoutOperation op, Timestamp arrival);
  void time_stretch();
  int64_t level_ticks() const;
  int64_t ticks_per_sample() const { return kRtpClockHz / config_.sample_rate_hz; }

  static constexpr int kRtpClockHz = 48000;
  static constexpr size_t kSeqHistory = 1024;  // duplicate detection window, packets (power of two)

  AudioJitterBufferConfig config_;
  DelayManager delay_manager_;
  std::unique_ptr<codecs::AudioDecoder> decoder_;
  AudioPacketBuffer packets_;
  ComfortNoise comfort_noise_;
  AudioJitterBufferStats stats_;

  std::optional<uint32_t> ssrc_;
  RtpTimestampUnwrapper unwrapper_;
  RtpSeqUnwrapper seq_unwrapper_;
  std::array<int64_t, kSeqHistory> recent_seq_{};
  std::optional<int64_t> last_inserted_ts_;
  Timestamp last_inserted_arrival_ = Timestamp::MinusInfinity();

  // Playout timeline.
  bool playing_ = false;
  int64_t playout_ts_ = 0;       // RTP timestamp of the next audio to decode
  int64_t concealed_ahead_ = 0;  // ticks concealed for audio that has not been decoded yet
  int64_t last_decoded_end_ = 0;  // end of the last decoded packet
  bool dtx_ = false;             // last decoded packet was a DTX frame: gaps are intended silence
  double filtered_level_ = 0;    // smoothed buffer level, ticks
  bool level_primed_ = false;
  bool last_emitted_concealed_ = false;

  // Sync buffer: decoded, not yet played (interleaved), and what made each part of it.
  std::vector<int16_t> future_;
  std::vector<Segment> segments_;
  int16_t last_played_ = 0;
};

}  // namespace tern::jitterbuffer
