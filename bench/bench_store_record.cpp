// BM_StoreRecord/{memory,sharded,atomic,naive_map,fetch_or_floor}/.../threads:2
//
// Two threads record into one shared execution at a time: executions of N = 16 branches
// (K = 9), thread t records branches t, t+2, ..., t+14 of execution e, then moves to e + 1. So
// every record is a first record (never a cheap replay), the 9th success decides and the
// rest are late, and both threads contend on the same execution. The executions are opened
// before the timed loop (enough for the fixed iteration count) and closed after it.
//   naive_map:      unordered_map<std::string, record> behind one mutex, looked up by id; a
//                   record appends the branch to the execution's list (after a scan for a
//                   replay), the baseline FLOORS.md measured (16-18 ns alone, 270-277 ns with
//                   two threads), i.e. what a first version writes
//   naive_map_presized (no goal): the same map with each record's branch table sized at open,
//                   a tuned variant the goal does not use, printed so the two can be compared
//   fetch_or_floor: a bare fetch_or on one shared word (the floor of any shared record)
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <quorum/quorum.hpp>

#include "store_bench.hpp"

namespace {

using bench::naive_map_store;

constexpr std::size_t per_thread = bench::store_branches / 2;
// Per thread. At 10-20 ns a record, 2^17 records last 1-3 ms: the second thread may still be
// waking from the start barrier while the first is nearly done, so the "contended" figure is
// partly an uncontended one (one run measured naive_map at 38 ns, another at 163 ns). 2^20
// keeps both threads recording together for most of the run.
constexpr std::int64_t iterations = std::int64_t{1} << 20;
constexpr std::size_t executions = static_cast<std::size_t>(iterations) / per_thread + 1;

// The naive map (naive_map_store), the driver that opens and records into any of the stores
// and the run's set of open executions are in store_bench.hpp, shared with
// BM_StoreContention.
template <class S>
void BM_store(benchmark::State& state) {
  static bench::store_run<S> run;
  if (state.thread_index() == 0) run.open(executions);
  const auto t = static_cast<std::size_t>(state.thread_index());
  std::size_t k = 0;
  for (auto _ : state) {
    const std::size_t e = k / per_thread;
    const std::size_t i = t + 2 * (k % per_thread);
    auto r = run.record(e, i);
    benchmark::DoNotOptimize(r);
    ++k;
  }
  if (state.thread_index() == 0) run.close();
}

alignas(64) std::atomic<std::uint64_t> floor_word{0};

void BM_fetch_or(benchmark::State& state) {
  const auto t = static_cast<std::uint64_t>(state.thread_index());
  std::uint64_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(floor_word.fetch_or(
        std::uint64_t{1} << ((t + 2 * (k % per_thread)) & 63), std::memory_order_acq_rel));
    ++k;
  }
}

void common(benchmark::internal::Benchmark* b, std::int64_t n = iterations) {
  b->Iterations(n)->Threads(2)->UseRealTime();
}

// The floor needs no set-up, and at a few ns per operation even 2^20 iterations last a few
// milliseconds: the second thread is still waking from the start barrier while the first is
// nearly done, and the "contended" fetch_or runs mostly alone. 2^22 keeps both threads on
// the word together for tens of milliseconds.
constexpr std::int64_t floor_iterations = std::int64_t{1} << 22;

const auto registered = [] {
  common(benchmark::RegisterBenchmark("BM_StoreRecord/memory", BM_store<quorum::memory_store>));
  common(benchmark::RegisterBenchmark("BM_StoreRecord/sharded", BM_store<quorum::sharded_store>));
  common(benchmark::RegisterBenchmark("BM_StoreRecord/atomic", BM_store<quorum::atomic_store>));
  common(
      benchmark::RegisterBenchmark("BM_StoreRecord/naive_map", BM_store<naive_map_store<false>>));
  common(benchmark::RegisterBenchmark("BM_StoreRecord/naive_map_presized",
                                      BM_store<naive_map_store<true>>));
  common(benchmark::RegisterBenchmark("BM_StoreRecord/fetch_or_floor", BM_fetch_or),
         floor_iterations);
  return true;
}();

}  // namespace
