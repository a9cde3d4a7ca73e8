#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Many workloads: for each N given, a daemon caches N distinct workloads (bench/source_synth: a
# 60-step forecast each, values and desiredReplicas, no I/O, nothing kept by the source), all
# warmed once by GetMetrics (bench/go_server -warm, 64 calls in flight); prints the daemon's RSS, then
# the instructions per cached GetMetrics of ONE workload with the N others cached (callgrind,
# whole process, instrumentation switched on after the warm-up: marginal of M and 2M calls).
# refresh = 1h so that no background refresh runs during the measurement; max_workloads above N.
#
#   BUILD=build bench/workloads.sh 1 1000 10000 100000
#   CALLGRIND=0 ...                      RSS only
#   CHURN=200000 MAX=1000 bench/workloads.sh
#       unbounded names: CHURN distinct names against max_workloads = MAX, RSS every CHURN/4
#       names, then the cache and eviction series from /metrics; with IDLE=3s (and MAX
#       large) idle eviction bounds it instead (refresh 1s, idle_evict IDLE).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
CALLGRIND=${CALLGRIND:-1}
M=${M:-5000}
need h2load taskset protoc go cc curl
[ -x "$BUILD/src/kedastral-scaler" ] || { echo "bench: build first ($BUILD)" >&2; exit 1; }
[ "$CALLGRIND" = 1 ] && need valgrind callgrind_control

"$here/bench/build_go_server.sh" "$BUILD/bench" >/dev/null
mkdir -p "$work/plugins"
cc -O2 -fPIC -shared -I"$here/include" -o "$work/plugins/source-synth.so" \
  "$here/bench/source_synth/source_synth.c"
ln -s "$BUILD/plugins/policy-max.so" "$work/plugins/policy-max.so"

# conf MAX REFRESH IDLE_EVICT
conf() {
  cat >"$work/bench.conf" <<CONF
plugin_dir = "$work/plugins";
limits = { max_workloads = $1; };
sources = ( { name = "synth"; plugin = "synth"; refresh = "$2"; idle_evict = "$3"; } );
policies = ( { name = "p"; plugin = "max"; lead_time = "5m"; } );
workloads = ( { match = "*"; source = "synth"; policy = "p"; } );
CONF
}

# run_daemon [WRAPPER...]: sets $port, $admin, $pid
run_daemon() {
  port=$(free_port)
  admin=$(free_port)
  "$@" "$BUILD/src/kedastral-scaler" --config "$work/bench.conf" --listen "127.0.0.1:$port" \
    --http-listen "127.0.0.1:$admin" --log-level warn 2>>"$work/daemon.log" &
  pid=$!
  pids+=("$pid")
  wait_port "$port"
}

stop_daemon() {
  kill -TERM "$pid"
  wait "$pid" || true
}

warm() { # warm N [FROM [PREFIX]]
  taskset -c 1 "$BUILD/bench/bench-go-server" -warm -addr "127.0.0.1:$port" -n "$1" -from "${2:-0}" \
    -prefix "${3:-w-}" -c 64 -conns 4 >"$work/warm.txt" ||
    { cat "$work/warm.txt" "$work/daemon.log" >&2; exit 1; }
}

metric() { # metric NAME_REGEX: the sample lines of /metrics
  curl -s "http://127.0.0.1:$admin/metrics" | grep -E "^($1)" || true
}

# h2load CALLS on w-0, checked
calls() {
  taskset -c 1 h2load -n "$1" -c 1 -m 10 -d "$work/gm.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$port/externalscaler.ExternalScaler/GetMetrics" \
    >"$work/h2load.txt"
  grep -q "$1 succeeded" "$work/h2load.txt" || { cat "$work/h2load.txt" >&2; exit 1; }
}

# cg_dump: wait for callgrind to act on a dump request (it does when the loop wakes)
cg_dump() {
  local before; before=$(ls "$work"/cg.out.* 2>/dev/null | wc -l)
  callgrind_control -d "$pid" >/dev/null
  for _ in $(seq 300); do
    [ "$(ls "$work"/cg.out.* 2>/dev/null | wc -l)" -gt "$before" ] && return 0
    sleep 0.1
  done
  echo "bench: callgrind did not dump" >&2
  exit 1
}

rev=$(git -C "$here" rev-parse --short HEAD)
echo "== $(date -u +%FT%TZ) $rev $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"

if [ -n "${CHURN:-}" ]; then
  MAX=${MAX:-1000}
  if [ -n "${IDLE:-}" ]; then conf "$MAX" 1s "$IDLE"; else conf "$MAX" 1h 2h; fi
  run_daemon taskset -c 0
  echo "churn: $CHURN distinct names, max_workloads $MAX, idle_evict ${IDLE:-2h}"
  step=$((CHURN / 4))
  for from in $(seq 0 "$step" $((CHURN - 1))); do
    warm "$step" "$from" churn-
    echo "  after $((from + step)) names: RSS $(vm_kb "$pid" VmRSS) kB (peak $(vm_kb "$pid" VmHWM) kB); $(cat "$work/warm.txt")"
  done
  [ -n "${IDLE:-}" ] && sleep 5
  metric 'kedastral_scaler_cache_(entries|evictions_total)'
  echo "per-workload series: $(metric 'kedastral_scaler_workload_' | wc -l)"
  echo "RSS now $(vm_kb "$pid" VmRSS) kB"
  stop_daemon
  exit 0
fi

bodies w-0
printf '%-8s %-12s %-12s %-14s %s\n' workloads "RSS kB" "peak kB" "kB/workload" "instr/call (marginal, whole)"
for n in "${@:-1 1000 10000 100000}"; do
  conf $((n + 1000)) 1h 2h
  run_daemon taskset -c 0
  base=$(vm_kb "$pid" VmRSS)
  warm "$n"
  rss=$(vm_kb "$pid" VmRSS)
  hwm=$(vm_kb "$pid" VmHWM)
  entries=$(metric kedastral_scaler_cache_entries | awk '{ print $2 }')
  stop_daemon
  [ "$entries" = "$n" ] || { echo "bench: $entries entries cached, expected $n" >&2; exit 1; }
  ir="-"
  if [ "$CALLGRIND" = 1 ]; then
    rm -f "$work"/cg.out.*
    run_daemon valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.out.%p" -q
    warm "$n"
    calls 1
    callgrind_control -i on "$pid" >/dev/null
    calls "$M"
    cg_dump
    one=$(awk '/^summary:/ { print $2 }' "$work"/cg.out.*)
    calls $((2 * M))
    cg_dump
    two=$(awk '/^summary:/ { print $2 }' "$(ls "$work"/cg.out.* | sort -V | tail -1)")
    stop_daemon
    ir=$(awk -v a="$one" -v b="$two" -v m="$M" 'BEGIN { printf "%.0f, %.0f", (b - a) / m, a / m }')
  fi
  printf '%-8s %-12s %-12s %-14s %s\n' "$n" "$rss" "$hwm" \
    "$(awk -v r="$rss" -v b="$base" -v n="$n" 'BEGIN { printf "%.2f", (r - b) / n }')" "$ir"
done
