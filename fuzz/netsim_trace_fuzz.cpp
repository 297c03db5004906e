// Fuzzes the netsim trace parsers (RateTrace, mahimahi DeliveryTrace): any input either parses into
// a trace that satisfies its invariants, or is rejected with a reason and a line number inside the
// text. A parsed trace is also run through a Link briefly so trace arithmetic is exercised.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "tern/netsim/delivery_trace.h"
#include "tern/netsim/link.h"
#include "tern/netsim/rate_trace.h"

using namespace tern;
using namespace tern::netsim;

namespace {

size_t count_lines(std::string_view s) {
  size_t n = 1;
  for (char c : s) n += c == '\n' ? 1 : 0;
  return n;
}

void drive(LinkConfig config) {
  config.trace_origin = Timestamp::Zero();
  auto link = Link::Create(std::move(config));
  if (!link) std::abort();
  for (int i = 0; i < 8; ++i) {
    SimPacket p;
    p.overhead = DataSize::Bytes(200 * (i + 1));
    link->send(std::move(p), Timestamp::Millis(i * 3));
  }
  // Bounded: at most 64 wakeups; every packet must leave in non-decreasing time order.
  Timestamp last = Timestamp::MinusInfinity();
  for (int i = 0; i < 64; ++i) {
    const auto w = link->next_wakeup();
    if (!w || *w > Timestamp::Seconds(100000)) break;
    for (const auto& p : link->process(*w)) {
      if (p.delivery_time < last) std::abort();
      last = p.delivery_time;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t line = 0;
  if (auto r = RateTrace::Parse(text, &line)) {
    const auto& pts = r->points();
    if (pts.empty()) std::abort();
    for (size_t i = 0; i < pts.size(); ++i) {
      if (pts[i].rate < DataRate::Zero() || pts[i].offset < TimeDelta::Zero()) std::abort();
      if (i > 0 && !(pts[i - 1].offset < pts[i].offset)) std::abort();
    }
    LinkConfig c;
    c.rate_trace = std::make_shared<const RateTrace>(std::move(*r));
    drive(std::move(c));
  } else if (line > count_lines(text)) {
    std::abort();
  }
  line = 0;
  if (auto d = DeliveryTrace::Parse(text, &line)) {
    if (d->period() <= TimeDelta::Zero()) std::abort();
    LinkConfig c;
    c.delivery_trace = std::make_shared<const DeliveryTrace>(std::move(*d));
    drive(std::move(c));
  } else if (line > count_lines(text)) {
    std::abort();
  }
  return 0;
}
