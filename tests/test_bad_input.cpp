// Bad input: every case of DESIGN.md §1 "Bad input" and issues 3 and 5. Each one is rejected
// with an exception derived from std::invalid_argument whose message names the field and the
// value, before any branch runs (the branches count their runs) and before the store is
// touched. The edges that are NOT errors (a deadline already past, huge or zero settings,
// strange bytes in ids and names) are here too, with what the user gets instead.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <latch>
#include <limits>
#include <quorum/quorum.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "strict_json.hpp"

using namespace std::chrono_literals;
using quorum::decision;

namespace {

using ns = std::chrono::nanoseconds;

// Runs f, which must throw something derived from std::invalid_argument; returns its message.
template <class F>
std::string rejection(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  } catch (...) {
    FAIL("threw an exception that is not a std::invalid_argument");
  }
  FAIL("accepted bad input instead of throwing std::invalid_argument");
  return {};
}

// `value` occurs in `msg` as a whole token (not as part of a longer number or word).
bool names_value(std::string_view msg, std::string_view value) {
  auto part_of_token = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == '_';
  };
  for (auto p = msg.find(value); p != std::string_view::npos; p = msg.find(value, p + 1)) {
    bool left = p == 0 || !part_of_token(msg[p - 1]);
    auto end = p + value.size();
    // a trailing '.' ends a sentence, not a number
    bool right = end == msg.size() || !part_of_token(msg[end]) ||
                 (msg[end] == '.' && (end + 1 == msg.size() || msg[end + 1] == ' '));
    if (left && right) return true;
  }
  return false;
}

bool contains(std::string_view msg, std::string_view part) { return msg.find(part) != msg.npos; }

// Branches that count how often they ran.
struct probe {
  std::atomic<int> ran{0};
  auto branch() {
    return [this] {
      ran.fetch_add(1);
      return 1;
    };
  }
};

// Hands three counting branches and `o` to every entry point (blocking and non-blocking; pack
// and range; default store, a store of ours, an executor). Each must reject the input the same
// way before running a branch or opening a record. Returns the message.
std::string rejected_everywhere(const quorum::options& o) {
  probe p;
  quorum::memory_store store;
  std::vector<std::function<int()>> range(3, p.branch());
  std::vector<std::string> msgs;
  msgs.push_back(
      rejection([&] { (void)quorum::quorum_parallel(o, p.branch(), p.branch(), p.branch()); }));
  msgs.push_back(rejection([&] { (void)quorum::quorum_parallel(o, range); }));
  msgs.push_back(rejection([&] { (void)quorum::start(o, p.branch(), p.branch(), p.branch()); }));
  msgs.push_back(rejection([&] { (void)quorum::start(store, o, range); }));
  msgs.push_back(rejection([&] {
    (void)quorum::quorum_parallel(store, quorum::inline_executor{}, o, p.branch(), p.branch(),
                                  p.branch());
  }));
  quorum::thread_executor threads;
  msgs.push_back(rejection([&] { (void)quorum::start(store, threads, o, range); }));
  CHECK(p.ran.load() == 0);
  CHECK(store.size() == 0);
  for (const auto& m : msgs) CHECK(m == msgs.front());
  return msgs.front();
}

quorum::options with_policy(quorum::policy pol) {
  quorum::options o;
  o.policy = std::move(pol);
  return o;
}

// The JSON of a result parses strictly and its "id" decodes to `id`.
template <class T>
void check_json_id(const quorum::result<T>& r, std::string_view id) {
  const auto json = quorum::to_json(r);
  auto doc = strict_json::parse(json);
  REQUIRE_MESSAGE(doc.has_value(), "not valid JSON: " << json);
  const auto* got = doc->get("id");
  REQUIRE(got != nullptr);
  REQUIRE(got->is(strict_json::value::kind::string));
  CHECK(got->str == id);
}

}  // namespace

// ---- the quorum --------------------------------------------------------------------------------

TEST_CASE(
    "quorum = 0 is rejected with std::invalid_argument naming options.quorum and 0, and no branch "
    "runs") {
  auto msg = rejected_everywhere({.quorum = 0});
  CHECK(contains(msg, "options.quorum"));
  CHECK(names_value(msg, "0"));
}

TEST_CASE(
    "a quorum above the number of branches is rejected naming options.quorum, the value and N") {
  auto msg = rejected_everywhere({.quorum = 7});
  CHECK(contains(msg, "options.quorum"));
  CHECK(names_value(msg, "7"));
  CHECK(names_value(msg, "3"));
}

TEST_CASE("a quorum far above N (the largest size_t) is rejected, not wrapped around") {
  auto msg = rejected_everywhere({.quorum = std::numeric_limits<std::size_t>::max()});
  CHECK(contains(msg, "options.quorum"));
  CHECK(names_value(msg, std::to_string(std::numeric_limits<std::size_t>::max())));
}

TEST_CASE("a quorum equal to N is accepted: every branch must succeed") {
  probe p;
  auto r = quorum::quorum_parallel({.quorum = 3}, p.branch(), p.branch(), p.branch());
  CHECK(r.decision == decision::quorum_met);
  CHECK(p.ran.load() == 3);
}

TEST_CASE(
    "setting both options.quorum and options.policy is rejected naming both, and no branch runs") {
  quorum::options o = with_policy(quorum::majority());
  o.quorum = 2;
  auto msg = rejected_everywhere(o);
  CHECK(contains(msg, "options.quorum"));
  CHECK(names_value(msg, "2"));
  CHECK(contains(msg, "policy"));
}

// ---- the branches ------------------------------------------------------------------------------

TEST_CASE(
    "an empty pack of branches is rejected with std::invalid_argument saying there are no "
    "branches") {
  quorum::memory_store store;
  std::vector<std::string> msgs;
  msgs.push_back(rejection([] { (void)quorum::quorum_parallel({.quorum = 1}); }));
  msgs.push_back(rejection([] { (void)quorum::start({.quorum = 1}); }));
  msgs.push_back(rejection([&] { (void)quorum::start(store, {.quorum = 1}); }));
  msgs.push_back(
      rejection([&] { (void)quorum::start(store, quorum::inline_executor{}, {.quorum = 1}); }));
  for (const auto& m : msgs) {
    CHECK(contains(m, "no branches"));
  }
  CHECK(store.size() == 0);
}

TEST_CASE(
    "an empty range of branches is rejected with std::invalid_argument saying there are no "
    "branches") {
  quorum::memory_store store;
  std::vector<std::function<int()>> none;
  std::vector<std::function<void(std::stop_token)>> none_void;
  std::vector<std::string> msgs;
  msgs.push_back(rejection([&] { (void)quorum::quorum_parallel({.quorum = 1}, none); }));
  msgs.push_back(rejection([&] { (void)quorum::quorum_parallel({.quorum = 1}, none_void); }));
  msgs.push_back(rejection(
      [&] { (void)quorum::start(store, {.quorum = 1}, std::vector<std::function<int()>>{}); }));
  msgs.push_back(rejection(
      [&] { (void)quorum::start(store, quorum::inline_executor{}, {.quorum = 1}, none); }));
  for (const auto& m : msgs) CHECK(contains(m, "no branches"));
  CHECK(store.size() == 0);
}

TEST_CASE("an empty range is rejected as no branches even when the quorum is also bad") {
  // The first thing wrong is reported: there is nothing to run at all.
  std::vector<std::function<int()>> none;
  auto msg = rejection([&] { (void)quorum::quorum_parallel({.quorum = 0}, none); });
  CHECK(contains(msg, "no branches"));
}

TEST_CASE(
    "a names list shorter or longer than N is rejected naming options.names and both counts") {
  SUBCASE("two names for three branches") {
    auto msg = rejected_everywhere({.quorum = 1, .names = {"a", "b"}});
    CHECK(contains(msg, "options.names"));
    CHECK(names_value(msg, "2"));
    CHECK(names_value(msg, "3"));
  }
  SUBCASE("five names for three branches") {
    auto msg = rejected_everywhere({.quorum = 1, .names = {"a", "b", "c", "d", "e"}});
    CHECK(contains(msg, "options.names"));
    CHECK(names_value(msg, "5"));
    CHECK(names_value(msg, "3"));
  }
  SUBCASE("one name for three branches: singular") {
    auto msg = rejected_everywhere({.quorum = 1, .names = {"a"}});
    CHECK(contains(msg, "has 1 name for 3 branches"));
  }
}

TEST_CASE("two branches of one name are rejected naming the name and both branches") {
  // A user trial gave three branches the name "a": accepted, and to_json's lists of
  // processes could not tell them apart.
  auto msg = rejected_everywhere({.quorum = 1, .names = {"a", "b", "a"}});
  CHECK(msg ==
        "quorum::options.names: \"a\" names branch 0 and branch 2 (counting from 0): each branch "
        "needs a name of its own");
  msg = rejected_everywhere({.quorum = 1, .names = {"x", "", ""}});
  CHECK(contains(msg, "\"\" names branch 1 and branch 2"));
  // Above 16 names the check sorts them instead of comparing every pair.
  std::vector<std::string> many;
  for (int i = 0; i < 20; ++i) many.push_back("r" + std::to_string(i));
  many[17] = "r5";
  std::vector<std::function<int()>> twenty(20, [] { return 1; });
  msg = rejection([&] {
    (void)quorum::quorum_parallel(quorum::options{.quorum = 1, .names = many}, twenty);
  });
  CHECK(contains(msg, "\"r5\" names branch 5 and branch 17"));
  many[17] = "r17";
  CHECK_NOTHROW((void)quorum::quorum_parallel(quorum::options{.quorum = 1, .names = many}, twenty));
  CHECK_NOTHROW((void)quorum::quorum_parallel({.quorum = 1, .names = {"a", "A", "a "}},
                                              [] { return 1; }, [] { return 2; },
                                              [] { return 3; }));
}

TEST_CASE("an empty std::function or a null function pointer is rejected naming its index") {
  // It used to run, throw std::bad_function_call (or crash, for a pointer), and count as a
  // failure (found by a user trial).
  std::vector<std::function<int()>> range{[] { return 1; }, {}, [] { return 3; }};
  auto msg = rejection([&] { (void)quorum::quorum_parallel({.quorum = 1}, range); });
  CHECK(contains(msg, "branch 1 (counting from 0) is an empty std::function"));

  int (*none)() = nullptr;
  msg = rejection([&] { (void)quorum::quorum_parallel({.quorum = 1}, [] { return 1; }, none); });
  CHECK(contains(msg, "branch 1 (counting from 0)"));

  msg = rejection([&] { (void)quorum::start({.quorum = 1}, std::function<int()>{}); });
  CHECK(contains(msg, "branch 0 (counting from 0)"));

  auto moved = range;  // a range given up is moved into the execution: checked there too
  msg = rejection([&] { (void)quorum::start({.quorum = 1}, std::move(moved)); });
  CHECK(contains(msg, "branch 1 (counting from 0)"));
}

// ---- time ---------------------------------------------------------------------------------------

TEST_CASE(
    "a negative timeout is rejected naming options.timeout and the value, and no branch runs") {
  auto msg = rejected_everywhere({.quorum = 1, .timeout = ns(-1234567)});
  CHECK(contains(msg, "options.timeout"));
  CHECK(contains(msg, "-1234567"));
}

TEST_CASE("a negative duration is named in the largest unit that holds it exactly") {
  CHECK(contains(rejected_everywhere({.quorum = 1, .timeout = -5ms}), "timeout = -5ms is"));
  CHECK(contains(rejected_everywhere({.quorum = 1, .timeout = -90s}), "timeout = -90s is"));
  CHECK(contains(rejected_everywhere({.quorum = 1, .timeout = -2h}), "timeout = -2h is"));
  CHECK(contains(rejected_everywhere({.quorum = 1, .hedge_delay = -1500us}),
                 "hedge_delay = -1500us is"));
  CHECK(contains(rejected_everywhere({.quorum = 1, .retry = {.max_attempts = 2,
                                                             .interval = -3min}}),
                 "interval = -3min is"));
}

TEST_CASE("the most negative timeout is rejected too") {
  auto msg = rejected_everywhere({.quorum = 1, .timeout = ns::min()});
  CHECK(contains(msg, "options.timeout"));
  CHECK(contains(msg, std::to_string(ns::min().count())));
}

TEST_CASE(
    "a deadline already past is not an error: the execution decides timed_out and runs no branch") {
  quorum::manual_clock clk;
  std::vector<quorum::options> variants(4, quorum::options{.quorum = 1, .clock = &clk});
  variants[0].deadline = clk.now() - 1s;                    // a second ago
  variants[1].deadline = quorum::clock::time_point::min();  // the earliest representable
  variants[2].deadline = clk.now();                         // exactly now
  variants[3].timeout = 0ns;                                // no time at all
  for (const auto& o : variants) {
    probe p;
    quorum::memory_store store;
    {  // on threads, default store
      auto r = quorum::quorum_parallel(o, p.branch(), p.branch(), p.branch());
      CHECK(r.decision == decision::timed_out);
      CHECK_FALSE(r.decided_by.has_value());
      for (const auto& b : r.branches) {
        CHECK(b.status == quorum::branch_status::cancelled);
        CHECK(b.attempts == 0);
        CHECK_FALSE(b.late);
      }
    }
    {  // inline, with a store of ours: the record says timed_out
      auto ex = quorum::start(store, quorum::inline_executor{}, o, p.branch(), p.branch());
      CHECK(ex.decided());
      auto rec = ex.record();
      REQUIRE(rec.decision.has_value());
      CHECK(*rec.decision == decision::timed_out);
      CHECK(rec.successes_at_decision == 0);
      for (const auto& b : rec.branches) CHECK_FALSE(b.outcome.has_value());
      auto r = ex.get();
      CHECK(r.decision == decision::timed_out);
      auto doc = strict_json::parse(quorum::to_json(r));
      REQUIRE(doc.has_value());
      CHECK(doc->get("timeout_occurred")->b);
    }
    CHECK(p.ran.load() == 0);
  }
}

TEST_CASE("a huge timeout or the latest deadline is accepted and never fires early") {
  quorum::memory_store scratch;
  quorum::manual_clock clk;
  probe p;
  quorum::options o{.quorum = 2, .clock = &clk};
  SUBCASE("timeout = nanoseconds::max()") { o.timeout = ns::max(); }
  SUBCASE("deadline = time_point::max()") { o.deadline = quorum::clock::time_point::max(); }
  SUBCASE("both") {
    o.timeout = ns::max();
    o.deadline = quorum::clock::time_point::max();
  }
  clk.advance(std::chrono::hours(24 * 365 * 100));  // the clock far from its epoch
  auto r = quorum::quorum_parallel(scratch, quorum::inline_executor{}, o, p.branch(), p.branch(),
                                   p.branch());
  CHECK(r.decision == decision::quorum_met);
}

// ---- stores ------------------------------------------------------------------------------------

TEST_CASE(
    "a duplicate execution id in a store that still holds it is rejected naming the id, and no "
    "branch of the second runs") {
  quorum::memory_store store;
  quorum::manual_clock clk;
  std::atomic<int> first_ran{0};
  // The first execution stays undecided (its branch waits for its stop token), so the store
  // still holds its record while the second one starts.
  auto first = quorum::start(store, {.quorum = 1, .execution_id = "order-42", .clock = &clk},
                             [&](std::stop_token st) {
                               first_ran.fetch_add(1);
                               std::mutex m;
                               std::condition_variable_any cv;
                               std::unique_lock lk(m);
                               cv.wait(lk, st, [] { return false; });
                               return 0;
                             });
  probe p;
  quorum::options o{.quorum = 1, .execution_id = "order-42"};
  std::string msg;
  SUBCASE("start with a pack") {
    msg = rejection([&] { (void)quorum::start(store, o, p.branch(), p.branch()); });
  }
  SUBCASE("quorum_parallel with a range and an executor") {
    std::vector<std::function<int()>> range(2, p.branch());
    msg = rejection(
        [&] { (void)quorum::quorum_parallel(store, quorum::inline_executor{}, o, range); });
  }
  SUBCASE("the exception is quorum::duplicate_execution_id") {
    CHECK_THROWS_AS((void)quorum::start(store, o, p.branch()), quorum::duplicate_execution_id);
    msg = "order-42 execution_id";
  }
  CHECK(contains(msg, "execution_id"));
  CHECK(contains(msg, "order-42"));
  CHECK(p.ran.load() == 0);
  CHECK(store.size() == 1);  // the first execution's record, untouched
  CHECK_FALSE(first.decided());
  first.cancel();
  CHECK(first.get().decision == decision::cancelled);
}

TEST_CASE("an execution id is free again once the execution that held it has ended") {
  quorum::memory_store store;
  probe p;
  quorum::options o{.quorum = 1, .execution_id = "again"};
  for (int i = 0; i < 3; ++i) {
    auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, o, p.branch());
    CHECK(r.decision == decision::quorum_met);
    CHECK(r.execution_id == "again");
    CHECK(store.size() == 0);
  }
  CHECK(p.ran.load() == 3);
}

TEST_CASE("an empty execution id is not an error: each execution gets a different generated id") {
  quorum::memory_store store;
  probe p;
  auto a = quorum::start(store, quorum::inline_executor{}, {.quorum = 1}, p.branch());
  auto b = quorum::start(store, quorum::inline_executor{}, {.quorum = 1}, p.branch());
  CHECK_FALSE(a.id().empty());
  CHECK(a.id() != b.id());
  CHECK(store.size() == 2);
}

// ---- policies -----------------------------------------------------------------------------------

TEST_CASE(
    "weights that cannot reach the threshold are rejected naming the threshold and the weight "
    "sum") {
  auto msg = rejected_everywhere(with_policy(quorum::weighted({1, 2, 3}, 7)));
  CHECK(contains(msg, "threshold"));
  CHECK(names_value(msg, "7"));
  CHECK(names_value(msg, "6"));
}

TEST_CASE("all-zero weights cannot reach any threshold and are rejected") {
  auto msg = rejected_everywhere(with_policy(quorum::weighted({0, 0, 0}, 1)));
  CHECK(contains(msg, "threshold"));
  CHECK(names_value(msg, "1"));
  CHECK(names_value(msg, "0"));
}

TEST_CASE("a weighted threshold of 0 is rejected naming the threshold") {
  auto msg = rejected_everywhere(with_policy(quorum::weighted({1, 1, 1}, 0)));
  CHECK(contains(msg, "threshold"));
  CHECK(names_value(msg, "0"));
}

TEST_CASE("a weight count other than N is rejected naming both counts") {
  auto msg = rejected_everywhere(with_policy(quorum::weighted({1, 1}, 1)));
  CHECK(contains(msg, "weight"));
  CHECK(names_value(msg, "2"));
  CHECK(names_value(msg, "3"));
}

TEST_CASE("the largest weights add up without overflow and are accepted") {
  quorum::memory_store scratch;
  constexpr auto big = std::numeric_limits<std::uint32_t>::max();
  probe p;
  quorum::options o = with_policy(quorum::weighted({big, big, big}, 3ull * big));
  auto r = quorum::quorum_parallel(scratch, quorum::inline_executor{}, o, p.branch(), p.branch(),
                                   p.branch());
  CHECK(r.decision == decision::quorum_met);
  CHECK(r.decided_by == 2u);
}

TEST_CASE("a fraction outside 0 < p <= 1 is rejected naming the fraction, and no branch runs") {
  double p = 0;
  std::string shown;
  SUBCASE("zero") { p = 0.0, shown = "fraction(0"; }
  SUBCASE("negative") { p = -0.25, shown = "-0.25"; }
  SUBCASE("above one") { p = 1.5, shown = "1.5"; }
  SUBCASE("NaN") { p = std::numeric_limits<double>::quiet_NaN(), shown = "nan"; }
  SUBCASE("infinity") { p = std::numeric_limits<double>::infinity(), shown = "inf"; }
  auto msg = rejected_everywhere(with_policy(quorum::fraction(p)));
  CHECK(contains(msg, "fraction"));
  CHECK(contains(msg, shown));
}

TEST_CASE(
    "fractions at the edges of 0 < p <= 1 are accepted: the smallest needs one success, 1 needs "
    "all") {
  probe p;
  quorum::memory_store store;
  SUBCASE("the smallest positive fraction") {
    auto r = quorum::quorum_parallel(
        store, quorum::inline_executor{},
        with_policy(quorum::fraction(std::numeric_limits<double>::denorm_min())), p.branch(),
        p.branch(), p.branch());
    CHECK(r.decision == decision::quorum_met);
    CHECK(r.decided_by == 0u);
    CHECK(p.ran.load() == 1);
  }
  SUBCASE("exactly one") {
    auto r = quorum::quorum_parallel(store, quorum::inline_executor{},
                                     with_policy(quorum::fraction(1.0)), p.branch(), p.branch(),
                                     p.branch());
    CHECK(r.decision == decision::quorum_met);
    CHECK(r.decided_by == 2u);
    CHECK(p.ran.load() == 3);
  }
}

TEST_CASE("max_failures tolerating every branch is rejected naming the count") {
  auto msg = rejected_everywhere(with_policy(quorum::max_failures(3)));
  CHECK(contains(msg, "max_failures"));
  CHECK(names_value(msg, "3"));
}

TEST_CASE("failure_fraction outside 0 <= p < 1 is rejected naming the fraction") {
  double p = 0;
  std::string shown;
  SUBCASE("one") { p = 1.0, shown = "1.0"; }
  SUBCASE("negative") { p = -0.5, shown = "-0.5"; }
  SUBCASE("NaN") { p = std::numeric_limits<double>::quiet_NaN(), shown = "nan"; }
  auto msg = rejected_everywhere(with_policy(quorum::failure_fraction(p)));
  CHECK(contains(msg, "failure_fraction"));
  CHECK(contains(msg, shown));
}

// ---- retry and hedging --------------------------------------------------------------------------

TEST_CASE("retry.max_attempts = 0 is rejected naming the field and 0") {
  auto msg = rejected_everywhere({.quorum = 1, .retry = {.max_attempts = 0}});
  CHECK(contains(msg, "max_attempts"));
  CHECK(names_value(msg, "0"));
}

TEST_CASE("a negative retry interval is rejected naming retry.interval and the value") {
  auto msg = rejected_everywhere({.quorum = 1, .retry = {.max_attempts = 2, .interval = ns(-77)}});
  CHECK(contains(msg, "retry.interval"));
  CHECK(contains(msg, "-77"));
}

TEST_CASE("a negative retry max_delay is rejected naming retry.max_delay and the value") {
  auto msg = rejected_everywhere({.quorum = 1, .retry = {.max_attempts = 2, .max_delay = ns(-5)}});
  CHECK(contains(msg, "retry.max_delay"));
  CHECK(contains(msg, "-5"));
}

TEST_CASE("a retry backoff_rate below 1, NaN or infinite is rejected naming retry.backoff_rate") {
  double rate = 0;
  std::string shown;
  SUBCASE("below one") { rate = 0.5, shown = "0.5"; }
  SUBCASE("zero") { rate = 0.0, shown = "0"; }
  SUBCASE("negative") { rate = -2.0, shown = "-2"; }
  SUBCASE("NaN") { rate = std::numeric_limits<double>::quiet_NaN(), shown = "nan"; }
  SUBCASE("infinity") { rate = std::numeric_limits<double>::infinity(), shown = "inf"; }
  auto msg = rejected_everywhere({.quorum = 1, .retry = {.max_attempts = 2, .backoff_rate = rate}});
  CHECK(contains(msg, "retry.backoff_rate"));
  CHECK(contains(msg, shown));
}

TEST_CASE(
    "a zero retry interval retries at once however many attempts, and every wait is non-negative") {
  quorum::memory_store scratch;
  quorum::retry rt{
      .max_attempts = std::numeric_limits<unsigned>::max(), .interval = 0ns, .backoff_rate = 2.0};
  std::minstd_rand rng(1);
  for (unsigned next : {2u, 3u, 64u, 1100u, 5000u, std::numeric_limits<unsigned>::max()})
    CHECK(rt.delay_before(next, rng) == 0ns);

  // End to end on the caller's thread with a clock nobody advances: any wait above zero would
  // block forever, so finishing proves every retry started at once.
  quorum::manual_clock clk;
  int calls = 0;
  auto flaky = [&calls]() -> int {
    if (++calls <= 3000) throw std::runtime_error("not yet");
    return 7;
  };
  auto r = quorum::quorum_parallel(scratch, quorum::inline_executor{},
                                   {.quorum = 1, .retry = rt, .clock = &clk}, flaky);
  CHECK(r.decision == decision::quorum_met);
  CHECK(r.branches[0].attempts == 3001u);
  CHECK(r.branches[0].value == 7);
}

TEST_CASE("huge retry settings are accepted and the wait between attempts never wraps around") {
  quorum::retry rt{.max_attempts = std::numeric_limits<unsigned>::max(),
                   .interval = ns::max(),
                   .backoff_rate = 1e300,
                   .max_delay = ns::max()};
  std::minstd_rand rng(1);
  for (unsigned next : {2u, 3u, 1000u, std::numeric_limits<unsigned>::max()}) {
    auto d = rt.delay_before(next, rng);
    CHECK(d > std::chrono::hours(24 * 365 * 100));
  }
  rt.jitter = quorum::jitter::full;
  for (int i = 0; i < 100; ++i) CHECK(rt.delay_before(5, rng) >= 0ns);
}

TEST_CASE(
    "with huge retry settings a failing branch waits until the decision, which ends its wait") {
  quorum::memory_store scratch;
  // Branch 0 always fails and would retry after "forever"; branch 1 succeeds once branch 0 is
  // waiting. A wait that wrapped around into the past would retry at once instead, which
  // branch 1 notices (the second attempt) without blocking forever.
  quorum::manual_clock clk;
  std::atomic<unsigned> attempts0{0};
  quorum::options o{.quorum = 1,
                    .retry = {.max_attempts = std::numeric_limits<unsigned>::max(),
                              .interval = ns::max(),
                              .backoff_rate = 1e300,
                              .max_delay = ns::max()},
                    .clock = &clk};
  auto r = quorum::quorum_parallel(
      scratch, quorum::thread_executor{}, o,
      [&]() -> int {
        attempts0.fetch_add(1);
        throw std::runtime_error("down");
      },
      [&]() -> int {
        while (clk.sleepers() == 0 && attempts0.load() < 2) std::this_thread::yield();
        return 1;
      });
  CHECK(r.decision == decision::quorum_met);
  CHECK(r.decided_by == 1u);
  CHECK(attempts0.load() == 1);
  CHECK(r.branches[0].attempts == 1u);
  CHECK(r.branches[0].late);
}

TEST_CASE("a negative hedge delay is rejected naming options.hedge_delay and the value") {
  auto msg = rejected_everywhere({.quorum = 1, .hedge_delay = ns(-250)});
  CHECK(contains(msg, "options.hedge_delay"));
  CHECK(contains(msg, "-250"));
}

TEST_CASE(
    "a huge hedge delay is accepted: later branches wait for their turn and never start after the "
    "decision") {
  quorum::memory_store scratch;
  // hedge_delay * i and started + that must saturate. Were they to wrap around, branches 1 and 2
  // would start at once; branch 0 waits until both wait on the clock (or one started).
  quorum::manual_clock clk;
  clk.advance(std::chrono::hours(24 * 365));
  std::atomic<int> later_started{0};
  auto later = [&] {
    later_started.fetch_add(1);
    return 2;
  };
  auto r = quorum::quorum_parallel(
      scratch, quorum::thread_executor{}, {.quorum = 1, .hedge_delay = ns::max(), .clock = &clk},
      [&] {
        while (clk.sleepers() < 2 && later_started.load() == 0) std::this_thread::yield();
        return 1;
      },
      later, later);
  CHECK(r.decision == decision::quorum_met);
  CHECK(r.decided_by == 0u);
  CHECK(later_started.load() == 0);
  for (std::size_t i : {1u, 2u}) {
    CHECK(r.branches[i].status == quorum::branch_status::cancelled);
    CHECK(r.branches[i].attempts == 0u);
  }
}

// ---- bytes in ids, names, errors and values: the JSON stays valid -------------------------

TEST_CASE(
    "an execution id with quotes, backslashes, newlines and control characters keeps the JSON "
    "valid and round-trips") {
  using namespace std::string_literals;
  const std::string id =
      "a \"quoted\" \\ back\\slash\nnew line\r\t tab \b\f \0 nul \x01\x1f\x7f /</script>"s;
  REQUIRE(id.find('\0') != std::string::npos);
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{},
                                   {.quorum = 1, .execution_id = id}, [] { return 1; });
  CHECK(r.execution_id == id);
  check_json_id(r, id);
}

TEST_CASE("a non-ASCII UTF-8 execution id round-trips exactly in the JSON") {
  quorum::memory_store scratch;
  const std::string id =
      "Zürich-東京-\xF0\x9F\x98\x80-\xE2\x80\xA8-\xEF\xBB\xBF";  // emoji, U+2028, BOM
  auto r = quorum::quorum_parallel(scratch, quorum::inline_executor{},
                                   {.quorum = 1, .execution_id = id}, [] { return 1; });
  check_json_id(r, id);
}

TEST_CASE("invalid UTF-8 bytes in an execution id become U+FFFD and the JSON stays valid") {
  const std::string fffd = "\xEF\xBF\xBD";
  struct bad_case {
    std::string in, out;
  };
  const std::vector<bad_case> cases = {
      {"x\x80y", "x" + fffd + "y"},                     // lone continuation byte
      {"\xC0\xAF", fffd + fffd},                        // overlong '/'
      {"\xE0\x80\xAF", fffd + fffd + fffd},             // overlong, three bytes
      {"\xED\xA0\x80", fffd + fffd + fffd},             // UTF-16 surrogate
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},  // above U+10FFFF
      {"\xF5\xFF\xFE", fffd + fffd + fffd},             // never valid
      {"end\xE2\x82", "end" + fffd + fffd},             // truncated at the end
      {"\xE2\x82\"q", fffd + fffd + "\"q"},             // truncated before a quote
      {"\xC3\xA9\xC3", "\xC3\xA9" + fffd},              // valid, then truncated
  };
  quorum::memory_store store;
  for (const auto& c : cases) {
    CAPTURE(c.in);
    auto r = quorum::quorum_parallel(store, quorum::inline_executor{},
                                     {.quorum = 1, .execution_id = c.in}, [] { return 1; });
    CHECK(r.execution_id == c.in);  // the result keeps the bytes; only the JSON replaces them
    check_json_id(r, c.out);
  }
}

TEST_CASE("random bytes in ids, names, errors and string values always give valid JSON") {
  std::mt19937 rng(20240607);
  auto random_bytes = [&](std::size_t max_len) {
    std::string s(rng() % (max_len + 1), '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
  };
  quorum::memory_store store;
  for (int round = 0; round < 300; ++round) {
    const std::string id = random_bytes(24);
    // Distinct by their first byte: two random names may be alike (two empty ones), and names
    // must differ.
    std::vector<std::string> names{'0' + random_bytes(8), '1' + random_bytes(8),
                                   '2' + random_bytes(8)};
    const std::string value = random_bytes(16), error = random_bytes(16);
    auto r = quorum::quorum_parallel(
        store, quorum::inline_executor{},
        {.quorum = 2, .execution_id = "r" + std::to_string(round) + id, .names = names},
        [&]() -> std::string { throw std::runtime_error(error); }, [&] { return value; },
        []() -> std::string { throw 42; });
    const auto json = quorum::to_json(r);
    CAPTURE(json);
    auto doc = strict_json::parse(json);
    REQUIRE(doc.has_value());
    const auto* branches = doc->get("branches");
    REQUIRE(branches != nullptr);
    REQUIRE(branches->arr.size() == 3);
  }
}

TEST_CASE(
    "branch names, error texts and string values with quotes and newlines round-trip through the "
    "JSON") {
  quorum::memory_store scratch;
  const std::vector<std::string> names{"say \"hi\"", "line\nbreak", "tab\there \\ there"};
  const std::string err = "failed: \"disk\"\n\tfull \\o/";
  const std::string val = "v\"a\nl\\ue";
  auto r = quorum::quorum_parallel(
      scratch, quorum::inline_executor{}, {.quorum = 1, .names = names},
      [&]() -> std::string { throw std::runtime_error(err); }, [&] { return val; },
      [] { return std::string("never runs"); });
  auto doc = strict_json::parse(quorum::to_json(r));
  REQUIRE(doc.has_value());
  const auto& bs = doc->get("branches")->arr;
  REQUIRE(bs.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(bs[i].get("name")->str == names[i]);
  CHECK(bs[0].get("error")->str == err);
  CHECK(bs[1].get("value")->str == val);
  CHECK(doc->get("failed_processes")->arr.at(0).str == names[0]);
  CHECK(doc->get("successful_processes")->arr.at(0).str == names[1]);
  CHECK(doc->get("decided_by")->str == names[1]);
}
