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

}  // namespace tern::tools::net
