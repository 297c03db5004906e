// ULPFEC (RFC 5109) at protection level 0: the FEC payload codec, a sender-side generator and a
// receiver that recovers lost media packets, either with FEC on its own payload type in the media
// stream (GStreamer rtpulpfecenc/rtpulpfecdec style) or inside RED (RFC 2198, browser style).
//
// FEC header (section 7.3) then ULP level 0 header (section 7.4); L=1 selects a 48-bit mask.
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |E|L|P|X|  CC   |M| PT recovery |            SN base            |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                          TS recovery                          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |        length recovery        |       Protection Length       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |             mask              |   mask cont. (present if L=1) |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |   mask cont. (L=1)            |  level 0 payload ...
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Mask bit 0 (the most significant) protects SN base, bit i SN base + i.
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

inline constexpr size_t kUlpfecHeaderSize = 10;

struct UlpfecPayload {
  uint16_t sn_base = 0;
  uint64_t mask = 0;  // bit i (LSB first) protects sn_base + i
  bool long_mask = false;
  XorParity parity;   // payload = the level 0 protected bytes (Protection Length of them)

  std::vector<uint16_t> protected_sequence_numbers() const;
};

// Parses a ULPFEC payload (after the RTP header, or the RED header). Rejects a truncated FEC or
// level header, the E bit, an empty mask, a 16-bit-mask packet whose mask needs more, and a
// Protection Length past the end; bytes after level 0 (higher levels) are ignored.
Result<UlpfecPayload> parse_ulpfec_payload(std::span<const uint8_t> payload);
// Serialises a repair as a ULPFEC payload; the L bit is set when the mask needs more than 16 bits
// or the repair's group spans more than 16 packets.
std::vector<uint8_t> build_ulpfec_payload(const FecRepair& repair);

class UlpfecGenerator {
 public:
  struct Config {
    uint8_t ulpfec_payload_type = 122;
    std::optional<uint8_t> red_payload_type;  // set: FEC goes inside RED with this payload type
  };
  struct Stats {
    uint64_t fec_packets_sent = 0;
    uint64_t fec_bytes_sent = 0;
    uint64_t media_packets_protected = 0;
  };

  explicit UlpfecGenerator(Config config) : config_(config) {}

  void set_protection(const FecProtection& delta, const FecProtection& key) { groups_.set_protection(delta, key); }
  // Adds a media packet exactly as it is sent, before any RED wrapping (the receiver protects
  // and recovers plain media packets). FEC packets become pending when a group completes.
  void add_media_packet(const rtp::RtpPacket& media, bool keyframe);
  // Closes the current group early (e.g. before a long pause).
  void flush();
  size_t pending_fec_packets() const { return pending_.size(); }
  // Builds the pending FEC packets on the media SSRC with sequence numbers first_seq, +1, ...,
  // the last protected timestamp and the marker cleared (RED-wrapped when configured).
  std::vector<rtp::RtpPacket> take_fec_packets(uint16_t first_seq);

  const Stats& stats() const { return stats_; }

 private:
  Config config_;
  FecGroupEncoder groups_;
  std::vector<FecRepair> pending_;
  Stats stats_;
};

class UlpfecReceiver {
 public:
  struct Config {
    uint32_t media_ssrc = 0;
    uint8_t ulpfec_payload_type = 122;
    std::optional<uint8_t> red_payload_type;
    FecWindow::Config window;
  };
  struct Output {
    std::optional<rtp::RtpPacket> media;    // the packet to pass on (RED unwrapped), if media
    std::vector<rtp::RtpPacket> recovered;  // rebuilt by FEC, in recovery order
    // A FEC packet arrived: the media sequence numbers it protects (its own number is not media;
    // FecLossWatch tells lost media from lost FEC packets with this).
    std::vector<uint16_t> protected_seqs;
  };
  struct Stats {
    uint64_t fec_packets_received = 0;
    uint64_t fec_packets_discarded = 0;  // malformed, stale or evicted
    uint64_t packets_recovered = 0;
    uint64_t red_packets_malformed = 0;
  };

  explicit UlpfecReceiver(Config config) : config_(config), window_(config.window) {}

  // Feeds one received packet of the media SSRC (others pass through untouched as `media`).
  Output on_packet(const rtp::RtpPacket& packet);
  Stats stats() const;

 private:
  void on_fec_payload(std::span<const uint8_t> payload, Output& out);

  Config config_;
  FecWindow window_;
  uint64_t malformed_fec_ = 0;
  uint64_t malformed_red_ = 0;
};

}  // namespace tern::recovery
