// tests/redis_store_worker.cpp — one worker process for tests/test_redis_store.cpp.
//
//   redis_store_worker <address> <id prefix> <executions> <branch> <s|f>
//
// Attaches to the executions "<id prefix>-0" ... "<id prefix>-<executions - 1>" (opened by the
// test), records branch <branch> as a success (s) or failure (f) in each, and prints one line
// per execution: "<k> <decided_now> <recorded_now>". Exit status 0 on success, 1 with the
// error on stderr otherwise.
#include <cstdio>
#include <exception>
#include <quorum/stores/redis.hpp>
#include <string>

int main(int argc, char** argv) try {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s address id-prefix executions branch s|f\n", argv[0]);
    return 2;
  }
  quorum::redis_store store({.address = argv[1]});
  const std::string prefix = argv[2];
  const auto executions = std::stoul(argv[3]);
  const auto branch = std::stoul(argv[4]);
  const auto o = std::string(argv[5]) == "s" ? quorum::outcome::success : quorum::outcome::failure;
  for (unsigned long k = 0; k < executions; ++k) {
    auto h = store.attach(prefix + "-" + std::to_string(k));
    auto t = store.record(h, branch, o);
    std::printf("%lu %d %d\n", k, t.decided_now ? 1 : 0, t.recorded_now ? 1 : 0);
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "redis_store_worker: %s\n", e.what());
  return 1;
}
