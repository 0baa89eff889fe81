// The real clock's timer thread (quorum::steady_clock::schedule): deadlines fire at their own
// time whatever else is queued. Regression tests for a timer thread that slept through the
// wake-up of a newly scheduled, earlier deadline.
#include <doctest/doctest.h>

#include <chrono>
#include <quorum/quorum.hpp>
#include <semaphore>

using namespace std::chrono_literals;

// The guard bounds below only keep a broken timer thread from hanging the run: with the fault
// the callbacks would come an hour late, or never.

TEST_CASE("a deadline scheduled before an hour-later one fires without waiting for it") {
  auto& clk = quorum::steady_clock::instance();
  std::binary_semaphore fired(0);
  auto warm = clk.schedule(clk.now(), [&]() noexcept { fired.release(); });
  REQUIRE(fired.try_acquire_for(60s));  // the thread runs, and goes back to waiting
  auto late = clk.schedule(clk.now() + 1h, []() noexcept {});
  auto soon = clk.schedule(clk.now(), [&]() noexcept { fired.release(); });
  CHECK(fired.try_acquire_for(60s));
}

TEST_CASE("a deadline scheduled on an idle timer thread fires") {
  auto& clk = quorum::steady_clock::instance();
  std::binary_semaphore fired(0);
  auto first = clk.schedule(clk.now(), [&]() noexcept { fired.release(); });
  REQUIRE(fired.try_acquire_for(60s));  // the queue is empty again: the thread goes idle
  auto second = clk.schedule(clk.now(), [&]() noexcept { fired.release(); });
  CHECK(fired.try_acquire_for(60s));
}

TEST_CASE("a timeout decides timed_out after an earlier execution left a later deadline") {
  auto block = [](std::stop_token st) {
    std::binary_semaphore never(0);
    std::stop_callback wake(st, [&] { never.release(); });
    never.acquire();
  };
  auto first = quorum::quorum_parallel(
      {.quorum = 1, .timeout = 1h}, [] {}, block);
  CHECK(first.decision == quorum::decision::quorum_met);
  auto second = quorum::quorum_parallel({.quorum = 1, .timeout = 1ms}, block, block);
  CHECK(second.decision == quorum::decision::timed_out);
}
