// The documentation's C++ blocks compile, as written. CMake copies each ```cpp block of
// README.md and docs/*.md into the build tree (doc_blocks/<page>_<n>.inc, n from 0 in the
// page's order) and this file includes each one where it makes sense: a declaration at
// namespace scope, statements in a function of their own. The functions they call but do not
// define (the user's own, like write_replica) are declared below, returning what the block
// expects. Nothing is run: a block is an excerpt, not a program.
//
// A page that gains or loses a block fails the static_asserts below: give the new block a
// place here (or move the excerpt out of a ```cpp fence if it is not meant to compile).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>

#include <quorum/history.hpp>
#include <quorum/quorum.hpp>
#include <quorum/store_check.hpp>

#include "doc_blocks/counts.hpp"

static_assert(quorum_doc_blocks_README == 2, "README.md's ```cpp blocks changed: see this file");
static_assert(quorum_doc_blocks_docs_options == 1, "docs/options.md's blocks changed: see this file");
static_assert(quorum_doc_blocks_docs_seed_demo == 1, "docs/seed_demo.md's blocks changed: see this file");
static_assert(quorum_doc_blocks_docs_stores == 2, "docs/stores.md's blocks changed: see this file");
static_assert(quorum_doc_blocks_docs_examples == 2, "docs/examples.md's blocks changed: see this file");
static_assert(quorum_doc_blocks_docs_executors == 1, "docs/executors.md's blocks changed: see this file");
// docs/redis.md's blocks: tests/docs/redis_blocks.cpp (it needs hiredis).

namespace {

using namespace std::chrono_literals;

// The user's own functions the blocks call.
int write_replica(const char*, std::stop_token) { return 1; }
int write_replica_fast(const char*) { return 1; }
std::string read_replica(const char*) { return "v"; }
void use(const std::string&) {}
struct versioned {
  long version;
  std::string data;
};
versioned read_versioned(const char*) { return {}; }
void answer(const versioned&) {}
void repair(const std::string&, const versioned&) {}
int write_a() { return 1; }
int write_b() { return 1; }
int write_c() { return 1; }

// docs/executors.md: an executor of one's own over a queue of the service's (namespace scope).
#include "doc_blocks/docs_executors_0.inc"

// docs/stores.md: a store of one's own (a class at namespace scope).
#include "doc_blocks/docs_stores_0.inc"

[[maybe_unused]] void readme_first_example() {
#include "doc_blocks/README_0.inc"
}

[[maybe_unused]] void readme_values() {
#include "doc_blocks/README_1.inc"
}

[[maybe_unused]] void options_retry() {
#include "doc_blocks/docs_options_0.inc"
  (void)opts;
}

[[maybe_unused]] void seed_demo_history() {
#include "doc_blocks/docs_seed_demo_0.inc"
}

[[maybe_unused]] void stores_check() {
#include "doc_blocks/docs_stores_1.inc"
}

}  // namespace

[[maybe_unused]] void examples_read_repair() {
#include "doc_blocks/docs_examples_1.inc"
}

// docs/examples.md: a branch over a blocking socket (its own #includes: at global scope).
#include "doc_blocks/docs_examples_0.inc"
