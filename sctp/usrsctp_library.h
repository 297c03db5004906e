// UsrsctpLibrary: usrsctp's process-wide state, shared by every SCTP association of the process.
//
// usrsctp is a kernel stack moved into user space: one global instance (PCB tables, a timer wheel,
// sysctls, one output callback) per process. This class owns that instance:
//  - Acquire() initialises it with usrsctp_init_nothreads() on first use (no timer thread, no
//    receive threads, no sockets of its own) and returns a shared handle; when the last handle goes,
//    usrsctp_finish() runs (after ticking the timer wheel so that aborted associations are freed).
//    A later Acquire() initialises it again.
//  - AF_CONN addresses: every association registers a Connection and gets an opaque token, used as
//    the sconn_addr of its sockaddr_conn and given to usrsctp_register_address(). usrsctp's output
//    callback hands each packet to the connection registered under the token, or drops it (counted)
//    when the token is gone: usrsctp may still emit for an association being torn down (an ABORT
//    from usrsctp_close(), a late timer). Tokens are never reused and never dereferenced.
//  - Time: usrsctp's timers (retransmission, SACK delay, heartbeat, stream reset) live on one
//    global wheel advanced by usrsctp_handle_timers(elapsed ms). advance_to(now) moves it to `now`
//    from the last time it was called by any association; every association of the process must
//    therefore be driven by one clock (the real-time loop's, or one simulation's). A `now` earlier
//    than the last one (a new simulation starting at zero) rebases without firing timers.
// Not thread-safe beyond Acquire(): all associations of a process are driven from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "tern/core/units.h"

namespace tern::sctp {

class UsrsctpLibrary {
 public:
  // Where usrsctp's outgoing SCTP packets for one AF_CONN address go. Called from inside usrsctp
  // calls (usrsctp_conninput, usrsctp_sendv, usrsctp_handle_timers, ...): only queue the packet.
  class Connection {
   public:
    virtual void on_usrsctp_packet(std::span<const uint8_t> packet) = 0;

   protected:
    ~Connection() = default;
  };

  // The process-wide instance, initialised on first use.
  static std::shared_ptr<UsrsctpLibrary> Acquire();
  ~UsrsctpLibrary();
  UsrsctpLibrary(const UsrsctpLibrary&) = delete;
  UsrsctpLibrary& operator=(const UsrsctpLibrary&) = delete;

  // Registers `connection` as an AF_CONN address (usrsctp_register_address) and returns its token.
  void* add_connection(Connection* connection);
  // Deregisters; packets usrsctp emits for the token afterwards are dropped.
  void remove_connection(void* token);

  // Advances usrsctp's timer wheel to `now` (usrsctp_handle_timers with the whole milliseconds
  // elapsed since the last call; the remainder carries over).
  void advance_to(Timestamp now);

  // Packets usrsctp emitted for an address no longer registered (process-wide).
  static uint64_t orphan_packets();
  // How many times usrsctp was initialised in this process (tests).
  static uint64_t init_count();

  // usrsctp's own counters (usrsctp_get_stat): process-wide, every association of the process
  // since usrsctp was initialised. They tell why a reliable channel stalled: retransmissions after
  // a timeout (T3, each one an RTO or more of waiting) against fast retransmissions.
  struct Stats {
    uint64_t packets_sent = 0, packets_received = 0;
    uint64_t data_chunks_sent = 0, data_chunks_received = 0, duplicate_data_chunks_received = 0;
    uint64_t data_chunks_retransmitted = 0;       // every retransmission
    uint64_t data_chunks_fast_retransmitted = 0;  // ... of them on gap reports (no timeout)
    uint64_t t3_timeouts = 0;                     // retransmission timer expiries
    uint64_t bad_checksums = 0;
  };
  Stats stats() const;

 private:
  UsrsctpLibrary();
  std::optional<Timestamp> clock_;
};

}  // namespace tern::sctp
