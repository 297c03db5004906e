// FlexFEC (RFC 8627) with the flexible mask (R=0, F=0, section 4.2.2.1), protecting one media SSRC
// from a FEC stream of its own SSRC: payload codec, generator and receiver.
//
// The repair packet's RTP header (section 4.2.1) carries the protected SSRC as its only CSRC (CC=1);
// the FEC header follows as the RTP payload:
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |0|0|P|X|  CC   |M| PT recovery |        length recovery        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                          TS recovery                          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           SN base             |k|          Mask [0-14]        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |k|                   Mask [15-45] (if the first k is 0)        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                     Mask [46-109] (if the second k is 0)      |
//   |                                                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// k=1 marks the last mask chunk; the third chunk is 64 plain mask bits with no k bit. Mask bit i
// protects SN base + i. The repair payload follows. Retransmission mode (R=1), the fixed L/D mode
// (F=1) and repair packets whose CSRC list is not exactly the protected SSRC are rejected.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tern/core/result.h"
#include "tern/recovery/fec_group_encoder.h"
#include "tern/recovery/fec_window.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::recovery {

inline constexpr size_t kFlexfecMaxMaskBits = 110;

struct FlexfecPayload {
  uint16_t sn_base = 0;
  std::vector<uint16_t> offsets;  // set mask bits, ascending (0..109)
  XorParity parity;

  std::vector<uint16_t> protected_sequence_numbers() const;
};

// Parses a FlexFEC payload (after the RTP header). Rejects R=1, F=1, truncated headers/masks and
// an empty mask.
Result<FlexfecPayload> parse_flexfec_payload(std::span<const uint8_t> payload);
// Serialises a repair with the shortest mask (2, 6 or 14 bytes) that holds its highest offset.
std::vector<uint8_t> build_flexfec_payload(const FecRepair& repair);

class FlexfecGenerator {
 public:
  struct Config {
    uint32_t ssrc = 0;               // of the FlexFEC stream
    uint8_t payload_type = 0;
    uint16_t first_sequence_number = 0;
    uint32_t protected_ssrc = 0;     // media packets of other SSRCs are ignored
  };
  struct Stats {
    uint64_t fec_packets_sent = 0;
    uint64_t fec_bytes_sent = 0;
  };

  explicit FlexfecGenerator(Config config) : config_(config), next_seq_(config.first_sequence_number) {}

  void set_protection(const FecProtection& delta, const FecProtection& key) { groups_.set_protection(delta, key); }
  // Adds a media packet as sent; completed groups leave FEC packets pending.
  void add_media_packet(const rtp::RtpPacket& media, bool keyframe);
  void flush();
  size_t pending_fec_packets() const { return pending_.size(); }
  // The pending FEC packets on the FlexFEC SSRC with its own consecutive sequence numbers. With
  // `extensions_from`, each carries that packet's RFC 8285 header extension elements (a sender's
  // transport-wide sequence number and abs-send-time slots, its mid), so congestion control sees
  // the repair packets too.
  std::vector<rtp::RtpPacket> take_fec_packets(const rtp::RtpPacket* extensions_from = nullptr);

  const Stats& stats() const { return stats_; }

 private:
  Config config_;
  uint16_t next_seq_;
  FecGroupEncoder groups_;
  std::vector<FecRepair> pending_;
  Stats stats_;
};

class FlexfecReceiver {
 public:
  struct Config {
    uint32_t flexfec_ssrc = 0;
    uint8_t flexfec_payload_type = 0;
    uint32_t protected_ssrc = 0;
    FecWindow::Config window;
  };
  struct Stats {
    uint64_t fec_packets_received = 0;
    uint64_t fec_packets_discarded = 0;
    uint64_t packets_recovered = 0;
  };

  explicit FlexfecReceiver(Config config) : config_(config), window_(config.window) {}

  // Feeds a media packet of the protected SSRC or a FlexFEC packet; returns recovered media
  // packets (never the input itself). Other packets are ignored.
  std::vector<rtp::RtpPacket> on_packet(const rtp::RtpPacket& packet);
  Stats stats() const;

 private:
  Config config_;
  FecWindow window_;
  uint64_t malformed_ = 0;
};

}  // namespace tern::recovery
