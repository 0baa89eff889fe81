// An executor given as const cannot run anything (execute() is not const). The error must say
// so in one line, instead of listing every overload of quorum_parallel and start (found while
// closing the rvalue pool_executor's case: a `const pool_executor&` parameter, the usual way to
// hand a service's pool down, still printed pages).
//
// The pattern below matches both g++ 12 and clang 14 (run with LC_ALL=C):
// clang-format off
// quorum-expect-error: the executor is given as const, but execute\(\) changes it: pass it without const
// clang-format on
#include <quorum/quorum.hpp>

namespace {

int use(const quorum::pool_executor& pool) {
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, pool, {.quorum = 1}, [] { return 1; }, [] { return 2; });
  auto h = quorum::start(pool, {.quorum = 1}, [] { return 1; });
  return r.ok() && h.get().ok() ? 0 : 1;
}

}  // namespace

int main() {
  quorum::pool_executor pool{2};
  return use(pool);
}
