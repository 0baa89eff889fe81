// quorum/retry.hpp — retrying a failed branch, like the seed's Step Functions Retry.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include "errors.hpp"

namespace quorum {

/// Randomisation of the wait between attempts.
enum class jitter {
  none,  ///< wait exactly the computed delay
  full,  ///< wait a uniform random time in [0, delay]
};

/// Per-branch retry. The defaults make one attempt. A retried branch is recorded once, with
/// its final outcome; the wait between attempts ends at once on a stop request (the decision or
/// the deadline).
struct retry {
  unsigned max_attempts = 1;                       ///< attempts in all (the seed: 6)
  std::chrono::nanoseconds interval{0};            ///< wait before the 2nd attempt (seed: 2 s)
  double backoff_rate = 2.0;                       ///< each wait is this much longer (seed: 2)
  std::optional<std::chrono::nanoseconds> max_delay{};  ///< cap on one wait
  quorum::jitter jitter = quorum::jitter::none;
  /// Which errors to retry; empty retries every error.
  std::function<bool(const std::exception_ptr&)> retry_if{};

  /// Throws invalid_options naming the field when a setting makes no sense.
  void validate() const {
    if (max_attempts == 0)
      throw invalid_options("quorum::retry.max_attempts = 0: at least one attempt is needed");
    if (interval.count() < 0)
      throw invalid_options("quorum::retry.interval = " + std::to_string(interval.count()) +
                            "ns is negative");
    if (!(backoff_rate >= 1.0) || !std::isfinite(backoff_rate))
      throw invalid_options("quorum::retry.backoff_rate = " + std::to_string(backoff_rate) +
                            " must be a finite number >= 1");
    if (max_delay && max_delay->count() < 0)
      throw invalid_options("quorum::retry.max_delay = " + std::to_string(max_delay->count()) +
                            "ns is negative");
  }

  /// The wait before attempt `next` (2 for the first retry): interval * backoff^(next-2),
  /// capped by max_delay, then jittered. Never overflows.
  template <class URBG>
  [[nodiscard]] std::chrono::nanoseconds delay_before(unsigned next, URBG& rng) const {
    using ns = std::chrono::nanoseconds;
    double d = static_cast<double>(interval.count()) *
               std::pow(backoff_rate, static_cast<double>(next >= 2 ? next - 2 : 0));
    double cap = max_delay ? static_cast<double>(max_delay->count())
                           : static_cast<double>(ns::max().count() / 2);
    d = std::min(d, cap);
    if (jitter == quorum::jitter::full && d > 0) d = std::uniform_real_distribution<double>(0, d)(rng);
    return ns(static_cast<ns::rep>(d));
  }

  /// Whether to retry error e after `attempts` attempts.
  [[nodiscard]] bool should_retry(unsigned attempts, const std::exception_ptr& e) const {
    if (attempts >= max_attempts) return false;
    if (!retry_if) return true;
    try {
      return retry_if(e);
    } catch (...) {
      return false;  // a predicate that throws does not retry
    }
  }
};

}  // namespace quorum
