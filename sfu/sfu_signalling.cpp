#include "tern/sfu/sfu_signalling.h"

namespace tern::sfu {

std::variant<std::string, whip::Refusal> SfuSignalling::Handler::create_session(const std::string& id, std::string_view name,
                                                                                std::string_view offer, Timestamp now) {
  std::variant<SfuAnswer, SfuRefusal> r;
  if (role_ == SessionRole::kPublisher) {
    r = owner_.server_.publish(name, offer, now);
  } else if (auto self = owner_.by_resource_.find(std::string(name)); self != owner_.by_resource_.end()) {
    r = owner_.server_.subscribe_peer(self->second, offer, now);  // "/whep/<my WHIP resource id>": the other side
  } else {
    r = owner_.server_.subscribe(name, offer, now);
  }
  if (auto* refusal = std::get_if<SfuRefusal>(&r)) {
    reason_ = std::move(refusal->reason);  // WhipEndpoint copies it into the response at once
    return whip::Refusal{refusal->status, reason_.c_str()};
  }
  SfuAnswer& answer = std::get<SfuAnswer>(r);
  owner_.by_resource_[id] = answer.id;
  owner_.by_session_[answer.id] = id;
  return std::move(answer.sdp);
}

std::optional<whip::Refusal> SfuSignalling::Handler::trickle(const std::string& id, const whip::IceFragment&, Timestamp) {
  if (owner_.by_resource_.count(id) == 0) return whip::Refusal{404, "no such session"};
  return std::nullopt;  // ICE-lite: the client's checks tell the server its address
}

std::variant<whip::IceFragment, whip::Refusal> SfuSignalling::Handler::restart(const std::string& id,
                                                                               const whip::IceFragment& fragment, Timestamp now) {
  auto it = owner_.by_resource_.find(id);
  if (it == owner_.by_resource_.end()) return whip::Refusal{404, "no such session"};
  if (!fragment.ufrag || !fragment.pwd) return whip::Refusal{400, "an ICE restart needs a=ice-ufrag and a=ice-pwd"};
  auto r = owner_.server_.restart(it->second, ice::IceCredentials{*fragment.ufrag, *fragment.pwd}, now);
  if (auto* refusal = std::get_if<SfuRefusal>(&r)) {
    reason_ = std::move(refusal->reason);
    return whip::Refusal{refusal->status, reason_.c_str()};
  }
  SfuRestart& restart = std::get<SfuRestart>(r);
  whip::IceFragment answer;
  answer.ufrag = restart.local.ufrag;
  answer.pwd = restart.local.pwd;
  whip::FragmentMedia m;
  m.kind = restart.kind;
  m.mid = restart.mid;
  sdp::SdpCandidate c;
  c.candidate = restart.candidate;
  m.candidates.push_back(std::move(c));
  m.end_of_candidates = true;  // ICE-lite: the one host candidate is all there is
  answer.media.push_back(std::move(m));
  return answer;
}

void SfuSignalling::Handler::end_session(const std::string& id, Timestamp now) {
  auto it = owner_.by_resource_.find(id);
  if (it == owner_.by_resource_.end()) return;
  (void)owner_.server_.end_session(it->second, now);  // false: the server had ended it already
  owner_.by_session_.erase(it->second);
  owner_.by_resource_.erase(it);
}

std::vector<std::string> SfuSignalling::ended() {
  std::vector<std::string> ids;
  for (SessionId s : server_.take_ended()) {
    auto it = by_session_.find(s);
    if (it == by_session_.end()) continue;
    ids.push_back(it->second);
    by_resource_.erase(it->second);
    by_session_.erase(it);
  }
  return ids;
}

}  // namespace tern::sfu
