// Helpers shared by the interop tests (tern <-> GStreamer / ffmpeg over UDP loopback): a peer
// process run in the background under `timeout`, a bounded wait for a peer to bind its UDP port,
// the tern send side (encode, packetize, pace onto the wire), the receive side (collect RTP,
// group it into frames, assemble, decode) and signal comparisons.
#pragma once

#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "codecs/codec_test_util.h"
#include "support/peer.h"
#include "support/process.h"
#include "support/udp.h"
#include "tern/codecs/codec_factory.h"
#include "tern/core/seq_num.h"
#include "tern/rtp/payload/frame_assembler.h"
#include "tern/rtp/payload/opus_payload.h"
#include "tern/rtp/payload/vp8_payload.h"
#include "tern/rtp/payload/vp9_payload.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"

namespace tern::interop {

constexpr uint32_t kSsrc = 287454020;  // 0x11223344, as in docs/INTEROP command lines
constexpr int kWidth = 320;
constexpr int kHeight = 240;

using test::BackgroundPeer;
using test::HavePeers;
using test::WaitForUdpPort;

// ---- tern send side -------------------------------------------------------------------------

inline codecs::VideoEncoderConfig VideoConfig(codecs::CodecType codec) {
  codecs::VideoEncoderConfig c;
  c.codec = codec;
  c.width = kWidth;
  c.height = kHeight;
  c.start_bitrate = DataRate::KilobitsPerSec(800);
  c.frame_drop_threshold = 0;  // every source frame is encoded: exact frame counts
  c.keyframe_interval = 30;
  return c;
}

// Encodes `frames` frames of the moving test pattern; every one must produce output.
inline std::vector<codecs::EncodedFrame> EncodeVideo(codecs::CodecType codec, int frames) {
  auto enc = codecs::CreateVideoEncoder(VideoConfig(codec));
  REQUIRE_MESSAGE(enc.ok(), std::string(enc.error()));
  std::vector<codecs::EncodedFrame> out;
  for (int i = 0; i < frames; ++i) {
    auto r = (*enc)->encode(codecs::test::MovingPattern(kWidth, kHeight, i));
    REQUIRE_MESSAGE(r.ok(), std::string(r.error()));
    REQUIRE_MESSAGE(r->has_value(), "encoder dropped frame " << i);
    out.push_back(std::move(**r));
  }
  return out;
}

// RTP packets (whole datagrams) of one encoded video frame, numbered from `*seq`.
inline std::vector<std::vector<uint8_t>> PacketizeVideo(const codecs::EncodedFrame& frame, uint8_t pt, uint16_t* seq,
                                                        rtp::Vp8Packetizer& vp8, rtp::Vp9Packetizer& vp9) {
  const rtp::PayloadLimits limits{.max_payload_size = 1150};
  std::vector<std::vector<uint8_t>> packets;
  size_t count = 0;
  if (frame.codec == codecs::CodecType::kVp8) {
    rtp::Vp8Descriptor d;
    d.non_reference = frame.layers.non_reference;
    d.picture_id = frame.layers.picture_id;
    Status s = vp8.plan(frame.data, d, limits);
    REQUIRE_MESSAGE(s.ok(), std::string(s.error()));
    count = vp8.num_packets();
  } else {
    rtp::Vp9FrameInfo info;
    info.descriptor.picture_id = frame.layers.picture_id;
    info.descriptor.inter_picture_predicted = !frame.is_keyframe;
    if (frame.is_keyframe) {
      rtp::Vp9ScalabilityStructure ss;
      ss.has_resolutions = true;
      ss.width[0] = static_cast<uint16_t>(frame.width);
      ss.height[0] = static_cast<uint16_t>(frame.height);
      info.descriptor.ss = ss;
    }
    Status s = vp9.plan(frame.data, info, limits);
    REQUIRE_MESSAGE(s.ok(), std::string(s.error()));
    count = vp9.num_packets();
  }
  for (size_t i = 0; i < count; ++i) {
    const bool is_vp8 = frame.codec == codecs::CodecType::kVp8;
    std::vector<uint8_t> payload(is_vp8 ? vp8.packet_size(i) : vp9.packet_size(i));
    auto n = is_vp8 ? vp8.write(i, payload) : vp9.write(i, payload);
    REQUIRE_MESSAGE(n.ok(), std::string(n.error()));
    payload.resize(*n);
    rtp::RtpPacketBuilder b;
    b.set_payload_type(pt).set_sequence_number((*seq)++).set_timestamp(frame.rtp_timestamp).set_ssrc(kSsrc);
    b.set_marker(is_vp8 ? vp8.marker(i) : vp9.marker(i)).set_payload(payload);
    auto p = b.build();
    REQUIRE_MESSAGE(p.ok(), std::string(p.error()));
    packets.emplace_back(p->data().begin(), p->data().end());
  }
  return packets;
}

// Sends each frame's packets back to back, one frame every `gap_ms` (real-time pacing keeps the
// peer's jitter buffer in its normal regime).
inline void SendPaced(const std::vector<std::vector<std::vector<uint8_t>>>& frames, uint16_t port, int gap_ms) {
  test::UdpSocket tx;
  REQUIRE(tx.ok());
  auto next = std::chrono::steady_clock::now();
  for (const auto& frame : frames) {
    for (const auto& packet : frame) REQUIRE(tx.send_to(port, packet));
    next += std::chrono::milliseconds(gap_ms);
    std::this_thread::sleep_until(next);
  }
}

// ---- receive side ---------------------------------------------------------------------------

// Receives RTP datagrams on `socket` while `peer` runs, then drains until 300 ms of silence.
// Bounded by `max_ms` overall and `max_packets`.
inline std::vector<rtp::RtpPacket> CollectRtp(const test::UdpSocket& socket, BackgroundPeer& peer, int max_ms,
                                              size_t max_packets = 20000) {
  std::vector<rtp::RtpPacket> packets;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_ms);
  int quiet_ms = 0;
  while (std::chrono::steady_clock::now() < deadline && packets.size() < max_packets) {
    auto d = socket.receive(100);
    if (!d) {
      if (!peer.running()) {
        quiet_ms += 100;
        if (quiet_ms >= 300) break;
      }
      continue;
    }
    quiet_ms = 0;
    auto p = rtp::RtpPacket::parse(std::move(*d));
    CHECK_MESSAGE(p.ok(), "peer sent a datagram that is not RTP: " << std::string(p.error()));
    if (p.ok()) packets.push_back(std::move(*p));
  }
  return packets;
}

// Packets in sequence-number order (unwrapped), duplicates removed.
inline std::vector<rtp::RtpPacket> SortBySequence(std::vector<rtp::RtpPacket> packets) {
  SeqUnwrapper<uint16_t> unwrap;
  std::vector<std::pair<int64_t, size_t>> order;
  for (size_t i = 0; i < packets.size(); ++i) order.emplace_back(unwrap.unwrap(packets[i].sequence_number()), i);
  std::sort(order.begin(), order.end());
  std::vector<rtp::RtpPacket> out;
  int64_t last = -1;
  bool first = true;
  for (auto& [seq, i] : order) {
    if (!first && seq == last) continue;
    out.push_back(std::move(packets[i]));
    last = seq;
    first = false;
  }
  return out;
}

// Consecutive runs of packets sharing one RTP timestamp: one frame (picture) each.
inline std::vector<std::vector<const rtp::RtpPacket*>> GroupByTimestamp(const std::vector<rtp::RtpPacket>& sorted) {
  std::vector<std::vector<const rtp::RtpPacket*>> frames;
  for (const auto& p : sorted) {
    if (frames.empty() || frames.back().front()->timestamp() != p.timestamp()) frames.emplace_back();
    frames.back().push_back(&p);
  }
  return frames;
}

// ---- comparisons ----------------------------------------------------------------------------

// Packed I420 bytes (as a Y4M frame) into a VideoFrame.
inline codecs::VideoFrame FromPacked(const std::vector<uint8_t>& packed, int width, int height) {
  codecs::VideoFrame f = codecs::VideoFrame::Allocate(width, height);
  const size_t y = f.y.size(), c = f.u.size();
  if (packed.size() < y + 2 * c) return f;
  std::copy(packed.begin(), packed.begin() + static_cast<std::ptrdiff_t>(y), f.y.begin());
  std::copy(packed.begin() + static_cast<std::ptrdiff_t>(y), packed.begin() + static_cast<std::ptrdiff_t>(y + c),
            f.u.begin());
  std::copy(packed.begin() + static_cast<std::ptrdiff_t>(y + c),
            packed.begin() + static_cast<std::ptrdiff_t>(y + 2 * c), f.v.begin());
  return f;
}

// SNR in dB of `test` delayed by `lag` samples against `ref` (mono), over ref[start, start+length)
// where both exist; -100 when there is no overlap or no signal.
inline double SnrAtLag(const std::vector<int16_t>& ref, const std::vector<int16_t>& test, int lag, size_t start,
                       size_t length) {
  double sig = 0, err = 0;
  for (size_t i = start; i < ref.size() && i < start + length; ++i) {
    const int64_t j = static_cast<int64_t>(i) + lag;
    if (j < 0 || j >= static_cast<int64_t>(test.size())) continue;
    const double r = ref[i], t = test[static_cast<size_t>(j)];
    sig += r * r;
    err += (r - t) * (r - t);
  }
  if (sig <= 0) return -100.0;
  return err <= 1e-9 ? 200.0 : 10.0 * std::log10(sig / err);
}

// SNR of `test` against `ref` at the delay in [min_lag, max_lag] that fits best on a 1 s probe
// window (48 kHz) after the first 0.1 s; measured over all of `ref` at that delay.
inline double BestAlignedSnr(const std::vector<int16_t>& ref, const std::vector<int16_t>& test, int min_lag,
                             int max_lag, int* best_lag = nullptr) {
  int lag = min_lag;
  double best = -1000.0;
  for (int l = min_lag; l <= max_lag; ++l) {
    const double snr = SnrAtLag(ref, test, l, 4800, 48000);
    if (snr > best) {
      best = snr;
      lag = l;
    }
  }
  if (best_lag) *best_lag = lag;
  return SnrAtLag(ref, test, lag, 0, ref.size());
}

}  // namespace tern::interop
