#include "tern/rtp/rtp_packet.h"

#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "tern/core/random.h"
#include "tern/rtp/rtp_packet_builder.h"

using namespace tern;
using namespace tern::rtp;

namespace {

std::vector<uint8_t> bytes(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v) out.push_back(static_cast<uint8_t>(b));
  return out;
}

}  // namespace

TEST_CASE("parses a minimal RTP header") {
  const auto p = bytes({0x80, 0xE0, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x11, 0x22, 0x33, 0x44, 0xAA, 0xBB});
  auto v = RtpPacketView::parse(p);
  REQUIRE(v.ok());
  CHECK(v->marker());
  CHECK(v->payload_type() == 96);
  CHECK(v->sequence_number() == 0x1234);
  CHECK(v->timestamp() == 0xDEADBEEF);
  CHECK(v->ssrc() == 0x11223344);
  CHECK(v->csrc_count() == 0);
  CHECK(v->header_size() == 12);
  CHECK(v->payload().size() == 2);
  CHECK(v->payload()[0] == 0xAA);
  CHECK(v->payload().data() == p.data() + 12);  // zero copy
}

TEST_CASE("parses CSRCs, one-byte extensions with padding, and RTP padding") {
  // V=2 P=1 X=1 CC=2, M=0 PT=111.
  const auto p = bytes({0xB2, 0x6F, 0x00, 0x01, 0, 0, 0, 100, 0, 0, 0, 1,
                        0, 0, 0, 2, 0, 0, 0, 3,                // CSRCs
                        0xBE, 0xDE, 0x00, 0x03,                // one-byte profile, 3 words
                        0x10, 0xFF,                            // id 1, len 1: 0xFF
                        0x00,                                  // padding byte between elements
                        0x22, 0x01, 0x02, 0x03,                // id 2, len 3
                        0x31, 0xAB, 0xCD,                      // id 3, len 2
                        0x00, 0x00,                            // padding to 32 bits
                        0x01, 0x02, 0x03,                      // payload
                        0x00, 0x00, 0x03});                    // 3 bytes of RTP padding
  auto v = RtpPacketView::parse(p);
  REQUIRE_MESSAGE(v.ok(), v.error());
  CHECK(v->csrc_count() == 2);
  CHECK(v->csrc(0) == 2);
  CHECK(v->csrc(1) == 3);
  CHECK(v->csrc(2) == 0);  // out of range reads nothing
  CHECK(v->header().extension_profile == 0xBEDE);
  CHECK(v->header().num_extensions == 3);
  CHECK(v->extension(1)->size() == 1);
  CHECK((*v->extension(1))[0] == 0xFF);
  CHECK(v->extension(2)->size() == 3);
  CHECK((*v->extension(3))[1] == 0xCD);
  CHECK_FALSE(v->extension(4).has_value());
  CHECK(v->padding_size() == 3);
  REQUIRE(v->payload().size() == 3);
  CHECK(v->payload()[2] == 0x03);
}

TEST_CASE("RFC 8285 4.2: id 15 stops processing of one-byte extensions") {
  const auto p = bytes({0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                        0xBE, 0xDE, 0x00, 0x01, 0x10, 0x07, 0xF0, 0x55});
  auto v = RtpPacketView::parse(p);
  REQUIRE(v.ok());
  CHECK(v->header().num_extensions == 1);
  CHECK((*v->extension(1))[0] == 0x07);
}

TEST_CASE("parses two-byte extensions including zero-length elements") {
  const auto p = bytes({0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                        0x10, 0x00, 0x00, 0x03,    // two-byte profile (app bits 0), 3 words
                        0x05, 0x00,                // id 5, len 0
                        0x00,                      // padding
                        0xC8, 0x03, 1, 2, 3,       // id 200, len 3
                        0x07, 0x01, 9,             // id 7, len 1
                        0x00,                      // padding
                        0xEE});                    // payload
  auto v = RtpPacketView::parse(p);
  REQUIRE_MESSAGE(v.ok(), v.error());
  CHECK(v->header().num_extensions == 3);
  CHECK(v->extension(5)->empty());
  CHECK(v->extension(200)->size() == 3);
  CHECK((*v->extension(7))[0] == 9);
  CHECK(v->payload().size() == 1);
}

TEST_CASE("unknown extension profiles are kept as a raw block") {
  const auto p = bytes({0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xAB, 0xCD, 0x00, 0x01, 1, 2, 3, 4, 0x77});
  auto v = RtpPacketView::parse(p);
  REQUIRE(v.ok());
  CHECK(v->header().extension_profile == 0xABCD);
  CHECK(v->header().extension_size == 4);
  CHECK(v->header().num_extensions == 0);
  CHECK(v->payload().size() == 1);
}

TEST_CASE("bad input is rejected with a reason") {
  struct Case {
    const char* name;
    std::vector<uint8_t> data;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"empty", {}, "rtp: shorter than 12 bytes"},
      {"11 bytes", bytes({0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), "rtp: shorter than 12 bytes"},
      {"version 1", bytes({0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), "rtp: version is not 2"},
      {"version 0", bytes({0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), "rtp: version is not 2"},
      {"CSRCs past end", bytes({0x83, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), "rtp: CSRC list runs past the packet"},
      {"ext header cut", bytes({0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE}),
       "rtp: extension header runs past the packet"},
      {"ext length lies", bytes({0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0x00, 0x02, 0x10, 1, 0, 0}),
       "rtp: extension block runs past the packet"},
      {"element past block", bytes({0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0x00, 0x01, 0x1F, 1, 2, 3, 9, 9}),
       "rtp: extension element runs past the block"},
      {"two-byte element past block",
       bytes({0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00, 0x00, 0x01, 0x01, 0x05, 1, 2, 9}),
       "rtp: extension element runs past the block"},
      {"two-byte header cut", bytes({0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00, 0x00, 0x01, 0, 0, 0, 0x01}),
       "rtp: two-byte extension header runs past the block"},
      {"padding flag, nothing after header", bytes({0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
       "rtp: padding bit set but no padding"},
      {"padding count zero", bytes({0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}), "rtp: padding count is zero"},
      {"padding beyond end", bytes({0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 9}), "rtp: padding runs past the header"},
  };
  for (const auto& c : cases) {
    auto v = RtpPacketView::parse(c.data);
    CHECK_MESSAGE(!v.ok(), c.name);
    CHECK_MESSAGE(std::string(v.error()) == c.reason, c.name);
  }
  std::vector<uint8_t> huge(70000, 0);
  huge[0] = 0x80;
  CHECK_FALSE(RtpPacketView::parse(huge).ok());
}

TEST_CASE("builder writes one-byte extensions and typed values read back") {
  const ExtensionMap map = ExtensionMap::Default();
  const std::vector<uint8_t> payload{1, 2, 3, 4, 5};
  RtpPacketBuilder b;
  b.set_marker(true).set_payload_type(100).set_sequence_number(65535).set_timestamp(0xFFFFFFFF).set_ssrc(7);
  b.set<TransportSequenceNumber>(map, 0xABCD);
  b.set<AbsSendTime>(map, 0x123456);
  b.set<AudioLevel>(map, {true, 42});
  b.set<Mid>(map, "0");
  b.set<PlayoutDelay>(map, {TimeDelta::Millis(100), TimeDelta::Millis(400)});
  b.set_payload(payload);
  auto p = b.build();
  REQUIRE_MESSAGE(p.ok(), p.error());
  CHECK(p->header().extension_profile == kOneByteExtensionProfile);
  CHECK(p->size() == b.size());
  CHECK(p->header().header_size % 4 == 0);
  CHECK(p->marker());
  CHECK(p->payload_type() == 100);
  CHECK(p->sequence_number() == 65535);
  CHECK(p->timestamp() == 0xFFFFFFFF);
  CHECK(p->get<TransportSequenceNumber>(map) == 0xABCD);
  CHECK(p->get<AbsSendTime>(map) == 0x123456u);
  CHECK(p->get<AudioLevel>(map) == AudioLevel::value_type{true, 42});
  CHECK(p->get<Mid>(map) == std::string("0"));
  CHECK(p->get<PlayoutDelay>(map)->max == TimeDelta::Millis(400));
  CHECK_FALSE(p->get<RtpStreamId>(map).has_value());
  CHECK(std::vector<uint8_t>(p->payload().begin(), p->payload().end()) == payload);
}

TEST_CASE("builder falls back to two-byte extensions for ids over 14 or long values") {
  ExtensionMap map;
  REQUIRE(map.register_extension<RtpStreamId>(20));
  REQUIRE(map.register_extension<AbsCaptureTime>(3));
  RtpPacketBuilder b;
  b.set<RtpStreamId>(map, "hi");
  b.set<AbsCaptureTime>(map, {0x0102030405060708ull, int64_t{-5}});  // 16 bytes
  auto p = b.build();
  REQUIRE(p.ok());
  CHECK((p->header().extension_profile & 0xFFF0) == kTwoByteExtensionProfile);
  CHECK(p->get<RtpStreamId>(map) == std::string("hi"));
  CHECK(p->get<AbsCaptureTime>(map)->estimated_capture_clock_offset == -5);
  // A zero-length raw element forces two-byte form too.
  RtpPacketBuilder z;
  z.set_extension(2, {});
  auto pz = z.build();
  REQUIRE(pz.ok());
  CHECK((pz->header().extension_profile & 0xFFF0) == kTwoByteExtensionProfile);
  CHECK(pz->extension(2)->empty());
}

TEST_CASE("builder padding, CSRCs and errors") {
  const std::array<uint32_t, 3> csrcs{10, 20, 30};
  RtpPacketBuilder b;
  b.set_csrcs(csrcs).set_padding(7);
  auto p = b.build();
  REQUIRE(p.ok());
  CHECK(p->view().csrc_count() == 3);
  CHECK(p->view().csrc(2) == 30);
  CHECK(p->padding_size() == 7);
  CHECK(p->payload_size() == 0);
  std::array<uint8_t, 10> small{};
  CHECK_FALSE(b.write(small).ok());
  std::array<uint32_t, 16> too_many{};
  RtpPacketBuilder bad;
  bad.set_csrcs(too_many);
  CHECK_FALSE(bad.build().ok());
  RtpPacketBuilder bad_ext;
  bad_ext.set_extension(0, std::array<uint8_t, 1>{1});
  CHECK_FALSE(bad_ext.build().ok());
}

TEST_CASE("in-place rewrites keep the packet valid") {
  const ExtensionMap map = ExtensionMap::Default();
  RtpPacketBuilder b;
  b.set<TransportSequenceNumber>(map, 1).set<AbsSendTime>(map, 0).set_sequence_number(5);
  auto p = b.build();
  REQUIRE(p.ok());
  CHECK(p->set<TransportSequenceNumber>(map, 777));
  CHECK(p->set<AbsSendTime>(map, AbsSendTime::from_time(Timestamp::Seconds(1))));
  CHECK_FALSE(p->set<AudioLevel>(map, {false, 1}));  // absent
  p->set_sequence_number(9);
  p->set_marker(true);
  p->set_payload_type(127);
  auto re = RtpPacketView::parse(p->data());
  REQUIRE(re.ok());
  CHECK(re->sequence_number() == 9);
  CHECK(re->marker());
  CHECK(re->payload_type() == 127);
  CHECK(re->get<TransportSequenceNumber>(map) == 777);
  CHECK(re->get<AbsSendTime>(map) == (1u << 18));
}

TEST_CASE("property: random valid packets survive build -> parse unchanged") {
  Random rng(20261125);
  for (int iter = 0; iter < 2000; ++iter) {
    RtpPacketBuilder b;
    const bool marker = rng.bernoulli(0.5);
    const auto pt = static_cast<uint8_t>(rng.uniform_int(0, 127));
    const auto seq = static_cast<uint16_t>(rng.uniform_int(0, 65535));
    const auto ts = static_cast<uint32_t>(rng.next_u32());
    const auto ssrc = static_cast<uint32_t>(rng.next_u32());
    std::vector<uint32_t> csrcs(static_cast<size_t>(rng.uniform_int(0, 15)));
    for (auto& c : csrcs) c = rng.next_u32();
    const bool two_byte = rng.bernoulli(0.3);
    const int n_ext = static_cast<int>(rng.uniform_int(0, 8));
    std::vector<std::pair<uint8_t, std::vector<uint8_t>>> exts;
    for (int i = 0; i < n_ext; ++i) {
      const auto id = static_cast<uint8_t>(two_byte ? rng.uniform_int(1, 255) : rng.uniform_int(1, 14));
      bool dup = false;
      for (auto& e : exts) dup = dup || e.first == id;
      if (dup) continue;
      std::vector<uint8_t> data(static_cast<size_t>(two_byte ? rng.uniform_int(0, 40) : rng.uniform_int(1, 16)));
      for (auto& d : data) d = static_cast<uint8_t>(rng.next_u32());
      exts.emplace_back(id, data);
    }
    std::vector<uint8_t> payload(static_cast<size_t>(rng.uniform_int(0, 1200)));
    for (auto& d : payload) d = static_cast<uint8_t>(rng.next_u32());
    const auto padding = static_cast<uint8_t>(rng.bernoulli(0.2) ? rng.uniform_int(1, 255) : 0);
    b.set_marker(marker).set_payload_type(pt).set_sequence_number(seq).set_timestamp(ts).set_ssrc(ssrc);
    b.set_csrcs(csrcs);
    for (auto& [id, data] : exts) b.set_extension(id, data);
    b.set_payload(payload).set_padding(padding);
    auto p = b.build();
    INFO("iteration " << iter);
    REQUIRE_MESSAGE(p.ok(), p.error());
    auto v = RtpPacketView::parse(p->data());
    REQUIRE(v.ok());
    CHECK(v->marker() == marker);
    CHECK(v->payload_type() == pt);
    CHECK(v->sequence_number() == seq);
    CHECK(v->timestamp() == ts);
    CHECK(v->ssrc() == ssrc);
    REQUIRE(v->csrc_count() == csrcs.size());
    for (size_t i = 0; i < csrcs.size(); ++i) CHECK(v->csrc(i) == csrcs[i]);
    CHECK(v->header().num_extensions == exts.size());
    for (auto& [id, data] : exts) {
      auto got = v->extension(id);
      REQUIRE(got.has_value());
      CHECK(std::vector<uint8_t>(got->begin(), got->end()) == data);
    }
    CHECK(std::vector<uint8_t>(v->payload().begin(), v->payload().end()) == payload);
    CHECK(v->padding_size() == padding);
  }
}

TEST_CASE("property: extension ids renumbered in place read back as a fresh parse of the bytes") {
  Random rng(20261205);
  for (int iter = 0; iter < 1000; ++iter) {
    INFO("iteration " << iter);
    const bool two_byte = rng.bernoulli(0.4);
    RtpPacketBuilder b;
    std::vector<std::pair<uint8_t, std::vector<uint8_t>>> exts;
    const int n_ext = static_cast<int>(rng.uniform_int(0, 10));
    for (int i = 0; i < n_ext; ++i) {
      const auto id = static_cast<uint8_t>(two_byte ? rng.uniform_int(1, 255) : rng.uniform_int(1, 14));
      bool dup = false;
      for (auto& e : exts) dup = dup || e.first == id;
      if (dup) continue;
      std::vector<uint8_t> data(static_cast<size_t>(two_byte ? rng.uniform_int(0, 20) : rng.uniform_int(1, 16)));
      for (auto& d : data) d = static_cast<uint8_t>(rng.next_u32());
      exts.emplace_back(id, data);
      b.set_extension(id, data);
    }
    std::vector<uint8_t> payload(static_cast<size_t>(rng.uniform_int(0, 300)), 0x5A);
    b.set_payload(payload).set_sequence_number(static_cast<uint16_t>(iter));
    auto p = b.build();
    REQUIRE(p.ok());
    // A map without duplicates among the kept ids: a random permutation, some ids to 0.
    std::array<uint8_t, 256> ids{};
    std::vector<uint8_t> pool;
    for (int i = 1; i < 256; ++i) pool.push_back(static_cast<uint8_t>(i));
    for (size_t i = pool.size() - 1; i > 0; --i) std::swap(pool[i], pool[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(i)))]);
    for (int i = 1; i < 256; ++i) ids[static_cast<size_t>(i)] = rng.bernoulli(0.25) ? 0 : pool[static_cast<size_t>(i - 1)];
    const bool one_byte_form = p->header().extension_profile == kOneByteExtensionProfile;  // the builder's choice
    const size_t size_before = p->size();
    REQUIRE(p->remap_extension_ids(ids));
    CHECK(p->size() == size_before);
    auto fresh = RtpPacketView::parse(p->data());
    REQUIRE(fresh.ok());
    CHECK(fresh->header().num_extensions == p->header().num_extensions);
    size_t expected = 0;
    for (auto& [id, data] : exts) {
      uint8_t to = ids[id];
      if (one_byte_form && to > 14) to = 0;
      if (to == 0) continue;
      ++expected;
      const auto in_place = p->extension(to);
      const auto parsed = fresh->extension(to);
      REQUIRE(in_place.has_value());
      REQUIRE(parsed.has_value());
      CHECK(std::vector<uint8_t>(in_place->begin(), in_place->end()) == data);
      CHECK(std::vector<uint8_t>(parsed->begin(), parsed->end()) == data);
    }
    CHECK(p->header().num_extensions == expected);
    CHECK(std::vector<uint8_t>(fresh->payload().begin(), fresh->payload().end()) == payload);
    CHECK(fresh->sequence_number() == static_cast<uint16_t>(iter));
  }
}

TEST_CASE("extension ids past the parser's element limit are not renumbered") {
  // Two-byte profile, 18 empty elements (ids 21..38): 36 bytes, 9 words; the parser keeps 16.
  std::vector<uint8_t> raw = bytes({0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x10, 0x00, 0, 9});
  for (int id = 21; id < 21 + 18; ++id) {
    raw.push_back(static_cast<uint8_t>(id));
    raw.push_back(0);
  }
  raw.push_back(0xAB);  // payload
  auto p = RtpPacket::parse(raw);
  REQUIRE(p.ok());
  REQUIRE(p->header().extensions_dropped);
  std::array<uint8_t, 256> ids{};
  ids[21] = 3;
  CHECK_FALSE(p->remap_extension_ids(ids));
  CHECK(std::vector<uint8_t>(p->data().begin(), p->data().end()) == raw);
}

TEST_CASE("property: every truncation and random corruption is handled without crash") {
  const ExtensionMap map = ExtensionMap::Default();
  RtpPacketBuilder b;
  const std::vector<uint8_t> payload(50, 0x42);
  b.set<TransportSequenceNumber>(map, 3).set<Mid>(map, "video").set_payload(payload).set_padding(4);
  auto p = b.build();
  REQUIRE(p.ok());
  const std::vector<uint8_t> good(p->data().begin(), p->data().end());
  for (size_t n = 0; n < good.size(); ++n) {
    auto v = RtpPacketView::parse(std::span<const uint8_t>(good.data(), n));
    if (v.ok()) {  // a prefix may still be valid: then all its parts lie inside it
      CHECK(v->header().header_size + v->payload().size() + v->padding_size() == n);
    }
  }
  Random rng(99);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> bad = good;
    const int flips = static_cast<int>(rng.uniform_int(1, 4));
    for (int f = 0; f < flips; ++f)
      bad[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(bad.size()) - 1))] = static_cast<uint8_t>(rng.next_u32());
    auto v = RtpPacketView::parse(bad);
    if (v.ok()) CHECK(v->header().header_size + v->payload().size() + v->padding_size() == bad.size());
  }
}

TEST_CASE("header extension codecs") {
  CHECK(AbsSendTime::from_time(Timestamp::Seconds(64)) == 0);  // wraps every 64 s
  CHECK(AbsSendTime::from_time(Timestamp::Millis(500)) == (1u << 17));
  CHECK(AbsSendTime::to_delta(1u << 18) == TimeDelta::Seconds(1));
  std::array<uint8_t, 3> buf{};
  CHECK(TransmissionOffset::write(buf, -2));
  CHECK(TransmissionOffset::parse(buf) == -2);
  CHECK_FALSE(TransmissionOffset::write(buf, 0x800000));
  CHECK_FALSE(PlayoutDelay::write(buf, {TimeDelta::Millis(500), TimeDelta::Millis(100)}));
  const std::array<uint8_t, 3> pd{0x00, 0xA0, 0x28};  // min 10 (100 ms), max 40 (400 ms)
  auto d = PlayoutDelay::parse(pd);
  REQUIRE(d.has_value());
  CHECK(d->min == TimeDelta::Millis(100));
  CHECK(d->max == TimeDelta::Millis(400));
  const std::array<uint8_t, 1> al{0x85};
  CHECK(AudioLevel::parse(al) == AudioLevel::value_type{true, 5});
  const std::array<uint8_t, 4> mid{'a', 'b', 0, 0};
  CHECK(Mid::parse(mid) == std::string("ab"));
  const std::array<uint8_t, 2> nul{0, 0};
  CHECK_FALSE(Mid::parse(nul).has_value());
  const std::vector<uint8_t> too_long(256, 'x');  // found by the header_extensions fuzzer
  CHECK_FALSE(RtpStreamId::parse(too_long).has_value());
  CHECK_FALSE(TransportSequenceNumber::parse(std::span<const uint8_t>(buf.data(), 3)).has_value());
}

TEST_CASE("extension map registration rules") {
  ExtensionMap m;
  CHECK(m.register_uri(3, TransportSequenceNumber::kUri));
  CHECK(m.id<TransportSequenceNumber>() == 3);
  CHECK(m.type(3) == ExtensionType::kTransportSequenceNumber);
  CHECK(m.register_type(3, ExtensionType::kTransportSequenceNumber));  // same pair: fine
  CHECK_FALSE(m.register_type(4, ExtensionType::kTransportSequenceNumber));  // type elsewhere
  CHECK_FALSE(m.register_type(3, ExtensionType::kAbsSendTime));              // id taken
  CHECK_FALSE(m.register_type(0, ExtensionType::kAbsSendTime));              // id 0 invalid
  CHECK_FALSE(m.register_uri(5, "urn:example:unknown"));
  CHECK(extension_type_from_uri("urn:ietf:params:rtp-hdrext:ssrc-audio-level") == ExtensionType::kAudioLevel);
  CHECK(extension_uri(ExtensionType::kMid) == Mid::kUri);
  m.deregister(ExtensionType::kTransportSequenceNumber);
  CHECK(m.id<TransportSequenceNumber>() == 0);
  CHECK(m.type(3) == ExtensionType::kNone);
}
