#!/usr/bin/env bash
# Compares tern's VP8 RTP packetize+depacketize with GStreamer's `rtpvp8pay ! rtpvp8depay` on the
# same VP8 stream, in one run on this machine, and prints per-packet costs and their ratio.
# Usage: bench/compare_gst_vp8.sh [build-dir]   (needs ffmpeg and gst-launch-1.0)
set -euo pipefail
BUILD=${1:-build}
BENCH="$BUILD/bench/tern_payload_ivf_bench"
[ -x "$BENCH" ] || { echo "build $BENCH first"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# 30 s of 640x480@30 VP8 at 1.5 Mbps (about 6 packets per frame), repeated 20 times in one IVF file
# (frames appended with increasing timestamps) so that gst-launch's start-up, measured with a pipeline
# without the payloaders and subtracted, is small against the work.
FRAMES=${FRAMES:-900}
REPEAT=${REPEAT:-20}
timeout 600 ffmpeg -v error -f lavfi -i testsrc2=size=640x480:rate=30 -frames:v "$FRAMES" -c:v libvpx \
  -deadline realtime -cpu-used 8 -b:v 1500k -g 90 -y "$dir/one.ivf"
python3 - "$dir/one.ivf" "$dir/in.ivf" "$REPEAT" <<'PY'
import struct, sys
src, dst, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, 'rb').read()
header, body = bytearray(data[:32]), data[32:]
frames, pos = [], 0
while pos + 12 <= len(body):
    size, pts = struct.unpack_from('<IQ', body, pos)
    frames.append((pts, body[pos + 12:pos + 12 + size]))
    pos += 12 + size
out = bytearray()
for r in range(repeat):
    for pts, payload in frames:
        out += struct.pack('<IQ', len(payload), pts + r * len(frames)) + payload
struct.pack_into('<I', header, 24, len(frames) * repeat)
open(dst, 'wb').write(bytes(header) + bytes(out))
PY

gst_time() {  # pipeline tail; prints the best of 5 wall times in seconds
  local best=999
  for _ in 1 2 3 4 5; do
    local s e
    s=$(date +%s.%N)
    timeout 120 gst-launch-1.0 -q filesrc location="$dir/in.ivf" ! ivfparse ! "$@" ! fakesink >/dev/null ||
      { echo "gst-launch failed" >&2; exit 1; }
    e=$(date +%s.%N)
    best=$(echo "$best $s $e" | awk '{t=$3-$2; print (t<$1)?t:$1}')
  done
  echo "$best"
}
base=$(gst_time identity)
full=$(gst_time rtpvp8pay mtu=1200 ! rtpvp8depay)
packets=$(timeout 120 gst-launch-1.0 filesrc location="$dir/in.ivf" ! ivfparse ! rtpvp8pay mtu=1200 ! \
  fakesink silent=false -v 2>&1 | grep -c 'chain' || true)

out=$(TERN_BENCH_IVF="$dir/in.ivf" "$BENCH" --benchmark_min_time=2 --benchmark_format=csv 2>/dev/null | tail -1)
tern_ms=$(echo "$out" | awk -F, '{print $4}')
tern_pkts=$(echo "$out" | awk -F, '{print $NF}')

echo "stream: $((FRAMES * REPEAT)) frames 640x480 VP8; packets: GStreamer $packets, tern $tern_pkts"
echo "$out" | sed 's/^/tern csv: /'
awk -v base="$base" -v full="$full" -v pk="$packets" -v tms="$tern_ms" -v tpk="$tern_pkts" 'BEGIN {
  gst_ns = (full - base) * 1e9 / pk;
  tern_ns = tms * 1e6 / tpk;
  printf "GStreamer rtpvp8pay ! rtpvp8depay: %.0f ns per packet (%.3f s over baseline %.3f s)\n", gst_ns, full - base, base;
  printf "tern packetize+build+parse+depacketize+assemble: %.0f ns per packet (%.3f ms per pass)\n", tern_ns, tms;
  printf "ratio GStreamer/tern: %.1fx\n", gst_ns / tern_ns;
}'
