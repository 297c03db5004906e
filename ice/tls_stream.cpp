#include "tern/ice/tls_stream.h"

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include "tern/core/openssl_errors.h"

namespace tern::ice {

struct TlsStream::Impl {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  BIO* in = nullptr;   // ciphertext from the peer (owned by ssl)
  BIO* out = nullptr;  // ciphertext to the peer (owned by ssl)
  ~Impl() {
    SSL_free(ssl);  // frees both BIOs
    SSL_CTX_free(ctx);
  }
};

namespace {

bool IsIpAddress(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

}  // namespace

Result<std::unique_ptr<TlsStream>> TlsStream::Create(const TlsStreamConfig& config) {
  ERR_clear_error();
  std::unique_ptr<TlsStream> s(new TlsStream());
  s->impl_ = std::make_unique<Impl>();
  Impl& i = *s->impl_;
  i.ctx = SSL_CTX_new(config.server ? TLS_server_method() : TLS_client_method());
  if (i.ctx == nullptr) return Error{"TLS context creation failed"};
  SSL_CTX_set_min_proto_version(i.ctx, TLS1_2_VERSION);
  if (config.server) {
    if (SSL_CTX_use_certificate_chain_file(i.ctx, config.certificate_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(i.ctx, config.private_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return Error{"cannot load the TLS certificate or key"};
    }
  } else if (config.verify_peer) {
    SSL_CTX_set_verify(i.ctx, SSL_VERIFY_PEER, nullptr);
    const int loaded = config.ca_file.empty() ? SSL_CTX_set_default_verify_paths(i.ctx)
                                              : SSL_CTX_load_verify_locations(i.ctx, config.ca_file.c_str(), nullptr);
    if (loaded != 1) return Error{"cannot load TLS trust anchors"};
  }
  i.ssl = SSL_new(i.ctx);
  i.in = BIO_new(BIO_s_mem());
  i.out = BIO_new(BIO_s_mem());
  if (i.ssl == nullptr || i.in == nullptr || i.out == nullptr) {
    BIO_free(i.in);
    BIO_free(i.out);
    i.in = i.out = nullptr;
    return Error{"TLS session creation failed"};
  }
  SSL_set_bio(i.ssl, i.in, i.out);
  if (config.server) {
    SSL_set_accept_state(i.ssl);
  } else {
    SSL_set_connect_state(i.ssl);
    if (!config.server_name.empty()) {
      const bool ip = IsIpAddress(config.server_name);
      if (!ip) SSL_set_tlsext_host_name(i.ssl, config.server_name.c_str());
      if (config.verify_peer) {
        X509_VERIFY_PARAM* param = SSL_get0_param(i.ssl);
        const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, config.server_name.c_str())
                          : X509_VERIFY_PARAM_set1_host(param, config.server_name.c_str(), 0);
        if (ok != 1) return Error{"bad TLS server name"};
      }
    }
  }
  return s;
}

TlsStream::~TlsStream() = default;

Status TlsStream::fail(const char* reason) {
  error_ = reason;
  detail_ = openssl_error_text();
  return Error{reason};
}

Status TlsStream::start() {
  if (failed()) return Error{error_};
  return pump();
}

Status TlsStream::on_ciphertext(std::span<const uint8_t> bytes) {
  if (failed()) return Error{error_};
  if (!bytes.empty() && BIO_write(impl_->in, bytes.data(), static_cast<int>(bytes.size())) != static_cast<int>(bytes.size())) {
    return fail("TLS input buffer write failed");
  }
  return pump();
}

Status TlsStream::write(std::span<const uint8_t> plaintext) {
  if (failed()) return Error{error_};
  if (pending_plaintext_.size() + plaintext.size() > kMaxBuffered) return Error{"TLS send buffer full"};
  pending_plaintext_.insert(pending_plaintext_.end(), plaintext.begin(), plaintext.end());
  return pump();
}

Status TlsStream::pump() {
  SSL* ssl = impl_->ssl;
  ERR_clear_error();
  if (!handshake_done_) {
    const int r = SSL_do_handshake(ssl);
    if (r == 1) {
      handshake_done_ = true;
    } else {
      const int e = SSL_get_error(ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return fail("TLS handshake failed");
      return Status::Ok();
    }
  }
  // Send what the application wrote. Memory BIOs grow, so SSL_write never wants to wait.
  if (!pending_plaintext_.empty()) {
    size_t written = 0;
    if (SSL_write_ex(ssl, pending_plaintext_.data(), pending_plaintext_.size(), &written) != 1) {
      return fail("TLS write failed");
    }
    pending_plaintext_.erase(pending_plaintext_.begin(), pending_plaintext_.begin() + static_cast<std::ptrdiff_t>(written));
  }
  // Decrypt everything that arrived (bounded by the input given).
  uint8_t buf[16384];
  for (;;) {
    size_t n = 0;
    const int r = SSL_read_ex(ssl, buf, sizeof(buf), &n);
    if (r == 1) {
      if (received_plaintext_.size() + n > kMaxBuffered) return fail("TLS receive buffer full");
      received_plaintext_.insert(received_plaintext_.end(), buf, buf + n);
      continue;
    }
    const int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Status::Ok();
    if (e == SSL_ERROR_ZERO_RETURN) return fail("TLS closed by the peer");
    return fail("TLS read failed");
  }
}

std::vector<uint8_t> TlsStream::take_ciphertext() {
  std::vector<uint8_t> out(BIO_ctrl_pending(impl_->out));
  if (!out.empty()) {
    const int n = BIO_read(impl_->out, out.data(), static_cast<int>(out.size()));
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  return out;
}

std::vector<uint8_t> TlsStream::take_plaintext() { return std::exchange(received_plaintext_, {}); }

}  // namespace tern::ice
