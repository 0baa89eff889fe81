// start()'s handle, dropped at once, cancels the execution it would have owned: the warning must
// say so (the tests build with -Werror, so the warning is this file's error).
//
// The pattern below matches both g++ 12 and clang 14 (run with LC_ALL=C):
// clang-format off
// quorum-expect-error: destroying the execution handle cancels it
// clang-format on
#include <quorum/quorum.hpp>

int main() {
  quorum::start({.quorum = 1}, [] { return 1; });
}
