// A branch fails by throwing anything; the error is kept and never escapes a worker.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include <quorum/quorum.hpp>

using quorum::branch_status;
using quorum::decision;

namespace {
struct not_std {
  int code;
};
}  // namespace

TEST_CASE("branches throwing std, int and non-std types are failures with the exception kept") {
  auto r = quorum::quorum_parallel(
      {.quorum = 1}, []() -> int { throw std::runtime_error("disk full"); },
      []() -> int { throw 42; }, []() -> int { throw not_std{7}; });
  CHECK(r.decision == decision::unreachable);
  REQUIRE(r.failures() == 3);
  for (const auto& b : r.branches) {
    CHECK(b.status == branch_status::failed);
    CHECK(b.error != nullptr);
    CHECK_FALSE(b.value.has_value());
  }
  CHECK_THROWS_WITH_AS(std::rethrow_exception(r.branches[0].error), "disk full", std::runtime_error);
  CHECK_THROWS_AS(std::rethrow_exception(r.branches[1].error), int);
  try {
    std::rethrow_exception(r.branches[2].error);
  } catch (const not_std& e) {
    CHECK(e.code == 7);
  }
  CHECK(quorum::describe(r.branches[0].error) == "disk full");
#ifdef QUORUM_HAS_CXXABI  // the type's name, where the C++ ABI tells it
  CHECK(quorum::describe(r.branches[1].error) == "non-standard exception of type int");
  CHECK(quorum::describe(r.branches[2].error).ends_with("not_std"));
#else
  CHECK(quorum::describe(r.branches[1].error) == "non-standard exception");
#endif
}

TEST_CASE("a failure on the inline executor is caught there as well") {
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 1},
                                   []() -> int { throw std::logic_error("x"); }, [] { return 1; });
  CHECK(r.decision == decision::quorum_met);
  CHECK(r.branches[0].status == branch_status::failed);
}

TEST_CASE("the JSON record lists failures by name with their error text") {
  auto r = quorum::quorum_parallel({.quorum = 1, .names = {"db-a", "db-b"}},
                                   []() -> int { throw std::runtime_error("timeout"); },
                                   []() -> int { throw std::runtime_error("refused"); });
  auto j = quorum::to_json(r);
  CHECK(j.find("\"failed_processes\":[\"db-a\",\"db-b\"]") != std::string::npos);
  CHECK(j.find("\"error\":\"refused\"") != std::string::npos);
  CHECK(j.find("\"decision\":\"unreachable\"") != std::string::npos);
}
