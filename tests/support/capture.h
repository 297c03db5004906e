// Test support: a dumpcap capture on the loopback interface for the length of a test, and tshark
// queries on the file afterwards (interop tests assert that tshark finds nothing malformed in what
// tern sent). Capturing needs root or the capture capability: when it is not possible the capture
// is inactive with a message, or the test fails under TERN_REQUIRE_INTEROP=1 (CI).
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/peer.h"
#include "support/process.h"

namespace tern::test {

class LoopbackCapture {
 public:
  // Starts `dumpcap -i lo -f <bpf_filter>` into <dir>/cap.pcapng and waits (bounded) until it
  // captures.
  LoopbackCapture(const std::string& dir, const std::string& bpf_filter) : pcap_(dir + "/cap.pcapng") {
    if (!HavePeers({"dumpcap", "tshark"})) return;
    run_command("rm -f '" + pcap_ + "'", 5);
    peer_ = std::make_unique<BackgroundPeer>("dumpcap -q -i lo -f '" + bpf_filter + "' -w " + pcap_, 120,
                                             dir + "/dumpcap.log");
    // dumpcap creates the file once capturing has started.
    for (int i = 0; i < 250 && !file_started(); ++i) run_command("sleep 0.02", 2);
    if (!file_started()) {
      if (interop_required()) FAIL("dumpcap could not capture on lo: " << peer_->log());
      MESSAGE("capture on lo is not possible here: not checked (" << peer_->log() << ")");
      peer_.reset();
    }
  }

  bool active() const { return peer_ != nullptr; }
  const std::string& path() const { return pcap_; }

  // Stops capturing (bounded wait); queries may follow. libpcap hands packets over in blocks that
  // retire on a timeout, and dumpcap stopped at once drops the block still open: the packets of
  // the last few hundred milliseconds. So it waits one second before stopping.
  void stop() {
    if (!peer_ || stopped_) return;
    run_command("sleep 1", 3);
    peer_->interrupt();
    CHECK(peer_->wait(5000));
    stopped_ = true;
  }

  // tshark's output for display filter `filter` with `options` (decode-as rules, -T fields ...).
  std::string query(const std::string& options, const std::string& filter) const {
    return run_command("tshark -r " + pcap_ + " " + options + " -Y '" + filter + "'", 30).out;
  }
  // The packets tshark marks malformed or with error-level expert info, except those matching
  // `unreadable` (packets tshark cannot judge); empty when the capture is clean.
  std::string malformed(const std::string& options, const std::string& unreadable = "") const {
    std::string filter = "_ws.malformed || _ws.expert.severity==error";
    if (!unreadable.empty()) filter = "(" + filter + ") && !(" + unreadable + ")";
    return query(options, filter);
  }

 private:
  bool file_started() const {
    std::ifstream in(pcap_);
    return in.good() && in.peek() != std::ifstream::traits_type::eof();
  }

  std::string pcap_;
  std::unique_ptr<BackgroundPeer> peer_;
  bool stopped_ = false;
};

}  // namespace tern::test
