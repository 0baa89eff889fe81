# Script mode (cmake -P): install the quorum build tree into a fresh prefix and
# check that the package files are there.
#   -D BUILD_DIR=<quorum build tree>  -D PREFIX=<install prefix>  [-D CONFIG=<cfg>]
#   -D INCLUDEDIR=<relative include dir>  -D CMAKEDIR=<relative package config dir>

file(REMOVE_RECURSE "${PREFIX}")

set(config_args)
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()

execute_process(
  COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}" ${config_args}
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${result})")
endif()

foreach(file IN ITEMS
    "${INCLUDEDIR}/quorum/quorum.hpp"
    "${CMAKEDIR}/quorumConfig.cmake"
    "${CMAKEDIR}/quorumConfigVersion.cmake"
    "${CMAKEDIR}/quorumTargets.cmake")
  if(NOT EXISTS "${PREFIX}/${file}")
    message(FATAL_ERROR "installed package lacks ${PREFIX}/${file}")
  endif()
endforeach()
message(STATUS "quorum installed into ${PREFIX}")
