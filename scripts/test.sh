#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The test command: installs dependencies, builds with -Werror, runs the whole suite, runs it
# again in an ASan+UBSan build, gives every fuzzer a bounded libFuzzer run (clang), then fails
# allocations one by one under the unit tests of an ASan+LSan build (tests/alloc_fail/).
#
#   scripts/test.sh                  the full CI run (what .ci/run executes)
#   scripts/test.sh --quick [ARGS]   developer loop: no package install, the format check, one
#                                    -Werror build in build-quick/, the suite without the
#                                    valgrind pass; ARGS go to ctest (e.g. -R test_config)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
jobs=$(nproc)

# Every tracked C file as clang-format 14 (.clang-format) writes it.
format_check() {
  echo "== format: clang-format --dry-run -Werror over every tracked .c and .h"
  git ls-files -z '*.c' '*.h' | xargs -0 clang-format --dry-run -Werror
}

if [ "${1:-}" = "--quick" ]; then
  shift
  format_check
  cmake -S . -B build-quick -DKD_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-quick -j"$jobs"
  exec ctest --test-dir build-quick --output-on-failure -j"$jobs" -E valgrind "$@"
fi

scripts/install-deps.sh --tests
format_check

build_and_test() {
  local dir=$1; shift
  local label=$1; shift
  cmake -S . -B "$dir" -DKD_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" ${label:+-L "$label"}
}

# -O2 first: it is what ships, and gcc's flow warnings (-Wmaybe-uninitialized, truncation)
# only fire with optimisation.
echo "== 1/4 build + all tests (gcc -O2, -Werror; integration also under valgrind)"
build_and_test build "" -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== 2/4 build + all tests (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  build_and_test build-asan "" -DCMAKE_BUILD_TYPE=Debug -DKD_SANITIZE=address,undefined
echo "== 3/4 fuzzers (clang libFuzzer + ASan + UBSan, bounded runs)"
build_and_test build-fuzz fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DKD_BUILD_FUZZERS=ON
echo "== 4/4 allocation failures (KD_ALLOC_FAIL: the Nth allocation of ours fails; ASan + LSan)"
build_and_test build-alloc-fail alloc_fail -DCMAKE_BUILD_TYPE=Debug \
  -DKD_SANITIZE=address,undefined -DKD_ALLOC_FAIL=ON
