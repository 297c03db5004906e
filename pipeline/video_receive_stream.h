// VideoReceiveStream: one remote video SSRC from transport to renderer:
//   RtpReceiveFront (RTX unwrap, receive statistics, RED/ULPFEC recovery, NACK generator, keyframe
//   requests) -> video jitter buffer -> VP8/VP9 decoder -> A/V sync delay -> render (FrameStamp number, PSNR of every frame and sampled SSIM against the source picture from
//   a ReferenceFrameProvider or regenerated from the synthetic camera, scaled to the decoded size
//   when the sender adapted its resolution; freezes).
// Feedback it wants sent (NACK, PLI, FIR) comes out of process() as RTCP packets.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "tern/codecs/video_decoder.h"
#include "tern/core/result.h"
#include "tern/jitterbuffer/video/video_jitter_buffer.h"
#include "tern/media/synthetic_video_source.h"
#include "tern/media/video_quality.h"
#include "tern/pipeline/frame_rate_meter.h"
#include "tern/pipeline/listeners.h"
#include "tern/pipeline/pipeline_config.h"
#include "tern/pipeline/rtp_receive_front.h"
#include "tern/pipeline/rtp_to_ntp.h"
#include "tern/rtp/receive_statistics.h"
#include "tern/rtp/rtcp/rtcp_packet.h"

namespace tern::pipeline {

// webrtc-stats inbound-rtp (video) members the stream keeps beyond the RFC 3550 counters.
struct VideoReceiveCounters {
  int64_t frames_decoded = 0;
  int64_t key_frames_decoded = 0;
  int64_t frames_rendered = 0;
  int64_t frames_dropped = 0;      // assembled but not decoded, or not rendered
  int64_t decode_errors = 0;
  int64_t nack_count = 0;          // NACK packets sent
  int64_t pli_count = 0;
  int64_t fir_count = 0;
  int64_t fec_packets_received = 0;
  int64_t fec_packets_recovered = 0;     // rebuilt by FEC: never a packet already received
  int64_t fec_recovered_then_received = 0;  // ... whose own packet came later (reordered, not lost)
  int64_t fec_packets_discarded = 0;     // FEC packets dropped unused (malformed, stale, evicted)
  int64_t retransmitted_packets_received = 0;  // every RTX packet restored, duplicates included
  int64_t packets_repaired_by_rtx = 0;  // missing packets (a gap the NACK generator saw) an RTX filled
  int64_t total_decode_bytes = 0;
  int frame_width = 0;
  int frame_height = 0;
  double total_psnr = 0;
  double total_ssim = 0;
  int64_t quality_measurements = 0;  // frames scored (PSNR); total_psnr sums over these
  int64_t ssim_measurements = 0;     // frames with SSIM (sampled); total_ssim sums over these
};

class VideoReceiveStream final : private RtpReceiveFront::Listener {
 public:
  struct Config {
    codecs::CodecType codec = codecs::CodecType::kVp8;  // VP8 or VP9
    uint32_t ssrc = 0;
    uint32_t rtx_ssrc = 0;
    uint32_t flexfec_ssrc = 0;  // protection.flexfec: the FlexFEC stream (payload_types.flexfec)
    uint32_t local_ssrc = 0;  // sender SSRC of our feedback
    bool use_fir = false;     // keyframe requests as FIR (the sender asked for "ccm fir"), else PLI
    ProtectionConfig protection;
    PayloadTypes payload_types;
    // The peer's synthetic camera, regenerated for PSNR/SSIM when measure_quality and no
    // ReferenceFrameProvider has the picture (built on first need).
    media::SyntheticVideoConfig source;
    bool measure_quality = true;
    int ssim_every = 60;  // SSIM on frame numbers that are multiples of this; 0 = never
    NtpClock ntp_clock;
    // How late a frame repaired by retransmission may render (VideoTimingConfig::repair_lateness):
    // the jitter buffer holds frames for max(0, RTT - repair_lateness) once retransmissions are
    // seen. Zero (the default, libwebrtc's behaviour) holds the whole RTT: no repaired frame late.
    // 140 ms takes ~100 ms off the default link's delay but doubles its freezes (see
    // jitterbuffer/README.md).
    TimeDelta repair_lateness = TimeDelta::Zero();
    // With FEC beside NACK: the jitter buffer holds the RTT for repairs only while more than this
    // share of the last 10 s of frames completed by a retransmission
    // (VideoTimingConfig::frequent_repair_fraction).
    double frequent_repair_fraction = 0.03;
    // While the RTT is held: at least this quantile of the time repaired frames waited for their
    // repair over the last 10 s (VideoTimingConfig::repair_quantile; 0: the RTT alone). A lost
    // retransmission makes a frame wait two RTTs: on a bursty path (8% in runs of 3, RTT ~140 ms)
    // holding the RTT alone left 6% of the call frozen, the 95th percentile 3% (at ~80 ms more
    // delay), the 99th 0.86% (issue 14's bursty row, seeds 1-10; 2.03 -> 1.63% over seeds 11-30,
    // at ~80 ms more again: capture-to-render p50 294 -> 377 ms). Where retransmissions are rarely
    // lost the two quantiles are the same wait (the default link: identical calls).
    double repair_quantile = 0.99;
  };
  // `statistics` (the endpoint's, shared by every received SSRC) must outlive the stream.
  static Result<std::unique_ptr<VideoReceiveStream>> Create(const Config& config, rtp::ReceiveStatistics& statistics);

  bool owns_ssrc(uint32_t ssrc) const { return front_.owns_ssrc(ssrc); }
  // The RTX SSRC learned after creation (RtpReceiveFront::set_rtx_ssrc).
  void set_rtx_ssrc(uint32_t rtx_ssrc) {
    config_.rtx_ssrc = rtx_ssrc;
    front_.set_rtx_ssrc(rtx_ssrc);
  }
  // One received packet of the media or RTX SSRC.
  void on_rtp(const rtp::RtpPacket& packet, Timestamp now);
  std::optional<Timestamp> next_wakeup() const;
  // Releases, decodes and renders due frames; appends feedback to send (NACK, PLI/FIR) to `feedback`.
  void process(Timestamp now, std::vector<rtcp::RtcpPacket>& feedback);

  // RTT measured as a sender (report blocks): NACK retry timing and the jitter buffer's wait for
  // retransmissions.
  void on_rtt(TimeDelta rtt);
  // RTT measured as a receiver (XR DLRR): NACK retry timing, and the jitter buffer's wait for
  // retransmissions above its configured guess (VideoTimingConfig::initial_rtt, 100 ms by default), never below it. It
  // is the round trip to the next hop, which behind a media server is shorter than the repair of
  // a loss before the server (so it does not lower the guess); on a direct path it is the repair
  // time, and a receive-only endpoint has no other RTT: with the guess alone a 245 ms path froze
  // every frame that needed a retransmission (tern-loopback far-jittery: 40 freezes in 30 s).
  void on_receiver_rtt(TimeDelta rtt);
  void on_sender_report(NtpTime ntp, uint32_t rtp_timestamp) { rtp_to_ntp_.on_sender_report(ntp, rtp_timestamp); }
  // Extra render delay for A/V sync.
  void set_sync_delay(TimeDelta delay) { sync_delay_ = delay; }
  TimeDelta sync_delay() const { return sync_delay_; }
  // Capture-to-release delay of the last rendered frame by the jitter buffer's schedule (a frame
  // released late counts at its render time), without the sync delay; nullopt before an SR made
  // capture times known. A/V sync matches this playout delay.
  std::optional<TimeDelta> last_delay() const { return last_delay_; }

  void set_render_listener(VideoRenderListener* listener) { render_listener_ = listener; }
  // Source pictures for quality measurement (nullptr: regenerate them). Must outlive the stream
  // or be reset first.
  void set_reference_provider(ReferenceFrameProvider* provider) { reference_provider_ = provider; }
  VideoReceiveCounters counters() const;
  jitterbuffer::VideoJitterBufferStats jitter_buffer_stats() const { return jitter_buffer_.stats(); }
  const jitterbuffer::FreezeStats& freeze_stats() const { return freezes_.stats(); }
  recovery::NackGeneratorStats nack_stats() const { return front_.nack_stats(); }
  double frames_per_second(Timestamp now) const;
  uint32_t ssrc() const { return config_.ssrc; }
  uint8_t payload_type() const;
  const char* mime_type() const { return codecs::mime_type(config_.codec); }

 private:
  struct PendingRender {
    codecs::VideoFrame frame;
    Timestamp due;
    Timestamp scheduled;  // released by the jitter buffer (its render time if released late)
    bool keyframe = false;
  };
  static constexpr size_t kMaxPendingRenders = 64;

  VideoReceiveStream(const Config& config, RtpReceiveFront front, std::unique_ptr<codecs::VideoDecoder> decoder);
  // From the front: into the jitter buffer.
  Verdict on_media_packet(rtp::RtpPacket packet, PacketOrigin origin, Timestamp now) override;
  void render(PendingRender& pending, Timestamp now);
  // The source picture of `frame_number`: from the provider, else regenerated into scratch_.
  const codecs::VideoFrame* reference(uint32_t frame_number);

  Config config_;
  RtpReceiveFront front_;
  std::unique_ptr<codecs::VideoDecoder> decoder_;
  std::optional<media::SyntheticVideoSource> source_;  // fallback reference, built on first need
  codecs::VideoFrame scratch_;                         // its regenerated picture, reused
  codecs::VideoFrame scaled_reference_;                // the reference at an adapted size, reused
  ReferenceFrameProvider* reference_provider_ = nullptr;
  jitterbuffer::VideoJitterBuffer jitter_buffer_;
  jitterbuffer::FreezeMeter freezes_;  // renders; pauses apart (webrtc-stats)
  RtpToNtp rtp_to_ntp_{90000};
  std::deque<PendingRender> renders_;
  FrameRateMeter renders_per_second_;
  TimeDelta sync_delay_ = TimeDelta::Zero();
  std::optional<TimeDelta> last_delay_;
  VideoReceiveCounters counters_;  // the front's members are filled in by counters()
  VideoRenderListener* render_listener_ = nullptr;
};

}  // namespace tern::pipeline
