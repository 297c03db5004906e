// File helpers for the writers and readers in media/, which work on byte buffers (sans-I/O,
// fuzzable): the application decides when to touch the disk. Whole files (load_file/save_file)
// for small ones; FileWriter for outputs written as they arrive (a recording of any length in
// bounded memory).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tern/core/result.h"

namespace tern::media {

// Reads a whole file, refusing files above max_bytes.
Result<std::vector<uint8_t>> load_file(const std::string& path, size_t max_bytes = size_t{1} << 30);
// Writes (replaces) a whole file; the write and the close are checked (a full disk is an error).
Status save_file(const std::string& path, std::span<const uint8_t> bytes);

// A file written piece by piece with write(2), without user-space buffering: each write() is on
// disk (in the page cache) when it returns, and an error such as ENOSPC shows at the write that
// hit it. Create() creates (or truncates) the file, so an unwritable path fails before any data
// exists. Errors name the path and the system's reason. Move-only; the destructor closes.
class FileWriter {
 public:
  static Result<FileWriter> Create(const std::string& path);
  FileWriter(FileWriter&& other) noexcept;
  FileWriter& operator=(FileWriter&& other) noexcept;
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;
  ~FileWriter();

  // Appends all of `bytes` (retrying short writes; EINTR is retried).
  Status write(std::span<const uint8_t> bytes);
  // Overwrites at `offset` (a header patched at the end); the append position is unchanged.
  Status write_at(uint64_t offset, std::span<const uint8_t> bytes);
  // Closes the file, reporting an error close(2) returns. Idempotent.
  Status close();
  uint64_t size() const { return size_; }  // bytes appended
  const std::string& path() const { return path_; }

 private:
  FileWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Error fail(const char* what, int error) const;
  int fd_ = -1;
  std::string path_;
  uint64_t size_ = 0;
};

}  // namespace tern::media
