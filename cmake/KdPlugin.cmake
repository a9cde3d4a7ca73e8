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

# The plugin SDK: include/kedastral/plugin.h and kedastral-plugin.pc (relocatable: its prefix is
# found from where the .pc file lies), so plugins build out of tree with
#   cc $(pkg-config --cflags kedastral-plugin) -shared -fPIC ...
# and install into $(pkg-config --variable=plugindir kedastral-plugin).
file(STRINGS ${CMAKE_SOURCE_DIR}/include/kedastral/plugin.h kd_abi_lines
     REGEX "^#define KD_PLUGIN_ABI_M(AJOR|INOR) ")
string(REGEX REPLACE ".*MAJOR ([0-9]+)u.*MINOR ([0-9]+)u.*" "\\1.\\2" KD_PLUGIN_ABI_VERSION
       "${kd_abi_lines}")
set(kd_pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH KD_PC_TO_PREFIX /x/${kd_pc_dir} /x)
string(REGEX REPLACE "/$" "" KD_PC_TO_PREFIX "${KD_PC_TO_PREFIX}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/kedastral-plugin.pc.in
               ${CMAKE_BINARY_DIR}/kedastral-plugin.pc @ONLY)
install(FILES ${CMAKE_SOURCE_DIR}/include/kedastral/plugin.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/kedastral)
install(FILES ${CMAKE_BINARY_DIR}/kedastral-plugin.pc DESTINATION ${kd_pc_dir})
