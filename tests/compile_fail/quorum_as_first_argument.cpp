// A number given where the options go (the quorum, as in "2 of 3") must not compile, and the
// error must show the options form in one line. Found by an API trial: 198 lines (g++), none
// of which said where the quorum goes.
//
// The pattern below matches both g++ 12 and clang 14 (run with LC_ALL=C):
// clang-format off
// quorum-expect-error: the first argument is the options, not the quorum: quorum_parallel\(\{\.quorum = 2\}, branches\.\.\.\)
// quorum-expect-error: the options come after the store, not the quorum: start\(store, \{\.quorum = 2\}, branches\.\.\.\)
// clang-format on
#include <quorum/quorum.hpp>

int main() {
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(2, [] { return 1; }, [] { return 2; }, [] { return 3; });
  auto h = quorum::start(store, 2, [] { return 1; }, [] { return 2; });
  return r.ok() && h.get().ok() ? 0 : 1;
}
