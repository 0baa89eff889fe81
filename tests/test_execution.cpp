// The execution handle: wait() at the decision, join() for stragglers, get(), cancel(), and a
// destructor that leaves nothing running.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <quorum/quorum.hpp>

#include "support.hpp"

using namespace std::chrono_literals;
using quorum::branch_status;
using quorum::decision;

TEST_CASE("wait returns at the decision while a straggler that ignores its stop token still runs") {
  test_support::gate release;
  std::atomic<bool> straggler_done{false};
  std::latch straggler_running(1);
  auto ex = quorum::start(
      {.quorum = 2},
      [&] {
        straggler_running.count_down();
        release.wait();  // ignores its stop token
        straggler_done = true;
        return 0;
      },
      [&] {
        straggler_running.wait();
        return 1;
      },
      [&] {
        straggler_running.wait();
        return 2;
      });
  ex.wait();
  CHECK(ex.decided());
  CHECK_FALSE(straggler_done.load());
  release.open();
  ex.join();
  CHECK(straggler_done.load());
  auto r = ex.get();
  CHECK(r.decision == decision::quorum_met);
  CHECK(r.branches[0].status == branch_status::succeeded);
  CHECK(r.branches[0].late);
  CHECK(r.successes() == 2);  // the late success is never counted
  CHECK(r.values() == std::vector<int>{1, 2});  // nor is its value
  CHECK(r.counted_branches() == std::vector<std::size_t>{1, 2});  // which branches gave them
  CHECK(*r.branches[0].value == 0);
}

namespace {
template <class R>
concept has_values = requires(R r) { r.values(); };
}  // namespace

TEST_CASE("values() are the counted successes' values in branch order, copied or moved out") {
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(
      store, quorum::inline_executor{}, {.quorum = 2},
      [] { return std::make_unique<int>(1); },
      []() -> std::unique_ptr<int> { throw std::runtime_error("down"); },
      [] { return std::make_unique<int>(3); },
      [] { return std::make_unique<int>(4); });  // never runs: decided at branch 2
  REQUIRE(r.decision == decision::quorum_met);
  static_assert(!has_values<decltype(r)>, "a move-only value cannot be copied out");
  CHECK(r.counted_branches() == std::vector<std::size_t>{0, 2});  // not the failure, nor 3
  auto v = std::move(r).values();
  REQUIRE(v.size() == r.successes());
  CHECK(*v[0] == 1);
  CHECK(*v[1] == 3);
  CHECK(r.branches[0].value.has_value());  // moved from, still present
  CHECK(*r.branches[0].value == nullptr);

  auto copied = quorum::quorum_parallel({.quorum = 1}, [] { return std::string("a"); });
  CHECK(copied.values() == std::vector<std::string>{"a"});
  CHECK(copied.values() == std::vector<std::string>{"a"});  // a copy leaves them in place
  static_assert(!has_values<quorum::result<void>>);
  const auto none = quorum::quorum_parallel(quorum::inline_executor{}, {.quorum = 1},
                                            [] { throw std::runtime_error("down"); }, [] {});
  CHECK(none.counted_branches() == std::vector<std::size_t>{1});  // T = void: no values()
  static_assert(has_values<quorum::result<int>>);
}

TEST_CASE("with on_late = return_early, get returns at the decision and shows stragglers running") {
  test_support::gate release;
  std::latch straggler_running(1);
  auto ex = quorum::start(
      {.quorum = 1, .on_late = quorum::late_completion::return_early},
      [&] {
        straggler_running.count_down();
        release.wait();
        return 0;
      },
      [&] {
        straggler_running.wait();
        return 1;
      });
  auto early = ex.get();
  CHECK(early.decision == decision::quorum_met);
  CHECK(early.branches[0].status == branch_status::running);
  CHECK(early.branches[0].started.has_value());
  CHECK_FALSE(early.branches[0].value.has_value());
  CHECK(early.branches[1].status == branch_status::succeeded);
  release.open();
  ex.join();
  auto later = ex.get();  // callable again: now with the late outcome
  CHECK(later.branches[0].status == branch_status::succeeded);
  CHECK(later.branches[0].late);
  CHECK(*later.branches[0].value == 0);
}

TEST_CASE("the destructor of an undecided execution cancels it, stops the branches and joins them") {
  test_support::stop_waiter w;
  std::latch running(2);
  quorum::memory_store store;
  {
    auto ex = quorum::start(store, {.quorum = 2, .execution_id = "scoped"},
                            [&](std::stop_token st) {
                              running.count_down();
                              w.block(st);
                            },
                            [&](std::stop_token st) {
                              running.count_down();
                              w.block(st);
                            });
    running.wait();
    CHECK(store.size() == 1);
  }
  CHECK(w.stopped.load() == 2);  // both ended before the destructor returned
  CHECK(store.size() == 0);      // and the record was closed
}

TEST_CASE("wait_for returns false while undecided and true once decided") {
  quorum::manual_clock clk;
  test_support::stop_waiter w;
  std::latch running(1);
  auto ex = quorum::start({.quorum = 1, .timeout = 5s, .clock = &clk}, [&](std::stop_token st) {
    running.count_down();
    w.block(st);
  });
  running.wait();
  // wait_until a time that has already come on the manual clock: returns at once, undecided.
  CHECK_FALSE(ex.wait_until(clk.now()));
  clk.advance(5s);
  CHECK(ex.wait_for(1h));  // decided: returns without the clock moving
  CHECK(ex.get().decision == decision::timed_out);
}

TEST_CASE("a moved-from handle is empty and its operations say so") {
  auto ex = quorum::start({.quorum = 1}, [] { return 1; });
  auto other = std::move(ex);
  CHECK_FALSE(ex.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  CHECK(other.valid());
  CHECK_THROWS_AS(ex.wait(), std::logic_error);
  CHECK(other.get().decision == decision::quorum_met);
}

TEST_CASE("move-assigning over a running execution finishes the old one first") {
  test_support::stop_waiter w;
  std::latch running(1);
  auto a = quorum::start({.quorum = 1}, [&](std::stop_token st) -> int {
    running.count_down();
    w.block(st);
    return 0;
  });
  running.wait();
  a = quorum::start({.quorum = 1}, [] { return 2; });
  CHECK(w.stopped.load() == 1);
  CHECK(*a.get().branches[0].value == 2);
}

TEST_CASE("a result taken at the decision names every branch, whether it started or not") {
  quorum::manual_clock clk;  // never advanced: the hedged second branch never comes due
  auto ex = quorum::start({.quorum = 1,
                           .hedge_delay = 1h,
                           .on_late = quorum::late_completion::return_early,
                           .clock = &clk},
                          [] { return 1; }, [] { return 2; });
  auto early = ex.get();
  CHECK(early.decision == decision::quorum_met);
  CHECK(early.branches[0].name == "Process 1");
  CHECK(early.branches[1].name == "Process 2");  // not yet skipped, or skipped: named either way
  CHECK(early.branches[1].status != branch_status::succeeded);
  ex.join();
  auto final_result = ex.get();
  CHECK(final_result.branches[1].status == branch_status::cancelled);
  CHECK(final_result.branches[1].name == "Process 2");
}

TEST_CASE("get() && takes the result: a later get() throws std::logic_error") {
  quorum::memory_store store;
  auto ex = quorum::start(store, quorum::inline_executor{}, {.quorum = 2}, [] { return 1; },
                          [] { return 2; });
  auto copy = ex.get();  // an lvalue get() copies: the execution keeps its result
  auto taken = std::move(ex).get();
  CHECK(*copy.branches[1].value == 2);
  CHECK(*taken.branches[1].value == 2);
  CHECK(taken.branches[1].name == "Process 2");
  CHECK(taken.successes() == 2);
  // NOLINTNEXTLINE(bugprone-use-after-move): get() && leaves the handle valid, its result gone
  CHECK(ex.valid());
  CHECK_THROWS_AS((void)ex.get(), std::logic_error);
}

TEST_CASE("join() or get() of its own execution, called by one of its branches, throws, not hangs") {
  // Either would wait for every branch, the calling one included: it waited for itself.
  quorum::execution<int>* self = nullptr;
  std::latch go(1);  // declared first: the handle joins the branch before it goes
  std::string join_error, get_error;
  auto ex = quorum::start({.quorum = 1}, [&] {
    go.wait();  // self is set
    try {
      self->join();
    } catch (const std::logic_error& x) {
      join_error = x.what();
    }
    try {
      (void)self->get();
    } catch (const std::logic_error& x) {
      get_error = x.what();
    }
    return 1;
  });
  self = &ex;
  go.count_down();
  auto r = ex.get();
  CHECK(r.decision == decision::quorum_met);
  CHECK(join_error.find("join() from one of the execution's own branches") != std::string::npos);
  CHECK(get_error.find("get() from one of the execution's own branches") != std::string::npos);
}

TEST_CASE("a branch may wait for its own execution's decision and take a return_early result") {
  // Neither waits for the calling branch: another branch decides.
  quorum::execution<int>* self = nullptr;
  std::latch go(1);  // self is set
  std::optional<decision> seen;
  std::optional<branch_status> own_status;
  quorum::options o{.quorum = 1};
  o.on_late = quorum::late_completion::return_early;
  std::latch second_running(1);  // the first branch decides only once the second has started
  auto ex = quorum::start(o, [&] {
    second_running.wait();
    return 1;
  }, [&] {
    go.wait();
    second_running.count_down();
    self->wait();
    auto r = self->get();
    seen = r.decision;
    own_status = r.branches[1].status;
    return 2;
  });
  self = &ex;
  go.count_down();
  ex.join();  // from here, not from the branch: the branch's writes are visible after it
  CHECK(seen == decision::quorum_met);
  CHECK(own_status == branch_status::running);
  CHECK(ex.get().branches[1].status == branch_status::succeeded);
}

TEST_CASE("a second get() of values that cannot be copied throws instead of showing them moved-from") {
  // The first get() & moved them out; the second reported the branches `succeeded` with
  // moved-from values, null pointers here (found by a user trial).
  quorum::memory_store store;
  auto ex = quorum::start(store, quorum::inline_executor{}, {.quorum = 2},
                          [] { return std::make_unique<int>(1); },
                          [] { return std::make_unique<int>(2); });
  auto first = ex.get();
  REQUIRE(first.branches[1].value.has_value());
  CHECK(**first.branches[1].value == 2);
  CHECK_THROWS_WITH_AS((void)ex.get(), doctest::Contains("taken already"), std::logic_error);
}

TEST_CASE("join() and get() of one handle from two threads at once: one joins, both see the result") {
  // A request thread and a watchdog joining one handle: both ran the join's clean-up (the
  // pool batch's help, the timer's cancel, the owned executor's reset) at the same time, a use
  // after free under ASan in every run (found by a user trial). Now the first joins and the
  // other waits for it.
  quorum::pool_executor pool(2);
  test_support::stop_waiter waiter;
  for (int round = 0; round < 200; ++round) {
    CAPTURE(round);
    auto h = quorum::start(
        pool, {.quorum = 2, .timeout = std::chrono::hours(1)},
        [&](std::stop_token st) -> int { waiter.block(st); }, [] { return 1; },
        [] { return 2; });
    std::latch both(2);
    std::optional<quorum::result<int>> other;
    std::jthread watchdog([&] {
      both.arrive_and_wait();
      h.join();
      other = h.get();
    });
    both.arrive_and_wait();
    h.join();
    auto mine = h.get();
    watchdog.join();
    REQUIRE(other.has_value());
    CHECK(mine.decision == quorum::decision::quorum_met);
    CHECK(other->decision == mine.decision);
    CHECK(other->successes() == 2);
    CHECK(mine.branches[0].status == quorum::branch_status::cancelled);
    CHECK(other->branches[0].status == mine.branches[0].status);
  }
}

TEST_CASE("a second joiner helps run branches, as the first does") {
  // The pool's one worker is busy; the first joiner runs branch 0, which waits for branch 1;
  // only the second joiner can start branch 1. A first fix for two joiners let only the first
  // one help, and branch 0 then waited for ever (found by a review).
  quorum::pool_executor pool(1);
  std::latch blocker_running(1), release_worker(1);
  auto blocker = quorum::start(pool, {.quorum = 1}, [&] {
    blocker_running.count_down();
    release_worker.wait();
    return 0;
  });
  blocker_running.wait();  // the worker is taken until release_worker

  std::mutex m;
  std::condition_variable cv;
  bool sibling = false;
  std::latch first_branch_running(1);
  auto h = quorum::start(
      pool, {.quorum = 2},
      [&] {
        first_branch_running.count_down();
        std::unique_lock lk(m);
        // Bounded only so that a regression fails instead of hanging the suite.
        return cv.wait_for(lk, std::chrono::seconds(30), [&] { return sibling; }) ? 1 : -1;
      },
      [&] {
        {
          std::lock_guard lk(m);
          sibling = true;
        }
        cv.notify_all();
        return 2;
      });
  std::jthread first([&] { h.join(); });
  first_branch_running.wait();  // the first joiner runs branch 0 (the worker is busy)
  std::jthread second([&] { h.join(); });
  first.join();
  second.join();
  release_worker.count_down();
  auto r = h.get();
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(*r.branches[0].value == 1);  // not -1: branch 1 ran while branch 0 waited
  CHECK(r.successes() == 2);
  CHECK(blocker.get().ok());
}

TEST_CASE("options.cancel_on: a stop request on the caller's token cancels the execution") {
  test_support::stop_waiter w;
  auto blocked = [&](std::stop_token st) -> int { w.block(st); };
  std::stop_source outside;
  quorum::options o{.quorum = 2};
  o.cancel_on = outside.get_token();

  SUBCASE("while its branches run, on threads") {
    std::latch running(2);
    auto ex = quorum::start(o, [&](std::stop_token st) -> int {
      running.count_down();
      w.block(st);
    }, [&](std::stop_token st) -> int {
      running.count_down();
      w.block(st);
    });
    running.wait();
    CHECK_FALSE(ex.decided());
    outside.request_stop();
    auto r = ex.get();
    CHECK(r.decision == decision::cancelled);
    CHECK(w.stopped.load() == 2);
  }
  SUBCASE("while a branch runs on inline_executor, from another thread") {
    std::jthread requester;
    auto r = quorum::quorum_parallel(quorum::inline_executor{}, o, [&](std::stop_token st) -> int {
      requester = std::jthread([&] { outside.request_stop(); });
      w.block(st);  // the request must reach this branch's token: nothing else ends it
    }, blocked);
    CHECK(r.decision == decision::cancelled);
    CHECK(r.branches[1].status == branch_status::cancelled);  // never ran
    CHECK(w.stopped.load() == 1);
  }
  SUBCASE("requested before start: no branch runs") {
    outside.request_stop();
    std::atomic<int> ran{0};
    auto count = [&] { return ++ran; };
    auto a = quorum::quorum_parallel(o, count, count);
    auto b = quorum::quorum_parallel(quorum::inline_executor{}, o, count, count);
    CHECK(a.decision == decision::cancelled);
    CHECK(b.decision == decision::cancelled);
    CHECK(ran.load() == 0);
  }
  SUBCASE("after the execution: nothing happens") {
    auto r = quorum::quorum_parallel(o, [] { return 1; }, [] { return 2; });
    outside.request_stop();  // the callback is gone with the execution (ASan: no use after free)
    CHECK(r.decision == decision::quorum_met);
  }
}

TEST_CASE("the execution id is the one given, or a generated unique one") {
  auto a = quorum::start({.quorum = 1, .execution_id = "order-42"}, [] {});
  CHECK(a.id() == "order-42");
  auto b = quorum::start({.quorum = 1}, [] {});
  auto c = quorum::start({.quorum = 1}, [] {});
  CHECK_FALSE(b.id().empty());
  CHECK(b.id() != c.id());
  CHECK(b.get().execution_id == std::string(b.id()));
}

TEST_CASE("the store's record is readable through the handle and agrees with the result") {
  quorum::memory_store store;
  auto ex = quorum::start(store, quorum::inline_executor{}, {.quorum = 2}, [] { return 1; },
                          []() -> int { throw 7; }, [] { return 3; });
  auto rec = ex.record();
  auto r = ex.get();
  REQUIRE(rec.decision.has_value());
  CHECK(*rec.decision == r.decision);
  CHECK(rec.decided_by == r.decided_by);
  CHECK(rec.successes_at_decision == 2);
  CHECK(rec.failures_at_decision == 1);
  REQUIRE(rec.branches.size() == 3);
  CHECK(rec.branches[1].outcome == quorum::outcome::failure);
}

TEST_CASE("timestamps: all by default, the execution's only, or none") {
  quorum::manual_clock clk;
  using quorum::timestamps;
  auto timed = quorum::quorum_parallel({.quorum = 2, .clock = &clk}, [] { return 1; },
                                       [] { return 2; });
  CHECK(timed.started == clk.now());
  CHECK(timed.decided_at == clk.now());
  for (const auto& b : timed.branches) {
    CHECK(b.started.has_value());
    CHECK(b.finished.has_value());
  }
  CHECK(quorum::to_json(timed).find("\"elapsed_ms\":0") != std::string::npos);

  auto lean = quorum::quorum_parallel(
      {.quorum = 2, .clock = &clk, .timestamps = timestamps::execution}, [] { return 1; },
      [] { return 2; });
  CHECK(lean.ok());
  CHECK(lean.started == clk.now());
  CHECK(lean.decided_at == clk.now());
  for (const auto& b : lean.branches) {
    CHECK(b.status == quorum::branch_status::succeeded);
    CHECK_FALSE(b.started.has_value());
    CHECK_FALSE(b.finished.has_value());
  }
  const auto json = quorum::to_json(lean);
  CHECK(json.find("\"started_ms\":null") != std::string::npos);
  CHECK(json.find("\"finished_ms\":null") != std::string::npos);
  CHECK(json.find("\"elapsed_ms\":0") != std::string::npos);

  auto bare = quorum::quorum_parallel(
      {.quorum = 2, .clock = &clk, .timestamps = timestamps::none}, [] { return 1; },
      [] { return 2; });
  CHECK(bare.ok());
  CHECK(bare.started == quorum::result<int>::time_point{});
  CHECK(bare.decided_at == quorum::result<int>::time_point{});
  CHECK_FALSE(bare.branches[0].started.has_value());
  CHECK(quorum::to_json(bare).find("\"elapsed_ms\":null") != std::string::npos);
}

TEST_CASE("with timestamps = none a timeout still counts from the start and decides timed_out") {
  quorum::manual_clock clk;
  test_support::stop_waiter w;
  std::latch running(1);
  auto ex = quorum::start({.quorum = 1,
                           .timeout = 5s,
                           .clock = &clk,
                           .timestamps = quorum::timestamps::none},
                          [&](std::stop_token st) {
                            running.count_down();
                            w.block(st);
                          });
  running.wait();
  clk.advance(4s);
  CHECK_FALSE(ex.decided());
  clk.advance(1s);  // at the deadline: fired on this thread
  CHECK(ex.decided());
  auto r = ex.get();
  CHECK(r.decision == decision::timed_out);
  CHECK(w.stopped.load() == 1);
  CHECK(r.started == quorum::result<void>::time_point{});  // read for the deadline, not shown
  REQUIRE(r.deadline.has_value());
  CHECK(*r.deadline == clk.now());
}

TEST_CASE("a branch context sees the execution's stop, and so does a copy of it") {
  std::latch copied(1);
  test_support::stop_waiter waiter;
  std::atomic<bool> seen{false};
  auto ex = quorum::start({.quorum = 1}, [&](quorum::branch_context& ctx) {
    const quorum::branch_context copy = ctx;
    CHECK_FALSE(copy.stop_requested());
    copied.count_down();
    try {
      waiter.block(copy.stop_token());
    } catch (...) {
      seen = copy.stop_requested() && ctx.stop_requested() && copy.name() == ctx.name();
      throw;
    }
  });
  copied.wait();
  ex.cancel();
  auto r = ex.get();
  CHECK(r.decision == quorum::decision::cancelled);
  CHECK(r.branches[0].status == quorum::branch_status::cancelled);
  CHECK(waiter.stopped == 1);
  CHECK(seen);
}

TEST_CASE("a context made with its own token keeps it through copies") {
  std::stop_source src;
  quorum::manual_clock clk;
  quorum::branch_context a("own", 0, 1, src.get_token(), std::nullopt, clk);
  quorum::branch_context b = a;
  quorum::branch_context c("other", 1, 1, std::stop_token{}, std::nullopt, clk);
  c = b;
  CHECK_FALSE(c.stop_requested());
  src.request_stop();
  CHECK(a.stop_requested());
  CHECK(b.stop_requested());
  CHECK(c.stop_requested());
  CHECK(c.name() == "own");
}

TEST_CASE("a context built with {} for its token owns an empty one") {
  // Regression (cold review): while the borrowing constructor took a pointer, `{}` chose it
  // and the context dereferenced a null token. The borrowing one now wants a tag.
  quorum::manual_clock clk;
  quorum::branch_context a("braces", 0, 1, {}, std::nullopt, clk);
  CHECK_FALSE(a.stop_requested());
  CHECK_FALSE(a.stop_token().stop_possible());
  CHECK_NOTHROW(a.throw_if_stop_requested());
  const quorum::branch_context b = a;
  CHECK_FALSE(b.stop_requested());
  CHECK(b.sleep_for(std::chrono::seconds(0)));
}

TEST_CASE("waiting for the longest durations waits, instead of wrapping around into the past") {
  // Regression (cold review): now + nanoseconds::max() overflowed (undefined behaviour; in
  // practice a time in the past), so wait_for and a branch's sleep_for returned at once.
  quorum::manual_clock clk;
  std::atomic<bool> branch_slept_through{false};
  auto ex = quorum::start(quorum::options{.quorum = 1, .timeout = 1s, .clock = &clk},
                          [&](quorum::branch_context& ctx) {
                            branch_slept_through = ctx.sleep_for(std::chrono::hours::max());
                            return 1;
                          });
  // Two sleepers on the clock (the branch and the wait_for below): then the deadline passes.
  // (A yield loop, not a wait on the clock: if the bug came back there would be no second
  // sleeper, and the test must then fail instead of hang.)
  std::jthread deadline([&](std::stop_token st) {
    while (!st.stop_requested() && clk.sleepers() < 2) std::this_thread::yield();
    if (!st.stop_requested()) clk.advance(2s);
  });
  const bool waited = ex.wait_for(std::chrono::nanoseconds::max());
  CHECK(waited);
  if (!waited) ex.cancel();  // the bug is back: end the execution rather than hang below
  CHECK(ex.wait_for(std::chrono::hours::max()));  // decided: at once, and no overflow either
  ex.join();
  CHECK(ex.get().decision == decision::timed_out);
  CHECK_FALSE(branch_slept_through);  // woken by the stop request, not by a time reached
}
