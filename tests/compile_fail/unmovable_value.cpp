// A branch whose value cannot be moved into the result must not compile, and the first error
// must say why. Found by an API trial: 165 lines (g++) from inside std::optional and the state.
//
// The pattern below matches both g++ 12 and clang 14 (run with LC_ALL=C):
// clang-format off
// quorum-expect-error: the type a branch returns must be move-constructible
// clang-format on
#include <mutex>
#include <quorum/quorum.hpp>

namespace {
struct locked {
  std::mutex m;
  int x = 0;
};
}  // namespace

int main() {
  auto r = quorum::quorum_parallel({.quorum = 1}, [] { return locked{}; });
  return r.ok() ? 0 : 1;
}
