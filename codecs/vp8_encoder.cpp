#include "tern/codecs/vp8_encoder.h"

namespace tern::codecs {

Result<std::unique_ptr<Vp8Encoder>> Vp8Encoder::Create(const VideoEncoderConfig& config) {
  if (config.codec != CodecType::kVp8) return Error{"vp8 encoder: codec is not VP8"};
  if (Status s = Validate(config, 16); !s) return Error{s.error()};
  Result<Vp8TemporalPattern> pattern = Vp8TemporalPattern::Create(config.num_temporal_layers);
  if (!pattern) return Error{pattern.error()};
  std::unique_ptr<Vp8Encoder> enc(new Vp8Encoder(config, *pattern));
  if (Status s = enc->initialize(vpx_codec_vp8_cx()); !s) return Error{s.error()};
  return enc;
}

void Vp8Encoder::configure_codec(vpx_codec_enc_cfg_t& cfg) {
  const int n = pattern_.num_layers();
  cfg.ts_number_layers = static_cast<unsigned int>(n);
  if (n > 1) {
    cfg.ts_periodicity = static_cast<unsigned int>(pattern_.periodicity());
    for (int i = 0; i < n; ++i) cfg.ts_rate_decimator[i] = static_cast<unsigned int>(pattern_.rate_decimator(i));
    for (int i = 0; i < pattern_.periodicity(); ++i) {
      cfg.ts_layer_id[i] = static_cast<unsigned int>(pattern_.layer_id_at(i));
    }
  }
}

Status Vp8Encoder::apply_controls() {
  const int speed = config_.cpu_used.value_or(-6);
  if (vpx_codec_control(&ctx_, VP8E_SET_CPUUSED, speed) != VPX_CODEC_OK ||
      vpx_codec_control(&ctx_, VP8E_SET_NOISE_SENSITIVITY, 0u) != VPX_CODEC_OK ||
      vpx_codec_control(&ctx_, VP8E_SET_STATIC_THRESHOLD, 1u) != VPX_CODEC_OK ||
      // Caps keyframe size relative to the per-frame budget (libwebrtc: 0.5 * buffer * fps / 10).
      vpx_codec_control(&ctx_, VP8E_SET_MAX_INTRA_BITRATE_PCT, 300u) != VPX_CODEC_OK ||
      vpx_codec_control(&ctx_, VP8E_SET_TOKEN_PARTITIONS, static_cast<int>(VP8_ONE_TOKENPARTITION)) != VPX_CODEC_OK) {
    return Error{"vp8 encoder: vpx_codec_control failed"};
  }
  return Status::Ok();
}

Result<vpx_enc_frame_flags_t> Vp8Encoder::prepare_frame(bool keyframe) {
  current_ = pattern_.next_frame(keyframe);
  vpx_enc_frame_flags_t flags = 0;
  if (pattern_.num_layers() == 1) return flags;  // libvpx's own reference management
  if (!current_.references(0)) flags |= VP8_EFLAG_NO_REF_LAST;
  if (!current_.references(1)) flags |= VP8_EFLAG_NO_REF_GF;
  if (!current_.references(2)) flags |= VP8_EFLAG_NO_REF_ARF;
  if (!current_.updates(0)) flags |= VP8_EFLAG_NO_UPD_LAST;
  if (!current_.updates(1)) flags |= VP8_EFLAG_NO_UPD_GF;
  if (!current_.updates(2)) flags |= VP8_EFLAG_NO_UPD_ARF;
  // Entropy learned from an enhancement frame must not be needed by the base layer.
  if (current_.temporal_id > 0) flags |= VP8_EFLAG_NO_UPD_ENTROPY;
  if (vpx_codec_control(&ctx_, VP8E_SET_TEMPORAL_LAYER_ID, current_.temporal_id) != VPX_CODEC_OK) {
    return Error{"vp8 encoder: VP8E_SET_TEMPORAL_LAYER_ID failed"};
  }
  return flags;
}

void Vp8Encoder::describe_frame(EncodedFrame& frame) {
  VideoLayerInfo& l = frame.layers;
  l.num_temporal_layers = pattern_.num_layers();
  l.temporal_id = frame.is_keyframe ? 0 : current_.temporal_id;
  l.layer_sync = !frame.is_keyframe && pattern_.is_layer_sync(current_);
  if (l.temporal_id == 0) ++tl0_pic_idx_;
  l.tl0_pic_idx = tl0_pic_idx_;
  l.picture_id = picture_id_;
  l.non_reference = pattern_.num_layers() > 1 && !frame.is_keyframe && !current_.updates(0) &&
                    !current_.updates(1) && !current_.updates(2);
  l.inter_pic_predicted = !frame.is_keyframe;
  pattern_.on_encoded(current_, frame.is_keyframe);
}

}  // namespace tern::codecs
