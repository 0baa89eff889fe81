// quorum/store_check.hpp — check a store against quorum::store's promises, at run time.
//
// `static_assert(quorum::store<S>)` checks that a store has the right calls. It cannot check
// that they keep the promises store.hpp describes: the decision comes at the K-th success (or
// the failure that makes K impossible) and never twice, a replay counts nothing, expire and
// cancel decide only an undecided execution, a held id is refused, and all of that holds with
// many threads recording at once. check_store() runs a store through those promises and says,
// in words, every one it saw broken:
//
//   #include <quorum/store_check.hpp>
//
//   my_store s;
//   for (const std::string& problem : quorum::check_store(s)) std::cerr << problem << "\n";
//
// It opens its own executions (ids starting with store_check_options::id_prefix) and closes
// each one it opened, also when a step throws. Meant for a store's tests: a check that passes
// is evidence, not proof (the threaded checks see the interleavings the machine happens to run).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <latch>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "errors.hpp"
#include "policy.hpp"
#include "result.hpp"
#include "store.hpp"

namespace quorum {

/// How check_store() runs.
struct store_check_options {
  std::size_t threads = 4;  ///< threads of the concurrent checks (2 at least)
  std::size_t rounds = 50;  ///< executions of each concurrent check, per thread for the
                            ///< open-record-close one
  /// Every execution id the check opens starts with this, then a random tag of this call.
  std::string id_prefix = "quorum-store-check-";
};

namespace detail {

// What a step of the store should have returned. Unset fields are not checked: expire and
// cancel say nothing defined about recorded_now or late.
struct expected_tally {
  std::size_t successes = 0, failures = 0;
  std::optional<quorum::decision> decision{};
  std::optional<std::size_t> decided_by{};
  bool decided_now = false;
  std::optional<bool> recorded_now{}, late{};
};

inline std::string describe(std::optional<quorum::decision> d) {
  return d ? std::string(to_string(*d)) : std::string("none");
}
inline std::string describe(std::optional<std::size_t> i) {
  return i ? std::to_string(*i) : std::string("none");
}
inline std::string describe(const tally& t) {
  return "{successes " + std::to_string(t.successes) + ", failures " + std::to_string(t.failures) +
         ", decision " + describe(t.decision) + ", decided_by " + describe(t.decided_by) +
         ", decided_now " + (t.decided_now ? "true" : "false") + ", recorded_now " +
         (t.recorded_now ? "true" : "false") + ", late " + (t.late ? "true" : "false") + "}";
}

// The record's branches in one letter each: '-' not recorded, s/f a success/failure on time,
// S/F one recorded after the decision.
inline std::string describe_branches(const execution_record& r) {
  std::string out;
  for (const auto& b : r.branches)
    out += !b.outcome ? '-' : *b.outcome == outcome::success ? (b.late ? 'S' : 's') : (b.late ? 'F' : 'f');
  return out;
}

template <class S>
class store_checker {
  using handle = typename S::handle;

 public:
  store_checker(S& s, store_check_options o) : s_(s), o_(std::move(o)) {
    if (o_.threads < 2) o_.threads = 2;
    if (o_.rounds == 0) o_.rounds = 1;
    std::random_device rd;
    tag_ = std::to_string((std::uint64_t{rd()} << 32) | rd()) + "-";
  }

  std::vector<std::string> run() {
    check("a count rule decides quorum_met at the K-th success", [this] { met_at_kth(); });
    check("a count rule decides unreachable at the (N-K+1)-th failure", [this] { unreachable(); });
    check("recording a branch again changes nothing", [this] { replays(); });
    check("expire and cancel decide once, and only an undecided execution", [this] { finishes(); });
    check("a held id is refused, and one opened again after close() starts empty",
          [this] { duplicates(); });
    check("a weighted rule decides by votes", [this] { weighted_votes(); });
    check("every branch counts, from 1 to 100 branches", [this] { sizes(); });
    check("threads recording one execution count each branch once and decide once",
          [this] { concurrent_records(); });
    check("threads opening, recording and closing executions of their own stay apart",
          [this] { concurrent_lifecycles(); });
    return std::move(problems_);
  }

 private:
  // One execution opened for a check; closed when the check is done with it, however it ends.
  class execution {
   public:
    execution(store_checker& c, const execution_spec& spec) : c_(c), h_(c.s_.open(spec)) {}
    execution(const execution&) = delete;
    execution& operator=(const execution&) = delete;
    ~execution() { close(); }

    tally record(std::size_t i, outcome o) { return c_.s_.record(h_, i, o); }
    tally expire() { return c_.s_.expire(h_); }
    tally cancel() { return c_.s_.cancel(h_); }
    execution_record snapshot() { return c_.s_.snapshot(h_); }
    void close() noexcept {
      if (!open_) return;
      open_ = false;
      try {
        c_.s_.close(h_);
      } catch (const std::exception& e) {
        c_.fail(std::string("close() threw: ") + e.what());
      } catch (...) {
        c_.fail("close() threw something that is not a std::exception");
      }
    }

   private:
    store_checker& c_;
    handle h_;
    bool open_ = true;
  };

  template <class F>
  void check(std::string_view name, F&& f) {
    name_ = name;
    failed_.store(false, std::memory_order_relaxed);
    try {
      f();
    } catch (const std::exception& e) {
      fail(std::string("the store threw: ") + e.what());
    } catch (...) {
      fail("the store threw something that is not a std::exception");
    }
  }

  // Called from the check's threads too: problems_ is under a lock. Only the first problem of a
  // check is kept; what follows from it would say the same thing again. failed_ is relaxed: it
  // orders nothing, the lock does; failed() is only a hint to stop a check early.
  void fail(const std::string& what) noexcept {
    try {
      std::lock_guard lk(m_);
      if (failed_.exchange(true, std::memory_order_relaxed)) return;
      problems_.push_back(std::string(name_) + ": " + what);
    } catch (...) {  // out of memory while reporting: the report is lost, not the process
    }
  }
  [[nodiscard]] bool failed() const noexcept { return failed_.load(std::memory_order_relaxed); }

  execution_spec spec(std::size_t n, quorum::rule r) {
    return execution_spec{o_.id_prefix + tag_ + std::to_string(next_id_++), n, std::move(r)};
  }
  execution_spec counted(std::size_t n, std::size_t k) { return spec(n, at_least(k).resolve(n)); }

  void expect(const tally& t, const expected_tally& w, std::string_view step) {
    const bool same = t.successes == w.successes && t.failures == w.failures &&
                      t.decision == w.decision && t.decided_by == w.decided_by &&
                      t.decided_now == w.decided_now &&
                      (!w.recorded_now || t.recorded_now == *w.recorded_now) &&
                      (!w.late || t.late == *w.late);
    if (same) return;
    tally want{w.successes, w.failures, w.decision, w.decided_by, w.decided_now,
               w.recorded_now.value_or(t.recorded_now), w.late.value_or(t.late)};
    fail(std::string(step) + " returned " + describe(t) + ", expected " + describe(want));
  }

  void expect(const execution_record& r, std::optional<quorum::decision> d,
              std::optional<std::size_t> by, std::size_t s, std::size_t f, std::string_view branches) {
    const std::string got = describe_branches(r);
    if (r.decision == d && r.decided_by == by && r.successes_at_decision == s &&
        r.failures_at_decision == f && got == branches)
      return;
    fail("snapshot() returned decision " + describe(r.decision) + ", decided_by " +
         describe(r.decided_by) + ", at the decision " + std::to_string(r.successes_at_decision) +
         " successes and " + std::to_string(r.failures_at_decision) + " failures, branches \"" + got +
         "\"; expected " + describe(d) + ", " + describe(by) + ", " + std::to_string(s) + " and " +
         std::to_string(f) + ", \"" + std::string(branches) +
         "\" (- not recorded, s/f on time, S/F late)");
  }

  static constexpr auto success = outcome::success;
  static constexpr auto failure = outcome::failure;
  static constexpr auto met = decision::quorum_met;

  void met_at_kth() {  // N = 5, K = 3
    execution x(*this, counted(5, 3));
    expect(x.record(0, success), {1, 0, {}, {}, false, true, false}, "record(0, success)");
    expect(x.record(1, failure), {1, 1, {}, {}, false, true, false}, "record(1, failure)");
    expect(x.record(2, success), {2, 1, {}, {}, false, true, false}, "record(2, success)");
    expect(x.record(3, success), {3, 1, met, 3, true, true, false},
           "record(3, success), the third success");
    expect(x.record(4, success), {4, 1, met, 3, false, true, true},
           "record(4, success) after the decision");
    expect(x.snapshot(), met, 3, 3, 1, "sfssS");
  }

  void unreachable() {  // N = 5, K = 3: the third failure leaves too few
    execution x(*this, counted(5, 3));
    expect(x.record(4, failure), {0, 1, {}, {}, false, true, false}, "record(4, failure)");
    expect(x.record(0, success), {1, 1, {}, {}, false, true, false}, "record(0, success)");
    expect(x.record(2, failure), {1, 2, {}, {}, false, true, false}, "record(2, failure)");
    expect(x.record(1, failure), {1, 3, decision::unreachable, 1, true, true, false},
           "record(1, failure), the third failure");
    expect(x.record(3, success), {2, 3, decision::unreachable, 1, false, true, true},
           "record(3, success) after the decision");
    expect(x.snapshot(), decision::unreachable, 1, 1, 3, "sffSf");
  }

  void replays() {
    execution x(*this, counted(3, 2));
    expect(x.record(0, success), {1, 0, {}, {}, false, true, false}, "record(0, success)");
    expect(x.record(0, success), {1, 0, {}, {}, false, false, false}, "record(0, success) again");
    expect(x.record(0, failure), {1, 0, {}, {}, false, false, false},
           "record(0, failure) after its success");
    expect(x.record(1, success), {2, 0, met, 1, true, true, false}, "record(1, success)");
    expect(x.record(1, success), {2, 0, met, 1, false, false, false},
           "record(1, success) again, after it decided");
    expect(x.record(2, failure), {2, 1, met, 1, false, true, true}, "record(2, failure), late");
    // A replay reports the branch's first record: late here.
    expect(x.record(2, success), {2, 1, met, 1, false, false, true}, "record(2, success) again");
    expect(x.snapshot(), met, 1, 2, 0, "ssF");
  }

  void finishes() {
    {
      execution x(*this, counted(3, 2));
      expect(x.record(0, success), {1, 0, {}, {}, false, true, false}, "record(0, success)");
      expect(x.expire(), {1, 0, decision::timed_out, {}, true}, "expire()");
      expect(x.expire(), {1, 0, decision::timed_out, {}, false}, "expire() again");
      expect(x.cancel(), {1, 0, decision::timed_out, {}, false}, "cancel() after expire()");
      expect(x.record(1, success), {2, 0, decision::timed_out, {}, false, true, true},
             "record(1, success) after expire()");
      expect(x.snapshot(), decision::timed_out, {}, 1, 0, "sS-");
    }
    {
      execution x(*this, counted(2, 2));
      expect(x.cancel(), {0, 0, decision::cancelled, {}, true}, "cancel()");
      expect(x.expire(), {0, 0, decision::cancelled, {}, false}, "expire() after cancel()");
      expect(x.record(0, failure), {0, 1, decision::cancelled, {}, false, true, true},
             "record(0, failure) after cancel()");
      expect(x.snapshot(), decision::cancelled, {}, 0, 0, "F-");
    }
    {
      execution x(*this, counted(2, 1));
      expect(x.record(1, success), {1, 0, met, 1, true, true, false}, "record(1, success)");
      expect(x.expire(), {1, 0, met, 1, false}, "expire() after the decision");
      expect(x.cancel(), {1, 0, met, 1, false}, "cancel() after the decision");
      expect(x.snapshot(), met, 1, 1, 0, "-s");
    }
  }

  // A held id is refused. Once closed, the store may keep the id (redis_store does, for its
  // ttl) or free it; if it opens it again, the record starts empty.
  void duplicates() {
    const execution_spec first = counted(2, 1);
    std::optional<execution> x;
    x.emplace(*this, first);
    try {
      execution again(*this, first);
      fail("a second open() of a held id returned a handle; it must throw duplicate_execution_id");
      return;
    } catch (const duplicate_execution_id&) {
    }  // any other exception is the check's "the store threw"
    expect(x->record(0, success), {1, 0, met, 0, true, true, false},
           "record(0, success) on the first execution, after the refused open()");
    x.reset();  // closes it
    std::optional<execution> y;
    try {
      y.emplace(*this, first);
    } catch (const duplicate_execution_id&) {
      return;  // the store keeps closed ids: allowed
    }
    expect(y->record(1, failure), {0, 1, {}, {}, false, true, false},
           "record(1, failure) on the id opened again after close()");
    expect(y->snapshot(), {}, {}, 0, 0, "-f");
  }

  void weighted_votes() {
    {  // votes 3, 1, 1; 3 needed: branch 0 alone meets it
      execution x(*this, spec(3, weighted({3, 1, 1}, 3).resolve(3)));
      expect(x.record(1, success), {1, 0, {}, {}, false, true, false}, "record(1, success), 1 vote");
      expect(x.record(0, success), {2, 0, met, 0, true, true, false}, "record(0, success), 3 votes");
      expect(x.snapshot(), met, 0, 2, 0, "ss-");
    }
    {  // votes 1, 1, 1, 2 (5 in all); 4 needed: branch 3 failing leaves 3
      execution x(*this, spec(4, weighted({1, 1, 1, 2}, 4).resolve(4)));
      expect(x.record(0, success), {1, 0, {}, {}, false, true, false}, "record(0, success), 1 vote");
      expect(x.record(3, failure), {1, 1, decision::unreachable, 3, true, true, false},
             "record(3, failure), 2 votes of 5 lost with 4 needed");
      expect(x.snapshot(), decision::unreachable, 3, 1, 1, "s--f");
    }
  }

  void sizes() {
    for (std::size_t n : {std::size_t{1}, std::size_t{29}, std::size_t{64}, std::size_t{65},
                          std::size_t{100}}) {
      if (failed()) return;
      const std::string in = " of " + std::to_string(n) + " branches";
      {  // K = N: every success but the last leaves it open; the last one meets it
        execution x(*this, counted(n, n));
        for (std::size_t i = n; i-- > 1;)
          expect(x.record(i, success), {n - i, 0, {}, {}, false, true, false},
                 "record(" + std::to_string(i) + ", success)" + in);
        expect(x.record(0, success), {n, 0, met, 0, true, true, false},
               "record(0, success), the last" + in);
        expect(x.snapshot(), met, 0, n, 0, std::string(n, 's'));
      }
      {  // K = N: the first failure makes it unreachable
        execution x(*this, counted(n, n));
        expect(x.record(n - 1, failure), {0, 1, decision::unreachable, n - 1, true, true, false},
               "record(" + std::to_string(n - 1) + ", failure) with K = N" + in);
      }
    }
  }

  // Each round: one execution of N = 16 with K from 1 to 16 and a pattern of outcomes; every
  // thread records every branch (from its own starting point, so they collide), and on odd
  // rounds one of them also calls expire() halfway. Exactly one call may decide; each branch
  // is recorded once; the record agrees with the decision.
  void concurrent_records() {
    constexpr std::size_t n = 16;
    const std::size_t threads = o_.threads;
    for (std::size_t round = 0; round < o_.rounds && !failed(); ++round) {
      const std::size_t k = round % n + 1;
      const auto outcome_of = [round](std::size_t i) {
        return ((round * 0x9E3779B9u) >> (i % 29)) & 1 ? failure : success;
      };
      execution x(*this, counted(n, k));
      std::atomic<std::size_t> deciding_calls{0};
      std::vector<std::atomic<std::size_t>> recorded(n);
      std::optional<quorum::decision> decided;  // written by the one deciding call
      std::mutex decided_m;
      const auto note_decision = [&](const tally& r) {
        if (!r.decided_now) return;
        deciding_calls.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lk(decided_m);
        decided = r.decision;
      };
      std::latch go(static_cast<std::ptrdiff_t>(threads));
      {
        std::vector<std::jthread> pool;
        for (std::size_t t = 0; t < threads; ++t)
          pool.emplace_back([&, t] {
            try {
              go.arrive_and_wait();
              for (std::size_t j = 0; j < n; ++j) {
                const std::size_t i = (j + t * n / threads) % n;
                const tally r = x.record(i, outcome_of(i));
                // Relaxed counts: the threads are joined before they are read.
                if (r.recorded_now) recorded[i].fetch_add(1, std::memory_order_relaxed);
                note_decision(r);
                if (t == 0 && j == n / 2 && round % 2) note_decision(x.expire());
              }
            } catch (const std::exception& e) {
              fail(std::string("the store threw: ") + e.what());
            } catch (...) {
              fail("the store threw something that is not a std::exception");
            }
          });
      }  // joined
      if (failed()) return;
      const std::string at = "round " + std::to_string(round) + " (K = " + std::to_string(k) + "): ";
      if (const auto c = deciding_calls.load(); c != 1) {
        fail(at + std::to_string(c) + " calls returned decided_now (exactly 1 must)");
        return;
      }
      for (std::size_t i = 0; i < n; ++i)
        if (const auto c = recorded[i].load(); c != 1) {
          fail(at + "branch " + std::to_string(i) + " was recorded_now by " + std::to_string(c) +
               " calls (exactly 1 must)");
          return;
        }
      consistent(x.snapshot(), k, decided, at);
    }
  }

  // Every branch recorded; the on-time counts are the counts at the decision; the decision is
  // the one its counts call for, and the one the deciding call returned.
  void consistent(const execution_record& r, std::size_t k, std::optional<quorum::decision> decided,
                  const std::string& at) {
    const std::size_t n = r.branches.size();
    std::size_t s = 0, f = 0;
    for (const auto& b : r.branches) {
      if (!b.outcome) return fail(at + "a branch every thread recorded is not in the snapshot");
      if (!b.late) ++(*b.outcome == success ? s : f);
    }
    const std::string counts = std::to_string(r.successes_at_decision) + " successes and " +
                               std::to_string(r.failures_at_decision) + " failures at the decision";
    if (r.decision != decided || !r.decision)
      return fail(at + "the snapshot's decision " + describe(r.decision) +
                  " is not the one the deciding call returned, " + describe(decided));
    if (s != r.successes_at_decision || f != r.failures_at_decision)
      return fail(at + counts + ", but " + std::to_string(s) + " and " + std::to_string(f) +
                  " branches not marked late");
    bool right = false;
    switch (*r.decision) {
      case decision::quorum_met: right = s == k && f <= n - k; break;
      case decision::unreachable: right = s < k && f == n - k + 1; break;
      case decision::timed_out: right = s < k && f <= n - k && !r.decided_by; break;
      case decision::cancelled: right = false; break;
    }
    if (right && r.decided_by) {
      const auto& b = r.branches[*r.decided_by];
      right = !b.late && b.outcome == (*r.decision == met ? success : failure);
    }
    if (!right)
      fail(at + "decision " + describe(r.decision) + " by " + describe(r.decided_by) + " with " +
           counts + " of " + std::to_string(n));
  }

  void concurrent_lifecycles() {
    std::vector<execution_spec> specs;  // made here: next_id_ is this thread's
    for (std::size_t i = 0; i < o_.threads * o_.rounds; ++i) specs.push_back(counted(3, 2));
    std::latch go(static_cast<std::ptrdiff_t>(o_.threads));
    std::vector<std::jthread> pool;
    for (std::size_t t = 0; t < o_.threads; ++t)
      pool.emplace_back([&, t] {
        try {
          go.arrive_and_wait();
          for (std::size_t round = 0; round < o_.rounds && !failed(); ++round) {
            execution x(*this, specs[t * o_.rounds + round]);
            const std::size_t first = round % 3;  // branch order varies by round
            expect(x.record(first, failure), {0, 1, {}, {}, false, true, false},
                   "record(" + std::to_string(first) + ", failure) on a fresh execution");
            expect(x.record((first + 1) % 3, success), {1, 1, {}, {}, false, true, false},
                   "the first success");
            expect(x.record((first + 2) % 3, success), {2, 1, met, (first + 2) % 3, true, true, false},
                   "the second success");
          }
        } catch (const std::exception& e) {
          fail(std::string("the store threw: ") + e.what());
        } catch (...) {
          fail("the store threw something that is not a std::exception");
        }
      });
  }

  S& s_;
  store_check_options o_;
  std::string tag_;
  std::size_t next_id_ = 0;
  std::string_view name_;
  std::atomic<bool> failed_{false};
  std::mutex m_;
  std::vector<std::string> problems_;
};

}  // namespace detail

/// Runs store `s` through the promises of quorum::store (see the top of this header) and
/// returns one sentence for each check it saw broken: empty when the store passed them all.
/// Each sentence names the check, the step and what the store returned against what it
/// should have. Every execution the check opens is closed again.
template <store S>
[[nodiscard]] std::vector<std::string> check_store(S& s, store_check_options options = {}) {
  return detail::store_checker<S>(s, std::move(options)).run();
}

}  // namespace quorum
