// BM_StoreRecord/redis and BM_RedisPing, in the same run against the same server.
//
//   BM_StoreRecord/redis  one redis_store::record round trip: the quorum4_record function
//                         (add the branch, count, decide, SET NX, wake) and its reply
//   BM_RedisPing          one bare PING round trip through the same store and connection
//                         pool: the floor any request to that server pays
// The goal (FLOORS.md) is record <= 1.5x ping. Executions of N = 16 branches (K = 9), recorded
// in branch order, so every record is a first record (never a cheap replay), the 9th success
// decides and the rest are late; they are opened before the timed loop. The server is a private
// redis-server on a unix socket without persistence (no fsync): the comparison is of round
// trips and server-side work, not of the disk. Wall-clock time (the work happens in the
// server). Built only when hiredis is found (QUORUM_BENCH_HAVE_REDIS).
#include <benchmark/benchmark.h>

#if QUORUM_BENCH_HAVE_REDIS

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <quorum/quorum.hpp>
#include <quorum/stores/redis.hpp>
#include <string>
#include <vector>

#include "../tests/redis_server.hpp"

namespace {

constexpr std::size_t branches = 16;
constexpr std::size_t quorum_k = 9;
constexpr std::int64_t iterations = 20000;

// One server and one store for the whole run, started on first use.
struct redis_bench_env {
  std::unique_ptr<quorum_test::redis_server> server;
  std::unique_ptr<quorum::redis_store> store;
  std::string error;
};

redis_bench_env& env() {
  static redis_bench_env e = [] {
    redis_bench_env r;
    try {
      r.server = std::make_unique<quorum_test::redis_server>(
          quorum_test::redis_server_config{.append_only = false, .extra_args = {}});
      r.store = std::make_unique<quorum::redis_store>(
          quorum::redis_options{.address = r.server->address()});
      r.store->ping();  // connect and load the functions outside the timed loops
    } catch (const std::exception& x) {
      r.error = x.what();
    }
    return r;
  }();
  return e;
}

void BM_StoreRecord_redis(benchmark::State& state) {
  auto& e = env();
  if (!e.store) {
    state.SkipWithError(e.error.c_str());
    return;
  }
  static std::uint64_t run = 0;  // each run of this benchmark opens fresh ids
  ++run;
  const auto rule = quorum::at_least(quorum_k).resolve(branches);
  std::vector<quorum::redis_store::handle> hs;
  for (std::int64_t i = 0; i < iterations / static_cast<std::int64_t>(branches) + 1; ++i)
    hs.push_back(e.store->open(
        {"bench-redis-" + std::to_string(run) + "-" + std::to_string(i), branches, rule}));

  std::size_t i = 0;
  for (auto _ : state) {
    auto t = e.store->record(hs[i / branches], i % branches, quorum::outcome::success);
    benchmark::DoNotOptimize(t);
    ++i;
  }
  for (const auto& h : hs) e.store->close(h);  // after the loop: not timed
}

void BM_RedisPing(benchmark::State& state) {
  auto& e = env();
  if (!e.store) {
    state.SkipWithError(e.error.c_str());
    return;
  }
  for (auto _ : state) e.store->ping();
}

[[maybe_unused]] const bool registered = [] {
  benchmark::RegisterBenchmark("BM_StoreRecord/redis", BM_StoreRecord_redis)
      ->Iterations(iterations)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_RedisPing", BM_RedisPing)->Iterations(iterations)->UseRealTime();
  return true;
}();

}  // namespace

#endif  // QUORUM_BENCH_HAVE_REDIS
