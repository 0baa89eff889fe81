// Executors when the system refuses a thread: they must throw, not hang.
//
// refuse_threads.hpp makes the system refuse one thread creation; under the sanitizers the tests
// are skipped (the plain and clang builds run them).
#include <doctest/doctest.h>

#include <atomic>
#include <stop_token>
#include <system_error>

#include <quorum/pool_executor.hpp>
#include <quorum/quorum.hpp>

#include "refuse_threads.hpp"
#include "support.hpp"

#if !defined(QUORUM_TEST_SANITIZED)
TEST_CASE("a pool whose third worker cannot start throws, and joins the two it started") {
  // Regression (cold review): the constructor unwound into the workers' joins without telling
  // them to stop, and they waited for work for ever.
  {
    test_support::refuse_thread refusal(3);
    CHECK_THROWS_AS(quorum::pool_executor(4), std::system_error);
    CHECK(refusal.asked() >= 3);  // the refusal really happened
  }
  quorum::pool_executor fine(2);  // and nothing is left broken
  CHECK(fine.size() == 2);
}

TEST_CASE(
    "a thread_executor that cannot start a branch's thread throws, and the branch's task dies "
    "outside the executor's lock") {
  // Regression (cold review): the task died inside std::jthread's constructor, under the
  // executor's lock. Dying unrun, it ends its branch and cancels the execution; the observer
  // here starts an execution on the same executor at that decision, and waited for the lock
  // for ever.
  quorum::thread_executor ex;  // shared, as a service keeps it
  test_support::stop_waiter w;
  std::atomic<int> nested{0};
  quorum::options o{.quorum = 2};
  o.observer = [&](const quorum::event& e) {
    if (e.kind != quorum::event_kind::decided) return;
    auto r = quorum::start(ex, quorum::options{.quorum = 1}, [] { return 1; }).get();
    if (r.decision == quorum::decision::quorum_met) nested.fetch_add(1);
  };
  {
    test_support::refuse_thread refusal(2);  // branch 1's thread
    CHECK_THROWS_AS((void)quorum::start(
                        ex, o, [&](std::stop_token st) -> int { w.block(st); }, [] { return 2; }),
                    std::system_error);
    CHECK(refusal.asked() >= 2);
  }
  CHECK(nested.load() == 1);  // the nested execution ran, on the same executor
  auto r = quorum::start(ex, quorum::options{.quorum = 1}, [] { return 3; }).get();
  CHECK(r.decision == quorum::decision::quorum_met);  // nothing is left broken
}
#else
TEST_CASE("executors whose thread cannot start throw (skipped under a sanitizer)") {
  MESSAGE("skipped: the sanitizer's runtime owns pthread_create");
}
#endif
