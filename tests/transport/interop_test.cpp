// Interop over UDP loopback with real peers (INTEROP.md sections 1(e) and 2):
//   GStreamer srtpenc -> tern SrtpSession::unprotect_rtp
//   tern SrtpSession::protect_rtp -> GStreamer srtpdec (decrypted RTP comes back to the test)
//   ffmpeg SRTP sender -> tern, keyed from the SDP ffmpeg writes (-sdp_file, parsed by tern)
//   tern-written SDP + tern SRTP packets -> ffmpeg receiver decoding VP8
// Peers run under `timeout`; background peers are waited for with the EpollDriver (no sleeps).
// Missing tools skip the test, or fail it under TERN_REQUIRE_INTEROP=1.
#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "support/peer.h"
#include "support/process.h"
#include "tern/core/byte_io.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"
#include "tern/transport/epoll_driver.h"
#include "tern/transport/session_description.h"
#include "tern/transport/srtp_session.h"
#include "tern/transport/udp_socket.h"

using namespace tern;
using namespace tern::transport;

namespace {

constexpr uint32_t kSsrc = 287454020;  // 0x11223344, fixed: srtpdec needs it in its caps
constexpr const char* kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d";
constexpr const char* kKeyB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";

using test::HavePeers;
// Peers run under `timeout --foreground` in a process group of their own (support/peer.h).
using Peer = test::BackgroundPeer;

// Calls `fn(now)` every `period` until it returns false, then stops the driver.
template <typename Fn>
class Every final : public Pollable {
 public:
  Every(EpollDriver& driver, TimeDelta period, Fn fn) : driver_(driver), period_(period), fn_(std::move(fn)) {}
  std::optional<Timestamp> next_wakeup() const override { return next_; }
  void process(Timestamp now) override {
    next_ = now + period_;
    if (!fn_(now)) driver_.stop();
  }

 private:
  EpollDriver& driver_;
  TimeDelta period_;
  Fn fn_;
  Timestamp next_ = Timestamp::Zero();
};

std::vector<std::vector<uint8_t>> Drain(UdpSocket& socket) {
  std::vector<std::vector<uint8_t>> out;
  DatagramBatch batch(64, 2048);
  for (int round = 0; round < 1000; ++round) {
    auto n = socket.receive_batch(batch.slots());
    REQUIRE(n.ok());
    if (*n == 0) break;
    for (size_t i = 0; i < *n; ++i) out.emplace_back(batch[i].data().begin(), batch[i].data().end());
  }
  return out;
}

// A UDP port pair (even RTP port, RTP+1 for RTCP) free right now on 127.0.0.1.
uint16_t FreePortPair() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const uint16_t base = static_cast<uint16_t>(20000 + ((::getpid() * 7 + attempt * 97) % 20000) * 2 % 40000);
    auto a = UdpSocket::Open(SocketAddress::LoopbackV4(base));
    auto b = UdpSocket::Open(SocketAddress::LoopbackV4(static_cast<uint16_t>(base + 1)));
    if (a.ok() && b.ok()) return base;
  }
  FAIL("no free UDP port pair");
  return 0;
}

std::vector<uint8_t> TestRtp(uint16_t seq, size_t payload_size = 400) {
  std::vector<uint8_t> payload(payload_size);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(seq * 13 + i);
  rtp::RtpPacketBuilder b;
  b.set_payload_type(96).set_sequence_number(seq).set_timestamp(seq * 3000u).set_ssrc(kSsrc).set_payload(payload);
  auto p = b.build();
  REQUIRE(p.ok());
  return {p->data().begin(), p->data().end()};
}

SrtpSession Session(SrtpProfile profile, SrtpDirection direction, const std::vector<uint8_t>& key) {
  SrtpConfig c;
  c.profile = profile;
  c.key_material = key;
  c.direction = direction;
  auto s = SrtpSession::Create(c);
  REQUIRE_MESSAGE(s.ok(), s.error());
  return std::move(*s);
}

// Runs ffmpeg as an SRTP VP8 sender to `port` (synchronously: the datagrams queue in `rx`), then
// reads the SDP it wrote and decrypts every packet with the key from that SDP's a=crypto line.
// Returns the plaintext RTP packets in arrival order.
std::vector<std::vector<uint8_t>> FfmpegSrtpCapture(UdpSocket& rx, const std::string& dir, int frames) {
  const std::string sdp_path = dir + "/ffmpeg_out.sdp";
  std::remove(sdp_path.c_str());
  const std::string cmd =
      "ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc=size=160x120:rate=30 -frames:v " +
      std::to_string(frames) +
      " -c:v libvpx -deadline realtime -cpu-used 8 -b:v 300k -g 1000 -f rtp -payload_type 96 -ssrc " +
      std::to_string(kSsrc) + " -srtp_out_suite AES_CM_128_HMAC_SHA1_80 -srtp_out_params " + kKeyB64 +
      " 'srtp://127.0.0.1:" + std::to_string(rx.local_address().port()) + "?pkt_size=1200' -sdp_file '" + sdp_path +
      "' -y";
  auto r = test::run_command(cmd, 30, true);
  REQUIRE_MESSAGE(r.exit_code == 0, r.out);

  // The live SDP: tern must open what ffmpeg wrote.
  std::ifstream in(sdp_path);
  std::stringstream text;
  text << in.rdbuf();
  size_t line = 0;
  auto sd = SessionDescription::parse(text.str(), &line);
  REQUIRE_MESSAGE(sd.ok(), sd.error() << " at line " << line << "\n" << text.str());
  REQUIRE(sd->media.size() == 1);
  const SdpMedia& m = sd->media[0];
  CHECK(m.port == rx.local_address().port());
  REQUIRE(m.find_payload_type(96) != nullptr);
  CHECK(m.find_payload_type(96)->encoding_name == "VP8");
  CHECK(m.find_payload_type(96)->clock_rate == 90000);
  REQUIRE(m.cryptos.size() == 1);
  auto profile = srtp_profile_from_name(m.cryptos[0].suite);
  REQUIRE(profile.has_value());
  auto key = parse_sdes_key_params(m.cryptos[0].key_params, *profile);
  REQUIRE_MESSAGE(key.ok(), key.error());

  SrtpSession srtp = Session(*profile, SrtpDirection::kReceive, *key);
  std::vector<std::vector<uint8_t>> plain;
  for (auto& d : Drain(rx)) {
    const Status s = srtp.unprotect_rtp(d);
    CHECK_MESSAGE(s.ok(), s.error());
    if (s.ok()) plain.push_back(std::move(d));
  }
  CHECK(srtp.counters().auth_failures == 0);
  CHECK(srtp.counters().replay_failures == 0);
  return plain;
}

}  // namespace

TEST_CASE("interop gstreamer srtpenc to tern unprotect") {
  if (!HavePeers({"gst-launch-1.0"})) return;
  auto rx = UdpSocket::Open(SocketAddress::LoopbackV4(0));
  REQUIRE(rx.ok());
  constexpr int kFrames = 20;
  const std::string cmd =
      "gst-launch-1.0 -q videotestsrc num-buffers=" + std::to_string(kFrames) +
      " ! video/x-raw,width=160,height=120,framerate=30/1 ! vp8enc deadline=1 ! rtpvp8pay pt=96 ssrc=" +
      std::to_string(kSsrc) + " ! srtpenc key=" + kKeyHex +
      " rtp-cipher=aes-128-icm rtp-auth=hmac-sha1-80 ! udpsink host=127.0.0.1 port=" +
      std::to_string(rx->local_address().port()) + " sync=false";
  auto r = test::run_command(cmd, 30, true);
  REQUIRE_MESSAGE(r.exit_code == 0, r.out);
  auto key = parse_sdes_key_params(std::string("inline:") + kKeyB64, SrtpProfile::kAesCm128HmacSha1_80);
  REQUIRE(key.ok());
  SrtpSession srtp = Session(SrtpProfile::kAesCm128HmacSha1_80, SrtpDirection::kReceive, *key);
  auto datagrams = Drain(*rx);
  CHECK(datagrams.size() >= kFrames);
  size_t ok = 0, marked = 0;
  for (auto& d : datagrams) {
    const Status s = srtp.unprotect_rtp(d);
    REQUIRE_MESSAGE(s.ok(), s.error());
    auto view = rtp::RtpPacketView::parse(d);
    REQUIRE(view.ok());
    CHECK(view->ssrc() == kSsrc);
    CHECK(view->payload_type() == 96);
    if (view->marker()) ++marked;
    ++ok;
  }
  CHECK(ok == datagrams.size());
  CHECK(marked == kFrames);  // one marker per VP8 frame: every frame arrived and decrypted
  CHECK(srtp.counters().auth_failures == 0);
}

TEST_CASE("interop tern protect to gstreamer srtpdec") {
  if (!HavePeers({"gst-launch-1.0"})) return;
  struct Suite {
    SrtpProfile profile;
    const char* cipher;
    const char* auth;
    const char* rtcp_auth;
  };
  const Suite suites[] = {
      {SrtpProfile::kAesCm128HmacSha1_80, "aes-128-icm", "hmac-sha1-80", "hmac-sha1-80"},
      {SrtpProfile::kAesCm128HmacSha1_32, "aes-128-icm", "hmac-sha1-32", "hmac-sha1-80"},
      {SrtpProfile::kAeadAes128Gcm, "aes-128-gcm", "null", "null"},
  };
  const std::string dir = test::scratch_dir("transport_srtpdec");
  for (const Suite& suite : suites) {
    CAPTURE(to_string(suite.profile));
    std::vector<uint8_t> key(srtp_key_material_size(suite.profile));
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(0xA0 + i);
    // Decrypted RTP comes back from srtpdec to this socket.
    auto back = UdpSocket::Open(SocketAddress::LoopbackV4(0));
    auto tx = UdpSocket::Open(SocketAddress::LoopbackV4(0));
    REQUIRE(back.ok());
    REQUIRE(tx.ok());
    const uint16_t gst_port = FreePortPair();
    const std::string caps = std::string("application/x-srtp,media=(string)video,clock-rate=(int)90000,") +
                             "encoding-name=(string)VP8,payload=(int)96,ssrc=(uint)" + std::to_string(kSsrc) +
                             ",srtp-key=(buffer)" + hex_encode(key) + ",srtp-cipher=(string)" + suite.cipher +
                             ",srtp-auth=(string)" + suite.auth + ",srtcp-cipher=(string)" + suite.cipher +
                             ",srtcp-auth=(string)" + suite.rtcp_auth;
    Peer gst("gst-launch-1.0 -q udpsrc address=127.0.0.1 port=" + std::to_string(gst_port) + " caps=\"" + caps +
                 "\" ! srtpdec ! udpsink host=127.0.0.1 port=" + std::to_string(back->local_address().port()) +
                 " sync=false async=false",
             20, dir + "/gst.log");
    auto driver = EpollDriver::Create();
    REQUIRE(driver.ok());
    SrtpSession srtp = Session(suite.profile, SrtpDirection::kSend, key);
    const SocketAddress gst_addr = SocketAddress::LoopbackV4(gst_port);
    // The sequence number wraps during the run: srtpdec must follow the rollover counter too. It must
    // see a packet from before the wrap first (a receiver starts with ROC 0), so until the first
    // packet comes back decrypted the sender goes slowly: 20 ms per packet leaves srtpdec ~10 s to
    // start before the wrap, then 2 ms per packet crosses it in about a second.
    uint16_t seq = 65000;
    size_t matched = 0, mismatched = 0, matched_after_wrap = 0;
    int tick = 0;
    DatagramBatch in(32, 2048);
    REQUIRE(driver->add_fd(back->fd(), [&](Timestamp) {
                    auto n = back->receive_batch(in.slots());
                    REQUIRE(n.ok());
                    for (size_t i = 0; i < *n; ++i) {
                      auto view = rtp::RtpPacketView::parse(in[i].data());
                      REQUIRE(view.ok());
                      const std::vector<uint8_t> expected = TestRtp(view->sequence_number());
                      const auto got = in[i].data();
                      if (got.size() == expected.size() && std::equal(got.begin(), got.end(), expected.begin())) {
                        ++matched;
                        if (view->sequence_number() < 30000) ++matched_after_wrap;
                      } else {
                        ++mismatched;
                      }
                    }
                  }).ok());
    // Until 200 came back decrypted, 100 of them after the wrap (the packets sent before srtpdec
    // listens are lost, which SRTP tolerates), or the peer died.
    Every sender(*driver, TimeDelta::Millis(2), [&](Timestamp) {
      if (matched > 0 || tick++ % 10 == 0) {
        std::vector<uint8_t> p = TestRtp(seq++);
        REQUIRE(srtp.protect_rtp(p).ok());
        REQUIRE(tx->send_to(p, gst_addr).ok());
      }
      return (matched < 200 || matched_after_wrap < 100) && gst.running();
    });
    REQUIRE(driver->add_pollable(&sender).ok());
    REQUIRE(driver->run_for(TimeDelta::Seconds(15)).ok());
    CHECK_MESSAGE(matched >= 200, "srtpdec returned " << matched << " packets; log:\n" << gst.log());
    CHECK(matched_after_wrap >= 100);
    CHECK(mismatched == 0);
  }
}

TEST_CASE("interop ffmpeg srtp sender and its sdp to tern") {
  if (!HavePeers({"ffmpeg"})) return;
  auto rx = UdpSocket::Open(SocketAddress::LoopbackV4(0));
  REQUIRE(rx.ok());
  constexpr int kFrames = 15;
  auto packets = FfmpegSrtpCapture(*rx, test::scratch_dir("transport_ffmpeg_srtp"), kFrames);
  size_t marked = 0;
  for (const auto& p : packets) {
    auto view = rtp::RtpPacketView::parse(p);
    REQUIRE(view.ok());
    CHECK(view->ssrc() == kSsrc);
    CHECK(view->payload_type() == 96);
    if (view->marker()) ++marked;
  }
  CHECK(marked == kFrames);
}

TEST_CASE("interop sdp written by tern opens in ffmpeg") {
  if (!HavePeers({"ffmpeg"})) return;
  const std::string dir = test::scratch_dir("transport_sdp_ffmpeg");
  // Real VP8 RTP to replay: from ffmpeg's own sender, decrypted by tern.
  auto rx = UdpSocket::Open(SocketAddress::LoopbackV4(0));
  REQUIRE(rx.ok());
  const auto vp8 = FfmpegSrtpCapture(*rx, dir, 10);
  REQUIRE(vp8.size() >= 10);

  // tern's own key and SDP: RTP/SAVP with a=crypto, as tern-send would write it.
  std::vector<uint8_t> key(30);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(255 - i * 3);
  const uint16_t port = FreePortPair();
  SessionDescription sd;
  sd.session_name = "tern interop";
  sd.connection = SdpConnection{"IP4", "127.0.0.1"};
  SdpMedia m;
  m.media = "video";
  m.port = port;
  m.proto = "RTP/SAVP";
  m.payload_types.push_back(SdpPayloadType{96, "VP8", 90000, 0, "", {}});
  m.cryptos.push_back(SdpCrypto{1, "AES_CM_128_HMAC_SHA1_80", make_sdes_key_params(key), ""});
  m.ssrcs.push_back(SdpSsrc{kSsrc, "tern"});
  m.direction = SdpDirection::kRecvOnly;
  sd.media.push_back(m);
  const std::string sdp_path = dir + "/tern.sdp";
  {
    std::ofstream out(sdp_path);
    out << sd.to_string();
  }
  const std::string crc_path = dir + "/frames.crc";
  std::remove(crc_path.c_str());
  constexpr int kDecodeFrames = 20;
  Peer ffmpeg("ffmpeg -hide_banner -protocol_whitelist file,udp,rtp,srtp -threads 1 -i '" + sdp_path +
                  "' -frames:v " + std::to_string(kDecodeFrames) + " -f framecrc -y '" + crc_path + "'",
              25, dir + "/ffmpeg.log");

  // Replay the capture in a loop (each pass starts with its keyframe), with continuing sequence
  // numbers and timestamps, protected with tern's key, until ffmpeg has its frames and exits.
  auto driver = EpollDriver::Create();
  REQUIRE(driver.ok());
  auto tx = UdpSocket::Open(SocketAddress::LoopbackV4(0));
  REQUIRE(tx.ok());
  SrtpSession srtp = Session(SrtpProfile::kAesCm128HmacSha1_80, SrtpDirection::kSend, key);
  const uint32_t first_ts = load_be32(&vp8.front()[4]);
  const uint32_t pass_ts = load_be32(&vp8.back()[4]) - first_ts + 3000;
  size_t index = 0;
  uint16_t seq = 1;
  Every sender(*driver, TimeDelta::Millis(3), [&](Timestamp) {
    std::vector<uint8_t> p = vp8[index % vp8.size()];
    const uint32_t ts = load_be32(&p[4]) - first_ts + static_cast<uint32_t>(index / vp8.size()) * pass_ts;
    store_be16(&p[2], seq++);
    store_be32(&p[4], ts);
    ++index;
    REQUIRE(srtp.protect_rtp(p).ok());
    (void)tx->send_to(p, SocketAddress::LoopbackV4(port));  // refused until ffmpeg listens: fine
    return ffmpeg.running();
  });
  REQUIRE(driver->add_pollable(&sender).ok());
  REQUIRE(driver->run_for(TimeDelta::Seconds(20)).ok());
  CHECK_FALSE(ffmpeg.running());
  CHECK_MESSAGE(ffmpeg.exit_code() == 0, ffmpeg.log());
  std::ifstream crc(crc_path);
  std::string line;
  int frames = 0;
  for (int i = 0; i < 1000 && std::getline(crc, line); ++i)
    if (!line.empty() && line[0] != '#') ++frames;
  CHECK_MESSAGE(frames == kDecodeFrames, ffmpeg.log());
}
