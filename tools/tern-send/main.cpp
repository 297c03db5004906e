// tern-send: sends tern media (synthetic VP8/VP9 camera, Opus microphone) over UDP to host:port
// through a pipeline::Endpoint under the real-time transport::EpollDriver: RTCP both ways (SR out,
// RR/NACK/PLI/REMB/transport-cc in), NACK/RTX, ULPFEC and congestion control when the receiver
// supports them (--peer tern), optional SRTP, and an SDP file describing the stream for the
// receiver (GStreamer, ffmpeg or tern-recv). Ends after --frames video frames (plus a linger for
// retransmissions) or --duration, or on SIGINT/SIGTERM; writes stats JSON. The work is
// tools/net/send_session.h.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "tern/tools/net/send_session.h"

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "tern-send: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  namespace net = tern::tools::net;
  net::SendOptions o;
  CLI::App app{"tern-send: send tern media over RTP/UDP (optionally SRTP) and write an SDP for the receiver"};
  app.add_option("--dest", o.dest, "Receiver host:port (numeric IPv4/IPv6; RTCP goes to port+1 with --no-rtcp-mux)")->required();
  app.add_option("--bind", o.bind_address, "Local address to bind (default: any of the destination's family)");
  app.add_option("--audio-port", o.audio_port, "Send audio to this port of the destination host, from its own socket "
                 "(default with --peer ffmpeg and both kinds: the video port + 2)");
  app.add_option("--local-port", o.local_port, "Local RTP port (0: any; RTCP uses +1 with --no-rtcp-mux)");
  app.add_option("--video", o.video, "Video codec")->check(CLI::IsMember({"vp8", "vp9", "none"}));
  app.add_option("--audio", o.audio, "Audio codec")->check(CLI::IsMember({"opus", "none"}));
  app.add_option("--input", o.inputs, "Send a Y4M (video, its size and rate) and/or WAV (48 kHz mono/stereo PCM16) file "
                 "instead of the synthetic sources; exits after the file(s)");
  app.add_flag("--loop", o.loop_input, "Play --input files in a loop (bound the run with --frames or --duration)");
  app.add_option("--width", o.width, "Synthetic camera width")->check(CLI::Range(64, 4096));
  app.add_option("--height", o.height, "Synthetic camera height")->check(CLI::Range(40, 4096));
  app.add_option("--fps", o.fps, "Frame rate")->check(CLI::Range(1.0, 120.0));
  app.add_option("--frames", o.frames, "Video frames to send, then linger and exit (default 90 with video)")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--duration", o.duration, "Seconds to send (audio-only default 3; with video a cap)")
      ->check(CLI::Range(0.1, 86400.0));
  app.add_option("--linger-ms", o.linger_ms, "Time after the last frame to answer NACKs and send RTCP")
      ->check(CLI::Range(0.0, 10000.0));
  app.add_option("--bitrate", o.bitrate, "Send budget (fixed mode) or ceiling, e.g. 1000k, 2M");
  app.add_option("--start-rate", o.start_rate,
                 "Initial send rate for remb/transport-cc, e.g. 1M (default 300k; at most --bitrate)");
  app.add_option("--cc", o.cc, "Congestion control")->check(CLI::IsMember({"fixed", "remb", "transport-cc"}));
  app.add_option("--degradation", o.degradation,
                 "Video adaptation when short of rate, QP or CPU: disabled (default: every picture as captured), "
                 "balanced, maintain-framerate or maintain-resolution")
      ->check(CLI::IsMember({"disabled", "balanced", "maintain-framerate", "maintain-resolution"}));
  app.add_option("--peer", o.peer, "Receiver kind: generic (GStreamer), ffmpeg (VP9 non-flexible mode) or tern "
                 "(NACK/RTX + transport-cc)")
      ->check(CLI::IsMember({"generic", "tern", "ffmpeg"}));
  app.add_option("--drop-every", o.drop_every, "Test aid: drop every Nth new video packet before sending (NACK/RTX repair it)")
      ->check(CLI::Range(2, 1000000));
  app.add_flag("--nack", o.nack, "Answer NACKs with RTX (RFC 4588)");
  app.add_flag("--fec", o.fec, "ULPFEC in RED for video");
  app.add_flag("--flexfec", o.flexfec, "FlexFEC (RFC 8627) for video on its own SSRC (SDP flexfec-03, ssrc-group:FEC-FR)");
  app.add_option("--protection", o.protection, "Loss protection list: nack, fec, flexfec (e.g. nack,flexfec); adds to --nack/--fec/--flexfec");
  app.add_flag("--no-rtcp-mux", o.no_rtcp_mux, "RTCP on port+1 instead of the RTP port");
  app.add_option("--rtcp-dest", o.rtcp_dest, "Send RTCP to this host:port instead (e.g. a GStreamer rtpbin's RTCP udpsrc)");
  app.add_option("--key", o.key, "SRTP master key+salt, hex or base64 (enables SRTP)");
  app.add_option("--srtp-profile", o.srtp_profile, "SRTP profile (AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, ...)");
  app.add_option("--ssrc", o.video_ssrc, "Video SSRC");
  app.add_option("--audio-ssrc", o.audio_ssrc, "Audio SSRC");
  app.add_option("--rtx-ssrc", o.rtx_ssrc, "Video RTX SSRC");
  app.add_option("--fec-ssrc", o.fec_ssrc, "Video FlexFEC SSRC");
  app.add_option("--seed", o.seed, "Synthetic source seed");
  app.add_option("--sdp", o.sdp_path, "Write the SDP describing this stream for the receiver");
  app.add_option("--source-y4m", o.source_path, "Write the pictures that were sent (the PSNR reference)");
  app.add_option("--stats-json", o.stats_path, "Write webrtc-stats JSON at exit");
  CLI11_PARSE(app, argc, argv);
  o.video_given = app.count("--video") > 0;
  o.audio_given = app.count("--audio") > 0;
  o.cc_given = app.count("--cc") > 0;
  o.duration_given = app.count("--duration") > 0;

  auto session = net::SendSession::Create(std::move(o));
  if (!session) return fail(session.error());
  const auto warn = [](const std::string& text) { std::fprintf(stderr, "tern-send: %s\n", text.c_str()); };
  if (tern::Status st = session.value()->run(warn); !st.ok()) return fail(st.error());
  if (tern::Status st = session.value()->finish(); !st.ok()) return fail(st.error());
  std::printf("%s\n", session.value()->summary().c_str());
  return 0;
}
