// quorum/stores/memory.hpp — the default store: a map of records, each under its own lock.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "../errors.hpp"
#include "../store.hpp"

namespace quorum {

/// The default store: simple and obviously right. open/close take the map's lock; record,
/// expire, cancel and snapshot take only the execution's own lock, reached through the handle
/// (no hashing on the hot path). Forgets a record on close.
class memory_store {
  using entry = detail::locked_record;

 public:
  /// A handle is a pointer to the record; valid from open() until close().
  using handle = entry*;

  memory_store() = default;
  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;

  [[nodiscard]] handle open(const execution_spec& spec) {
    detail::check_spec(spec);
    auto e = std::make_unique<entry>(spec);
    std::lock_guard lk(m_);
    auto [it, fresh] = records_.try_emplace(spec.id);
    if (!fresh) detail::throw_duplicate_id(spec.id);
    it->second = std::move(e);
    return it->second.get();
  }

  tally record(handle h, std::size_t branch, outcome o) { return h->record(branch, o); }
  tally expire(handle h) { return h->finish(decision::timed_out); }
  tally cancel(handle h) { return h->finish(decision::cancelled); }
  [[nodiscard]] execution_record snapshot(handle h) { return h->snapshot(); }

  void close(handle h) {
    std::string id = h->id;  // erase destroys the entry the key would be read from
    std::lock_guard lk(m_);
    records_.erase(id);
  }

  /// Executions currently held.
  [[nodiscard]] std::size_t size() const {
    std::lock_guard lk(m_);
    return records_.size();
  }

 private:
  mutable detail::spin_then_wait_lock m_;
  std::unordered_map<std::string, std::unique_ptr<entry>> records_;
};

static_assert(store<memory_store>);

}  // namespace quorum
