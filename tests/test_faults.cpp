// Fault injection: stores that throw from each operation, observers that throw, executors that
// refuse work, clocks that fail, branches that throw non-std types, ignore their stop token or
// finish exactly at the deadline, and cancel() racing the K-th success. For each: no deadlock
// (doctest::timeout guards, and ctest's TIMEOUT kills a hang), no leaked thread (counted in
// /proc/self/task), no lost outcome (the store's record is read back), and the caller gets a
// clear error (the very exception that was injected).
#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <latch>
#include <mutex>
#include <optional>
#include <quorum/quorum.hpp>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "strict_json.hpp"

using namespace std::chrono_literals;
using quorum::branch_status;
using quorum::decision;

namespace {

// ---- helpers -----------------------------------------------------------------------------------

// Threads of this process right now. The real clock's timer thread is process-wide and starts
// on first use, so it is started here first: it must not count as a leak later.
std::size_t live_threads() {
  static const bool timer_thread_started = [] {
    auto t =
        quorum::steady_clock::instance().schedule(quorum::steady_clock::instance().now(), [] {});
    t.cancel();
    return true;
  }();
  (void)timer_thread_started;
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// Checks that no thread started after construction outlives the scope.
struct no_leaked_threads {
  std::size_t before = live_threads();
  ~no_leaked_threads() {
    // A thread that was joined can still be listed for a moment: the join returns when the
    // kernel clears the thread's id, a little before it drops the thread from /proc (seen
    // once in a few hundred runs on a loaded machine). Poll the listing for a bounded while: a
    // leaked thread stays listed and still fails the check.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (live_threads() > before && std::chrono::steady_clock::now() < until)
      std::this_thread::yield();
    CHECK(live_threads() == before);
  }
};

// Blocks until the stop token is requested; then returns normally (ignoring nothing).
void block_until_stopped(std::stop_token st) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lk(m);
  cv.wait(lk, st, [] { return false; });
}

// A gate the test opens; a branch waiting on it ignores its stop token.
struct gate {
  std::mutex m;
  std::condition_variable cv;
  bool is_open = false;
  void open() {
    std::lock_guard lk(m);
    is_open = true;
    cv.notify_all();
  }
  void wait() {
    std::unique_lock lk(m);
    cv.wait(lk, [&] { return is_open; });
  }
};

struct store_down : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The exceptions a caller gets, by type.
struct custom_error {
  int code;
};

// A memory_store that throws from one chosen operation on its n-th call (0: every call), and
// keeps the record of the last execution it closed, so a test can read it after the handle is
// gone. `after` makes record() throw after the inner store recorded (the outcome was kept but
// the caller never hears of it).
class faulty_store {
 public:
  enum class op { open, record, expire, cancel, snapshot, close, count };
  using handle = quorum::memory_store::handle;

  std::optional<op> failing;
  int on_call = 1;
  bool throw_int = false;
  bool after = false;

  handle open(const quorum::execution_spec& spec) {
    fault(op::open);
    return inner_.open(spec);
  }
  quorum::tally record(handle h, std::size_t i, quorum::outcome o) {
    if (!after) fault(op::record);
    auto t = inner_.record(h, i, o);
    records_.fetch_add(1);
    if (after) fault(op::record);
    return t;
  }
  quorum::tally expire(handle h) {
    fault(op::expire);
    return inner_.expire(h);
  }
  quorum::tally cancel(handle h) {
    fault(op::cancel);
    return inner_.cancel(h);
  }
  quorum::execution_record snapshot(handle h) {
    fault(op::snapshot);
    return inner_.snapshot(h);
  }
  void close(handle h) {
    {
      std::lock_guard lk(m_);
      last_closed_ = inner_.snapshot(h);
    }
    inner_.close(h);  // always forget the record, then maybe complain
    fault(op::close);
  }

  [[nodiscard]] int calls(op o) const { return calls_[static_cast<int>(o)].load(); }
  [[nodiscard]] int records() const { return records_.load(); }
  [[nodiscard]] std::size_t size() const { return inner_.size(); }
  [[nodiscard]] std::optional<quorum::execution_record> last_closed() {
    std::lock_guard lk(m_);
    return last_closed_;
  }

 private:
  void fault(op o) {
    int n = calls_[static_cast<int>(o)].fetch_add(1) + 1;
    if (failing != o || (on_call != 0 && n != on_call)) return;
    if (throw_int) throw 17;
    throw store_down(std::string("store down in ") + name(o));
  }
  static const char* name(op o) {
    constexpr std::array<const char*, 6> names{"open",   "record",   "expire",
                                               "cancel", "snapshot", "close"};
    return names[static_cast<std::size_t>(o)];
  }

  quorum::memory_store inner_;
  std::array<std::atomic<int>, static_cast<std::size_t>(op::count)> calls_{};
  std::atomic<int> records_{0};
  std::mutex m_;
  std::optional<quorum::execution_record> last_closed_;
};
static_assert(quorum::store<faulty_store>);

using fop = faulty_store::op;

// An executor that runs tasks on threads of its own but refuses the task numbered `refuse_at`
// (0-based) by throwing. Joinable, so an execution that owns it joins its threads.
class refusing_executor {
 public:
  explicit refusing_executor(int refuse_at, bool throw_custom = false)
      : refuse_at_(refuse_at), throw_custom_(throw_custom) {}

  template <std::invocable F>
  void execute(F&& f) {
    if (next_++ == refuse_at_) {
      if (throw_custom_) throw custom_error{503};
      throw std::runtime_error("executor full");
    }
    threads_.execute(std::forward<F>(f));
  }
  void join() { threads_.join(); }
  [[nodiscard]] int handed_out() const { return next_ > refuse_at_ ? refuse_at_ : next_; }

 private:
  int refuse_at_;
  bool throw_custom_;
  int next_ = 0;
  quorum::thread_executor threads_;
};
static_assert(quorum::executor<refusing_executor>);

// The same, running accepted tasks on the caller's thread.
struct refusing_inline_executor {
  int refuse_at;
  int next = 0;
  template <std::invocable F>
  void execute(F&& f) {
    if (next++ == refuse_at) throw std::runtime_error("inline executor refuses");
    std::forward<F>(f)();
  }
};

// A clock whose schedule() or sleep_until() fails: a manual_clock underneath.
class failing_clock final : public quorum::clock {
 public:
  bool fail_schedule = false;
  bool fail_sleep = false;
  quorum::manual_clock base;

  [[nodiscard]] time_point now() const noexcept override { return base.now(); }
  [[nodiscard]] quorum::timer schedule(time_point at, std::function<void()> fn) override {
    if (fail_schedule) throw std::runtime_error("no timers left");
    return base.schedule(at, std::move(fn));
  }
  bool sleep_until(time_point at, std::stop_token st) override {
    if (fail_sleep) throw std::runtime_error("cannot sleep");
    return base.sleep_until(at, std::move(st));
  }
};

template <class E, class F>
std::optional<E> caught(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e;
  } catch (...) {
    FAIL("a different exception than the injected one reached the caller");
  }
  return std::nullopt;
}

}  // namespace

// ---- stores -------------------------------------------------------------------------------------

TEST_CASE("a store that throws on open: the caller gets its exception and no branch runs" *
          doctest::timeout(30)) {
  no_leaked_threads guard;
  faulty_store store;
  store.failing = fop::open;
  std::atomic<int> ran{0};
  auto branch = [&] { return ran.fetch_add(1); };
  SUBCASE("std exception, threads") {
    auto e = caught<store_down>(
        [&] { (void)quorum::quorum_parallel(store, {.quorum = 1}, branch, branch); });
    REQUIRE(e.has_value());
    CHECK(std::string(e->what()) == "store down in open");
  }
  SUBCASE("a non-std type, inline") {
    store.throw_int = true;
    auto e = caught<int>(
        [&] { (void)quorum::start(store, quorum::inline_executor{}, {.quorum = 1}, branch); });
    CHECK(e == 17);
  }
  CHECK(ran.load() == 0);
  CHECK(store.size() == 0);
  CHECK(store.calls(fop::record) == 0);
}

TEST_CASE(
    "a store that throws on a record: the caller gets its exception from get, every branch is "
    "joined" *
    doctest::timeout(30)) {
  no_leaked_threads guard;
  faulty_store store;
  store.failing = fop::record;
  std::atomic<int> ran{0};
  auto ok = [&] {
    ran.fetch_add(1);
    return 1;
  };
  SUBCASE("the first record throws, branches on threads") {
    store.on_call = 1;
    auto e = caught<store_down>(
        [&] { (void)quorum::quorum_parallel(store, {.quorum = 3}, ok, ok, ok); });
    REQUIRE(e.has_value());
    CHECK(std::string(e->what()) == "store down in record");
    CHECK(ran.load() >= 1);  // the failed record decides cancelled; the others may not start
    CHECK(store.records() == ran.load() - 1);  // every other outcome that happened is recorded
  }
  SUBCASE("every record throws, inline") {
    store.on_call = 0;
    auto ex = quorum::start(store, quorum::inline_executor{}, {.quorum = 2}, ok, ok, ok);
    CHECK(ex.decided());  // the unknowable record decides cancelled at once
    auto e = caught<store_down>([&] { (void)ex.get(); });
    CHECK(e.has_value());
    CHECK(ran.load() == 1);  // later branches never started
    CHECK(store.records() == 0);
  }
  SUBCASE("a record that throws after the store kept it: still an error to the caller") {
    store.on_call = 2;
    store.after = true;
    auto ex = quorum::start(store, quorum::inline_executor{}, {.quorum = 3}, ok, ok, ok);
    auto e = caught<store_down>([&] { (void)ex.get(); });
    CHECK(e.has_value());
    auto rec = ex.record();
    CHECK(rec.branches[0].outcome == quorum::outcome::success);
    CHECK(rec.branches[1].outcome == quorum::outcome::success);  // kept, though unheard of
    CHECK(store.records() == 2);
  }
  SUBCASE("a non-std type thrown by record reaches the caller as it is") {
    store.throw_int = true;
    auto e = caught<int>([&] {
      (void)quorum::quorum_parallel(store, quorum::thread_executor{}, {.quorum = 1}, ok, ok);
    });
    CHECK(e == 17);
  }
  CHECK(store.size() == 0);  // closed in every case
}

TEST_CASE(
    "a store that throws on expire: the deadline still decides, the clock's thread is unharmed, "
    "get reports the error" *
    doctest::timeout(30)) {
  no_leaked_threads guard;
  faulty_store store;
  store.failing = fop::expire;
  quorum::manual_clock clk;
  std::atomic<int> started{0}, stopped{0};
  auto straggler = [&](std::stop_token st) {
    started.fetch_add(1);
    block_until_stopped(st);
    stopped.fetch_add(1);
    return 0;
  };
  auto ex = quorum::start(store, {.quorum = 2, .timeout = 5s, .clock = &clk}, straggler, straggler);
  CHECK_NOTHROW(clk.advance(5s));  // the deadline's callback runs here, and must not throw
  ex.wait();
  ex.join();
  CHECK(stopped.load() == started.load());
  auto e = caught<store_down>([&] { (void)ex.get(); });
  REQUIRE(e.has_value());
  CHECK(std::string(e->what()) == "store down in expire");
}

TEST_CASE(
    "a store that throws on cancel: cancel() does not throw, the branches stop, get reports the "
    "error" *
    doctest::timeout(30)) {
  no_leaked_threads guard;
  faulty_store store;
  store.failing = fop::cancel;
  std::atomic<int> started{0}, stopped{0};
  auto straggler = [&](std::stop_token st) {
    started.fetch_add(1);
    block_until_stopped(st);
    stopped.fetch_add(1);
    return 0;
  };
  SUBCASE("explicit cancel") {
    auto ex = quorum::start(store, {.quorum = 1}, straggler, straggler, straggler);
    CHECK_NOTHROW(ex.cancel());
    CHECK(ex.decided());
    auto e = caught<store_down>([&] { (void)ex.get(); });
    REQUIRE(e.has_value());
    CHECK(std::string(e->what()) == "store down in cancel");
    CHECK(stopped.load() == started.load());  // the ones that started were stopped
  }
  SUBCASE("the destructor's cancel: no exception escapes it and every branch is joined") {
    { auto ex = quorum::start(store, {.quorum = 1}, straggler, straggler, straggler); }
    CHECK(stopped.load() == started.load());
    CHECK(store.calls(fop::cancel) == 1);
  }
  CHECK(store.size() == 0);
}

TEST_CASE(
    "a store that throws on snapshot: record() throws that exception and the execution is "
    "unharmed" *
    doctest::timeout(30)) {
  no_leaked_threads guard;
  faulty_store store;
  store.failing = fop::snapshot;
  auto ex = quorum::start(store, quorum::inline_executor{}, {.quorum = 1}, [] { return 1; });
  auto e = caught<store_down>([&] { (void)ex.record(); });
  CHECK(e.has_value());
  CHECK(ex.get().decision == decision::quorum_met);
}

TEST_CASE(
    "a store that throws on close: the handle's destructor swallows it, the result was already "
    "delivered" *
    doctest::timeout(30)) {
  // close() runs in the destructor, which must not throw: the error cannot reach the caller.
  // What the caller gets is intact, and nothing hangs or leaks.
  no_leaked_threads guard;
  faulty_store store;
  store.failing = fop::close;
  std::optional<quorum::result<int>> r;
  SUBCASE("quorum_parallel") {
    r = quorum::quorum_parallel(
        store, {.quorum = 2}, [] { return 1; }, [] { return 2; });
  }
  SUBCASE("a non-std type from close") {
    store.throw_int = true;
    r = quorum::quorum_parallel(
        store, quorum::inline_executor{}, {.quorum = 2}, [] { return 1; }, [] { return 2; });
  }
  REQUIRE(r.has_value());
  CHECK(r->decision == decision::quorum_met);
  CHECK(store.calls(fop::close) == 1);
  CHECK(store.size() == 0);
  auto rec = store.last_closed();
  REQUIRE(rec.has_value());
  CHECK(rec->decision == decision::quorum_met);
}

// ---- observers ----------------------------------------------------------------------------------

TEST_CASE("an observer that throws on every event, also non-std types, never breaks the execution" *
          doctest::timeout(30)) {
  no_leaked_threads guard;
  quorum::manual_clock clk;
  faulty_store store;
  std::atomic<int> calls{0};
  quorum::options o{.quorum = 2, .timeout = 1s, .clock = &clk};
  SUBCASE("std exceptions") {
    o.observer = [&](const quorum::event&) {
      calls.fetch_add(1);
      throw std::runtime_error("observer broke");
    };
  }
  SUBCASE("an int") {
    o.observer = [&](const quorum::event&) {
      calls.fetch_add(1);
      throw 5;
    };
  }
  SUBCASE("a custom struct") {
    o.observer = [&](const quorum::event&) {
      calls.fetch_add(1);
      throw custom_error{1};
    };
  }
  // Decided by a branch, by the deadline (on the thread advancing the clock), and by cancel().
  for (int how = 0; how < 3; ++how) {
    calls = 0;
    CAPTURE(how);
    auto ex = quorum::start(
        store, o, [] { return 1; },
        [how](std::stop_token st) {
          if (how != 0) block_until_stopped(st);
          return 2;
        },
        [](std::stop_token st) {
          block_until_stopped(st);
          return 3;
        });
    if (how == 1) CHECK_NOTHROW(clk.advance(1s));
    if (how == 2) CHECK_NOTHROW(ex.cancel());
    auto r = ex.get();
    const decision expected[] = {decision::quorum_met, decision::timed_out, decision::cancelled};
    CHECK(r.decision == expected[how]);
    CHECK(r.observer_errors == static_cast<std::size_t>(calls.load()));
    CHECK(r.observer_errors > 0);
    CHECK(r.observer_error != nullptr);
    CHECK(ex.record().decision == expected[how]);
  }
}

// ---- executors ----------------------------------------------------------------------------------

TEST_CASE(
    "an executor that refuses the i-th task: the caller gets its exception, tasks handed out are "
    "joined, none start after" *
    doctest::timeout(60)) {
  no_leaked_threads guard;
  for (int refuse_at = 0; refuse_at < 4; ++refuse_at) {
    CAPTURE(refuse_at);
    faulty_store store;
    std::atomic<int> started{0}, ended{0};
    auto straggler = [&](std::stop_token st) {
      started.fetch_add(1);
      block_until_stopped(st);
      ended.fetch_add(1);
      return 0;
    };
    {
      // owned by the execution (an rvalue): joined by it
      auto e = caught<std::runtime_error>([&] {
        (void)quorum::start(store, refusing_executor(refuse_at), {.quorum = 4}, straggler,
                            straggler, straggler, straggler);
      });
      REQUIRE(e.has_value());
      CHECK(std::string(e->what()) == "executor full");
      // Only tasks handed out before the refusal ran (one may see the cancellation first and
      // never start); each one that ran ended and its outcome reached the store.
      CHECK(started.load() <= refuse_at);
      CHECK(ended.load() == started.load());
      CHECK(store.records() == started.load());
      CHECK(store.size() == 0);
      auto rec = store.last_closed();
      REQUIRE(rec.has_value());
      CHECK(rec->decision == decision::cancelled);
    }
    {
      // owned by the caller (an lvalue), refusing with a non-std type
      started = 0;
      ended = 0;
      refusing_executor ex(refuse_at, true);
      auto e = caught<custom_error>([&] {
        (void)quorum::quorum_parallel(store, ex, {.quorum = 1}, straggler, straggler, straggler,
                                      straggler);
      });
      REQUIRE(e.has_value());
      CHECK(e->code == 503);
      CHECK(ended.load() == started.load());
      CHECK(started.load() <= refuse_at);
      ex.join();
    }
  }
}

TEST_CASE(
    "an inline executor that refuses a task: the branches before it ran, the error reaches the "
    "caller" *
    doctest::timeout(30)) {
  faulty_store store;
  std::atomic<int> ran{0};
  auto fail = [&]() -> int {
    ran.fetch_add(1);
    throw std::logic_error("no");
  };
  auto e = caught<std::runtime_error>([&] {
    (void)quorum::start(
        store, refusing_inline_executor{2}, {.quorum = 2}, fail, [] { return 1; },
        [] { return 2; });
  });
  REQUIRE(e.has_value());
  CHECK(std::string(e->what()) == "inline executor refuses");
  CHECK(ran.load() == 1);
  auto rec = store.last_closed();
  REQUIRE(rec.has_value());
  CHECK(rec->decision == decision::cancelled);
  CHECK(rec->branches[0].outcome == quorum::outcome::failure);
  CHECK(rec->branches[1].outcome == quorum::outcome::success);
  CHECK_FALSE(rec->branches[2].outcome.has_value());
}

// ---- clocks -------------------------------------------------------------------------------------

TEST_CASE("a clock whose schedule() throws: start() reports it and no branch runs" *
          doctest::timeout(30)) {
  no_leaked_threads guard;
  failing_clock clk;
  clk.fail_schedule = true;
  faulty_store store;
  std::atomic<int> ran{0};
  auto e = caught<std::runtime_error>([&] {
    (void)quorum::quorum_parallel(store, {.quorum = 1, .timeout = 1s, .clock = &clk},
                                  [&] { return ran.fetch_add(1); });
  });
  REQUIRE(e.has_value());
  CHECK(std::string(e->what()) == "no timers left");
  CHECK(ran.load() == 0);
  CHECK(store.size() == 0);
}

TEST_CASE(
    "a clock whose sleep_until() throws during a retry wait: the branch ends with its last error" *
    doctest::timeout(30)) {
  failing_clock clk;
  clk.fail_sleep = true;
  faulty_store store;
  int attempts = 0;
  auto r = quorum::quorum_parallel(
      store, quorum::inline_executor{},
      {.quorum = 1, .retry = {.max_attempts = 5, .interval = 1s}, .clock = &clk}, [&]() -> int {
        ++attempts;
        throw custom_error{attempts};
      });
  CHECK(r.decision == decision::unreachable);
  CHECK(attempts == 1);
  CHECK(r.branches[0].status == branch_status::failed);
  CHECK_THROWS_AS(std::rethrow_exception(r.branches[0].error), custom_error);
}

// ---- branches -----------------------------------------------------------------------------------

TEST_CASE(
    "branches throwing int, a custom struct, a string or a pointer are failures with the very "
    "exception kept" *
    doctest::timeout(30)) {
  no_leaked_threads guard;
  static const char* const text = "raw";
  // quorum 1 of 5: only the fifth failure decides, so every branch runs and fails in time.
  auto r = quorum::quorum_parallel(
      {.quorum = 1}, []() -> int { throw 42; }, []() -> int { throw custom_error{7}; },
      []() -> int { throw std::string("a string"); }, []() -> int { throw text; },
      [](std::stop_token) -> int { throw std::bad_alloc(); });
  CHECK(r.decision == decision::unreachable);
  CHECK(r.failures() == 5);
  auto error_of = [&](std::size_t i) { return r.branches[i].error; };
  for (std::size_t i = 0; i < 5; ++i) REQUIRE(error_of(i) != nullptr);
  CHECK_THROWS_AS(std::rethrow_exception(error_of(0)), int);
  try {
    std::rethrow_exception(error_of(1));
  } catch (const custom_error& e) {
    CHECK(e.code == 7);
  } catch (...) {
    FAIL("lost the custom struct");
  }
  CHECK_THROWS_AS(std::rethrow_exception(error_of(2)), std::string);
  CHECK_THROWS_AS(std::rethrow_exception(error_of(3)), const char*);
  CHECK_THROWS_AS(std::rethrow_exception(error_of(4)), std::bad_alloc);
  auto doc = strict_json::parse(quorum::to_json(r));
  REQUIRE(doc.has_value());
  CHECK(doc->get("branches")->arr.at(0).get("error")->str.starts_with("non-standard exception"));
  // A thrown string says what it holds (a user trial found both described as non-standard).
  CHECK(quorum::describe(error_of(2)) == "a string");
  CHECK(quorum::describe(error_of(3)) == "raw");
  CHECK(doc->get("branches")->arr.at(2).get("error")->str == "a string");
  CHECK(quorum::describe(std::make_exception_ptr(static_cast<const char*>(nullptr))) ==
        "null C string");
  CHECK(quorum::describe(std::make_exception_ptr(std::string())) == "empty string");
}

TEST_CASE(
    "a branch that ignores its stop token is joined, and its late outcome is recorded once without "
    "changing the decision" *
    doctest::timeout(30)) {
  no_leaked_threads guard;
  faulty_store store;
  gate g;
  std::latch straggler_running(1);
  std::latch stop_sent(1);
  std::atomic<bool> straggler_done{false};
  auto ex = quorum::start(
      store, {.quorum = 1},
      [&] {
        straggler_running.wait();
        return 1;
      },
      [&](std::stop_token st) -> int {
        // Tells the test when the stop request comes, and otherwise ignores it.
        std::stop_callback told(st, [&] { stop_sent.count_down(); });
        straggler_running.count_down();
        g.wait();  // deaf to the stop request
        straggler_done = true;
        throw std::runtime_error("late failure");
      });
  ex.wait();
  CHECK(ex.decided());
  CHECK_FALSE(straggler_done.load());
  // wait() returns at the decision, which is published before the stop request: without this
  // the straggler could finish between the two and count as failed (seen once under ASan).
  stop_sent.wait();
  g.open();
  ex.join();
  CHECK(straggler_done.load());
  auto r = ex.get();
  CHECK(r.decision == decision::quorum_met);
  CHECK(r.branches[1].late);
  // It threw after its stop request, so it counts as cancelled, with its error kept.
  CHECK(r.branches[1].status == branch_status::cancelled);
  CHECK(quorum::describe(r.branches[1].error) == "late failure");
  CHECK(r.failures() == 0);
  auto rec = ex.record();
  CHECK(rec.decision == decision::quorum_met);
  CHECK(rec.branches[1].outcome == quorum::outcome::failure);
  CHECK(rec.branches[1].late);
  CHECK(rec.failures_at_decision == 0);
  CHECK(store.records() == 2);
}

TEST_CASE(
    "a branch that finishes exactly at the deadline is late: the deadline is processed first" *
    doctest::timeout(30)) {
  no_leaked_threads guard;
  quorum::manual_clock clk;
  faulty_store store;
  const auto deadline = clk.now() + 10s;
  SUBCASE("a thread sleeping until the deadline, woken by the clock reaching it") {
    auto ex = quorum::start(store, {.quorum = 1, .deadline = deadline, .clock = &clk},
                            [&](quorum::branch_context& ctx) {
                              // the clock wakes sleepers only after firing due timers
                              ctx.clock().sleep_until(deadline, std::stop_token{});
                              return 1;
                            });
    clk.wait_for_sleepers(1);
    clk.set(deadline);
    auto r = ex.get();
    CHECK(r.decision == decision::timed_out);
    CHECK(r.branches[0].late);
    CHECK(r.branches[0].status == branch_status::succeeded);
    CHECK(r.successes() == 0);
    auto doc = strict_json::parse(quorum::to_json(r));
    REQUIRE(doc.has_value());
    CHECK(doc->get("timeout_occurred")->b);
    CHECK(doc->get("successful_processes")->arr.empty());
    CHECK(doc->get("late_processes")->arr.size() == 1);
  }
  SUBCASE("inline: the branch itself moves the clock to the deadline, then succeeds") {
    auto ex = quorum::start(
        store, quorum::inline_executor{}, {.quorum = 1, .deadline = deadline, .clock = &clk},
        [&] {
          clk.set(deadline);
          return 1;
        },
        [] { return 2; });
    auto r = ex.get();
    CHECK(r.decision == decision::timed_out);
    CHECK(r.branches[0].late);
    CHECK(r.branches[1].attempts == 0);
    CHECK(ex.record().successes_at_decision == 0);
  }
  SUBCASE("one nanosecond before the deadline counts") {
    auto ex = quorum::start(store, quorum::inline_executor{},
                            {.quorum = 1, .deadline = deadline, .clock = &clk}, [&] {
                              clk.set(deadline - 1ns);
                              return 1;
                            });
    auto r = ex.get();
    CHECK(r.decision == decision::quorum_met);
    CHECK_FALSE(r.branches[0].late);
    clk.set(deadline + 1s);  // the deadline's timer is gone: nothing fires, nothing changes
    CHECK(ex.record().decision == decision::quorum_met);
  }
  CHECK(store.calls(fop::record) == 1);
}

TEST_CASE(
    "cancel() racing the K-th success makes exactly one decision, and it agrees with the record" *
    doctest::timeout(120)) {
  no_leaked_threads guard;
  faulty_store store;
  int met = 0, cancelled = 0;
  for (int iter = 0; iter < 500; ++iter) {
    CAPTURE(iter);
    std::latch first_recorded(1);
    std::barrier sync(2);
    quorum::options o{.quorum = 2};
    o.observer = [&](const quorum::event& e) {
      if (e.kind == quorum::event_kind::succeeded && e.branch == 0u) first_recorded.count_down();
    };
    auto ex = quorum::start(
        store, o, [] { return 1; },
        [&] {
          first_recorded.wait();  // branch 0 is counted: this is the K-th
          sync.arrive_and_wait();
          return 2;
        },
        [](std::stop_token st) {
          block_until_stopped(st);
          return 3;
        });
    sync.arrive_and_wait();
    ex.cancel();
    auto r = ex.get();
    auto rec = ex.record();
    REQUIRE(rec.decision.has_value());
    CHECK(*rec.decision == r.decision);
    REQUIRE(rec.branches[1].outcome == quorum::outcome::success);  // recorded either way, once
    if (r.decision == decision::quorum_met) {
      ++met;
      CHECK(rec.successes_at_decision == 2);
      CHECK(r.decided_by == 1u);
      CHECK_FALSE(r.branches[1].late);
      CHECK(r.successes() == 2);
    } else {
      ++cancelled;
      REQUIRE(r.decision == decision::cancelled);
      CHECK(rec.successes_at_decision == 1);
      CHECK_FALSE(r.decided_by.has_value());
      CHECK(r.branches[1].late);
      CHECK(rec.branches[1].late);
      CHECK(r.successes() == 1);
    }
    // the straggler was stopped, or never started when the decision came first
    CHECK((r.branches[2].late || r.branches[2].attempts == 0));
    auto doc = strict_json::parse(quorum::to_json(r));
    REQUIRE(doc.has_value());
    CHECK(doc->get("successful_processes")->arr.size() == r.successes());
  }
  MESSAGE("cancel won " << cancelled << " times, the K-th success " << met << " times");
  CHECK(met + cancelled == 500);
}

TEST_CASE("the handle's destructor racing the K-th success leaves one decision in the record" *
          doctest::timeout(120)) {
  no_leaked_threads guard;
  faulty_store store;
  for (int iter = 0; iter < 300; ++iter) {
    CAPTURE(iter);
    std::barrier sync(2);
    {
      auto ex = quorum::start(
          store, {.quorum = 1},
          [&] {
            sync.arrive_and_wait();
            return 1;
          },
          [](std::stop_token st) {
            block_until_stopped(st);
            return 2;
          });
      sync.arrive_and_wait();
    }  // destroyed here: cancels unless the success came first
    auto rec = store.last_closed();
    REQUIRE(rec.has_value());
    REQUIRE(rec->decision.has_value());
    if (*rec->decision == decision::quorum_met) {
      CHECK(rec->successes_at_decision == 1);
      CHECK(rec->decided_by == 0u);
    } else {
      CHECK(*rec->decision == decision::cancelled);
      CHECK(rec->successes_at_decision == 0);
    }
    CHECK(rec->branches[0].outcome == quorum::outcome::success);
    CHECK(store.size() == 0);
  }
}
