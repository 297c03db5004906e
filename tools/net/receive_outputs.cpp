#include "tern/tools/net/receive_outputs.h"

#include "tern/media/file_io.h"

namespace tern::tools::net {

void ReceiveOutputs::on_video_frame_rendered(const pipeline::RenderedVideoFrame& frame) {
  ++frames_;
  width_ = frame.width;
  height_ = frame.height;
  if (!want_y4m_ || frame.picture == nullptr) return;
  if (!y4m_) {
    auto w = media::Y4mWriter::Create(frame.width, frame.height, fps_, 1);
    if (!w) return;
    y4m_.emplace(std::move(w.value()));
  }
  if (!y4m_->append(*frame.picture).ok()) ++write_failures_;  // a size change or the 1 GiB cap
}

void ReceiveOutputs::on_audio_playout(const pipeline::AudioPlayoutEvent& event) {
  if (!want_wav_ || event.samples == nullptr) return;
  using Op = jitterbuffer::PlayoutOperation;
  const bool audible = event.operation != Op::kExpand && event.operation != Op::kMuted;
  if (!wav_) {
    if (!audible) return;
    auto w = media::WavWriter::Create(event.samples->sample_rate_hz, event.samples->channels);
    if (!w) return;
    wav_.emplace(std::move(w.value()));
  }
  if (!audible && pending_.size() < kMaxPendingBlocks) {
    pending_.push_back(*event.samples);
    return;
  }
  for (const codecs::AudioFrame& f : pending_) append_wav(f);
  pending_.clear();
  append_wav(*event.samples);
}

void ReceiveOutputs::append_wav(const codecs::AudioFrame& block) {
  if (!wav_->append(block).ok()) ++write_failures_;  // a shape change or the 1 GiB cap
}

Status ReceiveOutputs::save(const std::string& y4m_path, const std::string& wav_path) const {
  Status result;
  if (want_y4m_) {
    if (!y4m_) {
      result = Error{"no video frame decoded: Y4M file not written"};
    } else if (Status st = media::save_file(y4m_path, y4m_->bytes()); !st.ok()) {
      result = st;
    }
  }
  if (want_wav_) {
    if (!wav_) {
      result = Error{"no audio played: WAV file not written"};
    } else if (Status st = media::save_file(wav_path, wav_->finish()); !st.ok()) {
      result = st;
    }
  }
  return result;
}

}  // namespace tern::tools::net
