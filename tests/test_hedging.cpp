// Hedging (options.hedge_delay): branch i starts i * delay after the execution began, less one
// delay for each failure recorded so far, unless the decision came first; then it never starts
// and is reported cancelled.
//
// Everything runs on a quorum::manual_clock: a branch waiting for its turn is a sleeper on that
// clock, so the test meets it with wait_for_sleepers() and moves time exactly to its turn.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <quorum/quorum.hpp>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

// Counts events the test waits for (atomic wait, no polling).
class counter {
 public:
  void bump() {
    n_.fetch_add(1);
    n_.notify_all();
  }
  [[nodiscard]] int get() const { return n_.load(); }
  void wait_for(int want) const {
    for (int n = n_.load(); n < want; n = n_.load()) n_.wait(n);
  }

 private:
  std::atomic<int> n_{0};
};

using test_support::gate;

// Bumps `c` each time a branch's outcome has been recorded in the store (the observer's
// succeeded/failed events come right after the record), so the test can fix the order of records.
void count_records(quorum::options& o, counter& c) {
  o.observer = [&c](const quorum::event& e) {
    if (e.kind == quorum::event_kind::succeeded || e.kind == quorum::event_kind::failed) c.bump();
  };
}

template <class T>
void check_never_started(const quorum::branch_result<T>& b) {
  CHECK(b.status == quorum::branch_status::cancelled);
  CHECK(b.attempts == 0);
  CHECK_FALSE(b.started.has_value());
  CHECK_FALSE(b.late);
}

}  // namespace

TEST_CASE("branch i starts exactly i * hedge_delay after the start, not a nanosecond earlier") {
  quorum::manual_clock clk;
  counter started, recorded;
  quorum::options o{.policy = quorum::all(), .hedge_delay = 10ms};
  o.clock = &clk;
  count_records(o, recorded);
  auto f = [&] { started.bump(); };
  auto ex = quorum::start(o, f, f, f);
  const auto t0 = clk.now();

  recorded.wait_for(1);      // branch 0 starts at once
  clk.wait_for_sleepers(2);  // branches 1 and 2 wait for their turn
  clk.advance(10ms - 1ns);
  CHECK(started.get() == 1);
  CHECK(clk.sleepers() == 2);
  clk.advance(1ns);
  recorded.wait_for(2);  // branch 1's turn; branch 2 is the one sleeper left
  clk.wait_for_sleepers(1);
  clk.advance(10ms - 1ns);
  CHECK(started.get() == 2);
  CHECK(clk.sleepers() == 1);
  clk.advance(1ns);

  auto r = ex.get();
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(r.decided_by == std::optional<std::size_t>{2});
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    REQUIRE(r.branches[i].started.has_value());
    CHECK(*r.branches[i].started == t0 + i * 10ms);
  }
}

TEST_CASE("with K=1 a fast first branch means the hedged ones never start and are cancelled") {
  quorum::manual_clock clk;
  std::atomic<int> calls{0};
  quorum::options o{.quorum = 1, .hedge_delay = 50ms};
  o.clock = &clk;
  auto f = [&](quorum::branch_context& ctx) {
    ++calls;
    return static_cast<int>(ctx.index());
  };
  const auto t0 = clk.now();
  auto r = quorum::quorum_parallel(o, f, f, f);  // the clock never moves
  CHECK(clk.now() == t0);
  CHECK(calls == 1);
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(r.decided_by == std::optional<std::size_t>{0});
  CHECK(r.branches[0].value == 0);
  check_never_started(r.branches[1]);
  check_never_started(r.branches[2]);
}

TEST_CASE("with K=1 a slow first branch is hedged: the second starts at the delay and wins") {
  quorum::manual_clock clk;
  gate slow;  // never opened: replica 0 answers only when told to stop
  counter asked;
  quorum::options o{.quorum = 1, .hedge_delay = 10ms};
  o.clock = &clk;
  auto ex = quorum::start(
      o,
      [&](quorum::branch_context& ctx) -> std::string {
        asked.bump();
        slow.wait(ctx.stop_token());
        ctx.throw_if_stop_requested();
        return "slow";
      },
      [] { return std::string("fast"); }, [] { return std::string("third"); });
  asked.wait_for(1);         // branch 0 started and blocks on its gate
  clk.wait_for_sleepers(2);  // branches 1 and 2 wait for their turn
  clk.advance(10ms);
  auto r = ex.get();
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(r.decided_by == std::optional<std::size_t>{1});
  CHECK(r.branches[1].value == "fast");
  CHECK(r.decided_at - r.started == 10ms);
  CHECK(r.branches[0].status == quorum::branch_status::cancelled);  // stopped, late
  CHECK(r.branches[0].late);
  check_never_started(r.branches[2]);
}

TEST_CASE("K>1: a hedged quorum read starts only as many replicas as it needs") {
  quorum::manual_clock clk;
  counter started, recorded;
  quorum::options o{.quorum = 2, .hedge_delay = 10ms};
  o.clock = &clk;
  count_records(o, recorded);
  auto read = [&](quorum::branch_context& ctx) {
    started.bump();
    return 100 + static_cast<int>(ctx.index());
  };
  auto ex = quorum::start(o, read, read, read, read);
  recorded.wait_for(1);  // replica 0 answered
  clk.wait_for_sleepers(3);
  clk.advance(10ms);  // replica 1's turn: with replica 0 that makes two
  auto r = ex.get();
  CHECK(started.get() == 2);
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(r.decided_by == std::optional<std::size_t>{1});
  CHECK(r.branches[0].value == 100);
  CHECK(r.branches[1].value == 101);
  CHECK(r.decided_at - r.started == 10ms);
  check_never_started(r.branches[2]);
  check_never_started(r.branches[3]);
}

TEST_CASE("K>1: a failed replica gives up its turn at once: the next one starts without waiting") {
  quorum::manual_clock clk;
  counter recorded;
  quorum::options o{.quorum = 2, .hedge_delay = 10ms};
  o.clock = &clk;
  count_records(o, recorded);
  auto ex = quorum::start(
      o, []() -> int { throw std::runtime_error("replica 0 is down"); }, [] { return 1; },
      [] { return 2; });
  recorded.wait_for(2);  // replica 0 failed, and replica 1 answered with no time passing
  CHECK_FALSE(ex.decided());
  clk.advance(10ms - 1ns);  // replica 2's turn is now one delay after the start, not two
  CHECK_FALSE(ex.decided());
  clk.advance(1ns);
  auto r = ex.get();
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(r.decided_by == std::optional<std::size_t>{2});
  CHECK(r.decided_at - r.started == 10ms);
  CHECK(r.failures() == 1);
  REQUIRE(r.branches[1].started.has_value());
  CHECK(*r.branches[1].started == r.started);
}

TEST_CASE("K=1: a replica that fails fast is hedged at once, not after the delay") {
  quorum::manual_clock clk;
  quorum::options o{.quorum = 1, .hedge_delay = 50ms};
  o.clock = &clk;
  const auto t0 = clk.now();
  auto r = quorum::quorum_parallel(
      o, []() -> std::string { throw std::runtime_error("connection refused"); },
      [] { return std::string("from b"); }, [] { return std::string("from c"); });
  CHECK(clk.now() == t0);  // nobody moved the clock: no turn waited for its delay
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(r.decided_by == std::optional<std::size_t>{1});
  CHECK(r.branches[1].value == "from b");
  check_never_started(r.branches[2]);
}

TEST_CASE("each failure brings every turn still to come forward by one delay") {
  // N = 4, K = 1, delay 10 ms: turns at 0, 10, 20 and 30 ms. Replica 0 hangs. Replica 1 fails at
  // its turn (10 ms): replica 2's turn moves from 20 to 10 ms (it starts at once) and replica
  // 3's from 30 to 20 ms. Replica 2 fails at 15 ms: replica 3's turn moves to 10 ms, and it
  // starts at once, at 15 ms.
  quorum::manual_clock clk;
  gate hang, fail_two;
  counter two_started;
  quorum::options o{.quorum = 1, .hedge_delay = 10ms};
  o.clock = &clk;
  auto ex = quorum::start(
      o,
      [&](quorum::branch_context& ctx) -> int {
        hang.wait(ctx.stop_token());
        ctx.throw_if_stop_requested();
        return 0;
      },
      []() -> int { throw std::runtime_error("1 is down"); },
      [&]() -> int {
        two_started.bump();
        fail_two.wait();
        throw std::runtime_error("2 is down");
      },
      [] { return 3; });
  const auto t0 = clk.now();
  clk.wait_for_sleepers(3);  // replicas 1, 2 and 3 wait for their turns
  clk.advance(10ms);         // replica 1's turn: it fails, and replica 2 starts at once
  two_started.wait_for(1);
  clk.advance(5ms);  // 15 ms: replica 3's turn (20 ms) has not come
  CHECK_FALSE(ex.decided());
  fail_two.open();  // replica 2 fails at 15 ms: replica 3's turn (10 ms) is past
  auto r = ex.get();
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(r.decided_by == std::optional<std::size_t>{3});
  CHECK(r.failures() == 2);
  REQUIRE(r.branches[2].started.has_value());
  CHECK(*r.branches[2].started == t0 + 10ms);
  REQUIRE(r.branches[3].started.has_value());
  CHECK(*r.branches[3].started == t0 + 15ms);
  CHECK(r.branches[0].status == quorum::branch_status::cancelled);
}

TEST_CASE("a branch that retries brings the turns forward once, when its last attempt fails") {
  // Its attempts fail at once (no retry interval), three in a row: replica 1's turn comes at once
  // (one failure), replica 2's at 10 ms (not at once, as three failures would have it).
  quorum::manual_clock clk;
  gate hang;
  counter one_started;
  std::atomic<int> attempts{0};
  quorum::options o{.quorum = 1, .hedge_delay = 10ms};
  o.clock = &clk;
  o.retry.max_attempts = 3;
  auto ex = quorum::start(
      o,
      [&]() -> int {
        ++attempts;
        throw std::runtime_error("0 is down");
      },
      [&](quorum::branch_context& ctx) -> int {
        one_started.bump();
        hang.wait(ctx.stop_token());
        ctx.throw_if_stop_requested();
        return 1;
      },
      [] { return 2; });
  one_started.wait_for(1);  // after replica 0's last attempt, with no time passing
  CHECK(attempts == 3);
  clk.advance(10ms);  // replica 2's turn (not passed yet if it counted one failure per attempt)
  auto r = ex.get();
  CHECK(r.decided_by == std::optional<std::size_t>{2});
  REQUIRE(r.branches[1].started.has_value());
  CHECK(*r.branches[1].started == r.started);
  REQUIRE(r.branches[2].started.has_value());
  CHECK(*r.branches[2].started - r.started == 10ms);
  CHECK(r.branches[0].attempts == 3);
}

TEST_CASE("on inline_executor, a failure brings the next turn forward too") {
  // Nobody advances the clock: a turn that waited for its delay would block this test forever.
  quorum::manual_clock clk;
  quorum::memory_store store;
  int ran = 0;
  auto r = quorum::quorum_parallel(
      store, quorum::inline_executor{}, {.quorum = 1, .hedge_delay = 10ms, .clock = &clk},
      [&]() -> int {
        ++ran;
        throw std::runtime_error("down");
      },
      [&] { return ++ran; }, [&] { return ++ran; });
  CHECK(r.ok());
  CHECK(ran == 2);
  CHECK(r.decided_by == std::optional<std::size_t>{1});
  check_never_started(r.branches[2]);
}

TEST_CASE("an early unreachable decision cancels every turn still to come") {
  quorum::manual_clock clk;
  std::atomic<int> calls{0};
  quorum::options o{.policy = quorum::all(), .hedge_delay = 1s};
  o.clock = &clk;
  auto ex = quorum::start(
      o,
      [&] {
        ++calls;
        throw std::runtime_error("down");
      },
      [&] { ++calls; }, [&] { ++calls; });
  auto r = ex.get();  // no time passes
  CHECK(calls == 1);
  CHECK(r.decision == quorum::decision::unreachable);
  check_never_started(r.branches[1]);
  check_never_started(r.branches[2]);
}

namespace {
// A manual_clock that holds the publication of a decision while a woken turn is free to start.
// Its sleep_until links a callback to the sleeper's stop token: the callback runs on the waking
// thread, inside the wake, so `woken` is set before the wake returns. now() on `holder` (the
// thread of the branch whose failure decides) then blocks until `asked` counts a start: publish()
// reads the time for decided_at before it sets the decided bit, so a turn woken before the
// decision is published has all the time it needs to start, and one woken by the decision (or
// not at all) holds nothing up.
struct clock_holding_the_decision final : quorum::clock {
  quorum::manual_clock inner;
  std::atomic<bool> woken{false};
  std::atomic<std::thread::id> holder{};
  counter* asked = nullptr;
  [[nodiscard]] time_point now() const noexcept override {
    if (woken.load() && holder.load() == std::this_thread::get_id()) asked->wait_for(1);
    return inner.now();
  }
  [[nodiscard]] quorum::timer schedule(time_point at, std::function<void()> fn) override {
    return inner.schedule(at, std::move(fn));
  }
  bool sleep_until(time_point at, std::stop_token st) override {
    std::stop_callback cb(st, [this] { woken = true; });
    return inner.sleep_until(at, st);
  }
};

// A memory_store that cannot record branch 0's outcome.
struct store_failing_branch_0 {
  using handle = quorum::memory_store::handle;
  quorum::memory_store inner;
  handle open(const quorum::execution_spec& s) { return inner.open(s); }
  quorum::tally record(handle h, std::size_t b, quorum::outcome o) {
    if (b == 0) throw std::runtime_error("store unavailable");
    return inner.record(h, b, o);
  }
  quorum::tally expire(handle h) { return inner.expire(h); }
  quorum::tally cancel(handle h) { return inner.cancel(h); }
  quorum::execution_record snapshot(handle h) { return inner.snapshot(h); }
  void close(handle h) { inner.close(h); }
};
static_assert(quorum::store<store_failing_branch_0>);
}  // namespace

TEST_CASE("a failure that decides wakes no turn before the decision is published") {
  // Regression: the failure brought the next turn forward (and woke it) before its own decision
  // was published; the woken turn saw no decision yet and started, after the store had decided
  // unreachable (now and then in "an early unreachable decision cancels every turn still to
  // come"; every time here, where the decision is held until the woken turn starts).
  clock_holding_the_decision clk;
  gate fail;
  counter asked;
  clk.asked = &asked;
  quorum::options o{.policy = quorum::all(), .hedge_delay = 10ms};
  o.clock = &clk;
  auto ex = quorum::start(
      o,
      [&] {
        clk.holder = std::this_thread::get_id();
        fail.wait();
        throw std::runtime_error("down");
      },
      [&] { asked.bump(); });
  clk.inner.wait_for_sleepers(1);  // branch 1 waits for its turn
  fail.open();                     // branch 0 fails, and its failure decides unreachable
  auto r = ex.get();
  CHECK(r.decision == quorum::decision::unreachable);
  CHECK(asked.get() == 0);
  check_never_started(r.branches[1]);
}

TEST_CASE("a failure the store could not record wakes no turn: the execution is cancelled") {
  // The same window: an outcome the store could not record cancels the execution, and a turn
  // woken by that failure before the cancel is published started a branch in a cancelled
  // execution.
  clock_holding_the_decision clk;
  store_failing_branch_0 store;
  gate fail;
  counter asked;
  clk.asked = &asked;
  quorum::options o{.quorum = 1, .hedge_delay = 10ms};
  o.clock = &clk;
  auto ex = quorum::start(
      store, o,
      [&]() -> int {
        clk.holder = std::this_thread::get_id();
        fail.wait();
        throw std::runtime_error("down");
      },
      [&] {
        asked.bump();
        return 1;
      });
  clk.inner.wait_for_sleepers(1);
  fail.open();
  ex.join();
  REQUIRE(ex.decided());
  CHECK(asked.get() == 0);
  CHECK_THROWS_WITH_AS(static_cast<void>(ex.get()), "store unavailable", std::runtime_error);
}

TEST_CASE("the deadline before a hedged turn: that branch never starts") {
  quorum::manual_clock clk;
  gate never;
  quorum::options o{.quorum = 1, .timeout = 5ms, .hedge_delay = 10ms};
  o.clock = &clk;
  auto ex = quorum::start(
      o,
      [&](quorum::branch_context& ctx) {
        never.wait(ctx.stop_token());
        ctx.throw_if_stop_requested();
      },
      [] {});
  clk.wait_for_sleepers(1);
  clk.advance(5ms);
  auto r = ex.get();
  CHECK(r.decision == quorum::decision::timed_out);
  CHECK(r.branches[0].status == quorum::branch_status::cancelled);
  check_never_started(r.branches[1]);
}

TEST_CASE("a turn that comes after the decision but before the stop request does not start") {
  // Regression: the decision is published (decided bit, then the `decided` event, then the stop
  // request). A hedged branch whose turn came while an observer held the `decided` event used
  // to see no stop request and start anyway.
  quorum::manual_clock clk;
  gate first;
  std::atomic<bool> release{false};
  std::atomic<int> second_calls{0};
  quorum::options o{.quorum = 1, .hedge_delay = 10ms};
  o.clock = &clk;
  o.observer = [&](const quorum::event& e) {
    if (e.kind == quorum::event_kind::decided) release.wait(false);
  };
  auto ex = quorum::start(
      o, [&](std::stop_token st) { first.wait(st); }, [&] { ++second_calls; });
  clk.wait_for_sleepers(1);  // branch 1 waits for its turn
  first.open();              // branch 0 succeeds and decides ...
  ex.wait();                 // ... the decision is visible; its publisher is held in the observer
  clk.advance(10ms);         // branch 1's turn comes now
  while (clk.sleepers() != 0) std::this_thread::yield();  // it has left its wait (no sleep)
  release = true;
  release.notify_all();
  auto r = ex.get();
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(second_calls == 0);
  check_never_started(r.branches[1]);
}

TEST_CASE("a hedge delay too large to add to the clock waits forever instead of wrapping") {
  // Regression: started + hedge_delay * i overflowed into the past and started the branch at
  // once. Branches 1 and 2 sleep on the clock if they do start, so the rendezvous is reached
  // either way and the call count tells.
  quorum::manual_clock clk;
  counter calls;
  quorum::options o{.policy = quorum::all(), .hedge_delay = std::chrono::nanoseconds::max() / 2};
  o.clock = &clk;
  auto f = [&](quorum::branch_context& ctx) {
    calls.bump();
    if (ctx.index() > 0) ctx.sleep_for(1h);
  };
  auto ex = quorum::start(o, f, f, f);
  calls.wait_for(1);  // branch 0 ran
  clk.wait_for_sleepers(2);
  ex.cancel();
  auto r = ex.get();
  CHECK(calls.get() == 1);
  CHECK(r.decision == quorum::decision::cancelled);
  check_never_started(r.branches[1]);
  check_never_started(r.branches[2]);
}

TEST_CASE("a negative hedge delay is rejected naming the field") {
  quorum::options o{.quorum = 1, .hedge_delay = -1ms};
  try {
    (void)quorum::quorum_parallel(o, [] {});
    FAIL("accepted");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("hedge_delay") != std::string::npos);
  }
}

TEST_CASE("on inline_executor, hedged branches after the decision are skipped without waiting") {
  // Nobody advances the clock: a branch that waited for its turn would block this test forever.
  quorum::manual_clock clk;
  quorum::memory_store store;
  int ran = 0;
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{},
                                   {.quorum = 1, .hedge_delay = 10ms, .clock = &clk},
                                   [&] { ++ran; }, [&] { ++ran; }, [&] { ++ran; });
  CHECK(r.ok());
  CHECK(ran == 1);
  CHECK(r.branches[0].status == quorum::branch_status::succeeded);
  check_never_started(r.branches[1]);
  check_never_started(r.branches[2]);
}

TEST_CASE("on inline_executor with a deadline, a branch blocking on its stop token is stopped by it") {
  quorum::manual_clock clk;
  quorum::memory_store store;
  std::jthread advancer([&] {
    clk.wait_for_sleepers(1);
    clk.advance(5s);
  });
  auto r = quorum::quorum_parallel(
      store, quorum::inline_executor{}, {.quorum = 1, .timeout = 5s, .clock = &clk},
      [&](quorum::branch_context& ctx) {
        ctx.sleep_for(1h);  // a sleeper on the manual clock, woken by the deadline's stop
        ctx.throw_if_stop_requested();
      });
  CHECK(r.decision == quorum::decision::timed_out);
  CHECK(r.branches[0].status == quorum::branch_status::cancelled);
}

namespace {
// A clock whose sleep_until cannot wait (it throws); time and timers are a manual_clock's.
struct clock_that_cannot_sleep final : quorum::clock {
  quorum::manual_clock inner;
  [[nodiscard]] time_point now() const noexcept override { return inner.now(); }
  [[nodiscard]] quorum::timer schedule(time_point at, std::function<void()> fn) override {
    return inner.schedule(at, std::move(fn));
  }
  bool sleep_until(time_point, std::stop_token) override { throw std::runtime_error("cannot sleep"); }
};
}  // namespace

TEST_CASE("a hedged branch whose wait for its turn fails starts at once instead of never") {
  // Regression (cold review): it was skipped without a record, so with K = N the execution
  // never decided: wait() blocked for ever and get() reported a `cancelled` nobody decided.
  clock_that_cannot_sleep clk;
  auto ex = quorum::start(quorum::options{.quorum = 2, .hedge_delay = 1ms, .clock = &clk},
                          [] { return 1; }, [] { return 2; });
  ex.join();
  REQUIRE(ex.decided());
  auto r = ex.get();
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(r.branches[1].status == quorum::branch_status::succeeded);
}
