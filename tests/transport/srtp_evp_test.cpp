// EvpSrtp (transport/srtp_evp.h), SrtpSession's OpenSSL backend, against libsrtp2 in the same
// process: byte-identical SRTP and SRTCP for every suite (across sequence-number wrap, with CSRCs,
// header extensions, empty payloads and a retransmission), each backend decrypting the other, the
// same verdicts on a seeded stream of reordered, duplicated, forged and tampered packets, and
// forged SSRCs that never create state.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tern/core/random.h"
#include "tern/transport/srtp_evp.h"
#include "tern/transport/srtp_session.h"

using namespace tern;
using namespace tern::transport;

namespace {

constexpr SrtpProfile kProfiles[] = {SrtpProfile::kAesCm128HmacSha1_80, SrtpProfile::kAesCm128HmacSha1_32,
                                     SrtpProfile::kAeadAes128Gcm, SrtpProfile::kAeadAes256Gcm};

SrtpConfig config(SrtpProfile profile, SrtpDirection direction, SrtpBackend backend, uint8_t seed = 7) {
  SrtpConfig c;
  c.profile = profile;
  c.direction = direction;
  c.backend = backend;
  c.key_material.resize(srtp_key_material_size(profile));
  Random random(seed);
  for (auto& b : c.key_material) b = static_cast<uint8_t>(random.next_u64());
  return c;
}

SrtpSession session(SrtpProfile profile, SrtpDirection direction, SrtpBackend backend, uint8_t seed = 7) {
  auto s = SrtpSession::Create(config(profile, direction, backend, seed));
  REQUIRE_MESSAGE(s.ok(), s.error());
  REQUIRE(s->backend() == backend);
  return std::move(s).value();
}

// An RTP packet of a given shape: `csrcs` CSRCs, an optional one-byte-header extension block.
std::vector<uint8_t> plain_rtp(uint16_t seq, uint32_t ssrc, size_t payload, int csrcs, bool extension) {
  std::vector<uint8_t> p(12 + 4 * static_cast<size_t>(csrcs) + (extension ? 8 : 0));
  p[0] = static_cast<uint8_t>(0x80 | (extension ? 0x10 : 0) | csrcs);
  p[1] = 96;
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  p[6] = static_cast<uint8_t>(seq);
  p[7] = 1;
  for (int i = 0; i < 4; ++i) p[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  for (int i = 0; i < csrcs * 4; ++i) p[12 + i] = static_cast<uint8_t>(0xc0 + i);
  if (extension) {
    const uint8_t block[8] = {0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00};
    for (int i = 0; i < 8; ++i) p[12 + 4 * csrcs + i] = block[i];
  }
  for (size_t i = 0; i < payload; ++i) p.push_back(static_cast<uint8_t>(seq * 7 + i));
  return p;
}

std::vector<uint8_t> rtcp(uint32_t ssrc, size_t extra_words) {
  std::vector<uint8_t> p = {0x80, 200, 0, static_cast<uint8_t>(1 + extra_words), static_cast<uint8_t>(ssrc >> 24),
                            static_cast<uint8_t>(ssrc >> 16), static_cast<uint8_t>(ssrc >> 8), static_cast<uint8_t>(ssrc)};
  for (size_t i = 0; i < extra_words * 4; ++i) p.push_back(static_cast<uint8_t>(i * 13));
  return p;
}

}  // namespace

TEST_CASE("srtp backend names: to_string and srtp_backend_from_string are inverses, anything else is refused") {
  for (transport::SrtpBackend b : {transport::SrtpBackend::kOpenSsl, transport::SrtpBackend::kLibsrtp}) {
    CHECK(transport::srtp_backend_from_string(transport::to_string(b)) == b);
  }
  CHECK(transport::to_string(transport::SrtpBackend::kLibsrtp) == "libsrtp");
  CHECK_FALSE(transport::srtp_backend_from_string("OpenSSL").has_value());
  CHECK_FALSE(transport::srtp_backend_from_string("").has_value());
  CHECK_FALSE(transport::srtp_backend_from_string("nss").has_value());
}

TEST_CASE("srtp openssl backend: byte for byte libsrtp2's output for every suite, and each decrypts the other") {
  for (SrtpProfile profile : kProfiles) {
    CAPTURE(to_string(profile));
    SrtpSession ref_tx = session(profile, SrtpDirection::kSend, SrtpBackend::kLibsrtp);
    SrtpSession evp_tx = session(profile, SrtpDirection::kSend, SrtpBackend::kOpenSsl);
    SrtpSession ref_rx = session(profile, SrtpDirection::kReceive, SrtpBackend::kLibsrtp);
    SrtpSession evp_rx = session(profile, SrtpDirection::kReceive, SrtpBackend::kOpenSsl);
    size_t compared = 0;
    // Two SSRCs: one starting low (ROC 0 while the index is below 2^15), one across the wrap.
    for (uint32_t ssrc : {0x01020304u, 0xcafebabeu}) {
      const uint16_t first = ssrc == 0x01020304u ? 0 : 65500;
      for (int n = 0; n < 90; ++n) {
        const uint16_t seq = static_cast<uint16_t>(first + n - (n == 60 ? 3 : 0));  // n == 60: a retransmission
        const std::vector<uint8_t> plain = plain_rtp(seq, ssrc, static_cast<size_t>((n * 37) % 1201), n % 3, n % 2 == 1);
        std::vector<uint8_t> a = plain, b = plain;
        REQUIRE(ref_tx.protect_rtp(a).ok());
        REQUIRE(evp_tx.protect_rtp(b).ok());
        CHECK(a == b);
        ++compared;
        // The retransmitted packet was accepted the first time: receivers refuse it as a replay.
        if (n == 60) continue;
        std::vector<uint8_t> c = b;
        REQUIRE(ref_rx.unprotect_rtp(b).ok());
        REQUIRE(evp_rx.unprotect_rtp(c).ok());
        CHECK(b == plain);
        CHECK(c == plain);
      }
      for (size_t words = 0; words < 12; ++words) {
        const std::vector<uint8_t> plain = rtcp(ssrc, words);
        std::vector<uint8_t> a = plain, b = plain;
        REQUIRE(ref_tx.protect_rtcp(a).ok());
        REQUIRE(evp_tx.protect_rtcp(b).ok());
        CHECK(a == b);
        std::vector<uint8_t> c = a;
        REQUIRE(ref_rx.unprotect_rtcp(a).ok());
        REQUIRE(evp_rx.unprotect_rtcp(c).ok());
        CHECK(a == plain);
        CHECK(c == plain);
      }
    }
    CHECK(compared == 180);
    CHECK(evp_rx.counters().unprotected_rtp == 178);
    CHECK(evp_rx.counters().unprotected_rtcp == 24);
  }
}

TEST_CASE("srtp openssl backend: the same verdicts as libsrtp2 on reordered, duplicated, old, forged and tampered packets") {
  for (SrtpProfile profile : kProfiles) {
    CAPTURE(to_string(profile));
    SrtpSession tx = session(profile, SrtpDirection::kSend, SrtpBackend::kLibsrtp);
    SrtpSession forger = session(profile, SrtpDirection::kSend, SrtpBackend::kLibsrtp, 99);  // another key
    SrtpSession ref_rx = session(profile, SrtpDirection::kReceive, SrtpBackend::kLibsrtp);
    SrtpSession evp_rx = session(profile, SrtpDirection::kReceive, SrtpBackend::kOpenSsl);
    std::vector<std::vector<uint8_t>> sent, forged;
    for (int n = 0; n < 400; ++n) {
      std::vector<uint8_t> p = plain_rtp(static_cast<uint16_t>(40000 + n * 3), 0x5eed, 100, 0, false);  // skips: ROC moves on
      std::vector<uint8_t> f = p;
      REQUIRE(tx.protect_rtp(p).ok());
      REQUIRE(forger.protect_rtp(f).ok());
      sent.push_back(std::move(p));
      forged.push_back(std::move(f));
    }
    Random random(2026);
    std::string verdicts_ref, verdicts_evp;
    for (int step = 0; step < 1500; ++step) {
      // Mostly in order with jumps back; some duplicates; some very old; some forged; some tampered.
      const size_t newest = std::min<size_t>(sent.size() - 1, static_cast<size_t>(step) / 3);
      size_t pick = newest - std::min<size_t>(newest, random.next_u64() % 50);
      const uint64_t kind = random.next_u64() % 10;
      std::vector<uint8_t> p = sent[pick];
      if (kind == 0) {
        p = sent[pick - std::min<size_t>(pick, 60)];  // may be beyond the window (128 packets x 3)
      } else if (kind == 1) {
        p = forged[pick];
      } else if (kind == 2) {
        p[p.size() / 2] ^= 0x40;
      }
      std::vector<uint8_t> q = p;
      const Status a = ref_rx.unprotect_rtp(p);
      const Status b = evp_rx.unprotect_rtp(q);
      verdicts_ref += a.ok() ? '.' : std::string_view(a.error()).find("authentication") != std::string_view::npos ? 'A' : 'R';
      verdicts_evp += b.ok() ? '.' : std::string_view(b.error()).find("authentication") != std::string_view::npos ? 'A' : 'R';
      if (a.ok() && b.ok()) CHECK(p == q);
    }
    CHECK(verdicts_ref == verdicts_evp);
    CHECK(verdicts_ref.find('.') != std::string::npos);
    CHECK(verdicts_ref.find('A') != std::string::npos);
    CHECK(verdicts_ref.find('R') != std::string::npos);
    CHECK(evp_rx.counters().auth_failures == ref_rx.counters().auth_failures);
    CHECK(evp_rx.counters().replay_failures == ref_rx.counters().replay_failures);
  }
}

TEST_CASE("srtp openssl backend: forged SSRCs create no state, garbage is refused, the stream table is bounded") {
  for (SrtpProfile profile : kProfiles) {
    CAPTURE(to_string(profile));
    auto rx = EvpSrtp::Create(config(profile, SrtpDirection::kReceive, SrtpBackend::kOpenSsl));
    REQUIRE(rx.ok());
    SrtpSession forger = session(profile, SrtpDirection::kSend, SrtpBackend::kOpenSsl, 99);
    Random random(5);
    for (uint32_t ssrc = 1; ssrc <= 200; ++ssrc) {
      std::vector<uint8_t> p = plain_rtp(1, ssrc, 50, 0, false);
      REQUIRE(forger.protect_rtp(p).ok());
      size_t size = p.size();
      CHECK(rx.value()->unprotect_rtp(p.data(), size) == EvpSrtp::Outcome::kAuthFailure);
      std::vector<uint8_t> junk(random.next_u64() % 64);
      for (auto& b : junk) b = static_cast<uint8_t>(random.next_u64());
      size = junk.size();
      CHECK(rx.value()->unprotect_rtcp(junk.data(), size) != EvpSrtp::Outcome::kOk);
      size = junk.size();
      CHECK(rx.value()->unprotect_rtp(junk.data(), size) != EvpSrtp::Outcome::kOk);
    }
    CHECK(rx.value()->stream_count() == 0);
    // A sender refuses SSRCs beyond the bound rather than growing.
    auto tx = EvpSrtp::Create(config(profile, SrtpDirection::kSend, SrtpBackend::kOpenSsl));
    REQUIRE(tx.ok());
    for (uint32_t ssrc = 0; ssrc <= EvpSrtp::kMaxStreams; ++ssrc) {
      std::vector<uint8_t> p = plain_rtp(1, ssrc, 10, 0, false);
      p.resize(p.size() + 20);
      size_t size = p.size() - 20;
      const auto outcome = tx.value()->protect_rtp(p.data(), size, p.size());
      CHECK(outcome == (ssrc < EvpSrtp::kMaxStreams ? EvpSrtp::Outcome::kOk : EvpSrtp::Outcome::kTooManyStreams));
    }
    CHECK(tx.value()->stream_count() == EvpSrtp::kMaxStreams);
    // A truncated extension header, and no room for the tag.
    std::vector<uint8_t> bad = plain_rtp(1, 9, 0, 0, true);
    bad.resize(14);
    size_t size = bad.size();
    CHECK(tx.value()->protect_rtp(bad.data(), size, 64) == EvpSrtp::Outcome::kMalformed);
    std::vector<uint8_t> tight = plain_rtp(1, 9, 10, 0, false);
    size = tight.size();
    CHECK(tx.value()->protect_rtp(tight.data(), size, tight.size()) == EvpSrtp::Outcome::kMalformed);
  }
}
