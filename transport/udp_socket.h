// UdpSocket: a non-blocking UDP socket (IPv4 or IPv6) with batched send and receive through
// Linux sendmmsg/recvmmsg. This is real I/O: only drivers and tools own sockets; library cores stay
// sans-I/O and see datagrams as spans.
//
// Datagram slots are caller-owned (see DatagramBatch), so the hot path allocates nothing. A full
// kernel buffer is not an error: the call returns fewer datagrams and counts the EAGAIN.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tern/core/result.h"
#include "tern/transport/socket_address.h"

namespace tern::transport {

// One datagram slot. On send: bytes [0, size) of `buffer` go to `peer`. On receive: the kernel
// fills `buffer`, sets `size` and the sender's address in `peer`; `truncated` when it did not fit.
struct Datagram {
  std::span<uint8_t> buffer;
  size_t size = 0;
  SocketAddress peer;
  bool truncated = false;

  std::span<const uint8_t> data() const { return buffer.first(size); }
};

// The largest UDP payload a datagram can carry: 65535 - 8 (UDP header) over IPv6 (no jumbogram);
// 65507 over IPv4 (20 more for the IP header). A slot of this size never truncates.
inline constexpr size_t kMaxUdpPayload = 65527;

// Owns `count` slots of `slot_size` bytes each in one allocation; hands them out as Datagrams.
class DatagramBatch {
 public:
  DatagramBatch(size_t count, size_t slot_size);
  DatagramBatch(const DatagramBatch&) = delete;
  DatagramBatch& operator=(const DatagramBatch&) = delete;

  std::span<Datagram> slots() { return slots_; }
  Datagram& operator[](size_t i) { return slots_[i]; }
  size_t size() const { return slots_.size(); }
  size_t slot_size() const { return slot_size_; }
  // Copies `data` into slot i (truncating to the slot size) and sets its peer.
  void set(size_t i, std::span<const uint8_t> data, const SocketAddress& peer);

 private:
  size_t slot_size_;
  std::vector<uint8_t> storage_;
  std::vector<Datagram> slots_;
};

struct UdpSocketConfig {
  // SO_RCVBUF/SO_SNDBUF requests (SO_*BUFFORCE first: past net.core.*mem_max when the process has
  // CAP_NET_ADMIN); 0 keeps the system default.
  int receive_buffer_bytes = 1 << 20;
  int send_buffer_bytes = 1 << 20;
  bool v6_only = true;                 // IPV6_V6ONLY on IPv6 sockets
  bool reuse_address = false;          // SO_REUSEADDR
  // IP_RECVERR / IPV6_RECVERR: ICMP errors about datagrams we sent (port or host unreachable) are
  // queued on the socket, bounded by its receive buffer, for read_errors(). The owner must then call
  // read_errors() whenever the socket is readable: a non-empty error queue keeps epoll signalling.
  bool report_unreachable = false;
};

// One ICMP error the kernel reported for a datagram we sent.
struct IcmpError {
  int error = 0;             // errno value: ECONNREFUSED (port unreachable), EHOSTUNREACH, ...
  SocketAddress destination; // where the datagram that caused it was going
};

struct UdpSocketCounters {
  uint64_t datagrams_sent = 0;
  uint64_t datagrams_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t send_would_block = 0;     // send calls that stopped on EAGAIN (kernel buffer full)
  uint64_t receive_would_block = 0;  // receive calls that found nothing (EAGAIN)
  uint64_t send_errors = 0;          // other send failures (datagram dropped, e.g. ECONNREFUSED)
  uint64_t receive_errors = 0;
  uint64_t truncated = 0;            // received datagrams larger than their slot
  uint64_t icmp_errors = 0;          // ICMP errors read by read_errors()
};

class UdpSocket {
 public:
  // Opens a non-blocking UDP socket bound to `local` (port 0 picks a free port).
  static Result<UdpSocket> Open(const SocketAddress& local, const UdpSocketConfig& config = {});

  UdpSocket() = default;
  ~UdpSocket();
  UdpSocket(UdpSocket&& other) noexcept;
  UdpSocket& operator=(UdpSocket&& other) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // The bound address, with the port the kernel chose.
  const SocketAddress& local_address() const { return local_; }

  // Sends datagrams in order with sendmmsg. Returns how many were handed to the kernel: fewer than
  // requested when the send buffer is full (EAGAIN, counted). A datagram the kernel rejects (e.g.
  // ICMP unreachable reported back) is counted in send_errors and skipped, not retried.
  Result<size_t> send_batch(std::span<const Datagram> datagrams);
  // Sends one datagram; Error when it could not be sent now.
  Status send_to(std::span<const uint8_t> data, const SocketAddress& peer);
  // Receives up to slots.size() datagrams with recvmmsg into the slots; returns how many (0 when
  // none is waiting). Slots past the returned count are left untouched.
  Result<size_t> receive_batch(std::span<Datagram> slots);
  // Reads up to out.size() queued ICMP errors (report_unreachable) into `out`; returns how many
  // (0 when none is queued, always 0 without report_unreachable).
  Result<size_t> read_errors(std::span<IcmpError> out);

  const UdpSocketCounters& counters() const { return counters_; }
  int last_errno() const { return last_errno_; }

 private:
  void close();

  int fd_ = -1;
  SocketAddress local_;
  UdpSocketCounters counters_;
  int last_errno_ = 0;
};

}  // namespace tern::transport
