// Builds and parses an RTP packet through the installed tern headers and libraries.
#include <tern/rtp/rtp_packet_builder.h>

#include <cstdio>

int main() {
  const auto map = tern::rtp::ExtensionMap::Default();
  tern::rtp::RtpPacketBuilder b;
  b.set_sequence_number(1234).set_ssrc(42).set<tern::rtp::TransportSequenceNumber>(map, 7);
  auto p = b.build();
  if (!p || p->sequence_number() != 1234 || p->get<tern::rtp::TransportSequenceNumber>(map) != 7) {
    std::puts("consumer: round trip failed");
    return 1;
  }
  std::puts("consumer: tern package works");
  return 0;
}
