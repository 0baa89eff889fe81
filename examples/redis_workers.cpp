// examples/redis_workers.cpp — many processes, one execution, through Redis.
//
// The coordinator opens an execution in Redis and waits for its decision without polling; N
// worker processes (this program again, with --worker) each run one branch and record into
// the same execution. The decision is made by Redis, atomically with the record that settles
// it; workers still busy at that moment see it and stop. The coordinator prints the seed's
// JSON record.
//
//   redis_workers                                  start a private redis-server and 5 workers
//   redis_workers --address redis://host:6379      use a server of yours
//   redis_workers --worker ADDRESS ID BRANCH       one worker (what the coordinator starts; you
//                                                  may also start them by hand, on any machine)
//
// Without --address it starts redis-server on a unix socket in a temporary directory (when
// installed), else tries redis://127.0.0.1:6379; with no server at all it says so and exits 0.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <quorum/quorum.hpp>
#include <quorum/stores/redis.hpp>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t workers = 5;
constexpr std::size_t needed = 3;

// Start a program; returns its pid (or -1).
pid_t spawn(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  return ::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0 ? pid : -1;
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A redis-server of our own, on a unix socket in a temporary directory, for the demo.
class private_server {
 public:
  static std::optional<private_server> start() {
    std::string tmpl = (fs::temp_directory_path() / "redis-workers-XXXXXX").native();
    if (!::mkdtemp(tmpl.data())) return std::nullopt;
    fs::path dir = tmpl;
    pid_t pid = spawn({"redis-server", "--port", "0", "--unixsocket", (dir / "redis.sock").native(),
                       "--save", "", "--appendonly", "no", "--dir", dir.native(), "--logfile",
                       (dir / "redis.log").native()});
    if (pid < 0) {
      fs::remove_all(dir);
      return std::nullopt;
    }
    return private_server(pid, dir);
  }
  private_server(private_server&& o) noexcept
      : pid_(std::exchange(o.pid_, -1)), dir_(std::move(o.dir_)) {}
  private_server& operator=(private_server&&) = delete;
  ~private_server() {
    if (pid_ < 0) return;
    ::kill(pid_, SIGTERM);
    wait_exit(pid_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  [[nodiscard]] std::string address() const { return "unix://" + (dir_ / "redis.sock").native(); }

 private:
  private_server(pid_t pid, fs::path dir) : pid_(pid), dir_(std::move(dir)) {}
  pid_t pid_;
  fs::path dir_;
};

// One branch in its own process. The "work" takes (branch + 1) * 60 ms, branch 1 fails; it
// waits on the execution's decision meanwhile, so a worker still busy when the others have
// decided stops at once (a real branch would run its work on a thread and stop it then).
int worker(const std::string& address, const std::string& id, std::size_t branch) {
  quorum::redis_store store({.address = address});
  auto h = store.attach(id);
  auto work = std::chrono::milliseconds(60 * (branch + 1));
  // Each report is one line written at once: the workers share the terminal, and std::cerr
  // writes every << as it comes, so lines built piecemeal would interleave.
  std::string line = "worker " + std::to_string(branch + 1) + ": ";
  if (auto d = store.wait_for(h, work)) {
    std::cerr << line + "stopped, the execution already decided " +
                     std::string(quorum::to_string(*d)) + "\n";
    return 0;
  }
  auto o = branch == 1 ? quorum::outcome::failure : quorum::outcome::success;
  auto t = store.record(h, branch, o);
  line += o == quorum::outcome::success ? "recorded success" : "recorded failure";
  std::cerr << line + (t.late ? " (late)" : "") +
                   (t.decided_now ? ", and decided the execution" : "") + "\n";
  return 0;
}

// The record as the seed printed it: the store's record turned into a result for to_json.
// The coordinator knows when the execution started and was decided, not when each worker ran:
// the result says so (timestamps::execution), and to_json writes the branches' times as null.
quorum::result<void> as_result(const quorum::execution_record& rec,
                               std::chrono::steady_clock::time_point started,
                               std::chrono::steady_clock::time_point decided_at,
                               std::chrono::steady_clock::time_point deadline) {
  quorum::result<void> r;
  r.decision = rec.decision.value_or(quorum::decision::cancelled);
  r.execution_id = rec.id;
  r.decided_by = rec.decided_by;
  r.started = started;
  r.decided_at = decided_at;
  r.deadline = deadline;
  r.timestamps = quorum::timestamps::execution;
  for (std::size_t i = 0; i < rec.branches.size(); ++i) {
    const auto& b = rec.branches[i];
    quorum::branch_result<void> br;
    br.name = "Process " + std::to_string(i + 1);
    br.status = !b.outcome                               ? quorum::branch_status::cancelled
                : *b.outcome == quorum::outcome::success ? quorum::branch_status::succeeded
                                                         : quorum::branch_status::failed;
    br.attempts = b.outcome ? 1 : 0;
    br.late = b.late;
    r.branches.push_back(std::move(br));
  }
  return r;
}

int coordinator(std::string address) {
  auto server = address.empty() ? private_server::start() : std::nullopt;
  if (address.empty()) address = server ? server->address() : "redis://127.0.0.1:6379";
  // The store reconnects with backoff until reconnect_for: that covers our server starting.
  quorum::redis_store store({.address = address, .reconnect_for = server ? 5s : 1s});
  try {
    store.ping();
  } catch (const quorum::redis_error& e) {
    std::cout << "redis_workers: no Redis server reachable (" << e.what()
              << ").\nInstall redis-server (Debian: apt-get install redis-server) or pass "
                 "--address redis://host:port; nothing to show.\n";
    return 0;
  }

  const auto started = std::chrono::steady_clock::now();
  const std::string id = "redis-workers-" + std::to_string(::getpid()) + "-" +
                         std::to_string(started.time_since_epoch().count());
  auto h = store.open({id, workers, quorum::at_least(needed).resolve(workers)});

  const std::string self = fs::read_symlink("/proc/self/exe");
  std::vector<pid_t> pids;
  for (std::size_t i = 0; i < workers; ++i) {
    pid_t pid = spawn({self, "--worker", address, id, std::to_string(i)});
    if (pid < 0) std::cerr << "could not start worker " << i + 1 << "\n";
    pids.push_back(pid);
  }

  // No polling: blocks in Redis until a worker's record decides, or the deadline.
  const auto deadline = started + 10s;
  auto decision = store.wait_until(h, deadline);
  const auto decided_at = std::chrono::steady_clock::now();
  if (!decision) store.expire(h);  // decides timed_out unless a record decided just now
  // Stragglers record late, or stop. A worker that exits non-zero (its Redis went away, say)
  // is reported, and the coordinator's own exit code says so too.
  int failed_workers = 0;
  for (std::size_t i = 0; i < pids.size(); ++i) {
    if (pids[i] < 0) {
      ++failed_workers;
      continue;
    }
    if (const int code = wait_exit(pids[i]); code != 0) {
      std::cerr << "worker " << i + 1 << " exited with " << code << "\n";
      ++failed_workers;
    }
  }

  std::cout << quorum::to_json(as_result(store.snapshot(h), started, decided_at, deadline)) << "\n";
  store.close(h);  // the execution is over (its keys stay for redis_options::ttl by default)
  return failed_workers == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) try {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "--worker") {
    if (args.size() != 4) {
      std::cerr << "usage: redis_workers --worker ADDRESS ID BRANCH\n";
      return 2;
    }
    return worker(args[1], args[2], std::stoul(args[3]));
  }
  std::string address;
  if (args.size() == 2 && args[0] == "--address")
    address = args[1];
  else if (!args.empty()) {
    std::cerr << "usage: redis_workers [--address redis://host:port | unix://path]\n";
    return 2;
  }
  return coordinator(address);
} catch (const std::exception& e) {
  std::cerr << "redis_workers: " << e.what() << "\n";
  return 1;
}
