#include "tern/tools/loopback/call_listeners.h"

namespace tern::tools {

void CaptureLog::on_video_frame_captured(const pipeline::CapturedVideoFrame& f) {
  ++captured;
  if (f.encoded) ++encoded;
  if (f.keyframe) ++keyframes;
  meter->on_captured(f.frame_number, f.capture_time);
  if (references != nullptr) references->on_video_frame_captured(f);
}

void RenderLog::on_video_frame_rendered(const pipeline::RenderedVideoFrame& f) {
  FrameRecord r;
  r.render_ms = (f.render_time - Timestamp::Zero()).ms_f();
  r.frame_number = f.frame_number;
  if (f.quality) {
    r.psnr = f.quality->psnr;
    r.ssim = f.quality->ssim;
  }
  if (f.frame_number) {
    if (auto d = meter->on_rendered(*f.frame_number, f.render_time)) r.e2e_delay_ms = d->ms_f();
  }
  frames->push_back(r);
}

void PlayoutLog::on_audio_playout(const pipeline::AudioPlayoutEvent& e) {
  if (e.operation == jitterbuffer::PlayoutOperation::kNormal) started = true;
  if (!started) return;
  ++counts.pulls;
  if (e.operation == jitterbuffer::PlayoutOperation::kExpand) ++counts.concealed;
  counts.buffer_delay_sum_ms += e.buffer_delay.ms_f();
  counts.sync_delay_sum_ms += e.sync_delay.ms_f();
  if (e.capture_to_playout) {
    ++counts.measured;
    counts.capture_to_playout_sum_ms += e.capture_to_playout->ms_f();
  }
}

}  // namespace tern::tools
