// RtpUdpTransport: RTP and RTCP over UDP, optionally SRTP-protected, for a fixed session (what
// tern-send, tern-recv and drivers like them sit on). One UDP socket for RTP (and RTCP when
// multiplexed, RFC 5761) or two sockets (RTP on port P, RTCP on P+1, RFC 3550 11), optional
// SRTP/SRTCP (RFC 3711) on both paths, and the DatagramSink a sender (a pipeline::Endpoint, a
// plain driver) sends through. Datagrams are protected on the way out and unprotected on the way
// in; incoming ones are classified by the Demuxer (RFC 7983 first byte, RFC 5761 split) and
// anything but RTP/RTCP is counted as not_rtp. Failures are counted, never thrown.
//
// Plain use (no SRTP, one socket, raw datagrams): Open({local}), set_peer(), set_receive_handler(),
// attach(driver), and send through on_datagram().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tern/core/datagram_sink.h"
#include "tern/core/result.h"
#include "tern/transport/demuxer.h"
#include "tern/transport/epoll_driver.h"
#include "tern/transport/socket_address.h"
#include "tern/transport/srtp_key.h"
#include "tern/transport/srtp_session.h"
#include "tern/transport/udp_socket.h"

namespace tern::transport {

struct RtpUdpTransportConfig {
  SocketAddress local;         // RTP (and muxed RTCP) socket; port 0 picks one
  bool rtcp_mux = true;        // false: a second socket on local port + 1 for RTCP
  std::optional<SrtpProfile> srtp_profile;  // set with key: SRTP on both paths
  std::vector<uint8_t> srtp_key;
  // Read ICMP errors (port/host unreachable) for what we send: counted as `unreachable`.
  bool report_unreachable = false;
};

struct RtpUdpTransportCounters {
  uint64_t rtp_sent = 0, rtcp_sent = 0;
  uint64_t rtp_received = 0, rtcp_received = 0;  // passed SRTP (when on) and reached the handler
  uint64_t refused = 0;              // of those, what the handler refused as not of the session
  uint64_t send_failures = 0;        // kernel refused or buffer full (datagram dropped)
  uint64_t unprotect_failures = 0;   // SRTP auth/replay/format failures (datagram dropped)
  uint64_t dropped_by_filter = 0;    // outgoing datagrams the filter refused
  uint64_t not_rtp = 0;              // incoming datagrams the Demuxer did not class as RTP or RTCP
  uint64_t truncated = 0;            // incoming datagrams larger than a receive slot (dropped)
  uint64_t unreachable = 0;          // ICMP errors for datagrams we sent (report_unreachable)

  // Sums another transport's counters (one Endpoint over two ports).
  RtpUdpTransportCounters& operator+=(const RtpUdpTransportCounters& o) {
    rtp_sent += o.rtp_sent;
    rtcp_sent += o.rtcp_sent;
    rtp_received += o.rtp_received;
    rtcp_received += o.rtcp_received;
    refused += o.refused;
    send_failures += o.send_failures;
    unprotect_failures += o.unprotect_failures;
    dropped_by_filter += o.dropped_by_filter;
    not_rtp += o.not_rtp;
    truncated += o.truncated;
    unreachable += o.unreachable;
    return *this;
  }
};

class RtpUdpTransport : public DatagramSink {
 public:
  // A plain (unprotected) datagram received; `rtcp` tells which kind. Returns true when the datagram
  // belongs to the session (valid RTP of a known stream, or RTCP that parsed): only such a datagram
  // may teach the transport its peer (set_learn_peer).
  using ReceiveHandler = std::function<bool(std::span<const uint8_t> datagram, bool rtcp, Timestamp now)>;
  // Returns false to drop an outgoing plain datagram (before protection).
  using SendFilter = std::function<bool(std::span<const uint8_t> datagram)>;

  // Binds the socket(s) and creates the SRTP sessions; errors name the address.
  static Result<std::unique_ptr<RtpUdpTransport>> Open(const RtpUdpTransportConfig& config);
  RtpUdpTransport(const RtpUdpTransport&) = delete;
  RtpUdpTransport& operator=(const RtpUdpTransport&) = delete;

  // Where RTP goes; RTCP goes to rtp_peer (mux) or rtcp_peer (separate, default RTP port + 1).
  void set_peer(const SocketAddress& rtp_peer, std::optional<SocketAddress> rtcp_peer = {});
  bool has_peer() const { return !rtp_peer_.empty(); }
  // RTCP always goes here, whatever set_peer() or peer learning says (a peer whose RTCP port is
  // not its RTP source port + 1, e.g. GStreamer's rtpbin with its own udpsrc).
  void set_fixed_rtcp_peer(const SocketAddress& rtcp_peer) { fixed_rtcp_peer_ = rtcp_peer; }
  // Learns the peer from the first datagram the receive handler accepts while none is known
  // (receivers answering RTCP). Datagrams that failed SRTP authentication, were not RTP/RTCP, or
  // that the handler refused (not of the session: malformed, unknown SSRC) never set it, so a stray
  // or spoofed datagram cannot redirect the session's RTCP.
  void set_learn_peer(bool learn) { learn_peer_ = learn; }
  // Drops a learned peer so that the next accepted datagram sets it again (the sender restarted
  // with a new SSRC, from another port). Nothing is sent until then. No effect on a fixed peer
  // set while learning is off.
  void forget_peer() {
    if (learn_peer_) rtp_peer_ = rtcp_peer_ = SocketAddress();
  }
  void set_receive_handler(ReceiveHandler handler) { handler_ = std::move(handler); }
  void set_send_filter(SendFilter filter) { filter_ = std::move(filter); }
  // Registers the socket(s) with the driver (reads until EAGAIN on each wakeup).
  Status attach(EpollDriver& driver);

  // DatagramSink: protects (SRTP) and sends one RTP or RTCP datagram; dropped (uncounted) while
  // no peer is known.
  void on_datagram(std::vector<uint8_t> packet, Timestamp now) override;

  const SocketAddress& local_address() const { return rtp_socket_.local_address(); }
  const RtpUdpTransportCounters& counters() const { return counters_; }
  // The destination of the latest ICMP error (report_unreachable) and its errno, if any.
  const std::optional<IcmpError>& last_unreachable() const { return last_unreachable_; }
  const UdpSocket& rtp_socket() const { return rtp_socket_; }

 private:
  // The Demuxer's RTP and RTCP routes lead back here.
  class Inbound : public DatagramSink {
   public:
    Inbound(RtpUdpTransport& owner, bool rtcp) : owner_(owner), rtcp_(rtcp) {}
    void on_datagram(std::vector<uint8_t> packet, Timestamp now) override {
      owner_.receive(std::move(packet), rtcp_, now);
    }

   private:
    RtpUdpTransport& owner_;
    bool rtcp_;
  };

  // Slots of the largest UDP payload (a 4000-byte datagram from ffmpeg's pkt_size is real
  // traffic): 16 x 64 KiB = 1 MiB per transport.
  static constexpr size_t kReceiveSlots = 16;
  RtpUdpTransport();
  void drain(UdpSocket& socket, Timestamp now);
  // One RTP or RTCP datagram from the Demuxer: learn the peer, unprotect, count, hand out.
  void receive(std::vector<uint8_t> packet, bool rtcp, Timestamp now);

  RtpUdpTransportConfig config_;
  UdpSocket rtp_socket_;
  UdpSocket rtcp_socket_;
  std::optional<SrtpSession> srtp_send_;
  std::optional<SrtpSession> srtp_receive_;
  SocketAddress rtp_peer_;
  SocketAddress rtcp_peer_;
  std::optional<SocketAddress> fixed_rtcp_peer_;
  bool learn_peer_ = false;
  ReceiveHandler handler_;
  SendFilter filter_;
  DatagramBatch batch_;
  Demuxer demuxer_;
  Inbound rtp_in_{*this, false};
  Inbound rtcp_in_{*this, true};
  // The datagram being demultiplexed: where it came from (peer learning) and on which socket.
  const SocketAddress* arriving_from_ = nullptr;
  bool arriving_on_rtcp_socket_ = false;
  std::vector<uint8_t> scratch_;  // reused receive buffer (handed through the Demuxer and back)
  RtpUdpTransportCounters counters_;
  std::optional<IcmpError> last_unreachable_;
};

}  // namespace tern::transport
