// thread_executor kept for a service's life: shared by threads that start executions at once,
// and holding the threads still running rather than one per branch it ever ran.
#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <latch>
#include <memory>
#include <quorum/quorum.hpp>
#include <thread>
#include <vector>

namespace {

using quorum::decision;

TEST_CASE("a thread_executor shared by two callers runs their executions apart") {
  // Regression (a service trial): execute() appended to a vector with no lock, so two callers
  // starting executions at once on one kept executor corrupted the heap ("double free or
  // corruption"; TSan: a race in thread_executor::execute). The first rewrite made its shared
  // part at the first execute(), and two callers starting at once both made it (ASan: a
  // heap-use-after-free in execute).
  quorum::thread_executor ex;
  constexpr int rounds = 200;
  std::atomic<int> met{0};
  {
    std::latch go(2);
    const auto caller = [&] {
      go.arrive_and_wait();
      for (int i = 0; i < rounds; ++i) {
        auto r = quorum::quorum_parallel(ex, {.quorum = 2}, [] { return 1; }, [] { return 2; },
                                         [] { return 3; });
        met += r.decision == decision::quorum_met ? 1 : 0;
      }
    };
    std::jthread a(caller), b(caller);
  }
  CHECK(met.load() == 2 * rounds);
  ex.join();
  CHECK(ex.threads_held() == 0);
}

TEST_CASE("a kept thread_executor joins the threads of finished tasks as it goes") {
  // Regression (a service trial): it kept every thread it had started until its join() or
  // destructor, so a service that kept one ran out of threads after about 11,000 writes.
  quorum::thread_executor ex;
  constexpr std::size_t tasks = 1000;
  for (std::size_t i = 0; i < tasks; ++i) {
    auto ran = std::make_shared<std::latch>(1);
    ex.execute([ran] { ran->count_down(); });
    ran->wait();  // its task has run; its thread marks itself finished just after
  }
  // Each execute() joins the threads marked finished: what is left are the ones a call came too
  // early for. Every one of them would have to stay unmarked across the calls after it for
  // half of the threads to be held.
  CHECK(ex.threads_held() < tasks / 2);
  ex.join();
  CHECK(ex.threads_held() == 0);
}

TEST_CASE("a task may join its own thread_executor: the others are joined, its own left") {
  // Regression (a review): join() took every thread, the caller's own too; joining itself
  // threw, and the jthread's destructor, unwinding, ended the process.
  quorum::thread_executor ex;
  std::latch go(1), joiner_done(1);
  std::atomic<bool> other_done{false}, saw_other_done{false}, threw{false};
  ex.execute([&] {
    go.wait();
    other_done = true;
  });
  ex.execute([&] {
    go.count_down();
    try {
      ex.join();  // joins the other task's thread, not this one
      saw_other_done = other_done.load();
    } catch (...) {
      threw = true;
    }
    joiner_done.count_down();
  });
  joiner_done.wait();  // before the join below, which would otherwise take both threads
  CHECK_FALSE(threw.load());
  CHECK(saw_other_done.load());
  CHECK(ex.threads_held() == 1);  // the joining task's thread, left for this join
  ex.join();
  CHECK(ex.threads_held() == 0);
}

TEST_CASE("a thread_executor moved or assigned over joins what it ran") {
  std::atomic<int> ran{0};
  quorum::thread_executor a;
  a.execute([&] { ++ran; });
  quorum::thread_executor b(std::move(a));  // the running thread moves with it
  CHECK(a.threads_held() == 0);
  b.execute([&] { ++ran; });
  quorum::thread_executor c;
  c.execute([&] { ++ran; });
  c = std::move(b);  // c joins its own thread first
  CHECK(ran.load() >= 1);
  c.join();
  CHECK(ran.load() == 3);
  a.execute([&] { ++ran; });  // a moved-from executor is empty, and usable
  a.join();
  CHECK(ran.load() == 4);
}

}  // namespace
