#include "tern/transport/demuxer.h"

#include <utility>

#include "tern/core/byte_io.h"
#include "tern/rtp/rtp_rtcp_split.h"

namespace tern::transport {
namespace {

constexpr size_t kRtpFixedHeader = 12;
constexpr size_t kRtcpMinSize = 8;  // common header + sender SSRC

}  // namespace

std::string_view to_string(PacketClass c) {
  switch (c) {
    case PacketClass::kStun: return "stun";
    case PacketClass::kZrtp: return "zrtp";
    case PacketClass::kDtls: return "dtls";
    case PacketClass::kTurnChannel: return "turn-channel";
    case PacketClass::kRtp: return "rtp";
    case PacketClass::kRtcp: return "rtcp";
    case PacketClass::kUnknown: return "unknown";
  }
  return "unknown";
}

PacketClass classify(std::span<const uint8_t> packet) {
  if (packet.empty()) return PacketClass::kUnknown;
  const uint8_t b = packet[0];
  if (b <= 3) return PacketClass::kStun;
  if (b >= 16 && b <= 19) return PacketClass::kZrtp;
  if (b >= 20 && b <= 63) return PacketClass::kDtls;
  if (b >= 64 && b <= 79) return PacketClass::kTurnChannel;
  if (b >= 128 && b <= 191) {
    if (packet.size() < 2) return PacketClass::kUnknown;
    if (rtp::is_rtcp(packet)) return packet.size() >= kRtcpMinSize ? PacketClass::kRtcp : PacketClass::kUnknown;
    return packet.size() >= kRtpFixedHeader ? PacketClass::kRtp : PacketClass::kUnknown;
  }
  return PacketClass::kUnknown;
}

Status Demuxer::add_rtp_sink(uint32_t ssrc, DatagramSink* sink) {
  if (sink == nullptr) return Error{"demuxer: null sink"};
  auto it = rtp_sinks_.find(ssrc);
  if (it != rtp_sinks_.end()) {
    it->second = sink;
    return Status::Ok();
  }
  if (rtp_sinks_.size() >= kMaxSsrcSinks) return Error{"demuxer: too many SSRC routes"};
  rtp_sinks_.emplace(ssrc, sink);
  return Status::Ok();
}

void Demuxer::remove_rtp_sink(uint32_t ssrc) { rtp_sinks_.erase(ssrc); }

void Demuxer::deliver(DatagramSink* sink, std::vector<uint8_t> packet, Timestamp now) {
  if (sink == nullptr) {
    ++counters_.no_sink;
    return;
  }
  sink->on_datagram(std::move(packet), now);
}

PacketClass Demuxer::demux(std::vector<uint8_t> packet, Timestamp now) {
  const PacketClass c = classify(packet);
  switch (c) {
    case PacketClass::kStun: ++counters_.stun; deliver(stun_, std::move(packet), now); break;
    case PacketClass::kZrtp: ++counters_.zrtp; ++counters_.no_sink; break;
    case PacketClass::kDtls: ++counters_.dtls; deliver(dtls_, std::move(packet), now); break;
    case PacketClass::kTurnChannel: ++counters_.turn_channel; deliver(turn_, std::move(packet), now); break;
    case PacketClass::kRtcp: ++counters_.rtcp; deliver(rtcp_, std::move(packet), now); break;
    case PacketClass::kRtp: {
      ++counters_.rtp;
      const uint32_t ssrc = load_be32(&packet[8]);
      auto it = rtp_sinks_.find(ssrc);
      if (it != rtp_sinks_.end()) {
        it->second->on_datagram(std::move(packet), now);
      } else if (default_rtp_ != nullptr) {
        default_rtp_->on_datagram(std::move(packet), now);
      } else {
        ++counters_.unknown_ssrc;
      }
      break;
    }
    case PacketClass::kUnknown: ++counters_.unknown_class; break;
  }
  return c;
}

}  // namespace tern::transport
