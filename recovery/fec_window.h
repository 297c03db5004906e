// The receive-side window shared by the ULPFEC and FlexFEC receivers: recently received media
// packets of one stream and FEC packets not yet used, and the iterative XOR recovery over them
// (RFC 5109 section 8, RFC 8627 section 6.3): any FEC packet missing exactly one of its protected
// packets rebuilds it, and a rebuilt packet may complete another FEC packet, until no progress.
//
// Bounds: at most max_media_packets media packets (the oldest sequence number is evicted; FEC
// packets that protect an evicted number are discarded, since the window can no longer tell
// "lost" from "forgotten") and at most max_fec_packets FEC packets (the oldest is discarded).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "tern/core/seq_num.h"
#include "tern/recovery/fec_xor.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::recovery {

class FecWindow {
 public:
  struct Config {
    size_t max_media_packets = 192;
    size_t max_fec_packets = 64;
  };
  struct Stats {
    uint64_t fec_packets_received = 0;
    uint64_t fec_packets_discarded = 0;  // not used: nothing it protects was missing, evicted,
                                         // stale, or unusable (bad recovered bytes)
    uint64_t packets_recovered = 0;
  };

  explicit FecWindow(Config config);

  // Stores a media packet of the protected stream (duplicates and packets older than the window are
  // ignored) and appends any packets that can now be recovered to `recovered`.
  void add_media(const rtp::RtpPacket& packet, std::vector<rtp::RtpPacket>& recovered);
  // Stores a FEC packet protecting `seqs` of stream `ssrc` and appends recovered packets.
  void add_fec(std::span<const uint16_t> seqs, XorParity parity, uint32_t ssrc,
               std::vector<rtp::RtpPacket>& recovered);

  bool has_media(uint16_t seq) const;
  size_t media_count() const { return media_.size(); }
  size_t fec_count() const { return fec_.size(); }
  const Stats& stats() const { return stats_; }

 private:
  struct FecEntry {
    std::vector<int64_t> seqs;  // unwrapped
    XorParity parity;
    uint32_t ssrc = 0;
  };
  void evict_media();
  void try_recover(std::vector<rtp::RtpPacket>& recovered);

  Config config_;
  RtpSeqUnwrapper unwrapper_;
  std::map<int64_t, rtp::RtpPacket> media_;
  std::deque<FecEntry> fec_;
  bool have_floor_ = false;
  int64_t floor_ = 0;  // media below this unwrapped number were evicted
  Stats stats_;
};

}  // namespace tern::recovery
