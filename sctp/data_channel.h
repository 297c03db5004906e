// Data channel values (RFC 8831, W3C RTCDataChannel): what a channel is opened with, its state,
// its stats, and the events SctpAssociation hands its owner.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::sctp {

// Which half of the stream ids this side allocates (RFC 8832 6): the DTLS client even, the DTLS
// server odd.
enum class SctpRole : uint8_t { kDtlsClient, kDtlsServer };

// W3C RTCDataChannelInit.
struct DataChannelInit {
  std::string label;
  std::string protocol;
  bool ordered = true;
  // At most one of the two (partial reliability, RFC 3758 via usrsctp's PR-SCTP policies).
  std::optional<uint16_t> max_retransmits;
  std::optional<uint16_t> max_packet_lifetime_ms;
  // Negotiated out of band: both sides create the channel with this id, no DCEP is exchanged.
  bool negotiated = false;
  std::optional<uint16_t> id;  // required when negotiated; otherwise picked by parity
  uint16_t priority = 256;     // DCEP priority field
};

enum class DataChannelState : uint8_t { kConnecting, kOpen, kClosing, kClosed };
std::string_view to_string(DataChannelState state);

// W3C RTCDataChannelStats (webrtc-stats 7.x "data-channel").
struct DataChannelStats {
  std::string label;
  std::string protocol;
  uint16_t data_channel_identifier = 0;
  DataChannelState state = DataChannelState::kConnecting;
  uint64_t messages_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t messages_received = 0;
  uint64_t bytes_received = 0;
};

struct SctpEvent {
  enum class Type : uint8_t {
    kAssociationUp,      // SCTP COMM_UP: channels can open
    kAssociationDown,    // lost, aborted or shut down (reason); every channel closed with it
    kChannelOpened,      // `channel` is open: remote (DCEP OPEN received) or local
    kMessage,            // `channel`, `binary`, `data` (empty for the empty-message PPIDs)
    kBufferedAmountLow,  // buffered amount fell to the channel's low-water mark or below
    kChannelClosed,      // both directions of the stream were reset (or the association ended)
  };
  Type type = Type::kMessage;
  uint16_t channel = 0;
  bool remote = false;  // kChannelOpened
  bool binary = false;  // kMessage
  std::vector<uint8_t> data;
  const char* reason = "";  // kAssociationDown
};

}  // namespace tern::sctp
