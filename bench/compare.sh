#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kedastral-scaler against a grpc-go server answering the same fixed value (bench/go_server)
# and nghttpd serving a static 48-byte body, in one run, interleaved, servers pinned to CPU 0
# and h2load to CPU 1. Prints req/s per shape (median of ROUNDS rounds of SECONDS s), the
# ratios, and each server's peak RSS idle and after the series. Figures, not assertions: run
# it on an otherwise idle 2-core machine.
#
#   BUILD=build bench/compare.sh           ROUNDS=3 SECONDS_PER_RUN=4 (defaults)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-4}
need h2load nghttpd taskset protoc go
[ -x "$BUILD/src/kedastral-scaler" ] || { echo "bench: build first ($BUILD)" >&2; exit 1; }

"$here/bench/build_go_server.sh" "$BUILD/bench" >/dev/null
bodies demo-api

kd_port=$(free_port)
start_daemon "$kd_port" "$here/etc/kedastral-scaler.conf" taskset -c 0
kd_pid=$!
pids+=("$kd_pid")
taskset -c 0 "$BUILD/bench/bench-go-server" >"$work/go.port" &
go_pid=$!
pids+=("$go_pid")
mkdir -p "$work/static"
head -c 48 /dev/zero | tr '\0' x >"$work/static/48b"
ng_port=$(free_port)
taskset -c 0 nghttpd --no-tls -d "$work/static" "$ng_port" >/dev/null 2>&1 &
ng_pid=$!
pids+=("$ng_pid")
wait_port "$kd_port"
wait_port "$ng_port"
for _ in $(seq 100); do [ -s "$work/go.port" ] && break; sleep 0.1; done
go_port=$(head -1 "$work/go.port")
wait_port "$go_port"

declare -A idle
idle[kd]=$(vm_kb "$kd_pid" VmHWM)
idle[go]=$(vm_kb "$go_pid" VmHWM)
idle[ng]=$(vm_kb "$ng_pid" VmHWM)

# h2load_rps PORT PATH CLIENTS STREAMS [BODY]: req/s of one run, "0" if any request failed.
h2load_rps() {
  local port=$1 path=$2 c=$3 m=$4 body=${5:-}
  local args=(-c "$c" -m "$m" -D "$SECONDS_PER_RUN" --warm-up-time=1)
  [ -n "$body" ] && args+=(-d "$body" -H 'content-type: application/grpc' -H 'te: trailers')
  taskset -c 1 h2load "${args[@]}" "http://127.0.0.1:$port$path" >"$work/h2load.txt" 2>&1 || true
  awk '/^finished in/ { rps = $4 } /^requests:/ { if ($12 + $14 > 0) bad = 1 }
       END { print (bad ? 0 : rps + 0) }' "$work/h2load.txt"
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

shapes=("GetMetrics 4 32" "GetMetrics 16 64" "IsActive 4 32")
declare -A runs
for round in $(seq "$ROUNDS"); do
  for shape in "${shapes[@]}"; do
    read -r method c m <<<"$shape"
    body=$work/gm.bin
    [ "$method" = IsActive ] && body=$work/ia.bin
    path=/externalscaler.ExternalScaler/$method
    runs[kd $shape]+=" $(h2load_rps "$kd_port" "$path" "$c" "$m" "$body")"
    runs[go $shape]+=" $(h2load_rps "$go_port" "$path" "$c" "$m" "$body")"
    if [ "$method" = GetMetrics ]; then
      runs[ng $shape]+=" $(h2load_rps "$ng_port" /48b "$c" "$m")"
    fi
  done
done

echo "== $(date -u +%FT%TZ) $(git -C "$here" rev-parse --short HEAD) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
printf '%-22s %12s %12s %12s %9s %9s\n' shape kedastral grpc-go nghttpd "kd/go" "kd/ng"
for shape in "${shapes[@]}"; do
  kd=$(median ${runs[kd $shape]})
  go=$(median ${runs[go $shape]})
  ng=-
  [ -n "${runs[ng $shape]:-}" ] && ng=$(median ${runs[ng $shape]})
  awk -v s="$shape" -v kd="$kd" -v go="$go" -v ng="$ng" 'BEGIN {
    printf "%-22s %12.0f %12.0f %12s %8.2fx %9s\n", s, kd, go, ng, (go > 0 ? kd / go : 0),
           (ng + 0 > 0 ? sprintf("%.0f%%", 100 * kd / ng) : "-") }'
done
printf '%-22s %12s %12s %12s\n' "peak RSS idle (kB)" "${idle[kd]}" "${idle[go]}" "${idle[ng]}"
printf '%-22s %12s %12s %12s\n' "peak RSS after (kB)" "$(vm_kb "$kd_pid" VmHWM)" \
  "$(vm_kb "$go_pid" VmHWM)" "$(vm_kb "$ng_pid" VmHWM)"
