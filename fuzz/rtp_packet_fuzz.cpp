// Fuzzes the RTP header parser and RFC 8285 extension scanning: any input either parses into a
// header whose offsets lie inside the input, or is rejected with a reason.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"

using namespace tern::rtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  auto view = RtpPacketView::parse(in);
  if (!view) return 0;
  const RtpHeader& h = view->header();
  if (size_t{h.header_size} + h.payload_size + h.padding_size != size) std::abort();
  // Touch every byte the view hands out, so ASan sees any out-of-bounds offset.
  unsigned sum = 0;
  for (uint8_t b : view->payload()) sum += b;
  for (size_t i = 0; i < view->csrc_count(); ++i) sum += view->csrc(i);
  for (uint8_t i = 0; i < h.num_extensions; ++i) {
    auto ext = view->extension(h.extensions[i].id);
    if (!ext) std::abort();
    for (uint8_t b : *ext) sum += b;
  }
  const ExtensionMap map = ExtensionMap::Default();
  (void)view->get<TransportSequenceNumber>(map);
  (void)view->get<AbsSendTime>(map);
  (void)view->get<AudioLevel>(map);
  (void)view->get<Mid>(map);
  (void)view->get<RtpStreamId>(map);
  (void)view->get<PlayoutDelay>(map);
  (void)view->get<AbsCaptureTime>(map);
  // Rebuilding from the parsed fields must give a packet that parses to the same fields.
  RtpPacketBuilder b;
  b.set_marker(view->marker()).set_payload_type(view->payload_type()).set_sequence_number(view->sequence_number());
  b.set_timestamp(view->timestamp()).set_ssrc(view->ssrc()).set_payload(view->payload());
  if (h.rfc8285_extensions())
    for (uint8_t i = 0; i < h.num_extensions; ++i) b.set_extension(h.extensions[i].id, *view->extension(h.extensions[i].id));
  auto rebuilt = b.build();
  if (rebuilt && (rebuilt->sequence_number() != view->sequence_number() ||
                  rebuilt->payload_size() != view->payload().size()))
    std::abort();
  return static_cast<int>(sum & 0);
}
