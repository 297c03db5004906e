#include "tern/tools/net/receive_outputs.h"

#include <cstdio>

#include "tern/core/reason_text.h"

namespace tern::tools::net {

Result<std::unique_ptr<ReceiveOutputs>> ReceiveOutputs::Create(const std::string& y4m_path,
                                                               const std::string& wav_path, int fps) {
  std::unique_ptr<ReceiveOutputs> o(new ReceiveOutputs());
  o->y4m_path_ = y4m_path;
  o->wav_path_ = wav_path;
  if (!y4m_path.empty()) {
    auto w = media::Y4mFileWriter::Create(y4m_path, fps, 1);
    if (!w) return Error{lasting_reason(std::string("--y4m: ") + w.error(), "--y4m: cannot create the file")};
    o->y4m_.emplace(std::move(w.value()));
  }
  if (!wav_path.empty()) {
    auto w = media::WavFileWriter::Create(wav_path);
    if (!w) return Error{lasting_reason(std::string("--wav: ") + w.error(), "--wav: cannot create the file")};
    o->wav_.emplace(std::move(w.value()));
  }
  return o;
}

void ReceiveOutputs::on_video_frame_rendered(const pipeline::RenderedVideoFrame& frame) {
  ++frames_;
  width_ = frame.width;
  height_ = frame.height;
  if (!y4m_ || frame.picture == nullptr || closed_) return;
  if (!y4m_->append(*frame.picture).ok() && !y4m_->error().ok()) ++lost_;  // else an invalid picture, skipped
}

void ReceiveOutputs::on_audio_playout(const pipeline::AudioPlayoutEvent& event) {
  if (!wav_ || event.samples == nullptr || closed_) return;
  using Op = jitterbuffer::PlayoutOperation;
  const bool audible = event.operation != Op::kExpand && event.operation != Op::kMuted;
  if (!wav_->started() && !audible) return;
  if (!audible && pending_.size() < kMaxPendingBlocks) {
    pending_.push_back(*event.samples);
    return;
  }
  for (const codecs::AudioFrame& f : pending_) append_wav(f);
  pending_.clear();
  append_wav(*event.samples);
}

void ReceiveOutputs::append_wav(const codecs::AudioFrame& block) {
  if (wav_->append(block).ok()) return;
  if (wav_->error().ok()) {
    ++refused_blocks_;  // another shape than the file's
  } else {
    ++lost_;
  }
}

int ReceiveOutputs::write_errors() const {
  return (y4m_ && !y4m_->error().ok() ? 1 : 0) + (wav_ && !wav_->error().ok() ? 1 : 0);
}

Status ReceiveOutputs::write_error() const {
  if (y4m_ && !y4m_->error().ok()) return y4m_->error();
  if (wav_ && !wav_->error().ok()) return wav_->error();
  return Status::Ok();
}

size_t ReceiveOutputs::buffered_bytes() const {
  size_t n = (y4m_ ? y4m_->buffered_bytes() : 0) + (wav_ ? wav_->buffered_bytes() : 0);
  for (const codecs::AudioFrame& f : pending_) n += f.samples.capacity() * sizeof(int16_t);
  return n;
}

Status ReceiveOutputs::close() {
  if (closed_) return close_status_;
  closed_ = true;
  Status result;
  if (y4m_) {
    if (Status st = y4m_->close(); !st.ok() && result.ok()) result = st;
    if (y4m_->frames() == 0 && y4m_->error().ok()) {
      std::remove(y4m_path_.c_str());
      not_written_ = "no video frame decoded: Y4M file not written";
    }
  }
  if (wav_) {
    if (Status st = wav_->close(); !st.ok() && result.ok()) result = st;
    if (!wav_->started() && wav_->error().ok()) {
      std::remove(wav_path_.c_str());
      not_written_ += std::string(not_written_.empty() ? "" : "; ") + "no audio played: WAV file not written";
    }
  }
  if (Status st = write_error(); !st.ok()) result = st;
  close_status_ = result;
  return close_status_;
}

}  // namespace tern::tools::net
