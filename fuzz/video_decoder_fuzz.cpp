// Fuzzes the libvpx decoder wrappers: arbitrary bytes as VP8/VP9 frames must give a frame or an
// error status, never a crash. Input: [u8 codec][then frames as u16 length + bytes].
#include <cstddef>
#include <cstdint>
#include <span>

#include "tern/codecs/codec_factory.h"
#include "tern/core/byte_io.h"

using namespace tern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  codecs::VideoDecoderConfig config;
  config.codec = data[0] % 2 ? codecs::CodecType::kVp9 : codecs::CodecType::kVp8;
  auto decoder = codecs::CreateVideoDecoder(config);
  if (!decoder) return 0;
  ByteReader in(std::span<const uint8_t>(data + 1, size - 1));
  uint32_t rtp_ts = 0;
  for (int frames = 0; frames < 16 && in.remaining() >= 2; ++frames) {
    const size_t len = in.u16();
    auto bytes = in.bytes(std::min(len, in.remaining()));
    auto out = (*decoder)->decode(bytes, rtp_ts += 3000);
    if (out.ok() && out->has_value()) {
      const auto& f = **out;
      if (f.width <= 0 || f.height <= 0) __builtin_trap();
    }
  }
  return 0;
}
