# SPDX-License-Identifier: Apache-2.0
# KD_ALLOC_FAIL=ON: every allocation our code makes goes through tests/alloc_fail/alloc_fail.c,
# which fails them on a schedule from the environment (tests/alloc_fail/run_alloc_fail.py
# drives it). Our libraries, plugins and the daemon are compiled with kd_alloc_fail.h
# force-included, so only their calls are renamed: cmocka, libevent, nghttp2, libconfig, cJSON
# and the tests' own code allocate as usual.
function(kd_alloc_fail_instrument_dir dir)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    if(t STREQUAL kd_proto OR t STREQUAL kd_alloc_fail)
      continue() # protoc-c's generated code; the allocator itself
    endif()
    if(type STREQUAL STATIC_LIBRARY)
      target_link_libraries(${t} PUBLIC kd_alloc_fail)
    elseif(type STREQUAL MODULE_LIBRARY OR type STREQUAL EXECUTABLE)
      target_link_libraries(${t} PRIVATE kd_alloc_fail)
    else()
      continue()
    endif()
    target_compile_options(${t} PRIVATE -include ${CMAKE_SOURCE_DIR}/tests/alloc_fail/kd_alloc_fail.h)
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(d ${subdirs})
    kd_alloc_fail_instrument_dir(${d})
  endforeach()
endfunction()

function(kd_alloc_fail_instrument)
  add_library(kd_alloc_fail SHARED ${CMAKE_SOURCE_DIR}/tests/alloc_fail/alloc_fail.c)
  kd_target_warnings(kd_alloc_fail)
  kd_alloc_fail_instrument_dir(${CMAKE_SOURCE_DIR}/src)
  kd_alloc_fail_instrument_dir(${CMAKE_SOURCE_DIR}/plugins)
endfunction()
