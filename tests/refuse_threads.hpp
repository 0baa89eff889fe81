// tests/refuse_threads.hpp — lets a test make the system refuse one thread creation.
//
// Include it in exactly one translation unit of a test executable: it defines pthread_create
// in front of the C library's. The sanitizers intercept pthread_create themselves, so under
// them it defines nothing and QUORUM_TEST_SANITIZED is set: guard the tests that need it with
// `#if !defined(QUORUM_TEST_SANITIZED)` (the plain and clang builds run them).
#pragma once

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define QUORUM_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define QUORUM_TEST_SANITIZED 1
#endif

#if !defined(QUORUM_TEST_SANITIZED)
#include <dlfcn.h>
#include <pthread.h>

#include <atomic>
#include <cerrno>

namespace test_support {
// The creation to refuse, counting from 1; 0 refuses none. `created` counts the creations
// asked for while a refusal was armed.
inline std::atomic<int> refuse_at{0};
inline std::atomic<int> created{0};

// Refuses the k-th thread creation from now (k >= 1) while it lives.
class refuse_thread {
 public:
  explicit refuse_thread(int k) {
    created = 0;
    refuse_at = k;
  }
  refuse_thread(const refuse_thread&) = delete;
  refuse_thread& operator=(const refuse_thread&) = delete;
  ~refuse_thread() { refuse_at = 0; }
  /// Thread creations asked for so far, the refused one included.
  [[nodiscard]] int asked() const { return created.load(); }
};
}  // namespace test_support

extern "C" int pthread_create(pthread_t* t, const pthread_attr_t* a, void* (*f)(void*), void* arg) {
  using real_t = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
  static const auto real = reinterpret_cast<real_t>(dlsym(RTLD_NEXT, "pthread_create"));
  const int k = test_support::refuse_at.load();
  if (k != 0 && test_support::created.fetch_add(1) + 1 == k) return EAGAIN;
  return real(t, a, f, arg);
}
#endif
