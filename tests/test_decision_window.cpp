// Regressions around the moment of the decision and the end of a handle, found by a cold
// review of the core: each TEST_CASE is a failure it showed, now fixed, made deterministic
// (latches, branches that block on their stop token, the manual clock; no sleeps). The name
// says what the user gets now; the comment says what happened before.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <latch>
#include <mutex>
#include <quorum/quorum.hpp>
#include <stdexcept>
#include <stop_token>
#include <utility>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using quorum::branch_status;
using quorum::decision;

namespace {

// An exception type that counts its live objects.
std::atomic<int> live_errors{0};
struct counted_error {
  counted_error() { live_errors.fetch_add(1); }
  counted_error(const counted_error&) { live_errors.fetch_add(1); }
  ~counted_error() { live_errors.fetch_sub(1); }
};

// An executor (passed as an lvalue) that runs each task at once and keeps the task object
// until told to drop it: a task that is retired late, as a pool job or an exiting thread may be.
struct keeping_executor {
  std::vector<std::function<void()>> kept;
  template <std::invocable F>
  void execute(F&& f) {
    kept.emplace_back(std::forward<F>(f));
    kept.back()();
  }
};

// memory_store whose record() throws counted_error.
class throwing_store {
 public:
  using handle = quorum::memory_store::handle;
  handle open(const quorum::execution_spec& spec) { return inner_.open(spec); }
  quorum::tally record(handle, std::size_t, quorum::outcome) { throw counted_error{}; }
  quorum::tally expire(handle h) { return inner_.expire(h); }
  quorum::tally cancel(handle h) { return inner_.cancel(h); }
  quorum::execution_record snapshot(handle h) { return inner_.snapshot(h); }
  void close(handle h) { inner_.close(h); }

 private:
  quorum::memory_store inner_;
};

// memory_store whose record() of branch 0, once applied, is slow to return (a reply still on
// its way, as from a remote store) and, when `lost`, then throws (a reply that never came): it
// returns or throws when released, or after a safety bound so that a reader who waits for it
// cannot hang the test. The bound only ends the test sooner or later; no assertion depends on
// it.
class held_reply_store {
 public:
  using handle = quorum::memory_store::handle;
  explicit held_reply_store(bool lost = false) : lost_(lost) {}
  std::latch applied{1};  // branch 0's record is in the store
  handle open(const quorum::execution_spec& spec) { return inner_.open(spec); }
  quorum::tally record(handle h, std::size_t i, quorum::outcome o) {
    auto t = inner_.record(h, i, o);
    if (i == 0) {
      applied.count_down();
      std::unique_lock lk(m_);
      cv_.wait_for(lk, std::chrono::seconds(2), [&] { return released_; });
      if (lost_) throw std::runtime_error("reply lost");
    }
    return t;
  }
  void release() {
    {
      std::lock_guard lk(m_);
      released_ = true;
    }
    cv_.notify_all();
  }
  quorum::tally expire(handle h) { return inner_.expire(h); }
  quorum::tally cancel(handle h) { return inner_.cancel(h); }
  quorum::execution_record snapshot(handle h) { return inner_.snapshot(h); }
  void close(handle h) { inner_.close(h); }

 private:
  const bool lost_;
  quorum::memory_store inner_;
  std::mutex m_;
  std::condition_variable cv_;
  bool released_ = false;
};

}  // namespace

TEST_CASE("an observer's exception does not outlive the handle when the executor keeps its task") {
  // The state's copy of the observer's first exception stayed alive with the state, which an
  // executor may hold after the handle is gone (a pool job not yet retired): the user's
  // exception object then died later, on some worker thread.
  live_errors = 0;
  keeping_executor ex;
  {
    quorum::memory_store store;
    quorum::options o{.quorum = 1};
    o.observer = [](const quorum::event&) { throw counted_error{}; };
    auto h = quorum::start(store, ex, o, [] { return 1; });
    auto r = h.get();
    CHECK(r.ok());
    CHECK(r.observer_errors > 0);
  }
  CHECK(live_errors.load() == 0);
  ex.kept.clear();
  CHECK(live_errors.load() == 0);
}

TEST_CASE("a store's exception does not outlive the handle when the executor keeps its task") {
  live_errors = 0;
  keeping_executor ex;
  {
    throwing_store store;
    auto h = quorum::start(store, ex, {.quorum = 1}, [] { return 1; });
    CHECK_THROWS_AS((void)h.get(), counted_error);
  }
  CHECK(live_errors.load() == 0);
  ex.kept.clear();
  CHECK(live_errors.load() == 0);
}

TEST_CASE("no retry attempt starts after the decision, even before the stop request") {
  // publish() sets the decided bit, emits `decided` (an observer may hold it), and only then
  // requests stop. A branch whose attempt failed in that window retried at once (a retry wait
  // that ends before the stop request) and ran its callable again after the decision.
  quorum::manual_clock clk;
  test_support::gate fail_now;
  std::latch release_decided(1);
  std::latch second_done(1);
  std::latch second_started(1);
  std::atomic<int> second_calls{0};
  quorum::options o{.quorum = 1};
  o.clock = &clk;
  o.retry.max_attempts = 3;  // interval 0: the wait ends at once, before any stop request
  o.observer = [&](const quorum::event& e) {
    if (e.kind == quorum::event_kind::decided) release_decided.wait();
    if (e.branch == 1u && (e.kind == quorum::event_kind::late ||
                           e.kind == quorum::event_kind::failed ||
                           e.kind == quorum::event_kind::succeeded))
      second_done.count_down();
  };
  auto h = quorum::start(
      o,
      [&] {
        second_started.wait();  // decide only once branch 1 runs its first attempt
        return 0;
      },
      [&]() -> int {
        if (++second_calls == 1) second_started.count_down();
        fail_now.wait();  // ignores its stop token
        throw std::runtime_error("no");
      });
  h.wait();         // branch 0 decided; its publisher is held in the observer
  fail_now.open();  // branch 1's first attempt fails now: after the decision, before the stop
  second_done.wait();
  release_decided.count_down();
  auto r = h.get();
  CHECK(r.decision == decision::quorum_met);
  CHECK(second_calls.load() == 1);
  CHECK(r.branches[1].attempts == 1u);
  CHECK(r.branches[1].late);
}

TEST_CASE("a result taken at quorum_met shows every success the decision counted") {
  // on_late = return_early: branch 0's success is in the store (counted) but its record() has
  // not returned yet when branch 1's success decides quorum_met (K = 2). get() returned at once
  // and showed branch 0 as running, without its value: a quorum read got fewer than K values
  // with ok() true. Now get() waits for a record in flight (one store call) before reading.
  held_reply_store store;
  auto h = quorum::start(store, {.quorum = 2, .on_late = quorum::late_completion::return_early},
                         [] { return 10; },
                         [&] {
                           store.applied.wait();  // branch 0's success counted first
                           return 11;
                         });
  auto r = h.get();
  store.release();
  CHECK(r.decision == decision::quorum_met);
  CHECK(r.successes() == 2);
  CHECK(r.branches[0].status == branch_status::succeeded);
  CHECK_FALSE(r.branches[0].late);
  REQUIRE(r.branches[0].value.has_value());
  CHECK(*r.branches[0].value == 10);
}

TEST_CASE("a result taken at the decision rethrows the error of a record the decision counted") {
  // on_late = return_early, K = 2: branch 0's success is in the store (counted), then its
  // record() throws (the reply lost). get() checked for a store error before waiting out the
  // record in flight, then waited in copy_fields and returned quorum_met with branch 0 late
  // (its record failed after the decision): one success, ok() true, no error. With on_late =
  // join the same execution rethrows the store's error.
  held_reply_store store(/*lost=*/true);
  auto h = quorum::start(store, {.quorum = 2, .on_late = quorum::late_completion::return_early},
                         [] { return 10; },
                         [&] {
                           store.applied.wait();  // branch 0's success counted first
                           return 11;
                         });
  bool threw = false;
  try {
    auto r = h.get();
    CHECK(r.decision == decision::quorum_met);
    CHECK(r.successes() >= 2);  // what the decision counted, if a result is returned at all
  } catch (const std::runtime_error&) {
    threw = true;
  }
  store.release();
  CHECK(threw);
}
