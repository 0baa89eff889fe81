// quorum/stores/atomic.hpp — a store whose record step is one compare-and-swap on one word.
//
// For a counted rule (every branch one vote) and N <= atomic_store::packed_limit (28), an
// execution's whole state lives in one 64-bit atomic word:
//
//   bits  0..27   success bit of branch i   (bit i)
//   bits 28..55   failure bit of branch i   (bit 28 + i)
//   bits 56..57   an explicit decision: 0 none, 1 timed_out, 2 cancelled
//
// quorum_met and unreachable are not stored: they are read off the counts. The word decides
// `quorum_met` once popcount(successes) >= K and `unreachable` once popcount(failures) > N - K
// (both cannot hold, since successes + failures <= N), unless an explicit decision was set
// first. record() is a CAS that adds the branch's bit; the one CAS that moves the word from
// "undecided" to "decided" is the decision, so record + count + decide is one atomic step and
// exactly one call sees decided_now. expire()/cancel() CAS the explicit bits in, but only into
// an undecided word. No lock is taken on these paths.
//
// The decider then publishes the facts the word has no room for (who decided, the word as it
// was at the decision: the counts at the decision and which records were late) in a second
// word, `at_decision`, written once. A call that finds the execution decided by someone else
// reads that word; in the short window between the decider's CAS and its store it waits for
// it (spin, then atomic wait). So every call before the decision is lock-free, and a call after
// it at worst waits for the decider's next few instructions.
//
// Weighted rules and N > 28 take a locked path: the same detail::record_state as memory_store
// under a per-execution mutex (documented fallback; the semantics are identical).
//
// open()/close() keep the ids in a map split into shards by the id's hash, each under its own
// lock, as sharded_store does: with one lock for the whole map, two threads that each opened
// and closed executions of their own made every execution about eight times slower than one
// thread alone (BM_StoreContention/atomic/lifecycle). An execution's open and close go to the
// same shard. A shard's map is a hash table of the records themselves (id_table), linked
// through the records: opening an execution allocates nothing for the map, and its bucket is
// found by a shift, not by a division. The record a thread closed last is kept by the store
// for reuse by that thread, so that a steady stream of executions does not allocate its
// 64-byte-aligned record anew each time. Kept per shard instead, as it was, records moved
// between the threads that happened to meet in a shard, and with them their cache lines: two
// threads recorded fewer executions together than one alone.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "../errors.hpp"
#include "../store.hpp"

namespace quorum {

/// A store for fast, contended recording: per execution one atomic word, record() is one CAS
/// (see the header comment for the layout and the locked fallback). open/close take the lock
/// of one shard of the id map, chosen by the id's hash, as in sharded_store; the hot path
/// (record/expire/cancel) never hashes or locks on the packed path. Forgets a record on close.
class atomic_store {
 public:
  /// The largest N kept in one word; larger executions (and weighted rules) take the lock.
  static constexpr std::size_t packed_limit = 28;

 private:
  static constexpr unsigned fail_shift = 28;
  static constexpr unsigned explicit_shift = 56;
  static constexpr std::uint64_t explicit_mask = std::uint64_t{3} << explicit_shift;
  static constexpr std::uint64_t bits_mask = (std::uint64_t{1} << explicit_shift) - 1;
  // at_decision: bits 0..55 the branch bits at the decision, 56..58 the decision + 1,
  // 59..63 decided_by (31 = none). Zero means "not yet published".
  static constexpr unsigned kind_shift = 56;
  static constexpr unsigned by_shift = 59;
  static constexpr std::uint64_t no_branch = 31;

  using id_key = detail::id_key;  // the id and its hash, kept in the entry (see store.hpp)

  // Everything record() reads on the packed path shares the first cache line: one line to
  // fetch per execution, and the two words the recorders write live there too.
  struct alignas(64) entry {
    std::atomic<std::uint64_t> word{0};
    std::atomic<std::uint64_t> at_decision{0};
    // 1 once at_decision is written: what a reader that must wait for it sleeps on. A 32-bit
    // word, because libstdc++ notifies a 64-bit atomic through a proxy counter shared by the
    // whole process (a locked increment of a global cache line per notify, waiter or not);
    // a 32-bit one costs a load when nobody waits.
    std::atomic<std::uint32_t> published{0};
    std::size_t n = 0;
    std::uint64_t k = 0;      // threshold (packed path)
    std::uint64_t smask = 0;  // success bits of all N branches (packed path)
    bool packed = false;
    std::string id;
    std::size_t hash = 0;  // of id
    [[nodiscard]] id_key key() const noexcept { return {id, hash}; }
    entry* next = nullptr;  // the next record of its bucket, while a shard's id_table holds it
    // the locked path
    std::mutex m;
    detail::record_state st;

    // Make this (new or closed) record the fresh record of `spec`. Relaxed stores: the
    // record reaches other threads only through open()'s lock and the handle it returns.
    void reset(const execution_spec& spec, std::size_t id_hash) {
      word.store(0, std::memory_order_relaxed);
      at_decision.store(0, std::memory_order_relaxed);
      published.store(0, std::memory_order_relaxed);
      id = spec.id;
      hash = id_hash;
      n = spec.branches;
      packed = spec.rule.votes.empty() && spec.branches <= packed_limit;
      if (packed) {
        k = spec.rule.threshold;
        smask = (std::uint64_t{1} << spec.branches) - 1;
        if (!st.branches.empty()) st = detail::record_state{};  // a former locked-path record
      } else {
        st = detail::record_state{};
        st.rule = spec.rule;
        st.branches.resize(spec.branches);
      }
    }
  };

 public:
  /// A handle is a pointer to the record; valid from open() until close().
  using handle = entry*;

  /// 8 shards per hardware thread. Not explicit: `atomic_store s = {};` and a member of an
  /// aggregate initialised with `{}` compile, as they did before the id map had shards.
  atomic_store() : atomic_store(detail::default_shards()) {}
  /// `shards` is rounded up to a power of two, at most 65536.
  explicit atomic_store(std::size_t shards)
      : shards_(shards), kept_(std::make_unique<kept_slot[]>(shards_.count())) {}
  atomic_store(const atomic_store&) = delete;
  atomic_store& operator=(const atomic_store&) = delete;

  /// Create the record; throws duplicate_execution_id when the id is held.
  [[nodiscard]] handle open(const execution_spec& spec) {
    detail::check_spec(spec);
    // The common case, a steady stream of executions, reuses a record this thread closed.
    // The record is made ready outside the lock; under it, only the map's node is made and
    // linked. The id is hashed once, here; close() finds the node by the hash kept in the
    // entry (see id_key).
    const std::size_t hash = detail::hash_id(spec.id);
    std::unique_ptr<entry> e = take_kept();
    if (!e) e = std::make_unique<entry>();
    e->reset(spec, hash);
    shard& sh = shard_of(hash);
    {
      std::lock_guard lk(sh.m);
      if (sh.records.insert(e.get())) return e.release();  // the table owns it now
    }
    keep(std::move(e));
    detail::throw_duplicate_id(spec.id);
  }

  /// Record branch i's outcome once, count, and decide if the rule now holds.
  tally record(handle h, std::size_t branch, outcome o) {
    if (!h->packed) {
      std::lock_guard lk(h->m);
      return h->st.record(branch, o);
    }
    if (branch >= h->n) throw std::out_of_range("quorum::atomic_store: branch index out of range");
    const std::uint64_t mine = std::uint64_t{1} << branch;
    const std::uint64_t either = mine | (mine << fail_shift);
    const std::uint64_t bit = o == outcome::success ? mine : mine << fail_shift;
    // acquire: a replay or a late record reads at_decision after seeing the decided word; the
    // decider's release store of at_decision is ordered after the CAS we observe (see below).
    std::uint64_t w = h->word.load(std::memory_order_acquire);
    for (;;) {
      if (w & either) return replay(h, w, mine);
      // acq_rel: release publishes this record to every later step that reads the word (so a
      // snapshot or a decision seen elsewhere includes it); acquire makes the records before
      // it visible to us. On failure, acquire: we re-examine the fresher word.
      if (h->word.compare_exchange_weak(w, w | bit, std::memory_order_acq_rel,
                                        std::memory_order_acquire))
        break;
    }
    return counted(h, w, bit, branch, o == outcome::success);
  }

  /// The same for a caller that is alone on this handle (see quorum::exclusive_t): one plain
  /// load and one store of the word instead of a compare-and-swap. Release store, as the CAS's
  /// release half: whoever is next handed this handle sees the record through the hand-over.
  tally record(handle h, std::size_t branch, outcome o, exclusive_t) {
    if (!h->packed || branch >= h->n) return record(h, branch, o);
    const std::uint64_t mine = std::uint64_t{1} << branch;
    const std::uint64_t bit = o == outcome::success ? mine : mine << fail_shift;
    const std::uint64_t w = h->word.load(std::memory_order_relaxed);  // only we write it
    if (w & (mine | (mine << fail_shift))) return replay(h, w, mine);
    h->word.store(w | bit, std::memory_order_release);
    return counted(h, w, bit, branch, o == outcome::success);
  }

  /// The deadline: decide timed_out unless already decided.
  tally expire(handle h) { return finish(h, decision::timed_out, 1); }

  /// Decide cancelled unless already decided.
  tally cancel(handle h) { return finish(h, decision::cancelled, 2); }

  /// A consistent copy of the record.
  [[nodiscard]] execution_record snapshot(handle h) {
    if (!h->packed) {
      std::lock_guard lk(h->m);
      return h->st.snapshot(h->id);
    }
    const std::uint64_t w = h->word.load(std::memory_order_acquire);
    execution_record r;
    r.id = h->id;
    r.branches.resize(h->n);
    std::uint64_t at = 0;
    if (decided(h, w)) {
      at = wait_published(h);
      r.decision = kind_of(at);
      r.decided_by = by_of(at);
      const counts_t c = counts(h, at);
      r.successes_at_decision = static_cast<std::size_t>(c.successes);
      r.failures_at_decision = static_cast<std::size_t>(c.failures);
    }
    for (std::size_t i = 0; i < h->n; ++i) {
      const std::uint64_t mine = std::uint64_t{1} << i;
      auto& b = r.branches[i];
      if (w & mine)
        b.outcome = outcome::success;
      else if (w & (mine << fail_shift))
        b.outcome = outcome::failure;
      else
        continue;
      b.late = at != 0 && !(at & (mine | (mine << fail_shift)));
    }
    return r;
  }

  /// The execution is over: forget its record. The handle is invalid afterwards.
  void close(handle h) {
    shard& sh = shard_of(h->hash);
    bool held = false;
    {
      std::lock_guard lk(sh.m);
      held = sh.records.erase(h);
    }
    if (held) keep(std::unique_ptr<entry>(h));
  }

  /// Executions currently held (sums the shards; exact only when nothing runs concurrently).
  [[nodiscard]] std::size_t size() const { return shards_.records(); }

  /// The number of shards of the id map.
  [[nodiscard]] std::size_t shards() const noexcept { return shards_.count(); }

 private:
  // The successes and the failures of a word (or of an at_decision value: the same branch
  // bits), counted together. std::popcount becomes a libgcc call on baseline x86-64 (no
  // -mpopcnt); this is one inline bit count for both fields: the failure field is moved to bits
  // 32..59, next to the success field's 0..27, the usual bit-twiddling leaves each byte's count
  // in that byte, and one multiply sums the four bytes of each half into the half's top byte
  // (each sum at most 28: no carry crosses into the next byte). Always inlined: g++ kept it out
  // of line once counted() was inlined, a call per record for twenty instructions.
  struct counts_t {
    std::uint64_t successes, failures;
  };
  [[gnu::always_inline]] static counts_t counts(const entry* h, std::uint64_t w) noexcept {
    std::uint64_t x = (w & h->smask) | (((w >> fail_shift) & h->smask) << 32);
    x = x - ((x >> 1) & 0x5555555555555555u);
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    x *= 0x01010101u;
    return {(x >> 24) & 0xffu, x >> 56};
  }

  // The decision the word holds, if any (packed path).
  static std::optional<decision> decision_of(const entry* h, std::uint64_t w) noexcept {
    switch ((w & explicit_mask) >> explicit_shift) {
      case 1:
        return decision::timed_out;
      case 2:
        return decision::cancelled;
      default:
        break;
    }
    const auto [s, f] = counts(h, w);
    if (s >= h->k) return decision::quorum_met;
    if (f > h->n - h->k) return decision::unreachable;
    return std::nullopt;
  }
  static bool decided(const entry* h, std::uint64_t w) noexcept {
    return decision_of(h, w).has_value();
  }

  static decision kind_of(std::uint64_t at) noexcept {
    return static_cast<decision>(((at >> kind_shift) & 7u) - 1u);
  }
  static std::optional<std::size_t> by_of(std::uint64_t at) noexcept {
    const std::uint64_t by = at >> by_shift;
    if (by == no_branch) return std::nullopt;
    return static_cast<std::size_t>(by);
  }

  // Called once, by the call whose CAS decided, with the word as that CAS left it.
  static void publish(entry* h, std::uint64_t now, decision d,
                      std::optional<std::size_t> by) noexcept {
    const std::uint64_t at = (now & bits_mask) |
                             ((static_cast<std::uint64_t>(d) + 1u) << kind_shift) |
                             (std::uint64_t{by ? *by : no_branch} << by_shift);
    // release: whoever acquires a non-zero at_decision sees a complete value (it is one word,
    // so release is only needed for the CAS before it: a reader that saw the decided word
    // and then this value reads a consistent pair). The notify costs no system call unless a
    // reader is actually waiting (libstdc++ counts waiters), and no locked instruction (see
    // entry::published).
    h->at_decision.store(at, std::memory_order_release);
    h->published.store(1, std::memory_order_release);  // after at_decision: see wait_published
    h->published.notify_all();
  }

  // The decider's publication, once the word says decided. The wait is bounded by the
  // decider's few instructions between its CAS and its store (unless it is preempted there).
  static std::uint64_t wait_published(entry* h) noexcept {
    std::uint64_t at = h->at_decision.load(std::memory_order_acquire);
    for (int spin = 0; at == 0 && spin < 64; ++spin) {
      std::this_thread::yield();
      at = h->at_decision.load(std::memory_order_acquire);
    }
    while (at == 0) {
      // acquire on published, stored after at_decision with release: at_decision is there.
      h->published.wait(0, std::memory_order_acquire);
      at = h->at_decision.load(std::memory_order_acquire);
    }
    return at;
  }

  static tally fill(entry* h, std::uint64_t w, tally t) noexcept {
    const counts_t c = counts(h, w);
    t.successes = static_cast<std::size_t>(c.successes);
    t.failures = static_cast<std::size_t>(c.failures);
    if (decided(h, w)) {
      const std::uint64_t at = wait_published(h);
      t.decision = kind_of(at);
      t.decided_by = by_of(at);
    }
    return t;
  }

  // The tally of a record that added `bit` to the word `w`. One named result and one return:
  // the tally is written where the caller keeps it. (A copy of it, which a second return form
  // made the compiler emit, reloaded the fields just stored, piecewise, through wide loads
  // that stalled: a measurable share of a trivial branch's cost.) Always inlined into the two
  // record()s: called, it saved and restored four registers per record, about a fifth of its
  // instructions.
  [[gnu::always_inline]] static tally counted(entry* h, std::uint64_t w, std::uint64_t bit,
                                              std::size_t branch, bool success) noexcept {
    const std::uint64_t now = w | bit;
    // The counts after this record, and from them the ones before it (this record added one):
    // one count of both fields answers "was the word decided before?" and "is it decided now?". The
    // explicit bits (timed_out, cancelled) come first, as in decision_of().
    const auto [s, f] = counts(h, now);
    const bool before = (w & explicit_mask) != 0 || s - (success ? 1 : 0) >= h->k ||
                        f - (success ? 0 : 1) > h->n - h->k;
    tally t;
    t.recorded_now = true;
    t.late = before;
    t.successes = static_cast<std::size_t>(s);
    t.failures = static_cast<std::size_t>(f);
    if (before) {
      // A decision never changes once the word holds one: the decider's publication says it.
      const std::uint64_t at = wait_published(h);
      t.decision = kind_of(at);
      t.decided_by = by_of(at);
    } else if (s >= h->k || f > h->n - h->k) {
      const decision d = s >= h->k ? decision::quorum_met : decision::unreachable;
      t.decided_now = true;
      t.decision = d;
      t.decided_by = branch;
      publish(h, now, d, branch);
    }
    return t;
  }

  // A branch recorded before: nothing changes; report the record as it stands.
  static tally replay(entry* h, std::uint64_t w, std::uint64_t mine) noexcept {
    tally t;
    if (decided(h, w)) {
      const std::uint64_t at = wait_published(h);
      t.late = !(at & (mine | (mine << fail_shift)));
    }
    return fill(h, w, t);
  }

  tally finish(handle h, decision d, std::uint64_t code) {
    if (!h->packed) {
      std::lock_guard lk(h->m);
      return h->st.finish(d);
    }
    std::uint64_t w = h->word.load(std::memory_order_acquire);
    for (;;) {
      if (decided(h, w)) return fill(h, w, tally{});
      // acq_rel/acquire as in record(): the explicit decision is ordered with every record.
      if (h->word.compare_exchange_weak(w, w | (code << explicit_shift), std::memory_order_acq_rel,
                                        std::memory_order_acquire))
        break;
    }
    const std::uint64_t now = w | (code << explicit_shift);
    tally t;
    t.decided_now = true;
    publish(h, now, d, std::nullopt);
    return fill(h, now, t);
  }

  // The records a shard holds, by id: a hash table chained through entry::next, so that
  // linking a record allocates nothing (a node per open(), with std::unordered_map, was a
  // malloc and a free per execution). A power of two of buckets, picked by the hash's high
  // bits: its low bits picked the shard, so they are the same for every id here (hash_id's
  // finalizer spreads every input bit over the high ones too); a shift, where the map's prime
  // bucket count took a division on every insert and erase. Doubles at one record per bucket on
  // average; never shrinks, as the map did not. Owns the records it holds (the store's
  // destructor frees those never closed).
  class id_table {
   public:
    id_table() = default;
    id_table(const id_table&) = delete;
    id_table& operator=(const id_table&) = delete;
    ~id_table() {
      for (std::size_t b = 0; b < count_; ++b)
        for (entry* e = buckets_[b]; e != nullptr;) {
          entry* const next = e->next;
          delete e;
          e = next;
        }
    }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    // Link e, unless a record of its id is held: then false, and e is not linked. Throws only
    // std::bad_alloc (growing), with nothing changed.
    bool insert(entry* e) {
      if (count_ != 0) {
        for (const entry* x = buckets_[index(e->hash)]; x != nullptr; x = x->next)
          if (x->key() == e->key()) return false;
      }
      if (size_ >= count_) grow();
      entry*& head = buckets_[index(e->hash)];
      e->next = head;
      head = e;
      ++size_;
      return true;
    }

    // Unlink e; false when the table does not hold it.
    bool erase(const entry* e) noexcept {
      if (count_ == 0) return false;
      for (entry** p = &buckets_[index(e->hash)]; *p != nullptr; p = &(*p)->next) {
        if (*p == e) {
          *p = e->next;
          --size_;
          return true;
        }
      }
      return false;
    }

   private:
    static constexpr unsigned hash_bits = std::numeric_limits<std::size_t>::digits;

    [[nodiscard]] std::size_t index(std::size_t hash) const noexcept { return hash >> shift_; }

    void grow() {
      const std::size_t count = count_ == 0 ? 8 : count_ * 2;
      auto buckets = std::make_unique<entry*[]>(count);  // all null
      const auto shift = hash_bits - static_cast<unsigned>(std::countr_zero(count));
      for (std::size_t b = 0; b < count_; ++b) {
        for (entry* e = buckets_[b]; e != nullptr;) {
          entry* const next = e->next;
          entry*& head = buckets[e->hash >> shift];
          e->next = head;
          head = e;
          e = next;
        }
      }
      buckets_ = std::move(buckets);
      count_ = count;
      shift_ = shift;
    }

    std::unique_ptr<entry*[]> buckets_;
    std::size_t count_ = 0;  // buckets: 0, or a power of two from 8
    unsigned shift_ = 0;     // hash_bits - log2(count_): index() keeps the top log2(count_) bits
    std::size_t size_ = 0;
  };

  // Each shard starts on its own cache line, so two shards' locks never share one.
  struct alignas(64) shard {
    mutable detail::spin_then_wait_lock m;
    id_table records;  // guarded by m
  };

  // A closed record kept for reuse, by the store, for the thread that closed it: in that
  // thread's slot (one per shard, picked by a number each thread takes once), so that the
  // thread's next open() finds the record it closed last, cache lines and all. One record a
  // thread: what a thread's steady stream of executions needs. A slot is one atomic pointer,
  // taken and filled by one exchange each, so that keeping costs open() and close() one
  // read-modify-write apiece: a slot of several records behind a lock (two each) made one
  // thread's executions slower than allocating did. Two threads whose numbers pick one slot
  // share it; the exchange keeps that correct, and a record then changes threads, as a record
  // kept per shard used to all the time.
  //
  // The store owns them, not the thread: a thread_local with a destructor, made by the first
  // record a thread kept, was made too late to ever run when that record came after the
  // thread's thread_locals were destroyed (a pthread key's destructor: the record was lost), or
  // during dlclose of a plugin, from its statics' destructors (the thread's exit then called
  // into the unloaded plugin). The thread's number is trivially destructible (constinit, no
  // guard): nothing runs at a thread's exit, and the records go with the store.
  struct alignas(64) kept_slot {
    // acq_rel exchanges: the record's writes by the thread that kept it (its last execution,
    // the dropped tables below) happen before the taker's reset of it.
    std::atomic<entry*> record{nullptr};  // not copyable, so neither is the slot
    ~kept_slot() { delete record.load(std::memory_order_acquire); }
  };

  static std::size_t thread_number() noexcept {
    thread_local constinit std::size_t mine = 0;  // 0: not taken yet
    if (mine == 0) {
      static constinit std::atomic<std::size_t> next{0};
      mine = next.fetch_add(1, std::memory_order_relaxed) + 1;
    }
    return mine;
  }
  kept_slot& my_slot() const noexcept {
    return kept_[thread_number() & (shards_.count() - 1)];
  }

  [[nodiscard]] std::unique_ptr<entry> take_kept() noexcept {
    kept_slot& s = my_slot();
    if (s.record.load(std::memory_order_relaxed) == nullptr) return nullptr;  // no exchange
    return std::unique_ptr<entry>(s.record.exchange(nullptr, std::memory_order_acq_rel));
  }
  // Keeps e in this thread's slot; frees what the slot held, if anything.
  void keep(std::unique_ptr<entry> e) noexcept {
    // A locked-path record drops its tables now, not when it is reused.
    if (!e->packed) e->st = detail::record_state{};
    std::unique_ptr<entry> before(my_slot().record.exchange(e.release(), std::memory_order_acq_rel));
  }

  shard& shard_of(std::size_t hash) const noexcept { return shards_.of(hash); }

  detail::shard_array<shard> shards_;
  std::unique_ptr<kept_slot[]> kept_;  // shards_.count() of them
};

static_assert(store<atomic_store>);

}  // namespace quorum
