#include "tern/tools/net/tool_loop.h"

#include <fstream>

#include "tern/core/reason_text.h"

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
  std::ofstream out(path);
  out << document << "\n";
  if (!out) return Error{lasting_reason("--stats-json '" + path + "': cannot write the file", "--stats-json: cannot write the file")};
  return Status{};
}

}  // namespace tern::tools::net
