// Receive-side FEC window and iterative recovery (see fec_window.h).
#include "tern/recovery/fec_window.h"

#include <algorithm>

namespace tern::recovery {

FecWindow::FecWindow(Config config) : config_(config) {
  config_.max_media_packets = std::max<size_t>(config_.max_media_packets, 1);
  config_.max_fec_packets = std::max<size_t>(config_.max_fec_packets, 1);
}

bool FecWindow::has_media(uint16_t seq) const { return media_.count(unwrapper_.peek(seq)) != 0; }

void FecWindow::evict_media() {
  while (media_.size() > config_.max_media_packets) {
    floor_ = media_.begin()->first + 1;
    have_floor_ = true;
    media_.erase(media_.begin());
  }
}

void FecWindow::add_media(const rtp::RtpPacket& packet, std::vector<rtp::RtpPacket>& recovered) {
  const int64_t seq = unwrapper_.unwrap(packet.sequence_number());
  if (have_floor_ && seq < floor_) return;
  if (!media_.emplace(seq, packet).second) return;
  evict_media();
  if (!fec_.empty()) try_recover(recovered);
}

void FecWindow::add_fec(std::span<const uint16_t> seqs, XorParity parity, uint32_t ssrc,
                        std::vector<rtp::RtpPacket>& recovered) {
  ++stats_.fec_packets_received;
  if (seqs.empty()) {
    ++stats_.fec_packets_discarded;
    return;
  }
  FecEntry entry;
  entry.seqs.reserve(seqs.size());
  for (uint16_t s : seqs) entry.seqs.push_back(unwrapper_.peek(s));
  entry.parity = std::move(parity);
  entry.ssrc = ssrc;
  // A FEC packet far ahead of everything received is more likely garbage than a real group.
  const int64_t newest = media_.empty() ? entry.seqs.front() : media_.rbegin()->first;
  const int64_t reach = static_cast<int64_t>(config_.max_media_packets);
  for (int64_t s : entry.seqs) {
    if (s > newest + reach || (have_floor_ && s < floor_)) {
      ++stats_.fec_packets_discarded;
      return;
    }
  }
  fec_.push_back(std::move(entry));
  while (fec_.size() > config_.max_fec_packets) {
    fec_.pop_front();
    ++stats_.fec_packets_discarded;
  }
  try_recover(recovered);
}

void FecWindow::try_recover(std::vector<rtp::RtpPacket>& recovered) {
  // Each pass either removes a FEC packet or stops, so fec_.size() + 1 passes bound the loop.
  const size_t max_passes = fec_.size() + 1;
  for (size_t pass = 0; pass < max_passes; ++pass) {
    bool progress = false;
    for (auto it = fec_.begin(); it != fec_.end();) {
      size_t missing = 0;
      int64_t missing_seq = 0;
      bool stale = false;
      for (int64_t s : it->seqs) {
        if (have_floor_ && s < floor_) stale = true;
        if (media_.count(s) == 0) {
          ++missing;
          missing_seq = s;
        }
      }
      if (stale) {
        ++stats_.fec_packets_discarded;
        it = fec_.erase(it);
        continue;
      }
      if (missing == 0) {  // everything arrived: never needed (webrtc-stats counts it discarded)
        ++stats_.fec_packets_discarded;
        it = fec_.erase(it);
        continue;
      }
      if (missing > 1) {
        ++it;
        continue;
      }
      XorParity residual = it->parity;
      for (int64_t s : it->seqs) {
        if (s != missing_seq) residual.add(media_.at(s).data());
      }
      auto rebuilt = rebuild_from_parity(residual, static_cast<uint16_t>(missing_seq), it->ssrc);
      it = fec_.erase(it);
      if (!rebuilt) {
        ++stats_.fec_packets_discarded;
        continue;
      }
      ++stats_.packets_recovered;
      recovered.push_back(*rebuilt);
      media_.emplace(missing_seq, std::move(rebuilt).value());
      progress = true;
    }
    evict_media();
    if (!progress) break;
  }
}

}  // namespace tern::recovery
