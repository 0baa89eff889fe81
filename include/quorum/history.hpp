// quorum/history.hpp — record one execution's events and draw its timeline.
//
//   quorum::history h;
//   opts.observer = h.observer();                 // record every event (thread-safe)
//   auto r = quorum::quorum_parallel(opts, f1, f2, f3);
//   h.finish(r);                                  // add the start, deadline and final statuses
//   auto t = h.snapshot();
//   write(quorum::to_json(t));                    // the events in order, which branch decided
//   write(quorum::to_chrome_trace(t));            // chrome://tracing or ui.perfetto.dev
//   write(quorum::to_svg(t));                     // a Gantt chart: one row per branch
//
// Nothing here prints: the writers return strings.
#pragma once

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "errors.hpp"
#include "json.hpp"
#include "observer.hpp"
#include "result.hpp"

namespace quorum {

/// An event as recorded: an owned copy of what the observer received.
struct recorded_event {
  using time_point = std::chrono::steady_clock::time_point;

  event_kind kind = event_kind::started;
  std::optional<std::size_t> branch;
  std::string branch_name;
  unsigned attempt = 0;
  time_point at{};
  std::optional<quorum::decision> decision;
  std::optional<branch_status> status;
  std::string error;  ///< describe(error); empty when none
};

/// What one piece of a branch's row is.
enum class span_kind {
  attempt,     ///< the branch's callable was running
  retry_wait,  ///< the wait between a failed attempt and its retry
};

/// How a span ended.
enum class span_outcome {
  running,    ///< not ended yet
  retried,    ///< the attempt failed and the branch retried
  succeeded,  ///< the attempt succeeded before the decision
  failed,     ///< the attempt failed for good before the decision
  cancelled,  ///< stopped: the decision came first
  late,       ///< ended (succeeded or failed) after the decision: not counted
};

[[nodiscard]] constexpr std::string_view to_string(span_kind k) noexcept {
  return k == span_kind::attempt ? "attempt" : "retry_wait";
}

[[nodiscard]] constexpr std::string_view to_string(span_outcome o) noexcept {
  switch (o) {
    case span_outcome::running:
      return "running";
    case span_outcome::retried:
      return "retried";
    case span_outcome::succeeded:
      return "succeeded";
    case span_outcome::failed:
      return "failed";
    case span_outcome::cancelled:
      return "cancelled";
    case span_outcome::late:
      return "late";
  }
  return "unknown";
}

/// One bar of a branch's row.
struct span {
  using time_point = std::chrono::steady_clock::time_point;

  span_kind kind = span_kind::attempt;
  unsigned attempt = 1;  ///< the attempt (for a wait: the attempt that failed)
  time_point begin{};
  std::optional<time_point> end;  ///< none while it runs
  span_outcome outcome = span_outcome::running;
  std::string error;  ///< why the attempt failed, if it did
};

/// One branch on the timeline.
struct branch_timeline {
  std::string name;
  std::vector<quorum::span> spans;      ///< in time order
  std::optional<branch_status> status;  ///< the final status; none until it ended
  bool late = false;                    ///< ended after the decision
  unsigned attempts = 0;                ///< attempts begun so far
  std::string error;                    ///< the final error, if any

  /// True once the branch ended (or is known never to have started).
  [[nodiscard]] bool ended() const noexcept { return status.has_value(); }
  /// True while an attempt runs.
  [[nodiscard]] bool running() const noexcept {
    return !ended() && !spans.empty() && !spans.back().end &&
           spans.back().kind == span_kind::attempt;
  }
  /// True while the branch waits to retry.
  [[nodiscard]] bool waiting() const noexcept {
    return !ended() && !spans.empty() && !spans.back().end &&
           spans.back().kind == span_kind::retry_wait;
  }
};

/// The timeline of one execution: a plain copy, safe to read while the execution goes on.
struct timeline {
  using time_point = std::chrono::steady_clock::time_point;

  std::string execution_id;
  /// 0 on every axis: the execution's start once history::finish() knows it (a result stamped
  /// with timestamps::all or ::execution), else the earliest event's time.
  time_point origin{};
  std::optional<time_point> deadline;        ///< known after history::finish()
  std::optional<quorum::decision> decision;  ///< none until decided
  std::optional<std::size_t> decided_by;     ///< the branch whose record decided
  std::optional<time_point> decided_at;
  std::optional<time_point> stop_requested_at;
  std::vector<branch_timeline> branches;  ///< in branch order
  std::vector<recorded_event> events;     ///< in the order the observer received them
  time_point end{};                       ///< the latest time the timeline knows of

  /// Milliseconds from the origin to t.
  [[nodiscard]] double ms(time_point t) const noexcept {
    // Not t - origin: a deadline already past may be time_point::min() (options.deadline
    // allows it), and that difference overflowed (undefined; in practice a deadline 292 years
    // ahead). The distance between two 64-bit counts always fits in 64 unsigned bits.
    const auto a = static_cast<std::uint64_t>(t.time_since_epoch().count());
    const auto b = static_cast<std::uint64_t>(origin.time_since_epoch().count());
    const double ticks = t >= origin ? static_cast<double>(a - b) : -static_cast<double>(b - a);
    return std::chrono::duration<double, std::milli>(
               std::chrono::duration<double, time_point::period>(ticks))
        .count();
  }
  /// Successes and failures counted towards the decision (late ones excluded).
  [[nodiscard]] std::size_t successes() const noexcept { return count(branch_status::succeeded); }
  [[nodiscard]] std::size_t failures() const noexcept { return count(branch_status::failed); }

 private:
  [[nodiscard]] std::size_t count(branch_status s) const noexcept {
    std::size_t n = 0;
    for (const auto& b : branches) n += (b.status == s && !b.late) ? 1u : 0u;
    return n;
  }
};

/// Records the events of one execution. Thread-safe: the observer it hands out may be called
/// from every worker thread at once, and snapshot() may be called meanwhile (a live view does).
/// Events of another execution than the first one seen are ignored. Not copyable or movable:
/// the observer points at it, so it must outlive the execution it observes.
class history {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  history() = default;
  history(const history&) = delete;
  history& operator=(const history&) = delete;

  /// An observer recording into this history; put it in options::observer.
  [[nodiscard]] quorum::observer observer() {
    return [this](const event& e) { record(e); };
  }

  /// Record one event (what the observer does).
  void record(const event& e) {
    recorded_event r{e.kind,     e.branch, std::string(e.branch_name), e.attempt, e.at,
                     e.decision, e.status, describe(e.error)};
    std::lock_guard lk(m_);
    if (id_.empty())
      id_ = std::string(e.execution_id);
    else if (e.execution_id != id_)
      return;
    events_.push_back(std::move(r));
  }

  /// Add what only the result knows: the start, the deadline, every branch's name and final
  /// status (also of branches that never started and so sent no event). The result of another
  /// execution than the one recorded is ignored, as its events are.
  template <class T>
  void finish(const result<T>& r) {
    final_state f;
    f.id = r.execution_id;
    if (r.timestamps != timestamps::none) {  // else the events say when (if an observer saw them)
      f.started = r.started;
      f.decided_at = r.decided_at;
    }
    f.deadline = r.deadline;
    f.decision = r.decision;
    f.decided_by = r.decided_by;
    for (const auto& b : r.branches)
      f.branches.push_back(
          {b.name, b.status, b.late, b.attempts, b.started, b.finished, describe(b.error)});
    std::lock_guard lk(m_);
    if (id_.empty())
      id_ = f.id;
    else if (f.id != id_)
      return;  // laid over these events it would show another run's outcome on this run's spans
    final_ = std::move(f);
  }

  /// The timeline so far: a copy, built from the events in the order they were received.
  [[nodiscard]] timeline snapshot() const {
    std::vector<recorded_event> events;
    std::optional<final_state> fin;
    timeline t;
    {
      std::lock_guard lk(m_);
      events = events_;
      fin = final_;
      t.execution_id = id_;
    }
    build(t, events, fin);
    t.events = std::move(events);
    return t;
  }

 private:
  struct final_branch {
    std::string name;
    branch_status status = branch_status::running;
    bool late = false;
    unsigned attempts = 0;
    std::optional<time_point> started, finished;
    std::string error;
  };
  struct final_state {
    std::string id;
    std::optional<time_point> started, decided_at;  // none when the result was not stamped
    std::optional<time_point> deadline;
    quorum::decision decision = quorum::decision::cancelled;
    std::optional<std::size_t> decided_by;
    std::vector<final_branch> branches;
  };

  static span_outcome outcome_of(branch_status s, bool late) noexcept {
    if (s == branch_status::cancelled) return span_outcome::cancelled;
    if (s == branch_status::running) return span_outcome::running;
    if (late) return span_outcome::late;
    return s == branch_status::succeeded ? span_outcome::succeeded : span_outcome::failed;
  }

  // End the branch's open span, if any.
  static void close(branch_timeline& b, time_point at, span_outcome o, const std::string& error) {
    if (b.spans.empty() || b.spans.back().end) return;
    auto& s = b.spans.back();
    s.end = std::max(at, s.begin);
    s.outcome = o;
    if (s.kind == span_kind::attempt) s.error = error;
  }

  static void build(timeline& t, const std::vector<recorded_event>& events,
                    const std::optional<final_state>& fin) {
    // An event fed by hand may carry any index: the largest one cannot have a row (its + 1
    // wraps to 0), and its events are skipped below.
    constexpr std::size_t no_row = static_cast<std::size_t>(-1);
    std::size_t n = fin ? fin->branches.size() : 0;
    for (const auto& e : events)
      if (e.branch && *e.branch != no_row) n = std::max(n, *e.branch + 1);
    t.branches.resize(n);

    bool have_origin = false;
    auto later = [&](time_point x) {
      if (x > t.end) t.end = x;
    };
    if (fin && fin->started) {
      t.origin = *fin->started;
      have_origin = true;
    } else if (!events.empty()) {
      t.origin = events.front().at;
      for (const auto& e : events) t.origin = std::min(t.origin, e.at);
      have_origin = true;
    }
    if (have_origin) t.end = t.origin;

    for (const auto& e : events) {
      later(e.at);
      if (e.kind == event_kind::decided) {
        t.decision = e.decision;
        t.decided_by = e.branch;
        t.decided_at = e.at;
        continue;
      }
      if (e.kind == event_kind::stop_requested) {
        t.stop_requested_at = e.at;
        continue;
      }
      if (!e.branch || *e.branch >= n) continue;
      auto& b = t.branches[*e.branch];
      if (b.name.empty()) b.name = e.branch_name;
      switch (e.kind) {
        case event_kind::started:
        case event_kind::retry_started:
          close(b, e.at, span_outcome::retried, {});  // the wait before a retry
          b.spans.push_back(
              {span_kind::attempt, e.attempt, e.at, std::nullopt, span_outcome::running, {}});
          b.attempts = std::max(b.attempts, e.attempt);
          break;
        case event_kind::attempt_failed:
          close(b, e.at, span_outcome::retried, e.error);
          b.spans.push_back(
              {span_kind::retry_wait, e.attempt, e.at, std::nullopt, span_outcome::running, {}});
          break;
        case event_kind::succeeded:
        case event_kind::failed:
        case event_kind::late: {
          const bool late = e.kind == event_kind::late;
          const auto status = e.status.value_or(
              e.kind == event_kind::succeeded ? branch_status::succeeded : branch_status::failed);
          close(b, e.at, outcome_of(status, late), e.error);
          b.status = status;
          b.late = late;
          b.attempts = std::max(b.attempts, e.attempt);
          b.error = e.error;
          break;
        }
        default:
          break;
      }
    }

    if (!fin) return;
    // Times are placed from the origin: with none known (an unstamped result, no events),
    // the deadline could not be placed anywhere true, so it is left out.
    if (have_origin) t.deadline = fin->deadline;
    t.decision = fin->decision;
    t.decided_by = fin->decided_by;
    if (fin->decided_at) {  // else the `decided` event's time, if one was seen, stands
      t.decided_at = fin->decided_at;
      later(*fin->decided_at);
    }
    for (std::size_t i = 0; i < fin->branches.size(); ++i) {
      const auto& f = fin->branches[i];
      auto& b = t.branches[i];
      b.name = f.name;
      if (f.status == branch_status::running) continue;  // still running (on_late = return_early)
      const auto o = outcome_of(f.status, f.late);
      if (b.spans.empty() && f.started)  // recorded without events: one bar from start to end
        b.spans.push_back({span_kind::attempt,
                           std::max(1u, f.attempts),
                           *f.started,
                           std::nullopt,
                           span_outcome::running,
                           {}});
      if (f.finished) {
        close(b, *f.finished, o, f.error);
        later(*f.finished);
      }
      b.status = f.status;
      b.late = f.late;
      b.attempts = std::max(b.attempts, f.attempts);
      b.error = f.error;
    }
  }

  mutable std::mutex m_;
  std::string id_;
  std::vector<recorded_event> events_;
  std::optional<final_state> final_;
};

namespace detail {

// With std::to_chars, not printf, for the reason json_ms gives: the C locale's decimal comma
// made to_json(timeline) and the Chrome trace invalid JSON and the SVG's coordinates unreadable.
inline void append_fixed(std::string& out, double v, int decimals) {
  char buf[400];  // the widest finite double in fixed notation (309 digits) and its decimals
  const auto r = std::to_chars(buf, buf + sizeof buf, std::isfinite(v) ? v : 0.0,
                               std::chars_format::fixed, decimals);
  if (r.ec == std::errc{})
    out.append(buf, r.ptr);
  else
    out += '0';  // not reached with the few decimals used here
}

inline std::string fixed(double v, int decimals) {
  std::string s;
  append_fixed(s, v, decimals);
  return s;
}

// Text made printable and safe for XML 1.0 (not yet escaped): invalid UTF-8 bytes and the code
// points XML forbids or terminals act on (control characters, U+FFFE, U+FFFF) become U+FFFD,
// tab/newline/return a space. At most max_chars code points are kept ("…" marks a cut).
inline std::string printable(std::string_view s, std::size_t max_chars = std::string_view::npos) {
  std::string out;
  out.reserve(s.size() + 3);
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  std::size_t chars = 0;
  while (p < end) {
    if (chars == max_chars) {
      out += "\xE2\x80\xA6";  // …
      break;
    }
    ++chars;
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      if (c == '\t' || c == '\n' || c == '\r')
        out += ' ';
      else if (c < 0x20 || c == 0x7f)
        out += "\xEF\xBF\xBD";
      else
        out += static_cast<char>(c);
      continue;
    }
    int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    bool ok = len > 0 && c <= 0xf4 && end - p >= len;
    for (int k = 1; ok && k < len; ++k) ok = (p[k] & 0xc0) == 0x80;
    if (ok && len == 2) ok = !(c == 0xc2 && p[1] < 0xa0);  // C1 controls
    if (ok && len == 3)
      ok = !(c == 0xe0 && p[1] < 0xa0) && !(c == 0xed && p[1] >= 0xa0) &&   // overlong, surrogate
           !(c == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf));  // U+FFFE, U+FFFF
    if (ok && len == 4) ok = !(c == 0xf0 && p[1] < 0x90) && !(c == 0xf4 && p[1] >= 0x90);
    if (ok) {
      out.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(len));
      p += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++p;
    }
  }
  return out;
}

// Code points in valid UTF-8 (what printable() returns).
inline std::size_t code_points(std::string_view s) noexcept {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xc0u) != 0x80u ? 1u : 0u;
  return n;
}

// Printable text with the five XML special characters as entities: fit for an element's text
// and for an attribute value.
inline std::string xml_text(std::string_view s, std::size_t max_chars = std::string_view::npos) {
  const std::string clean = printable(s, max_chars);
  std::string out;
  out.reserve(clean.size() + 16);
  for (char c : clean) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

inline void json_opt_ms(std::string& out, const timeline& t,
                        const std::optional<timeline::time_point>& at) {
  if (at)
    append_fixed(out, t.ms(*at), 3);
  else
    out += "null";
}

inline void json_opt_string(std::string& out, std::string_view s) {
  if (s.empty())
    out += "null";
  else
    json_string(out, s);
}

inline std::string_view decision_text(std::optional<quorum::decision> d) noexcept {
  if (!d) return "undecided";
  switch (*d) {
    case quorum::decision::quorum_met:
      return "quorum met";
    case quorum::decision::unreachable:
      return "quorum unreachable";
    case quorum::decision::timed_out:
      return "timed out";
    case quorum::decision::cancelled:
      return "cancelled";
  }
  return "decided";
}

inline std::string branch_name_of(const timeline& t, std::optional<std::size_t> i) {
  if (!i || *i >= t.branches.size()) return {};
  return t.branches[*i].name;
}

}  // namespace detail

/// The timeline as JSON: the decision, which branch decided, every branch's spans, and every
/// event in the order received. Times are milliseconds from the execution's start. decided_by
/// and an event's name are null only when no branch is meant (a branch named "" is "").
///   {"execution_id", "decision", "decided_by", "decided_by_index", "decided_ms", "deadline_ms",
///    "stop_requested_ms", "successes", "failures",
///    "branches": [{"index", "name", "status", "late", "attempts", "error",
///                  "spans": [{"kind", "attempt", "begin_ms", "end_ms", "outcome", "error"}]}],
///    "events": [{"seq", "kind", "at_ms", "branch", "name", "attempt", "decision", "status",
///                "error"}]}
[[nodiscard]] inline std::string to_json(const timeline& t) {
  using detail::json_opt_ms;
  using detail::json_opt_string;
  using detail::json_string;
  std::string out;
  out.reserve(512 + 160 * t.events.size() + 200 * t.branches.size());
  out += "{\"execution_id\":";
  json_string(out, t.execution_id);
  out += ",\"decision\":";
  if (t.decision)
    json_string(out, to_string(*t.decision));
  else
    out += "null";
  out += ",\"decided_by\":";
  if (t.decided_by && *t.decided_by < t.branches.size())
    json_string(out, t.branches[*t.decided_by].name);  // "" for a branch named "", not null
  else
    out += "null";
  out += ",\"decided_by_index\":";
  out += t.decided_by ? std::to_string(*t.decided_by) : "null";
  out += ",\"decided_ms\":";
  json_opt_ms(out, t, t.decided_at);
  out += ",\"deadline_ms\":";
  json_opt_ms(out, t, t.deadline);
  out += ",\"stop_requested_ms\":";
  json_opt_ms(out, t, t.stop_requested_at);
  out += ",\"successes\":" + std::to_string(t.successes());
  out += ",\"failures\":" + std::to_string(t.failures());
  out += ",\"branches\":[";
  for (std::size_t i = 0; i < t.branches.size(); ++i) {
    const auto& b = t.branches[i];
    if (i) out += ',';
    out += "{\"index\":" + std::to_string(i) + ",\"name\":";
    json_string(out, b.name);
    out += ",\"status\":";
    if (b.status)
      json_string(out, to_string(*b.status));
    else
      out += "null";
    out += ",\"late\":";
    out += b.late ? "true" : "false";
    out += ",\"attempts\":" + std::to_string(b.attempts) + ",\"error\":";
    json_opt_string(out, b.error);
    out += ",\"spans\":[";
    for (std::size_t k = 0; k < b.spans.size(); ++k) {
      const auto& s = b.spans[k];
      if (k) out += ',';
      out += "{\"kind\":";
      json_string(out, to_string(s.kind));
      out += ",\"attempt\":" + std::to_string(s.attempt) + ",\"begin_ms\":";
      detail::append_fixed(out, t.ms(s.begin), 3);
      out += ",\"end_ms\":";
      json_opt_ms(out, t, s.end);
      out += ",\"outcome\":";
      json_string(out, to_string(s.outcome));
      out += ",\"error\":";
      json_opt_string(out, s.error);
      out += '}';
    }
    out += "]}";
  }
  out += "],\"events\":[";
  for (std::size_t i = 0; i < t.events.size(); ++i) {
    const auto& e = t.events[i];
    if (i) out += ',';
    out += "{\"seq\":" + std::to_string(i) + ",\"kind\":";
    json_string(out, to_string(e.kind));
    out += ",\"at_ms\":";
    detail::append_fixed(out, t.ms(e.at), 3);
    out += ",\"branch\":";
    out += e.branch ? std::to_string(*e.branch) : "null";
    out += ",\"name\":";
    if (e.branch)
      json_string(out, e.branch_name);  // the branch's name, even ""
    else
      out += "null";  // the event is not about a branch
    out += ",\"attempt\":";
    out += e.attempt ? std::to_string(e.attempt) : "null";
    out += ",\"decision\":";
    if (e.decision)
      json_string(out, to_string(*e.decision));
    else
      out += "null";
    out += ",\"status\":";
    if (e.status)
      json_string(out, to_string(*e.status));
    else
      out += "null";
    out += ",\"error\":";
    json_opt_string(out, e.error);
    out += '}';
  }
  out += "]}";
  return out;
}

/// The timeline in the Chrome trace event format ({"traceEvents": [...]}), for chrome://tracing
/// and ui.perfetto.dev: track 0 is the execution (its span, the decision, the stop request and
/// the deadline as instant events); track i+1 is branch i (one complete event per attempt and
/// per retry wait, an instant event per outcome). Times are microseconds from the start.
[[nodiscard]] inline std::string to_chrome_trace(const timeline& t) {
  using detail::json_string;
  std::string out;
  out.reserve(1024 + 256 * t.events.size());
  bool first = true;
  auto open = [&](std::string_view name, std::string_view cat, char ph, std::size_t tid) {
    out += first ? "\n" : ",\n";
    first = false;
    out += "{\"name\":";
    json_string(out, name);
    if (!cat.empty()) {
      out += ",\"cat\":";
      json_string(out, cat);
    }
    out += ",\"ph\":\"";
    out += ph;
    out += "\",\"pid\":1,\"tid\":" + std::to_string(tid);
  };
  auto ts = [&](std::string_view key, double ms) {
    out += ",\"" + std::string(key) + "\":";
    detail::append_fixed(out, ms * 1000.0, 3);
  };
  auto meta = [&](std::string_view what, std::size_t tid, std::string_view name) {
    open(what, {}, 'M', tid);
    out += ",\"args\":{\"name\":";
    json_string(out, name);
    out += "}}";
  };
  auto sort_index = [&](std::size_t tid) {
    open("thread_sort_index", {}, 'M', tid);
    out += ",\"args\":{\"sort_index\":" + std::to_string(tid) + "}}";
  };

  out += "{\"traceEvents\":[";
  meta("process_name", 0, "quorum " + t.execution_id);
  meta("thread_name", 0, "execution");
  sort_index(0);
  for (std::size_t i = 0; i < t.branches.size(); ++i) {
    meta("thread_name", i + 1, t.branches[i].name);
    sort_index(i + 1);
  }

  // The execution: from the start to the decision (or to what is known so far).
  const auto decided_name =
      std::string("decided: ") + std::string(detail::decision_text(t.decision));
  open("execution", "execution", 'X', 0);
  ts("ts", 0);
  ts("dur", t.ms(t.decided_at.value_or(t.end)));
  out += ",\"args\":{\"execution_id\":";
  json_string(out, t.execution_id);
  out += "}}";
  if (t.decided_at) {
    open(decided_name, "decision", 'i', 0);
    ts("ts", t.ms(*t.decided_at));
    out += ",\"s\":\"g\",\"args\":{\"decision\":";
    json_string(out, t.decision ? to_string(*t.decision) : "none");
    out += ",\"decided_by\":";
    if (t.decided_by && *t.decided_by < t.branches.size())
      json_string(out, t.branches[*t.decided_by].name);
    else
      out += "null";
    out += "}}";
  }
  if (t.stop_requested_at) {
    open("stop requested", "decision", 'i', 0);
    ts("ts", t.ms(*t.stop_requested_at));
    out += ",\"s\":\"t\"}";
  }
  if (t.deadline) {
    open("deadline", "deadline", 'i', 0);
    ts("ts", t.ms(*t.deadline));
    out += ",\"s\":\"g\"}";
  }

  for (std::size_t i = 0; i < t.branches.size(); ++i) {
    const auto& b = t.branches[i];
    for (const auto& s : b.spans) {
      const bool attempt = s.kind == span_kind::attempt;
      const auto name =
          attempt ? "attempt " + std::to_string(s.attempt) : std::string("retry wait");
      if (s.end) {
        open(name, attempt ? "attempt" : "retry", 'X', i + 1);
        ts("ts", t.ms(s.begin));
        ts("dur", t.ms(*s.end) - t.ms(s.begin));
      } else {
        open(name, attempt ? "attempt" : "retry", 'B', i + 1);  // not ended yet
        ts("ts", t.ms(s.begin));
      }
      out += ",\"args\":{\"outcome\":";
      json_string(out, to_string(s.outcome));
      if (!s.error.empty()) {
        out += ",\"error\":";
        json_string(out, s.error);
      }
      out += "}}";
    }
  }
  for (const auto& e : t.events) {
    if (!e.branch || e.kind == event_kind::decided || e.kind == event_kind::started ||
        e.kind == event_kind::retry_started)
      continue;
    open(to_string(e.kind), "outcome", 'i', *e.branch + 1);
    ts("ts", t.ms(e.at));
    out += ",\"s\":\"t\",\"args\":{\"attempt\":" + std::to_string(e.attempt);
    if (e.status) {
      out += ",\"status\":";
      json_string(out, to_string(*e.status));
    }
    if (!e.error.empty()) {
      out += ",\"error\":";
      json_string(out, e.error);
    }
    out += "}}";
  }
  out += "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"execution_id\":";
  json_string(out, t.execution_id);
  out += ",\"decision\":";
  json_string(out, t.decision ? to_string(*t.decision) : "undecided");
  out += "}}\n";
  return out;
}

/// How to_svg draws.
struct svg_options {
  std::string title;       ///< the heading; "quorum execution <id>" when empty
  double width = 960;      ///< the picture's width in pixels (480 to 20000; NaN: 480)
  double row_height = 40;  ///< per branch (24 to 400; NaN: 24)
};

namespace detail {

struct svg_palette {
  static constexpr std::string_view succeeded = "#16a34a";
  static constexpr std::string_view failed = "#dc2626";
  static constexpr std::string_view cancelled = "#94a3b8";
  static constexpr std::string_view late = "#f59e0b";
  static constexpr std::string_view running = "#3b82f6";
  static constexpr std::string_view ink = "#0f172a";
  static constexpr std::string_view muted = "#64748b";
  static constexpr std::string_view grid = "#e2e8f0";
  static constexpr std::string_view stripe = "#f8fafc";
  static constexpr std::string_view deadline = "#b91c1c";
  static constexpr std::string_view decision = "#7c3aed";
  static constexpr std::string_view highlight = "#fef3c7";
};

inline std::string_view fill_of(span_outcome o) noexcept {
  switch (o) {
    case span_outcome::succeeded:
      return svg_palette::succeeded;
    case span_outcome::failed:
    case span_outcome::retried:
      return svg_palette::failed;
    case span_outcome::cancelled:
      return svg_palette::cancelled;
    case span_outcome::late:
      return svg_palette::late;
    case span_outcome::running:
      return svg_palette::running;
  }
  return svg_palette::muted;
}

// A tick step of 1, 2 or 5 times a power of ten giving about `ticks` ticks over `range`.
inline double nice_step(double range, double ticks) {
  const double raw = range / ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

// "1.5 s", "250 ms": milliseconds in the unit the axis uses.
inline std::string time_label(double ms, double step_ms) {
  const bool seconds = step_ms >= 100;
  const double v = seconds ? ms / 1000 : ms;
  const double step = seconds ? step_ms / 1000 : step_ms;
  int decimals = 0;
  while (decimals < 3 && std::fabs(step * std::pow(10.0, decimals) -
                                   std::round(step * std::pow(10.0, decimals))) > 1e-6)
    ++decimals;
  return fixed(v, decimals) + (seconds ? " s" : " ms");
}

// A duration for people: "3.02 s", "41.2 ms".
inline std::string human_ms(double ms) {
  if (std::fabs(ms) >= 1000) return fixed(ms / 1000, std::fabs(ms) >= 10000 ? 1 : 2) + " s";
  return fixed(ms, std::fabs(ms) >= 100 ? 0 : 1) + " ms";
}

// Approximate width of text in a sans-serif font (no font metrics in a header library).
inline double text_width(std::string_view s, double font_size) {
  return static_cast<double>(code_points(s)) * font_size * 0.58;
}

// The short status under a branch's name.
inline std::string status_line(const branch_timeline& b, bool decider) {
  std::string s;
  if (!b.status)
    s = b.waiting() ? "waiting to retry" : b.spans.empty() ? "pending" : "running";
  else if (*b.status == branch_status::cancelled)
    s = b.attempts == 0 ? "never started" : "stopped";
  else
    s = std::string(to_string(*b.status)) + (b.late ? ", late" : "");
  if (b.attempts > 0)
    s += " \xC2\xB7 " + std::to_string(b.attempts) + (b.attempts == 1 ? " attempt" : " attempts");
  if (decider) s += " \xC2\xB7 decided";
  return s;
}

// Draws a timeline as an SVG Gantt chart: the layout is fixed in the constructor, then each
// part of the picture is appended by its own member, back to front.
class gantt_chart {
  using P = svg_palette;

 public:
  gantt_chart(const timeline& t, const svg_options& o)
      : t_(t),
        width_(within(o.width, 480, 20000)),
        row_h_(within(o.row_height, 24, 400)),
        bar_h_(std::round(row_h_ * 0.5)),
        n_(t.branches.size()),
        title_(o.title.empty() ? "quorum execution " + t.execution_id : o.title) {
    // The label column fits the longest name and status line (within limits).
    label_w_ = 110;
    for (std::size_t i = 0; i < n_; ++i) {
      const auto& b = t.branches[i];
      label_w_ = std::max({label_w_, text_width(printable(b.name, max_name_chars), 13) + 28,
                           text_width(status_line(b, t.decided_by == i), 10.5) + 28});
    }
    label_w_ = std::min(label_w_, width_ * 0.35);
    plot_x0_ = label_w_ + 12;
    plot_x1_ = width_ - 28;

    // The time range: the whole run, and the deadline unless it lies far beyond the run.
    double content_ms = t.ms(t.end);
    for (const auto& b : t.branches)
      for (const auto& s : b.spans)
        content_ms = std::max(content_ms, t.ms(s.end.value_or(s.begin)));
    content_ms = std::max(content_ms, 1.0);
    deadline_ms_ = t.deadline ? t.ms(*t.deadline) : 0;
    deadline_in_range_ = t.deadline && deadline_ms_ >= 0 && deadline_ms_ <= content_ms * 3;
    range_ms_ = deadline_in_range_ ? std::max(content_ms, deadline_ms_) : content_ms;
    step_ms_ = nice_step(range_ms_, 8);
    range_ms_ = std::ceil(range_ms_ * 1.02 / step_ms_) * step_ms_;

    axis_y_ = rows_y + row_h_ * static_cast<double>(std::max<std::size_t>(n_, 1));
    layout_legend();
    height_ = (legend_.empty() ? axis_y_ + 30 : legend_.back().y) + 18;
  }

  std::string draw() {
    out_.reserve(4096 + 900 * n_);
    open();
    heading();
    rows();
    grid_and_axis();
    bars();
    markers();
    legend();
    out_ += "</svg>\n";
    return std::move(out_);
  }

 private:
  static constexpr std::size_t max_name_chars = 28;
  static constexpr double title_y = 30, subtitle_y = 50, marks_y = 88, rows_y = 98;

  enum class mark { bar, hatched_bar, dashed_line, cross, deadline_line, diamond };
  struct legend_item {
    std::string_view label;
    std::string_view colour;
    mark shape;
    double x = 0, y = 0;
  };

  [[nodiscard]] double x_of(double ms) const {
    return plot_x0_ + std::clamp(ms / range_ms_, 0.0, 1.0) * (plot_x1_ - plot_x0_);
  }
  [[nodiscard]] double row_top(std::size_t i) const {
    return rows_y + row_h_ * static_cast<double>(i);
  }
  [[nodiscard]] double row_mid(std::size_t i) const { return row_top(i) + row_h_ / 2; }

  // ---- small writers: numbers, attributes and elements ------------------------------------
  static std::string num(double v) { return fixed(v, 1); }
  void attr(std::string_view name, double v) {
    out_ += ' ';
    out_ += name;
    out_ += "=\"" + num(v) + '"';
  }
  void attr(std::string_view name, std::string_view safe_value) {
    out_ += ' ';
    out_ += name;
    out_ += "=\"";
    out_ += safe_value;
    out_ += '"';
  }
  void line(double x1, double y1, double x2, double y2, std::string_view stroke, double w,
            std::string_view dash = {}, bool close = true) {
    out_ += "<line";
    attr("x1", x1);
    attr("y1", y1);
    attr("x2", x2);
    attr("y2", y2);
    attr("stroke", stroke);
    attr("stroke-width", w);
    if (!dash.empty()) attr("stroke-dasharray", dash);
    out_ += close ? "/>" : ">";
  }
  void rect(double x, double y, double w, double h, std::string_view fill, double rx = 0) {
    out_ += "<rect";
    attr("x", x);
    attr("y", y);
    attr("width", w);
    attr("height", h);
    if (rx > 0) attr("rx", rx);
    attr("fill", fill);
    out_ += "/>";
  }
  // Text: `content` is escaped here. `extra` are further (safe) attributes.
  void text(double x, double y, double size, std::string_view fill, std::string_view content,
            std::string_view extra = {}) {
    out_ += "<text";
    attr("x", x);
    attr("y", y);
    attr("font-size", size);
    attr("fill", fill);
    out_ += extra;
    out_ += '>' + xml_text(content) + "</text>\n";
  }
  void diamond(double x, double y, double r, std::string_view fill) {
    out_ += "<path d=\"M " + num(x) + ' ' + num(y - r) + " L " + num(x + r) + ' ' + num(y) + " L " +
            num(x) + ' ' + num(y + r) + " L " + num(x - r) + ' ' + num(y) + " Z\"";
    attr("fill", fill);
  }

  // A size brought into [lo, hi]; NaN gives lo. Unbounded, an infinite width came out as 0 and
  // 1e300 as a number cut short by its text buffer (std::clamp would pass NaN through).
  static double within(double v, double lo, double hi) noexcept {
    if (!(v >= lo)) return lo;
    return v > hi ? hi : v;
  }

  // ---- the parts ------------------------------------------------------------------------------
  void open() {
    out_ += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"";
    attr("width", width_);
    attr("height", height_);
    out_ += " viewBox=\"0 0 " + num(width_) + ' ' + num(height_) + '"';
    attr("font-family",
         "ui-sans-serif, system-ui, -apple-system, &apos;Segoe UI&apos;, Roboto, Helvetica, Arial, "
         "sans-serif");
    out_ += " role=\"img\">\n<title>" + xml_text(title_) + "</title>\n";
    // Failed-then-retried attempts: the failure colour, hatched.
    out_ +=
        "<defs><pattern id=\"retried\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
        "patternTransform=\"rotate(45)\">";
    out_ += "<rect width=\"6\" height=\"6\" fill=\"";
    out_ += P::failed;
    out_ += "\" fill-opacity=\"0.5\"/>";
    rect(0, 0, 3, 6, P::failed);
    out_ += "</pattern></defs>\n";
    rect(0, 0, width_, height_, "#ffffff");
    out_ += '\n';
  }

  void heading() {
    text(16, title_y, 18, P::ink, printable(title_, 90), " font-weight=\"600\"");
    std::string summary(decision_text(t_.decision));
    const auto decider = branch_name_of(t_, t_.decided_by);
    if (!decider.empty()) summary += " by " + decider;
    if (t_.decided_at) summary += " at " + human_ms(t_.ms(*t_.decided_at));
    summary += " \xC2\xB7 " + std::to_string(t_.successes()) + " succeeded \xC2\xB7 " +
               std::to_string(t_.failures()) + " failed";
    std::size_t late = 0;
    for (const auto& b : t_.branches) late += b.late ? 1 : 0;
    if (late) summary += " \xC2\xB7 " + std::to_string(late) + " late";
    if (t_.deadline) summary += " \xC2\xB7 deadline " + human_ms(deadline_ms_);
    summary_ = printable(summary, 160);
    text(16, subtitle_y, 13, P::muted, summary_);
  }

  // Row backgrounds (the deciding branch highlighted), each branch's name and status.
  void rows() {
    if (n_ == 0) text(16, row_mid(0) + 4, 13, P::muted, "no branch has reported yet");
    for (std::size_t i = 0; i < n_; ++i) {
      const auto& b = t_.branches[i];
      const bool decider = t_.decided_by == i;
      if (decider) {
        rect(0, row_top(i), width_, row_h_, P::highlight);
        rect(0, row_top(i), 4, row_h_, P::decision);
      } else if (i % 2 == 1) {
        rect(0, row_top(i), width_, row_h_, P::stripe);
      }
      out_ += '\n';
      text(16, row_mid(i) - 2, 13, P::ink, printable(b.name, max_name_chars),
           decider ? " font-weight=\"700\"" : "");
      text(16, row_mid(i) + 12, 10.5, P::muted, status_line(b, decider));
    }
  }

  void grid_and_axis() {
    const auto ticks = static_cast<int>(std::llround(range_ms_ / step_ms_));
    out_ += "<g>\n";
    for (int k = 0; k <= ticks; ++k) {
      const double x = x_of(step_ms_ * k);
      line(x, rows_y, x, axis_y_, P::grid, 1);
      line(x, axis_y_, x, axis_y_ + 4, P::muted, 1);
      text(x, axis_y_ + 17, 11, P::muted, time_label(step_ms_ * k, step_ms_),
           " text-anchor=\"middle\"");
    }
    line(plot_x0_, axis_y_, plot_x1_, axis_y_, P::muted, 1);
    out_ += "\n</g>\n";
    // The caption ends where the first tick's label (centred on the axis' start) begins.
    const double first_label = text_width(time_label(0, step_ms_), 11) / 2;
    text(plot_x0_ - first_label - 10, axis_y_ + 17, 11, P::muted, "time since start",
         " text-anchor=\"end\"");
  }

  // One bar per attempt, coloured by outcome; a dashed line per wait before a retry, ending in
  // a cross when the branch was stopped while it waited. Each has a tooltip.
  void bars() {
    const std::string_view dot = " \xC2\xB7 ", dash = " \xE2\x80\x93 ";
    for (std::size_t i = 0; i < n_; ++i) {
      const auto& b = t_.branches[i];
      const double cy = row_mid(i);
      for (const auto& sp : b.spans) {
        const double b_ms = t_.ms(sp.begin), e_ms = sp.end ? t_.ms(*sp.end) : t_.ms(t_.end);
        const double x0 = x_of(b_ms), x1 = std::max(x_of(e_ms), x0);
        std::string tip = b.name + std::string(dot);
        if (sp.kind == span_kind::retry_wait) {
          tip += "wait before attempt " + std::to_string(sp.attempt + 1) + std::string(dot) +
                 human_ms(b_ms) + std::string(dash) + human_ms(e_ms);
          if (sp.outcome == span_outcome::cancelled)
            tip += std::string(dot) + "stopped while waiting";
          out_ += "<g><title>" + xml_text(tip) + "</title>";
          line(x0, cy, x1, cy, P::muted, 1.5, "3 3");
          if (sp.outcome == span_outcome::cancelled) {
            line(x1 - 4, cy - 4, x1 + 4, cy + 4, P::muted, 2);
            line(x1 - 4, cy + 4, x1 + 4, cy - 4, P::muted, 2);
          }
          out_ += "</g>\n";
          continue;
        }
        tip += "attempt " + std::to_string(sp.attempt) + std::string(dot) +
               std::string(to_string(sp.outcome)) + std::string(dot) + human_ms(b_ms) +
               std::string(dash) + (sp.end ? human_ms(e_ms) : std::string("\xE2\x80\xA6"));
        if (!sp.error.empty()) tip += std::string(dot) + sp.error;
        const double w = std::max(x1 - x0, 3.0);
        out_ += "<g><title>" + xml_text(tip) + "</title>";
        rect(x0, cy - bar_h_ / 2, w, bar_h_,
             sp.outcome == span_outcome::retried ? std::string_view("url(#retried)")
                                                 : fill_of(sp.outcome),
             3);
        if (w >= 24)
          text(x0 + w / 2, cy + 4, 10.5, "#ffffff",
               (w >= 70 ? "attempt " : "#") + std::to_string(sp.attempt),
               " font-weight=\"600\" text-anchor=\"middle\"");
        out_ += "</g>\n";
      }
    }
  }

  // A label above the rows, centred on x unless that runs off the plot's left or the right edge.
  void marker_label(double x, double y, std::string_view colour, const std::string& content) {
    const double w = text_width(content, 11);
    std::string_view anchor = "middle";
    if (x - w / 2 < plot_x0_ - 8) {
      anchor = "start";
      x = std::max(x - 4, plot_x0_ - 8);
    } else if (x + w / 2 > width_ - 8) {
      anchor = "end";
      x = std::min(x + 4, width_ - 8);
    }
    text(x, y, 11, colour, content,
         " font-weight=\"600\" text-anchor=\"" + std::string(anchor) + '"');
  }

  // The deadline (a dashed line, or a note at the edge when it lies before the start or far
  // beyond the run) and the decision (a line, and a diamond on the deciding branch's row, or on
  // the axis when no branch decided). Their labels sit on two lines.
  void markers() {
    const double deadline_label_y = marks_y - (t_.decided_at ? 14 : 0);
    if (t_.deadline && deadline_in_range_) {
      const double x = x_of(deadline_ms_);
      line(x, marks_y + 4, x, axis_y_, P::deadline, 2, "6 4");
      out_ += '\n';
      marker_label(x, deadline_label_y, P::deadline, "deadline " + human_ms(deadline_ms_));
    } else if (t_.deadline && deadline_ms_ < 0) {  // already past at the start: the left edge
      marker_label(plot_x0_, deadline_label_y, P::deadline,
                   "\xE2\x86\x90 deadline at " + human_ms(deadline_ms_) + ", before the start");
    } else if (t_.deadline) {  // far beyond the run: the right edge
      marker_label(plot_x1_, deadline_label_y, P::deadline,
                   "deadline at " + human_ms(deadline_ms_) + " \xE2\x86\x92");
    }
    if (!t_.decided_at) return;
    const double x = x_of(t_.ms(*t_.decided_at));
    line(x, marks_y + 4, x, axis_y_, P::decision, 2);
    out_ += '\n';
    marker_label(x, marks_y, P::decision,
                 std::string(decision_text(t_.decision)) + " " + human_ms(t_.ms(*t_.decided_at)));
    const bool on_row = t_.decided_by && *t_.decided_by < n_;
    diamond(x, on_row ? row_mid(*t_.decided_by) : axis_y_, 7, P::decision);  // else on the axis
    out_ += " stroke=\"#ffffff\" stroke-width=\"1.5\"><title>" + xml_text(summary_) +
            "</title></path>\n";
  }

  // The legend lists the outcomes and marks drawn, in rows that fit the width.
  void layout_legend() {
    bool seen[6] = {};
    bool wait = false, stopped_waiting = false;
    for (const auto& b : t_.branches)
      for (const auto& s : b.spans) {
        if (s.kind == span_kind::attempt) {
          seen[static_cast<int>(s.outcome)] = true;
        } else {
          wait = true;
          stopped_waiting = stopped_waiting || s.outcome == span_outcome::cancelled;
        }
      }
    auto has = [&](span_outcome o) { return seen[static_cast<int>(o)]; };
    if (has(span_outcome::succeeded)) legend_.push_back({"succeeded", P::succeeded, mark::bar});
    if (has(span_outcome::failed)) legend_.push_back({"failed", P::failed, mark::bar});
    if (has(span_outcome::retried))
      legend_.push_back({"failed, retried", P::failed, mark::hatched_bar});
    if (wait) legend_.push_back({"retry wait", P::muted, mark::dashed_line});
    if (has(span_outcome::cancelled)) legend_.push_back({"stopped", P::cancelled, mark::bar});
    if (stopped_waiting) legend_.push_back({"stopped while waiting", P::muted, mark::cross});
    if (has(span_outcome::late)) legend_.push_back({"late (not counted)", P::late, mark::bar});
    if (has(span_outcome::running)) legend_.push_back({"running", P::running, mark::bar});
    if (t_.deadline) legend_.push_back({"deadline", P::deadline, mark::deadline_line});
    if (t_.decided_at) legend_.push_back({"decision", P::decision, mark::diamond});
    double x = 16, y = axis_y_ + 44;
    for (auto& item : legend_) {
      const double w = 26 + text_width(item.label, 12) + 14;
      if (x + w > width_ - 16 && x > 16) {
        x = 16;
        y += 22;
      }
      item.x = x;
      item.y = y;
      x += w;
    }
  }

  void legend() {
    for (const auto& item : legend_) {
      const double x = item.x, y = item.y;
      switch (item.shape) {
        case mark::bar:
          rect(x, y - 9, 18, 10, item.colour, 2);
          break;
        case mark::hatched_bar:
          rect(x, y - 9, 18, 10, "url(#retried)", 2);
          break;
        case mark::dashed_line:
          line(x, y - 4, x + 18, y - 4, item.colour, 1.5, "3 3");
          break;
        case mark::cross:
          line(x + 5, y - 8, x + 13, y, item.colour, 2);
          line(x + 5, y, x + 13, y - 8, item.colour, 2);
          break;
        case mark::deadline_line:
          line(x + 9, y - 12, x + 9, y + 3, item.colour, 2, "4 3");
          break;
        case mark::diamond:
          diamond(x + 9, y - 4, 6, item.colour);
          out_ += "/>";
          break;
      }
      text(x + 24, y, 12, P::ink, item.label);
    }
  }

  const timeline& t_;
  double width_, row_h_, bar_h_;
  std::size_t n_;
  std::string title_, summary_;
  double label_w_ = 0, plot_x0_ = 0, plot_x1_ = 0;
  double range_ms_ = 1, step_ms_ = 1, deadline_ms_ = 0;
  bool deadline_in_range_ = false;
  double axis_y_ = 0, height_ = 0;
  std::vector<legend_item> legend_;
  std::string out_;
};

}  // namespace detail

/// The timeline as a standalone SVG Gantt chart: one row per branch with its attempts coloured
/// by outcome (succeeded, failed, failed-and-retried, stopped, late, running), the waits between
/// retries, a line at the deadline, a marker at the decision on the deciding branch's highlighted
/// row, a time axis and a legend. All text is escaped for XML. The picture is self-contained
/// (no scripts, no external fonts or styles) and shows tooltips in browsers.
[[nodiscard]] inline std::string to_svg(const timeline& t, const svg_options& o = {}) {
  return detail::gantt_chart(t, o).draw();
}

}  // namespace quorum
