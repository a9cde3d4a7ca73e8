#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Dockerfile and the systemd unit, checked without Docker or a running systemd: the
# image's package lists against scripts/install-deps.sh and the built binaries' libraries,
# the unit with systemd-analyze and its ExecStart flags with the daemon's --check-config.
#
# Environment: KD_SOURCE_DIR, KD_WORK, KD_BINARY and KD_PLUGIN_DIR (the built daemon and plugins).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="${KD_SOURCE_DIR:-$(cd "$here/../.." && pwd)}"
work="${KD_WORK:-$(mktemp -d /tmp/kd-test-packaging.XXXXXX)}"
binary="${KD_BINARY:?KD_BINARY: the built kedastral-scaler}"
plugins="${KD_PLUGIN_DIR:?KD_PLUGIN_DIR: the built plugins}"
dockerfile="$src/Dockerfile"
unit="$src/etc/systemd/kedastral-scaler.service"

passed=0
fail() {
    echo "test_packaging: FAIL: $*" >&2
    exit 1
}
ok() {
    passed=$((passed + 1))
    echo "test_packaging: ok: $*"
}
mkdir -p "$work"

# ---- Dockerfile -------------------------------------------------------------------------------

# stage_packages <n>: the packages the n-th stage's `apt-get install` names, one a line.
stage_packages() {
    awk -v want="$1" '
        /^FROM / { stage++ }
        stage == want && /apt-get install/ { on = 1 }
        on {
            line = $0
            sub(/#.*/, "", line)
            n = split(line, w, /[ \t\\]+/)
            for (i = 1; i <= n; i++)
                if (w[i] ~ /^[a-z0-9][a-z0-9.+-]+$/ && w[i] !~ /^(apt-get|install|rm|apt|lists)$/)
                    print w[i]
            if (line ~ /&&[ \t]*rm /) on = 0
        }' "$dockerfile" | sort -u
}

stage_packages 1 >"$work/build-packages"
stage_packages 2 >"$work/runtime-packages"
[ -s "$work/build-packages" ] || fail "no apt-get install in the Dockerfile's build stage"
[ -s "$work/runtime-packages" ] || fail "no apt-get install in the Dockerfile's runtime stage"

# Every build-stage package is one the project already installs (no drift, no surprises).
sed -n '/^PKGS=(/,/^)/p' "$src/scripts/install-deps.sh" | tr ' ' '\n' |
    grep -E '^[a-z0-9][a-z0-9.+-]+$' | sort -u >"$work/install-deps-packages"
extra="$(comm -23 "$work/build-packages" "$work/install-deps-packages")"
[ -z "$extra" ] || fail "the Dockerfile builds with packages install-deps.sh lacks: $extra"
for test_only in libcmocka-dev valgrind python3-grpcio nghttp2-client clang; do
    if grep -qx "$test_only" "$work/build-packages"; then
        fail "the Dockerfile's build stage installs the test-only package $test_only"
    fi
done
ok "the build stage installs $(wc -l <"$work/build-packages") packages, all from install-deps.sh, no test tools"

# Every library the daemon or a plugin links directly comes from a runtime-stage package.
for f in "$binary" "$plugins"/*.so; do
    readelf -d "$f" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'
done | sort -u >"$work/needed"
[ -s "$work/needed" ] || fail "readelf found no libraries in $binary"
# The native multiarch copy: "*/libm.so.6" alone also matches libc6-i386's.
multiarch="$(gcc -print-multiarch)"
while read -r lib; do
    pkg="$(dpkg -S "*/$multiarch/$lib" 2>/dev/null | head -1 | cut -d: -f1)"
    [ -n "$pkg" ] || fail "no Debian package owns $lib"
    # libc is in every image; sanitizer runtimes only in -DKD_SANITIZE builds.
    case "$pkg" in libc6 | libasan* | libubsan* | liblsan* | libtsan*) continue ;; esac
    grep -qx "$pkg" "$work/runtime-packages" ||
        fail "$lib (package $pkg) is linked but the Dockerfile's runtime stage lacks $pkg"
done <"$work/needed"
for dev in $(grep -E -- '-dev$' "$work/runtime-packages" || true); do
    fail "the runtime stage installs a -dev package: $dev"
done
ok "runtime stage has every linked library's package: $(tr '\n' ' ' <"$work/runtime-packages")"

grep -Eq '^USER 65532(:65532)?$' "$dockerfile" || fail "the image does not run as UID 65532"
grep -Eq '^FROM debian:12-slim' "$dockerfile" || fail "the runtime stage is not debian:12-slim"
grep -Eq '^ENTRYPOINT \["/usr/bin/kedastral-scaler"\]$' "$dockerfile" ||
    fail "the ENTRYPOINT is not the daemon"
grep -Eq 'CMAKE_INSTALL_PREFIX=/usr( |$)' "$dockerfile" || fail "the image does not install to /usr"
grep -Eq 'CMAKE_INSTALL_SYSCONFDIR=/etc( |$)' "$dockerfile" ||
    fail "the image would install the sample configuration under /usr/etc"
ok "debian:12-slim runtime, UID 65532, ENTRYPOINT the daemon, prefix /usr, configuration in /etc"

# What the build stage's `cmake --install` lays out under /usr is what the runtime stage copies.
if [ -n "${KD_BUILD_DIR:-}" ]; then
    rm -rf "$work/stage"
    DESTDIR="$work/stage" cmake --install "$KD_BUILD_DIR" --prefix /usr >"$work/install.log" 2>&1 ||
        fail "cmake --install: $(tail -5 "$work/install.log")"
    sed -n 's#^COPY --from=build /out\(/usr/[^ ]*\) .*#\1#p' "$dockerfile" >"$work/copied"
    [ -s "$work/copied" ] || fail "the runtime stage copies nothing from /out/usr"
    while read -r from; do
        [ -e "$work/stage$from" ] || fail "the Dockerfile copies $from, which the install lacks"
    done <"$work/copied"
    for so in "$plugins"/*.so; do
        [ -f "$work/stage/usr/lib/kedastral-scaler/plugins/$(basename "$so")" ] ||
            fail "$(basename "$so") is not installed in /usr/lib/kedastral-scaler/plugins"
    done
    ok "cmake --install puts the daemon and every plugin where the Dockerfile copies them from"
fi

# ---- systemd unit ------------------------------------------------------------------------------

get() { sed -n "s/^$1=//p" "$unit"; }
[ "$(get Type)" = simple ] || fail "Type is not simple"
# shellcheck disable=SC2016 # $MAINPID is systemd's, expanded by systemd.
[ "$(get ExecReload)" = '/bin/kill -HUP $MAINPID' ] || fail "ExecReload does not send SIGHUP"
stop="$(get TimeoutStopSec | sed 's/s$//')"
[ "${stop:-0}" -gt 10 ] || fail "TimeoutStopSec (${stop:-none}) must exceed the 10 s drain"
for key in DynamicUser ProtectSystem NoNewPrivileges ProtectHome PrivateTmp PrivateDevices \
    RestrictAddressFamilies SystemCallFilter CapabilityBoundingSet; do
    grep -Eq "^$key=" "$unit" || fail "the unit lacks $key="
done
[ "$(get ProtectSystem)" = strict ] || fail "ProtectSystem is not strict"
ok "Type=simple, ExecReload SIGHUP, TimeoutStopSec ${stop}s, hardened (DynamicUser, strict)"

# ExecStart's flags, with this build's binary and the repository's sample configuration.
read -r -a exec_start <<<"$(get ExecStart)"
[ "${exec_start[0]}" = /usr/bin/kedastral-scaler ] || fail "ExecStart is not /usr/bin/kedastral-scaler"
[ "${exec_start[*]:1}" = "--config /etc/kedastral-scaler/kedastral-scaler.conf" ] ||
    fail "ExecStart arguments are not --config /etc/kedastral-scaler/kedastral-scaler.conf"
args=("${exec_start[@]:1}")
args[1]="$src/etc/kedastral-scaler.conf"
"$binary" "${args[@]}" --check-config --plugin-dir "$plugins" >"$work/unit.check" 2>&1 ||
    fail "the daemon rejects ExecStart's arguments: $(cat "$work/unit.check")"
ok "the daemon accepts ExecStart's flags (--check-config)"

if command -v systemd-analyze >/dev/null; then
    sed "s#^ExecStart=/usr/bin/kedastral-scaler#ExecStart=$binary#" "$unit" \
        >"$work/kedastral-scaler.service"
    systemd-analyze verify "$work/kedastral-scaler.service" >"$work/verify.log" 2>&1 ||
        fail "systemd-analyze verify: $(cat "$work/verify.log")"
    [ ! -s "$work/verify.log" ] || fail "systemd-analyze verify warns: $(cat "$work/verify.log")"
    ok "systemd-analyze verify accepts the unit without warnings"
else
    echo "test_packaging: SKIP: systemd-analyze verify (systemd is not installed)"
fi

echo "test_packaging: $passed passed, 0 failed"
