// quorum/errors.hpp — the exceptions the library throws.
#pragma once

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <typeinfo>

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>  // the Itanium C++ ABI (libstdc++, libc++): the type of the exception in flight
#define QUORUM_HAS_CXXABI 1
#endif

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

namespace detail {

// A number as an invalid_options message names it: the shortest text that reads back as the
// same double. std::to_string keeps six decimals, which shows 1.0000001 as "1.000000" and
// -1e-9 as "-0.000000", values inside the range the message says they are outside of. A whole
// number keeps a ".0", so that a fraction of 1 still reads as one.
inline std::string number_text(double v) {
  char buf[32];  // the longest shortest form of a double, "-2.2250738585072014e-308", is 24
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  std::string s(buf, end);
  if (std::isfinite(v) && s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// A duration as an invalid_options message names it: in the largest unit that holds it
// exactly, so that -5ms reads "-5ms", not "-5000000ns".
inline std::string duration_text(std::chrono::nanoseconds d) {
  struct unit {
    std::int64_t ns;
    const char* name;
  };
  static constexpr unit units[] = {{3'600'000'000'000, "h"}, {60'000'000'000, "min"},
                                   {1'000'000'000, "s"},      {1'000'000, "ms"},
                                   {1'000, "us"}};
  const std::int64_t v = d.count();
  for (const auto& u : units)
    if (v != 0 && v % u.ns == 0) return std::to_string(v / u.ns) + u.name;
  return std::to_string(v) + "ns";
}

// "1 name", "3 names".
inline std::string count_text(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace detail

/// A short human-readable description of any exception: what() for std::exception, the text of
/// a thrown std::string or C string (`throw "disk full"`), "non-standard exception" for other
/// types, followed by the type's name where the C++ ABI tells it (g++ and clang on Linux and
/// macOS: "non-standard exception of type int" for `throw 42`); empty
/// only for a null exception_ptr (history and the JSON writers read an empty description as "no
/// error"). Never throws.
[[nodiscard]] inline std::string describe(const std::exception_ptr& e) noexcept try {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    const char* w = x.what();
    if (w == nullptr || *w == '\0') return "empty what()";  // an error all the same
    return w;
  } catch (const std::string& s) {
    if (s.empty()) return "empty string";
    return s;
  } catch (const char* s) {
    if (s == nullptr) return "null C string";
    if (*s == '\0') return "empty string";
    return s;
  } catch (...) {
    std::string text = "non-standard exception";
#ifdef QUORUM_HAS_CXXABI
    if (const std::type_info* t = abi::__cxa_current_exception_type()) {
      int status = -1;
      char* name = abi::__cxa_demangle(t->name(), nullptr, nullptr, &status);
      text += " of type ";
      text += status == 0 && name != nullptr ? name : t->name();
      std::free(name);  // malloc'd by __cxa_demangle; null when it failed
    }
#endif
    return text;
  }
} catch (...) {
  return "undescribed";  // out of memory for the text: fits the small buffer, cannot throw
}

}  // namespace quorum
