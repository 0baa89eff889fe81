// docs/redis.md's C++ blocks compile, as written (see tests/docs/blocks.cpp for how).
#include <chrono>
#include <cstddef>
#include <string>

#include <quorum/quorum.hpp>
#include <quorum/stores/redis.hpp>

#include "doc_blocks/counts.hpp"

static_assert(quorum_doc_blocks_docs_redis == 2, "docs/redis.md's ```cpp blocks changed: see this file");

namespace {

using namespace std::chrono_literals;

int f1() { return 1; }
int f2() { return 2; }
int f3() { return 3; }

[[maybe_unused]] void redis_first_example() {
#include "doc_blocks/docs_redis_0.inc"
  (void)r;
}

[[maybe_unused]] void redis_by_hand(quorum::redis_store& store, const std::string& id,
                                    std::chrono::steady_clock::time_point deadline, std::size_t i) {
#include "doc_blocks/docs_redis_1.inc"
  (void)rec;
  (void)t;
  (void)decided;
}

}  // namespace
