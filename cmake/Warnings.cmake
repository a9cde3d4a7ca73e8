# SPDX-License-Identifier: Apache-2.0
set(KD_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wformat=2)
if(KD_WERROR)
  list(APPEND KD_WARNINGS -Werror)
endif()

if(KD_BUILD_FUZZERS)
  # Coverage for libFuzzer in every library the fuzz targets link, not just their own file.
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "KD_BUILD_FUZZERS needs clang: cmake -DCMAKE_C_COMPILER=clang ...")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(KD_SANITIZE)
  add_compile_options(-fsanitize=${KD_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${KD_SANITIZE})
endif()

function(kd_target_warnings target)
  target_compile_options(${target} PRIVATE ${KD_WARNINGS})
endfunction()
