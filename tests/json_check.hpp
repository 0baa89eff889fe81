// tests/json_check.hpp — a strict JSON validator (RFC 8259 grammar, UTF-8 checked), for tests.
#pragma once

#include <cstddef>
#include <string_view>

namespace test_support {

class json_checker {
 public:
  explicit json_checker(std::string_view s) : s_(s) {}

  // True when the whole input is exactly one valid JSON value (whitespace around allowed).
  bool valid() {
    ws();
    if (!value()) return false;
    ws();
    return i_ == s_.size();
  }

 private:
  bool value() {
    if (i_ >= s_.size() || ++depth_ > 256) return false;
    bool ok = false;
    switch (s_[i_]) {
      case '{': ok = object(); break;
      case '[': ok = array(); break;
      case '"': ok = string(); break;
      case 't': ok = word("true"); break;
      case 'f': ok = word("false"); break;
      case 'n': ok = word("null"); break;
      default: ok = number();
    }
    --depth_;
    return ok;
  }
  bool object() {
    ++i_;
    ws();
    if (peek('}')) return ++i_, true;
    for (;;) {
      ws();
      if (!string()) return false;
      ws();
      if (!peek(':')) return false;
      ++i_;
      ws();
      if (!value()) return false;
      ws();
      if (peek('}')) return ++i_, true;
      if (!peek(',')) return false;
      ++i_;
    }
  }
  bool array() {
    ++i_;
    ws();
    if (peek(']')) return ++i_, true;
    for (;;) {
      ws();
      if (!value()) return false;
      ws();
      if (peek(']')) return ++i_, true;
      if (!peek(',')) return false;
      ++i_;
    }
  }
  bool string() {
    if (!peek('"')) return false;
    ++i_;
    while (i_ < s_.size()) {
      auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') return ++i_, true;
      if (c < 0x20) return false;
      if (c == '\\') {
        if (++i_ >= s_.size()) return false;
        char e = s_[i_];
        if (e == 'u') {
          for (int k = 0; k < 4; ++k)
            if (++i_ >= s_.size() || !hex(s_[i_])) return false;
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return false;
        }
        ++i_;
        continue;
      }
      if (c < 0x80) {
        ++i_;
        continue;
      }
      int len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
      if (len == 0 || i_ + static_cast<std::size_t>(len) > s_.size()) return false;
      for (int k = 1; k < len; ++k)
        if ((static_cast<unsigned char>(s_[i_ + static_cast<std::size_t>(k)]) & 0xc0) != 0x80) return false;
      i_ += static_cast<std::size_t>(len);
    }
    return false;
  }
  bool number() {
    std::size_t start = i_;
    if (peek('-')) ++i_;
    if (peek('0')) {
      ++i_;
    } else if (digits() == 0) {
      return false;
    }
    if (peek('.')) {
      ++i_;
      if (digits() == 0) return false;
    }
    if (peek('e') || peek('E')) {
      ++i_;
      if (peek('+') || peek('-')) ++i_;
      if (digits() == 0) return false;
    }
    return i_ > start;
  }
  std::size_t digits() {
    std::size_t n = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_, ++n;
    return n;
  }
  bool word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  static bool hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }
  bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }

  std::string_view s_;
  std::size_t i_ = 0;
  int depth_ = 0;
};

inline bool json_valid(std::string_view s) { return json_checker(s).valid(); }

}  // namespace test_support
