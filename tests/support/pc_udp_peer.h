// Test support: one webrtc::PeerConnection on one real UDP socket (socket id 0) under
// transport::EpollDriver: reads batches into on_datagram, sends what take_outgoing() returns, and
// keeps every event for the test to walk (tests/webrtc, tests/webrtc_peers).
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "tern/ice/core_address.h"
#include "tern/transport/epoll_driver.h"
#include "tern/transport/udp_socket.h"
#include "tern/webrtc/peer_connection.h"

namespace tern::test {

inline ice::TransportAddress to_ice(const transport::SocketAddress& a) {
  return ice::from_core(a.to_core());
}

// One PeerConnection on one real UDP socket (socket id 0) under the epoll driver.
class UdpPeer final : public Pollable {
 public:
  UdpPeer(transport::UdpSocket socket, std::unique_ptr<webrtc::PeerConnection> connection)
      : socket_(std::move(socket)), pc(std::move(connection)) {}
  std::optional<Timestamp> next_wakeup() const override { return pc->next_wakeup(); }
  void process(Timestamp now) override {
    pc->process(now);
    flush(now);
  }
  void on_readable(Timestamp now) {
    for (int round = 0; round < 64; ++round) {
      std::array<transport::Datagram, 16> slots;
      for (size_t i = 0; i < slots.size(); ++i) slots[i].buffer = std::span<uint8_t>(buffers_[i]);
      auto n = socket_.receive_batch(slots);
      if (!n.ok() || *n == 0) break;
      for (size_t i = 0; i < *n; ++i) pc->on_datagram(0, to_ice(slots[i].peer), slots[i].data(), now);
    }
    flush(now);
  }
  void flush(Timestamp now) {
    for (ice::IceOutgoing& o : pc->take_outgoing()) {
      // A full socket buffer loses it, as on a network.
      (void)socket_.send_to(o.data, transport::SocketAddress::FromCore(ice::to_core(o.destination)));
    }
    while (auto e = pc->poll_event()) events.push_back(std::move(*e));
    (void)now;
  }
  int fd() const { return socket_.fd(); }

 private:
  transport::UdpSocket socket_;
  std::array<std::array<uint8_t, 2048>, 16> buffers_{};

 public:
  std::unique_ptr<webrtc::PeerConnection> pc;
  std::vector<webrtc::PeerConnectionEvent> events;
};

}  // namespace tern::test
