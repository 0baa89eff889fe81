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

  void block(std::stop_token st) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lk(m);
    cv.wait(lk, st, [] { return false; });
    stopped.fetch_add(1);
    throw quorum::stopped{};
  }
};

// A one-shot gate a test opens; branches wait on it ignoring their stop token.
struct gate {
  std::mutex m;
  std::condition_variable cv;
  bool open_ = false;

  void open() {
    std::lock_guard lk(m);
    open_ = true;
    cv.notify_all();
  }
  void wait() {
    std::unique_lock lk(m);
    cv.wait(lk, [&] { return open_; });
  }
};

}  // namespace test_support
