# SPDX-License-Identifier: Apache-2.0
# kd_add_plugin(<kind>-<name> SOURCES ... [LIBS ...] [NO_INSTALL])
# A MODULE that sees only include/kedastral/plugin.h and exports only `kd_plugin`.
function(kd_add_plugin name)
  cmake_parse_arguments(arg "NO_INSTALL" "OUTPUT_DIR" "SOURCES;LIBS" ${ARGN})
  if(NOT arg_OUTPUT_DIR)
    set(arg_OUTPUT_DIR ${KD_PLUGIN_BUILD_DIR})
  endif()
  add_library(${name} MODULE ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE kd_plugin_api ${arg_LIBS})
  set_target_properties(${name} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden
                        LIBRARY_OUTPUT_DIRECTORY ${arg_OUTPUT_DIR})
  kd_target_warnings(${name})
  if(NOT arg_NO_INSTALL)
    install(TARGETS ${name} LIBRARY DESTINATION ${KD_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
