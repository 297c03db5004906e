// FecLossWatch: with FEC but no NACK (a receiver that cannot ask for retransmissions), tells when
// a missing media packet is lost for good, so that a keyframe can be asked for at once instead of
// after the jitter buffer has sat undecodable for half a second (libwebrtc likewise requests a
// keyframe when a frame cannot be completed and retransmission is off).
//
// A sequence-number gap is seen when a newer packet arrives. The FEC that could rebuild the packet
// follows the last media packet of its protection group, and a group spans at most a few frames
// (3 in tern's generators; libwebrtc's fewer), so a packet still missing once `frames_to_wait` newer
// frames (RTP timestamps) have arrived since its gap was seen, and at least `min_wait` has passed
// (jitter and reordering), will not come back: on_packet() then reports that a keyframe is needed.
// Counting from the frame in which the gap was seen, the third newer frame is the next group's:
// its group's FEC went out before it (4 frames waited one more frame for nothing: issue 14's
// fec-only row, 0 -> 8 of 10 runs without a gap over 500 ms with the jitter buffer's 250 ms).
// Sooner when the group is known to be over: a gap that a received FEC packet named as protected
// (on_fec_protects()) is lost for good once a media packet numbered after that FEC packet arrives
// (and `min_wait` has passed). A group's FEC packets follow its last media packet back to back, so
// by then every one of them has come or is lost, and each that came has been tried. That is the
// frame after the group, not three.
//
// Rate limit: after a report, the missing list is cleared (the keyframe repairs everything before
// it) and no new report is made until a keyframe arrives (on_keyframe()) or `hold` has passed
// (the keyframe itself may be lost), with hold = max(min_hold, 2 x RTT + hold_margin).
//
// ULPFEC shares the media's sequence numbers, so a missing number may be a lost FEC packet rather
// than media. With `confirm_media` a gap is only reported once known to be media: a received FEC
// packet named it as protected (on_fec_protects()), or it lies inside a frame (the packet before
// it has no marker bit, or the packets on both sides carry the same RTP timestamp): FEC packets
// only follow a frame's last (marker) packet. A media packet whose every FEC packet was lost as well
// is left to the jitter buffer's own undecodable-stream rule. FlexFEC (its own SSRC) needs no
// confirmation: every gap in the media stream is media.
//
// Memory: at most `max_missing` tracked packets; a gap that would overflow it (a jump or a long
// outage) clears the list and counts as one unrecoverable loss.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>

#include "tern/core/seq_num.h"
#include "tern/core/units.h"

namespace tern::recovery {

struct FecLossWatchConfig {
  int frames_to_wait = 3;
  TimeDelta min_wait = TimeDelta::Millis(50);
  TimeDelta min_hold = TimeDelta::Millis(300);
  TimeDelta hold_margin = TimeDelta::Millis(200);
  TimeDelta initial_rtt = TimeDelta::Millis(100);
  size_t max_missing = 500;
  bool confirm_media = false;
};

struct FecLossWatchStats {
  uint64_t gaps = 0;              // packets seen missing
  uint64_t recovered = 0;         // ... that arrived or were rebuilt later
  uint64_t unrecoverable = 0;     // ... given up on (reported or inside a report's hold)
  uint64_t keyframe_requests = 0; // reports made
};

class FecLossWatch {
 public:
  explicit FecLossWatch(FecLossWatchConfig config = {}) : config_(config), rtt_(config.initial_rtt) {}

  // A packet of the stream (media, recovered or FEC: `media` false) with its RTP timestamp. Returns
  // true when a keyframe should be requested now.
  bool on_packet(uint16_t seq, uint32_t rtp_timestamp, bool marker, Timestamp now, bool media = true);
  // A complete keyframe starting at `first_seq` arrived: older gaps are moot; reports resume.
  void on_keyframe(uint16_t first_seq);
  void on_rtt(TimeDelta rtt) { rtt_ = rtt; }
  // The received FEC packet numbered `fec_seq` protects these media sequence numbers: they are
  // media (confirm_media), and once a media packet after `fec_seq` arrives, out of FEC's reach.
  // Called before on_packet() for the FEC packet itself (its gap is seen there).
  void on_fec_protects(std::span<const uint16_t> seqs, uint16_t fec_seq);

  size_t missing() const { return missing_.size(); }
  const FecLossWatchStats& stats() const { return stats_; }

 private:
  struct Gap {
    Timestamp seen;
    int64_t frames_at_gap;
    bool media = false;  // known to be media (always, without confirm_media)
    std::optional<int64_t> fec_seq;  // the newest FEC packet that named it (unwrapped)
  };
  void clear_missing(uint64_t& counter);

  FecLossWatchConfig config_;
  TimeDelta rtt_;
  RtpSeqUnwrapper seqs_;
  RtpTimestampUnwrapper timestamps_;
  std::optional<int64_t> newest_seq_;
  std::optional<int64_t> newest_timestamp_;
  int64_t newest_seq_timestamp_ = 0;  // of the packet numbered newest_seq_
  bool newest_seq_marker_ = true;     // ... and its marker bit
  int64_t frames_ = 0;  // distinct newer RTP timestamps seen
  std::map<int64_t, Gap> missing_;  // unwrapped sequence number -> when its gap was seen
  std::map<int64_t, int64_t> confirmed_ahead_;  // named by FEC before their gap was seen -> that FEC's number (bounded)
  std::optional<int64_t> newest_media_seq_;  // of the media packets (not FEC) received
  std::optional<Timestamp> hold_until_;
  FecLossWatchStats stats_;
};

}  // namespace tern::recovery
