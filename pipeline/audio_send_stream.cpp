#include "tern/pipeline/audio_send_stream.h"

#include <algorithm>
#include <cmath>

#include "tern/codecs/codec_factory.h"

namespace tern::pipeline {
namespace {
constexpr int kSampleRate = 48000;
constexpr int kSamplesPerFrame = kSampleRate / 50;  // 20 ms
constexpr int kMaxFramesPerProcess = 50;             // a late driver catches up at most 1 s

// Expected-loss levels handed to Opus (percent) and the smoothing of reported loss: see on_loss().
constexpr int kLossLevels[] = {20, 10, 5, 1};
constexpr double kLossSmoothing = 0.3;  // weight of each new report

// The level for a smoothed loss (percent): the highest level reached, where reaching a level from
// below takes a margin more than it and leaving it from above a margin less (no toggling on noise).
int quantize_loss(double percent, int previous) {
  for (int level : kLossLevels) {
    const double margin = level >= 20 ? 2.0 : level >= 5 ? 1.0 : 0.5;
    const double threshold = previous >= level ? level - margin : level + margin;
    if (percent >= threshold) return level;
  }
  return 0;
}
}  // namespace

Result<std::unique_ptr<AudioSendStream>> AudioSendStream::Create(const Config& config,
                                                                 const rtp::ExtensionMap& extensions) {
  media::SyntheticAudioConfig sc;
  sc.seed = config.source_seed;
  auto source = media::SyntheticAudioSource::Create(sc);
  if (!source) return Error{source.error()};
  codecs::AudioEncoderConfig ec;
  ec.bitrate = config.bitrate;
  ec.frame_duration = kFrameDuration;
  ec.inband_fec = true;
  auto encoder = codecs::CreateAudioEncoder(ec);
  if (!encoder) return Error{encoder.error()};
  RtpSender::Config rc = config.rtp;
  rc.clock_rate = kSampleRate;
  rc.rtx_ssrc.reset();
  auto rtp = RtpSender::Create(rc, extensions);
  if (!rtp) return Error{rtp.error()};
  std::optional<recovery::AudioRedEncoder> red;
  if (config.red) {
    recovery::AudioRedEncoder::Config redc;
    redc.red_payload_type = config.payload_types.audio_red;
    redc.generations = kRedGenerations;
    auto r = recovery::AudioRedEncoder::Create(redc);
    if (!r) return Error{r.error()};
    red.emplace(std::move(r).value());
  }
  return std::unique_ptr<AudioSendStream>(new AudioSendStream(config, std::move(rtp).value(), std::move(source).value(),
                                                              std::move(encoder).value(), std::move(red)));
}

AudioSendStream::AudioSendStream(const Config& config, RtpSender rtp, media::SyntheticAudioSource source,
                                 std::unique_ptr<codecs::AudioEncoder> encoder,
                                 std::optional<recovery::AudioRedEncoder> red)
    : config_(config),
      rtp_(std::move(rtp)),
      source_(std::move(source)),
      encoder_(std::move(encoder)),
      red_(std::move(red)),
      target_(config.bitrate) {}

void AudioSendStream::set_target(DataRate rate) {
  const DataRate clamped = std::clamp(rate, DataRate::KilobitsPerSec(6), DataRate::KilobitsPerSec(510));
  if (clamped == target_) return;
  target_ = clamped;
  if (!encoder_->set_target_bitrate(clamped).ok()) ++counters_.encoder_config_errors;
}

void AudioSendStream::on_loss(double loss_fraction) {
  const double reported = std::isnan(loss_fraction) ? 0.0 : std::clamp(loss_fraction, 0.0, 1.0) * 100.0;
  smoothed_loss_percent_ = smoothed_loss_percent_ < 0
                               ? reported
                               : smoothed_loss_percent_ + kLossSmoothing * (reported - smoothed_loss_percent_);
  const int level = quantize_loss(smoothed_loss_percent_, expected_loss_percent_);
  if (level == expected_loss_percent_) return;
  if (!encoder_->set_packet_loss_percent(level).ok()) {
    ++counters_.encoder_config_errors;
    return;
  }
  expected_loss_percent_ = level;
}

void AudioSendStream::process(Timestamp now, std::vector<OutgoingPacket>& out) {
  if (!started_) {
    started_ = true;
    next_capture_ = now;
  }
  for (int i = 0; i < kMaxFramesPerProcess && next_capture_ <= now; ++i) {
    const Timestamp capture = next_capture_;
    next_capture_ += kFrameDuration;
    codecs::AudioFrame frame;
    if (external_source_ != nullptr) {
      std::optional<codecs::AudioFrame> f = external_source_->next_samples(kSamplesPerFrame, capture);
      if (!f || f->sample_rate_hz != kSampleRate || f->samples_per_channel != kSamplesPerFrame) {
        rtp_timestamp_ += kSamplesPerFrame;  // nothing to send for this 20 ms: the RTP clock goes on (a gap)
        continue;
      }
      frame = std::move(*f);
      if (frame.channels == 2) {  // the encoder is mono: mix down
        for (size_t k = 0; k < static_cast<size_t>(kSamplesPerFrame); ++k) {
          frame.samples[k] = static_cast<int16_t>((int{frame.samples[2 * k]} + int{frame.samples[2 * k + 1]}) / 2);
        }
        frame.samples.resize(static_cast<size_t>(kSamplesPerFrame));
        frame.channels = 1;
      }
      if (frame.channels != 1) {
        rtp_timestamp_ += kSamplesPerFrame;
        continue;
      }
    } else {
      frame = source_.next_samples(kSamplesPerFrame, capture);
    }
    frame.rtp_timestamp = rtp_timestamp_;
    rtp_timestamp_ += kSamplesPerFrame;
    auto encoded = encoder_->encode(frame);
    if (!encoded) continue;
    ++counters_.frames_encoded;
    counters_.total_samples_sent += kSamplesPerFrame;
    counters_.total_encoded_bytes += static_cast<int64_t>(encoded->data.size());
    rtp::OpusFrameInfo info;
    info.start_of_talkspurt = last_was_dtx_;
    last_was_dtx_ = encoded->is_dtx;
    rtp::PayloadLimits limits;
    if (!packetizer_.plan(encoded->data, info, limits).ok() || packetizer_.num_packets() == 0) continue;
    payload_buffer_.resize(packetizer_.packet_size(0));
    auto written = packetizer_.write(0, payload_buffer_);
    if (!written) continue;
    auto packet = rtp_.build(config_.payload_types.opus, frame.rtp_timestamp, packetizer_.marker(0),
                             std::span<const uint8_t>(payload_buffer_.data(), *written));
    if (!packet) continue;
    OutgoingPacket o;
    // The instant the packet's RTP timestamp stands for (RFC 3550: its first sample's sampling
    // instant): a frame taken at `capture` holds the 20 ms before it, and what the decoder plays
    // at that timestamp was spoken one look-ahead earlier still. Sender reports map the RTP clock
    // through this, so a receiver's lip sync and capture-to-playout see the audio as old as it is.
    o.capture_time = capture - kFrameDuration - encoder_->lookahead();
    o.media_ssrc = rtp_.ssrc();
    o.priority = congestion::PacketPriority::kAudio;
    o.audio = true;
    if (red_ && red_active_) {
      auto red = red_->encode(*packet);
      o.packet = red ? std::move(red).value() : std::move(packet).value();
    } else {
      o.packet = std::move(packet).value();
    }
    out.push_back(std::move(o));
  }
}

}  // namespace tern::pipeline
