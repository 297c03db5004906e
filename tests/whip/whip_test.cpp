#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tern/whip/whip_client.h"
#include "tern/whip/whip_endpoint.h"

using namespace tern;
using namespace tern::whip;

namespace {

constexpr const char* kFragment =
    "a=ice-options:trickle ice2\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=ice-ufrag:EsAw\r\n"
    "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n"
    "a=mid:0\r\n"
    "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw\r\n"
    "a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host\r\n"
    "a=candidate:473322822 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active\r\n"
    "a=end-of-candidates\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 0\r\n"
    "a=mid:1\r\n"
    "a=rtcp-mux\r\n";

// Records what the endpoint asked of it; refuses offers that start with "refuse".
struct RecordingHandler final : SessionHandler {
  std::vector<std::string> created, ended;
  std::vector<std::string> names;
  size_t trickled_candidates = 0;
  bool restarts = true;
  std::variant<std::string, Refusal> create_session(const std::string& id, std::string_view name, std::string_view offer,
                                                    Timestamp) override {
    if (offer.substr(0, 6) == "refuse") return Refusal{422, "no codec in common"};
    created.push_back(id);
    names.emplace_back(name);
    return std::string("v=0\r\nanswer-for-") + id + "\r\n";
  }
  std::optional<Refusal> trickle(const std::string&, const IceFragment& fragment, Timestamp) override {
    trickled_candidates += fragment.candidate_count();
    return std::nullopt;
  }
  std::variant<IceFragment, Refusal> restart(const std::string& id, const IceFragment& fragment, Timestamp now) override {
    if (!restarts) return SessionHandler::restart(id, fragment, now);
    IceFragment answer;
    answer.ufrag = "srvU";
    answer.pwd = "serverpassword0123456789";
    return answer;
  }
  void end_session(const std::string& id, Timestamp) override { ended.push_back(id); }
};

WhipEndpointConfig test_config() {
  WhipEndpointConfig config;
  config.bearer_tokens = {"s3cret"};
  config.max_sessions = 2;
  config.ice_servers = {{"stun:stun.example.net:3478", "", ""}, {"turn:turn.example.net?transport=udp", "user", "pa\"ss"}};
  int next = 0;
  config.id_generator = [next]() mutable { return "res" + std::to_string(next++); };
  return config;
}

HttpRequest request(std::string method, std::string path, std::string type, std::string body, std::string token = "s3cret") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
  if (!type.empty()) r.headers.emplace_back("Content-Type", type);
  r.body = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("whip: trickle ICE fragments (RFC 8840) parse, write back and refuse what is malformed") {
  auto parsed = IceFragment::parse(kFragment);
  REQUIRE_MESSAGE(parsed.ok(), parsed.error());
  const IceFragment& f = parsed.value();
  CHECK(f.ufrag == "EsAw");
  CHECK(f.pwd == "P2uYro0UCOQ4zxjKXaWCBui1");
  CHECK(f.ice_options == std::vector<std::string>{"trickle", "ice2"});
  CHECK(f.bundle_mids == std::vector<std::string>{"0", "1"});
  REQUIRE(f.media.size() == 2);
  CHECK(f.media[0].kind == "audio");
  CHECK(f.media[0].mid == "0");
  CHECK(f.media[0].candidates.size() == 3);
  CHECK(f.media[0].candidates[2].transport == "tcp");
  CHECK(f.media[0].end_of_candidates);
  CHECK(f.media[1].candidates.empty());
  CHECK_FALSE(f.media[1].end_of_candidates);
  CHECK(f.ignored_attributes == 1);  // a=rtcp-mux
  CHECK(f.candidate_count() == 3);
  CHECK(f.is_restart("other"));
  CHECK_FALSE(f.is_restart("EsAw"));

  auto again = IceFragment::parse(f.to_string());
  REQUIRE(again.ok());
  CHECK(again.value().to_string() == f.to_string());
  CHECK(again.value().media[0].candidates[0].candidate.address == f.media[0].candidates[0].candidate.address);

  // LF line ends are read as well.
  CHECK(IceFragment::parse("m=audio 9 X 0\na=mid:a\na=end-of-candidates\n").ok());

  struct Bad {
    std::string text;
    std::string_view reason;
  };
  const std::string too_many = [] {
    std::string s = "m=audio 9 X 0\r\na=mid:0\r\n";
    for (int i = 0; i <= 64; ++i) s += "a=candidate:1 1 udp 1 192.0.2.1 " + std::to_string(1000 + i) + " typ host\r\n";
    return s;
  }();
  const Bad bad[] = {
      {"a=candidate:1 1 udp 1 192.0.2.1 1 typ host\r\n", "a=candidate outside a media section"},
      {"a=end-of-candidates\r\n", "a=end-of-candidates outside a media section"},
      {"m=audio 9 X 0\r\na=candidate:1 1 udp 1 192.0.2.1 1 typ host\r\n", "media section without a=mid"},
      {"m=audio 9 X 0\r\na=mid:0\r\na=mid:1\r\n", "two a=mid"},
      {"a=ice-ufrag:ab\r\n", "malformed a=ice-ufrag"},
      {"a=ice-ufrag:abc$d\r\n", "malformed a=ice-ufrag"},
      {"a=ice-pwd:short\r\n", "malformed a=ice-pwd"},
      {"a=ice-ufrag:abcd\r\na=ice-ufrag:efgh\r\n", "conflicting a=ice-ufrag"},
      {"v=0\r\n", "other than a= or m="},
      {"garbage\r\n", "not <type>=<value>"},
      {"m= 9 X 0\r\n", "malformed m= line"},
      {"m=audio 9 X 0\r\na=mid:0\r\na=candidate:bad\r\n", ""},
      {std::string(2000, 'a'), "too long"},
      {std::string(17000, '\n'), "larger than 16 KiB"},
      {too_many, "too many candidates"},
  };
  for (const auto& b : bad) {
    auto r = IceFragment::parse(b.text);
    CAPTURE(b.text.substr(0, 60));
    REQUIRE_FALSE(r.ok());
    CHECK(std::string_view(r.error()).find(b.reason) != std::string_view::npos);
  }
}

TEST_CASE("whip: the endpoint creates, trickles, restarts and deletes sessions, with the status codes of RFC 9725") {
  RecordingHandler handler;
  WhipEndpoint endpoint(test_config(), handler);
  const Timestamp now = Timestamp::Millis(1);

  HttpResponse created = endpoint.handle(request("POST", "/whip/room-1", "application/sdp; charset=utf-8", "v=0 offer"), now);
  REQUIRE(created.status == 201);
  CHECK(created.header("location") == "/whip/resource/res0");
  CHECK(created.header("Content-Type") == "application/sdp");
  CHECK(created.body == "v=0\r\nanswer-for-res0\r\n");
  REQUIRE(created.header("ETag"));
  const std::string etag(*created.header("ETag"));
  CHECK(handler.names == std::vector<std::string>{"room-1"});
  auto links = parse_ice_server_links(created.headers);
  REQUIRE(links.ok());
  REQUIRE(links.value().size() == 2);
  CHECK(links.value()[1].url == "turn:turn.example.net?transport=udp");
  CHECK(links.value()[1].username == "user");
  CHECK(links.value()[1].credential == "pa\"ss");  // quoted and unquoted back
  CHECK(endpoint.has_session("res0"));

  // Trickle: 204, candidates reach the handler; a stale ETag is refused (412).
  HttpRequest trickle = request("PATCH", "/whip/resource/res0", "application/trickle-ice-sdpfrag", kFragment);
  trickle.headers.emplace_back("If-Match", etag);
  CHECK(endpoint.handle(trickle, now).status == 204);
  CHECK(handler.trickled_candidates == 3);
  HttpRequest stale = request("PATCH", "/whip/resource/res0", "application/trickle-ice-sdpfrag", kFragment);
  stale.headers.emplace_back("If-Match", "\"other\"");
  CHECK(endpoint.handle(stale, now).status == 412);
  CHECK(handler.trickled_candidates == 3);
  HttpRequest malformed = request("PATCH", "/whip/resource/res0", "application/trickle-ice-sdpfrag", "a=candidate:x\r\n");
  HttpResponse bad = endpoint.handle(malformed, now);
  CHECK(bad.status == 400);
  CHECK(bad.body.find("outside a media section") != std::string::npos);
  CHECK(endpoint.handle(request("PATCH", "/whip/resource/res0", "application/sdp", kFragment), now).status == 415);

  // ICE restart: If-Match "*", new credentials -> 200 with the server's fragment and a new ETag.
  HttpRequest restart = request("PATCH", "/whip/resource/res0", "application/trickle-ice-sdpfrag",
                                "a=ice-ufrag:newU\r\na=ice-pwd:newpassword0123456789012\r\n");
  restart.headers.emplace_back("If-Match", "*");
  HttpResponse restarted = endpoint.handle(restart, now);
  REQUIRE(restarted.status == 200);
  CHECK(restarted.header("ETag") != etag);
  auto server_fragment = IceFragment::parse(restarted.body);
  REQUIRE(server_fragment.ok());
  CHECK(server_fragment.value().ufrag == "srvU");
  CHECK(endpoint.handle(trickle, now).status == 412);  // the old ETag no longer matches
  // If-Match: "*" quoted, as RFC 9725's example writes it (and a browser page sends it): a restart too.
  HttpRequest quoted = request("PATCH", "/whip/resource/res0", "application/trickle-ice-sdpfrag",
                               "a=ice-ufrag:newV\r\na=ice-pwd:newpassword0123456789013\r\n");
  quoted.headers.emplace_back("If-Match", "\"*\"");
  CHECK(endpoint.handle(quoted, now).status == 200);
  CHECK(endpoint.counters().restarts == 2);
  HttpRequest restart_without_pwd = request("PATCH", "/whip/resource/res0", "application/trickle-ice-sdpfrag", "a=ice-ufrag:newU\r\n");
  restart_without_pwd.headers.emplace_back("If-Match", "*");
  CHECK(endpoint.handle(restart_without_pwd, now).status == 400);
  handler.restarts = false;
  CHECK(endpoint.handle(restart, now).status == 405);

  // Authentication: no session is created or touched without the token.
  HttpResponse unauthorized = endpoint.handle(request("POST", "/whip", "application/sdp", "v=0", ""), now);
  CHECK(unauthorized.status == 401);
  CHECK(unauthorized.header("WWW-Authenticate") == "Bearer");
  CHECK(endpoint.handle(request("POST", "/whip", "application/sdp", "v=0", "s3cre7"), now).status == 401);
  CHECK(endpoint.handle(request("DELETE", "/whip/resource/res0", "", "", "wrong"), now).status == 401);
  CHECK(endpoint.session_count() == 1);
  CHECK(endpoint.counters().unauthorized == 3);

  // What the endpoint refuses before the handler sees it, and what the handler refuses.
  CHECK(endpoint.handle(request("POST", "/whip", "text/plain", "v=0"), now).status == 415);
  CHECK(endpoint.handle(request("POST", "/whip", "application/sdp", ""), now).status == 400);
  CHECK(endpoint.handle(request("POST", "/whip", "application/sdp", std::string(70000, 'v')), now).status == 413);
  CHECK(endpoint.handle(request("POST", "/whip/../etc", "application/sdp", "v=0"), now).status == 404);
  CHECK(endpoint.handle(request("POST", "/whipx", "application/sdp", "v=0"), now).status == 404);
  HttpResponse refused = endpoint.handle(request("POST", "/whip", "application/sdp", "refuse me"), now);
  CHECK(refused.status == 422);
  CHECK(refused.body == "no codec in common\n");
  HttpResponse get = endpoint.handle(request("GET", "/whip", "", ""), now);
  CHECK(get.status == 405);
  CHECK(get.header("Allow") == "POST, OPTIONS");
  CHECK(endpoint.handle(request("GET", "/whip/resource/res0", "", ""), now).status == 405);
  CHECK(endpoint.handle(request("PATCH", "/whip/resource/nope", "application/trickle-ice-sdpfrag", ""), now).status == 404);

  // The bound: max_sessions (2) -> 503 with Retry-After.
  HttpResponse second = endpoint.handle(request("POST", "/whip", "application/sdp", "v=0"), now);
  CHECK(second.status == 201);
  CHECK(second.header("Location") == "/whip/resource/res2");  // res1 went to the refused offer
  HttpResponse busy = endpoint.handle(request("POST", "/whip", "application/sdp", "v=0"), now);
  CHECK(busy.status == 503);
  CHECK(busy.header("Retry-After"));
  CHECK(endpoint.session_count() == 2);

  // DELETE ends the session once; the application can drop one on its own.
  CHECK(endpoint.handle(request("DELETE", "/whip/resource/res0", "", ""), now).status == 200);
  CHECK(handler.ended == std::vector<std::string>{"res0"});
  CHECK(endpoint.handle(request("DELETE", "/whip/resource/res0", "", ""), now).status == 404);
  CHECK(endpoint.drop("res2"));
  CHECK_FALSE(endpoint.drop("res2"));
  CHECK(endpoint.handle(request("DELETE", "/whip/resource/res2", "", ""), now).status == 404);
  CHECK(handler.ended.size() == 1);
  CHECK(endpoint.session_count() == 0);
  CHECK(endpoint.counters().sessions_created == 2);
  CHECK(endpoint.counters().sessions_deleted == 1);
  CHECK(endpoint.counters().sessions_dropped == 1);
}

TEST_CASE("whip: OPTIONS and CORS let a browser page on another origin use the endpoint") {
  RecordingHandler handler;
  WhipEndpointConfig config = test_config();
  config.cors_origin = std::string(1, '*');
  WhipEndpoint endpoint(config, handler);
  // A preflight carries no Authorization header and is answered anyway.
  HttpResponse preflight = endpoint.handle(request("OPTIONS", "/whip", "", "", ""), Timestamp::Millis(1));
  CHECK(preflight.status == 204);
  CHECK(preflight.header("Accept-Post") == "application/sdp");
  CHECK(preflight.header("Access-Control-Allow-Origin") == "*");
  CHECK(preflight.header("Access-Control-Allow-Headers")->find("Authorization") != std::string_view::npos);
  HttpResponse created = endpoint.handle(request("POST", "/whip", "application/sdp", "v=0"), Timestamp::Millis(1));
  CHECK(created.header("Access-Control-Expose-Headers")->find("Location") != std::string_view::npos);
  HttpResponse resource = endpoint.handle(request("OPTIONS", "/whip/resource/res0", "", "", ""), Timestamp::Millis(1));
  CHECK(resource.header("Accept-Patch") == "application/trickle-ice-sdpfrag");
  // Without cors_origin, no CORS headers at all.
  WhipEndpoint plain(test_config(), handler);
  CHECK_FALSE(plain.handle(request("OPTIONS", "/whip", "", "", ""), Timestamp::Millis(1)).header("Access-Control-Allow-Origin"));
}

TEST_CASE("whip: the client builds requests and reads the endpoint's answers, URLs and Link headers") {
  auto url = HttpUrl::parse("http://127.0.0.1:8080/whip/room?x=1#frag");
  REQUIRE(url.ok());
  CHECK(url.value().host == "127.0.0.1");
  CHECK(url.value().port == 8080);
  CHECK(url.value().path == "/whip/room?x=1");
  CHECK(url.value().to_string() == "http://127.0.0.1:8080/whip/room?x=1");
  auto v6 = HttpUrl::parse("https://[::1]/whep");
  REQUIRE(v6.ok());
  CHECK(v6.value().host == "::1");
  CHECK(v6.value().port == 443);
  CHECK(v6.value().origin() == "https://[::1]");
  CHECK(HttpUrl::parse("http://example.net").value().path == "/");
  for (const char* bad : {"ftp://x/", "http://", "http://h:0/", "http://h:99999/", "http://u@h/", "http://h:x/", "http://[::1/",
                          "http://h/a b", "example.net/whip"}) {
    CAPTURE(bad);
    CHECK_FALSE(HttpUrl::parse(bad).ok());
  }
  CHECK(url.value().resolve("/whip/resource/1").value().to_string() == "http://127.0.0.1:8080/whip/resource/1");
  CHECK(url.value().resolve("resource/1").value().to_string() == "http://127.0.0.1:8080/whip/resource/1");
  CHECK(url.value().resolve("https://sfu.example.net/r/1").value().to_string() == "https://sfu.example.net/r/1");
  CHECK_FALSE(url.value().resolve("//evil.example/x").ok());

  // The client against the endpoint, end to end in values.
  RecordingHandler handler;
  WhipEndpoint endpoint(test_config(), handler);
  HttpUrl endpoint_url = HttpUrl::parse("http://127.0.0.1:8080/whip").value();
  HttpResponse response = endpoint.handle(make_offer_request(endpoint_url, "v=0 offer", "s3cret"), Timestamp::Millis(1));
  auto session = read_offer_response(endpoint_url, response);
  REQUIRE_MESSAGE(session.ok(), session.error());
  CHECK(session.value().resource.to_string() == "http://127.0.0.1:8080/whip/resource/res0");
  CHECK(session.value().answer == "v=0\r\nanswer-for-res0\r\n");
  CHECK(session.value().ice_servers.size() == 2);
  CHECK_FALSE(session.value().etag.empty());
  IceFragment fragment = IceFragment::parse(kFragment).value();
  CHECK(endpoint.handle(make_trickle_request(session.value(), fragment, "s3cret"), Timestamp::Millis(2)).status == 204);
  CHECK(handler.trickled_candidates == 3);
  CHECK(endpoint.handle(make_restart_request(session.value(), fragment, "s3cret"), Timestamp::Millis(3)).status == 200);
  CHECK(endpoint.handle(make_delete_request(session.value(), "s3cret"), Timestamp::Millis(4)).status == 200);
  CHECK(handler.ended.size() == 1);

  // Refusals become reasons.
  CHECK(std::string_view(read_offer_response(endpoint_url, endpoint.handle(make_offer_request(endpoint_url, "v=0"), Timestamp::Millis(5))).error())
            .find("bearer token") != std::string_view::npos);
  HttpResponse no_location = response;
  no_location.headers.clear();
  no_location.headers.emplace_back("Content-Type", "application/sdp");
  CHECK(std::string_view(read_offer_response(endpoint_url, no_location).error()).find("Location") != std::string_view::npos);
  HttpResponse ok200 = response;
  ok200.status = 200;
  CHECK_FALSE(read_offer_response(endpoint_url, ok200).ok());

  // Link headers: several per header, other rels skipped, malformed refused.
  auto links = parse_ice_server_links({{"link", "<https://x.example/>; rel=\"next\", <stun:a.example>; rel=ice-server"},
                                       {"Link", "<turn:b.example?transport=tcp>; rel=\"ice-server\"; username=u; credential=\"p\\\"w\""}});
  REQUIRE(links.ok());
  REQUIRE(links.value().size() == 2);
  CHECK(links.value()[0].url == "stun:a.example");
  CHECK(links.value()[1].credential == "p\"w");
  CHECK_FALSE(parse_ice_server_links({{"Link", "stun:a.example; rel=ice-server"}}).ok());
  CHECK_FALSE(parse_ice_server_links({{"Link", "<stun:a>; rel=\"ice-server"}}).ok());
}
