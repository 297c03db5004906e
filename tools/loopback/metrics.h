// The figures tern-loopback reports, and the pure functions that compute them from per-frame
// records and time series (so each can be checked on hand-built inputs): nearest-rank
// percentiles, freezes (webrtc-stats definition through jitterbuffer::FreezeMeter), video quality and
// delay, audio concealment, network totals.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tern/core/units.h"

namespace tern::tools {

// One rendered video frame at B.
struct FrameRecord {
  double render_ms = 0;
  std::optional<uint32_t> frame_number;
  std::optional<double> psnr, ssim;      // against the source picture (SSIM sampled)
  std::optional<double> e2e_delay_ms;    // capture at A to render at B
};

// One 100 ms bin of the forward direction (A -> B).
struct SeriesPoint {
  double time_ms = 0;          // end of the bin
  std::optional<double> capacity_kbps;  // forward link capacity over the bin (nullopt when unlimited)
  double target_kbps = 0;      // A's congestion controller (or fixed) target
  double send_kbps = 0;        // what A handed to the network
  double receive_kbps = 0;     // what reached B
  double video_target_kbps = 0;
  std::optional<double> rtt_ms;           // A's latest RTCP round trip
  std::optional<double> one_way_delay_ms; // mean network delay of packets arriving in the bin
  double loss_percent = 0;     // packets sent in the bin that never arrived (queue drops + loss)
};

struct VideoSummary {
  bool present = false;
  int64_t frames_captured = 0, frames_encoded = 0, frames_rendered = 0, frames_scored = 0;
  std::optional<double> psnr_mean, psnr_p5, ssim_mean, ssim_p5;  // dB, 0..1
  // SSIM is sampled: measured on frames whose number is a multiple of ssim_every (0 = off), so its
  // mean and 5th percentile are over frames_ssim frames; PSNR is over every scored frame.
  int ssim_every = 0;
  int64_t frames_ssim = 0;
  int64_t freeze_count = 0;
  double freeze_total_ms = 0;
  double longest_gap_ms = 0;  // longest time between two rendered frames
  double fps_received = 0;    // rendered frames per second from the first render to the end
  std::optional<double> e2e_p50_ms, e2e_p95_ms;
  int64_t keyframes_encoded = 0;
  // Resolution/frame-rate adaptation at A (outbound-rtp qualityLimitation*): size changes made,
  // the size A encoded last and B rendered last, and seconds limited by bandwidth / by CPU.
  int64_t resolution_changes = 0;
  double adapted_fps = 0;  // the frame rate A's adaptation allowed at the end
  int sent_width = 0, sent_height = 0, received_width = 0, received_height = 0;
  double limited_bandwidth_s = 0, limited_cpu_s = 0;
};

struct AudioSummary {
  bool present = false;
  int64_t playout_ms = 0;             // 10 ms playout decisions after the first normal one, in ms
  double concealment_percent = 0;     // expanded (PLC) share of that playout
  double jitter_buffer_delay_ms = 0;  // mean audio buffered ahead of playout
  double network_delay_ms = 0;        // mean one-way delay of audio packets on the link
  double sync_delay_ms = 0;           // mean A/V sync hold added to audio
  double codec_delay_ms = 0;          // the sender's encoder look-ahead
  // Mean mouth-to-ear delay: capture-to-playout as measured per decoded 10 ms block
  // (AudioPlayoutEvent::capture_to_playout: packetization, look-ahead, sender queue, network,
  // jitter buffer and sync hold); before any was measured, one 20 ms frame + the look-ahead +
  // network, buffer and sync means instead.
  double e2e_delay_ms = 0;
};

// What was refused along the way: all zero in a healthy call.
struct RejectCounts {
  uint64_t malformed_rtp = 0;      // A and B: datagrams not parsable as RTP
  uint64_t unknown_ssrc = 0;       // A and B: RTP of no stream the endpoint receives
  uint64_t rtcp_parse_errors = 0;  // A and B: RTCP with a part that did not parse
  uint64_t not_rtp = 0;            // --realtime: datagrams neither RTP nor RTCP, both sockets
  uint64_t send_failures = 0;      // --realtime: datagrams the kernel refused, both sockets
  uint64_t recorder_dropped = 0;   // --record: frames and blocks the WebM recorder refused
};

struct NetworkSummary {
  uint64_t packets_sent = 0;      // datagrams A handed to the network (RTP + RTCP)
  uint64_t packets_lost = 0;      // dropped on the forward access path (queue + loss + blackout)
  // Repairs at B: a sequence number B saw missing, then filled by a retransmission (the NACK
  // generator's packets_repaired_by_rtx) or rebuilt by ULPFEC (which never rebuilds one it has).
  // Duplicates, late originals and RTX of packets that had arrived do not count.
  uint64_t nack_recovered = 0;
  uint64_t fec_recovered = 0;
  // With a media server (sfu) A's losses are repaired on its hop: its repairs count too.
  uint64_t rtx_sent = 0;          // retransmissions A sent (answers to NACKs)
  uint64_t rtx_received = 0;      // retransmissions B (and the media server) received, needless included
  uint64_t nacks_sent = 0;        // NACK requests B sent
  // The video's own media packets (by A's video SSRC and payload type: not its retransmissions,
  // FEC or padding) that A sent and the forward path never delivered; of those, how many a
  // retransmission did deliver (seen on the path: the RTX packet carrying that number arrived,
  // which a media server's hop counts too), and how many B rebuilt from ULPFEC or FlexFEC.
  // nullopt / 0 without video.
  std::optional<uint64_t> video_packets_lost;
  uint64_t video_repaired_by_rtx = 0;
  uint64_t video_repaired_by_fec = 0;
  std::optional<double> rtt_mean_ms, rtt_p95_ms;
  double target_mean_kbps = 0;    // A's target over the run
  std::optional<double> capacity_mean_kbps;  // nullopt when unlimited
  double send_mean_kbps = 0;
  double receive_mean_kbps = 0;
  double one_way_delay_p50_ms = 0, one_way_delay_p95_ms = 0;  // bins' mean network delay
  RejectCounts rejected;
};

// What ICE and TURN did in the call, for the report.
struct IceSummary {
  bool present = false;
  std::string policy;                   // "relay" or "all"
  std::string nat_a, nat_b;             // NAT kind or "none"
  std::optional<double> connected_a_ms, connected_b_ms;  // first selected pair
  std::string local_type, remote_type;  // A's selected pair (candidate types), "" when none
  std::string state_a, state_b;         // agent states at the end
  uint64_t checks_sent = 0;             // both agents, first transmissions
  uint64_t turn_allocations = 0;        // allocations the TURN server created
  uint64_t turn_channels_bound = 0;
  uint64_t send_refused = 0;            // media datagrams an agent refused (no selected pair)
};

struct Summary {
  VideoSummary video;
  AudioSummary audio;
  NetworkSummary network;
  IceSummary ice;  // ICE topologies only (--topology relay, --nat)
  std::optional<NetworkSummary> second_flow;  // --flows 2: the second call's means
};

// Nearest-rank percentile, p in [0, 100]; nullopt for an empty list.
std::optional<double> percentile(std::vector<double> values, double p);
std::optional<double> mean(const std::vector<double>& values);

struct FreezeSummary {
  int64_t count = 0;
  double total_ms = 0;
  double longest_gap_ms = 0;
};
// Freezes (webrtc-stats: a gap of at least max(3 x avg, avg + 150 ms)) in a list of render times.
FreezeSummary analyze_freezes(const std::vector<double>& render_times_ms);

// Fills the rendered-frame part of a VideoSummary (quality, freezes, fps, end-to-end delay) from
// the frames B rendered over a call of `duration`.
void summarize_frames(const std::vector<FrameRecord>& frames, TimeDelta duration, VideoSummary& out);

// Fills the time-series part of a NetworkSummary (means of target, capacity, rates, RTT, delay).
void summarize_series(const std::vector<SeriesPoint>& series, NetworkSummary& out);

// Audio playout counts: pulls after the first normal one, concealed (PLC expand) pulls.
struct AudioPlayoutCounts {
  int64_t pulls = 0;
  int64_t concealed = 0;
  double buffer_delay_sum_ms = 0;
  double sync_delay_sum_ms = 0;
  int64_t measured = 0;  // blocks with a capture-to-playout delay
  double capture_to_playout_sum_ms = 0;
};
// Concealment %, mean buffer delay and sync hold, and mouth-to-ear (see AudioSummary::e2e_delay_ms;
// `audio_network_delay_ms` serves only the estimate used before any block was measured).
AudioSummary summarize_audio(const AudioPlayoutCounts& counts, std::optional<double> audio_network_delay_ms,
                             double codec_delay_ms = 0);

// The summary table the tool prints.
std::string format_summary(const Summary& summary);

}  // namespace tern::tools
