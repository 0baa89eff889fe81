// A pool_executor given as an rvalue cannot be owned by the execution (it cannot be moved: a
// service keeps one for its life). The error must say so and what to do, instead of some 90
// lines about std::optional<pool_executor> deep in the library (found by a user trial; the
// docs' "an rvalue executor is owned for the call" read as if it would work).
//
// The pattern below matches both g++ 12 and clang 14 (run with LC_ALL=C):
// clang-format off
// quorum-expect-error: pool_executor is not: create it once \(a service keeps it for its life\) and pass it as an lvalue
// clang-format on
#include <quorum/quorum.hpp>

int main() {
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, quorum::pool_executor{2}, {.quorum = 1}, [] { return 1; },
                                   [] { return 2; });
  auto h = quorum::start(quorum::pool_executor{2}, {.quorum = 1}, [] { return 1; });
  return r.ok() && h.get().ok() ? 0 : 1;
}
