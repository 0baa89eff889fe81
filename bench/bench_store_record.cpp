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
#include <memory>
#include <mutex>
#include <optional>
#include <quorum/quorum.hpp>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

constexpr std::size_t branches = 16;
constexpr std::size_t quorum_k = 9;
constexpr std::size_t per_thread = branches / 2;
// Per thread. At 10-20 ns a record, 2^17 records last 1-3 ms: the second thread may still be
// waking from the start barrier while the first is nearly done, so the "contended" figure is
// partly an uncontended one (one run measured naive_map at 38 ns, another at 163 ns). 2^20
// keeps both threads recording together for most of the run.
constexpr std::int64_t iterations = std::int64_t{1} << 20;
constexpr std::size_t executions = static_cast<std::size_t>(iterations) / per_thread + 1;

std::string id_of(std::size_t e) { return "bench-execution-" + std::to_string(e); }

// The naive store a first version would use: one map, one mutex, lookup by id per record, and
// a record that appends the branch to the execution's list. `Presized` keeps one slot per
// branch instead, sized at open (no allocation and no scan per record).
template <bool Presized>
class naive_map_store {
 public:
  struct entry {
    std::vector<std::optional<quorum::outcome>> table;                 // Presized
    std::vector<std::pair<std::size_t, quorum::outcome>> appended;     // !Presized
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

// Shared between the two threads of one run; set up by thread 0 before the timed loop (the
// loop's start is a barrier for all threads) and torn down by it after.
template <class S>
struct shared_run {
  std::unique_ptr<S> store;
  std::vector<typename S::handle> handles;
};
template <class S>
shared_run<S>& shared_of() {
  static shared_run<S> r;
  return r;
}

template <class S>
void BM_store(benchmark::State& state) {
  auto& run = shared_of<S>();
  if (state.thread_index() == 0) {
    run.store = std::make_unique<S>();
    run.handles.clear();
    run.handles.reserve(executions);
    const auto rule = quorum::at_least(quorum_k).resolve(branches);
    for (std::size_t e = 0; e < executions; ++e)
      run.handles.push_back(run.store->open(quorum::execution_spec{id_of(e), branches, rule}));
  }
  const auto t = static_cast<std::size_t>(state.thread_index());
  std::size_t k = 0;
  for (auto _ : state) {
    const std::size_t e = k / per_thread;
    const std::size_t i = t + 2 * (k % per_thread);
    auto tl = run.store->record(run.handles[e], i, quorum::outcome::success);
    benchmark::DoNotOptimize(tl);
    ++k;
  }
  if (state.thread_index() == 0) {
    for (auto h : run.handles) run.store->close(h);
    run.handles.clear();
    run.store.reset();
  }
}

template <bool Presized>
struct naive_run {
  std::unique_ptr<naive_map_store<Presized>> store;
  std::vector<std::string> ids;
};

template <bool Presized>
void BM_naive(benchmark::State& state) {
  static naive_run<Presized> run;
  if (state.thread_index() == 0) {
    run.store = std::make_unique<naive_map_store<Presized>>();
    run.ids.clear();
    run.ids.reserve(executions);
    for (std::size_t e = 0; e < executions; ++e) {
      run.ids.push_back(id_of(e));
      run.store->open(run.ids.back(), branches, quorum_k);
    }
  }
  const auto t = static_cast<std::size_t>(state.thread_index());
  std::size_t k = 0;
  for (auto _ : state) {
    const std::size_t e = k / per_thread;
    const std::size_t i = t + 2 * (k % per_thread);
    benchmark::DoNotOptimize(run.store->record(run.ids[e], i, quorum::outcome::success));
    ++k;
  }
  if (state.thread_index() == 0) {
    for (auto& id : run.ids) run.store->close(id);
    run.store.reset();
  }
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
  common(benchmark::RegisterBenchmark("BM_StoreRecord/naive_map", BM_naive<false>));
  common(benchmark::RegisterBenchmark("BM_StoreRecord/naive_map_presized", BM_naive<true>));
  common(benchmark::RegisterBenchmark("BM_StoreRecord/fetch_or_floor", BM_fetch_or),
         floor_iterations);
  return true;
}();

}  // namespace
