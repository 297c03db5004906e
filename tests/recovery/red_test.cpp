#include "tern/recovery/red.h"

#include <doctest/doctest.h>

#include <vector>

#include "recovery_test_util.h"
#include "tern/recovery/audio_red_encoder.h"
#include "tern/recovery/red_receiver.h"

using namespace tern;
using namespace tern::recovery;
using tern::recovery::test::random_packet;
using tern::recovery::test::same_bytes;

TEST_CASE("red: RFC 2198 section 3 example layout (one redundant block)") {
  // Primary PT 0 (PCMU) with a redundant PT 5 (DVI4) block 320 samples older, 4 bytes long.
  const std::vector<uint8_t> data = {0x85, 0x05, 0x00, 0x04, 0x00, 'r', 'e', 'd', '!', 'p', 'r', 'i'};
  auto parsed = parse_red_payload(data);
  REQUIRE(parsed.ok());
  REQUIRE(parsed->redundant.size() == 1);
  CHECK(parsed->redundant[0].payload_type == 5);
  CHECK(parsed->redundant[0].timestamp_offset == 320);
  CHECK(parsed->redundant[0].data.size() == 4);
  CHECK(parsed->primary.payload_type == 0);
  CHECK(parsed->primary.data.size() == 3);
  auto rebuilt = build_red_payload(parsed->redundant, parsed->primary);
  REQUIRE(rebuilt.ok());
  CHECK(*rebuilt == data);
}

TEST_CASE("red: seeded build -> parse round trips") {
  Random rng(1);
  for (int iter = 0; iter < 300; ++iter) {
    std::vector<std::vector<uint8_t>> store;
    std::vector<RedBlock> blocks;
    const size_t n = static_cast<size_t>(rng.uniform_int(0, 4));
    for (size_t i = 0; i <= n; ++i) {
      std::vector<uint8_t> d(static_cast<size_t>(rng.uniform_int(0, 1023)));
      for (auto& b : d) b = static_cast<uint8_t>(rng.next_u32());
      store.push_back(std::move(d));
    }
    for (size_t i = 0; i < n; ++i) {
      blocks.push_back({static_cast<uint8_t>(rng.uniform_int(0, 127)),
                        static_cast<uint32_t>(rng.uniform_int(0, kRedMaxTimestampOffset)), store[i]});
    }
    RedBlock primary{static_cast<uint8_t>(rng.uniform_int(0, 127)), 0, store[n]};
    auto bytes = build_red_payload(blocks, primary);
    REQUIRE(bytes.ok());
    auto parsed = parse_red_payload(*bytes);
    REQUIRE(parsed.ok());
    REQUIRE(parsed->redundant.size() == n);
    for (size_t i = 0; i < n; ++i) {
      CHECK(parsed->redundant[i].payload_type == blocks[i].payload_type);
      CHECK(parsed->redundant[i].timestamp_offset == blocks[i].timestamp_offset);
      CHECK(std::vector<uint8_t>(parsed->redundant[i].data.begin(), parsed->redundant[i].data.end()) == store[i]);
    }
    CHECK(std::vector<uint8_t>(parsed->primary.data.begin(), parsed->primary.data.end()) == store[n]);
  }
}

TEST_CASE("red: limits and bad input") {
  std::vector<uint8_t> big(1024, 1);
  RedBlock too_long{1, 0, big};
  RedBlock primary{2, 0, {}};
  CHECK(!build_red_payload(std::span<const RedBlock>(&too_long, 1), primary).ok());
  RedBlock too_old{1, kRedMaxTimestampOffset + 1, std::span<const uint8_t>(big.data(), 10)};
  CHECK(!build_red_payload(std::span<const RedBlock>(&too_old, 1), primary).ok());

  CHECK(std::string(parse_red_payload({}).error()) == "red: truncated block header");
  const std::vector<uint8_t> cut = {0x85, 0x05, 0x00};
  CHECK(std::string(parse_red_payload(cut).error()) == "red: truncated block header");
  const std::vector<uint8_t> no_primary = {0x85, 0x05, 0x00, 0x04};
  CHECK(!parse_red_payload(no_primary).ok());
  const std::vector<uint8_t> lying = {0x85, 0x05, 0x03, 0xFF, 0x00, 1, 2, 3};  // 1023 bytes claimed
  CHECK(std::string(parse_red_payload(lying).error()) == "red: block length past the end");
  std::vector<uint8_t> many;
  for (size_t i = 0; i <= kRedMaxBlocks; ++i) many.insert(many.end(), {0x80, 0, 0, 0});
  many.push_back(0);
  CHECK(std::string(parse_red_payload(many).error()) == "red: too many blocks");
  // Random garbage: never crashes; when accepted, blocks lie inside the input.
  Random rng(2);
  for (int i = 0; i < 5000; ++i) {
    std::vector<uint8_t> g(static_cast<size_t>(rng.uniform_int(0, 40)));
    for (auto& b : g) b = static_cast<uint8_t>(rng.next_u32());
    auto p = parse_red_payload(g);
    if (!p) continue;
    size_t total = p->redundant.size() * 4 + 1 + p->primary.data.size();
    for (auto& b : p->redundant) total += b.data.size();
    CHECK(total == g.size());
  }
}

TEST_CASE("red: video wrap and decode is byte-exact (headers, extensions, padding)") {
  Random rng(3);
  for (int i = 0; i < 200; ++i) {
    auto media = random_packet(rng, static_cast<uint16_t>(rng.next_u32()), rng.next_u32(), rng.next_u32(), 96);
    auto red = wrap_red(media, 127);
    REQUIRE(red.ok());
    CHECK(red->payload_type() == 127);
    CHECK(red->payload_size() == media.payload_size() + 1);
    auto decoded = decode_red(*red);
    REQUIRE(decoded.ok());
    REQUIRE(decoded->size() == 1);
    CHECK(same_bytes(decoded->front(), media));
  }
}

TEST_CASE("audio red: two generations round trip with the right timestamps and sequence numbers") {
  Random rng(4);
  auto enc = AudioRedEncoder::Create({63, 2, 1200});
  REQUIRE(enc.ok());
  std::vector<rtp::RtpPacket> sent;
  for (int i = 0; i < 20; ++i) {
    rtp::RtpPacketBuilder b;
    std::vector<uint8_t> opus(static_cast<size_t>(rng.uniform_int(20, 160)));
    for (auto& x : opus) x = static_cast<uint8_t>(rng.next_u32());
    b.set_payload_type(111).set_sequence_number(static_cast<uint16_t>(65530 + i)).set_timestamp(960u * i);
    b.set_ssrc(9).set_payload(opus).set_marker(i == 0);
    sent.push_back(b.build().value());
    auto red = enc->encode(sent.back());
    REQUIRE(red.ok());
    CHECK(red->payload_type() == 63);
    auto decoded = decode_red(*red);
    REQUIRE(decoded.ok());
    const size_t generations = std::min<size_t>(i, 2);
    REQUIRE(decoded->size() == generations + 1);
    for (size_t g = 0; g <= generations; ++g) {
      const auto& original = sent[sent.size() - 1 - generations + g];
      const auto& got = (*decoded)[g];
      CHECK(got.payload_type() == 111);
      CHECK(got.timestamp() == original.timestamp());
      CHECK(got.sequence_number() == original.sequence_number());
      CHECK(std::vector<uint8_t>(got.payload().begin(), got.payload().end()) ==
            std::vector<uint8_t>(original.payload().begin(), original.payload().end()));
    }
    CHECK(same_bytes(decoded->back(), sent.back()));  // the primary is the original packet
  }
  CHECK(enc->stats().redundant_blocks == 1 + 2 * 18);
}

TEST_CASE("audio red: redundancy that does not fit is skipped") {
  auto enc = AudioRedEncoder::Create({63, 2, 300});
  REQUIRE(enc.ok());
  auto make = [](uint16_t seq, uint32_t ts, size_t size) {
    std::vector<uint8_t> payload(size, 0x5A);
    rtp::RtpPacketBuilder b;
    b.set_payload_type(111).set_sequence_number(seq).set_timestamp(ts).set_ssrc(1).set_payload(payload);
    return b.build().value();
  };
  REQUIRE(enc->encode(make(1, 0, 200)).ok());
  // Too big to ride along with a 150-byte primary under 300 bytes.
  auto red = enc->encode(make(2, 960, 150));
  REQUIRE(red.ok());
  CHECK(decode_red(*red)->size() == 1);
  // Offset over 14 bits: a 20000-sample jump cannot be expressed.
  red = enc->encode(make(3, 960 + 20000, 50));
  CHECK(decode_red(*red)->size() == 1);
  // A sequence gap ends the redundancy too.
  red = enc->encode(make(5, 960 + 20960, 50));
  CHECK(decode_red(*red)->size() == 1);
  red = enc->encode(make(6, 960 + 21920, 50));
  CHECK(decode_red(*red)->size() == 2);
  CHECK(enc->stats().skipped_blocks >= 3);
  CHECK(!AudioRedEncoder::Create({63, 3, 1200}).ok());
  CHECK(!AudioRedEncoder::Create({63, 0, 1200}).ok());
}

TEST_CASE("red receiver: redundancy fills losses once, duplicates are dropped, window is bounded") {
  auto enc = AudioRedEncoder::Create({63, 2, 1200});
  REQUIRE(enc.ok());
  RedReceiver rx({64});
  std::vector<uint16_t> got;
  for (int i = 0; i < 200; ++i) {
    std::vector<uint8_t> opus(40, static_cast<uint8_t>(i));
    rtp::RtpPacketBuilder b;
    b.set_payload_type(111).set_sequence_number(static_cast<uint16_t>(65400 + i)).set_timestamp(960u * i);
    b.set_ssrc(9).set_payload(opus);
    auto red = enc->encode(b.build().value());
    REQUIRE(red.ok());
    if (i % 10 == 3 || i % 10 == 4) continue;  // two consecutive losses every 10 packets
    for (auto& p : rx.on_packet(*red)) {
      CHECK(p.payload()[0] == static_cast<uint8_t>(p.sequence_number() - 65400));
      got.push_back(p.sequence_number());
    }
  }
  CHECK(got.size() == 200);  // every packet delivered exactly once
  CHECK(rx.stats().packets_recovered == 40);
  CHECK(rx.stats().duplicates_dropped > 0);
  rtp::RtpPacketBuilder bad;
  const uint8_t junk[] = {0x80, 1};
  bad.set_payload_type(63).set_payload(junk);
  CHECK(rx.on_packet(bad.build().value()).empty());
  CHECK(rx.stats().malformed == 1);
}
