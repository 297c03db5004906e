#!/usr/bin/env bash
# Installs every Debian 12 package tern needs to build, test, fuzz, benchmark and run its interop
# tests. Idempotent: when everything is already installed it does nothing (no apt-get update).
set -euo pipefail

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
  # independent peers and dissectors for interop tests
  tshark gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-libav ffmpeg
  # TURN server for the ice/ TURN client interop test, openssl for its test certificates
  coturn openssl
  # aioice (the ICE peer of tests/ice/aioice_interop_test.cpp) ships in python3-aiortc
  python3-aiortc
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
