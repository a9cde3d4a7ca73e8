# SPDX-License-Identifier: Apache-2.0
# Shared by the bench/ scripts (sourced): request bodies, starting and stopping servers.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD=${BUILD:-$here/build}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "bench: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
  done
}

# gRPC framing of a protoc --encode'd message: 0x00, 4-byte big-endian length, message.
frame() {
  local msg=$1 out=$2
  local len; len=$(stat -c %s "$msg")
  printf '\x00' >"$out"
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((len >> 24 & 255)) $((len >> 16 & 255)) \
    $((len >> 8 & 255)) $((len & 255)))" >>"$out"
  cat "$msg" >>"$out"
}

# bodies WORKLOAD: $work/gm.bin (GetMetrics) and $work/ia.bin (IsActive) for one workload.
bodies() {
  local w=$1
  echo "scaledObjectRef { name: \"$w\" namespace: \"default\" scalerMetadata { key: \"workload\" value: \"$w\" } } metricName: \"kedastral-$w-desired-replicas\"" |
    protoc -I"$here/proto" --encode=externalscaler.GetMetricsRequest externalscaler.proto >"$work/gm.pb"
  echo "name: \"$w\" namespace: \"default\"" |
    protoc -I"$here/proto" --encode=externalscaler.ScaledObjectRef externalscaler.proto >"$work/ia.pb"
  frame "$work/gm.pb" "$work/gm.bin"
  frame "$work/ia.pb" "$work/ia.bin"
}

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing listens on port $1" >&2
  exit 1
}

# start_daemon PORT CONFIG [WRAPPER...]: the daemon (pinned by the caller's wrapper), PID in $!.
start_daemon() {
  local port=$1 conf=$2; shift 2
  "$@" "$BUILD/src/kedastral-scaler" --config "$conf" --plugin-dir "$BUILD/plugins" \
    --listen "127.0.0.1:$port" --http-listen 127.0.0.1:0 --log-level warn 2>>"$work/daemon.log" &
}

# kB of a /proc/PID/status field (VmHWM: peak RSS, VmRSS: now).
vm_kb() {
  awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}
