// RtcpPacket, the sum of every RTCP packet type, and compound packets (RFC 3550 6.1): a datagram
// holding several RTCP packets back to back, each framed by its common header. Reduced-size RTCP
// (RFC 5506), whose first packet need not be SR/RR, is accepted and reported.
//
// Parsing is forgiving where the framing is trustworthy: a known packet whose body is malformed is
// skipped (its reason recorded) and the walk goes on, since its length field still tells where the
// next packet starts. A header that is itself broken (bad version, length past the data, bad
// padding) ends the walk, keeping what was parsed before it. Unknown types are never errors.
#pragma once

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "tern/core/result.h"
#include "tern/rtp/rtcp/app.h"
#include "tern/rtp/rtcp/bye.h"
#include "tern/rtp/rtcp/common_header.h"
#include "tern/rtp/rtcp/congestion_control_feedback.h"
#include "tern/rtp/rtcp/extended_reports.h"
#include "tern/rtp/rtcp/fir.h"
#include "tern/rtp/rtcp/nack.h"
#include "tern/rtp/rtcp/pli.h"
#include "tern/rtp/rtcp/receiver_report.h"
#include "tern/rtp/rtcp/remb.h"
#include "tern/rtp/rtcp/sdes.h"
#include "tern/rtp/rtcp/sender_report.h"
#include "tern/rtp/rtcp/transport_feedback.h"
#include "tern/rtp/rtcp/unknown_packet.h"

namespace tern::rtcp {

using RtcpPacket = std::variant<SenderReport, ReceiverReport, Sdes, Bye, App, Nack, TransportFeedback,
                                CongestionControlFeedback, Pli, Fir, Remb, ExtendedReports, UnknownPacket>;

// Largest single RTCP packet the 16-bit length field can describe.
inline constexpr size_t kMaxRtcpPacketSize = (size_t{0xFFFF} + 1) * 4;

struct CompoundParseResult {
  std::vector<RtcpPacket> packets;  // in wire order
  std::vector<const char*> errors;  // static reasons, one per skipped packet or for the stop
  bool reduced_size = false;        // the first packet is not SR/RR (RFC 5506)
};

// Parses one RTCP packet given its already-parsed common header, choosing the type by PT and FMT.
// Unknown PT/FMT (and PSFB FMT 15 without "REMB") give UnknownPacket; errors are the type's reason.
Result<RtcpPacket> parse_packet(const CommonHeader& header);

// Walks every packet of a compound (or reduced-size) RTCP datagram; see the file comment for how
// errors are handled. The packets copy what they keep, so `data` may go away afterwards.
CompoundParseResult parse_compound(std::span<const uint8_t> data);

// Bytes that write_compound() needs for `packets`.
size_t compound_size(std::span<const RtcpPacket> packets);

// Writes the packets back to back into `out`; returns the bytes written, or a reason when `out`
// is too small or a packet exceeds kMaxRtcpPacketSize (nothing useful is left in `out` then).
Result<size_t> write_compound(std::span<const RtcpPacket> packets, std::span<uint8_t> out);

// Convenience: the serialized compound in a new vector (empty when a packet is too large).
std::vector<uint8_t> build_compound(std::span<const RtcpPacket> packets);

}  // namespace tern::rtcp
