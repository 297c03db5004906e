// tern-peer's logic (tools/tern-peer/main.cpp only parses the command line): a WebRTC endpoint
// (webrtc::PeerConnection on one UDP socket per call, under transport::EpollDriver) with WHIP
// (RFC 9725) / WHEP signalling over HTTP (whip::WhipEndpoint behind tools/net/http_bridge.h as a
// server; whip::make_offer_request + http_request as a client).
//
// Server: every offer POSTed to /whip (or /whep) gets its own PeerConnection and socket (at most
// max_sessions; more get 503); the answer carries tern's host candidates and end-of-candidates
// (gathered before answering: a WHIP client receives no trickle from the server); PATCHed
// candidates go to the connection; a PATCH with If-Match "*" and new credentials restarts its ICE
// (the PeerConnection's remote restart; the 200 carries the server's new ufrag/pwd and candidates);
// DELETE closes it. Client: the offer carries the gathered host
// candidates (so nothing needs trickling), the answer is applied, optionally ICE restarts by PATCH
// (ice_restart_after), DELETE on exit.
//
// Both send the synthetic camera and microphone (or Y4M/WAV files), decode what they receive
// (optionally recording it as WebM), optionally echo every
// data-channel message (echo) and send numbered messages on a channel of their own
// (send_messages, checked for in-order echoes), print a one-line status on stderr once a second,
// and write stats JSON (the PeerConnection's get_stats per call plus the tool's timings) at exit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.h"

namespace tern::tools::peer {

struct PeerOptions {
  std::string whip_listen;  // "ADDR:PORT": serve WHIP at /whip
  std::string whep_listen;  // "ADDR:PORT": serve WHEP at /whep (may equal whip_listen)
  std::string whip_url;     // client: POST the offer here
  std::string whep_url;
  std::string token;        // bearer token (server: required from clients; client: sent)
  size_t max_sessions = 4;
  std::string bind = "127.0.0.1";  // the calls' UDP sockets (their host candidate)
  double duration = 0;             // seconds; 0: until SIGINT/SIGTERM (client: or the call fails)
  bool echo = false;               // echo every data-channel message received
  int send_messages = 0;           // send this many numbered messages on a channel "tern" once open
  std::string stats_json;
  bool quiet = false;  // no status line
  bool audio = true;
  bool video = true;
  int width = 640;
  int height = 360;
  double fps = 30;
  // Client only: a TURN server (RFC 8656 over UDP) for the call, its long-term credentials
  // ("user:password"), and relay_only for W3C iceTransportPolicy "relay" (only the relayed candidate).
  std::string turn;
  std::string turn_user;
  bool relay_only = false;
  bool send_media = true;
  bool video_fec = true;  // --no-video-fec: do not negotiate red + ulpfec for video (NACK only)
  // Client only: restart ICE this many seconds after the offer was posted (at the status tick
  // that follows): new credentials and candidates PATCHed with If-Match "*" (RFC 9725 4.4); the
  // server's 200 carries its new ones. 0: never.
  double ice_restart_after = 0;  // false: receive only (audio/video offered or answered recvonly)
  // Impairment for tests: drop this percentage of the RTP datagrams (media and RTX), each way, at
  // the call's socket (seeded per call); RTCP, STUN, DTLS and SCTP are never dropped.
  double loss_percent = 0;
  // Media files sent instead of the synthetic camera / microphone (each call plays them from their
  // start, once unless loop_input): a Y4M (its size and rate; sent without degradation, so the
  // receiver's pictures compare with it) and a WAV (48 kHz mono or stereo PCM16). A kind without
  // a file stays synthetic.
  std::string input_video;
  std::string input_audio;
  bool loop_input = false;
  // A WebM file of what each call receives (VP8/VP9 and Opus as they arrived, as tern-recv --webm);
  // a server's later calls write FILE-2.webm, FILE-3.webm, ...
  std::string record;

  bool server() const { return !whip_listen.empty() || !whep_listen.empty(); }
  // One role, valid addresses; the reason otherwise.
  Status validate() const;
};

// Where call number `n` (1, 2, ...) of a server records: `path` for the first, then the number
// before the extension ("rec.webm" -> "rec-2.webm").
std::string recording_path(const std::string& path, int n);

// Runs tern-peer; returns the process exit code (0: ran and stopped cleanly; 1: an error, printed).
int run_peer(const PeerOptions& options);

// `sdp` with "a=candidate:" lines (`candidates` are "candidate:..." values) and
// "a=end-of-candidates" appended to every media section (non-trickle signalling).
std::string add_candidates_to_sdp(std::string_view sdp, const std::vector<std::string>& candidates);

}  // namespace tern::tools::peer
