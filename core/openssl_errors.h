// OpenSSL's error queue as one line of text, for the modules that drive OpenSSL (ice/ for TURN over
// TLS, dtls/ for DTLS-SRTP). Header-only on purpose: core/ itself does not link OpenSSL; only a
// module that already links libcrypto includes this.
#pragma once

#include <openssl/err.h>

#include <string>

namespace tern {

// Drains this thread's OpenSSL error queue into "error:...; error:..." (empty when it was empty).
inline std::string openssl_error_text() {
  std::string text;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text;
}

}  // namespace tern
