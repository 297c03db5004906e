#include "tern/jitterbuffer/audio/audio_jitter_buffer.h"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <utility>

#include "tern/codecs/codec_factory.h"
#include "tern/jitterbuffer/audio/time_stretcher.h"
#include "tern/rtp/payload/opus_payload.h"

namespace tern::jitterbuffer {
namespace {

// A timestamp further than this from where arrival times say it should be starts a new timeline.
constexpr TimeDelta kJumpMargin = TimeDelta::Seconds(1);
// Mean absolute amplitude below which concealment counts as silent (about -60 dBFS).
constexpr double kSilentLevel = 32.0;
// Weight of the newest buffer level sample in the smoothed level (one sample per decoded packet).
constexpr double kLevelSmoothing = 0.05;
constexpr int kMaxProduceSteps = 64;

int64_t ticks_from(TimeDelta d) { return d.us() * 48 / 1000; }
TimeDelta time_from(int64_t ticks) { return TimeDelta::Micros(ticks * 1000 / 48); }

// Lower is more telling: a frame that mixes operations reports the most telling one.
int rank(PlayoutOperation op) {
  switch (op) {
    case PlayoutOperation::kExpand: return 0;
    case PlayoutOperation::kFec: return 1;
    case PlayoutOperation::kComfortNoise: return 2;
    case PlayoutOperation::kAccelerate: return 3;
    case PlayoutOperation::kPreemptiveExpand: return 4;
    case PlayoutOperation::kNormal: return 5;
    case PlayoutOperation::kMuted: return 6;
  }
  return 7;
}

bool is_silent(const std::vector<int16_t>& pcm) {
  if (pcm.empty()) return true;
  double sum = 0;
  for (int16_t s : pcm) sum += std::abs(static_cast<int>(s));
  return sum / static_cast<double>(pcm.size()) < kSilentLevel;
}

}  // namespace

const char* playout_operation_name(PlayoutOperation op) {
  switch (op) {
    case PlayoutOperation::kNormal: return "normal";
    case PlayoutOperation::kExpand: return "expand";
    case PlayoutOperation::kFec: return "fec";
    case PlayoutOperation::kAccelerate: return "accelerate";
    case PlayoutOperation::kPreemptiveExpand: return "preemptive-expand";
    case PlayoutOperation::kComfortNoise: return "comfort-noise";
    case PlayoutOperation::kMuted: return "muted";
  }
  return "unknown";
}

Result<std::unique_ptr<AudioJitterBuffer>> AudioJitterBuffer::Create(const AudioJitterBufferConfig& config,
                                                                     std::unique_ptr<codecs::AudioDecoder> decoder) {
  const int hz = config.sample_rate_hz;
  if (hz != 8000 && hz != 12000 && hz != 16000 && hz != 24000 && hz != 48000) {
    return Error{"audio jitter buffer: sample rate must be 8, 12, 16, 24 or 48 kHz"};
  }
  if (config.channels != 1 && config.channels != 2) return Error{"audio jitter buffer: channels must be 1 or 2"};
  if (config.max_packets < 2 || config.max_packets > 100000) {
    return Error{"audio jitter buffer: max_packets outside 2..100000"};
  }
  if (config.max_bytes < 1500 || config.max_bytes > (size_t{64} << 20)) {
    return Error{"audio jitter buffer: max_bytes outside 1500 bytes..64 MiB"};
  }
  DelayManagerConfig dm;
  dm.min_delay = config.min_delay;
  dm.max_delay = config.max_delay;
  dm.initial_target = config.initial_delay;
  dm.quantile = config.delay_quantile;
  dm.forget_factor = config.forget_factor;
  auto delay_manager = DelayManager::Create(dm);
  if (!delay_manager) return Error{delay_manager.error()};
  if (decoder == nullptr) {
    auto created = codecs::CreateAudioDecoder({codecs::CodecType::kOpus, hz, config.channels});
    if (!created) return Error{created.error()};
    decoder = std::move(created.value());
  } else if (decoder->config().sample_rate_hz != hz || decoder->config().channels != config.channels) {
    return Error{"audio jitter buffer: decoder rate or channels differ from the configuration"};
  }
  return std::unique_ptr<AudioJitterBuffer>(
      new AudioJitterBuffer(config, std::move(delay_manager.value()), std::move(decoder)));
}

AudioJitterBuffer::AudioJitterBuffer(const AudioJitterBufferConfig& config, DelayManager delay_manager,
                                     std::unique_ptr<codecs::AudioDecoder> decoder)
    : config_(config),
      delay_manager_(std::move(delay_manager)),
      decoder_(std::move(decoder)),
      packets_(config.max_packets, config.max_bytes) {
  // Never aim for more than three quarters of what the packet buffer holds (20 ms packets).
  delay_manager_.set_capacity_limit(TimeDelta::Millis(20) * static_cast<int64_t>(config.max_packets) * 3 / 4);
  recent_seq_.fill(-1);
}

void AudioJitterBuffer::flush_packets(bool new_stream) {
  stats_.packets_discarded += static_cast<uint64_t>(packets_.clear());
  unwrapper_.reset();
  seq_unwrapper_.reset();
  recent_seq_.fill(-1);
  delay_manager_.reset_reference();
  if (new_stream) decoder_->reset();
  last_inserted_ts_.reset();
  playing_ = false;
  concealed_ahead_ = 0;
  dtx_ = false;
  level_primed_ = false;
}

void AudioJitterBuffer::insert(const rtp::RtpPacket& packet, Timestamp now) {
  auto parsed = rtp::OpusDepacketizer::parse(packet.payload());
  if (!parsed) {
    ++stats_.malformed_packets;
    return;
  }
  if (ssrc_ && *ssrc_ != packet.ssrc()) {
    ++stats_.ssrc_changes;
    flush_packets(true);
  }
  ssrc_ = packet.ssrc();

  // Timestamp jump: the RTP clock moved far from where the arrival clock says it should be.
  if (last_inserted_ts_) {
    const int64_t expected = *last_inserted_ts_ + ticks_from(now - last_inserted_arrival_);
    const int64_t off = unwrapper_.peek(packet.timestamp()) - expected;
    const int64_t limit = ticks_from(config_.max_delay + kJumpMargin);
    if (off > limit || off < -limit) {
      ++stats_.timestamp_jumps;
      flush_packets(false);
    }
  }

  // Duplicates: the same sequence number seen within the last kSeqHistory packets.
  const int64_t seq = seq_unwrapper_.unwrap(packet.sequence_number());
  int64_t& slot = recent_seq_[static_cast<size_t>(seq & (kSeqHistory - 1))];
  if (slot == seq) {
    ++stats_.duplicate_packets;
    return;
  }
  slot = seq;

  const int64_t ts = unwrapper_.unwrap(packet.timestamp());
  const int64_t duration = ticks_from(parsed->duration);
  last_inserted_ts_ = ts;
  last_inserted_arrival_ = now;
  ++stats_.packets_received;
  delay_manager_.update(now, ts, kRtpClockHz, parsed->duration);

  if (playing_ && ts < playout_ts_) {
    // A talkspurt that began while comfort noise ran ahead of it rewinds the timeline instead of
    // being thrown away; anything else this old is late.
    if (dtx_ && ts >= last_decoded_end_) {
      playout_ts_ = ts;
    } else {
      ++stats_.packets_discarded;
      return;
    }
  }
  BufferedAudioPacket stored;
  stored.timestamp = ts;
  stored.duration = duration;
  stored.payload.assign(parsed->payload.begin(), parsed->payload.end());
  stored.arrival = now;
  stored.marker = packet.marker();
  int dropped = 0;
  const auto result = packets_.insert(std::move(stored), dropped);
  stats_.packets_discarded += static_cast<uint64_t>(dropped);
  if (result == AudioPacketBuffer::InsertResult::kDuplicate) {
    ++stats_.duplicate_packets;
    --stats_.packets_received;
  } else if (result == AudioPacketBuffer::InsertResult::kTooLarge) {
    ++stats_.packets_discarded;
  }
}

int64_t AudioJitterBuffer::level_ticks() const {
  int64_t level = static_cast<int64_t>(future_.size()) / config_.channels * ticks_per_sample();
  if (auto end = packets_.end_timestamp()) {
    const int64_t start = playing_ ? playout_ts_ + concealed_ahead_ : packets_.front()->timestamp;
    level += std::max<int64_t>(0, *end - start);
  }
  return level;
}

TimeDelta AudioJitterBuffer::current_delay() const { return time_from(level_ticks()); }

size_t AudioJitterBuffer::memory_bytes() const {
  return packets_.bytes() + packets_.size() * (sizeof(BufferedAudioPacket) + 4 * sizeof(void*)) +
         future_.capacity() * sizeof(int16_t) + segments_.capacity() * sizeof(Segment) + sizeof(*this);
}

void AudioJitterBuffer::append(const codecs::AudioFrame& frame, PlayoutOperation op, Timestamp arrival) {
  if (frame.samples_per_channel <= 0) return;
  const size_t n = static_cast<size_t>(frame.samples_per_channel) * static_cast<size_t>(config_.channels);
  future_.insert(future_.end(), frame.samples.begin(), frame.samples.begin() + static_cast<ptrdiff_t>(std::min(n, frame.samples.size())));
  if (frame.samples.size() < n) future_.resize(future_.size() + n - frame.samples.size(), 0);
  segments_.push_back({frame.samples_per_channel, op, arrival,
                       op == PlayoutOperation::kComfortNoise || (is_concealment(op) && is_silent(frame.samples))});
}

void AudioJitterBuffer::conceal(int64_t ticks) {
  const TimeDelta d = std::clamp(time_from(ticks), TimeDelta::Micros(2500), TimeDelta::Millis(120));
  auto out = decoder_->conceal(d);
  codecs::AudioFrame frame;
  if (out && out->frame.samples_per_channel > 0) {
    frame = std::move(out->frame);
  } else {
    frame = codecs::AudioFrame::Silence(config_.sample_rate_hz, config_.channels,
                                        static_cast<int>(ticks_from(d) / ticks_per_sample()));
  }
  concealed_ahead_ += int64_t{frame.samples_per_channel} * ticks_per_sample();
  append(frame, PlayoutOperation::kExpand, Timestamp::MinusInfinity());
}

void AudioJitterBuffer::recover_fec(const BufferedAudioPacket& next) {
  auto out = decoder_->decode_fec(next.payload, time_from(next.duration));
  if (!out || out->frame.samples_per_channel <= 0) {
    conceal(next.duration);
    return;
  }
  const bool fec = out->kind == codecs::AudioDecodeKind::kFec;
  if (fec) ++stats_.fec_packets_received;
  // The recovered packet plays in full even after a little concealment (that only adds delay).
  playout_ts_ = next.timestamp;
  concealed_ahead_ = 0;
  append(out->frame, fec ? PlayoutOperation::kFec : PlayoutOperation::kExpand,
         fec ? next.arrival : Timestamp::MinusInfinity());
}

void AudioJitterBuffer::comfort_noise(int64_t ticks) {
  const int samples = static_cast<int>(std::max<int64_t>(ticks / ticks_per_sample(), 1));
  codecs::AudioFrame frame = codecs::AudioFrame::Silence(config_.sample_rate_hz, config_.channels, samples);
  const int16_t last = future_.empty() ? last_played_ : future_.back();
  comfort_noise_.generate(frame.samples, config_.channels, config_.sample_rate_hz, last);
  playout_ts_ += int64_t{samples} * ticks_per_sample();
  append(frame, PlayoutOperation::kComfortNoise, Timestamp::MinusInfinity());
}

void AudioJitterBuffer::decode_next() {
  BufferedAudioPacket packet = packets_.pop_front();
  auto out = decoder_->decode(packet.payload);
  if (!out || out->frame.samples_per_channel <= 0) {
    ++stats_.malformed_packets;
    conceal(packet.duration);
    return;
  }
  playout_ts_ = packet.timestamp + packet.duration;
  last_decoded_end_ = playout_ts_;
  dtx_ = packet.payload.size() <= 2;  // RFC 6716 TOC-only packet: DTX
  if (!dtx_) {
    comfort_noise_.update_level(out->frame.samples);
    comfort_noise_.stop();
  }
  append(out->frame, PlayoutOperation::kNormal, packet.arrival);
  time_stretch();
}

void AudioJitterBuffer::time_stretch() {
  const double level = static_cast<double>(level_ticks());
  if (!level_primed_) {
    filtered_level_ = level;
    level_primed_ = true;
  } else {
    filtered_level_ += kLevelSmoothing * (level - filtered_level_);
  }
  if (!config_.time_stretching || dtx_ || segments_.empty()) return;
  const double target = static_cast<double>(ticks_from(delay_manager_.target()));
  const double low = target * 0.75;
  const double high = std::max(target, low + static_cast<double>(ticks_from(TimeDelta::Millis(20))));
  Segment& last = segments_.back();
  if (filtered_level_ > high) {
    const int removed = TimeStretcher::accelerate(future_, config_.channels, config_.sample_rate_hz);
    if (removed <= 0) return;
    // The splice may reach into older segments; take the samples from the newest first.
    int left = removed;
    for (auto it = segments_.rbegin(); it != segments_.rend() && left > 0; ++it) {
      const int take = std::min(left, it->samples);
      it->samples -= take;
      left -= take;
    }
    last.op = PlayoutOperation::kAccelerate;
    stats_.removed_samples_for_acceleration += static_cast<uint64_t>(removed);
    filtered_level_ -= static_cast<double>(int64_t{removed} * ticks_per_sample());
  } else if (filtered_level_ < low) {
    const int inserted = TimeStretcher::preemptive_expand(future_, config_.channels, config_.sample_rate_hz);
    if (inserted <= 0) return;
    last.samples += inserted;
    last.op = PlayoutOperation::kPreemptiveExpand;
    stats_.inserted_samples_for_deceleration += static_cast<uint64_t>(inserted);
    filtered_level_ += static_cast<double>(int64_t{inserted} * ticks_per_sample());
  }
}

void AudioJitterBuffer::produce(Timestamp now) {
  const int64_t chunk = int64_t{config_.sample_rate_hz / 100} * ticks_per_sample();  // 10 ms
  const int64_t target = ticks_from(delay_manager_.target());
  if (!playing_) {
    const BufferedAudioPacket* first = packets_.front();
    if (first != nullptr && (*packets_.end_timestamp() - first->timestamp >= target ||
                             now - first->arrival >= delay_manager_.target())) {
      playing_ = true;
      playout_ts_ = first->timestamp;
      last_decoded_end_ = playout_ts_;
      concealed_ahead_ = 0;
      level_primed_ = false;
    } else {
      append(codecs::AudioFrame::Silence(config_.sample_rate_hz, config_.channels, config_.sample_rate_hz / 100),
             PlayoutOperation::kMuted, Timestamp::MinusInfinity());
      return;
    }
  }

  const BufferedAudioPacket* front = packets_.front();
  if (dtx_ && front != nullptr && front->timestamp < playout_ts_ && front->timestamp >= last_decoded_end_) {
    playout_ts_ = front->timestamp;  // talkspurt arrived behind the comfort noise
  }
  stats_.packets_discarded += static_cast<uint64_t>(packets_.drop_before(playout_ts_));
  front = packets_.front();
  if (front != nullptr && concealed_ahead_ > 0 && front->timestamp <= playout_ts_ + concealed_ahead_) {
    // Concealment already stood in for everything up to this packet.
    playout_ts_ = front->timestamp;
    concealed_ahead_ = 0;
  }
  if (front != nullptr && front->timestamp == playout_ts_) {
    decode_next();
    return;
  }
  if (dtx_) {
    if (front != nullptr && *packets_.end_timestamp() - playout_ts_ >= target) {
      playout_ts_ = front->timestamp;  // speech is waiting: cut the silence short
      decode_next();
      return;
    }
    comfort_noise(front != nullptr ? std::min(chunk, front->timestamp - playout_ts_) : chunk);
    return;
  }
  if (front == nullptr) {
    conceal(chunk);
    return;
  }
  const int64_t gap = front->timestamp - (playout_ts_ + concealed_ahead_);
  if (gap < ticks_from(TimeDelta::Micros(2500))) {
    playout_ts_ = front->timestamp;  // a sliver Opus cannot conceal: skip it
    concealed_ahead_ = 0;
    decode_next();
    return;
  }
  // Exactly one packet is missing before `front`, and its slot is due now: rebuild it from the FEC
  // in `front` at once (as NetEq plays a packet's FEC copy when the primary is not there). Waiting
  // for the original to turn up late only ever traded a decoded frame for 10 ms of concealment.
  if (config_.use_fec && front->timestamp - playout_ts_ == front->duration) {
    recover_fec(*front);
    return;
  }
  conceal(std::min(gap, chunk));
}

PlayoutFrame AudioJitterBuffer::pull_10ms(Timestamp now) {
  const int n = config_.sample_rate_hz / 100;
  const size_t ch = static_cast<size_t>(config_.channels);
  for (int step = 0; step < kMaxProduceSteps && future_.size() < static_cast<size_t>(n) * ch; ++step) produce(now);
  if (future_.size() < static_cast<size_t>(n) * ch) {  // cannot happen with a sane decoder; stay safe
    const int missing = n - static_cast<int>(future_.size() / ch);
    append(codecs::AudioFrame::Silence(config_.sample_rate_hz, config_.channels, missing), PlayoutOperation::kMuted,
           Timestamp::MinusInfinity());
  }

  PlayoutFrame out;
  out.frame.sample_rate_hz = config_.sample_rate_hz;
  out.frame.channels = config_.channels;
  out.frame.samples_per_channel = n;
  out.frame.samples.assign(future_.begin(), future_.begin() + static_cast<ptrdiff_t>(static_cast<size_t>(n) * ch));
  future_.erase(future_.begin(), future_.begin() + static_cast<ptrdiff_t>(static_cast<size_t>(n) * ch));
  last_played_ = out.frame.samples.back();

  const TimeDelta delay_now = current_delay();
  const double target_s = delay_manager_.target().seconds_f();
  int best_rank = 99;
  int left = n;
  size_t consumed = 0;
  for (; consumed < segments_.size() && left > 0; ++consumed) {
    Segment& seg = segments_[consumed];
    const int take = std::min(left, seg.samples);
    left -= take;
    seg.samples -= take;
    if (take == 0) continue;
    if (rank(seg.op) < best_rank) {
      best_rank = rank(seg.op);
      out.operation = seg.op;
    }
    const TimeDelta waited = seg.arrival.is_finite() ? now - seg.arrival : delay_now;
    stats_.jitter_buffer_delay_s += waited.seconds_f() * take;
    stats_.jitter_buffer_target_delay_s += target_s * take;
    stats_.jitter_buffer_minimum_delay_s += target_s * take;
    stats_.jitter_buffer_emitted_count += static_cast<uint64_t>(take);
    stats_.total_samples_received += static_cast<uint64_t>(take);
    const bool concealed = is_concealment(seg.op);
    if (concealed) {
      stats_.concealed_samples += static_cast<uint64_t>(take);
      if (seg.silent) stats_.silent_concealed_samples += static_cast<uint64_t>(take);
      if (!last_emitted_concealed_) ++stats_.concealment_events;
    }
    last_emitted_concealed_ = concealed;
    if (seg.samples > 0) break;
  }
  size_t spent = 0;
  while (spent < segments_.size() && segments_[spent].samples <= 0) ++spent;
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(spent));
  return out;
}

}  // namespace tern::jitterbuffer
