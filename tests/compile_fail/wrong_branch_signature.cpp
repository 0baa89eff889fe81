// A branch quorum cannot call (it takes an int) must not compile, and the error must say what
// a branch may be, once, instead of listing why each overload of quorum_parallel failed.
//
// The pattern below matches both g++ 12 and clang 14 (run with LC_ALL=C):
// clang-format off
// quorum-expect-error: each branch must be callable as T\(\), T\(std::stop_token\) or T\(quorum::branch_context&\)
// clang-format on
#include <quorum/quorum.hpp>

int main() {
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, {.quorum = 1}, [](int x) { return x; }, [] { return 2; });
  return r.decision == quorum::decision::quorum_met ? 0 : 1;
}
