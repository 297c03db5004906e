// Interop: tern's PeerConnection with aiortc (Python, Debian python3-aiortc 1.4.0) and pion (Go,
// Debian golang-github-pion-webrtc.v3-dev 3.1.56) as WebRTC peers over 127.0.0.1 UDP, tern under
// transport::EpollDriver. The peers are tests/webrtc_peers/peers/ (pion's is built by CMake,
// offline, from Debian's Go sources). tern offers audio + video + a data channel and the peer
// answers (both peers); pion offers and tern answers. Both ways: ICE, DTLS 1.2 with the SRTP
// profile the peer takes, tern decodes the peer's VP8, the peer counts tern's audio and video, and
// the peer echoes tern's data-channel messages, checked in order. The peer prints one JSON line
// with its counts. Every peer process runs under `timeout`; TERN_REQUIRE_INTEROP=1 makes a
// missing peer a failure.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/pc_udp_peer.h"
#include "support/peer.h"
#include "support/process.h"
#include "tern/transport/epoll_driver.h"
#include "tern/webrtc/peer_connection.h"

using namespace tern;
using Type = webrtc::PeerConnectionEvent::Type;

namespace {

constexpr int kMessages = 20;
constexpr int kPeerSeconds = 4;  // the peer runs this long after printing its description
constexpr TimeDelta kCallTime = TimeDelta::Millis(3000);  // tern's media time after the answer

// The peer's standard output through a pipe (the peer runs under `timeout`, so reads end).
class PeerProcess {
 public:
  explicit PeerProcess(const std::string& command) : pipe_(popen(command.c_str(), "r")) {}
  ~PeerProcess() {
    if (pipe_ != nullptr) pclose(pipe_);
  }
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;
  bool ok() const { return pipe_ != nullptr; }
  // The next line, waiting at most `max_ms`; nullopt at end of file or on time-out.
  std::optional<std::string> line(int max_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_ms);
    for (;;) {
      if (const size_t nl = pending_.find('\n'); nl != std::string::npos) {
        std::string l = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        return l;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fileno(pipe_), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(p.fd, buf, sizeof(buf));
      if (n <= 0) return std::nullopt;
      pending_.append(buf, static_cast<size_t>(n));
      log_.append(buf, static_cast<size_t>(n));
    }
  }
  // The lines up to "END" (a description), bounded.
  std::optional<std::string> description(int max_ms) {
    std::string sdp;
    for (int i = 0; i < 400; ++i) {
      auto l = line(max_ms);
      if (!l) return std::nullopt;
      if (*l == "END") return sdp;
      sdp += *l + "\n";
    }
    return std::nullopt;
  }
  // The first line that parses as a JSON object (the peer's result).
  nlohmann::json result(int max_ms) {
    for (int i = 0; i < 100; ++i) {
      auto l = line(max_ms);
      if (!l) break;
      if (l->starts_with("{")) return nlohmann::json::parse(*l, nullptr, false);
    }
    return nlohmann::json();
  }
  const std::string& log() const { return log_; }

 private:
  std::FILE* pipe_;
  std::string pending_;
  std::string log_;
};

enum class Peer { kAiortc, kPion };

bool HavePeer(Peer peer) {
  const bool have = peer == Peer::kAiortc
                        ? test::run_command("/usr/bin/python3 -c 'import aiortc'", 30).exit_code == 0
#ifdef TERN_PION_PEER
                        : std::filesystem::exists(TERN_PION_PEER);
#else
                        : false;
#endif
  const char* what = peer == Peer::kAiortc ? "python3-aiortc" : "the pion peer (golang-go, golang-github-pion-webrtc.v3-dev)";
  if (have) return true;
  if (test::interop_required()) FAIL(what << " is not available");
  MESSAGE(what << " is not available: skipped");
  return false;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path + ".tmp") << text;
  std::filesystem::rename(path + ".tmp", path);  // the peer polls for it: complete when it exists
}

// Runs the driver until the PeerConnection's gathering is done (host candidates only: at once),
// at most 500 ms; the peers here take the candidates in the description, not trickled.
bool Gather(transport::EpollDriver& driver, test::UdpPeer& self) {
  size_t seen = self.events.size();
  for (int i = 0; i < 100; ++i) {
    if (!driver.run_for(TimeDelta::Millis(5)).ok()) return false;
    self.flush(transport::EpollDriver::Now());
    for (; seen < self.events.size(); ++seen) {
      if (self.events[seen].type == Type::kLocalCandidate && self.events[seen].candidate.candidate.empty()) return true;
    }
  }
  return false;
}

struct CallSummary {
  uint64_t frames_decoded = 0;  // tern, the peer's video
  uint64_t frames_received = 0;  // assembled (complete) frames
  std::vector<std::string> echoes;
  webrtc::PeerConnectionStats stats;
  std::optional<double> connected_ms, first_video_ms;
};

// One call: tern offers (the peer answers) or answers the peer's offer.
void RunCall(Peer peer, bool tern_offers) {
  if (!HavePeer(peer)) return;
  const std::string name = std::string(peer == Peer::kAiortc ? "aiortc" : "pion") + (tern_offers ? "_answers" : "_offers");
  const std::string dir = test::scratch_dir("webrtc_peers_" + name);
  std::filesystem::remove(dir + "/answer.sdp");
  std::string ivf = dir + "/pion.ivf";
  if (peer == Peer::kPion) {  // pion has no encoder: it sends these VP8 frames (key frame every 30)
    if (!test::HavePeers({"ffmpeg"})) return;
    const auto r = test::run_command("ffmpeg -y -loglevel error -f lavfi -i testsrc2=size=320x240:rate=30 -frames:v 60 "
                                     "-c:v libvpx -deadline realtime -cpu-used 8 -b:v 400k -g 30 -f ivf '" + ivf + "'",
                                     60, true);
    REQUIRE_MESSAGE(r.exit_code == 0, r.out);
  }

  auto driver = transport::EpollDriver::Create();
  REQUIRE(driver.ok());
  auto socket = transport::UdpSocket::Open(transport::SocketAddress::LoopbackV4(0));
  REQUIRE(socket.ok());
  webrtc::PeerConnectionConfig c;
  c.sockets = {ice::LocalSocket{0, test::to_ice(socket->local_address()), {}}};
  c.media.send.width = 320;
  c.media.send.height = 240;
  c.media.measure_quality = false;
  c.seed = 70;
  auto created = webrtc::PeerConnection::Create(c);
  REQUIRE(created.ok());
  test::UdpPeer self(std::move(socket).value(), std::move(created).value());
  webrtc::PeerConnection& pc = *self.pc;
  REQUIRE(driver->add_fd(self.fd(), [&self](Timestamp now) { self.on_readable(now); }).ok());
  REQUIRE(driver->add_pollable(&self).ok());

  const Timestamp start = transport::EpollDriver::Now();
  Timestamp now = start;
  const std::string timeout = "timeout -k 3 " + std::to_string(kPeerSeconds + 12) + " ";
  std::string args = " ";  // (GCC 12's -Wrestrict misfires on " " + std::to_string(...))
  args += std::to_string(kPeerSeconds);
  std::unique_ptr<PeerProcess> process;
  std::optional<webrtc::DataChannelHandle> channel;
  if (tern_offers) {
    auto ch = pc.create_data_channel("echo", {}, now);
    REQUIRE(ch.ok());
    channel = *ch;
    auto offer = pc.create_offer(now);
    REQUIRE(offer.ok());
    REQUIRE(pc.set_local_description(*offer, now).ok());
    REQUIRE(Gather(*driver, self));
    auto described = pc.local_description();
    REQUIRE(described.has_value());
    CHECK(described->sdp.find("a=candidate:") != std::string::npos);
    CHECK(described->sdp.find("a=end-of-candidates") != std::string::npos);
    WriteFile(dir + "/offer.sdp", described->sdp);
    const std::string command =
        peer == Peer::kAiortc
            ? timeout + "/usr/bin/python3 '" + TERN_SOURCE_DIR + "/tests/webrtc_peers/peers/aiortc_peer.py' '" + dir +
                  "/offer.sdp'" + args
#ifdef TERN_PION_PEER
            : timeout + TERN_PION_PEER + std::string(" answer '") + dir + "/offer.sdp'" + args + " '" + ivf + "'";
#else
            : std::string();
#endif
    process = std::make_unique<PeerProcess>(command + " 2> '" + dir + "/peer.log'");
    REQUIRE(process->ok());
    auto answer = process->description(10000);
    REQUIRE_MESSAGE(answer.has_value(), "no answer; peer log: " << test::run_command("tail -c 3000 '" + dir + "/peer.log'").out);
    WriteFile(dir + "/answer.sdp", *answer);
    now = transport::EpollDriver::Now();
    const Status st = pc.set_remote_description({webrtc::SdpType::kAnswer, *answer}, now);
    REQUIRE_MESSAGE(st.ok(), (std::string(st.error()) + "\n" + *answer));
  } else {
#ifdef TERN_PION_PEER
    process = std::make_unique<PeerProcess>(timeout + TERN_PION_PEER + std::string(" offer '") + dir + "/answer.sdp'" +
                                            args + " '" + ivf + "' 2> '" + dir + "/peer.log'");
#endif
    REQUIRE(process);
    auto offer = process->description(10000);
    REQUIRE_MESSAGE(offer.has_value(), "no offer; peer log: " << test::run_command("tail -c 3000 '" + dir + "/peer.log'").out);
    WriteFile(dir + "/offer.sdp", *offer);
    now = transport::EpollDriver::Now();
    const Status st = pc.set_remote_description({webrtc::SdpType::kOffer, *offer}, now);
    REQUIRE_MESSAGE(st.ok(), (std::string(st.error()) + "\n" + *offer));
    auto answer = pc.create_answer(now);
    REQUIRE(answer.ok());
    REQUIRE(pc.set_local_description(*answer, now).ok());
    REQUIRE(Gather(*driver, self));
    WriteFile(dir + "/answer.sdp", pc.local_description()->sdp);
  }

  // The call: tern sends kMessages on the channel once open (its own, or the peer's when it
  // offers) and collects the echoes; media flows both ways for kCallTime.
  CallSummary sum;
  const Timestamp media_start = transport::EpollDriver::Now();
  size_t seen = 0;
  int sent = 0;
  while (transport::EpollDriver::Now() - media_start < kCallTime) {
    REQUIRE(driver->run_for(TimeDelta::Millis(5)).ok());
    now = transport::EpollDriver::Now();
    for (; seen < self.events.size(); ++seen) {
      const webrtc::PeerConnectionEvent& e = self.events[seen];
      if (e.type == Type::kConnectionStateChanged && e.connection_state == webrtc::ConnectionState::kConnected) {
        sum.connected_ms = (now - start).ms_f();
      }
      if (e.type == Type::kFirstFrame && e.kind == "video" && !sum.first_video_ms) sum.first_video_ms = (now - start).ms_f();
      if (e.type == Type::kDataChannelOpen && (!channel || e.channel == *channel)) {
        channel = e.channel;  // tern's own, or the one the peer opened (pion's offer)
        for (; sent < kMessages; ++sent) CHECK(pc.send_text(e.channel, "msg-" + std::to_string(sent), now).ok());
      }
      if (e.type == Type::kDataChannelMessage && channel && e.channel == *channel) {
        sum.echoes.emplace_back(e.data.begin(), e.data.end());
      }
    }
    self.flush(now);
  }
  sum.stats = pc.get_stats(now);
  for (const auto& in : sum.stats.media.inbound_rtp) {
    if (in.kind == "video" && in.frames_decoded) sum.frames_decoded = *in.frames_decoded;
    if (in.kind == "video" && in.frames_received) sum.frames_received = *in.frames_received;
  }
  const nlohmann::json result = process->result((kPeerSeconds + 12) * 1000);
  pc.close(now);
  self.flush(now);
  driver->remove_pollable(&self);
  (void)driver->remove_fd(self.fd());  // the driver is destroyed next; nothing to undo on failure

  const webrtc::TransportInfo& t = sum.stats.transport;
  {  // the logs go with a failure only
    INFO("peer output: " << process->log() << "\npeer log: " << test::run_command("tail -c 3000 '" + dir + "/peer.log'").out);
    INFO("tern stats: " << sum.stats.to_json(-1));
    CHECK(pc.failure_reason() == std::string());
    CHECK(t.tls_version == "DTLSv1.2");
    CHECK(t.dtls_state == "connected");
    CHECK(t.dtls_role == (tern_offers ? "server" : "client"));
    if (peer == Peer::kAiortc) CHECK(t.srtp_cipher == "AES_CM_128_HMAC_SHA1_80");  // the one aiortc has
    CHECK(!t.srtp_cipher.empty());
    // Of ~90 the peer sent in kCallTime; every complete frame decodes (but the last one or two,
    // still in the jitter buffer). pion leaves the PictureID out of its first frame: until tern
    // bridged that, 29 of each 30 frames after it were never decodable (55-60 of ~89 decoded).
    CHECK(sum.frames_decoded >= 60);
    CHECK(sum.frames_decoded + 2 >= sum.frames_received);
    std::vector<std::string> expected;
    for (int i = 0; i < kMessages; ++i) expected.push_back("msg-" + std::to_string(i));
    CHECK(sum.echoes == expected);
    REQUIRE(result.is_object());
    CHECK(result.value("state", "") == "connected");
    CHECK(result.value("video_frames", 0) >= 30);
    CHECK(result.value(peer == Peer::kAiortc ? "audio_frames" : "audio_packets", 0) >= 50);
    CHECK(result.value("dc_echoed", 0) == kMessages);
  }
  MESSAGE(name << ": DTLS " << t.tls_version << " " << t.dtls_cipher << ", SRTP " << t.srtp_cipher << ", tern "
               << t.dtls_role << "; connected at " << sum.connected_ms.value_or(-1) << " ms, first video frame at "
               << sum.first_video_ms.value_or(-1) << " ms (wall, from the start); tern decoded " << sum.frames_decoded
               << " of " << sum.frames_received << " video frames; peer: " << result.dump());
}

}  // namespace

TEST_CASE("webrtc peers: tern offers, aiortc answers: DTLS-SRTP, VP8 both ways, Opus to the peer, data echoed in order") {
  RunCall(Peer::kAiortc, true);
}

TEST_CASE("webrtc peers: tern offers, pion answers: DTLS-SRTP, VP8 both ways, Opus to the peer, data echoed in order") {
  RunCall(Peer::kPion, true);
}

TEST_CASE("webrtc peers: pion offers, tern answers: DTLS-SRTP, media both ways, data echoed in order") {
  RunCall(Peer::kPion, false);
}
