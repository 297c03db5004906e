#include "tern/media/webm_reader.h"

#include <webm/buffer_reader.h>
#include <webm/callback.h>
#include <webm/webm_parser.h>

#include <cmath>
#include <optional>

namespace tern::media {
namespace {

class Collector : public webm::Callback {
 public:
  Collector(WebmInfo& out, size_t max_frames) : out_(out), max_frames_(max_frames) {}

  webm::Status OnInfo(const webm::ElementMetadata&, const webm::Info& info) override {
    scale_ns_ = info.timecode_scale.value();
    if (info.duration.is_present()) {
      out_.duration = TimeDelta::Micros(static_cast<int64_t>(std::llround(info.duration.value() * static_cast<double>(scale_ns_) / 1000.0)));
    }
    return webm::Status(webm::Status::kOkCompleted);
  }
  webm::Status OnClusterBegin(const webm::ElementMetadata&, const webm::Cluster& cluster, webm::Action* action) override {
    cluster_time_ = cluster.timecode.value();
    *action = webm::Action::kRead;
    return webm::Status(webm::Status::kOkCompleted);
  }
  webm::Status OnSimpleBlockBegin(const webm::ElementMetadata&, const webm::SimpleBlock& block, webm::Action* action) override {
    begin_block(block, block.is_key_frame);
    *action = webm::Action::kRead;
    return webm::Status(webm::Status::kOkCompleted);
  }
  webm::Status OnBlockBegin(const webm::ElementMetadata&, const webm::Block& block, webm::Action* action) override {
    begin_block(block, false);
    *action = webm::Action::kRead;
    return webm::Status(webm::Status::kOkCompleted);
  }
  webm::Status OnFrame(const webm::FrameMetadata& metadata, webm::Reader* reader, std::uint64_t* bytes_remaining) override {
    if (out_.frames.size() < max_frames_) {
      WebmFrameInfo f = current_;
      f.size = metadata.size;
      out_.frames.push_back(f);
    }
    return Callback::OnFrame(metadata, reader, bytes_remaining);  // skips the payload
  }
  webm::Status OnTrackEntry(const webm::ElementMetadata&, const webm::TrackEntry& entry) override {
    WebmTrackInfo t;
    t.number = entry.track_number.value();
    t.codec_id = entry.codec_id.value();
    t.is_video = entry.track_type.value() == webm::TrackType::kVideo;
    t.is_audio = entry.track_type.value() == webm::TrackType::kAudio;
    if (entry.video.is_present()) {
      t.width = static_cast<int>(entry.video.value().pixel_width.value());
      t.height = static_cast<int>(entry.video.value().pixel_height.value());
    }
    if (entry.audio.is_present()) {
      t.channels = static_cast<int>(entry.audio.value().channels.value());
      t.sampling_frequency = entry.audio.value().sampling_frequency.value();
    }
    out_.tracks.push_back(t);
    return webm::Status(webm::Status::kOkCompleted);
  }

 private:
  void begin_block(const webm::Block& block, bool key) {
    current_ = WebmFrameInfo{};
    current_.track = block.track_number;
    const int64_t ticks = static_cast<int64_t>(cluster_time_) + block.timecode;
    current_.time = TimeDelta::Micros(ticks * static_cast<int64_t>(scale_ns_) / 1000);
    current_.keyframe = key;
  }

  WebmInfo& out_;
  size_t max_frames_;
  uint64_t scale_ns_ = 1000000;
  uint64_t cluster_time_ = 0;
  WebmFrameInfo current_;
};

}  // namespace

std::vector<WebmFrameInfo> WebmInfo::frames_of(uint64_t track) const {
  std::vector<WebmFrameInfo> out;
  for (const auto& f : frames) {
    if (f.track == track) out.push_back(f);
  }
  return out;
}

Result<WebmInfo> parse_webm(std::span<const uint8_t> file, size_t max_frames) {
  WebmInfo info;
  Collector collector(info, max_frames);
  webm::BufferReader reader(std::vector<std::uint8_t>(file.begin(), file.end()));
  webm::WebmParser parser;
  const webm::Status status = parser.Feed(&collector, &reader);
  if (!status.completed_ok()) return Error{"webm: parse error or truncated file"};
  if (info.tracks.empty()) return Error{"webm: no tracks"};
  return info;
}

}  // namespace tern::media
