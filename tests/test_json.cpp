// to_json: the seed's fields, valid JSON whatever the names and errors hold, and a record that
// never contradicts the decision.
#include <doctest/doctest.h>

#include <clocale>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <latch>
#include <optional>
#include <stdexcept>
#include <string>

#include <quorum/history.hpp>
#include <quorum/quorum.hpp>

#include "strict_json.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using strict_json::valid;
namespace {
bool json_valid(std::string_view s) { return valid(s); }
}  // namespace

TEST_CASE("the validator used by these tests rejects what is not JSON") {
  CHECK(json_valid(R"({"a":[1,2.5e3,-0,"x\u00e9",true,false,null]})"));
  CHECK_FALSE(json_valid("{\"a\":1,}"));
  CHECK_FALSE(json_valid("\"raw\nnewline\""));
  CHECK_FALSE(json_valid("\"bad \xff byte\""));
  CHECK_FALSE(json_valid("01"));
  CHECK_FALSE(json_valid("{} {}"));
  // Valid JSON, if out of a double's range: accepted, not an exception out of the validator.
  CHECK(json_valid("[4.9406564584124654e-324,1e-400,1e400,-1e400]"));
}

TEST_CASE("the record has the seed's fields plus decision, decided_by and branch detail") {
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{},
                                   {.quorum = 2, .execution_id = "exec-1"}, [] { return 1; },
                                   []() -> int { throw std::runtime_error("boom"); },
                                   [] { return 3; });
  auto j = quorum::to_json(r);
  CHECK(json_valid(j));
  CHECK(j.find(R"("id":"exec-1")") != std::string::npos);
  CHECK(j.find(R"("timeout_occurred":false)") != std::string::npos);
  CHECK(j.find(R"("successful_processes":["Process 1","Process 3"])") != std::string::npos);
  CHECK(j.find(R"("failed_processes":["Process 2"])") != std::string::npos);
  CHECK(j.find(R"("decision":"quorum_met")") != std::string::npos);
  CHECK(j.find(R"("decided_by":"Process 3")") != std::string::npos);
  CHECK(j.find(R"("error":"boom")") != std::string::npos);
  CHECK(j.find(R"("value":3)") != std::string::npos);
}

TEST_CASE("names, ids and error texts with quotes, control characters and bad UTF-8 stay valid JSON") {
  quorum::memory_store store;
  std::string id = "id \"quoted\" \\ back\nslash\t\x01 \xc3\xa9 \xff\xfe \xed\xa0\x80 end";
  auto r = quorum::quorum_parallel(
      store, quorum::inline_executor{},
      {.quorum = 1, .execution_id = id, .names = {"caf\xc3\xa9 \xf0\x9f\x9a\x80", "tab\there"}},
      []() -> std::string { throw std::runtime_error("line1\nline2 \"q\" \x80"); },
      [] { return std::string("value \"with\" \x7f quotes"); });
  auto j = quorum::to_json(r);
  CHECK(json_valid(j));
  CHECK(j.find("caf\xc3\xa9 \xf0\x9f\x9a\x80") != std::string::npos);  // valid UTF-8 kept as is
  CHECK(j.find("\\ufffd") != std::string::npos);                       // invalid bytes replaced
  CHECK(j.find("\\u0001") != std::string::npos);
}

TEST_CASE("a timed-out record says timeout_occurred and lists fewer than K successes") {
  quorum::manual_clock clk;
  test_support::stop_waiter w;
  std::latch running(1);
  auto ex = quorum::start({.quorum = 2, .timeout = 15s, .clock = &clk}, [] { return 1; },
                          [&](std::stop_token st) -> int {
                            running.count_down();
                            w.block(st);
                            return 0;
                          });
  running.wait();
  clk.advance(15s);
  auto r = ex.get();
  auto j = quorum::to_json(r);
  CHECK(json_valid(j));
  CHECK(j.find(R"("timeout_occurred":true)") != std::string::npos);
  CHECK(j.find(R"("decision":"timed_out")") != std::string::npos);
  CHECK(j.find(R"("decided_by":null)") != std::string::npos);
  CHECK(r.successes() < 2);
}

TEST_CASE("late outcomes are listed apart and never among the counted processes") {
  test_support::gate release;
  std::latch running(1);
  auto fail = [&]() -> int {
    running.wait();
    throw std::runtime_error("down");
  };
  // N = 3, K = 2: two failures make it unreachable while the third, ignoring its stop token,
  // is still in flight; it then succeeds late.
  auto ex = quorum::start({.quorum = 2}, fail, fail, [&] {
    running.count_down();
    release.wait();
    return 3;
  });
  ex.wait();
  release.open();
  auto r = ex.get();
  auto j = quorum::to_json(r);
  CHECK(json_valid(j));
  CHECK(r.decision == quorum::decision::unreachable);
  CHECK(r.branches[2].late);
  CHECK(r.branches[2].status == quorum::branch_status::succeeded);
  CHECK(j.find(R"("successful_processes":[])") != std::string::npos);
  CHECK(j.find(R"("failed_processes":["Process 1","Process 2"])") != std::string::npos);
  CHECK(j.find(R"("late_processes":["Process 3"])") != std::string::npos);
}

TEST_CASE("floating, boolean and string values are written; other types are null") {
  quorum::memory_store store;
  auto d = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 1}, [] { return 0.5; });
  CHECK(quorum::to_json(d).find(R"("value":0.5)") != std::string::npos);
  auto b = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 1}, [] { return true; });
  CHECK(quorum::to_json(b).find(R"("value":true)") != std::string::npos);
  struct opaque {};
  auto o = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 1}, [] { return opaque{}; });
  CHECK(quorum::to_json(o).find(R"("value":null)") != std::string::npos);
  auto inf = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 1},
                                     [] { return 1.0 / 0.0; });
  CHECK(json_valid(quorum::to_json(inf)));
}

TEST_CASE("a number is written in the fewest digits that read back as the same value") {
  // From an API trial: 17 significant digits wrote 0.1 as 0.10000000000000001 and a float 0.1f
  // as 0.10000000149011612.
  quorum::memory_store store;
  const auto value_of = [&](auto f) {
    auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 1}, f);
    const auto j = quorum::to_json(r);
    CHECK(json_valid(j));
    const auto at = j.find(R"("value":)");
    REQUIRE(at != std::string::npos);
    return j.substr(at + 8, j.find_first_of(",}", at) - at - 8);
  };
  CHECK(value_of([] { return 0.1; }) == "0.1");
  CHECK(value_of([] { return 0.1f; }) == "0.1");
  CHECK(value_of([] { return 1.0 / 3.0; }) == "0.3333333333333333");
  CHECK(value_of([] { return 1e300; }) == "1e+300");
  CHECK(value_of([] { return -2.5e-7; }) == "-2.5e-07");
  CHECK(value_of([] { return 0.1L; }) == "0.1");
}

TEST_CASE("a std::optional value is written as its value, or null") {
  // From an API trial: an optional<int> holding 5 was written as null, and a projection could
  // not return one.
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 2},
                                   [] { return std::optional<int>(5); },
                                   [] { return std::optional<int>(); });
  const auto j = quorum::to_json(r);
  CHECK(json_valid(j));
  CHECK(j.find(R"("value":5)") != std::string::npos);
  CHECK(j.find(R"("value":null)") != std::string::npos);
  const auto p = quorum::to_json(r, [](const std::optional<int>& v) {
    return v ? std::optional<std::string>("v" + std::to_string(*v)) : std::nullopt;
  });
  CHECK(json_valid(p));
  CHECK(p.find(R"("value":"v5")") != std::string::npos);
  CHECK(p.find(R"("value":null)") != std::string::npos);
}

namespace {
enum class color { red, green };
struct reply {
  std::string text;
  int version = 0;
};
template <class R, class P>
concept projectable = requires(const R& r, const P& p) { quorum::to_json(r, p); };
}  // namespace

TEST_CASE("a projection writes a value of any type as a number, a bool or a string") {
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 2},
                                   [] { return reply{"say \"hi\"", 7}; },
                                   [] { return reply{"bye", 8}; });
  const auto text = quorum::to_json(r, [](const reply& x) { return x.text; });
  CHECK(json_valid(text));
  CHECK(text.find(R"("value":"say \"hi\"")") != std::string::npos);  // escaped as a string
  CHECK(text.find(R"("value":"bye")") != std::string::npos);
  const auto version = quorum::to_json(r, [](const reply& x) { return x.version; });
  CHECK(version.find(R"("value":7)") != std::string::npos);
  CHECK(quorum::to_json(r).find(R"("value":null)") != std::string::npos);  // without: null

  auto c = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 1},
                                   [] { return color::green; });
  const auto named = quorum::to_json(
      c, [](color x) -> std::string_view { return x == color::red ? "red" : "green"; });
  CHECK(named.find(R"("value":"green")") != std::string::npos);

  // Only for results with values, and only with a callable taking the value.
  static_assert(!projectable<quorum::result<void>, std::identity>);
  static_assert(!projectable<quorum::result<int>, int>);
  static_assert(projectable<quorum::result<int>, std::identity>);
}

TEST_CASE("a branch returning a null C string is written as null") {
  // Regression (cold review): std::string_view(nullptr) read through a null pointer.
  auto r = quorum::quorum_parallel(quorum::options{.quorum = 2}, []() -> const char* { return nullptr; },
                                   []() -> const char* { return "text"; });
  const auto json = quorum::to_json(r);
  CHECK(json.find("\"value\":null") != std::string::npos);
  CHECK(json.find("\"value\":\"text\"") != std::string::npos);
}

TEST_CASE("a char value is written as a one-character string; signed and unsigned char as numbers") {
  // A user trial saw 'x' written as 120.
  quorum::memory_store store;
  auto c = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 2},
                                   [] { return 'x'; }, [] { return '"'; });
  const auto json = quorum::to_json(c);
  CHECK(json_valid(json));
  CHECK(json.find("\"value\":\"x\"") != std::string::npos);
  CHECK(json.find("\"value\":\"\\\"\"") != std::string::npos);
  auto u = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 1},
                                   [] { return std::uint8_t{200}; });
  CHECK(quorum::to_json(u).find("\"value\":200") != std::string::npos);
}

TEST_CASE("a branch returning nullptr is written as null") {
  // Regression (cold review): std::nullptr_t converts to std::string_view before C++23, so the
  // value was written as a string read through strlen(nullptr), a crash.
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, {.quorum = 1},
                                   [] { return nullptr; });
  const auto json = quorum::to_json(r);
  CHECK(json_valid(json));
  CHECK(json.find("\"value\":null") != std::string::npos);
}

TEST_CASE("a branch named \"\" is written as \"\" (decided_by null means no branch decided)") {
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{},
                                   {.quorum = 1, .names = {"", "b"}}, [] {}, [] {});
  auto j = quorum::to_json(r);
  CHECK(json_valid(j));
  CHECK(j.find(R"("successful_processes":[""])") != std::string::npos);
  CHECK(j.find(R"("decided_by":"")") != std::string::npos);
  CHECK(j.find(R"("value")") == std::string::npos);  // void branches have no value field
}

namespace {
// LC_NUMERIC switched, for the scope, to an installed locale whose decimal point is a comma
// (what setlocale(LC_ALL, "") gives a program in Germany or France); active() is false when the
// machine has none (a bare container: generate one with `localedef -i de_DE -f UTF-8 DIR/de_DE.UTF-8`
// and run with LOCPATH=DIR).
class comma_locale {
 public:
  comma_locale() {
#ifdef QUORUM_TEST_LOCPATH
    // The locale tests/CMakeLists.txt made in the build tree (glibc reads LOCPATH at each
    // setlocale). Set before any other thread exists: doctest runs the cases on this one.
    if (std::getenv("LOCPATH") == nullptr) ::setenv("LOCPATH", QUORUM_TEST_LOCPATH, 0);
#endif
    const char* was = std::setlocale(LC_NUMERIC, nullptr);
    saved_ = was ? was : "C";
    for (const char* name : {"de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "fr_FR.utf8",
                             "fr_FR", "ru_RU.UTF-8", "es_ES.UTF-8", "it_IT.UTF-8", "nl_NL.UTF-8",
                             "pt_BR.UTF-8"}) {
      if (std::setlocale(LC_NUMERIC, name) && std::localeconv()->decimal_point[0] == ',') {
        active_ = true;
        return;
      }
    }
    std::setlocale(LC_NUMERIC, saved_.c_str());
  }
  ~comma_locale() { restore(); }
  void restore() { std::setlocale(LC_NUMERIC, saved_.c_str()); }
  comma_locale(const comma_locale&) = delete;
  comma_locale& operator=(const comma_locale&) = delete;
  [[nodiscard]] bool active() const noexcept { return active_; }

 private:
  std::string saved_;
  bool active_ = false;
};
}  // namespace

TEST_CASE("numbers are written with a decimal point whatever the C locale's decimal point is") {
  // Regression (cold review): the writers formatted with printf, which follows LC_NUMERIC: under
  // a German locale the record read "elapsed_ms":1,500 and "value":0,5, not JSON.
  comma_locale comma;
  if (!comma.active()) {
    MESSAGE("no locale with a decimal comma is installed: nothing to check here");
    return;
  }
  quorum::manual_clock clk;
  quorum::history h;
  quorum::options o{.quorum = 1, .execution_id = "comma"};
  o.clock = &clk;
  o.observer = h.observer();
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, o, [&] {
    clk.advance(std::chrono::microseconds(1500));
    return 0.5;
  });
  const auto j = quorum::to_json(r);
  CHECK(json_valid(j));
  CHECK(j.find(R"("value":0.5)") != std::string::npos);
  CHECK(j.find(R"("elapsed_ms":1.500)") != std::string::npos);
  CHECK(j.find(R"("finished_ms":1.500)") != std::string::npos);
  h.finish(r);
  const auto t = h.snapshot();
  CHECK(json_valid(quorum::to_json(t)));
  CHECK(json_valid(quorum::to_chrome_trace(t)));
  const auto svg = quorum::to_svg(t);
  comma.restore();
  CHECK(svg == quorum::to_svg(t));  // the same picture as in the locale the test began in
}
