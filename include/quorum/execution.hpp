// quorum/execution.hpp — start(): run branches without blocking, through an RAII handle.
#pragma once

#include <algorithm>
#include <charconv>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iterator>
#include <limits>
#include <memory>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/branches.hpp"
#include "detail/state.hpp"
#include "errors.hpp"
#include "executor.hpp"
#include "options.hpp"
#include "result.hpp"
#include "store.hpp"
#include "stores/memory.hpp"

namespace quorum {

template <class T>
class execution;

namespace detail {
template <class T>
result<T> join_and_take(execution<T>&& h);
}  // namespace detail

/// A running execution. Move-only. wait() returns at the decision; join() waits for every
/// branch; get() returns the result (see options::on_late); cancel() decides `cancelled` unless
/// a decision was already made. The destructor cancels (if undecided), requests stop, and joins
/// every branch: no work outlives the handle.
///
/// Threads: wait(), wait_for(), wait_until(), decided(), id(), record(), cancel(), join() and
/// a get() that copies (T copyable) may be called from several threads at once: every joiner
/// (a request thread and a watchdog, say) helps run unclaimed branches, and the clean-up runs
/// once, after all of them have left. A get() that takes the result (get() &&, or values that
/// cannot be copied) must not overlap another call of the handle, and moving, assigning or
/// destroying the handle needs every other call on it to have returned, as for any object.
/// join() (and get() with on_late = join) also wait for the observer's calls for the
/// decision, on whatever thread (a cancel()'s) they run. Not from the execution's own
/// observer, branches, or stop callbacks on its branches' tokens run by its deadline or a
/// deciding branch (see observer.hpp).
///
/// The type is [[nodiscard]] with the reason, so a start() whose handle is dropped says why
/// that loses the work (start() carries no attribute of its own: g++ would print the
/// function's, without the reason).
template <class T>
class [[nodiscard("destroying the execution handle cancels it: keep it and call get() or join()")]]
execution {
 public:
  using value_type = T;
  using time_point = clock::time_point;

  execution() noexcept = default;
  explicit execution(std::shared_ptr<detail::core<T>> st) noexcept : st_(std::move(st)) {}
  execution(execution&&) noexcept = default;
  execution& operator=(execution&& o) noexcept {
    if (this != &o) {
      reset();
      st_ = std::move(o.st_);
    }
    return *this;
  }
  execution(const execution&) = delete;
  execution& operator=(const execution&) = delete;
  ~execution() { reset(); }

  /// False for a default-constructed or moved-from handle.
  [[nodiscard]] bool valid() const noexcept { return st_ != nullptr; }
  /// The execution id (generated when options.execution_id was empty).
  [[nodiscard]] std::string_view id() const { return live().id; }
  /// True once the decision is made.
  [[nodiscard]] bool decided() const { return live().decided(); }

  /// Block until the decision (not until every branch ended). It watches for up to 10 us
  /// before it sleeps, so a decision made in that time wakes it in under a microsecond; where
  /// the calling thread may run on one CPU only, it sleeps at once. From this execution's own
  /// observer, before the decision, throws std::logic_error: the observer may be called by the
  /// very branch whose record is about to decide (as for wait_until and wait_for).
  void wait() const {
    auto& c = live();
    if (!c.decided()) {
      refuse_in_observer("wait()");
      c.wait_decided();
    }
  }
  /// Block until the decision or until `t` on the execution's clock; true when decided. It
  /// wakes with the stop request that follows the decision: after an observer's `decided` call
  /// has returned (wait() wakes at the decision itself).
  bool wait_until(time_point t) const {
    auto& c = live();
    if (!c.decided()) {
      refuse_in_observer("wait_until() or wait_for()");
      c.clk->sleep_until(t, c.stop.get_token());
    }
    return c.decided();
  }
  /// Block until the decision or for `d` on the execution's clock; true when decided.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> d) const {
    return wait_until(detail::saturating_add(live().clk->now(), d));  // max() waits for ever
  }

  /// Decide `cancelled` unless decided already; the branches are asked to stop.
  void cancel() noexcept {
    if (st_) st_->cancel();
  }

  /// Block until every branch ended (stragglers included). Throws std::logic_error when
  /// called from this execution's own observer or one of its own branches (it would wait for
  /// the call making it).
  void join() {
    refuse_in_call("join()");
    join_now();
  }

  /// The result. With on_late = join (the default) waits for every branch; with return_early
  /// returns at the decision, unfinished branches showing as running. Rethrows an error the
  /// store raised. Throws std::logic_error from the execution's own observer, and with
  /// on_late = join from one of its own branches (it would wait for that branch). Callable
  /// more than once when T can be copied (the values are copied); when it cannot, the values
  /// are moved out and a later get() throws std::logic_error, as after get() &&.
  [[nodiscard]] result<T> get() & { return result_of(false); }

  /// The same on a handle about to go away, `std::move(h).get()` or `start(...).get()`: the
  /// result is moved out of the execution, not copied (as std::future::get does, it is taken:
  /// a later get() throws std::logic_error). quorum_parallel returns this way.
  [[nodiscard]] result<T> get() && { return result_of(true); }

  /// A consistent copy of the store's record of this execution (valid while the handle lives).
  [[nodiscard]] execution_record record() { return live().snapshot(); }

 private:
  // quorum_parallel's end (see detail::join_and_take).
  template <class U>
  friend result<U> detail::join_and_take(execution<U>&& h);

  // `take_id`: the id moves into the result (only for a handle about to go away that nothing
  // else can reach: see detail::join_and_take).
  result<T> result_of(bool take, bool take_id = false) {
    auto& c = live();
    if (c.on_late == late_completion::join) {
      refuse_in_call("get()");
      join_now();
    } else {
      refuse_in_observer("get()");
      c.wait_decided();
      c.wait_recorded();  // a counted record's error, if it raised one, is seen below
    }
    if (auto e = c.first_store_error()) std::rethrow_exception(e);
    if (c.taken)
      throw std::logic_error(
          "quorum::execution: the result was taken already, by get() && or by a get() that "
          "moved out values that cannot be copied");
    return c.make_result(take, take_id);
  }

  detail::core<T>& live() const {
    if (!st_) throw std::logic_error("quorum::execution: no execution (moved-from or empty)");
    return *st_;
  }

  void join_now() {
    auto& c = live();
    c.join_once();
    c.wait_published();  // after finalize(): see core::wait_published
  }

  // What would wait for the very call making it, refused where it is asked for: waiting from
  // the execution's own observer (the contract forbids it; an observer's exception is kept in
  // result::observer_error), and waiting for every branch from one of its own branches. The
  // test of an empty chain (no call into user code on this thread, the usual case) is inline.
  void refuse_in_observer(const char* what) const {
    if (detail::calls_here != nullptr && detail::call_scope::observing(st_.get())) [[unlikely]]
      refuse(what, "the execution's own observer would wait for the observer call itself "
                   "(see observer.hpp)");
  }
  void refuse_in_call(const char* what) const {
    if (detail::calls_here == nullptr) [[likely]]
      return;
    refuse_in_observer(what);
    if (const auto* c = detail::call_scope::find(st_.get())) {
      if (c->what() == detail::call_scope::deadline)
        refuse(what, "a stop callback run by the execution's deadline, which would wait for "
                     "the deadline's own work");
      refuse(what, "one of the execution's own branches (or a stop callback run by its stop "
                   "request) would wait for that branch itself");
    }
  }
  [[noreturn, gnu::noinline]] static void refuse(const char* what, const char* why) {
    throw std::logic_error(std::string("quorum::execution: ") + what + " from " + why);
  }

  void reset() noexcept {
    if (!st_) return;
    if (detail::calls_here != nullptr && detail::call_scope::find(st_.get()) != nullptr)
        [[unlikely]] {
      // Destroying or assigning over the handle from the execution's own observer or branch
      // (or a stop callback run by its branch's or deadline's stop request) cannot throw and
      // cannot go on: it would wait for this very call, or free the state under it.
      std::fputs("quorum::execution: the handle of an execution was destroyed or assigned over "
                 "by that execution's own observer or branch (or a stop callback run by its "
                 "deadline or a branch), which would wait for that call itself or free the "
                 "execution under it (see observer.hpp); aborting\n",
                 stderr);
      std::abort();
    }
    st_->cancel();
    st_->join_once();
    st_->wait_published();
    st_->close();
    st_->release();
    st_.reset();
  }

  std::shared_ptr<detail::core<T>> st_;
};

namespace detail {

// The end of a blocking call (quorum_parallel): join, then take the result. The handle is the
// call's own local, never shared and destroyed right after: no other thread can join it, so
// this is its one joiner (core::join_alone, without join_once's compare-and-swaps); and once
// every branch has ended, the deadline's timer is cancelled and the result taken, nothing reads
// the execution's id again (the handle's destructor closes the store's record through its
// handle, which keeps its own copy), so the id moves into the result instead of being copied.
template <class T>
result<T> join_and_take(execution<T>&& h) {
  h.refuse_in_call("join()");
  auto& c = h.live();
  c.join_alone();
  c.wait_published();  // after finalize(), as in join_now()
  return h.result_of(true, true);
}

inline constexpr std::size_t max_branches = (std::size_t{1} << 31) - 1;

// A stop source with a stop state, made out of line: libstdc++ 12's default constructor
// passes the object under construction to its state's constructor, and g++ 12 inlining it at
// -O1/-O2 warns that the object "may be used uninitialized" (a false positive that a user's
// -Werror turned into a failed build, found by a user trial).
[[gnu::noinline]] inline std::stop_source new_stop_source() { return std::stop_source{}; }

// Two branches of one name would be one in whatever is written by name (to_json's lists of
// processes, a history's rows): refused, naming both.
[[gnu::noinline]] inline void check_unique_names(const std::vector<std::string>& names) {
  const auto refuse = [&](std::size_t first, std::size_t second) {
    throw invalid_options("quorum::options.names: \"" + names[second] + "\" names branch " +
                          std::to_string(first) + " and branch " + std::to_string(second) +
                          " (counting from 0): each branch needs a name of its own");
  };
  if (names.size() <= 16) {  // the usual sizes: every pair, no allocation
    for (std::size_t j = 1; j < names.size(); ++j)
      for (std::size_t i = 0; i < j; ++i)
        if (names[i] == names[j]) refuse(i, j);
    return;
  }
  std::vector<std::size_t> order(names.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return names[a] < names[b]; });
  for (std::size_t k = 1; k < order.size(); ++k)
    if (names[order[k]] == names[order[k - 1]]) refuse(order[k - 1], order[k]);
}

// Check every option against N before anything runs; returns the resolved rule.
inline rule validate(const options& o, std::size_t n) {
  if (n == 0) throw invalid_options("quorum: no branches: give at least one callable");
  if (n > max_branches)
    throw invalid_options("quorum: " + std::to_string(n) + " branches is above the limit of " +
                          std::to_string(max_branches));
  if (o.timeout && o.timeout->count() < 0)
    throw invalid_options("quorum::options.timeout = " + duration_text(*o.timeout) +
                          " is negative");
  if (!o.names.empty() && o.names.size() != n)
    throw invalid_options("quorum::options.names has " +
                          count_text(o.names.size(), "name", "names") + " for " +
                          count_text(n, "branch", "branches"));
  if (o.names.size() > 1) check_unique_names(o.names);
  if (o.hedge_delay.count() < 0)
    throw invalid_options("quorum::options.hedge_delay = " + duration_text(o.hedge_delay) +
                          " is negative");
  o.retry.validate();
  if (o.policy) {
    if (o.quorum != 0)
      throw invalid_options("quorum::options.quorum = " + std::to_string(o.quorum) +
                            " and options.policy are both set: set one of them");
    return o.policy->resolve(n);
  }
  // Checked here, not by at_least(k).resolve(), so that the message names the field set.
  if (o.quorum == 0)
    throw invalid_options("quorum::options.quorum = 0: the quorum must be at least 1 (or set "
                          "options.policy instead)");
  if (o.quorum > n)
    throw invalid_options("quorum::options.quorum = " + std::to_string(o.quorum) +
                          " is above the number of branches (" + std::to_string(n) + ")");
  // What at_least(o.quorum).resolve(n) makes, built here: its checks are the two above, and a
  // policy made and resolved only to give this (a call, a vector destroyed) was a tenth of the
  // validation's cost.
  return rule{.threshold = o.quorum, .total = n};
}

// Each entry's name from the table. Copy-assigning a short std::string (a few bytes in its
// small buffer) is about a third of the instructions of assigning from a string_view, when
// the assignment is inlined; g++ stops inlining it into launch() as launch() grows, and the
// out-of-line call costs about 20 instructions more per branch. flatten keeps it inline here.
template <class T>
#if defined(__GNUC__)
[[gnu::flatten]]
#endif
void copy_names(std::vector<branch_result<T>>& out, const std::string* names) {
  // By pointer, the end read once: indexed, out's size and data were loaded again after each
  // assignment (a string's write may, for all g++ knows, change the vector).
  for (auto *b = out.data(), *e = b + out.size(); b != e; ++b, ++names) b->name = *names;
}

template <class T, class S, class B, class X>
execution<T> launch(std::shared_ptr<state<T, S, B, X>> st, const options& o, rule r) {
  auto& c = *st;
  c.clk = o.clock ? o.clock : &steady_clock::instance();
  c.stamps = o.timestamps;
  // The start is read when the result shows it, or a timeout or hedging counts from it.
  if (c.exec_times() || o.timeout || o.hedge_delay.count() > 0) c.started = c.clk->now();
  // The id is made in the store's spec and moved to the state once the store has its copy:
  // one copy fewer than a spec copied from the state's id (nothing reads c.id before then).
  execution_spec spec{{}, c.n, std::move(r)};
  if (o.execution_id.empty())
    make_execution_id(spec.id);
  else
    spec.id = o.execution_id;
  if (!o.names.empty()) {
    c.names = o.names;
  } else if (c.n > default_names().size()) {  // beyond the shared table: names of our own
    c.names.reserve(c.n);
    for (std::size_t i = 0; i < c.n; ++i) c.names.push_back("Process " + std::to_string(i + 1));
  }  // else c.names stays empty and name(i) reads the shared table (no allocation)
  // Looked up once: the table's accessor is a guarded static, and name(i) runs per event.
  c.name_table = c.names.empty() ? default_names().data() : c.names.data();
  c.deadline = o.deadline;
  if (o.timeout) {
    // A timeout too long for the clock means no deadline (not one wrapped into the past).
    auto d = saturating_add(c.started, *o.timeout);
    if (d != clock::time_point::max() && (!c.deadline || d < *c.deadline)) c.deadline = d;
  }
  c.on_late = o.on_late;
  c.obs = o.observer;
  c.rt = o.retry;
  c.hedge = o.hedge_delay;
  c.out.resize(c.n);
  // Named here, where a name that cannot be copied (memory) can still fail the call cleanly.
  copy_names(c.out, c.name_table);
  if (c.on_late == late_completion::return_early)
    c.phases = std::make_unique<std::atomic<std::uint32_t>[]>(c.n);  // all pending
  // On inline_executor every branch runs inside start(), one after another, before the handle
  // exists: a stop request could only come from the deadline's timer or options::cancel_on (the
  // decision itself is seen by the next branch through decided(), before it starts). Without
  // either, nothing can request a stop that any branch would see, so the stop state is not
  // even allocated.
  constexpr bool inline_exec = std::is_same_v<std::remove_cvref_t<X>, inline_executor>;
  const bool outside_stop = o.cancel_on.stop_possible();
  if (!inline_exec || c.deadline || outside_stop) {
    c.stop = new_stop_source();
    c.token = c.stop.get_token();
  }
  using bulk = typename state<T, S, B, X>::bulk;
  if constexpr (bulk::offered) {
    static_assert(bulk::runs_one, "quorum: the executor's bulk_execute(n, f) returns a batch without `bool run_one()` (see quorum/executor.hpp)");
    static_assert(bulk::kept, "quorum: the batch bulk_execute(n, f) returns must be default-constructible and move-assignable (see quorum/executor.hpp)");
  }
  // Executors with execute() only: one ticket per branch (see core::tickets), all unclaimed.
  if constexpr (!inline_exec && !state<T, S, B, X>::bulk::value)
    c.tickets = std::make_unique<std::atomic<std::uint32_t>[]>(c.n);

  st->open(spec);  // throws duplicate_execution_id
  c.id = std::move(spec.id);
  auto* s = st.get();
  // From here on, the handle's destructor cleans up. On inline_executor the handle takes the
  // only reference (each branch runs before start() returns, so none needs one of its own):
  // no reference count is touched per branch.
  execution<T> handle = [&] {
    if constexpr (inline_exec)
      return execution<T>(std::move(st));
    else
      return execution<T>(st);
  }();
  try {
    s->arm_deadline();
  } catch (...) {
    // The clock could not schedule the deadline. Nothing was handed out yet: decide cancelled
    // and account for every branch as never started, or the handle's destructor would wait
    // for them forever; then report the clock's error.
    s->cancel();
    for (std::size_t j = 0; j < c.n; ++j) c.skip(j);
    throw;
  }
  // Registered now that the record is open and the handle cleans up: a request already made
  // cancels here, before any branch is handed out.
  if (outside_stop) c.outside_stop.emplace(o.cancel_on, typename core<T>::cancel_on_stop{&c});
  if constexpr (inline_exec) {
    // Every branch runs here, on this thread, one after another (see core::solo): called
    // directly, as inline_executor::execute would, without a task object per branch.
    // solo is written only when there is no deadline: with one, the timer thread may already
    // read it (in publish()), and it must keep the value it had before the timer was armed.
    // Nor with options::cancel_on, whose stop request may cancel from any thread.
    const bool solo = !c.deadline && !outside_stop;
    if (solo) c.solo = true;
    for (std::size_t i = 0; i < c.n; ++i) {
      if (c.decided())
        c.skip(i);
      else
        s->run_here(i);
    }
    if (solo) c.solo = false;
  } else if constexpr (state<T, S, B, X>::bulk::value) {
    try {
      st->submit_bulk(st);  // one submission; a branch decided-before runs as skip()
    } catch (...) {
      st->cancel();
      for (std::size_t j = 0; j < c.n; ++j) c.skip(j);
      throw;
    }
  } else {
    std::size_t i = 0;
    try {
      for (; i < c.n; ++i) {
        if (c.decided()) {  // decided before launch (deadline already past, or early decision)
          c.tickets[i].store(c.ticket_claimed, std::memory_order_relaxed);
          c.skip(i);
          continue;
        }
        // One copy, unclaimed. relaxed: execute() hands the task over with the executor's own
        // synchronisation, and a joiner on another thread gets the handle after start()
        // returned, through whatever hands it over (which synchronises).
        c.tickets[i].store(c.ticket_copy, std::memory_order_relaxed);
        st->exec().execute(branch_task<state<T, S, B, X>>(st, i));
      }
    } catch (...) {
      // The executor refused work: decide cancelled, account for the tasks never handed out,
      // and let the handle's destructor join the ones that were, then report the error. The
      // task of branch i is gone already (execute() may not keep a task it throws for): its
      // last copy accounted for the branch as it died.
      st->cancel();
      for (++i; i < c.n; ++i) {
        c.tickets[i].store(c.ticket_claimed, std::memory_order_relaxed);
        c.skip(i);
      }
      throw;
    }
  }
  return handle;
}

template <class T, class S, class B, class X, class Store>
execution<T> start_with(Store* store, X&& exec, const options& o, B&& branches) {
  const std::size_t n = branches.size();
  rule r = validate(o, n);
  if (const std::size_t i = branches.first_empty(); i < n)
    throw invalid_options("quorum: branch " + std::to_string(i) +
                          " (counting from 0) is an empty std::function or a null function "
                          "pointer: there is nothing to call");
  using state_t = state<T, S, B, X>;
  std::shared_ptr<state_t> st;
  if constexpr (std::is_same_v<Store, void>)
    st = std::make_shared<state_t>(std::in_place, std::move(branches), std::forward<X>(exec));
  else
    st = std::make_shared<state_t>(store, std::move(branches), std::forward<X>(exec));
  st->n = n;
  return launch<T>(std::move(st), o, std::move(r));
}

template <class... Fs>
using pack_t = typename pack_result<Fs...>::type;

template <class R>
concept branch_range = std::ranges::input_range<R> && !branch<R> &&
                       branch<std::ranges::range_value_t<R>>;

template <class R>
struct is_owning_view : std::false_type {};
template <class R>
struct is_owning_view<std::ranges::owning_view<R>> : std::true_type {};

template <class R>
auto range_branches(R&& range) {
  using F = std::ranges::range_value_t<R>;
  using T = branch_return_t<F>;
  std::vector<F> fs;
  if constexpr (std::ranges::sized_range<R>) fs.reserve(std::ranges::size(range));
  // Move only out of an rvalue that owns its elements (a container, an owning_view): a view
  // (a span, a take of someone's vector) passed as an rvalue still refers to elements that
  // are not ours to empty. Elements a view makes on the fly (temporaries) are moved anyway.
  using RR = std::remove_cvref_t<R>;
  constexpr bool owns = std::is_rvalue_reference_v<R&&> &&
                        (!std::ranges::view<RR> || is_owning_view<RR>::value);
  using taken_t = std::conditional_t<owns, std::ranges::range_rvalue_reference_t<R>,
                                     std::ranges::range_reference_t<R>>;
  constexpr bool can_take = std::constructible_from<F, taken_t>;  // a const rvalue is copied too
  static_assert(can_take || std::ranges::view<RR>,
                "quorum: the branches are copied out of this range (start() keeps its own, since "
                "its handle may outlive the range; quorum_parallel too, when the range has no "
                "random access), and these callables cannot be copied: pass the container as a "
                "non-const rvalue, std::move(v)");
  static_assert(can_take || !std::ranges::view<RR>,
                "quorum: the branches are copied out of this range, and these callables cannot be "
                "copied: quorum moves callables only out of a container (or std::views::all of "
                "one) given as an rvalue, never out of a view such as take or filter, which may "
                "refer to elements that are not the caller's to give: move the callables you want "
                "into a container of their own, and pass it as std::move(v)");
  if constexpr (can_take) {  // else one of the assertions above is the one error
    for (auto&& f : range) {
      if constexpr (owns)
        fs.push_back(std::move(f));
      else
        fs.push_back(std::forward<decltype(f)>(f));
    }
  }
  return vector_branches<T, F>(std::move(fs));
}

template <class... Fs>
auto pack_branches_of(Fs&&... fs) {
  using T = pack_t<Fs...>;
  return pack_branches<T, std::decay_t<Fs>...>(std::in_place, std::forward<Fs>(fs)...);
}

// A range whose elements a blocking call may use where they are: random access, lvalue
// elements, each callable as const (so that concurrent calls sharing one range only read it,
// and a callable's own state is not changed under its owner) in the same form and with the
// same value type as a copy of it would be called. (A std::function is const-callable
// whatever it wraps.)
template <class R>
concept borrowable_range =
    std::ranges::random_access_range<R> && std::ranges::sized_range<R> &&
    std::is_lvalue_reference_v<std::ranges::range_reference_t<R>> &&
    (branch_form<const std::remove_reference_t<std::ranges::range_reference_t<R>>>() >= 0) &&
    (branch_form<const std::remove_reference_t<std::ranges::range_reference_t<R>>>() ==
     branch_form<std::ranges::range_value_t<R>>()) &&
    std::same_as<std::decay_t<typename branch_return<
                     const std::remove_reference_t<std::ranges::range_reference_t<R>>>::type>,
                 branch_return_t<std::ranges::range_value_t<R>>>;

// A range of callables that can be neither copied nor called as const: a blocking call can
// only call them where they are, as they are (concurrent calls must not share such a range).
template <class R>
concept mutable_only_range =
    std::ranges::random_access_range<R> && std::ranges::sized_range<R> &&
    std::is_lvalue_reference_v<std::ranges::range_reference_t<R>> &&
    !std::copy_constructible<std::ranges::range_value_t<R>> &&
    (branch_form<std::remove_reference_t<std::ranges::range_reference_t<R>>>() >= 0);

// The branches of a blocking call. The call outlives every branch, so a range whose elements
// outlive the call (an lvalue, or a borrowed range such as a span) is borrowed when it can be
// (called as const; as they are when they can be neither copied nor called as const); any
// other range is copied (or moved from, when it is an rvalue that owns them) as by start().
template <class R>
auto call_branches(R&& range) {
  constexpr bool outlives = std::is_lvalue_reference_v<R> || std::ranges::borrowed_range<R>;
  using RR = std::remove_reference_t<R>;
  using T = branch_return_t<std::ranges::range_value_t<R>>;
  using It = std::ranges::iterator_t<R>;
  if constexpr (outlives && borrowable_range<RR>)
    return borrowed_branches<T, It, true>(std::ranges::begin(range),
                                          static_cast<std::size_t>(std::ranges::size(range)));
  else if constexpr (outlives && mutable_only_range<RR>)
    return borrowed_branches<T, It, false>(std::ranges::begin(range),
                                           static_cast<std::size_t>(std::ranges::size(range)));
  else
    return range_branches(std::forward<R>(range));
}

template <class B>
struct branches_value;
template <class T, class... Fs>
struct branches_value<pack_branches<T, Fs...>> {
  using type = T;
};
template <class T, class F>
struct branches_value<vector_branches<T, F>> {
  using type = T;
};
template <class T, class It, bool AsConst>
struct branches_value<borrowed_branches<T, It, AsConst>> {
  using type = T;
};

// The executor as held by the state: owned when passed as an rvalue, referenced otherwise.
template <class E>
using held_t = std::conditional_t<std::is_lvalue_reference_v<E>, E, std::remove_cvref_t<E>>;

template <class S, class E, class B>
auto start_branches(S* store, E&& exec, const options& o, B branches) {
  using T = typename branches_value<B>::type;
  using X = held_t<E&&>;
  using SS = std::conditional_t<std::is_same_v<S, void>, memory_store, S>;
  return start_with<T, SS, B, X, S>(store, std::forward<E>(exec), o, std::move(branches));
}

// Arguments after the options that are neither branches nor one range of branches. The
// deleted overloads taking them exist only so that such a call fails with one error that shows
// their declaration, and the comment on it that says what a branch may be, instead of the
// compiler listing why each real overload did not match. Deleted, not a static_assert: a
// `requires` test of such a call must stay false, not fail the compilation.
template <class... Fs>
concept not_branches = sizeof...(Fs) > 0 && !(branch<Fs> && ...) &&
                       !(sizeof...(Fs) == 1 && (branch_range<Fs> && ...));

// Arguments after the options that are branches, or one range of them. The deleted overloads
// for a number given as the options require it: unconstrained, they also caught a user's own
// `start(4, store)` in another namespace, found by argument-dependent lookup through the store.
template <class... Fs>
concept some_branches = sizeof...(Fs) > 0 && ((branch<Fs> && ...) ||
                                              (sizeof...(Fs) == 1 && (branch_range<Fs> && ...)));

// An executor that is not also a store (the overloads taking both tell them apart by this).
// E as deduced, reference and const kept, as `executor E` is checked elsewhere: a const
// executor whose execute() is not const is no executor.
template <class E>
concept executor_only = executor<E> && !store<std::remove_cvref_t<E>>;

// An executor as given: an lvalue is borrowed; an rvalue is owned by the execution, so it must
// be movable. pool_executor is not (a service keeps one for its life): given as an rvalue, the
// call meets a deleted overload that says so, instead of an error deep in the state.
template <class E>
concept held_executor =
    std::is_lvalue_reference_v<E> || std::move_constructible<std::remove_cvref_t<E>>;
template <class E>
concept unmovable_rvalue_executor = executor<std::remove_cvref_t<E>> && !held_executor<E>;

// An executor given as const (a `const pool_executor&`, say): execute() is not const, so the
// call would match nothing and print every overload. It meets a deleted one that says so. The
// unmovable rvalue above is left to its own overload, so the two never match the same call.
template <class E>
concept const_executor = executor<std::remove_cvref_t<E>> && !executor<E> && held_executor<E> &&
                         !store<std::remove_cvref_t<E>>;

// A store given as an rvalue (`quorum_parallel(quorum::memory_store{}, ...)`): the store is
// taken by reference, so nothing matched and the compiler listed every overload, its one
// tailored line pointing at the branches (found by a user trial). It meets a deleted overload
// that says what to do. Not a const rvalue of a store whose calls are const: the `S&`
// overloads take it (S deduced const), and did before this one existed. Not a store that is
// also an executor that cannot be moved: unmovable_rvalue_executor's overload says why.
template <class S>
concept rvalue_store = !std::is_lvalue_reference_v<S> && store<std::remove_cvref_t<S>> &&
                       !(std::is_const_v<std::remove_reference_t<S>> &&
                         store<std::remove_reference_t<S>>) &&
                       !unmovable_rvalue_executor<S>;

}  // namespace detail

/// Start branches given as a pack: `quorum::start(opts, f1, f2, f3)`. Default store and one
/// thread per branch.
template <detail::branch... Fs>
auto start(const options& o, Fs&&... fs) {
  return detail::start_branches<void>(nullptr, thread_executor{}, o,
                                      detail::pack_branches_of(std::forward<Fs>(fs)...));
}

/// Start branches given as a range of callables.
template <detail::branch_range R>
auto start(const options& o, R&& range) {
  return detail::start_branches<void>(nullptr, thread_executor{}, o,
                                      detail::range_branches(std::forward<R>(range)));
}

/// Start with an executor and the default store (memory_store, one per execution). An
/// executor passed as an rvalue is owned by the execution; an lvalue one must outlive it.
template <detail::executor_only E, detail::branch... Fs>
  requires detail::held_executor<E>
auto start(E&& ex, const options& o, Fs&&... fs) {
  return detail::start_branches<void>(nullptr, std::forward<E>(ex), o,
                                      detail::pack_branches_of(std::forward<Fs>(fs)...));
}

template <detail::executor_only E, detail::branch_range R>
  requires detail::held_executor<E>
auto start(E&& ex, const options& o, R&& range) {
  return detail::start_branches<void>(nullptr, std::forward<E>(ex), o,
                                      detail::range_branches(std::forward<R>(range)));
}

/// Start with a store of yours (it must outlive the execution); the store comes first.
template <store S, detail::branch... Fs>
auto start(S& st, const options& o, Fs&&... fs) {
  return detail::start_branches(&st, thread_executor{}, o, detail::pack_branches_of(std::forward<Fs>(fs)...));
}

template <store S, detail::branch_range R>
auto start(S& st, const options& o, R&& range) {
  return detail::start_branches(&st, thread_executor{}, o, detail::range_branches(std::forward<R>(range)));
}

/// Start with a store and an executor. An executor passed as an rvalue is owned by the
/// execution; an lvalue one must outlive it.
template <store S, executor E, detail::branch... Fs>
  requires detail::held_executor<E>
auto start(S& st, E&& ex, const options& o, Fs&&... fs) {
  return detail::start_branches(&st, std::forward<E>(ex), o, detail::pack_branches_of(std::forward<Fs>(fs)...));
}

template <store S, executor E, detail::branch_range R>
  requires detail::held_executor<E>
auto start(S& st, E&& ex, const options& o, R&& range) {
  return detail::start_branches(&st, std::forward<E>(ex), o, detail::range_branches(std::forward<R>(range)));
}

/// A call whose branches are not callables of a form quorum accepts: one readable error.
// clang-format off
template <class... Fs> requires detail::not_branches<Fs...>
void start(const options&, Fs&&...) = delete;  // quorum: each branch must be callable as T(), T(std::stop_token) or T(quorum::branch_context&), or give one range of such callables
template <store S, class... Fs> requires detail::not_branches<Fs...>
void start(S&, const options&, Fs&&...) = delete;  // quorum: each branch must be callable as T(), T(std::stop_token) or T(quorum::branch_context&), or give one range of such callables
template <detail::executor_only E, class... Fs> requires detail::not_branches<Fs...>
void start(E&&, const options&, Fs&&...) = delete;  // quorum: each branch must be callable as T(), T(std::stop_token) or T(quorum::branch_context&), or give one range of such callables
template <store S, executor E, class... Fs> requires detail::not_branches<Fs...>
void start(S&, E&&, const options&, Fs&&...) = delete;  // quorum: each branch must be callable as T(), T(std::stop_token) or T(quorum::branch_context&), or give one range of such callables
template <class E, class... Fs> requires detail::unmovable_rvalue_executor<E>
void start(E&&, const options&, Fs&&...) = delete;  // quorum: an executor given as an rvalue is owned by the execution, so it must be movable; pool_executor is not: create it once (a service keeps it for its life) and pass it as an lvalue
template <store S, class E, class... Fs> requires detail::unmovable_rvalue_executor<E>
void start(S&, E&&, const options&, Fs&&...) = delete;  // quorum: an executor given as an rvalue is owned by the execution, so it must be movable; pool_executor is not: create it once (a service keeps it for its life) and pass it as an lvalue
template <class E, class... Fs> requires detail::const_executor<E>
void start(E&&, const options&, Fs&&...) = delete;  // quorum: the executor is given as const, but execute() changes it: pass it without const
template <store S, class E, class... Fs> requires detail::const_executor<E>
void start(S&, E&&, const options&, Fs&&...) = delete;  // quorum: the executor is given as const, but execute() changes it: pass it without const
template <class E, store S, class... Fs> requires detail::executor_only<E>
void start(E&&, S&, const options&, Fs&&...) = delete;  // quorum: the store comes first: start(store, executor, options, branches...)
template <class S, class... Args> requires detail::rvalue_store<S>
void start(S&&, const options&, Args&&...) = delete;  // quorum: the store is borrowed, not owned, and must outlive the execution: make it once and pass it by name (quorum::memory_store s; start(s, opts, ...)), or leave it out for a memory_store of the execution's own
template <class S, class E, class... Args> requires detail::rvalue_store<S>
void start(S&&, E&&, const options&, Args&&...) = delete;  // quorum: the store is borrowed, not owned, and must outlive the execution: make it once and pass it by name (quorum::memory_store s; start(s, executor, opts, ...)), or leave it out for a memory_store of the execution's own
template <std::integral I, class... Fs> requires detail::some_branches<Fs...>
void start(I, Fs&&...) = delete;  // quorum: the first argument is the options, not the quorum: start({.quorum = 2}, branches...)
template <store S, std::integral I, class... Fs> requires detail::some_branches<Fs...>
void start(S&, I, Fs&&...) = delete;  // quorum: the options come after the store, not the quorum: start(store, {.quorum = 2}, branches...)
// clang-format on

}  // namespace quorum
