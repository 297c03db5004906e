// tools/net/http_bridge.h: WHIP signalling over real HTTP on 127.0.0.1 (cpp-httplib both ends),
// answered on the event loop's thread.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "tern/tools/net/http_bridge.h"
#include "tern/whip/whip_client.h"
#include "tern/whip/whip_endpoint.h"

using namespace tern;
using namespace tern::whip;

namespace {

struct LoopThreadHandler final : SessionHandler {
  std::thread::id loop_thread;
  bool always_on_loop = true;
  size_t candidates = 0;
  int ended = 0;
  void check_thread() { always_on_loop = always_on_loop && std::this_thread::get_id() == loop_thread; }
  std::variant<std::string, Refusal> create_session(const std::string& id, std::string_view, std::string_view offer,
                                                    Timestamp) override {
    check_thread();
    return "v=0\r\nanswer " + id + " to " + std::string(offer.substr(0, 9)) + "\r\n";
  }
  std::optional<Refusal> trickle(const std::string&, const IceFragment& fragment, Timestamp) override {
    check_thread();
    candidates += fragment.candidate_count();
    return std::nullopt;
  }
  void end_session(const std::string&, Timestamp) override {
    check_thread();
    ++ended;
  }
};

// Sends `request` on a new TCP connection to 127.0.0.1:port and returns what comes back until the
// end of the response's headers (bounded: 64 KiB, a 3 s receive timeout).
std::string raw_http(uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval tv{3, 0};
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    while (out.find("\r\n\r\n") == std::string::npos && out.size() < 65536) {
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      out.append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("http bridge: a WHIP client and endpoint over HTTP on 127.0.0.1, handled on the loop thread") {
  auto driver = transport::EpollDriver::Create();
  REQUIRE(driver.ok());
  LoopThreadHandler handler;
  handler.loop_thread = std::this_thread::get_id();
  WhipEndpointConfig config;
  config.bearer_tokens = {"tok"};
  config.ice_servers = {{"stun:127.0.0.1:3478", "", ""}};
  WhipEndpoint endpoint(config, handler);
  auto bridge = tools::net::HttpBridge::Start({}, driver.value(),
                                              [&](const HttpRequest& r, Timestamp now) { return endpoint.handle(r, now); });
  REQUIRE_MESSAGE(bridge.ok(), bridge.error());
  REQUIRE(bridge.value()->port() != 0);

  const HttpUrl url = HttpUrl::parse("http://127.0.0.1:" + std::to_string(bridge.value()->port()) + "/whip").value();
  std::atomic<bool> done{false};
  std::string failure;
  int unauthorized_status = 0, delete_status = 0, trickle_status = 0, large_status = 0;
  WhipSession session;
  std::string raw_response;  // to a browser-like HTTP/1.1 request (keep-alive by default)
  std::thread client([&] {
    auto response = tools::net::http_request(url, make_offer_request(url, "v=0 offer from client", "tok"));
    auto read = response.ok() ? read_offer_response(url, response.value()) : Result<WhipSession>(Error{response.error()});
    if (!read.ok()) {
      failure = std::string(read.error()) + (response.ok() ? " status " + std::to_string(response.value().status) + " " + response.value().body : "");
    } else {
      session = read.value();
      IceFragment fragment;
      fragment.media.push_back({"audio", "0", {sdp::SdpCandidate::parse("1 1 udp 2122260223 127.0.0.1 5000 typ host").value()}, true});
      trickle_status = tools::net::http_request(session.resource, make_trickle_request(session, fragment, "tok")).value().status;
      unauthorized_status = tools::net::http_request(url, make_offer_request(url, "v=0", "bad")).value().status;
      large_status = tools::net::http_request(url, make_offer_request(url, std::string(300 * 1024, 'v'), "tok")).value().status;
      delete_status = tools::net::http_request(session.resource, make_delete_request(session, "tok")).value().status;
      raw_response = raw_http(url.port, "OPTIONS /whip HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    }
    done = true;
  });
  for (int i = 0; i < 100 && !done; ++i) (void)driver.value().run_for(TimeDelta::Millis(50));
  client.join();
  REQUIRE_MESSAGE(failure.empty(), failure);
  CHECK(session.answer.find("to v=0 offer") != std::string::npos);
  CHECK(session.resource.port == url.port);
  CHECK(session.resource.path.rfind("/whip/resource/", 0) == 0);
  CHECK(session.resource.path.size() == 15 + 32);  // 128 random bits in hex
  CHECK(session.ice_servers.size() == 1);
  CHECK(trickle_status == 204);
  CHECK(handler.candidates == 1);
  CHECK(unauthorized_status == 401);
  CHECK(large_status == 413);  // refused by httplib before the loop sees it
  CHECK(delete_status == 200);
  CHECK(handler.ended == 1);
  CHECK(handler.always_on_loop);
  CHECK(bridge.value()->counters().requests == 5);  // and the raw OPTIONS
  // One request per connection: an idle kept-alive connection (a browser's) would hold a worker.
  INFO(raw_response);
  CHECK(raw_response.rfind("HTTP/1.1 204", 0) == 0);
  CHECK(raw_response.find("Connection: close\r\n") != std::string::npos);
}

TEST_CASE("http bridge: a loop that does not answer gives 503, and a closed port a clear client error") {
  auto driver = transport::EpollDriver::Create();
  REQUIRE(driver.ok());
  tools::net::HttpBridgeConfig config;
  config.reply_timeout = TimeDelta::Millis(200);
  auto bridge = tools::net::HttpBridge::Start(config, driver.value(), [](const HttpRequest&, Timestamp) { return HttpResponse{}; });
  REQUIRE(bridge.ok());
  const HttpUrl url = HttpUrl::parse("http://127.0.0.1:" + std::to_string(bridge.value()->port()) + "/whip").value();
  // The loop is not running: the request times out inside the bridge.
  auto response = tools::net::http_request(url, make_offer_request(url, "v=0"), TimeDelta::Seconds(3));
  REQUIRE(response.ok());
  CHECK(response.value().status == 503);
  CHECK(response.value().header("Retry-After"));
  CHECK(bridge.value()->counters().timed_out == 1);
  const uint16_t port = bridge.value()->port();
  bridge.value().reset();  // stops the server
  const HttpUrl gone = HttpUrl::parse("http://127.0.0.1:" + std::to_string(port) + "/whip").value();
  auto refused = tools::net::http_request(gone, make_offer_request(gone, "v=0"), TimeDelta::Seconds(2));
  REQUIRE_FALSE(refused.ok());
  CHECK(std::string_view(refused.error()).find("cannot connect") != std::string_view::npos);
}
