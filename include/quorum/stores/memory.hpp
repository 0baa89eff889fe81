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
  struct entry {
    std::mutex m;
    std::string id;
    detail::record_state st;
  };

 public:
  /// A handle is a pointer to the record; valid from open() until close().
  using handle = entry*;

  memory_store() = default;
  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;

  [[nodiscard]] handle open(const execution_spec& spec) {
    auto e = std::make_unique<entry>();
    e->id = spec.id;
    e->st.rule = spec.rule;
    e->st.branches.resize(spec.branches);
    std::lock_guard lk(m_);
    auto [it, fresh] = records_.try_emplace(spec.id);
    if (!fresh)
      throw duplicate_execution_id("quorum::options.execution_id = \"" + spec.id +
                                   "\" is already held by this store");
    it->second = std::move(e);
    return it->second.get();
  }

  tally record(handle h, std::size_t branch, outcome o) {
    std::lock_guard lk(h->m);
    return h->st.record(branch, o);
  }

  tally expire(handle h) {
    std::lock_guard lk(h->m);
    return h->st.finish(decision::timed_out);
  }

  tally cancel(handle h) {
    std::lock_guard lk(h->m);
    return h->st.finish(decision::cancelled);
  }

  [[nodiscard]] execution_record snapshot(handle h) {
    std::lock_guard lk(h->m);
    return h->st.snapshot(h->id);
  }

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
  mutable std::mutex m_;
  std::unordered_map<std::string, std::unique_ptr<entry>> records_;
};

static_assert(store<memory_store>);

}  // namespace quorum
