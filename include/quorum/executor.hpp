// quorum/executor.hpp — where branches run.
//
// An executor is anything with `execute(f)` for a move-only `void()` callable f. The library
// hands it one task per branch; each task catches everything, so an executor never sees an
// exception from a branch. An executor passed as an rvalue is owned by the execution and
// destroyed on the thread that joins it, once every branch has ended: its destructor must wait
// for the tasks it was given (as thread_executor's joins its threads). If execute itself throws
// (the executor refuses work), start() cancels the execution, joins the tasks already handed out
// and rethrows to the caller: an execute() that throws must neither have run the task nor keep
// it to run later (the execution counts that branch as never started).
//
// An executor may also offer `bulk_execute(n, f)` (as pool_executor does): run f(0) .. f(n-1),
// returning a batch whose `run_one()` runs one task not yet claimed on the calling thread
// (false when none is left). start() then submits all N branches at once, and every thread
// joining the execution calls run_one() while it waits, from several threads at once: it
// must be safe for that. The batch is destroyed or assigned over only when no run_one() runs.
#pragma once

#include <concepts>
#include <thread>
#include <utility>
#include <vector>

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

/// One std::jthread per task (the default). Owns its threads: the destructor joins them.
/// execute() is called from one thread at a time (the one starting an execution). Passed as
/// an rvalue (the default), each execution owns one and joins it; passed as an lvalue, it keeps
/// the threads of every execution that used it until its join() or destructor: call join()
/// between executions, or keep a pool_executor for a long-lived executor.
class thread_executor {
 public:
  thread_executor() = default;
  thread_executor(thread_executor&&) noexcept = default;
  thread_executor& operator=(thread_executor&&) noexcept = default;
  ~thread_executor() = default;  // jthreads join

  template <std::invocable F>
  void execute(F&& f) {
    threads_.emplace_back(std::forward<F>(f));
  }

  /// Join every thread started so far.
  void join() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
  }

 private:
  std::vector<std::jthread> threads_;
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
