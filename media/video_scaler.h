// Picture scaling for resolution adaptation and for whatever follows a resolution change (quality
// measurement against the scaled source, recorders that keep one size): I420 to I420 with libyuv's
// box filter (an area average when shrinking, what ffmpeg's -s and GStreamer's videoscale would
// give at these ratios). One helper so the sender and every consumer scale a picture the same way:
// a receiver that scales the source picture gets exactly what the sender's encoder was given.
#pragma once

#include "tern/codecs/video_frame.h"
#include "tern/core/result.h"

namespace tern::media {

// Scales `src` into `dst` at width x height (2..16384 each). `dst`'s buffers are reused when they
// are already that size (no allocation per frame). Rejects an invalid source.
Status scale_picture(const codecs::VideoFrame& src, int width, int height, codecs::VideoFrame& dst);

// The adapted picture a sender encodes: `src` scaled to width x height, its FrameStamp written
// again at the new size (the stamp's block grid depends on the width, so a scaled stamp is not
// readable at every size) when the source carried one. The same call on the source picture gives
// a receiver its reference.
Status scale_stamped_picture(const codecs::VideoFrame& src, int width, int height, codecs::VideoFrame& dst);

}  // namespace tern::media
