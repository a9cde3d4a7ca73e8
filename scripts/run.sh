#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the daemon on the shipped demo configuration (file-replay source, sample recording),
# building it first. Extra arguments go to the daemon, e.g. --log-level=debug.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
scripts/install-deps.sh
cmake -S . -B build-run -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKD_BUILD_TESTS=OFF >/dev/null
cmake --build build-run -j"$(nproc)" >/dev/null
exec build-run/src/kedastral-scaler --config etc/kedastral-scaler.conf --plugin-dir build-run/plugins "$@"
