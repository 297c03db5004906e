// What tern-recv does, as library pieces its main() wires and tests/sendrecv checks: the session
// plan from an SDP file or flags, the Endpoint and receive-tap configuration it gives, the holding
// of early packets while sender SSRCs are learned, and RecvSession, which opens the sockets, runs
// the real-time loop and reports.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tern/core/result.h"
#include "tern/pipeline/endpoint.h"
#include "tern/tools/net/port_split_sink.h"
#include "tern/tools/net/receive_outputs.h"
#include "tern/tools/net/receive_tap.h"
#include "tern/tools/net/session_plan.h"
#include "tern/tools/net/tool_loop.h"
#include "tern/transport/rtp_udp_transport.h"

namespace tern::tools::net {

// tern-recv's command line (see its --help); the defaults are the tool's.
struct RecvOptions {
  std::string sdp_path, address = "127.0.0.1", video = "vp8", audio = "none", key, rtcp_dest;
  std::string srtp_profile = "AES_CM_128_HMAC_SHA1_80", y4m_path, wav_path, webm_path, stats_path;
  uint16_t port = 0, audio_port = 0;
  int video_pt = -1, audio_pt = 111, frames = 0, fps = 30;
  uint32_t video_ssrc = 0, audio_ssrc = 0;
  double duration = 0, idle_timeout = 0;
  bool no_rtcp_mux = false, quiet = false;
  // Given on the command line: --address then overrides the SDP's, --no-rtcp-mux (in any form,
  // even "--no-rtcp-mux=false") turns the SDP's rtcp-mux off.
  bool address_given = false, no_rtcp_mux_given = false;
};

// The session to receive: the SDP file's (with the flags that override it) or the flags', checked
// against the outputs asked for; errors in tern-recv's words and order.
Result<SessionPlan> recv_session_plan(const RecvOptions& options);
// The receive-only Endpoint for a plan: its local SSRCs kept clear of the sender's.
pipeline::EndpointConfig recv_endpoint_config(const SessionPlan& plan);
// The WebM tap for a plan and the Endpoint configuration made from it.
ReceiveTapConfig recv_tap_config(const SessionPlan& plan, const pipeline::EndpointConfig& config, int fps,
                                 const std::string& webm_path);

// Before the Endpoint exists: learns each sender SSRC the plan lacks from the first RTP packet of
// its payload type, and holds every datagram (at most kMaxHeldPackets, the rest counted) for
// replay once ready().
class StreamLearner {
 public:
  static constexpr size_t kMaxHeldPackets = 2048;

  explicit StreamLearner(SessionPlan& plan) : plan_(plan) {}
  void hold(std::span<const uint8_t> datagram, bool rtcp);
  // Every expected stream's SSRC is known.
  bool ready() const;
  // The held datagrams in arrival order, with their RTCP flag; the store is emptied.
  std::vector<std::pair<std::vector<uint8_t>, bool>> take() { return std::exchange(held_, {}); }
  uint64_t dropped() const { return dropped_; }

 private:
  SessionPlan& plan_;
  std::vector<std::pair<std::vector<uint8_t>, bool>> held_;
  uint64_t dropped_ = 0;
};

// One tern-recv run: Create() sets everything up (an error is the message tern-recv prints),
// run() receives until --frames, --duration, --idle-timeout or a signal, finish() writes the files.
class RecvSession {
 public:
  static Result<std::unique_ptr<RecvSession>> Create(RecvOptions options);
  // "listening on ADDRESS[, audio on ADDRESS][ (SRTP)]".
  std::string listening() const;
  Status run();
  // Writes the Y4M/WAV/WebM files (a failure there is kept for files_written()) and --stats-json
  // (a failure there is returned).
  Status finish();
  Status files_written() const { return written_; }
  // The one-line summary tern-recv prints.
  std::string summary() const;

 private:
  RecvSession() : learner_(plan_) {}
  Status create_endpoint();
  void on_datagram(std::span<const uint8_t> datagram, bool rtcp, Timestamp now);
  void deliver(std::span<const uint8_t> datagram, bool rtcp, Timestamp now);
  transport::RtpUdpTransportCounters counters() const;
  int64_t audio_packets() const;

  // Drives the ReceiveTap once it exists.
  class TapPollable : public transport::Pollable {
   public:
    explicit TapPollable(const std::unique_ptr<ReceiveTap>& tap) : tap_(tap) {}
    std::optional<Timestamp> next_wakeup() const override { return tap_ ? tap_->next_wakeup() : std::nullopt; }
    void process(Timestamp now) override {
      if (tap_) tap_->process(now);
    }

   private:
    const std::unique_ptr<ReceiveTap>& tap_;
  };

  RecvOptions options_;
  SessionPlan plan_;
  StreamLearner learner_;
  std::unique_ptr<transport::RtpUdpTransport> link_;
  std::unique_ptr<transport::RtpUdpTransport> audio_link_;  // audio on its own port
  std::unique_ptr<ReceiveOutputs> outputs_;
  std::optional<PortSplitSink> split_;  // with audio_link_: what the Endpoint sends through
  std::unique_ptr<pipeline::Endpoint> endpoint_;
  std::unique_ptr<ReceiveTap> tap_;
  EndpointPollable endpoint_pollable_;
  TapPollable tap_pollable_{tap_};
  std::unique_ptr<ToolLoop> loop_;
  std::string setup_error_;
  std::optional<Timestamp> last_packet_;
  Timestamp start_, end_;
  Status written_;
};

}  // namespace tern::tools::net
