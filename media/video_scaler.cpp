#include "tern/media/video_scaler.h"

#include <libyuv/scale.h>

#include "tern/media/frame_stamp.h"

namespace tern::media {

Status scale_picture(const codecs::VideoFrame& src, int width, int height, codecs::VideoFrame& dst) {
  if (!src.is_valid()) return Error{"scaler: invalid source picture"};
  if (width < 2 || height < 2 || width > 16384 || height > 16384) return Error{"scaler: size outside 2..16384"};
  if (dst.width != width || dst.height != height || !dst.is_valid()) dst = codecs::VideoFrame::Allocate(width, height);
  if (libyuv::I420Scale(src.y.data(), src.stride_y, src.u.data(), src.stride_u, src.v.data(), src.stride_v, src.width,
                        src.height, dst.y.data(), dst.stride_y, dst.u.data(), dst.stride_u, dst.v.data(), dst.stride_v,
                        width, height, libyuv::kFilterBox) != 0) {
    return Error{"scaler: libyuv refused the sizes"};
  }
  dst.capture_time = src.capture_time;
  dst.rtp_timestamp = src.rtp_timestamp;
  return Status::Ok();
}

Status scale_stamped_picture(const codecs::VideoFrame& src, int width, int height, codecs::VideoFrame& dst) {
  const std::optional<uint32_t> number = FrameStamp::read(src);
  if (Status s = scale_picture(src, width, height, dst); !s) return s;
  // write() fails only on a picture too small to carry a stamp: it keeps the scaled band, which
  // nothing can read at that size anyway.
  if (number && !FrameStamp::write(dst, *number)) return Status::Ok();
  return Status::Ok();
}

}  // namespace tern::media
