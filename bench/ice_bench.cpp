// ice/ benchmarks: the STUN codec per message.
//  - Parse a 108-byte ICE Binding request (RFC 5769 2.1: SOFTWARE, PRIORITY, ICE-CONTROLLED,
//    USERNAME, MESSAGE-INTEGRITY, FINGERPRINT): framing alone, and framing + integrity + fingerprint
//    checks (what an ICE agent does per received check).
//  - Build the same message with integrity and fingerprint, reusing one builder.
//  - The reference in the same run: OpenSSL's one-shot HMAC() (SHA-1) over the same 76 bytes the
//    MESSAGE-INTEGRITY covers. parse+checks / raw HMAC is the codec's cost over the crypto floor.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <string>
#include <vector>

#include "tern/ice/stun_message.h"

using namespace tern;
using namespace tern::ice;

namespace {

const TransactionId kId{{0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae}};
const std::string kPassword = "VOkJxbRl1RmTxUk/WvJxBt";

void Fill(StunMessageBuilder& b, const StunKey& key) {
  b.add_software("STUN test client").add_priority(0x6e0001ff).add_ice_controlled(0x932ff9b151263b36ull);
  b.add_username("evtj:h6vY").add_message_integrity(key).add_fingerprint();
}

std::vector<uint8_t> Message() {
  StunMessageBuilder b(StunClass::kRequest, StunMethod::kBinding, kId);
  Fill(b, short_term_key(kPassword));
  return std::move(b).finish().value();
}

void BM_StunParse(benchmark::State& state) {
  const auto msg = Message();
  for (auto _ : state) {
    auto m = StunMessage::parse(msg);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StunParse);

void BM_StunParseAndCheck(benchmark::State& state) {
  const auto msg = Message();
  const StunKey key = short_term_key(kPassword);
  for (auto _ : state) {
    auto m = StunMessage::parse(msg);
    const bool ok = m.ok() && m->check_integrity(key).ok() && m->check_fingerprint().ok() &&
                    m->username().has_value();
    if (!ok) state.SkipWithError("check failed");
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StunParseAndCheck);

void BM_StunBuild(benchmark::State& state) {
  const StunKey key = short_term_key(kPassword);
  StunMessageBuilder b(StunClass::kRequest, StunMethod::kBinding, kId);
  for (auto _ : state) {
    b.reset(StunClass::kRequest, StunMethod::kBinding, kId);
    Fill(b, key);
    benchmark::DoNotOptimize(b.view().data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StunBuild);

void BM_RawOpenSslHmacSha1(benchmark::State& state) {
  const auto msg = Message();
  const size_t covered = msg.size() - 24 - 8;  // up to MESSAGE-INTEGRITY
  std::array<uint8_t, EVP_MAX_MD_SIZE> out{};
  for (auto _ : state) {
    unsigned len = 0;
    HMAC(EVP_sha1(), kPassword.data(), static_cast<int>(kPassword.size()), msg.data(), covered, out.data(), &len);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawOpenSslHmacSha1);

}  // namespace
