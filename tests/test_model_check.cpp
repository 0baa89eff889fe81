// Model check of the decision protocol for tiny N: every interleaving of the store's atomic
// steps is run and compared with a reference written from DESIGN.md §3.
//
// For N <= 4 branches, every rule (at_least(K) for K = 1..N, and weighted rules with votes
// 0..2 for N <= 3), and every script of steps (each branch records success, failure or
// nothing; for N <= 3 one branch may also record a second time, a replay, with either
// outcome; the deadline may expire; cancel may be called), EVERY order of the script's steps
// is applied to a fresh record of the store under test. After each step the tally is compared
// with the reference; at the end, the snapshot. This shows, for all those interleavings:
//   * exactly one step returns decided_now (none when the script never decides);
//   * the decision agrees with the records at the moment of deciding: quorum_met when the
//     votes of successes reach the threshold, unreachable when the votes still possible fall
//     below it, timed_out / cancelled from expire / cancel only while neither held;
//   * recording is idempotent (a replay changes and counts nothing), outcomes after the
//     decision are flagged late and never counted in successes/failures_at_decision.
// The stores are atomic per step (a lock, or one CAS as the linearization point), so the
// orders of whole steps are all the interleavings there are; the last test case also runs
// each script's steps on racing threads to exercise atomic_store's lock-free path for real.
#include <doctest/doctest.h>

#include <algorithm>
#include <barrier>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <quorum/quorum.hpp>
#include <string>
#include <thread>
#include <tuple>
#include <vector>
#if __has_include(<quorum/stores/sharded.hpp>)
#include <quorum/stores/sharded.hpp>
#define QUORUM_MC_HAVE_SHARDED 1
#endif
#if __has_include(<quorum/stores/atomic.hpp>)
#include <quorum/stores/atomic.hpp>
#define QUORUM_MC_HAVE_ATOMIC 1
#endif

using quorum::decision;
using quorum::outcome;

namespace {

// ---- steps and scripts --------------------------------------------------------------------------

struct step {
  enum class kind : std::uint8_t { record, expire, cancel };
  kind k = kind::record;
  std::size_t branch = 0;
  outcome o = outcome::success;

  friend bool operator<(const step& a, const step& b) {
    return std::tie(a.k, a.branch, a.o) < std::tie(b.k, b.branch, b.o);
  }
};

std::string describe(const std::vector<step>& s) {
  std::string out;
  for (const auto& x : s) {
    if (!out.empty()) out += ' ';
    switch (x.k) {
      case step::kind::record:
        out += (x.o == outcome::success ? "S" : "F") + std::to_string(x.branch);
        break;
      case step::kind::expire:
        out += "expire";
        break;
      case step::kind::cancel:
        out += "cancel";
        break;
    }
  }
  return out;
}

// Every script for n branches, each sorted (the first permutation).
std::vector<std::vector<step>> scripts(std::size_t n, bool with_replays) {
  std::vector<std::vector<step>> out;
  std::size_t combos = 1;
  for (std::size_t i = 0; i < n; ++i) combos *= 3;
  for (std::size_t c = 0; c < combos; ++c) {
    std::vector<step> base;
    for (std::size_t i = 0, x = c; i < n; ++i, x /= 3) {
      if (x % 3 == 1) base.push_back({step::kind::record, i, outcome::success});
      if (x % 3 == 2) base.push_back({step::kind::record, i, outcome::failure});
    }
    const std::size_t recorded = base.size();
    for (int e = 0; e < 2; ++e)
      for (int k = 0; k < 2; ++k) {
        auto s = base;
        if (e) s.push_back({step::kind::expire, 0, outcome::success});
        if (k) s.push_back({step::kind::cancel, 0, outcome::success});
        out.push_back(s);
        if (!with_replays) continue;
        for (std::size_t r = 0; r < recorded; ++r)
          for (auto o : {outcome::success, outcome::failure}) {
            auto t = s;
            t.push_back({step::kind::record, base[r].branch, o});
            out.push_back(t);
          }
      }
  }
  for (auto& s : out) std::sort(s.begin(), s.end());
  return out;
}

// ---- the reference ------------------------------------------------------------------------------

// What the record must say, computed from DESIGN.md §3 alone: it keeps the whole history and
// answers every question by looking at it, instead of keeping running counters.
struct reference {
  quorum::rule rule;
  std::size_t n = 0;
  std::vector<step> history;  // the first record of each branch, expire and cancel, in order
  std::optional<decision> d;
  std::optional<std::size_t> by;
  std::size_t cut = 0;  // history entries up to and including the deciding step

  std::uint64_t votes(outcome o, std::size_t upto) const {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < upto; ++i)
      if (history[i].k == step::kind::record && history[i].o == o)
        v += rule.weight(history[i].branch);
    return v;
  }
  std::size_t count(outcome o, std::size_t upto) const {
    std::size_t c = 0;
    for (std::size_t i = 0; i < upto; ++i)
      c += history[i].k == step::kind::record && history[i].o == o;
    return c;
  }
  std::optional<outcome> first(std::size_t branch) const {
    for (const auto& h : history)
      if (h.k == step::kind::record && h.branch == branch) return h.o;
    return std::nullopt;
  }
  // Recorded after the decision (the deciding record itself is not late).
  bool late(std::size_t branch) const {
    for (std::size_t i = 0; i < history.size(); ++i)
      if (history[i].k == step::kind::record && history[i].branch == branch) return d && i >= cut;
    return false;
  }

  struct expect {
    bool decided_now = false, recorded_now = false, late = false;
  };

  expect apply(const step& s) {
    expect e;
    if (s.k == step::kind::record) {
      if (first(s.branch)) {  // a replay: nothing changes
        e.late = late(s.branch);
        return e;
      }
      history.push_back(s);
      e.recorded_now = true;
      e.late = d.has_value();
      if (d) return e;
      const auto len = history.size();
      const bool met = votes(outcome::success, len) >= rule.threshold;
      const bool lost = rule.total - votes(outcome::failure, len) < rule.threshold;
      REQUIRE_FALSE((met && lost));  // both at once is impossible
      if (met || lost) {
        d = met ? decision::quorum_met : decision::unreachable;
        by = s.branch;
        cut = len;
        e.decided_now = true;
      }
      return e;
    }
    if (d) return e;
    history.push_back(s);
    d = s.k == step::kind::expire ? decision::timed_out : decision::cancelled;
    cut = history.size();
    e.decided_now = true;
    return e;
  }

  std::size_t successes_at_decision() const { return d ? count(outcome::success, cut) : 0; }
  std::size_t failures_at_decision() const { return d ? count(outcome::failure, cut) : 0; }
};

// Whether a script decides at all (in any order: the votes only grow, so it is the end state).
bool decides(std::size_t n, const quorum::rule& rule, const std::vector<step>& script) {
  reference ref{rule, n, {}, std::nullopt, std::nullopt, 0};
  for (const auto& s : script) ref.apply(s);
  return ref.d.has_value();
}

// ---- the stores under test ---------------------------------------------------------------------

// A quorum::store, one execution at a time.
template <class S>
struct store_subject {
  S store;
  typename S::handle h{};
  int serial = 0;

  void open(std::size_t n, const quorum::rule& r) {
    h = store.open(quorum::execution_spec{"mc-" + std::to_string(serial++), n, r});
  }
  quorum::tally apply(const step& s) {
    switch (s.k) {
      case step::kind::record:
        return store.record(h, s.branch, s.o);
      case step::kind::expire:
        return store.expire(h);
      case step::kind::cancel:
        return store.cancel(h);
    }
    return {};
  }
  quorum::execution_record snapshot() { return store.snapshot(h); }
  void close() { store.close(h); }
};

// detail::record_state directly: the rule every in-process store applies under its lock.
struct record_state_subject {
  quorum::detail::record_state st;
  void open(std::size_t n, const quorum::rule& r) {
    st = {};
    st.rule = r;
    st.branches.resize(n);
  }
  quorum::tally apply(const step& s) {
    switch (s.k) {
      case step::kind::record:
        return st.record(s.branch, s.o);
      case step::kind::expire:
        return st.finish(decision::timed_out);
      case step::kind::cancel:
        return st.finish(decision::cancelled);
    }
    return {};
  }
  quorum::execution_record snapshot() { return st.snapshot("mc"); }
  void close() {}
};

struct totals {
  std::size_t interleavings = 0, steps = 0, decided = 0;
};

// Run one order of one script against a fresh record; false (after reporting) on a mismatch.
template <class Subject>
bool check_order(Subject& sub, std::size_t n, const quorum::rule& rule,
                 const std::vector<step>& order, totals& tot) {
  reference ref{rule, n, {}, std::nullopt, std::nullopt, 0};
  sub.open(n, rule);
  int decided_now = 0;
  bool ok = true;
  auto fail = [&](const char* what) {
    if (ok) {
      std::string rule_text =
          "threshold " + std::to_string(rule.threshold) + " of total " + std::to_string(rule.total);
      FAIL_CHECK(what << " | N=" << n << ' ' << rule_text << " | order: " << describe(order));
    }
    ok = false;
  };
  for (const auto& s : order) {
    const auto t = sub.apply(s);
    const auto e = ref.apply(s);
    ++tot.steps;
    decided_now += t.decided_now;
    if (t.decided_now != e.decided_now) fail("decided_now differs from the reference");
    if (t.recorded_now != e.recorded_now)
      fail("recorded_now: a replay was counted, or a record lost");
    if (s.k == step::kind::record && t.late != e.late) fail("late flag differs");
    if (t.decision != ref.d) fail("the tally's decision differs from the records");
    if (t.decision && t.decided_by != ref.by) fail("decided_by differs");
    if (t.successes != ref.count(outcome::success, ref.history.size()) ||
        t.failures != ref.count(outcome::failure, ref.history.size()))
      fail("the tally's counts differ from the records");
  }
  if (decided_now > 1) fail("more than one step returned decided_now");
  if (decided_now != (ref.d ? 1 : 0)) fail("a decision was made without exactly one decided_now");
  const auto rec = sub.snapshot();
  if (rec.decision != ref.d) fail("snapshot: decision");
  if (rec.decided_by != ref.by) fail("snapshot: decided_by");
  if (rec.successes_at_decision != ref.successes_at_decision())
    fail("snapshot: successes_at_decision");
  if (rec.failures_at_decision != ref.failures_at_decision())
    fail("snapshot: failures_at_decision");
  if (rec.branches.size() != n) {
    fail("snapshot: branch count");
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      if (rec.branches[i].outcome != ref.first(i)) fail("snapshot: a branch's outcome");
      if (rec.branches[i].late != ref.late(i)) fail("snapshot: a branch's late flag");
    }
  }
  // The decision agrees with the votes at the moment of deciding (the reference's own claim,
  // re-derived from the snapshot so a wrong reference cannot hide a wrong store).
  if (rec.decision) {
    std::uint64_t yes = 0, no = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!rec.branches[i].outcome || rec.branches[i].late) continue;
      (*rec.branches[i].outcome == outcome::success ? yes : no) += rule.weight(i);
    }
    switch (*rec.decision) {
      case decision::quorum_met:
        if (!(yes >= rule.threshold && rec.decided_by)) fail("quorum_met without the votes");
        break;
      case decision::unreachable:
        if (!(rule.total - no < rule.threshold && rec.decided_by))
          fail("unreachable while reachable");
        break;
      case decision::timed_out:
      case decision::cancelled:
        if (!(yes < rule.threshold && rule.total - no >= rule.threshold && !rec.decided_by))
          fail("timed_out/cancelled although the records had decided");
        break;
    }
    ++tot.decided;
  }
  sub.close();
  ++tot.interleavings;
  return ok;
}

// Every rule checked: at_least(K) for every K, and for small N every weighted rule with
// votes 0..2 whose threshold is reachable.
std::vector<quorum::rule> rules_for(std::size_t n, bool weighted) {
  std::vector<quorum::rule> out;
  for (std::size_t k = 1; k <= n; ++k) out.push_back(quorum::at_least(k).resolve(n));
  if (!weighted) return out;
  std::size_t combos = 1;
  for (std::size_t i = 0; i < n; ++i) combos *= 3;
  for (std::size_t c = 0; c < combos; ++c) {
    std::vector<std::uint32_t> votes;
    std::uint64_t total = 0;
    for (std::size_t i = 0, x = c; i < n; ++i, x /= 3) {
      votes.push_back(static_cast<std::uint32_t>(x % 3));
      total += x % 3;
    }
    for (std::uint64_t th = 1; th <= total; ++th)
      out.push_back(quorum::weighted(votes, th).resolve(n));
  }
  return out;
}

template <class Subject>
totals model_check(Subject& sub) {
  totals tot;
  for (std::size_t n = 1; n <= 4; ++n) {
    const bool small = n <= 3;
    const auto all_scripts = scripts(n, small);
    for (const auto& rule : rules_for(n, small)) {
      // weighted rules: the scripts without replays keep the run short
      const bool counted = rule.votes.empty();
      for (auto order : all_scripts) {
        if (!counted && order.size() > n + 2) continue;
        if (!counted) {
          bool replay = false;
          for (std::size_t i = 1; i < order.size(); ++i)
            replay |= order[i].k == step::kind::record && order[i - 1].k == step::kind::record &&
                      order[i].branch == order[i - 1].branch;
          if (replay) continue;
        }
        do {
          if (!check_order(sub, n, rule, order, tot)) return tot;
        } while (std::next_permutation(order.begin(), order.end()));
      }
    }
  }
  return tot;
}

void report(const char* store, const totals& t) {
  MESSAGE(std::string(store) << ": " << t.interleavings << " interleavings, " << t.steps
                             << " steps, " << t.decided
                             << " decided, all agreeing with the reference");
  CHECK(t.interleavings > 100000);
}

}  // namespace

TEST_CASE(
    "the reference itself: a script of one success meets at_least(1), one failure makes it "
    "unreachable") {
  reference ref{quorum::at_least(1).resolve(1), 1, {}, std::nullopt, std::nullopt, 0};
  CHECK(ref.apply({step::kind::record, 0, outcome::success}).decided_now);
  CHECK(ref.d == decision::quorum_met);
  reference ref2{quorum::at_least(1).resolve(1), 1, {}, std::nullopt, std::nullopt, 0};
  CHECK(ref2.apply({step::kind::record, 0, outcome::failure}).decided_now);
  CHECK(ref2.d == decision::unreachable);
  CHECK(scripts(1, false).size() == 12);  // {none, S, F} x {expire?} x {cancel?}
}

TEST_CASE(
    "detail::record_state: every interleaving for N <= 4 makes exactly one decision that agrees "
    "with the records") {
  record_state_subject sub;
  report("record_state", model_check(sub));
}

TEST_CASE(
    "memory_store: every interleaving for N <= 4 makes exactly one decision that agrees with the "
    "records") {
  store_subject<quorum::memory_store> sub;
  report("memory_store", model_check(sub));
  CHECK(sub.store.size() == 0);
}

#ifdef QUORUM_MC_HAVE_SHARDED
TEST_CASE(
    "sharded_store: every interleaving for N <= 4 makes exactly one decision that agrees with the "
    "records") {
  store_subject<quorum::sharded_store> sub;
  report("sharded_store", model_check(sub));
  CHECK(sub.store.size() == 0);
}
#endif

#ifdef QUORUM_MC_HAVE_ATOMIC
TEST_CASE(
    "atomic_store: every interleaving for N <= 4 makes exactly one decision that agrees with the "
    "records") {
  store_subject<quorum::atomic_store> sub;
  report("atomic_store", model_check(sub));
  CHECK(sub.store.size() == 0);
}
#endif

// ---- the same scripts on racing threads ---------------------------------------------------------

namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int race_rounds = 1;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr int race_rounds = 1;
#else
constexpr int race_rounds = 6;
#endif
#else
constexpr int race_rounds = 6;
#endif

// Each step of a script on its own thread, all released at once by a barrier (the threads are
// kept across runs, so they are already running when released). Whatever order the hardware
// picks must be one of the orders above: exactly one decided_now when the script decides,
// every tally agreeing with the final decision, and the snapshot consistent with it.
template <class S>
void race_scripts(S& store) {
  constexpr std::size_t workers = 6;  // the longest script: 4 records, expire, cancel
  std::vector<step> script;
  std::vector<quorum::tally> tallies(workers);
  typename S::handle h{};
  bool quit = false;
  std::barrier start(workers + 1), done(workers + 1);
  std::vector<std::jthread> threads;
  for (std::size_t w = 0; w < workers; ++w)
    threads.emplace_back([&, w] {
      for (;;) {
        start.arrive_and_wait();  // the barrier orders main's writes before our reads
        if (quit) return;
        if (w < script.size()) {
          const auto& s = script[w];
          tallies[w] = s.k == step::kind::record   ? store.record(h, s.branch, s.o)
                       : s.k == step::kind::expire ? store.expire(h)
                                                   : store.cancel(h);
        }
        done.arrive_and_wait();
      }
    });

  std::size_t runs = 0;
  for (std::size_t n = 1; n <= 4; ++n) {
    for (const auto& sc : scripts(n, n <= 2)) {
      if (sc.size() < 2) continue;
      for (std::size_t k = 1; k <= n; ++k) {
        const auto rule = quorum::at_least(k).resolve(n);
        // With a replay of a different outcome the first one to arrive wins, so whether the
        // records decide can depend on the order: require a decision only when both the sorted
        // and the reversed order decide.
        const bool must_decide =
            decides(n, rule, sc) && decides(n, rule, std::vector<step>(sc.rbegin(), sc.rend()));
        for (int round = 0; round < race_rounds; ++round) {
          script = sc;
          std::rotate(script.begin(), script.begin() + (round % static_cast<int>(sc.size())),
                      script.end());
          h = store.open(quorum::execution_spec{"race-" + std::to_string(runs++), n, rule});
          start.arrive_and_wait();
          done.arrive_and_wait();
          const auto rec = store.snapshot(h);
          store.close(h);
          int decided_now = 0;
          for (std::size_t i = 0; i < script.size(); ++i) {
            const auto& t = tallies[i];
            decided_now += t.decided_now;
            // a step before the decision sees none; the decider and every later step see it
            if ((t.decision && t.decision != rec.decision) || (t.decided_now && !t.decision))
              FAIL_CHECK("a tally disagrees with the final decision: " << describe(script));
          }
          if (decided_now != (rec.decision ? 1 : 0))
            FAIL_CHECK(decided_now << " decided_now in " << describe(script) << ", K=" << k);
          if (must_decide && !rec.decision)
            FAIL_CHECK("no decision: " << describe(script) << ", K=" << k);
          if (rec.decision) {
            std::size_t s = 0, f = 0;
            for (const auto& b : rec.branches)
              if (b.outcome && !b.late) (*b.outcome == outcome::success ? s : f) += 1;
            CHECK(s == rec.successes_at_decision);
            CHECK(f == rec.failures_at_decision);
            if (rec.decision == decision::quorum_met) CHECK(s >= k);
            if (rec.decision == decision::unreachable) CHECK(f > n - k);
            if (rec.decision == decision::timed_out || rec.decision == decision::cancelled)
              CHECK((s < k && f <= n - k));
          }
        }
      }
    }
  }
  quit = true;
  start.arrive_and_wait();
  MESSAGE(runs << " raced executions");
  CHECK(runs > 1000);
}

}  // namespace

TEST_CASE(
    "stores on racing threads: each script's steps at once still make exactly one consistent "
    "decision" *
    doctest::timeout(300)) {
  SUBCASE("memory_store") {
    quorum::memory_store s;
    race_scripts(s);
  }
#ifdef QUORUM_MC_HAVE_SHARDED
  SUBCASE("sharded_store") {
    quorum::sharded_store s;
    race_scripts(s);
  }
#endif
#ifdef QUORUM_MC_HAVE_ATOMIC
  SUBCASE("atomic_store") {
    quorum::atomic_store s;
    race_scripts(s);
  }
#endif
}
