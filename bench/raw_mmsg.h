// The physical limit of UDP over loopback here: plain sendmmsg/recvmmsg of one batch, with no tern
// code in the loop. Benchmarks put tern's own datagram paths beside it as a ratio.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tern/transport/udp_socket.h"

namespace tern::bench {

template <size_t kBatch>
class RawMmsgExchange {
 public:
  // Sends `packet_size`-byte datagrams from `tx` to `to`, reads them back on `rx`.
  RawMmsgExchange(int tx, int rx, const transport::SocketAddress& to, size_t packet_size)
      : tx_(tx), rx_(rx), to_(to), size_(packet_size), out_(kBatch * packet_size, 0x80), in_(kBatch * 1500) {}

  // One batch out and (at most 100 non-blocking reads later) back in; returns datagrams received.
  int exchange() {
    for (size_t i = 0; i < kBatch; ++i) {
      siov_[i] = {out_.data() + i * size_, size_};
      smsg_[i] = mmsghdr{};
      smsg_[i].msg_hdr.msg_name = const_cast<sockaddr*>(to_.sockaddr_ptr());
      smsg_[i].msg_hdr.msg_namelen = to_.sockaddr_len();
      smsg_[i].msg_hdr.msg_iov = &siov_[i];
      smsg_[i].msg_hdr.msg_iovlen = 1;
    }
    const int sent = sendmmsg(tx_, smsg_.data(), kBatch, MSG_DONTWAIT);
    int got = 0;
    for (int round = 0; round < 100 && got < sent; ++round) {
      const size_t want = static_cast<size_t>(sent - got);
      for (size_t i = 0; i < want; ++i) {
        riov_[i] = {in_.data() + i * 1500, 1500};
        rmsg_[i] = mmsghdr{};
        rmsg_[i].msg_hdr.msg_name = &from_[i];
        rmsg_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        rmsg_[i].msg_hdr.msg_iov = &riov_[i];
        rmsg_[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = recvmmsg(rx_, rmsg_.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
      if (n <= 0) break;
      got += n;
    }
    return got;
  }

 private:
  int tx_, rx_;
  transport::SocketAddress to_;
  size_t size_;
  std::vector<uint8_t> out_, in_;
  std::array<mmsghdr, kBatch> smsg_{}, rmsg_{};
  std::array<iovec, kBatch> siov_{}, riov_{};
  std::array<sockaddr_storage, kBatch> from_{};
};

}  // namespace tern::bench
