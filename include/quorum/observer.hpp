// quorum/observer.hpp — events of an execution, for progress views, logs and timelines.
//
// Threading contract: the observer is called from the worker threads running the branches,
// from the deadline's timer thread, from the thread calling cancel() or requesting stop on
// options::cancel_on's source, and from the thread starting the execution (its branches on
// inline_executor; a deadline already past at the start; cancel_on already requested),
// possibly at the same time: it must be safe to call concurrently. Events of one branch arrive
// in order (started, then attempt_failed/retry_started pairs, then one of succeeded/failed/
// late; a decision that comes while the branch waits to retry leaves its last attempt_failed
// without a retry_started, followed by `late` for that attempt). Events of different threads
// may interleave in any order: a `late` event can arrive before the `decided` event that the
// deciding thread is about to emit. Timestamps come from the execution's clock. An observer
// that throws is caught, counted in result::observer_errors and never breaks the execution.
// The observer must not destroy, move-assign over, join() or get() the handle of the execution
// it observes: those wait for the threads that call the observer (a call from a branch's thread
// waits for itself), and from the deadline's timer thread they would free the execution while
// the call that is running still uses it. Nor may it wait for the decision (wait(), wait_for(),
// wait_until()): the call may come from the branch whose record is about to decide, before it
// has published the decision. decided(), cancel() and record() are fine. The handle checks,
// through every observer call running on the thread (an observer may start an execution with
// an observer of its own): join(), get() and, before the decision, the waits throw
// std::logic_error (kept as result::observer_error, like any exception of the observer);
// destroying or assigning over the handle, which cannot throw, aborts with a message.
// The same holds for a std::stop_callback on a branch's stop token: it runs on the thread that
// requests the stop (the deadline's work, or the branch whose record decided), so join() and
// get() there throw std::logic_error (out of the callback, which ends the process: request_stop
// is noexcept) and destroying the handle aborts. From the thread calling cancel() they work.
// An executor that destroys a branch's task without running it before the decision (see
// executor.hpp) cancels the execution on the thread destroying it: the observer calls and the
// stop callbacks then run there (inside execute(), a pool's destructor, one of its workers),
// under the same rules as on a branch's thread.
// With on_late = join (the default), join() and get() return only after the observer calls
// for the decision (`decided`, `stop_requested`) have returned, whichever thread made them: an
// observer must not wait for a thread that is joining the execution. (With return_early, get()
// returns at the decision and does not wait for them.)
// With no observer set, no event is built at all (not even the clock is read).
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <string_view>

#include "result.hpp"

namespace quorum {

/// What happened.
enum class event_kind {
  started,         ///< a branch began its first attempt
  attempt_failed,  ///< an attempt threw and the branch waits to retry (unless the decision
                   ///< ends the wait: then its next event is `late`, not retry_started)
  succeeded,       ///< a branch succeeded before the decision
  failed,          ///< a branch failed (for good) before the decision
  decided,         ///< the execution decided (see decision, branch = the deciding branch)
  stop_requested,  ///< the branches not finished yet were asked to stop (after decided; not
                   ///< sent when every other branch had finished). Among them may be branches
                   ///< that never started: queued on the executor, or a hedge waiting for its
                   ///< turn; those end `cancelled` without a `started` event.
  late,            ///< a branch finished after the decision (see status)
  retry_started,   ///< a retry began: attempt (>= 2) started after its wait; the first is `started`
};

[[nodiscard]] constexpr std::string_view to_string(event_kind k) noexcept {
  switch (k) {
    case event_kind::started: return "started";
    case event_kind::attempt_failed: return "attempt_failed";
    case event_kind::succeeded: return "succeeded";
    case event_kind::failed: return "failed";
    case event_kind::decided: return "decided";
    case event_kind::stop_requested: return "stop_requested";
    case event_kind::late: return "late";
    case event_kind::retry_started: return "retry_started";
  }
  return "unknown";
}

/// One event. Views are valid only during the call.
struct event {
  event_kind kind;
  std::string_view execution_id;
  std::optional<std::size_t> branch;     ///< the branch, if the event is about one
  std::string_view branch_name;          ///< its name ("" when none)
  unsigned attempt = 0;                  ///< the attempt (1-based) for branch events
  std::chrono::steady_clock::time_point at;  ///< from the execution's clock
  std::optional<quorum::decision> decision;  ///< for decided
  std::optional<branch_status> status;   ///< for succeeded/failed/late
  std::exception_ptr error;              ///< for attempt_failed/failed/late failures
};

/// The observer: any callable taking an event. Set it in options::observer.
using observer = std::function<void(const event&)>;

}  // namespace quorum
