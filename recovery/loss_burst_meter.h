// LossBurstMeter: are the path's losses bursty? The sender feeds it the received/lost outcome of
// each packet it learns from transport feedback (transport-cc or RFC 8888), in send order; it keeps
// the last `window` outcomes and reports the mean length of the loss runs among them. The
// protection policy then picks bursty FEC masks (recovery/fec_masks.h: any run of up to m media
// losses is repaired) instead of masks tuned for independent losses.
//
// Rule: bursty when the window holds at least `min_losses` losses and their mean run length is at
// least `min_mean_burst` (1.5: on independent 5% loss the mean run is ~1.05; Gilbert-Elliott loss
// with mean burst 3 measures ~2.5-3). Sans-I/O, no time: the window is counted in packets.
// Bounds: `window` outcomes (at most 4096), a fixed ring buffer.
//
// Reordering: a feedback report gives up a packet it has not seen yet; when a later report brings
// it after all, on_late_arrival() turns its slot back into a receipt, so the loss fraction and the
// runs are what the path lost, not what it reordered (a 35 ms-jitter path that reorders read ~24%
// "loss" for 2% lost). A late arrival whose slot has left the window changes nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace tern::recovery {

class LossBurstMeter {
 public:
  struct Config {
    size_t window = 1000;  // packets, clamped to 1..4096
    size_t min_losses = 5;
    double min_mean_burst = 1.5;
  };

  LossBurstMeter() : LossBurstMeter(Config{}) {}
  explicit LossBurstMeter(Config config);

  // One outcome, in send order. `seq` (the transport-wide sequence number) lets a late arrival
  // find its slot; an outcome without it is never corrected.
  void on_packet(bool lost, std::optional<int64_t> seq = std::nullopt);
  // The packet `seq`, counted lost, was received after all. False (nothing changes) when no lost
  // slot of the window holds it. O(window) at worst, newest first (late arrivals are recent).
  bool on_late_arrival(int64_t seq);

  size_t losses() const { return losses_; }
  // Outcomes in the window (at most `window`).
  size_t packets() const { return size_; }
  // Lost share of the window's packets (0 when empty): the path's loss before any repair.
  double loss_fraction() const { return size_ == 0 ? 0.0 : static_cast<double>(losses_) / static_cast<double>(size_); }
  size_t runs() const { return runs_; }
  // Mean length of the loss runs in the window (0 without losses).
  double mean_burst() const { return runs_ == 0 ? 0.0 : static_cast<double>(losses_) / static_cast<double>(runs_); }
  bool bursty() const { return losses_ >= config_.min_losses && mean_burst() >= config_.min_mean_burst; }

 private:
  // Whether slot i starts a loss run (lost, and the packet before it was received or is gone).
  bool starts_run(size_t i) const;

  Config config_;
  std::vector<uint8_t> lost_;  // ring: 1 = lost
  std::vector<int64_t> seq_;   // ring: the outcome's sequence number, kNoSeq if not given
  static constexpr int64_t kNoSeq = -1;
  size_t head_ = 0;            // next slot to write
  size_t size_ = 0;
  size_t losses_ = 0;
  size_t runs_ = 0;
};

}  // namespace tern::recovery
