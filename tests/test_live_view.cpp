// The live view: plain lines when not on a terminal, a frame redrawn in place on one, and no
// terminal escapes smuggled in through branch names or errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <quorum/history.hpp>
#include <quorum/live_view.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;
using kind = quorum::event_kind;

namespace {

const auto t0 = std::chrono::steady_clock::time_point{} + 1h;

struct feeder {
  quorum::history& h;
  std::vector<std::string> names{"alpha", "beta", "gamma"};

  void operator()(kind k, std::optional<std::size_t> branch, unsigned attempt,
                  std::chrono::milliseconds at,
                  std::optional<quorum::branch_status> status = std::nullopt,
                  std::optional<quorum::decision> d = std::nullopt, std::string_view error = {}) {
    quorum::event e{
        k,
        "exec",
        branch,
        branch ? std::string_view(names[*branch]) : std::string_view{},
        attempt,
        t0 + at,
        d,
        status,
        error.empty() ? nullptr : std::make_exception_ptr(std::runtime_error(std::string(error)))};
    h.record(e);
  }
};

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool contains(std::string_view s, std::string_view what) {
  return s.find(what) != std::string_view::npos;
}

}  // namespace

TEST_CASE("off a terminal the live view prints one plain line per new event, then a summary") {
  quorum::history h;
  feeder f{h};
  std::ostringstream out;
  quorum::live_view view(out, {.quorum = 1});

  f(kind::started, 0, 1, 0ms);
  f(kind::started, 1, 1, 0ms);
  f(kind::attempt_failed, 0, 1, 200ms, quorum::branch_status::failed, std::nullopt, "flaky");
  view.update(h.snapshot(), t0 + 300ms);
  auto first = lines_of(out.str());
  REQUIRE(first.size() == 3);
  CHECK(contains(first[0], "alpha: started"));
  CHECK(contains(first[2], "alpha: attempt 1 failed, will retry: flaky"));
  CHECK(contains(first[2], "0.200 s"));

  view.update(h.snapshot(), t0 + 400ms);  // nothing new: nothing printed
  CHECK(lines_of(out.str()).size() == 3);

  f(kind::retry_started, 0, 2, 1200ms);
  f(kind::succeeded, 0, 2, 2000ms, quorum::branch_status::succeeded);
  f(kind::decided, 0, 0, 2000ms, std::nullopt, quorum::decision::quorum_met);
  f(kind::stop_requested, std::nullopt, 0, 2000ms);
  f(kind::late, 1, 1, 2100ms, quorum::branch_status::cancelled, std::nullopt,
    "quorum: branch stopped");
  view.finish(h.snapshot());
  auto all = lines_of(out.str());
  REQUIRE(all.size() == 3 + 5 + 1);
  CHECK(contains(all[3], "alpha: retry, attempt 2"));
  CHECK(contains(all[4], "alpha: succeeded (1 of 1 needed)"));
  CHECK(contains(all[5], "decided: quorum met by alpha"));
  CHECK(contains(all[6], "stop requested"));
  CHECK(contains(all[7], "beta: ended after the decision, cancelled"));
  CHECK(all[8] == "done: quorum met by alpha at 2.000 s; 1 succeeded, 0 failed, 1 late");
  CHECK_FALSE(contains(out.str(), "\x1b"));  // no escapes off a terminal
}

TEST_CASE("off a terminal every line of one log counts from the same origin, also after finish") {
  // While it runs, a timeline counts from its first event; history::finish() moves its origin
  // to the execution's start (here 50 ms earlier). The lines already printed cannot move, so
  // the later ones must not either.
  quorum::history h;
  feeder f{h};
  std::ostringstream out;
  quorum::live_view view(out, {.quorum = 1});
  f(kind::started, 0, 1, 50ms);
  view.update(h.snapshot(), t0 + 60ms);
  f(kind::succeeded, 0, 1, 150ms, quorum::branch_status::succeeded);
  f(kind::decided, 0, 0, 150ms, std::nullopt, quorum::decision::quorum_met);
  quorum::result<int> r;
  r.decision = quorum::decision::quorum_met;
  r.execution_id = "exec";
  r.decided_by = 0;
  r.started = t0;
  r.decided_at = t0 + 150ms;
  r.branches.resize(1);
  r.branches[0].name = "alpha";
  r.branches[0].status = quorum::branch_status::succeeded;
  r.branches[0].attempts = 1;
  h.finish(r);
  view.finish(h.snapshot());
  auto all = lines_of(out.str());
  REQUIRE(all.size() == 4);
  CHECK(contains(all[0], "0.000 s] alpha: started"));
  CHECK(contains(all[1], "0.100 s] alpha: succeeded"));
  CHECK(contains(all[2], "0.100 s] decided"));
  CHECK(all[3] == "done: quorum met by alpha at 0.100 s; 1 succeeded, 0 failed");
}

TEST_CASE(
    "on a terminal the live view redraws one frame in place: tally, time left, a line per branch") {
  quorum::history h;
  feeder f{h};
  std::ostringstream out;
  quorum::live_view view(out, {.quorum = 2, .redraw = true, .bar_width = 20, .deadline = t0 + 10s});

  f(kind::started, 0, 1, 0ms);
  f(kind::started, 1, 1, 0ms);
  f(kind::started, 2, 1, 0ms);
  f(kind::failed, 1, 1, 500ms, quorum::branch_status::failed, std::nullopt, "down");
  view.update(h.snapshot(), t0 + 2s);
  const std::string frame1 = out.str();
  CHECK_FALSE(contains(frame1, "\x1b[4A"));                    // the first frame moves nothing
  CHECK(std::count(frame1.begin(), frame1.end(), '\n') == 4);  // header + 3 branches
  CHECK(contains(frame1, "2 of 3"));
  CHECK(contains(frame1, "2 running"));
  CHECK(contains(frame1, "deadline in 8.00 s"));
  CHECK(contains(frame1, "running"));
  CHECK(contains(frame1, "failed"));
  CHECK(contains(frame1, "\x1b[31m"));  // the failure in red

  f(kind::failed, 2, 1, 2500ms, quorum::branch_status::failed, std::nullopt, "down too");
  f(kind::decided, 2, 0, 2500ms, std::nullopt, quorum::decision::unreachable);
  f(kind::stop_requested, std::nullopt, 0, 2500ms);
  f(kind::late, 0, 1, 2600ms, quorum::branch_status::cancelled, std::nullopt,
    "quorum: branch stopped");
  view.update(h.snapshot(), t0 + 3s);
  const std::string frame2 = out.str().substr(frame1.size());
  CHECK(frame2.starts_with("\x1b[4A\r"));  // back to the top of the previous frame
  CHECK(std::count(frame2.begin(), frame2.end(), '\n') == 4);
  CHECK(contains(frame2, "quorum unreachable by gamma"));
  CHECK_FALSE(contains(frame2, "deadline in"));
  CHECK_FALSE(contains(frame2, "running"));
  CHECK(contains(frame2, "stopped"));
}

TEST_CASE("branch names and errors cannot smuggle terminal escapes into the live view") {
  for (bool redraw : {false, true}) {
    CAPTURE(redraw);
    quorum::history h;
    feeder f{h, {"evil\x1b[2J\x1b]0;title\x07", "fine"}};
    std::ostringstream out;
    quorum::live_view view(out, {.quorum = 1, .redraw = redraw});
    f(kind::started, 0, 1, 0ms);
    f(kind::failed, 0, 1, 10ms, quorum::branch_status::failed, std::nullopt, "err\x1b[1;1H");
    view.update(h.snapshot(), t0 + 20ms);
    view.finish(h.snapshot());
    const std::string s = out.str();
    CHECK_FALSE(contains(s, "\x1b[2J"));
    CHECK_FALSE(contains(s, "\x1b]0"));
    CHECK_FALSE(contains(s, "\x1b[1;1H"));
    CHECK_FALSE(contains(s, "\x07"));
    CHECK(contains(s, "evil"));
  }
}

namespace {
// A frame's line with its escapes taken out: what the terminal shows.
std::string shown(std::string_view line) {
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\x1b' && i + 1 < line.size() && line[i + 1] == '[') {
      i += 2;
      while (i < line.size() && !(line[i] >= '@' && line[i] <= '~')) ++i;  // up to the final byte
      continue;
    }
    out += line[i];
  }
  return out;
}
}  // namespace

TEST_CASE("on a terminal the bars line up whatever columns the names' characters take") {
  // Regression (cold review): names were padded by code points, but a CJK character or an
  // emoji takes two columns and a combining accent none, so the bars of such rows were pushed
  // right (or left) of the others.
  quorum::history h;
  feeder f{h, {"\xE6\x9D\xB1\xE4\xBA\xAC",  // 東京: 2 code points, 4 columns
               "e\xCC\x81u-1",             // éu-1 with a combining accent: 5 code points, 4 columns
               "abcd"}};
  std::ostringstream out;
  quorum::live_view view(out, {.quorum = 2, .redraw = true, .bar_width = 10, .deadline = t0 + 10s});
  for (std::size_t i = 0; i < 3; ++i) f(kind::started, i, 1, 0ms);
  view.update(h.snapshot(), t0 + 10s);  // every bar is full: it starts with a block
  const auto rows = lines_of(out.str());
  REQUIRE(rows.size() == 4);
  const std::string block = "\xE2\x96\x88";
  CHECK(shown(rows[1]).starts_with("  \xE6\x9D\xB1\xE4\xBA\xAC  " + block));
  CHECK(shown(rows[2]).starts_with("  e\xCC\x81u-1  " + block));
  CHECK(shown(rows[3]).starts_with("  abcd  " + block));
}

TEST_CASE("on a terminal a pictograph outside the first emoji blocks takes two columns too") {
  // Regression (cold review): columns() counted the pictographs of U+1F300..U+1F64F and
  // U+1F900..U+1F9FF as two columns but those of Transport and Map (a rocket, U+1F680) and
  // Symbols and Pictographs Extended-A (U+1FA80..) as one: their rows' bars sat a column left.
  quorum::history h;
  feeder f{h, {"\xF0\x9F\x9A\x80 go",  // 🚀 go: 4 code points, 5 columns
               "\xF0\x9F\xAA\x81 up",  // 🪁 up: 4 code points, 5 columns
               "abcde"}};
  std::ostringstream out;
  quorum::live_view view(out, {.quorum = 2, .redraw = true, .bar_width = 10, .deadline = t0 + 10s});
  for (std::size_t i = 0; i < 3; ++i) f(kind::started, i, 1, 0ms);
  view.update(h.snapshot(), t0 + 10s);
  const auto rows = lines_of(out.str());
  REQUIRE(rows.size() == 4);
  const std::string block = "\xE2\x96\x88";
  CHECK(shown(rows[1]).starts_with("  \xF0\x9F\x9A\x80 go  " + block));
  CHECK(shown(rows[2]).starts_with("  \xF0\x9F\xAA\x81 up  " + block));
  CHECK(shown(rows[3]).starts_with("  abcde  " + block));
}

TEST_CASE("the emoji among the basic plane's symbols take two columns, their neighbours one") {
  // Regression: columns() counted ✅ ❌ ⚡ ⭐ (U+2705, U+274C, U+26A1, U+2B50) as one column, so
  // a row named with one had its bar a column left of the others'. Their neighbours in the same
  // blocks (☀ U+2600, ✓ U+2713, ➜ U+279C) do take one.
  using quorum::detail::columns;
  CHECK(columns("\xE2\x9C\x85") == 2);          // ✅
  CHECK(columns("\xE2\x9D\x8C") == 2);          // ❌
  CHECK(columns("\xE2\x9A\xA1 fast") == 7);     // ⚡ fast
  CHECK(columns("\xE2\xAD\x90") == 2);          // ⭐
  CHECK(columns("\xE2\x8C\x9A") == 2);          // ⌚ (U+231A, the first of them)
  CHECK(columns("\xE2\x98\x80") == 1);          // ☀
  CHECK(columns("\xE2\x9C\x93") == 1);          // ✓
  CHECK(columns("\xE2\x9E\x9C") == 1);          // ➜
  CHECK(columns("\xF0\x9F\x80\x84") == 2);      // 🀄 U+1F004
  CHECK(columns("\xF0\x9F\x9F\xA0") == 2);      // 🟠 U+1F7E0
  CHECK(columns("\xF0\x9F\x9B\xA0") == 1);      // 🛠 U+1F6E0, text by default
  CHECK(columns("\xE6\x9D\xB1") == 2);          // 東, as before
  CHECK(columns("\xF0\xA0\x80\x80") == 2);      // U+20000, the last ranges
  CHECK(columns("abc") == 3);
}
