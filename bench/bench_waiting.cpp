// BM_WaitingBranches/{pool_default,pool_sized,thread}/5/3: branches that wait, not compute.
//   Five replicas that answer after 40, 40, 10, 10 and 10 ms (waiting on their stop token, so
//   that a replica still waiting at the decision gives up at once), W = 3, joined as
//   quorum_parallel does. pool_default is a pool_executor of its default size
//   (hardware_concurrency()), pool_sized one of 5 workers, thread one std::jthread per branch.
//   The EndToEnd rows measure the coordination with trivial branches; these show what a pool's
//   size means for branches that block: at most size() of them run at once, plus the caller.
//   A fixed number of iterations, each tens of milliseconds.
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <quorum/quorum.hpp>
#include <utility>

namespace {

using namespace std::chrono_literals;

constexpr std::array<std::chrono::milliseconds, 5> answer_after{40ms, 40ms, 10ms, 10ms, 10ms};

int replica(quorum::branch_context& ctx) {
  ctx.sleep_for(answer_after[ctx.index()]);  // returns early at the stop request
  return static_cast<int>(ctx.index());
}

// `executor()` gives the executor of one execution: the pool itself, or a fresh
// thread_executor that the execution owns and joins.
template <class Executor>
void waiting(benchmark::State& state, Executor executor) {
  quorum::atomic_store store;
  const quorum::options opts{.quorum = 3};
  for (auto _ : state) {
    auto r = quorum::quorum_parallel(store, executor(), opts, replica, replica, replica, replica,
                                     replica);
    if (!r.ok()) state.SkipWithError("the quorum was not met");
    benchmark::DoNotOptimize(r);
  }
}

void waiting_pool_default(benchmark::State& state) {
  static quorum::pool_executor pool;
  waiting(state, []() -> quorum::pool_executor& { return pool; });
}
void waiting_pool_sized(benchmark::State& state) {
  static quorum::pool_executor pool(answer_after.size());
  waiting(state, []() -> quorum::pool_executor& { return pool; });
}
void waiting_thread(benchmark::State& state) {
  waiting(state, [] { return quorum::thread_executor{}; });
}

const auto registered = [] {
  using benchmark::RegisterBenchmark;
  for (auto [name, fn] : {std::pair{"BM_WaitingBranches/pool_default/5/3", &waiting_pool_default},
                          std::pair{"BM_WaitingBranches/pool_sized/5/3", &waiting_pool_sized},
                          std::pair{"BM_WaitingBranches/thread/5/3", &waiting_thread}})
    RegisterBenchmark(name, fn)->UseRealTime()->Iterations(21)->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
