// quorum/errors.hpp — the exceptions the library throws.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace quorum {

/// Bad input to quorum_parallel/start, thrown before any branch runs. The message names the
/// field and the value, e.g. "quorum::options.quorum = 4 is above the number of branches (3)".
class invalid_options : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A store already holds an execution with this id (thrown by store::open).
class duplicate_execution_id : public invalid_options {
 public:
  using invalid_options::invalid_options;
};

/// Thrown by branch_context::throw_if_stop_requested(): the usual way for a branch to give up
/// when its stop token is requested. A branch that throws after its stop request is reported
/// as branch_status::cancelled.
class stopped : public std::exception {
 public:
  [[nodiscard]] const char* what() const noexcept override { return "quorum: branch stopped"; }
};

/// A short human-readable description of any exception: what() for std::exception, a fixed text
/// for other types. Never throws.
[[nodiscard]] inline std::string describe(const std::exception_ptr& e) noexcept try {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "non-standard exception";
  }
} catch (...) {
  return {};
}

}  // namespace quorum
