// SimulcastRecordSelector: which encoding of a simulcast publisher (RFC 8853, encodings named by rid,
// their SSRCs not signalled) tern-sfu's recorder writes, and the rewrite that makes the encodings
// it takes one continuous RTP stream for the recorder's ReceiveTap (one SSRC, one numbering, one
// timeline). Sans-I/O: RTP and RTCP of the publisher in, rewritten RTP and keyframe requests out.
//
// Learning: each encoding's SSRC from the first packet carrying its rid in the rtp-stream-id
// extension, its RTX SSRC from repaired-rtp-stream-id, only for the rids the offer announced (the
// router's rule; others counted `unknown_rid`). RTX is restored (recovery::RtxReceiver) before the
// rewrite, so a retransmission of the recorded encoding fills its hole in the recording.
//
// The rule: record the HIGHEST encoding the publisher is sending. An encoding is sending while its
// last media packet (with a payload: padding does not count) is at most `stop_after` (1 s) old.
// Encodings rank by picture size (width x height of their last keyframe, read from the VP8 frame
// header) when the size of every sending encoding is known, otherwise (VP9, a keyframe not seen
// yet) by their position in the offer's a=simulcast send list, the last one highest (Chromium's
// and the common q;h;f order, low to high). At the start the choice waits until every announced
// encoding showed a keyframe, at most `start_wait` (500 ms) after the first video packet; each
// encoding's packets since its latest keyframe are held meanwhile (at most kMaxHeldPackets in all:
// the choice is made at once when full) and the chosen one's are replayed with their arrival
// times, so the recording starts with its first keyframe and no keyframe request is needed.
// Afterwards: when the recorded encoding stops (the publisher pauses it, e.g. Chromium drops its top
// layer under a low uplink estimate) the next highest sending one becomes the target; when a higher
// one is sending again it becomes the target. The switch is made at the target's next keyframe
// (its first packet); until then the recorded encoding goes on (if it still sends), and the
// target's keyframe is asked for (take_keyframe_requests(): a PLI through the server) at most every
// `keyframe_retry` (500 ms).
//
// The rewrite: SSRC -> `output_ssrc`; sequence numbers through a SeqRewriter (switch_source() at
// each switch: the new encoding's keyframe follows the last number written; duplicates dropped, and
// the new encoding's packets from before that keyframe, late or retransmitted);
// timestamps through pipeline::SimulcastTimestampSplice (the router's): the first encoding keeps
// its own, a switch continues from the newest timestamp written by the capture time elapsed
// between the two frames: both encodings' sender reports when both have one (RFC 3550 NTP/RTP
// pairs), otherwise each encoding's first-packet offset (arrival of its first packet + its RTP
// clock since). The timeline never goes backwards (at least one tick per switch) and does not leap.
//
// Bounds: kMaxSimulcastEncodings encodings (the router's 4), each SSRC bound once; held packets
// kMaxHeldPackets; keyframe requests at most one per encoding pending.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/codecs/codec_type.h"
#include "tern/core/seq_rewriter.h"
#include "tern/core/units.h"
#include "tern/pipeline/media_router.h"
#include "tern/pipeline/rtp_to_ntp.h"
#include "tern/pipeline/simulcast_splice.h"
#include "tern/recovery/rtx.h"
#include "tern/rtp/header_extensions.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::tools::sfu_tool {

struct SimulcastRecordConfig {
  std::vector<std::string> rids;  // the offer's a=simulcast send list, in its order
  uint8_t rid_extension_id = 0;
  uint8_t repaired_rid_extension_id = 0;  // 0: no RTX
  codecs::CodecType codec = codecs::CodecType::kVp8;
  uint8_t media_payload_type = 96;
  std::optional<uint8_t> rtx_payload_type;
  uint32_t output_ssrc = 0;  // what the rewritten packets carry
  uint32_t audio_ssrc = 0;   // the publisher's audio: never taken for an encoding (0: none)
  TimeDelta stop_after = TimeDelta::Seconds(1);
  TimeDelta start_wait = TimeDelta::Millis(500);
  TimeDelta keyframe_retry = TimeDelta::Millis(500);
};

struct SimulcastRecordCounters {
  int encoding = -1;  // recorded (index into the rids), -1 before the first
  std::string rid;
  int width = 0, height = 0;  // the recorded encoding's last keyframe's (0: unknown)
  uint64_t switches = 0;      // from one encoding to another (the first is not one)
  uint64_t switches_down = 0;  // ... to a smaller one (the recorded one had stopped)
  uint64_t keyframe_requests = 0;
  uint64_t ssrcs_learned = 0;
  uint64_t unknown_rid = 0;       // a rid not announced, or an SSRC for an encoding bound already
  uint64_t held_dropped = 0;      // held packets at the start not replayed (the choice's bound)
};

class SimulcastRecordSelector {
 public:
  static constexpr size_t kMaxHeldPackets = 512;

  // Refused: no rids, more than MediaRouter::kMaxSimulcastEncodings, no rid extension.
  static Result<SimulcastRecordSelector> Create(const SimulcastRecordConfig& config);

  // One RTP packet of the publisher. False: not one of its video encodings (audio, unknown: the
  // caller's). Otherwise the packets to record (rewritten), each with its arrival time, are
  // appended to `out` (none, this one, or at the start the held ones).
  struct Output {
    rtp::RtpPacket packet;
    Timestamp arrival;
  };
  bool on_rtp(std::span<const uint8_t> bytes, Timestamp now, std::vector<Output>& out);
  // One RTCP compound packet of the publisher (its SRs).
  void on_rtcp(std::span<const uint8_t> bytes);
  // The SSRCs whose keyframe the selector wants (at most one per encoding; taken once).
  std::vector<uint32_t> take_keyframe_requests();
  const SimulcastRecordCounters& counters() const { return counters_; }

 private:
  struct Encoding {
    std::optional<uint32_t> ssrc, rtx_ssrc;
    std::optional<recovery::RtxReceiver> rtx;
    pipeline::RtpToNtp sender_report{90000};
    // First-packet offset: the first media packet's arrival and unwrapped timestamp; the newest.
    std::optional<Timestamp> first_arrival;
    int64_t first_ts = 0, newest_ts = 0;
    uint32_t last_ts = 0;
    Timestamp last_media = Timestamp::MinusInfinity();
    int width = 0, height = 0;
    bool keyframe_seen = false;
    std::deque<Output> held;  // at the start: its packets since its latest keyframe
  };
  explicit SimulcastRecordSelector(const SimulcastRecordConfig& config);
  // The encoding `ssrc` belongs to (learning it from the rid extensions), -1 none.
  int encoding_of(const rtp::RtpPacketView& packet);
  bool sending(const Encoding& e, Timestamp now) const;
  // The highest sending encoding by the rule above, -1 none.
  int best(Timestamp now) const;
  // The capture time elapsed from encoding `from`'s newest frame to `ts` of `to`.
  std::optional<TimeDelta> elapsed(int from, int to, uint32_t ts) const;
  void choose(Timestamp now);
  void request(int e, Timestamp now);
  // `e` from its keyframe whose first packet is `first_seq`.
  void switch_to(int e, uint16_t first_seq);
  void emit(rtp::RtpPacket packet, Timestamp arrival, std::vector<Output>& out);

  SimulcastRecordConfig config_;
  rtp::ExtensionMap rid_map_;
  std::vector<Encoding> encodings_;
  int current_ = -1;
  int target_ = -1;
  bool chosen_ = false;  // the start's wait is over
  std::optional<Timestamp> first_video_;
  size_t held_ = 0;
  Timestamp last_request_ = Timestamp::MinusInfinity();
  std::vector<uint32_t> requests_;
  SeqRewriter seq_;
  std::optional<uint16_t> switch_floor_;  // the current encoding's first packet recorded
  pipeline::SimulcastTimestampSplice timestamps_;
  SimulcastRecordCounters counters_;
};

}  // namespace tern::tools::sfu_tool
