// BufferPool: bounded in count, keeps only buffers of its size class, reuses what it was given.
#include "tern/core/buffer_pool.h"

#include <doctest/doctest.h>

#include <vector>

using namespace tern;

TEST_CASE("buffer pool: reuses given buffers, bounded in count, refuses other sizes") {
  BufferPool pool(1536, 2);
  std::vector<uint8_t> a = pool.take();
  CHECK(a.empty());
  CHECK(a.capacity() >= 1536);
  CHECK(pool.allocated() == 1);
  a.assign(1000, 0x5A);
  const uint8_t* storage = a.data();
  pool.give(std::move(a));
  CHECK(pool.size() == 1);
  std::vector<uint8_t> again = pool.take();  // the same storage, emptied: no allocation
  CHECK(again.data() == storage);
  CHECK(again.empty());
  CHECK(pool.allocated() == 1);
  CHECK(pool.size() == 0);
  // Full: beyond max_buffers what is given is freed.
  for (int i = 0; i < 4; ++i) pool.give(pool.take());
  pool.give(std::vector<uint8_t>(1536));
  pool.give(std::vector<uint8_t>(1536));
  pool.give(std::vector<uint8_t>(1536));
  CHECK(pool.size() == 2);
  // Too small to hold a packet, or far larger than the size class (a big frame's buffer): freed.
  BufferPool other(1536, 8);
  other.give(std::vector<uint8_t>(100));
  other.give(std::vector<uint8_t>(4 * 1536 + 1));
  CHECK(other.size() == 0);
  other.give(std::vector<uint8_t>(2000));
  CHECK(other.size() == 1);
}
