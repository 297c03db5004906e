#!/bin/sh
# Packets per second over UDP loopback: tern-send -> tern-recv (the real tools, media-paced, SRTP
# on) beside the plain sendmmsg/recvmmsg pair (tern_sendrecv_bench BM_SendRecvPps_RawMmsg, the
# physical limit here) and tern's own datagram path at full speed (BM_SendRecvPps_Tern).
# Usage: bench/sendrecv_pps.sh <build dir> [seconds]   (a Release build is what figures are taken from)
set -eu
B=${1:?build dir}
SECS=${2:-5}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d
PORT=5898
# The tools at a high media rate: 1280x720 at 60 fps, 20 Mbit/s fixed, NACK/RTX and transport-cc.
"$B/tools/tern-send" --dest 127.0.0.1:$PORT --peer tern --cc fixed --bitrate 20M --width 1280 --height 720 \
  --fps 60 --key $KEY --frames 1 --duration 0.1 --sdp "$D/s.sdp" > /dev/null 2>&1
timeout -k 3 $((SECS + 10)) "$B/tools/tern-recv" --sdp "$D/s.sdp" --idle-timeout 1 --quiet --stats-json "$D/r.json" 2>/dev/null &
RX=$!
sleep 0.5
timeout -k 3 $((SECS + 10)) "$B/tools/tern-send" --dest 127.0.0.1:$PORT --peer tern --cc fixed --bitrate 20M \
  --width 1280 --height 720 --fps 60 --key $KEY --duration "$SECS" > /dev/null
wait $RX || true
RTP=$(sed -n 's/^  "rtp_received": \([0-9]*\).*/\1/p' "$D/r.json")
TOOLS_PPS=$(awk -v n="$RTP" -v s="$SECS" 'BEGIN { printf "%.0f", n / s }')
"$B/bench/tern_sendrecv_bench" --benchmark_filter='SendRecvPps' --benchmark_format=csv 2>/dev/null > "$D/b.csv"
RAW=$(awk -F, '/RawMmsg/ { printf "%.0f", $(NF-3) }' "$D/b.csv")
TERN=$(awk -F, '/SendRecvPps_Tern/ { printf "%.0f", $(NF-3) }' "$D/b.csv")
echo "tern-send -> tern-recv (media-paced, 720p60 20M, SRTP): $TOOLS_PPS packets/s ($RTP in $SECS s)"
echo "tern datagram path at full speed (protect, sendmmsg, recvmmsg, unprotect, parse, jitter buffer): $TERN packets/s"
echo "plain sendmmsg/recvmmsg pair: $RAW packets/s"
awk -v t="$TERN" -v r="$RAW" -v m="$TOOLS_PPS" 'BEGIN { printf "ratio tern path / raw: %.2f   tools (media-paced) / raw: %.4f\n", t / r, m / r }'
