#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# h2load against a running (or freshly started) kedastral-scaler: GetMetrics and IsActive
# request bodies are built from the proto with protoc --encode. Prints req/s, latency and the
# daemon's peak RSS. Figures, not assertions.
#
#   bench/grpc-load.sh                      # start build/src/kedastral-scaler on the demo config
#   ADDR=127.0.0.1:50051 PID=1234 bench/grpc-load.sh   # measure a daemon you started
#   N=200000 CLIENTS=4 STREAMS=100 bench/grpc-load.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
N=${N:-100000}
CLIENTS=${CLIENTS:-1}
STREAMS=${STREAMS:-100}
BUILD=${BUILD:-$here/build}
work=$(mktemp -d)
trap 'rm -rf "$work"; [ -n "${started:-}" ] && kill "$PID" 2>/dev/null || true' EXIT

command -v h2load >/dev/null || { echo "h2load missing: apt-get install nghttp2-client" >&2; exit 1; }

if [ -z "${ADDR:-}" ]; then
  port=$((20000 + RANDOM % 20000))
  ADDR=127.0.0.1:$port
  "$BUILD/src/kedastral-scaler" --config "$here/etc/kedastral-scaler.conf" \
    --plugin-dir "$BUILD/plugins" --listen "$ADDR" --log-level warn 2>"$work/daemon.log" &
  PID=$!
  started=1
  for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
  done
fi

# gRPC framing: 0x00, 4-byte big-endian length, message.
frame() {
  local msg=$1 out=$2
  local len; len=$(stat -c %s "$msg")
  printf '\x00' >"$out"
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((len >> 24 & 255)) $((len >> 16 & 255)) \
    $((len >> 8 & 255)) $((len & 255)))" >>"$out"
  cat "$msg" >>"$out"
}
echo 'scaledObjectRef { name: "demo-api" namespace: "default" scalerMetadata { key: "workload" value: "demo-api" } } metricName: "kedastral-demo-api-desired-replicas"' |
  protoc -I"$here/proto" --encode=externalscaler.GetMetricsRequest externalscaler.proto >"$work/gm.pb"
echo 'name: "demo-api" namespace: "default"' |
  protoc -I"$here/proto" --encode=externalscaler.ScaledObjectRef externalscaler.proto >"$work/ia.pb"
frame "$work/gm.pb" "$work/gm.bin"
frame "$work/ia.pb" "$work/ia.bin"

run() {
  local name=$1 body=$2
  echo "== $name: n=$N clients=$CLIENTS streams/conn=$STREAMS"
  h2load -n "$N" -c "$CLIENTS" -m "$STREAMS" -d "$body" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://$ADDR/externalscaler.ExternalScaler/$name" >"$work/h2load.txt"
  grep -E '^finished in|^requests:|^status codes:|time for request:' "$work/h2load.txt"
}

run GetMetrics "$work/gm.bin"
run IsActive "$work/ia.bin"
if [ -n "${PID:-}" ] && [ -r "/proc/$PID/status" ]; then
  grep -E 'VmHWM|VmRSS' "/proc/$PID/status" | sed 's/^/daemon /'
fi
