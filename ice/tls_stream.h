// TlsStream: TLS over OpenSSL memory BIOs, sans-I/O: ciphertext in and out as bytes, plaintext in
// and out as bytes, no socket. Used for TURN over TLS (RFC 8656 3.1: TURN over TLS-over-TCP): the
// driver passes TurnClient::pop_outgoing() to write(), sends take_ciphertext() on its TCP socket,
// feeds the socket's bytes to on_ciphertext(), and hands take_plaintext() to
// TurnClient::on_stream_bytes().
//
// Certificates are verified by default (system trust store or `ca_file`, host name or IP address
// `server_name`); a test against a self-signed server passes that certificate as `ca_file`.
// Server mode (certificate and key files) exists for tests. OpenSSL reads the wall clock for
// certificate validity; the handshake itself has no timer here (TCP carries its retransmissions).
//
// Bounds: plaintext written before the handshake completes, and plaintext received but not yet
// taken, are each held up to kMaxBuffered bytes; beyond that write()/on_ciphertext() fail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tern/core/result.h"

namespace tern::ice {

struct TlsStreamConfig {
  bool server = false;
  // Client: verify the server's certificate (chain and name). Turning it off is for tests only.
  bool verify_peer = true;
  std::string ca_file;      // client: PEM trust anchors; empty = the system's default paths
  std::string server_name;  // client: SNI and the name (or IP address) the certificate must match
  std::string certificate_file;  // server: PEM certificate
  std::string private_key_file;  // server: PEM key
};

class TlsStream {
 public:
  static constexpr size_t kMaxBuffered = 1 << 20;

  // Fails with OpenSSL's reason when the context cannot be set up (e.g. unreadable files).
  static Result<std::unique_ptr<TlsStream>> Create(const TlsStreamConfig& config);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Client: produces the ClientHello (take it with take_ciphertext()). Server: nothing to do.
  Status start();
  // Ciphertext from the peer. Fails (and stays failed) on a TLS error or an alert.
  Status on_ciphertext(std::span<const uint8_t> bytes);
  // Application bytes to send; held until the handshake completes.
  Status write(std::span<const uint8_t> plaintext);
  // What to send to the peer now / what the peer sent, decrypted (both emptied by the call).
  std::vector<uint8_t> take_ciphertext();
  std::vector<uint8_t> take_plaintext();

  bool handshake_done() const { return handshake_done_; }
  bool failed() const { return error_ != nullptr; }
  const char* error() const { return error_ ? error_ : ""; }
  // The last OpenSSL error text (for logs), empty when none.
  const std::string& detail() const { return detail_; }

 private:
  TlsStream() = default;
  Status pump();
  Status fail(const char* reason);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<uint8_t> pending_plaintext_;   // written before the handshake completed
  std::vector<uint8_t> received_plaintext_;  // decrypted, not taken yet
  bool handshake_done_ = false;
  const char* error_ = nullptr;
  std::string detail_;
};

}  // namespace tern::ice
