#include "tern/tools/net/http_bridge.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <httplib.h>

#include "tern/core/ascii.h"

namespace tern::tools::net {
namespace {

// One request between an httplib worker and the loop. The worker waits on `done`; a late answer
// after the worker gave up is harmless (the shared state outlives both).
struct Pending {
  whip::HttpRequest request;
  whip::HttpResponse response;
  bool answered = false;
  std::mutex mutex;
  std::condition_variable done;
};

whip::HttpResponse service_unavailable(const char* reason) {
  whip::HttpResponse response;
  response.status = 503;
  response.add("Retry-After", "1").add("Content-Type", "text/plain");
  response.body = std::string(reason) + "\n";
  return response;
}

}  // namespace

struct HttpBridge::Impl {
  HttpBridgeConfig config;
  transport::EpollDriver* driver = nullptr;
  Handler handler;
  // httplib::Server, or its SSLServer when the config names a certificate (HTTPS).
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  int event_fd = -1;
  int port = 0;

  mutable std::mutex mutex;  // guards queue, stopping and counters
  bool stopping = false;
  std::deque<std::shared_ptr<Pending>> queue;
  HttpBridgeCounters counters;

  // On an httplib worker thread.
  void serve(const httplib::Request& in, httplib::Response& out) {
    auto pending = std::make_shared<Pending>();
    pending->request.method = in.method;
    pending->request.path = in.path;
    for (const auto& [name, value] : in.headers) pending->request.headers.emplace_back(name, value);
    pending->request.body = in.body;
    if (driver == nullptr) {  // StartThreaded: answered here, on this thread
      {
        std::lock_guard lock(mutex);
        ++counters.requests;
      }
      write_response(handler(pending->request, transport::EpollDriver::Now()), out);
      return;
    }
    bool queued = false;
    {
      std::lock_guard lock(mutex);
      if (stopping) {
        // answered below as busy: the bridge is going away
      } else if (queue.size() < config.max_pending) {
        queue.push_back(pending);
        queued = true;
      } else {
        ++counters.overloaded;
      }
    }
    whip::HttpResponse response;
    if (!queued) {
      response = service_unavailable("server busy");
    } else {
      uint64_t one = 1;
      if (::write(event_fd, &one, sizeof(one)) != sizeof(one)) {
        // The counter cannot overflow in practice; a failed wake-up is answered by the timeout below.
      }
      std::unique_lock lock(pending->mutex);
      bool answered = pending->done.wait_for(lock, std::chrono::microseconds(config.reply_timeout.us()),
                                             [&] { return pending->answered; });
      if (answered) {
        response = pending->response;
      } else {
        response = service_unavailable("the event loop did not answer in time");
        std::lock_guard counters_lock(mutex);
        ++counters.timed_out;
      }
    }
    write_response(response, out);
  }

  static void write_response(const whip::HttpResponse& response, httplib::Response& out) {
    out.status = response.status;
    std::string content_type = "text/plain";
    for (const auto& [name, value] : response.headers) {
      if (ascii_iequals(name, "Content-Type")) {
        content_type = value;
      } else {
        out.headers.emplace(name, value);
      }
    }
    if (!response.body.empty()) out.set_content(response.body, content_type.c_str());
  }

  // On the loop's thread.
  void drain(Timestamp now) {
    uint64_t count = 0;
    if (::read(event_fd, &count, sizeof(count)) < 0) {
      // EAGAIN: a spurious wake-up; the queue below says what there is to do.
    }
    while (true) {
      std::shared_ptr<Pending> pending;
      {
        std::lock_guard lock(mutex);
        if (queue.empty()) break;
        pending = std::move(queue.front());
        queue.pop_front();
        ++counters.requests;
      }
      whip::HttpResponse response = handler(pending->request, now);
      {
        std::lock_guard lock(pending->mutex);
        pending->response = std::move(response);
        pending->answered = true;
      }
      pending->done.notify_one();
    }
  }
};

HttpBridge::HttpBridge(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

namespace {

// The server of `impl` configured, bound and serving on its thread; its handler's driver (if any)
// registered first. Closes the eventfd on an error.
Result<std::unique_ptr<HttpBridge::Impl>> start_bridge(std::unique_ptr<HttpBridge::Impl> impl) {
  const HttpBridgeConfig& config = impl->config;
  auto fail = [&](const char* what) -> Result<std::unique_ptr<HttpBridge::Impl>> {
    if (impl->event_fd >= 0) ::close(impl->event_fd);
    return Error{what};
  };
  HttpBridge::Impl* raw = impl.get();
  if (config.tls_certificate.empty() != config.tls_private_key.empty())
    return fail("https: give both the certificate and its private key (PEM files)");
  if (!config.tls_certificate.empty()) {
    auto tls = std::make_unique<httplib::SSLServer>(config.tls_certificate.c_str(), config.tls_private_key.c_str());
    if (!tls->is_valid()) return fail("https: the certificate or private key could not be loaded (PEM files, matching)");
    impl->server = std::move(tls);
  } else {
    impl->server = std::make_unique<httplib::Server>();
  }
  int threads = config.threads > 0 ? config.threads : 1;
  impl->server->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  impl->server->set_payload_max_length(config.max_body);
  impl->server->set_read_timeout(5, 0);
  // One request per connection: a browser keeps its connections alive, and each idle kept-alive
  // connection would hold one of the few workers for the keep-alive timeout (5 s), so two browser
  // tabs would stall every other client's signalling that long.
  impl->server->set_keep_alive_max_count(1);
  // Every method on every path goes to the handler, which routes (httplib reads the body only for
  // routed handlers, not in a pre-routing one).
  auto serve = [raw](const httplib::Request& in, httplib::Response& out) { raw->serve(in, out); };
  impl->server->Get(".*", serve).Post(".*", serve).Put(".*", serve).Patch(".*", serve).Delete(".*", serve).Options(".*", serve);
  if (config.port == 0) {
    impl->port = impl->server->bind_to_any_port(config.bind_address);
    if (impl->port <= 0) return fail("http: cannot bind the address");
  } else {
    if (!impl->server->bind_to_port(config.bind_address, config.port)) return fail("http: cannot bind the address and port (in use?)");
    impl->port = config.port;
  }
  if (impl->driver != nullptr) {
    Status added = impl->driver->add_fd(impl->event_fd, [raw](Timestamp now) { raw->drain(now); });
    if (!added.ok()) {
      ::close(impl->event_fd);
      return Error{added.error()};
    }
  }
  impl->thread = std::thread([raw] { raw->server->listen_after_bind(); });
  return impl;
}

}  // namespace

Result<std::unique_ptr<HttpBridge>> HttpBridge::Start(const HttpBridgeConfig& config, transport::EpollDriver& driver,
                                                      Handler handler) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->driver = &driver;
  impl->handler = std::move(handler);
  impl->event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->event_fd < 0) return Error{"http: cannot create an eventfd"};
  auto started = start_bridge(std::move(impl));
  if (!started) return Error{started.error()};
  return std::unique_ptr<HttpBridge>(new HttpBridge(std::move(started).value()));
}

Result<std::unique_ptr<HttpBridge>> HttpBridge::StartThreaded(const HttpBridgeConfig& config, Handler handler) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->handler = std::move(handler);  // driver null, no eventfd: serve() calls the handler itself
  auto started = start_bridge(std::move(impl));
  if (!started) return Error{started.error()};
  return std::unique_ptr<HttpBridge>(new HttpBridge(std::move(started).value()));
}

HttpBridge::~HttpBridge() {
  if (!impl_) return;
  // Requests still queued get their answer first, so no worker waits out its timeout while the
  // server's thread pool is joined; new ones are refused from now on.
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    for (auto& pending : impl_->queue) {
      std::lock_guard pending_lock(pending->mutex);
      pending->response = service_unavailable("server stopping");
      pending->answered = true;
      pending->done.notify_one();
    }
    impl_->queue.clear();
  }
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->driver == nullptr) return;  // StartThreaded: no eventfd
  Status removed = impl_->driver->remove_fd(impl_->event_fd);
  (void)removed;  // the driver may already be gone from its loop; the fd is closed either way
  ::close(impl_->event_fd);
}

uint16_t HttpBridge::port() const { return static_cast<uint16_t>(impl_->port); }

HttpBridgeCounters HttpBridge::counters() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->counters;
}

Result<whip::HttpResponse> http_request(const whip::HttpUrl& url, const whip::HttpRequest& request, TimeDelta timeout) {
  httplib::Client client(url.origin());
  if (!client.is_valid()) return Error{"http: invalid URL for the client"};
  const time_t seconds = static_cast<time_t>(timeout.us() / 1'000'000);
  const time_t micros = static_cast<time_t>(timeout.us() % 1'000'000);
  client.set_connection_timeout(seconds, micros);
  client.set_read_timeout(seconds, micros);
  client.set_write_timeout(seconds, micros);
  httplib::Request out;
  out.method = request.method;
  out.path = request.path;
  for (const auto& [name, value] : request.headers) out.headers.emplace(name, value);
  out.body = request.body;
  auto result = client.send(out);
  if (!result) {
    switch (result.error()) {
      case httplib::Error::Connection: return Error{"http: cannot connect (refused or unreachable)"};
      case httplib::Error::ConnectionTimeout: return Error{"http: connection timed out"};
      case httplib::Error::Read: return Error{"http: error or timeout reading the response"};
      case httplib::Error::Write: return Error{"http: error writing the request"};
      case httplib::Error::SSLConnection: return Error{"http: TLS handshake failed"};
      case httplib::Error::SSLServerVerification: return Error{"http: the server's certificate was not verified"};
      default: return Error{"http: request failed"};
    }
  }
  whip::HttpResponse response;
  response.status = result->status;
  for (const auto& [name, value] : result->headers) response.headers.emplace_back(name, value);
  response.body = result->body;
  return response;
}

}  // namespace tern::tools::net
