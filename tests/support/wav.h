// Test support: a tiny RIFF/WAVE reader for 16-bit PCM, enough to read what GStreamer's wavenc
// and ffmpeg write. A data chunk whose size is unset (0 or 0xFFFFFFFF, as a writer that was cut
// short leaves it) is taken to run to the end of the file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace tern::test {

struct WavAudio {
  int sample_rate = 0;
  int channels = 0;
  std::vector<int16_t> samples;  // interleaved
  const char* error = nullptr;   // set when the file could not be read or parsed

  size_t frames() const { return channels > 0 ? samples.size() / static_cast<size_t>(channels) : 0; }
  double seconds() const { return sample_rate > 0 ? double(frames()) / sample_rate : 0.0; }
};

inline WavAudio ReadWav(const std::string& path) {
  WavAudio w;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    w.error = "wav: cannot open file";
    return w;
  }
  std::vector<uint8_t> d;
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) d.insert(d.end(), buf, buf + n);
  std::fclose(f);
  auto u16 = [&](size_t p) { return static_cast<uint32_t>(d[p] | (d[p + 1] << 8)); };
  auto u32 = [&](size_t p) { return u16(p) | (u16(p + 2) << 16); };
  auto tag = [&](size_t p, const char* t) { return d[p] == t[0] && d[p + 1] == t[1] && d[p + 2] == t[2] && d[p + 3] == t[3]; };
  if (d.size() < 12 || !tag(0, "RIFF") || !tag(8, "WAVE")) {
    w.error = "wav: not RIFF/WAVE";
    return w;
  }
  size_t pos = 12;
  bool have_fmt = false;
  for (int chunks = 0; chunks < 64 && pos + 8 <= d.size(); ++chunks) {
    const size_t size = u32(pos + 4);
    const size_t body = pos + 8;
    if (tag(pos, "fmt ")) {
      if (size < 16 || body + 16 > d.size()) break;
      if (u16(body) != 1 || u16(body + 14) != 16) {
        w.error = "wav: only 16-bit PCM is supported";
        return w;
      }
      w.channels = static_cast<int>(u16(body + 2));
      w.sample_rate = static_cast<int>(u32(body + 4));
      have_fmt = true;
    } else if (tag(pos, "data")) {
      if (!have_fmt || w.channels <= 0) break;
      size_t len = (size == 0 || size == 0xFFFFFFFFu || body + size > d.size()) ? d.size() - body : size;
      len -= len % 2;
      w.samples.resize(len / 2);
      for (size_t i = 0; i < w.samples.size(); ++i) w.samples[i] = static_cast<int16_t>(u16(body + 2 * i));
      return w;
    }
    pos = body + size + (size & 1);
  }
  w.error = "wav: no fmt or data chunk";
  return w;
}

}  // namespace tern::test
