// Reads the duration of an Opus packet from its TOC byte and frame count (RFC 6716 section 3.1),
// which the Ogg and WebM recorders need for granule positions and block durations without
// decoding. Also builds the zero-length "no data" packet (TOC only, code 0) that makes a decoder
// conceal, used to fill timestamp gaps so that a recording keeps the received timing.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace tern::media {

// Samples per channel at 48 kHz in the packet, or nullopt for an empty or malformed packet (or
// one longer than the RFC's 120 ms).
std::optional<int> opus_packet_samples_48k(std::span<const uint8_t> packet);

// The TOC byte of a one-frame, zero-length CELT fullband packet lasting `samples_48k` (120, 240,
// 480 or 960); nullopt for other durations.
std::optional<uint8_t> opus_empty_packet_toc(int samples_48k);

}  // namespace tern::media
