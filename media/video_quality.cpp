#include "tern/media/video_quality.h"

#include <libyuv/compare.h>

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "tern/media/frame_stamp.h"

namespace tern::media {
namespace {

// Sum of squared differences of two 8-bit planes: a loop the compiler turns into multiply-add
// vector code (pmaddwd), built for AVX2 as well as the baseline on x86-64 and picked at load
// time; about twice libyuv's SSE2 kernel where AVX2 is present.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TERN_SSE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TERN_SSE_CLONES
#endif
TERN_SSE_CLONES uint64_t plane_sse(const uint8_t* a, int stride_a, const uint8_t* b, int stride_b, int width,
                                   int height) {
  constexpr int kChunk = 16384;  // 16384 * 255^2 < 2^31: a chunk's sum fits the 32-bit lanes
  uint64_t total = 0;
  for (int y = 0; y < height; ++y) {
    const uint8_t* ra = a + static_cast<ptrdiff_t>(y) * stride_a;
    const uint8_t* rb = b + static_cast<ptrdiff_t>(y) * stride_b;
    for (int x0 = 0; x0 < width; x0 += kChunk) {
      const int x1 = std::min(width, x0 + kChunk);
      int32_t sum = 0;
      for (int x = x0; x < x1; ++x) {
        const auto d = static_cast<int16_t>(ra[x] - rb[x]);
        sum += d * d;
      }
      total += static_cast<uint32_t>(sum);
    }
  }
  return total;
}

}  // namespace

double psnr_from_sse(uint64_t sse, uint64_t samples) {
  if (samples == 0) return 0;
  if (sse == 0) return kMaxPsnrDb;
  const double mse = static_cast<double>(sse) / static_cast<double>(samples);
  return std::min(kMaxPsnrDb, 10.0 * std::log10(255.0 * 255.0 / mse));
}

Result<FrameQuality> compare_frames(const codecs::VideoFrame& a, const codecs::VideoFrame& b, QualityMetrics metrics) {
  if (!a.is_valid() || !b.is_valid()) return Error{"video quality: invalid frame"};
  if (a.width != b.width || a.height != b.height) return Error{"video quality: frame sizes differ"};
  const int cw = a.chroma_width();
  const int ch = a.chroma_height();
  const uint64_t sse_y = plane_sse(a.y.data(), a.stride_y, b.y.data(), b.stride_y, a.width, a.height);
  const uint64_t sse_u = plane_sse(a.u.data(), a.stride_u, b.u.data(), b.stride_u, cw, ch);
  const uint64_t sse_v = plane_sse(a.v.data(), a.stride_v, b.v.data(), b.stride_v, cw, ch);
  const uint64_t luma = static_cast<uint64_t>(a.width) * static_cast<uint64_t>(a.height);
  const uint64_t chroma = static_cast<uint64_t>(cw) * static_cast<uint64_t>(ch);
  FrameQuality q;
  q.psnr_y = psnr_from_sse(sse_y, luma);
  q.psnr = psnr_from_sse(sse_y + sse_u + sse_v, luma + 2 * chroma);
  if (metrics == QualityMetrics::kPsnr) return q;
  // libyuv's I420Ssim weighting (0.8 Y + 0.1 U + 0.1 V) from per-plane SSIM, so that the luma
  // SSIM, the costliest part, is computed once for both figures.
  const double ssim_y = libyuv::CalcFrameSsim(a.y.data(), a.stride_y, b.y.data(), b.stride_y, a.width, a.height);
  const double ssim_u = libyuv::CalcFrameSsim(a.u.data(), a.stride_u, b.u.data(), b.stride_u, cw, ch);
  const double ssim_v = libyuv::CalcFrameSsim(a.v.data(), a.stride_v, b.v.data(), b.stride_v, cw, ch);
  q.ssim_y = ssim_y;
  q.ssim = 0.8 * ssim_y + 0.1 * (ssim_u + ssim_v);
  return q;
}

VideoQualityMeter::VideoQualityMeter(size_t capacity) : slots_(std::max<size_t>(1, capacity)) {}

void VideoQualityMeter::on_source_frame(uint32_t frame_number, const codecs::VideoFrame& frame) {
  Slot& s = slots_[next_];
  s.frame_number = frame_number & FrameStamp::kMaxFrameNumber;
  s.used = true;
  s.frame = frame;
  next_ = (next_ + 1) % slots_.size();
}

std::optional<FrameQuality> VideoQualityMeter::on_decoded_frame(const codecs::VideoFrame& decoded) {
  const auto number = FrameStamp::read(decoded);
  if (!number) {
    ++summary_.unreadable;
    return std::nullopt;
  }
  for (const Slot& s : slots_) {
    if (!s.used || s.frame_number != *number) continue;
    const auto q = compare_frames(s.frame, decoded);
    if (!q.ok()) break;
    const int64_t n = ++summary_.measured;
    psnr_sum_ += q->psnr;
    const double ssim = q->ssim.value_or(0);  // always computed here
    ssim_sum_ += ssim;
    summary_.mean_psnr = psnr_sum_ / static_cast<double>(n);
    summary_.mean_ssim = ssim_sum_ / static_cast<double>(n);
    summary_.min_psnr = n == 1 ? q->psnr : std::min(summary_.min_psnr, q->psnr);
    summary_.min_ssim = n == 1 ? ssim : std::min(summary_.min_ssim, ssim);
    return *q;
  }
  ++summary_.unmatched;
  return std::nullopt;
}

}  // namespace tern::media
