// The history recorder and its writers: spans from events, agreement with the result, JSON and
// Chrome trace that parse, an SVG that is well-formed XML, and escaping of hostile names.
#include <doctest/doctest.h>

#include <cctype>
#include <chrono>
#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <quorum/history.hpp>
#include <quorum/quorum.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "strict_json.hpp"

using namespace std::chrono_literals;
using kind = quorum::event_kind;
using quorum::span_kind;
using quorum::span_outcome;

namespace {

// ---- a small XML well-formedness checker (XML 1.0, enough for our SVG) -----------------------
// Elements nest and close, names are well-formed, attributes are quoted and unique, '&' only
// starts a known entity or a character reference, '<' never appears in text or attribute values,
// the text is valid UTF-8 without the control characters XML forbids, one root element.
class xml_checker {
 public:
  explicit xml_checker(std::string_view s) : s_(s) {}

  // Empty when well-formed, else what is wrong and where.
  std::string check() {
    if (!utf8_ok()) return "invalid UTF-8 or a forbidden character";
    if (s_.substr(0, 5) == "<?xml") {
      auto end = s_.find("?>");
      if (end == std::string_view::npos) return "unterminated XML declaration";
      p_ = end + 2;
    }
    skip_space();
    std::size_t roots = 0;
    while (p_ < s_.size()) {
      if (s_.substr(p_, 4) == "<!--") {
        if (!comment()) return error("bad comment");
      } else if (s_[p_] == '<') {
        if (++roots > 1) return error("more than one root element");
        if (auto e = element(); !e.empty()) return e;
      } else {
        return error("text outside the root element");
      }
      skip_space();
    }
    return roots == 1 ? std::string{} : std::string("no root element");
  }

  std::size_t elements = 0;
  std::multiset<std::string> names;  // element names seen

 private:
  std::string error(std::string_view what) const {
    return std::string(what) + " at byte " + std::to_string(p_) + ": '" +
           std::string(s_.substr(p_, 40)) + "'";
  }

  bool utf8_ok() const {
    const auto* p = reinterpret_cast<const unsigned char*>(s_.data());
    const auto* end = p + s_.size();
    while (p < end) {
      unsigned char c = *p;
      if (c < 0x80) {
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return false;
        ++p;
        continue;
      }
      int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
      if (len == 0 || c > 0xf4 || end - p < len) return false;
      for (int k = 1; k < len; ++k)
        if ((p[k] & 0xc0) != 0x80) return false;
      if (len == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))) return false;
      if (len == 3 && c == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)) return false;
      if (len == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))) return false;
      p += len;
    }
    return true;
  }

  void skip_space() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n' || s_[p_] == '\t' || s_[p_] == '\r'))
      ++p_;
  }

  static bool name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  }
  static bool name_char(char c) {
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
  }

  std::string name() {
    std::size_t b = p_;
    if (p_ >= s_.size() || !name_start(s_[p_])) return {};
    while (p_ < s_.size() && name_char(s_[p_])) ++p_;
    return std::string(s_.substr(b, p_ - b));
  }

  bool comment() {
    auto end = s_.find("-->", p_ + 4);
    if (end == std::string_view::npos) return false;
    if (s_.substr(p_ + 4, end - p_ - 4).find("--") != std::string_view::npos) return false;
    p_ = end + 3;
    return true;
  }

  // '&' at p_: a predefined entity or a character reference.
  bool reference() {
    static constexpr std::string_view known[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (auto k : known)
      if (s_.substr(p_, k.size()) == k) {
        p_ += k.size();
        return true;
      }
    if (s_.substr(p_, 2) != "&#") return false;
    std::size_t q = p_ + 2;
    const bool hex = q < s_.size() && s_[q] == 'x';
    if (hex) ++q;
    std::size_t digits = 0;
    while (q < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[q])) ||
                             (hex && std::isxdigit(static_cast<unsigned char>(s_[q]))))) {
      ++q;
      ++digits;
    }
    if (digits == 0 || q >= s_.size() || s_[q] != ';') return false;
    p_ = q + 1;
    return true;
  }

  std::string element() {
    ++p_;  // '<'
    const std::string tag = name();
    if (tag.empty()) return error("bad element name");
    ++elements;
    names.insert(tag);
    std::set<std::string> attrs;
    for (;;) {
      const bool spaced = p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n' || s_[p_] == '\t');
      skip_space();
      if (p_ >= s_.size()) return error("unterminated tag");
      if (s_.substr(p_, 2) == "/>") {
        p_ += 2;
        return {};
      }
      if (s_[p_] == '>') {
        ++p_;
        break;
      }
      if (!spaced) return error("attributes must be separated by space");
      const std::string attr = name();
      if (attr.empty()) return error("bad attribute name");
      if (!attrs.insert(attr).second) return error("duplicate attribute " + attr);
      skip_space();
      if (p_ >= s_.size() || s_[p_] != '=') return error("attribute without '='");
      ++p_;
      skip_space();
      if (p_ >= s_.size() || (s_[p_] != '"' && s_[p_] != '\'')) return error("unquoted attribute");
      const char quote = s_[p_++];
      while (p_ < s_.size() && s_[p_] != quote) {
        if (s_[p_] == '<') return error("'<' in an attribute value");
        if (s_[p_] == '&') {
          if (!reference()) return error("bad reference in an attribute value");
        } else {
          ++p_;
        }
      }
      if (p_ >= s_.size()) return error("unterminated attribute value");
      ++p_;
    }
    // Content: text, references, comments, child elements, then the end tag.
    for (;;) {
      if (p_ >= s_.size()) return error("unclosed element <" + tag + ">");
      if (s_.substr(p_, 2) == "</") {
        p_ += 2;
        if (name() != tag) return error("mismatched end tag for <" + tag + ">");
        skip_space();
        if (p_ >= s_.size() || s_[p_] != '>') return error("bad end tag");
        ++p_;
        return {};
      }
      if (s_.substr(p_, 4) == "<!--") {
        if (!comment()) return error("bad comment");
        continue;
      }
      if (s_[p_] == '<') {
        if (auto e = element(); !e.empty()) return e;
        continue;
      }
      if (s_[p_] == '&') {
        if (!reference()) return error("bad reference in text");
        continue;
      }
      if (s_.substr(p_, 3) == "]]>") return error("']]>' in text");
      ++p_;
    }
  }

  std::string_view s_;
  std::size_t p_ = 0;
};

std::string xml_error(std::string_view svg) { return xml_checker(svg).check(); }

// ---- building timelines from hand-made events --------------------------------------------------

const auto t0 = std::chrono::steady_clock::time_point{} + 1h;

struct feeder {
  quorum::history& h;
  std::string id = "exec-7";
  std::vector<std::string> names{"alpha", "beta", "gamma"};

  void operator()(kind k, std::optional<std::size_t> branch, unsigned attempt,
                  std::chrono::milliseconds at,
                  std::optional<quorum::branch_status> status = std::nullopt,
                  std::optional<quorum::decision> d = std::nullopt, std::string_view error = {}) {
    quorum::event e{
        k,
        id,
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

// alpha: fails, waits 1 s, retries, succeeds at 3 s and decides; beta fails at 0.5 s;
// gamma runs until it is stopped and ends late at 3.1 s.
void feed_story(quorum::history& h) {
  feeder f{h};
  using st = quorum::branch_status;
  f(kind::started, 0, 1, 0ms);
  f(kind::started, 1, 1, 0ms);
  f(kind::started, 2, 1, 0ms);
  f(kind::attempt_failed, 0, 1, 200ms, st::failed, std::nullopt, "flaky");
  f(kind::failed, 1, 1, 500ms, st::failed, std::nullopt, "drew 9");
  f(kind::retry_started, 0, 2, 1200ms);
  f(kind::succeeded, 0, 2, 3000ms, st::succeeded);
  f(kind::decided, 0, 0, 3000ms, std::nullopt, quorum::decision::quorum_met);
  f(kind::stop_requested, std::nullopt, 0, 3000ms);
  f(kind::late, 2, 1, 3100ms, st::cancelled, std::nullopt, "quorum: branch stopped");
}

// The result an execution of the story would return (with a 5 s deadline).
quorum::result<int> story_result() {
  quorum::result<int> r;
  r.decision = quorum::decision::quorum_met;
  r.execution_id = "exec-7";
  r.decided_by = 0;
  r.started = t0;
  r.decided_at = t0 + 3s;
  r.deadline = t0 + 5s;
  r.branches.resize(3);
  const char* names[] = {"alpha", "beta", "gamma"};
  for (std::size_t i = 0; i < 3; ++i) {
    r.branches[i].name = names[i];
    r.branches[i].started = t0;
  }
  r.branches[0].status = quorum::branch_status::succeeded;
  r.branches[0].attempts = 2;
  r.branches[0].finished = t0 + 3s;
  r.branches[0].value = 1;
  r.branches[1].status = quorum::branch_status::failed;
  r.branches[1].attempts = 1;
  r.branches[1].finished = t0 + 500ms;
  r.branches[2].status = quorum::branch_status::cancelled;
  r.branches[2].late = true;
  r.branches[2].attempts = 1;
  r.branches[2].finished = t0 + 3100ms;
  return r;
}

const strict_json::value* member(const strict_json::value& v, std::string_view key) {
  const auto* m = v.get(key);
  REQUIRE_MESSAGE(m != nullptr, "missing member " << key);
  return m;
}

}  // namespace

TEST_CASE(
    "the history builds one row per branch: attempts, retry waits and outcomes from the events") {
  quorum::history h;
  feed_story(h);
  const auto t = h.snapshot();

  CHECK(t.execution_id == "exec-7");
  CHECK(t.origin == t0);  // without finish(): the first event
  CHECK(t.decision == quorum::decision::quorum_met);
  CHECK(t.decided_by == 0u);
  CHECK(t.decided_at == t0 + 3s);
  CHECK(t.stop_requested_at == t0 + 3s);
  CHECK(t.end == t0 + 3100ms);
  CHECK(t.events.size() == 10);
  REQUIRE(t.branches.size() == 3);

  const auto& alpha = t.branches[0];
  CHECK(alpha.name == "alpha");
  CHECK(alpha.status == quorum::branch_status::succeeded);
  CHECK(alpha.attempts == 2u);
  REQUIRE(alpha.spans.size() == 3);
  CHECK(alpha.spans[0].kind == span_kind::attempt);
  CHECK(alpha.spans[0].outcome == span_outcome::retried);
  CHECK(alpha.spans[0].error == "flaky");
  CHECK(alpha.spans[0].end == t0 + 200ms);
  CHECK(alpha.spans[1].kind == span_kind::retry_wait);
  CHECK(alpha.spans[1].begin == t0 + 200ms);
  CHECK(alpha.spans[1].end == t0 + 1200ms);
  CHECK(alpha.spans[2].kind == span_kind::attempt);
  CHECK(alpha.spans[2].attempt == 2u);
  CHECK(alpha.spans[2].begin == t0 + 1200ms);
  CHECK(alpha.spans[2].end == t0 + 3s);
  CHECK(alpha.spans[2].outcome == span_outcome::succeeded);

  const auto& beta = t.branches[1];
  REQUIRE(beta.spans.size() == 1);
  CHECK(beta.spans[0].outcome == span_outcome::failed);
  CHECK(beta.error == "drew 9");
  CHECK_FALSE(beta.late);

  const auto& gamma = t.branches[2];
  CHECK(gamma.late);
  CHECK(gamma.status == quorum::branch_status::cancelled);
  REQUIRE(gamma.spans.size() == 1);
  CHECK(gamma.spans[0].outcome == span_outcome::cancelled);

  CHECK(t.successes() == 1);
  CHECK(t.failures() == 1);
}

TEST_CASE("a snapshot taken while branches run shows open spans as running") {
  quorum::history h;
  feeder f{h};
  f(kind::started, 0, 1, 0ms);
  f(kind::started, 1, 1, 0ms);
  f(kind::attempt_failed, 1, 1, 10ms, quorum::branch_status::failed, std::nullopt, "flaky");
  const auto t = h.snapshot();

  REQUIRE(t.branches.size() == 2);
  CHECK(t.branches[0].running());
  CHECK(t.branches[0].spans.back().outcome == span_outcome::running);
  CHECK_FALSE(t.branches[0].ended());
  CHECK(t.branches[1].waiting());
  CHECK_FALSE(t.decision);
  // An unfinished attempt is a begin event in the trace; everything still parses.
  const auto trace = quorum::to_chrome_trace(t);
  CHECK(strict_json::valid(trace));
  CHECK(trace.find("\"ph\":\"B\"") != std::string::npos);
  CHECK(xml_error(quorum::to_svg(t)).empty());
  CHECK(strict_json::valid(quorum::to_json(t)));
}

TEST_CASE("finish() adds the start, the deadline and the branches that never sent an event") {
  quorum::history h;
  feeder f{h};
  f.names = {"alpha", "beta", "never"};
  f(kind::started, 0, 1, 100ms);
  f(kind::succeeded, 0, 1, 400ms, quorum::branch_status::succeeded);
  f(kind::decided, 0, 0, 400ms, std::nullopt, quorum::decision::quorum_met);

  quorum::result<void> r;
  r.decision = quorum::decision::quorum_met;
  r.execution_id = "exec-7";
  r.decided_by = 0;
  r.started = t0;
  r.decided_at = t0 + 400ms;
  r.deadline = t0 + 2s;
  r.branches.resize(3);
  r.branches[0] = {{},         "alpha",   quorum::branch_status::succeeded, {}, 1, false,
                   t0 + 100ms, t0 + 400ms};
  // beta ran but its events were lost (say, no observer then): one bar from the result's times
  r.branches[1] = {{}, "beta", quorum::branch_status::failed, {}, 1, false, t0 + 100ms, t0 + 300ms};
  r.branches[2] = {{},           "never",     quorum::branch_status::cancelled, {}, 0, false,
                   std::nullopt, std::nullopt};
  h.finish(r);
  const auto t = h.snapshot();

  CHECK(t.origin == t0);
  CHECK(t.deadline == t0 + 2s);
  CHECK(t.ms(t.branches[0].spans[0].begin) == doctest::Approx(100));
  REQUIRE(t.branches.size() == 3);
  REQUIRE(t.branches[1].spans.size() == 1);
  CHECK(t.branches[1].spans[0].outcome == span_outcome::failed);
  CHECK(t.branches[1].spans[0].end == t0 + 300ms);
  CHECK(t.branches[2].name == "never");
  CHECK(t.branches[2].spans.empty());
  CHECK(t.branches[2].status == quorum::branch_status::cancelled);
  CHECK(t.branches[2].attempts == 0u);
  const auto svg = quorum::to_svg(t);
  CHECK(xml_error(svg).empty());
  CHECK(svg.find("never started") != std::string::npos);
}

TEST_CASE("events of another execution are ignored") {
  quorum::history h;
  feeder f{h};
  f(kind::started, 0, 1, 0ms);
  feeder other{h, "exec-other"};
  other(kind::started, 1, 1, 5ms);
  other(kind::decided, 1, 0, 5ms, std::nullopt, quorum::decision::quorum_met);
  const auto t = h.snapshot();
  CHECK(t.events.size() == 1);
  CHECK(t.branches.size() == 1);
  CHECK_FALSE(t.decision);
}

TEST_CASE("the result of another execution is ignored by finish(), as its events are") {
  // A history reused for a second run records none of its events; its result must not be
  // laid over the first run's spans either (a timeline of exec-7 with another run's decision,
  // statuses and deadline, counting a success its own spans show as a failure).
  quorum::history h;
  feed_story(h);
  auto other = story_result();
  other.execution_id = "exec-other";
  other.decision = quorum::decision::unreachable;
  other.decided_by = std::nullopt;
  other.deadline = t0 + 9s;
  other.branches[0].status = quorum::branch_status::failed;
  h.finish(other);
  const auto t = h.snapshot();

  CHECK(t.execution_id == "exec-7");
  CHECK(t.decision == quorum::decision::quorum_met);
  CHECK(t.decided_by == 0u);
  CHECK_FALSE(t.deadline);
  CHECK(t.branches[0].status == quorum::branch_status::succeeded);
  CHECK(t.successes() == 1);

  h.finish(story_result());  // its own result still counts
  CHECK(h.snapshot().deadline == t0 + 5s);
}

TEST_CASE("the timeline of a real execution agrees with its result, on the execution's clock") {
  quorum::manual_clock clk;
  quorum::memory_store store;
  quorum::history h;
  quorum::options o{.quorum = 2, .timeout = 10s};
  o.clock = &clk;
  o.retry.max_attempts = 3;
  o.observer = h.observer();

  auto r = quorum::quorum_parallel(
      store, quorum::inline_executor{}, o,
      [&](quorum::branch_context& ctx) {
        clk.advance(1s);
        if (ctx.attempt() == 1) throw std::runtime_error("flaky");
        return 1;
      },
      [&]() -> int {
        clk.advance(250ms);
        throw std::runtime_error("down");
      },
      [&] {
        clk.advance(2s);
        return 3;
      });
  h.finish(r);
  const auto t = h.snapshot();

  REQUIRE(r.decision == quorum::decision::quorum_met);
  CHECK(t.decision == r.decision);
  CHECK(t.decided_by == r.decided_by);
  CHECK(t.decided_at == r.decided_at);
  CHECK(t.deadline == r.deadline);
  CHECK(t.ms(*t.deadline) == doctest::Approx(10000));
  REQUIRE(t.branches.size() == r.branches.size());
  for (std::size_t i = 0; i < t.branches.size(); ++i) {
    CAPTURE(i);
    CHECK(t.branches[i].name == r.branches[i].name);
    CHECK(t.branches[i].status == r.branches[i].status);
    CHECK(t.branches[i].late == r.branches[i].late);
    CHECK(t.branches[i].attempts == r.branches[i].attempts);
    CHECK(t.branches[i].spans.front().begin == *r.branches[i].started);
    CHECK(t.branches[i].spans.back().end == r.branches[i].finished);
  }
  // Branch 0: attempt 1 from 0 to 1 s (retried), a zero wait, attempt 2 from 1 s to 2 s.
  const auto& b0 = t.branches[0];
  REQUIRE(b0.spans.size() == 3);
  CHECK(t.ms(b0.spans[0].begin) == doctest::Approx(0));
  CHECK(t.ms(*b0.spans[0].end) == doctest::Approx(1000));
  CHECK(b0.spans[0].outcome == span_outcome::retried);
  CHECK(t.ms(*b0.spans[2].end) == doctest::Approx(2000));
  // Branch 1 failed three times, 250 ms each; branch 2 ran after the others on the inline
  // executor: from 2.75 s to 4.75 s, and decided.
  CHECK(t.branches[1].spans.size() == 5);
  CHECK(t.ms(*t.branches[1].spans.back().end) == doctest::Approx(2750));
  CHECK(t.ms(t.branches[2].spans[0].begin) == doctest::Approx(2750));
  CHECK(t.ms(*t.decided_at) == doctest::Approx(4750));
  CHECK(t.decided_by == 2u);
}

TEST_CASE("the JSON has the events in the order received and names the deciding branch") {
  quorum::history h;
  feed_story(h);
  h.finish(story_result());
  const auto text = quorum::to_json(h.snapshot());
  const auto doc = strict_json::parse(text);
  REQUIRE_MESSAGE(doc, text);

  CHECK(member(*doc, "execution_id")->str == "exec-7");
  CHECK(member(*doc, "decision")->str == "quorum_met");
  CHECK(member(*doc, "decided_by")->str == "alpha");
  CHECK(member(*doc, "decided_by_index")->num == 0);
  CHECK(member(*doc, "decided_ms")->num == doctest::Approx(3000));
  CHECK(member(*doc, "deadline_ms")->num == doctest::Approx(5000));
  CHECK(member(*doc, "successes")->num == 1);
  CHECK(member(*doc, "failures")->num == 1);

  const auto& events = member(*doc, "events")->arr;
  REQUIRE(events.size() == 10);
  const char* kinds[] = {"started",       "started",   "started", "attempt_failed", "failed",
                         "retry_started", "succeeded", "decided", "stop_requested", "late"};
  for (std::size_t i = 0; i < events.size(); ++i) {
    CAPTURE(i);
    CHECK(member(events[i], "seq")->num == static_cast<double>(i));
    CHECK(member(events[i], "kind")->str == kinds[i]);
  }
  CHECK(member(events[3], "error")->str == "flaky");
  CHECK(member(events[3], "name")->str == "alpha");
  CHECK(member(events[7], "decision")->str == "quorum_met");
  CHECK(member(events[8], "branch")->is(strict_json::value::kind::null));
  CHECK(member(events[9], "status")->str == "cancelled");
  CHECK(member(events[6], "at_ms")->num == doctest::Approx(3000));

  const auto& branches = member(*doc, "branches")->arr;
  REQUIRE(branches.size() == 3);
  const auto& spans = member(branches[0], "spans")->arr;
  REQUIRE(spans.size() == 3);
  CHECK(member(spans[1], "kind")->str == "retry_wait");
  CHECK(member(spans[1], "begin_ms")->num == doctest::Approx(200));
  CHECK(member(spans[1], "end_ms")->num == doctest::Approx(1200));
  CHECK(member(spans[2], "outcome")->str == "succeeded");
  CHECK(member(branches[2], "late")->b);
  CHECK(member(branches[2], "status")->str == "cancelled");
}

TEST_CASE(
    "the Chrome trace parses as JSON with a track per branch, its attempts, the decision and the "
    "deadline") {
  quorum::history h;
  feed_story(h);
  h.finish(story_result());
  const auto text = quorum::to_chrome_trace(h.snapshot());
  const auto doc = strict_json::parse(text);
  REQUIRE_MESSAGE(doc, text);
  const auto& events = member(*doc, "traceEvents")->arr;
  REQUIRE_FALSE(events.empty());

  std::set<double> named_tracks;
  std::multiset<double> attempt_tracks;
  bool decision = false, deadline = false, wait = false;
  for (const auto& e : events) {
    const auto ph = member(e, "ph")->str;
    const auto name = member(e, "name")->str;
    const double tid = member(e, "tid")->num;
    CHECK(member(e, "pid")->num == 1);
    if (ph == "M" && name == "thread_name") named_tracks.insert(tid);
    if (ph == "X" && member(e, "cat")->str == "attempt") {
      attempt_tracks.insert(tid);
      CHECK(member(e, "dur")->num >= 0);
    }
    if (ph == "X" && member(e, "cat")->str == "retry") {
      wait = true;
      CHECK(tid == 1);
      CHECK(member(e, "ts")->num == doctest::Approx(200000));
      CHECK(member(e, "dur")->num == doctest::Approx(1000000));
    }
    if (ph == "i" && member(e, "cat")->str == "decision" && name.starts_with("decided")) {
      decision = true;
      CHECK(member(e, "ts")->num == doctest::Approx(3000000));
      CHECK(member(*member(e, "args"), "decided_by")->str == "alpha");
    }
    if (ph == "i" && name == "deadline") {
      deadline = true;
      CHECK(member(e, "ts")->num == doctest::Approx(5000000));
      CHECK(member(e, "s")->str == "g");
    }
  }
  CHECK(named_tracks == std::set<double>{0, 1, 2, 3});         // the execution and one per branch
  CHECK(attempt_tracks == std::multiset<double>{1, 1, 2, 3});  // alpha made two attempts
  CHECK(decision);
  CHECK(deadline);
  CHECK(wait);
}

TEST_CASE(
    "the SVG is well-formed XML with a row per branch, the deadline, the decision and a legend") {
  quorum::history h;
  feed_story(h);
  h.finish(story_result());
  const auto svg = quorum::to_svg(h.snapshot(), {.title = "the story"});

  xml_checker x(svg);
  REQUIRE_MESSAGE(x.check().empty(), x.check());
  CHECK(svg.starts_with("<?xml"));
  CHECK(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  CHECK(svg.find("the story") != std::string::npos);
  for (auto name : {"alpha", "beta", "gamma"}) CHECK(svg.find(name) != std::string::npos);
  CHECK(svg.find("deadline 5.00 s") != std::string::npos);
  CHECK(svg.find("quorum met 3.00 s") != std::string::npos);
  CHECK(svg.find("url(#retried)") != std::string::npos);  // alpha's failed attempt
  CHECK(svg.find(std::string(quorum::detail::svg_palette::highlight)) !=
        std::string::npos);  // decider row
  CHECK(svg.find("decided</text>") != std::string::npos);
  for (auto legend : {">succeeded<", ">failed<", ">failed, retried<", ">retry wait<", ">stopped<",
                      ">deadline<", ">decision<"})
    CHECK(svg.find(legend) != std::string::npos);
  CHECK(x.names.count("rect") >= 4);  // background + bars
}

TEST_CASE(
    "names with markup, quotes, control characters and invalid UTF-8 are escaped everywhere") {
  const std::vector<std::string> names = {"<script>alert(\"x\")</script> & 'co'",
                                          "tab\there\nnewline",
                                          std::string("bell\x01\x1b[31m"),
                                          "bad \xff\xfe utf8 \xc0\xaf",
                                          "\xef\xbf\xbe nonchar",
                                          "ok \xc3\xbc"
                                          "n\xc3\xaf"
                                          "c\xc3\xb6"
                                          "d\xc3\xa9 \xe2\x9c\x93",
                                          std::string(200, 'x')};
  quorum::history h;
  feeder f{h, "id \"<&>\"", names};
  for (std::size_t i = 0; i < names.size(); ++i) {
    f(kind::started, i, 1, 0ms);
    f(kind::failed, i, 1, 10ms, quorum::branch_status::failed, std::nullopt, names[i]);
  }
  f(kind::decided, 0, 0, 10ms, std::nullopt, quorum::decision::unreachable);
  const auto t = h.snapshot();

  const auto svg = quorum::to_svg(t, {.title = names[0]});
  CHECK_MESSAGE(xml_error(svg).empty(), xml_error(svg));
  CHECK(svg.find("<script>") == std::string::npos);
  CHECK(svg.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;co&apos;") !=
        std::string::npos);
  CHECK(svg.find('\x1b') == std::string::npos);
  CHECK(svg.find("ok \xc3\xbc"
                 "n\xc3\xaf"
                 "c\xc3\xb6"
                 "d\xc3\xa9 \xe2\x9c\x93") != std::string::npos);

  const auto json = strict_json::parse(quorum::to_json(t));
  REQUIRE(json);
  const auto& branches = member(*json, "branches")->arr;
  CHECK(member(branches[0], "name")->str == names[0]);  // valid UTF-8 round-trips exactly
  CHECK(member(branches[1], "name")->str == names[1]);
  CHECK(member(branches[5], "name")->str == names[5]);
  CHECK(member(*json, "execution_id")->str == "id \"<&>\"");
  CHECK(strict_json::valid(quorum::to_chrome_trace(t)));
}

TEST_CASE("a branch named \"\" is written as \"\", not null: null means no branch") {
  quorum::history h;
  quorum::options o{.quorum = 1, .names = {"", "b"}};
  o.observer = h.observer();
  quorum::memory_store store;
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, o, [] {}, [] {});
  REQUIRE(r.decided_by == 0u);
  h.finish(r);
  const auto t = h.snapshot();

  const auto text = quorum::to_json(t);
  const auto doc = strict_json::parse(text);
  REQUIRE_MESSAGE(doc, text);
  CHECK(member(*doc, "decided_by")->is(strict_json::value::kind::string));
  CHECK(member(*doc, "decided_by")->str.empty());
  CHECK(member(*doc, "decided_by_index")->num == 0);
  for (const auto& e : member(*doc, "events")->arr) {
    CAPTURE(member(e, "kind")->str);
    if (member(e, "branch")->is(strict_json::value::kind::null))
      CHECK(member(e, "name")->is(strict_json::value::kind::null));
    else
      CHECK(member(e, "name")->str == (member(e, "branch")->num == 0 ? "" : "b"));
  }

  const auto trace = quorum::to_chrome_trace(t);
  REQUIRE(strict_json::valid(trace));
  CHECK(trace.find("\"decided_by\":\"\"") != std::string::npos);
  CHECK(trace.find("\"decided_by\":null") == std::string::npos);
}

TEST_CASE("an empty history still writes valid JSON, a valid trace and a valid SVG") {
  quorum::history h;
  const auto t = h.snapshot();
  CHECK(t.branches.empty());
  CHECK(strict_json::valid(quorum::to_json(t)));
  CHECK(strict_json::valid(quorum::to_chrome_trace(t)));
  CHECK(xml_error(quorum::to_svg(t)).empty());
}

TEST_CASE("a deadline far beyond the run is named at the edge instead of squeezing the chart") {
  quorum::history h;
  feed_story(h);
  auto r = story_result();
  r.deadline = t0 + 1h;
  h.finish(r);
  const auto svg = quorum::to_svg(h.snapshot());
  CHECK(xml_error(svg).empty());
  CHECK(svg.find("deadline at 3600.0 s") != std::string::npos);
}

TEST_CASE("the recorder can be fed from many threads while snapshots are taken" *
          doctest::timeout(60)) {
  constexpr std::size_t n = 8;
  quorum::history h;
  quorum::options o{.quorum = n};
  o.retry.max_attempts = 3;
  o.observer = h.observer();
  std::vector<std::function<int(quorum::branch_context&)>> fs;
  for (std::size_t i = 0; i < n; ++i)
    fs.push_back([](quorum::branch_context& ctx) {
      if (ctx.attempt() <= ctx.index() % 3) throw std::runtime_error("flaky");
      return 1;
    });

  auto ex = quorum::start(o, fs);
  while (!ex.decided()) {  // what a live view does
    const auto t = h.snapshot();
    for (const auto& b : t.branches) CHECK(b.spans.size() <= 5);
    std::this_thread::yield();
  }
  auto r = ex.get();
  h.finish(r);
  const auto t = h.snapshot();
  REQUIRE(r.decision == quorum::decision::quorum_met);
  REQUIRE(t.branches.size() == n);
  for (std::size_t i = 0; i < n; ++i) {
    CAPTURE(i);
    const std::size_t attempts = i % 3 + 1;
    CHECK(t.branches[i].attempts == attempts);
    CHECK(t.branches[i].spans.size() == 2 * attempts - 1);
    CHECK(t.branches[i].spans.back().outcome == span_outcome::succeeded);
  }
  // started + succeeded per branch, two events per retry, and the decision (stop_requested may
  // come too: when the last success decides, the others may not have finished their bookkeeping)
  std::size_t events = 0;
  for (const auto& e : t.events) events += e.kind == kind::stop_requested ? 0 : 1;
  CHECK(events == n * 2 + 2 * (0 + 1 + 2 + 0 + 1 + 2 + 0 + 1) + 1);
}

TEST_CASE("the XML checker of these tests rejects what is not well-formed") {
  CHECK(xml_error("<svg><rect/></svg>").empty());
  CHECK(
      xml_error("<?xml version=\"1.0\"?>\n<a x=\"1\" y='&amp;&#38;&#x26;'>t &lt; u</a>\n").empty());
  CHECK_FALSE(xml_error("<svg><rect></svg>").empty());       // unclosed
  CHECK_FALSE(xml_error("<svg>a & b</svg>").empty());        // bare ampersand
  CHECK_FALSE(xml_error("<svg>&nbsp;</svg>").empty());       // unknown entity
  CHECK_FALSE(xml_error("<svg x=\"<\"/>").empty());          // '<' in an attribute
  CHECK_FALSE(xml_error("<svg x=\"1\" x=\"2\"/>").empty());  // duplicate attribute
  CHECK_FALSE(xml_error("<svg x=1/>").empty());              // unquoted
  CHECK_FALSE(xml_error("<a/><b/>").empty());                // two roots
  CHECK_FALSE(xml_error("<a>\x01</a>").empty());             // forbidden character
  CHECK_FALSE(xml_error("<a>\xff</a>").empty());             // invalid UTF-8
  CHECK_FALSE(xml_error("<a>x <b> y</a></b>").empty());      // crossed
}

TEST_CASE("a branch that threw an exception with an empty what() shows an error, not none") {
  // describe() gave "" for it, which history and the JSON writers read as "no error": the
  // timeline JSON wrote "error": null for a failed branch, and its attempt span no error.
  quorum::memory_store store;
  quorum::history h;
  quorum::options o{.quorum = 1};
  o.observer = h.observer();
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, o,
                                   []() -> int { throw std::runtime_error(""); }, [] { return 1; });
  h.finish(r);
  CHECK(quorum::describe(r.branches[0].error) == "empty what()");
  const auto t = h.snapshot();
  REQUIRE(t.branches.size() == 2);
  CHECK(t.branches[0].status == quorum::branch_status::failed);
  CHECK(t.branches[0].error == "empty what()");
  const auto j = quorum::to_json(t);
  CHECK(j.find("\"error\":\"empty what()\"") != std::string::npos);
}

TEST_CASE("an SVG size out of range is brought into range, never written as 0 or cut short") {
  // svg_options had a lower bound only: width = inf was written as 0 (append_fixed's text for
  // a non-finite number) and 1e300 as the first 47 of its 301 digits.
  quorum::history h;
  feed_story(h);
  h.finish(story_result());
  const auto t = h.snapshot();
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct probe {
    double width, row_height;
    std::string want;  // the start of the viewBox
  };
  for (const auto& p : {probe{inf, inf, "viewBox=\"0 0 20000.0 "},
                        probe{1e300, 1e300, "viewBox=\"0 0 20000.0 "},
                        probe{nan, nan, "viewBox=\"0 0 480.0 "}, probe{-5, -5, "viewBox=\"0 0 480.0 "},
                        probe{960, 40, "viewBox=\"0 0 960.0 "}}) {
    CAPTURE(p.width);
    quorum::svg_options o;
    o.width = p.width;
    o.row_height = p.row_height;
    const auto svg = quorum::to_svg(t, o);
    CHECK(xml_error(svg).empty());
    CHECK(svg.find(p.want) != std::string::npos);
  }
}

TEST_CASE("a deadline long past is placed before the start, not 292 years after it") {
  // Regression (cold review): timeline::ms took t - origin, which for options.deadline =
  // time_point::min() (a deadline already past, which the options allow) overflowed: the JSON
  // said "deadline_ms":9223368436854.776, the trace and the SVG put it centuries ahead.
  quorum::manual_clock clk;
  quorum::memory_store store;
  quorum::history h;
  quorum::options o{.quorum = 1};
  o.deadline = std::chrono::steady_clock::time_point::min();
  o.clock = &clk;
  o.observer = h.observer();
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, o, [] { return 1; });
  REQUIRE(r.deadline == std::chrono::steady_clock::time_point::min());
  h.finish(r);
  const auto t = h.snapshot();
  REQUIRE(t.deadline);
  // min() is -2^63 ns; the origin (the start) is an hour after the epoch on this clock
  const double want = -(static_cast<double>(r.started.time_since_epoch().count()) + 0x1p63) / 1e6;
  CHECK(t.ms(*t.deadline) == doctest::Approx(want));
  CHECK(t.ms(t.origin) == 0);

  const auto doc = strict_json::parse(quorum::to_json(t));
  REQUIRE(doc);
  CHECK(member(*doc, "deadline_ms")->num < 0);
  const auto svg = quorum::to_svg(t);
  CHECK(xml_error(svg).empty());
  // Regression: the note said so at the right edge, with an arrow pointing further right.
  const auto note = svg.find("\xE2\x86\x90 deadline at -");
  REQUIRE(note != std::string::npos);
  CHECK(svg.find(", before the start", note) != std::string::npos);
  const auto element = svg.rfind("<text", note);  // the note's element, anchored at its start
  REQUIRE(element != std::string::npos);
  CHECK(svg.substr(element, note - element).find("text-anchor=\"start\"") != std::string::npos);
  CHECK(svg.find("\xE2\x86\x92") == std::string::npos);  // no arrow to the right
}

TEST_CASE("an event fed by hand with the largest branch index is kept out of the rows") {
  // Regression (cold review): the rows were counted as index + 1, which wrapped to 0 for
  // SIZE_MAX, and the event was then written to a row past the end.
  quorum::history h;
  const std::size_t wild = std::numeric_limits<std::size_t>::max();
  const auto ev = [&](kind k, std::size_t branch, std::string_view name,
                      std::optional<quorum::decision> d = std::nullopt) {
    h.record({k, "exec-9", branch, name, 1, t0, d, std::nullopt, nullptr});
  };
  ev(kind::started, 0, "alpha");
  ev(kind::started, wild, "wild");
  ev(kind::decided, wild, "wild", quorum::decision::quorum_met);
  const auto t = h.snapshot();
  REQUIRE(t.branches.size() == 1);
  CHECK(t.branches[0].name == "alpha");
  CHECK(t.decided_by == wild);  // kept as received; the outputs name no branch for it
  const auto doc = strict_json::parse(quorum::to_json(t));
  REQUIRE(doc);
  CHECK(member(*doc, "decided_by")->is(strict_json::value::kind::null));
  CHECK(xml_error(quorum::to_svg(t)).empty());
}
