// SendTransport: the one send path (pacer as the only queue, transport-wide stamping, egress,
// budget) and the feedback that moves its target.
#include "tern/pipeline/send_transport.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace tern::pipeline {
namespace {

struct SinkLog : DatagramSink {
  struct Sent {
    std::vector<uint8_t> bytes;
    Timestamp time;
  };
  std::vector<Sent> sent;
  void on_datagram(std::vector<uint8_t> packet, Timestamp now) override { sent.push_back({std::move(packet), now}); }
};

struct AllocationLog : SendTransport::Listener {
  std::vector<SendTransport::Allocation> allocations;
  void on_allocation(const SendTransport::Allocation& a, Timestamp) override { allocations.push_back(a); }
};

constexpr uint32_t kAudioSsrc = 1111;
constexpr uint32_t kVideoSsrc = 2222;
constexpr uint32_t kRtxSsrc = 3333;

rtp::ExtensionMap extensions() {
  rtp::ExtensionMap m;
  REQUIRE(m.register_extension<rtp::AbsSendTime>(3));
  REQUIRE(m.register_extension<rtp::TransportSequenceNumber>(5));
  return m;
}

struct Fixture {
  explicit Fixture(congestion::NetworkControllerMode mode, bool paced = true) : ext(extensions()) {
    RtpSender::Config vc;
    vc.ssrc = kVideoSsrc;
    vc.rtx_ssrc = kRtxSsrc;
    video = std::make_unique<RtpSender>(RtpSender::Create(vc, ext).value());
    RtpSender::Config ac;
    ac.ssrc = kAudioSsrc;
    ac.clock_rate = 48000;
    audio = std::make_unique<RtpSender>(RtpSender::Create(ac, ext).value());
    SendTransport::Config tc;
    tc.controller.mode = mode;
    tc.controller.start_rate = DataRate::KilobitsPerSec(500);
    tc.controller.fixed_rate = DataRate::KilobitsPerSec(400);
    tc.paced = paced;
    tc.audio = congestion::AudioAllocationConfig{DataRate::KilobitsPerSec(32), DataRate::KilobitsPerSec(32)};
    congestion::VideoStreamConfig v;
    v.id = kVideoSsrc;
    tc.video = v;
    tc.loss_ssrc = kVideoSsrc;
    tc.overhead.audio_frame = TimeDelta::Millis(20);
    tc.overhead.video_fps = 30;
    auto t = SendTransport::Create(tc, ext, &sink, &allocations);
    REQUIRE(t.ok());
    transport = std::move(t).value();
    REQUIRE(transport->add_stream(video->egress_config()).ok());
    REQUIRE(transport->add_stream(audio->egress_config()).ok());
    transport->set_padding_sender(video.get());
  }
  OutgoingPacket media(RtpSender& s, size_t payload, congestion::PacketPriority prio) {
    std::vector<uint8_t> bytes(payload, 0xAB);
    OutgoingPacket o;
    o.packet = s.build(96, 1000, false, bytes).value();
    o.media_ssrc = s.ssrc();
    o.priority = prio;
    o.audio = prio == congestion::PacketPriority::kAudio;
    o.capture_time = now;
    return o;
  }
  // Runs the transport as an endpoint does until `end`.
  void run_until(Timestamp end) {
    for (int guard = 0; guard < 100000; ++guard) {
      const std::optional<Timestamp> next = transport->next_wakeup();
      if (!next || *next > end) break;
      now = max(now, *next);
      transport->update_controller(now);
      transport->send_packets(now);
      transport->update_overhead(now);
    }
    now = end;
  }
  uint16_t transport_seq(const SinkLog::Sent& s) const {
    auto p = rtp::RtpPacket::parse(s.bytes);
    REQUIRE(p.ok());
    auto seq = p.value().get<rtp::TransportSequenceNumber>(ext);
    REQUIRE(seq.has_value());
    return *seq;
  }
  uint32_t ssrc(const SinkLog::Sent& s) const { return rtp::RtpPacket::parse(s.bytes).value().ssrc(); }

  rtp::ExtensionMap ext;
  SinkLog sink;
  AllocationLog allocations;
  std::unique_ptr<RtpSender> video, audio;
  std::unique_ptr<SendTransport> transport;
  Timestamp now = Timestamp::Seconds(10);
};

}  // namespace

TEST_CASE("SendTransport: the pacer is the only queue, packets leave by priority, paced, stamped in send order") {
  Fixture f(congestion::NetworkControllerMode::kFixed);
  f.transport->start(f.now);
  REQUIRE(!f.allocations.allocations.empty());
  CHECK(f.allocations.allocations.back().target == DataRate::KilobitsPerSec(400));
  CHECK(f.transport->pacing_rate() == DataRate::KilobitsPerSec(1000));
  // A 30-packet video frame, then one audio packet: nothing leaves before the pacer says so.
  for (int i = 0; i < 30; ++i) f.transport->enqueue(f.media(*f.video, 1000, congestion::PacketPriority::kVideo), f.now);
  f.transport->enqueue(f.media(*f.audio, 100, congestion::PacketPriority::kAudio), f.now);
  CHECK(f.sink.sent.empty());
  CHECK(f.transport->pacer().queue_packets() == 31);
  f.run_until(f.now + TimeDelta::Seconds(1));
  REQUIRE(f.sink.sent.size() == 31);
  CHECK(f.transport->pacer().queue_packets() == 0);
  CHECK(f.ssrc(f.sink.sent.front()) == kAudioSsrc);  // audio first despite arriving last
  for (size_t i = 0; i < f.sink.sent.size(); ++i) {
    CHECK(f.transport_seq(f.sink.sent[i]) == f.transport_seq(f.sink.sent[0]) + i);  // stamped on the way out
  }
  // ~31 kB at 1 Mbps: spread over ~240 ms, not one burst.
  const TimeDelta spread = f.sink.sent.back().time - f.sink.sent.front().time;
  CHECK(spread > TimeDelta::Millis(150));
  CHECK(spread < TimeDelta::Millis(400));
  // The egress counted them (SR counters) and kept the video ones for RTX.
  REQUIRE(f.transport->stream(kVideoSsrc) != nullptr);
  CHECK(f.transport->stream(kVideoSsrc)->counters().packets_sent == 30);
  CHECK(f.transport->stream(kAudioSsrc)->counters().packets_sent == 1);
  REQUIRE(f.transport->stream(kVideoSsrc)->history() != nullptr);
  CHECK(f.transport->stream(kVideoSsrc)->history()->size() == 30);
  CHECK(f.transport->stream(kAudioSsrc)->history() == nullptr);
}

TEST_CASE("SendTransport: budget accounting splits what left by purpose") {
  Fixture f(congestion::NetworkControllerMode::kFixed);
  f.transport->start(f.now);
  OutgoingPacket v = f.media(*f.video, 1000, congestion::PacketPriority::kVideo);
  const auto video_size = static_cast<int64_t>(v.packet.size());
  OutgoingPacket a = f.media(*f.audio, 80, congestion::PacketPriority::kAudio);
  const auto audio_size = static_cast<int64_t>(a.packet.size());
  OutgoingPacket fec = f.media(*f.video, 300, congestion::PacketPriority::kFec);
  const auto fec_size = static_cast<int64_t>(fec.packet.size());
  f.transport->enqueue(std::move(v), f.now);
  f.transport->enqueue(std::move(a), f.now);
  f.transport->enqueue(std::move(fec), f.now);
  f.run_until(f.now + TimeDelta::Millis(500));
  const uint16_t nacked = rtp::RtpPacket::parse(f.sink.sent[1].bytes).value().sequence_number();
  REQUIRE(f.transport->retransmit(kVideoSsrc, std::vector<uint16_t>{nacked}, TimeDelta::Millis(50), f.now) == size_t{1});
  CHECK(!f.transport->retransmit(kAudioSsrc, std::vector<uint16_t>{1}, TimeDelta::Millis(50), f.now).has_value());
  f.run_until(f.now + TimeDelta::Millis(500));
  f.transport->send_rtcp({0x80, 0xC9, 0x00, 0x01, 0, 0, 0, 1}, f.now);
  f.transport->send_rtcp({}, f.now);  // nothing

  const SendTransport::Budget& b = f.transport->budget();
  CHECK(b.packets == 4);
  CHECK(b.video.bytes() == 1000);
  CHECK(b.audio.bytes() == 80);
  CHECK(b.fec.bytes() == 300);
  CHECK(b.retransmission.bytes() == 1000 + 2);  // RTX payload: OSN + the original payload
  const int64_t rtx_size = static_cast<int64_t>(f.sink.sent[3].bytes.size());
  CHECK(b.total().bytes() == video_size + audio_size + fec_size + rtx_size + 4 * SendTransport::kTransportOverheadBytes);
  CHECK(b.max_queue_delay >= TimeDelta::Zero());
  const SendTransport::Counters& c = f.transport->counters();
  CHECK(c.packets_sent == 5);
  CHECK(c.rtcp_packets_sent == 1);
  CHECK(c.bytes_sent == static_cast<uint64_t>(video_size + audio_size + fec_size + rtx_size + 8));
  CHECK(f.ssrc(f.sink.sent[3]) == kRtxSsrc);
  CHECK(f.transport->stream(kVideoSsrc)->counters().retransmitted_packets_sent == 1);
}

TEST_CASE("SendTransport: REMB and loss reports move the target and reach the listener") {
  Fixture f(congestion::NetworkControllerMode::kRemb);
  f.transport->start(f.now);
  CHECK(f.transport->target() == DataRate::KilobitsPerSec(500));
  const size_t before = f.allocations.allocations.size();
  f.now += TimeDelta::Millis(100);
  f.transport->on_remb(DataRate::KilobitsPerSec(150), f.now);
  CHECK(f.transport->target() <= DataRate::KilobitsPerSec(150));
  REQUIRE(f.allocations.allocations.size() > before);
  const SendTransport::Allocation& a = f.allocations.allocations.back();
  CHECK(a.target == f.transport->target());
  REQUIRE(a.video.has_value());
  CHECK(a.audio + a.video->media <= a.target);

  rtcp::ReportBlock rb;
  rb.source_ssrc = kAudioSsrc;
  rb.fraction_lost = 64;
  CHECK(!f.transport->on_report_block(rb, TimeDelta::Millis(80), 100, f.now));  // not the loss SSRC
  REQUIRE(f.transport->remote_inbound(kAudioSsrc) != nullptr);
  CHECK(f.transport->remote_inbound(kAudioSsrc)->rtt == TimeDelta::Millis(80));
  CHECK(f.transport->loss_fraction() == 0.0);
  rb.source_ssrc = kVideoSsrc;
  CHECK(f.transport->on_report_block(rb, std::nullopt, 100, f.now));
  CHECK(f.transport->loss_fraction() == doctest::Approx(0.25));
  CHECK(f.transport->remote_inbound(kVideoSsrc)->rtt == std::nullopt);
}

TEST_CASE("SendTransport: transport-cc mode probes with padding on the RTX SSRC") {
  Fixture f(congestion::NetworkControllerMode::kTransportCc);
  f.transport->start(f.now);
  f.run_until(f.now + TimeDelta::Millis(300));
  REQUIRE(!f.sink.sent.empty());  // start probes with no media: padding
  for (const SinkLog::Sent& s : f.sink.sent) CHECK(f.ssrc(s) == kRtxSsrc);
  CHECK(f.transport->budget().padding.bytes() > 0);
  CHECK(f.transport->counters().unknown_ssrc_sent == f.sink.sent.size());  // padding counts on no stream
  // A retransmission on the RTX SSRC continues the padding's sequence numbers: one counter per RTX
  // stream (two interleaved ones made SRTP refuse, as replays, the packets of the one behind).
  OutgoingPacket v = f.media(*f.video, 500, congestion::PacketPriority::kVideo);
  const uint16_t seq = v.packet.sequence_number();
  f.transport->enqueue(std::move(v), f.now);
  f.run_until(f.now + TimeDelta::Millis(50));
  REQUIRE(f.transport->retransmit(kVideoSsrc, std::vector<uint16_t>{seq}, TimeDelta::Millis(50), f.now) == size_t{1});
  f.run_until(f.now + TimeDelta::Millis(300));
  std::vector<uint16_t> rtx_seqs;
  for (const SinkLog::Sent& s : f.sink.sent) {
    auto p = rtp::RtpPacket::parse(s.bytes);
    if (p.ok() && p.value().ssrc() == kRtxSsrc) rtx_seqs.push_back(p.value().sequence_number());
  }
  REQUIRE(rtx_seqs.size() >= 2);
  CHECK(f.transport->stream(kVideoSsrc)->counters().retransmitted_packets_sent == 1);
  // Sent in about that order (the pacer may put a probe before the queued retransmission): the
  // numbers, taken from the first, are one run without gaps or repeats.
  std::vector<uint16_t> offsets;
  for (uint16_t q : rtx_seqs) offsets.push_back(static_cast<uint16_t>(q - rtx_seqs.front()));
  std::sort(offsets.begin(), offsets.end());
  for (size_t i = 0; i < offsets.size(); ++i) CHECK(offsets[i] == i);
}

TEST_CASE("SendTransport unpaced (a media server hop): sends at once, stamps, answers NACKs from its egress") {
  Fixture f(congestion::NetworkControllerMode::kNone, /*paced=*/false);
  OutgoingPacket v = f.media(*f.video, 500, congestion::PacketPriority::kVideo);
  const uint16_t seq = v.packet.sequence_number();
  f.transport->enqueue(std::move(v), f.now);
  REQUIRE(f.sink.sent.size() == 1);
  CHECK(f.sink.sent[0].time == f.now);
  const uint16_t first = f.transport_seq(f.sink.sent[0]);
  CHECK(!f.transport->next_wakeup().has_value());  // no timers, no queue
  REQUIRE(f.transport->retransmit(kVideoSsrc, std::vector<uint16_t>{seq}, TimeDelta::Millis(50), f.now) == size_t{1});
  REQUIRE(f.sink.sent.size() == 2);
  CHECK(f.ssrc(f.sink.sent[1]) == kRtxSsrc);
  CHECK(f.transport_seq(f.sink.sent[1]) == static_cast<uint16_t>(first + 1));
  CHECK(f.allocations.allocations.empty());
  CHECK(f.transport->target() == DataRate::Zero());
}

TEST_CASE("SendTransport rejects a missing sink and a duplicate stream") {
  const rtp::ExtensionMap ext = extensions();
  SendTransport::Config tc;
  CHECK(!SendTransport::Create(tc, ext, nullptr, nullptr).ok());
  SinkLog sink;
  auto t = SendTransport::Create(tc, ext, &sink, nullptr);
  REQUIRE(t.ok());
  RtpEgress::Config e;
  e.ssrc = 7;
  CHECK(t.value()->add_stream(e).ok());
  CHECK(!t.value()->add_stream(e).ok());
  e.ssrc = 0;
  CHECK(!t.value()->add_stream(e).ok());
}

}  // namespace tern::pipeline
