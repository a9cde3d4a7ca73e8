# SPDX-License-Identifier: Apache-2.0
# Every build switch, one line each.
option(KD_BUILD_TESTS "Build unit, plugin-loader and integration tests" ON)
option(KD_BUILD_FUZZERS "Build libFuzzer targets (needs clang); otherwise corpus replays" OFF)
option(KD_ALLOC_FAIL "Fail our allocations on a schedule from the environment (cmake/KdAllocFail.cmake)" OFF)
option(KD_WERROR "Treat warnings as errors (CI sets this)" OFF)
set(KD_FUZZ_RUNS 50000 CACHE STRING "Inputs per fuzzer in the ctest smoke run (KD_BUILD_FUZZERS)")
set(KD_SANITIZE "" CACHE STRING "Sanitizers, e.g. address,undefined")
set(KD_PLUGIN_BUILD_DIR ${CMAKE_BINARY_DIR}/plugins)
set(KD_PLUGIN_INSTALL_DIR lib/kedastral-scaler/plugins)  # as the conf and the chart expect
set(KD_TLS_MODULE_BUILD_DIR ${CMAKE_BINARY_DIR}/src)  # beside the daemon
set(KD_TLS_MODULE_INSTALL_DIR lib/kedastral-scaler)  # beside plugins/
