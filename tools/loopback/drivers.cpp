#include "tern/tools/loopback/drivers.h"

namespace tern::tools {

Result<std::unique_ptr<RealtimeDriver>> RealtimeDriver::Create() {
  auto epoll = transport::EpollDriver::Create();
  if (!epoll) return Error{epoll.error()};
  auto a = transport::UdpSocket::Open(transport::SocketAddress::LoopbackV4(0));
  if (!a) return Error{a.error()};
  auto b = transport::UdpSocket::Open(transport::SocketAddress::LoopbackV4(0));
  if (!b) return Error{b.error()};
  return std::unique_ptr<RealtimeDriver>(
      new RealtimeDriver(std::move(epoll).value(), std::move(a).value(), std::move(b).value()));
}

RealtimeDriver::RealtimeDriver(transport::EpollDriver epoll, transport::UdpSocket a, transport::UdpSocket b)
    : epoll_(std::move(epoll)),
      socket_a_(std::move(a)),
      socket_b_(std::move(b)),
      to_a_(socket_b_, socket_a_.local_address()),
      to_b_(socket_a_, socket_b_.local_address()),
      offset_(transport::EpollDriver::Now() - Timestamp::Zero()),
      batch_(32, 2048) {}

Status RealtimeDriver::watch(transport::UdpSocket& socket, netsim::PacketSink* target) {
  return epoll_.add_fd(socket.fd(), [this, &socket, target](Timestamp now) {
    for (int round = 0; round < 64; ++round) {  // bounded drain; level-triggered epoll wakes again
      auto n = socket.receive_batch(batch_.slots());
      if (!n || *n == 0) return;
      for (size_t i = 0; i < *n; ++i) {
        netsim::SimPacket p;
        const auto d = batch_[i].data();
        p.data.assign(d.begin(), d.end());
        p.sent_time = now - offset_;
        p.delivery_time = now - offset_;
        target->on_packet(std::move(p), now - offset_);
      }
    }
  });
}

}  // namespace tern::tools
