#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every plugin .so given: exports `kd_plugin` and nothing else of ours, and needs nothing of the
# host's or libevent's (kedastral/plugin.h: every service arrives through struct kd_host).
set -eu
status=0
for so in "$@"; do
    exported=$(nm -D --defined-only "$so" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^_' || true)
    if [ "$exported" != "kd_plugin" ]; then
        echo "$so exports: $exported (want only kd_plugin)"
        status=1
    fi
    wanted=$(nm -D --undefined-only "$so" | awk '{print $2}' | grep -E '^(kd_|event_|evtimer_|evutil_|bufferevent_)' || true)
    if [ -n "$wanted" ]; then
        echo "$so needs symbols of the host or libevent: $wanted"
        status=1
    fi
    if ldd "$so" | grep -q 'libevent'; then
        echo "$so links libevent: $(ldd "$so" | grep libevent)"
        status=1
    fi
done
[ $status -eq 0 ] && echo "ok: $# plugin(s) export only kd_plugin and link nothing of ours or libevent's"
exit $status
