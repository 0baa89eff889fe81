// Branches whose return types differ in a way their common type cannot hold (int -1 and
// std::size_t make std::size_t, so -1 would read 18446744073709551615) must not compile, and
// the error must say so and how to fix it. Regression (an API trial): it compiled and changed
// the value, with no warning even under -Wconversion.
//
// clang-format off
// quorum-expect-error: their common type cannot hold every value of them
// clang-format on
#include <cstddef>
#include <quorum/quorum.hpp>
#include <vector>

int main() {
  const std::vector<int> v{1, 2, 3};
  auto r = quorum::quorum_parallel({.quorum = 1}, [] { return -1; }, [&] { return v.size(); });
  return r.decision == quorum::decision::quorum_met ? 0 : 1;
}
