// detail::spin_then_wait_lock, the lock of the stores' id maps: it excludes, it wakes a thread
// that went to sleep on it, and try_lock says what it did.
#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <fstream>
#include <latch>
#include <mutex>
#include <quorum/store.hpp>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>  // gettid

namespace {

using lock_t = quorum::detail::spin_then_wait_lock;

TEST_CASE("the id map's lock loses no increment of a plain counter among threads") {
  // A plain int, not an atomic: only the lock orders the threads' read-modify-writes. A lock
  // that let two in at once would lose increments (and TSan would report the race). The
  // threads start together and take the lock for a few instructions at a time, so they meet
  // in it all the time and some give up watching and sleep.
  constexpr int threads = 4;
  constexpr int each = 100'000;
  lock_t m;
  long counter = 0;
  std::latch start(threads);
  {
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&] {
        start.arrive_and_wait();
        for (int i = 0; i < each; ++i) {
          std::lock_guard lk(m);
          ++counter;
        }
      });
  }
  CHECK(counter == long{threads} * each);
  CHECK_FALSE(m.may_have_sleeper());
}

// The state letter of thread `tid` of this process ('R' running, 'S' asleep, ...), from
// /proc/self/task/<tid>/stat; 0 if it cannot be read.
char thread_state(pid_t tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return 0;
  const auto close = line.rfind(')');  // the name, in parentheses, may hold spaces
  return close == std::string::npos || close + 2 >= line.size() ? 0 : line[close + 2];
}

TEST_CASE("a thread asleep on the id map's lock is woken when it is released") {
  lock_t m;
  m.lock();
  std::atomic<bool> got{false};
  std::atomic<pid_t> tid{0};
  std::jthread waiter([&] {
    tid.store(gettid());
    std::lock_guard lk(m);
    got.store(true);
  });
  // The waiter watches for a bounded time, then marks the lock and goes to sleep on it. Wait
  // for the mark, then for the kernel to say it sleeps (yielding, not sleeping: these are what
  // this waits for), so that the unlock below must wake it: without its notify the join never
  // returns and the test times out.
  while (!m.may_have_sleeper()) std::this_thread::yield();
  while (tid.load() == 0) std::this_thread::yield();
  const bool seen = thread_state(tid.load()) != 0;
  if (seen)
    while (thread_state(tid.load()) != 'S') std::this_thread::yield();
  CHECK_FALSE(got.load());  // still held by this thread
  m.unlock();
  waiter.join();
  CHECK(got.load());
  CHECK(m.try_lock());  // the waiter released it
  m.unlock();
  if (!seen) MESSAGE("no /proc/self/task: the waiter may have been woken before it slept");
}

TEST_CASE("two threads asleep on the id map's lock both get it once it is released") {
  // Regression (review): the lock a waiter takes by its swap must stay 2, so that its unlock
  // wakes the next sleeper. A lock() that took it with 1 after waking passed the tests above
  // (one sleeper only) and hung here: the first woken thread's unlock woke nobody.
  lock_t m;
  m.lock();
  std::atomic<int> got{0};
  std::atomic<pid_t> tids[2] = {0, 0};
  {
    std::vector<std::jthread> waiters;
    for (int i = 0; i < 2; ++i)
      waiters.emplace_back([&, i] {
        tids[i].store(gettid());
        std::lock_guard lk(m);
        got.fetch_add(1);
      });
    // Both asleep on the lock before it is released (yielding, not sleeping, to wait for it).
    for (auto& t : tids)
      while (t.load() == 0) std::this_thread::yield();
    while (!m.may_have_sleeper()) std::this_thread::yield();
    bool seen = true;
    for (auto& t : tids) {
      if (thread_state(t.load()) == 0) seen = false;
      if (seen)
        while (thread_state(t.load()) != 'S') std::this_thread::yield();
    }
    CHECK(got.load() == 0);
    m.unlock();
    if (!seen) MESSAGE("no /proc/self/task: the waiters may not both have slept");
  }  // joins both: never, if the second sleeper is not woken
  CHECK(got.load() == 2);
  CHECK(m.try_lock());
  m.unlock();
}

TEST_CASE("try_lock on the id map's lock takes it only when free") {
  lock_t m;
  REQUIRE(m.try_lock());
  bool other = true;
  std::jthread([&] { other = m.try_lock(); }).join();
  CHECK_FALSE(other);
  m.unlock();
  std::jthread([&] {
    other = m.try_lock();
    if (other) m.unlock();
  }).join();
  CHECK(other);
}

}  // namespace

#if defined(__linux__)
TEST_CASE("usable_cpus counts the CPUs the thread may run on, not the machine's") {
  // wait() watches the decision word only where another CPU can run the branch that decides
  // it: a process pinned to one CPU (taskset, a container's cpuset) must count 1.
  unsigned pinned = 0;
  int set_result = -1;
  std::jthread([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    if (sched_getaffinity(0, sizeof one, &one) != 0) return;
    int first = 0;
    while (first < CPU_SETSIZE && !CPU_ISSET(first, &one)) ++first;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    set_result = sched_setaffinity(0, sizeof one, &one);  // this thread only
    pinned = quorum::detail::usable_cpus();
  }).join();
  REQUIRE(set_result == 0);
  CHECK(pinned == 1);
  CHECK(quorum::detail::usable_cpus() >= 1);  // the test's own thread keeps its mask
}
#endif
