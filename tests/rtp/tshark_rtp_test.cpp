// Independent dissector check: RTP packets built by tern, written to a pcap, read by tshark.
// tshark must find no malformed packet and no expert error, and read back the fields we built.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/pcap_writer.h"
#include "support/process.h"
#include "tern/core/random.h"
#include "tern/rtp/rtp_packet_builder.h"

using namespace tern;
using namespace tern::rtp;

TEST_CASE("tshark dissects tern RTP packets with header extensions cleanly") {
  if (!tern::test::have_tool("tshark")) {
    if (tern::test::interop_required()) FAIL("tshark is not installed");
    MESSAGE("tshark not installed: skipped");
    return;
  }
  const std::string dir = tern::test::scratch_dir("tshark_rtp");
  const std::string pcap = dir + "/rtp.pcap";
  ExtensionMap map = ExtensionMap::Default();
  ExtensionMap two_byte_map;
  REQUIRE(two_byte_map.register_extension<RtpStreamId>(20));
  REQUIRE(two_byte_map.register_extension<TransportSequenceNumber>(3));

  struct Built {
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint8_t pt;
    bool marker;
    std::vector<int> ext_ids;
    size_t csrcs;
    uint8_t padding;
  };
  std::vector<Built> built;
  Random rng(5);
  {
    tern::test::PcapWriter w(pcap);
    REQUIRE(w.ok());
    for (int i = 0; i < 40; ++i) {
      RtpPacketBuilder b;
      Built e{static_cast<uint16_t>(65520 + i), static_cast<uint32_t>(3000 * i), 0x1234ABCDu,
              static_cast<uint8_t>(i % 2 ? 96 : 111), i % 5 == 0, {}, static_cast<size_t>(i % 3),
              static_cast<uint8_t>(i % 7 == 0 ? 4 : 0)};
      std::vector<uint32_t> csrcs(e.csrcs, 0xC0FFEE00u);
      b.set_sequence_number(e.seq).set_timestamp(e.ts).set_ssrc(e.ssrc).set_payload_type(e.pt).set_marker(e.marker);
      b.set_csrcs(csrcs).set_padding(e.padding);
      if (i % 4 == 3) {  // two-byte form
        b.set<RtpStreamId>(two_byte_map, "hd");
        b.set<TransportSequenceNumber>(two_byte_map, static_cast<uint16_t>(i));
        e.ext_ids = {20, 3};
      } else {
        b.set<TransportSequenceNumber>(map, static_cast<uint16_t>(i));
        b.set<AbsSendTime>(map, AbsSendTime::from_time(Timestamp::Millis(20 * i)));
        b.set<AudioLevel>(map, {true, static_cast<uint8_t>(i)});
        e.ext_ids = {3, 2, 1};
      }
      std::vector<uint8_t> payload(static_cast<size_t>(rng.uniform_int(1, 300)), 0x5A);
      b.set_payload(payload);
      auto p = b.build();
      REQUIRE(p.ok());
      w.add_udp(p->data(), 40000, 5004, 1000000 + 20000 * i);
      built.push_back(e);
    }
  }
  const std::string decode = " -d udp.port==5004,rtp ";
  auto bad = tern::test::run_command("tshark -n -r '" + pcap + "'" + decode + "-Y '_ws.malformed || _ws.expert.severity==error'", 60);
  REQUIRE(bad.exit_code == 0);
  CHECK_MESSAGE(bad.out.empty(), "tshark flagged packets:\n" << bad.out);

  auto fields = tern::test::run_command("tshark -n -r '" + pcap + "'" + decode +
                                      "-T fields -E separator=/t -e rtp.seq -e rtp.timestamp -e rtp.ssrc -e rtp.p_type "
                                      "-e rtp.marker -e rtp.ext.rfc5285.id -e rtp.csrc.item -e rtp.padding.count",
                                  60);
  REQUIRE(fields.exit_code == 0);
  const auto lines = tern::test::split_lines(fields.out);
  REQUIRE(lines.size() == built.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto f = tern::test::split(lines[i], '\t');
    REQUIRE(f.size() >= 8);
    INFO("packet " << i << ": " << lines[i]);
    CHECK(std::stoul(f[0]) == built[i].seq);
    CHECK(std::stoul(f[1]) == built[i].ts);
    CHECK(std::stoul(f[2], nullptr, 0) == built[i].ssrc);
    CHECK(std::stoul(f[3]) == built[i].pt);
    CHECK((f[4] == "1" || f[4] == "True") == built[i].marker);
    std::string ids;
    for (size_t k = 0; k < built[i].ext_ids.size(); ++k) {
      if (k) ids += ',';
      ids += std::to_string(built[i].ext_ids[k]);
    }
    CHECK(f[5] == ids);
    CHECK((f[6].empty() ? 0 : tern::test::split(f[6], ',').size()) == built[i].csrcs);
    if (built[i].padding) CHECK(std::stoul(f[7]) == built[i].padding);
  }
}
