// Full-reference video quality: PSNR and SSIM of a received picture against its source (libyuv's
// compare functions; SSIM costs about 3 ms per 640x480 picture, PSNR about 50 times less, so a
// caller measuring every frame may ask for PSNR only), and VideoQualityMeter, which pairs each decoded picture with its source
// through the FrameStamp number so that drops, freezes and reordering do not skew the scores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "tern/codecs/video_frame.h"
#include "tern/core/result.h"

namespace tern::media {

// PSNR of identical pictures; also the cap for nearly identical ones.
inline constexpr double kMaxPsnrDb = 99.0;

struct FrameQuality {
  double psnr_y = 0;  // dB, luma only
  double psnr = 0;    // dB over Y, U and V samples together (as ffmpeg's psnr filter "average")
  std::optional<double> ssim_y;  // 0..1, luma; nullopt when not computed
  std::optional<double> ssim;    // 0..1, 0.8 Y + 0.1 U + 0.1 V (libyuv's I420Ssim weighting)
};

enum class QualityMetrics : uint8_t { kPsnr, kPsnrAndSsim };

// PSNR in dB from a sum of squared 8-bit errors over `samples` samples (kMaxPsnrDb when sse is 0).
double psnr_from_sse(uint64_t sse, uint64_t samples);
// Compares two valid pictures of the same size; error when sizes differ or a frame is invalid.
// With kPsnr the SSIM fields stay nullopt.
Result<FrameQuality> compare_frames(const codecs::VideoFrame& reference, const codecs::VideoFrame& test,
                                    QualityMetrics metrics = QualityMetrics::kPsnrAndSsim);

struct VideoQualitySummary {
  int64_t measured = 0;    // decoded frames paired with their source
  int64_t unreadable = 0;  // no readable stamp
  int64_t unmatched = 0;   // stamp read but the source is no longer (or never was) kept, or size differs
  double mean_psnr = 0;
  double min_psnr = 0;
  double mean_ssim = 0;
  double min_ssim = 0;
};

class VideoQualityMeter {
 public:
  // Keeps the last `capacity` source pictures (at least 1); older ones are forgotten first.
  explicit VideoQualityMeter(size_t capacity = 64);

  // Remembers a source picture under its frame number (as stamped by the sender's source).
  void on_source_frame(uint32_t frame_number, const codecs::VideoFrame& frame);
  // Reads the stamp of a decoded picture and scores it against its source; nullopt when the
  // stamp is unreadable or the source is not kept (both counted in the summary).
  std::optional<FrameQuality> on_decoded_frame(const codecs::VideoFrame& decoded);

  const VideoQualitySummary& summary() const { return summary_; }

 private:
  struct Slot {
    uint32_t frame_number = 0;
    bool used = false;
    codecs::VideoFrame frame;
  };
  std::vector<Slot> slots_;
  size_t next_ = 0;
  VideoQualitySummary summary_;
  double psnr_sum_ = 0;
  double ssim_sum_ = 0;
};

}  // namespace tern::media
