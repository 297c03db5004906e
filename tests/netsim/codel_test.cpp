#include <doctest/doctest.h>

#include <deque>
#include <optional>
#include <vector>

#include "tern/netsim/codel.h"

using namespace tern;
using namespace tern::netsim;
using namespace tern::unit_literals;

namespace {

struct Item {
  Timestamp enqueue_time;
  int id;
};

// A queue whose head always has the given sojourn time at dequeue, with plenty of backlog.
struct Harness {
  Codel codel = Codel::Create(CodelConfig{}).value();
  std::deque<Item> q;
  std::vector<int> dropped;
  int next_id = 0;

  std::optional<Item> dequeue(Timestamp now, TimeDelta sojourn) {
    while (q.size() < 10) q.push_back({now - sojourn, next_id++});
    for (auto& it : q) it.enqueue_time = now - sojourn;
    auto pop = [&]() -> std::optional<Item> {
      if (q.empty()) return std::nullopt;
      Item i = q.front();
      q.pop_front();
      return i;
    };
    return codel.dequeue(now, pop, [&] { return DataSize::Bytes(1500 * static_cast<int64_t>(q.size())); },
                         [&](Item&& i) { dropped.push_back(i.id); });
  }
};

}  // namespace

TEST_CASE("CoDel never drops while the sojourn time stays below target") {
  Harness h;
  for (int ms = 0; ms < 2000; ++ms) REQUIRE(h.dequeue(Timestamp::Millis(ms), 4_ms).has_value());
  CHECK(h.dropped.empty());
  CHECK_FALSE(h.codel.dropping());
}

TEST_CASE("CoDel drops after one interval above target and then at interval/sqrt(count)") {
  Harness h;
  std::vector<int64_t> drop_times;
  for (int ms = 0; ms <= 400; ++ms) {
    const size_t before = h.dropped.size();
    (void)h.dequeue(Timestamp::Millis(ms), 20_ms);
    if (h.dropped.size() > before) drop_times.push_back(ms);
  }
  // Above target from t = 0: first_above_time = 100 ms, so the first drop is at 100 ms; the next
  // ones follow the control law 100/sqrt(1), 100/sqrt(2), 100/sqrt(3) ms later.
  REQUIRE(drop_times.size() >= 4);
  CHECK(drop_times[0] == 100);
  CHECK(drop_times[1] == 200);
  CHECK(drop_times[2] == 271);  // 200 + 70.7
  CHECK(drop_times[3] == 329);  // 270.7 + 57.7
  CHECK(h.codel.dropping());
  // Sojourn back under target: dropping stops at the next dequeue.
  (void)h.dequeue(Timestamp::Millis(401), 1_ms);
  CHECK_FALSE(h.codel.dropping());
}

TEST_CASE("CoDel does not drop when at most one MTU is queued") {
  Codel codel = Codel::Create(CodelConfig{}).value();
  int drops = 0;
  for (int ms = 0; ms < 1000; ++ms) {
    bool given = false;
    auto pop = [&]() -> std::optional<Item> {
      if (given) return std::nullopt;
      given = true;
      return Item{Timestamp::Millis(ms) - 50_ms, ms};
    };
    REQUIRE(codel.dequeue(Timestamp::Millis(ms), pop, [] { return DataSize::Bytes(1000); }, [&](Item&&) { ++drops; })
                .has_value());
  }
  CHECK(drops == 0);
}

TEST_CASE("CoDel config is validated") {
  CHECK_FALSE(Codel::Create(CodelConfig{TimeDelta::Zero(), 100_ms, DataSize::Bytes(1500)}).ok());
  CHECK_FALSE(Codel::Create(CodelConfig{5_ms, -1_ms, DataSize::Bytes(1500)}).ok());
  CHECK(Codel::Create(CodelConfig{}).ok());
}
