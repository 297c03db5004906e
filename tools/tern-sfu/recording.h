// SfuRecorder: tern-sfu's sfu::MediaTap. For every publisher it counts the video frames received
// (marker bits of the video SSRC, in sequence order: the page's fps) and, with --record-dir DIR,
// records its audio and video into DIR/<room>-w<worker>-<session>.webm (tern-sfu runs one recorder
// per worker, on that worker's thread; session ids are per worker, the index keeps names apart).
//
// Recording goes through tools/net's ReceiveTap, as tern-peer --record does: the publisher's
// decrypted RTP (the server's tap sees it before the router) -> one RtpReceiveFront per stream
// (RTX unwrapped by the publisher's signalled SSRC and payload type) -> the video jitter buffer
// (frames complete and in order; lost frames skipped once the buffer gives up on them) ->
// media::WebmRecorder (libavformat's Matroska muxer, timestamps from the RTP timestamps, so loss,
// retransmissions and late frames keep their place). The file starts at the first decodable
// keyframe (its size is the track's) and is finalised when the session ends: DELETE, failure,
// timeout, and the drain on SIGINT/SIGTERM.
//
// A simulcast publisher (rids, RFC 8853): ONE encoding is recorded, the highest it sends, switched
// to the next at a keyframe (asked for through the server: take_keyframe_requests()) when it
// stops, and back up when a higher one sends again; the encodings it takes are rewritten into one
// stream (one SSRC, continuous sequence numbers, timestamps aligned by the publisher's sender
// reports or each encoding's first-packet offset) before the ReceiveTap: one WebM video track
// whose picture size follows the encoding (VP8 keyframes carry it). simulcast_record.h has the rule.
//
// Bounds: one ReceiveTap per publisher (the server's max_sessions); its jitter buffer is bounded in
// every stage (packets, stashed frames, max_frames 300 frames; jitterbuffer/); audio is taken
// in arrival order (late packets dropped, no reorder buffer); libavformat's interleaving queue
// holds at most max_interleave_delta (10 s) of one track while the other is silent. Ended
// recordings keep a summary for /stats (at most kMaxEndedKept, the oldest forgotten first).
// Keyframe requests wait for the server's take_keyframe_requests() (after every packet; at most
// kMaxKeyframeRequests: when full the earliest are kept and later ones dropped, counted in
// keyframeRequestsDropped / tern_sfu_recording_keyframe_requests_dropped_total; the selector asks
// again 500 ms later); a simulcast selector's state is bounded in its header.
//
// A write error (a full disk, a file size limit, a file that cannot be created) stops that
// recording for good: the file is closed, the error logged once and counted (`writeErrors`) and
// kept in the recording's /stats entry (state "failed"); forwarding is not touched (the tap is a
// side branch of the server) and the session goes on.
//
// Figures (/stats "recorder", /metrics tern_sfu_recording*): per recording its room, session, file,
// state (recording, finalised, failed, empty: ended before a decodable keyframe), the video frames,
// keyframes and audio packets written, the gaps (frames or packets missing between two written:
// loss the repair did not fill), the file's size on disk (libavformat buffers: up to its buffer
// behind while recording) and its write errors (0 or 1); for a simulcast publisher the encoding
// recorded (rid, index, size), switches (and those down), keyframe requests; and the totals:
// recordings open, started, finalised, write errors, keyframe requests dropped.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "simulcast_record.h"
#include "tern/core/result.h"
#include "tern/sfu/sfu_server.h"
#include "tern/tools/net/receive_tap.h"
#include "tern/transport/pollable.h"

namespace tern::tools::sfu_tool {

struct SfuRecorderCounters {
  uint64_t recordings_started = 0;   // files created
  uint64_t recordings_finished = 0;  // files closed without an error
  uint64_t write_errors = 0;         // recordings stopped by a write error (or a file not created)
  uint64_t keyframe_requests_dropped = 0;  // kMaxKeyframeRequests waited already (a driver not taking them)
};

class SfuRecorder final : public sfu::MediaTap, public transport::Pollable {
 public:
  static constexpr size_t kMaxEndedKept = 256;
  static constexpr size_t kMaxKeyframeRequests = 64;  // until take_keyframe_requests(); later ones dropped, counted

  // `dir` empty: frames counted, nothing recorded. Errors and finished files are logged on stderr
  // (unless `quiet`, which keeps the errors only).
  // Creates `dir` when missing; an error when it is not a directory this process can write to.
  static Status prepare_dir(const std::string& dir);
  SfuRecorder(std::string dir, bool quiet, int worker = 0) : dir_(std::move(dir)), quiet_(quiet), worker_(worker) {}
  ~SfuRecorder() override;

  void on_publisher_started(sfu::SessionId id, std::string_view room, const sfu::PublishedMedia& media,
                            Timestamp now) override;
  void on_publisher_rtp(sfu::SessionId id, std::span<const uint8_t> packet, Timestamp now) override;
  void on_publisher_rtcp(sfu::SessionId id, std::span<const uint8_t> packet, Timestamp now) override;
  std::vector<KeyframeRequest> take_keyframe_requests() override;
  void on_publisher_ended(sfu::SessionId id, Timestamp now) override;
  std::optional<Timestamp> next_wakeup() const override;
  void process(Timestamp now) override;
  // Finalises every recording still open (the server's drain does this already; for error exits).
  void finish_all(Timestamp now);

  // `stats` (SfuServer::stats_json) with, per publisher session, "videoFramesReceived" and a
  // "recording" object (path, frames, error), and the recorder's counters as "recorder".
  std::string annotate_stats(const std::string& stats) const;
  // The recorder's Prometheus families (appended to the server's /metrics text).
  std::string prometheus_metrics() const;
  const SfuRecorderCounters& counters() const { return counters_; }
  size_t open_recordings() const;

 private:
  struct Publisher {
    uint32_t video_ssrc = 0;
    bool has_video = false;
    std::optional<uint16_t> last_video_seq;
    uint64_t video_frames = 0;
    // A simulcast publisher: the encoding recorded (and counted), rewritten into one stream on
    // video_ssrc (simulcast_record.h).
    std::optional<SimulcastRecordSelector> simulcast;
    std::string room;
    std::string path;                       // empty: not recording
    std::unique_ptr<net::ReceiveTap> tap;   // null once finished or stopped
    net::ReceiveTapCounters tap_counters;   // the last seen
    std::string error;                      // why the recording stopped
    bool failed = false;                    // stopped by a write error
    bool finalised = false;                 // closed without an error, with something in it
    bool ended = false;
  };
  void check(sfu::SessionId id, Publisher& p, Timestamp now);
  // A packet of the video stream counted (`video_frames`: marker bits in sequence order).
  static void count_video(Publisher& p, const rtp::RtpHeader& header);
  void stop(sfu::SessionId id, Publisher& p, Timestamp now);
  void forget_old_ended();
  static const char* state_of(const Publisher& p);
  static uint64_t file_bytes(const Publisher& p);

  std::string dir_;
  bool quiet_;
  int worker_;  // in file names and log lines
  std::map<sfu::SessionId, Publisher> publishers_;
  std::vector<SimulcastRecordSelector::Output> simulcast_out_;  // scratch of on_publisher_rtp()
  std::vector<KeyframeRequest> keyframe_requests_;  // until take_keyframe_requests()
  SfuRecorderCounters counters_;
};

}  // namespace tern::tools::sfu_tool
