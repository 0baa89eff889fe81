// start() keeps its own copy of a range of branches (its handle may outlive the range), so a
// range of callables that cannot be copied, given as an lvalue, must not compile, and the error
// must say to move the container in. Found by an API trial: 36 lines (g++) from inside
// std::vector, none of which said to move it. A const rvalue cannot be moved from either: it
// gets the same line (it used to get past the check and fail inside std::vector).
//
// A view gets another line: `std::move(v) | std::views::take(2)` is a take of an owning view,
// and quorum moves out of containers only, so "std::move(v)" is no advice there (a review of the
// first wording, which said it here too).
//
// The patterns below match both g++ 12 and clang 14 (run with LC_ALL=C):
// clang-format off
// quorum-expect-error: these callables cannot be copied: pass the container as a non-const rvalue, std::move\(v\)
// quorum-expect-error: never out of a view such as take or filter
// clang-format on
#include <memory>
#include <quorum/quorum.hpp>
#include <ranges>
#include <span>
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
#if defined(__clang__) && __clang_major__ < 15  // cannot make libstdc++ 12's owning_view
  auto v = quorum::start({.quorum = 2}, std::span<owns_reply>(branches).subspan(1));
#else
  auto v = quorum::start({.quorum = 2}, std::move(branches) | std::views::take(2));
#endif
  return h.get().ok() && c.get().ok() && v.get().ok() ? 0 : 1;
}
