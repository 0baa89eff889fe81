// pool_executor: a fixed pool, one bulk submission per execution, the caller helping at join.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <memory>
#include <mutex>
#include <quorum/pool_executor.hpp>
#include <quorum/quorum.hpp>
#include <quorum/stores/atomic.hpp>
#include <quorum/stores/sharded.hpp>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Blocks every worker of a pool until release(), so a test controls who runs what. Declare it
// before the pool: the pool's workers may still be inside go.wait() while it joins them.
struct blocker {
  std::latch started;
  std::latch go{1};
  explicit blocker(std::ptrdiff_t workers) : started(workers) {}
  void occupy(quorum::pool_executor& pool, std::size_t workers) {
    for (std::size_t i = 0; i < workers; ++i)
      pool.execute([this] {
        started.count_down();
        go.wait();
      });
    started.wait();
  }
  void release() { go.count_down(); }
};

// Blocks until its stop token is requested; returns 0 then.
int straggler(std::stop_token st) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lk(m);
  cv.wait(lk, st, [] { return false; });
  return 0;
}

}  // namespace

TEST_CASE("a pool runs every task it is given on its own worker threads") {
  quorum::pool_executor pool(2);
  CHECK(pool.size() == 2);
  constexpr int tasks = 200;
  std::latch done(tasks);
  std::mutex m;
  std::set<std::thread::id> ids;
  for (int i = 0; i < tasks; ++i)
    pool.execute([&] {
      {
        std::lock_guard lk(m);
        ids.insert(std::this_thread::get_id());
      }
      done.count_down();
    });
  done.wait();
  std::lock_guard lk(m);
  CHECK(ids.count(std::this_thread::get_id()) == 0);
  CHECK(ids.size() <= 2);
  CHECK(pool.errors() == 0);
}

// Each round trip lets the workers run out of work and go to sleep, and races the next
// submission against their going to sleep: a wake-up the pool lost would leave a task queued
// with every worker asleep, and this test would hang (ctest's timeout reports it).
TEST_CASE("sleeping workers wake for every submission, one task or a batch at a time") {
  for (std::size_t workers : {std::size_t{1}, std::size_t{2}}) {
    CAPTURE(workers);
    quorum::pool_executor pool(workers);
    std::atomic<std::uint32_t> ran{0};
    constexpr std::uint32_t rounds = 5000;
    for (std::uint32_t i = 1; i <= rounds; ++i) {
      if (i % 2 == 0) {
        pool.execute([&] {
          ran.fetch_add(1, std::memory_order_release);
          ran.notify_one();
        });
      } else {  // a batch the submitter leaves to the workers (it never calls run_one)
        auto b = pool.bulk_execute(1, [&](std::size_t) {
          ran.fetch_add(1, std::memory_order_release);
          ran.notify_one();
        });
      }
      for (auto r = ran.load(std::memory_order_acquire); r != i;
           r = ran.load(std::memory_order_acquire))
        ran.wait(r, std::memory_order_acquire);
    }
    CHECK(ran.load() == rounds);
  }
}

TEST_CASE("a bulk submission runs task i exactly once for every i") {
  quorum::pool_executor pool(2);
  constexpr std::size_t n = 1000;
  std::vector<std::atomic<int>> runs(n);
  std::latch done(n);
  auto b = pool.bulk_execute(n, [&](std::size_t i) {
    runs[i].fetch_add(1, std::memory_order_relaxed);
    done.count_down();
  });
  while (b.run_one()) {  // the submitter may take part
  }
  done.wait();
  for (std::size_t i = 0; i < n; ++i) CHECK(runs[i].load() == 1);
}

TEST_CASE("the submitter's batch runs unclaimed tasks on the calling thread") {
  blocker busy(1);
  quorum::pool_executor pool(1);
  busy.occupy(pool, 1);
  std::vector<std::thread::id> who(3);
  auto b = pool.bulk_execute(3, [&](std::size_t i) { who[i] = std::this_thread::get_id(); });
  CHECK(b.run_one());
  CHECK(b.run_one());
  CHECK(b.run_one());
  CHECK_FALSE(b.run_one());
  for (auto id : who) CHECK(id == std::this_thread::get_id());
  busy.release();
}

TEST_CASE("the destructor runs every task still queued, then joins") {
  std::atomic<int> ran{0};
  {
    blocker busy(1);
    quorum::pool_executor pool(1);
    busy.occupy(pool, 1);
    for (int i = 0; i < 5; ++i) pool.execute([&] { ran.fetch_add(1); });
    auto b = pool.bulk_execute(4, [&](std::size_t) { ran.fetch_add(1); });
    busy.release();
  }
  CHECK(ran.load() == 9);
}

TEST_CASE("a task that throws is counted and never escapes a worker") {
  std::latch after(1);
  quorum::pool_executor pool(1);
  pool.execute([] { throw std::runtime_error("boom"); });
  pool.execute([] { throw 42; });
  pool.execute([&] { after.count_down(); });
  after.wait();  // one worker runs in order: both throwing tasks are done
  CHECK(pool.errors() == 2);
}

TEST_CASE("quorum_parallel on a pool decides quorum_met and ends every branch") {
  quorum::pool_executor pool(2);
  quorum::memory_store store;
  std::vector<std::function<int()>> fs(16, [] { return 7; });
  auto r = quorum::quorum_parallel(store, pool, {.quorum = 9}, fs);
  CHECK(r.decision == quorum::decision::quorum_met);
  std::size_t on_time = 0;
  for (auto& b : r.branches) {
    CHECK(b.status != quorum::branch_status::running);
    if (b.status == quorum::branch_status::succeeded && !b.late) ++on_time;
  }
  CHECK(on_time == 9);
  CHECK(store.size() == 0);
}

TEST_CASE("while joining, the caller runs branches a busy pool has not claimed") {
  blocker busy(1);
  quorum::pool_executor pool(1);
  busy.occupy(pool, 1);
  quorum::atomic_store store;
  const auto me = std::this_thread::get_id();
  auto where = [](std::stop_token) { return std::this_thread::get_id(); };
  auto ex = quorum::start(store, pool, {.quorum = 3}, where, where, where);
  ex.join();  // the only worker is blocked: every branch must run on this thread
  auto r = ex.get();
  CHECK(r.decision == quorum::decision::quorum_met);
  for (auto& b : r.branches) {
    REQUIRE(b.value);
    CHECK(*b.value == me);
  }
  busy.release();
}

TEST_CASE("wait() on a pool returns at the decision while stragglers block until stopped") {
  quorum::pool_executor pool(2);
  quorum::atomic_store store;
  std::vector<std::function<int(std::stop_token)>> fs;
  fs.push_back([](std::stop_token) { return 1; });
  fs.push_back([](std::stop_token) { return 2; });
  for (int i = 0; i < 6; ++i) fs.push_back(straggler);
  auto ex = quorum::start(store, pool, {.quorum = 2}, fs);
  ex.wait();  // would never return if it waited for a straggler
  CHECK(ex.decided());
  auto r = ex.get();  // on_late = join: the stragglers were stopped and joined
  CHECK(r.decision == quorum::decision::quorum_met);
  for (std::size_t i = 2; i < r.branches.size(); ++i)
    CHECK(r.branches[i].status != quorum::branch_status::running);
}

TEST_CASE("a deadline already past decides timed_out and still ends every branch on a pool") {
  quorum::pool_executor pool(2);
  quorum::sharded_store store;
  std::atomic<int> ran{0};
  auto f = [&] { return ran.fetch_add(1); };
  auto r = quorum::quorum_parallel(
      store, pool, {.quorum = 1, .deadline = std::chrono::steady_clock::now() - 1s}, f, f, f);
  CHECK(r.decision == quorum::decision::timed_out);
  CHECK(ran.load() == 0);
  for (auto& b : r.branches) CHECK(b.status == quorum::branch_status::cancelled);
}

TEST_CASE("many executions from several threads share one pool") {
  quorum::pool_executor pool(2);
  quorum::sharded_store store;
  constexpr int threads = 4, each = 50;
  std::latch go(threads);
  std::vector<int> met(threads, 0);
  {
    std::vector<std::jthread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        go.arrive_and_wait();
        for (int j = 0; j < each; ++j) {
          auto ok = [] { return true; };
          auto bad = []() -> bool { throw std::runtime_error("no"); };
          auto r = quorum::quorum_parallel(store, pool, {.quorum = 2}, ok, bad, ok);
          if (r.decision == quorum::decision::quorum_met) ++met[t];
        }
      });
  }
  for (int m : met) CHECK(m == each);
  CHECK(store.size() == 0);
}

TEST_CASE("a batch claimed to the end by its submitter lets go of its task at once") {
  // Regression (cold review): the job stayed in the queue, holding its callable, until a
  // worker looked at the queue again; with every worker busy that could be much later.
  blocker busy(1);
  quorum::pool_executor pool(1);
  busy.occupy(pool, 1);  // the only worker is taken: the batch below is left to its submitter
  auto held = std::make_shared<int>(1);
  std::weak_ptr<int> seen = held;
  std::atomic<int> ran{0};
  auto batch = pool.bulk_execute(2, [held = std::move(held), &ran](std::size_t) { ++ran; });
  while (batch.run_one()) {
  }
  CHECK(ran == 2);
  CHECK(seen.expired());  // before: alive until the worker was released
  busy.release();
}

TEST_CASE("an execution's values do not outlive its handle on a busy pool") {
  // Regression (cold review): the execution's state, values included, stayed alive in the
  // pool's queue after the handle was gone, and died later on a worker; a value that used
  // something of the caller's (an allocator, a reference) then touched freed memory.
  blocker busy(1);
  quorum::pool_executor pool(1);
  busy.occupy(pool, 1);
  quorum::memory_store store;
  std::weak_ptr<int> seen;
  {
    auto ex = quorum::start(store, pool, {.quorum = 1}, [&seen] {
      auto p = std::make_shared<int>(7);
      seen = p;
      return p;
    });
    auto r = ex.get();  // the caller ran the branch itself: the worker is busy
    REQUIRE(r.ok());
    CHECK(**r.branches[0].value == 7);
  }
  CHECK(seen.expired());
  busy.release();
}
