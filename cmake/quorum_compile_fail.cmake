# Script mode (cmake -P): build one target that is expected NOT to compile.
#   -D BUILD_DIR=<build tree>  -D TARGET=<target>  -D SOURCE=<source file>  [-D CONFIG=<cfg>]
# Passes when the build fails and every "// quorum-expect-error: <regex>" line of
# SOURCE matches the build output; fails otherwise.

foreach(var IN ITEMS BUILD_DIR TARGET SOURCE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "quorum_compile_fail.cmake: ${var} is not set")
  endif()
endforeach()

set(config_args)
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()

execute_process(
  COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${TARGET}" ${config_args}
  RESULT_VARIABLE result
  OUTPUT_VARIABLE output
  ERROR_VARIABLE output)

if(result EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must not.\n${output}")
endif()

file(STRINGS "${SOURCE}" expectations REGEX "//[ \t]*quorum-expect-error:")
foreach(line IN LISTS expectations)
  string(REGEX REPLACE "^.*//[ \t]*quorum-expect-error:[ \t]*" "" regex "${line}")
  string(STRIP "${regex}" regex)
  if(NOT output MATCHES "${regex}")
    message(FATAL_ERROR
      "${SOURCE} failed to compile, but not with the expected error '${regex}':\n${output}")
  endif()
endforeach()

list(LENGTH expectations count)
message(STATUS "${TARGET}: compilation failed as expected (${count} expected-error pattern(s) matched)")
