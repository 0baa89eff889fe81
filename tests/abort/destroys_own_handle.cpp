// Destroys (or assigns over) the handle of an execution from inside one of its own calls, the
// one misuse a throw cannot refuse: from its observer (which the observer contract forbids), or
// from one of its branches. That used to wait for itself (on a branch's thread) or free the
// execution under the running call (on the deadline's timer thread). The handle must now abort
// with a message; cmake/quorum_expect_abort.cmake runs this program and passes only on that.
// argv[1] picks the call: "branch" (the observer, on the deciding branch's thread), "timer"
// (the observer, on the deadline's timer thread) or "own_branch" (a branch's callable).
#include <chrono>
#include <cstdio>
#include <latch>
#include <optional>
#include <quorum/quorum.hpp>
#include <string_view>

using namespace std::chrono_literals;

namespace {

// Destroyed by the observer of the deciding branch, on that branch's thread.
void on_branch_thread() {
  std::optional<quorum::execution<int>> h;
  std::latch go(1);
  quorum::options opts{.quorum = 1};
  opts.observer = [&](const quorum::event& e) {
    if (e.kind == quorum::event_kind::decided) h.reset();
  };
  h.emplace(quorum::start(opts, [&] {
    go.wait();  // h is set before the branch can decide
    return 1;
  }));
  go.count_down();
  std::latch never(1);
  never.wait();  // the observer's call ends the process (or, unchecked, hangs: ctest's timeout)
}

// Assigned over by the observer of the deadline's decision, on the timer's thread.
void on_timer_thread() {
  quorum::manual_clock clk;
  quorum::execution<int> h;
  quorum::options opts{.quorum = 1, .timeout = 1s};
  opts.clock = &clk;
  opts.observer = [&](const quorum::event& e) {
    if (e.kind == quorum::event_kind::decided) h = quorum::execution<int>{};
  };
  h = quorum::start(opts, [](quorum::branch_context& ctx) {
    ctx.sleep_for(24h);  // on the clock: until the stop request
    return 1;
  });
  clk.wait_for_sleepers(1);
  clk.advance(1s);  // the deadline: its decided event calls the observer
  std::latch never(1);
  never.wait();
}

// Reset by the branch's own callable.
void in_own_branch() {
  std::optional<quorum::execution<int>> h;
  std::latch go(1);
  h.emplace(quorum::start({.quorum = 1}, [&] {
    go.wait();
    h.reset();
    return 1;
  }));
  go.count_down();
  std::latch never(1);
  never.wait();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view which = argc > 1 ? argv[1] : "";
  if (which == "branch") {
    on_branch_thread();
  } else if (which == "timer") {
    on_timer_thread();
  } else if (which == "own_branch") {
    in_own_branch();
  } else {
    std::fputs("usage: destroys_own_handle branch|timer|own_branch\n", stderr);
    return 2;
  }
  return 0;  // not reached
}
