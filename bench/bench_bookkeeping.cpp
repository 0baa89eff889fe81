// BM_Bookkeeping/quorum_inline/{3,16,64,1024}: the library's own cost. One whole execution
//   (start, N branches, record, decide, result, close) on inline_executor with atomic_store;
//   the branches are trivial and succeed; K = N, so every branch runs and is counted.
// BM_Bookkeeping/floor_inline/{3,16}: the same work with no library at all: call the same N
//   callables, keep each one's value (a result needs them), count successes in a local.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <optional>
#include <quorum/quorum.hpp>
#include <vector>

#include "baselines.hpp"

namespace {

using branch_fn = int (*)();

template <std::size_t N>
void quorum_inline(benchmark::State& state) {
  const std::vector<branch_fn> fs(N, &bench::trivial);
  quorum::atomic_store store;
  const quorum::options opts{.quorum = N};
  for (auto _ : state) {
    auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, opts, fs);
    benchmark::DoNotOptimize(r);
  }
}

template <std::size_t N>
void floor_inline(benchmark::State& state) {
  const std::vector<branch_fn> fs(N, &bench::trivial);
  for (auto _ : state) {
    std::vector<std::optional<int>> values(N);
    std::size_t successes = 0;
    for (std::size_t i = 0; i < N; ++i) {
      try {
        values[i] = fs[i]();
        ++successes;
      } catch (...) {
      }
    }
    bool met = successes >= N;
    benchmark::DoNotOptimize(values.data());
    benchmark::DoNotOptimize(met);
  }
}

const auto registered = [] {
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("BM_Bookkeeping/quorum_inline/3", quorum_inline<3>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/quorum_inline/16", quorum_inline<16>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/quorum_inline/64", quorum_inline<64>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/quorum_inline/1024", quorum_inline<1024>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/floor_inline/3", floor_inline<3>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/floor_inline/16", floor_inline<16>)->UseRealTime();
  return true;
}();

}  // namespace
