// MediaServer: an SFU-like hop between two sides, A and B, that terminates loss recovery and
// congestion feedback per hop instead of passing them through:
//   - RTP from one side goes through one RtpReceiveFront per stream: RTX-unwrapped (RFC 4588),
//     accounted (RFC 3550 statistics, RR toward that side), gap-checked by its own NACK generator
//     (NACKs go upstream); it is answered with transport-cc feedback for that hop, and forwarded
//     to the other side with the server's own
//     sequence numbers (SSRC and timestamps kept; seq rewritten by unwrap + offset, see
//     core/seq_rewriter.h) and its own transport-wide sequence numbers (a SendTransport per side,
//     unpaced: it forwards at the rate it receives; its GCC estimate chooses temporal layers of a
//     layered VP8/VP9 stream, see media_router.h);
//   - forwarded packets are kept in a per-stream packet history, so NACKs from the downstream side
//     are answered by the server (RTX on the stream's RTX SSRC, from the SendTransport's egress
//     history), not by the original sender;
//   - PLI/FIR from downstream are forwarded upstream (a decoder needs the sender's keyframe);
//   - SR/RR are regenerated per hop (SR NTP/RTP stays consistent with the sender's mapping, so
//     A/V sync downstream still works); REMB and transport-cc from downstream end here.
// It is MediaRouter (media_router.h) with two legs, A = 0 and B = 1.
// Sans-I/O like Endpoint: on_packet(side, ...), next_wakeup(), process(now); port(side) gives an
// object a driver (e.g. netsim::PollableAdapter) can drive for one side.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tern/core/datagram_sink.h"
#include "tern/core/result.h"
#include "tern/pipeline/media_router.h"
#include "tern/pipeline/pipeline_config.h"

namespace tern::pipeline {

class MediaServer {
 public:
  enum class Side : uint8_t { kA = 0, kB = 1 };

  // One stream a side sends through the server.
  using ForwardedStream = MediaRouter::ForwardedStream;
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
  using SideCounters = MediaRouter::LegCounters;

  static Result<std::unique_ptr<MediaServer>> Create(const Config& config, DatagramSink* to_a, DatagramSink* to_b);
  ~MediaServer();

  void on_packet(Side from, std::span<const uint8_t> datagram, Timestamp now) { router_->on_packet(leg(from), datagram, now); }
  std::optional<Timestamp> next_wakeup() const { return router_->next_wakeup(); }
  void process(Timestamp now) { router_->process(now); }

  SideCounters counters(Side side) const { return router_->counters(leg(side)); }

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
  explicit MediaServer(std::unique_ptr<MediaRouter> router);
  static MediaRouter::LegId leg(Side side) { return static_cast<MediaRouter::LegId>(side); }

  std::unique_ptr<MediaRouter> router_;
  Port port_a_;
  Port port_b_;
};

}  // namespace tern::pipeline
