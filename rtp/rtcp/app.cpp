// RFC 3550 6.7 APP parsing and serialization.
#include "tern/rtp/rtcp/app.h"

namespace tern::rtcp {

Result<App> App::parse(const CommonHeader& header) {
  if (header.packet_type != kPacketType) return Error{"rtcp app: wrong packet type"};
  ByteReader in(header.payload);
  App app;
  app.subtype = header.count;
  app.ssrc = in.u32();
  const auto name = in.bytes(4);
  if (!in.ok()) return Error{"rtcp app: shorter than SSRC and name"};
  for (size_t i = 0; i < 4; ++i) app.name[i] = static_cast<char>(name[i]);
  const auto rest = in.rest();
  if (rest.size() % 4 != 0) return Error{"rtcp app: data is not 32-bit aligned"};
  app.data.assign(rest.begin(), rest.end());
  return app;
}

size_t App::size() const { return kCommonHeaderSize + 8 + ((data.size() + 3) & ~size_t{3}); }

void App::write(ByteWriter& out) const {
  write_common_header(out, subtype, kPacketType, size() - kCommonHeaderSize);
  out.u32(ssrc);
  for (char c : name) out.u8(static_cast<uint8_t>(c));
  out.bytes(data);
  out.zeros((4 - data.size() % 4) % 4);
}

}  // namespace tern::rtcp
