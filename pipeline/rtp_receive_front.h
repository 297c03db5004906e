// RtpReceiveFront: the receive front of one RTP stream (one media SSRC and its RTX SSRC), the
// role of mediasoup's RtpStreamRecv and of the front half of libwebrtc's RtpVideoStreamReceiver2.
// Every consumer of received RTP (video and audio receive streams, the media server's legs,
// tern-recv's tap, tern-loopback's WebM tap) reuses it instead of wiring these stages by hand:
//
//   packet of the media or RTX SSRC
//     -> RTX unwrap (RFC 4588)                         [when rtx_ssrc is set]
//     -> RFC 3550 receive statistics, as travelled      [when statistics is set]
//     -> payload stage, one of: pass-through; RED split (RFC 2198, every block out);
//        ULPFEC inside RED (RFC 5109 recovery, the primary block out)
//     -> Listener::on_media_packet (jitter buffer, forwarder, recorder), which says whether the
//        packet started a keyframe
//     -> NACK generator (RFC 4585)                      [when nack is set]
//     -> FlexFEC window (RFC 8627): media packets kept  [when flexfec_ssrc is set]
//   packet of the FlexFEC SSRC -> FlexFEC recovery -> rebuilt media packets, delivered as above
//   (origin kFecRecovery); the repair stream's own sequence numbers are not NACKed.
//   process(): due NACK, then a pending keyframe request (PLI, or FIR per RFC 5104).
//
// Optional stages are chosen once at creation: the payload stage and the NACK stage are objects
// (a pass-through and a no-op one when not configured), not flags checked per packet.
// Sans-I/O and single-threaded; the listener is given per call, so fronts can live in containers.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/recovery/flexfec.h"
#include "tern/recovery/fec_loss_watch.h"
#include "tern/recovery/nack_generator.h"
#include "tern/recovery/rtx.h"
#include "tern/rtp/receive_statistics.h"
#include "tern/rtp/rtcp/rtcp_packet.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::pipeline {

// How a packet the front passes on came to be.
enum class PacketOrigin : uint8_t {
  kMedia,           // as sent (or the primary block of a RED packet)
  kRetransmission,  // restored from RTX
  kFecRecovery,     // rebuilt by ULPFEC or FlexFEC
  kRedundancy,      // a redundant (older) block of a RED packet
};

struct RtpReceiveFrontCounters {
  int64_t retransmitted_packets_received = 0;  // RTX packets unwrapped
  int64_t rtx_rejected = 0;             // on the RTX SSRC but not restorable (padding-only probes)
  int64_t red_packets_received = 0;     // RED split stage: packets of the RED payload type
  int64_t red_packets_malformed = 0;
  int64_t fec_packets_received = 0;     // ULPFEC: RED packets carrying no media; FlexFEC: its SSRC's
  int64_t fec_packets_recovered = 0;    // media packets rebuilt by FEC (none had arrived yet)
  // ... of those, ones whose own packet came after all (a reordered packet that FEC's packet
  // overtook, not a loss; a retransmission of it does not count: its NACK left before the
  // rebuild): repairs of losses = recovered - recovered_then_received. Seen for the last
  // kRebuiltWatch rebuilds.
  int64_t fec_recovered_then_received = 0;
  int64_t fec_packets_discarded = 0;    // malformed, stale or evicted unused
  int64_t statistics_invalid = 0;       // failed RFC 3550 A.1 validation (still passed on)
  int64_t keyframe_requests_not_sent = 0;  // NACK overflows at a FEC packet (see the ULPFEC stage)
  int64_t nack_count = 0;               // NACK packets produced
  int64_t pli_count = 0;
  int64_t fir_count = 0;
};

class RtpReceiveFront {
 public:
  struct Config {
    uint32_t ssrc = 0;        // the media SSRC (non-zero)
    uint32_t local_ssrc = 0;  // sender SSRC of our NACK, PLI and FIR
    // The sender asked for FIR (SDP "ccm fir" without "nack pli"): every keyframe request is a FIR
    // (RFC 5104 4.3.1) with a sequence number that grows per new request; PLI otherwise.
    bool use_fir = false;
    // RTX (RFC 4588): attached when rtx_ssrc is non-zero; rtx payload type -> media payload type
    // (SDP apt). A sender with RED retransmits RED-wrapped packets: apt = the RED payload type.
    uint32_t rtx_ssrc = 0;
    std::map<uint8_t, uint8_t> rtx_payload_types;
    // Payload stage: RED split when red_payload_type is set; ULPFEC recovery inside RED when
    // ulpfec_payload_type is set too; pass-through otherwise.
    std::optional<uint8_t> red_payload_type;
    std::optional<uint8_t> ulpfec_payload_type;
    // FlexFEC (RFC 8627) on its own SSRC: attached when flexfec_ssrc is non-zero; its packets
    // must carry flexfec_payload_type and name `ssrc` as their protected (CSRC) stream.
    uint32_t flexfec_ssrc = 0;
    uint8_t flexfec_payload_type = 0;
    // RFC 3550 statistics: attached when set (not owned, may be shared by several fronts, must
    // outlive this one); the clock rates (payload type -> Hz) are registered in it at creation.
    rtp::ReceiveStatistics* statistics = nullptr;
    std::map<uint8_t, uint32_t> clock_rates;
    // NACK generation: attached when set.
    std::optional<recovery::NackGeneratorConfig> nack;
  };

  // Where the front delivers media packets.
  class Listener {
   public:
    // What the consumer learnt from a packet, for the NACK generator.
    struct Verdict {
      bool keyframe_packet = false;               // the first packet of a keyframe
      std::optional<uint16_t> keyframe_first_seq;  // a complete keyframe starts here: stop NACKing older
      // Where the packet sits among the stream's pictures, for payloads with a picture id
      // (VP8, VP9): a gap from one picture's last packet (the marker) to the next picture's first
      // holds no media (FEC or padding took those numbers), and is not NACKed.
      struct Picture {
        uint16_t id = 0;
        uint16_t modulus = 0x8000;  // 0x80 for 7-bit picture ids
        bool first_packet = false;  // the picture's first packet (VP9: on its lowest spatial layer)
      };
      std::optional<Picture> picture;
    };
    virtual Verdict on_media_packet(rtp::RtpPacket packet, PacketOrigin origin, Timestamp now) = 0;

   protected:
    ~Listener() = default;
  };

  // Rejects a zero SSRC, an invalid NACK configuration, ULPFEC without RED and clock rates the
  // statistics refuse.
  static Result<RtpReceiveFront> Create(const Config& config);
  RtpReceiveFront(RtpReceiveFront&&) noexcept;
  RtpReceiveFront& operator=(RtpReceiveFront&&) noexcept;
  ~RtpReceiveFront();

  bool owns_ssrc(uint32_t ssrc) const {
    return ssrc == config_.ssrc || (rtx_ && ssrc == config_.rtx_ssrc) || (flexfec_ && ssrc == config_.flexfec_ssrc);
  }
  // One received packet; false (and nothing done) when it is of neither of our SSRCs. Media
  // packets reach `listener` before this returns.
  bool on_rtp(const rtp::RtpPacket& packet, Timestamp now, Listener& listener);

  // Round-trip time that spaces NACK retries.
  void on_rtt(TimeDelta rtt);
  // Asks the sender for a keyframe at the next process(): a PLI, or a FIR with `fir_seq`. A
  // pending FIR is not downgraded to a PLI.
  void request_keyframe(std::optional<uint8_t> fir_seq = std::nullopt);
  // A keyframe request is waiting for the next process() (next_wakeup() does not show it).
  bool keyframe_wanted() const { return keyframe_wanted_; }
  // When the NACK generator wants process() (a pending keyframe request waits for the caller's
  // next process()).
  std::optional<Timestamp> next_wakeup() const;
  // Appends the feedback due: a NACK, then a pending keyframe request.
  void process(Timestamp now, std::vector<rtcp::RtcpPacket>& feedback);

  uint32_t ssrc() const { return config_.ssrc; }
  // Attaches (or moves) the RTX stage to `rtx_ssrc`, learned after creation (an SDP without the
  // RTX a=ssrc); zero detaches it. The RTX payload types stay those configured.
  void set_rtx_ssrc(uint32_t rtx_ssrc);
  const RtpReceiveFrontCounters& counters() const { return counters_; }
  // Zeros when no NACK generator is attached; with FEC and no NACK, keyframe_requests counts the
  // FEC loss watch's.
  recovery::NackGeneratorStats nack_stats() const;

  class PayloadStage;
  class NackStage;

 private:
  explicit RtpReceiveFront(const Config& config);
  // The statistics stage (a packet as travelled, RTX already unwrapped).
  void account(const rtp::RtpPacket& packet, bool retransmitted, Timestamp now);
  // Hands a media packet to the listener, then its verdict to the NACK stage and the FEC loss watch.
  void deliver(rtp::RtpPacket packet, PacketOrigin origin, Timestamp now, Listener& listener);
  // Hands FlexFEC-rebuilt packets on and refreshes the FlexFEC counters.
  void deliver_flexfec(std::vector<rtp::RtpPacket> recovered, Timestamp now, Listener& listener);
  // Counts a packet FEC rebuilt and remembers its number (to tell a late original from a loss);
  // and the check.
  void note_rebuilt(uint16_t seq);
  void check_rebuilt(uint16_t seq);

  // The last rebuilt sequence numbers (the oldest forgotten when full; -1: empty slot).
  static constexpr size_t kRebuiltWatch = 32;
  std::array<int32_t, kRebuiltWatch> rebuilt_{};
  size_t rebuilt_next_ = 0;
  size_t rebuilt_live_ = 0;

  Config config_;
  std::optional<recovery::RtxReceiver> rtx_;
  std::optional<recovery::FlexfecReceiver> flexfec_;
  std::unique_ptr<PayloadStage> payload_;
  std::unique_ptr<NackStage> nack_;
  // FEC without NACK: no retransmission can come, so a packet FEC did not rebuild in time means a
  // keyframe, asked for at once (rate-limited until the keyframe arrives). Beside the NACK stage,
  // never with it.
  std::optional<recovery::FecLossWatch> fec_loss_;
  std::optional<uint8_t> pending_fir_seq_;  // with keyframe_wanted_: FIR rather than PLI
  uint8_t next_fir_seq_ = 0;                // use_fir: this front's own FIR numbering
  bool keyframe_wanted_ = false;
  RtpReceiveFrontCounters counters_;
};

// A Listener calling `Method` of `T`: one object consuming several streams' fronts (a recorder of
// audio and video) gives each front its own member function.
template <typename T, RtpReceiveFront::Listener::Verdict (T::*Method)(rtp::RtpPacket, PacketOrigin, Timestamp)>
class ListenerOf final : public RtpReceiveFront::Listener {
 public:
  explicit ListenerOf(T& target) : target_(target) {}
  Verdict on_media_packet(rtp::RtpPacket packet, PacketOrigin origin, Timestamp now) override {
    return (target_.*Method)(std::move(packet), origin, now);
  }

 private:
  T& target_;
};

}  // namespace tern::pipeline
