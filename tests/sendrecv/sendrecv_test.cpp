// tern-send / tern-recv over UDP loopback against real peers (GStreamer, ffmpeg, tshark) and each
// other. Every process runs under `timeout`; ports 5800-5949 are unique per test. The tools are the
// built binaries in ${TERN_BINARY_DIR}/tools. Receivers in the background are BackgroundPeers
// (own process group, killed if still running when the test ends).
#include <doctest/doctest.h>

#include <csignal>
#include <cmath>
#include <cstdlib>
#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/capture.h"
#include "support/peer.h"
#include "support/process.h"
#include "support/udp.h"
#include "support/wav.h"
#include "support/y4m.h"
#include "tern/core/random.h"
#include "tern/transport/udp_socket.h"

namespace {

using tern::test::BackgroundPeer;
using tern::test::HavePeers;
using tern::test::WaitForUdpPort;

constexpr const char* kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d";
constexpr const char* kKeyB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";  // the same 30 bytes
constexpr const char* kVp8Caps = "application/x-rtp,media=video,clock-rate=90000,encoding-name=VP8,payload=96";

std::string Tool(const std::string& name) { return std::string(TERN_BINARY_DIR) + "/tools/" + name; }

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The largest number after any "<key>": in a JSON text (webrtc-stats keys repeat per stream), or -1.
double JsonNumber(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  double best = -1;
  for (size_t at = json.find(needle); at != std::string::npos; at = json.find(needle, at + 1)) {
    best = std::max(best, std::strtod(json.c_str() + at + needle.size(), nullptr));
  }
  return best;
}

// Mean luma PSNR of the first min(n) frames, frame i against frame i.
double MeanPsnr(const tern::test::Y4mVideo& a, const tern::test::Y4mVideo& b) {
  const size_t n = std::min(a.frames.size(), b.frames.size());
  if (n == 0 || a.width != b.width || a.height != b.height) return 0;
  double total = 0;
  for (size_t f = 0; f < n; ++f) {
    double sse = 0;
    for (size_t i = 0; i < a.luma_size(); ++i) {
      const double d = double(a.frames[f][i]) - double(b.frames[f][i]);
      sse += d * d;
    }
    const double mse = sse / double(a.luma_size());
    total += mse <= 1e-10 ? 100.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
  }
  return total / double(n);
}

tern::test::ProcessResult Send(const std::string& args, int timeout_s = 20) {
  return tern::test::run_command(Tool("tern-send") + " " + args, timeout_s, true);
}

// tern-send's stream to a GStreamer receiver pipeline `rx` (udpsrc on `port`), then EOS.
void SendToGst(const std::string& dir, uint16_t port, const std::string& rx, const std::string& send_args) {
  BackgroundPeer gst("gst-launch-1.0 -e " + rx, 20, dir + "/gst.log");
  REQUIRE(WaitForUdpPort(port, 5000));
  const auto sent = Send("--dest 127.0.0.1:" + std::to_string(port) + " --no-rtcp-mux " + send_args);
  CHECK_MESSAGE(sent.exit_code == 0, sent.out);
  gst.interrupt();
  CHECK_MESSAGE(gst.wait(8000), gst.log());
}

void CheckVideo(const std::string& received, const std::string& reference, size_t frames, double min_psnr) {
  const auto rx = tern::test::ReadY4m(received);
  const auto ref = tern::test::ReadY4m(reference);
  REQUIRE_MESSAGE(rx.error == nullptr, rx.error);
  REQUIRE_MESSAGE(ref.error == nullptr, ref.error);
  CHECK(ref.frames.size() == frames);
  CHECK(rx.frames.size() == frames);
  const double psnr = MeanPsnr(rx, ref);
  MESSAGE("mean luma PSNR " << psnr << " dB over " << rx.frames.size() << " frames");
  CHECK(psnr > min_psnr);
}

// ffmpeg receivers run with -fps_mode passthrough: one output picture per decoded frame. Without it
// ffmpeg writes constant-rate output at the rate it guessed while probing (240 fps once, on a slow
// sanitizer run) and pads with duplicates, so "90 frames" could be 13 decoded ones.

// A dumpcap capture on lo of UDP ports [first, last] for the whole test (the issue: tshark finds
// no malformed packet in a capture of each run). check() stops it and asks tshark for malformed
// packets or error-level expert info under the decode-as rules `decode_as` (RTP ports as rtp,
// RTCP ports as rtcp, payload types to their dissectors), and for at least `min_rtp` RTP packets.
// SRTP runs decode only the RTP header (the payload is ciphertext) and leave SRTCP undissected.
class Capture {
 public:
  Capture(const std::string& dir, int first_port, int last_port)
      : capture_(dir, "udp portrange " + std::to_string(first_port) + "-" + std::to_string(last_port)) {}
  // `unreadable`: a display filter for packets tshark cannot judge (e.g. padded SRTP packets: it
  // takes the last byte of the authentication tag for the padding count).
  void check(const std::string& decode_as, int min_rtp, const std::string& unreadable = "") {
    if (!capture_.active()) return;
    capture_.stop();
    const std::string malformed = capture_.malformed(decode_as, unreadable);
    CHECK_MESSAGE(malformed.empty(), malformed);
    const auto packets = tern::test::split_lines(capture_.query(decode_as + " -T fields -e rtp.seq", "rtp")).size();
    MESSAGE("tshark: " << packets << " RTP packets, none malformed");
    CHECK(packets >= static_cast<size_t>(min_rtp));
  }
  // Fields tshark reads from the capture (after check(); empty when nothing was captured).
  std::string query(const std::string& args, const std::string& filter) {
    return capture_.active() ? capture_.query(args, filter) : std::string();
  }

 private:
  tern::test::LoopbackCapture capture_;
};

// "-d udp.port==P,rtp -d udp.port==P+1,rtcp" (+1 only without RTCP mux) plus payload type rules.
std::string DecodeAs(int rtp_port, bool rtcp_on_next_port, const std::string& pt_rules = "") {
  std::string d = " -d udp.port==" + std::to_string(rtp_port) + ",rtp";
  if (rtcp_on_next_port) d += " -d udp.port==" + std::to_string(rtp_port + 1) + ",rtcp";
  return d + pt_rules;
}
constexpr const char* kVp8Pt = " -d rtp.pt==96,vp8";
constexpr const char* kOpusPt = " -d rtp.pt==111,opus";

// tern-recv in the background with `args`; it exits on --frames / --idle-timeout.
struct Receiver {
  Receiver(const std::string& dir, uint16_t port, const std::string& args)
      : json(dir + "/recv.json"),
        peer(Tool("tern-recv") + " --stats-json " + json + " --idle-timeout 2 " + args, 25, dir + "/recv.log") {
    ready = WaitForUdpPort(port, 5000);
  }
  // Waits for the exit and returns the stats JSON.
  std::string finish() {
    CHECK_MESSAGE(peer.wait(15000), peer.log());
    CHECK_MESSAGE(peer.exit_code() == 0, peer.log());
    return ReadText(json);
  }
  std::string json;
  BackgroundPeer peer;
  bool ready = false;
};

}  // namespace

TEST_CASE("tern-send VP8 to a GStreamer receiver decodes every frame") {
  if (!HavePeers({"gst-launch-1.0", "ffmpeg"})) return;
  const std::string dir = tern::test::scratch_dir("sendrecv_vp8_gst");
  Capture capture(dir, 5801, 5802);
  SendToGst(dir, 5801,
            "udpsrc address=127.0.0.1 port=5801 caps=\"" + std::string(kVp8Caps) +
                "\" ! rtpjitterbuffer latency=100 ! rtpvp8depay ! vp8dec ! videoconvert ! video/x-raw,format=I420 ! "
                "y4menc ! filesink location=" + dir + "/rx.y4m",
            "--video vp8 --frames 90 --source-y4m " + dir + "/ref.y4m");
  CheckVideo(dir + "/rx.y4m", dir + "/ref.y4m", 90, 32.0);
  capture.check(DecodeAs(5801, true, kVp8Pt), 90);
}

TEST_CASE("tern-send VP9 to a GStreamer receiver decodes every frame") {
  if (!HavePeers({"gst-launch-1.0"})) return;
  const std::string dir = tern::test::scratch_dir("sendrecv_vp9_gst");
  Capture capture(dir, 5803, 5804);
  // vp9dec's padded buffers pass videoconvert untouched and y4menc writes the padding: a real
  // conversion through Y444 gives tightly packed I420.
  SendToGst(dir, 5803,
            "udpsrc address=127.0.0.1 port=5803 caps=\"application/x-rtp,media=video,clock-rate=90000,"
            "encoding-name=VP9,payload=98\" ! rtpjitterbuffer latency=100 ! rtpvp9depay ! vp9dec ! videoconvert ! "
            "video/x-raw,format=Y444 ! videoconvert ! video/x-raw,format=I420 ! y4menc ! filesink location=" +
                dir + "/rx.y4m",
            "--video vp9 --frames 90 --source-y4m " + dir + "/ref.y4m");
  CheckVideo(dir + "/rx.y4m", dir + "/ref.y4m", 90, 32.0);
  capture.check(DecodeAs(5803, true), 90);  // tshark 4.0 has no VP9 dissector: RTP level
}

TEST_CASE("tern-send Opus to a GStreamer receiver plays the whole duration") {
  if (!HavePeers({"gst-launch-1.0"})) return;
  const std::string dir = tern::test::scratch_dir("sendrecv_opus_gst");
  Capture capture(dir, 5805, 5806);
  SendToGst(dir, 5805,
            "udpsrc address=127.0.0.1 port=5805 caps=\"application/x-rtp,media=audio,clock-rate=48000,"
            "encoding-name=OPUS,payload=111\" ! rtpjitterbuffer latency=50 ! rtpopusdepay ! opusdec ! audioconvert ! "
            "audio/x-raw,format=S16LE ! wavenc ! filesink location=" + dir + "/rx.wav",
            "--video none --audio opus --duration 3");
  const auto wav = tern::test::ReadWav(dir + "/rx.wav");
  REQUIRE_MESSAGE(wav.error == nullptr, wav.error);
  MESSAGE("received " << wav.seconds() << " s");
  CHECK(wav.seconds() > 2.8);
  CHECK(wav.seconds() < 3.3);
  capture.check(DecodeAs(5805, true, kOpusPt), 140);
}

TEST_CASE("tern-send VP8 and Opus to ffmpeg from the SDP tern-send writes") {
  if (!HavePeers({"ffmpeg"})) return;
  const std::string dir = tern::test::scratch_dir("sendrecv_ffmpeg_rx");
  Capture capture(dir, 5807, 5810);
  // Video: 90 frames, quality against the source.
  REQUIRE(Send("--dest 127.0.0.1:5807 --no-rtcp-mux --frames 1 --duration 0.1 --sdp " + dir + "/v.sdp").exit_code == 0);
  {
    BackgroundPeer ff("ffmpeg -nostdin -protocol_whitelist file,udp,rtp,srtp -threads 1 -i " + dir +
                          "/v.sdp -frames:v 90 -fps_mode passthrough -pix_fmt yuv420p -y " + dir + "/rx.y4m",
                      25, dir + "/ffv.log");
    REQUIRE(WaitForUdpPort(5807, 5000));
    const auto sent = Send("--dest 127.0.0.1:5807 --no-rtcp-mux --frames 90 --source-y4m " + dir + "/ref.y4m");
    CHECK_MESSAGE(sent.exit_code == 0, sent.out);
    CHECK_MESSAGE(ff.wait(8000), ff.log());
  }
  CheckVideo(dir + "/rx.y4m", dir + "/ref.y4m", 90, 32.0);
  // Audio: opus/48000/2.
  REQUIRE(Send("--dest 127.0.0.1:5809 --no-rtcp-mux --video none --audio opus --duration 0.1 --sdp " + dir + "/a.sdp")
              .exit_code == 0);
  CHECK(ReadText(dir + "/a.sdp").find("a=rtpmap:111 opus/48000/2") != std::string::npos);
  {
    BackgroundPeer ff("ffmpeg -nostdin -protocol_whitelist file,udp,rtp,srtp -threads 1 -i " + dir +
                          "/a.sdp -t 2.5 -y " + dir + "/rx.wav",
                      25, dir + "/ffa.log");
    REQUIRE(WaitForUdpPort(5809, 5000));
    const auto sent = Send("--dest 127.0.0.1:5809 --no-rtcp-mux --video none --audio opus --duration 3");
    CHECK_MESSAGE(sent.exit_code == 0, sent.out);
    CHECK_MESSAGE(ff.wait(8000), ff.log());
  }
  const auto wav = tern::test::ReadWav(dir + "/rx.wav");
  REQUIRE_MESSAGE(wav.error == nullptr, wav.error);
  CHECK(wav.seconds() > 2.4);
  capture.check(DecodeAs(5807, true, kVp8Pt) + DecodeAs(5809, true, kOpusPt), 230);
}

TEST_CASE("GStreamer senders to tern-recv decode every frame and the whole audio") {
  if (!HavePeers({"gst-launch-1.0"})) return;
  const std::string dir = tern::test::scratch_dir("sendrecv_gst_tx");
  Capture capture(dir, 5811, 5814);
  for (const char* codec : {"vp8", "vp9"}) {
    CAPTURE(codec);
    const bool vp9 = std::string(codec) == "vp9";
    Receiver rx(dir, 5811, std::string("--port 5811 --video ") + codec + " --frames 60 --y4m " + dir + "/rx.y4m");
    REQUIRE(rx.ready);
    const auto tx = tern::test::run_command(
        std::string("gst-launch-1.0 -q -e videotestsrc pattern=ball num-buffers=60 ! "
                    "video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! ") +  // VP9 profile 0 needs I420
            (vp9 ? "vp9enc deadline=1 cpu-used=8 ! rtpvp9pay pt=98" : "vp8enc deadline=1 ! rtpvp8pay pt=96") +
            " mtu=1200 ! udpsink host=127.0.0.1 port=5811",
        15, true);
    CHECK_MESSAGE(tx.exit_code == 0, tx.out);
    const std::string json = rx.finish();
    CHECK(JsonNumber(json, "video_frames_decoded") == 60);
    CHECK(tern::test::ReadY4m(dir + "/rx.y4m").frames.size() == 60);
  }
  Receiver rx(dir, 5813, "--port 5813 --video none --audio opus --wav " + dir + "/rx.wav");
  REQUIRE(rx.ready);
  const auto tx = tern::test::run_command(
      "gst-launch-1.0 -q -e audiotestsrc num-buffers=150 samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=2 ! "
      "opusenc bitrate=64000 frame-size=20 ! rtpopuspay pt=111 ! udpsink host=127.0.0.1 port=5813",
      15, true);
  CHECK_MESSAGE(tx.exit_code == 0, tx.out);
  const std::string json = rx.finish();
  CHECK(JsonNumber(json, "audio_packets_decoded") >= 150);  // opusenc may flush one more at EOS
  const auto wav = tern::test::ReadWav(dir + "/rx.wav");
  REQUIRE_MESSAGE(wav.error == nullptr, wav.error);
  CHECK(wav.seconds() == doctest::Approx(3.0).epsilon(0.01));
  capture.check(DecodeAs(5811, false, kVp8Pt) + DecodeAs(5813, false, kOpusPt), 250);
}

TEST_CASE("ffmpeg sender to tern-recv from an ffmpeg-style SDP decodes every frame") {
  if (!HavePeers({"ffmpeg"})) return;
  const std::string dir = tern::test::scratch_dir("sendrecv_ffmpeg_tx");
  Capture capture(dir, 5815, 5816);
  // What `ffmpeg -sdp_file` writes for this command (written here so the receiver is up first).
  {
    std::ofstream sdp(dir + "/ff.sdp");
    sdp << "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=No Name\nc=IN IP4 127.0.0.1\nt=0 0\n"
           "a=tool:libavformat LIBAVFORMAT_VERSION\nm=video 5815 RTP/AVP 96\nb=AS:500\na=rtpmap:96 VP8/90000\n";
  }
  Receiver rx(dir, 5815, "--sdp " + dir + "/ff.sdp --frames 60 --y4m " + dir + "/rx.y4m");
  REQUIRE(rx.ready);
  const auto tx = tern::test::run_command(
      "ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 60 -c:v libvpx "
      "-deadline realtime -cpu-used 8 -b:v 500k -g 30 -f rtp -payload_type 96 -ssrc 287454020 "
      "'rtp://127.0.0.1:5815?pkt_size=1200'",
      20, true);
  CHECK_MESSAGE(tx.exit_code == 0, tx.out);
  const std::string json = rx.finish();
  CHECK(JsonNumber(json, "video_frames_decoded") == 60);
  CHECK(JsonNumber(json, "video_ssrc") == 287454020);  // learned from the first packet
  capture.check(DecodeAs(5815, false, kVp8Pt), 60);
}

TEST_CASE("ffmpeg sending 4000-byte datagrams to tern-recv decodes every frame") {
  // Datagrams larger than a common MTU (loopback carries them whole): every UDP size must be read.
  if (!HavePeers({"ffmpeg"})) return;
  const std::string dir = tern::test::scratch_dir("sendrecv_ffmpeg_large");
  {
    std::ofstream sdp(dir + "/ff.sdp");
    sdp << "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=No Name\nc=IN IP4 127.0.0.1\nt=0 0\n"
           "m=video 5927 RTP/AVP 96\na=rtpmap:96 VP8/90000\n";
  }
  Receiver rx(dir, 5927, "--sdp " + dir + "/ff.sdp --frames 60");
  REQUIRE(rx.ready);
  const auto tx = tern::test::run_command(
      "ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc=size=640x480:rate=30 -frames:v 60 -c:v libvpx "
      "-deadline realtime -cpu-used 8 -b:v 2M -g 15 -f rtp -payload_type 96 'rtp://127.0.0.1:5927?pkt_size=4000'",
      20, true);
  CHECK_MESSAGE(tx.exit_code == 0, tx.out);
  const std::string json = rx.finish();
  CHECK(JsonNumber(json, "video_frames_decoded") == 60);
}

TEST_CASE("SRTP from tern-send to GStreamer srtpdec and to ffmpeg with the same key in hex and base64") {
  if (!HavePeers({"gst-launch-1.0", "ffmpeg"})) return;
  const std::string dir = tern::test::scratch_dir("sendrecv_srtp_tx");
  Capture capture(dir, 5817, 5820);
  SendToGst(dir, 5817,
            std::string("udpsrc address=127.0.0.1 port=5817 caps=\"application/x-srtp,media=video,clock-rate=90000,"
                        "encoding-name=VP8,payload=96,ssrc=(uint)287454020,srtp-key=(buffer)") +
                kKeyHex +
                ",srtp-cipher=(string)aes-128-icm,srtp-auth=(string)hmac-sha1-80,srtcp-cipher=(string)aes-128-icm,"
                "srtcp-auth=(string)hmac-sha1-80\" ! srtpdec ! rtpjitterbuffer ! rtpvp8depay ! vp8dec ! videoconvert ! "
                "video/x-raw,format=I420 ! y4menc ! filesink location=" + dir + "/gst.y4m",
            std::string("--frames 90 --ssrc 287454020 --key ") + kKeyHex + " --source-y4m " + dir + "/ref.y4m");
  CheckVideo(dir + "/gst.y4m", dir + "/ref.y4m", 90, 32.0);

  REQUIRE(Send(std::string("--dest 127.0.0.1:5819 --no-rtcp-mux --frames 1 --duration 0.1 --key ") + kKeyB64 +
               " --sdp " + dir + "/s.sdp").exit_code == 0);
  CHECK(ReadText(dir + "/s.sdp").find(std::string("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:") + kKeyB64) !=
        std::string::npos);
  {
    BackgroundPeer ff("ffmpeg -nostdin -protocol_whitelist file,udp,rtp,srtp -threads 1 -i " + dir +
                          "/s.sdp -frames:v 90 -fps_mode passthrough -pix_fmt yuv420p -y " + dir + "/ff.y4m",
                      25, dir + "/ff.log");
    REQUIRE(WaitForUdpPort(5819, 5000));
    const auto sent = Send(std::string("--dest 127.0.0.1:5819 --no-rtcp-mux --frames 90 --key ") + kKeyB64);
    CHECK_MESSAGE(sent.exit_code == 0, sent.out);
    CHECK_MESSAGE(ff.wait(8000), ff.log());
  }
  CheckVideo(dir + "/ff.y4m", dir + "/ref.y4m", 90, 32.0);
  capture.check(DecodeAs(5817, false) + DecodeAs(5819, false), 180);  // SRTP: headers only
}

TEST_CASE("SRTP from GStreamer srtpenc and ffmpeg to tern-recv") {
  if (!HavePeers({"gst-launch-1.0", "ffmpeg"})) return;
  const std::string dir = tern::test::scratch_dir("sendrecv_srtp_rx");
  Capture capture(dir, 5821, 5824);
  {
    Receiver rx(dir, 5821, std::string("--port 5821 --video vp8 --frames 60 --key ") + kKeyHex);
    REQUIRE(rx.ready);
    const auto tx = tern::test::run_command(
        std::string("gst-launch-1.0 -q -e videotestsrc pattern=ball num-buffers=60 ! "
                    "video/x-raw,width=320,height=240,framerate=30/1 ! vp8enc deadline=1 ! rtpvp8pay pt=96 "
                    "ssrc=287454020 ! srtpenc key=") +
            kKeyHex + " rtp-cipher=aes-128-icm rtp-auth=hmac-sha1-80 ! udpsink host=127.0.0.1 port=5821",
        15, true);
    CHECK_MESSAGE(tx.exit_code == 0, tx.out);
    const std::string json = rx.finish();
    CHECK(JsonNumber(json, "video_frames_decoded") == 60);
    CHECK(JsonNumber(json, "unprotect_failures") == 0);
  }
  {
    std::ofstream sdp(dir + "/ff.sdp");
    sdp << "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=No Name\nc=IN IP4 127.0.0.1\nt=0 0\n"
           "a=tool:libavformat LIBAVFORMAT_VERSION\nm=video 5823 RTP/SAVP 96\nb=AS:500\na=rtpmap:96 VP8/90000\n"
           "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"
        << kKeyB64 << "\n";
  }
  Receiver rx(dir, 5823, "--sdp " + dir + "/ff.sdp --frames 60");
  REQUIRE(rx.ready);
  const auto tx = tern::test::run_command(
      std::string("ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 60 -c:v "
                  "libvpx -deadline realtime -cpu-used 8 -b:v 500k -g 30 -f rtp -payload_type 96 -ssrc 287454020 "
                  "-srtp_out_suite AES_CM_128_HMAC_SHA1_80 -srtp_out_params ") +
          kKeyB64 + " 'srtp://127.0.0.1:5823?pkt_size=1200'",
      20, true);
  CHECK_MESSAGE(tx.exit_code == 0, tx.out);
  const std::string json = rx.finish();
  CHECK(JsonNumber(json, "video_frames_decoded") == 60);
  CHECK(JsonNumber(json, "unprotect_failures") == 0);
  capture.check(DecodeAs(5821, false) + DecodeAs(5823, false), 120);  // SRTP: headers only
}

namespace {

uint64_t ParseNumber(const std::string& text) { return std::strtoull(text.c_str(), nullptr, 0); }

// From the capture: every report block sent to `rr_port` that answers an SR sent to `sr_port`
// (RFC 3550 6.4.1) names the SR's sender, its LSR is the middle 32 bits of that SR's NTP timestamp
// and its DLSR the time since that SR (loopback: sent ~ received), within 20 ms. Returns how many
// report blocks echoed an SR (LSR != 0).
int CheckSrEchoed(const std::string& pcap, const std::string& decode_as, int sr_port, int rr_port) {
  struct Sr {
    double time;
    uint64_t ssrc;
  };
  std::map<uint64_t, Sr> srs;  // by the middle 32 bits of the NTP timestamp
  const auto sr_out = tern::test::run_command(
      "tshark -r " + pcap + decode_as + " -Y 'udp.dstport==" + std::to_string(sr_port) +
          " && rtcp.pt==200' -T fields -e frame.time_relative -e rtcp.senderssrc -e rtcp.timestamp.ntp.msw"
          " -e rtcp.timestamp.ntp.lsw",
      30);
  for (const std::string& line : tern::test::split_lines(sr_out.out)) {
    const auto f = tern::test::split(line, '\t');
    if (f.size() < 4) continue;
    const uint64_t mid = ((ParseNumber(f[2]) & 0xFFFF) << 16) | (ParseNumber(f[3]) >> 16);
    srs[mid] = Sr{std::strtod(f[0].c_str(), nullptr), ParseNumber(f[1])};
  }
  const auto rr_out = tern::test::run_command(
      "tshark -r " + pcap + decode_as + " -Y 'udp.dstport==" + std::to_string(rr_port) +
          " && rtcp.ssrc.lsr' -T fields -e frame.time_relative -e rtcp.ssrc.identifier -e rtcp.ssrc.lsr"
          " -e rtcp.ssrc.dlsr",
      30);
  int echoed = 0;
  for (const std::string& line : tern::test::split_lines(rr_out.out)) {
    const auto f = tern::test::split(line, '\t');
    if (f.size() < 4) continue;
    const uint64_t lsr = ParseNumber(f[2]);  // the first report block
    if (lsr == 0) continue;                   // sent before any SR arrived
    CAPTURE(line);
    const auto sr = srs.find(lsr);
    REQUIRE_MESSAGE(sr != srs.end(), "LSR matches none of the SRs sent to port " << sr_port);
    CHECK(ParseNumber(tern::test::split(f[1], ',')[0]) == sr->second.ssrc);
    const double since_sr = std::strtod(f[0].c_str(), nullptr) - sr->second.time;
    const double dlsr = static_cast<double>(ParseNumber(f[3])) / 65536.0;
    CHECK(since_sr >= 0);
    CHECK(std::abs(since_sr - dlsr) < 0.02);
    ++echoed;
  }
  MESSAGE(srs.size() << " SRs to port " << sr_port << ", " << echoed << " reports to port " << rr_port
                     << " echo them");
  return echoed;
}

// The round trips rtpsource computed from report blocks (GST_DEBUG=rtpsource:5 lines "NTP ....,
// round trip HHHH:LLLL", 16.16 seconds), the zero ones (LSR 0) left out.
std::vector<double> GstRoundTrips(const std::string& log) {
  std::vector<double> out;
  const std::string needle = "round trip ";
  for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) {
    const std::string v = log.substr(at + needle.size(), 9);
    if (v.size() < 9 || v[4] != ':') continue;
    const double rtt = double(std::strtoul(v.substr(0, 4).c_str(), nullptr, 16)) +
                       double(std::strtoul(v.substr(5, 4).c_str(), nullptr, 16)) / 65536.0;
    if (rtt > 0) out.push_back(rtt);
  }
  return out;
}

}  // namespace

TEST_CASE("RTCP with GStreamer rtpbin both ways and a clean tshark capture") {
  if (!HavePeers({"gst-launch-1.0", "tshark", "dumpcap"})) return;
  const std::string dir = tern::test::scratch_dir("sendrecv_rtpbin");
  const std::string pcap = dir + "/cap.pcapng";
  tern::test::run_command("rm -f '" + pcap + "'", 5);
  BackgroundPeer capture("dumpcap -q -i lo -f 'udp portrange 5830-5849' -w " + pcap, 30, dir + "/dumpcap.log");
  // dumpcap creates the file once capturing has started.
  for (int i = 0; i < 250 && ReadText(pcap).empty(); ++i) tern::test::run_command("sleep 0.02", 2);
  if (ReadText(pcap).empty()) {
    if (tern::test::interop_required()) FAIL("dumpcap could not capture on lo: " << capture.log());
    MESSAGE("capture on lo is not possible here: skipped (" << capture.log() << ")");
    return;
  }
  // tern-send -> rtpbin: SR to 5831, rtpbin's RR back to tern-send's RTCP socket 5835.
  {
    BackgroundPeer gst(std::string("gst-launch-1.0 -e rtpbin name=rb udpsrc address=127.0.0.1 port=5830 caps=\"") +
                           kVp8Caps +
                           "\" ! rb.recv_rtp_sink_0 rb. ! rtpvp8depay ! vp8dec ! fakesink udpsrc address=127.0.0.1 "
                           "port=5831 ! rb.recv_rtcp_sink_0 rb.send_rtcp_src_0 ! udpsink host=127.0.0.1 port=5835 "
                           "sync=false async=false",
                       20, dir + "/gst1.log");
    REQUIRE(WaitForUdpPort(5831, 5000));
    const auto sent = Send("--dest 127.0.0.1:5830 --local-port 5834 --no-rtcp-mux --frames 150 --linger-ms 1500 "
                           "--stats-json " + dir + "/send.json");
    CHECK_MESSAGE(sent.exit_code == 0, sent.out);
    gst.interrupt();
    // Its RRs were already judged (below, and by tshark); a hang at EOS is rtpsession's (see the
    // second half), so it is reported, not failed; the group is killed when `gst` goes out of scope.
    if (!gst.wait(8000)) MESSAGE("gst-launch (rtpbin receiver) did not finish on SIGINT: killed");
    const std::string json = ReadText(dir + "/send.json");
    CHECK(JsonNumber(json, "rtcp_received") >= 1);
    CHECK(json.find("\"remote-inbound-rtp\"") != std::string::npos);  // their RR parsed
    // tern-send, the sender here, computed an RTT from rtpbin's RR (its LSR/DLSR echo our SR).
    CHECK(JsonNumber(json, "roundTripTimeMeasurements") >= 1);
    CHECK(JsonNumber(json, "roundTripTime") > 0);
    CHECK(JsonNumber(json, "roundTripTime") < 0.1);
  }
  // rtpbin -> tern-recv: SR to 5841, tern-recv's RR to rtpbin's udpsrc 5845.
  {
    Receiver rx(dir, 5840, "--port 5840 --no-rtcp-mux --rtcp-dest 127.0.0.1:5845 --frames 150");
    REQUIRE(rx.ready);
    // The sender runs in the background and is judged by what tern-recv decoded, not by its own
    // exit: GStreamer 1.22's rtpsession now and then (about 1 run in 20 here, and once in CI)
    // never forwards EOS on send_rtcp_src after the BYE it sends at end of stream (the BYE'd
    // internal source is dropped and re-created by the RTCP timer), so `gst-launch -e` waits
    // for an EOS that never comes. Once every frame has arrived it gets 3 s to finish, then SIGINT,
    // then the group is killed when `tx` goes out of scope.
    // rtpsource's debug log shows the round trip rtpbin computes from our RRs.
    BackgroundPeer tx(
        "env GST_DEBUG=rtpsource:5 GST_DEBUG_NO_COLOR=1 gst-launch-1.0 -e rtpbin name=rb videotestsrc num-buffers=150 ! "
        "video/x-raw,width=320,height=240,framerate=30/1 ! vp8enc deadline=1 ! rtpvp8pay pt=96 ! rb.send_rtp_sink_0 "
        "rb.send_rtp_src_0 ! udpsink host=127.0.0.1 port=5840 rb.send_rtcp_src_0 ! udpsink host=127.0.0.1 port=5841 "
        "sync=false async=false udpsrc address=127.0.0.1 port=5845 ! rb.recv_rtcp_sink_0",
        20, dir + "/gst2.log");
    const std::string json = rx.finish();
    CHECK_MESSAGE(JsonNumber(json, "video_frames_decoded") == 150, tx.log());
    CHECK(JsonNumber(json, "rtcp_received") >= 1);  // their SR
    if (!tx.wait(3000)) {
      tx.interrupt();
      if (!tx.wait(3000)) MESSAGE("gst-launch hung at end of stream (the rtpsession race above): killed");
    }
    CHECK_MESSAGE(tx.log().find("ERROR") == std::string::npos, tx.log());
    // rtpbin, the sender here, computed an RTT from tern-recv's RRs: loopback, so under 100 ms.
    const std::vector<double> rtts = GstRoundTrips(tx.log());
    MESSAGE("rtpbin's round trips from our RRs: " << rtts.size() << ", last " << (rtts.empty() ? -1 : rtts.back())
                                                   << " s");
    CHECK(!rtts.empty());
    for (double rtt : rtts) CHECK(rtt < 0.1);
  }
  capture.interrupt();
  CHECK(capture.wait(5000));
  const std::string d =
      " -d udp.port==5830,rtp -d udp.port==5831,rtcp -d udp.port==5835,rtcp -d udp.port==5840,rtp"
      " -d udp.port==5841,rtcp -d udp.port==5845,rtcp -d rtp.pt==96,vp8";
  const auto malformed =
      tern::test::run_command("tshark -r " + pcap + d + " -Y '_ws.malformed || _ws.expert.severity==error'", 30);
  CHECK_MESSAGE(malformed.out.empty(), malformed.out);
  const auto rtcp = tern::test::run_command(
      "tshark -r " + pcap + d + " -Y rtcp -T fields -e udp.dstport -e rtcp.pt", 30);
  std::map<std::string, int> by_port;  // "<dst port> <first RTCP type>" -> packets
  for (const std::string& line : tern::test::split_lines(rtcp.out)) {
    const auto f = tern::test::split(line, '\t');
    if (f.size() >= 2) ++by_port[f[0] + " " + f[1].substr(0, 3)];
  }
  CHECK(by_port["5831 200"] >= 2);  // our SRs to rtpbin
  CHECK(by_port["5835 201"] >= 1);  // rtpbin's RR to us
  CHECK(by_port["5841 200"] >= 1);  // rtpbin's SR to us
  CHECK(by_port["5845 201"] >= 2);  // our RRs to rtpbin
  // Accepted, not only delivered: each receiver's report blocks echo the other side's SRs.
  CHECK(CheckSrEchoed(pcap, d, 5831, 5835) >= 1);  // rtpbin's RRs echo tern-send's SRs
  CHECK(CheckSrEchoed(pcap, d, 5841, 5845) >= 1);  // tern-recv's RRs echo rtpbin's SRs
  // tern-recv only receives, so its reports carry an RFC 3611 Receiver Reference Time (tshark
  // dissects the XR block; the malformed check above covers it).
  const auto xr = tern::test::run_command(
      "tshark -r " + pcap + d + " -Y 'udp.dstport==5845 && rtcp.xr.bt==4' -T fields -e rtcp.xr.bt", 30);
  CHECK(tern::test::split_lines(xr.out).size() >= 2);
}

TEST_CASE("tern-send to tern-recv with NACK RTX and transport-cc repairs every drop") {
  const std::string dir = tern::test::scratch_dir("sendrecv_tern_tern");
  Capture capture(dir, 5851, 5851);
  REQUIRE(Send("--dest 127.0.0.1:5851 --peer tern --audio opus --frames 1 --duration 0.1 --sdp " + dir + "/t.sdp")
              .exit_code == 0);
  Receiver rx(dir, 5851,
              "--sdp " + dir + "/t.sdp --frames 90 --y4m " + dir + "/rx.y4m --wav " + dir + "/rx.wav --webm " + dir +
                  "/rx.webm");
  REQUIRE(rx.ready);
  // Started at 1 Mbps (the ceiling): from the library's 300 kbps start the rate rests on the start
  // probe, and beside busy processes the receiver's arrival times scatter it, which the controller
  // does not let raise the estimate (congestion/README.md); those runs encoded at ~340 kbps and
  // decoded 31.2 dB where the others reached 38.4 (5 of 6 runs beside three busy loops; 0 of 12
  // with this start). What this test judges is the repair, not the start-up.
  const auto sent = Send("--dest 127.0.0.1:5851 --peer tern --audio opus --start-rate 1M --frames 90 --drop-every 10 "
                         "--source-y4m " +
                         dir + "/ref.y4m --stats-json " + dir + "/send.json");
  CHECK_MESSAGE(sent.exit_code == 0, sent.out);
  const std::string json = rx.finish();
  CHECK(JsonNumber(json, "video_frames_decoded") == 90);
  CHECK(JsonNumber(json, "retransmittedPacketsReceived") >= 5);
  CHECK(JsonNumber(json, "audio_packets_decoded") > 100);
  const std::string send_json = ReadText(dir + "/send.json");
  CHECK(JsonNumber(send_json, "dropped_for_test") >= 5);
  // Each drop repaired once (a repair is a missing packet a retransmission filled, not every RTX).
  CHECK(JsonNumber(json, "ternPacketsRepairedByRtx") == JsonNumber(send_json, "dropped_for_test"));
  CHECK(JsonNumber(send_json, "rtcp_received") > 10);  // transport-cc feedback and RRs
  CHECK(JsonNumber(send_json, "availableOutgoingBitrate") > 0);
  CheckVideo(dir + "/rx.y4m", dir + "/ref.y4m", 90, 32.0);
  CHECK(ReadText(dir + "/rx.webm").size() > 10000);
  capture.check(DecodeAs(5851, false, std::string(kVp8Pt) + kOpusPt), 200);  // RTCP muxed (RFC 5761)
}

TEST_CASE("tern-recv finalises its files on SIGINT and SIGTERM") {
  const std::string dir = tern::test::scratch_dir("sendrecv_sigint");
  for (const int sig : {SIGINT, SIGTERM}) {
    CAPTURE(sig);
    Capture capture(dir, 5861, 5861);
    BackgroundPeer rx(Tool("tern-recv") + " --port 5861 --video vp8 --audio opus --y4m " + dir + "/rx.y4m --wav " + dir +
                          "/rx.wav --webm " + dir + "/rx.webm --stats-json " + dir + "/recv.json",
                      25, dir + "/recv.log");
    REQUIRE(WaitForUdpPort(5861, 5000));
    const auto sent = Send("--dest 127.0.0.1:5861 --audio opus --frames 30");
    CHECK_MESSAGE(sent.exit_code == 0, sent.out);
    rx.send_signal(sig);
    REQUIRE(rx.wait(5000));
    CHECK_MESSAGE(rx.exit_code() == 0, rx.log());
    const std::string json = ReadText(dir + "/recv.json");
    CHECK(JsonNumber(json, "signal") == sig);
    CHECK(tern::test::ReadY4m(dir + "/rx.y4m").frames.size() == 30);
    const auto wav = tern::test::ReadWav(dir + "/rx.wav");
    CHECK_MESSAGE(wav.error == nullptr, wav.error);
    CHECK(wav.seconds() > 0.5);
    // The WebM is finalised: ffprobe reads a duration and both tracks.
    if (HavePeers({"ffprobe"})) {
      const auto probe = tern::test::run_command(
          "ffprobe -v error -show_entries format=duration:stream=codec_name -of csv=p=0 " + dir + "/rx.webm", 20);
      CHECK_MESSAGE(probe.out.find("vp8") != std::string::npos, probe.out);
      CHECK_MESSAGE(probe.out.find("opus") != std::string::npos, probe.out);
      CHECK_MESSAGE(probe.out.find("N/A") == std::string::npos, probe.out);
    }
    capture.check(DecodeAs(5861, false, std::string(kVp8Pt) + kOpusPt), 30);
  }
}

TEST_CASE("bad arguments malformed SDP and unusable ports give a clear error") {
  const std::string dir = tern::test::scratch_dir("sendrecv_errors");
  auto send = Send("--video vp8");
  CHECK(send.exit_code != 0);
  CHECK(send.out.find("--dest") != std::string::npos);
  send = Send("--dest 127.0.0.1:99999");
  CHECK(send.exit_code != 0);
  CHECK(send.out.find("port must be 1..65535") != std::string::npos);
  send = Send("--dest 127.0.0.1:5871 --key zz");
  CHECK(send.exit_code != 0);
  CHECK(send.out.find("--key") != std::string::npos);
  send = Send("--dest 127.0.0.1:5871 --bitrate fast");
  CHECK(send.exit_code != 0);
  CHECK(send.out.find("--bitrate") != std::string::npos);
  send = Send("--dest 127.0.0.1:5871 --start-rate fast");
  CHECK(send.exit_code != 0);
  CHECK(send.out.find("--start-rate 'fast'") != std::string::npos);
  // Nobody listening at the destination: the ICMP port-unreachable replies are reported.
  send = Send("--dest 127.0.0.1:5877 --frames 10 --stats-json " + dir + "/unreachable.json");
  CHECK(send.exit_code == 0);
  CHECK_MESSAGE(send.out.find("warning: 127.0.0.1:5877 is unreachable (Connection refused): nothing is listening "
                              "there") != std::string::npos,
                send.out);
  CHECK(JsonNumber(ReadText(dir + "/unreachable.json"), "icmp_unreachable") >= 10);

  {
    std::ofstream sdp(dir + "/bad.sdp");
    sdp << "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nt=0 0\nm=video notaport RTP/AVP 96\na=rtpmap:96 VP8/90000\n";
  }
  auto recv = tern::test::run_command(Tool("tern-recv") + " --sdp " + dir + "/bad.sdp --duration 1", 10, true);
  CHECK(recv.exit_code != 0);
  CHECK_MESSAGE(recv.out.find("malformed SDP at line 5") != std::string::npos, recv.out);
  recv = tern::test::run_command(Tool("tern-recv") + " --sdp " + dir + "/missing.sdp", 10, true);
  CHECK(recv.exit_code != 0);
  CHECK(recv.out.find("missing.sdp") != std::string::npos);
  recv = tern::test::run_command(Tool("tern-recv") + " --video vp8", 10, true);
  CHECK(recv.exit_code != 0);
  CHECK(recv.out.find("--port") != std::string::npos);
  // Every output is created before the first packet: an unwritable one stops tern-recv at once,
  // before it listens; a full disk (/dev/full) is an error too, not a silent loss.
  for (const char* option : {"--y4m", "--wav", "--webm", "--stats-json"}) {
    CAPTURE(option);
    recv = tern::test::run_command(Tool("tern-recv") + " --port 5879 --audio opus " + option + " " + dir +
                                       "/missing/out --duration 5",
                                   10, true);
    CHECK(recv.exit_code == 1);
    CHECK_MESSAGE(recv.out.find(std::string(option) + ": cannot create '" + dir + "/missing/out': No such file") !=
                      std::string::npos,
                  recv.out);
    CHECK(recv.out.find("listening") == std::string::npos);
  }
  recv = tern::test::run_command(Tool("tern-recv") + " --port 5879 --duration 0.1 --stats-json /dev/full", 10, true);
  CHECK(recv.exit_code == 1);
  CHECK_MESSAGE(recv.out.find("--stats-json: cannot write '/dev/full': No space left on device") != std::string::npos,
                recv.out);

  // A port someone already holds.
  BackgroundPeer holder(Tool("tern-recv") + " --port 5873 --duration 10", 12, dir + "/holder.log");
  REQUIRE(WaitForUdpPort(5873, 5000));
  recv = tern::test::run_command(Tool("tern-recv") + " --port 5873 --duration 1", 10, true);
  CHECK(recv.exit_code != 0);
  CHECK_MESSAGE(recv.out.find("cannot listen on 127.0.0.1:5873") != std::string::npos, recv.out);
  send = Send("--dest 127.0.0.1:5875 --local-port 5873 --frames 1");
  CHECK(send.exit_code != 0);
  CHECK(send.out.find("cannot open UDP socket") != std::string::npos);
  CHECK_MESSAGE(send.out.find("udp: bind(0.0.0.0:5873) failed: Address already in use") != std::string::npos,
                send.out);

  // Options are validated before the SDP is written: a refused configuration leaves no SDP behind.
  tern::test::run_command("rm -f '" + dir + "/ssrc0.sdp'", 5);
  send = Send("--dest 127.0.0.1:5875 --ssrc 0 --frames 1 --sdp " + dir + "/ssrc0.sdp");
  CHECK(send.exit_code != 0);
  CHECK_MESSAGE(send.out.find("configuration") != std::string::npos, send.out);
  CHECK_MESSAGE(ReadText(dir + "/ssrc0.sdp").empty(), ReadText(dir + "/ssrc0.sdp"));

  // An SDP whose address carries a stray CR: rejected, the CR shown escaped, never raw.
  {
    std::ofstream sdp(dir + "/cr.sdp");
    sdp << "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\r\nt=0 0\r\n"
           "m=video 5878 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n";
  }
  recv = tern::test::run_command(Tool("tern-recv") + " --sdp " + dir + "/cr.sdp --duration 1", 10, true);
  CHECK(recv.exit_code != 0);
  CHECK_MESSAGE(recv.out.find("127.0.0.1\\r") != std::string::npos, recv.out);
  CHECK_MESSAGE(recv.out.find('\r') == std::string::npos, recv.out);
}

TEST_CASE("tern-send to tern-recv over IPv6 loopback decodes every frame") {
  {
    // ::1 missing: a skip here, a failure in CI.
    auto probe = tern::transport::UdpSocket::Open(tern::transport::SocketAddress::LoopbackV6(0));
    if (!probe.ok()) {
      if (tern::test::ci_run()) FAIL("IPv6 loopback unavailable in a CI run: " << std::string(probe.error()));
      MESSAGE("IPv6 loopback unavailable (" << std::string(probe.error()) << "): skipped");
      return;
    }
  }
  const std::string dir = tern::test::scratch_dir("sendrecv_ipv6");
  Receiver rx(dir, 5925, "--address ::1 --port 5925 --frames 60 --y4m " + dir + "/rx.y4m");
  REQUIRE(rx.ready);
  const auto sent = Send("--dest [::1]:5925 --frames 60 --source-y4m " + dir + "/ref.y4m --stats-json " + dir +
                         "/send.json");
  CHECK_MESSAGE(sent.exit_code == 0, sent.out);
  const std::string json = rx.finish();
  CHECK(JsonNumber(json, "video_frames_decoded") == 60);
  CHECK(JsonNumber(ReadText(dir + "/send.json"), "rtcp_received") >= 1);  // RRs came back over ::1
  CheckVideo(dir + "/rx.y4m", dir + "/ref.y4m", 60, 30.0);
}

TEST_CASE("tern-send to tern-recv with ULPFEC in RED and NACK decodes every frame") {
  const std::string dir = tern::test::scratch_dir("sendrecv_tern_fec");
  {
    // ULPFEC alone first: beside NACK on a path this short (loopback RTT) the protection policy
    // sends no FEC (recovery/protection_policy.h rule 1: a retransmission is faster), except
    // while a start-up report judges the path by its 100 ms guess, a race that left a run with
    // no FEC packet at all (2 of 12 runs beside three busy loops). Without NACK FEC repairs.
    const std::string alone = tern::test::scratch_dir("sendrecv_tern_fec_alone");
    REQUIRE(Send("--dest 127.0.0.1:5854 --fec --frames 1 --duration 0.1 --sdp " + alone + "/t.sdp").exit_code == 0);
    Receiver rx(alone, 5854, "--sdp " + alone + "/t.sdp --frames 60");
    REQUIRE(rx.ready);
    const auto sent = Send("--dest 127.0.0.1:5854 --fec --frames 60 --drop-every 12");
    CHECK_MESSAGE(sent.exit_code == 0, sent.out);
    const std::string json = rx.finish();
    MESSAGE("ULPFEC alone: " << JsonNumber(json, "fecPacketsReceived") << " FEC packets, "
            << JsonNumber(json, "fec_recovered") << " packets rebuilt, " << JsonNumber(json, "video_frames_decoded")
            << " of 60 frames decoded");
    CHECK(JsonNumber(json, "fecPacketsReceived") > 0);
    CHECK(JsonNumber(json, "fec_recovered") > 0);
    CHECK(JsonNumber(json, "video_frames_decoded") >= 57);
  }
  Capture capture(dir, 5853, 5853);
  REQUIRE(Send("--dest 127.0.0.1:5853 --peer tern --fec --frames 1 --duration 0.1 --sdp " + dir + "/t.sdp").exit_code == 0);
  const std::string sdp = ReadText(dir + "/t.sdp");
  CHECK(sdp.find("a=rtpmap:100 red/90000") != std::string::npos);
  CHECK(sdp.find("a=rtpmap:101 ulpfec/90000") != std::string::npos);
  Receiver rx(dir, 5853, "--sdp " + dir + "/t.sdp --frames 90 --y4m " + dir + "/rx.y4m");
  REQUIRE(rx.ready);
  const auto sent = Send("--dest 127.0.0.1:5853 --peer tern --fec --frames 90 --drop-every 15 --source-y4m " + dir +
                         "/ref.y4m");
  CHECK_MESSAGE(sent.exit_code == 0, sent.out);
  const std::string json = rx.finish();
  CHECK(JsonNumber(json, "video_frames_decoded") == 90);
  // Every drop is repaired, by FEC in the tap (when the start-up race above sent any) or by RTX.
  CHECK(JsonNumber(json, "fec_recovered") + JsonNumber(json, "retransmittedPacketsReceived") >= 5);
  CheckVideo(dir + "/rx.y4m", dir + "/ref.y4m", 90, 32.0);
  capture.check(DecodeAs(5853, false), 90);  // RED/ULPFEC payloads left undissected
}

TEST_CASE("tern-send to tern-recv with FlexFEC on its own SSRC repairs the drops and tshark reads its RTP headers") {
  const std::string dir = tern::test::scratch_dir("sendrecv_tern_flexfec");
  Capture capture(dir, 5858, 5858);
  REQUIRE(Send("--dest 127.0.0.1:5858 --protection flexfec --frames 1 --duration 0.1 --sdp " + dir + "/t.sdp").exit_code == 0);
  const std::string sdp = ReadText(dir + "/t.sdp");
  CHECK(sdp.find("a=rtpmap:120 flexfec-03/90000") != std::string::npos);
  CHECK(sdp.find("a=ssrc-group:FEC-FR 268435458 268435460") != std::string::npos);
  Receiver rx(dir, 5858, "--sdp " + dir + "/t.sdp --frames 60");
  REQUIRE(rx.ready);
  // No NACK: only FlexFEC repairs the dropped packets.
  const auto sent = Send("--dest 127.0.0.1:5858 --protection flexfec --frames 60 --drop-every 12");
  CHECK_MESSAGE(sent.exit_code == 0, sent.out);
  const std::string json = rx.finish();
  CHECK(JsonNumber(json, "fecPacketsReceived") > 0);
  CHECK(JsonNumber(json, "fec_recovered") > 0);
  CHECK(JsonNumber(json, "video_frames_decoded") >= 57);
  capture.check(DecodeAs(5858, false, kVp8Pt), 60);
  // tshark 4.0 has no FlexFEC dissector; its RTP dissector reads the repair packets' headers:
  // their own SSRC and payload type, the media SSRC as the one CSRC (RFC 8627 4.2.1).
  const auto fec = tern::test::split_lines(
      capture.query(DecodeAs(5858, false) + " -T fields -e rtp.p_type -e rtp.csrc.item", "rtp.ssrc == 0x10000004"));
  if (!fec.empty()) {
    MESSAGE("tshark: " << fec.size() << " FlexFEC packets");
    for (const std::string& l : fec) CHECK(l == "120\t0x10000002");
  }
}

TEST_CASE("tern-send VP9 to ffmpeg in non-flexible mode decodes every frame") {
  if (!HavePeers({"ffmpeg"})) return;
  const std::string dir = tern::test::scratch_dir("sendrecv_vp9_ffmpeg");
  Capture capture(dir, 5881, 5882);
  // --peer ffmpeg: F=0 without layer indices (ffmpeg 5.1 reads no P_DIFF and a one-byte L).
  REQUIRE(Send("--dest 127.0.0.1:5881 --no-rtcp-mux --video vp9 --peer ffmpeg --frames 1 --duration 0.1 --sdp " + dir +
               "/v.sdp").exit_code == 0);
  {
    BackgroundPeer ff("ffmpeg -nostdin -protocol_whitelist file,udp,rtp -threads 1 -i " + dir +
                          "/v.sdp -frames:v 90 -fps_mode passthrough -pix_fmt yuv420p -y " + dir + "/rx.y4m",
                      25, dir + "/ffv.log");
    REQUIRE(WaitForUdpPort(5881, 5000));
    const auto sent = Send("--dest 127.0.0.1:5881 --no-rtcp-mux --video vp9 --peer ffmpeg --frames 90 --source-y4m " +
                           dir + "/ref.y4m");
    CHECK_MESSAGE(sent.exit_code == 0, sent.out);
    CHECK_MESSAGE(ff.wait(8000), ff.log());
    CHECK_MESSAGE(ff.log().find("Invalid") == std::string::npos, ff.log());
  }
  CheckVideo(dir + "/rx.y4m", dir + "/ref.y4m", 90, 32.0);
  capture.check(DecodeAs(5881, true), 90);
}

TEST_CASE("tern-send plays Y4M and WAV files to tern-recv at the file's size and rate") {
  if (!HavePeers({"ffmpeg"})) return;  // makes the input files
  const std::string dir = tern::test::scratch_dir("sendrecv_file_input");
  const auto made = tern::test::run_command(
      "ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=size=176x144:rate=15 -frames:v 30 -pix_fmt yuv420p -y " +
          dir + "/in.y4m && ffmpeg -nostdin -loglevel error -f lavfi -i sine=frequency=440:sample_rate=48000 -t 2 "
          "-ac 2 -c:a pcm_s16le -y " + dir + "/in.wav && ffmpeg -nostdin -loglevel error -f lavfi -i "
          "sine=sample_rate=16000 -t 1 -c:a pcm_s16le -y " + dir + "/in16k.wav",
      20, true);
  REQUIRE_MESSAGE(made.exit_code == 0, made.out);
  Capture capture(dir, 5883, 5883);
  Receiver rx(dir, 5883, "--port 5883 --video vp8 --audio opus --y4m " + dir + "/rx.y4m --wav " + dir + "/rx.wav");
  REQUIRE(rx.ready);
  const auto sent = Send("--dest 127.0.0.1:5883 --input " + dir + "/in.y4m --input " + dir + "/in.wav --source-y4m " +
                         dir + "/ref.y4m --stats-json " + dir + "/send.json");
  CHECK_MESSAGE(sent.exit_code == 0, sent.out);
  const std::string json = rx.finish();
  CHECK(JsonNumber(ReadText(dir + "/send.json"), "duration_s") < 5);  // stopped after the files
  CHECK(JsonNumber(json, "width") == 176);
  CHECK(JsonNumber(json, "height") == 144);
  CheckVideo(dir + "/rx.y4m", dir + "/ref.y4m", 30, 30.0);
  CheckVideo(dir + "/ref.y4m", dir + "/in.y4m", 30, 99.0);  // the file's pictures were sent unchanged
  const auto wav = tern::test::ReadWav(dir + "/rx.wav");
  REQUIRE_MESSAGE(wav.error == nullptr, wav.error);
  MESSAGE("received " << wav.seconds() << " s of audio");
  CHECK(wav.seconds() > 1.8);
  CHECK(wav.seconds() < 2.3);
  capture.check(DecodeAs(5883, false, std::string(kVp8Pt) + kOpusPt), 120);
  // --loop: the 2 s clip (30 frames at 15 fps) and the 2 s tone play again until --duration.
  {
    Receiver again(dir, 5883, "--port 5883 --video vp8 --audio opus --y4m " + dir + "/loop.y4m --wav " + dir +
                                  "/loop.wav");
    REQUIRE(again.ready);
    const auto looped = Send("--dest 127.0.0.1:5883 --input " + dir + "/in.y4m --input " + dir + "/in.wav --loop "
                             "--duration 4.5 --source-y4m " + dir + "/loop_ref.y4m");
    CHECK_MESSAGE(looped.exit_code == 0, looped.out);
    again.finish();
    const auto ref = tern::test::ReadY4m(dir + "/loop_ref.y4m");
    REQUIRE_MESSAGE(ref.error == nullptr, ref.error);
    MESSAGE("--loop sent " << ref.frames.size() << " frames");
    REQUIRE(ref.frames.size() >= 60);  // at least two passes over the 30-frame clip
    // The second pass repeats the file's pictures: frame 30 + i is frame i.
    const auto in = tern::test::ReadY4m(dir + "/in.y4m");
    tern::test::Y4mVideo second_pass = ref;
    second_pass.frames.assign(ref.frames.begin() + 30, ref.frames.begin() + 60);
    CHECK(MeanPsnr(second_pass, in) > 99.0);
    const auto got = tern::test::ReadY4m(dir + "/loop.y4m");
    REQUIRE_MESSAGE(got.error == nullptr, got.error);
    CHECK(got.frames.size() + 2 >= ref.frames.size());  // the run may end with a frame in flight
    CHECK(MeanPsnr(got, ref) > 30.0);
    const auto loop_wav = tern::test::ReadWav(dir + "/loop.wav");
    REQUIRE_MESSAGE(loop_wav.error == nullptr, loop_wav.error);
    MESSAGE("--loop played " << loop_wav.seconds() << " s of audio");
    CHECK(loop_wav.seconds() > 3.5);  // more than the 2 s file
  }
  // Not 48 kHz: a clear error, nothing sent.
  const auto bad = Send("--dest 127.0.0.1:5883 --input " + dir + "/in16k.wav");
  CHECK(bad.exit_code != 0);
  CHECK_MESSAGE(bad.out.find("48000 Hz mono or stereo PCM16 is required") != std::string::npos, bad.out);
}

TEST_CASE("tern-send VP8 and Opus on their own ports to one ffmpeg reading both m= lines") {
  if (!HavePeers({"ffmpeg"})) return;
  const std::string dir = tern::test::scratch_dir("sendrecv_ffmpeg_av");
  for (const bool srtp : {false, true}) {
    CAPTURE(srtp);
    const int port = srtp ? 5921 : 5885;
    Capture capture(dir, port, port + 3);
    // Under SRTP both ports carry SRTCP too (each port's compounds start with its own SSRC).
    const std::string args = "--dest 127.0.0.1:" + std::to_string(port) + " --no-rtcp-mux --audio opus --peer ffmpeg" +
                             (srtp ? std::string(" --key ") + kKeyB64 : std::string());
    REQUIRE(Send(args + " --frames 1 --duration 0.1 --sdp " + dir + "/s.sdp").exit_code == 0);
    const std::string sdp = ReadText(dir + "/s.sdp");
    CHECK(sdp.find("m=video " + std::to_string(port) + " ") != std::string::npos);
    CHECK(sdp.find("m=audio " + std::to_string(port + 2) + " ") != std::string::npos);  // --peer ffmpeg: port + 2
    {
      BackgroundPeer ff("ffmpeg -nostdin -protocol_whitelist file,udp,rtp,srtp -threads 1 -i " + dir +
                            "/s.sdp -map 0:v:0 -frames:v 90 -fps_mode passthrough -pix_fmt yuv420p -y " + dir + "/rx.y4m -map 0:a:0 -t 2.5 -y " +
                            dir + "/rx.wav",
                        25, dir + "/ff.log");
      REQUIRE(WaitForUdpPort(static_cast<uint16_t>(port), 5000));
      REQUIRE(WaitForUdpPort(static_cast<uint16_t>(port + 2), 5000));
      const auto sent = Send(args + " --frames 90 --duration 5 --linger-ms 1000 --source-y4m " + dir + "/ref.y4m");
      CHECK_MESSAGE(sent.exit_code == 0, sent.out);
      CHECK_MESSAGE(ff.wait(8000), ff.log());
      CHECK_MESSAGE(ff.log().find("discontinuity") == std::string::npos, ff.log());  // each port has its own SR
      CHECK_MESSAGE(ff.log().find("HMAC mismatch") == std::string::npos, ff.log());  // ffmpeg srtp.c on a bad tag
    }
    CheckVideo(dir + "/rx.y4m", dir + "/ref.y4m", 90, 32.0);
    const auto wav = tern::test::ReadWav(dir + "/rx.wav");
    REQUIRE_MESSAGE(wav.error == nullptr, wav.error);
    CHECK(wav.seconds() > 2.4);
    if (srtp) {
      capture.check(DecodeAs(port, false) + DecodeAs(port + 2, false), 300);  // SRTP: headers only
    } else {
      capture.check(DecodeAs(port, true, kVp8Pt) + DecodeAs(port + 2, true, kOpusPt), 300);
    }
  }
}

TEST_CASE("GStreamer sdpdemux opens the SDP tern-send writes") {
  if (!HavePeers({"gst-launch-1.0"})) return;
  const std::string dir = tern::test::scratch_dir("sendrecv_sdpdemux");
  Capture capture(dir, 5889, 5896);
  // VP8 and Opus, one port per m= line: sdpdemux makes one udpsrc pair and one pad per line.
  const std::string av = "--dest 127.0.0.1:5889 --no-rtcp-mux --audio opus --audio-port 5891";
  REQUIRE(Send(av + " --frames 1 --duration 0.1 --sdp " + dir + "/av.sdp").exit_code == 0);
  CHECK(ReadText(dir + "/av.sdp").find("m=audio 5891 ") != std::string::npos);
  {
    BackgroundPeer gst("gst-launch-1.0 -e filesrc location=" + dir + "/av.sdp ! sdpdemux latency=100 name=d d. ! queue ! "
                           "rtpvp8depay ! vp8dec ! videoconvert ! video/x-raw,format=I420 ! y4menc ! filesink location=" +
                           dir + "/rx.y4m d. ! queue ! rtpopusdepay ! opusdec ! audioconvert ! audio/x-raw,format=S16LE ! "
                           "wavenc ! filesink location=" + dir + "/rx.wav",
                       20, dir + "/gst.log");
    REQUIRE(WaitForUdpPort(5889, 5000));
    REQUIRE(WaitForUdpPort(5891, 5000));
    const auto sent = Send(av + " --frames 90 --duration 5 --source-y4m " + dir + "/ref.y4m");
    CHECK_MESSAGE(sent.exit_code == 0, sent.out);
    tern::test::run_command("sleep 0.5", 2);  // the jitter buffers' latency
    gst.interrupt();
    CHECK_MESSAGE(gst.wait(8000), gst.log());
  }
  CheckVideo(dir + "/rx.y4m", dir + "/ref.y4m", 90, 32.0);
  const auto wav = tern::test::ReadWav(dir + "/rx.wav");
  REQUIRE_MESSAGE(wav.error == nullptr, wav.error);
  MESSAGE("sdpdemux played " << wav.seconds() << " s of audio");
  CHECK(wav.seconds() > 2.7);  // 90 frames at 30 fps: 3 s sent
  // VP9 (flexible mode) alone.
  REQUIRE(Send("--dest 127.0.0.1:5893 --no-rtcp-mux --video vp9 --frames 1 --duration 0.1 --sdp " + dir + "/v9.sdp")
              .exit_code == 0);
  {
    BackgroundPeer gst("gst-launch-1.0 -e filesrc location=" + dir + "/v9.sdp ! sdpdemux latency=100 ! rtpvp9depay ! "
                           "vp9dec ! videoconvert ! video/x-raw,format=Y444 ! videoconvert ! video/x-raw,format=I420 ! "
                           "y4menc ! filesink location=" + dir + "/rx9.y4m",
                       20, dir + "/gst9.log");
    REQUIRE(WaitForUdpPort(5893, 5000));
    const auto sent = Send("--dest 127.0.0.1:5893 --no-rtcp-mux --video vp9 --frames 90 --source-y4m " + dir + "/ref9.y4m");
    CHECK_MESSAGE(sent.exit_code == 0, sent.out);
    tern::test::run_command("sleep 0.5", 2);
    gst.interrupt();
    CHECK_MESSAGE(gst.wait(8000), gst.log());
  }
  CheckVideo(dir + "/rx9.y4m", dir + "/ref9.y4m", 90, 32.0);
  capture.check(DecodeAs(5889, true, kVp8Pt) + DecodeAs(5891, true, kOpusPt) + DecodeAs(5893, true), 400);
}

namespace {

// ffmpeg sending a test pattern and a tone as two RTP outputs (VP8 to `video_port`, Opus to
// video_port + 2), writing its SDP to `sdp`; `keys` = {video, audio} base64 SRTP keys or empty.
std::string FfmpegAv(int video_port, const std::string& sdp, int frames, double audio_s,
                     const std::vector<std::string>& keys = {}) {
  auto output = [&](int port, size_t i) {
    if (keys.empty()) return "'rtp://127.0.0.1:" + std::to_string(port) + "?pkt_size=1200'";
    return "-srtp_out_suite AES_CM_128_HMAC_SHA1_80 -srtp_out_params " + keys[i] + " 'srtp://127.0.0.1:" +
           std::to_string(port) + "?pkt_size=1200'";
  };
  std::ostringstream c;
  c << "ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc=size=320x240:rate=30 -f lavfi -i "
       "sine=frequency=440:sample_rate=48000 -map 0:v -frames:v "
    << frames << " -c:v libvpx -deadline realtime -cpu-used 8 -b:v 500k -g 30 -f rtp -payload_type 96 -ssrc 287454020 "
    << output(video_port, 0) << " -map 1:a -t " << audio_s
    << " -c:a libopus -b:a 64k -f rtp -payload_type 111 -ssrc 287454021 " << output(video_port + 2, 1)
    << " -sdp_file " << sdp;
  return c.str();
}

}  // namespace

TEST_CASE("ffmpeg VP8 and Opus on two ports to tern-recv from the SDP ffmpeg writes") {
  if (!HavePeers({"ffmpeg"})) return;
  const std::string dir = tern::test::scratch_dir("sendrecv_ffmpeg_av_tx");
  for (const bool srtp : {false, true}) {
    CAPTURE(srtp);
    const int port = srtp ? 5905 : 5901;
    Capture capture(dir, port, port + 3);
    // Each line its own key under SRTP, as ffmpeg writes them (one a=crypto per output).
    const std::vector<std::string> keys =
        srtp ? std::vector<std::string>{kKeyB64, "HRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgEA"} : std::vector<std::string>{};
    const std::string sdp = dir + (srtp ? "/s.sdp" : "/p.sdp");
    // A first, short run only writes the SDP, so that tern-recv can listen before the real one.
    REQUIRE(tern::test::run_command(FfmpegAv(port, sdp, 2, 0.1, keys), 20, true).exit_code == 0);
    const std::string text = ReadText(sdp);
    CHECK(text.find("m=video " + std::to_string(port) + " ") != std::string::npos);
    CHECK(text.find("m=audio " + std::to_string(port + 2) + " ") != std::string::npos);
    if (srtp) CHECK(text.find(keys[1]) != std::string::npos);
    Receiver rx(dir, static_cast<uint16_t>(port),
                "--sdp " + sdp + " --frames 60 --y4m " + dir + "/rx.y4m --wav " + dir + "/rx.wav --webm " + dir +
                    "/rx.webm");
    REQUIRE(rx.ready);
    REQUIRE(WaitForUdpPort(static_cast<uint16_t>(port + 2), 5000));
    const auto tx = tern::test::run_command(FfmpegAv(port, dir + "/again.sdp", 60, 2.0, keys), 20, true);
    CHECK_MESSAGE(tx.exit_code == 0, tx.out);
    const std::string json = rx.finish();
    CHECK(JsonNumber(json, "video_frames_decoded") == 60);
    CHECK(JsonNumber(json, "video_ssrc") == 287454020);
    CHECK(JsonNumber(json, "audio_ssrc") == 287454021);
    CHECK(JsonNumber(json, "audio_packets_decoded") >= 100);  // 2 s of 20 ms packets
    CHECK(JsonNumber(json, "unprotect_failures") == 0);
    const auto wav = tern::test::ReadWav(dir + "/rx.wav");
    REQUIRE_MESSAGE(wav.error == nullptr, wav.error);
    MESSAGE("tern-recv played " << wav.seconds() << " s of audio");
    CHECK(wav.seconds() > 1.8);
    // The recording has both ports' streams.
    const auto probe = tern::test::run_command(
        "ffprobe -v error -show_entries stream=codec_name -of csv=p=0 " + dir + "/rx.webm", 20);
    CHECK_MESSAGE(probe.out.find("vp8") != std::string::npos, probe.out);
    CHECK_MESSAGE(probe.out.find("opus") != std::string::npos, probe.out);
    if (srtp) {
      capture.check(DecodeAs(port, false) + DecodeAs(port + 2, false), 160);  // SRTP: headers only
      continue;
    }
    capture.check(DecodeAs(port, true, kVp8Pt) + DecodeAs(port + 2, true, kOpusPt), 160);
    // Each port's receiver reports are about that port's stream only.
    const std::string pcap = dir + "/cap.pcapng";
    if (!HavePeers({"tshark"}) || ReadText(pcap).empty()) continue;
    auto sources = [&](int from_port) {
      const std::string p = std::to_string(from_port);
      return tern::test::split_lines(tern::test::run_command("tshark -r " + pcap + " -d udp.port==" + p +
                                                                 ",rtcp -Y 'rtcp.pt==201 && udp.srcport==" + p +
                                                                 "' -T fields -e rtcp.ssrc.identifier",
                                                             30)
                                         .out);
    };
    const auto video_rr = sources(port + 1), audio_rr = sources(port + 3);
    CHECK(!video_rr.empty());
    CHECK(!audio_rr.empty());
    for (const std::string& line : video_rr) CHECK_MESSAGE(line.find("0x11223345") == std::string::npos, line);
    for (const std::string& line : audio_rr) CHECK_MESSAGE(line.find("0x11223344") == std::string::npos, line);
  }
}

TEST_CASE("tern-send to tern-recv with audio on its own port and SRTP on both") {
  const std::string dir = tern::test::scratch_dir("sendrecv_tern_two_ports");
  Capture capture(dir, 5911, 5918);
  // Fixed local ports (5915-5918): an ephemeral one may be a port tshark dissects as something else.
  const std::string args = std::string("--dest 127.0.0.1:5911 --local-port 5915 --no-rtcp-mux --peer tern --audio opus "
                                       "--audio-port 5913 --key ") + kKeyHex;
  REQUIRE(Send(args + " --frames 1 --duration 0.1 --sdp " + dir + "/t.sdp").exit_code == 0);
  Receiver rx(dir, 5911, "--sdp " + dir + "/t.sdp --frames 90 --y4m " + dir + "/rx.y4m --wav " + dir + "/rx.wav");
  REQUIRE(rx.ready);
  REQUIRE(WaitForUdpPort(5913, 5000));
  // Started at the ceiling, as in the NACK RTX test above (its comment says why).
  const auto sent = Send(args + " --start-rate 1M --frames 90 --drop-every 10 --source-y4m " + dir +
                         "/ref.y4m --stats-json " + dir + "/send.json");
  CHECK_MESSAGE(sent.exit_code == 0, sent.out);
  const std::string json = rx.finish();
  CHECK(JsonNumber(json, "video_frames_decoded") == 90);
  CHECK(JsonNumber(json, "retransmittedPacketsReceived") >= 5);  // NACK/RTX on the video port
  CHECK(JsonNumber(json, "audio_packets_decoded") > 100);
  CHECK(JsonNumber(json, "unprotect_failures") == 0);
  const std::string send_json = ReadText(dir + "/send.json");
  CHECK(JsonNumber(send_json, "unprotect_failures") <= 0);
  // Receiver reports about both streams reached the sender: the audio one only goes to the audio
  // port (SRTCP from tern-recv's second SSRC), so this proves RTCP both ways on both ports.
  CHECK(send_json.find("\"RIvideo268435458\"") != std::string::npos);
  CHECK(send_json.find("\"RIaudio268435457\"") != std::string::npos);
  CheckVideo(dir + "/rx.y4m", dir + "/ref.y4m", 90, 32.0);
  // SRTP: headers only; the transport-cc probes are padded RTX packets, unreadable under SRTP.
  capture.check(DecodeAs(5911, false) + DecodeAs(5913, false), 200, "rtp.padding == 1");
}

// --- Hostile and changing senders (issue 13, items 10-13) -----------------------------------------

namespace {

std::vector<uint8_t> RtpBytes(uint8_t pt, uint32_t ssrc, uint16_t seq, size_t size = 40) {
  std::vector<uint8_t> d(size, 0);
  d[0] = 0x80;
  d[1] = pt;
  d[2] = static_cast<uint8_t>(seq >> 8);
  d[3] = static_cast<uint8_t>(seq);
  for (int i = 0; i < 4; ++i) d[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  return d;
}

// An RTCP RR (RFC 3550 6.4.2) with no report block from `ssrc`: valid, but of no stream received.
std::vector<uint8_t> RtcpRr(uint32_t ssrc) {
  std::vector<uint8_t> d = {0x80, 201, 0, 1, 0, 0, 0, 0};
  for (int i = 0; i < 4; ++i) d[4 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  return d;
}

// Runs `command` in the background (a tool with its own arguments).
std::unique_ptr<BackgroundPeer> Background(const std::string& command, const std::string& log, int timeout_s = 25) {
  return std::make_unique<BackgroundPeer>(command, timeout_s, log);
}

std::string SdpWithout(const std::string& sdp, const std::vector<std::string>& prefixes) {
  std::istringstream in(sdp);
  std::string out, line;
  while (std::getline(in, line)) {
    bool drop = false;
    for (const std::string& p : prefixes) drop = drop || line.rfind(p, 0) == 0;
    if (!drop) out += line + "\n";
  }
  return out;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

}  // namespace

TEST_CASE("junk datagrams into tern-recv are counted by kind, never as received") {
  const std::string dir = tern::test::scratch_dir("sendrecv_junk");
  const std::string json_path = dir + "/recv.json";
  // The video SSRC is given, so the Endpoint exists from the start and judges everything.
  auto rx = Background(Tool("tern-recv") + " --port 5931 --video vp8 --ssrc 268435458 --duration 4 --stats-json " +
                           json_path,
                       dir + "/recv.log");
  REQUIRE(WaitForUdpPort(5931, 5000));
  tern::test::UdpSocket junk;
  REQUIRE(junk.ok());
  constexpr int kEach = 4000;  // five kinds: 20,000 datagrams
  tern::Random rng(13);
  int sent[5] = {};
  for (int i = 0; i < kEach; ++i) {
    std::vector<std::vector<uint8_t>> batch;
    // 0: not RTP at all (first byte outside every RFC 7983 range).
    batch.push_back(std::vector<uint8_t>{'j', 'u', 'n', 'k', static_cast<uint8_t>(i), 0, 1, 2});
    // 1: shorter than an RTP header (also not RTP for the demultiplexer).
    batch.push_back(std::vector<uint8_t>{0x80, 96, 0, 1, 0});
    // 2: malformed RTP: 15 CSRCs announced, none present.
    auto bad = RtpBytes(96, 268435458, static_cast<uint16_t>(i), 20);
    bad[0] = 0x8F;
    batch.push_back(bad);
    // 3: well-formed RTP of an SSRC nobody announced, the video payload type.
    batch.push_back(RtpBytes(96, 0x5000'0000u + rng.next_u32() % 0x1000'0000u, static_cast<uint16_t>(rng.next_u32())));
    // 4: RTCP whose length field runs past the datagram.
    auto rtcp = RtcpRr(0x4242'4242);
    rtcp[3] = 40;
    batch.push_back(rtcp);
    for (size_t k = 0; k < batch.size(); ++k) sent[k] += junk.send_to(5931, batch[k]) ? 1 : 0;
    // Paced (5 datagrams per ~0.1 ms): a socket buffer that overflowed would lose some uncounted.
    if (i % 20 == 19) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  REQUIRE(rx->wait(10000));
  CHECK_MESSAGE(rx->exit_code() == 0, rx->log());
  const std::string json = ReadText(json_path);
  MESSAGE(json.substr(0, json.find("\"stats\"")));
  CHECK(JsonNumber(json, "rtp_received") == 0);
  CHECK(JsonNumber(json, "rtcp_received") == 0);
  // Each kind counted where it was caught; the kernel may drop a few under load, never invent any.
  const double not_rtp = JsonNumber(json, "not_rtp");
  CHECK(not_rtp <= sent[0] + sent[1]);
  CHECK(not_rtp >= 0.95 * (sent[0] + sent[1]));
  CHECK(JsonNumber(json, "malformed_rtp") <= sent[2]);
  CHECK(JsonNumber(json, "malformed_rtp") >= 0.95 * sent[2]);
  CHECK(JsonNumber(json, "unknown_ssrc") <= sent[3]);
  CHECK(JsonNumber(json, "unknown_ssrc") >= 0.95 * sent[3]);
  CHECK(JsonNumber(json, "rtcp_parse_errors") <= sent[4]);
  CHECK(JsonNumber(json, "rtcp_parse_errors") >= 0.95 * sent[4]);
  CHECK(JsonNumber(json, "srtp_failures") == 0);
  // The same figures in the Endpoint's webrtc-stats transport entry.
  CHECK(JsonNumber(json, "ternNotRtpPackets") == not_rtp);
  CHECK(JsonNumber(json, "ternMalformedPackets") == JsonNumber(json, "malformed_rtp"));
  CHECK(JsonNumber(json, "ternUnknownSsrcPackets") == JsonNumber(json, "unknown_ssrc"));
  CHECK(JsonNumber(json, "ternRtcpParseErrors") == JsonNumber(json, "rtcp_parse_errors"));
}

TEST_CASE("spoofed datagrams from another port neither redirect tern-recv's RTCP nor become the stream") {
  const std::string dir = tern::test::scratch_dir("sendrecv_spoof");
  // Flags mode: nothing named, so both the peer and the video SSRC are learned.
  Receiver rx(dir, 5933, "--port 5933 --video vp8 --frames 90");
  REQUIRE(rx.ready);
  tern::test::UdpSocket spoofer;
  REQUIRE(spoofer.ok());
  int spoofs = 0;
  auto spoof = [&](uint16_t seq) {
    spoofs += spoofer.send_to(5933, RtpBytes(96, 0x0BAD'F00D, seq)) ? 1 : 0;  // the right payload type
    spoofs += spoofer.send_to(5933, RtcpRr(0x0BAD'F00D)) ? 1 : 0;
    const uint8_t noise[] = {0x13, 0x37, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    spoofs += spoofer.send_to(5933, noise) ? 1 : 0;
  };
  spoof(1000);  // before the sender
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto tx = Background(Tool("tern-send") + " --dest 127.0.0.1:5933 --frames 90 --stats-json " + dir + "/send.json",
                       dir + "/send.log", 20);
  size_t to_spoofer = 0;
  for (int i = 0; i < 200 && tx->running(); ++i) {  // ... and while it runs (200 x 30 ms at most)
    spoof(static_cast<uint16_t>(2000 + 10 * i));   // never two in sequence
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    while (spoofer.try_receive_from()) ++to_spoofer;
  }
  REQUIRE(tx->wait(10000));
  const std::string json = rx.finish();
  while (spoofer.try_receive_from()) ++to_spoofer;
  MESSAGE(spoofs << " spoofed datagrams sent");
  CHECK(to_spoofer == 0);  // not one RR (or anything else) went to the spoofer
  CHECK(JsonNumber(json, "video_frames_decoded") == 90);
  CHECK(JsonNumber(json, "video_ssrc") == 268435458);  // tern-send's, not the spoofer's 0x0BADF00D
  CHECK(JsonNumber(json, "rtcp_sent") >= 1);
  CHECK(JsonNumber(ReadText(dir + "/send.json"), "rtcp_received") >= 1);  // the RRs reached the sender
}

TEST_CASE("a sender restarted with a new SSRC from another port is decoded after the switch") {
  const std::string dir = tern::test::scratch_dir("sendrecv_restart");
  const std::string json_path = dir + "/recv.json";
  auto rx = Background(Tool("tern-recv") + " --port 5935 --video vp8 --frames 60 --idle-timeout 8 --y4m " + dir +
                           "/rx.y4m --stats-json " + json_path,
                       dir + "/recv.log", 30);
  REQUIRE(WaitForUdpPort(5935, 5000));
  auto first = Send("--dest 127.0.0.1:5935 --ssrc 1111 --frames 30 --stats-json " + dir + "/send1.json");
  CHECK_MESSAGE(first.exit_code == 0, first.out);
  // The old SSRC must be silent for StreamLearner::kSilenceBeforeSwitch (2 s) before a new one is taken.
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  auto second = Send("--dest 127.0.0.1:5935 --ssrc 2222 --frames 30 --linger-ms 1000 --stats-json " + dir + "/send2.json");
  CHECK_MESSAGE(second.exit_code == 0, second.out);
  REQUIRE(rx->wait(12000));
  CHECK_MESSAGE(rx->exit_code() == 0, rx->log());
  const std::string json = ReadText(json_path);
  CHECK(JsonNumber(json, "video_frames_decoded") == 60);
  CHECK(JsonNumber(json, "ssrc_switches") == 1);
  CHECK(JsonNumber(json, "video_ssrc") == 2222);
  CHECK(JsonNumber(ReadText(dir + "/send2.json"), "rtcp_received") >= 1);  // RTCP followed the new sender
  CHECK(tern::test::ReadY4m(dir + "/rx.y4m").frames.size() == 60);
}

TEST_CASE("NACK and RTX work with an FID-only SDP, an RTX payload type without SSRCs, and flags") {
  const std::string dir = tern::test::scratch_dir("sendrecv_rtx_learned");
  REQUIRE(Send("--dest 127.0.0.1:5937 --peer tern --frames 1 --duration 0.1 --sdp " + dir + "/full.sdp").exit_code == 0);
  const std::string full = ReadText(dir + "/full.sdp");
  REQUIRE(full.find("a=ssrc-group:FID") != std::string::npos);
  WriteText(dir + "/fid.sdp", SdpWithout(full, {"a=ssrc:"}));
  WriteText(dir + "/nossrc.sdp", SdpWithout(full, {"a=ssrc"}));
  REQUIRE(ReadText(dir + "/nossrc.sdp").find("apt=") != std::string::npos);
  struct Case {
    const char* name;
    std::string recv_args;
    std::string send_args;
  };
  const Case cases[] = {
      {"FID only", "--sdp " + dir + "/fid.sdp", "--peer tern"},
      {"RTX payload type, no ssrc", "--sdp " + dir + "/nossrc.sdp", "--peer tern"},
      {"flags", "--port 5937 --video vp8 --nack", "--nack"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Receiver rx(dir, 5937, c.recv_args + " --frames 90");
    REQUIRE(rx.ready);
    const auto sent = Send("--dest 127.0.0.1:5937 --frames 90 --drop-every 10 " + c.send_args);
    CHECK_MESSAGE(sent.exit_code == 0, sent.out);
    const std::string json = rx.finish();
    CHECK(JsonNumber(json, "video_frames_decoded") == 90);
    CHECK(JsonNumber(json, "retransmittedPacketsReceived") >= 5);
    CHECK(rx.peer.log().find("warning") == std::string::npos);
  }
  // An SDP whose nack cannot be honoured says so.
  WriteText(dir + "/nortx.sdp", SdpWithout(full, {"a=rtpmap:97", "a=fmtp:97", "a=ssrc"}));
  const auto warned = tern::test::run_command(Tool("tern-recv") + " --sdp " + dir + "/nortx.sdp --duration 0.2", 10, true);
  CHECK(warned.out.find("tern-recv: warning: the SDP offers nack without an RTX payload type (rtx, apt=): NACK is off") !=
        std::string::npos);
}

TEST_CASE("a stream announced but never sent does not block the other") {
  const std::string dir = tern::test::scratch_dir("sendrecv_av_video_only");
  REQUIRE(Send("--dest 127.0.0.1:5939 --audio opus --frames 1 --duration 0.1 --sdp " + dir + "/av.sdp").exit_code == 0);
  // As ffmpeg writes it: no SSRC, so each stream is learned from its packets.
  WriteText(dir + "/av-nossrc.sdp", SdpWithout(ReadText(dir + "/av.sdp"), {"a=ssrc"}));
  for (const std::string sdp : {"av.sdp", "av-nossrc.sdp"}) {
    CAPTURE(sdp);
    Receiver rx(dir, 5939, "--sdp " + dir + "/" + sdp + " --frames 60");
    REQUIRE(rx.ready);
    const auto sent = Send("--dest 127.0.0.1:5939 --frames 60");  // video only
    CHECK_MESSAGE(sent.exit_code == 0, sent.out);
    const std::string json = rx.finish();
    CHECK(JsonNumber(json, "video_frames_decoded") == 60);
  }
}

TEST_CASE("a stream announced but sent late joins without disturbing the other") {
  const std::string dir = tern::test::scratch_dir("sendrecv_av_audio_late");
  REQUIRE(Send("--dest 127.0.0.1:5941 --audio opus --frames 1 --duration 0.1 --sdp " + dir + "/av.sdp").exit_code == 0);
  WriteText(dir + "/av-nossrc.sdp", SdpWithout(ReadText(dir + "/av.sdp"), {"a=ssrc"}));
  Receiver rx(dir, 5941, "--sdp " + dir + "/av-nossrc.sdp --frames 120");
  REQUIRE(rx.ready);
  // Video alone for 2 s (past StreamLearner::kMaxHoldTime: the Endpoint starts without audio),
  // then audio from a second sender while the video goes on.
  auto video = Background(Tool("tern-send") + " --dest 127.0.0.1:5941 --frames 120", dir + "/video.log", 20);
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  const auto audio = Send("--dest 127.0.0.1:5941 --video none --audio opus --duration 1.5");
  CHECK_MESSAGE(audio.exit_code == 0, audio.out);
  CHECK(video->wait(10000));
  const std::string json = rx.finish();
  CHECK(JsonNumber(json, "video_frames_decoded") == 120);  // the video stream was never restarted
  CHECK(JsonNumber(json, "audio_packets_decoded") > 30);
  CHECK(JsonNumber(json, "ssrc_switches") == 0);
}
