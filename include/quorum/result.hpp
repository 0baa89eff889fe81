// quorum/result.hpp — what an execution decided and what each branch did.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace quorum {

/// The one decision an execution makes. Exactly one is ever made per execution.
enum class decision {
  quorum_met,   ///< the policy held: at least K successes were recorded (K votes, when weighted)
  unreachable,  ///< the policy can no longer hold: more than N-K failures were recorded (so many
                ///< votes failed that the rest cannot reach the threshold, when weighted)
  timed_out,    ///< the deadline passed while neither held
  cancelled,    ///< cancel() (or the handle's destructor) came first
};

/// Where one branch ended up.
enum class branch_status {
  succeeded,  ///< returned normally
  failed,     ///< threw (any type); the exception is kept in `error`
  cancelled,  ///< never started because the decision came first, threw after its stop
              ///< request, or was stopped while waiting to retry
  running,    ///< still running (only seen in a result taken at the decision, see on_late)
};

/// The stable lower-case name of a decision, as written in JSON ("quorum_met", ...).
[[nodiscard]] constexpr std::string_view to_string(decision d) noexcept {
  switch (d) {
    case decision::quorum_met: return "quorum_met";
    case decision::unreachable: return "unreachable";
    case decision::timed_out: return "timed_out";
    case decision::cancelled: return "cancelled";
  }
  return "unknown";
}

/// The stable lower-case name of a branch status ("succeeded", ...).
[[nodiscard]] constexpr std::string_view to_string(branch_status s) noexcept {
  switch (s) {
    case branch_status::succeeded: return "succeeded";
    case branch_status::failed: return "failed";
    case branch_status::cancelled: return "cancelled";
    case branch_status::running: return "running";
  }
  return "unknown";
}

/// Which moments an execution reads off its clock for its result. Each is a call to the clock
/// (the steady clock: about 25 ns on a VM), so the hottest paths may want fewer.
enum class timestamps {
  all,        ///< the execution's start and decision, and each branch's start and end (default)
  execution,  ///< only the execution's: result::started and result::decided_at (two reads)
  none,       ///< none: result::started and ::decided_at are left at the clock's epoch (the
              ///< result says so in result::timestamps; to_json writes elapsed_ms as null) and
              ///< every branch's started and finished stay empty. Deadlines, retries, hedging
              ///< and events still read the clock as they need.
};

namespace detail {
template <class T>
struct branch_value {
  static_assert(std::move_constructible<T>,
                "quorum: a branch's value is moved into the result, so the type a branch returns "
                "must be move-constructible (return a std::unique_ptr to it, or a type that is)");
  std::optional<T> value;  ///< the branch's return value, when it succeeded
};
template <>
struct branch_value<void> {};
}  // namespace detail

/// The outcome of one branch. `value` exists unless T is void.
template <class T>
struct branch_result : detail::branch_value<T> {
  using time_point = std::chrono::steady_clock::time_point;

  std::string name;                                ///< "Process 1", ... unless options.names
  branch_status status = branch_status::running;   ///< see branch_status
  std::exception_ptr error;                        ///< the last attempt's exception, if it threw
  unsigned attempts = 0;                           ///< attempts made (0 if it never started,
                                                   ///< and 0 while status is `running`)
  bool late = false;                               ///< finished after the decision (never counted)
  std::optional<time_point> started;               ///< first attempt began (execution's clock)
  std::optional<time_point> finished;              ///< last attempt ended (execution's clock)
};

/// The result of one execution. `branches` is in branch order.
template <class T>
struct result {
  using time_point = std::chrono::steady_clock::time_point;

  quorum::decision decision = quorum::decision::cancelled;
  std::string execution_id;
  std::vector<branch_result<T>> branches;
  std::optional<std::size_t> decided_by;  ///< the branch whose record decided (none on timeout/cancel)
  time_point started{};                   ///< when the execution began (execution's clock)
  time_point decided_at{};                ///< when the decision was made (execution's clock)
  std::optional<time_point> deadline;     ///< the deadline, if one was set
  std::size_t observer_errors = 0;        ///< how many observer calls threw (they are swallowed)
  std::exception_ptr observer_error;      ///< the first exception an observer threw
  /// Which times were stamped (options.timestamps): with `none`, started and decided_at are
  /// not times of this execution.
  quorum::timestamps timestamps = quorum::timestamps::all;

  /// Successes recorded before the decision: the ones that counted.
  [[nodiscard]] std::size_t successes() const noexcept { return count(branch_status::succeeded); }
  /// Failures recorded before the decision: the ones that counted.
  [[nodiscard]] std::size_t failures() const noexcept { return count(branch_status::failed); }
  /// Branches that finished after the decision (recorded once, never counted).
  [[nodiscard]] std::size_t late() const noexcept {
    std::size_t n = 0;
    for (const auto& b : branches) n += b.late ? 1 : 0;
    return n;
  }
  /// The values of the successes that counted (successes(): not late), in branch order: for a
  /// quorum read, the answers to compare. Copies them; `std::move(r).values()` moves them out
  /// instead (r's branches then hold moved-from values). Not for T = void.
  [[nodiscard]] std::vector<T> values() const&
    requires(!std::is_void_v<T> && std::copy_constructible<T>)
  {
    std::vector<T> v;
    v.reserve(successes());
    for (const auto& b : branches)
      if (counted(b)) v.push_back(*b.value);
    return v;
  }
  /// For a move-only T, a call that would copy meets this deleted overload, whose line says
  /// what to do (deleted rather than a static_assert: a `requires` test of it stays false).
  // clang-format off
  std::vector<T> values() const& requires(!std::is_void_v<T> && !std::copy_constructible<T>) = delete;  // quorum: values() copies, and this T cannot be copied: take them with std::move(r).values()
  // clang-format on
  [[nodiscard]] std::vector<T> values() &&
    requires(!std::is_void_v<T>)
  {
    std::vector<T> v;
    v.reserve(successes());
    for (auto& b : branches)
      if (counted(b)) v.push_back(std::move(*b.value));
    return v;
  }

  /// The indices of the successes that counted, in branch order: values()[j] is the value of
  /// branches[counted_branches()[j]] (which replica gave it, for a read repair, say).
  [[nodiscard]] std::vector<std::size_t> counted_branches() const {
    std::vector<std::size_t> v;
    v.reserve(successes());
    for (std::size_t i = 0; i < branches.size(); ++i)
      if (counted(branches[i])) v.push_back(i);
    return v;
  }

  /// True when the execution reached its quorum.
  [[nodiscard]] bool ok() const noexcept { return decision == quorum::decision::quorum_met; }

 private:
  // A success that counted: the branch returned before the decision (with a value, unless T
  // is void).
  [[nodiscard]] static bool counted(const branch_result<T>& b) noexcept {
    if constexpr (std::is_void_v<T>)
      return b.status == branch_status::succeeded && !b.late;
    else
      return b.status == branch_status::succeeded && !b.late && b.value.has_value();
  }
  [[nodiscard]] std::size_t count(branch_status s) const noexcept {
    std::size_t n = 0;
    for (const auto& b : branches) n += (b.status == s && !b.late) ? 1 : 0;
    return n;
  }
};

}  // namespace quorum
