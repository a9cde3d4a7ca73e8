#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs everything the build, the daemon and the tests need, from Debian 12 packages
# (plus @grpc/grpc-js from npm for the interop test). Used by the README, .ci/run and developers.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang
  libevent-dev libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  libconfig-dev libcurl4-openssl-dev libcjson-dev libcmocka-dev libssl-dev
  python3 python3-grpcio python3-protobuf python3-h2 nghttp2-client nghttp2-server valgrind unzip openssl prometheus curl
  golang-go golang-google-grpc-dev golang-google-protobuf-dev protoc-gen-go protoc-gen-go-grpc
)

# node + npm (grpc-js interop client): Debian's packages only where no node is installed, since
# an image may already carry a newer Node.js whose npm conflicts with Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  PKGS+=(nodejs npm)
fi

# Test-only, not needed to build or run the daemon: headless Chromium renders /status in the
# status tests (scripts/test.sh passes --tests).
if [ "${1:-}" = "--tests" ]; then
  PKGS+=(chromium)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The grpc-js interop client (tests/integration/node); npm is the only other registry used.
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ -f "$here/tests/integration/node/package.json" ] && [ ! -d "$here/tests/integration/node/node_modules/@grpc/grpc-js" ]; then
  echo "install-deps: npm ci (tests/integration/node: @grpc/grpc-js)"
  (cd "$here/tests/integration/node" && npm ci --no-audit --no-fund --silent >/dev/null)
fi
