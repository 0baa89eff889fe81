// quorum/options.hpp — how one execution is run.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "clock.hpp"
#include "observer.hpp"
#include "policy.hpp"
#include "retry.hpp"

namespace quorum {

/// What get() on an execution handle waits for.
enum class late_completion {
  join,          ///< get() returns when every branch has ended (the default)
  return_early,  ///< get() returns at the decision; unfinished branches show as `running`, the
                 ///< handle keeps them owned and records them late; its destructor joins them
};

/// The settings of one execution. An aggregate: use designated initializers, e.g.
/// `quorum::options{.quorum = 2, .timeout = 15s}`. The order of the first two fields is part
/// of the contract.
struct options {
  /// K: the successes needed (at_least(K)). Leave 0 when `policy` is set instead.
  std::size_t quorum = 0;
  /// Time allowed from the start; none means no limit. Negative is rejected.
  std::optional<std::chrono::nanoseconds> timeout{};
  /// An absolute deadline on the execution's clock; the earlier of the two applies. A deadline
  /// already past is not an error: the execution decides timed_out at once.
  std::optional<std::chrono::steady_clock::time_point> deadline{};
  /// The record's key; generated (unique) when empty.
  std::string execution_id{};
  /// Branch names; "Process 1", "Process 2", ... when empty. Otherwise exactly one per branch,
  /// each a different one.
  std::vector<std::string> names{};
  /// A policy other than at_least(quorum): majority(), all(), any(), fraction(p), weighted(...).
  std::optional<quorum::policy> policy{};
  /// Retry of each failed branch (one attempt by default).
  quorum::retry retry{};
  /// Hedging: branch i starts i * hedge_delay after the first, less one delay for each branch
  /// that has failed so far (a failure hands its place to the next turn at once: a replica that
  /// refuses the connection costs no delay; a branch that retries fails once, with its last
  /// attempt), unless the decision came first (then it never starts and is reported
  /// cancelled). Zero starts all at once.
  std::chrono::nanoseconds hedge_delay{0};
  /// What execution::get() waits for; quorum_parallel always joins every branch.
  late_completion on_late = late_completion::join;
  /// The clock for the deadline, retries and hedging (not owned; must outlive the execution).
  /// Null means quorum::steady_clock.
  quorum::clock* clock = nullptr;
  /// Called with every event (see observer.hpp for the threading contract).
  quorum::observer observer{};
  /// Which times the result carries (see quorum::timestamps): by default the execution's start
  /// and decision and each branch's start and end, two clock reads per execution and two per
  /// branch. `execution` drops the branches' (JSON writes them as null); `none` drops all four.
  quorum::timestamps timestamps = quorum::timestamps::all;
  /// A stop request on this token cancels the execution, as execution::cancel() does: the
  /// caller's own cancellation (the incoming request's token, a std::jthread's) reaches the
  /// branches without a std::stop_callback of the caller's. Already requested at start: the
  /// execution decides `cancelled` and runs no branch. No effect once the handle has joined.
  std::stop_token cancel_on{};
};

}  // namespace quorum
