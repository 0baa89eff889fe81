// An executor whose bulk_execute(n, f) accepts the library's task is used through it; a batch
// that does not offer `bool run_one()`, or that cannot be default-constructed and assigned,
// must be an error that says so. Found by an Asio trial: a run_one() returning int made the
// library fall back to execute() without a word, and the joiner stopped helping.
//
// The patterns below match both g++ 12 and clang 14 (run with LC_ALL=C):
// clang-format off
// quorum-expect-error: returns a batch without `bool run_one\(\)`
// quorum-expect-error: must be default-constructible and move-assignable
// clang-format on
#include <cstddef>
#include <quorum/quorum.hpp>

namespace {
// run_one() returns a count, not bool.
struct counting_batch {
  counting_batch() = default;
  explicit counting_batch(int) {}
  int run_one() noexcept { return 0; }
};
// No default constructor.
struct bound_batch {
  explicit bound_batch(int) {}
  bool run_one() noexcept { return false; }
};

template <class Batch>
struct pool {
  template <class F>
  void execute(F&& f) {
    f();
  }
  template <class F>
  Batch bulk_execute(std::size_t n, F&& f) {
    for (std::size_t i = 0; i < n; ++i) f(i);
    return Batch(0);
  }
};
}  // namespace

int main() {
  pool<counting_batch> a;
  pool<bound_batch> b;
  auto ra = quorum::quorum_parallel(a, {.quorum = 1}, [] { return 1; });
  auto rb = quorum::quorum_parallel(b, {.quorum = 1}, [] { return 1; });
  return static_cast<int>(ra.branches.size() + rb.branches.size());
}
