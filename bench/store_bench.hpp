// bench/store_bench.hpp — what the store benchmarks share: the naive map they are measured
// against, one way to drive any store (a quorum::store or the naive map), one run's set of
// open executions, the BM_StoreContention family (bench_store_contention.cpp registers it) and
// BM_StoreRecord's body (bench_store_record.cpp registers it; see there for what it measures).
// A store of one's own gets both from a bench/*.cpp that includes this header and calls, at
// static initialisation, register_contention<my_store>("mine") and
// register_store_record<my_store>("mine").
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <quorum/quorum.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace bench {

// Every store benchmark's execution: N = 16 branches, decided by at least K = 9 successes.
inline constexpr std::size_t store_branches = 16;
inline constexpr std::size_t store_quorum_k = 9;

inline std::string execution_id(std::size_t e) { return "bench-execution-" + std::to_string(e); }

// Execution e's spec: its id, store_branches branches, at least store_quorum_k successes.
inline quorum::execution_spec execution_spec_of(std::string id) {
  return {std::move(id), store_branches, quorum::at_least(store_quorum_k).resolve(store_branches)};
}

// The naive store a first version would use: one map, one mutex, lookup by id per record, and
// a record that appends the branch to the execution's list. `Presized` keeps one slot per
// branch instead, sized at open (no allocation and no scan per record).
template <bool Presized>
class naive_map_store {
 public:
  struct entry {
    std::vector<std::optional<quorum::outcome>> table;              // Presized
    std::vector<std::pair<std::size_t, quorum::outcome>> appended;  // !Presized
    std::size_t n = 0, successes = 0, failures = 0, k = 0;
    std::optional<quorum::decision> decision;
  };

  void open(const std::string& id, std::size_t n, std::size_t k) {
    std::lock_guard lk(m_);
    auto& r = map_[id];
    if constexpr (Presized) r.table.assign(n, std::nullopt);
    r.n = n;
    r.k = k;
  }
  bool record(const std::string& id, std::size_t i, quorum::outcome o) {
    std::lock_guard lk(m_);
    auto& r = map_.at(id);
    if constexpr (Presized) {
      if (r.table.at(i)) return false;
      r.table[i] = o;
    } else {
      if (i >= r.n) throw std::out_of_range("naive_map_store: branch index");
      for (const auto& [j, _] : r.appended)
        if (j == i) return false;
      r.appended.emplace_back(i, o);
    }
    if (o == quorum::outcome::success) {
      if (++r.successes == r.k && !r.decision) r.decision = quorum::decision::quorum_met;
    } else if (++r.failures == r.n - r.k + 1 && !r.decision) {
      r.decision = quorum::decision::unreachable;
    }
    return true;
  }
  void close(const std::string& id) {
    std::lock_guard lk(m_);
    map_.erase(id);
  }

 private:
  std::mutex m_;
  std::unordered_map<std::string, entry> map_;
};

// How the store benchmarks drive a store: open execution number e (store_branches branches,
// at least store_quorum_k), record a success of branch i, close. A quorum::store is driven
// through the handle its open() returns.
template <class S>
struct store_driver {
  static_assert(quorum::store<S>, "a store benchmark's store must model quorum::store");
  using handle = typename S::handle;
  static handle open(S& s, const quorum::execution_spec& spec) { return s.open(spec); }
  static quorum::tally record(S& s, handle h, std::size_t i) {
    return s.record(h, i, quorum::outcome::success);
  }
  static void close(S& s, handle h) { s.close(h); }
};

// The naive map has no handles: every call looks the execution up by its id.
template <bool Presized>
struct store_driver<naive_map_store<Presized>> {
  using store = naive_map_store<Presized>;
  using handle = std::string;
  static handle open(store& s, const quorum::execution_spec& spec) {
    s.open(spec.id, spec.branches, store_quorum_k);
    return spec.id;
  }
  static bool record(store& s, const handle& id, std::size_t i) {
    return s.record(id, i, quorum::outcome::success);
  }
  static void close(store& s, const handle& id) { s.close(id); }
};

// One run's store and its executions 0 .. count-1. Thread 0 calls open() before the timed loop
// (whose start is a barrier for all the run's threads) and close() after it (the loop's end is
// another), so the other threads only read it. Each run (thread count, repetition) makes its
// own store, sized for that run.
template <class S>
struct store_run {
  using driver = store_driver<S>;
  std::unique_ptr<S> store;
  std::vector<typename driver::handle> handles;

  void open(std::size_t count) {
    store = std::make_unique<S>();
    handles.clear();
    handles.reserve(count);
    try {
      for (std::size_t e = 0; e < count; ++e)
        handles.push_back(driver::open(*store, execution_spec_of(execution_id(e))));
    } catch (const std::exception& x) {
      // It still ends the run (a benchmark cannot go on without its executions), but says
      // why first: std::terminate's own line names neither the row nor the count.
      std::fprintf(stderr,
                   "store_bench: the store threw at open() of execution %zu of %zu, which the "
                   "run holds open at once (see register_contention): %s\n",
                   handles.size() + 1, count, x.what());
      throw;
    }
  }
  auto record(std::size_t e, std::size_t i) { return driver::record(*store, handles[e], i); }
  void close() {
    for (const auto& h : handles) driver::close(*store, h);
    handles.clear();
    store.reset();
  }
};

// ---- BM_StoreContention (see bench_store_contention.cpp) --------------------------------

enum class contention_mode {
  shared,     // all threads record into one shared execution at a time
  own,        // each thread records into executions of its own
  lifecycle,  // each thread opens an execution of its own, records it whole, closes it
};

// Per thread, as BM_StoreRecord: long enough (a few ms even at a few ns a record) that the
// threads record together for most of the run rather than one waking from the start barrier
// while another is nearly done.
inline constexpr std::int64_t contention_iterations = std::int64_t{1} << 20;
inline constexpr int contention_max_threads = 16;
static_assert(store_branches % contention_max_threads == 0,
              "shared mode splits an execution's branches evenly among up to 16 threads");

// 1, 2, 4, ... up to the hardware threads: at least 1 and 2, at most 16.
inline std::vector<int> contention_threads() {
  const auto hw = static_cast<int>(std::thread::hardware_concurrency());
  const int top = std::clamp(hw, 2, contention_max_threads);
  std::vector<int> out;
  for (int t = 1; t <= top; t *= 2) out.push_back(t);
  return out;
}

// Thread t of T, in `shared` mode, records branches t, t+T, t+2T, ... of execution e, then
// moves to e + 1: every thread the same executions, each branch once. In `own` mode it records
// branches 0 .. N-1 of each execution of a block of its own. Either way every record is a
// first record; the 9th success decides and the rest are late.
// `lifecycle`: one iteration is one whole execution of thread t's own (open, its 16 records,
// close), so the store's shared structures (the id map and its lock or shards) are in every
// iteration, as for a service that runs many short executions at once. Its specs (ids) are
// made before the timed loop. Items are records, as in the other modes.
template <class S>
void BM_lifecycle(benchmark::State& state) {
  using driver = store_driver<S>;
  static std::unique_ptr<S> store;
  const auto t = static_cast<std::size_t>(state.thread_index());
  if (t == 0) store = std::make_unique<S>();
  // Specs of this thread's own, reused round-robin (an id is closed before it comes round
  // again); short ids, so that copying one allocates nothing.
  std::vector<quorum::execution_spec> specs;
  for (std::size_t j = 0; j < 64; ++j)
    specs.push_back(execution_spec_of(std::to_string(t) + "-" + std::to_string(j)));
  std::size_t k = 0;
  bool skipped = false;
  for (auto _ : state) {
    // A store that throws here (one that keeps closed ids, as redis_store does by default, may
    // refuse the reopened id) fails this row, not the run: the thread reports it and runs out
    // its iterations empty. Not `break`: a thread that leaves the loop early passes its end
    // barrier, and thread 0 would free the store below while the others still record into it
    // (a segfault at two threads, found when a review suggested the break).
    if (skipped) continue;
    try {
      auto h = driver::open(*store, specs[k++ % specs.size()]);
      for (std::size_t i = 0; i < store_branches; ++i) {
        auto r = driver::record(*store, h, i);
        benchmark::DoNotOptimize(r);
      }
      driver::close(*store, h);
    } catch (const std::exception& x) {
      skipped = true;
      const std::string why = "store_bench: lifecycle, thread " + std::to_string(t) +
                              ": the store threw at its execution " + std::to_string(k) +
                              " (the row reopens 64 ids per thread after closing them; see "
                              "register_contention): " + x.what();
      std::fprintf(stderr, "%s\n", why.c_str());
      state.SkipWithError(why.c_str());  // copies the message
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(store_branches));
  if (t == 0) store.reset();
}

template <class S, contention_mode Mode>
void BM_contention(benchmark::State& state) {
  static store_run<S> run;
  constexpr bool shared = Mode == contention_mode::shared;
  const auto threads = static_cast<std::size_t>(state.threads());
  const auto t = static_cast<std::size_t>(state.thread_index());
  const std::size_t stride = shared ? threads : 1;
  const std::size_t first = shared ? t : 0;
  const std::size_t per_execution = store_branches / stride;  // one thread's records in one
  const auto iterations = static_cast<std::size_t>(state.max_iterations);
  const std::size_t reached = iterations / per_execution + 1;  // executions one thread reaches
  if (t == 0) run.open(shared ? reached : reached * threads);
  std::size_t e = shared ? 0 : t * reached;
  std::size_t i = first;
  for (auto _ : state) {
    auto r = run.record(e, i);
    benchmark::DoNotOptimize(r);
    i += stride;
    if (i >= store_branches) {
      i = first;
      ++e;
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (t == 0) run.close();
}

// Adds BM_StoreContention/<name>/{shared,own,lifecycle} at every thread count of
// contention_threads().
// S: default-constructible and modelling quorum::store (or the naive map above). What S{} must
// then hold (a store that throws in shared or own ends the whole quorum_bench with
// std::terminate, after a line on stderr; in lifecycle it marks that row as an error):
//  * shared and own: every execution of a run open at once, 2^20 / (16 / T) + 1 of them in
//    shared (131,073 at T = 2, 1,048,577 at T = 16) and 65,537 per thread in own; a store of a
//    fixed size is to be given that many (a default-constructible wrapper that passes it);
//  * lifecycle: each thread reuses 64 ids ("<t>-0" .. "<t>-63"), each opened again after its
//    close(), so a store that keeps closed ids (allowed by docs/stores.md) throws
//    duplicate_execution_id there: the row then reports that error and the run goes on.
template <class S>
void register_contention(const std::string& name) {
  static_assert(std::default_initializable<S>, "register_contention: S is made with S{}");
  const std::pair<const char*, void (*)(benchmark::State&)> modes[] = {
      {"shared", BM_contention<S, contention_mode::shared>},
      {"own", BM_contention<S, contention_mode::own>},
      {"lifecycle", BM_lifecycle<S>},
  };
  for (const auto& [mode, fn] : modes) {
    auto* b = benchmark::RegisterBenchmark(("BM_StoreContention/" + name + "/" + mode).c_str(), fn);
    // lifecycle: an iteration is a whole execution, 16 records.
    const bool whole = fn == modes[2].second;
    b->Iterations(whole ? contention_iterations / std::int64_t{store_branches} : contention_iterations);
    b->UseRealTime();
    for (int threads : contention_threads()) b->Threads(threads);
  }
}

// BM_StoreRecord: two threads record into one shared execution at a time, thread t branches
// t, t+2, ..., t+14 of execution e, then e + 1 (see bench_store_record.cpp).
inline constexpr std::size_t record_per_thread = store_branches / 2;
// Per thread. At 10-20 ns a record, 2^17 records last 1-3 ms: the second thread may still be
// waking from the start barrier while the first is nearly done, so the "contended" figure is
// partly an uncontended one (one run measured naive_map at 38 ns, another at 163 ns). 2^20
// keeps both threads recording together for most of the run.
inline constexpr std::int64_t record_iterations = std::int64_t{1} << 20;

template <class S>
void BM_store_record(benchmark::State& state) {
  constexpr std::size_t executions =
      static_cast<std::size_t>(record_iterations) / record_per_thread + 1;
  static store_run<S> run;
  if (state.thread_index() == 0) run.open(executions);
  const auto t = static_cast<std::size_t>(state.thread_index());
  std::size_t k = 0;
  for (auto _ : state) {
    const std::size_t e = k / record_per_thread;
    const std::size_t i = t + 2 * (k % record_per_thread);
    auto r = run.record(e, i);
    benchmark::DoNotOptimize(r);
    ++k;
  }
  if (state.thread_index() == 0) run.close();
}

// Adds BM_StoreRecord/<name> (its full name ends in /threads:2). S: default-constructible and
// modelling quorum::store (or the naive map above).
template <class S>
void register_store_record(const std::string& name) {
  static_assert(std::default_initializable<S>, "register_store_record: S is made with S{}");
  benchmark::RegisterBenchmark(("BM_StoreRecord/" + name).c_str(), BM_store_record<S>)
      ->Iterations(record_iterations)
      ->Threads(2)
      ->UseRealTime();
}

}  // namespace bench
