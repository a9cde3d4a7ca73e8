#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the grpc-go interop client offline from Debian's Go packages (GOPATH mode, no module
# proxy): protoc-gen-go + protoc-gen-go-grpc stubs, then go build. Usage: build_go_client.sh
# PROTO_DIR OUT_DIR; the binary is OUT_DIR/interop-go-client.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 PROTO_DIR OUT_DIR" >&2
  exit 2
fi
proto_dir=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
src=$(cd "$(dirname "$0")/go_client" && pwd)

missing=()
for tool in go protoc protoc-gen-go protoc-gen-go-grpc; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
for dir in google.golang.org/grpc google.golang.org/protobuf; do
  [ -d "/usr/share/gocode/src/$dir" ] || missing+=("/usr/share/gocode/src/$dir")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "build_go_client: missing ${missing[*]}; install the Debian packages golang-go" \
       "golang-google-grpc-dev golang-google-protobuf-dev protoc-gen-go protoc-gen-go-grpc" \
       "(scripts/install-deps.sh)" >&2
  exit 1
fi

pkg=kedastral/interop/externalscaler
gen="$out/gopath/src/$pkg"
rm -rf "$gen"
mkdir -p "$gen"
# The proto says go_package ".;externalscaler"; M= gives the stubs a real GOPATH import path.
protoc -I"$proto_dir" \
  --go_out="$gen" --go_opt=paths=source_relative --go_opt="Mexternalscaler.proto=$pkg" \
  --go-grpc_out="$gen" --go-grpc_opt=paths=source_relative \
  --go-grpc_opt="Mexternalscaler.proto=$pkg" \
  externalscaler.proto

export GO111MODULE=off GOPROXY=off GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0
export GOPATH="$out/gopath:/usr/share/gocode" GOCACHE="$out/gocache"
go build -o "$out/interop-go-client.tmp" "$src/main.go"
mv -f "$out/interop-go-client.tmp" "$out/interop-go-client"
