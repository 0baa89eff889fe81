// atomic_store keeps a closed record for reuse by the thread that closed it, and frees what it
// kept with the store, whenever and from wherever in a thread's life the record was closed.
//
// The record is over-aligned (alignas(64)), so it is made by the aligned operator new; this
// executable replaces that one to count the records alive, and the plain one to count the
// other allocations alive (a locked-path record's tables).
#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <quorum/stores/atomic.hpp>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>

namespace {
std::atomic<long> aligned_alive{0};
std::atomic<long> plain_alive{0};  // the other allocations (the tables of a locked-path record)
}  // namespace

// Every operator delete hands the pointer to a function that is not inlined: at -O2, g++ 12
// follows an inlined replacement into its std::free (or into the unsized operator delete that
// the sized one calls) and takes that for a mismatch with the operator new that made the
// pointer (-Wmismatched-new-delete).
namespace {
[[gnu::noinline]] void release(void* p, std::atomic<long>& alive) noexcept {
  if (p == nullptr) return;
  alive.fetch_sub(1);
  std::free(p);
}
}  // namespace

void* operator new(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  plain_alive.fetch_add(1);
  return p;
}
void operator delete(void* p) noexcept { release(p, plain_alive); }
void operator delete(void* p, std::size_t) noexcept { release(p, plain_alive); }

void* operator new(std::size_t n, std::align_val_t a) {
  const auto al = static_cast<std::size_t>(a);
  void* p = std::aligned_alloc(al, (n + al - 1) / al * al);
  if (p == nullptr) throw std::bad_alloc();
  aligned_alive.fetch_add(1);
  return p;
}
void operator delete(void* p, std::align_val_t) noexcept { release(p, aligned_alive); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  release(p, aligned_alive);
}

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
  // first is still kept for this thread, so it cannot be other's (the store has a slot for
  // each of this executable's few threads: none shares this thread's)
  CHECK(other != first);
  const auto t = store.record(other, 0, quorum::outcome::success);
  CHECK(t.successes == 1);
  const long with_first = aligned_alive.load();
  store.close(other);  // closed here: this thread keeps it instead of first, which is freed
  CHECK(aligned_alive.load() == with_first - 1);
  auto* x = store.open(spec("d"));
  CHECK(x == other);
  CHECK(store.record(x, 0, quorum::outcome::success).successes == 1);  // a fresh record
  store.close(x);
}

TEST_CASE("a thread that ended leaves one record kept, freed with the store") {
  const long before = aligned_alive.load();
  {
    quorum::atomic_store store;
    const long with_store = aligned_alive.load();
    std::jthread([&] {
      std::vector<quorum::atomic_store::handle> hs;
      for (int i = 0; i < 20; ++i) hs.push_back(store.open(spec("t" + std::to_string(i))));
      for (auto* h : hs) store.close(h);  // keeps the last, frees the rest
    }).join();
    CHECK(store.size() == 0);
    CHECK(aligned_alive.load() - with_store == 1);
  }
  CHECK(aligned_alive.load() == before);
}

// A thread_local of the user's, made before the thread first kept a record, is destroyed
// after every thread_local made later: its destructor's close() comes at the very end of the
// thread, and the record it closes is not lost.
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

TEST_CASE("a close from a thread_local destroyed at the end of its thread loses nothing") {
  const long before = aligned_alive.load();
  {
    quorum::atomic_store store;
    std::jthread([&] {
      thread_local closes_at_thread_exit late;  // made first: destroyed last
      late.store = &store;
      late.h = store.open(spec("late"));
      store.close(store.open(spec("kept")));
    }).join();
    CHECK(store.size() == 0);
  }
  CHECK(aligned_alive.load() == before);
}

// Regression (review): a thread's first record kept came after its thread_locals were
// destroyed (here from a pthread key's destructor, which glibc runs after them): the freer
// made for it then never ran, and the record was lost with the thread.
TEST_CASE("a record closed by a pthread key's destructor at thread exit is not lost") {
  static quorum::atomic_store* store = nullptr;
  const long before = aligned_alive.load();
  store = new quorum::atomic_store(4);
  pthread_key_t key;
  REQUIRE(pthread_key_create(&key, [](void*) { store->close(store->open(spec("at exit"))); }) ==
          0);
  std::jthread([&] { pthread_setspecific(key, &key); }).join();  // a thread new to the store
  pthread_key_delete(key);
  CHECK(store->size() == 0);
  delete store;
  CHECK(aligned_alive.load() == before);
}

// Regression (review): a record refused for its id was kept with the tables of the locked
// path (a weighted rule: the votes and the branches) where close() drops them.
TEST_CASE("a record refused for a held id is kept without its tables") {
  quorum::atomic_store store(1);
  auto* held = store.open(spec("held"));
  const quorum::execution_spec weighted{
      "held", 1000, quorum::weighted(std::vector<std::uint32_t>(1000, 1), 500).resolve(1000)};
  const long before = plain_alive.load();
  bool refused = false;
  try {
    (void)store.open(weighted);
  } catch (const quorum::duplicate_execution_id&) {
    refused = true;
  }
  const long after = plain_alive.load();
  CHECK(refused);
  CHECK(after == before);
  store.close(held);
}

}  // namespace
