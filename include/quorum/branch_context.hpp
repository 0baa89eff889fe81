// quorum/branch_context.hpp — what a branch may ask about itself while it runs.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <stop_token>
#include <string_view>

#include "clock.hpp"
#include "errors.hpp"

namespace quorum {

namespace detail {
/// Selects branch_context's borrowing constructor. A tag rather than a pointer parameter, so
/// that `branch_context(name, i, 1, {}, std::nullopt, clock)` still means an empty owned token
/// (with a pointer overload, `{}` chose the pointer and the context held a null).
struct borrow_token_t {
  explicit borrow_token_t() = default;
};
inline constexpr borrow_token_t borrow_token{};
}  // namespace detail

/// Passed to branches declared as `T(quorum::branch_context&)`.
///
/// The context the library passes lives for one attempt and borrows the execution's stop
/// token: keep it (or a copy of it) no longer than the branch runs. A context built with the
/// public constructor owns its token and has no such limit.
class branch_context {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  branch_context(std::string_view name, std::size_t index, unsigned attempt, std::stop_token st,
                 std::optional<time_point> deadline, quorum::clock& c) noexcept
      : name_(name), index_(index), attempt_(attempt), own_(std::move(st)), st_(&own_),
        deadline_(deadline), clock_(&c) {}

  /// As above, but the token is borrowed and must outlive the context (and its copies): what
  /// the library passes its branches, sparing each attempt two reference-count updates of a
  /// token copy.
  branch_context(detail::borrow_token_t, std::string_view name, std::size_t index,
                 unsigned attempt, const std::stop_token& st, std::optional<time_point> deadline,
                 quorum::clock& c) noexcept
      : name_(name), index_(index), attempt_(attempt), st_(&st), deadline_(deadline),
        clock_(&c) {}

  // A copy borrows the original's token (it stays valid while the original's does).
  branch_context(const branch_context& o) noexcept
      : name_(o.name_), index_(o.index_), attempt_(o.attempt_), own_(o.own_),
        st_(o.st_ == &o.own_ ? &own_ : o.st_), deadline_(o.deadline_), clock_(o.clock_) {}
  branch_context& operator=(const branch_context& o) noexcept {
    if (this != &o) {
      name_ = o.name_;
      index_ = o.index_;
      attempt_ = o.attempt_;
      own_ = o.own_;
      st_ = o.st_ == &o.own_ ? &own_ : o.st_;
      deadline_ = o.deadline_;
      clock_ = o.clock_;
    }
    return *this;
  }
  ~branch_context() = default;

  [[nodiscard]] std::string_view name() const noexcept { return name_; }
  [[nodiscard]] std::size_t index() const noexcept { return index_; }
  /// 1 for the first attempt, 2 for the first retry, ...
  [[nodiscard]] unsigned attempt() const noexcept { return attempt_; }
  /// Requested at the decision: the branch should wind down. On inline_executor without a
  /// deadline nothing could request it while a branch runs, so its stop_possible() is false.
  [[nodiscard]] std::stop_token stop_token() const noexcept { return *st_; }
  /// The same token, so that a context goes where a std::stop_token is asked for: a generic
  /// branch `[](auto st) { ... }` receives a branch_context (the first form tried), and may
  /// still pass it to a function that takes a token or build a `std::stop_callback cb(st, f)`.
  operator std::stop_token() const noexcept { return *st_; }  // NOLINT(google-explicit-constructor)
  [[nodiscard]] bool stop_requested() const noexcept { return st_->stop_requested(); }
  /// Throws quorum::stopped if a stop was requested.
  void throw_if_stop_requested() const {
    if (st_->stop_requested()) throw stopped{};
  }
  /// The execution's deadline, if it has one.
  [[nodiscard]] std::optional<time_point> deadline() const noexcept { return deadline_; }
  /// The execution's clock (a manual_clock in tests).
  [[nodiscard]] quorum::clock& clock() const noexcept { return *clock_; }
  /// Sleep on the execution's clock; returns false (early) when a stop is requested.
  /// duration::max() sleeps until the stop request.
  template <class Rep, class Period>
  bool sleep_for(std::chrono::duration<Rep, Period> d) const {
    return clock_->sleep_until(detail::saturating_add(clock_->now(), d), *st_);
  }

 private:
  std::string_view name_;
  std::size_t index_;
  unsigned attempt_;
  std::stop_token own_;           // the token when the context owns one
  const std::stop_token* st_;    // &own_, or the borrowed token
  std::optional<time_point> deadline_;
  quorum::clock* clock_;
};

}  // namespace quorum
