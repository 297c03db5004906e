// MediaServer: an SFU-like hop between two sides, A and B, that terminates loss recovery and
// congestion feedback per hop instead of passing them through:
//   - RTP from one side goes through one RtpReceiveFront per stream: RTX-unwrapped (RFC 4588),
//     accounted (RFC 3550 statistics, RR toward that side), gap-checked by its own NACK generator
//     (NACKs go upstream); it is answered with transport-cc feedback for that hop, and forwarded
//     to the other side with the server's own
//     sequence numbers (SSRC and timestamps kept; seq rewritten by unwrap + offset, see
//     core/seq_rewriter.h) and its own transport-wide sequence numbers (a SendTransport per side,
//     unpaced and without a congestion controller: it forwards at the rate it receives);
//   - forwarded packets are kept in a per-stream packet history, so NACKs from the downstream side
//     are answered by the server (RTX on the stream's RTX SSRC, from the SendTransport's egress
//     history), not by the original sender;
//   - PLI/FIR from downstream are forwarded upstream (a decoder needs the sender's keyframe);
//   - SR/RR are regenerated per hop (SR NTP/RTP stays consistent with the sender's mapping, so
//     A/V sync downstream still works); REMB and transport-cc from downstream end here.
// Sans-I/O like Endpoint: on_packet(side, ...), next_wakeup(), process(now); port(side) gives an
// object a driver (e.g. netsim::PollableAdapter) can drive for one side.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tern/congestion/transport_feedback_generator.h"
#include "tern/core/datagram_sink.h"
#include "tern/core/result.h"
#include "tern/core/seq_rewriter.h"
#include "tern/pipeline/listeners.h"
#include "tern/pipeline/pipeline_config.h"
#include "tern/pipeline/rtcp_session.h"
#include "tern/pipeline/rtp_receive_front.h"
#include "tern/pipeline/rtp_to_ntp.h"
#include "tern/pipeline/send_transport.h"
#include "tern/rtp/receive_statistics.h"
#include "tern/rtp/rtt_estimator.h"

namespace tern::pipeline {

class MediaServer {
 public:
  enum class Side : uint8_t { kA = 0, kB = 1 };

  // One stream a side sends through the server.
  struct ForwardedStream {
    uint32_t ssrc = 0;
    std::optional<uint32_t> rtx_ssrc;
    uint8_t rtx_payload_type = 97;
    uint8_t media_payload_type = 96;  // what RTX packets restore (apt)
    uint32_t clock_rate = 90000;
    bool nack = true;  // generate NACKs upstream / answer them downstream
  };
  struct Config {
    std::vector<ForwardedStream> from_a;  // streams A sends (forwarded to B)
    std::vector<ForwardedStream> from_b;  // streams B sends (forwarded to A)
    uint32_t rtcp_ssrc_a = 0x5000'0001;   // the server's RTCP SSRC toward A
    uint32_t rtcp_ssrc_b = 0x5000'0002;   // and toward B
    ExtensionIds extension_ids;
    std::string cname = "tern-sfu";
    TimeDelta rtcp_interval = TimeDelta::Seconds(1);
    NtpClock ntp_clock;
    uint64_t seed = 1;
    // The streams of a point-to-point call between these endpoints (A = `a`, B = a.mirrored()).
    static Config ForCall(const EndpointConfig& a);
  };
  // Per-side counters.
  struct SideCounters {
    uint64_t rtp_packets_received = 0;
    uint64_t rtx_packets_received = 0;   // retransmissions from this side's sender
    uint64_t packets_repaired_by_rtx = 0;  // of those, ones that filled a packet the server saw missing
    uint64_t duplicates_dropped = 0;     // already forwarded
    uint64_t packets_forwarded = 0;      // RTP sent to this side (media forwarded from the other)
    uint64_t nacks_sent = 0;             // NACK packets sent to this side (about its streams)
    uint64_t nacked_packets_received = 0;   // sequence numbers this side asked the server for
    uint64_t retransmissions_sent = 0;   // RTX sent to this side from the server's history
    uint64_t keyframe_requests_forwarded = 0;  // PLI/FIR from this side passed upstream
    uint64_t transport_feedback_received = 0;  // terminated here
    uint64_t rtcp_received = 0;
    uint64_t unknown_ssrc = 0;
    std::optional<TimeDelta> rtt;        // server <-> this side
  };

  static Result<std::unique_ptr<MediaServer>> Create(const Config& config, DatagramSink* to_a, DatagramSink* to_b);
  ~MediaServer();

  void on_packet(Side from, std::span<const uint8_t> datagram, Timestamp now);
  std::optional<Timestamp> next_wakeup() const;
  void process(Timestamp now);

  SideCounters counters(Side side) const;

  // One side as a target for PollableAdapter (both ports wake the same server).
  class Port {
   public:
    Port(MediaServer& server, Side side) : server_(server), side_(side) {}
    std::optional<Timestamp> next_wakeup() const { return server_.next_wakeup(); }
    void process(Timestamp now) { server_.process(now); }
    void on_packet(std::span<const uint8_t> datagram, Timestamp now) { server_.on_packet(side_, datagram, now); }

   private:
    MediaServer& server_;
    Side side_;
  };
  Port& port(Side side) { return side == Side::kA ? port_a_ : port_b_; }

 private:
  struct Inbound;
  struct Outbound;
  struct Leg;
  class LegListener;
  class Forwarder;

  MediaServer(const Config& config, DatagramSink* to_a, DatagramSink* to_b);
  Status init();
  Leg& leg(Side side) { return *legs_[static_cast<size_t>(side)]; }
  static Side other(Side s) { return s == Side::kA ? Side::kB : Side::kA; }
  void forward(Side to, uint32_t ssrc, rtp::RtpPacket packet, Timestamp now);
  void send_rtcp(Side to, std::vector<uint8_t> bytes, Timestamp now);

  Config config_;
  rtp::ExtensionMap extensions_;
  std::array<std::unique_ptr<Leg>, 2> legs_;
  std::array<DatagramSink*, 2> sinks_{};
  Port port_a_;
  Port port_b_;
};

}  // namespace tern::pipeline
