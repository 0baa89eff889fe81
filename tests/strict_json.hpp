// tests/strict_json.hpp — a small, strict JSON reader for the tests (RFC 8259).
//
// Written here on purpose rather than trusting the writer under test: it rejects anything a
// strict parser would (raw control characters in strings, invalid UTF-8, lone surrogates,
// leading zeros, trailing commas, duplicate keys, trailing text) and decodes strings to UTF-8,
// so a test can compare what it put into a record with what the JSON says.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strict_json {

struct value {
  enum class kind { null, boolean, number, string, array, object };
  kind k = kind::null;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<value> arr;
  std::vector<std::string> keys;  // object member names, in order
  std::vector<value> members;     // object member values, members[i] named keys[i]

  /// The member named `key` of an object, or null when absent (or not an object).
  [[nodiscard]] const value* get(std::string_view key) const;
  [[nodiscard]] bool is(kind x) const noexcept { return k == x; }
};

// Defined out of line, where `value` is complete.
inline const value* value::get(std::string_view key) const {
  if (k != kind::object) return nullptr;
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (keys[i] == key) return &members[i];
  return nullptr;
}

namespace detail {

class parser {
 public:
  explicit parser(std::string_view s) : s_(s) {}

  std::optional<value> document() {
    value v;
    ws();
    if (!parse(v, 0)) return std::nullopt;
    ws();
    if (p_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  static constexpr int max_depth = 64;

  bool eof() const { return p_ >= s_.size(); }
  unsigned char peek() const { return static_cast<unsigned char>(s_[p_]); }

  void ws() {
    while (!eof() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++p_;
  }

  bool literal(std::string_view word) {
    if (s_.substr(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  bool parse(value& v, int depth) {
    if (eof() || depth > max_depth) return false;
    switch (peek()) {
      case '{':
        return object(v, depth);
      case '[':
        return array(v, depth);
      case '"':
        v.k = value::kind::string;
        return string(v.str);
      case 't':
        v.k = value::kind::boolean;
        v.b = true;
        return literal("true");
      case 'f':
        v.k = value::kind::boolean;
        v.b = false;
        return literal("false");
      case 'n':
        v.k = value::kind::null;
        return literal("null");
      default:
        v.k = value::kind::number;
        return number(v.num);
    }
  }

  bool object(value& v, int depth) {
    v.k = value::kind::object;
    ++p_;  // {
    ws();
    if (!eof() && peek() == '}') return ++p_, true;
    for (;;) {
      ws();
      std::string key;
      if (eof() || peek() != '"' || !string(key)) return false;
      for (const auto& k : v.keys)
        if (k == key) return false;  // duplicate key
      ws();
      if (eof() || peek() != ':') return false;
      ++p_;
      ws();
      value member;
      if (!parse(member, depth + 1)) return false;
      v.keys.push_back(std::move(key));
      v.members.push_back(std::move(member));
      ws();
      if (eof()) return false;
      if (peek() == ',') {
        ++p_;
        continue;
      }
      if (peek() == '}') return ++p_, true;
      return false;
    }
  }

  bool array(value& v, int depth) {
    v.k = value::kind::array;
    ++p_;  // [
    ws();
    if (!eof() && peek() == ']') return ++p_, true;
    for (;;) {
      ws();
      value item;
      if (!parse(item, depth + 1)) return false;
      v.arr.push_back(std::move(item));
      ws();
      if (eof()) return false;
      if (peek() == ',') {
        ++p_;
        continue;
      }
      if (peek() == ']') return ++p_, true;
      return false;
    }
  }

  bool digits() {
    std::size_t start = p_;
    while (!eof() && peek() >= '0' && peek() <= '9') ++p_;
    return p_ > start;
  }

  bool number(double& out) {
    std::size_t start = p_;
    if (!eof() && peek() == '-') ++p_;
    if (eof()) return false;
    if (peek() == '0') {
      ++p_;  // no leading zeros
    } else if (!digits()) {
      return false;
    }
    if (!eof() && peek() == '.') {
      ++p_;
      if (!digits()) return false;
    }
    if (!eof() && (peek() == 'e' || peek() == 'E')) {
      ++p_;
      if (!eof() && (peek() == '+' || peek() == '-')) ++p_;
      if (!digits()) return false;
    }
    // from_chars, not std::stod: stod threw out_of_range on numbers the grammar allows but a
    // double cannot hold (5e-324, 1e400), and read "0.5" as 0 under a decimal-comma locale.
    // Out of range, the value is only approximate (0 or the infinities); the text was valid.
    const auto r = std::from_chars(s_.data() + start, s_.data() + p_, out);
    if (r.ec == std::errc::result_out_of_range) {
      const bool negative = s_[start] == '-';
      const bool tiny = s_.substr(start, p_ - start).find("e-") != std::string_view::npos ||
                        s_.substr(start, p_ - start).find("E-") != std::string_view::npos;
      out = tiny ? (negative ? -0.0 : 0.0)
                 : (negative ? -std::numeric_limits<double>::infinity()
                             : std::numeric_limits<double>::infinity());
    }
    return true;
  }

  bool hex4(std::uint32_t& cp) {
    if (s_.size() - p_ < 4) return false;
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      unsigned char c = peek();
      ++p_;
      cp <<= 4;
      if (c >= '0' && c <= '9')
        cp |= c - '0';
      else if (c >= 'a' && c <= 'f')
        cp |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        cp |= c - 'A' + 10;
      else
        return false;
    }
    return true;
  }

  static void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  // One raw UTF-8 sequence starting at p_ (first byte >= 0x80), validated strictly.
  bool utf8(std::string& out) {
    unsigned char c = peek();
    int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (len == 0 || c > 0xf4 || s_.size() - p_ < static_cast<std::size_t>(len)) return false;
    auto at = [&](int k) {
      return static_cast<unsigned char>(s_[p_ + static_cast<std::size_t>(k)]);
    };
    for (int k = 1; k < len; ++k)
      if ((at(k) & 0xc0) != 0x80) return false;
    if (len == 3 && ((c == 0xe0 && at(1) < 0xa0) || (c == 0xed && at(1) >= 0xa0))) return false;
    if (len == 4 && ((c == 0xf0 && at(1) < 0x90) || (c == 0xf4 && at(1) >= 0x90))) return false;
    out.append(s_.substr(p_, static_cast<std::size_t>(len)));
    p_ += static_cast<std::size_t>(len);
    return true;
  }

  bool string(std::string& out) {
    ++p_;  // opening quote
    for (;;) {
      if (eof()) return false;
      unsigned char c = peek();
      if (c == '"') return ++p_, true;
      if (c < 0x20) return false;  // raw control characters are not allowed
      if (c >= 0x80) {
        if (!utf8(out)) return false;
        continue;
      }
      ++p_;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (eof()) return false;
      char e = static_cast<char>(peek());
      ++p_;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xdc00 && cp <= 0xdfff) return false;  // lone low surrogate
          if (cp >= 0xd800 && cp <= 0xdbff) {
            std::uint32_t lo = 0;
            if (!literal("\\u") || !hex4(lo) || lo < 0xdc00 || lo > 0xdfff) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          }
          put_utf8(out, cp);
          break;
        }
        default:
          return false;
      }
    }
  }

  std::string_view s_;
  std::size_t p_ = 0;
};

}  // namespace detail

/// Parse a whole document strictly; nullopt when it is not valid JSON.
[[nodiscard]] inline std::optional<value> parse(std::string_view text) {
  return detail::parser(text).document();
}

/// True when `text` is one valid JSON document.
[[nodiscard]] inline bool valid(std::string_view text) { return parse(text).has_value(); }

}  // namespace strict_json
