// Fuzzes the transport-wide CC feedback (RTPFB FMT 15) and RFC 8888 CCFB (RTPFB FMT 11) parsers: the
// input is the payload under a synthesized common header. Whatever parses must write exactly size()
// bytes that parse back equal, and rebuilding it through the builder API must give the same content.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "tern/rtp/rtcp/congestion_control_feedback.h"
#include "tern/rtp/rtcp/transport_feedback.h"

using namespace tern;
using namespace tern::rtcp;

namespace {

CommonHeader header_for(uint8_t format, std::span<const uint8_t> payload) {
  CommonHeader h;
  h.count = format;
  h.packet_type = kPtRtpfb;
  h.packet_size = kCommonHeaderSize + payload.size();
  h.payload = payload;
  return h;
}

// Writes `packet` and parses it back; aborts if the size or the content differ.
template <typename T>
void check_wire_round_trip(const T& packet) {
  std::vector<uint8_t> buf(packet.size());
  ByteWriter w(buf);
  packet.write(w);
  if (!w.ok() || w.position() != buf.size()) std::abort();
  auto h = CommonHeader::parse(buf);
  if (!h || h->packet_size != buf.size()) std::abort();
  auto back = T::parse(*h);
  if (!back || !(*back == packet)) std::abort();
}

void fuzz_transport_feedback(std::span<const uint8_t> payload) {
  auto fb = TransportFeedback::parse(header_for(TransportFeedback::kFormat, payload));
  if (!fb) return;
  check_wire_round_trip(*fb);
  const auto packets = fb->packets();
  if (packets.size() != fb->packet_status_count()) std::abort();

  // Rebuild from the reader API. The builder cannot express not-received packets after the last
  // received one, so compare up to there. A prefix never encodes larger than the whole.
  TransportFeedback rebuilt(fb->sender_ssrc(), fb->media_ssrc());
  rebuilt.set_base(fb->base_sequence(), fb->base_time());
  rebuilt.set_feedback_sequence(fb->feedback_sequence());
  size_t covered = 0;
  for (const auto& p : packets) {
    if (!p.received()) continue;
    if (!rebuilt.add_received_packet(p.sequence_number, fb->base_time() + *p.receive_delta_from_base)) {
      // Refusals the builder documents: too large, or a gap of half the sequence space or more
      // (which it cannot tell from a late, reordered packet).
      const size_t gap = static_cast<uint16_t>(p.sequence_number - fb->base_sequence()) - rebuilt.packet_status_count();
      if (fb->size() <= TransportFeedback::kMaxSizeBytes && gap < 0x8000) std::abort();
      return;
    }
    covered = rebuilt.packet_status_count();
  }
  const auto again = rebuilt.packets();
  if (again.size() != covered) std::abort();
  for (size_t i = 0; i < covered; ++i)
    if (!(again[i] == packets[i])) std::abort();
  if (covered == packets.size() && !(rebuilt == *fb)) std::abort();
}

void fuzz_ccfb(std::span<const uint8_t> payload) {
  auto fb = CongestionControlFeedback::parse(header_for(CongestionControlFeedback::kFormat, payload));
  if (!fb) return;
  check_wire_round_trip(*fb);
  CongestionControlFeedback rebuilt(fb->sender_ssrc());
  rebuilt.set_report_timestamp(fb->report_timestamp());
  for (const auto& s : fb->streams())
    if (!rebuilt.add_stream(s.media_ssrc, s.begin_seq, s.packets)) std::abort();
  if (!(rebuilt == *fb) || rebuilt.size() != fb->size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  fuzz_transport_feedback(in);
  fuzz_ccfb(in);
  return 0;
}
