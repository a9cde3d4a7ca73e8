# SPDX-License-Identifier: Apache-2.0
# kd_add_unit_test(<name> SOURCES ... [LIBS ...]): a cmocka executable registered with ctest.
function(kd_add_unit_test name)
  cmake_parse_arguments(arg "" "" "SOURCES;LIBS;DEFINES" ${ARGN})
  add_executable(${name} ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE ${arg_LIBS} PkgConfig::CMOCKA)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE ${arg_DEFINES})
  kd_target_warnings(${name})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit)
endfunction()

# kd_add_fuzzer(<name> SOURCES ... [LIBS ...]): with KD_BUILD_FUZZERS (clang) a libFuzzer
# binary plus a bounded smoke run; otherwise a replay of tests/fuzz/corpus/<name>/ as a test.
function(kd_add_fuzzer name)
  cmake_parse_arguments(arg "" "" "SOURCES;LIBS" ${ARGN})
  set(corpus ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
  if(KD_BUILD_FUZZERS)
    add_executable(${name} ${arg_SOURCES})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    # A bounded smoke run: new inputs go to a scratch dir, the corpus stays as committed.
    set(scratch ${CMAKE_CURRENT_BINARY_DIR}/${name}-corpus)
    file(MAKE_DIRECTORY ${scratch})
    add_test(NAME ${name} COMMAND ${name} -runs=${KD_FUZZ_RUNS} -max_len=65536 ${scratch} ${corpus})
  else()
    add_executable(${name} ${arg_SOURCES} ${CMAKE_SOURCE_DIR}/tests/fuzz/standalone_main.c)
    add_test(NAME ${name} COMMAND ${name} ${corpus})
  endif()
  target_link_libraries(${name} PRIVATE ${arg_LIBS})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  kd_target_warnings(${name})
  set_tests_properties(${name} PROPERTIES LABELS fuzz)
endfunction()
