// quorum/retry.hpp — retrying a failed branch, like the seed's Step Functions Retry.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
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
  /// With jitter::full: the seed of the random waits, for tests that must see the same waits
  /// on every run. Branch i's wait before attempt k is then drawn from a generator made from
  /// (seed, i, k) alone, whatever thread runs it and whenever. Empty (the default): a
  /// generator per thread, seeded from std::random_device.
  std::optional<std::uint64_t> jitter_seed{};

  /// The generator of branch `branch`'s wait before attempt `next` with jitter_seed set.
  [[nodiscard]] static std::minstd_rand seeded_engine(std::uint64_t seed, std::size_t branch,
                                                      unsigned next) noexcept {
    // splitmix64's mixing of the three: nearby branches and attempts get unrelated seeds.
    std::uint64_t z = seed + 0x9e3779b97f4a7c15u * (static_cast<std::uint64_t>(branch) + 1) +
                      0xbf58476d1ce4e5b9u * next;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return std::minstd_rand(static_cast<std::minstd_rand::result_type>(z % 2147483646u + 1u));
  }

  /// Throws invalid_options naming the field when a setting makes no sense.
  void validate() const {
    if (max_attempts == 0)
      throw invalid_options("quorum::retry.max_attempts = 0: at least one attempt is needed");
    if (interval.count() < 0)
      throw invalid_options("quorum::retry.interval = " + detail::duration_text(interval) +
                            " is negative");
    if (!(backoff_rate >= 1.0) || !std::isfinite(backoff_rate))
      throw invalid_options("quorum::retry.backoff_rate = " + detail::number_text(backoff_rate) +
                            " must be a finite number >= 1");
    if (max_delay && max_delay->count() < 0)
      throw invalid_options("quorum::retry.max_delay = " + detail::duration_text(*max_delay) +
                            " is negative");
  }

  /// The wait before attempt `next` (2 for the first retry): interval * backoff^(next-2),
  /// capped by max_delay, then with jitter::full drawn uniformly from [0, that]. Computed in
  /// double but never converted back out of range: whatever does not fit below the cap (an
  /// overflowing power included) is the cap itself. Without max_delay the cap is
  /// nanoseconds::max(), so a caller adding the wait to a time point must saturate.
  template <class URBG>
  [[nodiscard]] std::chrono::nanoseconds delay_before(unsigned next, URBG& rng) const {
    using ns = std::chrono::nanoseconds;
    const ns cap = max_delay ? *max_delay : ns::max();
    ns d = cap;
    if (interval.count() == 0) {
      d = ns::zero();  // also keeps 0 * inf (a huge exponent) from becoming NaN
    } else {
      const double x = static_cast<double>(interval.count()) *
                       std::pow(backoff_rate, static_cast<double>(next >= 2 ? next - 2 : 0));
      // x < cap <= 2^63 - 1 (as double: at most 2^63 - 1024), so the cast is in range.
      // Rounded, not truncated: a rate such as 1.2 is stored a little low, and 1 s * 1.2^3
      // computes as 1727999999.9999998 ns. Still at most the cap: below 2^53 whole numbers
      // are exact, so x < cap rounds to cap at most; from 2^53 up x is a whole number already.
      if (x < static_cast<double>(cap.count())) d = ns(static_cast<ns::rep>(std::round(x)));
    }
    if (jitter == quorum::jitter::full && d > ns::zero())
      d = ns(std::uniform_int_distribution<ns::rep>(0, d.count())(rng));
    return d;
  }

  /// The same for branch `branch`, drawn as jitter_seed asks: from seeded_engine(seed, branch,
  /// next) when it is set, from `fallback` (the caller's per-thread generator) when not.
  template <class URBG>
  [[nodiscard]] std::chrono::nanoseconds delay_before(unsigned next, std::size_t branch,
                                                      URBG& fallback) const {
    if (!jitter_seed) return delay_before(next, fallback);
    auto rng = seeded_engine(*jitter_seed, branch, next);
    return delay_before(next, rng);
  }

  /// Whether to retry error e after `attempts` attempts: attempts are left and retry_if (if
  /// set) accepts e. A retry_if that throws means no.
  [[nodiscard]] bool should_retry(unsigned attempts, const std::exception_ptr& e) const {
    if (attempts >= max_attempts || !e) return false;
    if (!retry_if) return true;
    try {
      return retry_if(e);
    } catch (...) {
      return false;  // a predicate that throws does not retry
    }
  }
};

namespace detail {
template <class E, class... Es>
bool is_one_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const E&) {
    return true;
  } catch (...) {
  }
  if constexpr (sizeof...(Es) > 0)
    return is_one_of<Es...>(e);
  else
    return false;
}
}  // namespace detail

/// A retry_if predicate that retries errors of the given exception types (or derived from
/// them) and nothing else, e.g. `.retry_if = quorum::retry_on<transient_error>()`.
template <class E, class... Es>
[[nodiscard]] std::function<bool(const std::exception_ptr&)> retry_on() {
  return [](const std::exception_ptr& e) { return e && detail::is_one_of<E, Es...>(e); };
}

}  // namespace quorum
