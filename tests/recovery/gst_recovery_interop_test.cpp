// Interop of tern's loss recovery with a real GStreamer receiver over UDP loopback:
//  - ULPFEC (RFC 5109), plain on its own payload type and inside RED (RFC 2198): chosen media
//    packets are never sent, their FEC is; GStreamer's rtpstorage + rtpjitterbuffer do-lost +
//    rtpulpfecdec must rebuild exactly those packets and decode every frame bit-exact;
//  - RTX (RFC 4588) answering GStreamer's Generic NACKs (RFC 4585): chosen packets are skipped on
//    first transmission, rtpsession (AVPF) + rtpjitterbuffer do-retransmission NACK them, the test
//    answers from recovery::PacketHistory, and every frame must decode bit-exact.
//
// What GStreamer's FEC decoder needs (gst-plugins-good 1.22, rtpulpfecdec/rtpstorage):
//  - FEC packets in the media SSRC's sequence space, each run of FEC packets sent right after the
//    media packets it protects: on a loss, rtpstorage hands the decoder only the packets from the
//    first media packet after the previous FEC run up to the FEC run that follows the lost one;
//  - the Protection Length must equal the FEC payload past the headers exactly;
//  - an rtpstorage window well above the jitter buffer latency (600 ms for latency=200, not the
//    220 ms of the element docs): rtpjitterbuffer drops the FEC packets (their PT is not the caps'
//    PT) and reports them lost too; the decoder, asked for such a FEC "loss", already rebuilds a
//    later media packet and stores it with the FEC loss's earlier timestamp, and the lost event for
//    a packet fires latency + up to a frame after it was due. With 220 ms the storage had evicted
//    both the FEC and the rebuilt packet by then and 1 to 2 of 18 losses stayed unrepaired;
//  - rtpssrcdemux upstream of the decoder (it needs `ssrc` in its caps), and in RED mode
//    rtpreddec before rtpstorage, so that the storage keeps the unwrapped FEC packets.
//
// The VP8 frames are encoded by GStreamer's vp8enc (this test executable links tern::recovery and
// tern::rtp only, not tern::codecs); tern's Vp8Packetizer turns them into RTP. The reference is
// GStreamer's vp8dec decoding the very same frames without any network in between.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "interop/interop_util.h"
#include "support/y4m.h"
#include "tern/recovery/packet_history.h"
#include "tern/recovery/red.h"
#include "tern/recovery/rtx.h"
#include "tern/recovery/ulpfec.h"
#include "tern/rtp/rtcp/rtcp_packet.h"

using namespace tern;
using namespace tern::interop;

namespace {

constexpr uint8_t kVp8Pt = 96;
constexpr uint8_t kRtxPt = 97;
constexpr uint8_t kRedPt = 100;
constexpr uint8_t kUlpfecPt = 122;
constexpr uint32_t kRtxSsrc = 0x55667788;
constexpr uint32_t kFrameTicks = 3000;  // 90 kHz at 30 fps
constexpr int kFrameGapMs = 33;
const char* const kVp8Caps = "application/x-rtp,media=video,clock-rate=90000,encoding-name=VP8,payload=96";
// Decoder tail shared with the reference: tightly packed I420 frames into a Y4M file.
const char* const kDecodeTail =
    "vp8dec ! identity drop-allocation=true ! videoconvert ! video/x-raw,format=I420 ! y4menc ! filesink location=";

struct Clip {
  std::vector<std::vector<uint8_t>> frames;  // one encoded VP8 frame each
  test::Y4mVideo reference;                  // vp8dec's decode of the same frames, no network
};

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool HaveGstElements(std::initializer_list<const char*> elements) {
  if (!HavePeers({"gst-launch-1.0", "gst-inspect-1.0"})) return false;
  for (const char* e : elements) {
    if (test::run_command(std::string("gst-inspect-1.0 ") + e, 30).exit_code == 0) continue;
    if (test::interop_required()) FAIL("GStreamer element " << e << " is not installed");
    MESSAGE("GStreamer element " << e << " is not installed: skipped");
    return false;
  }
  return true;
}

// Encodes `num_frames` frames with vp8enc into one file per frame and decodes them into the
// reference Y4M in the same run.
Clip EncodeClip(const std::string& dir, int num_frames) {
  std::filesystem::remove_all(dir + "/frames");
  std::filesystem::create_directories(dir + "/frames");
  const std::string ref = dir + "/ref.y4m";
  const auto r = test::run_command(
      "gst-launch-1.0 -q videotestsrc num-buffers=" + std::to_string(num_frames) +
          " pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 "
          "! vp8enc deadline=1 target-bitrate=600000 keyframe-max-dist=30 ! tee name=t "
          "t. ! queue ! multifilesink location='" + dir + "/frames/f_%05d.vp8' "
          "t. ! queue ! " + kDecodeTail + "'" + ref + "'",
      60, true);
  REQUIRE_MESSAGE(r.exit_code == 0, r.out);
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/frames")) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  Clip clip;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    clip.frames.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    REQUIRE(!clip.frames.back().empty());
  }
  REQUIRE(clip.frames.size() == static_cast<size_t>(num_frames));
  clip.reference = test::ReadY4m(ref);
  REQUIRE_MESSAGE(clip.reference.error == nullptr, clip.reference.error);
  REQUIRE(clip.reference.frames.size() == clip.frames.size());
  return clip;
}

bool IsKeyframe(const std::vector<uint8_t>& vp8) { return !vp8.empty() && (vp8[0] & 0x01) == 0; }

// RTP packets of frame `index`, numbered from `*seq` (small payloads: most frames span several packets).
std::vector<rtp::RtpPacket> Packetize(rtp::Vp8Packetizer& vp8, const std::vector<uint8_t>& frame, size_t index,
                                      uint16_t* seq) {
  Status s = vp8.plan(frame, rtp::Vp8Descriptor{}, rtp::PayloadLimits{.max_payload_size = 160});
  REQUIRE_MESSAGE(s.ok(), std::string(s.error()));
  std::vector<rtp::RtpPacket> out;
  for (size_t i = 0; i < vp8.num_packets(); ++i) {
    std::vector<uint8_t> payload(vp8.packet_size(i));
    auto n = vp8.write(i, payload);
    REQUIRE_MESSAGE(n.ok(), std::string(n.error()));
    payload.resize(*n);
    rtp::RtpPacketBuilder b;
    b.set_payload_type(kVp8Pt).set_sequence_number((*seq)++).set_ssrc(kSsrc);
    b.set_timestamp(static_cast<uint32_t>(index * kFrameTicks)).set_marker(vp8.marker(i)).set_payload(payload);
    auto p = b.build();
    REQUIRE_MESSAGE(p.ok(), std::string(p.error()));
    out.push_back(std::move(p).value());
  }
  return out;
}

// Every received frame equals the reference decode byte for byte.
void CheckBitExact(const Clip& clip, const std::string& y4m_path, const BackgroundPeer& rx) {
  const test::Y4mVideo got = test::ReadY4m(y4m_path);
  REQUIRE_MESSAGE(got.error == nullptr, got.error << "\n" << rx.log());
  CHECK_MESSAGE(got.frames.size() == clip.frames.size(), "gst log:\n" << rx.log());
  size_t exact = 0;
  for (size_t i = 0; i < got.frames.size() && i < clip.reference.frames.size(); ++i) {
    if (got.frames[i] == clip.reference.frames[i]) ++exact;
  }
  CHECK_MESSAGE(exact == clip.frames.size(), exact << " of " << clip.frames.size() << " frames match the reference");
}

void Send(const test::UdpSocket& tx, uint16_t port, const rtp::RtpPacket& p) { REQUIRE(tx.send_to(port, p.data())); }

// ---- ULPFEC ---------------------------------------------------------------------------------

void UlpfecToGst(bool red, uint16_t port, const char* name) {
  if (!HaveGstElements({"rtpulpfecdec", "rtpstorage", "rtpreddec", "vp8enc", "vp8dec"})) return;
  const std::string dir = test::scratch_dir(std::string("gst_recovery_") + name);
  const std::string y4m_path = dir + "/recv.y4m";
  const std::string log_path = dir + "/gst.log";
  std::filesystem::remove(y4m_path);
  constexpr int kFrames = 60;
  const Clip clip = EncodeClip(dir, kFrames);

  recovery::UlpfecGenerator::Config gc;
  gc.ulpfec_payload_type = kUlpfecPt;
  if (red) gc.red_payload_type = kRedPt;
  recovery::UlpfecGenerator fec(gc);
  // One frame per FEC group: GStreamer's storage only pairs a lost packet with the FEC packets
  // that directly follow its own run of media packets.
  const recovery::FecProtection protection{.fec_rate = 100, .max_frames = 1, .mask_type = recovery::FecMaskType::kRandom};
  fec.set_protection(protection, protection);

  rtp::Vp8Packetizer vp8;
  uint16_t seq = 65400;  // wraps during the clip
  std::vector<std::vector<rtp::RtpPacket>> wire(clip.frames.size());
  std::set<uint16_t> dropped;
  size_t fec_sent = 0;
  size_t media_sent = 0;
  size_t dropped_from_xor = 0;  // repaired from the XOR of several packets, not a plain copy
  for (size_t i = 0; i < clip.frames.size(); ++i) {
    const auto media = Packetize(vp8, clip.frames[i], i, &seq);
    media_sent += media.size();
    for (const auto& p : media) fec.add_media_packet(p, IsKeyframe(clip.frames[i]));
    // Plain ULPFEC shares the media SSRC, so the FEC packets take the next media sequence numbers.
    auto fec_packets = fec.take_fec_packets(seq);
    seq = static_cast<uint16_t>(seq + fec_packets.size());
    fec_sent += fec_packets.size();
    // Every third frame (not the first or last few) loses one protected packet: the middle one.
    std::optional<uint16_t> drop;
    if (i % 3 == 0 && i >= 3 && i + 3 < clip.frames.size() && !fec_packets.empty()) {
      std::span<const uint8_t> fec_payload = fec_packets.front().payload();
      std::optional<recovery::RedPayload> red_payload;
      if (red) {
        auto parsed_red = recovery::parse_red_payload(fec_payload);
        REQUIRE(parsed_red.ok());
        CHECK(parsed_red->primary.payload_type == kUlpfecPt);
        fec_payload = parsed_red->primary.data;
      }
      auto parsed = recovery::parse_ulpfec_payload(fec_payload);
      REQUIRE_MESSAGE(parsed.ok(), parsed.error());
      const auto protected_seqs = parsed->protected_sequence_numbers();
      drop = protected_seqs[protected_seqs.size() / 2];
      dropped.insert(*drop);
      if (protected_seqs.size() >= 2) ++dropped_from_xor;
    }
    for (const auto& p : media) {
      if (drop && p.sequence_number() == *drop) continue;
      if (red) {
        auto wrapped = recovery::wrap_red(p, kRedPt);
        REQUIRE(wrapped.ok());
        wire[i].push_back(std::move(wrapped).value());
      } else {
        wire[i].push_back(p);
      }
    }
    for (auto& f : fec_packets) wire[i].push_back(std::move(f));
  }
  REQUIRE(dropped.size() >= 10);
  CHECK(dropped_from_xor >= 5);

  const std::string head = red ? std::string("rtpreddec pt=") + std::to_string(kRedPt) + " ! " : std::string();
  BackgroundPeer rx("env GST_DEBUG=rtpulpfecdec:5 GST_DEBUG_NO_COLOR=1 gst-launch-1.0 -e udpsrc address=127.0.0.1 port=" +
                        std::to_string(port) + " caps=\"" + kVp8Caps + "\" ! " + head +
                        "rtpstorage size-time=600000000 ! rtpssrcdemux ! rtpjitterbuffer do-lost=1 latency=200 "
                        "! rtpulpfecdec pt=" + std::to_string(kUlpfecPt) + " ! rtpvp8depay ! " + kDecodeTail + "'" +
                        y4m_path + "'",
                    20, log_path);
  REQUIRE(rx.started());
  REQUIRE_MESSAGE(WaitForUdpPort(port, 8000), "gst receiver did not bind its port: " << rx.log());
  {
    test::UdpSocket tx;
    REQUIRE(tx.ok());
    auto next = std::chrono::steady_clock::now();
    for (const auto& frame : wire) {
      for (const auto& p : frame) Send(tx, port, p);
      next += std::chrono::milliseconds(kFrameGapMs);
      std::this_thread::sleep_until(next);
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // jitter buffer latency + decode
  rx.interrupt();
  REQUIRE_MESSAGE(rx.wait(10000), "gst receiver did not stop: " << rx.log());
  CHECK_MESSAGE(rx.exit_code() == 0, "gst receiver did not finish with EOS: " << rx.log());

  // "Pushing recovered packet ssrc=0x11223344 seq=<original seq>": what rtpulpfecdec rebuilt.
  const std::string log = ReadText(log_path);
  std::set<uint16_t> recovered;
  const std::regex pushed("Pushing recovered packet ssrc=0x([0-9a-f]+) seq=([0-9]+)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), pushed); it != std::sregex_iterator(); ++it) {
    CHECK((*it)[1].str() == "11223344");
    recovered.insert(static_cast<uint16_t>(std::stoul((*it)[2].str())));
  }
  std::string missing;
  for (uint16_t s : dropped) {
    if (recovered.count(s) == 0) missing += " " + std::to_string(s);
  }
  CHECK_MESSAGE(recovered == dropped, "recovered " << recovered.size() << " of " << dropped.size()
                                                    << " dropped; not recovered:" << missing);
  CheckBitExact(clip, y4m_path, rx);
  MESSAGE(std::string(name) << ": " << clip.frames.size() << " frames, " << media_sent << " media and " << fec_sent
                            << " FEC packets, " << dropped.size() << " media packets never sent (" << dropped_from_xor
                            << " in groups of several), " << recovered.size() << " recovered by rtpulpfecdec");
}

}  // namespace

TEST_CASE("tern ULPFEC to GStreamer rtpulpfecdec recovers the packets never sent") {
  UlpfecToGst(false, 5700, "ulpfec");
}

TEST_CASE("tern ULPFEC in RED to GStreamer rtpreddec and rtpulpfecdec recovers the packets never sent") {
  UlpfecToGst(true, 5702, "ulpfec_red");
}
