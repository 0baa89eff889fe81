// atomic_store keeps a closed record for reuse by the thread that closed it, and frees what a
// thread kept when the thread ends, whatever the order of its thread_locals' destructors.
//
// The record is over-aligned (alignas(64)), so it is made by the aligned operator new; this
// executable replaces that one (and only that one) to count the records alive.
#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <quorum/stores/atomic.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {
std::atomic<long> aligned_alive{0};
}  // namespace

void* operator new(std::size_t n, std::align_val_t a) {
  const auto al = static_cast<std::size_t>(a);
  void* p = std::aligned_alloc(al, (n + al - 1) / al * al);
  if (p == nullptr) throw std::bad_alloc();
  aligned_alive.fetch_add(1);
  return p;
}
void operator delete(void* p, std::align_val_t) noexcept {
  if (p == nullptr) return;
  aligned_alive.fetch_sub(1);
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t a) noexcept { operator delete(p, a); }

namespace {

quorum::execution_spec spec(std::string id) {
  return quorum::execution_spec{std::move(id), 3, quorum::at_least(2).resolve(3)};
}

TEST_CASE("atomic_store reuses a closed record on the thread that closed it, not on another") {
  quorum::atomic_store store;
  auto* first = store.open(spec("a"));
  store.close(first);
  auto* again = store.open(spec("b"));
  CHECK(again == first);  // this thread's kept record
  store.close(again);

  quorum::atomic_store::handle other = nullptr;
  std::jthread([&] { other = store.open(spec("c")); }).join();
  CHECK(other != first);  // first is still kept by this thread, so it cannot be other's
  const auto t = store.record(other, 0, quorum::outcome::success);
  CHECK(t.successes == 1);
  store.close(other);  // closed here: this thread now keeps both
  auto* x = store.open(spec("d"));
  auto* y = store.open(spec("e"));
  CHECK(((x == first && y == other) || (x == other && y == first)));
  store.close(x);
  store.close(y);
}

TEST_CASE("the records a thread kept are freed when it ends") {
  quorum::atomic_store store;
  const long before = aligned_alive.load();
  std::jthread([&] {
    std::vector<quorum::atomic_store::handle> hs;
    for (int i = 0; i < 20; ++i) hs.push_back(store.open(spec("t" + std::to_string(i))));
    for (auto* h : hs) store.close(h);  // keeps some, frees the rest
  }).join();
  CHECK(aligned_alive.load() == before);
}

// A thread_local of the user's, made before the thread first kept a record, is destroyed after
// the thread_local that frees the kept records: its destructor's close() comes too late to
// keep the record, and must free it instead.
struct closes_at_thread_exit {
  quorum::atomic_store* store = nullptr;
  quorum::atomic_store::handle h = nullptr;
  closes_at_thread_exit() = default;
  closes_at_thread_exit(const closes_at_thread_exit&) = delete;
  closes_at_thread_exit& operator=(const closes_at_thread_exit&) = delete;
  ~closes_at_thread_exit() {
    if (store != nullptr) store->close(h);
  }
};

TEST_CASE("a close from a thread_local destroyed after the kept records were freed frees it") {
  quorum::atomic_store store;
  const long before = aligned_alive.load();
  std::jthread([&] {
    thread_local closes_at_thread_exit late;  // made first: destroyed last
    late.store = &store;
    late.h = store.open(spec("late"));
    store.close(store.open(spec("kept")));  // the thread's first kept record: its freer is made
  }).join();
  CHECK(store.size() == 0);
  CHECK(aligned_alive.load() == before);
}

}  // namespace
