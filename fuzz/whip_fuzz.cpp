// Fuzzes the WHIP/WHEP signalling (whip/): trickle ICE fragments (RFC 8840) parse or are refused with
// a reason, and what parses writes back to text that parses to the same candidates; Link headers
// and URLs likewise; and hostile requests against a WhipEndpoint never crash, never create a session
// without a token, and never leave it above its bound.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/whip/whip_client.h"
#include "tern/whip/whip_endpoint.h"

using namespace tern::whip;

namespace {

class Handler final : public SessionHandler {
 public:
  std::variant<std::string, Refusal> create_session(const std::string&, std::string_view, std::string_view offer,
                                                    tern::Timestamp) override {
    if (!offer.empty() && offer[0] == 'x') return Refusal{422, "refused"};
    return std::string("v=0\r\n");
  }
  std::optional<Refusal> trickle(const std::string&, const IceFragment&, tern::Timestamp) override { return std::nullopt; }
  void end_session(const std::string&, tern::Timestamp) override {}
};

void check_fragment(std::string_view text) {
  auto fragment = IceFragment::parse(text);
  if (!fragment.ok()) {
    if (fragment.error()[0] == '\0') std::abort();
    return;
  }
  auto again = IceFragment::parse(fragment.value().to_string());
  if (!again.ok() || again.value().candidate_count() != fragment.value().candidate_count() ||
      again.value().media.size() != fragment.value().media.size() || again.value().ufrag != fragment.value().ufrag) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0:
      check_fragment(text);
      break;
    case 1: {
      auto links = parse_ice_server_links({{"Link", std::string(text)}});
      if (!links.ok() && links.error()[0] == '\0') std::abort();
      break;
    }
    case 2: {
      size_t split = text.find('\n');
      auto url = HttpUrl::parse(text.substr(0, split));
      if (url.ok()) {
        if (!HttpUrl::parse(url.value().to_string()).ok()) std::abort();
        if (split != std::string_view::npos) (void)url.value().resolve(text.substr(split + 1));  // either way is fine
      }
      break;
    }
    default: {
      // Requests separated by a 0xff byte: "<method-index><path-index><flags><body>".
      Handler handler;
      WhipEndpointConfig config;
      config.bearer_tokens = {"secret"};
      config.max_sessions = 2;
      uint64_t next = 0;
      config.id_generator = [&next] { return "id" + std::to_string(next++ % 3); };
      WhipEndpoint endpoint(config, handler);
      static const char* kMethods[] = {"POST", "PATCH", "DELETE", "OPTIONS", "GET"};
      static const char* kPaths[] = {"/whip", "/whip/room", "/whip/resource/id0", "/whip/resource/id1", "/x", "/whip/resource/"};
      size_t pos = 0;
      for (int i = 0; i < 16 && pos + 3 <= text.size(); ++i) {
        size_t end = text.find('\xff', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view chunk = text.substr(pos, end - pos);
        pos = end + 1;
        if (chunk.size() < 3) continue;
        HttpRequest request;
        request.method = kMethods[static_cast<uint8_t>(chunk[0]) % 5];
        request.path = kPaths[static_cast<uint8_t>(chunk[1]) % 6];
        uint8_t flags = static_cast<uint8_t>(chunk[2]);
        bool authorized = flags & 1;
        if (authorized) request.headers.emplace_back("Authorization", "Bearer secret");
        request.headers.emplace_back("Content-Type", (flags & 2) ? "application/trickle-ice-sdpfrag" : "application/sdp");
        if (flags & 4) request.headers.emplace_back("If-Match", (flags & 8) ? ((flags & 16) ? "\"*\"" : "*") : "\"id0-0\"");
        request.body.assign(chunk.substr(3));
        size_t before = endpoint.session_count();
        HttpResponse response = endpoint.handle(request, tern::Timestamp::Millis(i));
        if (!authorized && endpoint.session_count() > before) std::abort();
        if (endpoint.session_count() > config.max_sessions) std::abort();
        if (response.status < 200 || response.status > 599) std::abort();
      }
      break;
    }
  }
  return 0;
}
