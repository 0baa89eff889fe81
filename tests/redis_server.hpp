// tests/redis_server.hpp — a throwaway redis-server for the tests and the benchmark.
//
// Starts `redis-server` on a unix socket in a fresh temporary directory (no TCP port unless
// asked for one, as cluster nodes need), with
// persistence the way the tests need it (AOF, fsync on every write, no RDB snapshots), and
// stops it and removes the directory in the destructor. Readiness is read from the server's
// own log through a pipe ("ready to accept connections"), so nothing polls or sleeps. The
// server dies with the thread that started it (PR_SET_PDEATHSIG), so a crashed test leaves no
// server behind.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace quorum_test {

/// The full path of an executable found on PATH, or nothing.
inline std::optional<std::string> find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  dirs += ":/usr/sbin:/sbin";  // Debian puts nothing of redis there, but be generous
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (!dir.empty()) {
      std::string full = dir + "/" + name;
      if (::access(full.c_str(), X_OK) == 0) return full;
    }
    start = end + 1;
  }
  return std::nullopt;
}

/// How a redis_server is started.
struct redis_server_config {
  bool append_only = true;              ///< AOF with appendfsync always (else no persistence)
  std::vector<std::string> extra_args;  ///< more "--name value" arguments
  int port = 0;                         ///< also listen on 127.0.0.1:port (0: unix socket only)
};

class redis_server {
 public:
  using config = redis_server_config;

  /// True when redis-server is installed.
  static bool available() { return find_program("redis-server").has_value(); }

  /// Start a server; throws std::runtime_error (with the server's log) when it cannot.
  explicit redis_server(config c = {}) : cfg_(std::move(c)) {
    auto exe = find_program("redis-server");
    if (!exe) throw std::runtime_error("redis-server is not installed (Debian: redis-server)");
    exe_ = *exe;
    std::filesystem::path base = std::filesystem::temp_directory_path();
    if (base.native().size() > 60) base = "/tmp";  // a unix socket path has ~107 bytes
    std::string tmpl = (base / "quorum-redis-XXXXXX").native();
    if (!::mkdtemp(tmpl.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    dir_ = tmpl;
    socket_ = (dir_ / "redis.sock").native();
    try {
      start();
    } catch (...) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      throw;
    }
  }

  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  ~redis_server() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /// "unix://<dir>/redis.sock"
  [[nodiscard]] std::string address() const { return "unix://" + socket_; }
  /// "redis://127.0.0.1:<port>" (only with config::port).
  [[nodiscard]] std::string tcp_address() const {
    return "redis://127.0.0.1:" + std::to_string(cfg_.port);
  }
  [[nodiscard]] const std::string& socket_path() const { return socket_; }
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  [[nodiscard]] bool running() const { return pid_ > 0; }

  /// Start the server (again) in the same directory; returns once it accepts connections
  /// (after loading its AOF).
  void start() {
    if (pid_ > 0) return;
    std::vector<std::string> args{exe_,
                                  "--port",
                                  std::to_string(cfg_.port),
                                  "--unixsocket",
                                  socket_,
                                  "--unixsocketperm",
                                  "700",
                                  "--dir",
                                  dir_.native(),
                                  "--save",
                                  "",
                                  "--logfile",
                                  "",
                                  "--daemonize",
                                  "no"};
    if (cfg_.append_only) {
      for (const char* a : {"--appendonly", "yes", "--appendfsync", "always"}) args.emplace_back(a);
    } else {
      for (const char* a : {"--appendonly", "no"}) args.emplace_back(a);
    }
    if (cfg_.port != 0)
      for (const char* a : {"--bind", "127.0.0.1"}) args.emplace_back(a);
    args.insert(args.end(), cfg_.extra_args.begin(), cfg_.extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category(), "pipe2");
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      int e = errno;
      ::close(fds[0]);
      ::close(fds[1]);
      throw std::system_error(e, std::generic_category(), "fork");
    }
    if (pid == 0) {
      // The child: async-signal-safe calls only, then exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    pid_ = pid;
    {
      std::lock_guard lk(m_);
      ready_ = false;
      eof_ = false;
    }
    reader_ = std::jthread([this, fd = fds[0]] { read_log(fd); });

    std::unique_lock lk(m_);
    // A guard against a server that hangs, not a synchronisation: readiness is signalled.
    bool ok = cv_.wait_for(lk, std::chrono::seconds(60), [&] { return ready_ || eof_; });
    if (!ok || !ready_) {
      std::string log = log_;
      lk.unlock();
      kill9();
      throw std::runtime_error("redis-server did not start:\n" + log);
    }
  }

  /// SIGKILL: the server dies at once, without a chance to write anything more.
  void kill9() { end(SIGKILL); }

  /// SIGTERM: a clean shutdown.
  void stop() { end(SIGTERM); }

  /// What the server logged so far.
  [[nodiscard]] std::string log() const {
    std::lock_guard lk(m_);
    return log_;
  }

 private:
  void end(int sig) {
    if (pid_ > 0) {
      ::kill(pid_, sig);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      pid_ = -1;
    }
    if (reader_.joinable()) reader_.join();  // the pipe's write end died with the server
  }

  void read_log(int fd) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      std::lock_guard lk(m_);
      if (n <= 0) {
        eof_ = true;
        cv_.notify_all();
        break;
      }
      log_.append(buf, static_cast<std::size_t>(n));
      if (!ready_) {
        std::string lower = log_;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        if (lower.find("ready to accept connections", log_checked_) != std::string::npos) {
          ready_ = true;
          log_checked_ = log_.size();
          cv_.notify_all();
        }
      }
    }
    ::close(fd);
  }

  config cfg_;
  std::string exe_;
  std::filesystem::path dir_;
  std::string socket_;
  pid_t pid_ = -1;
  std::jthread reader_;
  mutable std::mutex m_;
  std::condition_variable cv_;
  bool ready_ = false;
  bool eof_ = false;
  std::string log_;
  std::size_t log_checked_ = 0;  // where the next start's readiness line is searched from
};

}  // namespace quorum_test
