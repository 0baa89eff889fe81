// quorum/store_check.hpp — check a store against quorum::store's promises, at run time.
//
// `static_assert(quorum::store<S>)` checks that a store has the right calls. It cannot check
// that they keep the promises store.hpp describes: the decision comes at the K-th success (or
// the failure that makes K impossible) and never twice, a replay counts nothing, expire and
// cancel decide only an undecided execution, a held id is refused (also to threads opening it
// at once), a snapshot is consistent, and all of that holds with many threads recording at once
// (and through the optional exclusive record, for a store that offers one). check_store() runs
// a store through those promises and says, in words, every one it saw broken:
//
//   #include <quorum/store_check.hpp>
//
//   my_store s;
//   for (const std::string& problem : quorum::check_store(s)) std::cerr << problem << "\n";
//
// It opens its own executions (ids starting with store_check_options::id_prefix) and closes
// each one it opened, also when a step throws. Meant for a store's tests: a check that passes
// is evidence, not proof (the threaded checks see the interleavings the machine happens to run).
// What a store returns is never trusted: an index it hands back is checked before it is used,
// so a broken store is reported, not crashed on (a store that blocks for ever still hangs it).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
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
  std::size_t threads = 4;    ///< threads of the concurrent checks (2 at least)
  /// Executions of each concurrent check, per thread for the open-record-close one. A race is
  /// caught only when the machine happens to interleave the threads inside it. Of two stores
  /// whose record() took no lock at all, on two cores, one passed 50 rounds in half of its runs
  /// and the other in all of them; at 250 rounds the first passed a third of its runs, at 1,000
  /// neither passed any (20 runs each) on a quiet machine, and with both cores busy a quarter
  /// to a half of them passed: build a store's test with -fsanitize=thread too. About 0.1 s for
  /// an in-process store (-O2); a store with round trips (Redis) may want fewer.
  std::size_t rounds = 1000;
  /// Every execution id the check opens starts with this, then a tag of this call's own
  /// (unique in the process, random across processes).
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

inline std::string text_of(std::optional<quorum::decision> d) {
  return d ? std::string(to_string(*d)) : std::string("none");
}
inline std::string text_of(std::optional<std::size_t> i) {
  return i ? std::to_string(*i) : std::string("none");
}
inline std::string text_of(const tally& t) {
  return "{successes " + std::to_string(t.successes) + ", failures " + std::to_string(t.failures) +
         ", decision " + text_of(t.decision) + ", decided_by " + text_of(t.decided_by) +
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

inline std::string_view text_of(outcome o) {
  return o == outcome::success ? "success" : "failure";
}

// The threads of check_store's concurrent checks: started once, by the first check that needs
// them, and released together for every round of every check. Each round used to start
// threads of its own: 4,800 of them in a default check_store, most of its time (0.2 to 2.5 s
// on two busy cores, in the kernel), and far more under ThreadSanitizer.
class check_crew {
 public:
  check_crew() = default;
  check_crew(const check_crew&) = delete;
  check_crew& operator=(const check_crew&) = delete;
  ~check_crew() {
    {
      std::lock_guard lk(m_);
      stopping_ = true;
    }
    go_.notify_all();
  }  // then threads_, the last member, joins them

  // Starts threads until there are n; a thread the system refuses ends the starting, and
  // error() says why. Called between rounds only. Returns how many threads there are.
  std::size_t grow_to(std::size_t n) {
    threads_.reserve(n);  // emplace_back below only starts a thread, or throws having started none
    error_.clear();
    while (threads_.size() < n) {
      try {
        // round_ is written by the caller's thread only, between rounds: this is that thread.
        threads_.emplace_back([this, t = threads_.size(), seen = round_] { serve(t, seen); });
      } catch (const std::exception& e) {
        error_ = e.what();
        break;
      }
    }
    return threads_.size();
  }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

  // Runs body(t) on every thread t of the crew and returns when all have; body must not throw.
  // The lock orders the caller's writes before the round and the threads' writes in it before
  // the return, as the start and the join of threads of its own did.
  template <class F>
  void run(F& body) {
    std::unique_lock lk(m_);
    body_ = &body;
    call_ = [](void* b, std::size_t t) { (*static_cast<F*>(b))(t); };
    left_ = threads_.size();
    arrived_.store(0, std::memory_order_relaxed);  // read by the round's threads after the lock
    ++round_;
    go_.notify_all();
    done_.wait(lk, [this] { return left_ == 0; });
  }

 private:
  void serve(std::size_t t, std::size_t seen) {  // seen: the last round this thread ran
    for (;;) {
      void* body = nullptr;
      void (*call)(void*, std::size_t) = nullptr;
      std::size_t crew = 0;  // threads in this round
      {
        std::unique_lock lk(m_);
        go_.wait(lk, [&] { return stopping_ || round_ != seen; });
        if (stopping_) return;
        seen = round_;
        body = body_;
        call = call_;
        crew = left_;
      }
      // Lined up: no thread begins before every thread of the round is awake. Woken one after
      // another from the condition variable, the first ran its whole part before the last woke:
      // docs/stores.md's skeleton without the lock in record() passed 17 and 20 of 20 default
      // checks. Lined up, it passed 4 to 8 of 20, as it did with threads started anew for each
      // round, measured in the same minutes (6 to 10 of 20; two busy cores). Relaxed: the
      // count orders nothing, the lock does; yield after a while, for a crew larger than the
      // machine's cores.
      arrived_.fetch_add(1, std::memory_order_relaxed);
      for (std::size_t spins = 0; arrived_.load(std::memory_order_relaxed) < crew; ++spins)
        if (spins >= 1000) std::this_thread::yield();
      call(body, t);
      std::lock_guard lk(m_);
      if (--left_ == 0) done_.notify_one();
    }
  }

  std::mutex m_;
  std::condition_variable go_, done_;
  std::size_t round_ = 0, left_ = 0;
  bool stopping_ = false;
  std::atomic<std::size_t> arrived_{0};  // threads of the round that have woken
  void* body_ = nullptr;
  void (*call_)(void*, std::size_t) = nullptr;
  std::string error_;
  std::vector<std::jthread> threads_;  // last: joined before the members they use go
};

template <class S>
class store_checker {
  using handle = typename S::handle;

 public:
  store_checker(S& s, store_check_options o) : s_(s), o_(std::move(o)) {
    if (o_.threads < 2) o_.threads = 2;
    if (o_.rounds == 0) o_.rounds = 1;
    detail::make_execution_id(tag_);  // unique in the process, random across processes
    tag_ += '-';
  }

  std::vector<std::string> run() {
    // The checks of one thread at a time, by name; run again below through the exclusive
    // record when the store offers one.
    const std::pair<std::string_view, void (store_checker::*)()> one_thread[] = {
        {"a count rule decides quorum_met at the K-th success", &store_checker::met_at_kth},
        {"a count rule decides unreachable at the (N-K+1)-th failure", &store_checker::unreachable},
        {"recording a branch again changes nothing", &store_checker::replays},
        {"expire and cancel decide once, and only an undecided execution",
         &store_checker::finishes},
        {"a held id is refused, and one opened again after close() starts empty",
         &store_checker::duplicates},
        {"a weighted rule decides by votes", &store_checker::weighted_votes},
        {"every branch counts, from 1 to 100 branches", &store_checker::sizes},
    };
    std::vector<std::string_view> passed;
    bool refuses_held = false;  // the one-thread duplicate check passed
    for (const auto& [name, f] : one_thread)
      if (check(name, [this, f = f] { (this->*f)(); })) {
        passed.push_back(name);
        refuses_held = refuses_held || f == &store_checker::duplicates;
      }
    check("threads recording one execution count each branch once and decide once",
          [this] { concurrent_records(); });
    check("threads opening, recording and closing executions of their own stay apart",
          [this] { concurrent_lifecycles(); });
    // Only a store that refuses a held id on one thread: one that hands the held record out
    // again (reported above) would be closed here once per handle.
    if (refuses_held)
      check("threads opening one id at once: exactly one open() succeeds",
            [this] { concurrent_opens(); });
    if constexpr (exclusive_recording<S>) {
      // The library calls record(h, i, o, quorum::exclusive) when one thread runs the whole
      // execution: a second implementation of the record step that needs the same checks. Only
      // the checks that passed above: a flaw they found would be reported twice.
      exclusive_ = true;
      for (const auto& [name, f] : one_thread)
        if (std::find(passed.begin(), passed.end(), name) != passed.end())
          check(std::string(name) + " (record with quorum::exclusive)",
                [this, f = f] { (this->*f)(); });
      exclusive_ = false;
    }
    return std::move(problems_);
  }

 private:
  // One execution opened for a check; closed when the check is done with it, however it ends.
  // Each call names itself in the report when the store throws (then rethrows, to end the
  // check: the report keeps only the first problem of a check, this one).
  class execution {
   public:
    execution(store_checker& c, const execution_spec& spec)
        : c_(c), id_(spec.id), h_(open(c, spec)) {}
    // Takes over a handle open() returned outside an execution: closes it at the end.
    execution(store_checker& c, std::string id, handle h)
        : c_(c), id_(std::move(id)), h_(std::move(h)) {}
    execution(const execution&) = delete;
    execution& operator=(const execution&) = delete;
    ~execution() { close(); }

    tally record(std::size_t i, outcome o) {
      return step(
          [&] { return c_.record(h_, i, o); },
          [&] { return "record(" + std::to_string(i) + ", " + std::string(text_of(o)) + ")"; });
    }
    tally expire() {
      return step([&] { return c_.s_.expire(h_); }, [] { return std::string("expire()"); });
    }
    tally cancel() {
      return step([&] { return c_.s_.cancel(h_); }, [] { return std::string("cancel()"); });
    }
    execution_record snapshot() {
      return step([&] { return c_.s_.snapshot(h_); }, [] { return std::string("snapshot()"); });
    }
    [[nodiscard]] const std::string& id() const noexcept { return id_; }
    [[nodiscard]] const handle& raw() const noexcept { return h_; }
    // Forget the handle without closing it: another execution closes the same record.
    void release() noexcept { open_ = false; }
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
    // duplicate_execution_id passes unreported: the duplicates check expects it, and check()
    // reports it anywhere else (the store's own words name the id it found held).
    static handle open(store_checker& c, const execution_spec& spec) {
      try {
        return c.s_.open(spec);
      } catch (const duplicate_execution_id&) {
        throw;
      } catch (const std::exception& e) {
        c.fail("open() of \"" + spec.id + "\" threw: " + e.what());
        throw;
      } catch (...) {
        c.fail("open() of \"" + spec.id + "\" threw something that is not a std::exception");
        throw;
      }
    }
    template <class F, class Name>
    auto step(F&& f, Name&& name) {
      try {
        return f();
      } catch (const std::exception& e) {
        c_.fail(name() + " threw: " + e.what());
        throw;
      } catch (...) {
        c_.fail(name() + " threw something that is not a std::exception");
        throw;
      }
    }

    store_checker& c_;
    std::string id_;
    handle h_;
    bool open_ = true;
  };

  // The record step, through the exclusive overload while the exclusive checks run (they run
  // on one thread: the promise exclusive_t asks of the caller holds).
  tally record(const handle& h, std::size_t i, outcome o) {
    if constexpr (exclusive_recording<S>) {
      if (exclusive_) return s_.record(h, i, o, exclusive);
    }
    return s_.record(h, i, o);
  }

  // Runs one check; true if it found nothing wrong.
  template <class F>
  bool check(std::string_view name, F&& f) {
    name_.assign(name);
    failed_.store(false, std::memory_order_relaxed);
    try {
      f();
    } catch (const std::exception& e) {
      fail(std::string("the store threw: ") + e.what());
    } catch (...) {
      fail("the store threw something that is not a std::exception");
    }
    return !failed();
  }

  // Called from the check's threads too: problems_ is under a lock. Only the first problem of a
  // check is kept; what follows from it would say the same thing again. failed_ is relaxed: it
  // orders nothing, the lock does; failed() is only a hint to stop a check early.
  void fail(const std::string& what) noexcept {
    try {
      std::lock_guard lk(m_);
      if (failed_.exchange(true, std::memory_order_relaxed)) return;
      problems_.push_back(name_ + ": " + what);
    } catch (...) {  // out of memory while reporting: the report is lost, not the process
    }
  }
  [[nodiscard]] bool failed() const noexcept { return failed_.load(std::memory_order_relaxed); }

  // Runs body(t) on the crew's o_.threads threads, released together, and returns when each has
  // run it. Whatever a thread throws is reported. The crew starts with the first check that
  // needs it, and is made whole again before each round: a thread the system refuses to start
  // is reported (the check did not run as asked), and the round runs on the threads there are.
  template <class F>
  void on_threads(F&& body) {
    if (!crew_) crew_.emplace();
    if (const std::size_t started = crew_->grow_to(o_.threads); started < o_.threads)
      fail("could not start thread " + std::to_string(started + 1) + " of " +
           std::to_string(o_.threads) + " (" + crew_->error() + "): the check ran on " +
           std::to_string(started));
    auto guarded = [&](std::size_t t) noexcept {
      try {
        body(t);
      } catch (const std::exception& e) {
        fail(std::string("the store threw: ") + e.what());
      } catch (...) {
        fail("the store threw something that is not a std::exception");
      }
    };
    crew_->run(guarded);
  }

  execution_spec spec(std::size_t n, quorum::rule r) {
    return execution_spec{o_.id_prefix + tag_ + std::to_string(next_id_++), n, std::move(r)};
  }
  execution_spec counted(std::size_t n, std::size_t k) { return spec(n, at_least(k).resolve(n)); }

  void expect(const tally& t, const expected_tally& w, std::string_view step) {
    // The fields that differ, named after the two tallies, so that one wrong field of seven
    // need not be found by eye.
    std::string differ;
    const auto field = [&](bool same, const char* name) {
      if (!same) differ += (differ.empty() ? "" : ", ") + std::string(name);
    };
    field(t.successes == w.successes, "successes");
    field(t.failures == w.failures, "failures");
    field(t.decision == w.decision, "decision");
    field(t.decided_by == w.decided_by, "decided_by");
    field(t.decided_now == w.decided_now, "decided_now");
    field(!w.recorded_now || t.recorded_now == *w.recorded_now, "recorded_now");
    field(!w.late || t.late == *w.late, "late");
    if (differ.empty()) return;
    tally want{w.successes, w.failures, w.decision, w.decided_by, w.decided_now,
               w.recorded_now.value_or(t.recorded_now), w.late.value_or(t.late)};
    fail(std::string(step) + " returned " + text_of(t) + ", expected " + text_of(want) +
         " (differs in " + differ + ")");
  }

  // x's snapshot, against what it should hold.
  void expect(execution& x, std::optional<quorum::decision> d, std::optional<std::size_t> by,
              std::size_t s, std::size_t f, std::string_view branches) {
    const execution_record r = x.snapshot();
    if (r.id != x.id())
      return fail("snapshot() returned id \"" + r.id + "\", expected \"" + x.id() + "\"");
    const std::string got = describe_branches(r);
    if (r.decision == d && r.decided_by == by && r.successes_at_decision == s &&
        r.failures_at_decision == f && got == branches)
      return;
    fail("snapshot() returned decision " + text_of(r.decision) + ", decided_by " +
         text_of(r.decided_by) + ", at the decision " + std::to_string(r.successes_at_decision) +
         " successes and " + std::to_string(r.failures_at_decision) + " failures, branches \"" + got +
         "\"; expected " + text_of(d) + ", " + text_of(by) + ", " + std::to_string(s) + " and " +
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
    expect(x, met, 3, 3, 1, "sfssS");
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
    expect(x, decision::unreachable, 1, 1, 3, "sffSf");
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
    expect(x, met, 1, 2, 0, "ssF");
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
      expect(x, decision::timed_out, {}, 1, 0, "sS-");
    }
    {
      execution x(*this, counted(2, 2));
      expect(x.cancel(), {0, 0, decision::cancelled, {}, true}, "cancel()");
      expect(x.expire(), {0, 0, decision::cancelled, {}, false}, "expire() after cancel()");
      expect(x.record(0, failure), {0, 1, decision::cancelled, {}, false, true, true},
             "record(0, failure) after cancel()");
      expect(x, decision::cancelled, {}, 0, 0, "F-");
    }
    {
      execution x(*this, counted(2, 1));
      expect(x.record(1, success), {1, 0, met, 1, true, true, false}, "record(1, success)");
      expect(x.expire(), {1, 0, met, 1, false}, "expire() after the decision");
      expect(x.cancel(), {1, 0, met, 1, false}, "cancel() after the decision");
      expect(x, met, 1, 1, 0, "-s");
    }
  }

  // A held id is refused, and the refusal leaves the held record as it was. Once closed, the
  // store may keep the id (redis_store does, for its ttl) or free it; if it opens it again,
  // the record starts empty.
  void duplicates() {
    const execution_spec first = counted(2, 1);
    std::optional<execution> x;
    x.emplace(*this, first);
    // A vote the held record must keep through the refused open(): a store that builds the
    // new record over the held one before it finds the id held loses it.
    expect(x->record(0, failure), {0, 1, {}, {}, false, true, false},
           "record(0, failure) on the first execution");
    std::optional<handle> again;
    try {
      again.emplace(s_.open(first));
    } catch (const duplicate_execution_id&) {
    } catch (const std::exception& e) {
      return fail("a second open() of a held id threw \"" + std::string(e.what()) +
                  "\"; it must throw quorum::duplicate_execution_id");
    } catch (...) {
      return fail(
          "a second open() of a held id threw something that is not a std::exception; "
          "it must throw quorum::duplicate_execution_id");
    }
    if (again) {
      // A store that hands out the held record again (a get-or-create open) must see one
      // close() of it, not two: the second would end a record that is gone. A record through
      // the second handle shows in the first one's snapshot if they are the same record.
      execution y(*this, first.id, std::move(*again));
      bool same = false;
      try {
        (void)s_.record(y.raw(), 1, failure);
        const execution_record r = s_.snapshot(x->raw());
        same = r.branches.size() == 2 && r.branches[1].outcome.has_value();
      } catch (...) {  // the probe says nothing; the report below is the same
      }
      if (same) y.release();
      return fail(std::string("a second open() of a held id returned a handle") +
                  (same ? " to the held record itself" : "") +
                  "; it must throw quorum::duplicate_execution_id");
    }
    expect(x->record(1, success), {1, 1, met, 1, true, true, false},
           "record(1, success) on the first execution, after the refused open() (which must "
           "leave the held record as it was)");
    x.reset();  // closes it
    std::optional<handle> h;  // a handle need not be default-constructible
    try {
      h.emplace(s_.open(first));
    } catch (const duplicate_execution_id&) {
      return;  // the store keeps closed ids: allowed
    } catch (const std::exception& e) {
      return fail("open() of the id again after close() threw \"" + std::string(e.what()) +
                  "\"; it must open it or throw quorum::duplicate_execution_id");
    }
    execution y(*this, first.id, std::move(*h));
    expect(y.record(1, failure), {0, 1, {}, {}, false, true, false},
           "record(1, failure) on the id opened again after close()");
    expect(y, {}, {}, 0, 0, "-f");
  }

  void weighted_votes() {
    {  // votes 3, 1, 1; 3 needed: branch 0 alone meets it
      execution x(*this, spec(3, weighted({3, 1, 1}, 3).resolve(3)));
      expect(x.record(1, success), {1, 0, {}, {}, false, true, false}, "record(1, success), 1 vote");
      expect(x.record(0, success), {2, 0, met, 0, true, true, false}, "record(0, success), 3 votes");
      expect(x, met, 0, 2, 0, "ss-");
    }
    {  // votes 1, 1, 1, 2 (5 in all); 4 needed: branch 3 failing leaves 3
      execution x(*this, spec(4, weighted({1, 1, 1, 2}, 4).resolve(4)));
      expect(x.record(0, success), {1, 0, {}, {}, false, true, false}, "record(0, success), 1 vote");
      expect(x.record(3, failure), {1, 1, decision::unreachable, 3, true, true, false},
             "record(3, failure), 2 votes of 5 lost with 4 needed");
      expect(x, decision::unreachable, 3, 1, 1, "s--f");
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
        expect(x, met, 0, n, 0, std::string(n, 's'));
      }
      {  // K = N: the first failure makes it unreachable
        execution x(*this, counted(n, n));
        expect(x.record(n - 1, failure), {0, 1, decision::unreachable, n - 1, true, true, false},
               "record(" + std::to_string(n - 1) + ", failure) with K = N" + in);
      }
    }
  }

  // Each round: one execution of N = 16 with K from 1 to 16 and a pattern of outcomes; every
  // thread records every branch (from its own starting point, so they collide); on odd rounds
  // thread 0 also calls expire() halfway, and every fourth round thread 1 cancel() at the same
  // point. Exactly one call may decide; each branch is recorded once; the record agrees with
  // the decision. Thread 1 also takes a snapshot after each of its records: any snapshot,
  // taken at any time, is consistent.
  void concurrent_records() {
    constexpr std::size_t n = 16;
    for (std::size_t round = 0; round < o_.rounds && !failed(); ++round) {
      const std::size_t k = round % n + 1;
      const auto outcome_of = [round](std::size_t i) {
        return ((round * 0x9E3779B9u) >> (i % 29)) & 1 ? failure : success;
      };
      const std::string at = "round " + std::to_string(round) + " (N = " + std::to_string(n) +
                             ", K = " + std::to_string(k) + "): ";
      execution x(*this, counted(n, k));
      std::atomic<std::size_t> deciding_calls{0};
      std::vector<std::atomic<std::size_t>> recorded(n);
      tally decider;  // the tally of the (one) deciding call
      std::mutex decider_m;
      const auto note_decision = [&](const tally& r) {
        if (!r.decided_now) return;
        deciding_calls.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lk(decider_m);
        decider = r;
      };
      on_threads([&](std::size_t t) {
        for (std::size_t j = 0; j < n; ++j) {
          const std::size_t i = (j + t * n / o_.threads) % n;
          const tally r = x.record(i, outcome_of(i));
          // Relaxed counts: the threads are joined before they are read.
          if (r.recorded_now) recorded[i].fetch_add(1, std::memory_order_relaxed);
          note_decision(r);
          if (j == n / 2 && t == 0 && round % 2) note_decision(x.expire());
          if (j == n / 2 && t == 1 && round % 4 == 3) note_decision(x.cancel());
          if (t == 1 &&
              !consistent(x.snapshot(), n, k, at + "a snapshot taken while threads record: "))
            return;
        }
      });
      if (failed()) return;
      if (const auto c = deciding_calls.load(); c != 1)
        return fail(at + std::to_string(c) + " calls returned decided_now (exactly 1 must)");
      for (std::size_t i = 0; i < n; ++i)
        if (const auto c = recorded[i].load(); c != 1)
          return fail(at + "branch " + std::to_string(i) + " was recorded_now by " +
                      std::to_string(c) + " calls (exactly 1 must)");
      const execution_record r = x.snapshot();
      if (r.branches.size() == n)  // else consistent() says so
        for (std::size_t i = 0; i < n; ++i)
          if (!r.branches[i].outcome)
            return fail(at + "branch " + std::to_string(i) +
                        ", which every thread recorded, is not in the snapshot");
      if (!consistent(r, n, k, at)) return;
      if (r.decision != decider.decision || r.decided_by != decider.decided_by)
        fail(at + "the snapshot's decision " + text_of(r.decision) + " by " +
             text_of(r.decided_by) + " is not the one the deciding call returned, " +
             text_of(decider.decision) + " by " + text_of(decider.decided_by));
    }
  }

  // What every snapshot of an execution of n branches under at_least(k) shows, whenever it is
  // taken: n branches; no decision while the branches do not meet the rule, and then none
  // marked late; else the branches not marked late are the counts at the decision, and call for
  // that decision, made by a branch that exists and was recorded on time with the outcome that
  // decides. Nothing the store returned is used as an index before it is checked. False once
  // reported.
  bool consistent(const execution_record& r, std::size_t n, std::size_t k, const std::string& at) {
    if (r.branches.size() != n) {
      fail(at + "snapshot() returned " + std::to_string(r.branches.size()) +
           " branches for an execution of " + std::to_string(n));
      return false;
    }
    std::size_t s = 0, f = 0, late = 0;
    for (const auto& b : r.branches) {
      if (!b.outcome) continue;
      if (b.late)
        ++late;
      else
        ++(*b.outcome == success ? s : f);
    }
    const std::string counts = std::to_string(s) + " successes and " + std::to_string(f) +
                               " failures on time of " + std::to_string(n) +
                               " (K = " + std::to_string(k) + ")";
    if (!r.decision) {
      if (s >= k || f > n - k) {
        fail(at + "snapshot() shows no decision with " + counts);
        return false;
      }
      if (late != 0) {
        fail(at + "snapshot() shows " + std::to_string(late) + " branches late but no decision");
        return false;
      }
      return true;
    }
    if (s != r.successes_at_decision || f != r.failures_at_decision) {
      fail(at + "snapshot() shows " + std::to_string(r.successes_at_decision) + " successes and " +
           std::to_string(r.failures_at_decision) + " failures at the decision, but " + counts);
      return false;
    }
    if (r.decided_by && *r.decided_by >= n) {
      fail(at + "snapshot() shows decided_by " + text_of(r.decided_by) + ", not one of the " +
           std::to_string(n) + " branches");
      return false;
    }
    bool right = false;
    switch (*r.decision) {
      case decision::quorum_met:
        right = s == k && f <= n - k && r.decided_by;
        break;
      case decision::unreachable:
        right = s < k && f == n - k + 1 && r.decided_by;
        break;
      case decision::timed_out:
      case decision::cancelled:
        right = s < k && f <= n - k && !r.decided_by;
        break;
    }
    if (right && r.decided_by) {
      const auto& b = r.branches[*r.decided_by];  // in range: checked above
      right = !b.late && b.outcome == (*r.decision == met ? success : failure);
    }
    if (!right)
      fail(at + "snapshot() shows decision " + text_of(r.decision) + " by " +
           text_of(r.decided_by) + " with " + counts + ", branches \"" + describe_branches(r) +
           "\" (- not recorded, s/f on time, S/F late)");
    return right;
  }

  // Each round: every thread opens the same fresh id at once. Exactly one open() may return a
  // handle; the others must throw duplicate_execution_id. A store that checks the id and
  // inserts it in two steps (two lock sections, a lookup then an insert) lets several through.
  // Every handle returned is closed once the round is over. At most 200 rounds, each of which
  // lines its threads up at open() (below).
  void concurrent_opens() {
    const std::size_t rounds = std::min<std::size_t>(o_.rounds, 200);
    std::vector<execution_spec> specs;  // made here: next_id_ is this thread's
    for (std::size_t r = 0; r < rounds; ++r) specs.push_back(counted(3, 2));
    for (std::size_t round = 0; round < rounds && !failed(); ++round) {
      std::vector<std::optional<handle>> got(o_.threads);
      // Past the release, the first thread woken runs on while the others are still
      // being woken: its open() would be done before theirs begin. So the threads also wait
      // for one another here, awake (a thread that could not start fails the check, which ends
      // the wait).
      std::atomic<std::size_t> ready{0};
      on_threads([&](std::size_t t) {
        ready.fetch_add(1, std::memory_order_relaxed);
        while (ready.load(std::memory_order_relaxed) < o_.threads && !failed())
          std::this_thread::yield();
        // Then each thread waits a little more, by a round's and a thread's own amount: threads
        // that call at the very same moment queue on the store's first lock and pass it one after
        // another, while a race between a check and an insert needs one thread a little behind.
        for (std::size_t k = ((round * 7 + t * 13) % 32) * 16; k-- > 0;)
          (void)ready.load(std::memory_order_relaxed);
        try {
          got[t].emplace(s_.open(specs[round]));
        } catch (const duplicate_execution_id&) {
        }
      });
      std::size_t opened = 0;
      for (auto& h : got)
        if (h) {
          ++opened;
          execution x(*this, specs[round].id, std::move(*h));  // closes it
        }
      if (opened != 1)
        return fail("round " + std::to_string(round) + ": " + std::to_string(o_.threads) +
                    " threads opened \"" + specs[round].id + "\" at once and " +
                    std::to_string(opened) +
                    " open() calls returned a handle (exactly 1 must; the others must throw "
                    "quorum::duplicate_execution_id)");
    }
  }

  void concurrent_lifecycles() {
    std::vector<execution_spec> specs;  // made here: next_id_ is this thread's
    for (std::size_t i = 0; i < o_.threads * o_.rounds; ++i) specs.push_back(counted(3, 2));
    on_threads([&](std::size_t t) {
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
    });
  }

  S& s_;
  store_check_options o_;
  std::string tag_;
  std::size_t next_id_ = 0;
  bool exclusive_ = false;  // record() through the exclusive overload (one thread only)
  std::string name_;        // of the running check; written only while no thread of it runs
  std::atomic<bool> failed_{false};
  std::mutex m_;
  std::vector<std::string> problems_;
  std::optional<check_crew> crew_;  // last: its threads are joined before the rest goes
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
