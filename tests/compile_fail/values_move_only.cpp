// values() on a result whose values cannot be copied must not compile, and the error must say
// to move them out. Found by an API trial: g++ said "discards qualifiers [-fpermissive]".
//
// The pattern below matches both g++ 12 and clang 14 (run with LC_ALL=C):
// clang-format off
// quorum-expect-error: take them with std::move\(r\)\.values\(\)
// clang-format on
#include <memory>
#include <quorum/quorum.hpp>

int main() {
  auto r = quorum::quorum_parallel({.quorum = 1}, [] { return std::make_unique<int>(1); });
  auto v = r.values();
  return v.empty() ? 1 : 0;
}
