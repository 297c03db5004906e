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
#include "tern/core/units.h"
#include "tern/rtp/rtp_packet.h"
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
  bool nack = false, fec = false;  // flags mode: NACK/RTX, ULPFEC in RED (tern's payload types)
  bool flexfec = false;            // flags mode: FlexFEC (tern's payload type) on fec_ssrc
  std::string protection;          // flags mode: --protection list (nack, fec, flexfec), adds to the flags
  uint32_t rtx_ssrc = 0;           // video RTX SSRC (default: the SDP's, else learned on arrival)
  uint32_t fec_ssrc = 0;           // video FlexFEC SSRC (default: the SDP's FEC-FR group, else tern-send's)
  // Given on the command line: --address then overrides the SDP's, --no-rtcp-mux (in any form,
  // even "--no-rtcp-mux=false") turns the SDP's rtcp-mux off.
  bool address_given = false, no_rtcp_mux_given = false;
};

// The session to receive: the SDP file's (with the flags that override it) or the flags', checked
// against the outputs asked for; errors in tern-recv's words and order.
Result<SessionPlan> recv_session_plan(const RecvOptions& options);
// The receive-only Endpoint for a plan: its local SSRCs kept clear of the sender's.
pipeline::EndpointConfig recv_endpoint_config(const SessionPlan& plan);

// Which sender SSRC each stream of the plan is, learned only from packets that are plausibly of
// the session (a payload type of the plan, a valid RTP header; under SRTP the transport has
// already authenticated them), so one stray or spoofed datagram changes nothing:
// - a new SSRC is taken for a kind once kMinSequential of its packets arrived in sequence
//   (RFC 3550 A.1 probation), and only while that kind's current SSRC is unknown, was never heard,
//   or has been silent for kSilenceBeforeSwitch (a sender restarted with a new SSRC);
// - the video RTX SSRC (when the plan has NACK and the SDP named none) from the first packet of
//   the RTX payload type whose original sequence number is near the video stream's.
// Before the Endpoint exists every datagram of the session is held (at most kMaxHeldPackets, the
// rest counted) for replay; after kMaxHoldTime with at least one stream known, the Endpoint is
// made with what is known (a stream announced but never sent does not block the others).
class StreamLearner {
 public:
  static constexpr size_t kMaxHeldPackets = 2048;
  static constexpr int kMinSequential = 2;
  static constexpr size_t kMaxCandidates = 4;  // SSRCs on probation at once (oldest replaced)
  static constexpr TimeDelta kSilenceBeforeSwitch = TimeDelta::Seconds(2);
  static constexpr TimeDelta kMaxHoldTime = TimeDelta::Seconds(1);
  static constexpr uint16_t kMaxRtxDistance = 2048;  // original seq at most this far behind

  enum class Outcome : uint8_t {
    kKnown,       // of an SSRC the plan names (media or RTX)
    kForeign,     // neither a known SSRC nor a payload type of the plan
    kProbation,   // a new SSRC with a payload type of the plan, not (yet) taken
    kLearned,     // completed a probation: the plan names this SSRC now (learned or switched)
    kRtxLearned,  // the plan's video RTX SSRC is this packet's now
  };

  explicit StreamLearner(SessionPlan& plan) : plan_(plan) {}
  // One RTP packet whose header parsed. While `keep` (the Endpoint exists), a packet on probation
  // is kept with its candidate, for take_learned() when the candidate is taken.
  Outcome observe(const rtp::RtpHeader& header, std::span<const uint8_t> datagram, bool keep, Timestamp now);
  // What kLearned just took: video or audio, and whether that stream had never been heard before
  // (its Endpoint stream has had no packet: it can take the SSRC without a fresh Endpoint).
  bool learned_video() const { return learned_video_; }
  bool learned_unheard() const { return learned_unheard_; }
  // The packets kept for the SSRC kLearned just took, in arrival order.
  std::vector<std::vector<uint8_t>> take_learned() { return std::exchange(learned_packets_, {}); }
  // Before the Endpoint exists: keeps a datagram of the session for replay.
  void hold(std::span<const uint8_t> datagram, bool rtcp, Timestamp now);
  // The Endpoint can be made: every expected stream's SSRC is known, or one is and the first held
  // datagram is kMaxHoldTime old.
  bool ready(Timestamp now) const;
  // The held datagrams in arrival order, with their RTCP flag; the store is emptied.
  std::vector<std::pair<std::vector<uint8_t>, bool>> take() { return std::exchange(held_, {}); }
  uint64_t dropped() const { return dropped_; }
  // Packets kept on probation whose candidate was replaced (never delivered).
  uint64_t abandoned() const { return abandoned_; }
  uint64_t switches() const { return switches_; }

 private:
  struct Candidate {
    uint32_t ssrc = 0;
    bool video = false;
    uint16_t last_seq = 0;
    int in_sequence = 0;
    std::vector<std::vector<uint8_t>> kept;
  };
  // Which kind's payload types `pt` belongs to (nullopt: neither).
  std::optional<bool> kind_of(uint8_t pt) const;
  bool may_take(bool video, Timestamp now) const;

  SessionPlan& plan_;
  std::vector<std::pair<std::vector<uint8_t>, bool>> held_;
  std::optional<Timestamp> first_held_, began_;
  std::vector<Candidate> candidates_;
  std::vector<std::vector<uint8_t>> learned_packets_;
  std::optional<Timestamp> video_heard_, audio_heard_;
  std::optional<uint16_t> last_video_seq_;
  uint64_t dropped_ = 0, abandoned_ = 0, switches_ = 0;
  bool learned_video_ = false, learned_unheard_ = false;
};

// Received datagrams by what became of them (tern-recv's JSON "rtp_received", "rtcp_received" and
// "invalid"): only RTP of the session's streams and RTCP that parsed count as received.
struct RecvCounters {
  uint64_t rtp = 0, rtcp = 0;
  uint64_t malformed_rtp = 0, unknown_ssrc = 0, rtcp_parse_errors = 0;
};

// One tern-recv run: Create() sets everything up (an error is the message tern-recv prints),
// run() receives until --frames, --duration, --idle-timeout, a signal or a write error, finish()
// closes the files. Every output file is created by Create().
class RecvSession {
 public:
  static Result<std::unique_ptr<RecvSession>> Create(RecvOptions options);
  // "listening on ADDRESS[, audio on ADDRESS][ (SRTP)]".
  std::string listening() const;
  Status run();
  // Closes the Y4M/WAV/WebM files and writes --stats-json (also after a write error, which it
  // reports); returns the first write error (tern-recv exits 1). Outputs that got nothing are
  // removed and said so in notes().
  Status finish();
  const std::vector<std::string>& notes() const { return notes_; }
  // The one-line summary tern-recv prints.
  std::string summary() const;
  // Features the session plan turned off, and why (tern-recv prints them as warnings).
  const std::vector<std::string>& warnings() const { return plan_.warnings; }

 private:
  RecvSession() : learner_(plan_) {}
  Status create_endpoint();
  // The transport's receive handler: true when the datagram belongs to the session (its peer may
  // be learned from it). `link` is the transport it came through.
  bool on_datagram(transport::RtpUdpTransport& link, std::span<const uint8_t> datagram, bool rtcp, Timestamp now);
  bool on_rtp(transport::RtpUdpTransport& link, std::span<const uint8_t> datagram, Timestamp now);
  // Hands one datagram to the Endpoint and counts the verdict; true when of the session.
  bool deliver(std::span<const uint8_t> datagram, bool rtcp, Timestamp now);
  // Makes the Endpoint (again, after an SSRC switch) and replays what was held.
  Status start_endpoint(Timestamp now);
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
  RecvCounters received_;
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
  std::vector<std::string> notes_;
};

}  // namespace tern::tools::net
