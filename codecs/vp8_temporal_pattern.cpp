#include "tern/codecs/vp8_temporal_pattern.h"

namespace tern::codecs {
namespace {

using U = Vp8FrameConfig;
constexpr U::Use N = U::kNone, R = U::kReference, W = U::kUpdate, RW = U::kReferenceAndUpdate;

// {tid, {last, golden, altref}}
constexpr Vp8FrameConfig kOneLayer[Vp8TemporalPattern::kLength] = {
    {0, {RW, R, R}}, {0, {RW, R, R}}, {0, {RW, R, R}}, {0, {RW, R, R}},
    {0, {RW, R, R}}, {0, {RW, R, R}}, {0, {RW, R, R}}, {0, {RW, R, R}}};
constexpr Vp8FrameConfig kTwoLayers[Vp8TemporalPattern::kLength] = {
    {0, {RW, N, N}}, {1, {R, W, N}},  {0, {RW, N, N}}, {1, {R, RW, N}},
    {0, {RW, N, N}}, {1, {R, RW, N}}, {0, {RW, N, N}}, {1, {R, R, N}}};
constexpr Vp8FrameConfig kThreeLayers[Vp8TemporalPattern::kLength] = {
    {0, {RW, N, N}}, {2, {R, N, W}},  {1, {R, W, N}},  {2, {R, R, RW}},
    {0, {RW, N, N}}, {2, {R, R, RW}}, {1, {R, RW, N}}, {2, {R, R, R}}};

}  // namespace

Result<Vp8TemporalPattern> Vp8TemporalPattern::Create(int num_layers) {
  if (num_layers < 1 || num_layers > kMaxLayers) return Error{"vp8 temporal pattern: layers must be 1..3"};
  return Vp8TemporalPattern(num_layers);
}

int Vp8TemporalPattern::periodicity() const { return num_layers_ == 3 ? 4 : num_layers_; }

int Vp8TemporalPattern::layer_id_at(int index) const {
  static constexpr int kIds3[4] = {0, 2, 1, 2};
  const int i = index % periodicity();
  if (num_layers_ == 1) return 0;
  if (num_layers_ == 2) return i;
  return kIds3[i];
}

int Vp8TemporalPattern::rate_decimator(int layer) const { return 1 << (num_layers_ - 1 - layer); }

Vp8FrameConfig Vp8TemporalPattern::next_frame(bool keyframe) {
  if (keyframe) index_ = 0;
  const Vp8FrameConfig* table = num_layers_ == 1 ? kOneLayer : (num_layers_ == 2 ? kTwoLayers : kThreeLayers);
  const Vp8FrameConfig config = table[index_];
  index_ = (index_ + 1) % kLength;
  return config;
}

void Vp8TemporalPattern::on_encoded(const Vp8FrameConfig& config, bool keyframe) {
  for (int b = 0; b < 3; ++b) {
    if (keyframe) {
      buffer_tid_[static_cast<std::size_t>(b)] = 0;
    } else if (config.updates(b)) {
      buffer_tid_[static_cast<std::size_t>(b)] = config.temporal_id;
    }
  }
}

bool Vp8TemporalPattern::is_layer_sync(const Vp8FrameConfig& config) const {
  if (config.temporal_id == 0) return false;
  for (int b = 0; b < 3; ++b) {
    if (config.references(b) && buffer_tid_[static_cast<std::size_t>(b)] != 0) return false;
  }
  return true;
}

}  // namespace tern::codecs
