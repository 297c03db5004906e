// DCEP (RFC 8832 5): DATA_CHANNEL_OPEN and ACK bytes laid out by hand from the RFC's figures,
// round trips for every channel type, and malformed messages refused with a reason.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tern/sctp/dcep_message.h"

using namespace tern::sctp;

TEST_CASE("DCEP: OPEN and ACK bytes, round trips, malformed input refused") {
  // RFC 8832 5.1: reliable ordered, priority 256, label "chat", protocol "xmpp".
  const std::vector<uint8_t> reliable = {0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x04,
                                         'c',  'h',  'a',  't',  'x',  'm',  'p',  'p'};
  DcepOpen open;
  open.label = "chat";
  open.protocol = "xmpp";
  CHECK(open.serialize() == reliable);
  auto parsed = DcepOpen::Parse(reliable);
  REQUIRE(parsed.ok());
  CHECK(*parsed == open);
  // Unordered, partial reliability by lifetime 3000 ms (0x82), priority 512, empty label.
  const std::vector<uint8_t> timed = {0x03, 0x82, 0x02, 0x00, 0x00, 0x00, 0x0B, 0xB8, 0x00, 0x00, 0x00, 0x00};
  auto t = DcepOpen::Parse(timed);
  REQUIRE(t.ok());
  CHECK(t->reliability == Reliability::kMaxPacketLifetime);
  CHECK_FALSE(t->ordered);
  CHECK(t->priority == 512);
  CHECK(t->reliability_parameter == 3000);
  CHECK(t->label.empty());
  CHECK(t->serialize() == timed);
  // Every channel type round-trips; the reliable type drops its parameter.
  for (auto reliability : {Reliability::kReliable, Reliability::kMaxRetransmits, Reliability::kMaxPacketLifetime}) {
    for (bool ordered : {true, false}) {
      DcepOpen o;
      o.reliability = reliability;
      o.ordered = ordered;
      o.reliability_parameter = reliability == Reliability::kReliable ? 0 : 7;
      o.label = std::string(300, 'l');
      auto back = DcepOpen::Parse(o.serialize());
      REQUIRE(back.ok());
      CHECK(*back == o);
    }
  }
  CHECK(dcep_ack() == std::vector<uint8_t>{0x02});
  CHECK(dcep_message_type(dcep_ack()) == kDcepAck);
  CHECK_FALSE(dcep_message_type({}).has_value());

  auto refused = [](std::vector<uint8_t> bytes) { return !DcepOpen::Parse(bytes).ok(); };
  CHECK(refused({}));
  CHECK(refused({0x02}));                                     // an ACK
  CHECK(refused(std::vector<uint8_t>(reliable.begin(), reliable.begin() + 11)));  // short header
  auto bad_type = reliable;
  bad_type[1] = 0x03;  // no such channel type
  CHECK(refused(bad_type));
  auto long_label = reliable;
  long_label[9] = 0x05;  // label length beyond the message
  CHECK(refused(long_label));
  auto trailing = reliable;
  trailing.push_back(0);  // lengths must add up exactly
  CHECK(refused(trailing));
  CHECK(std::string(DcepOpen::Parse(bad_type).error()).find("channel type") != std::string::npos);
}
