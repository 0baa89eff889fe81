// quorum/stores/sharded.hpp — memory_store's design, split by execution id over many locks.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "../errors.hpp"
#include "../store.hpp"

namespace quorum {

/// A store for many concurrent executions. The id map is split into shards (a power of two,
/// chosen by the id's hash), each with its own lock, so open/close of different executions
/// rarely contend. As in memory_store, record/expire/cancel/snapshot reach the record through
/// the handle and take only that execution's lock: no hashing and no shard lock on the hot
/// path. Forgets a record on close.
class sharded_store {
  struct entry : detail::locked_record {
    using locked_record::locked_record;
    std::size_t hash = 0;  // of id: picks the shard, and is the map's hash (see detail::id_key)
    [[nodiscard]] detail::id_key key() const noexcept { return {id, hash}; }
  };

  // Each shard starts on its own cache line, so two shards' locks never share one.
  struct alignas(64) shard {
    detail::spin_then_wait_lock m;
    std::unordered_map<detail::id_key, std::unique_ptr<entry>, detail::id_key::hasher>
        records;  // keys view entry::id
  };

 public:
  /// A handle is a pointer to the record; valid from open() until close().
  using handle = entry*;

  /// 8 shards per hardware thread (not explicit, as atomic_store's).
  sharded_store() : sharded_store(detail::default_shards()) {}
  /// `shards` is rounded up to a power of two, at most 65536.
  explicit sharded_store(std::size_t shards) : shards_(shards) {}
  sharded_store(const sharded_store&) = delete;
  sharded_store& operator=(const sharded_store&) = delete;

  /// Create the record; throws duplicate_execution_id when the id is held.
  [[nodiscard]] handle open(const execution_spec& spec) {
    detail::check_spec(spec);
    auto e = std::make_unique<entry>(spec);
    e->hash = detail::hash_id(e->id);  // once: the shard and the shard's map both use it
    auto& s = shards_.of(e->hash);
    std::lock_guard lk(s.m);
    auto [it, fresh] = s.records.try_emplace(e->key());
    if (!fresh) detail::throw_duplicate_id(spec.id);
    it->second = std::move(e);
    return it->second.get();
  }

  tally record(handle h, std::size_t branch, outcome o) { return h->record(branch, o); }
  tally expire(handle h) { return h->finish(decision::timed_out); }
  tally cancel(handle h) { return h->finish(decision::cancelled); }
  [[nodiscard]] execution_record snapshot(handle h) { return h->snapshot(); }

  /// The execution is over: forget its record. The handle is invalid afterwards.
  void close(handle h) {
    auto& s = shards_.of(h->hash);
    std::lock_guard lk(s.m);
    s.records.erase(h->key());  // the key views h->id: erase before h dies
  }

  /// Executions currently held (sums the shards; exact only when nothing runs concurrently).
  [[nodiscard]] std::size_t size() const { return shards_.records(); }

  /// The number of shards.
  [[nodiscard]] std::size_t shards() const noexcept { return shards_.count(); }

 private:
  detail::shard_array<shard> shards_;
};

static_assert(store<sharded_store>);

}  // namespace quorum
