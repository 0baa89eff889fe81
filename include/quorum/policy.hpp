// quorum/policy.hpp — when is the quorum met, and when can it no longer be met.
//
// Every policy resolves, for N branches, to one rule: each branch carries a number of votes
// (one by default) and the quorum is a vote total. The rule is met as soon as the votes of the
// successes reach the threshold, and unreachable as soon as the votes still possible (total
// minus the votes of the failures) fall below it. Stores decide with the resolved rule, so a
// weighted decision is exactly as atomic as a counted one.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "errors.hpp"

namespace quorum {

/// A policy resolved for a number of branches: votes per branch and the vote total needed.
struct rule {
  std::vector<std::uint32_t> votes{};  ///< votes per branch; empty means one vote each
  std::uint64_t threshold = 1;       ///< the vote total that meets the quorum
  std::uint64_t total = 0;           ///< the sum of all votes

  /// Votes of branch i.
  [[nodiscard]] std::uint32_t weight(std::size_t i) const noexcept {
    return votes.empty() ? 1u : votes[i];
  }
  /// The quorum holds with `yes` votes from successes.
  [[nodiscard]] bool met(std::uint64_t yes) const noexcept { return yes >= threshold; }
  /// The quorum can no longer hold once `no` votes have failed.
  [[nodiscard]] bool unreachable(std::uint64_t no) const noexcept { return total - no < threshold; }
};

/// How many successes (or which vote total) an execution needs. Build one with at_least(),
/// majority(), all(), any(), fraction(), weighted(), max_failures() or failure_fraction().
class policy {
 public:
  enum class kind { at_least, majority, all, any, fraction, weighted, max_failures, failure_fraction };

  [[nodiscard]] kind what() const noexcept { return kind_; }

  /// Resolve for n branches; throws invalid_options (naming the field and value) when the
  /// policy cannot be met by n branches at all.
  [[nodiscard]] rule resolve(std::size_t n) const {
    // No branches: nothing can succeed, so no policy holds; the rules below would say
    // otherwise (all() a threshold of 0, met before anything ran) or break (fraction's clamp
    // to [1, 0]). start() refuses this earlier; resolve() is public, for stores' users too.
    if (n == 0)
      throw invalid_options("quorum: a policy resolved for 0 branches: at least one is needed");
    rule r;
    r.total = n;
    switch (kind_) {
      case kind::at_least:
        // options.quorum is checked (and named) by start(); these name the policy itself.
        if (count_ == 0) throw invalid_options("quorum::at_least(0): the quorum must be at least 1");
        if (count_ > n)
          throw invalid_options("quorum::at_least(" + std::to_string(count_) +
                                ") is above the number of branches (" + std::to_string(n) + ")");
        r.threshold = count_;
        break;
      case kind::majority: r.threshold = n / 2 + 1; break;
      case kind::all: r.threshold = n; break;
      case kind::any: r.threshold = 1; break;
      case kind::fraction:
        check_fraction("fraction", p_);
        r.threshold = std::clamp<std::uint64_t>(round_up(p_ * static_cast<double>(n)), 1, n);
        break;
      case kind::max_failures:
        if (count_ >= n)
          throw invalid_options("quorum::max_failures(" + std::to_string(count_) +
                                ") tolerates every one of the " + std::to_string(n) +
                                " branches failing: at most N-1 failures can be tolerated");
        r.threshold = n - count_;
        break;
      case kind::failure_fraction: {
        if (!(p_ >= 0.0 && p_ < 1.0))
          throw invalid_options("quorum::failure_fraction(" + number(p_) + ") must be in [0, 1)");
        auto tolerated = std::min<std::uint64_t>(round_down(p_ * static_cast<double>(n)), n - 1);
        r.threshold = n - tolerated;
        break;
      }
      case kind::weighted: {
        if (votes_.size() != n)
          throw invalid_options("quorum::weighted: " + std::to_string(votes_.size()) +
                                " weights for " + std::to_string(n) + " branches");
        r.votes = votes_;
        r.total = std::accumulate(votes_.begin(), votes_.end(), std::uint64_t{0});
        if (threshold_ == 0) throw invalid_options("quorum::weighted: threshold = 0 must be at least 1");
        if (threshold_ > r.total)
          throw invalid_options("quorum::weighted: threshold = " + std::to_string(threshold_) +
                                " cannot be reached, the weights add up to " + std::to_string(r.total));
        r.threshold = threshold_;
        break;
      }
    }
    return r;
  }

  friend policy at_least(std::size_t k) noexcept;
  friend policy majority() noexcept;
  friend policy all() noexcept;
  friend policy any() noexcept;
  friend policy fraction(double p) noexcept;
  friend policy weighted(std::vector<std::uint32_t> votes, std::uint64_t threshold);
  friend policy max_failures(std::size_t f) noexcept;
  friend policy failure_fraction(double p) noexcept;

 private:
  explicit policy(kind k) noexcept : kind_(k) {}
  static std::string number(double p) { return detail::number_text(p); }
  // ceil/floor of x = p * n that forgive the rounding of p itself: 0.7 is stored as
  // 0.69999999999999996, and 0.7 * 10 computes as 7.000000000000001. The error of the product
  // is a few ulps of x, so the tolerance is relative (an absolute one, say 1e-9, is below one
  // ulp once N passes a few million and stops forgiving anything).
  static constexpr double slack = 4 * std::numeric_limits<double>::epsilon();
  static std::uint64_t round_up(double x) noexcept {
    return static_cast<std::uint64_t>(std::ceil(x - x * slack));
  }
  static std::uint64_t round_down(double x) noexcept {
    return static_cast<std::uint64_t>(std::floor(x + x * slack));
  }
  static void check_fraction(const char* what, double p) {
    if (!(p > 0.0 && p <= 1.0))
      throw invalid_options(std::string("quorum::") + what + "(" + number(p) + ") must be in (0, 1]");
  }

  kind kind_;
  std::size_t count_ = 0;
  double p_ = 0;
  std::vector<std::uint32_t> votes_;
  std::uint64_t threshold_ = 0;
};

/// At least k successes (what options.quorum = k means).
[[nodiscard]] inline policy at_least(std::size_t k) noexcept {
  policy p(policy::kind::at_least);
  p.count_ = k;
  return p;
}
/// More than half of the branches: N/2 + 1.
[[nodiscard]] inline policy majority() noexcept { return policy(policy::kind::majority); }
/// Every branch must succeed; the first failure decides unreachable.
[[nodiscard]] inline policy all() noexcept { return policy(policy::kind::all); }
/// One success is enough (a hedged request); unreachable only when every branch failed.
[[nodiscard]] inline policy any() noexcept { return policy(policy::kind::any); }
/// At least ceil(p * N) successes, p in (0, 1].
[[nodiscard]] inline policy fraction(double p) noexcept {
  policy r(policy::kind::fraction);
  r.p_ = p;
  return r;
}
/// Gifford voting: branch i carries votes[i]; met when the votes of successes reach threshold.
[[nodiscard]] inline policy weighted(std::vector<std::uint32_t> votes, std::uint64_t threshold) {
  policy r(policy::kind::weighted);
  r.votes_ = std::move(votes);
  r.threshold_ = threshold;
  return r;
}
/// Step Functions Map's ToleratedFailureCount: succeed unless more than f branches fail.
[[nodiscard]] inline policy max_failures(std::size_t f) noexcept {
  policy r(policy::kind::max_failures);
  r.count_ = f;
  return r;
}
/// Step Functions Map's ToleratedFailurePercentage, as a fraction p in [0, 1).
[[nodiscard]] inline policy failure_fraction(double p) noexcept {
  policy r(policy::kind::failure_fraction);
  r.p_ = p;
  return r;
}

}  // namespace quorum
