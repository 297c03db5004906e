// Test support: writes packets into a classic libpcap file as Ethernet/IPv4/UDP frames, so that an
// independent dissector (tshark) can read what tern put on the wire.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

namespace tern::test {

class PcapWriter {
 public:
  explicit PcapWriter(const std::string& path) : f_(std::fopen(path.c_str(), "wb")) {
    if (!f_) return;
    // Global header: magic, v2.4, tz 0, sigfigs 0, snaplen 65535, linktype 1 (Ethernet).
    put32(0xa1b2c3d4);
    put16(2);
    put16(4);
    put32(0);
    put32(0);
    put32(65535);
    put32(1);
  }
  ~PcapWriter() { if (f_) std::fclose(f_); }
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  bool ok() const { return f_ != nullptr; }

  // Adds one UDP datagram 127.0.0.1:src_port -> 127.0.0.1:dst_port at the given time.
  void add_udp(std::span<const uint8_t> payload, uint16_t src_port, uint16_t dst_port, int64_t time_us) {
    if (!f_) return;
    std::vector<uint8_t> frame;
    // Ethernet: dst, src MAC (zeros), ethertype IPv4.
    frame.insert(frame.end(), 12, 0);
    frame.push_back(0x08);
    frame.push_back(0x00);
    const size_t ip_start = frame.size();
    const uint16_t ip_len = static_cast<uint16_t>(20 + 8 + payload.size());
    const uint8_t ip[20] = {0x45, 0, static_cast<uint8_t>(ip_len >> 8), static_cast<uint8_t>(ip_len), 0, 0, 0x40, 0,
                            64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1};
    frame.insert(frame.end(), ip, ip + 20);
    uint32_t sum = 0;
    for (size_t i = 0; i < 20; i += 2) sum += (frame[ip_start + i] << 8) | frame[ip_start + i + 1];
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    const uint16_t csum = static_cast<uint16_t>(~sum);
    frame[ip_start + 10] = static_cast<uint8_t>(csum >> 8);
    frame[ip_start + 11] = static_cast<uint8_t>(csum);
    const uint16_t udp_len = static_cast<uint16_t>(8 + payload.size());
    const uint8_t udp[8] = {static_cast<uint8_t>(src_port >> 8), static_cast<uint8_t>(src_port),
                            static_cast<uint8_t>(dst_port >> 8), static_cast<uint8_t>(dst_port),
                            static_cast<uint8_t>(udp_len >> 8), static_cast<uint8_t>(udp_len), 0, 0};  // no checksum
    frame.insert(frame.end(), udp, udp + 8);
    frame.insert(frame.end(), payload.begin(), payload.end());
    put32(static_cast<uint32_t>(time_us / 1000000));
    put32(static_cast<uint32_t>(time_us % 1000000));
    put32(static_cast<uint32_t>(frame.size()));
    put32(static_cast<uint32_t>(frame.size()));
    std::fwrite(frame.data(), 1, frame.size(), f_);
  }

 private:
  void put32(uint32_t v) { std::fwrite(&v, 4, 1, f_); }  // native order: the magic tells readers
  void put16(uint16_t v) { std::fwrite(&v, 2, 1, f_); }
  std::FILE* f_;
};

}  // namespace tern::test
