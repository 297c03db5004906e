// Test support: a simulcast (rid) publisher made of tern Endpoints, one per encoding, on one leg
// (tern's Endpoint and PeerConnection send one video stream each). RTCP from the server goes to
// every encoder (each acts on its own SSRC); SimulcastTagRid() turns an encoder's packets into what
// a simulcast sender writes. Used by tests/pipeline/simulcast_router_test.cpp and
// tests/sfu/sfu_simulcast_record_test.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/pipeline/endpoint.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_rtcp_split.h"

namespace tern::test {

// The encoders of one publisher, driven as one netsim pollable and packet sink.
template <size_t N>
struct SimulcastEncoders {
  std::array<std::unique_ptr<pipeline::Endpoint>, N> encoders;
  std::optional<Timestamp> next_wakeup() const {
    std::optional<Timestamp> t;
    for (const auto& e : encoders) {
      const auto w = e->next_wakeup();
      if (w && (!t || *w < *t)) t = w;
    }
    return t;
  }
  void process(Timestamp now) {
    for (auto& e : encoders) e->process(now);
  }
  void on_packet(std::span<const uint8_t> d, Timestamp now) {
    for (auto& e : encoders) e->on_packet(d, now);
  }
};

// One encoder: send-only VP8 `width` x width*9/16 at `fps`, a fixed `rate`, its own SSRCs from
// `ssrc` (RTX + 1; audio + 2 and FEC + 3 unused), `rid` as its mid (SimulcastTagRid() renumbers it).
inline pipeline::EndpointConfig SimulcastEncoderConfig(int width, int fps, DataRate rate, uint32_t ssrc, const std::string& rid,
                                                       uint64_t seed) {
  pipeline::EndpointConfig c;
  c.send.width = width;
  c.send.height = width * 9 / 16;
  c.send.fps = fps;
  c.send.audio.reset();
  c.send.video_max_rate = rate;
  c.send.degradation = pipeline::DegradationPreference::kMaintainResolution;
  c.receive.video.reset();
  c.receive.audio.reset();
  c.congestion = pipeline::CongestionControlMode::kFixed;
  c.fixed_rate = rate;
  c.local.video = ssrc;
  c.local.video_rtx = ssrc + 1;
  c.local.audio = ssrc + 2;
  c.local.video_fec = ssrc + 3;
  c.local.video_mid = rid;
  c.remote = {0x6000'0001, 0x6000'0002, 0x6000'0003, "0", "1", 0x6000'0004};
  c.measure_quality = false;
  c.seed = seed;
  return c;
}

// One encoder's datagram as a simulcast sender sends it: its RTP timestamps moved by
// `timestamp_offset` (a real sender starts each encoding at its own random timestamp; tern's
// encoders would all start alike), its SR's too; the encoder put its "mid" (set to the rid) in the
// mid extension (`mid_id`): that element is renumbered to the rid extension's id (`rid_id`), or on
// RTX (`rtx_ssrc`) to the repaired rid's (`repaired_rid_id`).
inline void SimulcastTagRid(std::vector<uint8_t>& d, uint8_t mid_id, uint32_t rtx_ssrc, uint32_t timestamp_offset,
                            uint8_t rid_id, uint8_t repaired_rid_id) {
  auto put32 = [&d](size_t at, uint32_t v) {
    for (size_t b = 0; b < 4; ++b) d[at + b] = static_cast<uint8_t>(v >> (24 - 8 * b));
  };
  if (rtp::is_rtcp(d)) {
    // Its SR (first in the compound) maps the moved timestamps: RTP timestamp at bytes 16..19.
    if (d.size() >= 20 && d[1] == 200) {
      put32(16, ((uint32_t{d[16]} << 24) | (uint32_t{d[17]} << 16) | (uint32_t{d[18]} << 8) | d[19]) + timestamp_offset);
    }
    return;
  }
  auto h = rtp::RtpHeader::parse(d);
  if (!h.ok()) return;
  put32(4, h->timestamp + timestamp_offset);
  const rtp::ExtensionSlot* slot = h->find_extension(mid_id);
  if (slot == nullptr || slot->offset == 0) return;
  const uint8_t id = h->ssrc == rtx_ssrc ? repaired_rid_id : rid_id;
  d[slot->offset - 1] = static_cast<uint8_t>((id << 4) | ((slot->size - 1) & 0x0F));
}

}  // namespace tern::test
