# Strict warnings for quorum's own executables (tests, examples, benchmarks).
# Never applied to the `quorum` interface target: consumers choose their own flags.
include_guard(GLOBAL)

function(quorum_target_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /WX /permissive-)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
  endif()
endfunction()
