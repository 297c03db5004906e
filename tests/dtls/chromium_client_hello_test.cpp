// A tern DTLS server facing a ClientHello shaped like Chromium's: it offers DTLS 1.3 (in
// supported_versions, with legacy_version DTLS 1.2), a post-quantum X25519MLKEM768 key share
// (1216 bytes) beside X25519, TLS 1.3 cipher suites first, and is ~1.5 KB, so it arrives as two
// handshake fragments in two datagrams (here the second one first). The server must reassemble it
// and answer with a DTLS 1.2 ServerHello choosing ECDHE-ECDSA, use_srtp AEAD_AES_128_GCM and the
// extended master secret.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "support/dtls_pair.h"
#include "tern/core/random.h"

using namespace tern;
using namespace tern::dtls;

namespace {

void Put16(std::vector<uint8_t>& v, size_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}
void Put24(std::vector<uint8_t>& v, size_t x) {
  v.push_back(static_cast<uint8_t>(x >> 16));
  Put16(v, x);
}
void Extension(std::vector<uint8_t>& out, uint16_t type, const std::vector<uint8_t>& body) {
  Put16(out, type);
  Put16(out, body.size());
  out.insert(out.end(), body.begin(), body.end());
}
std::vector<uint8_t> List16(const std::vector<uint16_t>& items, bool one_byte_length = false) {
  std::vector<uint8_t> v;
  if (one_byte_length) {
    v.push_back(static_cast<uint8_t>(items.size() * 2));
  } else {
    Put16(v, items.size() * 2);
  }
  for (uint16_t i : items) Put16(v, i);
  return v;
}

std::vector<uint8_t> ClientHelloBody(Random& rng) {
  std::vector<uint8_t> b = {0xfe, 0xfd};  // legacy_version: DTLS 1.2
  for (int i = 0; i < 32; ++i) b.push_back(static_cast<uint8_t>(rng.uniform_int(0, 255)));
  b.push_back(0);  // session id
  b.push_back(0);  // cookie
  const std::vector<uint8_t> suites = List16({0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc009, 0xc013,
                                              0xc00a, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035});
  b.insert(b.end(), suites.begin(), suites.end());
  b.push_back(1);  // compression methods: null
  b.push_back(0);
  std::vector<uint8_t> ext;
  Extension(ext, 0xff01, {0x00});                    // renegotiation_info
  Extension(ext, 0x0017, {});                        // extended_master_secret
  Extension(ext, 0x000a, List16({0x11ec, 0x001d, 0x0017, 0x0018}));  // X25519MLKEM768, x25519, P-256, P-384
  Extension(ext, 0x000b, {0x01, 0x00});              // ec_point_formats: uncompressed
  Extension(ext, 0x000d, List16({0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}));
  std::vector<uint8_t> srtp = List16({kSrtpAeadAes128Gcm, kSrtpAeadAes256Gcm, kSrtpAes128CmSha1_80, kSrtpAes128CmSha1_32});
  srtp.push_back(0);  // no MKI
  Extension(ext, 0x000e, srtp);                      // use_srtp
  Extension(ext, 0x002b, List16({0xfefc, 0xfefd}, true));  // supported_versions: DTLS 1.3, DTLS 1.2
  std::vector<uint8_t> shares;
  Put16(shares, 0x11ec);
  Put16(shares, 1216);
  for (int i = 0; i < 1216; ++i) shares.push_back(static_cast<uint8_t>(rng.uniform_int(0, 255)));
  Put16(shares, 0x001d);
  Put16(shares, 32);
  for (int i = 0; i < 32; ++i) shares.push_back(static_cast<uint8_t>(rng.uniform_int(0, 255)));
  std::vector<uint8_t> key_share;
  Put16(key_share, shares.size());
  key_share.insert(key_share.end(), shares.begin(), shares.end());
  Extension(ext, 0x0033, key_share);                 // key_share
  Extension(ext, 0x002d, {0x01, 0x01});              // psk_key_exchange_modes: psk_dhe_ke
  Put16(b, ext.size());
  b.insert(b.end(), ext.begin(), ext.end());
  return b;
}

// One DTLS record (epoch 0, the given sequence number) carrying one fragment of the ClientHello.
std::vector<uint8_t> FragmentRecord(const std::vector<uint8_t>& body, size_t offset, size_t length, uint8_t record_seq) {
  std::vector<uint8_t> hs = {1};  // client_hello
  Put24(hs, body.size());
  Put16(hs, 0);  // message_seq
  Put24(hs, offset);
  Put24(hs, length);
  hs.insert(hs.end(), body.begin() + static_cast<std::ptrdiff_t>(offset), body.begin() + static_cast<std::ptrdiff_t>(offset + length));
  std::vector<uint8_t> r = {22, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, record_seq};  // DTLS 1.0 record version, as BoringSSL
  Put16(r, hs.size());
  r.insert(r.end(), hs.begin(), hs.end());
  return r;
}

struct ServerHello {
  uint16_t version = 0;
  uint16_t cipher = 0;
  std::optional<uint16_t> srtp_profile;
  bool extended_master_secret = false;
  bool supported_versions = false;
};

// Finds the ServerHello in the server's first datagram (record and handshake headers walked).
std::optional<ServerHello> ParseServerHello(const std::vector<uint8_t>& d) {
  size_t at = 0;
  while (at + 13 <= d.size()) {
    const size_t len = static_cast<size_t>(d[at + 11]) << 8 | d[at + 12];
    if (d[at] == 22 && at + 13 + 12 <= d.size() && d[at + 13] == 2) {
      const uint8_t* m = d.data() + at + 13 + 12;  // ServerHello body (unfragmented)
      ServerHello h;
      h.version = static_cast<uint16_t>(m[0] << 8 | m[1]);
      size_t p = 2 + 32;
      p += 1 + m[p];  // session id
      h.cipher = static_cast<uint16_t>(m[p] << 8 | m[p + 1]);
      p += 3;  // cipher + compression
      const size_t ext_end = p + 2 + (static_cast<size_t>(m[p]) << 8 | m[p + 1]);
      p += 2;
      while (p + 4 <= ext_end) {
        const uint16_t type = static_cast<uint16_t>(m[p] << 8 | m[p + 1]);
        const size_t elen = static_cast<size_t>(m[p + 2]) << 8 | m[p + 3];
        if (type == 0x000e && elen >= 4) h.srtp_profile = static_cast<uint16_t>(m[p + 6] << 8 | m[p + 7]);
        if (type == 0x0017) h.extended_master_secret = true;
        if (type == 0x002b) h.supported_versions = true;
        p += 4 + elen;
      }
      return h;
    }
    at += 13 + len;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("DtlsTransport server: a fragmented Chromium-style ClientHello offering DTLS 1.3 and ML-KEM gets a DTLS 1.2 ServerHello") {
  Random rng(156);
  const std::vector<uint8_t> body = ClientHelloBody(rng);
  REQUIRE(body.size() > 1400);
  const size_t first = 1000;
  const auto a = FragmentRecord(body, 0, first, 0);
  const auto b = FragmentRecord(body, first, body.size() - first, 1);
  auto configs = tern::test::PairConfigs();
  auto server = DtlsTransport::Create(configs.second).value();
  const Timestamp now = Timestamp::Seconds(1);
  server->on_datagram(b, now);  // the tail first: reassembly waits for the head
  CHECK_FALSE(server->has_outgoing());
  server->on_datagram(a, now);
  REQUIRE_MESSAGE(server->state() == DtlsState::kConnecting, std::string(server->failure_reason()) << " " << server->failure_detail());
  CHECK(server->counters().malformed_datagrams == 0);
  REQUIRE(server->has_outgoing());
  const auto reply = *server->pop_outgoing();
  CHECK(reply.size() <= 1200);
  const auto hello = ParseServerHello(reply);
  REQUIRE(hello.has_value());
  CHECK(hello->version == 0xfefd);  // DTLS 1.2
  CHECK(hello->cipher == 0xc02b);   // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
  CHECK(hello->srtp_profile == kSrtpAeadAes128Gcm);
  CHECK(hello->extended_master_secret);
  CHECK_FALSE(hello->supported_versions);  // a DTLS 1.2 ServerHello never carries it
}
