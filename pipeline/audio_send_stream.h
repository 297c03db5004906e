// AudioSendStream: microphone -> Opus (20 ms) -> RFC 7587 packetizer -> RTP (optionally RFC 2198
// RED with two generations) for one audio SSRC. The synthetic microphone is pulled every 20 ms
// inside process(); a frame taken at t holds the 20 ms before t. The capture time each packet
// carries to the sender reports is its first sample's, as the decoder will play it: t - 20 ms -
// the encoder's look-ahead.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "tern/codecs/audio_encoder.h"
#include "tern/core/result.h"
#include "tern/media/media_source.h"
#include "tern/media/synthetic_audio_source.h"
#include "tern/pipeline/outgoing_packet.h"
#include "tern/pipeline/pipeline_config.h"
#include "tern/pipeline/rtp_sender.h"
#include "tern/recovery/audio_red_encoder.h"
#include "tern/rtp/payload/opus_payload.h"

namespace tern::pipeline {

struct AudioSendCounters {
  int64_t frames_encoded = 0;  // 20 ms packets
  int64_t total_encoded_bytes = 0;
  int64_t total_samples_sent = 0;
  int64_t nack_count = 0;
  // Rate or loss-percent changes the encoder refused (kept its previous setting; see VideoSendCounters).
  int64_t encoder_config_errors = 0;
};

class AudioSendStream {
 public:
  static constexpr TimeDelta kFrameDuration = TimeDelta::Millis(20);
  // The lowest Opus rate the allocation gives (Opus is usable from about 6 kbps; libwebrtc's floor).
  static constexpr DataRate kMinBitrate = DataRate::KilobitsPerSec(6);
  // RED carries this many earlier frames in each packet.
  static constexpr size_t kRedGenerations = 2;
  // Audio payload on the wire per byte of Opus: RED sends each frame 1 + kRedGenerations times.
  static double wire_factor(bool red) { return red ? 1.0 + static_cast<double>(kRedGenerations) : 1.0; }
  struct Config {
    DataRate bitrate = DataRate::KilobitsPerSec(32);
    uint64_t source_seed = 1;
    bool red = false;
    PayloadTypes payload_types;
    RtpSender::Config rtp;  // audio has no RTX here (rtx_ssrc ignored)
  };
  static Result<std::unique_ptr<AudioSendStream>> Create(const Config& config, const rtp::ExtensionMap& extensions);

  Timestamp next_capture_time(Timestamp now) const { return started_ ? next_capture_ : now; }
  // Encodes every 20 ms frame due by `now`; appends its packets to `out`.
  void process(Timestamp now, std::vector<OutgoingPacket>& out);
  void set_target(DataRate rate);
  // Whether RED's redundant copies go out (Config::red; the allocation grants them only when the
  // budget allows): off, packets carry plain Opus under its own payload type (the receiver takes
  // both), and Opus in-band FEC is the protection left. On until told otherwise.
  void set_red_active(bool active) { red_active_ = active; }
  bool red_active() const { return red_ && red_active_; }
  // Loss reported by RTCP (receiver reports, fraction 0..1), in every protection mode: smoothed
  // (each report weighs 0.3) and set as Opus's expected loss in levels of 0, 1, 5, 10 and 20 %
  // with hysteresis (a level is reached at +0.5/1/1/2 points and left at as much below it), the
  // way libwebrtc's Opus wrapper optimises the loss it configures. A non-zero level turns the
  // encoder's in-band FEC (LBRR) on; it goes off again once the reports fall below 0.5 %.
  void on_loss(double loss_fraction);
  // The expected loss (percent) the encoder is configured with; > 0: in-band FEC active.
  int expected_loss_percent() const { return expected_loss_percent_; }
  void on_nack_received() { ++counters_.nack_count; }
  // Pull samples from `source` (not owned; nullptr: the synthetic microphone) instead. It must
  // deliver 48 kHz mono or stereo (stereo is mixed down to the mono encoder); once it has nothing
  // left, no more frames are encoded.
  void set_source(media::AudioSource* source) { external_source_ = source; }

  RtpSender& rtp() { return rtp_; }
  const RtpSender& rtp() const { return rtp_; }
  const AudioSendCounters& counters() const { return counters_; }
  // The encoder's algorithmic delay (Opus: 6.5 ms of look-ahead), part of mouth-to-ear.
  TimeDelta encoder_lookahead() const { return encoder_->lookahead(); }
  DataRate target() const { return target_; }
  uint8_t payload_type() const { return config_.payload_types.opus; }

 private:
  AudioSendStream(const Config& config, RtpSender rtp, media::SyntheticAudioSource source,
                  std::unique_ptr<codecs::AudioEncoder> encoder, std::optional<recovery::AudioRedEncoder> red);
  Config config_;
  RtpSender rtp_;
  media::SyntheticAudioSource source_;
  media::AudioSource* external_source_ = nullptr;
  std::unique_ptr<codecs::AudioEncoder> encoder_;
  std::optional<recovery::AudioRedEncoder> red_;
  bool red_active_ = true;
  rtp::OpusPacketizer packetizer_;
  bool started_ = false;
  Timestamp next_capture_;
  uint32_t rtp_timestamp_ = 0;
  bool last_was_dtx_ = true;
  DataRate target_;
  double smoothed_loss_percent_ = -1;  // < 0: no report yet
  int expected_loss_percent_ = 0;
  AudioSendCounters counters_;
  std::vector<uint8_t> payload_buffer_;
};

}  // namespace tern::pipeline
