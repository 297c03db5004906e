// Fuzzes the STUN codec and TURN ChannelData framing. Whatever parses is rebuilt attribute by
// attribute (re-sealed with a fixed key) and must parse again to the same attributes; the
// integrity and fingerprint checks run on arbitrary input (they must fail safely, never read
// outside the message). Seeds: fuzz/corpus/stun/ (RFC 5769 vectors, TURN messages).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "tern/ice/channel_data.h"
#include "tern/ice/stun_message.h"

using namespace tern;
using namespace tern::ice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  static const StunKey key = short_term_key("fuzz-password");

  (void)stun_message_size(in);  // a pure function of the first 4 bytes; nothing to check
  if (auto c = ChannelData::parse(in); c.ok()) {
    if (c->data.size() > size) abort();
    std::vector<uint8_t> out;
    if (!ChannelData::write(c->channel, c->data, true, out).ok()) abort();
    if (ChannelData::stream_size(out) != out.size()) abort();
  }
  // The RFC 5766 range is a superset: what parses strictly parses there too, and the server's
  // unpadded write of what it accepted reproduces the input up to its UDP padding.
  if (auto c = ChannelData::parse(in, ChannelData::kMaxChannelRfc5766); c.ok()) {
    if (!ChannelData::looks_like_channel_data(in[0])) abort();
    std::vector<uint8_t> out;
    if (!ChannelData::write(c->channel, c->data, false, out, ChannelData::kMaxChannelRfc5766).ok()) abort();
    if (out.size() > size || !std::equal(out.begin(), out.end(), in.begin())) abort();
  } else if (ChannelData::parse(in).ok()) {
    abort();
  }

  auto m = StunMessage::parse(in);
  if (!m.ok()) return 0;
  if (!looks_like_stun(in)) abort();  // parse is stricter than the quick check
  // The checks' verdicts on fuzzed bytes mean nothing; what is tested is that they stay in bounds.
  (void)m->check_integrity(key);
  (void)m->check_integrity_sha256(key);
  (void)m->check_fingerprint();
  // Typed accessors over arbitrary values.
  (void)m->xor_mapped_address();
  (void)m->mapped_address();
  (void)m->xor_peer_addresses();
  (void)m->error_code();
  (void)m->unknown_attributes();
  (void)m->channel_number();
  (void)m->requested_transport();
  (void)m->requested_address_family();
  (void)m->even_port();
  (void)m->reservation_token();
  (void)m->ice_controlling();

  // Re-serialise what parsed (unless the three seals would exceed the attribute bound).
  auto is_seal = [](uint16_t t) {
    return t == stun_attr::kMessageIntegrity || t == stun_attr::kMessageIntegritySha256 || t == stun_attr::kFingerprint;
  };
  size_t plain = 0;
  for (size_t i = 0; i < m->attribute_count(); ++i) plain += is_seal(m->attribute_type(i)) ? 0 : 1;
  if (plain + 3 > StunMessage::kMaxAttributes) return 0;
  StunMessageBuilder b(m->message_class(), static_cast<StunMethod>(m->method_value()), m->transaction_id());
  for (size_t i = 0; i < m->attribute_count(); ++i) {
    const uint16_t t = m->attribute_type(i);
    if (is_seal(t)) continue;
    b.add_bytes(t, m->attribute_value(i));
  }
  b.add_message_integrity(key).add_message_integrity_sha256(key).add_fingerprint();
  auto rebuilt = std::move(b).finish();
  if (!rebuilt.ok()) return 0;  // the seals can push a near-maximal message over the limit
  auto again = StunMessage::parse(*rebuilt);
  if (!again.ok()) abort();
  if (again->type() != m->type() || !(again->transaction_id() == m->transaction_id())) abort();
  if (!again->check_integrity(key).ok() || !again->check_integrity_sha256(key).ok() ||
      !again->check_fingerprint().ok()) {
    abort();
  }
  size_t j = 0;
  for (size_t i = 0; i < m->attribute_count(); ++i) {
    const uint16_t t = m->attribute_type(i);
    if (is_seal(t)) continue;
    if (j >= again->attribute_count() || again->attribute_type(j) != t) abort();
    const auto a = m->attribute_value(i);
    const auto b2 = again->attribute_value(j);
    if (a.size() != b2.size() || !std::equal(a.begin(), a.end(), b2.begin())) abort();
    ++j;
  }
  return 0;
}
