#!/bin/sh
# VP9 SVC through tern-sfu with headless Chromium (issue 17, per-subscriber spatial layers): a page
# publishes its fake camera by WHIP with scalabilityMode L3T3_KEY (3 spatial x 3 temporal layers on
# one SSRC, VP9 only); a second page subscribes by WHEP only through tern-turn, whose relayed
# capacity is limited (--capacity, each direction), so tern-sfu's GCC estimate toward that
# subscriber stays low and its LayerSelector forwards fewer spatial layers. Prints one JSON line:
# publisher and subscriber frameWidth at the end, pictures sent / received / decoded / dropped and
# freezes over the hold, the server's estimate, spatial/temporal layer, switches and the PLIs it
# sent for the subscriber. Full results (a per-second timeline included) in the -o file.
# Runs in a network namespace of its own (unshare -n; root), every process under timeout.
# Not part of ctest (CI has no time for it): run it by hand, see sfu/README.md for figures.
# Usage: scripts/sfu-vp9-svc.sh [-b build dir] [-d hold seconds (15)] [-c relay capacity kbps (500)]
#          [-o result.json] [-w width (1280)] [-h height (720)] [-m scalability mode (L3T3_KEY)]
#          [-s tern-sfu --subscriber-start-kbps (300)]
# Needs: chromium, node and puppeteer-core in $TERN_NODE_DIR (default out/node; scripts/install-deps.sh).
set -eu
B=build SECS=15 CAP=500 OUT= W=1280 H=720 MODE=L3T3_KEY START=300
while getopts b:d:c:o:w:h:m:s: opt; do
  case $opt in
    b) B=$OPTARG ;; d) SECS=$OPTARG ;; c) CAP=$OPTARG ;; o) OUT=$OPTARG ;; w) W=$OPTARG ;; h) H=$OPTARG ;; m) MODE=$OPTARG ;; s) START=$OPTARG ;;
    *) echo "usage: $0 [-b build] [-d seconds] [-c kbps] [-o result.json] [-w width] [-h height] [-m mode] [-s kbps]" >&2; exit 2 ;;
  esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "$B" && pwd)
NODE_DIR=${TERN_NODE_DIR:-$ROOT/out/node}
if [ -z "${TERN_SVC_IN_NETNS:-}" ]; then
  TERN_SVC_IN_NETNS=1 exec unshare -n "$0" -b "$B" -d "$SECS" -c "$CAP" -o "${OUT:-/tmp/sfu-vp9-svc.json}" -w "$W" -h "$H" -m "$MODE" -s "$START"
fi
ip link set lo up
D=$(mktemp -d)
SFU_PID= TURN_PID=
cleanup() {
  [ -n "$SFU_PID" ] && kill "$SFU_PID" 2>/dev/null || true
  [ -n "$TURN_PID" ] && kill "$TURN_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$D"
}
trap cleanup EXIT
LIMIT=$((SECS + 60))
timeout -k 3 "$LIMIT" "$B/tools/tern-sfu" --http 127.0.0.1:5993 --udp 127.0.0.1:0 --subscriber-start-kbps "$START" --quiet >"$D/sfu.log" 2>&1 &
SFU_PID=$!
timeout -k 3 "$LIMIT" "$B/tools/tern-turn" --user tern:ternpass --realm tern.test --listen 127.0.0.1:3478 \
  --relay-ip 127.0.0.1 --min-port 50000 --max-port 50099 --capacity "$CAP" >"$D/turn.log" 2>&1 &
TURN_PID=$!
sleep 1
RC=0
env NODE_PATH="$NODE_DIR/node_modules" timeout -k 3 $((SECS + 45)) node "$ROOT/scripts/sfu_vp9_svc.js" "$OUT" \
  http://127.0.0.1:5993 'turn:127.0.0.1:3478?transport=udp' tern ternpass $((SECS * 1000)) "$W" "$H" "$MODE" || RC=$?
[ "$RC" = 0 ] || { echo "sfu:"; cat "$D/sfu.log"; echo "turn:"; tail -20 "$D/turn.log"; } >&2
exit "$RC"
