// A store given as an rvalue: the store is borrowed, so no overload took it, and the compiler
// listed every one, its only tailored line saying what a branch may be (found by a user
// trial). The error must say the store is borrowed and what to do.
//
// The pattern below matches both g++ 12 and clang 14 (run with LC_ALL=C):
// clang-format off
// quorum-expect-error: the store is borrowed, not owned
// clang-format on
#include <quorum/quorum.hpp>

int main() {
  quorum::inline_executor ex;
  auto r = quorum::quorum_parallel(quorum::memory_store{}, {.quorum = 1}, [] { return 1; });
  auto s = quorum::quorum_parallel(quorum::atomic_store{}, ex, {.quorum = 1}, [] { return 1; });
  auto h = quorum::start(quorum::memory_store{}, {.quorum = 1}, [] { return 1; });
  return r.ok() && s.ok() && h.get().ok() ? 0 : 1;
}
