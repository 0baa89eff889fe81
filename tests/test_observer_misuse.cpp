// What the observer contract forbids and a throw cannot refuse: destroying (or assigning over)
// the handle of the execution being observed, from its own observer. That call used to wait for
// itself (on a branch's thread) or free the execution under the running call (on the deadline's
// timer thread); it now ends the process with a message that says what happened. Each case runs
// in a child process (fork) whose end and standard error the test reads. A child that went on
// instead would hang in its last wait, and ctest's timeout would report the test.
#include <doctest/doctest.h>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <latch>
#include <optional>
#include <quorum/quorum.hpp>
#include <string>

using namespace std::chrono_literals;

namespace {

struct outcome {
  bool aborted = false;  // ended by SIGABRT
  std::string err;       // what it wrote to standard error
};

// Runs body() in a child process with its standard error piped here.
template <class F>
outcome in_child(F body) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    body();
    ::_exit(0);  // not reached when the misuse is caught
  }
  ::close(fds[1]);
  outcome o;
  char buf[512];
  for (;;) {
    const ssize_t k = ::read(fds[0], buf, sizeof buf);
    if (k > 0) {
      o.err.append(buf, static_cast<std::size_t>(k));
    } else if (k == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  o.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  return o;
}

constexpr const char* message = "destroyed or assigned over by that execution's own observer";

}  // namespace

TEST_CASE("destroying its own execution's handle from the observer, on a branch's thread, aborts "
          "with a message") {
  const outcome o = in_child([] {
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
    never.wait();  // the observer's call ends the process
  });
  CHECK(o.aborted);
  CHECK(o.err.find(message) != std::string::npos);
}

TEST_CASE("assigning over its own execution's handle from the observer, on the deadline's timer "
          "thread, aborts with a message") {
  const outcome o = in_child([] {
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
  });
  CHECK(o.aborted);
  CHECK(o.err.find(message) != std::string::npos);
}
