#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds bench/go_server (the grpc-go reference server, and with -warm the warm-up client)
# offline from Debian's Go packages (GOPATH mode, no module proxy), the way
# tests/integration/interop/build_go_client.sh builds the interop client.
# Usage: build_go_server.sh OUT_DIR; the binary is OUT_DIR/bench-go-server.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$1"
out=$(cd "$1" && pwd)
for tool in go protoc protoc-gen-go protoc-gen-go-grpc; do
  command -v "$tool" >/dev/null || { echo "build_go_server: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done
pkg=kedastral/interop/externalscaler
gen="$out/gopath/src/$pkg"
rm -rf "$gen"
mkdir -p "$gen"
protoc -I"$here/proto" \
  --go_out="$gen" --go_opt=paths=source_relative --go_opt="Mexternalscaler.proto=$pkg" \
  --go-grpc_out="$gen" --go-grpc_opt=paths=source_relative \
  --go-grpc_opt="Mexternalscaler.proto=$pkg" \
  externalscaler.proto
export GO111MODULE=off GOPROXY=off GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0
export GOPATH="$out/gopath:/usr/share/gocode" GOCACHE="$out/gocache"
go build -o "$out/bench-go-server.tmp" "$here/bench/go_server/main.go"
mv -f "$out/bench-go-server.tmp" "$out/bench-go-server"
