// A type that does not model quorum::store, passed where a store goes, must not compile, and
// the error must say why. This "store" has a handle and can record, but has no expire():
// a store must also decide timed_out at the deadline.
//
// The patterns below match both g++ 12 and clang 14 (run with LC_ALL=C):
// clang-format off
// quorum-expect-error: no matching function for call to .?quorum_parallel
// quorum-expect-error: (satisfaction of 'store<S>' \[with S = not_a_store\]|'not_a_store' does not satisfy 'store')
// quorum-expect-error: s\.expire\(h\)' (is|would be) invalid
// clang-format on
#include <quorum/quorum.hpp>

struct not_a_store {
  using handle = int;
  handle open(const quorum::execution_spec&) { return 0; }
  quorum::tally record(handle, std::size_t, quorum::outcome) { return {}; }
  quorum::tally cancel(handle) { return {}; }
  quorum::execution_record snapshot(handle) { return {}; }
  void close(handle) {}
};

int main() {
  not_a_store s;
  auto r = quorum::quorum_parallel(s, quorum::options{.quorum = 1}, [] { return 1; });
  return r.ok() ? 0 : 1;
}
