// From a negotiated JSEP exchange (jsep_negotiator.h) to the configuration of tern's media
// pipeline (pipeline/pipeline_config.h): payload types, header extension ids, codecs per direction,
// SSRCs and mids of both sides, loss protection and the congestion controller the feedback allows.
// What the SDP does not decide (resolution, rates, seeds) comes from `base`.
#pragma once

#include "tern/core/result.h"
#include "tern/pipeline/pipeline_config.h"
#include "tern/sdp/jsep_negotiator.h"

namespace tern::sdp {

// Fills `base` from `negotiated` (this side's SSRCs and cname from `local`) and validates it.
//  - codecs: the first implemented codec of each accepted section; sent when the section's
//    direction sends, expected when it receives; a kind with no accepted section is off both ways.
//  - protection: NACK when nack and an RTX pt were negotiated for the video codec; FEC when red and
//    ulpfec were; audio RED when red/48000 was.
//  - congestion: transport-cc (feedback and extension) > goog-remb (with abs-send-time) > fixed.
//  - keyframe requests by FIR when ccm fir was negotiated without nack pli.
//  - extension ids as negotiated; the pipeline stamps all three of abs-send-time, transport-wide
//    seq and mid, so one the answer left out gets a free id 1..14 (the peer ignores unknown ids).
// Refused: a receiving section whose peer signalled no SSRC (tern routes by SSRC; unsignalled
// streams are not supported yet), and whatever EndpointConfig::validate() refuses.
Result<pipeline::EndpointConfig> to_endpoint_config(const NegotiatedSession& negotiated, const LocalCapabilities& local,
                                                    pipeline::EndpointConfig base = pipeline::EndpointConfig());

}  // namespace tern::sdp
