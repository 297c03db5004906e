// CodecType: the one codec enum of tern, and the one place its names are spelled. Everything that
// names a codec (encoder and decoder configs, encoded frames, the video jitter buffer's
// depacketizer choice, an endpoint's media config, recorders, SDP plans, tools' options and
// reports) uses this enum and these helpers.
//
// "No codec" (an endpoint that sends no video, a recorder without a video track) is
// std::optional<CodecType> == std::nullopt, never a member of the enum: an encoder, a decoder, an
// encoded frame and a jitter buffer always have a codec, so they never have to reject a "none".
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tern::codecs {

enum class CodecType : uint8_t { kOpus, kVp8, kVp9 };

bool is_video(CodecType codec);  // VP8, VP9

// tern's own token, as the tools' options and reports spell it: "opus", "vp8", "vp9"; "none" for
// no codec.
const char* codec_name(std::optional<CodecType> codec);

// The RTP payload format name (IANA media subtype, SDP a=rtpmap): "opus", "VP8", "VP9".
const char* encoding_name(CodecType codec);

// The MIME type webrtc-stats RTCCodecStats.mimeType reports: "audio/opus", "video/VP8", "video/VP9".
const char* mime_type(CodecType codec);

// A codec from codec_name() or encoding_name() in any letter case (media subtype names are case
// insensitive, RFC 6838 4.2); nullopt for "none" and for every name tern does not implement.
std::optional<CodecType> codec_from_name(std::string_view name);

}  // namespace tern::codecs
