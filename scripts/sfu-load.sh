#!/bin/sh
# tern-sfu under load beside the bare reference forwarder (issue 17; docs/sfu-load.md).
# For each SRTP suite (AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM): tern-sfu-load against the bare
# reference forwarder (recvmmsg -> unprotect -> protect per subscriber -> sendmmsg, a forked child of
# tern-sfu-load) with each SRTP implementation (OpenSSL EVP, tern's transform; libsrtp2, as issue 17
# defines the reference), and against tern-sfu with --workers 1 and 2 (EVP, its default) and
# --workers 1 --srtp-backend libsrtp; same K publishers, M subscribers per publisher, packet rate and
# size. Prints one table.
#   ratio       forwarded packets per CPU-second of the forwarding process, tern-sfu / the reference
#               with the SAME SRTP implementation (what tern-sfu's own logic costs)
#   vs-libsrtp  the same against the libsrtp2 reference (the issue's: >= 0.5)
#               The offered load is paced, so all deliver it while they keep up; CPU per packet is
#               what tells their capacities apart on a shared machine.
#   cpu%/sub    the forwarding process's CPU (scheduler run time of every thread) per subscriber-stream, % of a core
#   KiB/sub     its resident memory growth from before the subscribers joined to the end, per subscriber
#   p50/p99     one hop: subscriber receive - publisher send (same clock), microseconds
# Usage: scripts/sfu-load.sh [-b build dir] [-d seconds] [-r packets/s per publisher] [-s payload bytes] K M
set -eu
B=build SECS=10 RATE=200 SIZE=1000
while getopts b:d:r:s: opt; do
  case $opt in
    b) B=$OPTARG ;; d) SECS=$OPTARG ;; r) RATE=$OPTARG ;; s) SIZE=$OPTARG ;;
    *) echo "usage: $0 [-b build] [-d seconds] [-r pps] [-s bytes] K M" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
K=${1:?K publishers}
M=${2:?M subscribers per publisher}
D=$(mktemp -d)
SFU_PID=
cleanup() {
  [ -n "$SFU_PID" ] && kill "$SFU_PID" 2>/dev/null || true
  rm -rf "$D"
}
trap cleanup EXIT
PORT=${SFU_LOAD_HTTP_PORT:-5993}
LIMIT=$(awk -v s="$SECS" 'BEGIN { printf "%d", s + 60 }')
LOAD="$B/tools/tern-sfu-load -K $K -M $M --rate $RATE --size $SIZE --duration $SECS"

run_sfu() {  # suite workers backend -> $D/sfu-<suite>-<workers>-<backend>.json
  timeout -k 3 $((LIMIT + 30)) "$B/tools/tern-sfu" --http 127.0.0.1:$PORT --workers "$2" --quiet \
    --max-sessions 1024 --max-subscribers 256 --srtp-backend "$3" &
  SFU_PID=$!
  i=0
  until curl -sf "http://127.0.0.1:$PORT/stats" > /dev/null; do  # bounded: 5 s
    i=$((i + 1)); [ $i -gt 50 ] && { echo "tern-sfu did not start" >&2; exit 1; }; sleep 0.1
  done
  timeout -k 3 "$LIMIT" $LOAD --target sfu --suite "$1" --url "http://127.0.0.1:$PORT" \
    > "$D/sfu-$1-$2-$3.json"  # tern-sfu's own pid (not timeout's) comes from its /stats
  kill -TERM "$SFU_PID"; wait "$SFU_PID" 2>/dev/null || true; SFU_PID=
}

for SUITE in cm gcm; do
  for BACKEND in openssl libsrtp; do
    timeout -k 3 "$LIMIT" $LOAD --target reference --suite "$SUITE" --reference-srtp $BACKEND \
      > "$D/ref-$SUITE-1-$BACKEND.json"
  done
  run_sfu "$SUITE" 1 openssl
  run_sfu "$SUITE" 2 openssl
  run_sfu "$SUITE" 1 libsrtp
done

echo "tern-sfu vs the bare reference forwarder: K=$K publishers x M=$M subscribers, $RATE packets/s of $SIZE B per publisher, ${SECS} s; $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
printf '%-24s %-18s %11s %11s %7s %10s %8s %8s %8s %8s %8s\n' suite target offered/s fwd/s ratio vs-libsrtp cpu%/sub KiB/sub p50us p99us lost
for SUITE in cm gcm; do
  LIB_EFF=$(jq '.forwardedPerCpuSecond' "$D/ref-$SUITE-1-libsrtp.json")
  for F in "ref-$SUITE-1-openssl" "ref-$SUITE-1-libsrtp" "sfu-$SUITE-1-openssl" "sfu-$SUITE-2-openssl" "sfu-$SUITE-1-libsrtp"; do
    BACKEND=${F##*-}
    REF_EFF=$(jq '.forwardedPerCpuSecond' "$D/ref-$SUITE-1-$BACKEND.json")
    case $F in ref-*) T="reference $BACKEND" ;; *-1-*) T="sfu w=1 $BACKEND" ;; *) T="sfu w=2 $BACKEND" ;; esac
    jq -r --arg t "$T" --argjson ref "$REF_EFF" --argjson lib "$LIB_EFF" '[.suite, $t, (.offeredPps|floor), (.forwardedPps|floor),
        (if $ref > 0 then ((.forwardedPerCpuSecond / $ref * 100 | floor) / 100) else "-" end),
        (if $lib > 0 then ((.forwardedPerCpuSecond / $lib * 100 | floor) / 100) else "-" end),
        ((.cpuPercentPerSubscriberStream * 1000 | floor) / 1000), (.rssPerSubscriberKiB | floor),
        .latencyUs.p50, .latencyUs.p99, (.expected - .received)] | @tsv' "$D/$F.json" |
      awk -F'\t' '{ printf "%-24s %-18s %11s %11s %7s %10s %8s %8s %8s %8s %8s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }'
  done
done
