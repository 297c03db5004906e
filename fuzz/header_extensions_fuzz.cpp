// Fuzzes the typed RTP header extension parsers (RFC 8285 element payloads) and the extension map:
// every parser either rejects the bytes or yields a value that re-encodes to a parseable element.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tern/rtp/header_extensions.h"

using namespace tern::rtp;

namespace {

template <typename Ext>
void round_trip(std::span<const uint8_t> data) {
  auto v = Ext::parse(data);
  if (!v) return;
  std::array<uint8_t, 256> buf{};
  const size_t n = Ext::size(*v);
  if (n > buf.size()) std::abort();
  if (!Ext::write(std::span<uint8_t>(buf.data(), n), *v)) return;  // some values are read-only
  auto again = Ext::parse(std::span<const uint8_t>(buf.data(), n));
  if (!again || !(*again == *v)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> body(data + 1, size - 1);
  switch (data[0] % 9) {
    case 0: round_trip<TransportSequenceNumber>(body); break;
    case 1: round_trip<AbsSendTime>(body); break;
    case 2: round_trip<AudioLevel>(body); break;
    case 3: round_trip<Mid>(body); break;
    case 4: round_trip<RtpStreamId>(body); break;
    case 5: round_trip<PlayoutDelay>(body); break;
    case 6: round_trip<AbsCaptureTime>(body); break;
    case 7: round_trip<TransmissionOffset>(body); break;
    default: {
      ExtensionMap map;
      for (size_t i = 0; i + 1 < body.size(); i += 2)
        (void)map.register_type(body[i], static_cast<ExtensionType>(body[i + 1] % 12));
      for (int id = 0; id < 256; ++id) (void)map.type(static_cast<uint8_t>(id));
    }
  }
  return 0;
}
