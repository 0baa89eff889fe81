// The one decision: when each of the four is made, and that it is made exactly once.
#include <doctest/doctest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <latch>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <quorum/quorum.hpp>

#include "support.hpp"

using namespace std::chrono_literals;
using quorum::branch_status;
using quorum::decision;

namespace {
std::function<int()> ok(int v) {
  return [v] { return v; };
}
std::function<int()> fail() {
  return []() -> int { throw std::runtime_error("no"); };
}
}  // namespace

TEST_CASE("the quorum is met at the K-th success and later branches never start") {
  quorum::memory_store store;
  std::vector<std::function<int()>> fs{ok(1), fail(), ok(3), ok(4), ok(5)};
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 2}, fs);
  CHECK(r.decision == decision::quorum_met);
  REQUIRE(r.decided_by.has_value());
  CHECK(*r.decided_by == 2);
  CHECK(r.successes() == 2);
  CHECK(r.failures() == 1);
  CHECK(r.branches[3].status == branch_status::cancelled);
  CHECK(r.branches[4].status == branch_status::cancelled);
  CHECK(r.branches[3].attempts == 0);
  CHECK(*r.branches[2].value == 3);
}

TEST_CASE("the quorum is unreachable at the (N-K+1)-th failure, without waiting for the rest") {
  quorum::memory_store store;
  std::vector<std::function<int()>> fs{fail(), ok(2), fail(), ok(4)};
  // N = 4, K = 3: the second failure leaves at most 2 possible successes.
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 3}, fs);
  CHECK(r.decision == decision::unreachable);
  REQUIRE(r.decided_by.has_value());
  CHECK(*r.decided_by == 2);
  CHECK(r.failures() == 2);
  CHECK(r.successes() == 1);
  CHECK(r.branches[3].status == branch_status::cancelled);
}

TEST_CASE("quorum N of N needs every branch and one failure makes it unreachable") {
  quorum::memory_store store;
  SUBCASE("all succeed") {
    std::vector<std::function<int()>> fs{ok(1), ok(2), ok(3)};
    auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 3}, fs);
    CHECK(r.decision == decision::quorum_met);
    CHECK(*r.decided_by == 2);
  }
  SUBCASE("the first fails") {
    std::vector<std::function<int()>> fs{fail(), ok(2), ok(3)};
    auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 3}, fs);
    CHECK(r.decision == decision::unreachable);
    CHECK(*r.decided_by == 0);
  }
}

TEST_CASE("running threads: the quorum is met while the stragglers block, and they are stopped") {
  test_support::stop_waiter w;
  std::latch stragglers_running(2);  // the successes wait until both stragglers are in flight
  auto straggler = [&](std::stop_token st) -> int {
    stragglers_running.count_down();
    w.block(st);
    return 0;
  };
  auto success = [&](int v) {
    return [&, v] {
      stragglers_running.wait();
      return v;
    };
  };
  auto r = quorum::quorum_parallel({.quorum = 2, .timeout = 1h}, success(1), straggler, success(3),
                                   straggler);
  CHECK(r.decision == decision::quorum_met);
  CHECK(r.successes() == 2);
  CHECK(w.stopped.load() == 2);
  for (std::size_t i : {1u, 3u}) {
    CHECK(r.branches[i].status == branch_status::cancelled);
    CHECK(r.branches[i].late);
    CHECK(r.branches[i].attempts == 1);
    CHECK(r.branches[i].error != nullptr);
  }
}

TEST_CASE("the deadline decides timed_out when it passes on the execution's clock") {
  quorum::manual_clock clk;
  test_support::stop_waiter w;
  std::latch running(2);
  auto body = [&](std::stop_token st) {
    running.count_down();
    w.block(st);
  };
  auto ex = quorum::start({.quorum = 2, .timeout = 10s, .clock = &clk}, body, body, [] {});
  running.wait();
  clk.advance(10s - 1ns);
  CHECK_FALSE(ex.decided());
  clk.advance(1ns);  // exactly at the deadline: fired on this thread
  CHECK(ex.decided());
  auto r = ex.get();
  CHECK(r.decision == decision::timed_out);
  CHECK_FALSE(r.decided_by.has_value());
  CHECK(w.stopped.load() == 2);
  REQUIRE(r.deadline.has_value());
  CHECK(r.decided_at == *r.deadline);
  CHECK(quorum::to_json(r).find("\"timeout_occurred\":true") != std::string::npos);
}

TEST_CASE("the earlier of timeout and deadline applies") {
  quorum::manual_clock clk;
  test_support::stop_waiter w;
  auto ex = quorum::start({.quorum = 1, .timeout = 10s, .deadline = clk.now() + 3s, .clock = &clk},
                          [&](std::stop_token st) { w.block(st); });
  clk.advance(3s);
  CHECK(ex.get().decision == decision::timed_out);
}

TEST_CASE("a deadline already past is not an error: it decides timed_out and runs nothing") {
  quorum::manual_clock clk;
  std::atomic<int> ran{0};
  auto body = [&] { ++ran; };
  SUBCASE("deadline in the past") {
    auto r = quorum::quorum_parallel({.quorum = 1, .deadline = clk.now() - 1s, .clock = &clk}, body, body);
    CHECK(r.decision == decision::timed_out);
    CHECK(r.branches[0].status == branch_status::cancelled);
    CHECK(r.branches[1].status == branch_status::cancelled);
  }
  SUBCASE("zero timeout") {
    auto r = quorum::quorum_parallel({.quorum = 1, .timeout = 0s, .clock = &clk}, body, body);
    CHECK(r.decision == decision::timed_out);
  }
  CHECK(ran.load() == 0);
}

TEST_CASE("cancel decides cancelled, stops the branches, and a second cancel changes nothing") {
  test_support::stop_waiter w;
  std::latch running(2);
  auto body = [&](std::stop_token st) {
    running.count_down();
    w.block(st);
  };
  auto ex = quorum::start({.quorum = 2}, body, body);
  running.wait();
  ex.cancel();
  ex.cancel();
  auto r = ex.get();
  CHECK(r.decision == decision::cancelled);
  CHECK(w.stopped.load() == 2);
  CHECK(r.successes() == 0);
  CHECK(r.failures() == 0);
  CHECK(r.late() == 2);
}

TEST_CASE("cancel after the decision does not change it") {
  quorum::memory_store store;
  auto ex = quorum::start(store, quorum::inline_executor{}, {.quorum = 1}, [] { return 1; });
  CHECK(ex.decided());
  ex.cancel();
  CHECK(ex.get().decision == decision::quorum_met);
}

TEST_CASE("exactly one decision when successes and failures race, and it matches the outcomes") {
  // Every branch waits at a barrier, then succeeds or fails at once: the records race.
  std::mt19937 rng(20261125);
  for (int round = 0; round < 200; ++round) {
    const std::size_t n = 2 + rng() % 7;
    const std::size_t k = 1 + rng() % n;
    std::vector<bool> succeed(n);
    for (std::size_t i = 0; i < n; ++i) succeed[i] = rng() % 2;
    std::barrier sync(static_cast<std::ptrdiff_t>(n));
    std::vector<std::function<int()>> fs;
    for (std::size_t i = 0; i < n; ++i)
      fs.push_back([&, i]() -> int {
        sync.arrive_and_wait();
        if (!succeed[i]) throw std::runtime_error("branch failed");
        return static_cast<int>(i);
      });
    quorum::memory_store store;
    std::size_t decided_events = 0;
    std::mutex m;
    quorum::options o{.quorum = k, .timeout = 1h};
    o.observer = [&](const quorum::event& e) {
      if (e.kind == quorum::event_kind::decided) {
        std::lock_guard lk(m);
        ++decided_events;
      }
    };
    auto ex = quorum::start(store, o, fs);
    ex.join();
    auto rec = ex.record();
    auto r = ex.get();
    CHECK(decided_events == 1);
    REQUIRE(rec.decision.has_value());
    CHECK(*rec.decision == r.decision);
    std::size_t total_ok = 0;
    for (bool s : succeed) total_ok += s ? 1 : 0;
    if (r.decision == decision::quorum_met) {
      CHECK(rec.successes_at_decision >= k);
      CHECK(r.successes() >= k);
      CHECK(total_ok >= k);
    } else {
      REQUIRE(r.decision == decision::unreachable);
      CHECK(rec.failures_at_decision > n - k);
      CHECK(r.failures() > n - k);
      CHECK(total_ok < k);
    }
    // Every branch ran and was recorded exactly once.
    std::size_t recorded = 0;
    for (const auto& b : rec.branches) recorded += b.outcome ? 1 : 0;
    CHECK(recorded == n);
  }
}
