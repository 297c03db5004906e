// Shared wire helpers for the body SR and RR have in common after their fixed fields: RC report
// blocks (RFC 3550 6.4.1) followed by an opaque profile-specific extension.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tern/core/byte_io.h"
#include "tern/core/result.h"
#include "tern/rtp/rtcp/report_block.h"

namespace tern::rtcp {

inline constexpr size_t kMaxReportBlocks = 31;  // RC is 5 bits

namespace detail {

// Reads `count` report blocks and takes every byte after them as the extension. Fails with a
// reason when the blocks do not fit or the extension is not a whole number of 32-bit words.
inline Status read_report_blocks(ByteReader& in, uint8_t count, std::vector<ReportBlock>& blocks,
                                 std::vector<uint8_t>& extension) {
  if (!in.has(size_t{count} * ReportBlock::kSize)) return Error{"rtcp report: RC blocks run past the length"};
  blocks.reserve(count);
  for (uint8_t i = 0; i < count; ++i) blocks.push_back(ReportBlock::read(in));
  const auto rest = in.rest();
  if (rest.size() % 4 != 0) return Error{"rtcp report: extension is not 32-bit aligned"};
  extension.assign(rest.begin(), rest.end());
  return Status::Ok();
}

// Number of blocks that go on the wire (RC is 5 bits).
inline size_t written_block_count(const std::vector<ReportBlock>& blocks) {
  return std::min(blocks.size(), kMaxReportBlocks);
}

// Bytes of the blocks plus the extension (an unaligned extension is zero-padded to 32 bits).
inline size_t report_blocks_size(const std::vector<ReportBlock>& blocks, const std::vector<uint8_t>& extension) {
  return written_block_count(blocks) * ReportBlock::kSize + ((extension.size() + 3) & ~size_t{3});
}

inline void write_report_blocks(ByteWriter& out, const std::vector<ReportBlock>& blocks,
                                const std::vector<uint8_t>& extension) {
  const size_t n = written_block_count(blocks);
  for (size_t i = 0; i < n; ++i) blocks[i].write(out);
  out.bytes(extension);
  out.zeros((4 - extension.size() % 4) % 4);
}

}  // namespace detail
}  // namespace tern::rtcp
