// Regressions: each TEST_CASE is a failure that fault injection, the bad-input tests or the
// randomized stress found in the core, reduced to the smallest program that showed it. The
// name says what the user gets now; the comment says what happened before the fix.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <stop_token>
#include <string>

#include <quorum/quorum.hpp>

using namespace std::chrono_literals;

namespace {

// A manual clock whose schedule() throws, as a clock out of resources would.
class clock_without_timers final : public quorum::clock {
 public:
  quorum::manual_clock base;
  [[nodiscard]] time_point now() const noexcept override { return base.now(); }
  [[nodiscard]] quorum::timer schedule(time_point, std::function<void()>) override {
    throw std::runtime_error("no timers left");
  }
  bool sleep_until(time_point at, std::stop_token st) override { return base.sleep_until(at, std::move(st)); }
};

}  // namespace

// Found by tests/test_faults.cpp. start() armed the deadline after creating the handle but
// outside the code that accounts for branches never handed out; when the clock's schedule()
// threw, the handle's destructor waited for N branches that were never started: start() hung
// forever instead of reporting the error.
TEST_CASE("a clock whose schedule() throws makes start() throw that error instead of hanging" *
          doctest::timeout(30)) {
  clock_without_timers clk;
  quorum::memory_store store;
  std::atomic<int> ran{0};
  auto branch = [&] { return ran.fetch_add(1); };
  SUBCASE("threads") {
    CHECK_THROWS_WITH_AS((void)quorum::start(store, {.quorum = 1, .timeout = 1s, .clock = &clk}, branch, branch),
                         "no timers left", std::runtime_error);
  }
  SUBCASE("inline") {
    CHECK_THROWS_WITH_AS((void)quorum::quorum_parallel(store, quorum::inline_executor{},
                                                       {.quorum = 1, .timeout = 1s, .clock = &clk}, branch),
                         "no timers left", std::runtime_error);
  }
  CHECK(ran.load() == 0);
  CHECK(store.size() == 0);
}
