// quorum/executor.hpp — where branches run.
//
// An executor is anything with `execute(f)` for a `void()` callable f; the concept asks no more
// than a move-only f. The library hands it one task per branch; each task catches everything,
// so an executor never sees an exception from a branch. The tasks of execute() can also be
// copied (an executor may keep them in std::function): the first copy called runs the branch,
// and the others do nothing when called. A task whose every copy is destroyed uncalled (a pool
// destroyed with work queued) counts its branch as never started; before the decision, that
// cancels the execution, as an executor refusing work, and the branch's error says so. That
// ending runs the execution's observer, its store's cancel() and the branches' stop callbacks
// on the thread destroying the task, which may start executions on this executor again: an
// executor destroys the tasks it drops outside its own locks. After
// the decision a joiner does not wait for tasks still queued: it marks their branches never
// started, and the tasks return at once when they run. No task runs on the joiner: the
// executor chose where its tasks run (bulk_execute below offers that). So a caller that waits
// on a thread of the executor its branches queue on (quorum_parallel from a pool's own
// worker) ends at its timeout at best; give such an executor bulk_execute.
//
// An executor passed as an rvalue is owned by the execution and destroyed on the thread that
// joins it, once every branch has ended. Its destructor may wait for the threads it made (as
// thread_executor's joins them), and need not: a handle-like executor (an Asio executor, a
// pointer to a pool) ends nothing when destroyed, which is fine, since a task still queued
// then holds only the library's own state, freed when the task runs or dies; the pool it
// refers to must outlive its tasks, as for any work given to it. If execute itself throws
// (the executor refuses work), start() cancels the execution, waits for the branches already
// running (those still queued count as never started) and rethrows to the caller: an
// execute() that throws must neither have run the task nor keep it to run later (the
// execution counts that branch as never started).
//
// An executor may also offer `bulk_execute(n, f)` (as pool_executor does): run f(0) .. f(n-1),
// returning a batch whose `run_one()` runs one task not yet claimed on the calling thread
// (false when none is left). start() then submits all N branches at once, and every thread
// joining the execution calls run_one() while it waits, from several threads at once: it
// must be safe for that. The batch is destroyed or assigned over only when no run_one() runs.
#pragma once

#include <concepts>
#include <cstddef>
#include <iterator>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace quorum {

namespace detail {
// The least a task offers: callable once, move-only.
struct archetype_task {
  archetype_task() = default;
  archetype_task(archetype_task&&) = default;
  archetype_task& operator=(archetype_task&&) = default;
  void operator()() {}
};
}  // namespace detail

/// Runs tasks: `e.execute(std::move(task))`.
template <class E>
concept executor = requires(E& e, detail::archetype_task t) { e.execute(std::move(t)); };

/// One std::jthread per task (the default). Owns its threads: join() and the destructor join
/// them. Passed as an rvalue (the default), each execution owns one and joins it at its end.
/// Passed as an lvalue, it may be kept for a service's life and shared by threads that start
/// executions at once: execute() and join() are safe to call concurrently, and each execute()
/// first joins the threads whose task has returned, so it holds the threads still running
/// plus those that finished since its last call, not one per branch it ever ran. (A
/// pool_executor bounds the threads instead; this one starts one per branch, as many as run
/// at once.)
class thread_executor {
 public:
  // The shared part is made here, not at the first execute(): made there, two callers
  // starting at once both made it (found by the shared-executor test under TSan). A moved-from
  // executor makes a new one at its next execute(), so it must not be shared before that.
  thread_executor() : threads_(std::make_unique<held>()) {}
  thread_executor(thread_executor&&) noexcept = default;
  thread_executor& operator=(thread_executor&& o) noexcept {
    if (this != &o) {
      join();
      threads_ = std::move(o.threads_);
    }
    return *this;
  }
  ~thread_executor() { join(); }

  template <std::invocable F>
  void execute(F&& f) {
    if (!threads_) threads_ = std::make_unique<held>();
    held& h = *threads_;
    // The task is held here, outside the lock, until a thread has taken it: a task no thread
    // takes (the thread could not start, or the list could not grow) dies after the unlock.
    // Its destructor may end the branch and run the observer, the store and stop callbacks,
    // and one of those may call execute() on this executor: under the lock it waited for
    // ever (found by a review, with a failing pthread_create). Moved into the thread's
    // lambda, it would die inside std::jthread's constructor, still under the lock.
    auto task = std::make_unique<std::decay_t<F>>(std::forward<F>(f));
    std::lock_guard lk(h.m);
    h.reap();
    auto at = h.running.emplace(h.running.end());
    try {
      // The thread marks its own entry finished, under the lock, as its last step: the entry
      // (a list node, never moved) and `h` (heap, freed only after every thread is joined)
      // outlive it. The task is destroyed first, so a join under the lock in reap() waits
      // only for the thread to leave this lambda and run its thread_local destructors (one
      // that calls execute() on this executor would wait for ever). The thread owns the task
      // from its first step; `task` is only released after the jthread exists, never read,
      // so the moment both hold it is harmless.
      at->thread = std::jthread([&h, at, raw = task.get()] {
        std::unique_ptr<std::decay_t<F>> owned(raw);
        (*owned)();
        owned.reset();
        std::lock_guard done(h.m);
        at->finished = true;
        ++h.finished;
      });
    } catch (...) {
      h.running.erase(at);  // not started: nothing runs the task, which dies after the unlock
      throw;
    }
    (void)task.release();  // the thread's now
  }

  /// Join the threads started before the call. Threads another caller starts meanwhile are
  /// left for the next join() or the destructor; two join() calls at once share the threads
  /// out, so one may return while the other still joins. A task of this executor may call
  /// it: its own thread is left for a later join() (joining itself threw, and the jthread's
  /// destructor then ended the process; found by a review). The destructor must not run on
  /// one of its threads.
  void join() {
    if (!threads_) return;
    std::list<entry> all;
    {
      std::lock_guard lk(threads_->m);
      const auto self = std::this_thread::get_id();
      for (auto it = threads_->running.begin(); it != threads_->running.end();) {
        const auto next = std::next(it);
        if (it->thread.get_id() != self)
          all.splice(all.end(), threads_->running, it);  // the node moves, not the entry
        it = next;
      }
    }
    for (auto& e : all) e.thread.join();  // unlocked: each thread takes the lock to finish
  }

  /// Threads started and not yet joined: running, or finished since the last execute().
  [[nodiscard]] std::size_t threads_held() const {
    if (!threads_) return 0;
    std::lock_guard lk(threads_->m);
    return threads_->running.size();
  }

 private:
  struct entry {
    std::jthread thread;
    bool finished = false;  // its task returned (under held::m)
  };
  struct held {
    mutable std::mutex m;
    std::list<entry> running;
    std::size_t finished = 0;  // entries marked finished since the last reap (a hint)
    // Join and drop the threads whose task returned (each is at most past its last unlock).
    // Called under m; a scan only when one has finished since the last.
    void reap() {
      if (finished == 0) return;
      finished = 0;
      for (auto it = running.begin(); it != running.end();)
        if (it->finished) {
          it->thread.join();
          it = running.erase(it);
        } else {
          ++it;
        }
    }
  };
  std::unique_ptr<held> threads_;  // on the heap: its threads point into it, and it may move
};

/// Runs each task to completion on the calling thread, in order: deterministic, and the
/// floor of the library's bookkeeping. A branch blocking on its stop token blocks the caller
/// until the deadline's timer decides. Nothing else can: the handle whose cancel() would stop
/// it does not exist until start() returns; without a deadline such a branch blocks for ever.
class inline_executor {
 public:
  template <std::invocable F>
  void execute(F&& f) {
    std::forward<F>(f)();
  }
};

static_assert(executor<thread_executor>);
static_assert(executor<inline_executor>);

}  // namespace quorum
