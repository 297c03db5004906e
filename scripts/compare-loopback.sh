#!/usr/bin/env bash
# Proves that a change left tern-loopback's behaviour alone: builds tern-loopback at an old revision
# and at a new one (default: the working tree), runs every preset and the relay, sfu and
# bidirectional variants with the same seed in both, and compares the JSON outputs byte for byte.
#
#   scripts/compare-loopback.sh OLD_REV [NEW_REV]
#
# NEW_REV defaults to the working tree as it is (uncommitted changes included). Builds go to
# out/compare/<rev> (reused when present; ccache is used when installed). Set OLD_BIN / NEW_BIN to
# existing tern-loopback binaries to skip a build. Prints one line per case and a final
# `N passed, N failed`; exits non-zero on any difference or failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OLD_REV=${1:?usage: scripts/compare-loopback.sh OLD_REV [NEW_REV]}
NEW_REV=${2:-}
JOBS=${TERN_JOBS:-$(nproc)}
SEED=${TERN_COMPARE_SEED:-1}
OUT="$ROOT/out/compare"
mkdir -p "$OUT"

build_rev() {  # rev -> prints the path of its tern-loopback
  local rev=$1 src dir
  src="$OUT/src-$(git rev-parse --short "$rev")"
  dir="$OUT/build-$(git rev-parse --short "$rev")"
  if [ ! -d "$src" ]; then
    git worktree add --detach -f "$src" "$rev" >/dev/null 2>&1
  fi
  build_tree "$src" "$dir"
}

build_tree() {  # source-dir build-dir -> prints the path of its tern-loopback
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTERN_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
  cmake --build "$2" -j "$JOBS" --target tern-loopback >/dev/null
  echo "$2/tools/tern-loopback"
}

old_bin=${OLD_BIN:-$(build_rev "$OLD_REV")}
if [ -n "${NEW_BIN:-}" ]; then
  new_bin=$NEW_BIN
elif [ -n "$NEW_REV" ]; then
  new_bin=$(build_rev "$NEW_REV")
else
  new_bin=$(build_tree "$ROOT" "$OUT/build-worktree")
fi
echo "old: $old_bin ($OLD_REV)"
echo "new: $new_bin (${NEW_REV:-working tree})"

cases=()
while read -r name _; do
  [ -n "$name" ] && cases+=("--preset $name")
done < <("$old_bin" --list-presets | sed -n 's/^  \([a-z0-9-]*\) .*/\1/p')
cases+=("--topology relay" "--topology sfu" "--bidirectional" "--codecs vp9,opus"
        "--preset wifi-lossy --topology sfu" "--cc remb" "--protection nack,fec,red --loss 5"
        "--reorder --jitter 30 --loss 1")

passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for c in "${cases[@]}"; do
  # shellcheck disable=SC2086
  if ! timeout 300 "$old_bin" $c --seed "$SEED" --no-progress --json "$tmp/old.json" >"$tmp/old.txt" 2>&1; then
    echo "FAIL  $c: the old build failed"; failed=$((failed + 1)); continue
  fi
  # shellcheck disable=SC2086
  if ! timeout 300 "$new_bin" $c --seed "$SEED" --no-progress --json "$tmp/new.json" >"$tmp/new.txt" 2>&1; then
    echo "FAIL  $c: the new build failed"; failed=$((failed + 1)); continue
  fi
  if cmp -s "$tmp/old.json" "$tmp/new.json"; then
    echo "same  $c ($(wc -c <"$tmp/new.json") bytes of JSON)"
    passed=$((passed + 1))
  else
    echo "DIFF  $c"
    diff <(python3 -m json.tool "$tmp/old.json") <(python3 -m json.tool "$tmp/new.json") | head -20 || true
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
