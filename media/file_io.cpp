#include "tern/media/file_io.h"

#include <cstdio>
#include <memory>

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
  FilePtr f(std::fopen(path.c_str(), "wb"));
  if (!f) return Error{"file: cannot open for writing"};
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) {
    return Error{"file: write error"};
  }
  if (std::fflush(f.get()) != 0) return Error{"file: write error"};
  return Status::Ok();
}

}  // namespace tern::media
