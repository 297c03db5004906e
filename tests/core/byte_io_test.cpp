#include "tern/core/byte_io.h"

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <string>

#include "tern/core/random.h"
#include "tern/core/ring_buffer.h"
#include "tern/core/result.h"

using namespace tern;

TEST_CASE("ByteReader reads big-endian and fails safely") {
  const std::array<uint8_t, 9> data{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
  ByteReader r(data);
  CHECK(r.u8() == 0x01);
  CHECK(r.u16() == 0x0203);
  CHECK(r.u24() == 0x040506);
  CHECK(r.remaining() == 3);
  CHECK(r.ok());
  CHECK(r.u32() == 0);  // only 3 bytes left
  CHECK_FALSE(r.ok());
  CHECK(r.u8() == 0);  // sticky
  CHECK(r.remaining() == 0);
  CHECK(r.bytes(1).empty());
}

TEST_CASE("ByteReader bytes() is a zero-copy view") {
  const std::array<uint8_t, 4> data{1, 2, 3, 4};
  ByteReader r(data);
  r.skip(1);
  auto v = r.bytes(2);
  CHECK(v.data() == data.data() + 1);
  CHECK(v.size() == 2);
  CHECK(r.rest().size() == 1);
  CHECK(r.bytes(5).empty());
  CHECK_FALSE(r.ok());
}

TEST_CASE("ByteWriter refuses writes past capacity and back-patches") {
  std::array<uint8_t, 6> out{};
  ByteWriter w(out);
  w.u16(0xABCD);
  w.u32(0x01020304);
  CHECK(w.ok());
  w.u8(0xFF);
  CHECK_FALSE(w.ok());
  CHECK(w.position() == 6);
  CHECK(out[0] == 0xAB);
  CHECK(out[5] == 0x04);
  std::array<uint8_t, 4> out2{};
  ByteWriter w2(out2);
  w2.zeros(4);
  w2.put_u16_at(1, 0x1234);
  CHECK(out2[1] == 0x12);
  CHECK(out2[2] == 0x34);
  w2.put_u16_at(3, 1);
  CHECK_FALSE(w2.ok());
}

TEST_CASE("ByteBuffer grows and round-trips through ByteReader") {
  ByteBuffer b;
  b.u8(7);
  b.u16(0x1234);
  b.u24(0xABCDEF);
  b.u32(0xDEADBEEF);
  b.u64(0x0102030405060708ull);
  b.put_u16_at(1, 0x4321);
  ByteReader r(b.data());
  CHECK(r.u8() == 7);
  CHECK(r.u16() == 0x4321);
  CHECK(r.u24() == 0xABCDEF);
  CHECK(r.u32() == 0xDEADBEEF);
  CHECK(r.u64() == 0x0102030405060708ull);
  CHECK(r.remaining() == 0);
  CHECK(r.ok());
}

TEST_CASE("Random is deterministic for a seed and well spread") {
  Random a(42), b(42), c(43);
  bool all_same = true;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next_u64();
    CHECK(x == b.next_u64());
    all_same = all_same && (x == c.next_u64());
  }
  CHECK_FALSE(all_same);
  Random r(7);
  double sum = 0, sum2 = 0;
  int hits = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double g = r.gaussian(10, 2);
    sum += g;
    sum2 += g * g;
    const int64_t k = r.uniform_int(-3, 3);
    CHECK(k >= -3);
    CHECK(k <= 3);
    hits += r.bernoulli(0.25) ? 1 : 0;
  }
  const double mean = sum / n;
  CHECK(mean == doctest::Approx(10).epsilon(0.01));
  CHECK(std::sqrt(sum2 / n - mean * mean) == doctest::Approx(2).epsilon(0.03));
  CHECK(hits / double(n) == doctest::Approx(0.25).epsilon(0.05));
}

TEST_CASE("RingBuffer respects its bound with either full policy") {
  RingBuffer<int> ring(3);
  CHECK(ring.push(1));
  CHECK(ring.push(2));
  CHECK(ring.push(3));
  CHECK_FALSE(ring.push(4));
  CHECK(ring.size() == 3);
  CHECK(ring.push_overwrite(4) == 1);
  CHECK(ring.front() == 2);
  CHECK(ring.back() == 4);
  CHECK(ring.pop() == 2);
  CHECK(ring.size() == 2);
  ring.clear();
  CHECK(ring.empty());
  CHECK_FALSE(ring.pop().has_value());
}

TEST_CASE("Result carries a value or a static reason") {
  Result<int> good = 5;
  Result<int> bad = Error{"too short"};
  CHECK(good.ok());
  CHECK(*good == 5);
  CHECK_FALSE(bad.ok());
  CHECK(std::string(bad.error()) == "too short");
  Status s = Error{"nope"};
  CHECK_FALSE(s.ok());
  CHECK(Status::Ok().ok());
}
