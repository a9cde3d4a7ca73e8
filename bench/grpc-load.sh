#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# h2load against a running (or freshly started) kedastral-scaler: GetMetrics and IsActive
# request bodies are built from the proto with protoc --encode. Prints req/s, latency and the
# daemon's peak RSS. Figures, not assertions.
#
#   bench/grpc-load.sh                      # start build/src/kedastral-scaler on the demo config
#   SOURCE=http DELAY_MS=2000 bench/grpc-load.sh  # http source -> stub forecaster answering in 2 s
#   ADDR=127.0.0.1:50051 PID=1234 bench/grpc-load.sh   # measure a daemon you started
#   N=200000 CLIENTS=4 STREAMS=100 bench/grpc-load.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
N=${N:-100000}
CLIENTS=${CLIENTS:-1}
STREAMS=${STREAMS:-100}
BUILD=${BUILD:-$here/build}
SOURCE=${SOURCE:-file}
DELAY_MS=${DELAY_MS:-0}
work=$(mktemp -d)
cleanup() {
  [ -n "${started:-}" ] && kill "$PID" 2>/dev/null
  [ -n "${STUB_PID:-}" ] && kill "$STUB_PID" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

command -v h2load >/dev/null || { echo "h2load missing: apt-get install nghttp2-client" >&2; exit 1; }

if [ -z "${ADDR:-}" ]; then
  port=$((20000 + RANDOM % 20000))
  ADDR=127.0.0.1:$port
  conf="$here/etc/kedastral-scaler.conf"
  if [ "$SOURCE" = http ]; then
    # The stub forecaster, every workload fresh, each answer after DELAY_MS.
    /usr/bin/python3 "$here/tests/stub/forecaster.py" >"$work/stub.port" 2>/dev/null &
    STUB_PID=$!
    for _ in $(seq 50); do [ -s "$work/stub.port" ] && break; sleep 0.1; done
    stub="http://127.0.0.1:$(head -1 "$work/stub.port")"
    curl -s -X POST -d "{\"*\": {\"mode\": \"slow\", \"delay_ms\": $DELAY_MS}}" "$stub/_control" >/dev/null
    conf="$work/http.conf"
    cat >"$conf" <<CONF
sources = ( { name = "fc"; plugin = "http"; url = "$stub"; refresh = "10s"; timeout = "5s"; } );
policies = ( { name = "p"; plugin = "max"; lead_time = "5m"; } );
workloads = ( { match = "*"; source = "fc"; policy = "p"; } );
CONF
  fi
  "$BUILD/src/kedastral-scaler" --config "$conf" \
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

h2() {
  local name=$1 body=$2 n=$3
  rm -f "$work/h2load.log" # h2load appends
  h2load -n "$n" -c "$CLIENTS" -m "$STREAMS" -d "$body" --log-file="$work/h2load.log" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://$ADDR/externalscaler.ExternalScaler/$name" >"$work/h2load.txt"
}

run() {
  local name=$1 body=$2
  h2 "$name" "$body" 1 # warm the workload's cache entry (a cold first fetch waits on the source)
  echo "== $name: source=$SOURCE delay=${DELAY_MS}ms n=$N clients=$CLIENTS streams/conn=$STREAMS"
  h2 "$name" "$body" "$N"
  grep -E '^finished in|^requests:|time for request:' "$work/h2load.txt"
  # h2load's log: start time, status, duration in microseconds, one request per line.
  cut -f3 "$work/h2load.log" | sort -n | awk '{ v[NR] = $1 } END {
    printf "latency p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", v[int(NR * 0.50)] / 1000,
           v[int(NR * 0.99)] / 1000, v[NR] / 1000 }'
}

run GetMetrics "$work/gm.bin"
run IsActive "$work/ia.bin"
if [ -n "${PID:-}" ] && [ -r "/proc/$PID/status" ]; then
  grep -E 'VmHWM|VmRSS' "/proc/$PID/status" | sed 's/^/daemon /'
fi
