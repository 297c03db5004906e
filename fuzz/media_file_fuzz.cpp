// Fuzzes the media file readers (WAV, Y4M, IVF) and the WebM reader on arbitrary bytes: each input
// either parses into data consistent with its header fields or is rejected with a reason. The
// streaming Y4M/WAV sources (tern-send --input) read the same bytes from a memory file.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "tern/media/ivf_file.h"
#include "tern/media/opus_packet_info.h"
#include "tern/media/wav_file.h"
#include "tern/media/webm_reader.h"
#include "tern/media/y4m_file.h"

using namespace tern;
using namespace tern::media;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  if (auto wav = parse_wav(in); wav.ok()) {
    if (wav->channels < 1 || wav->samples.size() % static_cast<size_t>(wav->channels) != 0) std::abort();
    if (wav->samples.size() * 2 > size) std::abort();
  } else if (wav.error()[0] == '\0') {
    std::abort();
  }
  if (auto y4m = parse_y4m(in, 16); y4m.ok()) {
    for (const auto& f : y4m->frames) {
      if (!f.is_valid() || f.width != y4m->width || f.height != y4m->height) std::abort();
    }
  }
  if (auto ivf = parse_ivf(in, 1000, 1 << 20); ivf.ok()) {
    size_t total = 0;
    for (const auto& f : ivf->frames) total += f.data.size() + 12;
    if (total + 32 > size) std::abort();
  }
  (void)opus_packet_samples_48k(in);
  // libwebm's parser is exercised too, since parse_webm is meant for files from elsewhere.
  if (size < 4096) (void)parse_webm(in, 100);
  const int fd = memfd_create("media_file_fuzz", 0);
  if (fd < 0) return 0;
  if (write(fd, data, size) == static_cast<ssize_t>(size)) {
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    if (auto y = Y4mFileSource::Open(path, true); y.ok()) {
      for (int i = 0; i < 8 && !y.value()->ended(); ++i) {
        auto f = y.value()->next_frame(Timestamp::Seconds(i));
        if (f && (!f->is_valid() || f->width != y.value()->width())) std::abort();
      }
    }
    if (auto w = WavFileSource::Open(path, true); w.ok()) {
      for (int i = 0; i < 8 && !w.value()->ended(); ++i) (void)w.value()->next_samples(64, Timestamp::Zero());
    }
  }
  close(fd);
  return 0;
}
