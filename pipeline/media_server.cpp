#include "tern/pipeline/media_server.h"

namespace tern::pipeline {

MediaServer::Config MediaServer::Config::ForCall(const EndpointConfig& a) {
  Config c;
  auto streams = [&](const MediaConfig& m, const StreamSsrcs& s) {
    std::vector<ForwardedStream> v;
    if (m.audio) {
      ForwardedStream f;
      f.ssrc = s.audio;
      f.clock_rate = 48000;
      f.nack = false;
      v.push_back(f);
    }
    if (m.video) {
      ForwardedStream f;
      f.ssrc = s.video;
      f.clock_rate = 90000;
      f.nack = m.protection.nack;
      if (m.protection.nack) f.rtx_ssrc = s.video_rtx;
      f.rtx_payload_type = a.payload_types.video_rtx;
      f.media_payload_type = a.payload_types.of(*m.video);
      if (m.protection.fec) {
        f.red_payload_type = a.payload_types.red;
        f.ulpfec_payload_type = a.payload_types.ulpfec;
      }
      if (!m.protection.fec) f.codec = *m.video;  // RED-wrapped payloads are forwarded whole
      v.push_back(f);
    }
    return v;
  };
  c.from_a = streams(a.send, a.local);
  c.from_b = streams(a.receive, a.remote);
  c.extension_ids = a.extension_ids;
  c.ntp_clock = a.ntp_clock;
  c.seed = a.seed ^ 0x5F5Full;
  return c;
}

Result<std::unique_ptr<MediaServer>> MediaServer::Create(const Config& config, DatagramSink* to_a, DatagramSink* to_b) {
  if (to_a == nullptr || to_b == nullptr) return Error{"media server: missing packet sink"};
  if (config.rtcp_ssrc_a == 0 || config.rtcp_ssrc_b == 0 || config.rtcp_ssrc_a == config.rtcp_ssrc_b) {
    return Error{"media server: RTCP SSRCs must be distinct and non-zero"};
  }
  MediaRouter::Config rc;
  rc.extension_ids = config.extension_ids;
  rc.cname = config.cname;
  rc.rtcp_interval = config.rtcp_interval;
  rc.ntp_clock = config.ntp_clock;
  rc.seed = config.seed;
  rc.max_legs = 2;
  auto router = MediaRouter::Create(rc);
  if (!router) return Error{router.error()};
  // Legs 0 (A) and 1 (B); then what each receives is what the other sends.
  auto a = (*router)->add_leg(config.rtcp_ssrc_a, to_a, config.from_a);
  if (!a) return Error{a.error()};
  auto b = (*router)->add_leg(config.rtcp_ssrc_b, to_b, config.from_b);
  if (!b) return Error{b.error()};
  for (const ForwardedStream& f : config.from_b) {
    if (Status st = (*router)->add_outbound(*a, f); !st) return Error{st.error()};
  }
  for (const ForwardedStream& f : config.from_a) {
    if (Status st = (*router)->add_outbound(*b, f); !st) return Error{st.error()};
  }
  return std::unique_ptr<MediaServer>(new MediaServer(std::move(router).value()));
}

MediaServer::MediaServer(std::unique_ptr<MediaRouter> router)
    : router_(std::move(router)), port_a_(*this, Side::kA), port_b_(*this, Side::kB) {}

MediaServer::~MediaServer() = default;

}  // namespace tern::pipeline
