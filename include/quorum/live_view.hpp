// quorum/live_view.hpp — watch an execution in a terminal, from its history.
//
//   quorum::history h;
//   opts.observer = h.observer();
//   quorum::live_view view(std::cerr, {.quorum = 2, .redraw = isatty(2) != 0});
//   auto ex = quorum::start(opts, f1, f2, f3);
//   while (!ex.wait_for(100ms)) view.update(h.snapshot(), std::chrono::steady_clock::now());
//   auto r = ex.get();
//   h.finish(r);
//   view.finish(h.snapshot());
//
// On a terminal (redraw = true) one frame is redrawn in place with ANSI escapes: a header with
// the tally against the quorum and the time left, then one line per branch with a bar of its
// attempts over the time to the deadline, a spinner while it runs, its state and attempt.
// Otherwise (a pipe, a log file) it prints one plain line per event, and a summary at the end.
// The view writes only to the stream it is given.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <iterator>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "history.hpp"

namespace quorum {

namespace detail {

// Code points a terminal gives two columns (East Asian Width W or F), as ranges in ascending
// order. The blocks of CJK, Hangul and fullwidth forms are taken whole; so are the later emoji
// blocks of the supplementary plane, whose unassigned points will be emoji. Emoji among the
// symbols of the basic plane (U+231A..U+2B55: ⌚ ⚡ ✅ ❌ ⭐ ...) are listed one by one, since their
// neighbours (☀ ✓ ➜ ...) take one column.
inline constexpr std::pair<char32_t, char32_t> wide_ranges[] = {
    {0x1100, 0x115f},   {0x231a, 0x231b},   {0x2329, 0x232a},   {0x23e9, 0x23ec},
    {0x23f0, 0x23f0},   {0x23f3, 0x23f3},   {0x25fd, 0x25fe},   {0x2614, 0x2615},
    {0x2648, 0x2653},   {0x267f, 0x267f},   {0x2693, 0x2693},   {0x26a1, 0x26a1},
    {0x26aa, 0x26ab},   {0x26bd, 0x26be},   {0x26c4, 0x26c5},   {0x26ce, 0x26ce},
    {0x26d4, 0x26d4},   {0x26ea, 0x26ea},   {0x26f2, 0x26f3},   {0x26f5, 0x26f5},
    {0x26fa, 0x26fa},   {0x26fd, 0x26fd},   {0x2705, 0x2705},   {0x270a, 0x270b},
    {0x2728, 0x2728},   {0x274c, 0x274c},   {0x274e, 0x274e},   {0x2753, 0x2755},
    {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27b0, 0x27b0},   {0x27bf, 0x27bf},
    {0x2b1b, 0x2b1c},   {0x2b50, 0x2b50},   {0x2b55, 0x2b55},   {0x2e80, 0x303e},
    {0x3041, 0x33ff},   {0x3400, 0x4dbf},   {0x4e00, 0x9fff},   {0xa000, 0xa4cf},
    {0xa960, 0xa97f},   {0xac00, 0xd7a3},   {0xf900, 0xfaff},   {0xfe10, 0xfe19},
    {0xfe30, 0xfe6f},   {0xff00, 0xff60},   {0xffe0, 0xffe6},   {0x1f004, 0x1f004},
    {0x1f0cf, 0x1f0cf}, {0x1f18e, 0x1f18e}, {0x1f191, 0x1f19a}, {0x1f200, 0x1f2ff},
    {0x1f300, 0x1f64f}, {0x1f680, 0x1f6c5}, {0x1f6cc, 0x1f6d7}, {0x1f6dc, 0x1f6df},
    {0x1f6eb, 0x1f6ec}, {0x1f6f4, 0x1f6ff}, {0x1f7e0, 0x1f7ff}, {0x1f900, 0x1f9ff},
    {0x1fa70, 0x1faff}, {0x20000, 0x2fffd}, {0x30000, 0x3fffd},
};

[[nodiscard]] inline bool is_wide(char32_t cp) noexcept {
  // The first range that ends at or after cp: cp is wide if it starts at or before it.
  const auto* r = std::lower_bound(std::begin(wide_ranges), std::end(wide_ranges), cp,
                                   [](const auto& range, char32_t c) { return range.second < c; });
  return r != std::end(wide_ranges) && r->first <= cp;
}

// Columns a terminal gives text that printable() returned (valid UTF-8, no controls): what
// lines the bars up. Counting code points put the bar of a row named in CJK two columns right
// per character, and one with a combining accent one column left. A wcwidth() in brief: the
// combining and zero-width blocks take none; the East Asian wide and fullwidth blocks and the
// pictographs two (wcwidth itself depends on the C locale, which a library must not assume).
inline std::size_t columns(std::string_view s) noexcept {
  std::size_t n = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    const int len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    char32_t cp = len == 1 ? c : len == 2 ? c & 0x1fu : len == 3 ? c & 0x0fu : c & 0x07u;
    for (int k = 1; k < len && p + k < end; ++k) cp = (cp << 6) | (p[k] & 0x3fu);
    p += std::min<std::ptrdiff_t>(len, end - p);
    const auto in = [cp](char32_t lo, char32_t hi) { return cp >= lo && cp <= hi; };
    if (in(0x0300, 0x036f) || in(0x0483, 0x0489) || in(0x0591, 0x05bd) || in(0x0610, 0x061a) ||
        in(0x064b, 0x065f) || in(0x1ab0, 0x1aff) || in(0x1dc0, 0x1dff) || in(0x200b, 0x200f) ||
        in(0x202a, 0x202e) || in(0x2060, 0x2064) || in(0x20d0, 0x20ff) || in(0xfe00, 0xfe0f) ||
        in(0xfe20, 0xfe2f) || cp == 0xfeff || in(0xe0100, 0xe01ef))
      continue;  // combining marks, zero-width and format characters, variation selectors
    n += is_wide(cp) ? 2u : 1u;
  }
  return n;
}

}  // namespace detail

/// How a live_view draws.
struct live_view_options {
  std::size_t quorum = 0;      ///< K, for the tally ("2 of 3 needed"); 0 leaves it out
  bool redraw = false;         ///< a terminal: redraw in place, with colours
  std::size_t bar_width = 28;  ///< cells of the bar (terminal only)
  /// The deadline when the timeline does not know it yet (it learns it at history::finish).
  std::optional<std::chrono::steady_clock::time_point> deadline{};
};

/// Renders a history's timeline to a stream, either as a frame redrawn in place (a terminal) or
/// as plain lines, one per event. Call update() from one thread (not thread-safe itself).
class live_view {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  live_view(std::ostream& out, live_view_options o) : out_(&out), o_(std::move(o)) {}

  /// Show the execution as of `now` (on the execution's clock).
  void update(const timeline& t, time_point now) {
    if (o_.redraw)
      frame(t, now);
    else
      lines(t);
    out_->flush();
  }

  /// The final frame (terminal) or the events not printed yet and a summary line.
  void finish(const timeline& t) {
    if (o_.redraw) {
      frame(t, t.end);
    } else {
      lines(t);
      *out_ << "done: " << detail::decision_text(t.decision);
      const auto decider = detail::branch_name_of(t, t.decided_by);
      if (!decider.empty()) *out_ << " by " << detail::printable(decider);
      if (t.decided_at) *out_ << " at " << seconds(plain_ms(t, *t.decided_at));
      *out_ << "; " << t.successes() << " succeeded, " << t.failures() << " failed";
      std::size_t late = 0;
      for (const auto& b : t.branches) late += b.late ? 1 : 0;
      if (late) *out_ << ", " << late << " late";
      *out_ << '\n';
    }
    out_->flush();
  }

 private:
  static std::string seconds(double ms) { return detail::fixed(ms / 1000, 3) + " s"; }

  // Plain mode: milliseconds from the origin of the first timeline printed. A timeline taken
  // while the execution runs counts from its first event; after history::finish(), from the
  // execution's start: keeping the first origin keeps the lines of one log on one time axis.
  double plain_ms(const timeline& t, time_point at) {
    if (!origin_) origin_ = t.origin;
    return std::chrono::duration<double, std::milli>(at - *origin_).count();
  }

  // Plain mode: one line per event not printed yet.
  void lines(const timeline& t) {
    for (; printed_ < t.events.size(); ++printed_) {
      const auto& e = t.events[printed_];
      std::string when = seconds(plain_ms(t, e.at));
      *out_ << '[' << std::string(when.size() < 9 ? 9 - when.size() : 0, ' ') << when << "] ";
      const std::string name = e.branch_name.empty() && e.branch
                                   ? "branch " + std::to_string(*e.branch)
                                   : detail::printable(e.branch_name);
      switch (e.kind) {
        case event_kind::started:
          *out_ << name << ": started";
          break;
        case event_kind::retry_started:
          *out_ << name << ": retry, attempt " << e.attempt;
          break;
        case event_kind::attempt_failed:
          *out_ << name << ": attempt " << e.attempt << " failed, will retry";
          break;
        case event_kind::succeeded:
          ++successes_;
          *out_ << name << ": succeeded";
          if (o_.quorum) *out_ << " (" << successes_ << " of " << o_.quorum << " needed)";
          break;
        case event_kind::failed:
          *out_ << name << ": failed";
          break;
        case event_kind::late:
          *out_ << name << ": ended after the decision, "
                << (e.status ? to_string(*e.status) : std::string_view("unknown"));
          break;
        case event_kind::decided:
          *out_ << "decided: " << detail::decision_text(e.decision);
          if (!name.empty()) *out_ << " by " << name;
          break;
        case event_kind::stop_requested:
          *out_ << "stop requested for the branches still running";
          break;
      }
      if (!e.error.empty() && e.kind != event_kind::late)
        *out_ << ": " << detail::printable(e.error);
      *out_ << '\n';
    }
  }

  // Terminal mode: the whole frame, drawn over the previous one.
  void frame(const timeline& t, time_point now) {
    constexpr std::string_view reset = "\x1b[0m", bold = "\x1b[1m", dim = "\x1b[2m";
    constexpr std::string_view green = "\x1b[32m", red = "\x1b[31m", grey = "\x1b[90m",
                               yellow = "\x1b[33m", blue = "\x1b[34m", magenta = "\x1b[35m";
    static constexpr std::string_view spinner[] = {
        "\xE2\xA0\x8B", "\xE2\xA0\x99", "\xE2\xA0\xB9", "\xE2\xA0\xB8", "\xE2\xA0\xBC",
        "\xE2\xA0\xB4", "\xE2\xA0\xA6", "\xE2\xA0\xA7", "\xE2\xA0\x87", "\xE2\xA0\x8F"};
    constexpr std::size_t max_name = 16;  // code points of a name shown (padded by columns)
    ++frames_;
    now = std::max(now, t.end);
    const auto deadline = t.deadline ? t.deadline : o_.deadline;
    const double now_ms = t.ms(now);
    const double span_ms = std::max(deadline ? t.ms(*deadline) : now_ms, 1e-3);

    std::string f;
    if (drawn_lines_) f += "\x1b[" + std::to_string(drawn_lines_) + "A\r";
    std::size_t lines = 0;
    auto end_line = [&] {
      f += "\x1b[K\n";  // clear what the previous frame left to the right
      ++lines;
    };

    // Header: the tally against the quorum, and the time left or the decision.
    std::size_t running = 0;
    for (const auto& b : t.branches) running += b.ended() ? 0u : 1u;
    f += bold;
    f += "quorum";
    f += reset;
    if (o_.quorum)
      f += " " + std::to_string(o_.quorum) + " of " + std::to_string(t.branches.size());
    f += "  ";
    f += green;
    f += "\xE2\x9C\x94 " + std::to_string(t.successes());
    f += reset;
    f += "  ";
    f += red;
    f += "\xE2\x9C\x98 " + std::to_string(t.failures());
    f += reset;
    if (running) f += "  " + std::to_string(running) + " running";
    f += "  ";
    if (t.decision) {
      f += magenta;
      f += bold;
      f += std::string(detail::decision_text(t.decision));
      const auto decider = detail::branch_name_of(t, t.decided_by);
      if (!decider.empty()) f += " by " + detail::printable(decider, max_name);
      if (t.decided_at) f += " at " + detail::human_ms(t.ms(*t.decided_at));
      f += reset;
    } else if (deadline) {
      const double left = t.ms(*deadline) - now_ms;
      f += left > 0 ? "deadline in " + detail::human_ms(left) : std::string("deadline passed");
    }
    end_line();

    // One line per branch.
    std::size_t name_w = 4;
    for (const auto& b : t.branches)
      name_w = std::max(name_w, detail::columns(detail::printable(b.name, max_name)));
    for (std::size_t i = 0; i < t.branches.size(); ++i) {
      const auto& b = t.branches[i];
      const std::string name =
          detail::printable(b.name, max_name);  // no escapes reach the terminal
      const std::size_t name_len = detail::columns(name);
      f += "  ";
      f += t.decided_by == i ? std::string(bold) : std::string();
      f += name;
      f += reset;
      f += std::string(name_w > name_len ? name_w - name_len : 0, ' ');
      f += "  ";
      // The bar: the time from the start to the deadline, one cell per slice.
      for (std::size_t c = 0; c < o_.bar_width; ++c) {
        const double c0 = span_ms * static_cast<double>(c) / static_cast<double>(o_.bar_width);
        const double c1 = span_ms * static_cast<double>(c + 1) / static_cast<double>(o_.bar_width);
        const quorum::span* hit = nullptr;  // the last attempt in the cell, else a wait
        for (const auto& s : b.spans) {
          const double s0 = t.ms(s.begin), s1 = s.end ? t.ms(*s.end) : now_ms;
          if (s0 < c1 && s1 >= c0 &&
              (!hit || s.kind == span_kind::attempt || hit->kind == span_kind::retry_wait))
            hit = &s;
        }
        if (!hit) {  // the time still left before the deadline shows as a thin track
          const bool ahead = c0 >= now_ms && !t.decision;
          f += ahead ? std::string(dim) + "\xE2\x94\x80" + std::string(reset) : std::string(" ");
          continue;
        }
        if (hit->kind == span_kind::retry_wait) {
          f += std::string(grey) + "\xC2\xB7" + std::string(reset);
          continue;
        }
        std::string_view colour = blue;
        switch (hit->outcome) {
          case span_outcome::succeeded:
            colour = green;
            break;
          case span_outcome::failed:
          case span_outcome::retried:
            colour = red;
            break;
          case span_outcome::cancelled:
            colour = grey;
            break;
          case span_outcome::late:
            colour = yellow;
            break;
          case span_outcome::running:
            colour = blue;
            break;
        }
        f += std::string(colour) + "\xE2\x96\x88" + std::string(reset);
      }
      f += "  ";
      // State, attempt and time.
      std::string state;
      std::string_view colour = blue;
      if (b.running()) {
        state = std::string(spinner[frames_ % 10]) + " running";
      } else if (b.waiting()) {
        state = "\xE2\x80\xA6 retrying";
        colour = grey;
      } else if (!b.status) {
        state = "  pending";
        colour = grey;
      } else if (*b.status == branch_status::succeeded) {
        state = b.late ? "\xE2\x9C\x94 late" : "\xE2\x9C\x94 succeeded";
        colour = b.late ? yellow : green;
      } else if (*b.status == branch_status::failed) {
        state = b.late ? "\xE2\x9C\x98 late" : "\xE2\x9C\x98 failed";
        colour = b.late ? yellow : red;
      } else {
        state = b.attempts ? "\xE2\x96\xA0 stopped" : "\xE2\x96\xA0 not started";
        colour = grey;
      }
      f += std::string(colour) + state + std::string(reset);
      const std::size_t state_len = detail::code_points(state);
      f += std::string(state_len < 14 ? 14 - state_len : 0, ' ');
      if (b.attempts) f += "attempt " + std::to_string(b.attempts);
      if (!b.spans.empty()) {
        const auto last = b.spans.back().end.value_or(now);
        f += "  " + detail::human_ms(t.ms(last) - t.ms(b.spans.front().begin));
      }
      end_line();
    }
    drawn_lines_ = lines;
    *out_ << f;
  }

  std::ostream* out_;
  live_view_options o_;
  std::size_t printed_ = 0;      // plain mode: events printed so far
  std::optional<time_point> origin_;  // plain mode: the time axis of the lines printed
  std::size_t successes_ = 0;    // plain mode: successes printed so far
  std::size_t drawn_lines_ = 0;  // terminal mode: lines of the previous frame
  std::size_t frames_ = 0;
};

}  // namespace quorum
