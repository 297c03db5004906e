// usrsctp's process-wide state. See usrsctp_library.h.
#include "tern/sctp/usrsctp_library.h"

#include <usrsctp.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

namespace tern::sctp {
namespace {

std::mutex g_mutex;  // guards everything below
std::weak_ptr<UsrsctpLibrary> g_instance;
std::unordered_map<uintptr_t, UsrsctpLibrary::Connection*> g_connections;
uintptr_t g_next_token = 1;
std::atomic<uint64_t> g_orphans{0};
std::atomic<uint64_t> g_inits{0};
bool g_initialised = false;  // usrsctp_init_nothreads ran and usrsctp_finish did not succeed yet

UsrsctpLibrary::Connection* find(void* token) {
  std::lock_guard lock(g_mutex);
  auto it = g_connections.find(reinterpret_cast<uintptr_t>(token));
  return it == g_connections.end() ? nullptr : it->second;
}

// usrsctp's conn output callback: one outgoing SCTP packet for the AF_CONN address `addr`.
int on_output(void* addr, void* buffer, size_t length, uint8_t /*tos*/, uint8_t /*set_df*/) {
  if (auto* c = find(addr)) {
    c->on_usrsctp_packet({static_cast<const uint8_t*>(buffer), length});
  } else {
    g_orphans.fetch_add(1, std::memory_order_relaxed);
  }
  return 0;  // "sent": a packet lost here is like one lost on the wire; SCTP retransmits
}

void configure_sysctls() {
  // WebRTC profile (RFC 8831 6.2): no ECN, no ASCONF (and so no AUTH, which only ASCONF needs
  // here), PR-SCTP and stream reconfiguration on, no NR-SACK.
  usrsctp_sysctl_set_sctp_ecn_enable(0);
  usrsctp_sysctl_set_sctp_asconf_enable(0);
  usrsctp_sysctl_set_sctp_auth_enable(0);
  usrsctp_sysctl_set_sctp_pr_enable(1);
  usrsctp_sysctl_set_sctp_reconfig_enable(1);
  usrsctp_sysctl_set_sctp_nrsack_enable(0);
  // Timers tuned for real-time data as browsers do: a 20 ms delayed SACK (RFC 4960 allows up to
  // 500), RTO 200 ms..10 s starting at 1 s (usrsctp's defaults are 1 s..60 s from 3 s).
  usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
  usrsctp_sysctl_set_sctp_rto_min_default(200);
  usrsctp_sysctl_set_sctp_rto_max_default(10000);
  usrsctp_sysctl_set_sctp_rto_initial_default(1000);
  usrsctp_sysctl_set_sctp_init_rto_max_default(10000);
  usrsctp_sysctl_set_sctp_heartbeat_interval_default(10000);
  // The in-queue holds at most this many chunks per association (usrsctp's default, 512, stalls
  // the reassembly of one 256 KiB message with a few in flight: ~230 chunks each at MTU 1200).
  usrsctp_sysctl_set_sctp_max_chunks_on_queue(10 * 1024);
  usrsctp_sysctl_set_sctp_logging_level(0);
#ifdef SCTP_DEBUG
  usrsctp_sysctl_set_sctp_debug_on(SCTP_DEBUG_NONE);
#endif
}

}  // namespace

UsrsctpLibrary::UsrsctpLibrary() {
  // Runs under g_mutex (Acquire). No debug printer: usrsctp prints nothing (SCTP_PRINTF checks
  // for one).
  if (g_initialised) return;  // an earlier finish failed: that instance is still up
  usrsctp_init_nothreads(0, &on_output, nullptr);
  configure_sysctls();
  g_initialised = true;
  g_inits.fetch_add(1, std::memory_order_relaxed);
}

UsrsctpLibrary::~UsrsctpLibrary() {
  // usrsctp_finish() refuses while associations or endpoints still wait for their free timers
  // (an aborted association is freed from a timer): tick the wheel, bounded, until it agrees.
  // Not under g_mutex: the ticks may call on_output.
  for (int i = 0; i < 200; ++i) {
    if (usrsctp_finish() == 0) {
      std::lock_guard lock(g_mutex);
      g_initialised = false;
      return;
    }
    usrsctp_handle_timers(100);
  }
  // Still busy after 20 s of usrsctp time: usrsctp stays initialised (its memory reachable, not
  // leaked) and the next Acquire() reuses it.
}

std::shared_ptr<UsrsctpLibrary> UsrsctpLibrary::Acquire() {
  std::lock_guard lock(g_mutex);
  if (auto existing = g_instance.lock()) return existing;
  std::shared_ptr<UsrsctpLibrary> created(new UsrsctpLibrary());
  g_instance = created;
  return created;
}

void* UsrsctpLibrary::add_connection(Connection* connection) {
  void* token = nullptr;
  {
    std::lock_guard lock(g_mutex);
    const uintptr_t id = g_next_token++;
    g_connections.emplace(id, connection);
    token = reinterpret_cast<void*>(id);
  }
  usrsctp_register_address(token);
  return token;
}

void UsrsctpLibrary::remove_connection(void* token) {
  usrsctp_deregister_address(token);
  std::lock_guard lock(g_mutex);
  g_connections.erase(reinterpret_cast<uintptr_t>(token));
}

void UsrsctpLibrary::advance_to(Timestamp now) {
  if (!clock_ || now < *clock_) {
    clock_ = now;  // first call, or a clock that went back: rebase
    return;
  }
  const int64_t elapsed_ms = (now - *clock_).us() / 1000;  // whole ms; the rest carries over
  if (elapsed_ms <= 0) return;
  *clock_ = *clock_ + TimeDelta::Millis(elapsed_ms);
  usrsctp_handle_timers(static_cast<uint32_t>(std::min<int64_t>(elapsed_ms, 1'000'000)));
}

UsrsctpLibrary::Stats UsrsctpLibrary::stats() const {
  sctpstat raw{};
  usrsctp_get_stat(&raw);
  Stats s;
  s.packets_sent = raw.sctps_sendpackets;
  s.packets_received = raw.sctps_recvpackets;
  s.data_chunks_sent = raw.sctps_senddata;
  s.data_chunks_received = raw.sctps_recvdata;
  s.duplicate_data_chunks_received = raw.sctps_recvdupdata;
  s.data_chunks_retransmitted = raw.sctps_sendretransdata;
  s.data_chunks_fast_retransmitted = raw.sctps_sendfastretrans;
  s.t3_timeouts = raw.sctps_timodata;
  s.bad_checksums = raw.sctps_badsum;
  return s;
}

uint64_t UsrsctpLibrary::orphan_packets() { return g_orphans.load(std::memory_order_relaxed); }
uint64_t UsrsctpLibrary::init_count() { return g_inits.load(std::memory_order_relaxed); }

}  // namespace tern::sctp
