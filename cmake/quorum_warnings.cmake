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

# The flags a service with a strict warning policy builds with, on top of the above: for the
# examples (the code users copy) and the headers compiled alone. The headers are included
# into such services without -isystem (add_subdirectory, a plain -I), so they must stay
# quiet under them too: a conversion, a shadowed name or an old-style cast in a header is an
# error in the user's build, not ours.
function(quorum_target_strict_warnings target)
  quorum_target_warnings(${target})
  if(NOT MSVC)
    target_compile_options(${target} PRIVATE
      -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast -Wnon-virtual-dtor
      -Woverloaded-virtual -Wcast-qual -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
      -Wextra-semi -Wzero-as-null-pointer-constant)
  endif()
endfunction()
