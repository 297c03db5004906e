#include "tern/codecs/vpx_decoder.h"

#include <vpx/vp8dx.h>

#include <cstring>
#include <utility>

namespace tern::codecs {

Result<std::unique_ptr<VpxDecoder>> VpxDecoder::Create(const VideoDecoderConfig& config) {
  if (config.codec != CodecType::kVp8 && config.codec != CodecType::kVp9) {
    return Error{"vpx decoder: codec must be VP8 or VP9"};
  }
  if (config.threads < 1 || config.threads > 16) return Error{"vpx decoder: threads outside 1..16"};
  std::unique_ptr<VpxDecoder> dec(new VpxDecoder(config));
  vpx_codec_dec_cfg_t cfg{};
  cfg.threads = static_cast<unsigned int>(config.threads);
  vpx_codec_iface_t* iface = config.codec == CodecType::kVp8 ? vpx_codec_vp8_dx() : vpx_codec_vp9_dx();
  if (vpx_codec_dec_init(&dec->ctx_, iface, &cfg, 0) != VPX_CODEC_OK) {
    return Error{"vpx decoder: vpx_codec_dec_init failed"};
  }
  dec->initialized_ = true;
  return dec;
}

VpxDecoder::~VpxDecoder() {
  if (initialized_) vpx_codec_destroy(&ctx_);
}

bool VpxDecoder::is_keyframe(std::span<const uint8_t> data) const {
  vpx_codec_stream_info_t si{};
  si.sz = sizeof(si);
  vpx_codec_iface_t* iface = config_.codec == CodecType::kVp8 ? vpx_codec_vp8_dx() : vpx_codec_vp9_dx();
  if (vpx_codec_peek_stream_info(iface, data.data(), static_cast<unsigned int>(data.size()), &si) != VPX_CODEC_OK) {
    return false;
  }
  return si.is_kf != 0 && si.w > 0 && si.h > 0;
}

Error VpxDecoder::fail(const char* reason) {
  waiting_for_keyframe_ = true;
  return Error{reason};
}

Result<std::optional<VideoFrame>> VpxDecoder::decode(std::span<const uint8_t> data, uint32_t rtp_timestamp) {
  if (data.empty()) return Error{"vpx decoder: empty frame"};
  if (data.size() > kMaxFrameBytes) return fail("vpx decoder: frame larger than 8 MiB");
  if (waiting_for_keyframe_) {
    // A delta frame without its references would decode to garbage (or crash older libvpx).
    if (!is_keyframe(data)) return Error{"vpx decoder: waiting for a keyframe"};
  }
  if (vpx_codec_decode(&ctx_, data.data(), static_cast<unsigned int>(data.size()), nullptr, 0) != VPX_CODEC_OK) {
    return fail("vpx decoder: vpx_codec_decode rejected the frame (corrupt or unsupported)");
  }
  int corrupted = 0;
  // Both libvpx decoders answer VP8D_GET_FRAME_CORRUPTED (a reference was missing or broken).
  if (vpx_codec_control(&ctx_, VP8D_GET_FRAME_CORRUPTED, &corrupted) == VPX_CODEC_OK && corrupted) {
    return fail("vpx decoder: decoded frame is corrupt (missing references)");
  }
  waiting_for_keyframe_ = false;

  vpx_codec_iter_t iter = nullptr;
  const vpx_image_t* img = vpx_codec_get_frame(&ctx_, &iter);
  if (img == nullptr) return std::optional<VideoFrame>();
  if (img->fmt != VPX_IMG_FMT_I420 || img->d_w == 0 || img->d_h == 0) {
    return fail("vpx decoder: decoded picture is not 8-bit I420");
  }
  VideoFrame out = VideoFrame::Allocate(static_cast<int>(img->d_w), static_cast<int>(img->d_h));
  out.rtp_timestamp = rtp_timestamp;
  auto copy_plane = [](const uint8_t* src, int src_stride, uint8_t* dst, int dst_stride, int w, int h) {
    for (int row = 0; row < h; ++row) {
      std::memcpy(dst + static_cast<ptrdiff_t>(row) * dst_stride, src + static_cast<ptrdiff_t>(row) * src_stride,
                  static_cast<std::size_t>(w));
    }
  };
  copy_plane(img->planes[VPX_PLANE_Y], img->stride[VPX_PLANE_Y], out.y.data(), out.stride_y, out.width, out.height);
  copy_plane(img->planes[VPX_PLANE_U], img->stride[VPX_PLANE_U], out.u.data(), out.stride_u, out.chroma_width(),
             out.chroma_height());
  copy_plane(img->planes[VPX_PLANE_V], img->stride[VPX_PLANE_V], out.v.data(), out.stride_v, out.chroma_width(),
             out.chroma_height());
  // Drain anything else (bounded: a VP9 superframe shows at most one picture).
  for (int i = 0; i < 8 && vpx_codec_get_frame(&ctx_, &iter) != nullptr; ++i) {
  }
  return std::optional<VideoFrame>(std::move(out));
}

}  // namespace tern::codecs
