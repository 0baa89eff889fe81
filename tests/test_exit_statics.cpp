// At exit: a static of the program's, made before the library's own statics, uses the library
// from its destructor (a service that says goodbye to its replicas with a timeout).
//
// The check runs after main() returned, when the statics made during main() (the timer
// thread, steady_clock::instance(), the table of default names: all first used by the test
// case below) have had their destructors run if they have any. A failure exits with status 1;
// a timer thread that is gone leaves the deadline unfired and the process hanging (CTest's
// timeout reports it).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stop_token>

#include <quorum/quorum.hpp>

using namespace std::chrono_literals;

namespace {

// Returns when its stop is requested: only the deadline can end this execution.
void block(std::stop_token st) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lk(m);
  cv.wait(lk, st, [] { return false; });
}

struct goodbye {
  std::atomic<bool> armed{false};
  quorum::timer far;  // cancelled by its destructor, after ~goodbye's body

  goodbye() noexcept {}  // made by dynamic initialisation, before main()
  ~goodbye() {
    if (!armed.load()) return;  // only in the run of the test case below
    auto r = quorum::quorum_parallel({.quorum = 1, .timeout = 1ms}, block);
    if (r.decision != quorum::decision::timed_out || r.branches.size() != 1 ||
        r.branches[0].name != "Process 1") {
      std::fputs("test_exit_statics: the execution run at exit went wrong\n", stderr);
      std::_Exit(1);
    }
    std::fputs("test_exit_statics: the execution run at exit timed out as it should\n", stderr);
  }
};
goodbye at_exit;

}  // namespace

TEST_CASE("a static made before the library's own can run an execution from its destructor") {
  // Regression (cold review): the timer thread, steady_clock::instance() and the default
  // names were statics made on first use, so destroyed at exit before any static made
  // earlier: that static's destructor scheduled its deadline on a timer thread already
  // joined (the execution never timed out), cancelled a timer in a destroyed queue, and read
  // names from a freed table.
  auto r = quorum::quorum_parallel({.quorum = 1, .timeout = 1ms}, block);  // first use: here
  CHECK(r.decision == quorum::decision::timed_out);
  auto& clk = quorum::steady_clock::instance();
  at_exit.far = clk.schedule(clk.now() + 1h, []() noexcept {});
  at_exit.armed = true;  // the rest happens in ~goodbye, after main()
}
