#!/bin/bash
# Side by side with libwebrtc (issue 16): the same seeded impairment through tern-turn, four
# pairings -- Chromium -> Chromium, Chromium -> tern, tern -> Chromium, tern -> tern -- and ONE table
# of what each receiver saw (frames decoded, freezes, resolution and frame rate, jitter-buffer delay,
# end-to-end delay, loss, NACKs, retransmissions). Runs in a network namespace of its own
# (`unshare -n`, needs root; loopback only, nothing leaves the machine).
#
# Usage: scripts/side-by-side.sh [--duration S] [--runs N] [--loss PCT] [--delay MS] [--jitter MS]
#          [--capacity KBPS] [--seed N] [--pairings c2c,c2t,t2c,t2t] [--chromium-video fake|tern]
#          [--tern-args "ARGS"] [--out DIR] [--build DIR]
# Defaults: 30 s calls, 1 run, 3% loss, 60 ms one way, +-20 ms jitter, 1500 kbit/s, seed 7.
# --chromium-video: what Chromium's camera shows. fake: Chromium's own fake device
# (--use-fake-device-for-media-stream: a green picture with a moving pie and a frame counter, ~20
# fps), so Chromium and tern senders send different content; tern (default): the pictures of tern's
# synthetic camera at 640x360@30, written once by `tern-send --source-y4m` and played by Chromium
# (--use-file-for-fake-video-capture), so all four senders encode the same kind of content.
# --tern-args: extra tern-peer options for every tern endpoint (e.g. "--video-fec").
# With --runs N each pairing runs N times (run i with seed+i-1, the same seed for the four pairings
# of a run) and the table gives the median of the runs.
# Needs: build/tools/tern-turn and tern-peer, chromium, node, puppeteer-core in out/node
# (scripts/install-deps.sh; TERN_NODE_DIR moves it), /usr/bin/python3.
#
# Topology (one relay hop in each pairing, so every media packet crosses tern-turn's link model
# once): the side that can hold a TURN client is relay-only through tern-turn, the other side host
# only. Chromium -> Chromium: the receiving RTCPeerConnection relays; Chromium -> tern: Chromium
# (sender) relays, tern-peer's WHIP server receives; tern -> Chromium: Chromium (receiver, WHEP
# offer) relays, tern-peer's WHEP server sends; tern -> tern: tern-peer's WHEP client (--recv-only
# --turn --relay-only) relays, its server sends. tern-turn's two directions have the same
# parameters (the seeds differ by one); media crosses its peer->client link except in
# Chromium -> tern (client->peer).
set -u
if [ -z "${SBS_IN_NETNS:-}" ]; then
  exec unshare -n env SBS_IN_NETNS=1 bash "$0" "$@"
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=30 RUNS=1 LOSS=3 DELAY=60 JITTER=20 CAPACITY=1500 SEED=7 PAIRINGS=c2c,c2t,t2c,t2t VIDEO=tern
OUT="" BUILD="$ROOT/build" TERN_ARGS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --loss) LOSS=$2; shift 2 ;;
    --delay) DELAY=$2; shift 2 ;;
    --jitter) JITTER=$2; shift 2 ;;
    --capacity) CAPACITY=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --pairings) PAIRINGS=$2; shift 2 ;;
    --chromium-video) VIDEO=$2; shift 2 ;;
    --tern-args) TERN_ARGS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "side-by-side: unknown option $1" >&2; exit 2 ;;
  esac
done
case $VIDEO in fake|tern) ;; *) echo "side-by-side: --chromium-video fake|tern" >&2; exit 2 ;; esac
OUT=${OUT:-$(mktemp -d /tmp/side-by-side.XXXXXX)}
NODE_DIR=${TERN_NODE_DIR:-$ROOT/out/node}
TURN_BIN=$BUILD/tools/tern-turn PEER_BIN=$BUILD/tools/tern-peer SEND_BIN=$BUILD/tools/tern-send
for f in "$TURN_BIN" "$PEER_BIN" /usr/bin/python3 $([ "$VIDEO" = tern ] && echo "$SEND_BIN"); do
  [ -x "$f" ] || { echo "side-by-side: $f missing (build tern-turn, tern-peer and tern-send)" >&2; exit 2; }
done
command -v node >/dev/null && command -v "${CHROMIUM:-chromium}" >/dev/null ||
  { echo "side-by-side: needs node and chromium" >&2; exit 2; }
[ -f "$NODE_DIR/node_modules/puppeteer-core/package.json" ] ||
  { echo "side-by-side: puppeteer-core not in $NODE_DIR (scripts/install-deps.sh)" >&2; exit 2; }
mkdir -p "$OUT"
ip link set lo up

TURN_PORT=3478 HTTP_PORT=8090 USER_=tern PASS_=ternpass
CALL_MS=$((DURATION * 1000))
CHROMIUM_JS="$ROOT/scripts/side_by_side/chromium.js"
export NODE_PATH="$NODE_DIR/node_modules"

if [ "$VIDEO" = tern ]; then
  # tern's synthetic pictures for Chromium's camera, long enough not to loop during a call (Chromium
  # opens its camera a few seconds before connecting). tern-send paces in real time; reused when present.
  export SBS_Y4M="$OUT/tern-camera-$((DURATION + 10))s.y4m"
  if [ ! -s "$SBS_Y4M" ]; then
    echo "side-by-side: writing tern's synthetic camera to $SBS_Y4M ($((DURATION + 10)) s, real time)" >&2
    timeout -k 5 $((DURATION + 40)) "$SEND_BIN" --dest 127.0.0.1:9 --audio none --video vp8 --width 640 --height 360 \
      --fps 30 --frames $(((DURATION + 10) * 30)) --linger-ms 0 --source-y4m "$SBS_Y4M" >"$OUT/tern-send.log" 2>&1 ||
      { echo "side-by-side: tern-send failed (see $OUT/tern-send.log)" >&2; exit 1; }
  fi
fi

# Waits (at most 5 s) for a line in a log file.
wait_for() {
  for _ in $(seq 50); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "side-by-side: no '$2' in $1" >&2
  return 1
}
# SIGINT to a background process, then waits (SIGKILL after 5 s).
stop() {
  kill -INT "$1" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

run_pairing() {  # $1 pairing, $2 directory, $3 seed
  local p=$1 dir=$2 seed=$3 turn_pid server_pid=""
  mkdir -p "$dir"
  "$TURN_BIN" --user "$USER_:$PASS_" --realm tern.test --listen 127.0.0.1:$TURN_PORT --relay-ip 127.0.0.1 \
    --min-port 50000 --max-port 50099 --loss "$LOSS" --delay "$DELAY" --jitter "$JITTER" --capacity "$CAPACITY" \
    --seed "$seed" >"$dir/turn.log" 2>&1 &
  turn_pid=$!
  wait_for "$dir/turn.log" "listening" || { stop $turn_pid; return 1; }
  local turn_url="turn:127.0.0.1:$TURN_PORT?transport=udp" limit=$((DURATION + 60))
  case $p in
    c2t|t2c|t2t)
      local kind=whep; [ "$p" = c2t ] && kind=whip
      # shellcheck disable=SC2086 # TERN_ARGS: words on purpose
      "$PEER_BIN" --$kind-listen 127.0.0.1:$HTTP_PORT $TERN_ARGS --quiet --stats-json "$dir/tern-server.json" >"$dir/tern-server.log" 2>&1 &
      server_pid=$!
      wait_for "$dir/tern-server.log" "serving" || { stop $server_pid; stop $turn_pid; return 1; } ;;
  esac
  case $p in
    c2c) timeout -k 5 $limit node "$CHROMIUM_JS" c2c "$dir/chromium.json" $CALL_MS "$turn_url" $USER_ $PASS_ >"$dir/chromium.log" 2>&1 ;;
    c2t) timeout -k 5 $limit node "$CHROMIUM_JS" c2t "$dir/chromium.json" $CALL_MS "$turn_url" $USER_ $PASS_ \
           "http://127.0.0.1:$HTTP_PORT/whip" >"$dir/chromium.log" 2>&1 ;;
    t2c) timeout -k 5 $limit node "$CHROMIUM_JS" t2c "$dir/chromium.json" $CALL_MS "$turn_url" $USER_ $PASS_ \
           "http://127.0.0.1:$HTTP_PORT/whep" >"$dir/chromium.log" 2>&1 ;;
    t2t) # the client's duration runs from its POST: add a second for connecting, as Chromium holds CALL_MS from connected
         # shellcheck disable=SC2086
         timeout -k 5 $limit "$PEER_BIN" --whep "http://127.0.0.1:$HTTP_PORT/whep" $TERN_ARGS --recv-only --turn 127.0.0.1:$TURN_PORT \
           --turn-user $USER_:$PASS_ --relay-only --quiet --duration $((DURATION + 1)) \
           --stats-json "$dir/tern-client.json" >"$dir/tern-client.log" 2>&1 ;;
  esac
  local rc=$?
  [ -n "$server_pid" ] && stop $server_pid
  stop $turn_pid
  tail -n 1 "$dir/turn.log" >"$dir/turn.json"
  [ $rc -eq 0 ] || echo "side-by-side: $p (run in $dir) exited with $rc" >&2
  return 0
}

echo "side-by-side: ${DURATION} s calls, $RUNS run(s), tern-turn --capacity $CAPACITY --delay $DELAY --jitter $JITTER" \
     "--loss $LOSS --seed $SEED; Chromium's camera: $VIDEO; results in $OUT" >&2
for run in $(seq "$RUNS"); do
  for p in ${PAIRINGS//,/ }; do
    echo "side-by-side: run $run, $p" >&2
    run_pairing "$p" "$OUT/run$run/$p" $((SEED + run - 1))
  done
done
/usr/bin/python3 "$ROOT/scripts/side_by_side/table.py" "$OUT" --runs "$RUNS" --pairings "$PAIRINGS" --chromium-video "$VIDEO" \
  --impairment "tern-turn: ${CAPACITY} kbit/s, ${DELAY} ms one way, +-${JITTER} ms jitter, ${LOSS}% loss, seed ${SEED}; ${DURATION} s calls${TERN_ARGS:+; tern-peer $TERN_ARGS}"
