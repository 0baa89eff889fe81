// BM_Bookkeeping/quorum_inline/{3,16,64,1024}: the library's own cost. One whole execution
//   (start, N branches, record, decide, result, close) on inline_executor with atomic_store;
//   the branches are trivial and succeed; K = N, so every branch runs and is counted. Time
//   stamps are off (options.timestamps = none: the floor reads no clock either).
// BM_Bookkeeping/floor_result/{3,16} (no goal): the floor's work plus what any API that
//   returns a quorum::result<int> pays, with no library logic: the result's branch vector (one
//   allocation), each branch's name, status and value, and two clock reads (started,
//   decided_at). The distance from floor_inline to this is the price of the result type; the
//   distance from this to quorum_inline is the library's own bookkeeping.
// BM_Bookkeeping/floor_result_bare/{3,16} (no goal): the least of floor_result: only the
//   fields DESIGN fixes (each branch's status, value and error; the decision), no names, no
//   clock reads, no store. What building the returned quorum::result<int> costs on its own,
//   before any bookkeeping at all.
// BM_Bookkeeping/quorum_inline_timed/{3,16} (no goal): the same with the default options, i.e.
//   with two clock reads per execution and two per branch, printed so that their cost is not
//   hidden.
// BM_Bookkeeping/floor_inline/{3,16}: the same work with no library at all: call the same N
//   callables, keep each one's value (a result needs them), count successes in a local.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <exception>
#include <iterator>
#include <optional>
#include <quorum/quorum.hpp>
#include <vector>

#include "baselines.hpp"

namespace {

using branch_fn = int (*)();

template <std::size_t N, bool Timed = false>
void quorum_inline(benchmark::State& state) {
  const std::vector<branch_fn> fs(N, &bench::trivial);
  quorum::atomic_store store;
  const quorum::options opts{
      .quorum = N, .timestamps = Timed ? quorum::timestamps::all : quorum::timestamps::none};
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

// floor_result (Full) and floor_result_bare (not Full): the same loop; the full one also fills
// in what the library does beyond the fixed fields (names, attempts, two clock reads).
template <std::size_t N, bool Full>
void floor_result(benchmark::State& state) {
  const std::vector<branch_fn> fs(N, &bench::trivial);
  static const char* const names[] = {"Process 1",  "Process 2",  "Process 3",  "Process 4",
                                      "Process 5",  "Process 6",  "Process 7",  "Process 8",
                                      "Process 9",  "Process 10", "Process 11", "Process 12",
                                      "Process 13", "Process 14", "Process 15", "Process 16"};
  static_assert(N <= std::size(names));
  for (auto _ : state) {
    quorum::result<int> r;
    if constexpr (Full) r.started = std::chrono::steady_clock::now();
    r.branches.resize(N);
    std::size_t successes = 0;
    for (std::size_t i = 0; i < N; ++i) {
      auto& b = r.branches[i];
      if constexpr (Full) b.name = names[i];
      try {
        b.value = fs[i]();
        b.status = quorum::branch_status::succeeded;
        ++successes;
      } catch (...) {
        b.error = std::current_exception();
        b.status = quorum::branch_status::failed;
      }
      if constexpr (Full) b.attempts = 1;
    }
    r.decision = successes >= N ? quorum::decision::quorum_met : quorum::decision::unreachable;
    if constexpr (Full) r.decided_at = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(r);
  }
}

const auto registered = [] {
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("BM_Bookkeeping/quorum_inline/3", quorum_inline<3>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/quorum_inline/16", quorum_inline<16>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/quorum_inline/64", quorum_inline<64>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/quorum_inline/1024", quorum_inline<1024>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/quorum_inline_timed/3", quorum_inline<3, true>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/quorum_inline_timed/16", quorum_inline<16, true>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/floor_inline/3", floor_inline<3>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/floor_inline/16", floor_inline<16>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/floor_result/3", floor_result<3, true>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/floor_result/16", floor_result<16, true>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/floor_result_bare/3", floor_result<3, false>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/floor_result_bare/16", floor_result<16, false>)->UseRealTime();
  return true;
}();

}  // namespace
