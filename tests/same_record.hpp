// tests/same_record.hpp — doctest checks that two tallies, or two records, say the same thing
// (a store against a reference, or one way of recording against another).
#pragma once

#include <doctest/doctest.h>

#include <cstddef>

#include <quorum/store.hpp>

namespace test_support {

inline void check_same(const quorum::tally& got, const quorum::tally& want) {
  CHECK(got.successes == want.successes);
  CHECK(got.failures == want.failures);
  CHECK(got.decision == want.decision);
  CHECK(got.decided_by == want.decided_by);
  CHECK(got.decided_now == want.decided_now);
  CHECK(got.recorded_now == want.recorded_now);
  CHECK(got.late == want.late);
}

inline void check_same(const quorum::execution_record& got, const quorum::execution_record& want) {
  CHECK(got.id == want.id);
  CHECK(got.decision == want.decision);
  CHECK(got.decided_by == want.decided_by);
  CHECK(got.successes_at_decision == want.successes_at_decision);
  CHECK(got.failures_at_decision == want.failures_at_decision);
  REQUIRE(got.branches.size() == want.branches.size());
  for (std::size_t i = 0; i < got.branches.size(); ++i) {
    CAPTURE(i);
    CHECK(got.branches[i].outcome == want.branches[i].outcome);
    CHECK(got.branches[i].late == want.branches[i].late);
  }
}

}  // namespace test_support
