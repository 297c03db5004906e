// AudioSendStream's loss protection: Opus in-band FEC (LBRR) follows the loss RTCP reports (on when
// reports show loss, off again once they stop), with hysteresis against noisy reports; audio RED
// only while the allocation grants its redundant copies (set_red_active).
#include <memory>
#include <vector>

#include "doctest/doctest.h"
#include "tern/codecs/opus_decoder.h"
#include "tern/pipeline/audio_send_stream.h"

namespace tern::pipeline {
namespace {

std::unique_ptr<AudioSendStream> make_audio_fec_stream(bool red) {
  AudioSendStream::Config c;
  c.rtp.ssrc = 0xa0d10;
  c.red = red;
  auto s = AudioSendStream::Create(c, rtp::ExtensionMap{});
  REQUIRE(s.ok());
  return std::move(s).value();
}

struct AudioFecCount {
  int packets = 0;
  int with_fec = 0;  // packets whose in-band FEC rebuilds the one before
  int red = 0;       // sent with the RED payload type
};

// Runs `seconds` of 20 ms frames from `t` and counts what went out.
AudioFecCount run_audio_fec(AudioSendStream& s, Timestamp& t, int seconds) {
  auto dec = codecs::OpusDecoder::Create(codecs::AudioDecoderConfig{});
  REQUIRE(dec.ok());
  AudioFecCount n;
  std::vector<OutgoingPacket> out;
  for (int i = 0; i < seconds * 50; ++i) {
    out.clear();
    s.process(t, out);
    for (const OutgoingPacket& o : out) {
      ++n.packets;
      if (o.packet.payload_type() != s.payload_type()) {
        ++n.red;
        continue;
      }
      auto r = (*dec)->decode_fec(o.packet.payload(), AudioSendStream::kFrameDuration);
      if (r && r->kind == codecs::AudioDecodeKind::kFec) ++n.with_fec;
    }
    t = t + AudioSendStream::kFrameDuration;
  }
  return n;
}

TEST_CASE("pipeline audio send stream: Opus in-band FEC turned on by reported loss and off again") {
  auto s = make_audio_fec_stream(false);
  Timestamp t = Timestamp::Seconds(1);
  AudioFecCount n = run_audio_fec(*s, t, 2);
  CHECK(s->expected_loss_percent() == 0);
  CHECK(n.with_fec == 0);  // no loss reported: no redundancy spent

  // Receiver reports say ~3% (noisy: 2.3%, 3.9%, 2.7%): expected loss 1%, LBRR in speech packets.
  for (double f : {0.023, 0.039, 0.027}) s->on_loss(f);
  CHECK(s->expected_loss_percent() == 1);
  n = run_audio_fec(*s, t, 2);
  CHECK(n.packets == 100);
  CHECK(n.with_fec > 40);  // every packet that follows speech (the pauses carry none)

  // Heavier loss raises the setting; a single clean report does not switch it off.
  for (int i = 0; i < 4; ++i) s->on_loss(0.20);
  CHECK(s->expected_loss_percent() == 10);
  s->on_loss(0.0);
  CHECK(s->expected_loss_percent() > 0);

  // Loss gone for good: back to 0 and no more LBRR.
  for (int i = 0; i < 15; ++i) s->on_loss(0.0);
  CHECK(s->expected_loss_percent() == 0);
  run_audio_fec(*s, t, 1);  // the encoder's own switch-over
  n = run_audio_fec(*s, t, 2);
  CHECK(n.with_fec == 0);
  CHECK(s->counters().encoder_config_errors == 0);
  // Garbage never configures garbage.
  s->on_loss(-1.0);
  s->on_loss(7.0);
  CHECK(s->expected_loss_percent() >= 0);
  CHECK(s->expected_loss_percent() <= 20);
}

TEST_CASE("pipeline audio send stream: RED copies only while the allocation grants them") {
  auto s = make_audio_fec_stream(true);
  CHECK(s->red_active());
  Timestamp t = Timestamp::Seconds(1);
  AudioFecCount n = run_audio_fec(*s, t, 1);
  CHECK(n.red == n.packets);
  // The budget no longer allows the copies: plain Opus under its own payload type.
  s->set_red_active(false);
  CHECK_FALSE(s->red_active());
  n = run_audio_fec(*s, t, 1);
  CHECK(n.packets == 50);
  CHECK(n.red == 0);
  s->set_red_active(true);
  n = run_audio_fec(*s, t, 1);
  CHECK(n.red == n.packets);
  // Without RED configured nothing turns it on.
  auto plain = make_audio_fec_stream(false);
  plain->set_red_active(true);
  CHECK_FALSE(plain->red_active());
  CHECK(run_audio_fec(*plain, t, 1).red == 0);
}

}  // namespace
}  // namespace tern::pipeline
