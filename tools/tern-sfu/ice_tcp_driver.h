// IceTcpDriver: tern-sfu --tcp's sockets (ICE-TCP, RFC 6544 passive, RFC 4571 framing) on a worker's
// loop: the listening socket and every accepted connection on one nested epoll instance, which is a
// single descriptor of the worker's EpollDriver however many connections there are (the driver
// watches at most kMaxFds). Bytes read go to the server's on_stream_bytes() (which splits the RFC
// 4571 frames and bounds what it keeps); the framed bytes the server sends are written at once, the
// rest queued per connection and written on EPOLLOUT.
//
// Bounds and policies: each connection's kernel send buffer is set to max_send_queue (SO_SNDBUF,
// which Linux doubles; no autotuning up to tcp_wmem's megabytes), and a connection whose own queue
// would exceed max_send_queue bytes (a subscriber that stopped reading: its TCP receive window and
// the kernel's send buffer are full) is closed and the server told (its session loses that path;
// a subscriber with no other path then times out), never buffered for: a stalled peer holds about
// three times max_send_queue at most, in the kernel and here. Counted (slow_dropped) and logged on
// stderr once per connection. A connection the server says to close is closed too (not logged). Connections: at most SfuConfig::max_tcp_connections (the
// server refuses more); reads and accepts bounded per wakeup so one connection cannot starve the
// others.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/sfu/sfu_server.h"
#include "tern/transport/socket_address.h"

namespace tern::tools::sfu_tool {

struct IceTcpDriverCounters {
  uint64_t accepted = 0;
  uint64_t slow_dropped = 0;  // closed: max_send_queue exceeded (the peer stopped reading)
  uint64_t bytes_sent = 0;    // written to the kernel
};

class IceTcpDriver {
 public:
  static constexpr size_t kDefaultMaxSendQueue = 256 * 1024;
  static constexpr size_t kReadChunk = 16 * 1024;

  // Listens on `at`; attach() the server (created with local_address() as its tcp_address) before
  // the loop runs. `worker` names the worker in log lines.
  static Result<std::unique_ptr<IceTcpDriver>> Open(const transport::SocketAddress& at,
                                                    size_t max_send_queue = kDefaultMaxSendQueue, int worker = 0);
  ~IceTcpDriver();
  IceTcpDriver(const IceTcpDriver&) = delete;
  IceTcpDriver& operator=(const IceTcpDriver&) = delete;

  void attach(sfu::SfuServer& server) { server_ = &server; }
  // The nested epoll instance: readable when any socket has something to do.
  int fd() const { return epoll_fd_; }
  const transport::SocketAddress& local_address() const { return local_; }

  // The nested instance is readable: accept, read, write what is queued (bounded per call).
  void on_readable(Timestamp now);
  // One framed packet for a connection (from SfuOutgoing::connection).
  void send(sfu::ConnectionId id, std::span<const uint8_t> data);
  // Closes the connections the server ended (session gone, unbound timeout).
  void close_ended();

  const IceTcpDriverCounters& counters() const { return counters_; }
  size_t connections() const { return conns_.size(); }
  size_t queued_bytes() const;  // waiting for EPOLLOUT, over every connection

 private:
  struct Conn {
    int fd = -1;
    std::string peer;            // for the log
    std::vector<uint8_t> queue;  // bytes not yet written, from `sent` on
    size_t sent = 0;
    bool want_out = false;
  };

  IceTcpDriver(size_t max_send_queue, int worker) : max_send_queue_(max_send_queue), worker_(worker) {}
  void accept_some(Timestamp now);
  void read_some(sfu::ConnectionId id, Timestamp now);
  void write_queue(sfu::ConnectionId id);
  void watch(sfu::ConnectionId id, Conn& c, bool out);
  void drop(sfu::ConnectionId id, bool slow);

  size_t max_send_queue_;
  int worker_;
  sfu::SfuServer* server_ = nullptr;
  int epoll_fd_ = -1;
  int listener_ = -1;
  transport::SocketAddress local_;
  std::map<sfu::ConnectionId, Conn> conns_;
  sfu::ConnectionId next_id_ = 1;
  IceTcpDriverCounters counters_;
  std::array<uint8_t, kReadChunk> buffer_{};
};

}  // namespace tern::tools::sfu_tool
