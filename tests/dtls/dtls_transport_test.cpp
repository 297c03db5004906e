// DtlsTransport: two tern transports in memory. Handshake in both roles, the negotiated version,
// cipher and SRTP profile, fingerprint checks (up front, late, mismatched), SRTP keys that really
// key libsrtp both ways, application data and its bounds, close_notify, bad input on an
// established association, retransmission timing (on the virtual clock) and the handshake
// deadline, and a Chromium-style fragmented ClientHello that offers DTLS 1.3.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "support/dtls_pair.h"
#include "tern/core/random.h"
#include "tern/dtls/openssl_virtual_clock.h"
#include "tern/transport/srtp_session.h"

using namespace tern;
using namespace tern::dtls;
using tern::test::ConnectedPair;
using tern::test::Deliver;
using tern::test::DtlsPair;
using tern::test::MakePair;
using tern::test::PairConfigs;
using tern::test::Shuttle;
using tern::test::TestCertificate;

namespace {

std::vector<uint8_t> RtpPacket(uint16_t seq, uint32_t ssrc) {
  std::vector<uint8_t> p = {0x80, 96, static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq), 0, 0, 0x10, 0x00,
                            static_cast<uint8_t>(ssrc >> 24), static_cast<uint8_t>(ssrc >> 16), static_cast<uint8_t>(ssrc >> 8),
                            static_cast<uint8_t>(ssrc)};
  for (int i = 0; i < 100; ++i) p.push_back(static_cast<uint8_t>(i * 3 + seq));
  return p;
}

// A receiver report without report blocks (RFC 3550 6.4.2).
std::vector<uint8_t> RtcpPacket(uint32_t ssrc) {
  return {0x80, 201, 0x00, 0x01, static_cast<uint8_t>(ssrc >> 24), static_cast<uint8_t>(ssrc >> 16), static_cast<uint8_t>(ssrc >> 8),
          static_cast<uint8_t>(ssrc)};
}

// Protects RTP and RTCP with `from`'s local key and unprotects with `to`'s remote key.
void CheckSrtp(const DtlsSrtpKeys& from, const DtlsSrtpKeys& to) {
  auto a = transport::srtp_configs_from_dtls(from.profile, from.local, from.remote);
  auto b = transport::srtp_configs_from_dtls(to.profile, to.local, to.remote);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto send = transport::SrtpSession::Create(a->send);
  auto receive = transport::SrtpSession::Create(b->receive);
  REQUIRE(send.ok());
  REQUIRE(receive.ok());
  for (uint16_t seq = 1; seq <= 5; ++seq) {
    const auto rtp = RtpPacket(seq, 0x11223344);
    auto packet = rtp;
    REQUIRE(send->protect_rtp(packet).ok());
    CHECK(packet != rtp);
    REQUIRE(receive->unprotect_rtp(packet).ok());
    CHECK(packet == rtp);
  }
  const auto rtcp = RtcpPacket(0x11223344);
  auto packet = rtcp;
  REQUIRE(send->protect_rtcp(packet).ok());
  REQUIRE(receive->unprotect_rtcp(packet).ok());
  CHECK(packet == rtcp);
  // The other direction's key must not open it.
  auto wrong = transport::SrtpSession::Create(a->receive);
  REQUIRE(wrong.ok());
  auto again = RtpPacket(9, 0x11223344);
  REQUIRE(send->protect_rtp(again).ok());
  CHECK_FALSE(wrong->unprotect_rtp(again).ok());
}

// An established pair's client sends `n` application records to the server.
std::vector<std::vector<uint8_t>> SendRecords(DtlsPair& p, int n, Timestamp now) {
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < n; ++i) {
    std::vector<uint8_t> m(static_cast<size_t>(10 + i), static_cast<uint8_t>(i));
    REQUIRE(p.client->send_application(m, now).ok());
    sent.push_back(m);
  }
  return sent;
}

}  // namespace

TEST_CASE("DtlsTransport: in-memory handshake in both roles negotiates DTLS 1.2, ECDHE-ECDSA AES-128-GCM and AEAD_AES_128_GCM") {
  for (int swap = 0; swap < 2; ++swap) {
    auto configs = PairConfigs();
    if (swap == 1) {  // the other certificate on each role, and the server started first
      std::swap(configs.first.certificate, configs.second.certificate);
      std::swap(configs.first.remote_fingerprint, configs.second.remote_fingerprint);
    }
    DtlsPair p = MakePair(configs.first, configs.second);
    const Timestamp now = Timestamp::Seconds(5);
    if (swap == 1) p.server->start(now);
    p.client->start(now);
    CHECK(p.client->state() == DtlsState::kConnecting);
    Shuttle(p, now);
    for (DtlsTransport* t : {p.client.get(), p.server.get()}) {
      REQUIRE_MESSAGE(t->state() == DtlsState::kConnected, std::string(t->failure_reason()) << " " << t->failure_detail());
      CHECK(t->tls_version() == "DTLSv1.2");
      CHECK(t->cipher_suite() == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
      REQUIRE(t->srtp_keys().has_value());
      CHECK(t->srtp_keys()->profile == kSrtpAeadAes128Gcm);
      CHECK(t->srtp_keys()->local.size() == 28);
      CHECK(t->connected_at() == now);
      CHECK(t->counters().malformed_datagrams == 0);
      CHECK(t->counters().fingerprint_mismatches == 0);
    }
    CHECK(p.client->srtp_keys()->local == p.server->srtp_keys()->remote);
    CHECK(p.client->srtp_keys()->remote == p.server->srtp_keys()->local);
    CHECK(p.client->srtp_keys()->local != p.client->srtp_keys()->remote);
    CHECK(p.client->remote_certificate() == configs.second.certificate->der());
    CHECK(p.server->remote_certificate() == configs.first.certificate->der());
    CHECK(p.client->next_wakeup() == std::nullopt);  // no timer once connected
    CHECK(p.server->next_wakeup() == std::nullopt);
    MESSAGE("in-memory handshake: " << p.datagrams << " datagrams, " << p.bytes << " bytes");
  }
}

TEST_CASE("DtlsTransport: every datagram fits the MTU, fragmenting handshake messages when it is small") {
  for (size_t mtu : {1200u, 300u}) {
    auto configs = PairConfigs();
    configs.first.mtu = configs.second.mtu = mtu;
    DtlsPair p = MakePair(configs.first, configs.second);
    const Timestamp now = Timestamp::Seconds(1);
    p.client->start(now);
    size_t largest = 0;
    for (int i = 0; i < 20; ++i) {
      int moved = 0;
      for (auto [from, to] : {std::pair{p.client.get(), p.server.get()}, std::pair{p.server.get(), p.client.get()}}) {
        while (auto d = from->pop_outgoing()) {
          largest = std::max(largest, d->size());
          to->on_datagram(*d, now);
          ++moved;
        }
      }
      if (moved == 0) break;
    }
    CHECK(p.client->state() == DtlsState::kConnected);
    CHECK(p.server->state() == DtlsState::kConnected);
    CHECK(largest <= mtu);
    CHECK(p.client->max_application_size() < mtu);
    CHECK(p.client->max_application_size() > mtu - 64);
  }
}

TEST_CASE("DtlsTransport: the SRTP profile follows the server's preference among the offers") {
  struct Case {
    std::vector<uint16_t> client, server;
    uint16_t expected;
  };
  const std::vector<uint16_t> all = {kSrtpAeadAes128Gcm, kSrtpAeadAes256Gcm, kSrtpAes128CmSha1_80};
  for (const Case& c : {Case{all, all, kSrtpAeadAes128Gcm}, Case{{kSrtpAes128CmSha1_80}, all, kSrtpAes128CmSha1_80},
                        Case{all, {kSrtpAes128CmSha1_80}, kSrtpAes128CmSha1_80},
                        Case{{kSrtpAeadAes256Gcm, kSrtpAes128CmSha1_80}, all, kSrtpAeadAes256Gcm},
                        Case{{kSrtpAes128CmSha1_80, kSrtpAeadAes128Gcm}, all, kSrtpAeadAes128Gcm}}) {
    auto configs = PairConfigs();
    configs.first.srtp_profiles = c.client;
    configs.second.srtp_profiles = c.server;
    DtlsPair p = ConnectedPair(configs);
    REQUIRE(p.client->srtp_keys().has_value());
    CHECK(p.client->srtp_keys()->profile == c.expected);
    CHECK(p.server->srtp_keys()->profile == c.expected);
    CheckSrtp(*p.client->srtp_keys(), *p.server->srtp_keys());
    CheckSrtp(*p.server->srtp_keys(), *p.client->srtp_keys());
  }
}

TEST_CASE("DtlsTransport: no common SRTP profile fails the handshake when use_srtp is required") {
  auto configs = PairConfigs();
  configs.first.srtp_profiles = {kSrtpAes128CmSha1_32};
  configs.second.srtp_profiles = {kSrtpAes128CmSha1_80};
  DtlsPair p = MakePair(configs.first, configs.second);
  p.client->start(Timestamp::Seconds(1));
  Shuttle(p, Timestamp::Seconds(1));
  CHECK(p.client->state() == DtlsState::kFailed);
  CHECK(std::string(p.client->failure_reason()) == "the peer did not negotiate use_srtp");
  CHECK_FALSE(p.client->srtp_keys().has_value());
  // Without the requirement (a data-only association) the same peers connect, keyless.
  configs.first.require_srtp = configs.second.require_srtp = false;
  DtlsPair q = ConnectedPair(configs);
  CHECK_FALSE(q.client->srtp_keys().has_value());
}

TEST_CASE("DtlsTransport: a certificate that does not match the SDP fingerprint is refused, counted, with a reason") {
  for (int side = 0; side < 2; ++side) {
    auto configs = PairConfigs();
    DtlsConfig& checker = side == 0 ? configs.second : configs.first;
    checker.remote_fingerprint = TestCertificate(side == 0 ? 1 : 0)->fingerprint();  // its own, not the peer's
    DtlsPair p = MakePair(configs.first, configs.second);
    p.client->start(Timestamp::Seconds(1));
    Shuttle(p, Timestamp::Seconds(1));
    DtlsTransport& refusing = side == 0 ? *p.server : *p.client;
    DtlsTransport& refused = side == 0 ? *p.client : *p.server;
    CHECK(refusing.state() == DtlsState::kFailed);
    CHECK(std::string(refusing.failure_reason()) == "the peer's certificate does not match the SDP fingerprint");
    CHECK(refusing.counters().fingerprint_mismatches == 1);
    CHECK_FALSE(refusing.srtp_keys().has_value());
    // The refusal reaches the peer as a fatal alert.
    CHECK(refused.state() == DtlsState::kFailed);
    CHECK(std::string(refused.failure_reason()).find("fatal DTLS alert") != std::string::npos);
    MESSAGE("refused side: " << std::string(refused.failure_reason()));
  }
}

TEST_CASE("DtlsTransport: a fingerprint given after the handshake decides then") {
  for (bool matching : {true, false}) {
    auto configs = PairConfigs();
    const CertificateFingerprint expected = *configs.second.remote_fingerprint;
    configs.second.remote_fingerprint.reset();
    DtlsPair p = MakePair(configs.first, configs.second);
    const Timestamp now = Timestamp::Seconds(1);
    p.client->start(now);
    Shuttle(p, now);
    CHECK(p.client->state() == DtlsState::kConnected);
    CHECK(p.server->state() == DtlsState::kConnecting);  // handshake done, not yet authenticated
    CHECK_FALSE(p.server->pop_application().has_value());
    REQUIRE(p.client->send_application(std::vector<uint8_t>{1, 2, 3}, now).ok());
    Deliver(*p.client, *p.server, now);
    CHECK_FALSE(p.server->pop_application().has_value());  // held until authenticated
    p.server->set_remote_fingerprint(matching ? expected : TestCertificate(1)->fingerprint(), now + TimeDelta::Millis(5));
    if (matching) {
      CHECK(p.server->state() == DtlsState::kConnected);
      CHECK(p.server->connected_at() == now + TimeDelta::Millis(5));
      CHECK(p.server->pop_application() == std::vector<uint8_t>{1, 2, 3});
    } else {
      CHECK(p.server->state() == DtlsState::kFailed);
      CHECK(p.server->counters().fingerprint_mismatches == 1);
      CHECK_FALSE(p.server->srtp_keys().has_value());
    }
  }
}

TEST_CASE("DtlsTransport: a fingerprint that never comes fails the association at the handshake deadline") {
  auto configs = PairConfigs();
  configs.second.remote_fingerprint.reset();
  configs.second.handshake_timeout = TimeDelta::Seconds(4);
  DtlsPair p = MakePair(configs.first, configs.second);
  p.client->start(Timestamp::Seconds(1));
  Shuttle(p, Timestamp::Seconds(1));
  REQUIRE(p.server->next_wakeup() == Timestamp::Seconds(5));
  p.server->process(Timestamp::Seconds(5));
  CHECK(p.server->state() == DtlsState::kFailed);
  CHECK(std::string(p.server->failure_reason()).find("fingerprint was not given") != std::string::npos);
}

TEST_CASE("DtlsTransport: application data both ways, size limit and the bounded receive queue") {
  DtlsPair p = ConnectedPair();
  const Timestamp now = Timestamp::Seconds(2);
  const auto sent = SendRecords(p, 5, now);
  Deliver(*p.client, *p.server, now);
  for (const auto& m : sent) CHECK(p.server->pop_application() == m);
  CHECK_FALSE(p.server->pop_application().has_value());
  REQUIRE(p.server->send_application(std::vector<uint8_t>(1000, 7), now).ok());
  Deliver(*p.server, *p.client, now);
  CHECK(p.client->pop_application() == std::vector<uint8_t>(1000, 7));

  const size_t limit = p.client->max_application_size();
  CHECK(p.client->send_application(std::vector<uint8_t>(limit, 1), now).ok());
  CHECK_FALSE(p.client->send_application(std::vector<uint8_t>(limit + 1, 1), now).ok());
  CHECK_FALSE(p.client->send_application({}, now).ok());
  Deliver(*p.client, *p.server, now);
  CHECK(p.server->pop_application()->size() == limit);

  // 300 records to a receiver that does not drain: the first 256 kept, the rest dropped, counted.
  auto many = SendRecords(p, 150, now);
  Deliver(*p.client, *p.server, now);
  const auto more = SendRecords(p, 150, now);
  many.insert(many.end(), more.begin(), more.end());
  Deliver(*p.client, *p.server, now);
  CHECK(p.server->counters().application_dropped == 44);
  for (size_t i = 0; i < 256; ++i) REQUIRE(p.server->pop_application() == many[i]);
  CHECK_FALSE(p.server->pop_application().has_value());
}

TEST_CASE("DtlsTransport: the outgoing queue is bounded") {
  auto configs = PairConfigs();
  configs.first.max_outgoing = 2;
  DtlsPair p = ConnectedPair(configs);
  const Timestamp now = Timestamp::Seconds(2);
  CHECK(p.client->send_application(std::vector<uint8_t>{1}, now).ok());
  CHECK(p.client->send_application(std::vector<uint8_t>{2}, now).ok());
  const Status full = p.client->send_application(std::vector<uint8_t>{3}, now);
  CHECK(std::string(full.error()) == "DTLS: outgoing queue full");
  CHECK(Deliver(*p.client, *p.server, now) == 2);
  CHECK(p.client->send_application(std::vector<uint8_t>{3}, now).ok());
}

TEST_CASE("DtlsTransport: close_notify reaches the peer, and nothing is accepted after") {
  DtlsPair p = ConnectedPair();
  const Timestamp now = Timestamp::Seconds(3);
  REQUIRE(p.client->send_application(std::vector<uint8_t>{8}, now).ok());  // arrives just before the close
  p.client->close(now);
  CHECK(p.client->state() == DtlsState::kClosed);
  CHECK(std::string(p.client->failure_reason()) == "closed locally");
  REQUIRE(p.client->has_outgoing());
  CHECK(Deliver(*p.client, *p.server, now) == 2);
  CHECK(p.server->state() == DtlsState::kClosed);
  CHECK(std::string(p.server->failure_reason()) == "closed by the peer (close_notify)");
  CHECK(p.server->pop_application() == std::vector<uint8_t>{8});
  CHECK_FALSE(p.server->send_application(std::vector<uint8_t>{1}, now).ok());
  p.client->close(now);  // idempotent, nothing more sent
  CHECK_FALSE(p.client->has_outgoing());
  p.server->on_datagram(std::vector<uint8_t>{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 0}, now);
  CHECK(p.server->counters().ignored_datagrams == 1);
}

TEST_CASE("DtlsTransport: garbage, truncated, forged and replayed records are dropped without breaking the association") {
  DtlsPair p = ConnectedPair();
  const Timestamp now = Timestamp::Seconds(2);
  REQUIRE(p.client->send_application(std::vector<uint8_t>{9, 9, 9}, now).ok());
  const std::vector<uint8_t> record = *p.client->pop_outgoing();
  p.server->on_datagram(record, now);
  CHECK(p.server->pop_application() == std::vector<uint8_t>{9, 9, 9});

  Random rng(7);
  std::vector<uint8_t> garbage(200);
  for (auto& b : garbage) b = static_cast<uint8_t>(rng.uniform_int(0, 255));
  garbage[0] = 0x17;                                       // passes the RFC 7983 first-byte test
  p.server->on_datagram(garbage, now);                     // not DTLS framing
  auto truncated = record;
  truncated.resize(record.size() - 5);                     // the record says more than it has
  p.server->on_datagram(truncated, now);
  p.server->on_datagram(std::vector<uint8_t>{22, 0xfe}, now);  // shorter than a header
  p.server->on_datagram({}, now);
  p.server->on_datagram(std::vector<uint8_t>(DtlsTransport::kMaxDatagramSize + 1, 23), now);
  CHECK(p.server->counters().malformed_datagrams == 5);

  auto forged = record;
  forged.back() ^= 0x01;                                   // authentication tag broken
  p.server->on_datagram(forged, now);
  p.server->on_datagram(record, now);                      // replayed
  auto stale = record;
  stale[3] = 0;
  stale[4] = 0;                                            // epoch 0 after the handshake
  p.server->on_datagram(stale, now);
  std::vector<uint8_t> handshake_garbage = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 99, 0, 20};
  for (int i = 0; i < 20; ++i) handshake_garbage.push_back(static_cast<uint8_t>(rng.uniform_int(0, 255)));
  p.server->on_datagram(handshake_garbage, now);
  std::vector<uint8_t> alert_garbage = {21, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 77, 0, 2, 2, 40};  // forged fatal alert, epoch 1
  p.server->on_datagram(alert_garbage, now);
  // Protected records of every type and every length up to a whole AEAD overhead (OpenSSL 3.0
  // would fail the association on these; the transport drops them first).
  for (uint8_t type : {20, 21, 22, 23}) {
    for (uint8_t len = 0; len < 24; ++len) {
      std::vector<uint8_t> r = {type, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 1, 77, 0, len};
      r.resize(r.size() + len, 0x5a);
      p.server->on_datagram(r, now);
    }
  }
  CHECK(p.server->counters().malformed_datagrams == 5 + 1 + 4 * 24);
  CHECK(p.server->counters().discarded_records == 3);
  CHECK_FALSE(p.server->pop_application().has_value());
  REQUIRE_MESSAGE(p.server->state() == DtlsState::kConnected, std::string(p.server->failure_reason()) << " " << p.server->failure_detail());

  // Still working both ways.
  REQUIRE(p.client->send_application(std::vector<uint8_t>{4, 5}, now).ok());
  Deliver(*p.client, *p.server, now);
  CHECK(p.server->pop_application() == std::vector<uint8_t>{4, 5});
  REQUIRE(p.server->send_application(std::vector<uint8_t>{6}, now).ok());
  Deliver(*p.server, *p.client, now);
  CHECK(p.client->pop_application() == std::vector<uint8_t>{6});
}

TEST_CASE("DtlsTransport: the retransmission timer runs on the caller's time (virtual clock linked)") {
  Timestamp now = Timestamp::Seconds(100);
  ScopedOpenSslVirtualClock clock([&] { return now; });
  auto configs = PairConfigs();
  auto client = DtlsTransport::Create(configs.first).value();
  client->start(now);
  const auto hello = client->pop_outgoing();
  REQUIRE(hello.has_value());  // lost
  REQUIRE(client->next_wakeup() == now + TimeDelta::Millis(200));
  now += TimeDelta::Millis(199);
  client->process(now);
  CHECK_FALSE(client->has_outgoing());
  now += TimeDelta::Millis(1);
  client->process(now);
  REQUIRE(client->has_outgoing());
  // The same ClientHello again (in a record with the next sequence number).
  const auto again = client->pop_outgoing();
  CHECK(std::vector<uint8_t>(again->begin() + 13, again->end()) == std::vector<uint8_t>(hello->begin() + 13, hello->end()));
  CHECK(client->counters().retransmissions == 1);
  // Doubling, capped at max_retransmit (3 s).
  std::vector<int64_t> gaps;
  for (int i = 0; i < 6; ++i) {
    const Timestamp at = *client->next_wakeup();
    gaps.push_back((at - now).ms());
    now = at;
    client->process(now);
    REQUIRE(client->pop_outgoing().has_value());
  }
  CHECK(gaps == std::vector<int64_t>{400, 800, 1600, 3000, 3000, 3000});
  CHECK(client->counters().retransmissions == 7);
}

TEST_CASE("DtlsTransport: a handshake with no answer fails at the documented deadline") {
  Timestamp now = Timestamp::Seconds(10);
  ScopedOpenSslVirtualClock clock([&] { return now; });
  auto configs = PairConfigs();
  configs.first.handshake_timeout = TimeDelta::Seconds(8);
  auto client = DtlsTransport::Create(configs.first).value();
  client->start(now);
  for (int i = 0; i < 100 && client->state() == DtlsState::kConnecting; ++i) {
    now = *client->next_wakeup();
    client->process(now);
    while (client->pop_outgoing()) {
    }
  }
  CHECK(client->state() == DtlsState::kFailed);
  CHECK(std::string(client->failure_reason()) == "DTLS handshake timed out");
  CHECK(now == Timestamp::Seconds(18));
  CHECK(client->next_wakeup() == std::nullopt);
}

TEST_CASE("DtlsTransport: configuration is validated") {
  auto c = PairConfigs().first;
  auto bad = c;
  bad.certificate.reset();
  CHECK_FALSE(DtlsTransport::Create(bad).ok());
  bad = c;
  bad.mtu = 100;
  CHECK_FALSE(DtlsTransport::Create(bad).ok());
  bad = c;
  bad.srtp_profiles = {0x0005};
  CHECK_FALSE(DtlsTransport::Create(bad).ok());
  bad = c;
  bad.max_retransmit = TimeDelta::Millis(100);
  CHECK_FALSE(DtlsTransport::Create(bad).ok());
  bad = c;
  bad.max_outgoing = 0;
  CHECK_FALSE(DtlsTransport::Create(bad).ok());
  CHECK(DtlsTransport::Create(c).ok());
}

TEST_CASE("DtlsTransport: a client ignores datagrams before start") {
  auto client = DtlsTransport::Create(PairConfigs().first).value();
  client->on_datagram(std::vector<uint8_t>{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, Timestamp::Seconds(1));
  CHECK(client->state() == DtlsState::kNew);
  CHECK(client->counters().ignored_datagrams == 1);
  CHECK(client->next_wakeup() == std::nullopt);
}

TEST_CASE("DtlsTransport: transports share their certificate's OpenSSL context, in both roles at once") {
  // Both sides present certificate 0 (one SSL_CTX behind the client and the server), with
  // different use_srtp lists set per association.
  auto configs = PairConfigs();
  configs.second.certificate = TestCertificate(0);
  configs.first.remote_fingerprint = TestCertificate(0)->fingerprint();
  configs.first.srtp_profiles = {kSrtpAes128CmSha1_80};
  DtlsPair p = ConnectedPair(configs);
  CHECK(p.client->srtp_keys()->profile == kSrtpAes128CmSha1_80);
  // A later pair on the same context is unaffected by the first one's profile list.
  DtlsPair q = ConnectedPair();
  CHECK(q.client->srtp_keys()->profile == kSrtpAeadAes128Gcm);
}

// Found by the dtls_transport fuzzer: one datagram from anyone on the path broke an established
// association. Its record carries the DTLS 1.0 version; OpenSSL 3.0 discards such a record's header
// only and reads its body as further records, and the body held a short protected alert, which
// OpenSSL fails the association on. A record longer than OpenSSL's limit smuggles the same way.
TEST_CASE("DtlsTransport: records OpenSSL would discard cannot smuggle a record in their body") {
  const std::vector<uint8_t> forged = {
      0x16, 0xfe, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x91, 0x01, 0x00, 0x00, 0x85, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x85, 0xfe, 0xfd, 0x2b, 0x25, 0x1f, 0x9b, 0x33, 0x3a, 0x04, 0xc4, 0x97, 0xd7, 0x1d, 0x3e, 0xd6,
      0xad, 0x62, 0x7d, 0x44, 0xf8, 0xb4, 0x15, 0x7e, 0xd4, 0xc4, 0x56, 0x18, 0x8b, 0x56, 0xe8, 0xd6, 0xeb, 0x94, 0x14, 0xfe,
      0xfd, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x02, 0x5a, 0x5a, 0x00, 0x1c, 0x14, 0xfe, 0xfd, 0x00, 0x1a,
      0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x0f, 0x01, 0x00, 0x00, 0x9e, 0x5a, 0x5a, 0x5a, 0x5a, 0x64, 0x69,
      0x67, 0x65, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0xfe, 0x01, 0x0d, 0xfd, 0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x09, 0x00, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x0f, 0x15, 0xfe, 0xfd, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x09, 0x00, 0x02, 0x5a, 0x5a, 0x00, 0x1c, 0x15, 0xfe, 0xfd, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09};
  // An application_data record at epoch 1 whose length (17800) is beyond OpenSSL's
  // SSL3_RT_MAX_ENCRYPTED_LENGTH but within the largest datagram, its body a 2-byte protected alert.
  std::vector<uint8_t> overlong = {23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 5, 17800 >> 8, 17800 & 0xff,
                                   21, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 2, 0x5a, 0x5a};
  overlong.resize(13 + 17800, 0x5a);
  REQUIRE(overlong.size() <= DtlsTransport::kMaxDatagramSize);
  for (const std::vector<uint8_t>* datagram : {&forged, static_cast<const std::vector<uint8_t>*>(&overlong)}) {
    for (DtlsRole role : {DtlsRole::kServer, DtlsRole::kClient}) {
      const std::string what = std::string(datagram == &forged ? "DTLS 1.0 version" : "overlong") +
                               (role == DtlsRole::kServer ? " to the server" : " to the client");
      CAPTURE(what);
      DtlsPair p = ConnectedPair();
      DtlsTransport& target = role == DtlsRole::kServer ? *p.server : *p.client;
      DtlsTransport& peer = role == DtlsRole::kServer ? *p.client : *p.server;
      Timestamp now = Timestamp::Seconds(2);
      target.on_datagram(*datagram, now);
      CHECK(target.counters().malformed_datagrams == 1);
      CHECK_FALSE(target.has_outgoing());  // no alert sent
      now += TimeDelta::Millis(30);
      target.process(now);
      CHECK_MESSAGE(target.state() == DtlsState::kConnected, std::string(target.failure_reason()) << " " << target.failure_detail());
      if (target.state() != DtlsState::kConnected) continue;
      REQUIRE(peer.send_application(std::vector<uint8_t>{1, 2, 3}, now).ok());
      Deliver(peer, target, now);
      CHECK(target.pop_application() == std::vector<uint8_t>{1, 2, 3});
    }
  }

  // Mid-handshake too: the server has answered the ClientHello (its version chosen) when the
  // forged datagram comes; the handshake still completes.
  for (const std::vector<uint8_t>* datagram : {&forged, static_cast<const std::vector<uint8_t>*>(&overlong)}) {
    auto [client_config, server_config] = PairConfigs();
    DtlsPair p = MakePair(client_config, server_config);
    CAPTURE(std::string(datagram == &forged ? "DTLS 1.0 version" : "overlong"));
    Timestamp now = Timestamp::Seconds(1);
    p.client->start(now);
    Deliver(*p.client, *p.server, now);  // ClientHello
    REQUIRE(p.server->has_outgoing());   // its first flight
    p.server->on_datagram(*datagram, now);
    CHECK(p.server->counters().malformed_datagrams == 1);
    Shuttle(p, now);
    CHECK(p.server->state() == DtlsState::kConnected);
    CHECK(p.client->state() == DtlsState::kConnected);
  }
}
