#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Instructions per cached call, the figure that does not move with machine noise: the daemon
# runs under callgrind (whole process) for N and for 2N calls (h2load c=1 m=10 after one warm-up
# call) and the difference divided by N is the cost of one call; the whole-process total per
# call is printed too. TOP=15 self-cost functions of the 2N run follow.
#
#   BUILD=build bench/callgrind.sh            N=10000 METHOD=GetMetrics WORKLOADS=1
#   KEEP=out.callgrind ...                    keep the 2N profile (callgrind_annotate, kcachegrind)
#   FORECASTS=file.json WORKLOAD=w-42 ...     a bigger forecast file (bench/workloads.sh)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N=${N:-10000}
METHOD=${METHOD:-GetMetrics}
TOP=${TOP:-15}
WORKLOAD=${WORKLOAD:-demo-api}
need h2load valgrind callgrind_annotate protoc
bodies "$WORKLOAD"
body=$work/gm.bin
[ "$METHOD" = IsActive ] && body=$work/ia.bin

conf=$here/etc/kedastral-scaler.conf
if [ -n "${FORECASTS:-}" ]; then
  conf=$work/bench.conf
  cat >"$conf" <<CONF
sources = ( { name = "f"; plugin = "file"; path = "$FORECASTS"; } );
policies = ( { name = "p"; plugin = "max"; lead_time = "5m"; } );
workloads = ( { match = "*"; source = "f"; policy = "p"; } );
CONF
fi

# total_ir CALLS: whole-process instructions of a daemon that served CALLS calls (+1 warm-up).
total_ir() {
  local n=$1 port out
  port=$(free_port)
  out=$work/callgrind.$n
  start_daemon "$port" "$conf" valgrind --tool=callgrind --callgrind-out-file="$out" -q
  local pid=$!
  wait_port "$port"
  h() {
    h2load -n "$1" -c 1 -m "$2" -d "$body" -H 'content-type: application/grpc' \
      -H 'te: trailers' "http://127.0.0.1:$port/externalscaler.ExternalScaler/$METHOD" >"$work/h2load.txt"
    grep -q "$1 succeeded" "$work/h2load.txt" || { cat "$work/h2load.txt" >&2; exit 1; }
  }
  h 1 1
  h "$n" 10
  kill -TERM "$pid"
  wait "$pid" || true
  awk '/^summary:/ { print $2 }' "$out"
}

one=$(total_ir "$N")
two=$(total_ir $((2 * N)))
echo "== $(date -u +%FT%TZ) $(git -C "$here" rev-parse --short HEAD) $METHOD workload=$WORKLOAD"
awk -v a="$one" -v b="$two" -v n="$N" 'BEGIN {
  printf "instructions per call: %.0f marginal ((I(2N) - I(N)) / N, N=%d); whole process %.0f (I(N) / N)\n",
         (b - a) / n, n, a / n }'
[ -n "${KEEP:-}" ] && cp "$work/callgrind.$((2 * N))" "$KEEP"
callgrind_annotate --threshold=100 "$work/callgrind.$((2 * N))" 2>/dev/null |
  awk '/Ir/ && /file:function/ { on = 1; next } on && NF { print } ' | head -n "$TOP"
