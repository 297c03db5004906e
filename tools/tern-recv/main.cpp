// tern-recv: receives RTP (optionally SRTP) on host:port as described by an SDP file (tern-send's,
// ffmpeg's -sdp_file, a hand-written one) or by flags, audio and video on one port or each on its
// own (one socket, or RTP+RTCP pair, per port; each port's RTCP reports on its own stream); runs a
// pipeline::Endpoint under the real-time transport::EpollDriver for RTCP (RR, NACK, PLI, REMB,
// transport-cc), statistics and decoding: the Endpoint's rendered pictures go to a Y4M file and its
// 10 ms playout to a WAV file; a ReceiveTap records the encoded frames into WebM. Prints and writes
// stats JSON.
// Exits 0 on SIGINT/SIGTERM (files finalised), after --duration, after --frames decoded video
// frames, or after --idle-timeout without packets. Every output file is created before the first
// packet is read (an unwritable path: exit 1 at once); Y4M and WAV are written as the pictures and
// blocks come; a write error (a full disk) stops the run at once, is reported on stderr and in the
// JSON ("outputs"), and the exit code is 1.
//
// Sender SSRCs the SDP does not name are learned by payload type, each after two packets in
// sequence (RFC 3550 A.1 probation), and replaced when a new one arrives after the old one has been
// silent for 2 s (a restarted sender); the RTX SSRC from ssrc-group:FID or the first RTX packet.
// The Endpoint is created once every expected stream has been seen, or 1 s after the first packet
// with at least one (earlier packets are held, at most StreamLearner::kMaxHeldPackets, and
// replayed). RTCP goes back to where the first packet of the session came from. The work is
// tools/net/recv_session.h.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "tern/tools/net/recv_session.h"

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "tern-recv: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  namespace net = tern::tools::net;
  net::RecvOptions o;
  CLI::App app{"tern-recv: receive RTP/SRTP, decode to Y4M/WAV or record WebM, report stats"};
  app.add_option("--sdp", o.sdp_path, "SDP file describing the incoming stream (port, codecs, ssrc, crypto)");
  app.add_option("--address", o.address, "Local address to listen on (flags mode)");
  app.add_option("--port", o.port, "Local RTP port (flags mode; overrides the SDP's first port)");
  app.add_option("--audio-port", o.audio_port, "Local RTP port for audio when it has its own (overrides the SDP's)");
  app.add_option("--video", o.video, "Video codec (flags mode)")->check(CLI::IsMember({"vp8", "vp9", "none"}));
  app.add_option("--audio", o.audio, "Audio codec (flags mode)")->check(CLI::IsMember({"opus", "none"}));
  app.add_option("--video-pt", o.video_pt, "Video payload type (default 96 VP8, 98 VP9)")->check(CLI::Range(0, 127));
  app.add_option("--audio-pt", o.audio_pt, "Opus payload type")->check(CLI::Range(0, 127));
  app.add_option("--ssrc", o.video_ssrc, "Video sender SSRC (default: learned from the first packet)");
  app.add_option("--audio-ssrc", o.audio_ssrc, "Audio sender SSRC (default: learned)");
  app.add_flag("--nack", o.nack, "Flags mode: ask for retransmissions (RTCP NACK, RTX payload type 97, RFC 4588)");
  app.add_flag("--fec", o.fec, "Flags mode: ULPFEC in RED (payload types 100 and 101, RFC 5109/2198)");
  app.add_flag("--flexfec", o.flexfec, "Flags mode: FlexFEC (RFC 8627, payload type 120) on --fec-ssrc");
  app.add_option("--protection", o.protection, "Flags mode: loss protection list nack, fec, flexfec (e.g. nack,flexfec)");
  app.add_option("--fec-ssrc", o.fec_ssrc, "Video FlexFEC SSRC (default: the SDP's ssrc-group:FEC-FR; flags mode: tern-send's 268435460)");
  app.add_option("--rtx-ssrc", o.rtx_ssrc, "Video RTX SSRC (default: the SDP's ssrc-group:FID, else learned from the first RTX packet)");
  app.add_flag("--no-rtcp-mux", o.no_rtcp_mux, "Also listen for RTCP on port+1 and send RTCP to the peer's port+1");
  app.add_option("--rtcp-dest", o.rtcp_dest, "Send RTCP to this host:port instead (e.g. a GStreamer rtpbin's RTCP udpsrc)");
  app.add_option("--key", o.key, "SRTP master key+salt, hex or base64 (flags mode, or overrides a=crypto)");
  app.add_option("--srtp-profile", o.srtp_profile, "SRTP profile");
  app.add_option("--y4m", o.y4m_path, "Write decoded video (I420 Y4M)");
  app.add_option("--wav", o.wav_path, "Write the played-out audio (48 kHz mono WAV, as the Endpoint plays it)");
  app.add_option("--webm", o.webm_path, "Record the received encoded media into WebM");
  app.add_option("--fps", o.fps, "Frame rate written into the Y4M header")->check(CLI::Range(1, 240));
  app.add_option("--stats-json", o.stats_path, "Write stats JSON at exit");
  app.add_option("--frames", o.frames, "Exit after this many decoded video frames")->check(CLI::Range(1, 10000000));
  app.add_option("--duration", o.duration, "Exit after this many seconds")->check(CLI::Range(0.1, 86400.0));
  app.add_option("--idle-timeout", o.idle_timeout, "Exit when no packet arrived for this many seconds (after the first)")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_flag("--quiet", o.quiet, "Do not print the summary");
  CLI11_PARSE(app, argc, argv);
  o.address_given = app.count("--address") > 0;
  o.no_rtcp_mux_given = app.count("--no-rtcp-mux") > 0;

  auto session = net::RecvSession::Create(o);
  if (!session) return fail(session.error());
  for (const std::string& w : session.value()->warnings()) std::fprintf(stderr, "tern-recv: warning: %s\n", w.c_str());
  std::fprintf(stderr, "tern-recv: %s\n", session.value()->listening().c_str());
  if (tern::Status st = session.value()->run(); !st.ok()) return fail(st.error());
  const tern::Status finished = session.value()->finish();
  if (!o.quiet) std::printf("%s\n", session.value()->summary().c_str());
  for (const std::string& n : session.value()->notes()) std::fprintf(stderr, "tern-recv: warning: %s\n", n.c_str());
  if (!finished.ok()) return fail(finished.error());
  return 0;
}
