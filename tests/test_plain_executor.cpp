// Executors with execute() only: what becomes of a task the executor never runs, a task it
// copies, and a task still queued when the decision comes.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <quorum/quorum.hpp>

using namespace std::chrono_literals;

namespace {

// A queue the test drains by hand, as a thread pool's workers would: execute() keeps each task
// in a std::function (copied when given as an lvalue, moved otherwise).
class queue_executor {
 public:
  template <class F>
  void execute(F&& f) {
    {
      std::lock_guard lk(m_);
      if (copies_ == 2) {  // the task twice, from copies of an lvalue
        std::function<void()> a(f);
        q_.push_back(a);
        q_.push_back(a);
      } else {
        q_.emplace_back(std::forward<F>(f));
      }
    }
    cv_.notify_all();
  }

  // Keep two copies of every task from now on.
  void keep_two_copies() { copies_ = 2; }

  // Run the oldest task queued, on this thread; false if none is.
  bool run_next() {
    std::function<void()> f;
    {
      std::lock_guard lk(m_);
      if (q_.empty()) return false;
      f = std::move(q_.front());
      q_.pop_front();
    }
    f();
    return true;
  }

  // Run tasks as they come until the token is stopped and none is left (a pool's one worker).
  void serve(std::stop_token st) {
    for (;;) {
      std::function<void()> f;
      {
        std::unique_lock lk(m_);
        if (!cv_.wait(lk, st, [&] { return !q_.empty(); })) return;
        f = std::move(q_.front());
        q_.pop_front();
      }
      f();
    }
  }

  // Destroy the oldest task queued without running it; false if none is.
  bool drop_next() {
    std::function<void()> f;
    std::lock_guard lk(m_);
    if (q_.empty()) return false;
    f = std::move(q_.front());
    q_.pop_front();
    return true;
  }

  // Block until n tasks are queued.
  void wait_queued(std::size_t n) {
    std::unique_lock lk(m_);
    cv_.wait(lk, [&] { return q_.size() >= n; });
  }

  std::size_t queued() {
    std::lock_guard lk(m_);
    return q_.size();
  }

  // Destroy every queued task without running it, as a pool's stop() does.
  void drop_all() {
    std::deque<std::function<void()>> gone;
    {
      std::lock_guard lk(m_);
      gone.swap(q_);
    }
  }

 private:
  std::mutex m_;
  std::condition_variable_any cv_;
  std::deque<std::function<void()>> q_;
  int copies_ = 1;
};
static_assert(quorum::executor<queue_executor>);

std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
}

}  // namespace

TEST_CASE("tasks the executor destroys without running them cancel the execution; the handle does not wait for them") {
  // Regression (a user trial: asio::thread_pool::stop() with branches queued): the branches
  // stayed unfinished for ever, and the handle's destructor waited for them.
  queue_executor ex;
  std::atomic<int> calls{0};
  auto f = [&] { ++calls; };
  auto h = quorum::start(ex, quorum::options{.quorum = 2}, f, f, f);
  REQUIRE(ex.queued() == 3);
  ex.drop_all();
  CHECK(h.decided());
  const auto r = std::move(h).get();
  CHECK(r.decision == quorum::decision::cancelled);
  CHECK(calls.load() == 0);
  for (const auto& b : r.branches) CHECK(b.status == quorum::branch_status::cancelled);
  // The first task dropped made the decision and says why; the others came after it.
  REQUIRE(r.branches[0].error);
  CHECK(what_of(r.branches[0].error).find("destroyed this branch's task without running it") !=
        std::string::npos);
  CHECK_FALSE(r.branches[1].error);
  CHECK_FALSE(r.branches[2].error);
}

TEST_CASE("a task still queued at the decision: dropped, or left in the queue past the join") {
  for (const bool drop : {true, false}) {
    CAPTURE(drop);
    queue_executor ex;
    std::atomic<int> calls{0};
    auto f = [&] { ++calls; };
    {
      auto h = quorum::start(ex, quorum::options{.quorum = 2}, f, f, f);
      REQUIRE(ex.run_next());
      REQUIRE(ex.run_next());
      REQUIRE(h.decided());
      if (drop) ex.drop_all();  // the decision stands; the branch counts as never started
      // Left queued, the join does not wait for it (it did before the fix).
      const auto r = std::move(h).get();
      CHECK(r.decision == quorum::decision::quorum_met);
      CHECK(r.branches[2].status == quorum::branch_status::cancelled);
      CHECK_FALSE(r.branches[2].error);
      CHECK(ex.queued() == (drop ? 0u : 1u));
    }
    // The handle is gone; a task still queued holds what it needs, finds its branch retired
    // and returns without calling the branch (ASan checks the first, the count the second).
    if (!drop) REQUIRE(ex.run_next());
    CHECK(calls.load() == 2);
  }
}

TEST_CASE("an executor that copies a task runs its branch once, and the copies it drops change nothing") {
  queue_executor ex;
  ex.keep_two_copies();  // and the task given to execute() dies with the call
  std::atomic<int> calls{0};
  auto f = [&] { ++calls; };
  auto h = quorum::start(ex, quorum::options{.quorum = 3}, f, f, f);
  REQUIRE(ex.queued() == 6);
  // The first copy of each task runs its branch; the second does nothing.
  while (ex.run_next()) {
  }
  const auto r = std::move(h).get();
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(calls.load() == 3);

  // A copy dropped while the other is still to run does not give up the branch.
  auto h2 = quorum::start(ex, quorum::options{.quorum = 1}, f);
  REQUIRE(ex.queued() == 2);
  REQUIRE(ex.drop_next());
  CHECK_FALSE(h2.decided());
  REQUIRE(ex.run_next());  // the branch runs: 4 calls
  const auto r2 = std::move(h2).get();
  CHECK(r2.decision == quorum::decision::quorum_met);
  CHECK(calls.load() == 4);
}

TEST_CASE("quorum_parallel from a worker of the executor its branches queue on ends at its timeout") {
  // Regression (a user trial): called from a pool's thread with that same pool, the branches
  // sat behind the caller, which waited for them for ever. The timeout decides, and the join
  // then retires the branches never started instead of waiting for the worker it occupies.
  queue_executor ex;
  quorum::manual_clock clk;
  std::atomic<int> calls{0};
  std::promise<quorum::result<void>> got;
  ex.execute([&] {
    auto f = [&] { ++calls; };
    got.set_value(quorum::quorum_parallel(
        ex, quorum::options{.quorum = 2, .timeout = 1s, .clock = &clk}, f, f, f));
  });
  std::jthread worker([&](std::stop_token st) { ex.serve(st); });
  ex.wait_queued(3);  // the caller's three branches, behind it on the one worker
  clk.advance(2s);
  const auto r = got.get_future().get();
  CHECK(r.decision == quorum::decision::timed_out);
  for (const auto& b : r.branches) CHECK(b.status == quorum::branch_status::cancelled);
  // The worker runs the three queued tasks before it ends: none calls its branch.
  worker.request_stop();
  worker.join();
  CHECK(calls.load() == 0);
}
