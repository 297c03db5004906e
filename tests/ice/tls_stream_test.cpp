// TlsStream: a client and a server in memory (self-signed certificate made with the openssl tool):
// handshake, data both ways in arbitrary chunks, certificate verification by name and IP, and
// failure on garbage and on a name mismatch.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/peer.h"
#include "support/process.h"
#include "tern/ice/tls_stream.h"

using namespace tern;
using namespace tern::ice;

namespace {

// A self-signed certificate for "localhost" and 127.0.0.1 in <dir>/cert.pem, key in key.pem.
bool MakeCertificate(const std::string& dir) {
  const auto r = tern::test::run_command(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost"
      " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" + dir + "/key.pem' -out '" + dir + "/cert.pem'",
      30, true);
  return r.exit_code == 0;
}

// Moves ciphertext between the two until neither has anything to send (bounded).
void Shuttle(TlsStream& a, TlsStream& b) {
  for (int i = 0; i < 20; ++i) {
    const auto ab = a.take_ciphertext();
    const auto ba = b.take_ciphertext();
    if (ab.empty() && ba.empty()) return;
    if (!ab.empty()) (void)b.on_ciphertext(ab);  // failures are checked through failed() below
    if (!ba.empty()) (void)a.on_ciphertext(ba);
  }
}

struct Pair {
  std::unique_ptr<TlsStream> client, server;
};

Pair Connect(const std::string& dir, const std::string& name) {
  TlsStreamConfig sc;
  sc.server = true;
  sc.certificate_file = dir + "/cert.pem";
  sc.private_key_file = dir + "/key.pem";
  TlsStreamConfig cc;
  cc.ca_file = dir + "/cert.pem";
  cc.server_name = name;
  Pair p{TlsStream::Create(cc).value(), TlsStream::Create(sc).value()};
  REQUIRE(p.client->start().ok());
  Shuttle(*p.client, *p.server);
  return p;
}

}  // namespace

TEST_CASE("TlsStream: handshake and data both ways with a verified self-signed certificate") {
  if (!tern::test::HavePeers({"openssl"})) return;
  const std::string dir = tern::test::scratch_dir("tls_stream");
  REQUIRE(MakeCertificate(dir));
  for (const std::string name : {"localhost", "127.0.0.1"}) {
    auto p = Connect(dir, name);
    REQUIRE_MESSAGE(p.client->handshake_done(), p.client->detail());
    REQUIRE(p.server->handshake_done());
    std::vector<uint8_t> big(100000);
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
    REQUIRE(p.client->write(big).ok());
    // Deliver the ciphertext in 1000-byte pieces.
    const auto cipher = p.client->take_ciphertext();
    for (size_t i = 0; i < cipher.size(); i += 1000) {
      REQUIRE(p.server->on_ciphertext(std::span(cipher).subspan(i, std::min<size_t>(1000, cipher.size() - i))).ok());
    }
    CHECK(p.server->take_plaintext() == big);
    const std::vector<uint8_t> reply = {1, 2, 3};
    REQUIRE(p.server->write(reply).ok());
    Shuttle(*p.server, *p.client);
    CHECK(p.client->take_plaintext() == reply);
  }
}

TEST_CASE("TlsStream: writes before the handshake are held - a wrong name and garbage fail") {
  if (!tern::test::HavePeers({"openssl"})) return;
  const std::string dir = tern::test::scratch_dir("tls_stream_fail");
  REQUIRE(MakeCertificate(dir));
  {
    TlsStreamConfig cc;
    cc.ca_file = dir + "/cert.pem";
    cc.server_name = "localhost";
    auto client = TlsStream::Create(cc).value();
    const std::vector<uint8_t> early = {9, 9};
    REQUIRE(client->write(early).ok());  // before start(): held
    REQUIRE(client->start().ok());
    TlsStreamConfig sc;
    sc.server = true;
    sc.certificate_file = dir + "/cert.pem";
    sc.private_key_file = dir + "/key.pem";
    auto server = TlsStream::Create(sc).value();
    Shuttle(*client, *server);
    Shuttle(*client, *server);
    CHECK(server->take_plaintext() == early);
  }
  auto wrong = Connect(dir, "example.org");
  CHECK_FALSE(wrong.client->handshake_done());
  CHECK(wrong.client->failed());
  CHECK(std::string(wrong.client->error()) == "TLS handshake failed");

  TlsStreamConfig cc;
  cc.verify_peer = false;
  auto client = TlsStream::Create(cc).value();
  REQUIRE(client->start().ok());
  const std::vector<uint8_t> garbage(64, 0x41);
  CHECK_FALSE(client->on_ciphertext(garbage).ok());
  CHECK(client->failed());
  CHECK_FALSE(client->write(garbage).ok());

  TlsStreamConfig bad;
  bad.server = true;
  bad.certificate_file = dir + "/missing.pem";
  CHECK_FALSE(TlsStream::Create(bad).ok());
}
