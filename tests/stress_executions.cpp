// Randomized stress: many executions with random N (1..64), policies, outcomes, retries,
// deadlines, clocks, stores and executors; after each one the invariants of issue 5 are
// checked against the result, its JSON and the store's record.
//
//   QUORUM_STRESS_EXECUTIONS  how many executions (default 4000; the `stress` preset: 1000000)
//   QUORUM_STRESS_SEED        the seed (default below); always printed
//   QUORUM_STRESS_ONLY        run only the execution with this index (to reproduce one)
//   QUORUM_STRESS_MODE        0..3: run one mode only (see enum mode; for profiling)
//   QUORUM_STRESS_WATCHDOG    seconds without progress before it reports a hang (default 300)
//   QUORUM_STRESS_VERBOSE     1: print each execution's plan as it starts
//
// Each execution draws from its own generator, seeded from (seed, index), so a violation
// printed with its index can be replayed alone with QUORUM_STRESS_ONLY. The last line is
//   stress: <N> executions, <M> invariant violations, seed <S>
// and the exit status is nonzero when M > 0.
//
// The mix keeps a million executions affordable on two cores: most run inline on a manual
// clock (deterministic, so an oracle predicts every field of the result exactly), a share on
// threads (thread_executor, and pool_executor when present) with a manual clock driven by this
// thread, and a small share on the real clock with tiny timeouts, where timers, branches and
// cancel() race for real. Some threaded executions get store replies that come back late
// (after a few yields) or not at all (an error after the store applied the record), the
// windows a result taken at the decision must wait out (see checked_store::counted).
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <quorum/quorum.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>
#if __has_include(<quorum/stores/sharded.hpp>)
#include <quorum/stores/sharded.hpp>
#define STRESS_HAVE_SHARDED 1
#endif
#if __has_include(<quorum/stores/atomic.hpp>)
#include <quorum/stores/atomic.hpp>
#define STRESS_HAVE_ATOMIC 1
#endif
#if __has_include(<quorum/pool_executor.hpp>)
#include <quorum/pool_executor.hpp>
#define STRESS_HAVE_POOL 1
#endif

#include "strict_json.hpp"

using namespace std::chrono_literals;
using quorum::branch_status;
using quorum::decision;
using quorum::outcome;

namespace {

using tp = quorum::clock::time_point;
using ns = std::chrono::nanoseconds;

constexpr std::uint64_t default_seed = 0x5eed'2024'0607ull;
constexpr std::uint64_t default_executions = 4000;
constexpr std::size_t max_n = 64;

// ---- randomness -----------------------------------------------------------------------------

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct rng {
  std::mt19937_64 g;
  explicit rng(std::uint64_t seed) : g(seed) {}
  // uniform in [lo, hi]
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(g);
  }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(g) < p; }
  double real(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(g); }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[between(0, v.size() - 1)];
  }
};

// ---- reporting ---------------------------------------------------------------------------------

struct report {
  std::uint64_t seed = 0;
  std::uint64_t executions = 0;
  std::uint64_t violations = 0;
  std::atomic<std::uint64_t> current{0};  // the execution being run (for the watchdog)
  std::atomic<std::uint64_t> replay{0};   // what QUORUM_STRESS_ONLY must be to run it again

  void violation(std::uint64_t index, const std::string& what, const std::string& config) {
    ++violations;
    if (violations <= 25)
      std::cerr << "stress: VIOLATION in execution " << index << " (QUORUM_STRESS_SEED=" << seed
                << " QUORUM_STRESS_ONLY=" << replay.load() << "): " << what << "\n    " << config
                << "\n";
    else if (violations == 26)
      std::cerr << "stress: further violations are counted, not printed\n";
  }
};

// ---- what each execution records, and a store that watches every step -------------------------

// QUORUM_STRESS_VERBOSE=1 prints each execution's plan before it starts.
const bool verbose = [] {
  const char* v = std::getenv("QUORUM_STRESS_VERBOSE");
  return v && *v && *v != '0';
}();

struct probe {
  std::atomic<int> opens{0}, closes{0};
  std::atomic<int> decided_now{0};
  std::atomic<std::uint32_t> decisions_seen{0};  // bit d set when a tally carried decision d
  std::array<std::atomic<std::uint8_t>, max_n> records{};
  std::atomic<int> in_flight{0};  // branch callables running right now
  std::atomic<int> ran{0};        // branch callables entered (attempts of all branches)
  // observer
  std::atomic<int> ev_decided{0}, ev_decision{-1}, ev_started{0}, ev_terminal{0}, ev_thrown{0};
  // the record as close() found it (written once, by the thread destroying the handle)
  std::optional<quorum::execution_record> closed;
  // the plan's store faults, for checked_store (see plan::slow_reply and plan::lost_reply)
  std::uint32_t slow_reply = 0;
  std::uint64_t slow_seed = 0;
  std::size_t lost_reply = max_n;  // max_n: none
};

// What checked_store throws for plan::lost_reply, after the inner store applied the record.
struct lost_reply_error {
  std::size_t branch;
};

template <class S>
class checked_store {
 public:
  struct handle {
    typename S::handle h{};
    probe* p = nullptr;
  };

  explicit checked_store(S& inner) : inner_(inner) {}
  probe* next = nullptr;  // the probe of the execution about to open (set by its trial)

  handle open(const quorum::execution_spec& spec) {
    handle h{inner_.open(spec), next};
    h.p->opens.fetch_add(1, std::memory_order_relaxed);
    return h;
  }
  quorum::tally record(handle h, std::size_t i, outcome o) {
    return counted(h, i, inner_.record(h.h, i, o));
  }
  // The exclusive record (inline_executor without a deadline), where the store offers it.
  quorum::tally record(handle h, std::size_t i, outcome o, quorum::exclusive_t x)
    requires quorum::exclusive_recording<S>
  {
    return counted(h, i, inner_.record(h.h, i, o, x));
  }
  quorum::tally expire(handle h) { return note(h, inner_.expire(h.h)); }
  quorum::tally cancel(handle h) { return note(h, inner_.cancel(h.h)); }
  quorum::execution_record snapshot(handle h) { return inner_.snapshot(h.h); }
  void close(handle h) {
    h.p->closes.fetch_add(1, std::memory_order_relaxed);
    h.p->closed = inner_.snapshot(h.h);
    inner_.close(h.h);
  }
  [[nodiscard]] std::size_t size() const { return inner_.size(); }

 private:
  // After the inner store's record (both overloads), as a remote store's reply would come
  // back: maybe slowly (other branches' records decide meanwhile, and a result taken at the
  // decision must still show this one, which the store may have counted), maybe not at all.
  static quorum::tally counted(handle h, std::size_t i, const quorum::tally& t) {
    if (i < max_n) h.p->records[i].fetch_add(1, std::memory_order_relaxed);
    note(h, t);  // the store's truth, even if the reply is lost below
    if (h.p->slow_reply) {
      // yields, not sleeps: a window the other threads can use, without wall-clock waits
      for (auto k = splitmix(h.p->slow_seed ^ i) % (h.p->slow_reply + 1); k > 0; --k)
        std::this_thread::yield();
    }
    if (i == h.p->lost_reply) throw lost_reply_error{i};
    return t;
  }
  static quorum::tally note(handle h, const quorum::tally& t) {
    if (t.decided_now) h.p->decided_now.fetch_add(1, std::memory_order_relaxed);
    if (t.decision)
      h.p->decisions_seen.fetch_or(1u << static_cast<unsigned>(*t.decision),
                                   std::memory_order_relaxed);
    return t;
  }
  S& inner_;
};

enum class store_kind { memory, sharded, atomic };
enum class exec_kind { inline_, thread, pool };
enum class mode { inline_manual, threads_manual, threads_real, inline_real };

const char* name(store_kind k) {
  switch (k) {
    case store_kind::memory:
      return "memory_store";
    case store_kind::sharded:
      return "sharded_store";
    case store_kind::atomic:
      return "atomic_store";
  }
  return "?";
}
const char* name(exec_kind k) {
  switch (k) {
    case exec_kind::inline_:
      return "inline_executor";
    case exec_kind::thread:
      return "thread_executor";
    case exec_kind::pool:
      return "pool_executor";
  }
  return "?";
}
const char* name(mode m) {
  switch (m) {
    case mode::inline_manual:
      return "inline+manual_clock";
    case mode::threads_manual:
      return "threads+manual_clock";
    case mode::threads_real:
      return "threads+steady_clock";
    case mode::inline_real:
      return "inline+steady_clock";
  }
  return "?";
}

// The stores and the pool live for the whole run: executions share them, as in a service.
struct shared_env {
  quorum::memory_store memory;
  checked_store<quorum::memory_store> c_memory{memory};
#ifdef STRESS_HAVE_SHARDED
  quorum::sharded_store sharded{4};
  checked_store<quorum::sharded_store> c_sharded{sharded};
#endif
#ifdef STRESS_HAVE_ATOMIC
  quorum::atomic_store atomic;
  checked_store<quorum::atomic_store> c_atomic{atomic};
#endif
#ifdef STRESS_HAVE_POOL
  quorum::pool_executor pool{2};
#endif
  std::vector<store_kind> stores{store_kind::memory
#ifdef STRESS_HAVE_SHARDED
                                 ,
                                 store_kind::sharded
#endif
#ifdef STRESS_HAVE_ATOMIC
                                 ,
                                 store_kind::atomic
#endif
  };

  std::size_t records_held() const {
    std::size_t n = memory.size();
#ifdef STRESS_HAVE_SHARDED
    n += sharded.size();
#endif
#ifdef STRESS_HAVE_ATOMIC
    n += atomic.size();
#endif
    return n;
  }

  template <class F>
  void with_store(store_kind k, probe* p, F&& f) {
    switch (k) {
      case store_kind::memory:
        c_memory.next = p;
        return f(c_memory);
#ifdef STRESS_HAVE_SHARDED
      case store_kind::sharded:
        c_sharded.next = p;
        return f(c_sharded);
#endif
#ifdef STRESS_HAVE_ATOMIC
      case store_kind::atomic:
        c_atomic.next = p;
        return f(c_atomic);
#endif
      default:
        throw std::logic_error("store kind not built");
    }
  }

  template <class F>
  void with_executor(exec_kind k, F&& f) {
    switch (k) {
      case exec_kind::inline_:
        return f(quorum::inline_executor{});
      case exec_kind::thread:
        return f(quorum::thread_executor{});
#ifdef STRESS_HAVE_POOL
      case exec_kind::pool:
        return f(pool);
#endif
      default:
        throw std::logic_error("executor kind not built");
    }
  }
};

// ---- one execution's plan -----------------------------------------------------------------------

enum class act : std::uint8_t {
  succeed,        // return a value
  fail,           // throw (every attempt)
  flaky,          // throw on the first `fail_first` attempts, then return
  block_succeed,  // wait for the stop request, then return (a late success)
  block_fail,     // wait for the stop request, then throw (cancelled, error kept)
  block_stopped,  // wait for the stop request, then throw quorum::stopped
  spin_succeed,   // busy for a while (races with the others), then return
};
enum class err : std::uint8_t { std_error, int_error, custom_error };

struct custom_failure {
  std::size_t branch;
};

struct branch_plan {
  act a = act::succeed;
  err e = err::std_error;
  unsigned fail_first = 0;
  ns advance{0};             // on the first attempt, move the manual clock forward by this
  bool to_deadline = false;  // ... or exactly to the deadline
  std::uint32_t spin = 0;
};

struct plan {
  std::uint64_t index = 0;
  mode m = mode::inline_manual;
  store_kind sk = store_kind::memory;
  exec_kind ek = exec_kind::inline_;
  bool void_result = false;
  std::size_t n = 1;
  quorum::options opts;  // without clock and observer
  quorum::rule rule;
  std::string policy_text;
  std::vector<branch_plan> branches;
  bool observe = false;
  bool observer_throws = false;  // the observer throws (std or int) from every `started` event
  bool retry_std_only = false;
  // the driver (threads modes)
  int advances = 0;
  bool cancel_early = false, cancel_late = false;
  bool cancel_from_thread = false;  // another thread cancels while this one drives and joins
  bool destroy = false;             // no join: the handle's destructor ends the execution
  std::uint32_t cancel_spin = 0;
  std::optional<std::uint64_t> batch_first;  // run in a batch started at this index
  // store faults (threads modes): each record's reply comes back after up to `slow_reply`
  // yields (how many: a hash of slow_seed and the branch), and lost_reply's record throws
  // lost_reply_error after the store applied it
  std::uint32_t slow_reply = 0;
  std::uint64_t slow_seed = 0;
  std::optional<std::size_t> lost_reply;

  std::string describe() const {
    std::ostringstream o;
    if (batch_first) o << "in the batch at " << *batch_first << ": ";
    o << name(m) << ", " << name(sk) << ", " << name(ek) << (void_result ? ", void" : ", int")
      << ", N=" << n << ", " << policy_text << " (threshold " << rule.threshold << " of "
      << rule.total << ")";
    if (opts.timeout) o << ", timeout " << opts.timeout->count() << "ns";
    if (opts.deadline) o << ", deadline set";
    if (opts.retry.max_attempts > 1)
      o << ", retry " << opts.retry.max_attempts << "x interval " << opts.retry.interval.count()
        << "ns" << (retry_std_only ? " std-only" : "");
    if (opts.hedge_delay.count()) o << ", hedge " << opts.hedge_delay.count() << "ns";
    if (opts.on_late == quorum::late_completion::return_early) o << ", return_early";
    if (cancel_early || cancel_late) o << ", cancel";
    if (cancel_from_thread) o << ", cancel from a thread";
    if (destroy) o << ", destroyed without join";
    if (observer_throws) o << ", throwing observer";
    if (slow_reply) o << ", slow replies (up to " << slow_reply << " yields)";
    if (lost_reply) o << ", branch " << *lost_reply << "'s reply lost";
    o << ", acts:";
    for (const auto& b : branches) {
      static const char* const acts[] = {"S", "F", "R", "bS", "bF", "bX", "sS"};
      o << ' ' << acts[static_cast<int>(b.a)];
      if (b.a == act::flaky) o << b.fail_first;
      if (b.to_deadline) o << "@dl";
      if (b.advance.count()) o << "+" << b.advance.count();
    }
    return o.str();
  }
};

std::size_t draw_n(rng& r, std::size_t cap) {
  std::size_t n;
  const auto x = r.between(0, 99);
  if (x < 45)
    n = r.between(1, 4);
  else if (x < 80)
    n = r.between(5, 16);
  else
    n = r.between(17, max_n);
  return std::min(n, cap);
}

std::string draw_text(rng& r) {
  static const std::vector<std::string> pieces{"a",
                                               "Z",
                                               "7",
                                               " ",
                                               "\"",
                                               "\\",
                                               "/",
                                               "\n",
                                               "\t",
                                               "\x01",
                                               "\x7f",
                                               "\xC3\xA9",
                                               "\xE6\x9D\xB1",
                                               "\xF0\x9F\x98\x80",
                                               "\xE2\x80\xA8",
                                               "{",
                                               "}",
                                               "[",
                                               ","};
  std::string s;
  for (auto k = r.between(0, 6); k > 0; --k) s += r.pick(pieces);
  return s;
}

plan draw_plan(std::uint64_t index, rng& r, const shared_env& env,
               std::optional<mode> forced = std::nullopt) {
  plan p;
  p.index = index;
  const auto x = r.between(0, 999);
  p.m = forced    ? *forced
        : x < 800 ? mode::inline_manual
        : x < 950 ? mode::threads_manual
        : x < 985 ? mode::threads_real
                  : mode::inline_real;
  const bool threads = p.m == mode::threads_manual || p.m == mode::threads_real;
  const bool real = p.m == mode::threads_real || p.m == mode::inline_real;
  p.sk = r.pick(env.stores);
  p.ek = exec_kind::inline_;
  if (threads) {
#ifdef STRESS_HAVE_POOL
    p.ek = r.chance(0.5) ? exec_kind::pool : exec_kind::thread;
#else
    p.ek = exec_kind::thread;
#endif
  }
  p.void_result = r.chance(0.1);
  std::size_t cap = max_n;
  if (threads) cap = r.chance(0.05) ? max_n : 12;
  if (real) cap = 8;
  p.n = draw_n(r, cap);
  const std::size_t n = p.n;

  // the policy
  std::optional<quorum::policy> pol;
  const auto k = r.between(1, n);
  switch (r.between(0, 9)) {
    case 0:
      pol = quorum::at_least(k), p.policy_text = "at_least(" + std::to_string(k) + ")";
      break;
    case 1:
      pol = quorum::majority(), p.policy_text = "majority()";
      break;
    case 2:
      pol = quorum::all(), p.policy_text = "all()";
      break;
    case 3:
      pol = quorum::any(), p.policy_text = "any()";
      break;
    case 4: {
      const double f = r.chance(0.1) ? 1.0 : r.real(0.001, 1.0);
      pol = quorum::fraction(f), p.policy_text = "fraction(" + std::to_string(f) + ")";
      break;
    }
    case 5: {
      std::vector<std::uint32_t> votes(n);
      std::uint64_t total = 0;
      for (auto& v : votes) total += v = static_cast<std::uint32_t>(r.between(0, 3));
      if (total == 0) total += votes[0] = 1;
      const auto th = r.between(1, total);
      pol = quorum::weighted(votes, th),
      p.policy_text = "weighted(..., " + std::to_string(th) + ")";
      break;
    }
    case 6: {
      const auto f = r.between(0, n - 1);
      pol = quorum::max_failures(f), p.policy_text = "max_failures(" + std::to_string(f) + ")";
      break;
    }
    case 7: {
      const double f = r.real(0.0, 0.99);
      pol = quorum::failure_fraction(f),
      p.policy_text = "failure_fraction(" + std::to_string(f) + ")";
      break;
    }
    default:
      p.opts.quorum = k, p.policy_text = ".quorum = " + std::to_string(k);
      break;
  }
  p.opts.policy = pol;
  p.rule = pol ? pol->resolve(n) : quorum::at_least(k).resolve(n);

  // ids and names
  switch (r.between(0, 9)) {
    case 0:
    case 1:
    case 2:
    case 3:
      break;  // generated
    case 4:
      p.opts.execution_id = draw_text(r) + "#" + std::to_string(index);
      break;
    case 5:
      p.opts.execution_id = "again";
      break;  // reused once the previous holder closed it
    default:
      p.opts.execution_id = "x-" + std::to_string(index);
      break;
  }
  if (r.chance(0.15)) {
    // made distinct by their index: names must differ, and two drawn texts may be alike
    for (std::size_t i = 0; i < n; ++i)
      p.opts.names.push_back(draw_text(r) + "#" + std::to_string(i));
  }

  // time
  bool deadline = r.chance(0.7);
  const bool may_block = threads || p.m == mode::inline_real;
  // retries: in inline+manual mode every wait must be zero (nobody else moves the clock)
  if (r.chance(0.3)) {
    p.opts.retry.max_attempts = static_cast<unsigned>(r.between(1, 4));
    p.opts.retry.backoff_rate = r.real(1.0, 3.0);
    p.opts.retry.jitter = r.chance(0.5) ? quorum::jitter::full : quorum::jitter::none;
    if (p.m == mode::threads_manual && r.chance(0.5)) {
      p.opts.retry.interval = ns(r.between(1, 5'000'000));
      deadline = true;  // the waits end at the deadline at the latest
    } else if (real) {
      p.opts.retry.interval = ns(r.between(0, 30'000));
    }
    if (r.chance(0.3)) p.opts.retry.max_delay = ns(r.between(0, 2'000'000));
    p.retry_std_only = r.chance(0.2);
  }
  if (p.m == mode::threads_manual && r.chance(0.15)) {
    p.opts.hedge_delay = ns(r.between(1, 20'000'000));
    deadline = true;
  }
  if (real) {
    deadline = true;
    p.opts.timeout = ns(r.between(0, 300'000));
    if (p.m == mode::threads_real && r.chance(0.3)) p.opts.hedge_delay = ns(r.between(1, 50'000));
  } else if (deadline) {
    const auto y = r.between(0, 99);
    if (y < 3)
      p.opts.timeout = 0ns;
    else if (y < 6)
      p.opts.deadline = tp{} - ns(r.between(0, 1'000'000));  // relative; fixed up at start: past
    else if (y < 20)
      p.opts.deadline = tp{} + ns(r.between(1, 100'000'000));  // relative; fixed up at start
    else
      p.opts.timeout = ns(r.between(1, 100'000'000));
    if (y >= 6 && y < 20 && r.chance(0.3)) p.opts.timeout = ns(r.between(1, 100'000'000));
  }

  // branches
  p.branches.resize(n);
  const bool blocking_ok = may_block && deadline;
  for (auto& b : p.branches) {
    b.e = static_cast<err>(r.between(0, 2));
    const auto y = r.between(0, 99);
    if (y < 38)
      b.a = act::succeed;
    else if (y < 62)
      b.a = act::fail;
    else if (y < 77)
      b.a = act::flaky, b.fail_first = static_cast<unsigned>(r.between(1, 3));
    else if (y < 87 && blocking_ok)
      b.a = static_cast<act>(
          r.between(static_cast<int>(act::block_succeed), static_cast<int>(act::block_stopped)));
    else if (y < 93 && threads)
      b.a = act::spin_succeed, b.spin = static_cast<std::uint32_t>(r.between(0, 20'000));
    else
      b.a = r.chance(0.5) ? act::succeed : act::fail;
    if (!real && r.chance(0.15)) {
      if (deadline && r.chance(0.3))
        b.to_deadline = true;
      else
        b.advance = ns(r.between(0, 40'000'000));
    }
  }

  if (threads) {
    p.opts.on_late =
        r.chance(0.25) ? quorum::late_completion::return_early : quorum::late_completion::join;
    p.advances = static_cast<int>(r.between(0, 3));
    p.cancel_early = r.chance(0.05);
    p.cancel_late = r.chance(0.1);
    p.cancel_spin = static_cast<std::uint32_t>(r.between(0, 20'000));
    p.cancel_from_thread = r.chance(0.05);
    p.destroy = r.chance(0.08);
    // The store faults come from a generator of their own, seeded by a peek at r's next number
    // (a copy draws it; r does not advance): every other draw stays as it was, so the
    // executions that seeds printed before these faults existed are still the same.
    rng f(splitmix(std::mt19937_64(r.g)() ^ 0x5107'4e91ull));
    if (f.chance(0.3)) {
      p.slow_reply = static_cast<std::uint32_t>(f.between(1, 16));
      p.slow_seed = f.g();
    }
    if (f.chance(0.03)) p.lost_reply = f.between(0, n - 1);
  }
  p.observe = r.chance(0.25);
  p.observer_throws = p.observe && r.chance(0.2);
  return p;
}

// ---- the branches ------------------------------------------------------------------------------

int value_of(std::size_t i, unsigned attempt) { return static_cast<int>(i * 1000 + attempt); }

[[noreturn]] void throw_as(err e, std::size_t i) {
  switch (e) {
    case err::std_error:
      throw std::runtime_error("branch " + std::to_string(i) + " failed");
    case err::int_error:
      throw static_cast<int>(i);
    case err::custom_error:
      throw custom_failure{i};
  }
  throw 0;
}

void wait_for_stop(std::stop_token st) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lk(m);
  cv.wait(lk, st, [] { return false; });
}

void spin(std::uint32_t iterations) {
  std::atomic<std::uint32_t> x{0};
  for (std::uint32_t i = 0; i < iterations; ++i) x.fetch_add(1, std::memory_order_relaxed);
}

template <class T>
std::function<T(quorum::branch_context&)> make_branch(const branch_plan& b, std::size_t i,
                                                      probe* pr, quorum::manual_clock* mclk) {
  return [b, i, pr, mclk](quorum::branch_context& ctx) -> T {
    pr->in_flight.fetch_add(1, std::memory_order_relaxed);
    pr->ran.fetch_add(1, std::memory_order_relaxed);
    struct leave {
      probe* p;
      ~leave() { p->in_flight.fetch_sub(1, std::memory_order_release); }
    } guard{pr};
    const unsigned a = ctx.attempt();
    if (a == 1 && mclk) {
      if (b.to_deadline && ctx.deadline())
        mclk->set(*ctx.deadline());
      else if (b.advance.count() > 0)
        mclk->advance(b.advance);
    }
    bool ok = true;
    switch (b.a) {
      case act::succeed:
        break;
      case act::fail:
        ok = false;
        break;
      case act::flaky:
        ok = a > b.fail_first;
        break;
      case act::block_succeed:
        wait_for_stop(ctx.stop_token());
        break;
      case act::block_fail:
        wait_for_stop(ctx.stop_token()), ok = false;
        break;
      case act::block_stopped:
        wait_for_stop(ctx.stop_token());
        throw quorum::stopped{};
      case act::spin_succeed:
        spin(b.spin);
        break;
    }
    if (!ok) throw_as(b.e, i);
    if constexpr (!std::is_void_v<T>) return value_of(i, a);
  };
}

// ---- the oracle (inline + manual clock) ------------------------------------------------------

struct expected_branch {
  branch_status status = branch_status::cancelled;
  unsigned attempts = 0;
  bool late = false;
};
struct expected {
  decision d = decision::cancelled;
  std::optional<std::size_t> by;
  std::vector<expected_branch> branches;
};

bool retries(const plan& p, unsigned attempt, err e) {
  if (attempt >= p.opts.retry.max_attempts) return false;
  return !p.retry_std_only || e == err::std_error;
}

// Inline on a manual clock nobody else moves, every step is determined: predict it.
expected predict(const plan& p, tp start, std::optional<tp> deadline) {
  expected x;
  x.branches.resize(p.n);
  std::optional<decision> d;
  tp now = start;
  std::uint64_t yes = 0, no = 0;
  if (deadline && *deadline <= now) d = decision::timed_out;
  for (std::size_t i = 0; i < p.n; ++i) {
    auto& xb = x.branches[i];
    if (d) continue;  // never started: cancelled, 0 attempts
    const auto& b = p.branches[i];
    unsigned attempt = 0;
    bool ok = false;
    for (;;) {
      ++attempt;
      if (attempt == 1) {
        tp target = now;
        if (b.to_deadline && deadline)
          target = *deadline;
        else if (b.advance.count() > 0)
          target = now + b.advance;
        now = std::max(now, target);
        if (deadline && !d && now >= *deadline) d = decision::timed_out;  // fired inside the branch
      }
      ok = b.a == act::succeed || b.a == act::spin_succeed ||
           (b.a == act::flaky && attempt > b.fail_first);
      if (ok) break;
      if (d || !retries(p, attempt, b.e)) break;
    }
    const bool stopped = d.has_value();
    xb.attempts = attempt;
    xb.status = ok        ? branch_status::succeeded
                : stopped ? branch_status::cancelled
                          : branch_status::failed;
    xb.late = d.has_value();
    if (xb.late) continue;
    (ok ? yes : no) += p.rule.weight(i);
    if (yes >= p.rule.threshold) {
      d = decision::quorum_met, x.by = i;
    } else if (p.rule.total - no < p.rule.threshold) {
      d = decision::unreachable, x.by = i;
    }
  }
  x.d = d.value_or(decision::cancelled);
  return x;
}

// ---- checking one finished execution ----------------------------------------------------------

template <class T>
struct checker {
  const plan& p;
  report& rep;
  bool ok = true;

  void fail(const std::string& what) {
    if (ok) rep.violation(p.index, what, p.describe());
    ok = false;
  }

  bool error_is(const std::exception_ptr& e, const branch_plan& b, std::size_t i) {
    try {
      std::rethrow_exception(e);
    } catch (const quorum::stopped&) {
      return b.a == act::block_stopped;
    } catch (const std::runtime_error& x) {
      return b.e == err::std_error &&
             std::string(x.what()) == "branch " + std::to_string(i) + " failed";
    } catch (int v) {
      return b.e == err::int_error && v == static_cast<int>(i);
    } catch (const custom_failure& c) {
      return b.e == err::custom_error && c.branch == i;
    } catch (...) {
      return false;
    }
  }

  void check_json(const quorum::result<T>& r) {
    const auto text = quorum::to_json(r);
    auto doc = strict_json::parse(text);
    if (!doc) return fail("to_json is not valid JSON: " + text.substr(0, 300));
    using K = strict_json::value::kind;
    auto str = [&](const char* key) -> const std::string* {
      const auto* v = doc->get(key);
      return v && v->is(K::string) ? &v->str : nullptr;
    };
    auto names_of = [&](const char* key) -> std::optional<std::vector<std::string>> {
      const auto* v = doc->get(key);
      if (!v || !v->is(K::array)) return std::nullopt;
      std::vector<std::string> out;
      for (const auto& e : v->arr) {
        if (!e.is(K::string)) return std::nullopt;
        out.push_back(e.str);
      }
      return out;
    };
    std::vector<std::string> succ, failed, late;
    for (const auto& b : r.branches) {
      if (b.late)
        late.push_back(b.name);
      else if (b.status == branch_status::succeeded)
        succ.push_back(b.name);
      else if (b.status == branch_status::failed)
        failed.push_back(b.name);
    }
    if (!str("id") || *str("id") != r.execution_id) fail("JSON id differs from the result");
    const auto* to = doc->get("timeout_occurred");
    if (!to || !to->is(K::boolean) || to->b != (r.decision == decision::timed_out))
      fail("JSON timeout_occurred contradicts the decision");
    if (!str("decision") || *str("decision") != quorum::to_string(r.decision))
      fail("JSON decision differs");
    if (names_of("successful_processes") != succ)
      fail("JSON successful_processes differs from the counted successes");
    if (names_of("failed_processes") != failed)
      fail("JSON failed_processes differs from the counted failures");
    if (names_of("late_processes") != late) fail("JSON late_processes differs");
    const auto* by = doc->get("decided_by");
    if (!by) {
      fail("JSON lacks decided_by");
    } else if (r.decided_by) {
      if (!by->is(K::string) || by->str != r.branches[*r.decided_by].name)
        fail("JSON decided_by differs");
    } else if (!by->is(K::null)) {
      fail("JSON decided_by is not null");
    }
    const auto* bs = doc->get("branches");
    if (!bs || !bs->is(K::array) || bs->arr.size() != r.branches.size())
      return fail("JSON branches");
    for (std::size_t i = 0; i < r.branches.size(); ++i) {
      const auto& j = bs->arr[i];
      const auto& b = r.branches[i];
      const auto* nm = j.get("name");
      const auto* st = j.get("status");
      const auto* lt = j.get("late");
      const auto* at = j.get("attempts");
      if (!nm || nm->str != b.name || !st || st->str != quorum::to_string(b.status) || !lt ||
          lt->b != b.late || !at || at->num != b.attempts)
        return fail("JSON branch " + std::to_string(i) + " differs from the result");
      if constexpr (!std::is_void_v<T>) {
        const auto* v = j.get("value");
        if (!v || (b.value ? !(v->is(K::number) && v->num == *b.value) : !v->is(K::null)))
          return fail("JSON value of branch " + std::to_string(i) + " differs");
      }
    }
  }

  // A result taken at the decision (on_late = return_early) against the record at the end:
  // every branch the decision counted (recorded, not late) shows its final outcome, also one
  // whose record() had not returned when another's decided (plan::slow_reply), so the votes
  // that decided are all in the result.
  void check_early(const quorum::result<T>& e, const quorum::execution_record& rec) {
    if (e.branches.size() != p.n || rec.branches.size() != p.n)
      return fail("result at the decision: branch count");
    std::uint64_t yes = 0, no = 0;
    for (std::size_t i = 0; i < p.n; ++i) {
      const auto& b = e.branches[i];
      const auto& rb = rec.branches[i];
      if (rb.outcome && !rb.late) {
        const auto final_status =
            *rb.outcome == outcome::success ? branch_status::succeeded : branch_status::failed;
        if (b.status != final_status || b.late)
          fail("result at the decision shows branch " + std::to_string(i) + ", which it counted, " +
               std::string(quorum::to_string(b.status)) + (b.late ? "/late" : ""));
      }
      if (b.late) continue;
      if (b.status == branch_status::succeeded) yes += p.rule.weight(i);
      if (b.status == branch_status::failed) no += p.rule.weight(i);
    }
    const bool counted = p.rule.votes.empty();
    switch (e.decision) {
      case decision::quorum_met:
        if (counted ? e.successes() < p.rule.threshold : yes < p.rule.threshold)
          fail("result at the decision: quorum_met with " + std::to_string(e.successes()) +
               " successes (" + std::to_string(yes) + " votes), threshold " +
               std::to_string(p.rule.threshold));
        break;
      case decision::unreachable:
        if (counted ? e.failures() <= p.n - p.rule.threshold
                    : p.rule.total - no >= p.rule.threshold)
          fail("result at the decision: unreachable with " + std::to_string(e.failures()) +
               " failures (" + std::to_string(no) + " votes against), threshold " +
               std::to_string(p.rule.threshold) + " of " + std::to_string(p.rule.total));
        break;
      default:
        break;
    }
  }

  // plan::lost_reply, from the record at the end: once that branch's record() ran, the store's
  // error is what get() rethrows after the end (checked by the trial), and so does a result
  // taken at the decision when the decision counted that record (it was applied before the
  // deciding step). Recorded late, it may or may not: the record may come before or after
  // that get(). No other error may come out of get().
  void check_lost_reply(const probe& pr, const quorum::execution_record& rec, bool early_threw) {
    const bool ran = p.lost_reply && pr.records[*p.lost_reply].load() != 0;
    if (early_threw && !ran) return fail("result at the decision threw a store error never raised");
    if (!ran || p.opts.on_late != quorum::late_completion::return_early) return;
    const auto& rb = rec.branches[*p.lost_reply];
    if (rb.outcome && !rb.late && !early_threw)
      fail("result at the decision missed the error of a record it counted (branch " +
           std::to_string(*p.lost_reply) + "'s reply lost)");
  }

  // The destructor path: no final result, only the record close() saw, and the probe.
  void check_closed(const probe& pr, bool may_cancel,
                    const std::optional<quorum::result<T>>& early) {
    if (pr.closes.load() != 1) return fail("the record was not closed exactly once");
    if (!pr.closed) return fail("no record at close");
    const auto& rec = *pr.closed;
    if (pr.decided_now.load() != 1)
      fail(std::to_string(pr.decided_now.load()) + " store steps returned decided_now");
    if (!rec.decision) return fail("the record has no decision");
    if (pr.decisions_seen.load() != (1u << static_cast<unsigned>(*rec.decision)))
      fail("a tally's decision differs");
    if (pr.in_flight.load(std::memory_order_acquire) != 0)
      fail("a branch is still running after the destructor");
    if (*rec.decision == decision::cancelled && !may_cancel)
      fail("cancelled, but nobody cancelled");
    if (rec.branches.size() != p.n) return fail("branch count");
    std::uint64_t yes = 0, no = 0;
    std::size_t s = 0, f = 0;
    for (std::size_t i = 0; i < p.n; ++i) {
      const auto& rb = rec.branches[i];
      const int recorded = pr.records[i].load();
      if (recorded != (rb.outcome ? 1 : 0))
        fail("branch " + std::to_string(i) + " recorded " + std::to_string(recorded) + " times");
      if (!rb.outcome || rb.late) continue;
      const bool success = *rb.outcome == outcome::success;
      (success ? yes : no) += p.rule.weight(i);
      (success ? s : f) += 1;
    }
    if (s != rec.successes_at_decision || f != rec.failures_at_decision)
      fail("successes/failures_at_decision differ from the non-late outcomes");
    const bool met = yes >= p.rule.threshold, lost = p.rule.total - no < p.rule.threshold;
    switch (*rec.decision) {
      case decision::quorum_met:
        if (!met || !rec.decided_by) fail("quorum_met without the votes");
        break;
      case decision::unreachable:
        if (!lost || !rec.decided_by) fail("unreachable while reachable");
        break;
      default:
        if (met || lost || rec.decided_by)
          fail("timed_out/cancelled although the records had decided");
    }
    if (early) {
      if (early->decision != *rec.decision || early->decided_by != rec.decided_by)
        fail("result at the decision differs from the record");
      for (std::size_t i = 0; i < p.n && i < early->branches.size(); ++i) {
        const auto& b = early->branches[i];
        if (b.status == branch_status::running) continue;
        if (b.attempts == 0 ? rec.branches[i].outcome.has_value()
                            : (!rec.branches[i].outcome || b.late != rec.branches[i].late ||
                               (b.status == branch_status::succeeded) !=
                                   (*rec.branches[i].outcome == outcome::success)))
          fail("result at the decision: branch " + std::to_string(i) + " differs from the record");
      }
      check_early(*early, rec);
      check_json(*early);
    }
  }

  // Everything that must hold once every branch has ended.
  void check(const quorum::result<T>& r, const quorum::execution_record& rec, const probe& pr,
             bool we_cancelled, const std::optional<expected>& oracle,
             const std::optional<quorum::result<T>>& early) {
    const std::size_t n = p.n;
    // exactly one decision, made by exactly one atomic step, agreeing everywhere
    if (pr.decided_now.load() != 1)
      fail(std::to_string(pr.decided_now.load()) + " store steps returned decided_now");
    if (std::popcount(pr.decisions_seen.load()) != 1)
      fail("store tallies carried different decisions");
    if (!rec.decision) return fail("the record has no decision");
    if (*rec.decision != r.decision) fail("the result's decision differs from the record's");
    if (pr.decisions_seen.load() != (1u << static_cast<unsigned>(r.decision)))
      fail("a tally's decision differs");
    if (rec.decided_by != r.decided_by) fail("decided_by differs between result and record");
    if (r.branches.size() != n || rec.branches.size() != n) return fail("branch count");
    if (pr.in_flight.load(std::memory_order_acquire) != 0)
      fail("a branch is still running after join");
    if (r.decision == decision::cancelled && !we_cancelled) fail("cancelled, but nobody cancelled");
    if (r.decision == decision::timed_out) {
      if (!r.deadline)
        fail("timed_out without a deadline");
      else if (r.decided_at < *r.deadline)
        fail("timed_out before the deadline");
    }

    // votes at the decision, from the record: the non-late outcomes
    std::uint64_t yes = 0, no = 0;
    std::size_t s = 0, f = 0;
    int attempts_total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& b = r.branches[i];
      const auto& rb = rec.branches[i];
      const auto& bp = p.branches[i];
      attempts_total += static_cast<int>(b.attempts);
      const int recorded = pr.records[i].load();
      if (b.status == branch_status::running)
        fail("branch " + std::to_string(i) + " still running after join");
      if (b.attempts == 0) {
        if (b.status != branch_status::cancelled || rb.outcome || recorded != 0 || b.late)
          fail("branch " + std::to_string(i) + " never started but is recorded or not cancelled");
        continue;
      }
      if (recorded != 1)
        fail("branch " + std::to_string(i) + " recorded " + std::to_string(recorded) + " times");
      if (b.attempts > p.opts.retry.max_attempts) fail("more attempts than retry.max_attempts");
      if (!rb.outcome) {
        fail("branch " + std::to_string(i) + " ran but the record lost its outcome");
        continue;
      }
      const bool success = b.status == branch_status::succeeded;
      if (success != (*rb.outcome == outcome::success))
        fail("branch " + std::to_string(i) + ": result and record disagree");
      if (b.late != rb.late)
        fail("branch " + std::to_string(i) + ": late flag differs between result and record");
      if (b.status == branch_status::cancelled && !b.late)
        fail("a branch stopped by the decision was counted");
      // A blocking branch throws only once it has seen the stop request: its one attempt threw
      // after the request, which is `cancelled`, never `failed` (and it never retries).
      if ((bp.a == act::block_fail || bp.a == act::block_stopped) &&
          (b.status != branch_status::cancelled || b.attempts != 1))
        fail("branch " + std::to_string(i) + " threw after the stop request but is not cancelled");
      if (success) {
        if (b.error) fail("a success with an error");
        if constexpr (!std::is_void_v<T>) {
          if (b.value != value_of(i, b.attempts))
            fail("branch " + std::to_string(i) + " has the wrong value");
        }
      } else if (!b.error || !error_is(b.error, bp, i)) {
        fail("branch " + std::to_string(i) + " lost or changed its exception");
      }
      if (!b.started || !b.finished || *b.finished < *b.started) fail("branch times");
      if (rb.late) continue;
      (success ? yes : no) += p.rule.weight(i);
      (success ? s : f) += 1;
    }
    if (s != rec.successes_at_decision || f != rec.failures_at_decision)
      fail("successes/failures_at_decision differ from the non-late outcomes");
    if (r.successes() != s || r.failures() != f) fail("result counts differ from the record");
    if (attempts_total != pr.ran.load()) fail("attempts differ from the calls the branches saw");

    // the decision agrees with the records at the moment of deciding
    const bool met = yes >= p.rule.threshold;
    const bool lost = p.rule.total - no < p.rule.threshold;
    switch (r.decision) {
      case decision::quorum_met:
        if (!met) fail("quorum_met without the votes");
        if (!r.decided_by || r.branches[*r.decided_by].status != branch_status::succeeded ||
            r.branches[*r.decided_by].late)
          fail("quorum_met not decided by a counted success");
        else if (yes - p.rule.weight(*r.decided_by) >= p.rule.threshold)
          fail("quorum_met decided after the quorum already held");
        if (lost) fail("quorum_met and unreachable at once");
        if (p.rule.votes.empty() && rec.successes_at_decision < p.rule.threshold)
          fail("quorum_met with fewer than K successes");
        break;
      case decision::unreachable:
        if (!lost || met) fail("unreachable while still reachable");
        if (!r.decided_by || r.branches[*r.decided_by].status != branch_status::failed ||
            r.branches[*r.decided_by].late)
          fail("unreachable not decided by a counted failure");
        else if (p.rule.total - (no - p.rule.weight(*r.decided_by)) < p.rule.threshold)
          fail("unreachable decided after the quorum was already lost");
        if (p.rule.votes.empty() && rec.failures_at_decision <= n - p.rule.threshold)
          fail("unreachable with at most N-K failures");
        break;
      case decision::timed_out:
      case decision::cancelled:
        if (met || lost) fail("timed_out/cancelled although the records had decided");
        if (r.decided_by) fail("timed_out/cancelled with a deciding branch");
        break;
    }

    // the observer saw one decision and every branch once
    if (p.observe) {
      int ran_branches = 0;
      for (const auto& b : r.branches) ran_branches += b.attempts > 0;
      if (pr.ev_decided.load() != 1 || pr.ev_decision.load() != static_cast<int>(r.decision))
        fail("the observer did not see exactly the one decision");
      if (pr.ev_started.load() != ran_branches || pr.ev_terminal.load() != ran_branches)
        fail("the observer's started/terminal events differ from the branches that ran");
    }
    if (r.observer_errors != static_cast<std::size_t>(pr.ev_thrown.load()))
      fail("observer_errors differs from the throws of the observer");
    if ((r.observer_errors > 0) != (r.observer_error != nullptr)) fail("observer_error");

    // a result taken at the decision agrees with the final one
    if (early) {
      if (early->decision != r.decision || early->decided_by != r.decided_by)
        fail("return_early result differs");
      for (std::size_t i = 0; i < n && i < early->branches.size(); ++i) {
        const auto& e = early->branches[i];
        if (e.status != branch_status::running &&
            (e.status != r.branches[i].status || e.late != r.branches[i].late ||
             e.attempts != r.branches[i].attempts))
          fail("return_early showed branch " + std::to_string(i) + " finished differently");
      }
      check_early(*early, rec);
    }

    // the oracle's exact prediction (inline + manual clock)
    if (oracle) {
      if (oracle->d != r.decision)
        fail(std::string("oracle: expected ") + std::string(quorum::to_string(oracle->d)));
      if (oracle->by != r.decided_by) fail("oracle: decided_by");
      for (std::size_t i = 0; i < n; ++i) {
        const auto& x = oracle->branches[i];
        const auto& b = r.branches[i];
        if (x.status != b.status || x.attempts != b.attempts || x.late != b.late)
          fail("oracle: branch " + std::to_string(i) + " expected " +
               std::string(quorum::to_string(x.status)) + "/" + std::to_string(x.attempts) +
               (x.late ? "/late" : "") + ", got " + std::string(quorum::to_string(b.status)) + "/" +
               std::to_string(b.attempts) + (b.late ? "/late" : ""));
      }
    }

    if (pr.opens.load() != 1 || pr.closes.load() != 0)
      fail("the record was opened or closed wrongly");
    check_json(r);
  }
};

// ---- one execution -----------------------------------------------------------------------------

template <class T>
class trial {
 public:
  trial(plan p, shared_env& env, quorum::manual_clock* shared_clock) : p_(std::move(p)), env_(env) {
    if (p_.m == mode::threads_manual || p_.m == mode::inline_manual)
      clk_ = shared_clock ? shared_clock : &own_clock_.emplace();
    pr_.slow_reply = p_.slow_reply;
    pr_.slow_seed = p_.slow_seed;
    if (p_.lost_reply) pr_.lost_reply = *p_.lost_reply;
  }

  void start() {
    if (verbose) std::cout << "execution " << p_.index << ": " << p_.describe() << std::endl;
    auto o = p_.opts;
    const tp now = clk_ ? clk_->now() : quorum::steady_clock::instance().now();
    if (o.deadline) o.deadline = now + o.deadline->time_since_epoch();  // the plan's is relative
    o.clock = clk_ ? static_cast<quorum::clock*>(clk_) : nullptr;
    if (p_.retry_std_only) {
      o.retry.retry_if = [](const std::exception_ptr& e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::runtime_error&) {
          return true;
        } catch (...) {
          return false;
        }
      };
    }
    if (p_.observe) {
      o.observer = [pr = &pr_, throws = p_.observer_throws](const quorum::event& e) {
        switch (e.kind) {
          case quorum::event_kind::decided:
            pr->ev_decided.fetch_add(1);
            pr->ev_decision.store(static_cast<int>(*e.decision));
            break;
          case quorum::event_kind::started:
            pr->ev_started.fetch_add(1);
            if (throws) {
              pr->ev_thrown.fetch_add(1);
              if (e.branch && *e.branch % 2) throw 3;
              throw std::runtime_error("observer");
            }
            break;
          case quorum::event_kind::succeeded:
          case quorum::event_kind::failed:
          case quorum::event_kind::late:
            pr->ev_terminal.fetch_add(1);
            break;
          default:
            break;
        }
      };
    }
    // The execution's deadline if start() read the clock at `base`.
    auto deadline_from = [&o](tp base) {
      std::optional<tp> d = o.deadline;
      if (o.timeout) {
        const tp t = base + *o.timeout;
        if (!d || t < *d) d = t;
      }
      return d;
    };
    deadline_ = deadline_from(now);
    if (p_.m == mode::inline_manual) oracle_ = predict(p_, now, deadline_);
    std::vector<std::function<T(quorum::branch_context&)>> fs;
    fs.reserve(p_.n);
    for (std::size_t i = 0; i < p_.n; ++i)
      fs.push_back(make_branch<T>(p_.branches[i], i, &pr_, clk_));
    env_.with_store(p_.sk, &pr_, [&](auto& st) {
      env_.with_executor(p_.ek, [&](auto&& ex) {
        ex_.emplace(quorum::start(st, std::forward<decltype(ex)>(ex), o, std::move(fs)));
      });
    });
    // The library measures the timeout from its own read of the clock inside start(). On a
    // clock shared by a batch, the branches of the executions started before this one may move
    // it between our read of `now` and that one (found by seed 104372539491847, execution
    // 104914: the driver stopped 42 ms short of the real deadline and nobody moved the clock
    // again). That read lies between `now` and the clock after start() returns, so the real
    // deadline is at most `latest_deadline_`: the driver ends there.
    latest_deadline_ = clk_ ? deadline_from(clk_->now()) : deadline_;
    if (p_.cancel_early) cancel();
    if (p_.cancel_from_thread) {
      cancelled_ = true;  // before the cancel can happen
      canceller_ = std::jthread([this] {
        spin(p_.cancel_spin);
        ex_->cancel();
      });
    }
  }

  // Moves time and maybe cancels (threads modes), up to the point where a decision is certain.
  void drive(rng& r) {
    if (p_.m == mode::threads_manual) {
      for (int i = 0; i < p_.advances; ++i) {
        if (deadline_ && clk_->now() < *deadline_)
          clk_->advance((*deadline_ - clk_->now()) / static_cast<int>(r.between(2, 4)));
        else
          clk_->advance(ns(r.between(0, 5'000'000)));
      }
    }
    if (p_.cancel_late) {
      spin(p_.cancel_spin);
      cancel();
    }
    if (p_.m == mode::threads_manual && latest_deadline_ && clk_->now() < *latest_deadline_)
      clk_->set(*latest_deadline_);
  }

  void cancel() {
    cancelled_ = true;
    ex_->cancel();
  }

  void finish_and_check(report& rep) {
    checker<T> c{p_, rep};
    std::optional<quorum::result<T>> early;
    bool early_threw = false;  // the store's error (a lost reply) instead of a result
    // The result at the decision; a lost reply (plan::lost_reply) may come out of it instead.
    auto take_early = [&] {
      if (p_.opts.on_late != quorum::late_completion::return_early) return;
      try {
        early = ex_->get();
      } catch (const lost_reply_error& e) {
        early_threw = true;
        if (!p_.lost_reply || e.branch != *p_.lost_reply) c.fail("get() threw a lost reply");
      }
    };
    if (p_.destroy) {
      try {
        take_early();
        if (canceller_.joinable()) canceller_.join();
        ex_.reset();  // cancels if undecided, stops, joins every branch, closes the record
      } catch (...) {
        c.fail("threw on the destructor path");
      }
      if (pr_.closed) c.check_lost_reply(pr_, *pr_.closed, early_threw);
      c.check_closed(pr_, true, early);
      return;
    }
    try {
      take_early();
      ex_->join();
      if (canceller_.joinable()) canceller_.join();
      if (p_.lost_reply && pr_.records[*p_.lost_reply].load() != 0) {
        // The store's error comes out of get(); the decision (cancelled, unless a record,
        // maybe the lost one, decided first) is checked on the record, as without a result.
        try {
          (void)ex_->get();
          c.fail("get() returned although a record's reply was lost");
        } catch (const lost_reply_error& e) {
          if (e.branch != *p_.lost_reply) c.fail("get() rethrew another branch's lost reply");
        }
        ex_.reset();
        if (pr_.closed) c.check_lost_reply(pr_, *pr_.closed, early_threw);
        c.check_closed(pr_, true, early);
        return;
      }
      auto r = ex_->get();
      auto rec = ex_->record();
      c.check(r, rec, pr_, cancelled_, oracle_, early);
      c.check_lost_reply(pr_, rec, early_threw);
    } catch (const std::exception& e) {
      c.fail(std::string("threw: ") + e.what());
    } catch (...) {
      c.fail("threw a non-std exception");
    }
    ex_.reset();  // closes the record
    if (pr_.closes.load() != 1) c.fail("the record was not closed exactly once");
  }

  [[nodiscard]] quorum::manual_clock* clock() const { return clk_; }

 private:
  plan p_;
  shared_env& env_;
  probe pr_;
  std::optional<quorum::manual_clock> own_clock_;
  quorum::manual_clock* clk_ = nullptr;
  std::optional<tp> deadline_;         // from our read of the clock before start()
  std::optional<tp> latest_deadline_;  // from the clock after start(): never before the real one
  std::optional<expected> oracle_;
  std::optional<quorum::execution<T>> ex_;
  bool cancelled_ = false;
  std::jthread canceller_;  // last: joined first, while ex_ is alive
};

template <class T>
void run_one(const plan& p, shared_env& env, rng& r, report& rep) {
  trial<T> t(p, env, nullptr);
  t.start();
  t.drive(r);
  t.finish_and_check(rep);
}

// Several threaded executions at once on one store and one manual clock.
void run_batch(std::uint64_t first, std::size_t count, rng& r, shared_env& env, report& rep) {
  quorum::manual_clock clk;
  std::vector<std::unique_ptr<trial<int>>> ts;
  std::vector<plan> plans;
  for (std::size_t k = 0; k < count; ++k) {
    rep.current = first + k;
    auto p = draw_plan(first + k, r, env, mode::threads_manual);
    p.void_result = false;
    p.cancel_early = false;
    p.batch_first = first;
    if (p.opts.execution_id == "again") p.opts.execution_id.clear();  // several are open at once
    ts.push_back(std::make_unique<trial<int>>(p, env, &clk));
    ts.back()->start();
  }
  for (auto& t : ts) t->drive(r);
  for (std::size_t k = 0; k < ts.size(); ++k) {
    rep.current = first + k;
    ts[k]->finish_and_check(rep);
  }
}

std::size_t live_threads() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

std::uint64_t env_number(const char* var, std::uint64_t fallback) {
  const char* s = std::getenv(var);
  if (!s || !*s) return fallback;
  char* end = nullptr;
  const auto v = std::strtoull(s, &end, 0);
  if (*end != '\0') {
    std::cerr << "stress: ignoring " << var << "=\"" << s << "\" (not a number)\n";
    return fallback;
  }
  return v;
}

// What each thread of this process is doing, from /proc: "tid state wchan" per thread.
std::string thread_states() {
  std::string out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream stat(e.path() / "stat"), wchan(e.path() / "wchan");
    std::string line, where;
    std::getline(stat, line);
    std::getline(wchan, where);
    const auto close = line.rfind(')');
    const char state =
        close != std::string::npos && close + 2 < line.size() ? line[close + 2] : '?';
    out += "  thread " + e.path().filename().string() + " state " + state + " in " +
           (where.empty() ? "-" : where) + "\n";
  }
  return out;
}

// Reports an execution that makes no progress for QUORUM_STRESS_WATCHDOG seconds (default 300)
// and aborts, so a hang shows its seed and index (and what each thread is doing: state S with
// a futex wchan is a deadlock; R everywhere is a busy loop or a starved machine) instead of
// only ctest's timeout.
class watchdog {
 public:
  watchdog(report& rep, std::chrono::seconds limit)
      : thread_([&rep, limit](std::stop_token st) {
          std::mutex m;
          std::condition_variable_any cv;
          std::unique_lock lk(m);
          std::uint64_t last = rep.current.load();
          auto since = std::chrono::steady_clock::now();
          while (!st.stop_requested()) {
            cv.wait_for(lk, st, 1s, [] { return false; });
            const auto cur = rep.current.load();
            if (cur != last) {
              last = cur;
              since = std::chrono::steady_clock::now();
            } else if (std::chrono::steady_clock::now() - since > limit) {
              std::cerr << "stress: execution " << cur << " made no progress for " << limit.count()
                        << " s (QUORUM_STRESS_SEED=" << rep.seed
                        << " QUORUM_STRESS_ONLY=" << rep.replay.load() << "); aborting. Threads:\n"
                        << thread_states() << std::flush;
              std::abort();
            }
          }
        }) {}

 private:
  std::jthread thread_;
};

}  // namespace

int main() {
  report rep;
  rep.seed = env_number("QUORUM_STRESS_SEED", default_seed);
  const std::uint64_t total = env_number("QUORUM_STRESS_EXECUTIONS", default_executions);
  const char* only_env = std::getenv("QUORUM_STRESS_ONLY");
  const bool only = only_env && *only_env;
  const std::uint64_t first = only ? env_number("QUORUM_STRESS_ONLY", 0) : 0;
  const std::uint64_t end = only ? first + 1 : total;
  std::cout << "stress_executions: seed " << rep.seed << ", " << (end - first) << " executions"
            << " (reproduce with QUORUM_STRESS_SEED=" << rep.seed << ")" << std::endl;

  // QUORUM_STRESS_MODE=0..3 runs one mode only (for profiling; see enum mode)
  std::optional<mode> forced;
  if (const char* m = std::getenv("QUORUM_STRESS_MODE"); m && *m)
    forced = static_cast<mode>(env_number("QUORUM_STRESS_MODE", 0) & 3);
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t per_mode[4] = {};
  std::size_t threads_before = 0;
  {
    shared_env env;
    {  // the real clock's timer thread is process-wide: start it before counting threads
      auto t =
          quorum::steady_clock::instance().schedule(quorum::steady_clock::instance().now(), [] {});
    }
    watchdog dog(rep, std::chrono::seconds(env_number("QUORUM_STRESS_WATCHDOG", 300)));
    threads_before = live_threads();
    for (std::uint64_t i = first; i < end;) {
      rep.current = i;
      rep.replay = i;
      rng r(splitmix(rep.seed ^ splitmix(i)));
      if (r.chance(0.004)) {  // a batch of executions in flight at once
        const auto count =
            only ? r.between(2, 4) : std::min<std::uint64_t>(r.between(2, 4), total - i);
        run_batch(i, count, r, env, rep);
        per_mode[static_cast<int>(mode::threads_manual)] += count;
        i += count;
        rep.executions += count;
        continue;
      }
      const plan p = draw_plan(i, r, env, forced);
      ++per_mode[static_cast<int>(p.m)];
      try {
        if (p.void_result)
          run_one<void>(p, env, r, rep);
        else
          run_one<int>(p, env, r, rep);
      } catch (const std::exception& e) {
        rep.violation(i, std::string("start threw: ") + e.what(), p.describe());
      }
      ++i;
      ++rep.executions;
      if (rep.executions % 100000 == 0)
        std::cout << "stress_executions: " << rep.executions << " done so far, " << rep.violations
                  << " violations" << std::endl;
    }
    if (env.records_held() != 0)
      rep.violation(total, "stores still hold records after every execution ended", "");
    if (live_threads() != threads_before + 0) {
      // the pool's workers and the watchdog were counted in threads_before
      rep.violation(total,
                    "threads leaked: " + std::to_string(live_threads()) + " alive, " +
                        std::to_string(threads_before) + " before",
                    "");
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "stress_executions: by mode: " << per_mode[0] << " " << name(mode::inline_manual)
            << ", " << per_mode[1] << " " << name(mode::threads_manual) << ", " << per_mode[2]
            << " " << name(mode::threads_real) << ", " << per_mode[3] << " "
            << name(mode::inline_real) << "; " << secs << " s" << std::endl;
  std::cout << "stress: " << rep.executions << " executions, " << rep.violations
            << " invariant violations, seed " << rep.seed << std::endl;
  return rep.violations > 0 ? 1 : 0;
}
