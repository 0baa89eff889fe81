// A view over callables that cannot be copied, given to start(), must not compile, and the
// error must not tell the caller to move the container in when that is what they did:
// `std::move(v) | std::views::take(2)` is a take of an owning view, and quorum moves out of
// containers only. Found by a review of the first wording, which said "std::move(v)" here too.
//
// The pattern below matches both g++ 12 and clang 14 (run with LC_ALL=C):
// clang-format off
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
#if defined(__clang__) && __clang_major__ < 15  // cannot make libstdc++ 12's owning_view
  auto h = quorum::start({.quorum = 2}, std::span<owns_reply>(branches).subspan(1));
#else
  auto h = quorum::start({.quorum = 2}, std::move(branches) | std::views::take(2));
#endif
  return h.get().ok() ? 0 : 1;
}
