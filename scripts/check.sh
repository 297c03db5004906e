#!/usr/bin/env bash
# The whole test suite, as CI runs it (after scripts/install-deps.sh):
#   1. Release build with GCC, warnings as errors; every ctest test; a smoke run of every benchmark.
#   2. ASan + UBSan build with Clang, warnings as errors, libFuzzer targets included; every ctest test
#      but the runs against external peers (sendrecv, interop, turn, ICE with coturn/aioice), which
#      stage 1 runs.
#   3. Each libFuzzer target for a bounded time (TERN_FUZZ_SECONDS in total, default 90; each
#      target at least 3 s), TERN_JOBS targets at a time.
# Build directories: out/release and out/asan (reused when present). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${TERN_JOBS:-$(nproc)}
FUZZ_SECONDS=${TERN_FUZZ_SECONDS:-90}
FUZZ_MIN_SECONDS=3  # no target gets less, whatever the total
passed=0
failed=0
START=$SECONDS
stamp() { echo "   ($(( SECONDS - START )) s since start: $1)"; }

build() {  # dir [targets...]: builds (all by default), printing only diagnostics (not ninja's progress lines)
  set +e
  cmake --build "$1" -j "$JOBS" ${2:+--target "${@:2}"} 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] '
  local rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -ne 0 ]; then
    echo "check: build of $1 failed"
    echo "$passed passed, $((failed + 1)) failed"
    exit 1
  fi
}

run_ctest() {  # dir label [extra ctest arguments]
  local log
  log=$(mktemp)
  set +e
  ctest --test-dir "$1" -j "$JOBS" --output-on-failure --timeout 600 "${@:3}" 2>&1 | tee "$log" | grep -vE '^ *([0-9]+/[0-9]+ Test +#[0-9]+: .* Passed| +Start +[0-9]+:)'
  local rc=${PIPESTATUS[0]}
  set -e
  local line
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1 || true)
  if [[ $line =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
    failed=$((failed + BASH_REMATCH[1]))
    passed=$((passed + BASH_REMATCH[2] - BASH_REMATCH[1]))
  fi
  rm -f "$log"
  if [ "$rc" -ne 0 ]; then
    echo "check: $2 tests failed"
    echo "$passed passed, $failed failed"
    exit 1
  fi
}

export TERN_REQUIRE_INTEROP=1
echo "== [1/3] Release build (GCC) =="
# The libraries, tools and benchmarks are optimised as Release builds them (-O3); the test programs
# are not (-O0), as in stage 2: GCC compiles a test file about twice as fast unoptimised, test code
# is mostly calls into the optimised libraries, and the test files are 148 of the 373 compiled.
cmake -S . -B out/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
  -DCMAKE_C_COMPILER=gcc -DTERN_WERROR=ON -DTERN_BUILD_BENCH=ON -DTERN_TEST_COMPILE_OPTIONS=-O0 >/dev/null
build out/release
stamp "release build"
run_ctest out/release release
stamp "release tests"
echo "== benchmark smoke run =="
for b in out/release/bench/tern_*_bench; do
  [ -x "$b" ] || continue
  timeout 120 "$b" --benchmark_min_time=0.001 >/dev/null 2>&1 || { echo "benchmark $b failed"; exit 1; }
  echo "ok $(basename "$b")"
done

stamp "benchmarks"
echo "== [2/3] ASan + UBSan build (Clang) with libFuzzer targets =="
# Line tables only: enough for sanitizer reports with file:line, and a faster compile and link than -g.
# The libraries and tools are optimised (-O2) and the test programs are not (-O0): with the
# sanitizers, clang compiles a test file three times faster unoptimised, and the tests' time is spent
# in the optimised libraries. The suites that run external peers are not built here (stage 1 runs them).
# The libraries are unity builds here (8 files to a translation unit: half the CPU time of compiling
# them one file at a time with the sanitizers, measured on congestion/, rtp/ and jitterbuffer/);
# stage 1 compiles every file on its own, as the README's build does, so a missing #include still
# shows, and this stage shows a name two files of one library both define at namespace scope.
cmake -S . -B out/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -DNDEBUG" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -DNDEBUG" -DTERN_WERROR=ON -DTERN_SANITIZE=ON -DTERN_BUILD_FUZZ=ON \
  -DTERN_BUILD_BENCH=OFF -DTERN_BUILD_PEER_TESTS=OFF -DTERN_TEST_COMPILE_OPTIONS=-O0 \
  -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8 >/dev/null
# Only the test suites and the fuzz targets (and what they link): no test of this stage runs a tool
# program (tern-send, tern-recv, tern-turn, tern-peer, tern-loopback); stage 1 built and ran them.
build out/asan tern_all_tests tern_all_fuzz
stamp "asan build"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Every test except those whose time goes to external peers over real sockets: tests/sendrecv
# (tern-send/tern-recv against GStreamer and ffmpeg), tests/interop (GStreamer, ffmpeg), tests/turn
# (coturn's turnutils_uclient and headless Chromium through tern-turn) and the ICE/TURN interop with
# coturn and aioice, and tests/sdp's SDP exchange with headless Chromium. They spend seconds of
# wall clock each waiting on the peers, ran in the Release stage above, and exercise code the other
# suites (netsim calls, in-memory TURN/ICE/DTLS exchanges) and the fuzz targets run under the
# sanitizers. Skipping them here keeps CI within its budget.
run_ctest out/asan asan -E '^(sendrecv|interop|turn)/|^ice/.*(coturn|aioice)|^sdp/Chromium'
stamp "asan tests"

echo "== [3/3] fuzzing (${FUZZ_SECONDS}s in total) =="
mapfile -t fuzzers < <(ls out/asan/fuzz/tern_*_fuzz 2>/dev/null || true)
fuzz_one() {  # target seconds: runs one target on a copy of its seed corpus; its log says how it went
  local f=$1 name corpus seeds
  name=$(basename "$f" | sed -e 's/^tern_//' -e 's/_fuzz$//')
  corpus=$(mktemp -d)
  seeds="$ROOT/fuzz/corpus/$name"
  [ -d "$seeds" ] && cp -r "$seeds"/. "$corpus"/ 2>/dev/null || true
  "$f" -max_total_time="$2" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
    -artifact_prefix="out/asan/fuzz/${name}-" "$corpus" >"out/asan/fuzz/${name}.log" 2>&1
  local rc=$?
  rm -rf "$corpus"
  return $rc
}
if [ ${#fuzzers[@]} -gt 0 ]; then
  per=$((FUZZ_SECONDS / ${#fuzzers[@]}))
  [ "$per" -ge "$FUZZ_MIN_SECONDS" ] || per=$FUZZ_MIN_SECONDS
  # $JOBS targets at a time (one core each); every target still gets its $per seconds.
  for ((i = 0; i < ${#fuzzers[@]}; i += JOBS)); do
    batch=("${fuzzers[@]:i:JOBS}")
    pids=()
    for f in "${batch[@]}"; do
      fuzz_one "$f" "$per" &
      pids+=($!)
    done
    for k in "${!batch[@]}"; do
      name=$(basename "${batch[$k]}" | sed -e 's/^tern_//' -e 's/_fuzz$//')
      if ! wait "${pids[$k]}"; then
        tail -40 "out/asan/fuzz/${name}.log"
        echo "check: fuzzer $name found a failure"
        echo "$passed passed, $((failed + 1)) failed"
        exit 1
      fi
      echo "ok fuzz $name: $(grep -Eo 'Done [0-9]+ runs.*' "out/asan/fuzz/${name}.log" | tail -1 || echo done)"
      passed=$((passed + 1))
    done
  done
fi

stamp "fuzzing"
echo "check: all stages passed"
echo "$passed passed, $failed failed"
