#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What one gRPC connection costs the daemon in resident memory (issue 10): (a) idle: VmRSS
# before and after opening IDLE_N h2c connections that finished the preface and SETTINGS
# exchange (bench/idle_conns.py, raw sockets); (b) busy: VmRSS mid-run and after an h2load
# GetMetrics run of c connections of m streams, minus the daemon's RSS before the run, per
# connection (the figure includes the idle cost). Each shape runs ROUNDS times on a fresh
# daemon pinned to CPU 0 (clients on CPU 1); medians are printed. Figures, not assertions; RSS
# does not depend on machine load, req/s would, so none are printed.
#
#   BUILD=build bench/connections.sh        IDLE_N=1000 ROUNDS=2 SECONDS_PER_RUN=6
#   SHAPES="64x32 64x1 256x32 256x1"        (the default; CxM)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
IDLE_N=${IDLE_N:-1000}
ROUNDS=${ROUNDS:-2}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-6}
SHAPES=${SHAPES-64x32 64x1 256x32 256x1}
need h2load taskset protoc
[ -x "$BUILD/src/kedastral-scaler" ] || { echo "bench: build first ($BUILD)" >&2; exit 1; }
bodies demo-api
# The demo config with room for IDLE_N connections and the busy runs' buffers.
conf=$work/bench.conf
cat >"$conf" <<CONF
limits = { max_connections = $((IDLE_N + 1000)); total_buffer = "1GiB"; };
sources = ( { name = "demo"; plugin = "file"; path = "$here/etc/forecasts/demo.json"; } );
policies = ( { name = "lookahead"; plugin = "max"; lead_time = "5m"; } );
workloads = ( { match = "*"; source = "demo"; policy = "lookahead"; } );
CONF
ulimit -n $((IDLE_N + 2000)) 2>/dev/null || true

gm() { # gm PORT C M [h2load args...]: GetMetrics from h2load on CPU 1
  local port=$1 c=$2 m=$3; shift 3
  taskset -c 1 h2load -c "$c" -m "$m" -d "$work/gm.bin" "$@" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$port/externalscaler.ExternalScaler/GetMetrics" >"$work/h2load.txt" 2>&1
  awk '/^requests:/ { if ($12 + $14 > 0) { print "bench: failed requests: " $0 > "/dev/stderr"; exit 1 } }' \
    "$work/h2load.txt"
}

# fresh: a new daemon ($pid, $port) with the workload's cache entry warm, whatever it held before.
fresh() {
  [ -n "${pid:-}" ] && { kill "$pid"; wait "$pid" 2>/dev/null || true; }
  port=$(free_port)
  start_daemon "$port" "$conf" taskset -c 0
  pid=$!
  pids+=("$pid")
  wait_port "$port"
  gm "$port" 1 1 -n 1
  sleep 0.2
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
per() { awk -v d="$1" -v n="$2" 'BEGIN { printf "%.0f", d * 1024 / n }'; } # kB delta -> bytes each

declare -A r
for _ in $(seq "$ROUNDS"); do
  fresh
  before=$(vm_kb "$pid" VmRSS)
  coproc IDLE { taskset -c 1 /usr/bin/python3 "$here/bench/idle_conns.py" "$port" "$IDLE_N"; }
  read -r ready _ <&"${IDLE[0]}"
  [ "$ready" = ready ] || { echo "bench: idle connections failed" >&2; exit 1; }
  sleep 0.5
  after=$(vm_kb "$pid" VmRSS)
  exec {IDLE[1]}>&-
  wait "$IDLE_PID" || true
  r[idle before]+=" $before"
  r[idle after]+=" $after"
  r[idle per]+=" $(per $((after - before)) "$IDLE_N")"

  for shape in $SHAPES; do
    c=${shape%x*} m=${shape#*x}
    fresh
    before=$(vm_kb "$pid" VmRSS)
    gm "$port" "$c" "$m" -D "$SECONDS_PER_RUN" &
    load=$!
    sleep $((SECONDS_PER_RUN / 2))
    mid=$(vm_kb "$pid" VmRSS)
    wait "$load"
    sleep 0.5
    after=$(vm_kb "$pid" VmRSS)
    r[$shape before]+=" $before"
    r[$shape mid]+=" $mid"
    r[$shape after]+=" $after"
    r[$shape hwm]+=" $(vm_kb "$pid" VmHWM)"
    r[$shape per]+=" $(per $((mid - before)) "$c")"
  done
done

echo "== $(date -u +%FT%TZ) $(git -C "$here" rev-parse --short HEAD) rounds=$ROUNDS (medians), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-26s %10s %10s %10s %10s %14s\n' shape "before kB" "mid kB" "after kB" "peak kB" "B/connection"
printf '%-26s %10s %10s %10s %10s %14s\n' "idle x$IDLE_N (SETTINGS done)" "$(median ${r[idle before]})" - \
  "$(median ${r[idle after]})" - "$(median ${r[idle per]})"
for shape in $SHAPES; do
  printf '%-26s %10s %10s %10s %10s %14s\n' "GetMetrics c=${shape%x*} m=${shape#*x}" \
    "$(median ${r[$shape before]})" "$(median ${r[$shape mid]})" "$(median ${r[$shape after]})" \
    "$(median ${r[$shape hwm]})" "$(median ${r[$shape per]})"
done
echo "B/connection: idle (after - before) / $IDLE_N; busy (mid - before) / c, the idle cost included"
