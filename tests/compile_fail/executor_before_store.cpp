// An executor given before the store (the store comes first) must not compile, and the error
// must say the order in one line. Found by an API trial: it printed 173 lines (g++) that named
// neither the store nor the order.
//
// The pattern below matches both g++ 12 and clang 14 (run with LC_ALL=C):
// clang-format off
// quorum-expect-error: the store comes first: quorum_parallel\(store, executor, options, branches\.\.\.\)
// quorum-expect-error: the store comes first: start\(store, executor, options, branches\.\.\.\)
// clang-format on
#include <quorum/quorum.hpp>

int main() {
  quorum::memory_store store;
  quorum::pool_executor pool{2};
  auto r = quorum::quorum_parallel(pool, store, {.quorum = 1}, [] { return 1; }, [] { return 2; });
  auto h = quorum::start(quorum::thread_executor{}, store, {.quorum = 1}, [] { return 1; });
  return r.ok() && h.get().ok() ? 0 : 1;
}
