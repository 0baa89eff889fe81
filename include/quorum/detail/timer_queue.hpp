// quorum/detail/timer_queue.hpp — due-time ordered callbacks with a cancel that waits for a
// callback in flight. Shared by the real clock's timer thread and by manual_clock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace quorum::detail {

class timer_queue {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  struct entry {
    enum class state { pending, running, done, cancelled };
    std::function<void()> fn;
    state st = state::pending;
    std::thread::id runner;
    std::multimap<time_point, std::shared_ptr<entry>>::iterator where;
  };

  /// Queue fn to run at `at`. Returns true when it is now the earliest entry.
  bool push(time_point at, std::shared_ptr<entry> e) {
    std::lock_guard lk(m_);
    e->where = q_.emplace(at, e);
    return e->where == q_.begin();
  }

  /// After cancel returns, e's callback is not running and will never run, unless cancel is
  /// called from inside that very callback (then it returns at once).
  void cancel(const std::shared_ptr<entry>& e) {
    // The callback dies after the lock is released (declared before it): what it holds may
    // cancel a timer of this queue from its destructor (see run_due).
    std::function<void()> dropped;
    std::unique_lock lk(m_);
    if (e->st == entry::state::pending) {
      q_.erase(e->where);
      e->st = entry::state::cancelled;
      dropped.swap(e->fn);
      return;
    }
    if (e->st == entry::state::running && e->runner != std::this_thread::get_id())
      done_.wait(lk, [&] { return e->st != entry::state::running; });
  }

  /// Run every entry due at `now`, on this thread, earliest first.
  void run_due(time_point now) {
    std::unique_lock lk(m_);
    while (!q_.empty() && q_.begin()->first <= now) {
      auto e = q_.begin()->second;
      q_.erase(q_.begin());
      e->st = entry::state::running;
      e->runner = std::this_thread::get_id();
      lk.unlock();
      e->fn();  // callbacks are noexcept by contract (clock::schedule)
      // Destroyed off the lock: what the callback holds (the last reference to another timer
      // of this queue, to an execution armed on it) may cancel from its destructor, which
      // relocks m_. And before `done`: a cancel waiting for this callback returns only once
      // its captures are gone too. Nobody else touches fn now: cancel does only while pending.
      e->fn = nullptr;
      lk.lock();
      e->st = entry::state::done;
      done_.notify_all();
    }
  }

  /// The earliest due time, if any entry is queued.
  [[nodiscard]] std::optional<time_point> next() {
    std::lock_guard lk(m_);
    if (q_.empty()) return std::nullopt;
    return q_.begin()->first;
  }

 private:
  std::mutex m_;
  std::condition_variable done_;
  std::multimap<time_point, std::shared_ptr<entry>> q_;
};

}  // namespace quorum::detail
