#include <quorum/quorum.hpp>
#include <chrono>
#include <cstdio>
using namespace std::chrono_literals;
int main() {
  quorum::options opts{.quorum = 2, .timeout = 5s};
  auto r = quorum::quorum_parallel(opts,
      [](std::stop_token) { return 1; },
      [] { return 2; },
      [](std::stop_token) { return 3; });
  std::puts(quorum::to_json(r).c_str());
  return r.decision == quorum::decision::quorum_met ? 0 : 1;
}
