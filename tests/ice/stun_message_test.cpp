// STUN codec: the RFC 5769 test vectors byte for byte (parse, integrity, fingerprint, and rebuilt
// by the builder), round trips of every attribute, and the parse policy on malformed input.
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "tern/core/random.h"
#include "tern/ice/stun_crypto.h"
#include "tern/ice/stun_message.h"

using namespace tern;
using namespace tern::ice;

namespace {

// RFC 5769 2.1: Binding request, short-term credentials, password "VOkJxbRl1RmTxUk/WvJxBt".
const std::vector<uint8_t> kSampleRequest = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};

// RFC 5769 2.2: IPv4 success response, XOR-MAPPED-ADDRESS 192.0.2.1:32853.
const std::vector<uint8_t> kSampleV4Response = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};

// RFC 5769 2.3: IPv6 success response, XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const std::vector<uint8_t> kSampleV6Response = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c};

// RFC 5769 2.4: request with long-term credentials (USERNAME "マトリックス", REALM "example.org",
// password "TheMatrIX" after SASLprep). The RFC's hex dump prints the third username byte as
// 0x9a; its erratum (and the MAC) use the correct UTF-8 0x9e, as here.
const std::vector<uint8_t> kSampleLongTermRequest = {
    0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0,
    0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12, 0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83,
    0xaa, 0xe3, 0x83, 0x83, 0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00, 0x15, 0x00, 0x1c,
    0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36, 0x4f, 0x4c, 0x33, 0x34,
    0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79, 0x36, 0x34, 0x73, 0x41, 0x00, 0x14, 0x00, 0x0b,
    0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x08, 0x00, 0x14,
    0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02, 0xb8, 0xe0, 0x71, 0x2e, 0x85, 0xc9, 0xa2,
    0x8c, 0xa8, 0x96, 0x66};

const char* kPassword = "VOkJxbRl1RmTxUk/WvJxBt";
const TransactionId kVectorId{{0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae}};
const std::string kLongTermUser = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";

TransportAddress V6VectorAddress() {
  return TransportAddress::Parse("2001:db8:1234:5678:11:2233:4455:6677", 32853).value();
}

std::vector<uint8_t> Build(StunMessageBuilder&& b) {
  auto r = std::move(b).finish();
  REQUIRE(r.ok());
  return std::move(r).value();
}

TransactionId RandomId(Random& rng) {
  TransactionId id;
  for (auto& b : id.bytes) b = static_cast<uint8_t>(rng.next_u32());
  return id;
}

}  // namespace

TEST_CASE("RFC 5769 2.1 sample request: parse - integrity - fingerprint - rebuilt byte for byte") {
  auto m = StunMessage::parse(kSampleRequest);
  REQUIRE(m.ok());
  CHECK(m->is(StunClass::kRequest, StunMethod::kBinding));
  CHECK(m->transaction_id() == kVectorId);
  CHECK(m->software() == "STUN test client");
  CHECK(m->priority() == 0x6e0001ffu);
  CHECK(m->ice_controlled() == 0x932ff9b151263b36ull);
  CHECK_FALSE(m->ice_controlling().has_value());
  CHECK(m->username() == "evtj:h6vY");
  CHECK(m->check_integrity(short_term_key(kPassword)).ok());
  CHECK(std::string(m->check_integrity(short_term_key("VOkJxbRl1RmTxUk/WvJxBr")).error()) ==
        "MESSAGE-INTEGRITY mismatch");
  CHECK(m->check_fingerprint().ok());
  CHECK(m->unknown_required().empty());

  StunMessageBuilder b(StunClass::kRequest, StunMethod::kBinding, kVectorId);
  b.set_padding_byte(0x20);
  b.add_software("STUN test client").add_priority(0x6e0001ff).add_ice_controlled(0x932ff9b151263b36ull);
  b.add_username("evtj:h6vY").add_message_integrity(short_term_key(kPassword)).add_fingerprint();
  CHECK(Build(std::move(b)) == kSampleRequest);
}

TEST_CASE("RFC 5769 2.2 IPv4 response: XOR-MAPPED-ADDRESS 192.0.2.1:32853 - rebuilt byte for byte") {
  auto m = StunMessage::parse(kSampleV4Response);
  REQUIRE(m.ok());
  CHECK(m->is(StunClass::kSuccess, StunMethod::kBinding));
  CHECK(m->software() == "test vector");
  REQUIRE(m->xor_mapped_address().has_value());
  CHECK(*m->xor_mapped_address() == TransportAddress::V4(192, 0, 2, 1, 32853));
  CHECK(m->xor_mapped_address()->to_string() == "192.0.2.1:32853");
  CHECK(m->check_integrity(short_term_key(kPassword)).ok());
  CHECK(m->check_fingerprint().ok());

  StunMessageBuilder b(StunClass::kSuccess, StunMethod::kBinding, kVectorId);
  b.set_padding_byte(0x20);
  b.add_software("test vector").add_xor_mapped_address(TransportAddress::V4(192, 0, 2, 1, 32853));
  b.add_message_integrity(short_term_key(kPassword)).add_fingerprint();
  CHECK(Build(std::move(b)) == kSampleV4Response);
}

TEST_CASE("RFC 5769 2.3 IPv6 response: XOR-MAPPED-ADDRESS decoded with the transaction id - rebuilt") {
  auto m = StunMessage::parse(kSampleV6Response);
  REQUIRE(m.ok());
  REQUIRE(m->xor_mapped_address().has_value());
  CHECK(*m->xor_mapped_address() == V6VectorAddress());
  CHECK(m->xor_mapped_address()->to_string() == "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
  CHECK(m->check_integrity(short_term_key(kPassword)).ok());
  CHECK(m->check_fingerprint().ok());

  StunMessageBuilder b(StunClass::kSuccess, StunMethod::kBinding, kVectorId);
  b.set_padding_byte(0x20);
  b.add_software("test vector").add_xor_mapped_address(V6VectorAddress());
  b.add_message_integrity(short_term_key(kPassword)).add_fingerprint();
  CHECK(Build(std::move(b)) == kSampleV6Response);
}

TEST_CASE("RFC 5769 2.4 long-term credentials: key = MD5(user:realm:password) - rebuilt byte for byte") {
  auto m = StunMessage::parse(kSampleLongTermRequest);
  REQUIRE(m.ok());
  CHECK(m->username() == kLongTermUser);
  CHECK(m->nonce() == "f//499k954d6OL34oL9FSTvy64sA");
  CHECK(m->realm() == "example.org");
  CHECK_FALSE(m->has_fingerprint());
  CHECK(std::string(m->check_fingerprint().error()) == "no FINGERPRINT");
  const StunKey key = long_term_key(kLongTermUser, "example.org", "TheMatrIX");
  CHECK(key.size() == 16);
  CHECK(m->check_integrity(key).ok());
  CHECK_FALSE(m->check_integrity(long_term_key(kLongTermUser, "example.org", "TheMatrix")).ok());

  const TransactionId id{{0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e}};
  StunMessageBuilder b(StunClass::kRequest, StunMethod::kBinding, id);
  b.add_username(kLongTermUser).add_nonce("f//499k954d6OL34oL9FSTvy64sA").add_realm("example.org");
  b.add_message_integrity(key);
  CHECK(Build(std::move(b)) == kSampleLongTermRequest);
}

TEST_CASE("message type encodes class and method bits (RFC 8489 figure 3)") {
  CHECK(stun_message_type(StunClass::kRequest, StunMethod::kBinding) == 0x0001);
  CHECK(stun_message_type(StunClass::kIndication, StunMethod::kBinding) == 0x0011);
  CHECK(stun_message_type(StunClass::kSuccess, StunMethod::kBinding) == 0x0101);
  CHECK(stun_message_type(StunClass::kError, StunMethod::kBinding) == 0x0111);
  CHECK(stun_message_type(StunClass::kRequest, StunMethod::kAllocate) == 0x0003);
  CHECK(stun_message_type(StunClass::kIndication, StunMethod::kSend) == 0x0016);
  CHECK(stun_message_type(StunClass::kIndication, StunMethod::kData) == 0x0017);
  CHECK(stun_message_type(StunClass::kError, StunMethod::kChannelBind) == 0x0119);
  // Every class and a 12-bit method round-trip through parse.
  Random rng(7);
  for (int i = 0; i < 200; ++i) {
    const auto cls = static_cast<StunClass>(rng.uniform_int(0, 3));
    const auto method = static_cast<StunMethod>(rng.uniform_int(0, 0xFFF));
    auto bytes = Build(StunMessageBuilder(cls, method, RandomId(rng)));
    auto m = StunMessage::parse(bytes);
    REQUIRE(m.ok());
    CHECK(m->message_class() == cls);
    CHECK(m->method() == method);
  }
}

TEST_CASE("every ICE and TURN attribute round-trips through builder and parser") {
  Random rng(11);
  const TransactionId id = RandomId(rng);
  const StunKey key = long_term_key("user", "realm", "pass");
  const std::vector<uint8_t> payload = {1, 2, 3, 4, 5};
  const uint16_t unknown[] = {0x0031, 0x7777};
  const auto v4 = TransportAddress::V4(203, 0, 113, 9, 40000);
  const auto v6 = V6VectorAddress();
  StunMessageBuilder b(StunClass::kError, StunMethod::kAllocate, id);
  b.add_address(stun_attr::kMappedAddress, v4)
      .add_xor_mapped_address(v6)
      .add_xor_relayed_address(v4)
      .add_xor_peer_address(v4)
      .add_xor_peer_address(v6)
      .add_username("user")
      .add_realm("realm")
      .add_nonce("n0nce")
      .add_software("tern")
      .add_error_code(438, "Stale Nonce")
      .add_unknown_attributes(unknown)
      .add_priority(0x7e0000ff)
      .add_use_candidate()
      .add_ice_controlling(0x0102030405060708ull)
      .add_ice_controlled(0x1112131415161718ull)
      .add_lifetime(600)
      .add_channel_number(0x4001)
      .add_requested_transport()
      .add_dont_fragment()
      .add_data(payload)
      .add_message_integrity(key)
      .add_message_integrity_sha256(key)
      .add_fingerprint();
  const auto bytes = Build(std::move(b));
  CHECK(bytes.size() % 4 == 0);
  auto m = StunMessage::parse(bytes);
  REQUIRE(m.ok());
  CHECK(m->transaction_id() == id);
  CHECK(m->mapped_address() == v4);
  CHECK(m->xor_mapped_address() == v6);
  CHECK(m->xor_relayed_address() == v4);
  CHECK(m->xor_peer_address() == v4);  // the first of two
  CHECK(m->xor_peer_addresses() == std::vector<TransportAddress>{v4, v6});
  CHECK(m->username() == "user");
  CHECK(m->realm() == "realm");
  CHECK(m->nonce() == "n0nce");
  CHECK(m->software() == "tern");
  REQUIRE(m->error_code().has_value());
  CHECK(m->error_code()->code == 438);
  CHECK(m->error_code()->reason == "Stale Nonce");
  CHECK(m->unknown_attributes() == std::vector<uint16_t>{0x0031, 0x7777});
  CHECK(m->priority() == 0x7e0000ffu);
  CHECK(m->use_candidate());
  CHECK(m->ice_controlling() == 0x0102030405060708ull);
  CHECK(m->ice_controlled() == 0x1112131415161718ull);
  CHECK(m->lifetime_seconds() == 600u);
  CHECK(m->channel_number() == 0x4001);
  CHECK(m->requested_transport() == 17);
  CHECK(m->dont_fragment());
  REQUIRE(m->data().has_value());
  CHECK(std::vector<uint8_t>(m->data()->begin(), m->data()->end()) == payload);
  CHECK(m->check_integrity(key).ok());
  CHECK(m->check_integrity_sha256(key).ok());
  CHECK_FALSE(m->check_integrity_sha256(short_term_key("other")).ok());
  CHECK(m->check_fingerprint().ok());
  CHECK(m->ignored_after_integrity() == 0);
}

TEST_CASE("any flipped byte breaks integrity or fingerprint or framing") {
  const StunKey key = short_term_key(kPassword);
  for (size_t i = 0; i < kSampleRequest.size(); ++i) {
    auto bytes = kSampleRequest;
    bytes[i] ^= 0x01;
    auto m = StunMessage::parse(bytes);
    if (!m.ok()) continue;  // framing caught it
    const bool integrity = m->check_integrity(key).ok();
    const bool fingerprint = m->check_fingerprint().ok();
    INFO("byte " << i);
    // Padding bytes are covered by the MAC too, so no single-bit change passes both checks.
    CHECK_FALSE((integrity && fingerprint));
  }
}

TEST_CASE("malformed headers are rejected with a reason") {
  auto reason = [](std::vector<uint8_t> bytes) {
    auto m = StunMessage::parse(bytes);
    return m.ok() ? std::string("ok") : std::string(m.error());
  };
  CHECK(reason({}) == "shorter than a STUN header");
  CHECK(reason(std::vector<uint8_t>(kSampleRequest.begin(), kSampleRequest.begin() + 19)) ==
        "shorter than a STUN header");
  auto bad_magic = kSampleRequest;
  bad_magic[5] ^= 0xFF;
  CHECK(reason(bad_magic) == "bad magic cookie");
  auto top_bits = kSampleRequest;
  top_bits[0] |= 0x80;
  CHECK(reason(top_bits) == "top two bits not zero");
  auto odd_length = kSampleRequest;
  odd_length[3] = 0x57;
  CHECK(reason(odd_length) == "length not a multiple of 4");
  auto truncated = kSampleRequest;
  truncated.resize(truncated.size() - 4);
  CHECK(reason(truncated) == "length does not match datagram size");
  auto trailing = kSampleRequest;
  trailing.insert(trailing.end(), 4, 0);
  CHECK(reason(trailing) == "length does not match datagram size");
  // USERNAME claims 13 bytes: its padded size runs into MESSAGE-INTEGRITY and past the end.
  auto attr_overrun = kSampleRequest;
  attr_overrun[20 + 20 + 8 + 12 + 3] = 0x50;  // SOFTWARE(20) PRIORITY(8) ICE-CONTROLLED(12): USERNAME length
  CHECK(reason(attr_overrun) == "attribute exceeds message");
  // A header-only message is valid and empty.
  auto empty = Build(StunMessageBuilder(StunClass::kRequest, StunMethod::kBinding, kVectorId));
  CHECK(empty.size() == 20);
  CHECK(reason(empty) == "ok");
}

TEST_CASE("padding: unpadded attribute lengths parse - missing padding is a framing error") {
  // USERNAME of 9 bytes, padded with arbitrary bytes (RFC 8489 14: padding is ignored).
  StunMessageBuilder b(StunClass::kRequest, StunMethod::kBinding, kVectorId);
  b.set_padding_byte(0xAB);
  b.add_username("evtj:h6vY");
  auto bytes = Build(std::move(b));
  CHECK(bytes.size() == 20 + 4 + 12);
  CHECK(bytes.back() == 0xAB);
  auto m = StunMessage::parse(bytes);
  REQUIRE(m.ok());
  CHECK(m->username() == "evtj:h6vY");
  // Strip the padding (and fix the length): the body is no longer a multiple of 4.
  bytes.resize(bytes.size() - 3);
  bytes[3] = static_cast<uint8_t>(bytes.size() - 20);
  CHECK_FALSE(StunMessage::parse(bytes).ok());
}

TEST_CASE("duplicates: the first occurrence wins - all() returns each") {
  StunMessageBuilder b(StunClass::kRequest, StunMethod::kBinding, kVectorId);
  b.add_username("first").add_username("second").add_priority(1).add_priority(2);
  auto bytes = Build(std::move(b));
  auto m = StunMessage::parse(bytes);
  REQUIRE(m.ok());
  CHECK(m->username() == "first");
  CHECK(m->priority() == 1u);
  CHECK(m->all(stun_attr::kUsername).size() == 2);
}

TEST_CASE("attributes after MESSAGE-INTEGRITY and after FINGERPRINT are ignored (RFC 8489 14.5 - 14.7)") {
  const StunKey key = short_term_key("pw");
  // Hand-append a USERNAME after MESSAGE-INTEGRITY and a PRIORITY after FINGERPRINT.
  StunMessageBuilder b(StunClass::kRequest, StunMethod::kBinding, kVectorId);
  b.add_priority(5).add_message_integrity(key).add_username("late").add_fingerprint().add_priority(9);
  auto bytes = Build(std::move(b));
  auto m = StunMessage::parse(bytes);
  REQUIRE(m.ok());
  CHECK_FALSE(m->username().has_value());
  CHECK(m->priority() == 5u);
  CHECK(m->ignored_after_integrity() == 2);
  CHECK(m->check_integrity(key).ok());  // computed before the late attributes
  // FINGERPRINT covers the USERNAME that integrity ignores, but it was followed by PRIORITY: the
  // fingerprint itself is still checked over what precedes it.
  CHECK(m->check_fingerprint().ok());
  // A second MESSAGE-INTEGRITY is ignored, not checked.
  StunMessageBuilder b2(StunClass::kRequest, StunMethod::kBinding, kVectorId);
  b2.add_message_integrity(key).add_message_integrity(short_term_key("other"));
  auto bytes2 = Build(std::move(b2));
  auto m2 = StunMessage::parse(bytes2);
  REQUIRE(m2.ok());
  CHECK(m2->check_integrity(key).ok());
  CHECK(m2->ignored_after_integrity() == 1);
}

TEST_CASE("unknown attributes: comprehension-optional ignored - comprehension-required reported") {
  StunMessageBuilder b(StunClass::kRequest, StunMethod::kBinding, kVectorId);
  const uint8_t v[3] = {1, 2, 3};
  b.add_bytes(0xC001, v).add_bytes(0x0031, v).add_bytes(0x7FFF, {}).add_bytes(0x0031, v).add_username("u");
  auto bytes = Build(std::move(b));
  auto m = StunMessage::parse(bytes);
  REQUIRE(m.ok());
  CHECK(m->username() == "u");
  REQUIRE(m->unknown_required().size() == 2);  // duplicates listed once
  CHECK(m->unknown_required()[0] == 0x0031);
  CHECK(m->unknown_required()[1] == 0x7FFF);
  CHECK_FALSE(m->has(0xC001));
  // A 420 answer carries them back.
  StunMessageBuilder e(StunClass::kError, StunMethod::kBinding, m->transaction_id());
  e.add_error_code(stun_error::kUnknownAttribute, "Unknown Attribute").add_unknown_attributes(m->unknown_required());
  auto err = Build(std::move(e));
  auto em = StunMessage::parse(err);
  REQUIRE(em.ok());
  CHECK(em->error_code()->code == 420);
  CHECK(em->unknown_attributes() == std::vector<uint16_t>{0x0031, 0x7FFF});
}

TEST_CASE("malformed values of known attributes: accessor gives nullopt - message still parses") {
  StunMessageBuilder b(StunClass::kSuccess, StunMethod::kBinding, kVectorId);
  const uint8_t bad_address[8] = {0, 3, 0, 1, 1, 2, 3, 4};  // family 3
  const uint8_t short_value[2] = {0, 1};
  const uint8_t bad_error[4] = {0, 0, 7, 1};  // class 7
  b.add_bytes(stun_attr::kXorMappedAddress, bad_address)
      .add_bytes(stun_attr::kPriority, short_value)
      .add_bytes(stun_attr::kErrorCode, bad_error)
      .add_bytes(stun_attr::kIceControlling, short_value)
      .add_bytes(stun_attr::kChannelNumber, short_value)
      .add_bytes(stun_attr::kUnknownAttributes, std::span<const uint8_t>(short_value, 1));
  auto bytes = Build(std::move(b));
  auto m = StunMessage::parse(bytes);
  REQUIRE(m.ok());
  CHECK_FALSE(m->xor_mapped_address().has_value());
  CHECK_FALSE(m->priority().has_value());
  CHECK_FALSE(m->error_code().has_value());
  CHECK_FALSE(m->ice_controlling().has_value());
  CHECK_FALSE(m->channel_number().has_value());
  CHECK(m->unknown_attributes().empty());
  // Bad lengths of the sealing attributes are framing errors.
  auto mi = Build(std::move(StunMessageBuilder(StunClass::kRequest, StunMethod::kBinding, kVectorId)
                                .add_bytes(stun_attr::kMessageIntegrity, short_value)));
  CHECK(std::string(StunMessage::parse(mi).error()) == "bad MESSAGE-INTEGRITY length");
  auto fp = Build(std::move(StunMessageBuilder(StunClass::kRequest, StunMethod::kBinding, kVectorId)
                                .add_bytes(stun_attr::kFingerprint, short_value)));
  CHECK(std::string(StunMessage::parse(fp).error()) == "bad FINGERPRINT length");
}

TEST_CASE("bounds: too many attributes rejected - oversize builds fail") {
  StunMessageBuilder b(StunClass::kRequest, StunMethod::kBinding, kVectorId);
  for (size_t i = 0; i <= StunMessage::kMaxAttributes; ++i) b.add_priority(static_cast<uint32_t>(i));
  auto bytes = Build(std::move(b));
  CHECK(std::string(StunMessage::parse(bytes).error()) == "too many attributes");

  StunMessageBuilder big(StunClass::kIndication, StunMethod::kSend, kVectorId);
  std::vector<uint8_t> data(40000, 7);
  big.add_data(data).add_data(data);
  CHECK(big.view().empty());
  CHECK(std::string(std::move(big).finish().error()) == "message too large");
}

TEST_CASE("looks_like_stun and stun_message_size") {
  CHECK(looks_like_stun(kSampleRequest));
  CHECK(stun_message_size(kSampleRequest) == kSampleRequest.size());
  CHECK(stun_message_size(std::span(kSampleRequest).first(3)) == 0);
  CHECK_FALSE(looks_like_stun(std::span(kSampleRequest).first(19)));
  auto rtp = kSampleRequest;
  rtp[0] = 0x80;
  CHECK_FALSE(looks_like_stun(rtp));
}

TEST_CASE("crc32 and digests match known values") {
  const std::string s = "123456789";
  const ByteSpan bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  CHECK(crc32(bytes) == 0xCBF43926u);  // the CRC-32/ISO-HDLC check value
  CHECK(crc32(bytes.subspan(4), crc32(bytes.first(4))) == 0xCBF43926u);
  const auto d = md5({bytes});
  CHECK(d[0] == 0x25);  // MD5("123456789") = 25f9e794323b453885f5181f1b624d0b
  CHECK(d[15] == 0x0b);
}

TEST_CASE("REQUESTED-ADDRESS-FAMILY, EVEN-PORT, RESERVATION-TOKEN (RFC 8656 18.9, 18.6, 18.11): golden bytes, accessors") {
  const std::array<uint8_t, 8> token = {1, 2, 3, 4, 5, 6, 7, 8};
  StunMessageBuilder b(StunClass::kRequest, StunMethod::kAllocate, kVectorId);
  b.add_requested_address_family(0x02).add_even_port(true).add_reservation_token(token);
  auto bytes = Build(std::move(b));
  // Type, length, value, padding to 4 (RFC 8489 14): 0x0017 len 4 "02 000000"; 0x0018 len 1 "80"
  // + 3 pad; 0x0022 len 8.
  const std::vector<uint8_t> body(bytes.begin() + 20, bytes.end());
  CHECK(body == std::vector<uint8_t>{0x00, 0x17, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00,  //
                                     0x00, 0x18, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00,  //
                                     0x00, 0x22, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8});
  auto m = StunMessage::parse(bytes);
  REQUIRE(m.ok());
  CHECK(m->unknown_required().empty());  // indexed, so a server never answers them 420
  CHECK(m->requested_address_family() == 0x02);
  CHECK(m->even_port() == true);
  CHECK(m->reservation_token() == token);

  StunMessageBuilder no_r(StunClass::kRequest, StunMethod::kAllocate, kVectorId);
  no_r.add_even_port(false).add_requested_address_family(0x01);
  auto no_r_bytes = Build(std::move(no_r));
  CHECK(StunMessage::parse(no_r_bytes)->even_port() == false);
  CHECK(StunMessage::parse(no_r_bytes)->requested_address_family() == 0x01);

  // Wrong lengths: present, but the accessors refuse them.
  StunMessageBuilder bad(StunClass::kRequest, StunMethod::kAllocate, kVectorId);
  const uint8_t two[2] = {0x80, 0};
  bad.add_bytes(stun_attr::kRequestedAddressFamily, two).add_bytes(stun_attr::kEvenPort, two).add_bytes(
      stun_attr::kReservationToken, std::span<const uint8_t>(token.data(), 7));
  auto bad_bytes = Build(std::move(bad));
  auto bm = StunMessage::parse(bad_bytes);
  REQUIRE(bm.ok());
  CHECK(bm->has(stun_attr::kEvenPort));
  CHECK_FALSE(bm->requested_address_family().has_value());
  CHECK_FALSE(bm->even_port().has_value());
  CHECK_FALSE(bm->reservation_token().has_value());
}
