// Demuxer: splits the datagrams arriving on one UDP port.
//
// Step 1, RFC 7983 section 7 (updating RFC 5764 5.1.2): the first byte says what protocol it is:
//   [0..3] STUN   [16..19] ZRTP   [20..63] DTLS   [64..79] TURN ChannelData   [128..191] RTP/RTCP
// Step 2, RFC 5761 section 4: on a muxed port, RTP and RTCP are told apart by the second byte; RTCP
// packet types 192..223 (SR 200, RR 201, ... XR 207, plus the reserved rest of that range) are
// never used as (marker bit | RTP payload type), which RFC 5761 forbids for RTP PTs 64..95.
// Step 3: RTP is routed to the sink registered for its SSRC (bytes 8..11, in the clear even under
// SRTP); RTCP goes to the RTCP sink. Anything without a sink is counted and dropped.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tern/core/datagram_sink.h"
#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::transport {

enum class PacketClass : uint8_t { kStun, kZrtp, kDtls, kTurnChannel, kRtp, kRtcp, kUnknown };

std::string_view to_string(PacketClass c);

// Classifies a datagram by its first (and for RTP/RTCP second) byte; never reads past `packet`.
// RTP and RTCP shorter than their fixed headers (12 and 8 bytes) are kUnknown.
PacketClass classify(std::span<const uint8_t> packet);

struct DemuxerCounters {
  uint64_t stun = 0;
  uint64_t zrtp = 0;
  uint64_t dtls = 0;
  uint64_t turn_channel = 0;
  uint64_t rtp = 0;
  uint64_t rtcp = 0;
  uint64_t unknown_class = 0;  // first byte outside every range, or too short
  uint64_t unknown_ssrc = 0;   // RTP with no sink for its SSRC and no default sink
  uint64_t no_sink = 0;        // a known class with no sink set (dropped)
};

class Demuxer {
 public:
  static constexpr size_t kMaxSsrcSinks = 256;

  // Routes RTP with this SSRC to `sink` (not owned). Replaces an existing route; fails when
  // kMaxSsrcSinks SSRCs are already registered.
  Status add_rtp_sink(uint32_t ssrc, DatagramSink* sink);
  void remove_rtp_sink(uint32_t ssrc);
  // RTP whose SSRC has no route goes here when set (e.g. to learn new SSRCs), else is counted.
  void set_default_rtp_sink(DatagramSink* sink) { default_rtp_ = sink; }
  void set_rtcp_sink(DatagramSink* sink) { rtcp_ = sink; }
  void set_stun_sink(DatagramSink* sink) { stun_ = sink; }
  void set_dtls_sink(DatagramSink* sink) { dtls_ = sink; }
  void set_turn_channel_sink(DatagramSink* sink) { turn_ = sink; }

  // Classifies one datagram and hands it (ownership moves, no copy) to the tern::DatagramSink
  // (core/datagram_sink.h) of its class or SSRC, called synchronously; returns its class.
  PacketClass demux(std::vector<uint8_t> packet, Timestamp now);

  const DemuxerCounters& counters() const { return counters_; }

 private:
  void deliver(DatagramSink* sink, std::vector<uint8_t> packet, Timestamp now);

  std::unordered_map<uint32_t, DatagramSink*> rtp_sinks_;
  DatagramSink* default_rtp_ = nullptr;
  DatagramSink* rtcp_ = nullptr;
  DatagramSink* stun_ = nullptr;
  DatagramSink* dtls_ = nullptr;
  DatagramSink* turn_ = nullptr;
  DemuxerCounters counters_;
};

}  // namespace tern::transport
