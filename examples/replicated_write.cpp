// examples/replicated_write.cpp — write one value to 5 replicas, succeed at W = 3.
//
// Each simulated replica takes its own time to persist the write. As soon as three have
// acknowledged, the write is durable: quorum decides, and the two replicas still working get a
// stop request through their std::stop_token, abandon the write and return at once, long
// before their own latency would have run out.
#include <algorithm>
#include <array>
#include <atomic>
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
  ms latency;  // how long this replica takes to persist a write
};

// What each replica's write saw, filled in by the branch, read after the call returned.
struct trace {
  std::atomic<bool> saw_stop{false};
  std::atomic<long long> stopped_after_ms{0};
};

}  // namespace

int main() {
  const std::vector<replica> replicas = {
      {"eu-1", 5ms}, {"eu-2", 900ms}, {"us-1", 10ms}, {"us-2", 15ms}, {"ap-1", 700ms}};
  std::array<trace, 5> traces;

  std::vector<std::function<std::string(quorum::branch_context&)>> writes;
  for (std::size_t i = 0; i < replicas.size(); ++i)
    writes.emplace_back([&, i](quorum::branch_context& ctx) {
      const auto begin = std::chrono::steady_clock::now();
      if (!ctx.sleep_for(replicas[i].latency)) {  // false: stop requested while persisting
        traces[i].saw_stop = true;
        traces[i].stopped_after_ms =
            std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() - begin).count();
        ctx.throw_if_stop_requested();  // abandon the write: reported as cancelled
      }
      return "ack x=42 @" + replicas[i].name;
    });

  quorum::options opts{.quorum = 3, .timeout = 2s};
  for (const auto& r : replicas) opts.names.push_back(r.name);

  std::printf("write x=42 to %zu replicas, W = %zu\n", replicas.size(), opts.quorum);
  const auto r = quorum::quorum_parallel(opts, writes);

  for (std::size_t i = 0; i < r.branches.size(); ++i) {
    const auto& b = r.branches[i];
    const long long planned = replicas[i].latency.count();
    if (b.status == quorum::branch_status::succeeded)
      std::printf("  %-5s %-9s %s\n", b.name.c_str(), "acked", b.value->c_str());
    else if (traces[i].saw_stop)
      std::printf("  %-5s %-9s saw its stop request after ~%lld ms of %lld ms, abandoned\n",
                  b.name.c_str(), "stopped", traces[i].stopped_after_ms.load(), planned);
    else
      std::printf("  %-5s %s\n", b.name.c_str(), std::string(quorum::to_string(b.status)).c_str());
  }
  if (!r.ok()) return 1;
  const auto took = std::chrono::duration_cast<ms>(r.decided_at - r.started);
  const auto slowest = std::max_element(replicas.begin(), replicas.end(),
                                        [](auto& a, auto& b) { return a.latency < b.latency; });
  std::printf("decision: %s by %s after ~%lld ms (the slowest replica needs %lld ms)\n",
              std::string(quorum::to_string(r.decision)).c_str(),
              r.branches[*r.decided_by].name.c_str(), static_cast<long long>(took.count()),
              static_cast<long long>(slowest->latency.count()));
  return 0;
}
