// Interop with OpenSSL's own DTLS peers over loopback UDP: `openssl s_client` against a tern
// server and `openssl s_server` against a tern client, each under `timeout`. Asserts the handshake
// completes with the peer's certificate checked against its fingerprint, DTLS 1.2, the cipher and
// SRTP profile both sides report, and that the keys tern exported equal the peer's
// -keymatexport EXTRACTOR-dtls_srtp output byte for byte; then close_notify each way.
// The test owns one UDP socket on 127.0.0.1 and drives the transport with the monotonic clock.
#include <doctest/doctest.h>
#include <poll.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "support/dtls_pair.h"
#include "support/peer.h"
#include "support/process.h"
#include "support/udp.h"
#include "tern/transport/srtp_key.h"

using namespace tern;
using namespace tern::dtls;

namespace {

Timestamp MonotonicNow() {
  return Timestamp::Micros(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

struct PeerFiles {
  std::string dir, cert, key;
  CertificateFingerprint fingerprint;
};

// An ECDSA P-256 certificate for the openssl peer and its fingerprint as `openssl x509` prints it.
std::optional<PeerFiles> MakePeerCertificate(const std::string& name) {
  PeerFiles f;
  f.dir = tern::test::scratch_dir(name);
  f.cert = f.dir + "/cert.pem";
  f.key = f.dir + "/key.pem";
  if (tern::test::run_command("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=peer -keyout '" +
                                  f.key + "' -out '" + f.cert + "'",
                              30)
          .exit_code != 0)
    return std::nullopt;
  // "sha256 Fingerprint=AB:CD:..." -> "sha-256 AB:CD:..."
  const auto out = tern::test::run_command("openssl x509 -in '" + f.cert + "' -noout -fingerprint -sha256", 10);
  const size_t eq = out.out.find('=');
  if (eq == std::string::npos) return std::nullopt;
  std::string hex = out.out.substr(eq + 1);
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  auto fp = CertificateFingerprint::parse("sha-256 " + hex);
  if (!fp) return std::nullopt;
  f.fingerprint = *fp;
  return f;
}

// Moves datagrams between the transport and the peer at `peer_port` (learned from the first
// datagram when 0) and runs its timers, until `done()` or `max_ms` pass.
bool Drive(DtlsTransport& t, tern::test::UdpSocket& sock, uint16_t& peer_port, const std::function<bool()>& done, int max_ms) {
  const Timestamp end = MonotonicNow() + TimeDelta::Millis(max_ms);
  while (MonotonicNow() < end) {
    if (peer_port != 0) {
      while (auto d = t.pop_outgoing()) (void)sock.send_to(peer_port, *d);  // loopback: a failed send is a lost datagram
    }
    if (done()) return true;
    int wait_ms = 20;
    if (auto at = t.next_wakeup()) wait_ms = static_cast<int>(std::clamp<int64_t>((*at - MonotonicNow()).ms(), 0, 20));
    pollfd p{sock.fd(), POLLIN, 0};
    ::poll(&p, 1, wait_ms);
    while (auto in = sock.try_receive_from()) {
      if (peer_port == 0) peer_port = in->first;
      t.on_datagram(in->second, MonotonicNow());
    }
    t.process(MonotonicNow());
  }
  return done();
}

// "Keying material: <HEX>" from an openssl s_client/s_server log.
std::string KeyingMaterial(const std::string& log) {
  const std::string tag = "Keying material: ";
  const size_t at = log.find(tag);
  if (at == std::string::npos) return "";
  const size_t end = log.find_first_of("\r\n", at);
  return log.substr(at + tag.size(), end - at - tag.size());
}

// The 2 * (key + salt) exporter output rebuilt from tern's split (RFC 5764 4.2 order).
std::string ExportedHex(const DtlsTransport& t) {
  const DtlsSrtpKeys& k = *t.srtp_keys();
  const auto lengths = *srtp_key_lengths(k.profile);
  const auto& client = t.role() == DtlsRole::kClient ? k.local : k.remote;
  const auto& server = t.role() == DtlsRole::kClient ? k.remote : k.local;
  std::vector<uint8_t> all(client.begin(), client.begin() + static_cast<std::ptrdiff_t>(lengths.key));
  all.insert(all.end(), server.begin(), server.begin() + static_cast<std::ptrdiff_t>(lengths.key));
  all.insert(all.end(), client.begin() + static_cast<std::ptrdiff_t>(lengths.key), client.end());
  all.insert(all.end(), server.begin() + static_cast<std::ptrdiff_t>(lengths.key), server.end());
  std::string hex = transport::hex_encode(all);
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return hex;
}

struct Case {
  std::string peer_srtp;    // -use_srtp list the openssl peer offers/accepts
  std::string peer_cipher;  // -cipher, "" for openssl's default
  uint16_t profile;
  std::string cipher_suite;
};

const Case kCases[] = {
    {"SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305", kSrtpAeadAes128Gcm,
     "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
    {"SRTP_AES128_CM_SHA1_80", "ECDHE-ECDSA-CHACHA20-POLY1305", kSrtpAes128CmSha1_80,
     "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
};

std::string PeerOptions(const PeerFiles& f, const Case& c) {
  const size_t export_len = 2 * (srtp_key_lengths(c.profile)->key + srtp_key_lengths(c.profile)->salt);
  return " -dtls1_2 -mtu 1200 -cert '" + f.cert + "' -key '" + f.key + "' -use_srtp " + c.peer_srtp +
         " -keymatexport EXTRACTOR-dtls_srtp -keymatexportlen " + std::to_string(export_len) +
         (c.peer_cipher.empty() ? "" : " -cipher " + c.peer_cipher);
}

}  // namespace

TEST_CASE("DtlsTransport interop: a tern server and openssl s_client agree on DTLS 1.2, the cipher, the SRTP profile and the keys") {
  if (!tern::test::HavePeers({"openssl"})) return;
  const auto files = MakePeerCertificate("dtls_s_client");
  REQUIRE(files.has_value());
  for (const Case& c : kCases) {
    DtlsConfig config = tern::test::PairConfigs().second;  // server, certificate 1
    config.remote_fingerprint = files->fingerprint;
    auto server = DtlsTransport::Create(config).value();
    tern::test::UdpSocket sock;
    REQUIRE(sock.ok());
    const std::string log = files->dir + "/s_client.log";
    // stdin is /dev/null: s_client shakes hands, prints, and closes with close_notify.
    tern::test::BackgroundPeer peer("openssl s_client -connect 127.0.0.1:" + std::to_string(sock.local_port()) + PeerOptions(*files, c), 20,
                                    log);
    REQUIRE(peer.started());
    uint16_t peer_port = 0;
    const bool connected = Drive(*server, sock, peer_port, [&] { return server->state() == DtlsState::kConnected; }, 10000);
    REQUIRE_MESSAGE(connected, std::string(server->failure_reason()) << " " << server->failure_detail() << "\n" << peer.log());
    CHECK(server->tls_version() == "DTLSv1.2");
    CHECK(server->cipher_suite() == c.cipher_suite);
    REQUIRE(server->srtp_keys().has_value());
    CHECK(server->srtp_keys()->profile == c.profile);
    // s_client closes after the handshake: close_notify arrives.
    Drive(*server, sock, peer_port, [&] { return server->state() == DtlsState::kClosed; }, 5000);
    CHECK(std::string(server->failure_reason()) == "closed by the peer (close_notify)");
    CHECK(peer.wait(5000));
    const std::string out = peer.log();
    CHECK(out.find("SRTP Extension negotiated, profile=" + std::string(srtp_profile_openssl_name(c.profile))) != std::string::npos);
    CHECK(out.find("Protocol  : DTLSv1.2") != std::string::npos);
    CHECK(out.find("Extended master secret: yes") != std::string::npos);
    CHECK(KeyingMaterial(out) == ExportedHex(*server));
    MESSAGE("s_client -> tern: " << server->cipher_suite() << ", " << srtp_profile_openssl_name(c.profile) << ", "
                                 << server->counters().datagrams_received << " datagrams in, " << server->counters().datagrams_sent
                                 << " out");
  }
}

TEST_CASE("DtlsTransport interop: a tern client and openssl s_server agree on DTLS 1.2, the cipher, the SRTP profile and the keys") {
  if (!tern::test::HavePeers({"openssl"})) return;
  const auto files = MakePeerCertificate("dtls_s_server");
  REQUIRE(files.has_value());
  for (const Case& c : kCases) {
    const uint16_t port = tern::test::FreeUdpPortBase();
    REQUIRE(port != 0);
    const std::string log = files->dir + "/s_server.log";
    // s_server ends at end of input: keep its stdin open while the test runs.
    tern::test::BackgroundPeer peer("sh -c \"sleep 15 | openssl s_server -accept 127.0.0.1:" + std::to_string(port) + " -verify 1 -naccept 1" +
                                        PeerOptions(*files, c) + "\"",
                                    20, log);
    REQUIRE(peer.started());
    REQUIRE(tern::test::WaitForUdpPort(port, 5000));
    DtlsConfig config = tern::test::PairConfigs().first;  // client, certificate 0
    config.remote_fingerprint = files->fingerprint;
    auto client = DtlsTransport::Create(config).value();
    tern::test::UdpSocket sock;
    REQUIRE(sock.ok());
    uint16_t peer_port = port;
    client->start(MonotonicNow());
    const bool connected = Drive(*client, sock, peer_port, [&] { return client->state() == DtlsState::kConnected; }, 10000);
    REQUIRE_MESSAGE(connected, std::string(client->failure_reason()) << " " << client->failure_detail() << "\n" << peer.log());
    CHECK(client->tls_version() == "DTLSv1.2");
    CHECK(client->cipher_suite() == c.cipher_suite);
    REQUIRE(client->srtp_keys().has_value());
    CHECK(client->srtp_keys()->profile == c.profile);
    // Application data reaches s_server (it prints what it reads), then our close_notify ends it.
    const std::string hello = "hello from tern\n";
    REQUIRE(client->send_application(std::vector<uint8_t>(hello.begin(), hello.end()), MonotonicNow()).ok());
    Drive(*client, sock, peer_port, [&] { return !client->has_outgoing(); }, 1000);
    client->close(MonotonicNow());
    Drive(*client, sock, peer_port, [&] { return !client->has_outgoing(); }, 1000);
    // s_server prints DONE when it reads close_notify (its stdin stays open until `sleep` ends).
    std::string out;
    for (int waited = 0; waited < 5000 && out.find("CONNECTION CLOSED") == std::string::npos; waited += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      out = peer.log();
    }
    CHECK(out.find("DONE") != std::string::npos);
    CHECK(out.find("SRTP Extension negotiated, profile=" + std::string(srtp_profile_openssl_name(c.profile))) != std::string::npos);
    CHECK(out.find("hello from tern") != std::string::npos);
    CHECK(KeyingMaterial(out) == ExportedHex(*client));
    MESSAGE("tern -> s_server: " << client->cipher_suite() << ", " << srtp_profile_openssl_name(c.profile) << ", "
                                 << client->counters().datagrams_sent << " datagrams out, " << client->counters().datagrams_received
                                 << " in");
  }
}
