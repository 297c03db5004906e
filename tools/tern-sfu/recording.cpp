#include "recording.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "tern/core/reason_text.h"
#include "tern/core/seq_num.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::tools::sfu_tool {

Status SfuRecorder::prepare_dir(const std::string& dir) {
  if (dir.empty()) return Status{};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec) || ::access(dir.c_str(), W_OK) != 0) {
    return Error{lasting_reason(std::string("--record-dir: ").append(dir).append(": not a directory this process can write to"),
                                "--record-dir: not a directory this process can write to")};
  }
  return Status{};
}

SfuRecorder::~SfuRecorder() {
  // The drain finished them; this is for an error exit.
  for (auto& [id, p] : publishers_) {
    if (p.tap) (void)p.tap->finish(Timestamp::Zero());
  }
}

void SfuRecorder::on_publisher_started(sfu::SessionId id, std::string_view room, const sfu::PublishedMedia& media,
                                       Timestamp now) {
  forget_old_ended();
  Publisher& p = publishers_[id];
  p = Publisher{};
  if (media.video) {
    p.has_video = true;
    p.video_ssrc = media.video->ssrc;
  }
  if (dir_.empty()) return;
  net::ReceiveTapConfig c;
  if (media.video && media.video_codec) {
    c.video = media.video_codec;
    c.video_pt = media.video->media_payload_type;
    c.video_ssrc = media.video->ssrc;
    if (media.video->rtx_ssrc && media.video->rtx_payload_type) {
      c.rtx_pt = media.video->rtx_payload_type;
      c.rtx_ssrc = *media.video->rtx_ssrc;
    }
  }
  if (media.audio) {
    c.audio = true;
    c.audio_pt = media.audio->media_payload_type;
    c.audio_ssrc = media.audio->ssrc;
  }
  p.path = std::string(dir_).append("/").append(room).append("-w").append(std::to_string(worker_)).append("-").append(
      std::to_string(id)).append(".webm");
  c.webm_path = p.path;
  auto tap = net::ReceiveTap::Create(c);
  if (!tap) {
    p.error = tap.error();
    stop(id, p, now);
    return;
  }
  p.tap = std::move(tap).value();
  ++counters_.recordings_started;
}

void SfuRecorder::on_publisher_rtp(sfu::SessionId id, std::span<const uint8_t> packet, Timestamp now) {
  auto it = publishers_.find(id);
  if (it == publishers_.end()) return;
  Publisher& p = it->second;
  if (p.has_video) {
    auto header = rtp::RtpHeader::parse(packet);
    if (header && header->ssrc == p.video_ssrc) {
      const uint16_t seq = header->sequence_number;
      if (!p.last_video_seq || seq_newer(seq, *p.last_video_seq)) {
        p.last_video_seq = seq;
        if (header->marker) ++p.video_frames;
      }
    }
  }
  if (!p.tap) return;
  p.tap->on_rtp(packet, now);
  check(id, p, now);
}

void SfuRecorder::on_publisher_ended(sfu::SessionId id, Timestamp now) {
  auto it = publishers_.find(id);
  if (it == publishers_.end()) return;
  Publisher& p = it->second;
  p.ended = true;
  if (!p.tap) return;
  Status st = p.tap->finish(now);
  p.tap_counters = p.tap->counters();
  const bool recorded = p.tap->recording();
  p.tap.reset();
  if (!st.ok()) {
    p.error = st.error();
    stop(id, p, now);
    return;
  }
  if (!recorded) {
    p.error = "nothing to record (no decodable keyframe)";
    if (!quiet_) {
      std::fprintf(stderr, "tern-sfu: worker %d session %llu: %s\n", worker_, static_cast<unsigned long long>(id),
                   p.error.c_str());
    }
    return;
  }
  ++counters_.recordings_finished;
  if (!quiet_) {
    std::fprintf(stderr, "tern-sfu: recorded %s (%lld video frames)\n", p.path.c_str(),
                 static_cast<long long>(p.tap_counters.video_frames_assembled));
  }
}

void SfuRecorder::check(sfu::SessionId id, Publisher& p, Timestamp now) {
  p.tap_counters = p.tap->counters();
  Status st = p.tap->write_status();
  if (st.ok()) return;
  p.error = st.error();
  (void)p.tap->finish(now);
  p.tap.reset();
  stop(id, p, now);
}

void SfuRecorder::stop(sfu::SessionId id, Publisher& p, Timestamp) {
  ++counters_.write_errors;
  std::fprintf(stderr, "tern-sfu: worker %d session %llu: recording %s stopped: %s\n", worker_,
               static_cast<unsigned long long>(id), p.path.c_str(), p.error.c_str());
}

std::optional<Timestamp> SfuRecorder::next_wakeup() const {
  std::optional<Timestamp> at;
  for (const auto& [id, p] : publishers_) {
    if (!p.tap) continue;
    if (auto t = p.tap->next_wakeup(); t && (!at || *t < *at)) at = t;
  }
  return at;
}

void SfuRecorder::process(Timestamp now) {
  for (auto& [id, p] : publishers_) {
    if (!p.tap) continue;
    if (auto t = p.tap->next_wakeup(); t && *t <= now) {
      p.tap->process(now);
      check(id, p, now);
    }
  }
}

void SfuRecorder::finish_all(Timestamp now) {
  std::vector<sfu::SessionId> open;
  for (const auto& [id, p] : publishers_) {
    if (p.tap) open.push_back(id);
  }
  for (sfu::SessionId id : open) on_publisher_ended(id, now);
}

void SfuRecorder::forget_old_ended() {
  size_t ended = 0;
  for (const auto& [id, p] : publishers_) ended += p.ended ? 1 : 0;
  for (auto it = publishers_.begin(); ended >= kMaxEndedKept && it != publishers_.end();) {
    if (it->second.ended) {  // ids grow: the first ended is the oldest
      it = publishers_.erase(it);
      --ended;
    } else {
      ++it;
    }
  }
}

std::string SfuRecorder::annotate_stats(const std::string& stats) const {
  using nlohmann::json;
  json j = json::parse(stats, nullptr, false);
  if (!j.is_object()) return stats;
  auto entry = [](const Publisher& p) {
    json r;
    r["path"] = p.path;
    r["active"] = p.tap != nullptr;
    r["videoFramesRecorded"] = p.tap_counters.video_frames_assembled;
    r["framesNotRecorded"] = p.tap_counters.frames_not_recorded;
    r["width"] = p.tap_counters.width;
    r["height"] = p.tap_counters.height;
    if (!p.error.empty()) r["error"] = p.error;
    return r;
  };
  if (j["sessions"].is_array()) {
    for (json& s : j["sessions"]) {
      auto it = publishers_.find(s.value("id", sfu::SessionId{0}));
      if (it == publishers_.end()) continue;
      if (it->second.has_video) s["videoFramesReceived"] = it->second.video_frames;
      if (!it->second.path.empty()) s["recording"] = entry(it->second);
    }
  }
  json recordings = json::array();
  for (const auto& [id, p] : publishers_) {
    if (p.path.empty()) continue;
    json r = entry(p);
    r["session"] = id;
    recordings.push_back(r);
  }
  j["recorder"] = {{"dir", dir_},
                   {"recordingsStarted", counters_.recordings_started},
                   {"recordingsFinished", counters_.recordings_finished},
                   {"writeErrors", counters_.write_errors},
                   {"recordings", recordings}};
  return j.dump(2);
}

}  // namespace tern::tools::sfu_tool
