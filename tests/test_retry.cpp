// Retry: the delay schedule (interval, backoff, cap, jitter), which errors retry, the wait that
// ends at once on stop or deadline, and a retried branch counted by attempts and recorded once.
//
// Waits run on a quorum::manual_clock. The test rendezvouses with a branch asleep in its retry
// wait through wait_for_sleepers(), then moves time to 1 ns before the wait's end (the branch
// must stay asleep) and then exactly to its end (the branch must wake). Nothing sleeps for real.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <quorum/quorum.hpp>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using ns = std::chrono::nanoseconds;

namespace {

struct transient : std::runtime_error {
  transient() : std::runtime_error("transient") {}
};
struct permanent : std::runtime_error {
  permanent() : std::runtime_error("permanent") {}
};

// Counts the attempts a branch has begun; the test waits on it (atomic wait, no polling).
class attempt_counter {
 public:
  void begin() {
    n_.fetch_add(1);
    n_.notify_all();
  }
  [[nodiscard]] unsigned get() const { return n_.load(); }
  void wait_for(unsigned want) const {
    for (unsigned n = n_.load(); n < want; n = n_.load()) n_.wait(n);
  }

 private:
  std::atomic<unsigned> n_{0};
};

using test_support::gate;

// One always-failing branch with `r`; the test walks it through every wait in `delays`, checking
// each ends exactly at its boundary. Returns the clock times at which the attempts began.
std::vector<quorum::clock::time_point> walk_delays(quorum::retry r, const std::vector<ns>& delays) {
  quorum::manual_clock clk;
  attempt_counter attempts;
  std::mutex m;
  std::vector<quorum::clock::time_point> began;
  quorum::options o{.quorum = 1};
  o.clock = &clk;
  o.retry = std::move(r);
  auto ex = quorum::start(o, [&](quorum::branch_context& ctx) -> int {
    {
      std::lock_guard lk(m);
      began.push_back(ctx.clock().now());
    }
    attempts.begin();
    throw transient{};
  });
  for (std::size_t k = 0; k < delays.size(); ++k) {
    CAPTURE(k);
    // Attempt k+1 has begun, so the previous wait is over; the next sleeper is the new wait.
    attempts.wait_for(static_cast<unsigned>(k + 1));
    clk.wait_for_sleepers(1);
    clk.advance(delays[k] - 1ns);
    CHECK(clk.sleepers() == 1);
    CHECK(attempts.get() == k + 1);
    clk.advance(1ns);
    attempts.wait_for(static_cast<unsigned>(k + 2));
  }
  auto res = ex.get();
  CHECK(res.decision == quorum::decision::unreachable);
  CHECK(res.branches[0].attempts == delays.size() + 1);
  CHECK(res.branches[0].status == quorum::branch_status::failed);
  CHECK(clk.sleepers() == 0);
  std::lock_guard lk(m);
  return began;
}

// The waits between the attempts that began at `began`.
std::vector<ns> gaps(const std::vector<quorum::clock::time_point>& began) {
  std::vector<ns> out;
  for (std::size_t i = 1; i < began.size(); ++i) out.push_back(began[i] - began[i - 1]);
  return out;
}

}  // namespace

TEST_CASE("the delays grow by the backoff rate from the interval") {
  std::minstd_rand rng(1);
  quorum::retry r{.max_attempts = 6, .interval = 2s, .backoff_rate = 2.0};  // the seed's Retry
  CHECK(r.delay_before(2, rng) == 2s);
  CHECK(r.delay_before(3, rng) == 4s);
  CHECK(r.delay_before(4, rng) == 8s);
  CHECK(r.delay_before(6, rng) == 32s);
  r.backoff_rate = 1.5;
  r.interval = 100ms;
  CHECK(r.delay_before(3, rng) == 150ms);
  CHECK(r.delay_before(4, rng) == 225ms);
  r.backoff_rate = 1.0;
  CHECK(r.delay_before(9, rng) == 100ms);
}

TEST_CASE("a backoff rate not exact in binary gives the nearest nanosecond, not one below") {
  // 1.2 is stored as 1.19999999999999996: 1 s * 1.2^3 computes as 1727999999.9999998 ns, which
  // truncation made 1.727999999 s.
  std::minstd_rand rng(1);
  quorum::retry r{.max_attempts = 8, .interval = 1s, .backoff_rate = 1.2};
  CHECK(r.delay_before(5, rng) == 1728ms);
  CHECK(r.delay_before(7, rng) == 2488320us);
  r.interval = 100ms;
  CHECK(r.delay_before(8, rng) == 298598400ns);
  // Rounded, never above the cap: 4.5 ns capped at 4 ns stays 4 ns.
  r = {.max_attempts = 3, .interval = 3ns, .backoff_rate = 1.5, .max_delay = 4ns};
  CHECK(r.delay_before(3, rng) == 4ns);
}

TEST_CASE("max_delay caps every wait") {
  std::minstd_rand rng(1);
  quorum::retry r{.max_attempts = 5, .interval = 1s, .backoff_rate = 10.0, .max_delay = 5s};
  CHECK(r.delay_before(2, rng) == 1s);
  CHECK(r.delay_before(3, rng) == 5s);
  CHECK(r.delay_before(4, rng) == 5s);
  r.max_delay = 0ns;
  CHECK(r.delay_before(2, rng) == 0ns);
}

TEST_CASE("huge attempt numbers neither overflow nor turn into NaN") {
  std::minstd_rand rng(1);
  SUBCASE("a zero interval stays zero even when the power overflows") {
    quorum::retry r{.max_attempts = 5000, .interval = 0ns, .backoff_rate = 2.0};
    CHECK(r.delay_before(4000, rng) == 0ns);
  }
  SUBCASE("without max_delay the wait saturates at nanoseconds::max") {
    quorum::retry r{.max_attempts = 5000, .interval = 1ns, .backoff_rate = 2.0};
    CHECK(r.delay_before(4000, rng) == ns::max());
    CHECK(r.delay_before(40, rng) == ns(std::int64_t{1} << 38));
  }
  SUBCASE("a max_delay of nanoseconds::max is returned as is") {
    quorum::retry r{
        .max_attempts = 5000, .interval = 1h, .backoff_rate = 3.0, .max_delay = ns::max()};
    CHECK(r.delay_before(1000, rng) == ns::max());
  }
}

TEST_CASE("full jitter draws each wait between 0 and the delay, the delay capped first") {
  std::mt19937 rng(12345);
  quorum::retry r{.max_attempts = 9,
                  .interval = 1s,
                  .backoff_rate = 4.0,
                  .max_delay = 3s,
                  .jitter = quorum::jitter::full};
  for (unsigned next : {2u, 3u, 5u}) {
    CAPTURE(next);
    const ns bound = next == 2 ? ns(1s) : ns(3s);
    ns lo = ns::max(), hi = ns::min();
    for (int i = 0; i < 2000; ++i) {
      const ns d = r.delay_before(next, rng);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    CHECK(lo >= 0ns);
    CHECK(hi <= bound);
    // Spread over the whole range, not stuck at either end.
    CHECK(lo < bound / 10);
    CHECK(hi > bound * 9 / 10);
  }
  r.interval = 0ns;
  CHECK(r.delay_before(2, rng) == 0ns);
}

TEST_CASE("validate rejects settings that make no sense, naming the field") {
  auto rejected = [](quorum::retry r, const char* field) {
    CAPTURE(field);
    try {
      r.validate();
      FAIL("accepted");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find(field) != std::string::npos);
    }
  };
  rejected({.max_attempts = 0}, "retry.max_attempts = 0");
  rejected({.max_attempts = 2, .interval = -1ns}, "retry.interval = -1");
  rejected({.max_attempts = 2, .backoff_rate = 0.5}, "retry.backoff_rate = 0.5");
  rejected({.max_attempts = 2, .backoff_rate = std::numeric_limits<double>::quiet_NaN()},
           "retry.backoff_rate");
  rejected({.max_attempts = 2, .backoff_rate = std::numeric_limits<double>::infinity()},
           "retry.backoff_rate");
  rejected({.max_attempts = 2, .max_delay = -5ns}, "retry.max_delay = -5");
  // The value as given, not rounded to six decimals ("1.000000" would read as a valid rate).
  rejected({.max_attempts = 2, .backoff_rate = 0.9999999}, "retry.backoff_rate = 0.9999999 ");
  std::atomic<int> ran{0};
  quorum::options o{.quorum = 1};
  o.retry.max_attempts = 0;
  CHECK_THROWS_AS((void)quorum::quorum_parallel(o, [&] { ++ran; }), quorum::invalid_options);
  CHECK(ran == 0);
}

TEST_CASE("a branch sleeps exactly the interval, then the backed-off delays") {
  const std::vector<ns> delays = {100ms, 200ms, 400ms};
  auto began = walk_delays({.max_attempts = 4, .interval = 100ms, .backoff_rate = 2.0}, delays);
  CHECK(gaps(began) == delays);
}

TEST_CASE("a fractional backoff rate is followed to the nanosecond") {
  const std::vector<ns> delays = {100ms, 150ms, 225ms, 337500us};
  auto began = walk_delays({.max_attempts = 5, .interval = 100ms, .backoff_rate = 1.5}, delays);
  CHECK(gaps(began) == delays);
}

TEST_CASE("max_delay caps the waits a branch sleeps") {
  const std::vector<ns> delays = {1s, 5s, 5s};
  auto began = walk_delays(
      {.max_attempts = 4, .interval = 1s, .backoff_rate = 10.0, .max_delay = 5s}, delays);
  CHECK(gaps(began) == delays);
}

TEST_CASE("a jittered wait always ends by the un-jittered delay") {
  quorum::manual_clock clk;
  attempt_counter attempts;
  quorum::options o{.quorum = 1};
  o.clock = &clk;
  o.retry = {
      .max_attempts = 6, .interval = 1s, .backoff_rate = 1.0, .jitter = quorum::jitter::full};
  auto ex = quorum::start(o, [&] {
    attempts.begin();
    throw transient{};
  });
  for (unsigned k = 1; k < 6; ++k) {
    attempts.wait_for(k);
    // The wait is in [0, 1 s]: the branch goes to sleep, or (a zero draw) straight on to the
    // next attempt, so wait_for_sleepers could miss it; spin (no sleep) until one of them.
    while (attempts.get() == k && clk.sleepers() == 0) std::this_thread::yield();
    if (attempts.get() == k) clk.advance(1s);  // asleep: 1 s is always enough
    attempts.wait_for(k + 1);
  }
  auto r = ex.get();
  CHECK(r.branches[0].attempts == 6);
  CHECK(clk.now() - r.started <= 5s);
}

// A user trial writing deterministic tests could not fix jitter::full's waits: they came from
// a per-thread generator seeded by std::random_device, so a test's outcome changed from run
// to run. With jitter_seed, branch i's wait before attempt k comes from seeded_engine(seed, i,
// k): the same on every run, and computable by the test.
TEST_CASE("with a jitter seed the random waits are the same on every run, as documented") {
  const quorum::retry r{.max_attempts = 4,
                        .interval = 1s,
                        .backoff_rate = 2.0,
                        .jitter = quorum::jitter::full,
                        .jitter_seed = 42};
  std::vector<ns> expected;
  for (unsigned next = 2; next <= 4; ++next) {
    auto rng = quorum::retry::seeded_engine(42, 0, next);
    expected.push_back(r.delay_before(next, rng));
  }
  CHECK(expected != std::vector<ns>{1s, 2s, 4s});  // drawn, not the un-jittered delays
  CHECK(gaps(walk_delays(r, expected)) == expected);
  CHECK(gaps(walk_delays(r, expected)) == expected);  // and again, on other threads
  // Another branch or another seed draws from another generator.
  auto b1 = quorum::retry::seeded_engine(42, 1, 2);
  auto s43 = quorum::retry::seeded_engine(43, 0, 2);
  auto b0 = quorum::retry::seeded_engine(42, 0, 2);
  const auto first = b0();
  CHECK((b1() != first || s43() != first));
}

TEST_CASE("retry_if chooses which errors retry") {
  quorum::options o{.quorum = 1};
  o.retry = {.max_attempts = 5, .interval = 0ns};
  std::atomic<unsigned> calls{0};

  SUBCASE("a predicate") {
    o.retry.retry_if = [](const std::exception_ptr& e) {
      try {
        std::rethrow_exception(e);
      } catch (const transient&) {
        return true;
      } catch (...) {
        return false;
      }
    };
  }
  SUBCASE("retry_on<E>()") { o.retry.retry_if = quorum::retry_on<transient>(); }
  SUBCASE("retry_on<E, F>() with a base class") {
    o.retry.retry_if = quorum::retry_on<std::logic_error, transient>();
  }

  // transient, transient, permanent: the permanent error ends the branch at attempt 3.
  auto r = quorum::quorum_parallel(o, [&](quorum::branch_context& ctx) -> int {
    ++calls;
    if (ctx.attempt() < 3) throw transient{};
    throw permanent{};
  });
  CHECK(calls == 3);
  CHECK(r.branches[0].attempts == 3);
  CHECK(r.branches[0].status == quorum::branch_status::failed);
  CHECK_THROWS_AS(std::rethrow_exception(r.branches[0].error), permanent);
}

TEST_CASE("errors retry_on does not name, and a predicate that throws, do not retry") {
  quorum::options o{.quorum = 1};
  o.retry = {
      .max_attempts = 5, .interval = 0ns, .retry_if = quorum::retry_on<std::runtime_error>()};
  std::atomic<unsigned> calls{0};
  SUBCASE("a non-standard exception") {
    auto r = quorum::quorum_parallel(o, [&] {
      ++calls;
      throw 42;
    });
    CHECK(r.branches[0].attempts == 1);
  }
  SUBCASE("a throwing predicate") {
    o.retry.retry_if = [](const std::exception_ptr&) -> bool { throw std::runtime_error("oops"); };
    auto r = quorum::quorum_parallel(o, [&] {
      ++calls;
      throw transient{};
    });
    CHECK(r.branches[0].attempts == 1);
  }
  CHECK(calls == 1);
}

TEST_CASE("a stop request during the wait ends it at once") {
  quorum::manual_clock clk;
  gate second_may_succeed;
  quorum::options o{.quorum = 1};
  o.clock = &clk;
  o.retry = {.max_attempts = 5, .interval = 1h};
  auto flaky = [] { throw transient{}; };
  auto ex = quorum::start(o, flaky, [&](std::stop_token st) {
    if (!second_may_succeed.wait(st)) throw quorum::stopped{};
  });
  clk.wait_for_sleepers(1);  // the flaky branch is in its hour-long wait
  const auto t0 = clk.now();
  second_may_succeed.open();  // the quorum is met, the flaky branch is asked to stop
  auto r = ex.get();
  CHECK(clk.now() == t0);  // no time passed: the stop, not the clock, ended the wait
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(r.decided_by == std::optional<std::size_t>{1});
  CHECK(r.branches[0].attempts == 1);
  CHECK(r.branches[0].status == quorum::branch_status::cancelled);
  CHECK(r.branches[0].late);
  CHECK_THROWS_AS(std::rethrow_exception(r.branches[0].error), transient);
}

TEST_CASE("a failure from before the stop request stays failed while retry_if decides") {
  // The status was read from the token once the branch left its retry loop: a retry_if still
  // running when the decision requested stop turned a failure that came before the request into
  // `cancelled`. Branch 0 throws; its retry_if lets branch 1 succeed (K = 1), then returns no
  // only once the stop request is made, which branch 2, blocked on its token, reports (branch 1
  // waits for it to run: a branch not started by the decision never starts).
  gate in_retry_if, third_running, stop_seen;
  quorum::options o{.quorum = 1};
  o.retry = {.max_attempts = 2,
             .retry_if = [&](const std::exception_ptr&) {
               in_retry_if.open();
               stop_seen.wait();
               return false;
             }};
  auto r = quorum::quorum_parallel(
      o, []() -> int { throw transient{}; },
      [&] {
        in_retry_if.wait();
        third_running.wait();
        return 1;
      },
      [&](std::stop_token st) -> int {
        third_running.open();
        gate never;
        (void)never.wait(st);  // returns once stop is requested
        stop_seen.open();
        throw quorum::stopped{};
      });
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(r.decided_by == std::optional<std::size_t>{1});
  CHECK(r.branches[0].status == quorum::branch_status::failed);
  CHECK(r.branches[0].attempts == 1);
  CHECK_THROWS_AS(std::rethrow_exception(r.branches[0].error), transient);
  CHECK(r.branches[2].status == quorum::branch_status::cancelled);
}

TEST_CASE("cancel during the wait ends it at once") {
  quorum::manual_clock clk;
  quorum::options o{.quorum = 1};
  o.clock = &clk;
  o.retry = {.max_attempts = 5, .interval = 1h};
  auto ex = quorum::start(o, [] { throw transient{}; });
  clk.wait_for_sleepers(1);
  ex.cancel();
  auto r = ex.get();
  CHECK(r.decision == quorum::decision::cancelled);
  CHECK(r.branches[0].attempts == 1);
  CHECK(r.branches[0].status == quorum::branch_status::cancelled);
}

TEST_CASE("the deadline during the wait ends it, and not a nanosecond before") {
  quorum::manual_clock clk;
  quorum::options o{.quorum = 1, .timeout = 10s};
  o.clock = &clk;
  o.retry = {.max_attempts = 5, .interval = 1h};
  auto ex = quorum::start(o, [] { throw transient{}; });
  clk.wait_for_sleepers(1);
  clk.advance(10s - 1ns);  // the deadline's timer runs on this thread inside advance()
  CHECK_FALSE(ex.decided());
  CHECK(clk.sleepers() == 1);
  clk.advance(1ns);
  CHECK(ex.decided());
  auto r = ex.get();
  CHECK(r.decision == quorum::decision::timed_out);
  CHECK(r.branches[0].attempts == 1);
  CHECK(r.branches[0].status == quorum::branch_status::cancelled);
  CHECK(r.decided_at - r.started == 10s);
}

TEST_CASE("a wait of nanoseconds::max sleeps until stopped instead of wrapping into the past") {
  // Regression: now() + nanoseconds::max() overflowed into the past, so the "endless" wait ended
  // at once and the branch retried immediately. A second attempt would sleep on the clock, so
  // the rendezvous below is reached either way and the attempt count tells.
  quorum::manual_clock clk;
  quorum::options o{.quorum = 1};
  o.clock = &clk;
  o.retry = {.max_attempts = 3, .interval = 1h, .backoff_rate = 1.0, .max_delay = ns::max()};
  o.retry.interval = ns::max();
  std::atomic<unsigned> calls{0};
  auto ex = quorum::start(o, [&](quorum::branch_context& ctx) {
    if (++calls > 1) ctx.sleep_for(1h);
    throw transient{};
  });
  clk.wait_for_sleepers(1);
  ex.cancel();
  auto r = ex.get();
  CHECK(calls == 1);
  CHECK(r.branches[0].attempts == 1);
}

namespace {
// Branch i fails until its attempt need[i] (99: always). Every attempt number is checked to
// follow the previous one with no gap.
std::vector<std::function<unsigned(quorum::branch_context&)>> flaky_until(
    std::vector<unsigned> need) {
  std::vector<std::function<unsigned(quorum::branch_context&)>> fs;
  for (unsigned n : need)
    fs.emplace_back([n, last = 0u](quorum::branch_context& ctx) mutable {
      CHECK(ctx.attempt() == last + 1);
      last = ctx.attempt();
      if (ctx.attempt() < n) throw transient{};
      return ctx.attempt();
    });
  return fs;
}
}  // namespace

TEST_CASE("attempts are counted per branch") {
  quorum::options o{.quorum = 3};
  o.retry = {.max_attempts = 4, .interval = 0ns};
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, o, flaky_until({3, 1, 2, 99}));
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(r.decided_by == std::optional<std::size_t>{2});
  CHECK(r.branches[0].attempts == 3);
  CHECK(r.branches[0].value == 3u);
  CHECK(r.branches[1].attempts == 1);
  CHECK(r.branches[2].attempts == 2);
  CHECK(r.branches[3].attempts == 0);  // decided before it ran
}

TEST_CASE("a branch that runs out of attempts reports max_attempts and its last error") {
  quorum::options o{.quorum = 4};
  o.retry = {.max_attempts = 4, .interval = 0ns};
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, o, flaky_until({3, 1, 2, 99}));
  CHECK(r.decision == quorum::decision::unreachable);
  CHECK(r.decided_by == std::optional<std::size_t>{3});
  CHECK(r.branches[3].attempts == 4);
  CHECK(r.branches[3].status == quorum::branch_status::failed);
  CHECK_THROWS_AS(std::rethrow_exception(r.branches[3].error), transient);
}

namespace {
// A store that forwards to memory_store and counts record() calls per branch.
class counting_store {
 public:
  using handle = quorum::memory_store::handle;
  handle open(const quorum::execution_spec& s) {
    calls.assign(s.branches, 0);
    return inner.open(s);
  }
  quorum::tally record(handle h, std::size_t i, quorum::outcome o) {
    {
      std::lock_guard lk(m);
      ++calls.at(i);
    }
    return inner.record(h, i, o);
  }
  quorum::tally expire(handle h) { return inner.expire(h); }
  quorum::tally cancel(handle h) { return inner.cancel(h); }
  quorum::execution_record snapshot(handle h) { return inner.snapshot(h); }
  void close(handle h) { inner.close(h); }

  quorum::memory_store inner;
  std::mutex m;
  std::vector<int> calls;
};
static_assert(quorum::store<counting_store>);
}  // namespace

TEST_CASE("a retried branch is recorded once, with its final outcome") {
  counting_store store;
  std::mutex m;
  std::vector<quorum::event> events;
  quorum::options o{.quorum = 2};
  o.retry = {.max_attempts = 3, .interval = 0ns};
  o.observer = [&](const quorum::event& e) {
    std::lock_guard lk(m);
    events.push_back(e);
  };
  auto ex = quorum::start(
      store, quorum::inline_executor{}, o,
      [](quorum::branch_context& ctx) {
        if (ctx.attempt() < 3) throw transient{};  // succeeds at attempt 3
      },
      [] { throw permanent{}; },  // fails 3 times
      [] {});
  ex.join();
  auto rec = ex.record();
  CHECK(store.calls == std::vector<int>{1, 1, 1});
  REQUIRE(rec.branches.size() == 3);
  CHECK(rec.branches[0].outcome == quorum::outcome::success);
  CHECK(rec.branches[1].outcome == quorum::outcome::failure);
  CHECK(rec.successes_at_decision == 2);
  CHECK(rec.failures_at_decision == 1);  // one failure, not three
  auto r = ex.get();
  CHECK(r.decided_by == std::optional<std::size_t>{2});
  CHECK(r.branches[0].attempts == 3);
  CHECK(r.branches[1].attempts == 3);
  // Events: each failed attempt that retries is an attempt_failed; one final event per branch.
  std::lock_guard lk(m);
  int retries[3] = {}, finals[3] = {};
  for (const auto& e : events) {
    if (!e.branch) continue;
    if (e.kind == quorum::event_kind::attempt_failed) ++retries[*e.branch];
    if (e.kind == quorum::event_kind::succeeded || e.kind == quorum::event_kind::failed ||
        e.kind == quorum::event_kind::late)
      ++finals[*e.branch];
  }
  CHECK(retries[0] == 2);
  CHECK(retries[1] == 2);
  CHECK(retries[2] == 0);
  CHECK(finals[0] == 1);
  CHECK(finals[1] == 1);
  CHECK(finals[2] == 1);
}
