// tern-peer: a WebRTC endpoint (webrtc::PeerConnection) with WHIP/WHEP signalling over HTTP, as a
// server (--whip-listen/--whep-listen) or a client (--whip/--whep URL). Sends the synthetic camera
// and microphone or Y4M/WAV files, decodes what it receives (and records it as WebM), echoes
// data-channel messages (--echo), writes stats JSON and a status line. The work is tools/peer/peer_tool.h.
#include <CLI/CLI.hpp>

#include "tern/tools/peer/peer_tool.h"

int main(int argc, char** argv) {
  tern::tools::peer::PeerOptions o;
  CLI::App app{"tern-peer: a WebRTC endpoint with WHIP/WHEP signalling (server or client)"};
  app.add_option("--whip-listen", o.whip_listen, "Serve WHIP (POST /whip) on ADDR:PORT");
  app.add_option("--whep-listen", o.whep_listen, "Serve WHEP (POST /whep) on ADDR:PORT (may be the WHIP one)");
  app.add_option("--whip", o.whip_url, "Client: POST the offer to this WHIP endpoint URL");
  app.add_option("--whep", o.whep_url, "Client: POST the offer to this WHEP endpoint URL");
  app.add_option("--token", o.token, "Bearer token (server: required from clients; client: sent)");
  app.add_option("--max-sessions", o.max_sessions, "Server: concurrent calls (more get 503)")->check(CLI::Range(1, 64));
  app.add_option("--bind", o.bind, "Local IP address of the calls' UDP sockets (their host candidate)");
  app.add_option("--duration", o.duration, "Seconds to run (default: until SIGINT/SIGTERM)")->check(CLI::Range(0.0, 86400.0));
  app.add_flag("--echo", o.echo, "Echo every data-channel message received");
  app.add_option("--send-messages", o.send_messages, "Client: send N numbered messages on a data channel \"tern\" "
                 "(counts their echoes in order)")->check(CLI::Range(0, 100000));
  app.add_option("--stats-json", o.stats_json, "Write the calls' stats (get_stats, timings, messages) here at exit");
  app.add_flag("--quiet", o.quiet, "No status line on stderr");
  app.add_flag("!--no-audio", o.audio, "No audio");
  app.add_flag("!--no-video", o.video, "No video");
  app.add_option("--width", o.width, "Synthetic camera width")->check(CLI::Range(64, 4096));
  app.add_option("--height", o.height, "Synthetic camera height")->check(CLI::Range(40, 4096));
  app.add_option("--fps", o.fps, "Frame rate")->check(CLI::Range(1.0, 120.0));
  app.add_option("--turn", o.turn, "Client: a TURN server IP:PORT (UDP) for the call");
  app.add_option("--turn-user", o.turn_user, "Client: the TURN server's long-term credential user:password");
  app.add_flag("--relay-only", o.relay_only, "Client: ICE policy relay (only the TURN-relayed candidate)");
  app.add_option("--ice-restart-after", o.ice_restart_after, "Client: restart ICE this many seconds after the offer "
                 "(WHIP/WHEP PATCH with If-Match \"*\" and new credentials; at the next status tick)")->check(CLI::Range(0.0, 86400.0));
  app.add_flag("!--recv-only", o.send_media, "Receive audio/video only (offered or answered recvonly)");
  app.add_flag("--video-fec,!--no-video-fec", o.video_fec,
               "Offer and accept video RED + ULPFEC (default): FEC sized by the reported loss and RTT, beside NACK");
  app.add_option("--loss", o.loss_percent, "Drop this percentage of RTP datagrams (media and RTX) each way at "
                 "the socket (RTCP, STUN, DTLS, SCTP and padded probes pass): an impaired path for NACK/RTX tests")->check(CLI::Range(0.0, 100.0));
  app.add_option("--input-video", o.input_video, "Send this Y4M file instead of the synthetic camera (its size and "
                 "rate; once, or looped with --loop-input)");
  app.add_option("--input-audio", o.input_audio, "Send this WAV file (48 kHz mono or stereo PCM16) instead of the "
                 "synthetic microphone");
  app.add_flag("--loop-input", o.loop_input, "Loop the input files");
  app.add_option("--record", o.record, "Record what each call receives (VP8/VP9 + Opus) into this WebM file "
                 "(a server's later calls: FILE-2.webm, ...)");
  CLI11_PARSE(app, argc, argv);
  return tern::tools::peer::run_peer(o);
}
