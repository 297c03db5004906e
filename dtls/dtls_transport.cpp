#include "tern/dtls/dtls_transport.h"

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <string>

#include "tern/core/openssl_errors.h"
#include "tern/core/reason_text.h"

namespace tern::dtls {

// The OpenSSL objects and the callbacks that need the transport's private state. A nested class
// so that its static callbacks may touch DtlsTransport's members.
struct DtlsTransport::Impl {
  DtlsTransport* owner = nullptr;
  SSL* ssl = nullptr;  // owns the BIO; its SSL_CTX is the certificate's shared one
  // The datagram being fed: one BIO read takes it whole (a datagram is one read, as recvfrom).
  std::span<const uint8_t> input;
  const char* verify_failure = nullptr;  // set by the certificate check
  const char* alert_received = nullptr;  // a fatal alert from the peer
  std::string alert_sent;                // a fatal alert we sent, for the detail text

  ~Impl() { SSL_free(ssl); }

  // A BIO that turns each write into one datagram and hands one datagram per read: OpenSSL's DTLS
  // layer buffers a flight and writes it in MTU-sized datagrams (BIO_f_buffer over this one while
  // handshaking), so datagram boundaries survive, which a memory BIO would lose.
  static BIO_METHOD* method() {
    static BIO_METHOD* m = [] {
      BIO_METHOD* meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tern DTLS datagrams");
      if (meth == nullptr) return meth;
      BIO_meth_set_write(meth, &Impl::bio_write);
      BIO_meth_set_read(meth, &Impl::bio_read);
      BIO_meth_set_ctrl(meth, &Impl::bio_ctrl);
      return meth;
    }();
    return m;
  }
  static int bio_write(BIO* b, const char* data, int len) {
    BIO_clear_retry_flags(b);
    auto* self = static_cast<Impl*>(BIO_get_data(b));
    if (len <= 0) return 0;
    self->owner->emit(std::span(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len)));
    return len;  // taken (or dropped and counted when the queue is full: a lost datagram)
  }
  static int bio_read(BIO* b, char* out, int len) {
    BIO_clear_retry_flags(b);
    auto* self = static_cast<Impl*>(BIO_get_data(b));
    if (self->input.empty() || len <= 0) {
      BIO_set_retry_read(b);
      return -1;
    }
    // A datagram longer than the reader's buffer is truncated, as recvfrom would.
    const size_t n = std::min(self->input.size(), static_cast<size_t>(len));
    std::copy_n(self->input.data(), n, reinterpret_cast<uint8_t*>(out));
    self->input = {};
    return static_cast<int>(n);
  }
  static long bio_ctrl(BIO* b, int cmd, long /*num*/, void* /*ptr*/) {
    auto* self = static_cast<Impl*>(BIO_get_data(b));
    switch (cmd) {
      case BIO_CTRL_FLUSH: return 1;
      case BIO_CTRL_PENDING: return static_cast<long>(self->input.size());
      case BIO_CTRL_WPENDING: return 0;
      case BIO_CTRL_DGRAM_QUERY_MTU:
      case BIO_CTRL_DGRAM_GET_FALLBACK_MTU: return static_cast<long>(self->owner->config_.mtu);
      default: return 0;  // no peer address, no socket options, no MTU overhead
    }
  }

  // RFC 8122 5 / RFC 5763 5: the self-signed certificate is accepted exactly when its digest equals
  // the SDP fingerprint. Replaces X.509 chain verification entirely.
  static int verify(X509_STORE_CTX* store, void* /*arg*/) {
    const auto* ssl = static_cast<const SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* self = ssl != nullptr ? static_cast<Impl*>(SSL_get_app_data(ssl)) : nullptr;
    if (self == nullptr) return 0;
    DtlsTransport& t = *self->owner;
    X509* leaf = X509_STORE_CTX_get0_cert(store);
    const int len = leaf != nullptr ? i2d_X509(leaf, nullptr) : -1;
    if (len <= 0) {
      self->verify_failure = "the peer's certificate cannot be encoded";
      X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
      return 0;
    }
    t.remote_certificate_.resize(static_cast<size_t>(len));
    unsigned char* p = t.remote_certificate_.data();
    i2d_X509(leaf, &p);
    if (!t.config_.remote_fingerprint) return 1;  // checked when set_remote_fingerprint() comes
    if (!t.fingerprint_matches()) {
      ++t.counters_.fingerprint_mismatches;
      self->verify_failure = "the peer's certificate does not match the SDP fingerprint";
      X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
      return 0;
    }
    return 1;
  }

  static void info(const SSL* ssl, int where, int value) {
    if ((where & SSL_CB_ALERT) == 0) return;
    auto* self = static_cast<Impl*>(SSL_get_app_data(ssl));
    const bool fatal = (value >> 8) == SSL3_AL_FATAL;
    if (!fatal) return;  // close_notify arrives as a warning and is handled by SSL_read
    const std::string text = SSL_alert_desc_string_long(value);
    if ((where & SSL_CB_READ) != 0) {
      self->alert_received = lasting_reason("the peer sent a fatal DTLS alert: " + text, "the peer sent a fatal DTLS alert");
    } else {
      self->alert_sent = "sent fatal alert: " + text;
    }
  }

  // Retransmission timeout sequence (OpenSSL's DTLS_set_timer_cb): the configured initial value,
  // then doubling up to the configured maximum.
  static unsigned int timer(SSL* ssl, unsigned int previous_us) {
    const auto* self = static_cast<Impl*>(SSL_get_app_data(ssl));
    const DtlsConfig& c = self->owner->config_;
    if (previous_us == 0) return static_cast<unsigned int>(c.initial_retransmit.us());
    return static_cast<unsigned int>(std::min<int64_t>(2 * static_cast<int64_t>(previous_us), c.max_retransmit.us()));
  }
};

namespace {

constexpr char kCiphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305";
constexpr char kGroups[] = "X25519:P-256";
constexpr char kExporterLabel[] = "EXTRACTOR-dtls_srtp";  // RFC 5764 4.2

// DTLSPlaintext framing (RFC 6347 4.1): type(1) version(2) epoch(2) sequence(6) length(2) fragment.
// True when the datagram is a whole number of records of a DTLS 1.0/1.2 version and a content
// type this association can carry, every protected record (epoch > 0) is at least
// `min_protected` bytes, and, once `negotiated_version` is known (non-zero), every record but an
// alert carries it; counts the application_data records.
//
// The last rule and the length bound keep records away from OpenSSL 3.0's discard paths that run
// before a record's body is read (a wrong version, a length beyond SSL3_RT_MAX_ENCRYPTED_LENGTH):
// those drop the 13-byte header only and parse the body as further records, so a forged body can
// smuggle in a record OpenSSL fails the association on (found by fuzz/dtls_transport_fuzz.cpp: a
// DTLS 1.0-versioned record whose body held a short protected alert). The records dropped here are
// the ones OpenSSL would have discarded.
bool WellFramed(std::span<const uint8_t> d, size_t min_protected, uint16_t negotiated_version, uint64_t& application_records) {
  constexpr size_t kHeader = 13;
  constexpr size_t kMaxFragment = SSL3_RT_MAX_ENCRYPTED_LENGTH;
  application_records = 0;
  if (d.empty()) return false;
  while (!d.empty()) {
    if (d.size() < kHeader) return false;
    const uint8_t type = d[0];
    if (type < 20 || type > 23) return false;  // change_cipher_spec, alert, handshake, application_data
    if (d[1] != 0xFE || (d[2] != 0xFF && d[2] != 0xFD)) return false;  // DTLS 1.0 or 1.2
    const uint16_t version = static_cast<uint16_t>(d[1] << 8 | d[2]);
    if (negotiated_version != 0 && type != 21 && version != negotiated_version) return false;
    const size_t length = static_cast<size_t>(d[11]) << 8 | d[12];
    if (length > kMaxFragment || d.size() - kHeader < length) return false;
    const bool is_protected = d[3] != 0 || d[4] != 0;
    if (is_protected && length < min_protected) return false;
    if (type == 23) ++application_records;
    d = d.subspan(kHeader + length);
  }
  return true;
}

}  // namespace

std::string_view to_string(DtlsState state) {
  switch (state) {
    case DtlsState::kNew: return "new";
    case DtlsState::kConnecting: return "connecting";
    case DtlsState::kConnected: return "connected";
    case DtlsState::kClosed: return "closed";
    case DtlsState::kFailed: return "failed";
  }
  return "";
}

DtlsTransport::DtlsTransport(DtlsConfig config) : config_(std::move(config)), impl_(std::make_unique<Impl>()) {
  impl_->owner = this;
}

DtlsTransport::~DtlsTransport() = default;

// One SSL_CTX per certificate, made on first use and shared by every transport presenting it:
// OpenSSL 3.0's SSL_CTX_new costs more than a tenth of a handshake (bench/dtls_bench.cpp), and
// nothing in it is per association (use_srtp, MTU, timer and role are set on each SSL). Never
// modified after it is made, which is what OpenSSL needs to share a context across threads.
SSL_CTX* DtlsTransport::shared_context(const DtlsCertificate& certificate) {
  std::call_once(certificate.context_once_, [&] {
    SSL_CTX* ctx = SSL_CTX_new(DTLS_method());
    if (ctx == nullptr) return;
    // DTLS 1.2 only. A server picks its version from the ClientHello's legacy_version (0xFEFD for
    // a DTLS 1.3 client too), so an offer of 1.3 still lands on 1.2.
    const bool ok = SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) == 1 &&
                    SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) == 1 &&
                    SSL_CTX_set_cipher_list(ctx, kCiphers) == 1 && SSL_CTX_set1_groups_list(ctx, kGroups) == 1 &&
                    SSL_CTX_use_certificate(ctx, certificate.x509()) == 1 &&
                    SSL_CTX_use_PrivateKey(ctx, certificate.private_key()) == 1 && SSL_CTX_check_private_key(ctx) == 1;
    if (!ok) {
      SSL_CTX_free(ctx);
      return;
    }
    // No tickets, no session cache (every association is a fresh full handshake, as in WebRTC), no
    // renegotiation (keys never change under SRTP), the MTU is ours to set.
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_QUERY_MTU);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_cert_verify_callback(ctx, &Impl::verify, nullptr);  // finds its transport through the SSL
    certificate.context_ = ctx;
  });
  return certificate.context_;
}

Result<std::unique_ptr<DtlsTransport>> DtlsTransport::Create(DtlsConfig config) {
  if (!config.certificate) return Error{"DTLS: no certificate"};
  if (config.mtu < 256 || config.mtu > 16384) return Error{"DTLS: mtu must be in 256..16384"};
  if (config.initial_retransmit <= TimeDelta::Zero() || config.max_retransmit < config.initial_retransmit ||
      config.max_retransmit > TimeDelta::Seconds(60)) {
    return Error{"DTLS: retransmission timeouts must satisfy 0 < initial <= max <= 60 s"};
  }
  if (config.handshake_timeout <= TimeDelta::Zero()) return Error{"DTLS: handshake_timeout must be positive"};
  if (config.max_outgoing == 0 || config.max_received_application == 0) return Error{"DTLS: queue bounds must be positive"};
  std::string profiles;
  for (uint16_t p : config.srtp_profiles) {
    if (srtp_profile_openssl_name(p).empty()) return Error{"DTLS: unknown SRTP protection profile"};
    if (!profiles.empty()) profiles += ':';
    profiles += srtp_profile_openssl_name(p);
  }

  ERR_clear_error();
  SSL_CTX* ctx = shared_context(*config.certificate);
  if (ctx == nullptr) return Error{"DTLS: context setup failed"};
  std::unique_ptr<DtlsTransport> t(new DtlsTransport(std::move(config)));
  Impl& i = *t->impl_;
  const DtlsConfig& c = t->config_;
  i.ssl = SSL_new(ctx);
  BIO_METHOD* method = Impl::method();
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (i.ssl == nullptr || bio == nullptr) {
    BIO_free(bio);
    return Error{"DTLS: session creation failed"};
  }
  BIO_set_data(bio, &i);
  BIO_set_init(bio, 1);
  SSL_set_bio(i.ssl, bio, bio);  // one reference, owned by the SSL
  // SSL_set_tlsext_use_srtp returns 0 on success.
  if (!profiles.empty() && SSL_set_tlsext_use_srtp(i.ssl, profiles.c_str()) != 0) return Error{"DTLS: use_srtp setup failed"};
  SSL_set_app_data(i.ssl, &i);
  SSL_set_info_callback(i.ssl, &Impl::info);
  DTLS_set_timer_cb(i.ssl, &Impl::timer);
  if (SSL_set_mtu(i.ssl, static_cast<long>(c.mtu)) <= 0) return Error{"DTLS: OpenSSL refused the MTU"};
  if (c.role == DtlsRole::kClient) {
    SSL_set_connect_state(i.ssl);
  } else {
    SSL_set_accept_state(i.ssl);
  }
  return t;
}

void DtlsTransport::start(Timestamp now) {
  if (state_ != DtlsState::kNew) return;
  state_ = DtlsState::kConnecting;
  handshake_deadline_ = now + config_.handshake_timeout;
  pump(now);  // a client writes its ClientHello; a server finds nothing to read yet
}

void DtlsTransport::on_datagram(std::span<const uint8_t> datagram, Timestamp now) {
  ++counters_.datagrams_received;
  counters_.bytes_received += datagram.size();
  if (state_ == DtlsState::kNew && config_.role == DtlsRole::kServer) start(now);
  if (state_ != DtlsState::kConnecting && state_ != DtlsState::kConnected) {
    ++counters_.ignored_datagrams;
    return;
  }
  uint64_t application_records = 0;
  if (datagram.size() > kMaxDatagramSize ||
      !WellFramed(datagram, min_protected_record(), negotiated_record_version(), application_records)) {
    ++counters_.malformed_datagrams;
    return;
  }
  const bool was_connected = state_ == DtlsState::kConnected;
  const uint64_t before = counters_.application_received + counters_.application_dropped;
  impl_->input = datagram;
  pump(now);
  impl_->input = {};
  if (was_connected && state_ == DtlsState::kConnected) {
    const uint64_t delivered = counters_.application_received + counters_.application_dropped - before;
    if (delivered < application_records) counters_.discarded_records += application_records - delivered;
  }
}

// OpenSSL 3.0 quirk: a protected record shorter than the AEAD's explicit nonce + tag makes it send
// an internal_error alert and fail the association (found by tests/dtls: a 15-byte datagram from
// anyone on the path would kill a call), where RFC 6347 4.1.2.7 says to discard it silently. Such
// records are dropped here: AES-GCM records carry an 8-byte explicit nonce and a 16-byte tag,
// ChaCha20-Poly1305 records a 16-byte tag only (RFC 7905); 24 until the cipher is known.
size_t DtlsTransport::min_protected_record() const {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(impl_->ssl);
  if (cipher == nullptr) cipher = SSL_get_pending_cipher(impl_->ssl);
  return cipher != nullptr && SSL_CIPHER_get_cipher_nid(cipher) == NID_chacha20_poly1305 ? 16 : 24;
}

// The record version OpenSSL holds every record but alerts to once it has read the peer's first
// hello (its `first_packet` flag cleared, the version chosen); 0 before, when it takes either. Read
// from the handshake state, conservatively: a state that may still be reading the hello counts as
// before.
uint16_t DtlsTransport::negotiated_record_version() const {
  SSL* ssl = impl_->ssl;
  if (!handshake_done_) {
    switch (SSL_get_state(ssl)) {
      case TLS_ST_BEFORE:
      case TLS_ST_SR_CLNT_HELLO:
      case TLS_ST_CW_CLNT_HELLO:
      case DTLS_ST_CR_HELLO_VERIFY_REQUEST:
      case TLS_ST_CR_SRVR_HELLO: return 0;
      default: break;
    }
  }
  const int v = SSL_version(ssl);
  return v == DTLS1_2_VERSION || v == DTLS1_VERSION ? static_cast<uint16_t>(v) : 0;
}

std::optional<std::vector<uint8_t>> DtlsTransport::pop_outgoing() {
  if (outgoing_.empty()) return std::nullopt;
  std::vector<uint8_t> d = std::move(outgoing_.front());
  outgoing_.pop_front();
  return d;
}

void DtlsTransport::emit(std::span<const uint8_t> datagram) {
  if (outgoing_.size() >= config_.max_outgoing) {
    ++counters_.outgoing_dropped;
    return;
  }
  ++counters_.datagrams_sent;
  counters_.bytes_sent += datagram.size();
  outgoing_.emplace_back(datagram.begin(), datagram.end());
}

std::optional<Timestamp> DtlsTransport::next_wakeup() const {
  if (state_ != DtlsState::kConnecting && state_ != DtlsState::kConnected) return std::nullopt;
  std::optional<Timestamp> at = retransmit_at_;
  if (state_ == DtlsState::kConnecting && handshake_deadline_ && (!at || *handshake_deadline_ < *at)) at = handshake_deadline_;
  return at;
}

void DtlsTransport::process(Timestamp now) {
  if (state_ != DtlsState::kConnecting && state_ != DtlsState::kConnected) return;
  if (state_ == DtlsState::kConnecting && handshake_deadline_ && now >= *handshake_deadline_) {
    fail(handshake_done_ ? "the remote fingerprint was not given before the handshake deadline" : "DTLS handshake timed out", now);
    return;
  }
  if (!retransmit_at_ || now < *retransmit_at_) return;
  ERR_clear_error();
  // OpenSSL compares its deadline with gettimeofday(): under a simulator that is the virtual clock
  // (openssl_virtual_clock.h); with a real clock the two agree to within OpenSSL's 15 ms slack.
  const int r = DTLSv1_handle_timeout(impl_->ssl);
  if (r > 0) {
    ++counters_.retransmissions;
  } else if (r < 0) {
    fail("DTLS handshake gave up: too many retransmissions", now);
    return;
  }
  update_timer(now);
}

void DtlsTransport::update_timer(Timestamp now) {
  timeval left{};
  if (state_ == DtlsState::kConnecting || state_ == DtlsState::kConnected) {
    if (DTLSv1_get_timeout(impl_->ssl, &left) == 1) {
      retransmit_at_ = now + TimeDelta::Micros(static_cast<int64_t>(left.tv_sec) * 1000000 + left.tv_usec);
      return;
    }
  }
  retransmit_at_.reset();
}

void DtlsTransport::pump(Timestamp now) {
  if (state_ != DtlsState::kConnecting && state_ != DtlsState::kConnected) return;
  SSL* ssl = impl_->ssl;
  ERR_clear_error();
  if (!handshake_done_) {
    const int r = SSL_do_handshake(ssl);
    if (r == 1) {
      on_handshake_done(now);
      if (state_ == DtlsState::kFailed) return;
    } else {
      const int e = SSL_get_error(ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        fail(impl_->verify_failure ? impl_->verify_failure
             : impl_->alert_received ? impl_->alert_received
                                     : "DTLS handshake failed",
             now);
        return;
      }
    }
  }
  if (handshake_done_) read_application(now);
  update_timer(now);
}

void DtlsTransport::on_handshake_done(Timestamp now) {
  handshake_done_ = true;
  SSL* ssl = impl_->ssl;
  tls_version_ = SSL_get_version(ssl);
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  const char* standard = cipher != nullptr ? SSL_CIPHER_standard_name(cipher) : nullptr;
  cipher_suite_ = standard != nullptr ? standard : "";
  if (config_.require_extended_master_secret && SSL_get_extms_support(ssl) != 1) {
    fail("the peer did not negotiate the extended master secret (RFC 7627)", now);
    return;
  }
  if (remote_certificate_.empty()) {
    fail("the peer sent no certificate", now);
    return;
  }
  if (const SRTP_PROTECTION_PROFILE* p = SSL_get_selected_srtp_profile(ssl)) {
    const auto profile = static_cast<uint16_t>(p->id);
    const auto lengths = srtp_key_lengths(profile);
    if (!lengths) {
      fail("DTLS-SRTP: the negotiated protection profile is unknown", now);
      return;
    }
    std::vector<uint8_t> exported(2 * (lengths->key + lengths->salt));
    if (SSL_export_keying_material(ssl, exported.data(), exported.size(), kExporterLabel, sizeof(kExporterLabel) - 1,
                                   nullptr, 0, 0) != 1) {
      fail("DTLS-SRTP: exporting the keying material failed", now);
      return;
    }
    auto keys = split_srtp_keying_material(profile, exported, config_.role);
    if (!keys) {
      fail(keys.error(), now);
      return;
    }
    srtp_keys_ = std::move(*keys);
  } else if (!config_.srtp_profiles.empty() && config_.require_srtp) {
    fail("the peer did not negotiate use_srtp", now);
    return;
  }
  if (!config_.remote_fingerprint) return;  // kConnecting until set_remote_fingerprint()
  if (!fingerprint_matches()) {             // set after the certificate arrived
    ++counters_.fingerprint_mismatches;
    fail("the peer's certificate does not match the SDP fingerprint", now);
    return;
  }
  state_ = DtlsState::kConnected;
  connected_at_ = now;
}

bool DtlsTransport::fingerprint_matches() const {
  const auto actual = CertificateFingerprint::of_der(remote_certificate_, config_.remote_fingerprint->algorithm);
  return actual.ok() && *actual == *config_.remote_fingerprint;
}

void DtlsTransport::set_remote_fingerprint(CertificateFingerprint fingerprint, Timestamp now) {
  if (state_ == DtlsState::kConnected || state_ == DtlsState::kClosed || state_ == DtlsState::kFailed) return;
  config_.remote_fingerprint = std::move(fingerprint);
  if (!handshake_done_) return;  // checked by the certificate callback
  if (!fingerprint_matches()) {
    ++counters_.fingerprint_mismatches;
    fail("the peer's certificate does not match the SDP fingerprint", now);
    return;
  }
  state_ = DtlsState::kConnected;
  connected_at_ = now;
}

void DtlsTransport::read_application(Timestamp now) {
  SSL* ssl = impl_->ssl;
  std::array<uint8_t, kMaxApplicationSize> buf;
  // Bounded by the datagram just fed: each successful read consumes one of its records.
  for (;;) {
    size_t n = 0;
    const int r = SSL_read_ex(ssl, buf.data(), buf.size(), &n);
    if (r == 1) {
      if (received_.size() >= config_.max_received_application) {
        ++counters_.application_dropped;
      } else {
        ++counters_.application_received;
        received_.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
      }
      continue;
    }
    const int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
    if (e == SSL_ERROR_ZERO_RETURN) {
      state_ = DtlsState::kClosed;
      reason_ = "closed by the peer (close_notify)";
      retransmit_at_.reset();
      return;
    }
    fail(impl_->alert_received ? impl_->alert_received : "DTLS read failed", now);
    return;
  }
}

Status DtlsTransport::send_application(std::span<const uint8_t> data, Timestamp /*now*/) {
  if (state_ != DtlsState::kConnected) return Error{"DTLS: not connected"};
  if (data.empty()) return Error{"DTLS: empty application record"};
  if (data.size() > max_application_size()) return Error{"DTLS: application record larger than the DTLS data MTU"};
  if (outgoing_.size() >= config_.max_outgoing) return Error{"DTLS: outgoing queue full"};
  ERR_clear_error();
  size_t written = 0;
  if (SSL_write_ex(impl_->ssl, data.data(), data.size(), &written) != 1 || written != data.size()) {
    detail_ = openssl_error_text();
    return Error{"DTLS: write failed"};
  }
  ++counters_.application_sent;
  return Status::Ok();
}

std::optional<std::vector<uint8_t>> DtlsTransport::pop_application() {
  // Held while unauthenticated (kConnecting), dropped on failure; what arrived before a close is
  // still handed out.
  if ((state_ != DtlsState::kConnected && state_ != DtlsState::kClosed) || received_.empty()) return std::nullopt;
  std::vector<uint8_t> d = std::move(received_.front());
  received_.pop_front();
  return d;
}

size_t DtlsTransport::max_application_size() const {
  if (!handshake_done_) return kMaxApplicationSize;
  const size_t mtu = DTLS_get_data_mtu(impl_->ssl);
  return mtu == 0 ? kMaxApplicationSize : std::min(mtu, kMaxApplicationSize);
}

void DtlsTransport::close(Timestamp /*now*/) {
  if (state_ == DtlsState::kClosed || state_ == DtlsState::kFailed) return;
  if (state_ == DtlsState::kConnected) {
    ERR_clear_error();
    // Writes close_notify (through the BIO, into the outgoing queue). 0 means "sent, the peer's
    // has not arrived", which is all we wait for: a DTLS close is one-way (RFC 6347 4.2.7).
    if (SSL_shutdown(impl_->ssl) < 0) detail_ = openssl_error_text();
  }
  state_ = DtlsState::kClosed;
  reason_ = "closed locally";
  retransmit_at_.reset();
}

void DtlsTransport::fail(const char* reason, Timestamp /*now*/) {
  state_ = DtlsState::kFailed;
  reason_ = reason;
  detail_ = openssl_error_text();
  if (!impl_->alert_sent.empty()) detail_ = impl_->alert_sent + (detail_.empty() ? "" : "; " + detail_);
  retransmit_at_.reset();
  srtp_keys_.reset();
  received_.clear();
}

}  // namespace tern::dtls
