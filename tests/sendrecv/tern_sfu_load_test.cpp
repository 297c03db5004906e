// tern-sfu-load (tools/tern-sfu-load) at its smallest, against tern-sfu --workers 2 and against the
// bare reference forwarder: every subscriber gets its publisher's packets through real SRTP (one
// suite each), intact (payload checked byte for byte), and the JSON report parses with sane
// numbers. tern-sfu's worker model: two rooms go to the two workers (one each, every session of a
// room on its worker), /stats and /metrics aggregate both. No timing assertions: sizes and rates
// are what the load generator reports, checked for consistency only. Every process runs under
// `timeout`.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "support/peer.h"
#include "support/process.h"
#include "support/tool_run.h"

namespace {

using nlohmann::json;

using tern::test::http_get;
using tern::test::read_json_file;
using tern::test::tool_path;

// The report's invariants: every subscriber got packets, all intact, nothing forged or garbled.
void CheckReport(const json& r, size_t publishers, size_t subscribers, const char* suite) {
  REQUIRE(r.is_object());
  CHECK(r["suite"] == suite);
  CHECK(r["subscriberStreams"] == publishers * subscribers);
  REQUIRE(r["subscribers"].size() == publishers * subscribers);
  for (const json& s : r["subscribers"]) {
    const uint64_t expected = s["expected"], received = s["received"];
    CHECK(expected > 0);
    CHECK(received > 0);
    CHECK(received <= expected);
    CHECK(received >= expected / 2);  // loopback: losses only under extreme load
    CHECK(s["intact"] == received);
    CHECK(s["corrupt"] == 0);
    CHECK(s["unprotectFailures"] == 0);
  }
  CHECK(r["corrupt"] == 0);
  CHECK(r["forwardedPps"].get<double>() > 0);
  CHECK(r["offeredPps"].get<double>() > 0);
  CHECK(r["cpuSeconds"].get<double>() >= 0);
  CHECK(r["rssEndKiB"].get<double>() > 0);
  const json& l = r["latencyUs"];
  CHECK(l["samples"].get<uint64_t>() > 0);
  CHECK(l["p99"].get<double>() >= l["p50"].get<double>());
  CHECK(l["p99"].get<double>() < 1e6);
}

// tern-sfu answers /stats at `base` (bounded: 5 s).
bool ServerUp(const std::string& base) {
  for (int i = 0; i < 50; ++i) {
    if (!http_get(base, "/stats").empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace

TEST_CASE("tern-sfu-load: 2 publishers x 2 subscribers through tern-sfu --workers 2 (AES_CM_128_HMAC_SHA1_80)") {
  const std::string dir = tern::test::scratch_dir("tern_sfu_load");
  const std::string server_json = dir + "/sfu.json";
  std::remove(server_json.c_str());
  const std::string base = "http://127.0.0.1:5992";
  tern::test::BackgroundPeer sfu(tool_path("tern-sfu") + " --http 127.0.0.1:5992 --workers 2 --quiet --stats-json " + server_json,
                                 30, dir + "/sfu.log");
  REQUIRE(sfu.started());
  REQUIRE_MESSAGE(ServerUp(base), "sfu:\n" << sfu.log());
  const json before = json::parse(http_get(base, "/stats"), nullptr, false);
  REQUIRE(before.is_object());
  CHECK(before["workers"].size() == 2);
  CHECK(before["workers"][0]["udp"] != before["workers"][1]["udp"]);  // a port each

  const auto load = tern::test::run_command(tool_path("tern-sfu-load") + " --target sfu --url " + base +
                                                " -K 2 -M 2 --rate 100 --size 600 --duration 1 --warmup 0.2 --suite cm",
                                            30);
  INFO("load:\n" << load.out);
  CHECK(load.exit_code == 0);
  const std::string metrics = http_get(base, "/metrics");
  CHECK(metrics.find("tern_sfu_workers 2") != std::string::npos);
  CHECK(metrics.find("tern_sfu_sessions_created_total{worker=\"1\"}") != std::string::npos);
  CHECK(metrics.find("tern_sfu_worker_cpu_seconds_total{worker=\"0\"}") != std::string::npos);
  sfu.send_signal(SIGTERM);
  REQUIRE(sfu.wait(5000));
  INFO("sfu:\n" << sfu.log());
  CHECK(sfu.exit_code() == 0);

  const json r = json::parse(load.out, nullptr, false);
  CheckReport(r, 2, 2, "AES_CM_128_HMAC_SHA1_80");
  MESSAGE("tern-sfu-load via tern-sfu: " << r["forwardedPps"] << " packets/s forwarded, latency p50 "
          << r["latencyUs"]["p50"] << " us, p99 " << r["latencyUs"]["p99"] << " us");
  const json server = read_json_file(server_json);
  REQUIRE(server.is_object());
  CHECK(server["server"]["sessionsCreated"] == 6);
  CHECK(server["server"]["sessionsEnded"] == 6);  // every DELETE reached the session's worker
  CHECK(server["server"]["unauthenticatedDropped"] == 0);
  // One room per worker: its publisher and both subscribers there.
  REQUIRE(server["workers"].size() == 2);
  CHECK(server["workers"][0]["sessionsCreated"] == 3);
  CHECK(server["workers"][1]["sessionsCreated"] == 3);
}

TEST_CASE("tern-sfu-load: 1 publisher x 2 subscribers through the bare reference forwarder (AEAD_AES_128_GCM)") {
  const auto load = tern::test::run_command(
      tool_path("tern-sfu-load") + " --target reference -K 1 -M 2 --rate 100 --size 600 --duration 1 --warmup 0.2 --suite gcm", 30);
  INFO("load:\n" << load.out);
  CHECK(load.exit_code == 0);
  const json r = json::parse(load.out, nullptr, false);
  CheckReport(r, 1, 2, "AEAD_AES_128_GCM");
  CHECK(r["target"] == "reference");
}

// tern-sfu with libsrtp2 doing its SRTP (--srtp-backend libsrtp) while the clients use tern's EVP
// transform: keyed from the same DTLS exports, each side's packets must authenticate and decrypt on
// the other, every payload byte intact; the sessions say which implementation served them. Then the
// reference forwarder on libsrtp2 (--reference-srtp libsrtp, the reference issue 17 defines).
TEST_CASE("tern-sfu-load: tern-sfu and the reference forwarder with libsrtp2 doing their SRTP, clients on EVP") {
  const std::string dir = tern::test::scratch_dir("tern_sfu_load_libsrtp");
  const std::string base = "http://127.0.0.1:5991";
  tern::test::BackgroundPeer sfu(tool_path("tern-sfu") + " --http 127.0.0.1:5991 --quiet --srtp-backend libsrtp", 30,
                                 dir + "/sfu.log");
  REQUIRE(sfu.started());
  REQUIRE_MESSAGE(ServerUp(base), "sfu:\n" << sfu.log());
  tern::test::BackgroundPeer load(tool_path("tern-sfu-load") + " --target sfu --url " + base +
                                      " -K 1 -M 2 --rate 100 --size 600 --duration 2 --warmup 0.2 --suite gcm",
                                  30, dir + "/load.json");
  REQUIRE(load.started());
  // While the traffic runs: every connected session's SRTP is libsrtp2's.
  size_t keyed = 0;
  for (int i = 0; i < 60 && keyed < 3; ++i) {  // bounded: 6 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const json stats = json::parse(http_get(base, "/stats"), nullptr, false);
    if (!stats.is_object() || !stats.contains("sessions")) continue;
    keyed = 0;
    for (const json& s : stats["sessions"]) {
      if (!s.contains("srtpBackend")) continue;  // not keyed yet
      CHECK(s["srtpBackend"] == "libsrtp");
      CHECK(s["srtpCipher"] == "AEAD_AES_128_GCM");
      ++keyed;
    }
  }
  CHECK(keyed == 3);  // the publisher and both subscribers
  REQUIRE(load.wait(20000));
  CHECK(load.exit_code() == 0);
  sfu.send_signal(SIGTERM);
  REQUIRE(sfu.wait(5000));
  const json r = json::parse(load.log(), nullptr, false);
  INFO("load:\n" << load.log());
  CheckReport(r, 1, 2, "AEAD_AES_128_GCM");

  const auto ref = tern::test::run_command(tool_path("tern-sfu-load") +
                                               " --target reference --reference-srtp libsrtp -K 1 -M 2 --rate 100 --size 600 "
                                               "--duration 1 --warmup 0.2 --suite cm",
                                           30);
  INFO("reference:\n" << ref.out);
  CHECK(ref.exit_code == 0);
  const json rr = json::parse(ref.out, nullptr, false);
  CheckReport(rr, 1, 2, "AES_CM_128_HMAC_SHA1_80");
  CHECK(rr["referenceSrtp"] == "libsrtp");
}

// WHIP and WHEP over HTTPS (RFC 9725 requires it beyond a trusted network): tern-sfu with
// --https-cert/--https-key (a self-signed certificate for 127.0.0.1 made here with openssl) serves
// its signalling and /stats over TLS; the load generator's clients, trusting that certificate
// (SSL_CERT_FILE: OpenSSL's default verify path), publish and subscribe through it and get every
// payload byte; a client that does not trust it gets nothing, and plain HTTP to the port gets no
// HTTP answer.
TEST_CASE("tern-sfu: WHIP/WHEP over HTTPS with --https-cert, verified by the clients") {
  const std::string dir = tern::test::scratch_dir("tern_sfu_https");
  const std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  const auto made = tern::test::run_command("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout '" +
                                                key + "' -out '" + cert +
                                                "' -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1",
                                            30, true);
  REQUIRE_MESSAGE(made.exit_code == 0, made.out);
  const std::string base = "https://127.0.0.1:5990";
  tern::test::BackgroundPeer sfu(tool_path("tern-sfu") + " --http 127.0.0.1:5990 --https-cert '" + cert + "' --https-key '" + key +
                                     "' --quiet",
                                 30, dir + "/sfu.log");
  REQUIRE(sfu.started());
  bool up = false;
  for (int i = 0; i < 50 && !up; ++i) {  // bounded: 5 s; -k: this check is about the server answering
    up = tern::test::run_command("curl -sfk -o /dev/null " + base + "/stats", 5).exit_code == 0;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE_MESSAGE(up, "sfu:\n" << sfu.log());
  // Plain HTTP to the HTTPS port: no HTTP response (curl's code 000).
  CHECK(tern::test::run_command("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:5990/stats", 10).out == "000");
  const std::string load = tool_path("tern-sfu-load") + " --target sfu --url " + base +
                           " -K 1 -M 2 --rate 100 --size 600 --duration 1 --warmup 0.2 --suite cm";
  const auto untrusted = tern::test::run_command(load, 30, true);
  INFO("untrusted:\n" << untrusted.out);
  CHECK(untrusted.exit_code != 0);  // the self-signed certificate is not in its trust store
  // ... and it says so, rather than only that it found no server process.
  CHECK((untrusted.out.find("certificate") != std::string::npos || untrusted.out.find("TLS") != std::string::npos));
  const auto trusted = tern::test::run_command("env SSL_CERT_FILE='" + cert + "' " + load, 30);
  INFO("trusted:\n" << trusted.out);
  CHECK(trusted.exit_code == 0);
  sfu.send_signal(SIGTERM);
  REQUIRE(sfu.wait(5000));
  CHECK(sfu.exit_code() == 0);
  const json r = json::parse(trusted.out, nullptr, false);
  CheckReport(r, 1, 2, "AES_CM_128_HMAC_SHA1_80");
}
