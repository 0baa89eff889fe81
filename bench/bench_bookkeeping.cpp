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
//   before any bookkeeping at all. Its branches are still quorum::branch_result<int>, 96 bytes
//   each with the members this row leaves alone (the name, two optional time points).
// BM_Bookkeeping/floor_result_fixed/{3,16} (no goal): the same fixed fields in a struct that
//   holds nothing else (24 bytes). The distance from this to floor_result_bare is the price of
//   branch_result's other members, which DESIGN does not fix: its layout, not the contract.
// BM_Bookkeeping/floor_least/{3,16} (no goal): the least a library could do and still return
//   what quorum returns: a generated id, per branch the fixed fields, a name (viewed from a
//   shared table, not copied), attempts and two time points, and a decision counted at each
//   record. No store, no duplicate-id check, no atomic operation, no shared state, nothing
//   for retries, observers, deadlines or stop requests. A bound for the goal's design space:
//   how close to the floor the bookkeeping could come at all.
// BM_Bookkeeping/floor_counted/{3,16} (no goal): floor_inline plus one atomic read-modify-write
//   per record (an acq_rel fetch_or of the branch's bit into one shared word, the decision read
//   from the word it returns). DESIGN §3 makes record + count + decide one atomic operation of
//   the store, because another thread (the deadline, a cancel, another process's branch) may
//   decide at the same time; this row is that operation alone, with nothing else.
// BM_Bookkeeping/floor_least_counted/{3,16} (no goal): floor_least with the same operation per
//   record: the least a library that is safe to decide from two threads could do.
// BM_Bookkeeping/quorum_inline_timed/{3,16} (no goal): the same with the default options, i.e.
//   with two clock reads per execution and two per branch, printed so that their cost is not
//   hidden.
// BM_Bookkeeping/floor_inline/{3,16}: the same work with no library at all: call the same N
//   callables, keep each one's value (a result needs them), count successes in a local.
#include <benchmark/benchmark.h>

#include <atomic>
#include <bit>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>
#include <optional>
#include <quorum/quorum.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
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

// The shared word of the *_counted rows: success bits, as atomic_store keeps them. Global, so
// that the compiler must perform every operation on it.
std::atomic<std::uint64_t> counted_word{0};

// Record branch i's success in counted_word: one acq_rel fetch_or; the successes so far are
// the bits of the word it returns plus this one.
inline std::size_t count_success(std::size_t i) {
  const std::uint64_t bit = std::uint64_t{1} << (i % 64);
  return static_cast<std::size_t>(
      std::popcount(counted_word.fetch_or(bit, std::memory_order_acq_rel) | bit));
}

template <std::size_t N>
void floor_counted(benchmark::State& state) {
  const std::vector<branch_fn> fs(N, &bench::trivial);
  for (auto _ : state) {
    std::vector<std::optional<int>> values(N);
    counted_word.store(0, std::memory_order_relaxed);  // opened by this thread only
    std::size_t successes = 0;
    for (std::size_t i = 0; i < N; ++i) {
      try {
        values[i] = fs[i]();
        successes = count_success(i);
      } catch (...) {
      }
    }
    bool met = successes >= N;
    benchmark::DoNotOptimize(values.data());
    benchmark::DoNotOptimize(met);
  }
}

// Run one branch into an entry with the fixed fields: its value and status, or its error.
// True when it succeeded. Shared by the floor_result* and floor_least rows.
template <class Branch>
bool run_into(Branch& b, branch_fn f) {
  try {
    b.value = f();
    b.status = quorum::branch_status::succeeded;
    return true;
  } catch (...) {
    b.error = std::current_exception();
    b.status = quorum::branch_status::failed;
    return false;
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
      successes += run_into(b, fs[i]) ? 1 : 0;
      if constexpr (Full) b.attempts = 1;
    }
    r.decision = successes >= N ? quorum::decision::quorum_met : quorum::decision::unreachable;
    if constexpr (Full) r.decided_at = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(r);
  }
}

// The fixed fields of a branch and nothing else: what any API that returns them pays.
struct fixed_fields_only {
  quorum::branch_status status = quorum::branch_status::running;
  std::optional<int> value;
  std::exception_ptr error;
};

template <std::size_t N>
void floor_result_fixed(benchmark::State& state) {
  const std::vector<branch_fn> fs(N, &bench::trivial);
  for (auto _ : state) {
    std::vector<fixed_fields_only> branches(N);
    std::size_t successes = 0;
    for (std::size_t i = 0; i < N; ++i) {
      successes += run_into(branches[i], fs[i]) ? 1 : 0;
    }
    auto decision = successes >= N ? quorum::decision::quorum_met : quorum::decision::unreachable;
    benchmark::DoNotOptimize(branches.data());
    benchmark::DoNotOptimize(decision);
  }
}

// floor_least's branch: the fixed fields, the name as a view, and the other members plain.
struct least_branch {
  std::optional<int> value;
  std::string_view name;
  quorum::branch_status status = quorum::branch_status::running;
  unsigned attempts = 0;
  bool late = false;
  std::exception_ptr error;
  std::chrono::steady_clock::time_point started{}, finished{};
};

struct least_result {
  quorum::decision decision = quorum::decision::cancelled;
  std::string execution_id;
  std::vector<least_branch> branches;
  std::optional<std::size_t> decided_by;
};

// Not inlined into the loop, as a library call is not.
template <bool Counted>
[[gnu::noinline]] least_result least_run(const std::vector<branch_fn>& fs, std::size_t k,
                                         const std::string* names) {
  const std::size_t n = fs.size();
  if (n == 0 || k == 0 || k > n) throw std::invalid_argument("quorum");
  static thread_local std::uint64_t next_id = 0;
  least_result r;
  char id[24] = {'q'};
  r.execution_id.assign(id, std::to_chars(id + 1, id + sizeof id, ++next_id).ptr);
  r.branches.resize(n);
  if constexpr (Counted) counted_word.store(0, std::memory_order_relaxed);
  std::size_t successes = 0, failures = 0;
  for (std::size_t i = 0; i < n; ++i) {
    auto& b = r.branches[i];
    b.name = names[i];
    if (r.decided_by) continue;  // decided: the rest never start
    if (!run_into(b, fs[i]))
      ++failures;
    else if constexpr (Counted)
      successes = count_success(i);
    else
      ++successes;
    b.attempts = 1;
    if (successes >= k || failures > n - k) {
      r.decision = successes >= k ? quorum::decision::quorum_met : quorum::decision::unreachable;
      r.decided_by = i;
    }
  }
  return r;
}

template <std::size_t N, bool Counted = false>
void floor_least(benchmark::State& state) {
  const std::vector<branch_fn> fs(N, &bench::trivial);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < N; ++i) names.push_back("Process " + std::to_string(i + 1));
  for (auto _ : state) {
    auto r = least_run<Counted>(fs, N, names.data());
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
  RegisterBenchmark("BM_Bookkeeping/floor_result_fixed/3", floor_result_fixed<3>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/floor_result_fixed/16", floor_result_fixed<16>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/floor_least/3", floor_least<3>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/floor_least/16", floor_least<16>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/floor_counted/3", floor_counted<3>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/floor_counted/16", floor_counted<16>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/floor_least_counted/3", floor_least<3, true>)->UseRealTime();
  RegisterBenchmark("BM_Bookkeeping/floor_least_counted/16", floor_least<16, true>)->UseRealTime();
  return true;
}();

}  // namespace
