// sctp/ benchmarks: data-channel throughput in memory, tern beside bare usrsctp, in one run.
//  - BM_DataChannelThroughput/<size>/<fifo>: two tern SctpAssociations back to back (no loss, no
//    delay), one reliable ordered channel, messages of <size> bytes; each iteration moves 4 MiB
//    from one to the other. fifo=1: the sender refills while its buffered amount is under 1 MiB,
//    so messages that usrsctp's full buffer refuses wait (copied) in tern's send FIFO, as for an
//    application that writes faster than the network; fifo=0: it sends only while nothing is
//    buffered (an application pacing itself on bufferedAmount), so every message goes straight
//    to usrsctp. Everything else tern adds is in both: the inbox from usrsctp's callback (one
//    copy into the event), reassembly, DCEP, events.
//  - BM_BareUsrsctpThroughput/<size>: the reference, two usrsctp AF_CONN sockets with the same
//    options (buffers, MTU, streams, no Nagle) and no tern logic: usrsctp_sendv until it refuses,
//    packets handed across, the receive callback counts bytes. Only usrsctp's process-wide output
//    callback is shared with tern (usrsctp_library.h: one hash look-up per packet).
//    tern / bare is the wrapper's cost. Both tick usrsctp's timers by 10 ms when nothing moves
//    (a delayed SACK), so the figures are CPU cost, not a network's.
#include <benchmark/benchmark.h>
#include <usrsctp.h>

#include <cerrno>
#include <cstdlib>
#include <deque>
#include <memory>
#include <vector>

#include "tern/sctp/sctp_association.h"
#include "tern/sctp/usrsctp_library.h"

using namespace tern;
using namespace tern::sctp;

namespace {

constexpr size_t kBatch = 4 << 20;
constexpr size_t kRefillBelow = 1 << 20;
constexpr size_t kMtu = 1152;

void BM_DataChannelThroughput(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  const size_t refill_below = state.range(1) ? kRefillBelow : 1;
  SctpConfig config;
  config.remote_max_message_size = 262144;
  config.role = SctpRole::kDtlsClient;
  auto a = SctpAssociation::Create(config).value();
  config.role = SctpRole::kDtlsServer;
  auto b = SctpAssociation::Create(config).value();
  Timestamp now = Timestamp::Seconds(1);
  size_t received = 0;
  bool opened = false;
  auto pump = [&] {
    bool moved = false;
    for (int round = 0; round < 100000; ++round) {
      bool any = false;
      while (auto p = a->pop_outgoing()) { b->on_packet(*p, now); any = true; }
      while (auto p = b->pop_outgoing()) { a->on_packet(*p, now); any = true; }
      if (!any) break;
      moved = true;
    }
    while (auto e = b->pop_event()) {
      if (e->type == SctpEvent::Type::kMessage) received += e->data.size();
      if (e->type == SctpEvent::Type::kChannelOpened) opened = true;
    }
    while (a->pop_event()) {}
    return moved;
  };
  int64_t ticks = 0;
  auto tick = [&] {
    ++ticks;
    now = now + TimeDelta::Millis(10);
    a->process(now);
    b->process(now);
  };
  a->start(now);
  b->start(now);
  for (int i = 0; i < 1000 && !(a->is_up() && b->is_up()); ++i) if (!pump()) tick();
  const uint16_t id = a->create_channel(DataChannelInit{}, now).value();
  for (int i = 0; i < 1000 && !opened; ++i) if (!pump()) tick();
  const std::vector<uint8_t> message(size, 0x5a);
  for (auto _ : state) {
    received = 0;
    size_t sent = 0;
    while (received < kBatch) {
      while (sent < kBatch && a->buffered_amount(id) < refill_below) {
        if (!a->send(id, message, true, now).ok()) std::abort();
        sent += size;
      }
      if (!pump()) tick();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBatch));
  state.counters["ticks"] = benchmark::Counter(static_cast<double>(ticks), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_DataChannelThroughput)
    ->ArgsProduct({{1024, 16384, 262144}, {1, 0}})
    ->ArgNames({"size", "fifo"})
    ->Unit(benchmark::kMillisecond);

struct BareEnd final : UsrsctpLibrary::Connection {
  std::shared_ptr<UsrsctpLibrary> library = UsrsctpLibrary::Acquire();
  void* token = library->add_connection(this);
  struct socket* sock = nullptr;
  std::deque<std::vector<uint8_t>> out;
  size_t received = 0;
  bool up = false;
  void on_usrsctp_packet(std::span<const uint8_t> p) override { out.emplace_back(p.begin(), p.end()); }
  ~BareEnd() {
    if (sock) usrsctp_close(sock);
    library->remove_connection(token);
  }
};

int BareReceive(struct socket*, union sctp_sockstore, void* data, size_t length, struct sctp_rcvinfo, int flags,
                void* ulp) {
  auto* end = static_cast<BareEnd*>(ulp);
  if (data == nullptr) return 1;
  if (flags & MSG_NOTIFICATION) {
    const auto* n = static_cast<const sctp_notification*>(data);
    if (n->sn_header.sn_type == SCTP_ASSOC_CHANGE && n->sn_assoc_change.sac_state == SCTP_COMM_UP) end->up = true;
  } else {
    end->received += length;
  }
  std::free(data);
  return 1;
}

void OpenBare(BareEnd& end) {
  end.sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, &BareReceive, nullptr, 0, &end);
  usrsctp_set_non_blocking(end.sock, 1);
  const linger no_linger{1, 0};
  const int buffer = 1 << 20;
  const int one = 1;
  usrsctp_setsockopt(end.sock, SOL_SOCKET, SO_LINGER, &no_linger, sizeof(no_linger));
  usrsctp_setsockopt(end.sock, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
  usrsctp_setsockopt(end.sock, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  usrsctp_setsockopt(end.sock, IPPROTO_SCTP, SCTP_NODELAY, &one, sizeof(one));
  sctp_initmsg init{};
  init.sinit_num_ostreams = init.sinit_max_instreams = 1024;
  usrsctp_setsockopt(end.sock, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof(init));
  sctp_paddrparams params{};
  params.spp_assoc_id = SCTP_FUTURE_ASSOC;
  params.spp_flags = SPP_PMTUD_DISABLE;
  params.spp_pathmtu = kMtu - sizeof(sctp_common_header);
  usrsctp_setsockopt(end.sock, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &params, sizeof(params));
  sctp_event event{};
  event.se_assoc_id = SCTP_ALL_ASSOC;
  event.se_type = SCTP_ASSOC_CHANGE;
  event.se_on = 1;
  usrsctp_setsockopt(end.sock, IPPROTO_SCTP, SCTP_EVENT, &event, sizeof(event));
  sockaddr_conn address{};
  address.sconn_family = AF_CONN;
  address.sconn_port = htons(5000);
  address.sconn_addr = end.token;
  usrsctp_bind(end.sock, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  usrsctp_connect(end.sock, reinterpret_cast<sockaddr*>(&address), sizeof(address));
}

void BM_BareUsrsctpThroughput(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  BareEnd a, b;
  OpenBare(a);
  OpenBare(b);
  Timestamp now = Timestamp::Seconds(1);
  auto pump = [&] {
    bool moved = false;
    for (int round = 0; round < 100000; ++round) {
      bool any = false;
      while (!a.out.empty()) {
        auto p = std::move(a.out.front());
        a.out.pop_front();
        usrsctp_conninput(b.token, p.data(), p.size(), 0);
        any = true;
      }
      while (!b.out.empty()) {
        auto p = std::move(b.out.front());
        b.out.pop_front();
        usrsctp_conninput(a.token, p.data(), p.size(), 0);
        any = true;
      }
      if (!any) break;
      moved = true;
    }
    return moved;
  };
  int64_t ticks = 0;
  auto tick = [&] {
    ++ticks;
    now = now + TimeDelta::Millis(10);
    a.library->advance_to(now);
  };
  a.library->advance_to(now);
  for (int i = 0; i < 1000 && !(a.up && b.up); ++i) if (!pump()) tick();
  const std::vector<uint8_t> message(size, 0x5a);
  sctp_sndinfo info{};
  info.snd_sid = 0;
  info.snd_ppid = htonl(53);
  info.snd_flags = SCTP_EOR;
  for (auto _ : state) {
    b.received = 0;
    size_t sent = 0;
    while (b.received < kBatch) {
      while (sent < kBatch && usrsctp_sendv(a.sock, message.data(), size, nullptr, 0, &info, sizeof(info),
                                            SCTP_SENDV_SNDINFO, 0) >= 0) {
        sent += size;
      }
      if (!pump()) tick();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBatch));
  state.counters["ticks"] = benchmark::Counter(static_cast<double>(ticks), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_BareUsrsctpThroughput)->Arg(1024)->Arg(16384)->Arg(262144)->Unit(benchmark::kMillisecond);

}  // namespace
