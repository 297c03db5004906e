#include "tern/tools/net/udp_transport.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <string>

#include "tern/core/reason_text.h"

namespace tern::tools::net {

Result<transport::SocketAddress> parse_host_port(const std::string& text) {
  std::string host;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Error{"address: expected [v6]:port"};
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) return Error{"address: expected host:port"};
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return Error{"address: port must be 1..65535"};
  }
  if (host == "localhost") host = "127.0.0.1";
  return transport::SocketAddress::Parse(host, static_cast<uint16_t>(port));
}

Result<std::vector<uint8_t>> parse_key(const std::string& text, transport::SrtpProfile profile) {
  return transport::parse_key_text(text, profile);
}

bool looks_like_rtcp(std::span<const uint8_t> datagram) {
  return datagram.size() >= 8 && (datagram[0] >> 6) == 2 && datagram[1] >= 192 && datagram[1] <= 223;
}

Result<std::unique_ptr<UdpTransport>> UdpTransport::Open(const UdpTransportConfig& config) {
  std::unique_ptr<UdpTransport> t(new UdpTransport());
  t->config_ = config;
  transport::UdpSocketConfig socket_config;
  socket_config.report_unreachable = config.report_unreachable;
  auto rtp = transport::UdpSocket::Open(config.local, socket_config);
  if (!rtp) return Error{rtp.error()};
  t->rtp_socket_ = std::move(rtp.value());
  if (!config.rtcp_mux) {
    transport::SocketAddress rtcp_local = config.local;
    const uint16_t rtp_port = t->rtp_socket_.local_address().port();
    if (rtp_port == 65535) return Error{"rtcp: no port above 65535"};
    rtcp_local.set_port(static_cast<uint16_t>(rtp_port + 1));
    auto rtcp = transport::UdpSocket::Open(rtcp_local, socket_config);
    if (!rtcp) {
      return Error{lasting_reason("RTCP port " + std::to_string(rtcp_local.port()) +
                                      " (the RTP port + 1, no rtcp-mux): " + rtcp.error(),
                                  rtcp.error())};
    }
    t->rtcp_socket_ = std::move(rtcp.value());
  }
  if (config.srtp_profile) {
    transport::SrtpConfig sc;
    sc.profile = *config.srtp_profile;
    sc.key_material = config.srtp_key;
    sc.direction = transport::SrtpDirection::kSend;
    auto send = transport::SrtpSession::Create(sc);
    if (!send) return Error{send.error()};
    t->srtp_send_.emplace(std::move(send.value()));
    sc.direction = transport::SrtpDirection::kReceive;
    auto receive = transport::SrtpSession::Create(sc);
    if (!receive) return Error{receive.error()};
    t->srtp_receive_.emplace(std::move(receive.value()));
  }
  return t;
}

void UdpTransport::set_peer(const transport::SocketAddress& rtp_peer,
                            std::optional<transport::SocketAddress> rtcp_peer) {
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

Status UdpTransport::attach(transport::EpollDriver& driver) {
  if (Status st = driver.add_fd(rtp_socket_.fd(), [this](Timestamp now) { drain(rtp_socket_, now); }); !st.ok()) {
    return st;
  }
  if (rtcp_socket_.is_open()) {
    return driver.add_fd(rtcp_socket_.fd(), [this](Timestamp now) { drain(rtcp_socket_, now); });
  }
  return Status{};
}

void UdpTransport::on_datagram(std::vector<uint8_t> packet, Timestamp /*now*/) {
  if (rtp_peer_.empty()) return;
  const bool rtcp = looks_like_rtcp(packet);
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
  transport::UdpSocket& socket = (rtcp && rtcp_socket_.is_open()) ? rtcp_socket_ : rtp_socket_;
  if (!socket.send_to(packet, rtcp ? rtcp_peer_ : rtp_peer_).ok()) {
    ++counters_.send_failures;
    return;
  }
  ++(rtcp ? counters_.rtcp_sent : counters_.rtp_sent);
}

void UdpTransport::drain(transport::UdpSocket& socket, Timestamp now) {
  constexpr int kMaxBatchesPerWakeup = 64;  // bounded; level-triggered epoll wakes us again
  if (config_.report_unreachable) {  // a queued error keeps epoll signalling: read them first
    std::array<transport::IcmpError, 16> errors;
    auto n = socket.read_errors(errors);
    if (n && n.value() > 0) {
      counters_.unreachable += n.value();
      last_unreachable_ = errors[n.value() - 1];
    }
  }
  for (int round = 0; round < kMaxBatchesPerWakeup; ++round) {
    auto n = socket.receive_batch(batch_.slots());
    if (!n || n.value() == 0) return;
    for (size_t i = 0; i < n.value(); ++i) {
      const transport::Datagram& d = batch_[i];
      if (d.truncated) {
        ++counters_.truncated;
        continue;
      }
      const auto bytes = d.data();
      if (bytes.size() < 8 || (bytes[0] >> 6) != 2) {
        ++counters_.not_rtp;
        continue;
      }
      if (learn_peer_ && rtp_peer_.empty()) {
        transport::SocketAddress peer = d.peer;
        if (&socket == &rtcp_socket_ && peer.port() > 1) peer.set_port(static_cast<uint16_t>(peer.port() - 1));
        set_peer(peer);
      }
      const bool rtcp = looks_like_rtcp(bytes);
      scratch_.assign(bytes.begin(), bytes.end());
      if (srtp_receive_) {
        Status st = rtcp ? srtp_receive_->unprotect_rtcp(scratch_) : srtp_receive_->unprotect_rtp(scratch_);
        if (!st.ok()) {
          ++counters_.unprotect_failures;
          continue;
        }
      }
      ++(rtcp ? counters_.rtcp_received : counters_.rtp_received);
      if (handler_) handler_(scratch_, rtcp, now);
    }
  }
}

Result<std::unique_ptr<ToolLoop>> ToolLoop::Open(std::initializer_list<UdpTransport*> transports) {
  auto driver = transport::EpollDriver::Create();
  if (!driver) return Error{driver.error()};
  std::unique_ptr<ToolLoop> loop(new ToolLoop(std::move(driver.value())));
  auto signals = transport::SignalFd::Create();
  if (!signals) return Error{signals.error()};
  loop->signals_ = std::move(signals.value());
  ToolLoop* self = loop.get();  // stable: the loop lives behind the unique_ptr
  (void)loop->driver_.add_fd(loop->signals_.fd(), [self](Timestamp) {
    self->signal_ = self->signals_.read_signal();
    self->driver_.stop();
  });
  for (UdpTransport* t : transports) {
    if (t == nullptr) continue;
    if (Status st = t->attach(loop->driver_); !st.ok()) return Error{st.error()};
  }
  return loop;
}

}  // namespace tern::tools::net
