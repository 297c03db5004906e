// HttpBridge: an HTTP server (cpp-httplib, Debian's libcpp-httplib) whose requests are answered on
// the event loop's thread. httplib reads and parses on its own small thread pool; each request is
// turned into a whip::HttpRequest, queued, and the loop is woken through an eventfd; the loop runs
// the handler (e.g. whip::WhipEndpoint::handle, which touches PeerConnections) with its own clock
// and hands the whip::HttpResponse back. So the sans-I/O objects stay single-threaded.
//
// StartThreaded: the handler runs on httplib's own threads instead (`threads` of them, each request
// on one, concurrently), for a handler that is thread-safe and may wait (tern-sfu's front, which
// waits for one worker per request: a slow worker then holds that request's thread alone, never
// the other requests); max_pending and reply_timeout do not apply, the handler answers in its time.
//
// HTTPS when the config names a certificate and key (httplib's SSLServer over OpenSSL, TLS 1.2+).
//
// Bounds and policies: at most max_pending requests wait for the loop (more get 503 with
// Retry-After); a request the loop does not answer within reply_timeout gets 503 (its late answer is
// discarded); bodies above max_body get 413 from httplib before they are read whole; request and
// response headers at most httplib's own limits (8 KiB per line, 100 headers).
//
// HttpClient: a blocking client for one request (WHIP/WHEP POST, PATCH, DELETE), http or https
// (certificates verified), with a timeout. Errors name the cause ("connection refused", ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/transport/epoll_driver.h"
#include "tern/whip/http_message.h"
#include "tern/whip/whip_client.h"

namespace tern::tools::net {

struct HttpBridgeConfig {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (see port())
  size_t max_pending = 16;
  TimeDelta reply_timeout = TimeDelta::Seconds(5);
  size_t max_body = 256 * 1024;
  int threads = 2;
  // HTTPS: PEM files of the server's certificate (chain) and its private key; both empty: plain
  // HTTP. A pair that does not load fails Start ("https: ...").
  std::string tls_certificate;
  std::string tls_private_key;
};

struct HttpBridgeCounters {
  uint64_t requests = 0;    // answered by the handler
  uint64_t overloaded = 0;  // 503: queue full
  uint64_t timed_out = 0;   // 503: the loop did not answer in time
};

class HttpBridge {
 public:
  using Handler = std::function<whip::HttpResponse(const whip::HttpRequest&, Timestamp now)>;

  // Binds (errors: "http: cannot bind ADDRESS:PORT"), registers its eventfd with `driver` and starts
  // serving. The driver must outlive the bridge, and run for requests to be answered.
  static Result<std::unique_ptr<HttpBridge>> Start(const HttpBridgeConfig& config, transport::EpollDriver& driver,
                                                   Handler handler);
  // Binds and starts serving with `handler` called on the server's `config.threads` threads,
  // concurrently (it must be thread-safe), `now` from EpollDriver::Now().
  static Result<std::unique_ptr<HttpBridge>> StartThreaded(const HttpBridgeConfig& config, Handler handler);
  ~HttpBridge();  // stops the server (requests in flight get 503) and joins its thread
  HttpBridge(const HttpBridge&) = delete;
  HttpBridge& operator=(const HttpBridge&) = delete;

  uint16_t port() const;
  HttpBridgeCounters counters() const;

  struct Impl;

 private:
  explicit HttpBridge(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Sends one request to `url`'s origin (the request's path is used as is) and returns the response,
// or an error: "http: connection refused", "http: timed out", "http: TLS handshake failed", ...
Result<whip::HttpResponse> http_request(const whip::HttpUrl& url, const whip::HttpRequest& request,
                                        TimeDelta timeout = TimeDelta::Seconds(10));

}  // namespace tern::tools::net
