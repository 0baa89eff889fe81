// Policies: each one decides both early exits, met as soon as it holds and unreachable as soon
// as it can no longer hold, and rejects settings no set of branches could satisfy.
//
// The counting tests run a script of outcomes ("ssf..." = succeed, succeed, fail) on the
// inline_executor: branches run one after another on the test thread, so the branch that
// decides is exactly the one at which the policy first holds (or first can no longer hold), and
// every branch after it must never run. The threaded tests check the same with branches running
// side by side, the undecided ones blocking on their stop token.
#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <quorum/quorum.hpp>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

#include "support.hpp"

namespace {

struct scripted {
  quorum::result<int> r;
  std::size_t ran = 0;  // branches whose callable was invoked
};

// Run one branch per character of `script` ('s' succeeds, 'f' throws) inline, in order.
scripted run_inline(quorum::options o, const std::string& script) {
  auto ran = std::make_shared<std::atomic<std::size_t>>(0);
  std::vector<std::function<int()>> fs;
  for (std::size_t i = 0; i < script.size(); ++i) {
    const bool ok = script[i] == 's';
    fs.emplace_back([ran, ok, i]() -> int {
      ++*ran;
      if (!ok) throw std::runtime_error("scripted failure");
      return static_cast<int>(i);
    });
  }
  quorum::memory_store store;
  scripted out{quorum::quorum_parallel(store, quorum::inline_executor{}, o, fs), 0};
  out.ran = ran->load();
  CHECK(store.size() == 0);  // the record is released at the end
  return out;
}

quorum::options with(quorum::policy p) {
  quorum::options o;
  o.policy = std::move(p);
  return o;
}

// The branches up to `by` ran and were counted; every later one never started.
void check_decided_at(const scripted& s, quorum::decision d, std::size_t by) {
  CHECK(s.r.decision == d);
  REQUIRE(s.r.decided_by.has_value());
  CHECK(*s.r.decided_by == by);
  CHECK(s.ran == by + 1);
  for (std::size_t i = 0; i < s.r.branches.size(); ++i) {
    const auto& b = s.r.branches[i];
    CAPTURE(i);
    if (i <= by) {
      CHECK(b.attempts == 1);
      CHECK_FALSE(b.late);
      CHECK(b.status != quorum::branch_status::cancelled);
    } else {
      CHECK(b.status == quorum::branch_status::cancelled);
      CHECK(b.attempts == 0);
      CHECK_FALSE(b.started.has_value());
    }
  }
}

// Throws invalid_options (a std::invalid_argument) whose message contains every `needle`.
template <class F>
void check_rejected(F&& f, std::initializer_list<const char*> needles) {
  try {
    f();
    FAIL("no exception");
  } catch (const quorum::invalid_options& e) {
    const std::invalid_argument& base = e;  // the fixed contract: derived from invalid_argument
    const std::string what = base.what();
    for (const char* n : needles) {
      CAPTURE(what);
      CHECK(what.find(n) != std::string::npos);
    }
  }
}

}  // namespace

TEST_CASE("every policy resolves to the threshold its documentation promises") {
  SUBCASE("at_least(k) needs k") { CHECK(quorum::at_least(3).resolve(5).threshold == 3); }
  SUBCASE("majority needs more than half, for odd and even N") {
    const std::uint64_t want[] = {0, 1, 2, 2, 3, 3, 4, 4, 5};
    for (std::size_t n = 1; n <= 8; ++n) {
      CAPTURE(n);
      CHECK(quorum::majority().resolve(n).threshold == want[n]);
    }
  }
  SUBCASE("all needs N, any needs 1") {
    CHECK(quorum::all().resolve(7).threshold == 7);
    CHECK(quorum::any().resolve(7).threshold == 1);
  }
  SUBCASE("fraction(p) needs ceil(p * N), never 0") {
    CHECK(quorum::fraction(0.5).resolve(4).threshold == 2);
    CHECK(quorum::fraction(0.5).resolve(5).threshold == 3);
    CHECK(quorum::fraction(0.7).resolve(10).threshold == 7);  // 0.7 * 10 = 7.000000000000001
    CHECK(quorum::fraction(1.0 / 3).resolve(3).threshold == 1);
    CHECK(quorum::fraction(0.01).resolve(3).threshold == 1);
    CHECK(quorum::fraction(1.0).resolve(9).threshold == 9);
  }
  SUBCASE("fraction rounds exactly for large N too") {
    // An absolute tolerance (1e-9) is below one ulp of p * N here and got these wrong.
    CHECK(quorum::fraction(0.686).resolve(44120000).threshold == 30266320);
    CHECK(quorum::fraction(0.28).resolve(367935375).threshold == 103021905);
    CHECK(quorum::failure_fraction(0.563).resolve(84539000).threshold == 84539000 - 47595457);
    CHECK(quorum::failure_fraction(0.703).resolve(47537000).threshold == 47537000 - 33418511);
  }
  SUBCASE("max_failures(f) tolerates f failures: N - f successes") {
    CHECK(quorum::max_failures(0).resolve(4).threshold == 4);
    CHECK(quorum::max_failures(2).resolve(5).threshold == 3);
  }
  SUBCASE("failure_fraction(p) tolerates floor(p * N) failures") {
    CHECK(quorum::failure_fraction(0.0).resolve(5).threshold == 5);
    CHECK(quorum::failure_fraction(0.2).resolve(5).threshold == 4);  // exactly 1 tolerated
    CHECK(quorum::failure_fraction(0.39).resolve(5).threshold == 4);
    CHECK(quorum::failure_fraction(0.4).resolve(5).threshold == 3);
    CHECK(quorum::failure_fraction(0.7).resolve(10).threshold == 3);
    CHECK(quorum::failure_fraction(0.99).resolve(3).threshold == 1);
  }
  SUBCASE("weighted keeps the votes and sums them") {
    auto r = quorum::weighted({3, 1, 1}, 4).resolve(3);
    CHECK(r.threshold == 4);
    CHECK(r.total == 5);
    CHECK(r.weight(0) == 3);
    CHECK(r.weight(2) == 1);
  }
}

TEST_CASE("a rule is met at its threshold and unreachable once the votes left fall below it") {
  auto r = quorum::weighted({3, 1, 1, 1, 1}, 4).resolve(5);
  CHECK_FALSE(r.met(3));
  CHECK(r.met(4));
  CHECK_FALSE(r.unreachable(3));  // 7 - 3 = 4 votes still possible
  CHECK(r.unreachable(4));
}

TEST_CASE("settings no set of branches can satisfy are rejected naming the field and value") {
  SUBCASE("weights that cannot reach the threshold") {
    check_rejected(
        [] {
          (void)quorum::weighted({1, 2, 1}, 5).resolve(3);
        },
        {"weighted", "threshold = 5", "4"});
  }
  SUBCASE("a weight count that differs from the branch count") {
    check_rejected([] { (void)quorum::weighted({1, 2}, 1).resolve(3); }, {"weighted", "2", "3"});
  }
  SUBCASE("a zero threshold") {
    check_rejected([] { (void)quorum::weighted({1, 1}, 0).resolve(2); }, {"threshold = 0"});
  }
  SUBCASE("fractions outside (0, 1]") {
    check_rejected([] { (void)quorum::fraction(0).resolve(3); }, {"fraction(0"});
    check_rejected([] { (void)quorum::fraction(1.5).resolve(3); }, {"fraction(1.5"});
    check_rejected([] { (void)quorum::fraction(-0.25).resolve(3); }, {"fraction(-0.25"});
    check_rejected(
        [] { (void)quorum::fraction(std::numeric_limits<double>::quiet_NaN()).resolve(3); },
        {"fraction("});
  }
  SUBCASE("failure fractions outside [0, 1)") {
    check_rejected([] { (void)quorum::failure_fraction(1.0).resolve(3); }, {"failure_fraction(1"});
    check_rejected([] { (void)quorum::failure_fraction(-0.5).resolve(3); },
                   {"failure_fraction(-0.5"});
  }
  SUBCASE("tolerating every branch failing") {
    check_rejected([] { (void)quorum::max_failures(3).resolve(3); }, {"max_failures(3)"});
  }
  SUBCASE("at_least(k) above N, and zero") {
    check_rejected([] { (void)quorum::at_least(4).resolve(3); }, {"at_least(4)", "3"});
    check_rejected([] { (void)quorum::at_least(0).resolve(3); }, {"at_least(0)"});
  }
  SUBCASE("as options.policy, the message names the policy, not options.quorum") {
    auto f = [] {};
    for (std::size_t k : {std::size_t{0}, std::size_t{4}}) {
      CAPTURE(k);
      std::string what;
      try {
        (void)quorum::quorum_parallel(with(quorum::at_least(k)), f, f, f);
      } catch (const quorum::invalid_options& e) {
        what = e.what();
      }
      CAPTURE(what);
      CHECK(what.find("quorum::at_least(" + std::to_string(k) + ")") != std::string::npos);
      CHECK(what.find("options.quorum") == std::string::npos);
    }
  }
}

TEST_CASE("a rejected fraction is named by its value, not by the value rounded to six decimals") {
  // std::to_string would show 1.0000001 as "1.0" and -1e-9 as "-0.0": both inside the range
  // the message says they are outside of.
  check_rejected([] { (void)quorum::fraction(1.0000001).resolve(3); }, {"fraction(1.0000001)"});
  check_rejected([] { (void)quorum::fraction(-1e-9).resolve(3); }, {"fraction(-1e-09)"});
  check_rejected([] { (void)quorum::failure_fraction(-1e-9).resolve(3); },
                 {"failure_fraction(-1e-09)"});
  check_rejected([] { (void)quorum::failure_fraction(1.0).resolve(3); }, {"failure_fraction(1.0)"});
}

TEST_CASE("no policy resolves for zero branches: no rule that is met, or unreachable, at once") {
  // resolve() is public (a store's user resolves a rule for its record); with no branches
  // all() gave threshold 0 (met before anything ran) and fraction() broke std::clamp's
  // precondition (lo = 1 above hi = 0).
  const std::vector<quorum::policy> policies = {
      quorum::at_least(1),     quorum::majority(),           quorum::all(),
      quorum::any(),           quorum::fraction(0.5),        quorum::weighted({}, 1),
      quorum::max_failures(0), quorum::failure_fraction(0.5)};
  for (const auto& p : policies) {
    CAPTURE(static_cast<int>(p.what()));
    check_rejected([&] { (void)p.resolve(0); }, {"0 branches"});
  }
}

TEST_CASE("bad weights are rejected by quorum_parallel before any branch runs") {
  std::atomic<int> ran{0};
  auto f = [&] { ++ran; };
  quorum::memory_store store;
  check_rejected(
      [&] {
        (void)quorum::quorum_parallel(store, with(quorum::weighted({1, 1, 1}, 4)), f, f, f);
      },
      {"threshold = 4", "3"});
  check_rejected(
      [&] {
        (void)quorum::quorum_parallel(store, with(quorum::weighted({1, 1}, 1)), f, f, f);
      },
      {"weighted", "2", "3"});
  CHECK(ran == 0);
  CHECK(store.size() == 0);
}

TEST_CASE("options.quorum and options.policy together are rejected") {
  auto o = with(quorum::majority());
  o.quorum = 2;
  check_rejected(
      [&] {
        (void)quorum::quorum_parallel(
            o, [] {}, [] {}, [] {});
      },
      {"options.quorum = 2", "policy"});
}

TEST_CASE("at_least(K) is met at the K-th success and unreachable at the (N-K+1)-th failure") {
  SUBCASE("met") {
    auto s = run_inline({.quorum = 2}, "fsfsss");
    check_decided_at(s, quorum::decision::quorum_met, 3);
    CHECK(s.r.successes() == 2);
    CHECK(s.r.branches[3].value == 3);
  }
  SUBCASE("the same through policy = at_least") {
    check_decided_at(run_inline(with(quorum::at_least(2)), "ss"), quorum::decision::quorum_met, 1);
  }
  SUBCASE("unreachable") {
    // N = 6, K = 4: N - K = 2 failures are survivable, the third is not.
    auto s = run_inline({.quorum = 4}, "sfsfsf");
    check_decided_at(s, quorum::decision::unreachable, 5);
    auto t = run_inline({.quorum = 4}, "ffsfss");
    check_decided_at(t, quorum::decision::unreachable, 3);
    CHECK(t.r.failures() == 3);
  }
}

TEST_CASE("majority is met at N/2+1 successes and unreachable once half the branches failed") {
  SUBCASE("odd N") {
    check_decided_at(run_inline(with(quorum::majority()), "sfsfs"), quorum::decision::quorum_met,
                     4);
    check_decided_at(run_inline(with(quorum::majority()), "sfsss"), quorum::decision::quorum_met,
                     3);
    check_decided_at(run_inline(with(quorum::majority()), "fsffs"), quorum::decision::unreachable,
                     3);
  }
  SUBCASE("even N: a tie is not a majority") {
    check_decided_at(run_inline(with(quorum::majority()), "ssfs"), quorum::decision::quorum_met, 3);
    check_decided_at(run_inline(with(quorum::majority()), "sfsf"), quorum::decision::unreachable,
                     3);
    check_decided_at(run_inline(with(quorum::majority()), "ffss"), quorum::decision::unreachable,
                     1);
  }
}

TEST_CASE("all is met only when every branch succeeded and unreachable at the first failure") {
  check_decided_at(run_inline(with(quorum::all()), "ssss"), quorum::decision::quorum_met, 3);
  check_decided_at(run_inline(with(quorum::all()), "ssfs"), quorum::decision::unreachable, 2);
  check_decided_at(run_inline(with(quorum::all()), "fsss"), quorum::decision::unreachable, 0);
}

TEST_CASE("any is met at the first success and unreachable only when every branch failed") {
  check_decided_at(run_inline(with(quorum::any()), "ffsf"), quorum::decision::quorum_met, 2);
  check_decided_at(run_inline(with(quorum::any()), "sfff"), quorum::decision::quorum_met, 0);
  check_decided_at(run_inline(with(quorum::any()), "ffff"), quorum::decision::unreachable, 3);
}

TEST_CASE(
    "fraction(p) is met at ceil(p*N) successes and unreachable when they can no longer come") {
  // N = 5, p = 0.5: 3 successes needed, so 3 failures make it unreachable.
  check_decided_at(run_inline(with(quorum::fraction(0.5)), "sfsss"), quorum::decision::quorum_met,
                   3);
  check_decided_at(run_inline(with(quorum::fraction(0.5)), "fsfsf"), quorum::decision::unreachable,
                   4);
  check_decided_at(run_inline(with(quorum::fraction(0.5)), "fffss"), quorum::decision::unreachable,
                   2);
  // p = 0.7 of 10 is exactly 7, not 8.
  check_decided_at(run_inline(with(quorum::fraction(0.7)), "sssssssfff"),
                   quorum::decision::quorum_met, 6);
  check_decided_at(run_inline(with(quorum::fraction(0.7)), "fffsssssss"),
                   quorum::decision::quorum_met, 9);
  check_decided_at(run_inline(with(quorum::fraction(0.7)), "ffffssssss"),
                   quorum::decision::unreachable, 3);
}

TEST_CASE("max_failures(f) is unreachable at the (f+1)-th failure and met when N-f succeeded") {
  check_decided_at(run_inline(with(quorum::max_failures(1)), "sfss"), quorum::decision::quorum_met,
                   3);
  check_decided_at(run_inline(with(quorum::max_failures(1)), "sfsf"), quorum::decision::unreachable,
                   3);
  check_decided_at(run_inline(with(quorum::max_failures(0)), "sfss"), quorum::decision::unreachable,
                   1);
  // Met before the last branch: with 2 of 5 tolerated, 3 successes settle it.
  check_decided_at(run_inline(with(quorum::max_failures(2)), "sssff"), quorum::decision::quorum_met,
                   2);
}

TEST_CASE("failure_fraction(p) is unreachable once failures exceed p of the branches") {
  // N = 5, p = 0.2: 1 failure tolerated.
  check_decided_at(run_inline(with(quorum::failure_fraction(0.2)), "sfsss"),
                   quorum::decision::quorum_met, 4);
  check_decided_at(run_inline(with(quorum::failure_fraction(0.2)), "sfsfs"),
                   quorum::decision::unreachable, 3);
  // p = 0.5 of 5 tolerates 2: the third failure decides.
  check_decided_at(run_inline(with(quorum::failure_fraction(0.5)), "fffss"),
                   quorum::decision::unreachable, 2);
  check_decided_at(run_inline(with(quorum::failure_fraction(0.5)), "ffsss"),
                   quorum::decision::quorum_met, 4);
}

TEST_CASE("weighted is met when the votes of the successes reach the threshold") {
  // Two data centres: A has 3 votes, the four B replicas 1 each; 4 votes needed of 7.
  auto p = quorum::weighted({3, 1, 1, 1, 1}, 4);
  check_decided_at(run_inline(with(p), "sfsss"), quorum::decision::quorum_met, 2);  // 3 + 1
  check_decided_at(run_inline(with(p), "fssss"), quorum::decision::quorum_met, 4);  // 1+1+1+1
  SUBCASE("a zero-vote branch never decides") {
    auto z = quorum::weighted({0, 1, 1}, 1);
    check_decided_at(run_inline(with(z), "ssf"), quorum::decision::quorum_met, 1);
    check_decided_at(run_inline(with(z), "fff"), quorum::decision::unreachable, 2);
  }
}

TEST_CASE("weighted is unreachable as soon as the votes still possible fall below the threshold") {
  auto p = quorum::weighted({3, 1, 1, 1, 1}, 4);
  // A heavy failure leaves 4 votes: still reachable; one more failure is not.
  check_decided_at(run_inline(with(p), "fsfss"), quorum::decision::unreachable, 2);
  // Light failures leave 6, 5, 4 votes possible, then 3: the fourth one decides.
  check_decided_at(run_inline(with(p), "sffff"), quorum::decision::unreachable, 4);
}

TEST_CASE("a single heavy failure decides unreachable at once") {
  check_decided_at(run_inline(with(quorum::weighted({5, 1, 1}, 5)), "fss"),
                   quorum::decision::unreachable, 0);
}

TEST_CASE("the store's record agrees with the policy's decision") {
  quorum::memory_store store;
  std::vector<std::function<void()>> fs = {[] {}, [] { throw 1; }, [] {}, [] {}};
  // 6 of 10 votes needed: once the 5-vote branch failed, only 5 are possible.
  auto ex =
      quorum::start(store, quorum::inline_executor{}, with(quorum::weighted({1, 5, 2, 2}, 6)), fs);
  ex.join();
  auto rec = ex.record();
  REQUIRE(rec.decision.has_value());
  CHECK(*rec.decision == quorum::decision::unreachable);
  CHECK(rec.decided_by == std::optional<std::size_t>{1});
  CHECK(rec.successes_at_decision == 1);
  CHECK(rec.failures_at_decision == 1);
}

// ---- threaded: branches side by side ------------------------------------------------------

namespace {

using test_support::gate;

// Threaded run: 's' succeeds at once, 'f' fails at once, 'w' waits for its stop request and
// then throws quorum::stopped (so it is reported cancelled).
quorum::result<void> run_threads(quorum::options o, const std::string& script) {
  std::vector<std::function<void(quorum::branch_context&)>> fs;
  for (char c : script) {
    fs.emplace_back([c](quorum::branch_context& ctx) {
      if (c == 'f') throw std::runtime_error("failed");
      if (c == 'w') {
        gate never;
        never.wait(ctx.stop_token());
        ctx.throw_if_stop_requested();
      }
    });
  }
  return quorum::quorum_parallel(o, fs);
}

void check_waiters_cancelled(const quorum::result<void>& r, const std::string& script) {
  for (std::size_t i = 0; i < script.size(); ++i) {
    CAPTURE(i);
    if (script[i] == 'w') {
      const auto& b = r.branches[i];
      CHECK(b.status == quorum::branch_status::cancelled);
      // Stopped while waiting (recorded late), or its thread came after the decision and it
      // never started.
      CHECK((b.late || b.attempts == 0));
    }
  }
}

}  // namespace

TEST_CASE("threaded: every policy is met while other branches are still running") {
  struct row {
    std::string name;
    quorum::policy p;
    std::string script;
  };
  const row rows[] = {
      {"at_least", quorum::at_least(2), "swsw"},
      {"majority", quorum::majority(), "swsws"},
      {"all", quorum::all(), "sss"},
      {"any", quorum::any(), "wsww"},
      {"fraction", quorum::fraction(0.5), "swws"},
      {"max_failures", quorum::max_failures(2), "swwss"},
      {"failure_fraction", quorum::failure_fraction(0.4), "sswws"},
      {"weighted", quorum::weighted({1, 1, 3, 1}, 4), "wwss"},
  };
  for (const auto& rw : rows) {
    CAPTURE(rw.name);
    auto r = run_threads(with(rw.p), rw.script);
    CHECK(r.decision == quorum::decision::quorum_met);
    check_waiters_cancelled(r, rw.script);
  }
}

TEST_CASE("threaded: every policy decides unreachable while other branches are still running") {
  struct row {
    std::string name;
    quorum::policy p;
    std::string script;
  };
  const row rows[] = {
      {"at_least", quorum::at_least(3), "fwfw"},
      {"majority", quorum::majority(), "fwfwf"},
      {"all", quorum::all(), "wfw"},
      {"any", quorum::any(), "fff"},
      {"fraction", quorum::fraction(0.5), "fwfwf"},
      {"max_failures", quorum::max_failures(1), "fwwf"},
      {"failure_fraction", quorum::failure_fraction(0.4), "fwfwf"},
      {"weighted", quorum::weighted({1, 1, 3, 1}, 4), "wwfw"},
  };
  for (const auto& rw : rows) {
    CAPTURE(rw.name);
    auto r = run_threads(with(rw.p), rw.script);
    CHECK(r.decision == quorum::decision::unreachable);
    check_waiters_cancelled(r, rw.script);
  }
}

TEST_CASE(
    "threaded: a weighted quorum waits for the heavy branch when the light ones cannot add up") {
  // The three light branches (1 vote each) succeed at once: 3 < 4, so none of their records may
  // decide. The heavy branch (3 votes) waits until the observer has seen all three recorded.
  std::atomic<int> light_recorded{0};
  quorum::options o = with(quorum::weighted({3, 1, 1, 1}, 4));
  o.observer = [&](const quorum::event& e) {
    if (e.kind == quorum::event_kind::succeeded && e.branch != std::optional<std::size_t>{0}) {
      light_recorded.fetch_add(1);
      light_recorded.notify_all();
    }
  };
  auto heavy = [&] {
    for (int n = light_recorded.load(); n < 3; n = light_recorded.load()) light_recorded.wait(n);
    return 3;
  };
  auto light = [] { return 1; };
  auto r = quorum::quorum_parallel(o, heavy, light, light, light);
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(r.decided_by == std::optional<std::size_t>{0});
  CHECK(r.successes() == 4);
  CHECK(r.late() == 0);
}
