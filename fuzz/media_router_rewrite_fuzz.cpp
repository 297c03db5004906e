// Fuzzes MediaRouter's per-leg numbers (issue 17) and its probing: a publisher leg with its own
// extension ids (audio level 1, abs-send-time 2, transport-cc 3, mid 4; one-byte or two-byte
// blocks from the input) sends the input's records as RTP of its VP8 stream (any header,
// extensions, padding and payload) to a subscriber leg with other ids (transport-cc 5,
// abs-send-time 6) and payload types, with time moving between records so probes and reports run.
// Checks: no crash, and every RTP packet the subscriber is sent parses, never carries the
// publisher's media payload type (RTX: the subscriber's) nor any of its extension ids.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "tern/pipeline/media_router.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_rtcp_split.h"

using namespace tern;

namespace {
struct FuzzSubscriberSink final : DatagramSink {
  void on_datagram(std::vector<uint8_t> d, Timestamp) override {
    if (rtp::is_rtcp(d)) return;
    auto p = rtp::RtpPacket::parse(std::span<const uint8_t>(d));
    if (!p.ok()) std::abort();
    // The stream's media type is always mapped (others, not signalled, pass as they are).
    if (p->payload_type() == 96) std::abort();
    if (p->ssrc() == 0x2222 && p->payload_type() != 121) std::abort();
    for (uint8_t id : {1, 2, 3, 4}) {
      if (p->extension(id).has_value()) std::abort();
    }
  }
};
struct FuzzNullSink final : DatagramSink {
  void on_datagram(std::vector<uint8_t>, Timestamp) override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pipeline::MediaRouter::Config rc;
  rc.subscriber_start_rate = DataRate::KilobitsPerSec(100);  // below any next step: probes
  auto router = pipeline::MediaRouter::Create(rc);
  if (!router.ok()) std::abort();
  pipeline::MediaRouter& r = **router;
  FuzzNullSink to_pub;
  FuzzSubscriberSink to_sub;
  pipeline::MediaRouter::ForwardedStream f;
  f.ssrc = 0x1111;
  f.rtx_ssrc = 0x2222;
  f.media_payload_type = 96;
  f.rtx_payload_type = 97;
  f.codec = codecs::CodecType::kVp8;
  auto pub = r.add_leg(0x51, &to_pub, {f},
                       pipeline::MediaRouter::ExtensionUris{{1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"},
                                                            {2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"},
                                                            {3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"},
                                                            {4, "urn:ietf:params:rtp-hdrext:sdes:mid"}});
  auto sub = r.add_leg(0x52, &to_sub, {},
                       pipeline::MediaRouter::ExtensionUris{
                           {5, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"},
                           {6, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"}});
  if (!pub.ok() || !sub.ok()) std::abort();
  pipeline::MediaRouter::ForwardedStream g = f;
  g.media_payload_type = 120;
  g.rtx_payload_type = 121;
  if (!r.add_outbound(*sub, g).ok()) std::abort();

  Timestamp now = Timestamp::Seconds(1);
  size_t at = 0;
  // Record: time step (1, ms), length (1), bytes (the datagram; its SSRC forced to the stream's
  // when the first bit of the step says so, else as given).
  for (int records = 0; records < 256 && at + 2 <= size; ++records) {
    const uint8_t step = data[at];
    const size_t length = std::min<size_t>(data[at + 1], size - at - 2);
    std::vector<uint8_t> d(data + at + 2, data + at + 2 + length);
    at += 2 + length;
    now += TimeDelta::Millis(step >> 1);
    if ((step & 1) != 0 && d.size() >= 12) {
      d[0] = static_cast<uint8_t>((d[0] & 0x3F) | 0x80);  // version 2
      d[1] = static_cast<uint8_t>((d[1] & 0x80) | 96);
      d[8] = 0;
      d[9] = 0;
      d[10] = 0x11;
      d[11] = 0x11;
    }
    r.on_packet(*pub, d, now);
    for (int i = 0; i < 8; ++i) {
      const auto wake = r.next_wakeup();
      if (!wake || *wake > now) break;
      r.process(now);
    }
  }
  return 0;
}
