// Traffic figures of a tern-loopback call in 100 ms bins: `CountingSend` counts what an endpoint
// hands to the network (by send time), `TrafficTap` sits in front of a netsim sink and counts what
// arrives (packets by send time for loss, bytes and one-way delay by arrival time), and
// `build_series` turns the bins, A's network samples and the link capacity into the report's time
// series. Pure counting on simulated packets: no clock, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "tern/core/seq_num.h"
#include "tern/core/units.h"
#include "tern/netsim/packet_sink.h"
#include "tern/netsim/path.h"
#include "tern/netsim/link.h"
#include "tern/pipeline/listeners.h"
#include "tern/tools/loopback/metrics.h"

namespace tern::tools {

// Width of one bin of the time series (and of one progress step of the run).
inline constexpr TimeDelta kSeriesBin = TimeDelta::Millis(100);

// The bin `t` falls in (times before zero count in bin 0).
int64_t bin_of(Timestamp t);

// Number of bins kept for a call of `duration`: one entry per 100 ms plus slack for the last
// packets, so every counter below is bounded by the call's length (an hour at most: 36,002).
size_t max_bins_for(TimeDelta duration);

// Which datagrams are one video stream's own media packets: RTP on `ssrc` whose payload type is
// `media_pt`, or `red_pt` with a primary block of `media_pt` (ULPFEC travels in RED on the same
// SSRC, FlexFEC on an SSRC of its own; padding-only packets carry no media), and which are its
// retransmissions (RFC 4588 RTX on `rtx_ssrc`: the original sequence number first in the
// payload). Counted on both sides of the link, they give the video's own losses and the ones a
// retransmission made good, which the link's drop count mixes with audio, RTCP, FEC, probes and
// lost retransmissions. Off while `ssrc` is 0.
struct VideoMediaFilter {
  uint32_t ssrc = 0;
  uint8_t media_pt = 0;
  uint8_t red_pt = 0;
  uint32_t rtx_ssrc = 0;
  // What one datagram is to the stream, from one parse: at most one of the two is set.
  struct Numbers {
    std::optional<uint16_t> media;          // a media packet: its sequence number
    std::optional<uint16_t> retransmitted;  // a retransmission: the original number it carries
  };
  Numbers classify(std::span<const uint8_t> datagram) const;
  std::optional<uint16_t> media_seq(std::span<const uint8_t> datagram) const { return classify(datagram).media; }
  std::optional<uint16_t> retransmitted_seq(std::span<const uint8_t> datagram) const {
    return classify(datagram).retransmitted;
  }
};

// The video's media packets on one path, by sequence number: sent, arrived as themselves, or
// brought by a retransmission only. Bounded: the last kWindow sequence numbers A sent (a packet
// older than that when its copy arrives is not counted; at 2000 packets/s that is 16 s).
class VideoLossLedger {
 public:
  static constexpr int64_t kWindow = 1 << 15;
  void on_sent(uint16_t seq);
  void on_arrived(uint16_t seq);
  void on_retransmission(uint16_t original_seq);
  int64_t sent() const { return sent_; }
  int64_t lost() const { return sent_ - arrived_; }           // never arrived as themselves
  int64_t repaired_by_rtx() const { return repaired_; }      // of those, brought by an RTX packet

 private:
  enum State : uint8_t { kNone, kSent, kArrived, kRepaired };
  std::optional<int64_t> index_of(uint16_t seq) const;  // within the window, or nullopt
  uint8_t* slot(uint16_t seq);                           // its state, nullptr outside the window
  uint8_t& state(int64_t index) { return states_[static_cast<size_t>(index % kWindow)]; }
  std::vector<uint8_t> states_;
  SeqUnwrapper<uint16_t> unwrap_;
  int64_t newest_ = -1;
  int64_t sent_ = 0, arrived_ = 0, repaired_ = 0;
};

// Per-bin counters of one direction, indexed by bin number. Grown on demand up to the bound the
// counting objects are given; packets beyond it are not counted.
struct TrafficBins {
  std::vector<int64_t> sent_packets, received_packets;  // by send time
  std::vector<int64_t> sent_bytes, received_bytes;      // by send / arrival time
  std::vector<double> delay_sum_ms;                     // by arrival time
  std::vector<int64_t> delay_count;
  VideoLossLedger video;  // the packets a VideoMediaFilter matched (not binned)
  void ensure(size_t n);
};

// Sits in front of a netsim sink: counts what arrives and measures its network delay, optionally
// records it (WebM), then passes it on. Duplicates made by the network are passed on, not counted.
class TrafficTap final : public netsim::PacketSink {
 public:
  // `measure_loss_and_delay`: count received packets by send time and their delay by arrival;
  // `count_bytes`: count received bytes by arrival.
  TrafficTap(TrafficBins& bins, size_t max_bins, bool measure_loss_and_delay, bool count_bytes)
      : bins_(bins), max_bins_(max_bins), loss_and_delay_(measure_loss_and_delay), bytes_(count_bytes) {}
  void set_inner(netsim::PacketSink* inner) { inner_ = inner; }
  // Sees every datagram before the inner sink (e.g. WebmTap::on_datagram); nullptr for none.
  void set_recorder(std::function<void(std::span<const uint8_t>, Timestamp)> recorder) {
    recorder_ = std::move(recorder);
  }
  // RTP packets of this SSRC also feed audio_delay_ms() (0: none).
  void set_audio_ssrc(uint32_t ssrc) { audio_ssrc_ = ssrc; }
  // Arriving video media packets and retransmissions (by this filter) go to bins.video.
  void set_video_media(VideoMediaFilter filter) { video_ = filter; }

  void on_packet(netsim::SimPacket packet, Timestamp now) override;
  // Mean network delay of the audio packets counted, nullopt before the first.
  std::optional<double> audio_delay_ms() const;

 private:
  bool is_audio(const std::vector<uint8_t>& d) const;

  TrafficBins& bins_;
  size_t max_bins_;
  bool loss_and_delay_;
  bool bytes_;
  netsim::PacketSink* inner_ = nullptr;
  std::function<void(std::span<const uint8_t>, Timestamp)> recorder_;
  uint32_t audio_ssrc_ = 0;
  VideoMediaFilter video_;
  double audio_delay_sum_ms_ = 0;
  int64_t audio_delay_count_ = 0;
};

// Sends into a netsim path (`next`) and counts packets and bytes per send-time bin.
struct CountingSend {
  TrafficBins* bins = nullptr;
  size_t max_bins = 0;
  std::function<void(netsim::SimPacket, Timestamp)> next;
  VideoMediaFilter video;  // video media packets it matches go to bins->video
  void operator()(netsim::SimPacket p, Timestamp now) const;
};

// Packets the hops of `path` dropped, for any reason (blackout, queue, CoDel, loss, in-flight limit).
uint64_t path_drops(const netsim::Path& path);

// The forward direction's time series, one point per bin for `bins` bins: send rate from `sent`,
// receive rate from `received`'s bytes, loss and one-way delay from `sent`'s counters, the capacity
// of `link` over the bin (its trace's mean, or its constant capacity; 0 when unlimited), and A's
// latest network sample at the end of each bin (`samples` in time order).
std::vector<SeriesPoint> build_series(int64_t bins, const TrafficBins& sent, const TrafficBins& received,
                                      const std::vector<pipeline::NetworkSample>& samples,
                                      const netsim::LinkConfig& link);

}  // namespace tern::tools
