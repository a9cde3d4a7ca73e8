#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what building and running the daemon needs (scripts/run.sh), and with --tests what
# the tests need too (scripts/test.sh, hence .ci/run), from Debian 12 packages, plus
# @grpc/grpc-js from npm for the interop test.
set -euo pipefail

# What building and running the daemon needs (scripts/run.sh).
PKGS=(
  build-essential cmake pkg-config
  libevent-dev libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  libconfig-dev libcurl4-openssl-dev libcjson-dev libssl-dev
)

# What the tests add (scripts/test.sh passes --tests): cmocka, clang (fuzzers) and clang-format,
# the independent clients (python3-grpcio, grpc-go, grpc-js, nghttp, python3-h2), valgrind,
# nghttpd and h2load (bench), a real Prometheus, openssl for test certificates, headless Chromium
# for /status.
tests=false
[ "${1:-}" = "--tests" ] && tests=true
if $tests; then
  PKGS+=(
    clang clang-format libcmocka-dev
    python3 python3-grpcio python3-protobuf python3-h2 nghttp2-client nghttp2-server valgrind
    unzip openssl prometheus curl chromium
    golang-go golang-google-grpc-dev golang-google-protobuf-dev protoc-gen-go protoc-gen-go-grpc
  )
  # node + npm (grpc-js interop client): Debian's packages only where no node is installed,
  # since an image may already carry a newer Node.js whose npm conflicts with Debian's.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    PKGS+=(nodejs npm)
  fi
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
if $tests && [ -f "$here/tests/integration/node/package.json" ] && [ ! -d "$here/tests/integration/node/node_modules/@grpc/grpc-js" ]; then
  echo "install-deps: npm ci (tests/integration/node: @grpc/grpc-js)"
  (cd "$here/tests/integration/node" && npm ci --no-audit --no-fund --silent >/dev/null)
fi
