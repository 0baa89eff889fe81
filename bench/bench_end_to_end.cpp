// BM_EndToEnd/{quorum_pool,quorum_thread,handrolled_pool,asio_group}/{3/2,16/9}
//   one whole execution of N trivial branches, K to decide, waiting for every branch.
// BM_DecisionLatency/{quorum_pool,handrolled_pool,asio_group}/16/2
//   2 branches succeed at once, 14 stragglers block until stopped; the counter
//   decide_to_wake_ns is the time from just before the K-th success is counted to the
//   caller running again.
// BM_Throughput/{quorum_pool,handrolled_pool}
//   16 independent N=3 K=2 executions started back to back, then all joined;
//   items_per_second = executions per second.
//
// Every pool has 2 threads (the machine's cores). quorum runs on pool_executor with
// atomic_store; the caller joins with quorum_parallel / execution::join, as a service would.
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <quorum/quorum.hpp>
#include <stop_token>
#include <utility>
#include <vector>

#include "baselines.hpp"

namespace {

quorum::pool_executor& quorum_pool() {
  static quorum::pool_executor pool(2);
  return pool;
}
bench::handrolled_pool& handrolled() {
  static bench::handrolled_pool pool(2);
  return pool;
}
#if QUORUM_BENCH_HAVE_ASIO
asio::thread_pool& asio_pool() {
  static asio::thread_pool pool(2);
  return pool;
}
#endif

// Call fn with N copies of f as a pack.
template <std::size_t... I, class Fn, class F>
decltype(auto) with_copies(std::index_sequence<I...>, Fn&& fn, const F& f) {
  return fn(((void)I, f)...);
}
// Call fn with 2 copies of ok followed by M copies of slow, as a pack.
template <std::size_t... I, class Fn, class Ok, class Slow>
decltype(auto) with_stragglers(std::index_sequence<I...>, Fn&& fn, const Ok& ok, const Slow& slow) {
  return fn(ok, ok, ((void)I, slow)...);
}

// ---- EndToEnd ---------------------------------------------------------------------------

template <std::size_t N, std::size_t K>
void end_to_end_quorum_pool(benchmark::State& state) {
  auto& pool = quorum_pool();
  quorum::atomic_store store;
  const quorum::options opts{.quorum = K};
  auto run = [&](auto&&... fs) { return quorum::quorum_parallel(store, pool, opts, fs...); };
  for (auto _ : state)
    benchmark::DoNotOptimize(with_copies(std::make_index_sequence<N>{}, run, bench::trivial));
}

template <std::size_t N, std::size_t K>
void end_to_end_quorum_thread(benchmark::State& state) {
  quorum::atomic_store store;
  const quorum::options opts{.quorum = K};
  auto run = [&](auto&&... fs) {
    return quorum::quorum_parallel(store, quorum::thread_executor{}, opts, fs...);
  };
  for (auto _ : state)
    benchmark::DoNotOptimize(with_copies(std::make_index_sequence<N>{}, run, bench::trivial));
}

template <std::size_t N, std::size_t K>
void end_to_end_handrolled(benchmark::State& state) {
  auto& pool = handrolled();
  const std::vector<std::function<int(std::stop_token)>> fs(
      N, [](std::stop_token) { return bench::trivial(); });
  for (auto _ : state) {
    bench::handrolled_execution ex(pool, fs, K);
    ex.wait_all();
  }
}

#if QUORUM_BENCH_HAVE_ASIO
template <std::size_t N, std::size_t K>
void end_to_end_asio(benchmark::State& state) {
  auto& pool = asio_pool();
  for (auto _ : state) {
    auto done = std::make_shared<std::atomic<std::uint32_t>>(0);
    auto group = [&](auto&&... ops) {
      return asio::experimental::make_parallel_group(std::move(ops)...);
    };
    with_copies(std::make_index_sequence<N>{}, group, bench::asio_branch(pool, &bench::trivial))
        .async_wait(bench::asio_k_of_n{N, K}, [done](auto&&...) {
          done->store(1, std::memory_order_release);
          done->notify_one();
        });
    done->wait(0, std::memory_order_acquire);
  }
}
#endif

// ---- DecisionLatency ----------------------------------------------------------------------

constexpr std::size_t latency_n = 16, latency_k = 2;

void decision_latency_quorum_pool(benchmark::State& state) {
  auto& pool = quorum_pool();
  quorum::atomic_store store;
  const quorum::options opts{.quorum = latency_k};
  double total = 0;
  for (auto _ : state) {
    bench::latest_stamp kth;
    auto ok = [&kth] {
      kth.stamp();
      return 1;
    };
    auto slow = [](std::stop_token st) { return bench::straggler(st); };
    auto start = [&](auto&&... fs) { return quorum::start(store, pool, opts, fs...); };
    auto ex = with_stragglers(std::make_index_sequence<latency_n - 2>{}, start, ok, slow);
    ex.wait();
    total += static_cast<double>(bench::now_ns() - kth.ns.load(std::memory_order_relaxed));
    ex.join();
  }
  state.counters["decide_to_wake_ns"] =
      benchmark::Counter(total, benchmark::Counter::kAvgIterations);
}

void decision_latency_handrolled(benchmark::State& state) {
  auto& pool = handrolled();
  double total = 0;
  for (auto _ : state) {
    bench::latest_stamp kth;
    std::vector<std::function<int(std::stop_token)>> fs;
    fs.reserve(latency_n);
    for (int i = 0; i < 2; ++i)
      fs.emplace_back([&kth](std::stop_token) {
        kth.stamp();
        return 1;
      });
    for (std::size_t i = 2; i < latency_n; ++i) fs.emplace_back(bench::straggler);
    bench::handrolled_execution ex(pool, fs, latency_k);
    ex.wait_decided();
    total += static_cast<double>(bench::now_ns() - kth.ns.load(std::memory_order_relaxed));
    ex.wait_all();
  }
  state.counters["decide_to_wake_ns"] =
      benchmark::Counter(total, benchmark::Counter::kAvgIterations);
}

#if QUORUM_BENCH_HAVE_ASIO
void decision_latency_asio(benchmark::State& state) {
  auto& pool = asio_pool();
  double total = 0;
  for (auto _ : state) {
    auto kth = std::make_shared<bench::latest_stamp>();
    auto done = std::make_shared<std::atomic<std::uint32_t>>(0);
    auto ok = [kth] {
      kth->stamp();
      return 1;
    };
    auto group = [&](auto&&... ops) {
      return asio::experimental::make_parallel_group(std::move(ops)...);
    };
    with_stragglers(std::make_index_sequence<latency_n - 2>{}, group, bench::asio_branch(pool, ok),
                    bench::asio_straggler(pool))
        .async_wait(bench::asio_k_of_n{latency_n, latency_k}, [done](auto&&...) {
          done->store(1, std::memory_order_release);
          done->notify_one();
        });
    done->wait(0, std::memory_order_acquire);
    total += static_cast<double>(bench::now_ns() - kth->ns.load(std::memory_order_relaxed));
  }
  state.counters["decide_to_wake_ns"] =
      benchmark::Counter(total, benchmark::Counter::kAvgIterations);
}
#endif

// ---- Throughput ---------------------------------------------------------------------------

constexpr std::size_t in_flight = 16;

void throughput_quorum_pool(benchmark::State& state) {
  auto& pool = quorum_pool();
  quorum::atomic_store store;
  const quorum::options opts{.quorum = 2};
  const auto f = bench::trivial;
  for (auto _ : state) {
    std::array<quorum::execution<int>, in_flight> exs;
    for (auto& e : exs) e = quorum::start(store, pool, opts, f, f, f);
    for (auto& e : exs) benchmark::DoNotOptimize(e.get());  // get() joins (on_late = join)
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(in_flight));
}

void throughput_handrolled(benchmark::State& state) {
  auto& pool = handrolled();
  const std::vector<std::function<int(std::stop_token)>> fs(
      3, [](std::stop_token) { return bench::trivial(); });
  for (auto _ : state) {
    std::vector<bench::handrolled_execution> exs;
    exs.reserve(in_flight);
    for (std::size_t i = 0; i < in_flight; ++i) exs.emplace_back(pool, fs, 2);
    for (auto& e : exs) e.wait_all();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(in_flight));
}

const auto registered = [] {
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("BM_EndToEnd/quorum_pool/3/2", end_to_end_quorum_pool<3, 2>)->UseRealTime();
  RegisterBenchmark("BM_EndToEnd/quorum_pool/16/9", end_to_end_quorum_pool<16, 9>)->UseRealTime();
  RegisterBenchmark("BM_EndToEnd/quorum_thread/3/2", end_to_end_quorum_thread<3, 2>)->UseRealTime();
  RegisterBenchmark("BM_EndToEnd/quorum_thread/16/9", end_to_end_quorum_thread<16, 9>)
      ->UseRealTime();
  RegisterBenchmark("BM_EndToEnd/handrolled_pool/3/2", end_to_end_handrolled<3, 2>)->UseRealTime();
  RegisterBenchmark("BM_EndToEnd/handrolled_pool/16/9", end_to_end_handrolled<16, 9>)
      ->UseRealTime();
#if QUORUM_BENCH_HAVE_ASIO
  RegisterBenchmark("BM_EndToEnd/asio_group/3/2", end_to_end_asio<3, 2>)->UseRealTime();
  RegisterBenchmark("BM_EndToEnd/asio_group/16/9", end_to_end_asio<16, 9>)->UseRealTime();
#endif
  RegisterBenchmark("BM_DecisionLatency/quorum_pool/16/2", decision_latency_quorum_pool)
      ->UseRealTime();
  RegisterBenchmark("BM_DecisionLatency/handrolled_pool/16/2", decision_latency_handrolled)
      ->UseRealTime();
#if QUORUM_BENCH_HAVE_ASIO
  RegisterBenchmark("BM_DecisionLatency/asio_group/16/2", decision_latency_asio)->UseRealTime();
#endif
  RegisterBenchmark("BM_Throughput/quorum_pool", throughput_quorum_pool)->UseRealTime();
  RegisterBenchmark("BM_Throughput/handrolled_pool", throughput_handrolled)->UseRealTime();
  return true;
}();

}  // namespace
