// Whole-file helpers for the writers and readers in media/, which work on byte buffers (sans-I/O,
// fuzzable): the application decides when to touch the disk.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tern/core/result.h"

namespace tern::media {

// Reads a whole file, refusing files above max_bytes.
Result<std::vector<uint8_t>> load_file(const std::string& path, size_t max_bytes = size_t{1} << 30);
// Writes (replaces) a whole file.
Status save_file(const std::string& path, std::span<const uint8_t> bytes);

}  // namespace tern::media
