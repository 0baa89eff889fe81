// The observer: which events are emitted when, with which branch, attempt, decision and time;
// per-branch order under threads; throwing observers; no events without an observer.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <latch>
#include <mutex>
#include <optional>
#include <quorum/quorum.hpp>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

// An owned copy of one event (the views in quorum::event die with the call).
struct seen {
  quorum::event_kind kind;
  std::string execution_id;
  std::optional<std::size_t> branch;
  std::string branch_name;
  unsigned attempt = 0;
  std::chrono::steady_clock::time_point at;
  std::optional<quorum::decision> decision;
  std::optional<quorum::branch_status> status;
  std::string error;
};

// A thread-safe list of the events received, in arrival order.
class event_log {
 public:
  quorum::observer observer() {
    return [this](const quorum::event& e) {
      seen s{e.kind,
             std::string(e.execution_id),
             e.branch,
             std::string(e.branch_name),
             e.attempt,
             e.at,
             e.decision,
             e.status,
             quorum::describe(e.error)};
      std::lock_guard lk(m_);
      events_.push_back(std::move(s));
    };
  }
  std::vector<seen> events() const {
    std::lock_guard lk(m_);
    return events_;
  }
  std::vector<quorum::event_kind> kinds() const {
    std::vector<quorum::event_kind> k;
    for (const auto& e : events()) k.push_back(e.kind);
    return k;
  }
  std::vector<seen> of_branch(std::size_t i) const {
    std::vector<seen> out;
    for (const auto& e : events())
      if (e.branch == i && e.kind != quorum::event_kind::decided) out.push_back(e);
    return out;
  }
  std::optional<seen> first(quorum::event_kind k) const {
    for (const auto& e : events())
      if (e.kind == k) return e;
    return std::nullopt;
  }
  std::size_t count(quorum::event_kind k) const {
    auto ev = events();
    return static_cast<std::size_t>(
        std::count_if(ev.begin(), ev.end(), [k](const seen& e) { return e.kind == k; }));
  }
  std::size_t index_of(quorum::event_kind k,
                       std::optional<std::size_t> branch = std::nullopt) const {
    auto ev = events();
    for (std::size_t i = 0; i < ev.size(); ++i)
      if (ev[i].kind == k && (!branch || ev[i].branch == branch)) return i;
    return ev.size();
  }

 private:
  mutable std::mutex m_;
  std::vector<seen> events_;
};

// A manual clock that counts how often the library reads the time.
class counting_clock final : public quorum::clock {
 public:
  [[nodiscard]] time_point now() const noexcept override {
    reads.fetch_add(1, std::memory_order_relaxed);
    return inner.now();
  }
  [[nodiscard]] quorum::timer schedule(time_point at, std::function<void()> fn) override {
    return inner.schedule(at, std::move(fn));
  }
  bool sleep_until(time_point at, std::stop_token st) override { return inner.sleep_until(at, st); }

  quorum::manual_clock inner;
  mutable std::atomic<std::size_t> reads{0};
};

using kind = quorum::event_kind;

// Fails its first `failures` attempts, then returns its index.
auto flaky(int failures) {
  return [failures](quorum::branch_context& ctx) {
    if (static_cast<int>(ctx.attempt()) <= failures) throw std::runtime_error("flaky");
    return static_cast<int>(ctx.index());
  };
}

// Blocks on the execution's clock until its stop is requested, then gives up.
int wait_for_stop(quorum::branch_context& ctx) {
  ctx.sleep_for(24h);
  ctx.throw_if_stop_requested();
  return -1;
}

// Runs one branch returning 1 under `o`, with `self` pointing at its handle before the branch
// can report anything, so that the observer can call the handle.
quorum::result<int> run_observed(const quorum::options& o, quorum::execution<int>*& self) {
  std::latch go(1);  // declared first: the handle joins the branch before it goes
  auto ex = quorum::start(o, [&] {
    go.wait();
    return 1;
  });
  self = &ex;
  go.count_down();
  return ex.get();
}

}  // namespace

TEST_CASE("without an observer no event is built: the clock is read once less per event") {
  // The same deterministic run twice; the only difference may be the events' timestamps.
  auto run = [](quorum::observer obs, counting_clock& clk) {
    quorum::memory_store store;
    quorum::options o{.quorum = 2, .timeout = 10s};
    o.clock = &clk;
    o.retry.max_attempts = 2;
    o.observer = std::move(obs);
    return quorum::quorum_parallel(store, quorum::inline_executor{}, o, flaky(1), flaky(5),
                                   flaky(0));
  };
  counting_clock quiet, watched;
  std::atomic<std::size_t> events{0};
  auto r1 = run({}, quiet);
  auto r2 = run([&](const quorum::event&) { events.fetch_add(1); }, watched);

  CHECK(r1.decision == quorum::decision::quorum_met);
  CHECK(r2.decision == quorum::decision::quorum_met);
  REQUIRE(events.load() > 0);
  CHECK(watched.reads.load() == quiet.reads.load() + events.load());
}

TEST_CASE("started, succeeded and decided carry the branch, its attempt and the clock's time") {
  quorum::manual_clock clk;
  event_log log;
  quorum::memory_store store;
  quorum::options o{.quorum = 1};
  o.clock = &clk;
  o.execution_id = "exec-1";
  o.names = {"alpha"};
  o.observer = log.observer();
  const auto t0 = clk.now();

  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, o, [&] {
    clk.advance(2s);  // the branch takes two seconds of the execution's clock
    return 7;
  });

  REQUIRE(r.decision == quorum::decision::quorum_met);
  REQUIRE(log.kinds() == std::vector<kind>{kind::started, kind::succeeded, kind::decided});
  auto ev = log.events();
  for (const auto& e : ev) CHECK(e.execution_id == "exec-1");

  CHECK(ev[0].branch == 0u);
  CHECK(ev[0].branch_name == "alpha");
  CHECK(ev[0].attempt == 1u);
  CHECK(ev[0].at == t0);

  CHECK(ev[1].branch == 0u);
  CHECK(ev[1].attempt == 1u);
  CHECK(ev[1].status == quorum::branch_status::succeeded);
  CHECK(ev[1].at == t0 + 2s);

  CHECK(ev[2].branch == 0u);  // the deciding branch
  CHECK(ev[2].decision == quorum::decision::quorum_met);
  CHECK(ev[2].at == t0 + 2s);
  CHECK(ev[2].at == r.decided_at);
}

TEST_CASE("stop_requested is not emitted when no branch is left running at the decision") {
  quorum::manual_clock clk;
  event_log log;
  quorum::memory_store store;
  quorum::options o{.quorum = 3};
  o.clock = &clk;
  o.observer = log.observer();

  auto r =
      quorum::quorum_parallel(store, quorum::inline_executor{}, o, flaky(0), flaky(0), flaky(0));

  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(r.decided_by == 2u);
  CHECK(log.count(kind::succeeded) == 3);
  CHECK(log.count(kind::decided) == 1);
  CHECK(log.count(kind::stop_requested) == 0);
}

TEST_CASE(
    "a failure emits failed with its error; the one that makes the quorum unreachable decides") {
  quorum::manual_clock clk;
  event_log log;
  quorum::memory_store store;
  quorum::options o{.quorum = 2};
  o.clock = &clk;
  o.observer = log.observer();

  auto r = quorum::quorum_parallel(
      store, quorum::inline_executor{}, o,
      []() -> int { throw std::runtime_error("disk on fire"); }, flaky(0));

  REQUIRE(r.decision == quorum::decision::unreachable);
  // Branch 1 is never started (the inline executor reaches it after the decision): no events.
  CHECK(log.kinds() ==
        std::vector<kind>{kind::started, kind::failed, kind::decided, kind::stop_requested});
  auto failed = log.first(kind::failed);
  REQUIRE(failed);
  CHECK(failed->branch == 0u);
  CHECK(failed->attempt == 1u);
  CHECK(failed->status == quorum::branch_status::failed);
  CHECK(failed->error == "disk on fire");
  auto decided = log.first(kind::decided);
  REQUIRE(decided);
  CHECK(decided->decision == quorum::decision::unreachable);
  CHECK(decided->branch == 0u);
  CHECK(log.first(kind::stop_requested)->branch == std::nullopt);
}

TEST_CASE("each retry emits attempt_failed and then retry_started with the next attempt number") {
  quorum::manual_clock clk;
  event_log log;
  quorum::memory_store store;
  quorum::options o{.quorum = 1};
  o.clock = &clk;
  o.retry.max_attempts = 5;  // interval 0: the retries follow at once
  o.observer = log.observer();

  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, o, flaky(2));

  REQUIRE(r.decision == quorum::decision::quorum_met);
  CHECK(r.branches[0].attempts == 3u);
  auto ev = log.of_branch(0);
  std::vector<kind> kinds;
  std::vector<unsigned> attempts;
  for (const auto& e : ev) {
    kinds.push_back(e.kind);
    attempts.push_back(e.attempt);
  }
  CHECK(kinds == std::vector<kind>{kind::started, kind::attempt_failed, kind::retry_started,
                                   kind::attempt_failed, kind::retry_started, kind::succeeded});
  CHECK(attempts == std::vector<unsigned>{1, 1, 2, 2, 3, 3});
  CHECK(ev[1].status == quorum::branch_status::failed);
  CHECK(ev[1].error == "flaky");
}

TEST_CASE("a branch whose retries run out emits failed for its last attempt, not attempt_failed") {
  quorum::manual_clock clk;
  event_log log;
  quorum::memory_store store;
  quorum::options o{.quorum = 1};
  o.clock = &clk;
  o.retry.max_attempts = 2;
  o.observer = log.observer();

  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, o, flaky(9));

  CHECK(r.decision == quorum::decision::unreachable);
  CHECK(log.count(kind::attempt_failed) == 1);
  auto failed = log.first(kind::failed);
  REQUIRE(failed);
  CHECK(failed->attempt == 2u);
}

TEST_CASE("retry_started is stamped when the wait between attempts ends on the execution's clock") {
  quorum::manual_clock clk;
  event_log log;
  quorum::options o{.quorum = 1};
  o.clock = &clk;
  o.retry.max_attempts = 2;
  o.retry.interval = 3s;
  o.observer = log.observer();
  const auto t0 = clk.now();

  auto ex = quorum::start(o, flaky(1));
  clk.wait_for_sleepers(1);  // the branch waits for its retry
  clk.advance(3s);
  auto r = ex.get();

  REQUIRE(r.decision == quorum::decision::quorum_met);
  auto failed = log.first(kind::attempt_failed);
  auto retry = log.first(kind::retry_started);
  REQUIRE(failed);
  REQUIRE(retry);
  CHECK(failed->at == t0);
  CHECK(retry->at == t0 + 3s);
  CHECK(retry->attempt == 2u);
}

TEST_CASE(
    "a branch that ends after the decision emits late with its status after decided and "
    "stop_requested") {
  quorum::manual_clock clk;
  event_log log;
  quorum::options o{.quorum = 1};
  o.clock = &clk;
  o.observer = log.observer();
  std::latch go(1);

  auto ex = quorum::start(
      o,
      [&](quorum::branch_context&) {
        go.wait();
        return 1;
      },
      wait_for_stop);
  clk.wait_for_sleepers(1);  // branch 1 is running and asleep
  go.count_down();
  auto r = ex.get();

  REQUIRE(r.decision == quorum::decision::quorum_met);
  CHECK(r.decided_by == 0u);
  CHECK(r.branches[1].late);
  auto late = log.first(kind::late);
  REQUIRE(late);
  CHECK(late->branch == 1u);
  CHECK(late->attempt == 1u);
  CHECK(late->status == quorum::branch_status::cancelled);
  CHECK(late->error == "quorum: branch stopped");
  CHECK(log.count(kind::late) == 1);
  CHECK(log.index_of(kind::decided) < log.index_of(kind::stop_requested));
  CHECK(log.index_of(kind::stop_requested) < log.index_of(kind::late));
  // A late branch never emits succeeded or failed.
  for (const auto& e : log.of_branch(1)) CHECK((e.kind == kind::started || e.kind == kind::late));
}

TEST_CASE("a late success is reported as late with status succeeded") {
  quorum::manual_clock clk;
  event_log log;
  quorum::options o{.quorum = 1};
  o.clock = &clk;
  o.observer = log.observer();
  std::latch go(1), decided(1);

  auto ex = quorum::start(
      o,
      [&] {
        go.wait();
        return 1;
      },
      [&] {  // ignores its stop token and succeeds after the decision
        go.count_down();
        decided.wait();
        return 2;
      });
  ex.wait();
  decided.count_down();
  auto r = ex.get();

  REQUIRE(r.decided_by == 0u);
  auto late = log.first(kind::late);
  REQUIRE(late);
  CHECK(late->branch == 1u);
  CHECK(late->status == quorum::branch_status::succeeded);
  CHECK(log.count(kind::succeeded) == 1);
}

TEST_CASE("a decision during a retry's wait ends the branch with late, and no retry_started") {
  // What the contract says of an attempt_failed: the retry it announces is not a promise. The
  // branch waits on the execution's clock; the decision's stop request ends the wait, and its
  // next (last) event is `late`, for the attempt that failed.
  quorum::manual_clock clk;
  event_log log;
  quorum::options o{.quorum = 1};
  o.clock = &clk;
  o.retry.max_attempts = 3;
  o.retry.interval = 10s;
  o.observer = log.observer();
  std::latch go(1);

  auto ex = quorum::start(o, flaky(9), [&](quorum::branch_context&) {
    go.wait();
    return 1;
  });
  clk.wait_for_sleepers(1);  // branch 0 failed its first attempt and waits to retry
  go.count_down();
  auto r = ex.get();

  REQUIRE(r.decided_by == 1u);
  auto ev = log.of_branch(0);
  std::vector<kind> kinds;
  for (const auto& e : ev) kinds.push_back(e.kind);
  CHECK(kinds == std::vector<kind>{kind::started, kind::attempt_failed, kind::late});
  CHECK(ev.back().attempt == 1u);
  CHECK(r.branches[0].late);
  CHECK(r.branches[0].attempts == 1u);
}

TEST_CASE("the deadline emits decided timed_out with no branch, at the deadline's time") {
  quorum::manual_clock clk;
  event_log log;
  quorum::options o{.quorum = 1, .timeout = 10s};
  o.clock = &clk;
  o.observer = log.observer();
  const auto t0 = clk.now();

  auto ex = quorum::start(o, wait_for_stop, wait_for_stop);
  clk.wait_for_sleepers(2);
  clk.advance(10s);
  auto r = ex.get();

  REQUIRE(r.decision == quorum::decision::timed_out);
  auto decided = log.first(kind::decided);
  REQUIRE(decided);
  CHECK(decided->decision == quorum::decision::timed_out);
  CHECK(decided->branch == std::nullopt);
  CHECK(decided->at == t0 + 10s);
  CHECK(log.count(kind::stop_requested) == 1);
  CHECK(log.count(kind::late) == 2);
  CHECK(log.count(kind::decided) == 1);
}

TEST_CASE("cancel() emits decided cancelled with no branch") {
  quorum::manual_clock clk;
  event_log log;
  quorum::options o{.quorum = 1};
  o.clock = &clk;
  o.observer = log.observer();

  auto ex = quorum::start(o, wait_for_stop);
  clk.wait_for_sleepers(1);
  ex.cancel();
  auto r = ex.get();

  REQUIRE(r.decision == quorum::decision::cancelled);
  auto decided = log.first(kind::decided);
  REQUIRE(decided);
  CHECK(decided->decision == quorum::decision::cancelled);
  CHECK(decided->branch == std::nullopt);
  CHECK(log.first(kind::late)->status == quorum::branch_status::cancelled);
}

TEST_CASE("an observer that throws is counted in observer_errors and never breaks the execution") {
  SUBCASE("throwing on every event, a std::exception") {
    quorum::manual_clock clk;
    quorum::memory_store store;
    std::size_t calls = 0;  // inline executor: every call is on this thread
    quorum::options o{.quorum = 2};
    o.clock = &clk;
    o.retry.max_attempts = 2;
    o.observer = [&](const quorum::event&) {
      ++calls;
      throw std::runtime_error("observer broke");
    };

    auto r =
        quorum::quorum_parallel(store, quorum::inline_executor{}, o, flaky(1), flaky(5), flaky(0));

    CHECK(r.decision == quorum::decision::quorum_met);
    CHECK(r.successes() == 2);
    CHECK(r.failures() == 1);
    REQUIRE(calls > 0);
    CHECK(r.observer_errors == calls);
    CHECK(quorum::describe(r.observer_error) == "observer broke");
  }
  SUBCASE("throwing a non-standard type on decided: the losers are still stopped") {
    quorum::manual_clock clk;
    quorum::options o{.quorum = 1};
    o.clock = &clk;
    o.observer = [](const quorum::event& e) {
      if (e.kind == kind::decided) throw 42;
    };
    std::latch go(1);

    auto ex = quorum::start(
        o,
        [&] {
          go.wait();
          return 1;
        },
        wait_for_stop);
    clk.wait_for_sleepers(1);
    go.count_down();
    auto r = ex.get();  // returns only if branch 1 was asked to stop

    CHECK(r.decision == quorum::decision::quorum_met);
    CHECK(r.branches[1].status == quorum::branch_status::cancelled);
    CHECK(r.observer_errors == 1);
    CHECK(quorum::describe(r.observer_error).starts_with("non-standard exception"));
  }
}

TEST_CASE("join() or get() of its own execution, called by its observer, throws, not hangs") {
  // Before the check, join() from the deciding branch's thread waited for that thread itself.
  quorum::manual_clock clk;
  quorum::execution<int>* self = nullptr;  // set by run_observed before the branch reports
  std::string join_error;
  quorum::options o{.quorum = 1, .deadline = clk.now() + 1s};
  o.clock = &clk;
  o.observer = [&](const quorum::event& e) {
    if (e.kind != kind::decided) return;
    try {
      self->join();
    } catch (const std::logic_error& x) {
      join_error = x.what();
    }
    (void)self->get();  // throws: kept as the observer's error
  };

  SUBCASE("on the deciding branch's thread") {
    auto r = run_observed(o, self);
    CHECK(r.decision == quorum::decision::quorum_met);
    CHECK(r.observer_errors == 1);
    CHECK(quorum::describe(r.observer_error).find("get() from the execution's own observer") !=
          std::string::npos);
  }
  SUBCASE("on the deadline's timer thread") {
    auto ex = quorum::start(o, wait_for_stop);
    self = &ex;
    clk.wait_for_sleepers(1);  // the branch's wait is on the clock too: it is running
    clk.advance(1s);
    auto r = ex.get();
    CHECK(r.decision == quorum::decision::timed_out);
    CHECK(r.observer_errors == 1);
  }
  CHECK(join_error.find("join() from the execution's own observer") != std::string::npos);
}

TEST_CASE("wait() on its own execution, from the deciding branch's event before the decision, throws") {
  // The deciding branch reports `succeeded` before it publishes the decision: a wait() there
  // waited for its own thread (found by a review; it hung).
  quorum::execution<int>* self = nullptr;
  std::string wait_error, wait_for_error;
  bool decided_then = true;
  quorum::options o{.quorum = 1};
  o.observer = [&](const quorum::event& e) {
    if (e.kind != kind::succeeded) return;
    decided_then = self->decided();
    try {
      self->wait();
    } catch (const std::logic_error& x) {
      wait_error = x.what();
    }
    try {
      (void)self->wait_for(1h);
    } catch (const std::logic_error& x) {
      wait_for_error = x.what();
    }
  };
  auto r = run_observed(o, self);
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK_FALSE(decided_then);
  CHECK(wait_error.find("wait() from the execution's own observer") != std::string::npos);
  CHECK(wait_for_error.find("wait_until() or wait_for()") != std::string::npos);
  CHECK(r.observer_errors == 0);  // both caught by the observer itself
}

TEST_CASE("an observer's own execution is refused from a nested execution's observer too") {
  // Inside A's `decided` call, an execution B runs inline with an observer of its own, which
  // calls A.join(): that waits for A's observer call on this same thread (found by a review).
  quorum::memory_store store;
  quorum::execution<int>* a = nullptr;
  std::size_t inner_errors = 0;
  std::string inner_error;
  quorum::options outer{.quorum = 1};
  outer.observer = [&](const quorum::event& e) {
    if (e.kind != kind::decided) return;
    quorum::options inner{.quorum = 1};
    inner.observer = [&](const quorum::event& f) {
      if (f.kind == kind::decided) a->join();  // throws
    };
    auto b = quorum::quorum_parallel(store, quorum::inline_executor{}, inner, [] { return 2; });
    inner_errors = b.observer_errors;
    inner_error = quorum::describe(b.observer_error);
  };
  auto r = run_observed(outer, a);
  CHECK(r.decision == quorum::decision::quorum_met);
  CHECK(r.observer_errors == 0);
  CHECK(inner_errors == 1);
  CHECK(inner_error.find("join() from the execution's own observer") != std::string::npos);
}

TEST_CASE("cancel() from the deciding branch's succeeded event does not count that branch as running") {
  // The branch has done its work and is only reporting it. It used to count as left running, so
  // a stop_requested event went out with no branch left to stop (found by a review).
  quorum::execution<int>* self = nullptr;
  event_log log;
  quorum::options o{.quorum = 1};
  o.observer = [&, logged = log.observer()](const quorum::event& e) {
    logged(e);
    if (e.kind == kind::succeeded) self->cancel();  // the store has decided: it publishes that
  };

  SUBCASE("no other branch: no stop_requested") {
    auto r = run_observed(o, self);
    CHECK(r.decision == quorum::decision::quorum_met);
    CHECK(r.decided_by == 0u);
    CHECK(log.count(kind::decided) == 1);
    CHECK(log.count(kind::stop_requested) == 0);
  }
  SUBCASE("another branch still running: stop_requested as usual") {
    // Branch 1 must be running when branch 0 decides: one that starts after the decision ends
    // at once, unstarted, and then no branch is left to stop (seen at -O2).
    std::latch go(1);
    std::latch running(1);
    auto ex = quorum::start(o, [&] {
      go.wait();
      return 1;
    }, [&](quorum::branch_context& ctx) {
      running.count_down();
      return wait_for_stop(ctx);
    });
    self = &ex;
    running.wait();
    go.count_down();
    auto r = ex.get();
    CHECK(r.decision == quorum::decision::quorum_met);
    CHECK(log.count(kind::stop_requested) == 1);
    CHECK(r.branches[1].status == quorum::branch_status::cancelled);
  }
}

TEST_CASE("an observer may wait for, join and destroy another execution") {
  quorum::memory_store store;
  std::size_t joined = 0;
  quorum::options o{.quorum = 1};
  o.observer = [&](const quorum::event& e) {
    if (e.kind != kind::decided) return;
    auto other = quorum::start(store, quorum::thread_executor{}, {.quorum = 1}, [] { return 3; });
    other.wait();
    other.join();
    joined += other.get().successes();
  };  // `other` is destroyed here, inside the observer call
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, o, [] { return 1; });
  CHECK(r.observer_errors == 0);
  CHECK(joined == 1);
}

TEST_CASE("events of one branch arrive in order while branches run on many threads" *
          doctest::timeout(60)) {
  constexpr std::size_t n = 12;
  event_log log;
  quorum::options o{.quorum = n};
  o.retry.max_attempts = 4;
  std::vector<std::function<int(quorum::branch_context&)>> fs;
  for (std::size_t i = 0; i < n; ++i) fs.push_back(flaky(static_cast<int>(i % 4)));
  o.observer = log.observer();

  for (int round = 0; round < 20; ++round) {
    event_log round_log;
    o.observer = round_log.observer();
    auto r = quorum::quorum_parallel(o, fs);
    REQUIRE(r.decision == quorum::decision::quorum_met);
    for (std::size_t i = 0; i < n; ++i) {
      auto ev = round_log.of_branch(i);
      const unsigned retries = static_cast<unsigned>(i % 4);
      REQUIRE(ev.size() == 2 + 2 * retries);
      CHECK(ev.front().kind == kind::started);
      CHECK(ev.back().kind == kind::succeeded);
      CHECK(ev.back().attempt == retries + 1);
      for (unsigned a = 1; a <= retries; ++a) {
        CHECK(ev[2 * a - 1].kind == kind::attempt_failed);
        CHECK(ev[2 * a - 1].attempt == a);
        CHECK(ev[2 * a].kind == kind::retry_started);
        CHECK(ev[2 * a].attempt == a + 1);
      }
      for (std::size_t k = 1; k < ev.size(); ++k) CHECK(ev[k - 1].at <= ev[k].at);
    }
    CHECK(round_log.count(kind::decided) == 1);
  }
}
