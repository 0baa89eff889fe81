// quorum/store.hpp — where an execution's record lives, and what a store must provide.
//
// The store plays the part of the seed's DynamoDB item. Its one essential promise: recording a
// branch's outcome, counting, and deciding are ONE atomic step (record/expire/cancel), so
// exactly one call ever returns decided_now == true, and the decision never contradicts the
// record. Recording is idempotent per branch: the first outcome of a branch is kept, a replay
// changes nothing and counts nothing.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

#include "errors.hpp"
#include "policy.hpp"
#include "result.hpp"

namespace quorum {

/// What a branch reports to the store.
enum class outcome : std::uint8_t { success, failure };

/// What open() needs to create an execution's record.
struct execution_spec {
  std::string id{};          ///< unique among the executions the store holds
  std::size_t branches = 0;  ///< N
  quorum::rule rule{};       ///< the resolved policy: votes and threshold
};

/// The state of an execution's record right after one atomic store step.
struct tally {
  std::size_t successes = 0;                ///< successes recorded so far (late ones too)
  std::size_t failures = 0;                 ///< failures recorded so far (late ones too)
  std::optional<quorum::decision> decision{};  ///< the decision, once made
  std::optional<std::size_t> decided_by{};     ///< the branch whose record decided, if one did
  bool decided_now = false;   ///< this very call made the decision (true for exactly one call)
  bool recorded_now = false;  ///< this call recorded the branch (false for a replay)
  bool late = false;          ///< the branch's record came after the decision (for a replay:
                              ///< its first record, the one kept)
};

/// One branch as the record holds it.
struct branch_record {
  std::optional<quorum::outcome> outcome{};  ///< none until recorded
  bool late = false;                       ///< recorded after the decision
};

/// The whole record of one execution: the seed's final getItem.
struct execution_record {
  std::string id{};
  std::optional<quorum::decision> decision{};
  std::optional<std::size_t> decided_by{};
  std::size_t successes_at_decision = 0;  ///< successes counted when the decision was made
  std::size_t failures_at_decision = 0;   ///< failures counted when the decision was made
  std::vector<branch_record> branches{};
};

/// A store keeps execution records and makes the decision atomically with each record.
///   open(spec)        create the record; throw duplicate_execution_id if the id is held
///   record(h, i, o)   record branch i's outcome once, count, decide if the rule now holds
///   expire(h)         the deadline: decide timed_out unless already decided
///   cancel(h)         decide cancelled unless already decided
///   snapshot(h)       a consistent copy of the record
///   close(h)          the execution is over; the store may forget the record
/// All of them may be called concurrently from many threads, with one exception: close(h) ends
/// the handle, so no other call on that same handle may still be running or start after it
/// (the stores here free or reuse the record at once; the library closes only after every
/// branch has returned from its record and the deadline's timer is cancelled). Calls on other
/// handles may overlap it. The steps of one execution must also synchronise with one another
/// in the C++ sense (a lock, acq_rel read-modify-writes on the shared record, or a server
/// reached through a lock): what a thread did before a step that counted happens-before the
/// return of the step that decided. The library relies on it for a result taken at the
/// decision (on_late = return_early). Every store here does so.
/// The concept checks the calls; quorum::check_store (store_check.hpp) checks these promises.
template <class S>
concept store = requires { typename S::handle; } &&  // first: a non-store fails here, in one line
                requires(S& s, const execution_spec& spec, typename S::handle h,
                         std::size_t branch, outcome o) {
  requires std::copyable<typename S::handle>;
  { s.open(spec) } -> std::same_as<typename S::handle>;
  { s.record(h, branch, o) } -> std::same_as<tally>;
  { s.expire(h) } -> std::same_as<tally>;
  { s.cancel(h) } -> std::same_as<tally>;
  { s.snapshot(h) } -> std::same_as<execution_record>;
  s.close(h);
};

/// An optional extra a store may offer: `record(h, i, o, quorum::exclusive)`, the same record
/// step for a caller that promises that no other call on this handle runs at the same time, and
/// that whoever calls next on it is ordered after this call (happens-before). An execution
/// makes that promise while every call comes from one thread with nothing else able to reach
/// the handle: on inline_executor without a deadline. The store may then skip its atomic
/// read-modify-write (atomic_store does: a load and a store instead of a compare-and-swap).
/// A store without the overload is called as usual.
struct exclusive_t {
  explicit exclusive_t() = default;
};
inline constexpr exclusive_t exclusive{};

template <class S>
concept exclusive_recording = store<S> && requires(S& s, typename S::handle h, std::size_t branch,
                                                   outcome o) {
  { s.record(h, branch, o, exclusive) } -> std::same_as<tally>;
};

namespace detail {
// The one decision rule every in-process store applies under its atomic step. `rec` holds the
// branch outcomes; yes/no are the vote totals. Returns the tally for this step.
struct record_state {
  quorum::rule rule;
  std::vector<branch_record> branches;
  std::optional<quorum::decision> decision;
  std::optional<std::size_t> decided_by;
  std::uint64_t yes = 0, no = 0;
  std::size_t successes = 0, failures = 0;
  std::size_t successes_at_decision = 0, failures_at_decision = 0;

  void decide(quorum::decision d, std::optional<std::size_t> by, tally& t) {
    decision = d;
    decided_by = by;
    successes_at_decision = successes;
    failures_at_decision = failures;
    t.decided_now = true;
  }

  tally fill(tally t) const {
    t.successes = successes;
    t.failures = failures;
    t.decision = decision;
    t.decided_by = decided_by;
    return t;
  }

  tally record(std::size_t i, quorum::outcome o) {
    tally t;
    auto& b = branches.at(i);
    if (!b.outcome) {
      b.outcome = o;
      b.late = decision.has_value();
      t.recorded_now = true;
      if (o == quorum::outcome::success) {
        yes += rule.weight(i);
        ++successes;
        if (!decision && rule.met(yes)) decide(quorum::decision::quorum_met, i, t);
      } else {
        no += rule.weight(i);
        ++failures;
        if (!decision && rule.unreachable(no)) decide(quorum::decision::unreachable, i, t);
      }
    }
    t.late = b.late;
    return fill(t);
  }

  tally finish(quorum::decision d) {
    tally t;
    if (!decision) decide(d, std::nullopt, t);
    return fill(t);
  }

  execution_record snapshot(const std::string& id) const {
    return execution_record{id, decision, decided_by, successes_at_decision, failures_at_decision,
                            branches};
  }
};

// One execution's record behind its own lock: what memory_store and sharded_store hand out as
// their handle, so that record/expire/cancel/snapshot take only this lock (no map, no hashing).
struct locked_record {
  explicit locked_record(const execution_spec& spec) : id(spec.id) {
    st.rule = spec.rule;
    st.branches.resize(spec.branches);
  }

  tally record(std::size_t branch, quorum::outcome o) {
    std::lock_guard lk(m);
    return st.record(branch, o);
  }
  tally finish(quorum::decision d) {
    std::lock_guard lk(m);
    return st.finish(d);
  }
  execution_record snapshot() {
    std::lock_guard lk(m);
    return st.snapshot(id);
  }

  std::mutex m;
  const std::string id;
  record_state st;  // guarded by m
};

// The hash of an execution id, for a store's id map. Ids are short (the generated ones are
// 10 to 20 bytes), so this takes 8 bytes at a time with a multiply, then a finalizer that
// spreads every input bit over the whole word: a map's bucket (a modulo) and a shard index
// (the low bits) both see all of the id. Inline, a few instructions per 8 bytes, where
// std::hash is an out-of-line call several times the cost (a tenth of a trivial
// execution's time). Like std::hash it is unseeded: not a defence against ids chosen to
// collide.
[[nodiscard]] inline std::size_t hash_id(std::string_view id) noexcept {
  constexpr std::uint64_t mul = 0x9e3779b97f4a7c15u;  // 2^64 / golden ratio, odd
  std::uint64_t h = static_cast<std::uint64_t>(id.size()) * mul;
  const char* p = id.data();
  std::size_t left = id.size();
  for (; left >= 8; p += 8, left -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);  // a constant size: one unaligned load, no call
    h = (h ^ w) * mul;
    h ^= h >> 29;
  }
  if (left != 0) {
    std::uint64_t w = 0;
    for (std::size_t j = 0; j < left; ++j)
      w |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[j])) << (8 * j);
    h = (h ^ w) * mul;
  }
  // The 64-bit finalizer of MurmurHash3 (public domain constants): full avalanche.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdu;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53u;
  h ^= h >> 33;
  return static_cast<std::size_t>(h);
}

// An id map's key: a view of the id the entry owns and its hash, computed once by open() and
// kept in the entry, so that close() finds the node without hashing the id again. Equal views
// of the same bytes compare without reading them (close() looks up the very view it stored).
struct id_key {
  std::string_view id;
  std::size_t hash;
  bool operator==(const id_key& o) const noexcept {
    return hash == o.hash && id.size() == o.id.size() && (id.data() == o.id.data() || id == o.id);
  }
  struct hasher {
    std::size_t operator()(const id_key& k) const noexcept { return k.hash; }
  };
};

// A process-unique id with a random part, so ids from different processes do not collide.
// Form: 'q', 8 base-62 digits drawn once per process (~47 random bits), then a process-wide
// counter in base 62. Up to 62^6 executions that is at most 15 characters, so the id lives in
// std::string's small buffer: no allocation for it in start(), the store or the result.
// Written into `out` (start() passes the execution's own id: no temporary string). Also the
// tag of quorum::check_store's ids.
inline void make_execution_id(std::string& out) {
  static constexpr char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  static const std::array<char, 9> prefix = [] {
    std::uint64_t r =
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    try {
      std::random_device rd;
      r ^= (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    } catch (const std::exception&) {
      // No entropy source here: the clock alone still tells apart processes that start
      // at different times.
    }
    std::array<char, 9> p{'q'};
    for (std::size_t i = 1; i < p.size(); ++i, r /= 62) p[i] = digits[r % 62];
    return p;
  }();
  // Each thread takes the counter's values a block at a time: one shared read-modify-write
  // per `block` ids rather than per id. The blocks are disjoint, so the ids stay unique.
  // relaxed: only uniqueness matters, and every fetch_add returns a distinct value.
  // Small enough that a program starting each execution on a new thread still has ~900
  // million ids before they outgrow the small buffer.
  static constexpr std::uint64_t block = 64;
  static std::atomic<std::uint64_t> counter{0};
  thread_local std::uint64_t next = 0, end = 0;
  if (next == end) {
    next = counter.fetch_add(block, std::memory_order_relaxed);
    end = next + block;
  }
  std::uint64_t k = next++;
  // The counter's digits from the end of the buffer back, then the prefix just before them: a
  // copy of a constant size (inline), where moving the digits up to a prefix written first
  // took a call. 11 digits hold any 64-bit value (62^11 > 2^64).
  char buf[9 + 11];
  char* p = buf + sizeof buf;
  for (; k > 0xffffffffu; k /= 62) *--p = digits[k % 62];
  // The rest in 32 bits (all of it below 2^32 executions): a shorter division by 62.
  auto k32 = static_cast<std::uint32_t>(k);
  do {
    *--p = digits[k32 % 62];
    k32 /= 62;
  } while (k32 != 0);
  p -= prefix.size();
  std::memcpy(p, prefix.data(), prefix.size());
  out.clear();  // then append: a shorter path than assign, which allows for overlap
  out.append(p, static_cast<std::size_t>(buf + sizeof buf - p));
}

// A pause for a thread watching a word another thread will change: tells the CPU it is a
// spin-wait loop (fewer pipeline flushes, the sibling hyper-thread runs) and costs from a few
// nanoseconds to about a hundred, by CPU.
inline void cpu_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// How many CPUs the calling thread may run on: its affinity mask where the system says (a process
// pinned to one CPU, by taskset or a container's cpuset, gets 1 whatever the machine has),
// else std::thread::hardware_concurrency(), which counts the machine's. 0 when unknown.
[[nodiscard]] inline unsigned usable_cpus() noexcept {
#if defined(__linux__) && defined(CPU_COUNT)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<unsigned>(CPU_COUNT(&set));
#endif
  return std::thread::hardware_concurrency();
}

// The lock of a store's id map (memory_store's map, a shard of sharded_store's and
// atomic_store's). What it guards is an insert or an erase: a few dozen instructions. A thread
// that finds it held therefore waits best by watching it for a moment. std::mutex (a pthread
// mutex) instead puts the thread to sleep in the kernel at once, and its holder then pays a
// system call to wake it: two threads opening and closing executions of their own met in a
// shard often enough for those sleeps and wake-ups to make the two of them together slower
// than one alone (BM_StoreContention/{atomic,sharded}/lifecycle, bench/RESULTS.md).
//
// The word is 0 (free), 1 (held) or 2 (held, and a thread may be asleep on it). lock() tries
// once, then watches the word for up to spin_limit pauses (from a fraction of a microsecond to
// a few, by CPU: longer than the section, shorter than a sleep and a wake-up), trying again
// each time it reads 0. It watches with plain loads: a waiter shares the line rather than
// taking it exclusive on every try, as a loop of compare-and-swaps would. Past that the holder
// was preempted: the thread swaps in 2, which both tries for the lock and tells the holder to
// wake it, and sleeps on the word (std::atomic wait) until it reads other than 2. unlock()
// stores 0 and wakes one sleeper only if the word was 2. A thread that takes the lock by the
// swap leaves 2 behind, as it must: another thread may sleep on it too, and this thread's
// unlock is what wakes it. When none does, that notify is wasted, never lost.
//
// Memory order: every successful acquisition (the CAS, the swap) is acquire and unlock's swap
// is release, so a holder sees all that earlier holders wrote under the lock. The loads while
// watching are relaxed: they only decide when to try again.
class spin_then_wait_lock {
 public:
  void lock() noexcept {
    if (try_lock()) return;
    for (int i = 0; i < spin_limit; ++i) {
      cpu_pause();
      if (word_.load(std::memory_order_relaxed) == 0 && try_lock()) return;
    }
    while (word_.exchange(2, std::memory_order_acquire) != 0)
      word_.wait(2, std::memory_order_relaxed);
  }
  [[nodiscard]] bool try_lock() noexcept {
    std::uint32_t free = 0;
    return word_.compare_exchange_strong(free, 1, std::memory_order_acquire,
                                         std::memory_order_relaxed);
  }
  void unlock() noexcept {
    if (word_.exchange(0, std::memory_order_release) == 2) word_.notify_one();
  }
  /// For tests: true once a waiter has given up watching (it may be asleep on the lock).
  [[nodiscard]] bool may_have_sleeper() const noexcept {
    return word_.load(std::memory_order_relaxed) == 2;
  }

 private:
  static constexpr int spin_limit = 64;
  // 32 bits: libstdc++ waits on and notifies a 32-bit atomic directly through its futex, and a
  // notify with no sleeper costs a load (a 64-bit one goes through a process-wide proxy).
  std::atomic<std::uint32_t> word_{0};
};

// How many shards sharded_store and atomic_store split their id map into by default: 8 per
// hardware thread, so that threads opening and closing executions at once rarely meet.
[[nodiscard]] inline std::size_t default_shards() noexcept {
  const std::size_t hw = std::thread::hardware_concurrency();
  return 8 * (hw == 0 ? 1 : hw);
}

// The shards of an id map (sharded_store, atomic_store): a power of two of them, one picked by
// the low bits of an id's hash (hash_id's finalizer spreads every input bit over them).
// `Shard` has a lock `m` and a map `records` guarded by it.
template <class Shard>
class shard_array {
 public:
  // More shards than this buy nothing and would overflow bit_ceil or the allocation's size.
  static constexpr std::size_t max_count = std::size_t{1} << 16;

  explicit shard_array(std::size_t n)
      : count_(std::bit_ceil(std::clamp(n, std::size_t{1}, max_count))),
        shards_(std::make_unique<Shard[]>(count_)) {}

  [[nodiscard]] Shard& of(std::size_t hash) const noexcept { return shards_[hash & (count_ - 1)]; }
  [[nodiscard]] Shard& operator[](std::size_t i) const noexcept { return shards_[i]; }
  [[nodiscard]] std::size_t count() const noexcept { return count_; }

  // The records held, summed over the shards: exact only when nothing runs concurrently.
  [[nodiscard]] std::size_t records() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < count_; ++i) {
      std::lock_guard lk(shards_[i].m);
      n += shards_[i].records.size();
    }
    return n;
  }

 private:
  std::size_t count_;
  std::unique_ptr<Shard[]> shards_;
};

// What open() throws when the id is held, the same words from every store.
[[noreturn]] inline void throw_duplicate_id(const std::string& id) {
  throw duplicate_execution_id("quorum::options.execution_id = \"" + id +
                               "\" is already held by this store (an id is held from the "
                               "store's open() until its close())");
}

// What every store's open() checks first: a rule resolved for the spec's N, as
// policy::resolve() makes it (the library passes no other). A spec written by hand that is not
// (the default rule{} has no total) made the stores disagree with one another, and the
// one-word path of atomic_store, reading only the threshold, wait for ever for a decision
// with a threshold of 0. O(1) unless weighted.
inline void check_spec(const execution_spec& s) {
  const rule& r = s.rule;
  if (s.branches == 0) throw invalid_options("quorum: execution_spec.branches = 0: no branches");
  if (!r.votes.empty() && r.votes.size() != s.branches)
    throw invalid_options("quorum: execution_spec.rule.votes has " + std::to_string(r.votes.size()) +
                          " votes for " + std::to_string(s.branches) + " branches");
  std::uint64_t sum = s.branches;  // one each: votes empty
  if (!r.votes.empty()) {
    sum = 0;  // fewer than 2^32 votes (a vector of them) of fewer than 2^32 each: below 2^64
    for (auto v : r.votes) sum += v;
  }
  if (r.total != sum)
    throw invalid_options("quorum: execution_spec.rule.total = " + std::to_string(r.total) +
                          " is not the sum of the votes (" + std::to_string(sum) +
                          "): make the rule with a policy's resolve(n)");
  if (r.threshold == 0 || r.threshold > r.total)
    throw invalid_options("quorum: execution_spec.rule.threshold = " + std::to_string(r.threshold) +
                          " is outside 1.." + std::to_string(r.total));
}
}  // namespace detail

}  // namespace quorum
