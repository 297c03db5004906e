#include "tern/tools/loopback/drivers.h"

namespace tern::tools {

Result<std::unique_ptr<RealtimeDriver>> RealtimeDriver::Create() {
  auto epoll = transport::EpollDriver::Create();
  if (!epoll) return Error{epoll.error()};
  transport::RtpUdpTransportConfig config;
  config.local = transport::SocketAddress::LoopbackV4(0);
  auto a = transport::RtpUdpTransport::Open(config);
  if (!a) return Error{a.error()};
  auto b = transport::RtpUdpTransport::Open(config);
  if (!b) return Error{b.error()};
  (*a)->set_peer((*b)->local_address());
  (*b)->set_peer((*a)->local_address());
  return std::unique_ptr<RealtimeDriver>(
      new RealtimeDriver(std::move(epoll).value(), std::move(a).value(), std::move(b).value()));
}

RealtimeDriver::RealtimeDriver(transport::EpollDriver epoll, std::unique_ptr<transport::RtpUdpTransport> a,
                               std::unique_ptr<transport::RtpUdpTransport> b)
    : epoll_(std::move(epoll)),
      transport_a_(std::move(a)),
      transport_b_(std::move(b)),
      to_a_(*transport_b_),
      to_b_(*transport_a_),
      offset_(transport::EpollDriver::Now() - Timestamp::Zero()) {}

Status RealtimeDriver::watch(transport::RtpUdpTransport& transport, netsim::PacketSink* target) {
  transport.set_receive_handler([this, target](std::span<const uint8_t> d, bool /*rtcp*/, Timestamp now) {
    netsim::SimPacket p;
    p.data.assign(d.begin(), d.end());
    p.sent_time = now - offset_;
    p.delivery_time = now - offset_;
    target->on_packet(std::move(p), now - offset_);
    return true;  // fixed peers: nothing is learned; the endpoint behind judges the datagram
  });
  return transport.attach(epoll_);
}

}  // namespace tern::tools
