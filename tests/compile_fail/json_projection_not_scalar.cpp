// to_json's projection must give a value JSON can hold as it is: a number, a bool or a string.
// A projection returning a struct is refused with that sentence, not written as null.
//
// The pattern below matches both g++ 12 and clang 14 (run with LC_ALL=C):
// clang-format off
// quorum-expect-error: the projection must return a number, a bool or a string
// clang-format on
#include <quorum/json.hpp>
#include <quorum/quorum.hpp>

struct point {
  int x = 0, y = 0;
};
struct wrapped {
  point p;
};

int main() {
  auto r = quorum::quorum_parallel({.quorum = 1}, [] { return wrapped{}; });
  return static_cast<int>(quorum::to_json(r, [](const wrapped& w) { return w.p; }).size());
}
