// quorum/json.hpp — the execution record as JSON, in the seed's shape.
//
// {"id": ..., "timeout_occurred": bool, "successful_processes": [...], "failed_processes": [...],
//  "decision": "quorum_met", "decided_by": "Process 2" | null, "late_processes": [...],
//  "elapsed_ms": ... | null, "branches": [{"name", "index", "status", "late", "attempts",
//  "error", "value", "started_ms", "finished_ms"}]}
// successful/failed_processes hold the outcomes recorded before the decision (the ones that
// counted), so the record never contradicts the decision. Late outcomes are listed apart.
// "value" is absent for void branches; numbers (in the shortest form that reads back the same),
// bools and strings are written (a char as a one-character string), a std::optional of one as
// its value or null, a value of any other type as null, unless to_json(r, projection) maps it
// to one of those. elapsed_ms and the branches' times are null when not stamped
// (options.timestamps).
#pragma once

#include <charconv>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "errors.hpp"
#include "result.hpp"

namespace quorum {

namespace detail {

// Append s as a JSON string: quotes, backslashes and control characters escaped, valid UTF-8
// kept, every invalid byte replaced by U+FFFD, so the output is always valid JSON.
inline void json_string(std::string& out, std::string_view s) {
  out += '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out += static_cast<char>(c);
          }
      }
      ++p;
      continue;
    }
    // Multi-byte sequence: check length, continuation bytes, overlongs and surrogates.
    int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    bool ok = len > 0 && c <= 0xf4 && end - p >= len;
    for (int k = 1; ok && k < len; ++k) ok = (p[k] & 0xc0) == 0x80;
    if (ok && len == 3) ok = !(c == 0xe0 && p[1] < 0xa0) && !(c == 0xed && p[1] >= 0xa0);
    if (ok && len == 4) ok = !(c == 0xf0 && p[1] < 0x90) && !(c == 0xf4 && p[1] >= 0x90);
    if (ok) {
      out.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(len));
      p += len;
    } else {
      out += "\\ufffd";
      ++p;
    }
  }
  out += '"';
}

// Numbers go through std::to_chars, never printf: printf writes the decimal point of the C
// locale, so a program that called setlocale(LC_ALL, "") in, say, a German locale wrote
// "elapsed_ms":0,596 and "value":0,5 (not JSON). to_chars is locale-independent.
inline void json_ms(std::string& out, std::chrono::steady_clock::duration d) {
  char buf[32];  // at most 9223372036854.775 ms (the widest steady_clock duration) and a sign
  const auto r = std::to_chars(buf, buf + sizeof buf,
                               std::chrono::duration<double, std::milli>(d).count(),
                               std::chars_format::fixed, 3);
  out.append(buf, r.ptr);
}

template <class T>
struct is_optional : std::false_type {};
template <class U>
struct is_optional<std::optional<U>> : std::true_type {};

template <class T>
void json_value(std::string& out, const T& v) {
  if constexpr (is_optional<T>::value) {
    if (v)
      json_value(out, *v);  // an optional is its value when it has one, null when not
    else
      out += "null";
  } else if constexpr (std::is_same_v<T, bool>) {
    out += v ? "true" : "false";
  } else if constexpr (std::is_same_v<T, char>) {
    json_string(out, std::string_view(&v, 1));  // a character, not its code (signed and
                                                // unsigned char stay numbers: int8_t, uint8_t)
  } else if constexpr (std::is_integral_v<T>) {
    out += std::to_string(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    // A float as a float, anything wider as a double; each in the shortest form that reads
    // back as the same value (0.1, not 0.10000000000000001).
    using F = std::conditional_t<std::is_same_v<T, float>, float, double>;
    const F f = static_cast<F>(v);
    if (!std::isfinite(f)) {
      out += "null";  // JSON has no NaN or infinity
    } else {
      char buf[40];  // the shortest form (see json_ms): at most 24 characters
      const auto r = std::to_chars(buf, buf + sizeof buf, f);
      out.append(buf, r.ptr);
    }
  } else if constexpr (std::is_null_pointer_v<T>) {
    out += "null";  // before C++23 std::nullptr_t converts to string_view, through strlen(nullptr)
  } else if constexpr (std::is_pointer_v<T> && std::is_convertible_v<const T&, std::string_view>) {
    if (v == nullptr)
      out += "null";  // a C string that is not there
    else
      json_string(out, std::string_view(v));
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    json_string(out, std::string_view(v));
  } else {
    out += "null";  // values of other types are not written
  }
}

// The types json_value writes as themselves (the others as null).
template <class V>
inline constexpr bool json_scalar =
    std::is_arithmetic_v<V> || std::is_null_pointer_v<V> ||
    std::is_convertible_v<const V&, std::string_view>;
template <class U>
inline constexpr bool json_scalar<std::optional<U>> = json_scalar<U>;  // its value, or null

// The JSON text of r, each value written as value_of(value).
template <class T, class Projection>
std::string to_json_with(const result<T>& r, const Projection& value_of) {
  std::string out;
  out.reserve(256 + 128 * r.branches.size());
  auto list = [&](auto pred) {
    out += '[';
    bool first = true;
    for (const auto& b : r.branches)
      if (pred(b)) {
        if (!first) out += ',';
        first = false;
        json_string(out, b.name);
      }
    out += ']';
  };
  out += "{\"id\":";
  json_string(out, r.execution_id);
  out += ",\"timeout_occurred\":";
  out += r.decision == decision::timed_out ? "true" : "false";
  out += ",\"successful_processes\":";
  list([](const auto& b) { return !b.late && b.status == branch_status::succeeded; });
  out += ",\"failed_processes\":";
  list([](const auto& b) { return !b.late && b.status == branch_status::failed; });
  out += ",\"decision\":";
  json_string(out, to_string(r.decision));
  out += ",\"decided_by\":";
  if (r.decided_by && *r.decided_by < r.branches.size())
    json_string(out, r.branches[*r.decided_by].name);
  else
    out += "null";
  out += ",\"late_processes\":";
  list([](const auto& b) { return b.late; });
  out += ",\"elapsed_ms\":";
  if (r.timestamps == timestamps::none)
    out += "null";  // not stamped
  else
    json_ms(out, r.decided_at - r.started);
  out += ",\"branches\":[";
  for (std::size_t i = 0; i < r.branches.size(); ++i) {
    const auto& b = r.branches[i];
    if (i) out += ',';
    out += "{\"name\":";
    json_string(out, b.name);
    out += ",\"index\":" + std::to_string(i) + ",\"status\":";
    json_string(out, to_string(b.status));
    out += ",\"late\":";
    out += b.late ? "true" : "false";
    out += ",\"attempts\":" + std::to_string(b.attempts);
    out += ",\"error\":";
    if (b.error)
      json_string(out, quorum::describe(b.error));
    else
      out += "null";
    if constexpr (!std::is_void_v<T>) {
      out += ",\"value\":";
      if (b.value)
        json_value(out, value_of(*b.value));
      else
        out += "null";
    }
    out += ",\"started_ms\":";
    if (b.started)
      json_ms(out, *b.started - r.started);
    else
      out += "null";
    out += ",\"finished_ms\":";
    if (b.finished)
      json_ms(out, *b.finished - r.started);
    else
      out += "null";
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace detail

/// The result as one line of JSON (see the top of this header for the fields).
template <class T>
[[nodiscard]] std::string to_json(const result<T>& r) {
  return detail::to_json_with(r, std::identity{});
}

/// The same, each branch's value written as `value_of(value)`: for a value type to_json does
/// not write (a struct, an enum), a projection to a number, a bool or a string, which is then
/// written (and escaped) as those are, e.g. `to_json(r, [](const reply& x) { return x.text; })`.
template <class T, class Projection>
  requires(!std::is_void_v<T> && std::invocable<const Projection&, const T&>)
[[nodiscard]] std::string to_json(const result<T>& r, const Projection& value_of) {
  using V = std::remove_cvref_t<std::invoke_result_t<const Projection&, const T&>>;
  static_assert(detail::json_scalar<V>,
                "quorum::to_json: the projection must return a number, a bool or a string "
                "(anything convertible to std::string_view), or a std::optional of one");
  return detail::to_json_with(r, value_of);
}

}  // namespace quorum
