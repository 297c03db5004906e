#include "tern/media/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>

#include "tern/core/reason_text.h"

namespace tern::media {
namespace {
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;
}  // namespace

Result<std::vector<uint8_t>> load_file(const std::string& path, size_t max_bytes) {
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) return Error{"file: cannot open for reading"};
  std::vector<uint8_t> data;
  uint8_t buf[65536];
  for (;;) {
    const size_t n = std::fread(buf, 1, sizeof(buf), f.get());
    if (n == 0) break;
    if (data.size() + n > max_bytes) return Error{"file: larger than the allowed maximum"};
    data.insert(data.end(), buf, buf + n);
  }
  if (std::ferror(f.get())) return Error{"file: read error"};
  return data;
}

Status save_file(const std::string& path, std::span<const uint8_t> bytes) {
  auto f = FileWriter::Create(path);
  if (!f) return Error{f.error()};
  if (Status st = f->write(bytes); !st.ok()) return st;
  return f->close();
}

Result<FileWriter> FileWriter::Create(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error{lasting_reason("cannot create '" + printable(path) + "': " + std::strerror(errno),
                                "file: cannot open for writing")};
  }
  return FileWriter(fd, path);
}

FileWriter::FileWriter(FileWriter&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), size_(other.size_) {}

FileWriter& FileWriter::operator=(FileWriter&& other) noexcept {
  if (this != &other) {
    (void)close();  // the moved-over file: an error here has nobody to tell
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    size_ = other.size_;
  }
  return *this;
}

FileWriter::~FileWriter() { (void)close(); }  // an owner that cares calls close() itself

Error FileWriter::fail(const char* what, int error) const {
  return Error{lasting_reason(std::string(what) + " '" + printable(path_) + "': " + std::strerror(error),
                              "file: write error")};
}

Status FileWriter::write(std::span<const uint8_t> bytes) {
  if (fd_ < 0) return Error{"file: not open"};
  // Each iteration writes at least one byte or fails; EINTR retries are bounded by signals.
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write", n < 0 ? errno : ENOSPC);
    size_ += static_cast<uint64_t>(n);
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status FileWriter::write_at(uint64_t offset, std::span<const uint8_t> bytes) {
  if (fd_ < 0) return Error{"file: not open"};
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write", n < 0 ? errno : ENOSPC);
    offset += static_cast<uint64_t>(n);
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status FileWriter::close() {
  if (fd_ < 0) return Status::Ok();
  const int rc = ::close(std::exchange(fd_, -1));
  if (rc != 0 && errno != EINTR) return fail("cannot close", errno);
  return Status::Ok();
}

}  // namespace tern::media
