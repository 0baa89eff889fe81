// What a branch may be: its signatures, its return types, packs and ranges, stores, executors.
#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <latch>
#include <list>
#include <memory>
#include <ranges>
#include <semaphore>
#include <utility>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <quorum/quorum.hpp>

using namespace std::chrono_literals;
using quorum::decision;

TEST_CASE("branches may take nothing, a stop token, or a branch context") {
  std::string seen_name;
  std::size_t seen_index = 99;
  unsigned seen_attempt = 0;
  bool had_deadline = false;
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(
      store, quorum::inline_executor{}, {.quorum = 3, .timeout = 1h, .names = {"a", "b", "c"}},
      [] { return 1; }, [](std::stop_token st) { return st.stop_possible() ? 2 : -2; },
      [&](quorum::branch_context& ctx) {
        seen_name = ctx.name();
        seen_index = ctx.index();
        seen_attempt = ctx.attempt();
        had_deadline = ctx.deadline().has_value();
        return 3;
      });
  CHECK(r.decision == decision::quorum_met);
  CHECK(*r.branches[0].value == 1);
  CHECK(*r.branches[1].value == 2);
  CHECK(*r.branches[2].value == 3);
  CHECK(seen_name == "c");
  CHECK(seen_index == 2);
  CHECK(seen_attempt == 1);
  CHECK(had_deadline);
  CHECK(r.branches[1].name == "b");
}

TEST_CASE("void branches give a result without values") {
  std::atomic<int> calls{0};
  auto r = quorum::quorum_parallel({.quorum = 2}, [&] { ++calls; }, [&](std::stop_token) { ++calls; });
  static_assert(std::is_same_v<decltype(r), quorum::result<void>>);
  CHECK(r.decision == decision::quorum_met);
  CHECK(calls.load() == 2);
}

TEST_CASE("branches of different return types share their common type") {
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 2},
                                   [] { return 1; }, [] { return 2L; }, [] { return short{3}; });
  static_assert(std::is_same_v<decltype(r), quorum::result<long>>);
  CHECK(*r.branches[1].value == 2L);
}

namespace {
enum signed_code : int { refused = -1, accepted = 1 };
}  // namespace

// Which mixes of return types pack_result lets through: those whose common type holds every
// value of each (tests/compile_fail/narrowing_mix.cpp checks the message of one it refuses).
static_assert(quorum::detail::keeps_value<int, long>);
static_assert(quorum::detail::keeps_value<bool, int>);
static_assert(quorum::detail::keeps_value<char, int>);
static_assert(quorum::detail::keeps_value<float, double>);
static_assert(quorum::detail::keeps_value<signed_code, int>);
static_assert(quorum::detail::keeps_value<std::string, std::string_view>);  // class types as they say
static_assert(!quorum::detail::keeps_value<int, std::size_t>);
static_assert(!quorum::detail::keeps_value<int, double>);
static_assert(!quorum::detail::keeps_value<double, float>);
// Regression (a review): an enumerator -1 with std::size_t made std::size_t, and read back as
// 18446744073709551615; unscoped enumerations were not checked.
static_assert(!quorum::detail::keeps_value<signed_code, std::size_t>);

TEST_CASE("a generic branch receives a branch_context, which converts to std::stop_token") {
  // From an API trial: `[](auto st)` gets the context, the first form tried, and a
  // std::stop_callback on it did not compile (a deduction failure deep in the standard
  // library), nor did passing it on to a function that takes a token.
  static_assert(std::is_convertible_v<quorum::branch_context&, std::stop_token>);
  const auto takes_token = [](std::stop_token t) { return t.stop_possible() ? 2 : 0; };
  // Branch 1 succeeds only once branch 0 runs: a branch not started by the decision never
  // starts, and would show no value (a CI failure, when branch 0's thread came up late).
  std::latch running(1);
  auto r = quorum::quorum_parallel(
      {.quorum = 1},
      [&](auto st) {
        static_assert(std::is_same_v<decltype(st), quorum::branch_context>);
        std::binary_semaphore stopped{0};
        std::stop_callback on_stop(st, [&] { stopped.release(); });
        running.count_down();
        stopped.acquire();  // until the other branch's success asks this one to stop
        return takes_token(st);
      },
      [&] {
        running.wait();
        return 1;
      });
  CHECK(r.decision == decision::quorum_met);
  CHECK(r.decided_by == 1u);
  CHECK(r.branches[0].late);
  CHECK(r.branches[0].value == 2);
}

TEST_CASE("branches may be a vector of std::function") {
  std::vector<std::function<std::string(std::stop_token)>> fs;
  for (int i = 0; i < 5; ++i) fs.push_back([i](std::stop_token) { return std::to_string(i); });
  auto r = quorum::quorum_parallel({.quorum = 5}, fs);
  CHECK(r.decision == decision::quorum_met);
  CHECK(*r.branches[4].value == "4");
  CHECK(fs.size() == 5);  // an lvalue range is called in place, not consumed
}

TEST_CASE("branches may be any input range of invocables, also a view or a list of lambdas") {
  auto make = [](int i) { return [i] { return i * 10; }; };
  quorum::memory_store store;
#if !defined(__clang__) || __clang_major__ >= 15
  // clang 14 cannot compile libstdc++ 12's iota_view (a compiler limit, not the library's).
  SUBCASE("a transform view") {
    auto view = std::views::iota(0, 4) | std::views::transform(make);
    auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 4}, view);
    CHECK(*r.branches[3].value == 30);
  }
#endif
  SUBCASE("a list") {
    std::list<decltype(make(0))> fs{make(1), make(2)};
    auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 1}, fs);
    CHECK(r.decision == decision::quorum_met);
    CHECK(*r.branches[0].value == 10);
  }
}

TEST_CASE("move-only results and move-only branches are supported") {
  std::vector<std::function<int()>> unused;
  auto r = quorum::quorum_parallel({.quorum = 2}, [p = std::make_unique<int>(4)] { return std::make_unique<int>(*p); },
                                   [] { return std::make_unique<int>(5); });
  REQUIRE(r.branches[0].value.has_value());
  CHECK(**r.branches[0].value == 4);
  CHECK(**r.branches[1].value == 5);
}

namespace {
// A callable that counts the copies made of it (and of the values it returns).
struct copy_counter {
  std::atomic<int>* copies;
  explicit copy_counter(std::atomic<int>& c) : copies(&c) {}
  copy_counter(const copy_counter& o) : copies(o.copies) { ++*copies; }
  copy_counter(copy_counter&&) noexcept = default;
  copy_counter& operator=(const copy_counter& o) {
    copies = o.copies;
    ++*copies;
    return *this;
  }
  copy_counter& operator=(copy_counter&&) noexcept = default;
  ~copy_counter() = default;
  copy_counter operator()() const { return copy_counter(*copies); }
};
}  // namespace

TEST_CASE("quorum_parallel calls an lvalue range in place and moves the values into the result") {
  std::atomic<int> copies{0};
  std::vector<copy_counter> fs;
  for (int i = 0; i < 3; ++i) fs.emplace_back(copies);
  quorum::memory_store store;
  SUBCASE("on inline_executor") {
    auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 3}, fs);
    CHECK(r.successes() == 3);
  }
  SUBCASE("on threads, through a const range") {
    const auto& cfs = fs;
    auto r = quorum::quorum_parallel({.quorum = 2}, cfs);
    CHECK(r.decision == decision::quorum_met);
  }
  CHECK(copies == 0);  // neither a callable nor a value was copied
}

TEST_CASE("a callable with state of its own is copied, not changed under its owner") {
  // Called in place through a non-const call operator, concurrent calls sharing one range
  // would race, and the caller's objects would change: such callables are copied.
  struct counts_calls {
    int calls = 0;
    int operator()() { return ++calls; }
  };
  std::vector<counts_calls> fs(2);
  auto r = quorum::quorum_parallel({.quorum = 2}, fs);
  CHECK(*r.branches[0].value == 1);
  CHECK(fs[0].calls == 0);
  CHECK(fs[1].calls == 0);
}

TEST_CASE("a span passed as branches is borrowed, and never emptied") {
  std::vector<std::function<int()>> fs{[] { return 1; }, [] { return 2; }};
  auto r = quorum::quorum_parallel({.quorum = 2}, std::span(fs));
  CHECK(*r.branches[1].value == 2);
  auto ex = quorum::start({.quorum = 2}, std::span(fs));  // start() copies it
  CHECK(ex.get().ok());
#if !defined(__clang__) || __clang_major__ >= 15
  // (clang 14 cannot compile libstdc++ 12's range adaptors.)
  auto taken = quorum::quorum_parallel({.quorum = 1}, fs | std::views::take(1));
  CHECK(taken.ok());
#endif
  REQUIRE(fs.size() == 2);
  CHECK(static_cast<bool>(fs[0]));  // (an rvalue view was moved from: emptied)
  CHECK(static_cast<bool>(fs[1]));
}

namespace {
// Move-only, and callable only as non-const.
struct move_only_mutable {
  std::unique_ptr<int> p;
  int operator()() { return ++*p; }
};
}  // namespace

TEST_CASE("move-only callables are moved out of a range the caller gives up, called in place otherwise") {
  auto make = [] {
    std::vector<move_only_mutable> v;
    v.push_back({std::make_unique<int>(10)});
    v.push_back({std::make_unique<int>(20)});
    return v;
  };
  SUBCASE("an lvalue vector (neither copyable nor const-callable): called as it is") {
    auto v = make();
    auto r = quorum::quorum_parallel({.quorum = 2}, v);
    CHECK(*r.branches[1].value == 21);
    CHECK(*v[1].p == 21);  // the caller's own callable ran
  }
  SUBCASE("an rvalue vector, to start()") {
    auto ex = quorum::start({.quorum = 2}, make());
    CHECK(*ex.get().branches[0].value == 11);
  }
#if !defined(__clang__) || __clang_major__ >= 15
  SUBCASE("an rvalue owning view, to start() and to quorum_parallel") {
    auto ex = quorum::start({.quorum = 2}, std::views::all(make()));
    CHECK(*ex.get().branches[0].value == 11);
    auto r = quorum::quorum_parallel({.quorum = 2}, std::views::all(make()));
    CHECK(*r.branches[1].value == 21);
  }
  SUBCASE("a view that makes its callables on the fly") {
    auto view = std::views::iota(0, 2) | std::views::transform([](int i) {
                  return move_only_mutable{std::make_unique<int>(i)};
                });
    auto r = quorum::quorum_parallel({.quorum = 2}, view);
    CHECK(*r.branches[1].value == 2);
  }
#endif
}

TEST_CASE("start() copies an lvalue range: the handle may outlive it") {
  std::atomic<int> copies{0};
  std::vector<copy_counter> fs;
  for (int i = 0; i < 2; ++i) fs.emplace_back(copies);
  quorum::memory_store store;
  auto ex = quorum::start(store, quorum::inline_executor{}, {.quorum = 2}, fs);
  CHECK(copies == 2);  // the two callables
  fs.clear();          // the execution does not depend on the range any more
  auto r = ex.get();   // an lvalue get() copies the values: it may be called again
  CHECK(copies == 4);
  CHECK(r.successes() == 2);
  auto again = std::move(ex).get();  // the rvalue get() moves them
  CHECK(copies == 4);
  CHECK(again.branches[1].value.has_value());
}

TEST_CASE("a vector of move-only callables runs through quorum_parallel") {
  struct move_only {
    std::unique_ptr<int> p;
    int operator()() const { return *p; }
  };
  std::vector<move_only> fs;
  fs.push_back({std::make_unique<int>(7)});
  fs.push_back({std::make_unique<int>(8)});
  auto r = quorum::quorum_parallel({.quorum = 2}, fs);
  CHECK(r.decision == decision::quorum_met);
  CHECK(*r.branches[1].value == 8);
  CHECK(*fs[0].p == 7);  // still the caller's
}

namespace {
struct move_counter {
  static inline std::atomic<int> moves{0};
  move_counter() = default;
  move_counter(const move_counter&) = default;
  move_counter(move_counter&&) noexcept { ++moves; }
  move_counter& operator=(const move_counter&) = default;
  move_counter& operator=(move_counter&&) noexcept {
    ++moves;
    return *this;
  }
  ~move_counter() = default;
};
struct throws_when_moved {
  throws_when_moved() = default;
  throws_when_moved(const throws_when_moved&) = default;
  throws_when_moved(throws_when_moved&&) { throw std::runtime_error("moved"); }
  throws_when_moved& operator=(const throws_when_moved&) = default;
  throws_when_moved& operator=(throws_when_moved&&) = default;
  ~throws_when_moved() = default;
};
}  // namespace

TEST_CASE("a branch's value is built where the execution keeps it: moved once") {
  // (It was built aside and moved again afterwards, outside any try: a move that threw there
  // ended the process.)
  move_counter::moves = 0;
  quorum::memory_store store;
  auto ex = quorum::start(store, quorum::inline_executor{}, {.quorum = 1}, [] { return move_counter{}; });
  CHECK(move_counter::moves == 1);  // from the branch's return into the execution
  auto r = ex.get();
  CHECK(move_counter::moves == 1);  // get() on an lvalue copies
  CHECK(r.branches[0].value.has_value());
}

TEST_CASE("a value whose move throws fails its branch with that exception") {
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 1},
                                   [] { return throws_when_moved{}; });
  CHECK(r.decision == decision::unreachable);
  REQUIRE(r.branches[0].error);
  CHECK_THROWS_WITH_AS(std::rethrow_exception(r.branches[0].error), "moved", std::runtime_error);
}

namespace {
// An executor of its own threads, with no join(): it joins them in its destructor, and notes
// the thread that destructor ran on.
struct destructor_noting_executor {
  std::thread::id* where = nullptr;
  std::vector<std::jthread> threads;
  explicit destructor_noting_executor(std::thread::id* w) : where(w) {}
  destructor_noting_executor(destructor_noting_executor&& o) noexcept
      : where(std::exchange(o.where, nullptr)), threads(std::move(o.threads)) {}
  destructor_noting_executor& operator=(destructor_noting_executor&&) = delete;
  ~destructor_noting_executor() {
    if (where) *where = std::this_thread::get_id();
  }
  template <class F>
  void execute(F&& f) {
    threads.emplace_back(std::forward<F>(f));
  }
};
}  // namespace

TEST_CASE("an executor the execution owns dies on the caller's thread, before the call returns") {
  // It used to die with the execution's state, wherever the last reference to it went: on
  // one of its own threads, its destructor would have joined that very thread.
  for (int i = 0; i < 20; ++i) {
    std::thread::id where{};
    quorum::memory_store store;
    auto r = quorum::quorum_parallel(store, destructor_noting_executor{&where}, {.quorum = 2},
                                     [] { return 1; }, [] { return 2; });
    CHECK(r.ok());
    CHECK(where == std::this_thread::get_id());
  }
}

TEST_CASE("an executor passed as an lvalue is used and not owned") {
  quorum::thread_executor threads;
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, threads, {.quorum = 2}, [] { return 1; }, [] { return 2; });
  CHECK(r.decision == decision::quorum_met);
  threads.join();  // the caller's executor still owns its threads
}

namespace {
// Runs each task at once on the caller's thread, and counts them: shows the executor was used.
struct counting_executor {
  int* tasks;
  template <class F>
  void execute(F&& f) {
    ++*tasks;
    std::forward<F>(f)();
  }
};
}  // namespace

TEST_CASE("an executor without a store runs the branches with the default store") {
  int tasks = 0;
  counting_executor ex{&tasks};
  SUBCASE("quorum_parallel, a pack") {
    auto r = quorum::quorum_parallel(ex, {.quorum = 2, .execution_id = "e"}, [] { return 1; },
                                     [](std::stop_token) { return 2; }, [] { return 3; });
    CHECK(r.decision == decision::quorum_met);
    CHECK(r.execution_id == "e");
    CHECK(tasks == 2);  // the third branch was decided out before it was handed over
  }
  SUBCASE("quorum_parallel, a range") {
    const std::vector<std::function<int()>> fs{[] { return 1; }, [] { return 2; }};
    auto r = quorum::quorum_parallel(ex, {.quorum = 2}, fs);
    CHECK(r.decision == decision::quorum_met);
    CHECK(tasks == 2);
  }
  SUBCASE("start, a pack and a range, and an owned executor") {
    auto h = quorum::start(ex, {.quorum = 1}, [] { return 1; });
    CHECK(h.get().decision == decision::quorum_met);
    auto h2 = quorum::start(counting_executor{&tasks}, {.quorum = 1},
                            std::vector<std::function<int()>>{[] { return 1; }});
    CHECK(h2.get().decision == decision::quorum_met);
    CHECK(tasks == 2);
  }
  SUBCASE("a pool_executor, as a service keeps one") {
    quorum::pool_executor pool(2);
    for (int i = 0; i < 20; ++i) {
      auto r = quorum::quorum_parallel(pool, {.quorum = 2}, [] { return 1; }, [] { return 2; },
                                       [] { return 3; });
      CHECK(r.decision == decision::quorum_met);
    }
  }
}

namespace {
struct wrong_branch {  // takes an int: no form quorum accepts
  int operator()(int x) const { return x; }
};
struct right_branch {
  int operator()() const { return 1; }
};

// Whether quorum_parallel / start accept these arguments, asked as generic code would.
template <class... A>
constexpr bool parallel_accepts = requires(A&&... a) { quorum::quorum_parallel(std::forward<A>(a)...); };
template <class... A>
constexpr bool start_accepts = requires(A&&... a) { quorum::start(std::forward<A>(a)...); };
}  // namespace

TEST_CASE("a requires test of a call with a wrong branch or a const executor is false, not an error") {
  // The deleted overloads that word the error for a wrong branch must leave such a test false
  // (an overload whose body asserted made it a hard error), and a const pool, whose execute()
  // is not const, is no executor in the executor-only form either (it meets a deleted overload
  // that says so: tests/compile_fail/const_executor.cpp).
  using opts = const quorum::options&;
  using pool = quorum::pool_executor&;
  using const_pool = const quorum::pool_executor&;
  using store = quorum::memory_store&;
  static_assert(parallel_accepts<opts, right_branch>);
  static_assert(!parallel_accepts<opts, wrong_branch>);
  static_assert(!parallel_accepts<store, opts, wrong_branch>);
  static_assert(!parallel_accepts<pool, opts, wrong_branch>);
  static_assert(!parallel_accepts<store, pool, opts, wrong_branch>);
  static_assert(parallel_accepts<pool, opts, right_branch>);
  static_assert(!parallel_accepts<const_pool, opts, right_branch>);
  static_assert(!parallel_accepts<store, const_pool, opts, right_branch>);
  static_assert(start_accepts<pool, opts, right_branch>);
  static_assert(!start_accepts<opts, wrong_branch>);
  static_assert(!start_accepts<const_pool, opts, right_branch>);
  // An rvalue executor is owned, so it must be movable: a pool is not (the call meets a deleted
  // overload that says so; tests/compile_fail/rvalue_pool.cpp), a thread or inline executor is.
  using owned_pool = quorum::pool_executor&&;
  static_assert(!parallel_accepts<owned_pool, opts, right_branch>);
  static_assert(!parallel_accepts<store, owned_pool, opts, right_branch>);
  static_assert(!start_accepts<owned_pool, opts, right_branch>);
  static_assert(!start_accepts<store, owned_pool, opts, right_branch>);
  static_assert(parallel_accepts<quorum::thread_executor&&, opts, right_branch>);
  static_assert(start_accepts<store, quorum::inline_executor&&, opts, right_branch>);
  static_assert(!parallel_accepts<const quorum::thread_executor&&, opts, right_branch>);
  static_assert(!start_accepts<store, const quorum::thread_executor&, opts, right_branch>);
  CHECK(true);
}

TEST_CASE("a store passed in is used for the record and forgets it after the execution") {
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, {.quorum = 1, .execution_id = "x"}, [] { return 1; });
  CHECK(r.execution_id == "x");
  CHECK(store.size() == 0);
  // The id is free again once the execution is over.
  auto again = quorum::quorum_parallel(store, {.quorum = 1, .execution_id = "x"}, [] { return 1; });
  CHECK(again.decision == decision::quorum_met);
}

TEST_CASE("default names follow the seed: Process 1, Process 2, ...") {
  auto r = quorum::quorum_parallel({.quorum = 1}, [] {}, [] {});
  CHECK(r.branches[0].name == "Process 1");
  CHECK(r.branches[1].name == "Process 2");
}

TEST_CASE("the store and executor concepts accept the library's models") {
  static_assert(quorum::store<quorum::memory_store>);
  static_assert(quorum::executor<quorum::thread_executor>);
  static_assert(quorum::executor<quorum::inline_executor>);
  static_assert(!quorum::store<int>);
  static_assert(!quorum::executor<int>);
  CHECK(true);
}

namespace app {
// A service's own functions named like ours, found with ours by argument-dependent lookup
// through the store. The deleted overloads that catch `start(2, f, g)` once took these calls
// too (a number and anything), and an unsigned count made the deleted one the better match.
inline std::size_t start(std::size_t replicas, quorum::memory_store& s) { return replicas + s.size(); }
inline std::size_t quorum_parallel(quorum::memory_store& s, unsigned shards) { return shards + s.size(); }

inline std::size_t bring_up(quorum::memory_store& s) {
  return start(4u, s) + quorum_parallel(s, 3u);  // unqualified on purpose
}
}  // namespace app

TEST_CASE("a service's own start(n, store) is not taken by the library's deleted overloads") {
  quorum::memory_store store;
  CHECK(app::bring_up(store) == 7);
}
