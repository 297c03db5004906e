// tern-demo: builds an RTP packet with header extensions, parses it back and prints both.
// (The main job, tern-loopback, replaces this once the pipeline exists.)
#include <cstdio>
#include <vector>

#include "tern/rtp/rtp_packet_builder.h"

using namespace tern;
using namespace tern::rtp;

int main() {
  const ExtensionMap map = ExtensionMap::Default();
  std::vector<uint8_t> payload(160, 0xAB);
  RtpPacketBuilder b;
  b.set_payload_type(111).set_sequence_number(65535).set_timestamp(960).set_ssrc(0x11223344).set_marker(true);
  b.set<TransportSequenceNumber>(map, 42);
  b.set<AbsSendTime>(map, AbsSendTime::from_time(Timestamp::Millis(1500)));
  b.set<AudioLevel>(map, {true, 30});
  b.set_payload(payload);
  auto packet = b.build();
  if (!packet) {
    std::fprintf(stderr, "build failed: %s\n", packet.error());
    return 1;
  }
  std::printf("RTP packet: %zu bytes\n ", packet->size());
  for (size_t i = 0; i < packet->header().header_size; ++i) std::printf(" %02x", packet->data()[i]);
  std::printf("\n  pt=%u seq=%u ts=%u ssrc=0x%08x marker=%d payload=%zu bytes\n", packet->payload_type(),
              packet->sequence_number(), packet->timestamp(), packet->ssrc(), packet->marker(),
              packet->payload_size());
  std::printf("  transport-wide seq=%u abs-send-time=0x%06x audio-level=-%u dBov voice=%d\n",
              *packet->get<TransportSequenceNumber>(map), *packet->get<AbsSendTime>(map),
              packet->get<AudioLevel>(map)->level_dbov, packet->get<AudioLevel>(map)->voice_activity);
  return 0;
}
