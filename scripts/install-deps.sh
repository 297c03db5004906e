#!/usr/bin/env bash
# Installs every Debian 12 package tern needs to build, test, fuzz, benchmark and run its interop
# tests, and the npm packages of the Chromium test (tests/turn/chromium/) into out/node.
# Idempotent: when everything is already installed it does nothing (no apt-get update, no npm).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

PACKAGES=(
  # toolchains and build
  build-essential g++ clang libclang-rt-14-dev cmake ninja-build pkg-config git ca-certificates
  # core dependencies
  libopus-dev libvpx-dev libsrtp2-dev libusrsctp-dev libssl-dev
  # test and bench frameworks
  doctest-dev libbenchmark-dev
  # media helpers: conversion/PSNR, containers, JSON, CLI
  libyuv-dev libogg-dev libopusenc-dev libwebm-dev libmatroska-dev libebml-dev libavformat-dev
  nlohmann-json3-dev libcli11-dev
  # HTTP for WHIP/WHEP signalling (tools/net/http_bridge.h)
  libcpp-httplib-dev
  # scripts/sfu-load.sh: polls tern-sfu's /stats, tabulates tern-sfu-load's JSON
  curl jq
  # independent peers and dissectors for interop tests
  tshark gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-libav ffmpeg
  # TURN server for the ice/ TURN client interop test, openssl for its test certificates
  coturn openssl
  # aioice (the ICE peer of tests/ice/aioice_interop_test.cpp) ships in python3-aiortc
  python3-aiortc
  # the Go WebRTC peer of tests/webrtc_peers (pion/webrtc v3, built offline in GOPATH mode)
  golang-go golang-github-pion-webrtc.v3-dev
  # the browser of tests/turn/chromium_turn_test.cpp (Chromium through tern-turn)
  chromium
)
# Node.js and npm drive that browser (puppeteer-core). Machines that already have them (for example
# from another distribution channel, whose nodejs package includes npm) keep theirs: the Debian
# packages are added only for a command that is missing.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-deps: done"
fi

# puppeteer-core (the versions of tests/turn/chromium/package-lock.json) into out/node, without a
# browser download: the test drives Debian's /usr/bin/chromium. Reinstalled only when the lock
# file changed. TERN_NODE_DIR moves it (the test reads the same variable).
NODE_DIR=${TERN_NODE_DIR:-$ROOT/out/node}
LOCK=$ROOT/tests/turn/chromium/package-lock.json
if [ -f "$NODE_DIR/node_modules/puppeteer-core/package.json" ] && cmp -s "$LOCK" "$NODE_DIR/package-lock.json"; then
  echo "install-deps: puppeteer-core present in $NODE_DIR"
else
  echo "install-deps: npm ci (puppeteer-core) in $NODE_DIR"
  mkdir -p "$NODE_DIR"
  cp "$ROOT/tests/turn/chromium/package.json" "$LOCK" "$NODE_DIR/"
  (cd "$NODE_DIR" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "install-deps: npm done"
fi
