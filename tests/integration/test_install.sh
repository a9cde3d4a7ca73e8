#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cmake --install lays out bin/, lib/kedastral-scaler/plugins/, lib/kedastral-scaler/kedastral-tls.so,
# etc/kedastral-scaler/, and the installed daemon finds its plugins and its TLS module next to
# itself and checks the installed demo config, with and without TLS.
set -euo pipefail
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null

for f in bin/kedastral-scaler lib/kedastral-scaler/kedastral-tls.so \
         lib/kedastral-scaler/plugins/source-file.so \
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
# TLS: the module beside the install, not the build tree's; the daemon itself links no OpenSSL.
if readelf -d "$prefix/bin/kedastral-scaler" | grep -E 'NEEDED.*lib(ssl|crypto|event_openssl)'; then
  echo "FAIL: the installed daemon links a TLS library"; exit 1
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -keyout "$prefix/tls.key" -out "$prefix/tls.crt" 2>/dev/null
out=$(env -u KEDASTRAL_TLS_MODULE "$prefix/bin/kedastral-scaler" --check-config \
  --config "$prefix/etc/kedastral-scaler/kedastral-scaler.conf" \
  --plugin-dir "$prefix/lib/kedastral-scaler/plugins" \
  --grpc-tls-cert-file "$prefix/tls.crt" --grpc-tls-key-file "$prefix/tls.key" 2>&1) \
  || { echo "FAIL: installed daemon with TLS: $out"; exit 1; }
echo "$out" | grep -qF "loaded module \"$prefix/bin/../lib/kedastral-scaler/kedastral-tls.so\"" \
  || { echo "FAIL: installed daemon did not load its own TLS module: $out"; exit 1; }
echo "install layout OK"
