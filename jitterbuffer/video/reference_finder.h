// Reference finder: gives every assembled frame a decode-order id and the ids of the frames it is
// predicted from, from the payload descriptors (RFC 7741 VP8 PictureID / TL0PICIDX / TID / Y;
// RFC 9628 VP9 flexible-mode P_DIFFs and non-flexible TL0PICIDX / TID / U).
//
// Rules (conservative: a frame may wait for more than it needs, never for less):
//  - keyframe: no references.
//  - no picture id: id = last sequence number; a delta frame references the frame that ends just
//    before its first packet (libwebrtc's sequence-number mode).
//  - VP9 flexible: references picture_id - P_DIFF for the P_DIFFs of every spatial layer.
//  - VP9 non-flexible with a group of frames (GOF) from the SS (RFC 9628 4.2.1, as libwebrtc's
//    RtpVp9RefFinder): a keyframe (or a base frame carrying a new GOF) anchors the GOF at its
//    picture; every base frame (TID 0) inherits the anchor of TL0PICIDX - 1, upper layers that of
//    their TL0PICIDX (stashed until it is known). Picture i of the GOF, i = (id - anchor) mod N_G,
//    references id - P_DIFF for its P_DIFFs. A frame whose TID is not the table's falls back to
//    the rules below. An SS without a GOF switches this off.
//  - base temporal layer (TID 0) with TL0PICIDX: references the base-layer frame of TL0PICIDX - 1.
//  - upper layer with the sync flag (VP8 Y, VP9 U): references the base frame of its TL0PICIDX.
//  - any other delta frame: references picture_id - 1.
// Streams that carry a picture id on some frames only (pion's VP8 payloader leaves it out whenever
// its counter is 0: the first frame, then every 32768th): the finder remembers the last
// kMaxSeqHistory resolved frames by last sequence number, and
//  - a frame with a picture id (simple mode: no TL0PICIDX, not flexible) whose sequence
//    predecessor carried none references that predecessor, not picture_id - 1 (never seen);
//  - a frame without a picture id whose sequence predecessor is in picture-id space continues it:
//    id = predecessor's id + 1 (decode order stays increasing), referencing it.
// A frame whose base-layer reference (or GOF anchor) is not known yet is stashed (bounded; oldest
// dropped, and those older than a new keyframe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "tern/jitterbuffer/video/encoded_video_frame.h"

namespace tern::jitterbuffer {

class ReferenceFinder {
 public:
  static constexpr size_t kDefaultMaxStashed = 100;
  static constexpr size_t kMaxTl0History = 64;
  static constexpr size_t kMaxSeqHistory = 64;

  explicit ReferenceFinder(size_t max_stashed = kDefaultMaxStashed) : max_stashed_(max_stashed) {}

  // Resolves `frame` and any stashed frames it unblocks; returns them ready for the frame buffer.
  std::vector<EncodedVideoFrame> manage(EncodedVideoFrame frame);
  // Forgets stashed frames and layer history (after a buffer clear).
  void clear();

  size_t stashed() const { return stash_.size(); }
  uint64_t dropped() const { return dropped_; }  // stash overflow

 private:
  enum class Outcome { kResolved, kStash };
  Outcome resolve(EncodedVideoFrame& frame);
  int64_t unwrap_picture_id(uint16_t pid, bool fifteen_bit);
  int64_t unwrap_tl0(uint8_t tl0);
  // The VP9 GOF rule; nullopt when it does not apply (no GOF, no layer indices, TID mismatch).
  std::optional<Outcome> resolve_from_gof(EncodedVideoFrame& frame, int64_t tl0);
  void retry_stash(std::vector<EncodedVideoFrame>& out);
  // Remembers a resolved frame for the sequence-predecessor rules (bounded, oldest forgotten).
  void remember(const EncodedVideoFrame& frame, bool picture_space);

  using PictureGroup = std::shared_ptr<const std::vector<rtp::Vp9PictureGroupEntry>>;
  struct GofAnchor {
    PictureGroup gof;
    int64_t first_id = 0;  // the picture that is index 0 of the GOF
  };

  size_t max_stashed_;
  std::deque<EncodedVideoFrame> stash_;
  std::map<int64_t, int64_t> tl0_to_picture_;  // unwrapped TL0PICIDX -> id of its base frame
  PictureGroup current_gof_;                    // of the last SS (null: none, or without a GOF)
  std::map<int64_t, GofAnchor> tl0_to_gof_;     // unwrapped TL0PICIDX -> the GOF it runs in
  struct SeqNeighbour {
    int64_t id = 0;
    bool picture_space = false;  // the id is an unwrapped picture id (else a sequence number)
  };
  std::map<int64_t, SeqNeighbour> by_last_seq_;  // recent resolved frames by last sequence number
  std::optional<int64_t> last_picture_id_;
  std::optional<int64_t> last_tl0_;
  uint64_t dropped_ = 0;
};

}  // namespace tern::jitterbuffer
