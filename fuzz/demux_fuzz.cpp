// Fuzzes the receive front end: RFC 7983 / RFC 5761 classification and SSRC routing, then SRTP and
// SRTCP unprotect of whatever was classified as RTP/RTCP. Nothing may crash or read out of bounds;
// classification must agree with the first byte's range.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "tern/transport/demuxer.h"
#include "tern/transport/srtp_session.h"

using namespace tern;
using namespace tern::transport;

namespace {

struct Touch final : DatagramSink {
  void on_datagram(std::vector<uint8_t> packet, Timestamp) override {
    for (uint8_t b : packet) sum += b;
  }
  unsigned sum = 0;
};

SrtpSession& Receiver() {
  static SrtpSession session = [] {
    SrtpConfig c;
    c.key_material.assign(30, 0x42);
    c.direction = SrtpDirection::kReceive;
    return SrtpSession::Create(c).value();
  }();
  return session;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  Demuxer demux;
  Touch a, rtcp, other;
  (void)demux.add_rtp_sink(0x11223344, &a);
  demux.set_default_rtp_sink(&other);
  demux.set_rtcp_sink(&rtcp);
  demux.set_stun_sink(&other);
  demux.set_dtls_sink(&other);
  const PacketClass c = demux.demux(std::vector<uint8_t>(in.begin(), in.end()), Timestamp::Zero());
  if (c != classify(in)) std::abort();
  if (size > 0 && (c == PacketClass::kRtp || c == PacketClass::kRtcp) && (data[0] < 128 || data[0] > 191)) std::abort();
  std::vector<uint8_t> copy(in.begin(), in.end());
  if (c == PacketClass::kRtp) (void)Receiver().unprotect_rtp(copy);
  if (c == PacketClass::kRtcp) (void)Receiver().unprotect_rtcp(copy);
  return static_cast<int>((a.sum + rtcp.sum + other.sum) & 0);
}
