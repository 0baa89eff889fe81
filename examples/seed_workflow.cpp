// examples/seed_workflow.cpp — the seed's Step Functions workflow, replicated with quorum.
//
// N simulated processes (3) each draw a number from 1 to 16: above 6 the process fails,
// otherwise it works for that many seconds. The run succeeds as soon as K (2) processes have
// succeeded, gives up as soon as that can no longer happen, and times out after 15 s. A
// transient error (--transient-rate) is retried like the seed's Retry: interval 2 s, 6 attempts,
// backoff rate 2. The draws depend only on the seed, the process and the attempt.
//
// stdout: the final record as JSON. stderr: the seed, then the run as it happens.
#include <unistd.h>  // isatty

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <quorum/history.hpp>
#include <quorum/live_view.hpp>
#include <quorum/quorum.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr std::string_view usage = R"(usage: seed_workflow [options]

Runs the seed's quorum workflow: N processes each draw 1..16; above 6 a process fails,
otherwise it works that many seconds. Decides quorum_met, unreachable or timed_out.

  --quorum K            successes needed (default 2)
  --processes N         simulated processes (default 3, at most 256)
  --timeout SECONDS     the deadline (default 15)
  --seed S              seed of the draws (default: random, printed on stderr)
  --time-scale F        multiply every duration by F (default 1; 0.01 runs in ~0.1 s)
  --transient-rate P    chance in [0, 1] that an attempt hits a transient error, which is
                        retried: interval 2 s, 6 attempts, backoff 2 (default 0)
  --json FILE           also write the JSON record to FILE
  --svg FILE            write the run's timeline as an SVG Gantt chart
  --trace FILE          write the run as a Chrome trace (chrome://tracing, ui.perfetto.dev)
  --no-live             do not show the run as it happens
  --help                show this text

The JSON record goes to stdout; the live view and the seed go to stderr.
)";

struct settings {
  std::size_t quorum = 2;
  std::size_t processes = 3;
  double timeout_s = 15;
  std::uint64_t seed = 0;
  double time_scale = 1;
  double transient_rate = 0;
  std::string json_file, svg_file, trace_file;
  bool live = true;
  bool help = false;
};

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

template <class T>
T number(std::string_view flag, std::string_view text) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    throw usage_error(std::string(flag) + " expects a number, not '" + std::string(text) + "'");
  return v;
}

template <class T>
T in_range(std::string_view flag, std::string_view text, T lo, T hi) {
  const T v = number<T>(flag, text);
  if (!(v >= lo && v <= hi))
    throw usage_error(std::string(flag) + " " + std::string(text) + " is out of range [" +
                      number_text(static_cast<double>(lo)) + ", " +
                      number_text(static_cast<double>(hi)) + "]");
  return v;
}

settings parse(int argc, char** argv) {
  settings s;
  s.seed = (std::uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i], value;
    bool inline_value = false;
    if (auto eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
      value = flag.substr(eq + 1);  // --flag=value
      flag = flag.substr(0, eq);
      inline_value = true;
    }
    auto arg = [&]() -> std::string_view {
      if (inline_value) return value;
      if (i + 1 >= argc) throw usage_error(std::string(flag) + " needs a value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h")
      s.help = true;
    else if (flag == "--no-live")
      s.live = false;
    else if (flag == "--quorum")
      s.quorum = number<std::size_t>(flag, arg());
    else if (flag == "--processes")
      s.processes = in_range<std::size_t>(flag, arg(), 1, 256);
    else if (flag == "--timeout")
      s.timeout_s = in_range(flag, arg(), 0.0, 1e6);
    else if (flag == "--seed")
      s.seed = number<std::uint64_t>(flag, arg());
    else if (flag == "--time-scale")
      s.time_scale = in_range(flag, arg(), 1e-6, 1e3);
    else if (flag == "--transient-rate")
      s.transient_rate = in_range(flag, arg(), 0.0, 1.0);
    else if (flag == "--json")
      s.json_file = arg();
    else if (flag == "--svg")
      s.svg_file = arg();
    else if (flag == "--trace")
      s.trace_file = arg();
    else
      throw usage_error("unknown option '" + std::string(argv[i]) + "'");
    if (inline_value && (flag == "--help" || flag == "--no-live"))
      throw usage_error(std::string(flag) + " takes no value");
  }
  return s;
}

// A duration of the simulation, scaled by --time-scale.
std::chrono::nanoseconds scaled(const settings& s, double seconds) {
  return std::chrono::nanoseconds(std::llround(seconds * s.time_scale * 1e9));
}

// A transient failure of the call itself (the seed's Lambda.ServiceException): retried.
struct transient_error : std::runtime_error {
  transient_error() : std::runtime_error("transient error (simulated Lambda.ServiceException)") {}
};

bool is_transient(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const transient_error&) {
    return true;
  } catch (...) {
    return false;
  }
}

// What process p draws on attempt a: fixed by the seed, whatever the timing of the run.
struct draw {
  int seconds;     // 1..16
  bool transient;  // the attempt hits a transient error
};

draw draw_for(const settings& s, std::size_t process, unsigned attempt) {
  std::seed_seq seq{static_cast<std::uint32_t>(s.seed), static_cast<std::uint32_t>(s.seed >> 32),
                    static_cast<std::uint32_t>(process), static_cast<std::uint32_t>(attempt)};
  std::mt19937_64 gen(seq);  // mt19937_64 and seed_seq are specified exactly by the standard
  const int seconds = 1 + static_cast<int>(gen() % 16);
  const double u = static_cast<double>(gen() >> 11) * 0x1.0p-53;  // uniform in [0, 1)
  return {seconds, u < s.transient_rate};
}

// One simulated process: the seed's Lambda.
int simulated_process(const settings& s, quorum::branch_context& ctx) {
  const draw d = draw_for(s, ctx.index(), ctx.attempt());
  if (d.transient) {
    ctx.sleep_for(scaled(s, 0.2));  // the call fails after a moment
    ctx.throw_if_stop_requested();
    throw transient_error();
  }
  if (d.seconds > 6)
    throw std::runtime_error("drew " + std::to_string(d.seconds) + ": above 6, the process fails");
  ctx.sleep_for(scaled(s, d.seconds));  // returns early when the decision comes first
  ctx.throw_if_stop_requested();
  return d.seconds;
}

std::ofstream open_output(const std::string& path) {
  std::ofstream f;
  if (path.empty()) return f;
  f.open(path, std::ios::binary | std::ios::trunc);
  if (!f) throw usage_error("cannot write to '" + path + "'");
  return f;
}

}  // namespace

int main(int argc, char** argv) try {
  const settings s = parse(argc, argv);
  if (s.help) {
    std::cout << usage;
    return 0;
  }
  std::ofstream json_out = open_output(s.json_file), svg_out = open_output(s.svg_file),
                trace_out = open_output(s.trace_file);
  std::cerr << "seed_workflow: --seed " << s.seed << " (quorum " << s.quorum << " of "
            << s.processes << ", timeout " << number_text(s.timeout_s) << " s, time scale "
            << number_text(s.time_scale) << ")\n";

  // The seed's workflow: K of N, a deadline, and the seed's Retry on transient errors.
  quorum::history history;
  quorum::options opts{.quorum = s.quorum, .timeout = scaled(s, s.timeout_s)};
  opts.retry = {
      .max_attempts = 6, .interval = scaled(s, 2), .backoff_rate = 2, .retry_if = is_transient};
  opts.observer = history.observer();
  std::vector<std::function<int(quorum::branch_context&)>> processes(
      s.processes, [&s](quorum::branch_context& ctx) { return simulated_process(s, ctx); });

  // Watch it run: redrawn in place on a terminal, one line per event otherwise.
  quorum::live_view view(std::cerr, {.quorum = s.quorum,
                                     .redraw = isatty(STDERR_FILENO) != 0,
                                     .deadline = std::chrono::steady_clock::now() + *opts.timeout});
  auto run = quorum::start(opts, processes);
  while (!run.wait_for(50ms))
    if (s.live) view.update(history.snapshot(), std::chrono::steady_clock::now());
  auto result = run.get();  // every process has ended: the losers were asked to stop
  history.finish(result);
  const quorum::timeline timeline = history.snapshot();
  if (s.live) view.finish(timeline);

  const std::string record = quorum::to_json(result);
  std::cout << record << '\n';
  if (json_out.is_open()) json_out << record << '\n';
  if (svg_out.is_open()) {
    std::string title = "seed workflow \xC2\xB7 quorum " + std::to_string(s.quorum) + " of " +
                        std::to_string(s.processes) + " \xC2\xB7 seed " + std::to_string(s.seed);
    if (s.time_scale != 1) title += " \xC2\xB7 time scale " + number_text(s.time_scale);
    svg_out << quorum::to_svg(timeline, {.title = title});
  }
  if (trace_out.is_open()) trace_out << quorum::to_chrome_trace(timeline);
  for (auto* f : {&json_out, &svg_out, &trace_out})
    if (f->is_open() && !f->flush()) throw std::runtime_error("writing an output file failed");
  return 0;
} catch (const usage_error& e) {
  std::cerr << "seed_workflow: " << e.what() << "\n(see seed_workflow --help)\n";
  return 2;
} catch (const std::invalid_argument& e) {  // quorum::invalid_options: e.g. --quorum 4 of 3
  std::cerr << "seed_workflow: " << e.what() << "\n(see seed_workflow --help)\n";
  return 2;
} catch (const std::exception& e) {
  std::cerr << "seed_workflow: " << e.what() << '\n';
  return 1;
}
