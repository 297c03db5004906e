// Fuzzes the RED (RFC 2198) parser and packet splitter: accepted payloads must account for every
// byte, rebuild to the same bytes, and split into valid RTP packets.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "tern/recovery/red.h"
#include "tern/rtp/rtp_packet_builder.h"

using namespace tern;
using namespace tern::recovery;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  auto parsed = parse_red_payload(in);
  if (!parsed) return 0;
  size_t total = parsed->redundant.size() * 4 + 1 + parsed->primary.data.size();
  for (const auto& b : parsed->redundant) total += b.data.size();
  if (total != size) std::abort();
  auto rebuilt = build_red_payload(parsed->redundant, parsed->primary);
  if (!rebuilt || *rebuilt != std::vector<uint8_t>(in.begin(), in.end())) std::abort();
  rtp::RtpPacketBuilder builder;
  builder.set_payload_type(127).set_sequence_number(3).set_timestamp(100).set_ssrc(1).set_payload(in);
  auto packet = builder.build();
  if (!packet) return 0;
  auto split = decode_red(*packet);
  if (!split || split->size() != parsed->redundant.size() + 1) std::abort();
  for (const auto& p : *split) {
    if (!rtp::RtpPacketView::parse(p.data())) std::abort();
  }
  return 0;
}
