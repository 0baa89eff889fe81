// quorum/detail/state.hpp — the shared state of one execution and the body of its tasks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "../branch_context.hpp"
#include "../clock.hpp"
#include "../observer.hpp"
#include "../options.hpp"
#include "../result.hpp"
#include "../retry.hpp"
#include "../store.hpp"

namespace quorum::detail {

// Where a branch is, for a result taken before every branch ended (on_late = return_early).
// `recording`: its outcome is with the store, which may already have counted it in the
// decision; a result taken at the decision waits for it to become `finished` (one store call).
enum phase : std::uint8_t { pending = 0, running = 1, recording = 2, finished = 3 };

// "Process 1", "Process 2", ...: the default branch names, built once per process and shared
// read-only by every execution (an execution with more branches builds its own). Never
// destroyed: a static made on first use is destroyed at exit before every static made earlier,
// and the destructor of one of those may still start an execution (steady_clock's statics
// are never destroyed either).
inline const std::vector<std::string>& default_names() {
  static const std::vector<std::string>& table = *[] {
    auto t = std::make_unique<std::vector<std::string>>(1024);  // freed if a name throws
    for (std::size_t i = 0; i < t->size(); ++i) (*t)[i] = "Process " + std::to_string(i + 1);
    return t.release();
  }();
  return table;
}

// The calls into user code this thread is making for executions now, innermost first, as a
// chain of call_scope objects on its stack: a branch's callable or its publishing of the
// decision its record made (core::run), an observer call (core::deliver), or the deadline's
// work (on_deadline). An observer or a branch may start an execution of its own, so there may
// be several. The handle reads the chain to refuse, clearly, what would wait for the very call
// making it: waiting for, taking the result of, or destroying an execution from one of its
// observer calls (on the deadline's timer thread that would also free the state under the
// call), and joining, taking the joined result of, or destroying it from one of its branches
// or from a stop callback its branch's or deadline's stop request runs (the deadline's thread
// is joined by the join itself; a branch's join would wait for that branch; found by a
// review: a hang, a std::system_error out of finalize(), a use after free).
// A pointer with a constant initialiser: no guard on access; one store on entering and one on
// leaving each call.
class call_scope;
inline thread_local const call_scope* calls_here = nullptr;

class call_scope {
 public:
  // A branch's callable (or its publishing), the deadline's work, or an observer call for an
  // event of kind `k` (an event_kind, >= 0).
  static constexpr int branch = -1;
  static constexpr int deadline = -2;

  call_scope(const void* state, int what) noexcept
      : state_(state), what_(what), outer_(calls_here) {
    calls_here = this;
  }
  call_scope(const call_scope&) = delete;
  call_scope& operator=(const call_scope&) = delete;
  ~call_scope() { calls_here = outer_; }

  // The innermost call this thread is making for the execution whose state this is, if any.
  [[nodiscard]] static const call_scope* find(const void* state) noexcept {
    for (const call_scope* s = calls_here; s != nullptr; s = s->outer_)
      if (s->state_ == state) return s;
    return nullptr;
  }
  // True when this thread is inside an observer call of that execution (at any depth).
  [[nodiscard]] static bool observing(const void* state) noexcept {
    for (const call_scope* s = calls_here; s != nullptr; s = s->outer_)
      if (s->state_ == state && s->what_ >= 0) return true;
    return false;
  }

  [[nodiscard]] int what() const noexcept { return what_; }

 private:
  const void* state_;
  int what_;
  const call_scope* outer_;
};

// d * i, saturating at nanoseconds::max() (a hedge delay times a large branch index).
inline std::chrono::nanoseconds times(std::chrono::nanoseconds d, std::size_t i) noexcept {
  using ns = std::chrono::nanoseconds;
  if (i != 0 && d.count() > ns::max().count() / static_cast<ns::rep>(i)) return ns::max();
  return d * static_cast<ns::rep>(i);
}

// Everything about an execution that does not depend on the store, executor or branch types.
template <class T>
class core {
 public:
  using time_point = clock::time_point;

  virtual ~core() = default;

  // Set up by start() before the first task runs, read-only afterwards.
  std::string id;
  std::vector<std::string> names;  // empty: the default names (see name())
  const std::string* name_table = nullptr;  // names.data() or default_names().data(), set by launch()
  std::size_t n = 0;
  quorum::clock* clk = nullptr;
  std::optional<time_point> deadline;
  time_point started{};
  late_completion on_late = late_completion::join;
  quorum::observer obs;
  quorum::retry rt;
  std::chrono::nanoseconds hedge{0};

  // Hedging: branch i's turn comes i hedge delays after the start, less one delay for each
  // failure recorded so far: a failed branch gives up its place at once, so the next turn need
  // not wait out a delay meant for a branch that is merely slow. A branch waiting for its turn
  // sleeps on a stop source of its own, linked here while it sleeps; each failure and the
  // decision stop every linked one, and the sleeper works out its turn again (see wait_turn).
  struct turn_waiter {
    std::stop_source wake{std::nostopstate};
    turn_waiter* next = nullptr;
    turn_waiter* prev = nullptr;
  };
  std::mutex turn_m;
  std::size_t turn_failures = 0;      // under turn_m
  turn_waiter* turn_waiters = nullptr;  // under turn_m: the branches asleep until their turn
  quorum::timestamps stamps = quorum::timestamps::all;  // options.timestamps
  // Stamp each branch's start and end / the execution's start and decision.
  [[nodiscard]] bool branch_times() const noexcept { return stamps == timestamps::all; }
  [[nodiscard]] bool exec_times() const noexcept { return stamps != timestamps::none; }

  // Each branch's outcome, in the result's own type: named by launch() before any branch
  // runs, then written only by the task that runs it (run() or skip()). When every branch
  // has ended, get() && moves the whole vector into the result: nothing is copied per
  // branch, and the result needs no allocation of its own. Sized by launch(); readers see an
  // entry after the acquire load of `word` that counts its branch finished (finish_one's
  // release), or of its phase.
  std::vector<branch_result<T>> out;
  // Each branch's phase, published with release after its entry's fields are written. Only a
  // result taken at the decision (on_late = return_early) reads an entry whose branch may
  // still run, so only such executions allocate it; otherwise it stays null. 32-bit words,
  // because a result taken at the decision may wait on one (see copy_fields): libstdc++
  // notifies a 32-bit atomic directly, a narrower one through a process-wide proxy counter
  // (a locked increment of a shared cache line on every notify, waiter or not).
  std::unique_ptr<std::atomic<std::uint32_t>[]> phases;
  // The result was taken (by get() &&, or by a get() that moved out values that cannot be
  // copied): a later get() has nothing left to return.
  bool taken = false;

  // Requested at the decision. launch() makes a real one unless nothing could ever observe a
  // request (inline_executor without a deadline; the rule and its argument are in launch()):
  // then no stop state is allocated, the token never stops, and a branch's
  // ctx.stop_token().stop_possible() is false.
  std::stop_source stop{std::nostopstate};
  // One token for every branch, borrowed by their contexts: a token copy per branch would cost
  // two atomic reference-count updates each (measured: a tenth of a trivial branch's cost).
  // Written by launch() before any branch is handed out; read-only afterwards.
  std::stop_token token;

  // The execution's progress in one word, so that wait() (for the decision) and join() (for
  // every branch) sleep on the same futex and one acquire load answers both:
  //   bit 0      decided
  //   bits 1..31 branches finished
  // The decided bit is set with release after dec/decided_by/decided_at are written; a finish
  // is added with release after the branch's entry is written. Readers load with acquire.
  std::atomic<std::uint32_t> word{0};

  // True while one thread does everything to this state: launch() sets it for the span of
  // start() on inline_executor without a deadline (the branches run inside start(), one
  // after another, on the caller's thread; no timer exists; the handle does not exist yet;
  // an observer is called on that same thread), and clears it before start() returns. Then
  // `word` and `claimed` are updated by a plain load and store instead of a locked
  // read-modify-write (about 6 ns each here, several per execution), with the same memory
  // orders: the release store still publishes the entries to whoever later receives the
  // handle, through the hand-over the caller synchronises.
  bool solo = false;

  // See join_once().
  std::atomic<std::uint32_t> joined{0};

  // Exactly one publisher writes the decision. The store already guarantees one decided_now;
  // this also covers the local fall-backs taken when the store itself throws. One word for the
  // publisher's progress: bit 0 claimed (the right to publish is taken), bit 1 told (with an
  // observer: its calls for the decision, `decided` and `stop_requested`, have returned).
  static constexpr std::uint32_t claimed_bit = 1u;
  static constexpr std::uint32_t told_bit = 2u;
  std::atomic<std::uint32_t> claimed{0};
  quorum::decision dec = quorum::decision::cancelled;
  std::optional<std::size_t> decided_by;
  time_point decided_at{};

  // Rare paths: store and observer errors, written under err_m. `any_error` is set (release,
  // still under err_m) after the first of them is written, so that a reader that loads it
  // false (acquire) skips the lock: the common case, where nothing failed, takes no lock. A
  // reader that loads it true takes the lock and sees every error written before its lock.
  std::mutex err_m;
  std::atomic<bool> any_error{false};
  std::exception_ptr store_error;
  std::size_t observer_errors = 0;
  std::exception_ptr observer_error;

  // The store's error, if it raised one (see any_error).
  [[nodiscard]] std::exception_ptr first_store_error() {
    if (!any_error.load(std::memory_order_acquire)) return nullptr;
    std::lock_guard lk(err_m);
    return store_error;
  }

  // The name of branch i: options.names[i], or "Process <i+1>".
  [[nodiscard]] std::string_view name(std::size_t i) const noexcept {
    return name_table[i];  // launch() sets it before any branch or observer can ask
  }

  [[nodiscard]] bool decided() const noexcept { return word.load(std::memory_order_acquire) & 1u; }
  [[nodiscard]] std::size_t finished() const noexcept {
    return word.load(std::memory_order_acquire) >> 1;
  }

  // The caller of wait() watches the word for up to decision_spin before it sleeps on it. On
  // branches that answer in microseconds the decision usually comes within that: a sleeping
  // caller is woken by a system call and then waits to be scheduled (on the 2-vCPU machine of
  // bench/RESULTS.md, about 11 us from the K-th success to the caller running, against under
  // 1 us watching; a spin of 2 us gave either, run to run, and 10 us caught it in every run).
  // On branches that take longer it costs one core decision_spin per wait(), and nothing
  // where this process may run on one CPU only (its affinity, not the machine's count), where
  // watching would only delay the branches that are to decide.
  // The loads are acquire, as the sleeping loop's: they pair with publish's release.
  static constexpr std::chrono::microseconds decision_spin{10};
  void wait_decided() const noexcept {
    if (word.load(std::memory_order_acquire) & 1u) return;
    static const bool spin = usable_cpus() > 1;
    if (spin) {
      const auto until = std::chrono::steady_clock::now() + decision_spin;
      do {
        for (int i = 0; i < 32; ++i) {  // a clock read per 32 pauses (a few us at most)
          if (word.load(std::memory_order_acquire) & 1u) return;
          cpu_pause();
        }
      } while (std::chrono::steady_clock::now() < until);
    }
    for (auto w = word.load(std::memory_order_acquire); !(w & 1u);
         w = word.load(std::memory_order_acquire))
      word.wait(w, std::memory_order_acquire);
  }

  // Waiting for every branch, the caller runs unclaimed branches of this execution itself
  // (help_one, executors with a bulk submit) and sleeps only when none is left to claim.
  void wait_finished() noexcept {
    for (auto w = word.load(std::memory_order_acquire); (w >> 1) < n;
         w = word.load(std::memory_order_acquire)) {
      if (help_one()) continue;
      word.wait(w, std::memory_order_acquire);
    }
  }

  // Wait for every branch, then finalize() once. join() and get() may be called on one handle
  // from several threads at once (a request thread and a watchdog): every joiner helps run
  // unclaimed branches (help_one may be called from several threads), but finalize() clears
  // what the helpers read (the batch) and touches what one thread may (the timer, the owned
  // executor), so it runs once, after every helper has left. Two joiners used to run it at
  // the same time, a use after free (found by a user trial); a first fix let only the first
  // joiner help, and a second joiner then slept while a branch the first was running waited
  // for a sibling nobody else would start (found by a review).
  //
  // `joined`, one word: bits 0-1 the phase (0 open: joiners may enter and help; 1 finalizing:
  // one joiner waits for the helpers to leave, then finalizes; 2 done), bits 2.. the helpers
  // inside. A joiner enters only while open; the first to leave after its wait_finished()
  // (every branch has ended then) takes `finalizing` in the same CAS that counts it out. The
  // CASes are acq_rel: the finalizer's acquire load that sees no helper left reads the last of
  // a chain of read-modify-writes, so it synchronises with every helper's leaving (their reads
  // of the batch come before finalize() clears it); the release store of `done`, read with
  // acquire, hands everything finalize() wrote to the joiners waiting. A 32-bit word: notified
  // directly (see `phases`); with nobody waiting, notify_all is one load. One joiner, the usual
  // case: two CASes and a store. Joined already (the second and third calls of a handle's
  // usual life: get() after join(), then the destructor), one acquire load, inline, that reads
  // the release store of `done` as join_protocol()'s last load would, and no call.
  static constexpr std::uint32_t joined_done = 2u;  // the phase `done`

  void join_once() noexcept {
    if (joined.load(std::memory_order_acquire) == joined_done) return;
    join_protocol();
  }

  void join_protocol() noexcept {
    constexpr std::uint32_t phase_mask = 3u, finalizing = 1u, done = joined_done, helper = 4u;
    std::uint32_t j = joined.load(std::memory_order_acquire);
    bool finalizer = false;
    while ((j & phase_mask) == 0) {
      if (!joined.compare_exchange_weak(j, j + helper, std::memory_order_acq_rel,
                                        std::memory_order_acquire))
        continue;
      wait_finished();
      j = joined.load(std::memory_order_relaxed);
      for (;;) {
        finalizer = (j & phase_mask) == 0;
        const std::uint32_t next = (j - helper) | (finalizer ? finalizing : 0u);
        if (joined.compare_exchange_weak(j, next, std::memory_order_acq_rel,
                                         std::memory_order_relaxed)) {
          j = next;
          break;
        }
      }
      // The last helper out wakes the finalizer waiting for it.
      if (!finalizer && (j >> 2) == 0) joined.notify_all();
      break;
    }
    if (finalizer) {
      while ((j >> 2) != 0) {
        joined.wait(j, std::memory_order_acquire);
        j = joined.load(std::memory_order_acquire);
      }
      finalize();
      joined.store(done, std::memory_order_release);
      joined.notify_all();
      return;
    }
    while ((j & phase_mask) != done) {
      joined.wait(j, std::memory_order_acquire);
      j = joined.load(std::memory_order_acquire);
    }
  }

  // join_once() for a handle that can have no other joiner, ever: quorum_parallel's, a local of
  // the call that no other thread can reach (detail::join_and_take), joined before anything
  // else joins it. With one joiner there is nothing to order among joiners, so none of
  // join_once's compare-and-swaps: wait for every branch (helping, as a joiner does; the
  // acquire loads of `word` pair with every finish_one's release, so every branch's writes and
  // every helper's run of a branch come before finalize()), finalize, and mark the phase done.
  // The store is release as join_once's is, though only this thread reads it (the handle's
  // destructor, whose join_once() then returns at its first load).
  void join_alone() noexcept {
    wait_finished();
    finalize();
    joined.store(joined_done, std::memory_order_release);
  }

  // Make the decision visible: wake the waiter first (the decision latency), then ask the
  // remaining branches to stop. `from_branch`: the caller is a branch that has not finished yet
  // (it does not count as a branch left running).
  void publish(quorum::decision d, std::optional<std::size_t> by, bool from_branch = false) noexcept {
    if (claim()) publish_claimed(d, by, from_branch);
  }

  // Take the one right to publish the decision; false when another has it.
  bool claim() noexcept {
    if (solo) {
      if (claimed.load(std::memory_order_relaxed) != 0u) return false;
      claimed.store(claimed_bit, std::memory_order_relaxed);
      return true;
    }
    // told_bit is set only after claimed_bit, by the one who claimed: 0 means unclaimed.
    return claimed.fetch_or(claimed_bit, std::memory_order_acq_rel) == 0u;
  }

  // After every branch finished and finalize() (the timer cancelled, waiting for a callback in
  // flight; the deadline's own thread joined), before the decision is read: a cancel() on
  // another thread may have claimed it and still be waiting for the store's reply (see
  // cancel_from). Every other publisher has published by then: a branch before it finished,
  // the deadline before finalize() returned. Not before finalize(): a cancel() could claim
  // between this check and the deadline's publish (which then finds the claim taken), and the
  // decision would be read while the cancel still writes it (found by a review). The claim is
  // seen here whenever it matters: a branch or the deadline that found it (its own claim failed,
  // an acq_rel exchange reading it), or whose record the store ordered after the canceller's
  // step, ended before this load (the acquire that saw every branch finish; the timer's and the
  // thread's join). wait_decided's acquire then pairs with publish's release of the bit.
  // With an observer, it also waits until the publisher's observer calls for the decision
  // have returned: a cancel() on another thread calls it after setting the decided bit, and an
  // error it threw was missing from a result taken meanwhile (found by a review: 0 in the
  // result, 1 in the next get()). The acquire of told_bit pairs with its release after the
  // calls, so their error count (written under err_m as well) is seen. No publisher waits for
  // a joiner: its observer may not join (refused) and a stop callback runs after told_bit.
  void wait_published() const noexcept {
    auto c = claimed.load(std::memory_order_acquire);
    if (c == 0u) return;
    wait_decided();
    if (!obs) return;
    for (; (c & told_bit) == 0u; c = claimed.load(std::memory_order_acquire))
      claimed.wait(c, std::memory_order_acquire);
  }

  void publish_claimed(quorum::decision d, std::optional<std::size_t> by,
                       bool from_branch) noexcept {
    dec = d;
    decided_by = by;
    if (exec_times()) decided_at = clk->now();
    if (solo) {  // nobody can be waiting: the only thread is this one
      word.store(word.load(std::memory_order_relaxed) | 1u, std::memory_order_release);
    } else {
      word.fetch_or(1u, std::memory_order_release);
      word.notify_all();
    }
    emit(event_kind::decided, by, 0, d);
    // Emitted before the request, so that it precedes the late events the request causes.
    if (finished() + (from_branch ? 1 : 0) < n) emit(event_kind::stop_requested, std::nullopt, 0);
    if (obs) {  // see wait_published
      if (solo) {
        claimed.store(claimed_bit | told_bit, std::memory_order_relaxed);
      } else {
        claimed.fetch_or(told_bit, std::memory_order_release);
        claimed.notify_all();
      }
    }
    if (hedge.count() > 0) wake_turns(false);  // a branch asleep until its turn never starts
    // Last: a stop callback it runs may end the execution, the handle destroyed from a user's
    // callback on a branch's token (on options::cancel_on's path no call_scope refuses it), and
    // this state with it (found by a review: the hedge count read after, a use after free).
    stop.request_stop();
  }

  // Wake every branch asleep until its turn, after a failure (`failed`: it brings each turn
  // forward by one delay) or the decision. Under turn_m, so that a sleeper either linked itself
  // before this (and is woken) or reads the new count and the decided bit after it.
  void wake_turns(bool failed) noexcept {
    std::lock_guard lk(turn_m);
    if (failed) ++turn_failures;
    for (auto* w = turn_waiters; w != nullptr; w = w->next) w->wake.request_stop();
  }

  // Branch i (i > 0, hedging): block until its turn. True when the turn came; false when the
  // decision or a stop request came first (the branch then never starts).
  bool wait_turn(std::size_t i) noexcept {
    turn_waiter w;
    for (;;) {
      // A fresh source for each sleep: the last one may have been stopped by a wake. If none
      // can be made (no memory), start now rather than never, as when the clock cannot wait.
      if (!w.wake.stop_possible() || w.wake.stop_requested()) {
        try {
          w.wake = std::stop_source{};
        } catch (...) {
          return !token.stop_requested() && !decided();
        }
      }
      std::size_t failed = 0;
      {
        std::lock_guard lk(turn_m);
        // Read under the lock: publish() sets the decided bit before its wake_turns, so a
        // decision that this misses wakes the source linked below.
        if (token.stop_requested() || decided()) return false;
        failed = turn_failures;
        if (failed >= i) return true;  // as many failures as turns before this one: due now
        w.next = turn_waiters;
        w.prev = nullptr;
        if (turn_waiters != nullptr) turn_waiters->prev = &w;
        turn_waiters = &w;
      }
      bool due = false;
      try {
        due = clk->sleep_until(saturating_add(started, times(hedge, i - failed)), w.wake.get_token());
      } catch (...) {
        // The clock could not wait: start now rather than never (a branch skipped without a
        // record could leave the execution without a decision for ever).
        due = true;
      }
      {
        std::lock_guard lk(turn_m);
        if (w.prev != nullptr)
          w.prev->next = w.next;
        else
          turn_waiters = w.next;
        if (w.next != nullptr) w.next->prev = w.prev;
      }
      if (due) return !token.stop_requested() && !decided();
    }
  }

  void finish_one() noexcept {
    // release: the entry written by this branch happens-before join()'s acquire load.
    if (solo) {  // see solo: the same store, without the lock prefix, and no waiter to wake
      word.store(word.load(std::memory_order_relaxed) + 2u, std::memory_order_release);
      return;
    }
    auto w = word.fetch_add(2u, std::memory_order_release) + 2u;
    if ((w >> 1) == n) word.notify_all();
  }

  // Always inlined, as emit() is: a test and a return for every execution but those that
  // take their result at the decision. g++ stops inlining it into run() as the code around
  // grows (a change elsewhere in the header did it), and the call then costs more than the test.
  [[gnu::always_inline]] void set_phase(std::size_t i, phase p) noexcept {
    if (!phases) return;
    phases[i].store(p, std::memory_order_release);
    if (p == phase::finished) phases[i].notify_all();  // a reader may wait out `recording`
  }

  // Executors with execute() only: one word per branch for the task that runs it (see
  // branch_task), made by launch() for them alone (null otherwise). Bit 0: the branch is
  // claimed, by the task's call, by the joiner retiring it after the decision, or by the last
  // copy of the task dying uncalled; bits 1..: the task's live copies. Every change is a
  // read-modify-write of the one word, so their single modification order is all that decides
  // who claims (acq_rel on the claim all the same: the winner goes on to use the state). The
  // winner writes the branch's entry and publishes it through finish_one() as any branch does.
  static constexpr std::uint32_t ticket_claimed = 1u;
  static constexpr std::uint32_t ticket_copy = 2u;
  std::unique_ptr<std::atomic<std::uint32_t>[]> tickets;

  // Claim branch i for the caller; false if someone has.
  bool take_ticket(std::size_t i) noexcept {
    return (tickets[i].fetch_or(ticket_claimed, std::memory_order_acq_rel) & ticket_claimed) == 0u;
  }

  // After the decision, a joiner retires every branch whose task has not started (a task
  // queued behind busy workers, or behind the joiner itself on a pool it belongs to): it
  // would only be skipped when it ran, and the join need not wait for the executor to get
  // to it. The task, when it does run, finds its branch claimed and returns. Nothing runs
  // here: an executor with execute() only chose where its tasks run (a loop's own thread,
  // say), so the joiner never runs a branch itself (bulk_execute offers that).
  bool retire_unstarted() noexcept {
    if (!tickets || !decided()) return false;
    bool any = false;
    for (std::size_t i = 0; i < n; ++i) {
      if ((tickets[i].load(std::memory_order_relaxed) & ticket_claimed) == 0u && take_ticket(i)) {
        skip(i);
        any = true;
      }
    }
    return any;
  }

  // A branch that never ran: the decision came first (or it was never handed to the executor).
  void skip(std::size_t i) noexcept {
    auto& b = out[i];
    b.status = branch_status::cancelled;
    set_phase(i, phase::finished);
    finish_one();
  }

  void note_store_error(std::exception_ptr e) noexcept {
    std::lock_guard lk(err_m);
    if (!store_error) store_error = std::move(e);
    any_error.store(true, std::memory_order_release);
  }

  // Always inlined: without an observer (the common case) an event costs one test. Left to
  // g++, it was inlined into run() or not by the size of unrelated code (each call out of line
  // passes six arguments, three optionals among them, to test one pointer).
  [[gnu::always_inline]] void emit(event_kind k, std::optional<std::size_t> branch,
                                   unsigned attempt,
                                   std::optional<quorum::decision> d = std::nullopt,
                                   std::optional<branch_status> status = std::nullopt,
                                   const std::exception_ptr& error = nullptr) noexcept {
    // By reference: without an observer (the common case) no copy of the exception_ptr is
    // made and dropped per event; deliver() copies it only when there is someone to tell.
    if (obs) deliver(k, branch, attempt, d, status, error);
  }

  [[gnu::noinline]] void deliver(event_kind k, std::optional<std::size_t> branch, unsigned attempt,
                                 std::optional<quorum::decision> d,
                                 std::optional<branch_status> status,
                                 std::exception_ptr error) noexcept {
    try {
      event e{k,      id, branch, branch ? name(*branch) : std::string_view{},
              attempt, clk->now(), d, status, std::move(error)};
      const call_scope scope(this, static_cast<int>(k));
      obs(e);
    } catch (...) {
      std::lock_guard lk(err_m);
      if (!observer_error) observer_error = std::current_exception();
      ++observer_errors;
      any_error.store(true, std::memory_order_release);
    }
  }

  // True inside an observer call for a branch's `succeeded` or `failed` event, on that
  // branch's thread: the branch has done its work and is only reporting it, so a decision
  // published from here (cancel()) does not count it among the branches left running.
  [[nodiscard]] bool reporting_here() const noexcept {
    const call_scope* c = call_scope::find(this);
    return c != nullptr && (c->what() == static_cast<int>(event_kind::succeeded) ||
                            c->what() == static_cast<int>(event_kind::failed));
  }

  // options::cancel_on: registered by launch() once the record is open and the handle exists,
  // unregistered by finalize() (its destructor waits for a cancel() running on another thread).
  struct cancel_on_stop {
    core* c;
    void operator()() const noexcept { c->cancel(); }
  };
  std::optional<std::stop_callback<cancel_on_stop>> outside_stop;

  // Implemented by state<>, which knows the store.
  virtual bool help_one() noexcept = 0;  // run one unclaimed branch here; false if none
  virtual void cancel() noexcept = 0;
  virtual void finalize() noexcept = 0;  // after every branch ended: stop timer, join threads
  virtual void close() noexcept = 0;     // release the store's record
  virtual execution_record snapshot() = 0;

  // After close(), on the handle's thread: drop what the user's types put here (the branches'
  // values, the observer, the retry predicate). An executor may still hold this state for a
  // while after the last branch ended (a thread not yet exited, a pool job not yet retired), and
  // nothing of the user's may outlive the handle.
  void release() noexcept {
    std::vector<branch_result<T>>().swap(out);
    obs = nullptr;
    rt.retry_if = nullptr;
    // The store's and the observer's exceptions are the user's objects too. acquire: pairs
    // with the release store of any_error, so a false load means none was ever kept (nothing
    // can keep one now: every branch ended, the timer is cancelled); the lock orders this
    // with their writers all the same.
    if (any_error.load(std::memory_order_acquire)) {
      std::exception_ptr s, o;  // die here, after the lock is released
      std::lock_guard lk(err_m);
      s = std::exchange(store_error, nullptr);
      o = std::exchange(observer_error, nullptr);
    }
  }

  // A result taken at the decision: wait out every record in flight before the store's error
  // is looked at. A record the decision counted is seen here as `recording` or `finished`:
  // its `recording` store happens-before its store step, which the store's synchronisation
  // orders before the deciding step, which happens-before the decided bit this thread
  // acquired. Its error, if record() threw after the store applied it (a reply lost), is
  // noted (any_error, release) before its `finished` (release), which the acquire load here
  // reads: first_store_error() then sees it, as it does after join(). A branch still
  // `running` here records after the decision (late): its error may come later.
  void wait_recorded() noexcept {
    if (!phases) return;
    for (std::size_t i = 0; i < n; ++i) wait_out_recording(i);
  }

  // The result. When every branch has ended, `take` (the handle's get() &&) moves the
  // branches' entries into it whole; otherwise they are copied (values moved when T cannot be
  // copied). Before then (on_late = return_early), only the finished entries are read, by
  // their phase, and the others show as running.
  result<T> make_result(bool take, bool take_id = false) {
    result<T> r;
    r.decision = dec;
    if (take_id)  // see detail::join_and_take; moving cannot throw, so nothing is half taken
      r.execution_id = std::move(id);
    else
      r.execution_id = id;
    r.decided_by = decided_by;
    r.timestamps = stamps;
    if (exec_times()) {  // `started` may have been read for a deadline or hedging: not shown
      r.started = started;
      r.decided_at = decided_at;
    }
    r.deadline = deadline;
    if (any_error.load(std::memory_order_acquire)) {
      std::lock_guard lk(err_m);
      r.observer_errors = observer_errors;
      r.observer_error = observer_error;
    }
    // A result is never half taken: the whole vector moves without throwing, and field by
    // field the values come last (see take_value).
    constexpr bool copyable = std::is_copy_constructible_v<branch_result<T>>;
    if (finished() == n && (take || copyable)) {  // acquire: every entry is written
      if constexpr (copyable) {
        if (take)
          r.branches = std::move(out);
        else
          r.branches = out;
      } else {
        r.branches = std::move(out);
      }
    } else {
      // Field by field (a result taken at the decision, or values that cannot be copied):
      // first everything that may throw and changes nothing here, then the values, so that a
      // throw leaves every entry as it was for a later get().
      r.branches.resize(n);
      for (std::size_t i = 0; i < n; ++i) copy_fields(r.branches[i], i);
      if constexpr (!std::is_void_v<T>) {
        for (std::size_t i = 0; i < n; ++i)
          if (r.branches[i].status != branch_status::running)  // finished when copy_fields read it
            take_value(r.branches[i].value, out[i].value, take);
      }
    }
    if (take) taken = true;
    return r;
  }

 private:
  // Entry i but its value into b, as far as its phase shows it (every phase is `finished` once
  // all ended; an unfinished entry stays `running`).
  void copy_fields(branch_result<T>& b, std::size_t i) {
    auto& s = out[i];
    // A record in flight may be one the decision counted (its store step came before the
    // deciding one): wait for its entry, or a quorum_met result could show fewer than K
    // successes.
    const std::uint32_t ph = phases ? wait_out_recording(i) : std::uint32_t{phase::finished};
    b.name = s.name;  // written before any branch ran
    if (ph == phase::pending) return;
    b.started = s.started;
    if (ph != phase::finished) return;
    b.status = s.status;
    b.error = s.error;
    b.attempts = s.attempts;
    b.late = s.late;
    b.finished = s.finished;
  }

  // Branch i's phase once it is not `recording` (one store call at most). acquire: pairs with
  // set_phase's release of `finished`.
  std::uint32_t wait_out_recording(std::size_t i) noexcept {
    std::uint32_t ph = phases[i].load(std::memory_order_acquire);
    while (ph == phase::recording) {
      phases[i].wait(ph, std::memory_order_acquire);
      ph = phases[i].load(std::memory_order_acquire);
    }
    return ph;
  }

  // A finished entry's value into v: moved when the result is taken (or T cannot be copied)
  // and the move cannot throw; else copied, which leaves the entry as it was. A T that can be
  // neither copied nor moved without a possible throw is moved anyway, and the execution's
  // values count as taken first: after a throw, a later get() says so instead of returning
  // values moved from.
  template <class V>
  void take_value(std::optional<V>& v, std::optional<V>& from, bool take) {
    if (!from) return;
    if constexpr (!std::is_copy_constructible_v<V>) {
      // Moved out, whichever get() asked: a later get() would find moved-from values and
      // report them as the branches' (found by a user trial), so it is refused instead.
      taken = true;
      v.emplace(std::move(*from));
    } else if (take && std::is_nothrow_move_constructible_v<V>) {
      v.emplace(std::move(*from));
    } else {
      v.emplace(*from);
    }
  }
};

// The per-thread generator for retry jitter.
inline std::minstd_rand& jitter_rng() {
  thread_local std::minstd_rand rng{std::random_device{}()};
  return rng;
}

// A task that runs branch i of an execution: what start() hands to an executor's bulk submit.
template <class St>
struct run_branch {
  std::shared_ptr<St> st;
  void operator()(std::size_t i) const noexcept { st->run(i); }
};

// The task that runs branch i on an executor with execute() only. Copyable (an executor may
// keep it in a std::function), and each copy counts itself in the branch's ticket (see
// core::tickets): the first call claims the branch and runs it, a later call of another copy
// does nothing, and when the last copy dies uncalled (a pool destroyed with work queued; an
// asio::thread_pool destroys it in its destructor, not at stop()) the branch is accounted for
// as never started, so that the handle's join does not wait for it for ever (found by a user
// trial).
template <class St>
class branch_task {
 public:
  branch_task(std::shared_ptr<St> st, std::size_t i) noexcept : st_(std::move(st)), i_(i) {}
  branch_task(const branch_task& o) noexcept : st_(o.st_), i_(o.i_) {
    // relaxed: a new copy of a live one; the claim alone orders anything (see core::tickets)
    if (st_) st_->tickets[i_].fetch_add(St::ticket_copy, std::memory_order_relaxed);
  }
  branch_task(branch_task&& o) noexcept : st_(std::move(o.st_)), i_(o.i_) {}
  branch_task& operator=(branch_task o) noexcept {  // the old value dies with o
    st_.swap(o.st_);
    std::swap(i_, o.i_);
    return *this;
  }
  ~branch_task() {
    if (st_) st_->drop_task(i_);
  }

  void operator()() const noexcept {
    if (st_ && st_->take_ticket(i_)) st_->run(i_);
  }

 private:
  std::shared_ptr<St> st_;
  std::size_t i_;
};

// An executor with a bulk submit, `e.bulk_execute(n, f)` -> a batch with `run_one()` (see
// pool_executor): start() submits all N branches at once and keeps the batch so that join()
// can run unclaimed branches on the caller. For other executors the batch is empty.
struct no_batch {
  bool run_one() noexcept { return false; }
};
template <class E, class F>
struct bulk_batch {
  static constexpr bool offered = false;
  static constexpr bool value = false;
  using type = no_batch;
};
// An executor whose bulk_execute takes the library's task is taken at its word: a batch that
// falls short is an error (asserted in launch(), where a failed assertion leaves the types
// whole and a compiler says nothing more), not a silent fall-back to execute() (an Asio
// trial's run_one returned int, and the joiner quietly stopped helping).
template <class E, class F>
  requires requires(E& e, F f) { e.bulk_execute(std::size_t{}, std::move(f)); }
struct bulk_batch<E, F> {
  using type = decltype(std::declval<E&>().bulk_execute(std::size_t{}, std::declval<F>()));
  static constexpr bool runs_one = requires(type& b) {
    { b.run_one() } -> std::same_as<bool>;
  };
  static constexpr bool kept = std::default_initializable<type> && std::is_move_assignable_v<type>;
  static constexpr bool offered = true;  // launch() asserts the two above
  static constexpr bool value = runs_one && kept;
};

// The full state: store, branches and executor. X is the executor type held: a value when the
// execution owns it, a reference when the caller does.
template <class T, class S, class B, class X>
class state final : public core<T> {
 public:
  template <class XA>
  state(S* store, B&& branches, XA&& exec)
      : store_(store), branches_(std::in_place, std::move(branches)), exec_(std::forward<XA>(exec)) {}

  // The default store, owned.
  template <class XA>
  state(std::in_place_t, B&& branches, XA&& exec)
      : own_store_(std::in_place), store_(&*own_store_), branches_(std::in_place, std::move(branches)),
        exec_(std::forward<XA>(exec)) {}

  S& store() noexcept { return *store_; }
  std::remove_reference_t<X>& exec() noexcept {
    if constexpr (std::is_reference_v<X>)
      return exec_;
    else
      return *exec_;
  }

  using bulk = bulk_batch<std::remove_reference_t<X>, run_branch<state>>;

  // Hand all N branches to a bulk executor in one submission (see bulk_batch).
  void submit_bulk(std::shared_ptr<state> self) {
    batch_ = exec().bulk_execute(this->n, run_branch<state>{std::move(self)});
  }

  bool help_one() noexcept override {
    if constexpr (bulk::value)
      return batch_.run_one();
    else
      return this->retire_unstarted();
  }

  // A copy of branch i's task dies (see branch_task). The last one, if the branch was never
  // claimed, claims it: the executor destroyed the task without running it. Undecided, that
  // is an executor refusing work, as an execute() that throws: the execution is cancelled
  // (the branch's error says why), then the branch counts as never started. Cancelled first,
  // so that the join this may complete reads a published decision; in a branch's call scope,
  // so that a stop callback the cancel runs may not join the execution (it would wait for
  // this very branch).
  void drop_task(std::size_t i) noexcept {
    if (this->tickets[i].fetch_sub(core<T>::ticket_copy, std::memory_order_acq_rel) !=
        core<T>::ticket_copy)
      return;  // another copy lives, or the branch was claimed
    if (!this->take_ticket(i)) return;  // a joiner retired it meanwhile
    if (!this->decided()) {
      try {
        this->out[i].error = std::make_exception_ptr(std::runtime_error(
            "quorum: the executor destroyed this branch's task without running it"));
      } catch (...) {
      }
      const call_scope scope(static_cast<const core<T>*>(this), call_scope::branch);
      cancel_from(true);
    }
    this->skip(i);
  }

  void open(const execution_spec& spec) { h_.emplace(store_->open(spec)); }

  void arm_deadline() {
    if (!this->deadline) return;
    if (*this->deadline <= this->clk->now()) {
      on_deadline();
      return;
    }
    // The timer is cancelled (waiting for a callback in flight) in finalize(), before this
    // state can go away, so the raw pointer is safe.
    timer_ = this->clk->schedule(*this->deadline, [this]() noexcept { on_timer(); });
  }

  // The deadline came, on the clock's timer thread. When every timer of the process shares
  // that thread (clock::shared_timer_thread), the work moves to a thread this state owns,
  // joined in finalize(): done there, a slow store or observer held up every other
  // execution's deadline, and an observer running an execution with a deadline of its own
  // waited for ever for the thread it was blocking (found by a review). The thread is made
  // only for a deadline that comes before the decision.
  void on_timer() noexcept {
    if (this->decided()) return;
    if (this->clk->shared_timer_thread()) {
      try {
        deadline_work_ = std::jthread([this] { on_deadline(); });
        return;
      } catch (...) {
        // No thread to be had: do the work here, as a clock with its own threads would.
      }
    }
    on_deadline();
  }

  void on_deadline() noexcept {
    // A stop callback the publish below runs here may not join or destroy the handle: the
    // join would wait for (or, on steady_clock, join) this thread (see call_scope).
    const call_scope scope(static_cast<const core<T>*>(this), call_scope::deadline);
    tally t;
    try {
      t = store_->expire(*h_);
    } catch (...) {
      this->note_store_error(std::current_exception());
      this->publish(decision::timed_out, std::nullopt);
      return;
    }
    if (t.decided_now) {
      this->publish(decision::timed_out, std::nullopt);
    } else if (t.decision) {
      // Decided in the store before the deadline. Usually by a branch about to publish it (the
      // claim lets one of the two through); but a store whose record() hid the decision it
      // made would leave it unpublished, and branches that run until stopped running for ever
      // (found by a review). Publishing the store's decision here is true either way.
      if (!this->decided()) this->publish(*t.decision, t.decided_by);
    } else [[unlikely]] {
      // expire() must decide an undecided execution; left alone, branches that run until
      // stopped would never be stopped. Decide here, and keep the breach as the store's error.
      note_contract_breach([] { return std::string("decided nothing at expire()"); });
      this->publish(decision::timed_out, std::nullopt);
    }
  }

  void cancel() noexcept override { cancel_from(this->reporting_here()); }

  // Decide cancelled in the store, then here. If the store cannot even do that, decide here
  // alone (the store's error reaches the caller through get()). `from_branch`: see publish().
  // The right to publish is claimed before the store step, not after it: from the moment the
  // store holds the decision until it is published here, `claimed` tells a thread that saw
  // every branch finish that a decision is on its way (wait_published). A cancel() from another
  // thread whose store reply was slow let get() read the decision before it was written (found
  // by a review). When a branch or the deadline holds the claim, it publishes what the store
  // decided, and the cancel has nothing to add.
  void cancel_from(bool from_branch) noexcept {
    if (this->decided() || !this->claim()) return;
    tally t;
    try {
      t = store_->cancel(*h_);
    } catch (...) {
      this->note_store_error(std::current_exception());
      // The store may have decided meanwhile: a branch's record whose publish found this claim
      // taken. If the record can still be read, its decision stands over a cancel the store
      // may never have applied (found by a review); if not, decide cancelled here alone.
      std::optional<decision> d;
      std::optional<std::size_t> by;
      try {
        auto rec = store_->snapshot(*h_);
        d = rec.decision;
        by = rec.decided_by;
      } catch (...) {
      }
      this->publish_claimed(d.value_or(decision::cancelled), d ? by : std::nullopt, from_branch);
      return;
    }
    if (!t.decided_now && t.decision) {
      // The store had decided already: by a branch whose record came after the claim (it
      // cannot publish now), or through a tally this process never saw (a record whose reply
      // was lost after the store applied it: the store error that brought us here). Publish
      // the store's decision.
      this->publish_claimed(*t.decision, t.decided_by, from_branch);
    } else {
      // Decided cancelled now; or a store that says neither, against its contract: the claim
      // is held, so decide here rather than leave every wait() waiting.
      this->publish_claimed(decision::cancelled, std::nullopt, from_branch);
    }
  }

  void finalize() noexcept override {
    this->outside_stop.reset();
    timer_.cancel();  // after it, deadline_work_ is never written again (see on_timer)
    if (deadline_work_.joinable()) deadline_work_.join();
    batch_ = {};  // the batch's tasks hold this state: let go of them (every branch ended)
    if constexpr (!std::is_reference_v<X>) {
      if (exec_) {
        if constexpr (requires { exec_->join(); }) {
          try {
            exec_->join();
          } catch (...) {
          }
        }
        // An executor the execution owns dies here, on the thread that joined: not with this
        // state, which may die on one of that executor's own threads.
        exec_.reset();
      }
    }
    branches_.reset();  // the callables die on the thread that joined, not on a worker
  }

  void close() noexcept override {
    if (!h_) return;
    try {
      store_->close(*h_);
    } catch (...) {
      this->note_store_error(std::current_exception());
    }
    h_.reset();
  }

  execution_record snapshot() override {
    if (!h_) return {};
    return store_->snapshot(*h_);
  }

  // The task body of branch i. Never throws.
  void run(std::size_t i) noexcept { run_here(i); }

  // run()'s body, always inlined: into run() (the executors' tasks call that), and into
  // launch()'s loop on inline_executor, which calls this directly: there a call per branch
  // (saving and restoring registers around a trivial branch) was a twelfth of its instructions.
  // A state uses one of the two (run() is never called on inline_executor), so the body is
  // not duplicated.
  [[gnu::always_inline]] void run_here(std::size_t i) noexcept {
    auto& s = this->out[i];
    const std::stop_token& tok = this->token;  // not named token: the member is (-Wshadow)
    if (this->hedge.count() > 0 && i > 0) {
      // Decided already (on inline_executor, by an earlier branch: its token may be one that
      // never stops, so the wait below would not end early): never start, never wait.
      if (this->decided()) return this->skip(i);
      if (!this->wait_turn(i)) return this->skip(i);
    }
    // decided() as well as the token: publish() sets the decided bit, then emits `decided`
    // (an observer may take its time), and only then requests stop. A branch whose turn comes
    // in between must not start either (acquire load: pairs with publish's release).
    if (tok.stop_requested() || this->decided()) return this->skip(i);

    if (this->branch_times()) s.started = this->clk->now();
    this->set_phase(i, phase::running);
    this->emit(event_kind::started, i, 1);

    // The value is built in the entry itself (no move after the call, which could throw
    // outside any try): readers look at it only once phase says finished.
    std::exception_ptr err;
    unsigned attempt = 0;
    // The branch ended because of the stop request (branch_status::cancelled): its last attempt
    // threw after the request, or the request ended its wait for a retry. Read where that
    // happens, not once the loop is left: a retry_if still deciding when the request comes
    // must not turn a failure from before it into a cancellation.
    bool stopped = false;
    for (;;) {
      ++attempt;
      try {
        branch_context ctx(borrow_token, this->name(i), i, attempt, tok, this->deadline,
                           *this->clk);
        const call_scope scope(static_cast<const core<T>*>(this), call_scope::branch);
        if constexpr (std::is_void_v<T>)
          branches_->call(i, ctx);
        else
          s.value.emplace(branches_->call(i, ctx));
        if (err) err = nullptr;  // a retry succeeded (the test spares a null swap per branch)
        break;
      } catch (...) {
        err = std::current_exception();
        stopped = tok.stop_requested();
      }
      // decided() as well as the token, as before the first attempt: no new attempt starts
      // between the decision and its stop request (an observer may hold `decided`).
      if (stopped || tok.stop_requested() || this->decided() ||
          !this->rt.should_retry(attempt, err))
        break;
      this->emit(event_kind::attempt_failed, i, attempt, std::nullopt, branch_status::failed, err);
      bool woke = false;
      try {
        auto d = this->rt.delay_before(attempt + 1, i, jitter_rng());
        woke = this->clk->sleep_until(saturating_add(this->clk->now(), d), tok);
      } catch (...) {
      }
      if (!woke || this->decided()) {  // stopped or decided meanwhile: the last error stands
        // cancelled only when the stop request is what ended the wait: a wait that ran out
        // while publish() was between the decided bit and the request stays failed.
        stopped = !woke && tok.stop_requested();
        break;
      }
      this->emit(event_kind::retry_started, i, attempt + 1);
    }
    if (this->branch_times()) s.finished = this->clk->now();

    bool recorded = true;
    // Before the store step: a result taken at the decision then knows to wait for this entry
    // (see copy_fields). release orders it before the store step, whose synchronisation (a
    // lock, a CAS) orders that before the deciding step and so before the decision's readers.
    this->set_phase(i, phase::recording);
    const tally t = record(i, err ? outcome::failure : outcome::success, recorded);
    s.attempts = attempt;
    if (err) s.error = err;  // the entry's is null until here
    s.late = t.late;
    s.status = !err ? branch_status::succeeded : stopped ? branch_status::cancelled : branch_status::failed;
    const auto status = s.status;
    this->set_phase(i, phase::finished);

    if (t.late)
      this->emit(event_kind::late, i, attempt, std::nullopt, status, err);
    else
      this->emit(err ? event_kind::failed : event_kind::succeeded, i, attempt, std::nullopt, status, err);
    // Every outcome counted and no decision: the store broke its contract. Cancelled below as
    // an outcome that was not recorded; checked before the turns are woken, so that it starts
    // no hedged branch first (found by a review).
    if (!t.decision && t.successes + t.failures >= this->n && recorded) [[unlikely]]
      recorded = undecided_with_every_outcome(t);
    // A failure brings every turn still to come forward by one delay (see wait_turn). Not one
    // that decided, nor one the store could not record (cancel_from below decides): its
    // decision is not published yet, so a turn woken here would see none and start after the
    // store decided. publish() wakes every turn once the decision is there to be seen.
    if (err && this->hedge.count() > 0 && !t.late && !t.decision && recorded)
      this->wake_turns(true);
    // The stop request either step makes runs the stop callbacks on this thread, where a join
    // would wait for this branch: marked a branch's call (see call_scope), only when it is made.
    if (t.decided_now || !recorded) [[unlikely]] {
      const call_scope scope(static_cast<const core<T>*>(this), call_scope::branch);
      if (t.decided_now) this->publish(*t.decision, t.decided_by, true);
      // The outcome could not be recorded, so the record can no longer decide truthfully:
      // cancel it, in the store too, so that a store others read (Redis) is not left undecided.
      if (!recorded) cancel_from(true);
    }
    // The task's reference to the exception goes before the branch counts as finished: after
    // that the result may be taken and dropped, and the exception must die with its last
    // holder there, not here on a worker (a race TSan reported in the stress run).
    if (err) err = nullptr;
    this->finish_one();
  }

 private:
  // The store counted every outcome and decided nothing: against the store concept (every rule
  // is decided once all N outcomes are in), and no later step would decide either, so wait()
  // would wait for ever. Kept as the store's error (get() rethrows it); returns false, so that
  // the caller cancels as for an outcome the store could not record.
  [[gnu::noinline]] bool undecided_with_every_outcome(const tally& t) noexcept {
    note_contract_breach([&] {
      return "counted every branch's outcome (" + std::to_string(t.successes) + " successes, " +
             std::to_string(t.failures) + " failures of " + std::to_string(this->n) +
             " branches) and decided nothing: a rule is decided once every outcome is in";
    });
    return false;
  }

  // Keep "quorum: the store <what>, against the store contract ..." as the store's error.
  template <class What>
  void note_contract_breach(What what) noexcept {
    try {
      throw std::logic_error("quorum: the store " + what() +
                             ", against the store contract (see quorum/store.hpp; "
                             "quorum::check_store finds such a store)");
    } catch (...) {
      this->note_store_error(std::current_exception());
    }
  }

  // The store's record of branch i; on a store error, a tally that decides nothing and
  // `recorded` false. The tally is built in place: assigning one (an aggregate of optionals,
  // written field by field) made the compiler copy it back through wide loads that stalled on
  // the narrow stores just made, a measurable part of a trivial branch.
  tally record(std::size_t i, outcome o, bool& recorded) noexcept {
    try {
      if constexpr (exclusive_recording<S>) {
        if (this->solo) return store_->record(*h_, i, o, exclusive);  // see core::solo
      }
      return store_->record(*h_, i, o);
    } catch (...) {
      recorded = false;
      this->note_store_error(std::current_exception());
      tally t;
      t.late = this->decided();
      return t;
    }
  }

  std::optional<S> own_store_;
  S* store_;
  // Engaged from open() to close(). In an optional, because the store concept does not ask
  // a handle to be default-constructible.
  std::optional<typename S::handle> h_;
  std::optional<B> branches_;
  // The caller's executor (X a reference), or the one this execution owns (see finalize()).
  std::conditional_t<std::is_reference_v<X>, X, std::optional<X>> exec_;
  std::conditional_t<bulk::value, typename bulk::type, no_batch> batch_{};  // run_one() by every joiner; cleared by finalize() (join_once)
  timer timer_;
  std::jthread deadline_work_;  // written by timer_'s callback; see on_timer
};

}  // namespace quorum::detail
