#include "tern/tools/net/tool_loop.h"

#include <span>

#include "tern/core/reason_text.h"
#include "tern/media/file_io.h"

namespace tern::tools::net {

Result<std::unique_ptr<ToolLoop>> ToolLoop::Open(std::initializer_list<transport::RtpUdpTransport*> transports) {
  auto driver = transport::EpollDriver::Create();
  if (!driver) return Error{driver.error()};
  std::unique_ptr<ToolLoop> loop(new ToolLoop(std::move(driver.value())));
  auto signals = transport::SignalFd::Create();
  if (!signals) return Error{signals.error()};
  loop->signals_ = std::move(signals.value());
  ToolLoop* self = loop.get();  // stable: the loop lives behind the unique_ptr
  Status watched = loop->driver_.add_fd(loop->signals_.fd(), [self](Timestamp) {
    self->signal_ = self->signals_.read_signal();
    self->driver_.stop();
  });
  if (!watched.ok()) return Error{watched.error()};
  for (transport::RtpUdpTransport* t : transports) {
    if (t == nullptr) continue;
    if (Status st = t->attach(loop->driver_); !st.ok()) return Error{st.error()};
  }
  return loop;
}

Status write_stats_json(const std::string& path, const std::string& document) {
  if (path.empty()) return Status{};
  const std::string text = document + "\n";
  if (Status st = media::save_file(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
      !st.ok()) {
    return Error{lasting_reason(std::string("--stats-json: ") + st.error(), "--stats-json: cannot write the file")};
  }
  return Status{};
}

Status check_output_path(const char* option, const std::string& path) {
  if (path.empty()) return Status{};
  auto file = media::FileWriter::Create(path);
  if (!file) return Error{lasting_reason(std::string(option) + ": " + file.error(), "cannot create an output file")};
  return file->close();
}

Result<std::pair<std::string, uint16_t>> split_host_port(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= text.size()) return Error{"expected ADDR:PORT"};
  std::string host(text.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  try {
    size_t used = 0;
    port = std::stoul(std::string(text.substr(colon + 1)), &used);
    if (used != text.size() - colon - 1) return Error{"expected ADDR:PORT"};
  } catch (...) {
    return Error{"expected ADDR:PORT"};
  }
  if (port > 65535) return Error{"port out of range"};
  return std::pair<std::string, uint16_t>{host, static_cast<uint16_t>(port)};
}

whip::WhipEndpointConfig tool_endpoint_config(whip::SignallingKind kind, const std::string& token, size_t max_sessions) {
  whip::WhipEndpointConfig c;
  c.kind = kind;
  const std::string base = kind == whip::SignallingKind::kWhip ? "/whip" : "/whep";
  c.endpoint_path = base;
  c.resource_path = base + "/resource";
  if (!token.empty()) c.bearer_tokens = {token};
  c.cors_origin.push_back('*');  // not `= "*"`: GCC 12 -Wrestrict false positive on a 1-char assign here
  c.max_sessions = max_sessions;
  return c;
}

}  // namespace tern::tools::net
