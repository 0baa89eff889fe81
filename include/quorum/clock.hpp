// quorum/clock.hpp — the clock an execution reads its time and deadline from.
//
// Deadlines, retry waits and hedge delays all go through a clock, so tests can replace real
// time with a manual_clock and never sleep: advancing it fires due deadlines on the calling
// thread and wakes branches sleeping on it.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <iterator>
#include <limits>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <type_traits>
#include <utility>

#include "detail/timer_queue.hpp"

namespace quorum {

/// A pending scheduled callback. Destroying it (or cancel()) guarantees the callback is not
/// running and will never run.
class timer {
 public:
  timer() = default;
  timer(detail::timer_queue* q, std::shared_ptr<detail::timer_queue::entry> e) noexcept
      : q_(q), e_(std::move(e)) {}
  timer(timer&& o) noexcept : q_(std::exchange(o.q_, nullptr)), e_(std::move(o.e_)) {}
  timer& operator=(timer&& o) noexcept {
    if (this != &o) {
      cancel();
      q_ = std::exchange(o.q_, nullptr);
      e_ = std::move(o.e_);
    }
    return *this;
  }
  ~timer() { cancel(); }

  /// Cancel; waits for the callback if it is running on another thread.
  void cancel() noexcept {
    if (q_ && e_) q_->cancel(e_);
    q_ = nullptr;
    e_.reset();
  }

 private:
  detail::timer_queue* q_ = nullptr;
  std::shared_ptr<detail::timer_queue::entry> e_;
};

/// The clock interface. Time points are steady_clock time points on this clock's timeline.
class clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  virtual ~clock() = default;

  /// The current time on this clock.
  [[nodiscard]] virtual time_point now() const noexcept = 0;

  /// Run fn (which must not throw) once at or after `at`, on a thread of the clock's choosing,
  /// unless the returned timer is cancelled or destroyed first. A schedule() that throws must
  /// leave fn neither queued nor run: the execution takes the throw to mean no timer exists.
  [[nodiscard]] virtual timer schedule(time_point at, std::function<void()> fn) = 0;

  /// Block until `at` or until `st` is stopped. Returns true when `at` was reached.
  virtual bool sleep_until(time_point at, std::stop_token st) = 0;

  /// True when schedule()'s callbacks all run on one thread, shared by every timer of the
  /// process (steady_clock's). An execution whose deadline comes then does the deadline's work
  /// (the store's expire, the observer's calls, the stop callbacks) on a thread of its own, so
  /// that this work can neither hold up the deadlines of other executions nor wait for one (an
  /// observer that runs an execution of its own). False by default: manual_clock runs due
  /// callbacks on the thread that moves its time, and the decision is made before advance()
  /// returns.
  [[nodiscard]] virtual bool shared_timer_thread() const noexcept { return false; }
};

namespace detail {
// t + d for any duration d, saturating at the limits of clock::time_point: a wait "for ever"
// (nanoseconds::max(), hours::max()) must not wrap around into the past and end at once.
template <class Rep, class Period>
constexpr clock::time_point saturating_add(clock::time_point t,
                                           std::chrono::duration<Rep, Period> d) noexcept {
  using dur = clock::duration;
  using rep = dur::rep;
  // d in clock ticks, converted in floating point (no integer product to overflow, whatever
  // the period), then clamped. long double holds every 64-bit count exactly where it is wider
  // than double; where it is not, rounding near the limits errs towards clamping. NaN: no wait.
  dur dd{0};
  if constexpr (std::is_same_v<std::chrono::duration<Rep, Period>, dur>) {
    dd = d;  // the common case (timeouts, retry and hedge delays): exact, no conversion
  } else {
    const long double ticks = std::chrono::duration<long double, dur::period>(d).count();
    if (ticks >= static_cast<long double>(std::numeric_limits<rep>::max()))
      dd = dur::max();
    else if (ticks <= static_cast<long double>(std::numeric_limits<rep>::min()))
      dd = dur::min();
    else if (ticks == ticks)
      dd = dur(static_cast<rep>(ticks));
  }
  const rep tc = t.time_since_epoch().count(), dc = dd.count();
  if (dc > 0 && tc > std::numeric_limits<rep>::max() - dc) return clock::time_point::max();
  if (dc < 0 && tc < std::numeric_limits<rep>::min() - dc) return clock::time_point::min();
  return t + dd;
}

// The real clock's timer thread: one per process, started on first use and never destroyed
// (see steady_clock::schedule).
class timer_thread {
  using time_point_t = std::chrono::steady_clock::time_point;

 public:
  timer_thread()
      : thread_([this](std::stop_token st) { loop(st); }) {}

  timer schedule(time_point_t at, std::function<void()> fn) {
    auto e = std::make_shared<timer_queue::entry>();
    e->fn = std::move(fn);
    if (q_.push(at, e)) {
      // A new earliest deadline: make the thread look again. kicked_ is set under m_, which
      // the thread holds from its look at the queue until it sleeps, so the kick is not lost.
      std::lock_guard lk(m_);
      kicked_ = true;
      cv_.notify_one();
    }
    return timer(&q_, std::move(e));
  }

 private:
  void loop(std::stop_token st) {
    std::unique_lock lk(m_);
    while (!st.stop_requested()) {
      kicked_ = false;
      lk.unlock();
      q_.run_due(std::chrono::steady_clock::now());
      lk.lock();
      if (kicked_) continue;
      auto kicked = [this] { return kicked_; };
      if (auto next = q_.next())
        cv_.wait_until(lk, st, *next, kicked);
      else
        cv_.wait(lk, st, kicked);
    }
  }

  timer_queue q_;
  std::mutex m_;
  bool kicked_ = false;  // under m_: an entry earlier than the one waited for was pushed
  std::condition_variable_any cv_;
  std::jthread thread_;  // last: started after the members it uses, joined before they go
};
}  // namespace detail

/// std::chrono::steady_clock as a quorum::clock. The default clock of every execution.
class steady_clock final : public clock {
 public:
  [[nodiscard]] time_point now() const noexcept override { return std::chrono::steady_clock::now(); }

  [[nodiscard]] timer schedule(time_point at, std::function<void()> fn) override {
    // Never destroyed, so never joined: a static made on first use is destroyed at exit before
    // every static made earlier, and such a static (a service made before its first deadline)
    // may still arm a deadline or cancel a timer from its destructor. The thread then sleeps
    // on through exit; it is reachable from here, so leak checkers do not count it.
    static detail::timer_thread& thread = *new detail::timer_thread;
    return thread.schedule(at, std::move(fn));
  }

  [[nodiscard]] bool shared_timer_thread() const noexcept override { return true; }

  bool sleep_until(time_point at, std::stop_token st) override {
    if (st.stop_requested()) return false;
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lk(m);
    cv.wait_until(lk, st, at, [] { return false; });
    return !st.stop_requested();
  }

  /// The process-wide instance. Never destroyed: usable from any static's destructor (as the
  /// timer thread is, see schedule()).
  [[nodiscard]] static steady_clock& instance() noexcept {
    static steady_clock& c = *new steady_clock;
    return c;
  }
};

/// A clock that moves only when told to: advance() and set() fire due timers on the calling
/// thread and wake sleepers whose time has come. For deterministic tests.
///
/// The clock knows the threads asleep on it, not what a thread it woke does next. A test
/// waits for that itself before moving the time on: for the branch's next sleep
/// (wait_for_sleepers, with a limit so that a wrong test fails instead of hanging), or for an
/// observer's event (a latch counted down on `failed`, `late`, `started`...). Branches that
/// never sleep on the clock (a replica that fails at once) never count as sleepers; a hedged
/// branch brought forward by a failure sleeps again for its new turn, so after a failure wait
/// for the next `started` event rather than for sleepers.
class manual_clock final : public clock {
 public:
  explicit manual_clock(time_point start = time_point{} + std::chrono::hours(1))
      : now_(start), target_(start) {}

  [[nodiscard]] time_point now() const noexcept override {
    std::lock_guard lk(m_);
    return now_;
  }

  [[nodiscard]] timer schedule(time_point at, std::function<void()> fn) override {
    auto e = std::make_shared<detail::timer_queue::entry>();
    e->fn = std::move(fn);
    q_.push(at, e);
    // A time already reached fires now, on this thread. Otherwise it would wait for the next
    // advance, which may never come: a set() on another thread may have moved the time past
    // `at` and run the due timers just before this push. (The push happens-before this read
    // of the time; if that set's write of the time came later, its run_due sees the entry.)
    const auto t = now();
    if (at <= t) q_.run_due(t);
    return timer(&q_, std::move(e));
  }

  bool sleep_until(time_point at, std::stop_token st) override {
    // From a stop request on, the thread counts as asleep no more, at once, as when its time
    // comes: not only once it runs again (found by a user trial: a cancelled sleeper still
    // counted, and wait_for_sleepers returned on it). The callback is registered before the
    // entry is linked, so a stop requested once the thread counts always finds it; off the
    // lock, since a stop already requested runs the callback here, and it takes the lock. It is
    // destroyed off the lock too (its destructor waits for a callback running on another
    // thread), before the entry goes. splice() keeps the entry where the callback sees it.
    std::list<sleeper> entry;
    const auto mine = entry.insert(entry.end(), sleeper{at});
    std::unique_lock lk(m_, std::defer_lock);
    {
      const std::stop_callback on_stop(st, [this, mine]() noexcept {
        std::lock_guard g(m_);
        mine->stopped = true;
      });
      lk.lock();
      sleeping_.splice(sleeping_.end(), entry, mine);
      cv_.notify_all();  // wake wait_for_sleepers
      cv_.wait(lk, st, [&] { return now_ >= at; });
      lk.unlock();
    }
    lk.lock();
    sleeping_.erase(mine);
    return now_ >= at && !st.stop_requested();
  }

  /// Move time forward by d, saturating at time_point::max() (a negative d does nothing).
  /// Time moves in steps, to each due time on the way in order (a timer's or a sleeper's):
  /// at each, the timers due run on this thread, then the sleepers due are woken. So a
  /// deadline reached by a long step is decided at its own time, not at the step's end, and a
  /// sleeper due earlier is woken before it. advance() does not wait for the threads it wakes:
  /// a branch woken at 10 ms may not have run when a deadline at 25 ms fires in the same
  /// step. To let it, advance to 10 ms first and wait for what the branch does next (its
  /// next sleep with wait_for_sleepers, or an observer's event).
  void advance(duration d) {
    time_point mine;
    {
      // Added to the time every move is heading for, under one lock: two advances at once
      // move the time by both.
      std::lock_guard lk(m_);
      if (d > duration::zero()) target_ = detail::saturating_add(std::max(target_, now_), d);
      mine = std::max(target_, now_);
    }
    move_to(mine);
  }

  /// Move time to t (never backwards), in steps as advance() does.
  void set(time_point t) {
    {
      std::lock_guard lk(m_);
      if (t > target_) target_ = t;
    }
    move_to(t);
  }

  /// Threads blocked in sleep_until right now: branches waiting (ctx.sleep_for, retries,
  /// hedges) and callers of execution::wait_for / wait_until on this clock alike. A test that
  /// waits for its branches to sleep should not also have a thread in wait_for on the clock.
  /// A sleeper whose time advance() or set() reached, or whose stop was requested, counts no
  /// more from that moment, though its thread may not have run yet: so wait_for_sleepers(1),
  /// advance(), wait_for_sleepers(1) waits for the next sleep (a retry's second wait), not for
  /// the one just ended.
  [[nodiscard]] std::size_t sleepers() const {
    std::lock_guard lk(m_);
    return asleep();
  }

  /// Block until at least n threads are blocked in sleep_until (a test's rendezvous).
  void wait_for_sleepers(std::size_t n) {
    std::unique_lock lk(m_);
    cv_.wait(lk, [&] { return asleep() >= n; });
  }

  /// The same, for at most `limit` of real time (steady_clock): false when fewer than n
  /// threads were asleep by then. A test that waits for a sleep that never comes then fails
  /// with a message instead of hanging: `REQUIRE(clk.wait_for_sleepers(2, 10s));`.
  [[nodiscard]] bool wait_for_sleepers(std::size_t n, std::chrono::steady_clock::duration limit) {
    std::unique_lock lk(m_);
    return cv_.wait_for(lk, limit, [&] { return asleep() >= n; });
  }

 private:
  struct sleeper {
    time_point at;         // when its time comes
    bool stopped = false;  // its stop was requested: it counts as asleep no more
  };

  // Step the time towards target_ through every due time before it (see advance()), until it
  // has reached `mine`, this caller's own target. Each step reads the next due time under the
  // lock, so a timer or a sleeper that a step's callbacks add on the way is stepped to as well.
  // Two moves at once both step towards target_ (each time only forward, run_due takes each
  // timer once), and each returns once its own target is reached.
  void move_to(time_point mine) {
    for (;;) {
      const auto timer_due = q_.next();
      time_point t;
      {
        std::lock_guard lk(m_);
        time_point step = target_;
        // A timer already due (queued by a callback of this step, or left by a move nested in
        // one) runs at this time first: stepping past it would run it, and every due time
        // after it, at the target (found by a review).
        if (timer_due && *timer_due <= now_)
          step = now_;
        else if (timer_due && *timer_due < step)
          step = *timer_due;
        for (const sleeper& s : sleeping_)
          if (!s.stopped && s.at > now_ && s.at < step) step = s.at;
        if (step > now_) now_ = step;
        t = now_;
      }
      fire(t);
      if (t >= mine) return;
    }
  }

  // The time has become t: run the timers due, then wake the sleepers due.
  void fire(time_point t) {
    q_.run_due(t);
    std::lock_guard lk(m_);
    cv_.notify_all();
  }

  // Under m_: the sleepers whose time is still to come and whose stop was not requested.
  [[nodiscard]] std::size_t asleep() const {
    std::size_t n = 0;
    for (const sleeper& s : sleeping_)
      if (!s.stopped && s.at > now_) ++n;
    return n;
  }

  mutable std::mutex m_;
  std::condition_variable_any cv_;
  time_point now_;
  time_point target_;  // under m_: where the moves under way are heading (never before now_ once they end)
  std::list<sleeper> sleeping_;  // under m_: each thread in sleep_until
  detail::timer_queue q_;
};

}  // namespace quorum
