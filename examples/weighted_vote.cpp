// examples/weighted_vote.cpp — Gifford's weighted voting across two data centres.
//
// Three replicas in the primary data centre carry 2 votes each, two in the backup carry 1 each:
// 8 votes, and a write needs 5 of them. With quorum::weighted the store adds votes instead of
// counting successes, and decides both ways as early as it can: the primary alone is enough,
// and once the primary has lost two replicas, no help from the backup can make up the votes.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <quorum/quorum.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct replica {
  std::string name;
  std::uint32_t votes;
  std::chrono::milliseconds latency;
};

const std::vector<replica> replicas = {{"east-1", 2, 10ms},
                                       {"east-2", 2, 20ms},
                                       {"east-3", 2, 30ms},
                                       {"west-1", 1, 60ms},
                                       {"west-2", 1, 70ms}};
constexpr std::uint64_t needed = 5;

// One write to every replica; the ones in `down` fail after a millisecond.
void write_with(const char* scenario, const std::set<std::string>& down) {
  std::vector<std::function<void(quorum::branch_context&)>> writes;
  std::vector<std::uint32_t> votes;
  quorum::options opts{.timeout = 2s};
  for (const auto& r : replicas) {
    const bool is_down = down.count(r.name) > 0;
    writes.emplace_back([&r, is_down](quorum::branch_context& ctx) {
      ctx.sleep_for(is_down ? 1ms : r.latency);  // ends early on a stop request
      ctx.throw_if_stop_requested();
      if (is_down) throw std::runtime_error(r.name + " is unreachable");
    });
    votes.push_back(r.votes);
    opts.names.push_back(r.name);
  }
  opts.policy = quorum::weighted(votes, needed);

  const auto res = quorum::quorum_parallel(opts, writes);
  std::uint64_t yes = 0, no = 0;
  std::printf("%s\n ", scenario);
  for (std::size_t i = 0; i < res.branches.size(); ++i) {
    const auto& b = res.branches[i];
    const bool ok = b.status == quorum::branch_status::succeeded;
    const bool counted = !b.late && b.status != quorum::branch_status::cancelled;
    if (counted) (ok ? yes : no) += replicas[i].votes;
    const char* what = ok ? "ok" : b.status == quorum::branch_status::failed ? "failed" : "stopped";
    std::printf(" %s %s%s", b.name.c_str(), what, i + 1 < res.branches.size() ? "," : "");
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(res.decided_at - res.started);
  // decided_by is empty when no branch decided: here, when the deadline did (timed_out).
  const char* by = res.decided_by ? res.branches[*res.decided_by].name.c_str() : "the deadline";
  std::printf("\n  -> %s by %s after ~%lld ms: %llu votes for, %llu against\n",
              std::string(quorum::to_string(res.decision)).c_str(), by,
              static_cast<long long>(ms.count()), static_cast<unsigned long long>(yes),
              static_cast<unsigned long long>(no));
}

}  // namespace

int main() {
  std::printf("east-1..3: 2 votes each, west-1..2: 1 vote each; a write needs %llu of 8\n",
              static_cast<unsigned long long>(needed));
  write_with("all replicas up", {});
  write_with("the link to west is cut", {"west-1", "west-2"});
  write_with("east loses two replicas", {"east-1", "east-2"});
  write_with("east-1 is down: west is needed", {"east-1"});
}
