// Test support: a tiny YUV4MPEG2 (Y4M) reader for 4:2:0 8-bit video, enough to read what
// GStreamer's y4menc and ffmpeg write. Reads a whole file; refuses anything else with a reason.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace tern::test {

struct Y4mVideo {
  int width = 0;
  int height = 0;
  // Each frame is one packed I420 picture: width*height luma, then U and V of
  // ((width+1)/2)*((height+1)/2) bytes each.
  std::vector<std::vector<uint8_t>> frames;
  const char* error = nullptr;  // set when the file could not be read or parsed

  size_t luma_size() const { return static_cast<size_t>(width) * static_cast<size_t>(height); }
  size_t chroma_size() const {
    return static_cast<size_t>((width + 1) / 2) * static_cast<size_t>((height + 1) / 2);
  }
};

inline Y4mVideo ReadY4m(const std::string& path, size_t max_frames = 10000) {
  Y4mVideo v;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    v.error = "y4m: cannot open file";
    return v;
  }
  std::vector<uint8_t> data;
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) data.insert(data.end(), buf, buf + n);
  std::fclose(f);

  // Reads one line (without '\n') starting at `pos`; false when no newline within 1024 bytes.
  auto line_at = [&](size_t pos, std::string* line, size_t* next) {
    for (size_t i = pos; i < data.size() && i < pos + 1024; ++i) {
      if (data[i] == '\n') {
        line->assign(data.begin() + static_cast<std::ptrdiff_t>(pos), data.begin() + static_cast<std::ptrdiff_t>(i));
        *next = i + 1;
        return true;
      }
    }
    return false;
  };
  std::string header;
  size_t pos = 0;
  if (!line_at(0, &header, &pos) || header.rfind("YUV4MPEG2", 0) != 0) {
    v.error = "y4m: no YUV4MPEG2 header";
    return v;
  }
  std::string colour = "420";
  size_t i = 9;
  while (i < header.size()) {  // space-separated tagged fields
    while (i < header.size() && header[i] == ' ') ++i;
    size_t end = header.find(' ', i);
    if (end == std::string::npos) end = header.size();
    const std::string field = header.substr(i, end - i);
    if (!field.empty() && field[0] == 'W') v.width = std::atoi(field.c_str() + 1);
    if (!field.empty() && field[0] == 'H') v.height = std::atoi(field.c_str() + 1);
    if (!field.empty() && field[0] == 'C') colour = field.substr(1);
    i = end;
  }
  if (v.width <= 0 || v.height <= 0 || v.width > 16384 || v.height > 16384) {
    v.error = "y4m: bad size";
    return v;
  }
  if (colour.rfind("420", 0) != 0) {
    v.error = "y4m: only 4:2:0 8-bit is supported";
    return v;
  }
  const size_t frame_size = v.luma_size() + 2 * v.chroma_size();
  while (pos < data.size() && v.frames.size() < max_frames) {
    std::string frame_header;
    size_t body = 0;
    if (!line_at(pos, &frame_header, &body) || frame_header.rfind("FRAME", 0) != 0) {
      v.error = "y4m: bad frame header";
      return v;
    }
    if (data.size() - body < frame_size) {
      v.error = "y4m: truncated frame";
      return v;
    }
    v.frames.emplace_back(data.begin() + static_cast<std::ptrdiff_t>(body),
                          data.begin() + static_cast<std::ptrdiff_t>(body + frame_size));
    pos = body + frame_size;
  }
  return v;
}

}  // namespace tern::test
