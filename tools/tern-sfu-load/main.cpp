// tern-sfu-load: a load generator for tern-sfu and the bare reference forwarder it is measured
// against (issue 17). K publishers each send one VP8-typed RTP stream at a fixed packet rate; M
// subscribers per stream receive it; every packet carries its publisher, a counter, its send time
// (CLOCK_MONOTONIC) and a checkable filler, all under real SRTP (AES_CM_128_HMAC_SHA1_80 or
// AEAD_AES_128_GCM, OpenSSL EVP like the server).
//
//   --target sfu: every publisher and subscriber is a WHIP/WHEP client of a running tern-sfu (HTTP
//     POST of an SDP offer; then ICE (full, controlling, against the server's ICE-lite), DTLS (this
//     side the DTLS server, offering only the chosen SRTP profile) and SRTP keyed from DTLS), one UDP
//     socket each on 127.0.0.1, as a browser would.
//   --target reference: the same clients with pre-shared SRTP keys and a forked child process that
//     only forwards: recvmmsg -> unprotect (the publisher's key) -> protect per subscriber (its own
//     key) -> sendmmsg. No ICE, DTLS, RTCP, sequence rewriting, history or anything else. Its SRTP is
//     OpenSSL EVP (tern's transform) or libsrtp2 (--reference-srtp).
//
// Measured over --duration seconds once every session is connected (after --warmup): packets
// received by subscribers per second, the forwarding process's CPU (the scheduler's run time of
// its threads, /proc/<pid>/task/*/schedstat) per subscriber-stream and per forwarded packet, its resident memory growth per
// subscriber (VmRSS before the subscribers joined vs at the end), and the one-hop latency p50/p99
// (subscriber receive time - publisher send time, same host clock; it includes both kernels' UDP
// paths and this program's own loop). Printed as one JSON object on stdout.
//
// Bounds: at most 64 publishers and 256 subscribers per publisher, 1..65535 packets per second per
// publisher; the latency histogram has 1 us buckets up to 1 s (beyond: counted in the last bucket);
// every wait is bounded (connect within --connect-timeout, the drain 300 ms).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <openssl/rand.h>

#include "tern/dtls/dtls_certificate.h"
#include "tern/dtls/dtls_srtp_keys.h"
#include "tern/dtls/dtls_transport.h"
#include "tern/ice/ice_agent.h"
#include "tern/sdp/webrtc_attributes.h"
#include "tern/tools/net/http_bridge.h"
#include "tern/transport/demuxer.h"
#include "tern/transport/epoll_driver.h"
#include "tern/transport/srtp_session.h"
#include "tern/transport/udp_socket.h"
#include "tern/whip/whip_client.h"

using namespace tern;

namespace {

constexpr uint8_t kPayloadType = 96;
constexpr char kMagic[8] = {'T', 'E', 'R', 'N', 'L', 'O', 'A', 'D'};
constexpr size_t kHeaderBytes = 1 + 8 + 8 + 4 + 4;  // VP8 descriptor, magic, send ns, publisher, counter
constexpr size_t kBatch = 32;

struct Options {
  std::string target = "sfu";
  std::string url = "http://127.0.0.1:8080";
  std::string token;
  int sfu_pid = 0;
  size_t publishers = 1;
  size_t subscribers = 2;
  int rate = 200;
  size_t size = 1000;
  double duration = 2;
  double warmup = 0.5;
  double connect_timeout = 20;
  std::string suite = "gcm";
  std::string reference_srtp = "openssl";  // the reference forwarder's SRTP: openssl (EVP) or libsrtp
  std::string room_prefix = "load";
};

int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

Timestamp now_ts() { return transport::EpollDriver::Now(); }

ice::TransportAddress to_ice(const transport::SocketAddress& a) {
  return ice::TransportAddress::Parse(a.ip_string(), a.port()).value();
}

// CPU seconds of a process, every thread: the scheduler's run time (/proc/<pid>/task/*/schedstat,
// nanoseconds; tick-sampled utime + stime misattribute short bursts on a busy machine). Threads that
// ended are not counted (tern-sfu's workers live as long as the process). -1 when unreadable.
double process_cpu_seconds(int pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  double total = 0;
  for (int n = 0; n < 4096; ++n) {  // bounded
    const dirent* e = readdir(d);
    if (e == nullptr) break;
    if (e->d_name[0] == '.') continue;
    std::ifstream in(dir + "/" + e->d_name + "/schedstat");
    double ns = 0;
    if (in >> ns) total += ns * 1e-9;
  }
  closedir(d);
  return total;
}

// VmRSS of a process in KiB; -1 when unreadable.
double process_rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6));
  }
  return -1;
}

std::string random_chars(size_t n) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::vector<uint8_t> bytes(n);
  RAND_bytes(bytes.data(), static_cast<int>(n));
  std::string s;
  for (uint8_t b : bytes) s.push_back(kChars[b % 62]);
  return s;
}

std::vector<uint8_t> random_bytes(size_t n) {
  std::vector<uint8_t> b(n);
  RAND_bytes(b.data(), static_cast<int>(n));
  return b;
}

// A browser-like WebRTC offer: one BUNDLEd video section, VP8 96 with NACK/PLI/transport-cc and
// RTX 97, the server's header extension ids (abs-send-time 2, transport-wide-cc 3, mid 4).
std::string make_offer(bool publisher, const ice::IceCredentials& ice, const std::string& fingerprint, uint32_t ssrc,
                       uint32_t rtx_ssrc) {
  std::string o = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n";
  o += "a=msid-semantic: WMS\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n";
  o += "a=ice-ufrag:" + ice.ufrag + "\r\na=ice-pwd:" + ice.pwd + "\r\n";
  o += "a=fingerprint:" + fingerprint + "\r\na=setup:actpass\r\na=mid:0\r\n";
  o += "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n";
  o += "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n";
  o += "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n";
  o += publisher ? "a=sendonly\r\n" : "a=recvonly\r\n";
  o += "a=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 transport-cc\r\n";
  o += "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n";
  if (publisher) {
    o += "a=ssrc-group:FID " + std::to_string(ssrc) + " " + std::to_string(rtx_ssrc) + "\r\n";
    o += "a=ssrc:" + std::to_string(ssrc) + " cname:tern-load\r\na=ssrc:" + std::to_string(rtx_ssrc) + " cname:tern-load\r\n";
  }
  return o;
}

struct Answer {
  ice::IceCredentials ice;
  std::string fingerprint;
  std::optional<ice::TransportAddress> candidate;
};

// The few lines of the server's answer the client needs.
Answer parse_answer(const std::string& sdp) {
  Answer a;
  std::istringstream in(sdp);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto value = [&](const char* prefix) -> std::optional<std::string> {
      if (line.rfind(prefix, 0) != 0) return std::nullopt;
      return line.substr(std::strlen(prefix));
    };
    if (auto v = value("a=ice-ufrag:")) a.ice.ufrag = *v;
    if (auto v = value("a=ice-pwd:")) a.ice.pwd = *v;
    if (auto v = value("a=fingerprint:")) a.fingerprint = *v;
    if (auto v = value("a=candidate:"); v && !a.candidate) {
      std::istringstream f(*v);
      std::string foundation, component, proto, priority, ip, port;
      if (f >> foundation >> component >> proto >> priority >> ip >> port) {
        auto t = ice::TransportAddress::Parse(ip, static_cast<uint16_t>(std::stoi(port)));
        if (t) a.candidate = *t;
      }
    }
  }
  return a;
}

// The client side of one WHIP/WHEP session: ICE (full, controlling) -> DTLS server -> SRTP.
class ClientTransport {
 public:
  static Result<std::unique_ptr<ClientTransport>> Create(const transport::SocketAddress& local,
                                                         const ice::IceCredentials& credentials,
                                                         std::shared_ptr<const dtls::DtlsCertificate> certificate,
                                                         uint16_t srtp_profile, uint64_t seed) {
    ice::IceAgentConfig ac;
    ac.role = ice::IceRole::kControlling;
    ac.sockets = {ice::LocalSocket{0, to_ice(local), {}}};
    ac.credentials = credentials;
    ac.seed = seed;
    ac.nomination_delay = TimeDelta::Millis(20);
    auto agent = ice::IceAgent::Create(std::move(ac));
    if (!agent) return Error{agent.error()};
    dtls::DtlsConfig dc;
    dc.role = dtls::DtlsRole::kServer;
    dc.certificate = std::move(certificate);
    dc.srtp_profiles = {srtp_profile};
    auto d = dtls::DtlsTransport::Create(std::move(dc));
    if (!d) return Error{d.error()};
    return std::unique_ptr<ClientTransport>(new ClientTransport(std::move(agent).value(), std::move(d).value()));
  }

  Status start(const Answer& answer, Timestamp now) {
    auto fp = dtls::CertificateFingerprint::parse(answer.fingerprint);
    if (!fp) return Error{"answer: bad fingerprint"};
    if (!answer.candidate) return Error{"answer: no candidate"};
    dtls_->set_remote_fingerprint(*fp, now);
    agent_.set_remote_lite(true);
    agent_.start(now);
    agent_.set_remote_credentials(answer.ice, now);
    ice::Candidate c;
    c.foundation = "1";
    c.component = 1;
    c.type = ice::CandidateType::kHost;
    c.priority = ice::candidate_priority(ice::CandidateType::kHost, 65535, 1);
    c.address = *answer.candidate;
    agent_.add_remote_candidate(c, now);
    agent_.end_of_remote_candidates(now);
    dtls_->start(now);
    return {};
  }

  // A datagram from the server: ICE handled here, DTLS fed, SRTP media returned for the caller.
  bool on_datagram(const ice::TransportAddress& source, std::span<const uint8_t> data, Timestamp now) {
    const auto inbound = agent_.on_datagram(0, source, data, now);
    if (inbound != ice::IceAgent::Inbound::kApplication) {
      pump(now);
      return false;
    }
    if (transport::classify(data) == transport::PacketClass::kDtls) {
      dtls_->on_datagram(data, now);
      pump(now);
      return false;
    }
    return true;  // SRTP or SRTCP
  }
  std::optional<Timestamp> next_wakeup() const {
    std::optional<Timestamp> at = agent_.next_wakeup();
    if (auto d = dtls_->next_wakeup(); d && (!at || *d < *at)) at = d;
    return at;
  }
  void process(Timestamp now) {
    if (auto at = agent_.next_wakeup(); at && *at <= now) agent_.process(now);
    if (auto at = dtls_->next_wakeup(); at && *at <= now) dtls_->process(now);
    pump(now);
  }
  Status send(std::span<const uint8_t> data, Timestamp now) { return agent_.send(data, now); }
  std::vector<ice::IceOutgoing> take_outgoing() { return agent_.take_outgoing(); }
  bool failed() const { return agent_.state() == ice::IceState::kFailed || dtls_->state() == dtls::DtlsState::kFailed; }
  // Set once DTLS connected: the SRTP configs (send, receive).
  std::optional<transport::DtlsSrtpConfigs> keys;

 private:
  ClientTransport(ice::IceAgent agent, std::unique_ptr<dtls::DtlsTransport> d) : agent_(std::move(agent)), dtls_(std::move(d)) {}
  void pump(Timestamp now) {
    while (agent_.poll_event()) {
    }
    while (auto d = dtls_->pop_outgoing()) (void)agent_.send(*d, now);
    while (dtls_->pop_application()) {
    }
    if (!keys && dtls_->state() == dtls::DtlsState::kConnected) {
      if (const auto& k = dtls_->srtp_keys()) {
        if (auto c = transport::srtp_configs_from_dtls(k->profile, k->local, k->remote)) keys = *c;
      }
    }
  }
  ice::IceAgent agent_;
  std::unique_ptr<dtls::DtlsTransport> dtls_;
};

// One publisher or subscriber of the load.
struct Peer {
  bool publisher = false;
  size_t stream = 0;  // the publisher's index (a subscriber's: the one it watches)
  transport::UdpSocket socket;
  transport::SocketAddress remote;  // the reference forwarder (reference target)
  std::unique_ptr<ClientTransport> ice;  // sfu target
  std::optional<transport::SrtpSession> tx, rx;
  std::string resource;  // the WHIP/WHEP resource URL (DELETE at the end)
  // publisher
  uint32_t ssrc = 0;
  uint16_t seq = 0;
  uint32_t counter = 0;
  uint64_t sent = 0;
  // subscriber
  uint64_t received = 0, intact = 0, corrupt = 0, other = 0, unprotect_failures = 0;
  bool connected() const { return tx.has_value(); }
};

// The latency histogram: 1 us buckets up to 1 s.
class Histogram {
 public:
  Histogram() : buckets_(1000001, 0) {}
  void add(int64_t ns) {
    int64_t us = std::clamp<int64_t>(ns / 1000, 0, int64_t(buckets_.size()) - 1);
    ++buckets_[size_t(us)];
    ++count_;
  }
  double percentile(double p) const {
    if (count_ == 0) return 0;
    const uint64_t rank = std::max<uint64_t>(1, uint64_t(p * double(count_) + 0.5));
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank) return double(i);
    }
    return double(buckets_.size() - 1);
  }
  uint64_t count() const { return count_; }
  void clear() {
    std::fill(buckets_.begin(), buckets_.end(), 0);
    count_ = 0;
  }

 private:
  std::vector<uint32_t> buckets_;
  uint64_t count_ = 0;
};

void fill_payload(std::vector<uint8_t>& p, size_t header, size_t stream, uint32_t counter, int64_t send_ns) {
  uint8_t* d = p.data() + header;
  d[0] = 0x10;  // VP8 payload descriptor: S=1, partition 0
  std::memcpy(d + 1, kMagic, 8);
  for (int i = 0; i < 8; ++i) d[9 + i] = uint8_t(uint64_t(send_ns) >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) d[17 + i] = uint8_t(uint32_t(stream) >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) d[21 + i] = uint8_t(counter >> (24 - 8 * i));
  for (size_t i = kHeaderBytes; i < p.size() - header; ++i) d[i] = uint8_t(counter * 7 + i);
}

// Checks a received RTP packet (decrypted) against what its publisher sent; returns the send time.
std::optional<int64_t> check_payload(std::span<const uint8_t> rtp, size_t stream, size_t size, bool& intact) {
  intact = false;
  if (rtp.size() < 12 || (rtp[0] >> 6) != 2 || (rtp[1] & 0x7f) != kPayloadType) return std::nullopt;
  size_t off = 12 + 4 * size_t(rtp[0] & 0x0f);
  if (rtp[0] & 0x10) {  // header extension
    if (rtp.size() < off + 4) return std::nullopt;
    off += 4 + 4 * ((size_t(rtp[off + 2]) << 8) | rtp[off + 3]);
  }
  size_t end = rtp.size();
  if (rtp[0] & 0x20) {  // padding
    if (end <= off || rtp[end - 1] > end - off) return std::nullopt;
    end -= rtp[end - 1];
  }
  if (end < off + kHeaderBytes || std::memcmp(rtp.data() + off + 1, kMagic, 8) != 0) return std::nullopt;
  const uint8_t* d = rtp.data() + off;
  uint64_t ns = 0;
  for (int i = 0; i < 8; ++i) ns = (ns << 8) | d[9 + i];
  uint32_t s = 0, counter = 0;
  for (int i = 0; i < 4; ++i) s = (s << 8) | d[17 + i];
  for (int i = 0; i < 4; ++i) counter = (counter << 8) | d[21 + i];
  bool ok = end - off == size && d[0] == 0x10 && s == stream;
  for (size_t i = kHeaderBytes; ok && i < end - off; ++i) ok = d[i] == uint8_t(counter * 7 + i);
  intact = ok;
  return int64_t(ns);
}

volatile sig_atomic_t g_stop = 0;
void on_term(int) { g_stop = 1; }

// ---- the reference forwarder (a forked child): nothing but the crypto and the sockets ----
struct RefRoute {
  uint32_t ssrc = 0;
  transport::SrtpSession rx;  // the publisher's key
  struct Out {
    transport::SocketAddress to;
    transport::SrtpSession tx;  // this subscriber's key
  };
  std::vector<Out> outs;
};

[[noreturn]] void run_reference(transport::UdpSocket& socket, std::vector<RefRoute>& routes) {
  signal(SIGTERM, on_term);
  timeval tv{0, 100000};
  setsockopt(socket.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  int flags = fcntl(socket.fd(), F_GETFL);
  fcntl(socket.fd(), F_SETFL, flags & ~O_NONBLOCK);  // block in recvmmsg (at most 100 ms)
  std::vector<std::array<uint8_t, 2048>> in(kBatch);
  std::vector<std::array<uint8_t, 2048>> out(kBatch);
  std::array<mmsghdr, kBatch> rmsg{}, smsg{};
  std::array<iovec, kBatch> riov{}, siov{};
  std::array<sockaddr_storage, kBatch> from{};
  size_t queued = 0;
  auto flush = [&] {
    size_t done = 0;
    for (int tries = 0; done < queued && tries < 1000; ++tries) {  // bounded: a full send buffer waits
      int n = sendmmsg(socket.fd(), smsg.data() + done, unsigned(queued - done), 0);
      if (n > 0) done += size_t(n);
      else if (n < 0 && errno != EAGAIN && errno != EINTR) break;
    }
    queued = 0;
  };
  while (!g_stop) {
    for (size_t i = 0; i < kBatch; ++i) {
      riov[i] = {in[i].data(), in[i].size()};
      rmsg[i] = mmsghdr{};
      rmsg[i].msg_hdr.msg_iov = &riov[i];
      rmsg[i].msg_hdr.msg_iovlen = 1;
      rmsg[i].msg_hdr.msg_name = &from[i];
      rmsg[i].msg_hdr.msg_namelen = sizeof(from[i]);
    }
    int n = recvmmsg(socket.fd(), rmsg.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (n <= 0) continue;
    for (int i = 0; i < n; ++i) {
      size_t size = rmsg[i].msg_len;
      if (size < 12) continue;
      const uint32_t ssrc = (uint32_t(in[i][8]) << 24) | (uint32_t(in[i][9]) << 16) | (uint32_t(in[i][10]) << 8) | in[i][11];
      RefRoute* route = nullptr;
      for (RefRoute& r : routes) {
        if (r.ssrc == ssrc) route = &r;
      }
      if (route == nullptr || !route->rx.unprotect_rtp(std::span<uint8_t>(in[i]), size).ok()) continue;
      for (RefRoute::Out& o : route->outs) {
        std::memcpy(out[queued].data(), in[i].data(), size);
        size_t s = size;
        if (!o.tx.protect_rtp(std::span<uint8_t>(out[queued]), s).ok()) continue;
        siov[queued] = {out[queued].data(), s};
        smsg[queued] = mmsghdr{};
        smsg[queued].msg_hdr.msg_iov = &siov[queued];
        smsg[queued].msg_hdr.msg_iovlen = 1;
        smsg[queued].msg_hdr.msg_name = const_cast<sockaddr*>(o.to.sockaddr_ptr());
        smsg[queued].msg_hdr.msg_namelen = o.to.sockaddr_len();
        if (++queued == kBatch) flush();
      }
    }
    flush();
  }
  _exit(0);
}

int fail(const std::string& what) {
  std::fprintf(stderr, "tern-sfu-load: %s\n", what.c_str());
  return 1;
}

transport::SrtpSession make_session(transport::SrtpProfile profile, const std::vector<uint8_t>& key,
                                    transport::SrtpDirection direction,
                                    transport::SrtpBackend backend = transport::SrtpBackend::kOpenSsl) {
  transport::SrtpConfig c;
  c.backend = backend;
  c.profile = profile;
  c.key_material = key;
  c.direction = direction;
  c.replay_window = 1024;
  return transport::SrtpSession::Create(c).value();
}

class Load {
 public:
  explicit Load(const Options& o) : o_(o) {}

  int run() {
    const bool gcm = o_.suite == "gcm";
    profile_ = gcm ? transport::SrtpProfile::kAeadAes128Gcm : transport::SrtpProfile::kAesCm128HmacSha1_80;
    const uint16_t dtls_profile = gcm ? dtls::kSrtpAeadAes128Gcm : dtls::kSrtpAes128CmSha1_80;
    const bool reference = o_.target == "reference";
    // Sockets first (the reference child needs every address).
    for (size_t k = 0; k < o_.publishers; ++k) {
      for (size_t m = 0; m <= o_.subscribers; ++m) {
        Peer p;
        p.publisher = m == 0;
        p.stream = k;
        transport::UdpSocketConfig sc;
        sc.receive_buffer_bytes = 4 << 20;
        auto s = transport::UdpSocket::Open(transport::SocketAddress::LoopbackV4(0), sc);
        if (!s) return fail(s.error());
        p.socket = std::move(s).value();
        p.ssrc = p.publisher ? 0x2A000000u + uint32_t(k) * 16 : 0;  // media; RTX = +1
        peers_.push_back(std::move(p));
      }
    }
    int pid = o_.sfu_pid;
    if (reference) {
      transport::UdpSocketConfig sc;
      sc.receive_buffer_bytes = 4 << 20;
      sc.send_buffer_bytes = 4 << 20;
      auto fwd = transport::UdpSocket::Open(transport::SocketAddress::LoopbackV4(0), sc);
      if (!fwd) return fail(fwd.error());
      std::vector<RefRoute> routes;
      const size_t key_size = transport::srtp_key_material_size(profile_);
      // The forwarder's own sessions use the chosen backend; the clients' stay on EVP (their cost is
      // not measured).
      const auto ref_backend =
          transport::srtp_backend_from_string(o_.reference_srtp).value_or(transport::SrtpBackend::kOpenSsl);
      for (Peer& p : peers_) {
        const std::vector<uint8_t> key = random_bytes(key_size);
        p.remote = fwd->local_address();
        if (p.publisher) {
          p.tx = make_session(profile_, key, transport::SrtpDirection::kSend);
          RefRoute r;
          r.ssrc = p.ssrc;
          r.rx = make_session(profile_, key, transport::SrtpDirection::kReceive, ref_backend);
          routes.push_back(std::move(r));
        } else {
          p.rx = make_session(profile_, key, transport::SrtpDirection::kReceive);
          p.tx = transport::SrtpSession();  // keyed in advance: "connected" (a subscriber sends nothing)
          routes.back().outs.push_back({p.socket.local_address(), make_session(profile_, key, transport::SrtpDirection::kSend, ref_backend)});
        }
      }
      pid = fork();
      if (pid < 0) return fail("fork failed");
      if (pid == 0) run_reference(*fwd, routes);
      child_ = pid;
    }
    if (pid <= 0) {  // tern-sfu's /stats names its process
      std::string why;
      pid = sfu_pid_from_stats(why);
      if (pid <= 0) return fail("no tern-sfu process id (--sfu-pid, or /stats at --url): " + why);
    }
    const double rss_start = process_rss_kib(pid);
    const int64_t setup_start = mono_ns();
    if (!reference) {
      if (int rc = signal_all(dtls_profile, /*publishers=*/true); rc != 0) return rc;
      if (!wait_connected(true)) return finish_error("publishers did not connect");
    }
    const double rss_publishers = process_rss_kib(pid);
    if (!reference) {
      if (int rc = signal_all(dtls_profile, false); rc != 0) return rc;
      if (!wait_connected(false)) return finish_error("subscribers did not connect");
      // The server (the DTLS client) is keyed once our Finished reached it: give it that flight.
      for (const int64_t until = mono_ns() + 200000000; mono_ns() < until;) poll_once(5, false);
    }
    const double setup_seconds = double(mono_ns() - setup_start) * 1e-9;

    // Traffic: warm-up, then the measured window, then a short drain.
    const int64_t start = mono_ns();
    pump_until(start + int64_t(o_.warmup * 1e9), true);
    const double cpu0 = process_cpu_seconds(pid);
    const uint64_t received0 = total_received(), sent0 = total_sent();
    latency_.clear();
    const int64_t window_start = mono_ns();
    pump_until(window_start + int64_t(o_.duration * 1e9), true);
    const int64_t window_end = mono_ns();
    const double cpu1 = process_cpu_seconds(pid);
    const uint64_t received1 = total_received(), sent1 = total_sent();
    const double rss_end = process_rss_kib(pid);
    pump_until(mono_ns() + 300000000, false);  // the last packets in flight
    end_sessions();

    const double window = double(window_end - window_start) * 1e-9;
    const double streams = double(o_.publishers * o_.subscribers);
    const double forwarded = double(received1 - received0);
    const double cpu = cpu1 - cpu0;
    nlohmann::json r;
    r["target"] = o_.target;
    r["suite"] = gcm ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80";
    if (reference) r["referenceSrtp"] = o_.reference_srtp;
    r["publishers"] = o_.publishers;
    r["subscribersPerStream"] = o_.subscribers;
    r["subscriberStreams"] = o_.publishers * o_.subscribers;
    r["ratePerPublisher"] = o_.rate;
    r["payloadBytes"] = o_.size;
    r["setupSeconds"] = setup_seconds;
    r["windowSeconds"] = window;
    r["offeredPps"] = double(sent1 - sent0) * double(o_.subscribers) / window;
    r["forwardedPps"] = forwarded / window;
    r["cpuSeconds"] = cpu;
    r["cpuPercent"] = 100.0 * cpu / window;
    r["cpuPercentPerSubscriberStream"] = 100.0 * cpu / window / streams;
    r["forwardedPerCpuSecond"] = cpu > 0 ? forwarded / cpu : 0.0;
    r["rssStartKiB"] = rss_start;
    r["rssPublishersKiB"] = rss_publishers;
    r["rssEndKiB"] = rss_end;
    r["rssPerSubscriberKiB"] = (rss_end - rss_publishers) / streams;
    r["latencyUs"] = {{"p50", latency_.percentile(0.5)}, {"p99", latency_.percentile(0.99)}, {"samples", latency_.count()}};
    nlohmann::json subs = nlohmann::json::array();
    uint64_t sent_total = 0, received_total = 0, intact_total = 0, corrupt_total = 0, failures = 0;
    for (const Peer& p : peers_) {
      if (p.publisher) {
        sent_total += p.sent;
        continue;
      }
      received_total += p.received;
      intact_total += p.intact;
      corrupt_total += p.corrupt;
      failures += p.unprotect_failures;
      subs.push_back({{"stream", p.stream}, {"expected", publisher_of(p.stream).sent}, {"received", p.received},
                      {"intact", p.intact}, {"corrupt", p.corrupt}, {"unprotectFailures", p.unprotect_failures}});
    }
    r["sent"] = sent_total;
    r["expected"] = sent_total * o_.subscribers;
    r["received"] = received_total;
    r["intact"] = intact_total;
    r["corrupt"] = corrupt_total;
    r["unprotectFailures"] = failures;
    r["subscribers"] = subs;
    stop_child();
    std::printf("%s\n", r.dump(2).c_str());
    return 0;
  }

 private:
  Peer& publisher_of(size_t stream) { return peers_[stream * (o_.subscribers + 1)]; }
  uint64_t total_received() const {
    uint64_t n = 0;
    for (const Peer& p : peers_) n += p.received;
    return n;
  }
  uint64_t total_sent() const {
    uint64_t n = 0;
    for (const Peer& p : peers_) n += p.sent;
    return n;
  }
  int finish_error(const std::string& what) {
    stop_child();
    return fail(what);
  }
  void stop_child() {
    if (child_ > 0) {
      kill(child_, SIGTERM);
      int status = 0;
      waitpid(child_, &status, 0);
      child_ = 0;
    }
  }

  // The process id in tern-sfu's /stats, or why there is none (the request's own error, e.g. a
  // TLS failure against an HTTPS server, is passed on).
  int sfu_pid_from_stats(std::string& why) {
    const std::string stats = o_.url + "/stats", where = "GET " + stats;
    auto url = whip::HttpUrl::parse(stats);
    if (!url) {
      why = std::string("--url: ") + url.error();
      return 0;
    }
    whip::HttpRequest request;
    request.method = "GET";
    request.path = url->path;
    auto response = tools::net::http_request(*url, request, TimeDelta::Seconds(5));
    if (!response) {
      why = where + ": " + response.error();
      return 0;
    }
    if (response->status != 200) {
      why = where + " answered " + std::to_string(response->status);
      return 0;
    }
    const auto j = nlohmann::json::parse(response->body, nullptr, false);
    const int pid = j.is_object() ? j.value("pid", 0) : 0;
    if (pid <= 0) why = where + " gave no \"pid\"";
    return pid;
  }

  // WHIP (publishers) or WHEP (subscribers) for every peer of that kind.
  int signal_all(uint16_t dtls_profile, bool publishers) {
    if (!certificate_) {
      auto c = dtls::DtlsCertificate::Generate("tern-sfu-load");
      if (!c) return fail(c.error());
      certificate_ = *c;
    }
    auto base = whip::HttpUrl::parse(o_.url);
    if (!base) return fail(std::string("--url: ") + base.error());
    uint64_t seed = 1;
    for (Peer& p : peers_) {
      ++seed;
      if (p.publisher != publishers) continue;
      ice::IceCredentials creds{random_chars(8), random_chars(24)};
      auto t = ClientTransport::Create(p.socket.local_address(), creds, certificate_, dtls_profile, seed);
      if (!t) return fail(t.error());
      p.ice = std::move(t).value();
      const Peer& pub = publisher_of(p.stream);
      whip::HttpRequest request;
      request.method = "POST";
      request.path = std::string(p.publisher ? "/whip/" : "/whep/") + o_.room_prefix + "-" + std::to_string(p.stream);
      request.headers.emplace_back("Content-Type", "application/sdp");
      if (!o_.token.empty()) request.headers.emplace_back("Authorization", "Bearer " + o_.token);
      request.body = make_offer(p.publisher, creds, certificate_->fingerprint().to_string(), pub.ssrc, pub.ssrc + 1);
      whip::HttpUrl url = *base;
      url.path = request.path;
      auto response = tools::net::http_request(url, request, TimeDelta::Seconds(10));
      if (!response) return fail(request.path + ": " + response.error());
      if (response->status != 201)
        return fail(request.path + ": HTTP " + std::to_string(response->status) + " " + response->body);
      if (auto location = response->header("Location")) {
        if (auto resolved = url.resolve(*location)) p.resource = resolved->to_string();
      }
      if (Status st = p.ice->start(parse_answer(response->body), now_ts()); !st.ok()) return fail(st.error());
      flush_ice(p);
      poll_once(0, false);  // keep earlier sessions' handshakes going
    }
    return 0;
  }

  bool wait_connected(bool publishers) {
    const int64_t deadline = mono_ns() + int64_t(o_.connect_timeout * 1e9);
    while (mono_ns() < deadline) {  // bounded by --connect-timeout
      bool all = true;
      for (const Peer& p : peers_) {
        if (p.publisher == publishers && !p.connected()) all = false;
        if (p.publisher == publishers && p.ice && p.ice->failed()) return false;
      }
      if (all) return true;
      poll_once(5, false);
    }
    return false;
  }

  void end_sessions() {
    for (Peer& p : peers_) {
      if (p.resource.empty()) continue;
      auto url = whip::HttpUrl::parse(p.resource);
      if (!url) continue;
      whip::HttpRequest request;
      request.method = "DELETE";
      request.path = url->path;
      if (!o_.token.empty()) request.headers.emplace_back("Authorization", "Bearer " + o_.token);
      (void)tools::net::http_request(*url, request, TimeDelta::Seconds(2));
    }
  }

  void flush_ice(Peer& p) {
    if (!p.ice) return;
    for (ice::IceOutgoing& o : p.ice->take_outgoing()) {
      auto to = transport::SocketAddress::Parse(sdp::ip_string(o.destination), o.destination.port);
      if (to) (void)p.socket.send_to(o.data, *to);
    }
  }

  void ensure_epoll() {
    if (epoll_fd_ >= 0) return;
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    for (size_t i = 0; i < peers_.size(); ++i) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, peers_[i].socket.fd(), &ev);
    }
  }

  // One round: wait up to `timeout_ms` for datagrams, read them all, run the sessions' timers.
  void poll_once(int timeout_ms, bool measure) {
    ensure_epoll();
    std::array<epoll_event, 256> events;
    const int n = epoll_wait(epoll_fd_, events.data(), int(events.size()), timeout_ms);
    for (int e = 0; e < n; ++e) read_peer(peers_[events[size_t(e)].data.u64], measure);
    const Timestamp now = now_ts();
    if (now >= next_timers_) {  // every 5 ms: ICE consent, DTLS retransmissions
      next_timers_ = now + TimeDelta::Millis(5);
      for (Peer& p : peers_) {
        if (!p.ice) continue;
        if (auto at = p.ice->next_wakeup(); at && *at <= now) p.ice->process(now);
        after_ice(p);
      }
    }
  }

  void after_ice(Peer& p) {
    if (p.ice->keys && !p.tx) {
      p.tx = transport::SrtpSession::Create(p.ice->keys->send).value();
      p.rx = transport::SrtpSession::Create(p.ice->keys->receive).value();
    }
    flush_ice(p);
  }

  void read_peer(Peer& p, bool measure) {
    for (int round = 0; round < 8; ++round) {  // bounded per wakeup
      std::array<transport::Datagram, kBatch> slots;
      for (size_t i = 0; i < kBatch; ++i) slots[i].buffer = std::span<uint8_t>(buffers_[i]);
      auto got = p.socket.receive_batch(slots);
      if (!got.ok() || *got == 0) return;
      const int64_t recv_ns = mono_ns();
      const Timestamp now = now_ts();
      for (size_t i = 0; i < *got; ++i) {
        if (slots[i].truncated) continue;
        std::span<uint8_t> data = slots[i].buffer.first(slots[i].size);
        if (p.ice) {
          if (!p.ice->on_datagram(to_ice(slots[i].peer), data, now)) {
            after_ice(p);
            continue;
          }
        }
        if (p.publisher || !p.rx) continue;  // the server's RTCP to a publisher: not needed here
        if (transport::classify(data) != transport::PacketClass::kRtp) continue;  // SRTCP (SR etc.)
        size_t size = data.size();
        if (!p.rx->unprotect_rtp(slots[i].buffer, size).ok()) {
          ++p.unprotect_failures;
          continue;
        }
        bool intact = false;
        auto sent_ns = check_payload(slots[i].buffer.first(size), p.stream, o_.size, intact);
        if (!sent_ns) {
          ++p.other;
          continue;
        }
        ++p.received;
        if (intact) ++p.intact;
        else ++p.corrupt;
        if (measure) latency_.add(recv_ns - *sent_ns);
      }
      if (*got < kBatch) return;
    }
  }

  // Publishers send at --rate until `until` (when `send`), everyone reads.
  void pump_until(int64_t until, bool send) {
    if (send && pace_start_ns_ == 0) pace_start_ns_ = mono_ns();
    std::vector<uint8_t> packet;
    while (mono_ns() < until) {
      if (send) {
        const int64_t t = mono_ns();
        const uint64_t due = uint64_t(double(t - pace_start_ns_) * 1e-9 * o_.rate) + 1;
        for (size_t k = 0; k < o_.publishers; ++k) {
          Peer& p = publisher_of(k);
          for (int burst = 0; p.sent < due && burst < 64; ++burst) send_packet(p, packet);
        }
      }
      poll_once(1, send);
    }
  }

  void send_packet(Peer& p, std::vector<uint8_t>& packet) {
    packet.assign(12 + o_.size, 0);
    packet[0] = 0x80;
    packet[1] = 0x80 | kPayloadType;  // marker: one packet per frame
    packet[2] = uint8_t(p.seq >> 8);
    packet[3] = uint8_t(p.seq);
    const uint32_t ts = uint32_t(uint64_t(p.counter) * 90000 / uint64_t(o_.rate));
    for (int i = 0; i < 4; ++i) packet[4 + i] = uint8_t(ts >> (24 - 8 * i));
    for (int i = 0; i < 4; ++i) packet[8 + i] = uint8_t(p.ssrc >> (24 - 8 * i));
    fill_payload(packet, 12, p.stream, p.counter, mono_ns());
    ++p.seq;
    ++p.counter;
    ++p.sent;
    if (!p.tx->protect_rtp(packet).ok()) return;
    if (p.ice) {
      (void)p.ice->send(packet, now_ts());
      flush_ice(p);
    } else {
      (void)p.socket.send_to(packet, p.remote);
    }
  }

  const Options& o_;
  transport::SrtpProfile profile_ = transport::SrtpProfile::kAeadAes128Gcm;
  std::shared_ptr<const dtls::DtlsCertificate> certificate_;
  std::vector<Peer> peers_;
  std::array<std::array<uint8_t, 2048>, kBatch> buffers_{};
  Histogram latency_;
  int epoll_fd_ = -1;
  int child_ = 0;
  Timestamp next_timers_ = Timestamp::Zero();
  int64_t pace_start_ns_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"tern-sfu-load: publishers and subscribers over real SRTP against tern-sfu or a bare reference forwarder"};
  app.add_option("--target", o.target, "sfu (a running tern-sfu at --url) or reference (a forked bare forwarder)")
      ->check(CLI::IsMember({"sfu", "reference"}));
  app.add_option("--url", o.url, "tern-sfu's base URL (POST <url>/whip/<room>, <url>/whep/<room>)");
  app.add_option("--token", o.token, "Bearer token for tern-sfu");
  app.add_option("--sfu-pid", o.sfu_pid, "tern-sfu's process id (CPU and memory from /proc/<pid>)");
  app.add_option("-K,--publishers", o.publishers, "Publishers (one room and one stream each)")->check(CLI::Range(1, 64));
  app.add_option("-M,--subscribers", o.subscribers, "Subscribers per publisher")->check(CLI::Range(1, 256));
  app.add_option("--rate", o.rate, "RTP packets per second per publisher")->check(CLI::Range(1, 65535));
  app.add_option("--size", o.size, "RTP payload bytes per packet")->check(CLI::Range(int(kHeaderBytes), 1200));
  app.add_option("--duration", o.duration, "Measured seconds")->check(CLI::Range(0.1, 600.0));
  app.add_option("--warmup", o.warmup, "Seconds of traffic before measuring")->check(CLI::Range(0.0, 60.0));
  app.add_option("--connect-timeout", o.connect_timeout, "Seconds for every session to connect")->check(CLI::Range(1.0, 120.0));
  app.add_option("--suite", o.suite, "SRTP suite: gcm (AEAD_AES_128_GCM) or cm (AES_CM_128_HMAC_SHA1_80)")
      ->check(CLI::IsMember({"gcm", "cm"}));
  app.add_option("--reference-srtp", o.reference_srtp,
                 "The reference forwarder's SRTP: openssl (EVP, tern's transform; default) or libsrtp (libsrtp2, as "
                 "issue 17 defines the reference); the clients use EVP either way")
      ->check(CLI::IsMember({"openssl", "libsrtp"}));
  app.add_option("--room-prefix", o.room_prefix, "Rooms are <prefix>-<k>");
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);
  Load load(o);
  return load.run();
}
