#include "tern/transport/rtp_udp_transport.h"

#include <array>
#include <string>

#include "tern/core/reason_text.h"

namespace tern::transport {

RtpUdpTransport::RtpUdpTransport() : batch_(kReceiveSlots, kMaxUdpPayload) {
  demuxer_.set_default_rtp_sink(&rtp_in_);  // every SSRC: the transport does not route by stream
  demuxer_.set_rtcp_sink(&rtcp_in_);
}

Result<std::unique_ptr<RtpUdpTransport>> RtpUdpTransport::Open(const RtpUdpTransportConfig& config) {
  std::unique_ptr<RtpUdpTransport> t(new RtpUdpTransport());
  t->config_ = config;
  UdpSocketConfig socket_config;
  socket_config.report_unreachable = config.report_unreachable;
  auto rtp = UdpSocket::Open(config.local, socket_config);
  if (!rtp) return Error{rtp.error()};
  t->rtp_socket_ = std::move(rtp.value());
  if (!config.rtcp_mux) {
    SocketAddress rtcp_local = config.local;
    const uint16_t rtp_port = t->rtp_socket_.local_address().port();
    if (rtp_port == 65535) return Error{"rtcp: no port above 65535"};
    rtcp_local.set_port(static_cast<uint16_t>(rtp_port + 1));
    auto rtcp = UdpSocket::Open(rtcp_local, socket_config);
    if (!rtcp) {
      return Error{lasting_reason("RTCP port " + std::to_string(rtcp_local.port()) +
                                      " (the RTP port + 1, no rtcp-mux): " + rtcp.error(),
                                  rtcp.error())};
    }
    t->rtcp_socket_ = std::move(rtcp.value());
  }
  if (config.srtp_profile) {
    SrtpConfig sc;
    sc.profile = *config.srtp_profile;
    sc.key_material = config.srtp_key;
    sc.direction = SrtpDirection::kSend;
    auto send = SrtpSession::Create(sc);
    if (!send) return Error{send.error()};
    t->srtp_send_.emplace(std::move(send.value()));
    sc.direction = SrtpDirection::kReceive;
    auto receive = SrtpSession::Create(sc);
    if (!receive) return Error{receive.error()};
    t->srtp_receive_.emplace(std::move(receive.value()));
  }
  return t;
}

void RtpUdpTransport::set_peer(const SocketAddress& rtp_peer, std::optional<SocketAddress> rtcp_peer) {
  rtp_peer_ = rtp_peer;
  if (fixed_rtcp_peer_) {
    rtcp_peer_ = *fixed_rtcp_peer_;
  } else if (rtcp_peer) {
    rtcp_peer_ = *rtcp_peer;
  } else {
    rtcp_peer_ = rtp_peer;
    if (!config_.rtcp_mux && rtp_peer.port() < 65535) rtcp_peer_.set_port(static_cast<uint16_t>(rtp_peer.port() + 1));
  }
}

Status RtpUdpTransport::attach(EpollDriver& driver) {
  if (Status st = driver.add_fd(rtp_socket_.fd(), [this](Timestamp now) { drain(rtp_socket_, now); }); !st.ok()) {
    return st;
  }
  if (rtcp_socket_.is_open()) {
    return driver.add_fd(rtcp_socket_.fd(), [this](Timestamp now) { drain(rtcp_socket_, now); });
  }
  return Status{};
}

void RtpUdpTransport::on_datagram(std::vector<uint8_t> packet, Timestamp /*now*/) {
  if (rtp_peer_.empty()) return;
  const bool rtcp = classify(packet) == PacketClass::kRtcp;
  if (filter_ && !filter_(packet)) {
    ++counters_.dropped_by_filter;
    return;
  }
  if (srtp_send_) {
    Status st = rtcp ? srtp_send_->protect_rtcp(packet) : srtp_send_->protect_rtp(packet);
    if (!st.ok()) {
      ++counters_.send_failures;
      return;
    }
  }
  UdpSocket& socket = (rtcp && rtcp_socket_.is_open()) ? rtcp_socket_ : rtp_socket_;
  if (!socket.send_to(packet, rtcp ? rtcp_peer_ : rtp_peer_).ok()) {
    ++counters_.send_failures;
    return;
  }
  ++(rtcp ? counters_.rtcp_sent : counters_.rtp_sent);
}

void RtpUdpTransport::drain(UdpSocket& socket, Timestamp now) {
  constexpr int kMaxBatchesPerWakeup = 64;  // bounded; level-triggered epoll wakes us again
  if (config_.report_unreachable) {  // a queued error keeps epoll signalling: read them first
    std::array<IcmpError, 16> errors;
    auto n = socket.read_errors(errors);  // a failed read leaves the queue for the next wakeup
    if (n && n.value() > 0) {
      counters_.unreachable += n.value();
      last_unreachable_ = errors[n.value() - 1];
    }
  }
  for (int round = 0; round < kMaxBatchesPerWakeup; ++round) {
    auto n = socket.receive_batch(batch_.slots());
    if (!n || n.value() == 0) return;  // a failure is counted by the socket (receive_errors)
    for (size_t i = 0; i < n.value(); ++i) {
      const Datagram& d = batch_[i];
      if (d.truncated) {
        ++counters_.truncated;
        continue;
      }
      const auto bytes = d.data();
      arriving_from_ = &d.peer;
      arriving_on_rtcp_socket_ = &socket == &rtcp_socket_;
      scratch_.assign(bytes.begin(), bytes.end());
      const PacketClass c = demuxer_.demux(std::move(scratch_), now);
      if (c != PacketClass::kRtp && c != PacketClass::kRtcp) ++counters_.not_rtp;
      arriving_from_ = nullptr;
    }
  }
}

void RtpUdpTransport::receive(std::vector<uint8_t> packet, bool rtcp, Timestamp now) {
  const bool authentic =
      !srtp_receive_ || (rtcp ? srtp_receive_->unprotect_rtcp(packet) : srtp_receive_->unprotect_rtp(packet)).ok();
  if (!authentic) {
    ++counters_.unprotect_failures;
  } else {
    ++(rtcp ? counters_.rtcp_received : counters_.rtp_received);
    const bool of_session = handler_ && handler_(packet, rtcp, now);
    if (!of_session) ++counters_.refused;
    // The peer is learned only from a datagram that passed SRTP and that the session accepted.
    if (of_session && learn_peer_ && rtp_peer_.empty() && arriving_from_ != nullptr) {
      SocketAddress peer = *arriving_from_;
      if (arriving_on_rtcp_socket_ && peer.port() > 1) peer.set_port(static_cast<uint16_t>(peer.port() - 1));
      set_peer(peer);
    }
  }
  scratch_ = std::move(packet);  // its capacity serves the next datagram
}

}  // namespace tern::transport
