#include "tern/media/webm_recorder.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/mem.h>
}

#include <cstring>

#include "tern/core/seq_num.h"
#include "tern/media/opus_packet_info.h"

namespace tern::media {
namespace {

constexpr int64_t kMaxClusterBytes = 2 << 20;  // a cluster (held in memory until it closes) at most

struct Track {
  AVStream* stream = nullptr;
  int clock_hz = 90000;
  RtpTimestampUnwrapper unwrapper;
  std::optional<int64_t> first;  // unwrapped RTP timestamp of the first written packet
  TimeDelta offset;              // first packet's arrival after the recording's first arrival
  std::optional<int64_t> last_pts;
};

// RFC 7845 5.1 identification header, which Matroska stores as the Opus CodecPrivate.
void write_opus_head(uint8_t* out, int channels) {
  const uint8_t head[19] = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, static_cast<uint8_t>(channels),
                            0, 0,               // pre-skip 0: timestamps are the received ones
                            0x80, 0xBB, 0, 0,   // input rate 48000 (little-endian)
                            0, 0,               // output gain
                            0};                 // mapping family 0
  std::memcpy(out, head, sizeof(head));
}

}  // namespace

struct WebmRecorder::Impl {
  AVFormatContext* fmt = nullptr;
  bool file_open = false;
  bool header_written = false;
  bool finished = false;
  std::optional<Track> video;
  std::optional<Track> audio;
  std::optional<Timestamp> first_arrival;
  bool have_keyframe = false;

  ~Impl() {
    if (header_written && !finished) av_write_trailer(fmt);
    if (fmt != nullptr && file_open) avio_closep(&fmt->pb);
    avformat_free_context(fmt);
  }

  // Writes one packet on `track`; false (and nothing written) when its time does not advance.
  Status write(Track& track, std::span<const uint8_t> data, uint32_t rtp_timestamp, bool keyframe,
               Timestamp arrival, int64_t duration_ticks) {
    const int64_t unwrapped = track.unwrapper.unwrap(rtp_timestamp);
    if (!track.first) {
      track.first = unwrapped;
      if (!first_arrival) first_arrival = arrival;
      track.offset = std::max(TimeDelta::Zero(), arrival - *first_arrival);
    }
    const int64_t us = track.offset.us() + (unwrapped - *track.first) * 1000000 / track.clock_hz;
    const AVRational micro{1, 1000000};
    const int64_t pts = av_rescale_q(us, micro, track.stream->time_base);
    if (us < 0 || (track.last_pts && pts <= *track.last_pts)) return Error{"webm recorder: timestamp does not advance"};
    AVPacket* pkt = av_packet_alloc();
    if (pkt == nullptr || av_new_packet(pkt, static_cast<int>(data.size())) < 0) {
      av_packet_free(&pkt);
      return Error{"webm recorder: out of memory"};
    }
    std::memcpy(pkt->data, data.data(), data.size());
    pkt->pts = pkt->dts = pts;
    pkt->stream_index = track.stream->index;
    if (keyframe) pkt->flags |= AV_PKT_FLAG_KEY;
    if (duration_ticks > 0) pkt->duration = av_rescale_q(duration_ticks, AVRational{1, track.clock_hz}, track.stream->time_base);
    const int rc = av_interleaved_write_frame(fmt, pkt);
    av_packet_free(&pkt);
    if (rc < 0) return Error{"webm recorder: muxer rejected the packet"};
    track.last_pts = pts;
    return Status::Ok();
  }
};

Result<std::unique_ptr<WebmRecorder>> WebmRecorder::Create(const std::string& path, const WebmRecorderConfig& config) {
  if (!config.video && !config.audio) return Error{"webm recorder: no track configured"};
  if (config.video && *config.video != codecs::CodecType::kVp8 && *config.video != codecs::CodecType::kVp9) {
    return Error{"webm recorder: video must be VP8 or VP9"};
  }
  if (config.video && (config.width < 1 || config.width > 16384 || config.height < 1 || config.height > 16384)) {
    return Error{"webm recorder: video size out of range"};
  }
  if (config.audio && config.audio_channels != 1 && config.audio_channels != 2) {
    return Error{"webm recorder: audio channels must be 1 or 2"};
  }
  if (config.cluster_duration < TimeDelta::Millis(100) || config.cluster_duration > TimeDelta::Seconds(30)) {
    return Error{"webm recorder: cluster duration must be 100 ms..30 s"};
  }
  auto impl = std::make_unique<Impl>();
  if (avformat_alloc_output_context2(&impl->fmt, nullptr, "webm", path.c_str()) < 0 || impl->fmt == nullptr) {
    return Error{"webm recorder: libavformat has no webm muxer"};
  }
  if (config.video) {
    AVStream* st = avformat_new_stream(impl->fmt, nullptr);
    if (st == nullptr) return Error{"webm recorder: cannot add a video stream"};
    st->time_base = AVRational{1, 90000};
    st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
    st->codecpar->codec_id = *config.video == codecs::CodecType::kVp8 ? AV_CODEC_ID_VP8 : AV_CODEC_ID_VP9;
    st->codecpar->width = config.width;
    st->codecpar->height = config.height;
    impl->video = Track{};
    impl->video->stream = st;
    impl->video->clock_hz = 90000;
  }
  if (config.audio) {
    AVStream* st = avformat_new_stream(impl->fmt, nullptr);
    if (st == nullptr) return Error{"webm recorder: cannot add an audio stream"};
    st->time_base = AVRational{1, 48000};
    st->codecpar->codec_type = AVMEDIA_TYPE_AUDIO;
    st->codecpar->codec_id = AV_CODEC_ID_OPUS;
    st->codecpar->sample_rate = 48000;
    av_channel_layout_default(&st->codecpar->ch_layout, config.audio_channels);
    auto* extra = static_cast<uint8_t*>(av_mallocz(19 + AV_INPUT_BUFFER_PADDING_SIZE));
    if (extra == nullptr) return Error{"webm recorder: out of memory"};
    write_opus_head(extra, config.audio_channels);
    st->codecpar->extradata = extra;
    st->codecpar->extradata_size = 19;
    impl->audio = Track{};
    impl->audio->stream = st;
    impl->audio->clock_hz = 48000;
  }
  if (avio_open(&impl->fmt->pb, path.c_str(), AVIO_FLAG_WRITE) < 0) return Error{"webm recorder: cannot open the file"};
  impl->file_open = true;
  // Short clusters, each flushed to the file as it closes (see WebmRecorderConfig::cluster_duration).
  impl->fmt->flags |= AVFMT_FLAG_FLUSH_PACKETS;
  impl->fmt->max_interleave_delta = config.cluster_duration.us();
  AVDictionary* options = nullptr;
  av_dict_set_int(&options, "cluster_time_limit", config.cluster_duration.ms(), 0);
  av_dict_set_int(&options, "cluster_size_limit", kMaxClusterBytes, 0);
  const int header = avformat_write_header(impl->fmt, &options);
  const int unused = av_dict_count(options);  // options the muxer did not take
  av_dict_free(&options);
  if (header < 0) return Error{"webm recorder: cannot write the header"};
  if (unused != 0) return Error{"webm recorder: libavformat's muxer lacks the cluster limits"};
  impl->header_written = true;
  return std::unique_ptr<WebmRecorder>(new WebmRecorder(std::move(impl)));
}

WebmRecorder::WebmRecorder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WebmRecorder::~WebmRecorder() = default;

Status WebmRecorder::add_video(std::span<const uint8_t> data, uint32_t rtp_timestamp, bool keyframe, Timestamp arrival) {
  if (impl_->finished) return Error{"webm recorder: already finished"};
  if (!impl_->video) return Error{"webm recorder: no video track"};
  if (data.empty() || data.size() > (size_t{1} << 26)) {
    ++stats_.dropped;
    return Error{"webm recorder: empty or oversized frame"};
  }
  if (!impl_->have_keyframe && !keyframe) {
    ++stats_.dropped;
    return Error{"webm recorder: waiting for a keyframe"};
  }
  const Status s = impl_->write(*impl_->video, data, rtp_timestamp, keyframe, arrival, 0);
  if (!s.ok()) {
    ++stats_.dropped;
    return s;
  }
  impl_->have_keyframe = true;
  ++stats_.video_frames;
  return s;
}

Status WebmRecorder::add_audio(std::span<const uint8_t> packet, uint32_t rtp_timestamp, Timestamp arrival) {
  if (impl_->finished) return Error{"webm recorder: already finished"};
  if (!impl_->audio) return Error{"webm recorder: no audio track"};
  const auto samples = opus_packet_samples_48k(packet);
  if (!samples) {
    ++stats_.dropped;
    return Error{"webm recorder: malformed Opus packet"};
  }
  const Status s = impl_->write(*impl_->audio, packet, rtp_timestamp, true, arrival, *samples);
  if (!s.ok()) {
    ++stats_.dropped;
    return s;
  }
  ++stats_.audio_packets;
  return s;
}

Status WebmRecorder::finish() {
  if (impl_->finished) return Error{"webm recorder: already finished"};
  impl_->finished = true;
  const int rc = av_write_trailer(impl_->fmt);
  avio_flush(impl_->fmt->pb);
  const bool io_error = impl_->fmt->pb->error < 0;
  const int closed = avio_closep(&impl_->fmt->pb);
  impl_->file_open = false;
  if (io_error || closed < 0) return Error{"webm recorder: cannot write the file"};
  if (rc < 0) return Error{"webm recorder: cannot write the trailer"};
  return Status::Ok();
}

Status WebmRecorder::write_status() const {
  if (impl_->file_open && impl_->fmt->pb != nullptr && impl_->fmt->pb->error < 0) {
    return Error{"webm recorder: cannot write the file"};
  }
  return Status::Ok();
}

}  // namespace tern::media
