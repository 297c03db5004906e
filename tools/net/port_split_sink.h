// PortSplitSink: one Endpoint's packets over two transports, for sessions whose audio and video
// have their own ports (one port per m= line, what ffmpeg's SDPs and sdpdemux use). RTP goes by
// SSRC. RTCP report compounds are split so that each port carries only the reports about its own
// stream: peers such as ffmpeg run one RTP session per port and would take any SR in a compound as
// their stream's (wrong clock mapping) or report blocks about the other port's SSRC as their own.
//
// Report compound (first packet SR or RR) split:
// - audio port: our audio SR (sender side) plus the report blocks about the remote audio SSRC
//   (receiver side); without an audio SR those blocks go in an RR from `audio_report_ssrc`; then an
//   SDES CNAME for the head SSRC, and a BYE for it when the compound carried one;
// - video port: everything else, headed by the remaining SR/RR, with a CNAME chunk naming the
//   audio head renamed to the video head; when the audio SR was the only report, the rest (if
//   more than SDES/BYE) as reduced-size RTCP (RFC 5506) and blocks about video streams the audio
//   SR held are left out this time (reports are cumulative: the next one carries them).
// Each port's report compound starts with an SSRC the other port's never starts with, so two
// SRTCP sessions under one master key never encrypt the same (SSRC, index) pair. (Feedback keeps
// its sender SSRC: an Endpoint that both sends audio and receives media would give feedback from
// its audio SSRC; tern's tools never split such an Endpoint.)
// Feedback (reduced-size NACK/PLI/REMB/transport-cc) and anything that does not parse go to the
// video port unchanged.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tern/core/datagram_sink.h"
#include "tern/pipeline/endpoint.h"
#include "tern/rtp/rtcp/rtcp_packet.h"

namespace tern::tools::net {

struct PortSplitConfig {
  uint32_t audio_sender_ssrc = 0;  // our audio RTP SSRC (its RTP and SR go to the audio port); 0: none
  uint32_t audio_source_ssrc = 0;  // the remote audio SSRC (blocks about it go to the audio port); 0: none
  uint32_t audio_report_ssrc = 0;  // RR sender SSRC on the audio port when we send no audio (non-zero)
  std::string cname = "tern";
};

struct PortSplit {
  std::vector<uint8_t> video;  // empty: nothing for the video port
  std::vector<uint8_t> audio;  // empty: nothing for the audio port
};

// The pure split of one outgoing RTCP datagram (see above).
PortSplit split_rtcp_for_ports(const std::vector<uint8_t>& datagram, const PortSplitConfig& config);

class PortSplitSink : public DatagramSink {
 public:
  PortSplitSink(DatagramSink* video, DatagramSink* audio, PortSplitConfig config)
      : video_(video), audio_(audio), config_(std::move(config)) {}
  // The remote audio SSRC once it is known (receivers learning it from the first packet).
  void set_audio_source_ssrc(uint32_t ssrc) { config_.audio_source_ssrc = ssrc; }

  void on_datagram(std::vector<uint8_t> packet, Timestamp now) override;

 private:
  DatagramSink* video_;
  DatagramSink* audio_;
  PortSplitConfig config_;
};

}  // namespace tern::tools::net
