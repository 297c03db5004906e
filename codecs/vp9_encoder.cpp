#include "tern/codecs/vp9_encoder.h"

namespace tern::codecs {

Result<std::unique_ptr<Vp9Encoder>> Vp9Encoder::Create(const VideoEncoderConfig& config) {
  if (config.codec != CodecType::kVp9) return Error{"vp9 encoder: codec is not VP9"};
  if (Status s = Validate(config, 9); !s) return Error{s.error()};
  std::unique_ptr<Vp9Encoder> enc(new Vp9Encoder(config));
  if (Status s = enc->initialize(vpx_codec_vp9_cx()); !s) return Error{s.error()};
  return enc;
}

void Vp9Encoder::configure_codec(vpx_codec_enc_cfg_t& cfg) {
  const int n = config_.num_temporal_layers;
  cfg.ss_number_layers = 1;
  cfg.ts_number_layers = static_cast<unsigned int>(n);
  if (n == 1) {
    cfg.temporal_layering_mode = VP9E_TEMPORAL_LAYERING_MODE_NOLAYERING;
    return;
  }
  static constexpr unsigned int kIds3[4] = {0, 2, 1, 2};
  cfg.temporal_layering_mode = n == 2 ? VP9E_TEMPORAL_LAYERING_MODE_0101 : VP9E_TEMPORAL_LAYERING_MODE_0212;
  cfg.ts_periodicity = n == 2 ? 2 : 4;
  for (int i = 0; i < n; ++i) cfg.ts_rate_decimator[i] = 1u << (n - 1 - i);
  for (unsigned int i = 0; i < cfg.ts_periodicity; ++i) cfg.ts_layer_id[i] = n == 2 ? i : kIds3[i];
}

Status Vp9Encoder::apply_controls() {
  const int speed = config_.cpu_used.value_or(7);
  int tile_columns = 0;
  for (int t = config_.threads; t > 1; t /= 2) ++tile_columns;
  if (vpx_codec_control(&ctx_, VP8E_SET_CPUUSED, speed) != VPX_CODEC_OK ||
      vpx_codec_control(&ctx_, VP8E_SET_MAX_INTRA_BITRATE_PCT, 300u) != VPX_CODEC_OK ||
      vpx_codec_control(&ctx_, VP8E_SET_STATIC_THRESHOLD, 1u) != VPX_CODEC_OK ||
      // Cyclic refresh: spreads intra refresh over frames, as libwebrtc does for real time.
      vpx_codec_control(&ctx_, VP9E_SET_AQ_MODE, 3u) != VPX_CODEC_OK ||
      vpx_codec_control(&ctx_, VP9E_SET_TILE_COLUMNS, tile_columns) != VPX_CODEC_OK ||
      vpx_codec_control(&ctx_, VP9E_SET_ROW_MT, config_.threads > 1 ? 1u : 0u) != VPX_CODEC_OK) {
    return Error{"vp9 encoder: vpx_codec_control failed"};
  }
  if (svc()) {
    vpx_svc_extra_cfg_t params{};
    for (int i = 0; i < config_.num_temporal_layers; ++i) {
      params.max_quantizers[i] = config_.max_qp;
      params.min_quantizers[i] = config_.min_qp;
    }
    params.scaling_factor_num[0] = 1;
    params.scaling_factor_den[0] = 1;
    if (vpx_codec_control(&ctx_, VP9E_SET_SVC, 1) != VPX_CODEC_OK ||
        vpx_codec_control(&ctx_, VP9E_SET_SVC_PARAMETERS, &params) != VPX_CODEC_OK) {
      return Error{"vp9 encoder: enabling temporal layers (VP9E_SET_SVC) failed"};
    }
  }
  return Status::Ok();
}

Result<vpx_enc_frame_flags_t> Vp9Encoder::prepare_frame(bool /*keyframe*/) {
  // libvpx runs the layer pattern itself (and restarts it on a keyframe).
  return vpx_enc_frame_flags_t{0};
}

void Vp9Encoder::describe_frame(EncodedFrame& frame) {
  VideoLayerInfo& l = frame.layers;
  l.num_temporal_layers = config_.num_temporal_layers;
  l.picture_id = picture_id_;
  l.inter_pic_predicted = !frame.is_keyframe;
  if (frame.is_keyframe) {
    for (Slot& s : slots_) s = Slot{0, picture_id_};  // a VP9 keyframe refreshes every slot
  }
  if (!svc()) {
    ++tl0_pic_idx_;
    l.tl0_pic_idx = tl0_pic_idx_;
    return;
  }
  vpx_svc_layer_id_t id{};
  if (vpx_codec_control(&ctx_, VP9E_GET_SVC_LAYER_ID, &id) == VPX_CODEC_OK) {
    l.temporal_id = frame.is_keyframe ? 0 : id.temporal_layer_id;
    l.spatial_id = id.spatial_layer_id;
  }
  if (l.temporal_id == 0) ++tl0_pic_idx_;
  l.tl0_pic_idx = tl0_pic_idx_;
  if (frame.is_keyframe) return;

  vpx_svc_ref_frame_config_t refs{};
  if (vpx_codec_control(&ctx_, VP9E_GET_SVC_REF_FRAME_CONFIG, &refs) != VPX_CODEC_OK) return;
  const int used[3] = {refs.reference_last[0] ? refs.lst_fb_idx[0] : -1,
                       refs.reference_golden[0] ? refs.gld_fb_idx[0] : -1,
                       refs.reference_alt_ref[0] ? refs.alt_fb_idx[0] : -1};
  bool up_switch = l.temporal_id > 0;
  for (int slot : used) {
    if (slot < 0 || slot >= 8) continue;
    const Slot& s = slots_[static_cast<std::size_t>(slot)];
    if (s.temporal_id >= l.temporal_id) up_switch = false;
    const int diff = (picture_id_ - s.picture_id) & 0x7FFF;  // RFC 9628 P_DIFF is 7 bits
    bool seen = false;
    for (int i = 0; i < l.num_ref_pics; ++i) seen = seen || l.p_diff[static_cast<std::size_t>(i)] == diff;
    if (!seen && diff > 0 && diff <= 127 && l.num_ref_pics < 3) l.p_diff[static_cast<std::size_t>(l.num_ref_pics++)] = static_cast<uint8_t>(diff);
  }
  l.layer_sync = up_switch;
  const int updated = refs.update_buffer_slot[0];
  l.non_reference = (updated & 0xFF) == 0;
  for (int slot = 0; slot < 8; ++slot) {
    if (updated & (1 << slot)) slots_[static_cast<std::size_t>(slot)] = Slot{l.temporal_id, picture_id_};
  }
}

}  // namespace tern::codecs
