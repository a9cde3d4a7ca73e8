#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The daemon links no TLS library (they cost ~2 MB of RSS just mapped): no DT_NEEDED libssl,
# libcrypto or libevent_openssl; the module kedastral-tls.so has them and exports one symbol.
#   check_needed.sh DAEMON MODULE
set -euo pipefail
daemon=$1 module=$2
fail() { echo "FAIL: $*"; exit 1; }
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
bad=$(needed "$daemon" | grep -E '^lib(ssl|crypto|event_openssl)' || true)
[ -z "$bad" ] || fail "$daemon needs $(echo $bad)"
for lib in libssl libcrypto libevent_openssl; do
  needed "$module" | grep -q "^$lib" || fail "$module does not need $lib"
done
exports=$(nm -D --defined-only "$module" | awk '$2 ~ /^[A-Z]$/ && $2 != "A" { print $3 }' |
          grep -vE '^(_init|_fini|__bss_start|_edata|_end|__odr_asan\..*)$' || true)
[ "$exports" = kd_tls_module ] || fail "$module exports: $(echo $exports) (want kd_tls_module only)"
echo "ok: $(basename "$daemon") needs no TLS library; $(basename "$module") needs" \
  "$(needed "$module" | grep -E '^lib(ssl|crypto|event_openssl)' | tr '\n' ' ')and exports kd_tls_module"
