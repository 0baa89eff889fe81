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
#include <chrono>
#include <cmath>
#include <cstddef>
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
    case span_outcome::running: return "running";
    case span_outcome::retried: return "retried";
    case span_outcome::succeeded: return "succeeded";
    case span_outcome::failed: return "failed";
    case span_outcome::cancelled: return "cancelled";
    case span_outcome::late: return "late";
  }
  return "unknown";
}

/// One bar of a branch's row.
struct span {
  using time_point = std::chrono::steady_clock::time_point;

  span_kind kind = span_kind::attempt;
  unsigned attempt = 1;             ///< the attempt (for a wait: the attempt that failed)
  time_point begin{};
  std::optional<time_point> end;    ///< none while it runs
  span_outcome outcome = span_outcome::running;
  std::string error;                ///< why the attempt failed, if it did
};

/// One branch on the timeline.
struct branch_timeline {
  std::string name;
  std::vector<quorum::span> spans;       ///< in time order
  std::optional<branch_status> status;   ///< the final status; none until it ended
  bool late = false;                     ///< ended after the decision
  unsigned attempts = 0;                 ///< attempts begun so far
  std::string error;                     ///< the final error, if any

  /// True once the branch ended (or is known never to have started).
  [[nodiscard]] bool ended() const noexcept { return status.has_value(); }
  /// True while an attempt runs.
  [[nodiscard]] bool running() const noexcept {
    return !ended() && !spans.empty() && !spans.back().end && spans.back().kind == span_kind::attempt;
  }
  /// True while the branch waits to retry.
  [[nodiscard]] bool waiting() const noexcept {
    return !ended() && !spans.empty() && !spans.back().end && spans.back().kind == span_kind::retry_wait;
  }
};

/// The timeline of one execution: a plain copy, safe to read while the execution goes on.
struct timeline {
  using time_point = std::chrono::steady_clock::time_point;

  std::string execution_id;
  time_point origin{};                       ///< the execution's start (0 on every axis)
  std::optional<time_point> deadline;        ///< known after history::finish()
  std::optional<quorum::decision> decision;  ///< none until decided
  std::optional<std::size_t> decided_by;     ///< the branch whose record decided
  std::optional<time_point> decided_at;
  std::optional<time_point> stop_requested_at;
  std::vector<branch_timeline> branches;     ///< in branch order
  std::vector<recorded_event> events;        ///< in the order the observer received them
  time_point end{};                          ///< the latest time the timeline knows of

  /// Milliseconds from the origin to t.
  [[nodiscard]] double ms(time_point t) const noexcept {
    return std::chrono::duration<double, std::milli>(t - origin).count();
  }
  /// Successes and failures counted towards the decision (late ones excluded).
  [[nodiscard]] std::size_t successes() const noexcept { return count(branch_status::succeeded); }
  [[nodiscard]] std::size_t failures() const noexcept { return count(branch_status::failed); }

 private:
  [[nodiscard]] std::size_t count(branch_status s) const noexcept {
    std::size_t n = 0;
    for (const auto& b : branches) n += (b.status == s && !b.late) ? 1 : 0;
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
    recorded_event r{e.kind, e.branch,  std::string(e.branch_name), e.attempt,
                     e.at,   e.decision, e.status,                  describe(e.error)};
    std::lock_guard lk(m_);
    if (id_.empty())
      id_ = std::string(e.execution_id);
    else if (e.execution_id != id_)
      return;
    events_.push_back(std::move(r));
  }

  /// Add what only the result knows: the start, the deadline, every branch's name and final
  /// status (also of branches that never started and so sent no event).
  template <class T>
  void finish(const result<T>& r) {
    final_state f;
    f.id = r.execution_id;
    f.started = r.started;
    f.decided_at = r.decided_at;
    f.deadline = r.deadline;
    f.decision = r.decision;
    f.decided_by = r.decided_by;
    for (const auto& b : r.branches)
      f.branches.push_back({b.name, b.status, b.late, b.attempts, b.started, b.finished,
                            describe(b.error)});
    std::lock_guard lk(m_);
    if (id_.empty()) id_ = f.id;
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
    time_point started{}, decided_at{};
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
    std::size_t n = fin ? fin->branches.size() : 0;
    for (const auto& e : events)
      if (e.branch) n = std::max(n, *e.branch + 1);
    t.branches.resize(n);

    bool have_origin = false;
    auto later = [&](time_point x) {
      if (x > t.end) t.end = x;
    };
    if (fin) {
      t.origin = fin->started;
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
      if (!e.branch) continue;
      auto& b = t.branches[*e.branch];
      if (b.name.empty()) b.name = e.branch_name;
      switch (e.kind) {
        case event_kind::started:
        case event_kind::retry_started:
          close(b, e.at, span_outcome::retried, {});  // the wait before a retry
          b.spans.push_back({span_kind::attempt, e.attempt, e.at, std::nullopt,
                             span_outcome::running, {}});
          b.attempts = std::max(b.attempts, e.attempt);
          break;
        case event_kind::attempt_failed:
          close(b, e.at, span_outcome::retried, e.error);
          b.spans.push_back({span_kind::retry_wait, e.attempt, e.at, std::nullopt,
                             span_outcome::running, {}});
          break;
        case event_kind::succeeded:
        case event_kind::failed:
        case event_kind::late: {
          const bool late = e.kind == event_kind::late;
          const auto status = e.status.value_or(e.kind == event_kind::succeeded
                                                    ? branch_status::succeeded
                                                    : branch_status::failed);
          close(b, e.at, outcome_of(status, late), e.error);
          b.status = status;
          b.late = late;
          b.attempts = std::max(b.attempts, e.attempt);
          b.error = e.error;
          break;
        }
        default: break;
      }
    }

    if (!fin) return;
    t.deadline = fin->deadline;
    t.decision = fin->decision;
    t.decided_by = fin->decided_by;
    t.decided_at = fin->decided_at;
    later(fin->decided_at);
    for (std::size_t i = 0; i < fin->branches.size(); ++i) {
      const auto& f = fin->branches[i];
      auto& b = t.branches[i];
      b.name = f.name;
      if (f.status == branch_status::running) continue;  // still running (on_late = return_early)
      const auto o = outcome_of(f.status, f.late);
      if (b.spans.empty() && f.started)  // recorded without events: one bar from start to end
        b.spans.push_back({span_kind::attempt, std::max(1u, f.attempts), *f.started, std::nullopt,
                           span_outcome::running, {}});
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

inline void append_fixed(std::string& out, double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::isfinite(v) ? v : 0.0);
  out += buf;
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
      ok = !(c == 0xe0 && p[1] < 0xa0) && !(c == 0xed && p[1] >= 0xa0) &&  // overlong, surrogate
           !(c == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf));   // U+FFFE, U+FFFF
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
  for (unsigned char c : s) n += (c & 0xc0) != 0x80 ? 1 : 0;
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
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
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
    case quorum::decision::quorum_met: return "quorum met";
    case quorum::decision::unreachable: return "quorum unreachable";
    case quorum::decision::timed_out: return "timed out";
    case quorum::decision::cancelled: return "cancelled";
  }
  return "decided";
}

inline std::string branch_name_of(const timeline& t, std::optional<std::size_t> i) {
  if (!i || *i >= t.branches.size()) return {};
  return t.branches[*i].name;
}

}  // namespace detail

/// The timeline as JSON: the decision, which branch decided, every branch's spans, and every
/// event in the order received. Times are milliseconds from the execution's start.
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
  json_opt_string(out, detail::branch_name_of(t, t.decided_by));
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
    json_opt_string(out, e.branch_name);
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
  const auto decided_name = std::string("decided: ") + std::string(detail::decision_text(t.decision));
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
    detail::json_opt_string(out, detail::branch_name_of(t, t.decided_by));
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
      const auto name = attempt ? "attempt " + std::to_string(s.attempt) : std::string("retry wait");
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
  std::string title;        ///< the heading; "quorum execution <id>" when empty
  double width = 960;       ///< the picture's width in pixels (at least 480)
  double row_height = 40;   ///< per branch
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
  static constexpr std::string_view deadline = "#b91c1c";
  static constexpr std::string_view decision = "#7c3aed";
  static constexpr std::string_view highlight = "#fef3c7";
};

inline std::string_view fill_of(span_outcome o) noexcept {
  switch (o) {
    case span_outcome::succeeded: return svg_palette::succeeded;
    case span_outcome::failed:
    case span_outcome::retried: return svg_palette::failed;
    case span_outcome::cancelled: return svg_palette::cancelled;
    case span_outcome::late: return svg_palette::late;
    case span_outcome::running: return svg_palette::running;
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

}  // namespace detail

/// The timeline as a standalone SVG Gantt chart: one row per branch with its attempts coloured
/// by outcome (succeeded, failed, failed-and-retried, cancelled, late, running), the waits
/// between retries, a line at the deadline, a marker at the decision on the deciding branch's
/// highlighted row, a time axis and a legend. All text is escaped for XML.
[[nodiscard]] inline std::string to_svg(const timeline& t, const svg_options& o = {}) {
  using detail::fixed;
  using detail::xml_text;
  using P = detail::svg_palette;

  const double width = std::max(480.0, o.width);
  const double row_h = std::max(24.0, o.row_height);
  const double bar_h = std::round(row_h * 0.5);
  const std::size_t n = t.branches.size();

  // The label column fits the longest name (within limits).
  constexpr std::size_t max_name_chars = 28;
  double label_w = 110;
  for (std::size_t i = 0; i < t.branches.size(); ++i) {
    const auto& b = t.branches[i];
    label_w = std::max({label_w, detail::text_width(detail::printable(b.name, max_name_chars), 13) + 28,
                        detail::text_width(detail::status_line(b, t.decided_by == i), 10.5) + 28});
  }
  label_w = std::min(label_w, width * 0.35);
  const double plot_x0 = label_w + 12, plot_x1 = width - 28;
  const double plot_w = plot_x1 - plot_x0;

  // The time range: the whole run, and the deadline unless it lies far beyond the run.
  double content_ms = t.ms(t.end);
  for (const auto& b : t.branches)
    for (const auto& s : b.spans) content_ms = std::max(content_ms, t.ms(s.end.value_or(s.begin)));
  content_ms = std::max(content_ms, 1e-3);
  const double deadline_ms = t.deadline ? t.ms(*t.deadline) : 0;
  double range_ms = content_ms;
  const bool deadline_shown = t.deadline && deadline_ms >= 0 && deadline_ms <= content_ms * 3;
  if (deadline_shown) range_ms = std::max(range_ms, deadline_ms);
  const double step_ms = detail::nice_step(range_ms, 8);
  range_ms = std::ceil(range_ms * 1.02 / step_ms) * step_ms;
  auto x_of = [&](double ms) { return plot_x0 + std::clamp(ms / range_ms, 0.0, 1.0) * plot_w; };

  const double title_y = 30, subtitle_y = 50, marks_y = 88;  // marks: the decision's label
  const double rows_y = 98;
  const double rows_h = row_h * static_cast<double>(std::max<std::size_t>(n, 1));
  const double axis_y = rows_y + rows_h;
  const double legend_y = axis_y + 46;

  // The legend: the outcomes drawn, then the markers.
  struct legend_item {
    std::string_view label;
    std::string_view fill;
    int shape;  // 0 bar, 1 hatched bar, 2 dashed line, 3 vertical line, 4 diamond
  };
  bool seen[6] = {};
  bool any_wait = false;
  for (const auto& b : t.branches)
    for (const auto& s : b.spans) {
      if (s.kind == span_kind::attempt) seen[static_cast<int>(s.outcome)] = true;
      else any_wait = true;
    }
  std::vector<legend_item> legend;
  if (seen[static_cast<int>(span_outcome::succeeded)]) legend.push_back({"succeeded", P::succeeded, 0});
  if (seen[static_cast<int>(span_outcome::failed)]) legend.push_back({"failed", P::failed, 0});
  if (seen[static_cast<int>(span_outcome::retried)]) legend.push_back({"failed, retried", P::failed, 1});
  if (any_wait) legend.push_back({"retry wait", P::muted, 2});
  if (seen[static_cast<int>(span_outcome::cancelled)]) legend.push_back({"stopped", P::cancelled, 0});
  if (seen[static_cast<int>(span_outcome::late)]) legend.push_back({"late (not counted)", P::late, 0});
  if (seen[static_cast<int>(span_outcome::running)]) legend.push_back({"running", P::running, 0});
  if (t.deadline) legend.push_back({"deadline", P::deadline, 3});
  if (t.decided_at) legend.push_back({"decision", P::decision, 4});
  // Lay the legend out in rows that fit the width.
  std::vector<std::pair<double, double>> legend_pos;
  {
    double x = 16, y = legend_y;
    for (const auto& item : legend) {
      const double w = 26 + detail::text_width(item.label, 12) + 18;
      if (x + w > width - 16 && x > 16) {
        x = 16;
        y += 22;
      }
      legend_pos.emplace_back(x, y);
      x += w;
    }
  }
  const double height = (legend_pos.empty() ? legend_y : legend_pos.back().second) + 20;

  std::string s;
  s.reserve(4096 + 900 * n);
  auto num = [](double v) { return fixed(v, 1); };
  s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" +
       num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
       "\" font-family=\"ui-sans-serif, system-ui, -apple-system, 'Segoe UI', Roboto, "
       "'Helvetica Neue', Arial, sans-serif\" role=\"img\">\n";
  s += "<defs><pattern id=\"retried\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
       "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"";
  s += P::failed;
  s += "\" fill-opacity=\"0.55\"/><rect width=\"3\" height=\"6\" fill=\"";
  s += P::failed;
  s += "\"/></pattern></defs>\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";

  // Title and summary.
  const std::string title = o.title.empty() ? "quorum execution " + t.execution_id : o.title;
  s += "<text x=\"16\" y=\"" + num(title_y) + "\" font-size=\"18\" font-weight=\"600\" fill=\"";
  s += P::ink;
  s += "\">" + xml_text(title, 90) + "</text>\n";
  std::string summary = std::string(detail::decision_text(t.decision));
  const auto decider = detail::branch_name_of(t, t.decided_by);
  if (!decider.empty()) summary += " by " + decider;
  if (t.decided_at) summary += " at " + detail::human_ms(t.ms(*t.decided_at));
  summary += " \xC2\xB7 " + std::to_string(t.successes()) + " succeeded \xC2\xB7 " +
             std::to_string(t.failures()) + " failed";
  std::size_t late = 0;
  for (const auto& b : t.branches) late += b.late ? 1 : 0;
  if (late) summary += " \xC2\xB7 " + std::to_string(late) + " late";
  if (t.deadline) summary += " \xC2\xB7 deadline " + detail::human_ms(deadline_ms);
  s += "<text x=\"16\" y=\"" + num(subtitle_y) + "\" font-size=\"13\" fill=\"";
  s += P::muted;
  s += "\">" + xml_text(summary, 160) + "</text>\n";

  // Rows: background, highlight for the deciding branch, name and status.
  for (std::size_t i = 0; i < n; ++i) {
    const auto& b = t.branches[i];
    const double y = rows_y + row_h * static_cast<double>(i);
    const bool decider_row = t.decided_by == i;
    if (decider_row) {
      s += "<rect x=\"0\" y=\"" + num(y) + "\" width=\"" + num(width) + "\" height=\"" + num(row_h) +
           "\" fill=\"";
      s += P::highlight;
      s += "\"/>\n<rect x=\"0\" y=\"" + num(y) + "\" width=\"4\" height=\"" + num(row_h) + "\" fill=\"";
      s += P::decision;
      s += "\"/>\n";
    } else if (i % 2 == 1) {
      s += "<rect x=\"0\" y=\"" + num(y) + "\" width=\"" + num(width) + "\" height=\"" + num(row_h) +
           "\" fill=\"#f8fafc\"/>\n";
    }
    s += "<text x=\"16\" y=\"" + num(y + row_h / 2 - 2) + "\" font-size=\"13\" fill=\"";
    s += P::ink;
    s += decider_row ? "\" font-weight=\"700\">" : "\">";
    s += xml_text(b.name, max_name_chars) + "</text>\n";
    s += "<text x=\"16\" y=\"" + num(y + row_h / 2 + 12) + "\" font-size=\"10.5\" fill=\"";
    s += P::muted;
    s += "\">" + xml_text(detail::status_line(b, decider_row)) + "</text>\n";
  }

  // Grid and axis.
  s += "<g stroke=\"";
  s += P::grid;
  s += "\" stroke-width=\"1\">\n";
  for (double v = 0; v <= range_ms + step_ms * 1e-6; v += step_ms)
    s += "<line x1=\"" + num(x_of(v)) + "\" y1=\"" + num(rows_y) + "\" x2=\"" + num(x_of(v)) +
         "\" y2=\"" + num(axis_y) + "\"/>\n";
  s += "</g>\n";
  s += "<line x1=\"" + num(plot_x0) + "\" y1=\"" + num(axis_y) + "\" x2=\"" + num(plot_x1) + "\" y2=\"" +
       num(axis_y) + "\" stroke=\"";
  s += P::muted;
  s += "\" stroke-width=\"1\"/>\n<g font-size=\"11\" fill=\"";
  s += P::muted;
  s += "\" text-anchor=\"middle\">\n";
  for (double v = 0; v <= range_ms + step_ms * 1e-6; v += step_ms) {
    s += "<line x1=\"" + num(x_of(v)) + "\" y1=\"" + num(axis_y) + "\" x2=\"" + num(x_of(v)) +
         "\" y2=\"" + num(axis_y + 4) + "\" stroke=\"";
    s += P::muted;
    s += "\"/><text x=\"" + num(x_of(v)) + "\" y=\"" + num(axis_y + 17) + "\">" +
         xml_text(detail::time_label(v, step_ms)) + "</text>\n";
  }
  s += "</g>\n<text x=\"" + num(plot_x1) + "\" y=\"" + num(axis_y + 32) +
       "\" font-size=\"11\" text-anchor=\"end\" fill=\"";
  s += P::muted;
  s += "\">time since the execution started</text>\n";

  // The bars.
  for (std::size_t i = 0; i < n; ++i) {
    const auto& b = t.branches[i];
    const double cy = rows_y + row_h * (static_cast<double>(i) + 0.5);
    for (const auto& sp : b.spans) {
      const double b_ms = t.ms(sp.begin);
      const double e_ms = sp.end ? t.ms(*sp.end) : t.ms(t.end);
      const double x0 = x_of(b_ms), x1 = std::max(x_of(e_ms), x0);
      std::string tip = b.name + " \xC2\xB7 ";
      if (sp.kind == span_kind::retry_wait) {
        tip += "wait before retry " + std::to_string(sp.attempt + 1) + " \xC2\xB7 " +
               detail::human_ms(b_ms) + " \xE2\x80\x93 " + detail::human_ms(e_ms);
        s += "<line x1=\"" + num(x0) + "\" y1=\"" + num(cy) + "\" x2=\"" + num(x1) + "\" y2=\"" +
             num(cy) + "\" stroke=\"";
        s += P::muted;
        s += "\" stroke-width=\"1.5\" stroke-dasharray=\"3 3\"><title>" + xml_text(tip) +
             "</title></line>\n";
        continue;
      }
      tip += "attempt " + std::to_string(sp.attempt) + " \xC2\xB7 " +
             std::string(to_string(sp.outcome)) + " \xC2\xB7 " + detail::human_ms(b_ms) +
             " \xE2\x80\x93 " + (sp.end ? detail::human_ms(e_ms) : std::string("\xE2\x80\xA6"));
      if (!sp.error.empty()) tip += " \xC2\xB7 " + sp.error;
      const double w = std::max(x1 - x0, 3.0);
      s += "<g><title>" + xml_text(tip) + "</title><rect x=\"" + num(x0) + "\" y=\"" +
           num(cy - bar_h / 2) + "\" width=\"" + num(w) + "\" height=\"" + num(bar_h) +
           "\" rx=\"3\" fill=\"";
      if (sp.outcome == span_outcome::retried)
        s += "url(#retried)";
      else
        s += detail::fill_of(sp.outcome);
      s += "\"";
      if (!sp.end) s += " fill-opacity=\"0.85\"";
      s += "/>";
      if (w >= 24)
        s += "<text x=\"" + num(x0 + w / 2) + "\" y=\"" + num(cy + 4) +
             "\" font-size=\"10.5\" font-weight=\"600\" fill=\"#ffffff\" text-anchor=\"middle\">" +
             (w >= 70 ? "attempt " : "#") + std::to_string(sp.attempt) + "</text>";
      s += "</g>\n";
    }
  }

  // Markers: the deadline and the decision, with labels above the rows that never overlap.
  auto label = [&](double x, double y, std::string_view colour, const std::string& text) {
    // Centred on x, unless that would run off the plot's left or the picture's right edge.
    const double w = detail::text_width(text, 11);
    std::string_view anchor = "middle";
    if (x - w / 2 < plot_x0 - 8) {
      anchor = "start";
      x = std::max(x - 4, plot_x0 - 8);
    } else if (x + w / 2 > width - 8) {
      anchor = "end";
      x = std::min(x + 4, width - 8);
    }
    s += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-size=\"11\" font-weight=\"600\" fill=\"";
    s += colour;
    s += "\" text-anchor=\"";
    s += anchor;
    s += "\">" + xml_text(text) + "</text>\n";
  };
  if (t.deadline) {
    if (deadline_shown) {
      const double x = x_of(deadline_ms);
      s += "<line x1=\"" + num(x) + "\" y1=\"" + num(marks_y + 4) + "\" x2=\"" + num(x) + "\" y2=\"" +
           num(axis_y) + "\" stroke=\"";
      s += P::deadline;
      s += "\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n";
      label(x, marks_y - (t.decided_at ? 14 : 0), P::deadline, "deadline " + detail::human_ms(deadline_ms));
    } else {
      label(plot_x1, marks_y - (t.decided_at ? 14 : 0), P::deadline,
            "deadline at " + detail::human_ms(deadline_ms) + " \xE2\x86\x92");
    }
  }
  if (t.decided_at) {
    const double x = x_of(t.ms(*t.decided_at));
    s += "<line x1=\"" + num(x) + "\" y1=\"" + num(marks_y + 4) + "\" x2=\"" + num(x) + "\" y2=\"" +
         num(axis_y) + "\" stroke=\"";
    s += P::decision;
    s += "\" stroke-width=\"2\"/>\n";
    label(x, marks_y, P::decision,
          std::string(detail::decision_text(t.decision)) + " " + detail::human_ms(t.ms(*t.decided_at)));
    const double cy = t.decided_by && *t.decided_by < n
                          ? rows_y + row_h * (static_cast<double>(*t.decided_by) + 0.5)
                          : marks_y + 4;
    const double r = 7;
    s += "<path d=\"M " + num(x) + " " + num(cy - r) + " L " + num(x + r) + " " + num(cy) + " L " +
         num(x) + " " + num(cy + r) + " L " + num(x - r) + " " + num(cy) + " Z\" fill=\"";
    s += P::decision;
    s += "\" stroke=\"#ffffff\" stroke-width=\"1.5\"><title>" +
         xml_text(summary) + "</title></path>\n";
  }

  // Legend.
  s += "<g font-size=\"12\" fill=\"";
  s += P::ink;
  s += "\">\n";
  for (std::size_t k = 0; k < legend.size(); ++k) {
    const auto& item = legend[k];
    const double x = legend_pos[k].first, y = legend_pos[k].second;
    switch (item.shape) {
      case 0:
      case 1:
        s += "<rect x=\"" + num(x) + "\" y=\"" + num(y - 9) + "\" width=\"18\" height=\"10\" rx=\"2\" fill=\"";
        s += item.shape == 1 ? std::string_view("url(#retried)") : item.fill;
        s += "\"/>";
        break;
      case 2:
        s += "<line x1=\"" + num(x) + "\" y1=\"" + num(y - 4) + "\" x2=\"" + num(x + 18) + "\" y2=\"" +
             num(y - 4) + "\" stroke=\"";
        s += item.fill;
        s += "\" stroke-width=\"1.5\" stroke-dasharray=\"3 3\"/>";
        break;
      case 3:
        s += "<line x1=\"" + num(x + 9) + "\" y1=\"" + num(y - 12) + "\" x2=\"" + num(x + 9) +
             "\" y2=\"" + num(y + 3) + "\" stroke=\"";
        s += item.fill;
        s += "\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>";
        break;
      default:
        s += "<path d=\"M " + num(x + 9) + " " + num(y - 11) + " L " + num(x + 15) + " " + num(y - 4) +
             " L " + num(x + 9) + " " + num(y + 3) + " L " + num(x + 3) + " " + num(y - 4) + " Z\" fill=\"";
        s += item.fill;
        s += "\"/>";
    }
    s += "<text x=\"" + num(x + 24) + "\" y=\"" + num(y) + "\">" + xml_text(item.label) + "</text>\n";
  }
  s += "</g>\n</svg>\n";
  return s;
}

}  // namespace quorum
