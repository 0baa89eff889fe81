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

constexpr std::size_t per_thread = bench::record_per_thread;

// The naive map (naive_map_store), the driver that opens and records into any of the stores,
// the run's set of open executions and the body of these rows (bench::BM_store_record) are in
// store_bench.hpp, shared with BM_StoreContention; register_store_record adds a store's row.

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

// The floor needs no set-up, and at a few ns per operation even 2^20 iterations last a few
// milliseconds: the second thread is still waking from the start barrier while the first is
// nearly done, and the "contended" fetch_or runs mostly alone. 2^22 keeps both threads on
// the word together for tens of milliseconds.
constexpr std::int64_t floor_iterations = std::int64_t{1} << 22;

const auto registered = [] {
  bench::register_store_record<quorum::memory_store>("memory");
  bench::register_store_record<quorum::sharded_store>("sharded");
  bench::register_store_record<quorum::atomic_store>("atomic");
  bench::register_store_record<naive_map_store<false>>("naive_map");
  bench::register_store_record<naive_map_store<true>>("naive_map_presized");
  benchmark::RegisterBenchmark("BM_StoreRecord/fetch_or_floor", BM_fetch_or)
      ->Iterations(floor_iterations)
      ->Threads(2)
      ->UseRealTime();
  return true;
}();

}  // namespace
