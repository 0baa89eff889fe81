# Runs PROGRAM with the argument ARG and passes only when it ends with SIGABRT (not with an exit
# code, not by the timeout) and its standard error matches EXPECT. Used by tests/abort/: the
# program does what the library must refuse by aborting, since it cannot throw there.
#   cmake -D PROGRAM=... -D ARG=... -D EXPECT=<regex> -P quorum_expect_abort.cmake
execute_process(
  COMMAND "${PROGRAM}" "${ARG}"
  RESULT_VARIABLE result
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  TIMEOUT 60)
if(NOT result MATCHES "aborted$") # "Subprocess aborted" (CMake 3.25), "Child aborted" (older)
  message(FATAL_ERROR "${PROGRAM} ${ARG}: expected an abort, got \"${result}\"\n"
                      "stdout:\n${out}\nstderr:\n${err}")
endif()
if(NOT err MATCHES "${EXPECT}")
  message(FATAL_ERROR "${PROGRAM} ${ARG} aborted, but its stderr does not match \"${EXPECT}\":\n"
                      "${err}")
endif()
message(STATUS "${PROGRAM} ${ARG}: aborted with the expected message")
