// What tern-send does, as library pieces its main() wires and tests/sendrecv checks: the options
// and their defaults (which depend on one another and on the input files), the Endpoint
// configuration and SDP plan they give, the capture tap that ends the stream after --frames, and
// SendSession, which opens the sockets, runs the real-time loop and reports.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/core/result.h"
#include "tern/media/wav_file.h"
#include "tern/media/y4m_file.h"
#include "tern/pipeline/endpoint.h"
#include "tern/tools/net/port_split_sink.h"
#include "tern/tools/net/session_plan.h"
#include "tern/tools/net/tool_loop.h"
#include "tern/transport/rtp_udp_transport.h"
#include "tern/transport/socket_address.h"
#include "tern/transport/srtp_key.h"

namespace tern::tools::net {

// tern-send's command line (see its --help); the defaults are the tool's.
struct SendOptions {
  std::string dest, video = "vp8", audio = "none", bitrate = "1000k", cc = "fixed", peer = "generic";
  std::string start_rate;  // --start-rate for remb/transport-cc; empty: the pipeline's 300 kbps
  std::string key, srtp_profile = "AES_CM_128_HMAC_SHA1_80", sdp_path, source_path, stats_path;
  std::string bind_address, rtcp_dest;
  // Video adaptation (pipeline/video_adapter.h). Off by default: what tern-send sends is compared
  // picture by picture with its source by its users and interop tests.
  std::string degradation = "disabled";
  std::vector<std::string> inputs;
  bool loop_input = false;
  int width = 320, height = 240, frames = -1, drop_every = 0;
  double fps = 30, duration = 0, linger_ms = 500;
  uint16_t local_port = 0, audio_port = 0;
  uint32_t video_ssrc = 0x1000'0002, audio_ssrc = 0x1000'0001, rtx_ssrc = 0x1000'0003, fec_ssrc = 0x1000'0004;
  bool nack = false, fec = false, flexfec = false, no_rtcp_mux = false;
  std::string protection;  // --protection list (nack, fec, flexfec); adds to --nack/--fec/--flexfec
  uint64_t seed = 1;
  // Which options the command line gave (defaults that depend on others respect them).
  bool video_given = false, audio_given = false, cc_given = false, duration_given = false;
};

// "1000k", "1.5M", "800000" -> bits per second in 1000..1e9; nullopt when malformed or out of range.
std::optional<int64_t> parse_bitrate(const std::string& text);

// The --input files: at most one Y4M (video) and one WAV (48 kHz mono/stereo PCM16), played from
// disk as they are sent (one picture or block in memory, whatever the files' length).
struct SendInputs {
  std::unique_ptr<media::Y4mFileSource> video;
  std::unique_ptr<media::WavFileSource> audio;
  double seconds = 0;  // the longer file's length
  bool any() const { return video || audio; }
  // Why a file stopped before its end (truncated, unreadable): ok otherwise.
  Status error() const;
};
// Opens the --input files (their headers and, for Y4M, the first picture are checked) and takes
// the video size and rate from the Y4M; a file of one kind turns the other kind off unless
// --video/--audio was given.
Result<SendInputs> load_send_inputs(SendOptions& options);

// What the options resolve to besides the fields resolve_send_options() rewrites.
struct SendTarget {
  transport::SocketAddress dest;
  int64_t bitrate = 0;
  std::optional<int64_t> start_rate;
  std::optional<transport::SrtpProfile> srtp_profile;
  std::vector<uint8_t> srtp_key;
};
// Checks the options and fills in the defaults that depend on others (--peer tern: NACK and
// transport-cc; --peer ffmpeg: audio on port + 2; --frames 90; --duration 3), in the order
// tern-send reports errors.
Result<SendTarget> resolve_send_options(SendOptions& options, bool files);
pipeline::EndpointConfig send_endpoint_config(const SendOptions& options, const SendTarget& target);
SessionPlan send_session_plan(const SendOptions& options, const SendTarget& target,
                              const pipeline::EndpointConfig& config);

// Counts encoded video frames, stops the stream after the limit and keeps the source pictures.
class SendCaptureTap : public pipeline::VideoCaptureListener {
 public:
  // `writer`: --source-y4m, written picture by picture.
  SendCaptureTap(int limit, std::optional<media::Y4mFileWriter> writer) : limit_(limit), writer_(std::move(writer)) {}
  void on_video_frame_captured(const pipeline::CapturedVideoFrame& frame) override;
  bool done() const { return last_timestamp_.has_value(); }
  // False for RTP of the media SSRC after the last frame (later captures are not sent).
  // Also drops every drop_every-th new video media packet (a test aid for NACK/RTX; 0: never),
  // except in the last frame, whose loss no later packet would reveal to the receiver.
  bool allow(std::span<const uint8_t> datagram, uint32_t video_ssrc, int drop_every);
  uint64_t dropped() const { return dropped_; }
  int encoded() const { return encoded_; }
  // Source pictures the reference writer could not write (a write error: it stops there).
  uint64_t reference_write_failures() const { return reference_write_failures_; }
  std::optional<media::Y4mFileWriter>& writer() { return writer_; }

 private:
  int limit_;
  int encoded_ = 0;
  std::optional<uint32_t> last_timestamp_;
  std::optional<uint16_t> highest_seq_;
  uint64_t media_packets_ = 0;
  uint64_t dropped_ = 0;
  uint64_t reference_write_failures_ = 0;
  std::optional<media::Y4mFileWriter> writer_;
};

// One tern-send run: Create() sets everything up (an error is the message tern-send prints),
// run() sends until the stream ends, the time limit or a signal, finish() writes the files.
class SendSession {
 public:
  using Warn = std::function<void(const std::string& text)>;

  static Result<std::unique_ptr<SendSession>> Create(SendOptions options);
  // The real-time loop; `warn` gets one "warning: ..." line when the destination is unreachable.
  Status run(const Warn& warn);
  // Closes --source-y4m and writes --stats-json; an error also when an input file or
  // --source-y4m failed on the way (truncated input, a full disk).
  Status finish();
  // The one-line summary tern-send prints.
  std::string summary() const;

 private:
  SendSession() = default;
  bool finished() const;
  transport::RtpUdpTransportCounters counters() const;

  SendOptions options_;
  SendInputs inputs_;
  std::unique_ptr<transport::RtpUdpTransport> link_;
  std::unique_ptr<transport::RtpUdpTransport> audio_link_;
  std::unique_ptr<PortSplitSink> split_;
  std::unique_ptr<pipeline::Endpoint> endpoint_;
  std::unique_ptr<SendCaptureTap> capture_;
  std::unique_ptr<ToolLoop> loop_;
  EndpointPollable pollable_;
  Timestamp start_, end_;
};

}  // namespace tern::tools::net
