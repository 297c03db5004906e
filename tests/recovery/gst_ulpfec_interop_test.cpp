// Interop with GStreamer's rtpulpfecenc (RFC 5109 FEC on its own payload type, media SSRC, no
// RED): our parser reads its FEC packets, our encoder rebuilds the same FEC payload byte for byte
// from the media packets it announces, and our receiver recovers dropped media packets exactly.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "recovery_test_util.h"
#include "support/process.h"
#include "tern/recovery/ulpfec.h"

using namespace tern;
using namespace tern::recovery;

namespace {

std::vector<rtp::RtpPacket> read_packets(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::vector<rtp::RtpPacket> out;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto p = rtp::RtpPacket::parse(std::move(bytes));
    if (p) out.push_back(std::move(p).value());
  }
  return out;
}

}  // namespace

TEST_CASE("gstreamer rtpulpfecenc: FEC parsed, rebuilt byte-exact, losses recovered") {
  if (!tern::test::have_tool("gst-launch-1.0") ||
      tern::test::run_command("gst-inspect-1.0 rtpulpfecenc", 30).exit_code != 0) {
    if (tern::test::interop_required()) FAIL("gst-launch-1.0 with rtpulpfecenc is not installed");
    MESSAGE("GStreamer rtpulpfecenc not available: skipped");
    return;
  }
  const std::string dir = tern::test::scratch_dir("gst_ulpfec");
  tern::test::run_command("rm -f '" + dir + "'/p_*.bin", 10);
  constexpr uint32_t kGstSsrc = 0x12345678;
  const auto r = tern::test::run_command(
      "gst-launch-1.0 -q videotestsrc num-buffers=30 pattern=ball ! video/x-raw,width=320,height=240 "
      "! vp8enc deadline=1 ! rtpvp8pay pt=96 ssrc=305419896 mtu=400 "
      "! rtpulpfecenc pt=122 percentage=60 multipacket=true "
      "! multifilesink location='" + dir + "/p_%05d.bin'",
      120, true);
  REQUIRE_MESSAGE(r.exit_code == 0, r.out);
  const auto packets = read_packets(dir);
  REQUIRE(packets.size() > 30);

  std::map<uint16_t, rtp::RtpPacket> media;
  std::vector<const rtp::RtpPacket*> fec;
  for (const auto& p : packets) {
    CHECK(p.ssrc() == kGstSsrc);
    if (p.payload_type() == 122) {
      fec.push_back(&p);
    } else {
      media.emplace(p.sequence_number(), p);
    }
  }
  REQUIRE(fec.size() > 5);

  // 1. Every FEC packet parses, and the same protection rebuilt by our encoder is identical.
  std::set<uint16_t> drop;
  std::set<uint16_t> touched;
  for (const rtp::RtpPacket* f : fec) {
    auto parsed = parse_ulpfec_payload(f->payload());
    REQUIRE_MESSAGE(parsed.ok(), parsed.error());
    std::vector<const rtp::RtpPacket*> members;
    for (uint16_t s : parsed->protected_sequence_numbers()) {
      REQUIRE(media.count(s) == 1);
      members.push_back(&media.at(s));
    }
    FecRepair repair;
    repair.sn_base = parsed->sn_base;
    repair.mask = parsed->mask;
    repair.parity = compute_parity(members);
    const auto ours = build_ulpfec_payload(repair);
    CHECK(std::vector<uint8_t>(f->payload().begin(), f->payload().end()) == ours);
    // Drop one protected packet per FEC packet whose group is untouched by earlier drops.
    const auto seqs = parsed->protected_sequence_numbers();
    if (std::none_of(seqs.begin(), seqs.end(), [&](uint16_t s) { return touched.count(s) != 0; })) {
      drop.insert(seqs.back());
      touched.insert(seqs.begin(), seqs.end());
    }
  }
  REQUIRE(!drop.empty());

  // 2. Stream everything but the dropped packets through our receiver.
  UlpfecReceiver rx({kGstSsrc, 122, std::nullopt, {}});
  std::set<uint16_t> recovered;
  for (const auto& p : packets) {
    if (p.payload_type() != 122 && drop.count(p.sequence_number()) != 0) continue;
    for (const auto& rec : rx.on_packet(p).recovered) {
      REQUIRE(media.count(rec.sequence_number()) == 1);
      CHECK(recovery::test::same_bytes(rec, media.at(rec.sequence_number())));
      recovered.insert(rec.sequence_number());
    }
  }
  CHECK(recovered == drop);
  MESSAGE("gstreamer: " << media.size() << " media, " << fec.size() << " FEC, recovered "
                        << recovered.size() << "/" << drop.size());
}
