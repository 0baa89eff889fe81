// quorum/pool_executor.hpp — a fixed pool of worker threads that a service keeps for its life.
//
//   quorum::pool_executor pool;                 // hardware_concurrency() workers
//   quorum::memory_store store;
//   auto r = quorum::quorum_parallel(store, pool, {.quorum = 2}, f1, f2, f3);
//
// One execution is one submission: start() hands the pool all N branches at once
// (bulk_execute), which costs one queue push and at most one wake-up per sleeping worker, not
// one per branch. The workers and the caller then claim branches from that batch with one
// atomic increment each. While the caller waits for every branch to end (join(), get() with
// on_late = join, quorum_parallel), it runs unclaimed branches of its own execution itself
// instead of sleeping; wait() for the decision never runs a branch, so a straggler can never
// delay the caller's wake-up at the decision.
//
// A fixed pool bounds how many branches run at once: size() workers, shared by every
// execution, plus the caller while it joins. A branch holds its thread until it returns, so a
// branch that blocks until the decision (a replica that never answers and waits on its stop
// token) keeps a worker until then. If such branches take every thread before the branches
// that would decide have started, those never start, and the execution cannot decide before
// its deadline (with none, never). For example, pool_executor(1) with the branches (hangs,
// hangs, answers) and quorum 1: the worker and the joining caller each claim a branch that
// hangs. Give such executions a deadline, and run branches that may block for long (network
// calls without a timeout of their own) on thread_executor, which starts every branch at
// once, or on a pool with more workers than the branches that can block at the same time,
// counted over every execution that shares the pool (replicas x the executions running at
// once). A hedged branch waiting for its turn holds its thread too, and a joining caller runs
// the branches it claims one after another, so one that blocks delays the others it claimed.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "executor.hpp"

namespace quorum {

/// A fixed pool of std::jthread workers. Create it once and pass it (as an lvalue) to every
/// start()/quorum_parallel call; it must outlive the executions that use it (every handle
/// joined or destroyed). The destructor runs every task still queued, then joins the workers:
/// destroying it under an undecided execution whose running branches wait for a decision
/// that a queued branch would make waits for ever. execute() and bulk_execute() may be called
/// from any number of threads at once.
class pool_executor {
  // One submission: n tasks, task i is run(i). Claimed index by index with fetch_add.
  struct job_base {
    job_base(std::size_t count, std::atomic<std::size_t>* errs) noexcept : n(count), errors(errs) {}
    job_base(const job_base&) = delete;
    job_base& operator=(const job_base&) = delete;
    virtual ~job_base() = default;
    virtual void run(std::size_t i) noexcept = 0;

    // The next unclaimed index, or n when all are claimed. relaxed: the index is the only
    // thing handed over; the job itself was published by the queue's mutex (to workers) or
    // by the submitting thread's program order (to the caller's batch).
    std::size_t claim() noexcept {
      if (next.load(std::memory_order_relaxed) >= n) return n;  // no increment past the end
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      return i < n ? i : n;
    }
    [[nodiscard]] bool exhausted() const noexcept {
      return next.load(std::memory_order_relaxed) >= n;
    }

    const std::size_t n;
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> ended{0};  // tasks that returned (see job::run)
    std::atomic<std::size_t>* errors;   // the pool's count of tasks that threw
  };

  template <class F, bool Indexed>
  struct job final : job_base {
    template <class G>
    job(std::size_t count, std::atomic<std::size_t>* errs, G&& g)
        : job_base(count, errs), f(std::in_place, std::forward<G>(g)) {}
    void run(std::size_t i) noexcept override {
      try {
        if constexpr (Indexed)
          (*f)(i);
        else
          (*f)();
      } catch (...) {
        // Never let an exception escape a worker: count it (see errors()).
        errors->fetch_add(1, std::memory_order_relaxed);
      }
      // The task that ends last destroys the callable (and what it holds, e.g. an execution's
      // state), here and now: a job claimed to the end by its submitter can stay in the queue
      // until some worker looks at it again, and must not keep anything alive until then.
      // acq_rel: every other task's use of f happens-before this destruction.
      if (ended.fetch_add(1, std::memory_order_acq_rel) + 1 == n) f.reset();
    }
    std::optional<F> f;
  };

 public:
  /// A submitted batch, as seen by its submitter: run_one() claims one task of this batch that
  /// no worker has claimed yet and runs it on the calling thread. run_one() may be called from
  /// several threads at once (two threads joining one execution both help); the batch keeps
  /// the job until it is destroyed or assigned over, which must not overlap a run_one().
  class batch {
   public:
    batch() = default;
    explicit batch(std::shared_ptr<job_base> j) noexcept : j_(std::move(j)) {}

    /// Run one unclaimed task here; false when every task of the batch has been claimed (a
    /// load, past the end: claim() does not increment there).
    bool run_one() noexcept {
      if (!j_) return false;
      const std::size_t i = j_->claim();
      if (i == j_->n) return false;
      j_->run(i);
      return true;
    }

   private:
    std::shared_ptr<job_base> j_;
  };

  /// A pool of `threads` workers (hardware_concurrency() by default, at least one).
  /// Throws std::system_error when a worker cannot be started (the ones started are joined).
  explicit pool_executor(std::size_t threads = default_size()) {
    if (threads == 0) threads = 1;
    workers_.reserve(threads);
    try {
      for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
    } catch (...) {
      shut_down();  // the workers already started would otherwise wait on wake_ for ever
      throw;
    }
  }

  pool_executor(const pool_executor&) = delete;
  pool_executor& operator=(const pool_executor&) = delete;

  /// Runs what is still queued, then joins the workers.
  ~pool_executor() { shut_down(); }

  /// Queue one task (any `void()` callable, moved in).
  template <std::invocable F>
  void execute(F&& f) {
    push(std::make_shared<job<std::decay_t<F>, false>>(1, &errors_, std::forward<F>(f)), 1);
  }

  /// Queue n tasks at once: task i calls f(i). One push and at most one wake-up per sleeping
  /// worker. The returned batch lets the submitter run unclaimed tasks itself.
  template <class F>
  requires std::invocable<F&, std::size_t>
  [[nodiscard]] batch bulk_execute(std::size_t n, F&& f) {
    if (n == 0) return batch{};
    auto j = std::make_shared<job<std::decay_t<F>, true>>(n, &errors_, std::forward<F>(f));
    push(j, n);
    return batch(std::move(j));
  }

  /// Worker threads.
  [[nodiscard]] std::size_t size() const noexcept { return workers_.size(); }

  /// Tasks that ended with an exception (the pool drops the exception; quorum's own tasks
  /// never throw).
  [[nodiscard]] std::size_t errors() const noexcept {
    return errors_.load(std::memory_order_relaxed);
  }

  /// The default size: std::thread::hardware_concurrency(), or 2 when that is unknown.
  [[nodiscard]] static std::size_t default_size() noexcept {
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 2 : hw;
  }

 private:
  void shut_down() noexcept {
    {
      std::lock_guard lk(m_);
      stopping_ = true;
      wake_.fetch_add(1, std::memory_order_relaxed);
    }
    wake_.notify_all();
    workers_.clear();  // jthread: join
  }

  void push(std::shared_ptr<job_base> j, std::size_t n) {
    std::size_t wake;
    {
      std::lock_guard lk(m_);
      q_.push_back(std::move(j));
      wake = std::min(idle_, n);
      if (wake != 0) wake_.fetch_add(1, std::memory_order_relaxed);
    }
    // One notify per worker we need and that sleeps, none for workers already busy (they
    // look at the queue again before sleeping, under the mutex, so nothing is missed).
    if (wake == 0) return;
    if (wake >= workers_.size())
      wake_.notify_all();
    else
      for (std::size_t i = 0; i < wake; ++i) wake_.notify_one();
  }

  void work() noexcept {
    std::unique_lock lk(m_);
    for (;;) {
      if (q_.empty()) {
        if (stopping_) return;
        ++idle_;
        const std::uint32_t seen = wake_.load(std::memory_order_relaxed);
        lk.unlock();
        wake_.wait(seen, std::memory_order_relaxed);  // returns once wake_ is no longer `seen`
        lk.lock();
        --idle_;
        continue;
      }
      std::shared_ptr<job_base> j = q_.front();
      if (j->exhausted()) {  // claimed to the end (by workers or its submitter): retire it
        q_.pop_front();
        continue;
      }
      lk.unlock();
      for (std::size_t i; (i = j->claim()) != j->n;) j->run(i);
      j.reset();  // the job (and what its tasks hold) dies off the lock
      lk.lock();
    }
  }

  std::mutex m_;
  // Sleeping workers wait for this word to change; push() and shut_down() change it, under
  // m_, and then notify. Not a std::condition_variable: glibc's (2.36 here) can block the
  // notifying thread, in pthread_cond_signal/broadcast, until waiters it woke earlier have
  // been scheduled; that thread is the caller of start(), which on a busy machine then slept
  // in the submission itself (a quarter of all context switches of BM_Throughput/quorum_pool,
  // each one on the submitter; perf record -e context-switches).
  // No wake-up is lost: a worker reads the word under m_ before it unlocks, so a push that
  // wakes it takes m_ after that read and changes the word after it; the wait then returns at
  // once, or the notify that follows the change wakes it (a notify unblocks every waiter that
  // saw a value older than a change that happened-before the notify). relaxed: the word only
  // says "look again"; what there is to see (the queue) is read under m_, which orders it.
  std::atomic<std::uint32_t> wake_{0};
  std::deque<std::shared_ptr<job_base>> q_;  // guarded by m_
  std::size_t idle_ = 0;                     // workers waiting on wake_; guarded by m_
  bool stopping_ = false;                    // guarded by m_
  std::atomic<std::size_t> errors_{0};
  std::vector<std::jthread> workers_;  // last: started after the members they use
};

static_assert(executor<pool_executor>);

}  // namespace quorum
