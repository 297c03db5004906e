// SrtpSession: round trips for every profile (RTP and RTCP), tamper and replay detection counted
// but not fatal, the rollover counter across 70000 packets of sequence wrap, and config checks.
#include <doctest/doctest.h>

#include <vector>

#include "tern/core/random.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"
#include "tern/transport/srtp_session.h"

using namespace tern;
using namespace tern::transport;

namespace {

constexpr SrtpProfile kAllProfiles[] = {SrtpProfile::kAesCm128HmacSha1_80, SrtpProfile::kAesCm128HmacSha1_32,
                                     SrtpProfile::kAeadAes128Gcm, SrtpProfile::kAeadAes256Gcm};

std::vector<uint8_t> Key(SrtpProfile p, uint8_t seed = 0) {
  std::vector<uint8_t> k(srtp_key_material_size(p));
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i + seed);
  return k;
}

SrtpSession Make(SrtpProfile p, SrtpDirection d, uint32_t window = 128, uint8_t key_seed = 0) {
  SrtpConfig c;
  c.profile = p;
  c.key_material = Key(p, key_seed);
  c.direction = d;
  c.replay_window = window;
  auto s = SrtpSession::Create(c);
  REQUIRE_MESSAGE(s.ok(), s.error());
  return std::move(*s);
}

std::vector<uint8_t> Rtp(uint16_t seq, size_t payload_size = 160, uint32_t ssrc = 0x11223344) {
  std::vector<uint8_t> payload(payload_size);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(seq + i);
  rtp::RtpPacketBuilder b;
  b.set_payload_type(96).set_sequence_number(seq).set_timestamp(seq * 3000u).set_ssrc(ssrc).set_payload(payload);
  auto p = b.build();
  REQUIRE(p.ok());
  return {p->data().begin(), p->data().end()};
}

// A minimal RTCP RR (RFC 3550 6.4.2) with no report blocks.
std::vector<uint8_t> RtcpRr(uint32_t ssrc) {
  return {0x80, 201, 0, 1, static_cast<uint8_t>(ssrc >> 24), static_cast<uint8_t>(ssrc >> 16),
          static_cast<uint8_t>(ssrc >> 8), static_cast<uint8_t>(ssrc)};
}

size_t TagSize(SrtpProfile p) {
  switch (p) {
    case SrtpProfile::kAesCm128HmacSha1_80: return 10;
    case SrtpProfile::kAesCm128HmacSha1_32: return 4;
    default: return 16;
  }
}

}  // namespace

TEST_CASE("srtp round trip for every profile") {
  for (SrtpProfile p : kAllProfiles) {
    CAPTURE(to_string(p));
    SrtpSession tx = Make(p, SrtpDirection::kSend);
    SrtpSession rx = Make(p, SrtpDirection::kReceive);
    for (uint16_t seq = 1000; seq < 1050; ++seq) {
      const std::vector<uint8_t> plain = Rtp(seq, 100 + seq % 50);
      std::vector<uint8_t> packet = plain;
      REQUIRE(tx.protect_rtp(packet).ok());
      CHECK(packet.size() == plain.size() + TagSize(p));
      // Header in the clear, payload encrypted.
      CHECK(std::equal(plain.begin(), plain.begin() + 12, packet.begin()));
      CHECK_FALSE(std::equal(plain.begin() + 12, plain.end(), packet.begin() + 12));
      REQUIRE(rx.unprotect_rtp(packet).ok());
      CHECK(packet == plain);
    }
    CHECK(tx.counters().protected_rtp == 50);
    CHECK(rx.counters().unprotected_rtp == 50);
    CHECK(rx.counters().auth_failures == 0);
  }
}

TEST_CASE("srtcp round trip for every profile") {
  for (SrtpProfile p : kAllProfiles) {
    CAPTURE(to_string(p));
    SrtpSession tx = Make(p, SrtpDirection::kSend);
    SrtpSession rx = Make(p, SrtpDirection::kReceive);
    for (int i = 0; i < 10; ++i) {
      const std::vector<uint8_t> plain = RtcpRr(0xCAFE0000u + static_cast<uint32_t>(i % 2));
      std::vector<uint8_t> packet = plain;
      REQUIRE(tx.protect_rtcp(packet).ok());
      // E flag + 31-bit SRTCP index, then the tag (80 bits also for the _32 suite, RFC 4568 6.2.2).
      const size_t tag = p == SrtpProfile::kAesCm128HmacSha1_32 ? 10 : TagSize(p);
      CHECK(packet.size() == plain.size() + 4 + tag);
      REQUIRE(rx.unprotect_rtcp(packet).ok());
      CHECK(packet == plain);
    }
    CHECK(rx.counters().unprotected_rtcp == 10);
  }
}

TEST_CASE("srtp tampered packet counts an auth failure and the session goes on") {
  for (SrtpProfile p : kAllProfiles) {
    CAPTURE(to_string(p));
    SrtpSession tx = Make(p, SrtpDirection::kSend);
    SrtpSession rx = Make(p, SrtpDirection::kReceive);
    std::vector<uint8_t> a = Rtp(1);
    REQUIRE(tx.protect_rtp(a).ok());
    a[20] ^= 0x01;  // one payload bit
    CHECK_FALSE(rx.unprotect_rtp(a).ok());
    CHECK(rx.counters().auth_failures == 1);
    std::vector<uint8_t> b = Rtp(2);
    REQUIRE(tx.protect_rtp(b).ok());
    b.back() ^= 0x80;  // one tag bit
    CHECK_FALSE(rx.unprotect_rtp(b).ok());
    CHECK(rx.counters().auth_failures == 2);
    // Wrong key entirely.
    SrtpSession other = Make(p, SrtpDirection::kSend, 128, 7);
    std::vector<uint8_t> c = Rtp(3);
    REQUIRE(other.protect_rtp(c).ok());
    CHECK_FALSE(rx.unprotect_rtp(c).ok());
    CHECK(rx.counters().auth_failures == 3);
    // A good packet still decrypts after the failures.
    std::vector<uint8_t> d = Rtp(4);
    REQUIRE(tx.protect_rtp(d).ok());
    CHECK(rx.unprotect_rtp(d).ok());
    CHECK(rx.counters().unprotected_rtp == 1);
  }
}

TEST_CASE("srtp replayed and too old packets count replay failures") {
  SrtpSession tx = Make(SrtpProfile::kAesCm128HmacSha1_80, SrtpDirection::kSend, 64);
  SrtpSession rx = Make(SrtpProfile::kAesCm128HmacSha1_80, SrtpDirection::kReceive, 64);
  std::vector<std::vector<uint8_t>> sent;
  for (uint16_t seq = 0; seq < 200; ++seq) {
    std::vector<uint8_t> p = Rtp(seq);
    REQUIRE(tx.protect_rtp(p).ok());
    sent.push_back(p);
  }
  std::vector<uint8_t> first = sent[0];
  REQUIRE(rx.unprotect_rtp(first).ok());
  std::vector<uint8_t> again = sent[0];
  CHECK_FALSE(rx.unprotect_rtp(again).ok());
  CHECK(rx.counters().replay_failures == 1);
  for (size_t i = 1; i < 200; ++i) {
    std::vector<uint8_t> p = sent[i];
    REQUIRE(rx.unprotect_rtp(p).ok());
  }
  // Sequence 100 lies 99 behind the newest (199), beyond the 64-packet window.
  std::vector<uint8_t> old = sent[100];
  CHECK_FALSE(rx.unprotect_rtp(old).ok());
  CHECK(rx.counters().replay_failures == 2);
  // Reordered within the window but not yet seen is fine: receive 300, then 290.
  SrtpSession rx2 = Make(SrtpProfile::kAesCm128HmacSha1_80, SrtpDirection::kReceive, 64);
  std::vector<uint8_t> late = sent[190], early = sent[199];
  REQUIRE(rx2.unprotect_rtp(early).ok());
  CHECK(rx2.unprotect_rtp(late).ok());
  CHECK(rx2.counters().replay_failures == 0);
}

TEST_CASE("srtp sequence wrap over 70000 packets stays decryptable") {
  // Starting near 65535 the sequence wraps once; libsrtp's rollover counter must follow, or every
  // packet after the wrap would fail authentication (the ROC is part of the auth input).
  for (SrtpProfile p : {SrtpProfile::kAesCm128HmacSha1_80, SrtpProfile::kAeadAes128Gcm}) {
    CAPTURE(to_string(p));
    SrtpSession tx = Make(p, SrtpDirection::kSend);
    SrtpSession rx = Make(p, SrtpDirection::kReceive);
    uint16_t seq = 65000;
    size_t ok = 0;
    Random rng(7);
    for (int i = 0; i < 70000; ++i, ++seq) {
      std::vector<uint8_t> packet = Rtp(seq, 40);
      REQUIRE(tx.protect_rtp(packet).ok());
      // Drop a few packets on the way (the receiver must still track the index across gaps).
      if (rng.bernoulli(0.01)) continue;
      if (rx.unprotect_rtp(packet).ok()) ++ok;
    }
    CHECK(rx.counters().auth_failures == 0);
    CHECK(rx.counters().replay_failures == 0);
    CHECK(ok == rx.counters().unprotected_rtp);
    CHECK(ok > 69000);
  }
}

TEST_CASE("srtp config and direction errors are values") {
  SrtpConfig c;
  c.profile = SrtpProfile::kAeadAes256Gcm;
  c.key_material = Key(SrtpProfile::kAesCm128HmacSha1_80);  // 30 bytes, needs 44
  CHECK_FALSE(SrtpSession::Create(c).ok());
  c.key_material = Key(SrtpProfile::kAeadAes256Gcm);
  c.replay_window = 10;
  CHECK_FALSE(SrtpSession::Create(c).ok());
  c.replay_window = 1024;
  CHECK(SrtpSession::Create(c).ok());

  SrtpSession tx = Make(SrtpProfile::kAesCm128HmacSha1_80, SrtpDirection::kSend);
  std::vector<uint8_t> p = Rtp(5);
  CHECK_FALSE(tx.unprotect_rtp(p).ok());  // a send session cannot unprotect
  CHECK(tx.counters().other_failures == 1);
  SrtpSession rx = Make(SrtpProfile::kAesCm128HmacSha1_80, SrtpDirection::kReceive);
  std::vector<uint8_t> tiny = {0x80, 96, 0, 1};
  CHECK_FALSE(rx.unprotect_rtp(tiny).ok());
  std::vector<uint8_t> empty;
  CHECK_FALSE(rx.unprotect_rtp(empty).ok());
  CHECK(rx.counters().other_failures + rx.counters().auth_failures == 2);
  SrtpSession none;
  CHECK_FALSE(none.protect_rtp(p).ok());
  // Moved-from sessions are empty, the moved-to one works.
  SrtpSession moved = std::move(tx);
  std::vector<uint8_t> q = Rtp(6);
  CHECK(moved.protect_rtp(q).ok());
}

TEST_CASE("srtp random garbage is rejected without crash") {
  SrtpSession rx = Make(SrtpProfile::kAesCm128HmacSha1_80, SrtpDirection::kReceive);
  Random rng(99);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> p(static_cast<size_t>(rng.uniform_int(0, 80)));
    for (auto& b : p) b = static_cast<uint8_t>(rng.uniform_int(0, 255));
    if (!p.empty()) p[0] = static_cast<uint8_t>(0x80 | (p[0] & 0x3F));
    CHECK_FALSE(rx.unprotect_rtp(p).ok());
    std::vector<uint8_t> q = p;
    CHECK_FALSE(rx.unprotect_rtcp(q).ok());
  }
  CHECK(rx.counters().unprotected_rtp == 0);
}

TEST_CASE("srtp span variants work in caller storage") {
  SrtpSession tx = Make(SrtpProfile::kAesCm128HmacSha1_80, SrtpDirection::kSend);
  SrtpSession rx = Make(SrtpProfile::kAesCm128HmacSha1_80, SrtpDirection::kReceive);
  const std::vector<uint8_t> plain = Rtp(77);
  std::vector<uint8_t> buf(1500);
  std::copy(plain.begin(), plain.end(), buf.begin());
  size_t size = plain.size();
  REQUIRE(tx.protect_rtp(buf, size).ok());
  CHECK(size == plain.size() + 10);
  REQUIRE(rx.unprotect_rtp(buf, size).ok());
  CHECK(size == plain.size());
  CHECK(std::equal(plain.begin(), plain.end(), buf.begin()));
  size_t too_big = 2000;
  CHECK_FALSE(rx.unprotect_rtp(buf, too_big).ok());
}

TEST_CASE("srtp protects built, parsed-and-copied RTP packets in place (their tail room), for every profile") {
  static_assert(rtp::RtpPacket::kTailroom >= SrtpSession::kMaxOverhead);
  for (SrtpProfile p : kAllProfiles) {
    CAPTURE(to_string(p));
    SrtpSession tx = Make(p, SrtpDirection::kSend);
    SrtpSession rx = Make(p, SrtpDirection::kReceive);
    auto received = rtp::RtpPacket::parse(Rtp(7, 1000));  // as a forwarder holds it: exact size
    REQUIRE(received.ok());
    for (int leg = 0; leg < 3; ++leg) {  // one copy per subscriber, as MediaRouter::forward_to makes
      rtp::RtpPacket copy = *received;
      copy.set_sequence_number(static_cast<uint16_t>(100 + leg));
      std::vector<uint8_t> datagram = std::move(copy).release_bytes();
      const uint8_t* before = datagram.data();
      REQUIRE(tx.protect_rtp(datagram).ok());
      CHECK(datagram.data() == before);  // no reallocation on the way out
      CHECK(rx.unprotect_rtp(datagram).ok());
    }
    rtp::RtpPacketBuilder b;
    b.set_payload_type(96).set_sequence_number(9).set_ssrc(0x11223344);
    std::vector<uint8_t> payload(1000, 7);
    b.set_payload(payload);
    auto built = b.build();
    REQUIRE(built.ok());
    std::vector<uint8_t> datagram = std::move(*built).release_bytes();
    const uint8_t* before = datagram.data();
    REQUIRE(tx.protect_rtp(datagram).ok());
    CHECK(datagram.data() == before);
  }
}
