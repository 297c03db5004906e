// The sender half shared by the ULPFEC and FlexFEC generators: collects the media packets of one
// protection group (max_frames frames, or until the group would span more sequence numbers than
// the mask can address) and turns them into XOR repair data using fec_masks.h.
//
// Protection is set per frame type the way libwebrtc's fec_rate works: a factor 0..255 (255 ~ as
// many FEC packets as media packets) and a number of frames per group; a group containing a
// keyframe packet uses the keyframe settings (normally stronger).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tern/recovery/fec_masks.h"
#include "tern/recovery/fec_xor.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::recovery {

struct FecProtection {
  uint8_t fec_rate = 0;   // 0 = off
  size_t max_frames = 1;  // frames per FEC group, >= 1
  FecMaskType mask_type = FecMaskType::kRandom;
};

// Repair data for one FEC packet: the sequence numbers it protects and their parity.
struct FecRepair {
  uint16_t sn_base = 0;
  uint64_t mask = 0;  // bit i (LSB first) protects sn_base + i
  XorParity parity;
  uint32_t timestamp = 0;  // of the group's last media packet
  uint32_t ssrc = 0;       // of the protected stream
  uint16_t group_span = 0; // sequence numbers the whole group spans (ULPFEC: L=1 above 16)
};

class FecGroupEncoder {
 public:
  // max_span: how many consecutive sequence numbers one repair mask can address (<= 64).
  explicit FecGroupEncoder(size_t max_span = kMaxFecMediaPackets);

  void set_protection(const FecProtection& delta, const FecProtection& key);
  // Adds one media packet as it will be sent. Returns the repairs of every group it completes:
  // a marker bit ending the max_frames-th frame, or a packet that does not fit the current group
  // (older/too far ahead sequence number, another SSRC), which closes that group first.
  std::vector<FecRepair> add_media_packet(const rtp::RtpPacket& packet, bool keyframe);
  // Closes the current group now.
  std::vector<FecRepair> flush();

  size_t group_size() const { return group_.size(); }

 private:
  FecProtection delta_;
  FecProtection key_;
  size_t max_span_;
  std::vector<rtp::RtpPacket> group_;
  bool group_has_key_ = false;
  size_t frames_ = 0;
};

}  // namespace tern::recovery
