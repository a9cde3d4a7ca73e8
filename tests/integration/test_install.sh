#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cmake --install lays out bin/, lib/kedastral-scaler/plugins/, etc/kedastral-scaler/, and the
# installed daemon finds its plugins next to itself and checks the installed demo config.
set -euo pipefail
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null

for f in bin/kedastral-scaler lib/kedastral-scaler/plugins/source-file.so \
         lib/kedastral-scaler/plugins/policy-max.so etc/kedastral-scaler/kedastral-scaler.conf \
         etc/kedastral-scaler/forecasts/demo.json; do
  [ -e "$prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
# No --plugin-dir: <prefix>/bin/../lib/kedastral-scaler/plugins is found on its own.
"$prefix/bin/kedastral-scaler" --describe policy-max | grep -q lead_time \
  || { echo "FAIL: installed daemon does not find its plugins"; exit 1; }
# The shipped config names /usr/lib/...; point it at this prefix instead.
"$prefix/bin/kedastral-scaler" --check-config \
  --config "$prefix/etc/kedastral-scaler/kedastral-scaler.conf" \
  --plugin-dir "$prefix/lib/kedastral-scaler/plugins"
echo "install layout OK"
