// examples/hedged_read.cpp — a hedged read: ask one replica, and only if it is slow, the next.
//
// Three replicas hold the value; the first one asked is having a bad day. With K = 1 and a
// hedge delay, replica i is asked only i * hedge_delay after the start, and only if no answer
// came yet (a replica that fails brings the next one's turn forward to now). The first answer
// wins; the slow replica is told to stop; a replica whose turn never
// came is never asked at all (reported `cancelled`).
#include <chrono>
#include <cstdio>
#include <functional>
#include <quorum/quorum.hpp>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

namespace {

struct replica {
  std::string name;
  ms latency;  // time to answer a read
};

long long millis(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<ms>(d).count();
}

}  // namespace

int main() {
  const std::vector<replica> replicas = {
      {"replica-a", 400ms}, {"replica-b", 20ms}, {"replica-c", 20ms}};

  std::vector<std::function<std::string(quorum::branch_context&)>> reads;
  for (const auto& rep : replicas)
    reads.emplace_back([&rep](quorum::branch_context& ctx) {
      ctx.sleep_for(rep.latency);     // the network and the disk; ends early on a stop request
      ctx.throw_if_stop_requested();  // a read cut short has no value
      return "balance=120 from " + rep.name;
    });

  quorum::options opts{.quorum = 1, .timeout = 2s, .hedge_delay = 100ms};
  for (const auto& rep : replicas) opts.names.push_back(rep.name);

  std::printf("read from %zu replicas, K = 1, hedge delay %lld ms\n", replicas.size(),
              millis(opts.hedge_delay));
  const auto r = quorum::quorum_parallel(opts, reads);
  if (!r.ok()) {
    std::fprintf(stderr, "no replica answered: the read %s after %lld ms\n",
                 std::string(quorum::to_string(r.decision)).c_str(),
                 millis(r.decided_at - r.started));
    return 1;
  }

  for (const auto& b : r.branches) {
    // Never started: cancelled without an attempt. (attempts alone is 0 also for a branch still
    // running in a result taken early, with on_late = return_early; `b.started` is empty also
    // with timestamps off.)
    if (b.status == quorum::branch_status::cancelled && b.attempts == 0) {
      std::printf("  %-9s never asked (cancelled)\n", b.name.c_str());
      continue;
    }
    const long long asked = millis(*b.started - r.started);
    if (b.status == quorum::branch_status::succeeded && !b.late)
      std::printf("  %-9s asked at %3lld ms, answered \"%s\"\n", b.name.c_str(), asked,
                  b.value->c_str());
    else
      std::printf("  %-9s asked at %3lld ms, stopped at %lld ms\n", b.name.c_str(), asked,
                  millis(*b.finished - r.started));
  }

  const auto& winner = r.branches[*r.decided_by];
  const long long took = millis(r.decided_at - r.started);
  const long long slow = replicas[0].latency.count();
  std::printf("winner: %s after %lld ms; waiting for %s alone would take %lld ms: saved %lld ms\n",
              winner.name.c_str(), took, replicas[0].name.c_str(), slow, slow - took);
  return 0;
}
