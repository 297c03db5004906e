#include "tern/core/seq_ring.h"

#include <doctest/doctest.h>

#include <map>
#include <vector>

#include "tern/core/random.h"

using namespace tern;

TEST_CASE("seq ring: insert, find, pop_front in key order, growth keeps entries, span limit") {
  SeqRing<int> r(8, 2);  // span 8, two slots to start
  CHECK(r.empty());
  CHECK(r.find(0) == nullptr);
  auto [a, new_a] = r.insert(-3);  // unwrapped numbers may be negative
  REQUIRE(a != nullptr);
  CHECK(new_a);
  *a = 30;
  *r.insert(-1).first = 10;
  *r.insert(1).first = 1;  // grows to 8 slots, moving -3 and -1
  CHECK(r.capacity() == 8);
  CHECK(r.size() == 3);
  CHECK(*r.find(-3) == 30);
  CHECK(*r.find(-1) == 10);
  CHECK(r.find(-2) == nullptr);
  auto [again, new_again] = r.insert(-1);
  CHECK_FALSE(new_again);
  CHECK(*again == 10);
  CHECK(r.front_key() == -3);
  r.pop_front();
  CHECK(r.front_key() == -1);  // skips the empty -2
  // 7 is 8 past -1: -1 is dropped (through the callback) to keep the span at 8.
  std::vector<int64_t> dropped;
  *r.insert(7, [&](int64_t k, int& v) { dropped.push_back(k); CHECK(v == 10); }).first = 7;
  CHECK(dropped == std::vector<int64_t>{-1});
  CHECK(r.front_key() == 1);
  CHECK(r.end_key() == 8);
  CHECK(r.insert(-1).first == nullptr);  // 8 behind the newest: refused
  CHECK(r.insert(0).first != nullptr);
  std::vector<int64_t> seen;
  r.for_each_in(-100, 100, [&](int64_t k, int&) { seen.push_back(k); });
  CHECK(seen == std::vector<int64_t>{0, 1, 7});
  while (!r.empty()) r.pop_front();
  CHECK(r.find(7) == nullptr);
  *r.insert(1000).first = 5;  // an empty ring starts over anywhere
  CHECK(r.front_key() == 1000);
  CHECK(r.size() == 1);
}

TEST_CASE("seq ring: matches a std::map model within the span on random keys") {
  Random rng(11);
  SeqRing<int64_t> r(64, 1);
  std::map<int64_t, int64_t> model;
  int64_t newest = 0;
  for (int i = 0; i < 20000; ++i) {
    const int64_t key = newest - 20 + rng.uniform_int(0, 23);  // behind, at or a little ahead
    if (model.empty() || key > model.rbegin()->first - 64) {
      auto [v, inserted] = r.insert(key, [&](int64_t k, int64_t&) { model.erase(k); });
      REQUIRE(v != nullptr);
      CHECK(inserted == (model.count(key) == 0));
      *v = i;
      model[key] = i;
      while (!model.empty() && model.begin()->first <= model.rbegin()->first - 64) model.erase(model.begin());
    }
    newest = std::max(newest, key);
    while (model.size() > 40) {
      CHECK(r.front_key() == model.begin()->first);
      model.erase(model.begin());
      r.pop_front();
    }
    REQUIRE(r.size() == model.size());
    const int64_t probe = newest - rng.uniform_int(0, 80);
    const int64_t* got = r.find(probe);
    auto it = model.find(probe);
    REQUIRE((got == nullptr) == (it == model.end()));
    if (got != nullptr) CHECK(*got == it->second);
  }
  CHECK(r.capacity() == 64);
}
