// Test support for tests/sctp: two SctpAssociations wired back to back in memory, in virtual time,
// through a link with a fixed one-way delay and seeded random loss in each direction. usrsctp reads
// gettimeofday() for RTT samples and for which chunks a T3 expiry retransmits (sctp/README.md): the
// pair installs the virtual-clock override (dtls/openssl_virtual_clock.h) so that it sees `now`.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "tern/core/random.h"
#include "tern/dtls/openssl_virtual_clock.h"
#include "tern/sctp/sctp_association.h"

namespace tern::test {

struct SctpPair {
  struct Link {
    std::deque<std::pair<Timestamp, std::vector<uint8_t>>> queue;
    double loss = 0;
    uint64_t delivered = 0;
    uint64_t dropped = 0;
    size_t largest = 0;  // bytes of the largest packet seen
  };

  std::unique_ptr<sctp::SctpAssociation> a;  // the DTLS client (even ids)
  std::unique_ptr<sctp::SctpAssociation> b;  // the DTLS server (odd ids)
  std::vector<sctp::SctpEvent> events_a, events_b;
  Link a_to_b, b_to_a;
  TimeDelta delay = TimeDelta::Millis(5);
  Timestamp now = Timestamp::Seconds(1);
  Random random;
  dtls::ScopedOpenSslVirtualClock clock{[this] { return now; }};

  explicit SctpPair(uint64_t seed = 1, sctp::SctpConfig config_a = {}, sctp::SctpConfig config_b = {})
      : random(seed) {
    config_a.role = sctp::SctpRole::kDtlsClient;
    config_b.role = sctp::SctpRole::kDtlsServer;
    a = sctp::SctpAssociation::Create(config_a).value();
    b = sctp::SctpAssociation::Create(config_b).value();
  }

  void start() {
    a->start(now);
    b->start(now);
  }

  // Moves packets whose time has come, drains events, then advances to the next deadline.
  void step() {
    for (int round = 0; round < 10000; ++round) {
      collect(*a, a_to_b);
      collect(*b, b_to_a);
      const bool to_b = deliver(a_to_b, *b);
      const bool to_a = deliver(b_to_a, *a);
      if (!to_b && !to_a) break;
    }
    while (auto e = a->pop_event()) events_a.push_back(std::move(*e));
    while (auto e = b->pop_event()) events_b.push_back(std::move(*e));
    Timestamp next = Timestamp::PlusInfinity();
    for (auto* s : {a.get(), b.get()}) {
      if (auto w = s->next_wakeup()) next = std::min(next, *w);
    }
    for (auto* l : {&a_to_b, &b_to_a}) {
      if (!l->queue.empty()) next = std::min(next, l->queue.front().first);
    }
    // Nothing scheduled (both associations down): time still passes, so run_until ends.
    if (next.is_plus_infinity()) next = now + TimeDelta::Millis(10);
    now = std::max(now, next);
    for (auto* s : {a.get(), b.get()}) {
      if (auto w = s->next_wakeup(); w && *w <= now) s->process(now);
    }
  }

  // Steps until `done` or `limit` of virtual time passed; whether `done` held.
  bool run_until(const std::function<bool()>& done, TimeDelta limit) {
    const Timestamp deadline = now + limit;
    while (!done()) {
      if (now > deadline) return false;
      step();
    }
    return true;
  }
  void run_for(TimeDelta duration) {
    const Timestamp end = now + duration;
    run_until([&] { return now >= end; }, duration + TimeDelta::Millis(1));
  }

  static size_t count(const std::vector<sctp::SctpEvent>& events, sctp::SctpEvent::Type type) {
    return static_cast<size_t>(std::count_if(events.begin(), events.end(), [&](const auto& e) { return e.type == type; }));
  }

 private:
  void collect(sctp::SctpAssociation& from, Link& link) {
    while (auto p = from.pop_outgoing()) {
      link.largest = std::max(link.largest, p->size());
      if (link.loss > 0 && random.uniform() < link.loss) {
        ++link.dropped;
        continue;
      }
      link.queue.emplace_back(now + delay, std::move(*p));
    }
  }
  bool deliver(Link& link, sctp::SctpAssociation& to) {
    bool any = false;
    while (!link.queue.empty() && link.queue.front().first <= now) {
      auto packet = std::move(link.queue.front().second);
      link.queue.pop_front();
      ++link.delivered;
      to.on_packet(packet, now);
      any = true;
    }
    return any;
  }
};

}  // namespace tern::test
