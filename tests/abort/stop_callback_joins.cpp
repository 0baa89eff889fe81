// Joins or destroys the handle of an execution from a std::stop_callback registered on one of
// its branches' stop tokens. The callback runs on the thread that requests the stop: the
// deadline's work, or the branch whose record decided. From there a join waits for that very
// thread (on steady_clock it joined the deadline's own thread: std::system_error out of a
// noexcept function; from the deciding branch: a hang), and a destruction frees the execution
// under the call still running (a use after free under ASan on manual_clock). Found by a
// review. The handle now refuses: join() throws std::logic_error, which ends the process out
// of the stop callback with its message (request_stop() is noexcept); the destruction aborts
// with the handle's message. cmake/quorum_expect_abort.cmake checks both.
// argv[1]: "deadline_join" (steady_clock), "deadline_destroy" (manual_clock) or "branch_join".
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <latch>
#include <mutex>
#include <optional>
#include <quorum/quorum.hpp>
#include <stop_token>
#include <string_view>

using namespace std::chrono_literals;

namespace {

// The branch hands out its token, waits until the callback is registered, then blocks until
// stopped (a callback registered after the wait's own would run after it: this one runs first).
struct blocking_branch {
  std::optional<std::stop_token>* token;
  std::latch* got;
  std::latch* registered;
  int operator()(std::stop_token st) const {
    *token = st;
    got->count_down();
    registered->wait();
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lk(m);
    cv.wait(lk, st, [] { return false; });
    return 1;
  }
};

// The deadline (real time, steady_clock) requests the stop on the execution's deadline thread.
void deadline_join() {
  std::optional<std::stop_token> token;
  std::latch got(1), registered(1);
  auto h = quorum::start({.quorum = 1, .timeout = 50ms}, blocking_branch{&token, &got, &registered});
  got.wait();
  std::stop_callback cb(*token, [&] { h.join(); });
  registered.count_down();
  std::latch never(1);
  never.wait();  // the callback ends the process (or, unchecked, hangs: the script's timeout)
}

// The deadline on a manual_clock: its work runs on the thread calling advance().
void deadline_destroy() {
  quorum::manual_clock clk;
  std::optional<std::stop_token> token;
  std::latch got(1), registered(1);
  std::optional<quorum::execution<int>> h;
  quorum::options opts{.quorum = 1, .timeout = 1s};
  opts.clock = &clk;
  h.emplace(quorum::start(opts, blocking_branch{&token, &got, &registered}));
  got.wait();
  std::stop_callback cb(*token, [&] { h.reset(); });
  registered.count_down();
  clk.advance(1s);
  std::latch never(1);
  never.wait();
}

// The first branch's record decides: its thread publishes and requests the stop, while the
// second branch runs until stopped.
void branch_join() {
  std::optional<std::stop_token> token;
  std::latch got(1), registered(1);
  auto h = quorum::start(
      {.quorum = 1},
      [&](std::stop_token st) {
        token = st;
        got.count_down();
        registered.wait();
        return 1;
      },
      [](std::stop_token st) {
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lk(m);
        cv.wait(lk, st, [] { return false; });
        return 2;
      });
  got.wait();
  std::stop_callback cb(*token, [&] { h.join(); });
  registered.count_down();
  std::latch never(1);
  never.wait();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view which = argc > 1 ? argv[1] : "";
  if (which == "deadline_join") {
    deadline_join();
  } else if (which == "deadline_destroy") {
    deadline_destroy();
  } else if (which == "branch_join") {
    branch_join();
  } else {
    std::fputs("usage: stop_callback_joins deadline_join|deadline_destroy|branch_join\n", stderr);
    return 2;
  }
  return 0;  // not reached
}
