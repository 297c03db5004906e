#include "tern/netsim/path.h"

namespace tern::netsim {

Result<Path> Path::Direct(const LinkConfig& link) { return Chain({link}); }

Result<Path> Path::Relay(const LinkConfig& to_relay, const LinkConfig& from_relay) {
  return Chain({to_relay, from_relay});
}

Result<Path> Path::Chain(const std::vector<LinkConfig>& hops) {
  if (hops.empty() || hops.size() > kMaxHops) return Error{"path needs between 1 and 16 hops"};
  std::vector<Link> links;
  links.reserve(hops.size());
  for (const LinkConfig& c : hops) {
    auto link = Link::Create(c);
    if (!link) return Error{link.error()};
    links.push_back(std::move(*link));
  }
  return Path(std::move(links));
}

void Path::send(SimPacket packet, Timestamp now) { links_.front().send(std::move(packet), now); }

std::optional<Timestamp> Path::next_wakeup() const {
  std::optional<Timestamp> next;
  for (const Link& l : links_) {
    const auto w = l.next_wakeup();
    if (w && (!next || *w < *next)) next = w;
  }
  return next;
}

void Path::process(Timestamp now) {
  // Hops in order, so a packet leaving hop i at t <= now is in hop i + 1 before it is processed.
  for (size_t i = 0; i < links_.size(); ++i) {
    std::vector<SimPacket> out = links_[i].process(now);
    for (SimPacket& p : out) {
      if (i + 1 < links_.size()) {
        const Timestamp arrived = p.delivery_time;
        links_[i + 1].send(std::move(p), arrived);
      } else if (sink_) {
        ++delivered_;
        sink_->on_packet(std::move(p), now);
      } else {
        ++undeliverable_;
      }
    }
  }
}

}  // namespace tern::netsim
