// Clocks: manual time for tests, timers that fire once or never, sleeps that a stop ends.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <ratio>
#include <latch>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <vector>

#include <quorum/quorum.hpp>

#include "support.hpp"

using namespace std::chrono_literals;

TEST_CASE("manual_clock fires due timers in time order on the advancing thread") {
  quorum::manual_clock clk;
  std::vector<int> fired;
  auto t2 = clk.schedule(clk.now() + 2s, [&]() noexcept { fired.push_back(2); });
  auto t1 = clk.schedule(clk.now() + 1s, [&]() noexcept { fired.push_back(1); });
  auto t3 = clk.schedule(clk.now() + 3s, [&]() noexcept { fired.push_back(3); });
  clk.advance(2s);
  CHECK(fired == std::vector<int>{1, 2});
  clk.advance(1s);
  CHECK(fired == std::vector<int>{1, 2, 3});
  clk.advance(10s);
  CHECK(fired.size() == 3);  // each fires once
}

TEST_CASE("a cancelled or destroyed timer never fires") {
  quorum::manual_clock clk;
  int fired = 0;
  auto a = clk.schedule(clk.now() + 1s, [&]() noexcept { ++fired; });
  { auto b = clk.schedule(clk.now() + 1s, [&]() noexcept { ++fired; }); }
  a.cancel();
  clk.advance(5s);
  CHECK(fired == 0);
}

TEST_CASE("manual_clock never moves backwards") {
  quorum::manual_clock clk;
  auto t = clk.now();
  clk.set(t - 1s);
  CHECK(clk.now() == t);
}

TEST_CASE("sleep_until on a manual_clock wakes when time reaches it, or returns false on stop") {
  quorum::manual_clock clk;
  std::stop_source stop;
  std::atomic<int> woke_by_time{0}, woke_by_stop{0};
  std::jthread a([&] { woke_by_time += clk.sleep_until(clk.now() + 5s, stop.get_token()) ? 1 : 0; });
  clk.wait_for_sleepers(1);
  clk.advance(5s);
  a.join();
  CHECK(woke_by_time.load() == 1);
  std::jthread b([&] { woke_by_stop += clk.sleep_until(clk.now() + 5s, stop.get_token()) ? 0 : 1; });
  clk.wait_for_sleepers(1);
  stop.request_stop();
  b.join();
  CHECK(woke_by_stop.load() == 1);
  CHECK(clk.sleepers() == 0);
}

// One advance() over several due times used to set the time to the step's end before running
// anything: every timer saw the end time, and a deadline was decided (and shown) there, 1 s
// after a 50 ms timeout (found by a user trial). Time now moves to each due time in turn.
TEST_CASE("a long advance runs each timer at its own time, in order") {
  quorum::manual_clock clk;
  const auto t0 = clk.now();
  std::vector<quorum::clock::duration> seen;
  quorum::timer added;
  auto late = clk.schedule(t0 + 25ms, [&]() noexcept { seen.push_back(clk.now() - t0); });
  auto early = clk.schedule(t0 + 10ms, [&]() noexcept {
    seen.push_back(clk.now() - t0);
    // A timer that a step adds on the way is stepped to as well.
    added = clk.schedule(t0 + 15ms, [&]() noexcept { seen.push_back(clk.now() - t0); });
  });
  clk.advance(30ms);
  CHECK(seen == std::vector<quorum::clock::duration>{10ms, 15ms, 25ms});
  CHECK(clk.now() - t0 == 30ms);
}

// The first version of the steps looked only past the time for the next timer: a timer
// already due (left queued by an advance nested in another timer's callback) made the move jump
// to its target, running every timer on the way there (found by a review).
TEST_CASE("an advance nested in a timer's callback skips no due time of the outer one") {
  quorum::manual_clock clk;
  const auto t0 = clk.now();
  std::vector<quorum::clock::duration> seen;
  auto nests = clk.schedule(t0 + 10ms, [&]() noexcept { clk.advance(1ms); });
  auto same_time = clk.schedule(t0 + 10ms, [&]() noexcept { seen.push_back(clk.now() - t0); });
  auto later = clk.schedule(t0 + 30ms, [&]() noexcept { seen.push_back(clk.now() - t0); });
  clk.advance(100ms);
  CHECK(seen == std::vector<quorum::clock::duration>{10ms, 30ms});
  CHECK(clk.now() - t0 == 101ms);
}

TEST_CASE("a deadline passed by a long advance is decided at the deadline") {
  quorum::manual_clock clk;
  quorum::options o{.quorum = 1, .timeout = 50ms};
  o.clock = &clk;
  auto h = quorum::start(o, [](quorum::branch_context& ctx) {
    ctx.sleep_for(24h);  // on the clock: until the stop request
    return 1;
  });
  clk.wait_for_sleepers(1);
  clk.advance(1s);
  const auto r = h.get();
  CHECK(r.decision == quorum::decision::timed_out);
  CHECK(r.decided_at - r.started == 50ms);
}

// A sleeper woken by a stop request kept counting until its thread ran again, so that
// wait_for_sleepers could return on a sleep already over (found by a user trial: 197 runs in
// 1,000 after a cancel()). The stop's callback now takes it off the count, before
// request_stop() returns.
TEST_CASE("a sleeper counts no more from the moment its stop is requested") {
  quorum::manual_clock clk;
  std::stop_source stop;
  std::jthread sleeper([&] { (void)clk.sleep_until(clk.now() + 1h, stop.get_token()); });
  clk.wait_for_sleepers(1);
  stop.request_stop();
  CHECK(clk.sleepers() == 0);
}

TEST_CASE("wait_for_sleepers with a limit returns false instead of waiting for ever") {
  quorum::manual_clock clk;
  CHECK_FALSE(clk.wait_for_sleepers(1, 1ms));  // nobody sleeps: a test fails, not hangs
  std::stop_source stop;
  std::jthread sleeper([&] { (void)clk.sleep_until(clk.now() + 1h, stop.get_token()); });
  CHECK(clk.wait_for_sleepers(1, 1h));
  stop.request_stop();
}

TEST_CASE("two advances at once move the time by both") {
  quorum::manual_clock clk;
  const auto t0 = clk.now();
  std::latch go(2);
  {
    std::jthread a([&] { go.arrive_and_wait(); clk.advance(10ms); });
    std::jthread b([&] { go.arrive_and_wait(); clk.advance(10ms); });
  }
  CHECK(clk.now() - t0 == 20ms);
}

TEST_CASE("the steady clock's timer thread runs a due callback, and cancel waits for one in flight") {
  auto& clk = quorum::steady_clock::instance();
  std::latch in_callback(1);
  test_support::gate finish;
  std::atomic<bool> done{false};
  auto t = clk.schedule(clk.now(), [&]() noexcept {
    in_callback.count_down();
    finish.wait();
    done = true;
  });
  in_callback.wait();
  std::atomic<bool> cancel_returned{false};
  std::jthread canceller([&] {
    t.cancel();
    cancel_returned = true;
    CHECK(done.load());  // cancel returned only after the callback ended
  });
  finish.open();
  canceller.join();
  CHECK(cancel_returned.load());
}

TEST_CASE("the steady clock's sleep ends at once on a stop request") {
  std::stop_source stop;
  stop.request_stop();
  auto& clk = quorum::steady_clock::instance();
  CHECK_FALSE(clk.sleep_until(clk.now() + 1h, stop.get_token()));
  std::stop_source never;
  CHECK(clk.sleep_until(clk.now() - 1s, never.get_token()));  // already due
}

TEST_CASE("adding a duration to a time point saturates instead of wrapping around") {
  using quorum::detail::saturating_add;
  using tp = quorum::clock::time_point;
  const tp zero{}, late = tp::max() - 1s;
  CHECK(saturating_add(zero, std::chrono::nanoseconds::max()) == tp::max());
  CHECK(saturating_add(zero, std::chrono::hours::max()) == tp::max());
  CHECK(saturating_add(late, 2s) == tp::max());
  CHECK(saturating_add(zero, -std::chrono::hours::max()) == tp::min());
  CHECK(saturating_add(zero, 1500ms) == zero + 1500ms);  // in range: exact
  CHECK(saturating_add(tp{} + 7ns, 3ns) == tp{} + 10ns);
  // A period whose conversion to nanoseconds overflows an integer product: 6e12 / 1024 s.
  const std::chrono::duration<long long, std::ratio<1, 1024>> odd(6'000'000'000'000);
  const auto got = saturating_add(zero, odd).time_since_epoch().count();
  CHECK(got > 5'859'375'000'000'000'000 - 1'000'000);
  CHECK(got < 5'859'375'000'000'000'000 + 1'000'000);
  // Floating durations: infinity saturates, NaN adds nothing.
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(saturating_add(zero, std::chrono::duration<double>(inf)) == tp::max());
  CHECK(saturating_add(zero, std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN())) ==
        zero);
}

TEST_CASE("a timer's callback may own another timer of the same clock") {
  // Regression (cold review): the queue destroyed a callback (after it ran, or when its timer
  // was cancelled) under its own lock; a callback that held the last reference to another
  // timer of that clock (or to an execution armed on it) then cancelled that timer from its
  // destructor, relocked the queue and deadlocked. Run under `timeout` to see the hang.
  quorum::manual_clock clk;
  int fired = 0;
  SUBCASE("the callback ran") {
    auto other = std::make_shared<quorum::timer>(clk.schedule(clk.now() + 2s, [&]() noexcept { fired += 10; }));
    auto t = clk.schedule(clk.now() + 1s, [&, other]() noexcept { ++fired; });
    other.reset();  // the callback holds the only reference
    clk.advance(1s);  // runs the callback, then drops it: cancels `other`
    CHECK(fired == 1);
    clk.advance(5s);
    CHECK(fired == 1);  // `other` was cancelled with the callback that held it
  }
  SUBCASE("the timer was cancelled before it ran") {
    auto other = std::make_shared<quorum::timer>(clk.schedule(clk.now() + 2s, [&]() noexcept { fired += 10; }));
    auto t = clk.schedule(clk.now() + 1s, [&, other]() noexcept { ++fired; });
    other.reset();
    t.cancel();  // drops the callback: cancels `other`
    clk.advance(5s);
    CHECK(fired == 0);
  }
}

TEST_CASE("manual_clock advances by any duration without wrapping around") {
  // Regression (cold review): advance(d) computed now() + d unchecked: duration::max() (run
  // every timer) overflowed into the past, and the clock did not move at all.
  quorum::manual_clock clk;
  int fired = 0;
  auto t = clk.schedule(clk.now() + 24h, [&]() noexcept { ++fired; });
  clk.advance(quorum::clock::duration::max());
  CHECK(clk.now() == quorum::clock::time_point::max());
  CHECK(fired == 1);
  clk.advance(1s);  // at the end of time already: stays there
  CHECK(clk.now() == quorum::clock::time_point::max());
}

TEST_CASE("wait_for_sleepers after an advance waits for the next sleep, not the one just ended") {
  // A retry test: wait for the first retry wait, advance past it, wait for the second. The
  // woken sleeper still counted until its thread ran, so the second rendezvous often returned
  // at once, the second advance came before the second wait began, and get() hung (found by
  // a user trial: 14 hangs in 20 runs).
  for (int round = 0; round < 50; ++round) {
    quorum::manual_clock clk;
    quorum::options o{.quorum = 1};
    o.clock = &clk;
    o.retry.max_attempts = 3;
    o.retry.interval = 100ms;
    o.retry.backoff_rate = 2.0;
    auto ex = quorum::start(o, [](quorum::branch_context& ctx) {
      if (ctx.attempt() < 3) throw std::runtime_error("not yet");
      return static_cast<int>(ctx.attempt());
    });
    clk.wait_for_sleepers(1);
    CHECK(clk.sleepers() == 1);
    clk.advance(100ms);  // from here the first sleeper counts no more, run or not
    clk.wait_for_sleepers(1);
    clk.advance(200ms);
    auto r = ex.get();
    REQUIRE(r.decision == quorum::decision::quorum_met);
    CHECK(r.branches[0].attempts == 3);
  }
}
