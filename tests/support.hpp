// tests/support.hpp — small deterministic building blocks shared by the lead's test files.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stop_token>

#include <quorum/quorum.hpp>

namespace test_support {

// Blocks the calling branch until its stop token is requested, then throws quorum::stopped.
// Counts how many branches saw their stop request.
struct stop_waiter {
  std::atomic<int> stopped{0};

  [[noreturn]] void block(std::stop_token st) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lk(m);
    cv.wait(lk, st, [] { return false; });
    stopped.fetch_add(1);
    throw quorum::stopped{};
  }
};

// A one-shot gate the test opens. Branches wait on it either ignoring their stop token, or
// giving up when their stop is requested (then wait returns false).
class gate {
 public:
  void open() {
    {
      std::lock_guard lk(m_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lk(m_);
    cv_.wait(lk, [&] { return open_; });
  }
  // True when opened, false when stopped first.
  bool wait(std::stop_token st) {
    std::unique_lock lk(m_);
    return cv_.wait(lk, st, [&] { return open_; });
  }

 private:
  std::mutex m_;
  std::condition_variable_any cv_;
  bool open_ = false;
};

}  // namespace test_support
