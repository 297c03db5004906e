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
  p.room = std::string(room);
  if (media.video) {
    p.has_video = true;
    p.video_ssrc = media.video->ssrc;
  }
  if (media.video && media.video_codec && !media.video->rids.empty()) {
    // Simulcast: the encodings come on SSRCs of their own, rewritten onto the server's (video->ssrc).
    SimulcastRecordConfig sc;
    sc.rids = media.video->rids;
    sc.rid_extension_id = media.video->rid_extension_id;
    sc.repaired_rid_extension_id = media.video->repaired_rid_extension_id;
    sc.codec = *media.video_codec;
    sc.media_payload_type = media.video->media_payload_type;
    if (media.video->nack && media.video->rtx_ssrc) sc.rtx_payload_type = media.video->rtx_payload_type;
    sc.output_ssrc = media.video->ssrc;
    if (media.audio) sc.audio_ssrc = media.audio->ssrc;
    auto selector = SimulcastRecordSelector::Create(sc);
    if (selector) p.simulcast.emplace(std::move(selector).value());
  }
  if (dir_.empty()) return;
  net::ReceiveTapConfig c;
  if (media.video && media.video_codec) {
    c.video = media.video_codec;
    c.video_pt = media.video->media_payload_type;
    c.video_ssrc = media.video->ssrc;
    if (media.video->rtx_ssrc && media.video->rtx_payload_type && !p.simulcast) {
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
  if (p.simulcast) {
    simulcast_out_.clear();
    if (p.simulcast->on_rtp(packet, now, simulcast_out_)) {
      for (uint32_t ssrc : p.simulcast->take_keyframe_requests()) {
        // Nothing recorded: nothing to ask for. Full (a driver that does not take them): the
        // earliest kept, this one dropped and counted (the selector asks again after its retry).
        if (!p.tap) continue;
        if (keyframe_requests_.size() < kMaxKeyframeRequests) {
          keyframe_requests_.push_back({id, ssrc});
        } else {
          ++counters_.keyframe_requests_dropped;
        }
      }
      for (const SimulcastRecordSelector::Output& o : simulcast_out_) {
        count_video(p, o.packet.header());
        if (p.tap) p.tap->on_rtp(o.packet.data(), o.arrival);
      }
      if (p.tap) check(id, p, now);
      return;
    }
  } else if (p.has_video) {
    auto header = rtp::RtpHeader::parse(packet);
    if (header && header->ssrc == p.video_ssrc) count_video(p, *header);
  }
  if (!p.tap) return;
  p.tap->on_rtp(packet, now);
  check(id, p, now);
}

void SfuRecorder::count_video(Publisher& p, const rtp::RtpHeader& header) {
  const uint16_t seq = header.sequence_number;
  if (!p.last_video_seq || seq_newer(seq, *p.last_video_seq)) {
    p.last_video_seq = seq;
    if (header.marker) ++p.video_frames;
  }
}

void SfuRecorder::on_publisher_rtcp(sfu::SessionId id, std::span<const uint8_t> packet, Timestamp) {
  auto it = publishers_.find(id);
  if (it != publishers_.end() && it->second.simulcast) it->second.simulcast->on_rtcp(packet);
}

std::vector<sfu::MediaTap::KeyframeRequest> SfuRecorder::take_keyframe_requests() {
  // The selectors ask only while they handle a packet (at most one SSRC per encoding): the server
  // takes them right after, so this holds a few at most.
  return std::exchange(keyframe_requests_, {});
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
  p.finalised = true;
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
  p.failed = true;
  std::fprintf(stderr, "tern-sfu: worker %d session %llu: recording %s stopped by a write error (the session goes on): %s\n",
               worker_, static_cast<unsigned long long>(id), p.path.c_str(), p.error.c_str());
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

size_t SfuRecorder::open_recordings() const {
  size_t n = 0;
  for (const auto& [id, p] : publishers_) n += p.tap ? 1 : 0;
  return n;
}

const char* SfuRecorder::state_of(const Publisher& p) {
  if (p.tap) return "recording";
  if (p.failed) return "failed";
  if (p.finalised) return "finalised";
  return "empty";
}

uint64_t SfuRecorder::file_bytes(const Publisher& p) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(p.path, ec);  // a symlink's target (e.g. /dev/full): 0
  return ec ? 0 : static_cast<uint64_t>(size);
}

std::string SfuRecorder::annotate_stats(const std::string& stats) const {
  using nlohmann::json;
  json j = json::parse(stats, nullptr, false);
  if (!j.is_object()) return stats;
  auto entry = [](sfu::SessionId id, const Publisher& p) {
    const net::ReceiveTapCounters& c = p.tap_counters;
    json r;
    r["room"] = p.room;
    r["session"] = id;
    r["path"] = p.path;
    r["state"] = state_of(p);
    r["active"] = p.tap != nullptr;
    r["videoFramesRecorded"] = c.video_frames_recorded;
    r["keyframesRecorded"] = c.video_keyframes_recorded;
    r["audioFramesRecorded"] = c.audio_packets_recorded;
    r["gaps"] = c.gaps;
    r["bytes"] = file_bytes(p);
    r["writeErrors"] = p.failed ? 1 : 0;
    r["videoFramesAssembled"] = c.video_frames_assembled;
    r["framesNotRecorded"] = c.frames_not_recorded;
    r["videoFramesUnrepairedAtEnd"] = c.video_frames_unrepaired_at_end;
    r["width"] = c.width;
    r["height"] = c.height;
    if (!p.error.empty()) r["error"] = p.error;
    if (p.simulcast) {
      const SimulcastRecordCounters& sc = p.simulcast->counters();
      r["simulcast"] = {{"encoding", sc.encoding},
                        {"rid", sc.rid},
                        {"width", sc.width},
                        {"height", sc.height},
                        {"switches", sc.switches},
                        {"switchesDown", sc.switches_down},
                        {"keyframeRequests", sc.keyframe_requests},
                        {"ssrcsLearned", sc.ssrcs_learned},
                        {"unknownRid", sc.unknown_rid}};
    }
    return r;
  };
  if (j["sessions"].is_array()) {
    for (json& s : j["sessions"]) {
      auto it = publishers_.find(s.value("id", sfu::SessionId{0}));
      if (it == publishers_.end()) continue;
      if (it->second.has_video) s["videoFramesReceived"] = it->second.video_frames;
      if (!it->second.path.empty()) s["recording"] = entry(it->first, it->second);
    }
  }
  json recordings = json::array();
  for (const auto& [id, p] : publishers_) {
    if (!p.path.empty()) recordings.push_back(entry(id, p));
  }
  j["recorder"] = {{"dir", dir_},
                   {"recordingsOpen", static_cast<uint64_t>(open_recordings())},
                   {"recordingsStarted", counters_.recordings_started},
                   {"recordingsFinished", counters_.recordings_finished},
                   {"writeErrors", counters_.write_errors},
                   {"keyframeRequestsDropped", counters_.keyframe_requests_dropped},
                   {"recordings", recordings}};
  return j.dump(2);
}

namespace {

// A Prometheus label value: backslash, double quote and newline escaped.
std::string recorder_label(std::string_view v) {
  std::string out;
  for (char ch : v) {
    if (ch == '\\' || ch == '"') out.push_back('\\');
    if (ch == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(ch);
  }
  return out;
}

void recorder_family(std::string& out, const char* name, const char* type, const char* help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
}

}  // namespace

std::string SfuRecorder::prometheus_metrics() const {
  std::string out;
  auto sample = [&](const char* name, const std::string& labels, uint64_t value) {
    out.append(name);
    if (!labels.empty()) out.append("{").append(labels).append("}");
    out.append(" ").append(std::to_string(value)).append("\n");
  };
  recorder_family(out, "tern_sfu_recordings_open", "gauge", "Recordings in progress (--record-dir).");
  sample("tern_sfu_recordings_open", "", open_recordings());
  recorder_family(out, "tern_sfu_recordings_started_total", "counter", "Recordings started (files created).");
  sample("tern_sfu_recordings_started_total", "", counters_.recordings_started);
  recorder_family(out, "tern_sfu_recordings_finalised_total", "counter", "Recordings closed without an error.");
  sample("tern_sfu_recordings_finalised_total", "", counters_.recordings_finished);
  recorder_family(out, "tern_sfu_recording_write_failures_total", "counter",
                  "Recordings stopped by a write error (disk full, file size limit, file not created).");
  sample("tern_sfu_recording_write_failures_total", "", counters_.write_errors);
  recorder_family(out, "tern_sfu_recording_keyframe_requests_dropped_total", "counter",
                  "Keyframe requests (simulcast switches) dropped: kMaxKeyframeRequests waited for the server already.");
  sample("tern_sfu_recording_keyframe_requests_dropped_total", "", counters_.keyframe_requests_dropped);
  // Per recording (at most the open ones and kMaxEndedKept ended).
  struct PerRecording {
    const char* name;
    const char* type;
    const char* help;
    uint64_t (*value)(const Publisher&);
  };
  static const PerRecording kPer[] = {
      {"tern_sfu_recording_open", "gauge", "1 while the recording is in progress, 0 once finalised or stopped.",
       [](const Publisher& p) -> uint64_t { return p.tap ? 1 : 0; }},
      {"tern_sfu_recording_video_frames_total", "counter", "Video frames written to the recording.",
       [](const Publisher& p) { return static_cast<uint64_t>(p.tap_counters.video_frames_recorded); }},
      {"tern_sfu_recording_keyframes_total", "counter", "Video keyframes written to the recording.",
       [](const Publisher& p) { return static_cast<uint64_t>(p.tap_counters.video_keyframes_recorded); }},
      {"tern_sfu_recording_audio_frames_total", "counter", "Opus packets written to the recording.",
       [](const Publisher& p) { return static_cast<uint64_t>(p.tap_counters.audio_packets_recorded); }},
      {"tern_sfu_recording_gaps_total", "counter", "Holes between two frames (packets) written: loss not repaired.",
       [](const Publisher& p) { return static_cast<uint64_t>(p.tap_counters.gaps); }},
      {"tern_sfu_recording_bytes", "gauge", "The recording's file size on disk.", [](const Publisher& p) { return file_bytes(p); }},
      {"tern_sfu_recording_write_errors_total", "counter", "Write errors of the recording (it stops at the first).",
       [](const Publisher& p) -> uint64_t { return p.failed ? 1 : 0; }},
      {"tern_sfu_recording_encoding_switches_total", "counter",
       "Simulcast: switches of the recorded encoding (0 for other publishers).",
       [](const Publisher& p) -> uint64_t { return p.simulcast ? p.simulcast->counters().switches : 0; }},
  };
  for (const PerRecording& f : kPer) {
    recorder_family(out, f.name, f.type, f.help);
    for (const auto& [id, p] : publishers_) {
      if (p.path.empty()) continue;
      const std::string labels = std::string("room=\"").append(recorder_label(p.room)).append("\",session=\"").append(
          std::to_string(id)).append("\",file=\"").append(recorder_label(p.path)).append("\"");
      sample(f.name, labels, f.value(p));
    }
  }
  return out;
}

}  // namespace tern::tools::sfu_tool
