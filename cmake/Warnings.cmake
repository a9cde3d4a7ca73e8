# SPDX-License-Identifier: Apache-2.0
set(KD_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wformat=2)
if(KD_WERROR)
  list(APPEND KD_WARNINGS -Werror)
endif()

if(KD_SANITIZE)
  add_compile_options(-fsanitize=${KD_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${KD_SANITIZE})
endif()

function(kd_target_warnings target)
  target_compile_options(${target} PRIVATE ${KD_WARNINGS})
endfunction()
