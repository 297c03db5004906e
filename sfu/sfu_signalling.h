// SfuSignalling: the whip::SessionHandler behind tern-sfu's two whip::WhipEndpoints: offers POSTed
// to the WHIP endpoint "/whip/<room>" publish into the room, those POSTed to the WHEP endpoint
// "/whep/<room>" subscribe to it; DELETE ends the session. In a call room (RoomMode::kCall) a side
// subscribes to the other side at "/whep/<its own WHIP resource id>" (the last segment of the
// Location its WHIP POST got): the server pairs the two, and only who knows that unguessable id can
// watch that side of the call. A WHEP name that is a resource id is looked up first, then as a room. The WHIP resource id (random, from the
// endpoint) maps to the server's SessionId both ways, so sessions the server ends itself (timeout,
// failure, drain) can be dropped from their endpoint (ended()).
//
// Trickled candidates (PATCH) are accepted and ignored: the server is ICE-lite and learns the
// client's address from its authenticated checks (peer-reflexive, RFC 8445 7.3.1.3). An ICE restart
// (PATCH with If-Match: "*" and new credentials, RFC 9725 4.4) goes to SfuServer::restart(): 200
// with the server's new ufrag/pwd, its candidate and end-of-candidates; 404 unknown resource, 400
// bad credentials, 429 over the per-session rate (SfuConfig::max_restarts_per_minute).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tern/sfu/sfu_server.h"
#include "tern/whip/whip_endpoint.h"

namespace tern::sfu {

class SfuSignalling {
 public:
  explicit SfuSignalling(SfuServer& server) : server_(server), whip_(*this, SessionRole::kPublisher), whep_(*this, SessionRole::kSubscriber) {}

  // The handlers for the WHIP and the WHEP endpoint.
  whip::SessionHandler& whip_handler() { return whip_; }
  whip::SessionHandler& whep_handler() { return whep_; }

  // Resource ids of sessions the server ended on its own since the last call (take_ended()):
  // drop them from their endpoint (WhipEndpoint::drop).
  std::vector<std::string> ended();
  size_t resource_count() const { return by_resource_.size(); }

 private:
  class Handler final : public whip::SessionHandler {
   public:
    Handler(SfuSignalling& owner, SessionRole role) : owner_(owner), role_(role) {}
    std::variant<std::string, whip::Refusal> create_session(const std::string& id, std::string_view name,
                                                            std::string_view offer, Timestamp now) override;
    std::optional<whip::Refusal> trickle(const std::string& id, const whip::IceFragment& fragment, Timestamp now) override;
    std::variant<whip::IceFragment, whip::Refusal> restart(const std::string& id, const whip::IceFragment& fragment,
                                                           Timestamp now) override;
    void end_session(const std::string& id, Timestamp now) override;

   private:
    SfuSignalling& owner_;
    SessionRole role_;
    std::string reason_;  // the last refusal's text: whip::Refusal carries a pointer to it
  };

  SfuServer& server_;
  Handler whip_;
  Handler whep_;
  std::map<std::string, SessionId> by_resource_;
  std::map<SessionId, std::string> by_session_;
};

}  // namespace tern::sfu
