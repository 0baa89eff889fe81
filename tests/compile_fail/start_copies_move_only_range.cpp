// start() keeps its own copy of a range of branches (its handle may outlive the range), so a
// range of callables that cannot be copied, given as an lvalue, must not compile, and the error
// must say to move the container in. Found by an API trial: 36 lines (g++) from inside
// std::vector, none of which said to move it. A const rvalue cannot be moved from either: it
// gets the same line (it used to get past the check and fail inside std::vector).
//
// The pattern below matches both g++ 12 and clang 14 (run with LC_ALL=C):
// clang-format off
// quorum-expect-error: these callables cannot be copied: pass the container as a non-const rvalue, std::move\(v\)
// clang-format on
#include <memory>
#include <quorum/quorum.hpp>
#include <utility>
#include <vector>

namespace {
struct owns_reply {
  std::unique_ptr<int> reply = std::make_unique<int>(1);
  int operator()() const { return *reply; }
};
}  // namespace

int main() {
  std::vector<owns_reply> branches(3);
  auto h = quorum::start({.quorum = 2}, branches);
  auto c = quorum::start({.quorum = 2}, std::move(std::as_const(branches)));
  return h.get().ok() && c.get().ok() ? 0 : 1;
}
