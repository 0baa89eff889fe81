// tests/test_redis_store.cpp — redis_store against a real redis-server (CTest label "redis").
//
// Every test case starts its own server on a unix socket in a temporary directory (AOF with
// fsync on every write, no RDB snapshots) and stops it at the end: nothing depends on a server
// already running. The worker processes are tests/redis_store_worker.cpp.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <latch>
#include <map>
#include <mutex>
#include <quorum/quorum.hpp>
#include <quorum/store_check.hpp>
#include <quorum/stores/redis.hpp>
#include <random>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"
#include "same_record.hpp"

extern char** environ;

namespace {

using test_support::check_same;

using namespace std::chrono_literals;
using quorum::decision;
using quorum::outcome;

quorum::execution_spec spec(std::string id, std::size_t n, const quorum::policy& p) {
  return quorum::execution_spec{std::move(id), n, p.resolve(n)};
}

quorum::redis_options at(const quorum_test::redis_server& s) {
  quorum::redis_options o;
  o.address = s.address();
  return o;
}

// A plain hiredis connection for what the store does not offer: killing clients, reading keys.
class admin {
 public:
  explicit admin(const std::string& socket) : c_(redisConnectUnix(socket.c_str())) {
    REQUIRE(c_ != nullptr);
    REQUIRE(c_->err == 0);
  }
  admin(const admin&) = delete;
  admin& operator=(const admin&) = delete;
  ~admin() { redisFree(c_); }

  // The reply as text: strings as they are, integers in decimal, nil as "(nil)", arrays as
  // their elements joined by '\n'.
  std::string operator()(const std::vector<std::string>& args) {
    std::vector<const char*> p;
    std::vector<std::size_t> n;
    for (const auto& a : args) {
      p.push_back(a.data());
      n.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c_, static_cast<int>(args.size()), p.data(), n.data()));
    REQUIRE(r != nullptr);
    std::string out = text(r);
    freeReplyObject(r);
    return out;
  }

 private:
  static std::string text(const redisReply* r) {
    switch (r->type) {
      case REDIS_REPLY_INTEGER:
        return std::to_string(r->integer);
      case REDIS_REPLY_NIL:
        return "(nil)";
      case REDIS_REPLY_ARRAY: {
        std::string s;
        for (std::size_t i = 0; i < r->elements; ++i) s += (i ? "\n" : "") + text(r->element[i]);
        return s;
      }
      default:
        return std::string(r->str, r->len);
    }
  }
  redisContext* c_;
};

// A process started with posix_spawnp (args[0] is the program); its stdout is read through a
// pipe.
class process {
 public:
  explicit process(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    int rc = ::posix_spawnp(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    out_ = fds[0];
    REQUIRE(rc == 0);
  }
  process(const process&) = delete;
  process& operator=(const process&) = delete;
  ~process() {
    if (out_ >= 0) ::close(out_);
    if (pid_ > 0) wait();
  }

  // Everything the process printed, once it exited; its exit status in `status`.
  std::string finish(int& status) {
    std::string out;
    char buf[4096];
    for (;;) {
      auto n = ::read(out_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    status = wait();
    return out;
  }

 private:
  int wait() {
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  pid_t pid_ = -1;
  int out_ = -1;
};

// Three Redis Cluster primaries on 127.0.0.1 (random ports; each node also needs port + 10000
// for the cluster bus, so a taken port is retried elsewhere), joined by redis-cli, which gives
// them the slots 0-5460, 5461-10922 and 10923-16383.
struct redis_cluster {
  std::vector<std::unique_ptr<quorum_test::redis_server>> nodes;

  redis_cluster() {
    std::mt19937 rng(std::random_device{}());
    while (nodes.size() < 3) {
      for (int attempt = 0;; ++attempt) {
        try {
          nodes.push_back(
              std::make_unique<quorum_test::redis_server>(quorum_test::redis_server_config{
                  .append_only = false,
                  .extra_args = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"},
                  .port = 20000 + static_cast<int>(rng() % 10000)}));
          break;
        } catch (const std::exception&) {
          if (attempt == 20) throw;
        }
      }
    }
    std::vector<std::string> args{"redis-cli", "--cluster", "create"};
    for (const auto& n : nodes) args.push_back(n->tcp_address().substr(8));  // "127.0.0.1:port"
    for (const char* a : {"--cluster-replicas", "0", "--cluster-yes"}) args.emplace_back(a);
    process create(args);
    int status = -1;
    auto out = create.finish(status);
    INFO(out);
    REQUIRE(status == 0);
  }
};

}  // namespace

TEST_CASE(
    "redis_store records each branch once, decides at the K-th success and flags later "
    "records late" *
    doctest::timeout(60)) {
  quorum_test::redis_server server;
  quorum::redis_store store(at(server));
  auto h = store.open(spec("basic", 5, quorum::at_least(3)));

  auto t = store.record(h, 0, outcome::success);
  CHECK(t.recorded_now);
  CHECK_FALSE(t.decided_now);
  CHECK(t.successes == 1);
  CHECK_FALSE(t.decision);

  t = store.record(h, 0, outcome::failure);  // a replay with another outcome changes nothing
  CHECK_FALSE(t.recorded_now);
  CHECK(t.successes == 1);
  CHECK(t.failures == 0);

  CHECK(store.record(h, 1, outcome::failure).failures == 1);
  CHECK_FALSE(store.record(h, 2, outcome::success).decided_now);
  t = store.record(h, 3, outcome::success);
  CHECK(t.decided_now);
  CHECK(t.decision == decision::quorum_met);
  CHECK(t.decided_by == 3u);
  CHECK(t.successes == 3);

  t = store.record(h, 4, outcome::failure);
  CHECK(t.recorded_now);
  CHECK(t.late);
  CHECK_FALSE(t.decided_now);
  CHECK(t.failures == 2);
  CHECK(t.decision == decision::quorum_met);

  CHECK_FALSE(store.expire(h).decided_now);
  CHECK_FALSE(store.cancel(h).decided_now);

  auto rec = store.snapshot(h);
  CHECK(rec.id == "basic");
  CHECK(rec.decision == decision::quorum_met);
  CHECK(rec.decided_by == 3u);
  CHECK(rec.successes_at_decision == 3);
  CHECK(rec.failures_at_decision == 1);
  REQUIRE(rec.branches.size() == 5);
  CHECK(rec.branches[0].outcome == outcome::success);
  CHECK(rec.branches[1].outcome == outcome::failure);
  CHECK_FALSE(rec.branches[3].late);
  CHECK(rec.branches[4].late);

  CHECK_THROWS_AS(store.record(h, 5, outcome::success), quorum::redis_error);  // no branch 5
}

TEST_CASE(
    "redis_store gives the same tallies and records as the in-process decision rule for "
    "random records, expiries and cancels" *
    doctest::timeout(120)) {
  quorum_test::redis_server server;
  quorum::redis_store store(at(server));
  const unsigned seed = 20240601;
  MESSAGE("seed " << seed);
  std::mt19937 rng(seed);

  struct policy_case {
    const char* name;
    std::size_t n;
    quorum::policy p;
  };
  const std::vector<policy_case> cases{
      {"at_least", 5, quorum::at_least(3)},
      {"majority", 6, quorum::majority()},
      {"all", 4, quorum::all()},
      {"any", 4, quorum::any()},
      {"max_failures", 7, quorum::max_failures(2)},
      {"weighted", 5, quorum::weighted({3, 1, 1, 2, 1}, 5)},
      {"fraction", 9, quorum::fraction(0.5)},
  };
  int executions = 0;
  for (const auto& pc : cases) {
    for (int e = 0; e < 15; ++e, ++executions) {
      CAPTURE(pc.name);
      CAPTURE(e);
      auto sp = spec(std::string("conf-") + pc.name + "-" + std::to_string(e), pc.n, pc.p);
      quorum::detail::record_state ref;
      ref.rule = sp.rule;
      ref.branches.resize(pc.n);
      auto h = store.open(sp);
      for (int step = 0; step < 14; ++step) {
        CAPTURE(step);
        auto roll = rng() % 20;
        if (roll == 0) {
          check_same(store.expire(h), ref.finish(decision::timed_out));
        } else if (roll == 1) {
          check_same(store.cancel(h), ref.finish(decision::cancelled));
        } else {
          std::size_t i = rng() % pc.n;
          auto o = rng() % 2 ? outcome::success : outcome::failure;
          check_same(store.record(h, i, o), ref.record(i, o));
        }
      }
      check_same(store.snapshot(h), ref.snapshot(sp.id));
    }
  }
  CHECK(executions == 105);
}

TEST_CASE("redis_store decides weighted rules on the votes of the branches" *
          doctest::timeout(60)) {
  quorum_test::redis_server server;
  quorum::redis_store store(at(server));

  // Votes 3,1,1,1, threshold 4: two successes meet it when one is the heavy branch...
  auto h = store.open(spec("w-met", 4, quorum::weighted({3, 1, 1, 1}, 4)));
  CHECK_FALSE(store.record(h, 1, outcome::success).decided_now);
  auto t = store.record(h, 0, outcome::success);
  CHECK(t.decided_now);
  CHECK(t.decision == decision::quorum_met);
  CHECK(t.successes == 2);

  // ...and the heavy branch failing alone makes it unreachable (6 - 3 < 4).
  h = store.open(spec("w-unreachable", 4, quorum::weighted({3, 1, 1, 1}, 4)));
  t = store.record(h, 0, outcome::failure);
  CHECK(t.decided_now);
  CHECK(t.decision == decision::unreachable);
  CHECK(t.decided_by == 0u);
  CHECK(t.failures == 1);
  auto rec = store.snapshot(h);
  CHECK(rec.failures_at_decision == 1);
  CHECK(rec.successes_at_decision == 0);
}

TEST_CASE("redis_store passes check_store, from many connections at once" * doctest::timeout(120)) {
  quorum_test::redis_server server;
  quorum::redis_store store(at(server));
  const auto problems = quorum::check_store(store, {.threads = 4, .rounds = 10});
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  INFO(all);
  CHECK(problems.empty());
}

TEST_CASE("vote totals above 10^14 are counted exactly and decide at exactly the threshold" *
          doctest::timeout(300)) {
  // 23 292 branches of 4 294 967 291 votes: after 23 284 records the yes (or no) total passes
  // 10^14, where writing it back with Lua's default '%.14g' would round it. The threshold
  // sits exactly on the total of 23 291 records (a number whose last digit '%.14g' loses), so
  // a total rounded even once would decide one record late, or never.
  quorum_test::redis_server server;
  quorum::redis_store store(at(server));
  constexpr std::size_t n = 23292, deciding = 23290;  // the 23 291st record decides
  constexpr std::uint64_t w = 4294967291u;
  quorum::rule r;
  r.votes.assign(n, static_cast<std::uint32_t>(w));
  r.total = n * w;

  SUBCASE("yes votes") {
    r.threshold = (deciding + 1) * w;
    auto h = store.open({"big-yes", n, r});
    std::size_t decided_at = n;
    for (std::size_t i = 0; i <= deciding; ++i)
      if (store.record(h, i, outcome::success).decided_now) decided_at = i;
    CHECK(decided_at == deciding);
    CHECK(store.snapshot(h).decision == decision::quorum_met);
  }
  SUBCASE("no votes") {
    // unreachable once total - no < threshold, i.e. at no = (deciding + 1) * w exactly.
    r.threshold = r.total - (deciding + 1) * w + 1;
    auto h = store.open({"big-no", n, r});
    std::size_t decided_at = n;
    for (std::size_t i = 0; i <= deciding; ++i)
      if (store.record(h, i, outcome::failure).decided_now) decided_at = i;
    CHECK(decided_at == deciding);
    CHECK(store.snapshot(h).decision == decision::unreachable);
  }
}

TEST_CASE("exactly one call decides when many connections record, expire and cancel at once" *
          doctest::timeout(120)) {
  quorum_test::redis_server server;
  quorum::redis_store store(at(server));
  constexpr std::size_t n = 6, k = 4, executions = 40;
  constexpr std::size_t threads = n + 2;  // one per branch, one expiring, one cancelling
  std::vector<quorum::redis_store::handle> hs;
  for (std::size_t e = 0; e < executions; ++e)
    hs.push_back(store.open(spec("race-" + std::to_string(e), n, quorum::at_least(k))));

  const unsigned seed = 7;
  MESSAGE("seed " << seed);
  std::vector<std::vector<quorum::tally>> tallies(threads, std::vector<quorum::tally>(executions));
  std::vector<std::vector<std::exception_ptr>> errors(threads,
                                                      std::vector<std::exception_ptr>(executions));
  std::barrier sync(static_cast<std::ptrdiff_t>(threads));
  {
    std::vector<std::jthread> pool;
    for (std::size_t t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        std::mt19937 rng(seed + static_cast<unsigned>(t));
        for (std::size_t e = 0; e < executions; ++e) {
          sync.arrive_and_wait();  // all threads hit execution e together
          try {
            if (t < n)
              tallies[t][e] =
                  store.record(hs[e], t, rng() % 3 ? outcome::success : outcome::failure);
            else if (t == n)
              tallies[t][e] = store.expire(hs[e]);
            else
              tallies[t][e] = store.cancel(hs[e]);
          } catch (...) {
            errors[t][e] = std::current_exception();
          }
        }
      });
  }
  for (std::size_t e = 0; e < executions; ++e) {
    CAPTURE(e);
    std::size_t deciders = 0;
    for (std::size_t t = 0; t < threads; ++t) {
      CHECK_FALSE(errors[t][e]);
      deciders += tallies[t][e].decided_now;
      if (t < n) CHECK(tallies[t][e].recorded_now);
    }
    CHECK(deciders == 1);
    auto rec = store.snapshot(hs[e]);
    REQUIRE(rec.decision);
    switch (*rec.decision) {
      case decision::quorum_met:
        CHECK(rec.successes_at_decision >= k);
        break;
      case decision::unreachable:
        CHECK(rec.failures_at_decision > n - k);
        break;
      default:
        CHECK(rec.successes_at_decision < k);
        CHECK(rec.failures_at_decision <= n - k);
    }
    if (rec.decided_by) CHECK_FALSE(rec.branches[*rec.decided_by].late);
  }
}

TEST_CASE("opening an id the server still holds throws duplicate_execution_id, from any store" *
          doctest::timeout(60)) {
  quorum_test::redis_server server;
  quorum::redis_store a(at(server));
  quorum::redis_store b(at(server));
  auto h = a.open(spec("taken", 3, quorum::at_least(2)));
  CHECK_THROWS_AS((void)a.open(spec("taken", 3, quorum::at_least(2))),
                  quorum::duplicate_execution_id);
  CHECK_THROWS_AS((void)b.open(spec("taken", 2, quorum::at_least(1))),
                  quorum::duplicate_execution_id);
  CHECK_THROWS_WITH_AS((void)b.open(spec("taken", 2, quorum::at_least(1))),
                       doctest::Contains("\"taken\""), std::invalid_argument);

  a.close(h);  // kept by default: a restarted coordinator may still read it
  CHECK_THROWS_AS((void)b.open(spec("taken", 3, quorum::at_least(2))),
                  quorum::duplicate_execution_id);

  auto o = at(server);
  o.delete_on_close = true;
  quorum::redis_store c(o);
  auto h2 = c.open(spec("short-lived", 3, quorum::at_least(2)));
  c.close(h2);
  auto h3 = c.open(spec("short-lived", 3, quorum::at_least(2)));  // free again
  CHECK_FALSE(c.record(h3, 0, outcome::success).decision);
}

TEST_CASE("branches recorded from many processes count once and the execution decides once" *
          doctest::timeout(120)) {
  quorum_test::redis_server server;
  quorum::redis_store store(at(server));
  constexpr std::size_t n = 6, k = 3, executions = 25;
  for (std::size_t e = 0; e < executions; ++e)
    (void)store.open(spec("mp-" + std::to_string(e), n, quorum::at_least(k)));
  auto first = store.attach("mp-0");

  // One process per branch, and two more replaying branches 1 and 4 (with the other outcome).
  struct job {
    std::size_t branch;
    const char* outcome;
  };
  const std::vector<job> jobs{{0, "s"}, {1, "s"}, {2, "f"}, {3, "s"},
                              {4, "f"}, {5, "s"}, {1, "f"}, {4, "s"}};
  std::vector<std::unique_ptr<process>> procs;
  for (const auto& j : jobs)
    procs.push_back(std::make_unique<process>(
        std::vector<std::string>{QUORUM_REDIS_WORKER, server.address(), "mp",
                                 std::to_string(executions), std::to_string(j.branch), j.outcome}));

  // The coordinator waits without polling; the workers decide.
  CHECK(store.wait_for(first, 60s).has_value());

  std::map<std::size_t, std::size_t> decided;                           // execution -> deciders
  std::map<std::pair<std::size_t, std::size_t>, std::size_t> recorded;  // (execution, branch)
  for (std::size_t p = 0; p < procs.size(); ++p) {
    int status = -1;
    auto out = procs[p]->finish(status);
    CAPTURE(out);
    REQUIRE(status == 0);
    std::istringstream in(out);
    std::size_t e = 0, lines = 0;
    int dnow = 0, rnow = 0;
    while (in >> e >> dnow >> rnow) {
      ++lines;
      decided[e] += static_cast<std::size_t>(dnow);
      recorded[{e, jobs[p].branch}] += static_cast<std::size_t>(rnow);
    }
    CHECK(lines == executions);
  }
  for (std::size_t e = 0; e < executions; ++e) {
    CAPTURE(e);
    CHECK(decided[e] == 1);
    for (std::size_t b = 0; b < n; ++b) CHECK(recorded[{e, b}] == 1);
    auto rec = store.snapshot(store.attach("mp-" + std::to_string(e)));
    REQUIRE(rec.decision);
    std::size_t ok = 0, failed = 0;
    for (const auto& b : rec.branches) {
      REQUIRE(b.outcome);
      (*b.outcome == outcome::success ? ok : failed) += 1;
    }
    CHECK(ok + failed == n);
    if (*rec.decision == decision::quorum_met) CHECK(rec.successes_at_decision == k);
    if (*rec.decision == decision::unreachable) CHECK(rec.failures_at_decision == n - k + 1);
  }
}

TEST_CASE("a record resent after a reconnect counts once and keeps its first answer" *
          doctest::timeout(60)) {
  quorum_test::redis_server server;
  quorum::redis_store store(at(server));
  admin redis(server.socket_path());
  auto h = store.open(spec("resend", 3, quorum::at_least(1)));

  auto first = store.record(h, 1, outcome::success, "worker-1/attempt-1");
  CHECK(first.decided_now);
  CHECK(first.recorded_now);

  auto connections = [&] {
    auto info = redis({"INFO", "stats"});
    auto at = info.find("total_connections_received:");
    REQUIRE(at != std::string::npos);
    return std::stoul(info.substr(at + 27));
  };
  const auto before = connections();
  // The server drops every other client: the store's pooled connection is now dead.
  CHECK(redis({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}) != "0");

  // The same request again (its reply was lost, say): answered as the first time.
  auto again = store.record(h, 1, outcome::success, "worker-1/attempt-1");
  check_same(again, first);
  CHECK(connections() > before);  // it did reconnect

  // Another request for the same branch is a replay: counted nothing, decided nothing.
  auto replay = store.record(h, 1, outcome::failure);
  CHECK_FALSE(replay.recorded_now);
  CHECK_FALSE(replay.decided_now);
  CHECK(replay.successes == 1);
  CHECK(replay.failures == 0);
  auto rec = store.snapshot(h);
  CHECK(rec.branches[1].outcome == outcome::success);
  CHECK(rec.decided_by == 1u);
}

TEST_CASE("a late record resent with its request id is answered as late again and counts once" *
          doctest::timeout(60)) {
  quorum_test::redis_server server;
  quorum::redis_store store(at(server));
  auto h = store.open(spec("late-resend", 4, quorum::at_least(1)));
  CHECK(store.record(h, 3, outcome::success).decided_now);

  auto first = store.record(h, 0, outcome::failure, "worker-0/attempt-1");
  CHECK(first.recorded_now);
  CHECK(first.late);
  CHECK_FALSE(first.decided_now);
  CHECK(first.failures == 1);
  CHECK(first.decided_by == 3u);
  CHECK(first.decision == decision::quorum_met);

  auto again = store.record(h, 0, outcome::failure, "worker-0/attempt-1");
  check_same(again, first);

  // A replay of the late branch by another request: not recorded now, but the record it
  // finds was late.
  auto replay = store.record(h, 0, outcome::success, "worker-0/attempt-2");
  CHECK_FALSE(replay.recorded_now);
  CHECK(replay.late);
  CHECK(replay.successes == 1);
  CHECK(replay.failures == 1);
}

TEST_CASE(
    "kill -9 of the server and a restart in the same directory lose no acknowledged "
    "record and keep the decision" *
    doctest::timeout(120)) {
  quorum_test::redis_server server;
  quorum::redis_store store(at(server));

  auto decided = store.open(spec("survivor-decided", 5, quorum::at_least(3)));
  store.record(decided, 0, outcome::success);
  store.record(decided, 1, outcome::failure);
  store.record(decided, 2, outcome::success);
  REQUIRE(store.record(decided, 3, outcome::success).decided_now);
  auto open = store.open(spec("survivor-open", 4, quorum::at_least(3)));
  store.record(open, 0, outcome::success);
  store.record(open, 1, outcome::success);
  const auto decided_before = store.snapshot(decided);
  const auto open_before = store.snapshot(open);

  server.kill9();
  // A worker records while the server is down: it keeps reconnecting until it is back.
  quorum::tally during;
  std::exception_ptr during_error;
  std::jthread worker([&] {
    try {
      during = store.record(open, 2, outcome::success);
    } catch (...) {
      during_error = std::current_exception();
    }
  });
  server.start();
  worker.join();

  REQUIRE_FALSE(during_error);
  CHECK(during.recorded_now);
  CHECK(during.decided_now);  // the third success, counted after the restart
  CHECK(during.successes == 3);
  check_same(store.snapshot(decided), decided_before);
  auto after = store.snapshot(open);
  CHECK(after.branches[0].outcome == open_before.branches[0].outcome);
  CHECK(after.branches[1].outcome == open_before.branches[1].outcome);
  CHECK(after.decision == decision::quorum_met);

  // The decision of the first execution still holds: a late record cannot change it.
  auto late = store.record(decided, 4, outcome::failure);
  CHECK(late.late);
  CHECK_FALSE(late.decided_now);
  CHECK(late.decision == decision::quorum_met);

  // The functions came back from the AOF (FUNCTION LOAD was persisted, not cached).
  server.kill9();
  server.start();
  admin redis(server.socket_path());
  CHECK(redis({"FUNCTION", "LIST", "LIBRARYNAME", "quorum4"}).find("quorum4_record") !=
        std::string::npos);
}

TEST_CASE("a coordinator that restarts reads the decision back and waits without polling" *
          doctest::timeout(60)) {
  quorum_test::redis_server server;
  {
    quorum::redis_store first(at(server));
    auto h = first.open(spec("coord", 3, quorum::at_least(2)));
    first.record(h, 2, outcome::success);
    first.record(h, 0, outcome::success);  // decides
    first.close(h);
  }  // the first coordinator is gone

  quorum::redis_store second(at(server));
  auto h = second.attach("coord");
  CHECK(h->branches == 3);
  CHECK(second.wait_for(h, 0s) == decision::quorum_met);
  auto rec = second.snapshot(h);
  CHECK(rec.decision == decision::quorum_met);
  CHECK(rec.decided_by == 0u);
  CHECK_THROWS_AS((void)second.attach("never-opened"), quorum::redis_error);

  // Waiting on an undecided execution: woken by a record from another connection.
  auto w = second.open(spec("coord-wait", 3, quorum::at_least(1)));
  CHECK_FALSE(second.wait_for(w, 20ms).has_value());  // undecided at the deadline
  std::optional<decision> seen[2];
  std::latch waiting(2);
  {
    std::jthread a([&] {
      waiting.count_down();
      seen[0] = second.wait_for(w, 60s);
    });
    std::jthread b([&] {
      quorum::redis_store other(at(server));
      auto hw = other.attach("coord-wait");
      waiting.count_down();
      seen[1] = other.wait_for(hw, 60s);
    });
    waiting.wait();
    quorum::redis_store worker(at(server));
    CHECK(worker.record(worker.attach("coord-wait"), 1, outcome::success).decided_now);
  }
  CHECK(seen[0] == decision::quorum_met);  // both waiters woke
  CHECK(seen[1] == decision::quorum_met);
}

TEST_CASE("hostile execution ids are kept exactly, stay on one cluster slot and never collide" *
          doctest::timeout(60)) {
  quorum_test::redis_server server;
  quorum::redis_store store(at(server));
  admin redis(server.socket_path());
  const std::vector<std::string> ids{"plain",
                                     "with \"quotes\" and 'single'",
                                     "line\nbreak\r\n",
                                     "{tag}",
                                     "}{",
                                     "a{b}c",
                                     "{",
                                     "}",
                                     "%7B",
                                     "%",
                                     "%257B",
                                     "caf\xc3\xa9 \xe2\x9c\x93",
                                     "\xff\xfe",
                                     std::string("nul\0byte", 8),
                                     "q:{x}:exec",
                                     std::string(1024, '{')};
  for (const auto& id : ids) {
    CAPTURE(id);
    auto keys = quorum::redis_store::keys_for(id);
    // The hash tag: from the first '{' to the first '}' after it, non-empty, the same for all.
    auto tag = [](const std::string& key) {
      auto open = key.find('{');
      auto close = key.find('}', open + 1);
      REQUIRE(open != std::string::npos);
      REQUIRE(close != std::string::npos);
      REQUIRE(close > open + 1);
      return key.substr(open + 1, close - open - 1);
    };
    CHECK(tag(keys.exec) == tag(keys.decision));
    CHECK(tag(keys.exec) == tag(keys.wake));
    CHECK(keys.exec == "q:{" + tag(keys.exec) + "}:exec");

    auto h = store.open(spec(id, 2, quorum::at_least(1)));  // no id collides with another
    CHECK(store.record(h, 1, outcome::success).decided_now);
    auto rec = store.snapshot(h);
    CHECK(rec.id == id);
    CHECK(rec.decision == decision::quorum_met);
    CHECK(redis({"HGET", keys.exec, "id"}) == id);  // the id is stored byte for byte
    CHECK(store.attach(id)->branches == 2);
  }
  CHECK(redis({"DBSIZE"}) == std::to_string(3 * ids.size()));

  CHECK_THROWS_AS((void)store.open(spec("", 2, quorum::at_least(1))), quorum::invalid_options);
  CHECK_THROWS_WITH_AS((void)store.open(spec(std::string(1025, 'x'), 2, quorum::at_least(1))),
                       doctest::Contains("1025"), quorum::invalid_options);
}

TEST_CASE("quorum_parallel runs end to end on the redis store" * doctest::timeout(60)) {
  quorum_test::redis_server server;
  quorum::redis_store store(at(server));

  SUBCASE("two of three succeed; the third is stopped and recorded late") {
    std::latch third_started(1);  // the decision must find the third branch running
    auto r = quorum::quorum_parallel(
        store, quorum::options{.quorum = 2, .timeout = 60s, .execution_id = "e2e-met"},
        [&] {
          third_started.wait();
          return 1;
        },
        [&] {
          third_started.wait();
          return 2;
        },
        [&](std::stop_token st) -> int {
          third_started.count_down();
          std::mutex m;
          std::condition_variable_any cv;
          std::unique_lock lk(m);
          cv.wait(lk, st, [] { return false; });  // until the decision asks it to stop
          throw quorum::stopped();
        });
    CHECK(r.decision == quorum::decision::quorum_met);
    CHECK(r.branches[0].status == quorum::branch_status::succeeded);
    CHECK(r.branches[1].status == quorum::branch_status::succeeded);
    CHECK(r.branches[2].status == quorum::branch_status::cancelled);
    CHECK(r.branches[2].late);
    REQUIRE(r.decided_by);
    CHECK(*r.decided_by < 2);
    CHECK(quorum::to_json(r).find("\"decision\":\"quorum_met\"") != std::string::npos);

    // The record stays in Redis after the call: another process could read it back.
    auto rec = store.snapshot(store.attach("e2e-met"));
    CHECK(rec.decision == decision::quorum_met);
    CHECK(rec.successes_at_decision == 2);
    REQUIRE(rec.branches[2].outcome);
    CHECK(rec.branches[2].late);
  }

  SUBCASE("two failures of three make the quorum of two unreachable") {
    auto r = quorum::quorum_parallel(
        store, quorum::options{.quorum = 2, .timeout = 60s},
        []() -> int { throw std::runtime_error("a"); }, [] { return 2; },
        []() -> int { throw std::runtime_error("c"); });
    CHECK(r.decision == decision::unreachable);  // one success at most: never met
    auto rec = store.snapshot(store.attach(r.execution_id));
    CHECK(rec.decision == r.decision);
    CHECK(rec.decision == decision::unreachable);
  }

  SUBCASE("the deadline decides timed_out through the store") {
    auto block = [](std::stop_token st) {
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lk(m);
      cv.wait(lk, st, [] { return false; });
    };
    auto r =
        quorum::quorum_parallel(store, quorum::options{.quorum = 1, .timeout = 30ms}, block, block);
    CHECK(r.decision == decision::timed_out);
    CHECK(store.snapshot(store.attach(r.execution_id)).decision == decision::timed_out);
  }
}

TEST_CASE("a server that stays away past the time allowed gives a clear error" *
          doctest::timeout(60)) {
  quorum_test::redis_server server;
  auto o = at(server);
  o.reconnect_for = 100ms;
  quorum::redis_store store(o);
  auto h = store.open(spec("away", 3, quorum::at_least(2)));
  server.stop();
  CHECK_THROWS_WITH_AS(store.record(h, 0, outcome::success),
                       doctest::Contains(server.address().c_str()), quorum::redis_error);
  CHECK_THROWS_WITH_AS((void)store.wait_for(h, 50ms), doctest::Contains("deadline"),
                       quorum::redis_error);
  server.start();
  CHECK(store.record(h, 0, outcome::success).recorded_now);  // the store recovers
}

TEST_CASE("execution keys live for the ttl after open and after the decision" *
          doctest::timeout(60)) {
  quorum_test::redis_server server;
  admin redis(server.socket_path());
  auto o = at(server);
  o.ttl = 60s;
  quorum::redis_store store(o);
  auto h = store.open(spec("ttl", 2, quorum::at_least(1)));
  auto keys = quorum::redis_store::keys_for("ttl");
  auto pttl = [&](const std::string& key) { return std::stol(redis({"PTTL", key})); };
  CHECK(pttl(keys.exec) > 0);
  CHECK(pttl(keys.exec) <= 60000);
  REQUIRE(store.record(h, 0, outcome::success).decided_now);
  for (const auto* key : {&keys.exec, &keys.decision, &keys.wake}) {
    CAPTURE(*key);
    CHECK(pttl(*key) > 0);
    CHECK(pttl(*key) <= 60000);
  }

  o.ttl = 0ms;
  quorum::redis_store forever(o);
  (void)forever.open(spec("forever", 2, quorum::at_least(1)));
  CHECK(pttl(quorum::redis_store::keys_for("forever").exec) == -1);
}

TEST_CASE("a password-protected server is reached with the configured credentials" *
          doctest::timeout(60)) {
  quorum_test::redis_server server({.extra_args = {"--requirepass", "s3cret"}});
  auto o = at(server);
  o.password = "s3cret";
  quorum::redis_store store(o);
  auto h = store.open(spec("auth", 1, quorum::at_least(1)));
  CHECK(store.record(h, 0, outcome::success).decided_now);

  o.password = "wrong";
  quorum::redis_store bad(o);
  CHECK_THROWS_WITH_AS(bad.ping(), doctest::Contains("credentials"), quorum::redis_error);
}

TEST_CASE("a server that wants a password, and none is configured, says so" *
          doctest::timeout(60)) {
  quorum_test::redis_server server({.extra_args = {"--requirepass", "s3cret"}});
  quorum::redis_store store(at(server));
  CHECK_THROWS_WITH_AS((void)store.open(spec("noauth", 1, quorum::at_least(1))),
                       doctest::Contains("requires authentication: set redis_options::password"),
                       quorum::redis_error);
  CHECK_THROWS_WITH_AS(store.ping(), doctest::Contains("requires authentication"),
                       quorum::redis_error);
}

TEST_CASE("the function library's body is the one its name stands for") {
  // A store loads the library only where it is missing (a server holding a library of that name
  // keeps it), so two bodies under one name would run side by side, each client trusting the
  // other's code. The name carries the version: change it (quorum4 -> quorum5, in the body and
  // in every FCALL) whenever the body changes, then update this hash (FNV-1a, 64 bits).
  std::uint64_t h = 0xcbf29ce484222325u;
  for (unsigned char c : quorum::detail::redis::library) {
    h ^= c;
    h *= 0x100000001b3u;
  }
  CHECK(quorum::detail::redis::library.starts_with("#!lua name=quorum4\n"));
  CHECK(h == 0x7c0552a8cf20d9a4u);
}

TEST_CASE("a store loads its functions only where they are missing; an account that may not "
          "load them uses the ones loaded for it" *
          doctest::timeout(60)) {
  quorum_test::redis_server server;
  admin redis(server.socket_path());
  auto loads = [&] {
    auto info = redis({"INFO", "commandstats"});
    const std::string field = "cmdstat_function|load:calls=";
    auto at = info.find(field);
    return at == std::string::npos ? 0 : std::stoi(info.substr(at + field.size()));
  };
  {
    quorum::redis_store first(at(server));
    auto h = first.open(spec("load-1", 1, quorum::at_least(1)));
    CHECK(first.record(h, 0, outcome::success).decided_now);
  }
  CHECK(loads() == 1);
  // Before, every new store sent FUNCTION LOAD REPLACE (6 KB, to the AOF and the replicas) on
  // its first connection, needed or not (found by a user trial).
  for (int i = 0; i < 3; ++i) {
    quorum::redis_store again(at(server));
    auto h = again.open(spec("load-again-" + std::to_string(i), 1, quorum::at_least(1)));
    CHECK(again.record(h, 0, outcome::success).decided_now);
  }
  CHECK(loads() == 1);

  // A worker's account that may do anything but load functions. Before, its store refused to
  // work at all ("needs Redis 7"), the library being there or not.
  REQUIRE(redis({"ACL", "SETUSER", "worker", "on", ">pw", "~*", "&*", "+@all",
                 "-function|load"}) == "OK");
  auto o = at(server);
  o.username = "worker";
  o.password = "pw";
  quorum::redis_store worker(o);
  auto h = worker.open(spec("worker", 2, quorum::at_least(2)));
  CHECK_FALSE(worker.record(h, 0, outcome::success).decided_now);
  CHECK(worker.record(h, 1, outcome::success).decided_now);
  CHECK(worker.snapshot(h).decision == decision::quorum_met);

  // With the library gone, it says what to do.
  REQUIRE(redis({"FUNCTION", "FLUSH"}) == "OK");
  CHECK_THROWS_WITH_AS((void)worker.open(spec("worker-2", 1, quorum::at_least(1))),
                       doctest::Contains("may run FUNCTION LOAD"), quorum::redis_error);
  // And a store of an account that may load them puts them back.
  quorum::redis_store admin_store(at(server));
  CHECK_NOTHROW((void)admin_store.open(spec("worker-2", 1, quorum::at_least(1))));
  CHECK(worker.record(worker.attach("worker-2"), 0, outcome::success).decided_now);
}

TEST_CASE("the address selects a database: redis://host:port/N, unix://path?db=N" *
          doctest::timeout(60)) {
  quorum_test::redis_server server;
  admin redis(server.socket_path());
  auto o = at(server);
  o.address += "?db=3";
  quorum::redis_store store(o);
  auto h = store.open(spec("in-db-3", 1, quorum::at_least(1)));
  CHECK(store.record(h, 0, outcome::success).decided_now);
  const auto key = quorum::redis_store::keys_for("in-db-3").exec;
  // Before, the database in the address was ignored: the keys went to database 0 (found by a
  // user trial).
  CHECK(redis({"EXISTS", key}) == "0");
  REQUIRE(redis({"SELECT", "3"}) == "OK");
  CHECK(redis({"EXISTS", key}) == "1");

  o.address = server.address() + "?db=99";  // the server has 16
  quorum::redis_store beyond(o);
  CHECK_THROWS_WITH_AS(beyond.ping(), doctest::Contains("refused SELECT 99"),
                       quorum::redis_error);
}

TEST_CASE("a reply that does not come within command_timeout is named as such" *
          doctest::timeout(60)) {
  quorum_test::redis_server server;
  admin redis(server.socket_path());
  auto o = at(server);
  o.command_timeout = 50ms;
  o.reconnect_for = 0ms;
  quorum::redis_store store(o);
  REQUIRE(redis({"CLIENT", "PAUSE", "2000", "ALL"}) == "OK");
  // Before: "... last error: ...: Resource temporarily unavailable" (found by a user trial).
  CHECK_THROWS_WITH_AS(store.ping(), doctest::Contains("no reply within command_timeout (50 ms)"),
                       quorum::redis_error);
  CHECK_THROWS_WITH_AS(store.ping(), doctest::Contains("after its first failure"),
                       quorum::redis_error);
  REQUIRE(redis({"CLIENT", "UNPAUSE"}) == "OK");
  CHECK_NOTHROW(store.ping());

  // A pooled connection whose reply did not come is not a stale one: no second connection,
  // and no second command_timeout, before reconnect_for counts (found by a review: a frozen
  // server held a call one command_timeout longer than docs/redis.md says).
  auto connections = [&] {
    auto info = redis({"INFO", "stats"});
    const std::string field = "total_connections_received:";
    return std::stol(info.substr(info.find(field) + field.size()));
  };
  const auto before = connections();
  REQUIRE(redis({"CLIENT", "PAUSE", "2000", "ALL"}) == "OK");
  CHECK_THROWS_WITH_AS(store.ping(), doctest::Contains("no reply within command_timeout"),
                       quorum::redis_error);
  REQUIRE(redis({"CLIENT", "UNPAUSE"}) == "OK");
  CHECK(connections() == before);
}

TEST_CASE("on a Redis Cluster every execution lives on one slot and is reached through any node" *
          doctest::timeout(120)) {
  redis_cluster cluster;
  quorum::redis_options o;
  o.address = cluster.nodes[0]->tcp_address();
  quorum::redis_store store(o);  // knows one node; learns the others from MOVED redirections

  std::vector<std::string> ids{"{tag}", "a{b}c", "}{", "%7B", "caf\xc3\xa9", "line\nbreak"};
  for (int i = 0; i < 30; ++i) ids.push_back("cluster-" + std::to_string(i));
  admin redis(cluster.nodes[1]->socket_path());
  for (const auto& id : ids) {
    CAPTURE(id);
    auto keys = quorum::redis_store::keys_for(id);
    // The cluster's own hashing puts the three keys on one slot, the one the store computes.
    auto slot = redis({"CLUSTER", "KEYSLOT", keys.exec});
    CHECK(redis({"CLUSTER", "KEYSLOT", keys.decision}) == slot);
    CHECK(redis({"CLUSTER", "KEYSLOT", keys.wake}) == slot);
    CHECK(std::to_string(quorum::detail::redis::key_slot(keys.exec)) == slot);

    auto h = store.open(spec(id, 3, quorum::at_least(2)));
    CHECK_FALSE(store.record(h, 0, outcome::success).decided_now);
    CHECK(store.record(h, 2, outcome::success).decided_now);
    auto rec = store.snapshot(h);
    CHECK(rec.decision == decision::quorum_met);
    CHECK(rec.decided_by == 2u);
  }
  std::size_t keys_seen = 0;
  for (const auto& n : cluster.nodes) {
    admin node(n->socket_path());
    auto here = std::stoul(node({"DBSIZE"}));
    CHECK(here > 0);  // the executions are spread over every node
    keys_seen += here;
  }
  CHECK(keys_seen == 3 * ids.size());

  // A coordinator that knows another node waits; a worker's record wakes it wherever the
  // execution lives.
  quorum::redis_options o2;
  o2.address = cluster.nodes[2]->tcp_address();
  quorum::redis_store coordinator(o2);
  auto h = coordinator.open(spec("cluster-wait", 2, quorum::at_least(1)));
  std::optional<decision> seen;
  std::latch waiting(1);
  {
    std::jthread waiter([&] {
      waiting.count_down();
      seen = coordinator.wait_for(h, 60s);
    });
    waiting.wait();
    CHECK(store.record(store.attach("cluster-wait"), 1, outcome::success).decided_now);
  }
  CHECK(seen == decision::quorum_met);
}

TEST_CASE("addresses are redis://host:port or unix://path, durations not negative, limits not zero") {
  auto with = [](std::string a) {
    quorum::redis_options o;
    o.address = std::move(a);
    return o;
  };
  CHECK_NOTHROW(quorum::redis_store(with("redis://127.0.0.1:6379")));
  CHECK_NOTHROW(quorum::redis_store(with("redis://localhost")));
  CHECK_NOTHROW(quorum::redis_store(with("redis://[::1]:7000")));
  CHECK_NOTHROW(quorum::redis_store(with("unix:///run/redis/redis.sock")));
  CHECK_THROWS_AS(quorum::redis_store(with("http://x:1")), quorum::invalid_options);
  // Without a scheme the message shows the address and says what is missing (a user trial saw
  // "127.0.0.1:6390" shown as "...").
  CHECK_THROWS_WITH_AS(quorum::redis_store(with("127.0.0.1:6390")),
                       doctest::Contains("\"127.0.0.1:6390\": no scheme"), quorum::invalid_options);
  CHECK_THROWS_WITH_AS(quorum::redis_store(with("localhost:6390?db=1")),
                       doctest::Contains("\"localhost:6390...\""), quorum::invalid_options);
  // Only a plain host:port is shown so: other forms may hold a credential in some client's
  // syntax (a review found "localhost:6379,password=..." shown whole; the list below).
  CHECK_THROWS_WITH_AS(quorum::redis_store(with("localhost:6379,password=x")),
                       doctest::Contains("address = \"...\": no scheme"), quorum::invalid_options);
  CHECK_THROWS_WITH_AS(quorum::redis_store(with("redis://[::1]:99999/2")),
                       doctest::Contains("\"redis://[::1]:99999/2\": bad port"),
                       quorum::invalid_options);
  CHECK_THROWS_AS(quorum::redis_store(with("redis://:6379")), quorum::invalid_options);
  CHECK_THROWS_AS(quorum::redis_store(with("redis://host:99999")), quorum::invalid_options);
  CHECK_THROWS_AS(quorum::redis_store(with("redis://host:12ab")), quorum::invalid_options);
  CHECK_THROWS_WITH_AS(quorum::redis_store(with("unix://")), doctest::Contains("unix://path"),
                       quorum::invalid_options);
  CHECK_NOTHROW(quorum::redis_store(with("redis://127.0.0.1:6379/")));
  CHECK_NOTHROW(quorum::redis_store(with("redis://127.0.0.1:6379/15")));
  CHECK_NOTHROW(quorum::redis_store(with("unix:///run/redis/redis.sock?db=2")));
  CHECK_THROWS_WITH_AS(quorum::redis_store(with("redis://host:1/x")),
                       doctest::Contains("database must be a number"), quorum::invalid_options);
  CHECK_THROWS_WITH_AS(quorum::redis_store(with("redis://host:1/-1")),
                       doctest::Contains("database must be a number"), quorum::invalid_options);
  CHECK_THROWS_WITH_AS(quorum::redis_store(with("unix:///s.sock?timeout=1")),
                       doctest::Contains("?db=N"), quorum::invalid_options);
  // Credentials in the address are refused, and not repeated in the message (found by a user
  // trial: the address was taken as a host name, and the password ended up in the error).
  CHECK_NOTHROW(quorum::redis_store(with("unix:///tmp/we?ird/redis.sock")));  // '?' in a path
  CHECK_THROWS_WITH_AS(quorum::redis_store(with("unix://run/redis.sock")),
                       doctest::Contains("must be absolute"), quorum::invalid_options);
  for (const char* a : {"redis://:hunter2@127.0.0.1:6379", "redis://me:hunter2@host",
                        "redis://me:hunt@r2@host:1/3", "redis://u:hun/ter2@h",
                        "redis://h:6379/0?password=hunter2", "redis://h:6379?password=hunter2",
                        "unix://:hunter2@/tmp/x.sock", "unix://me@/run/redis.sock?db=0&password=hunter2",
                        "unix:///run/redis.sock?password=hunter2",
                        "unix:///run/redis.sock?db=0&password=hunter2", "redis://u:hun?ter2@h:1",
                        "redis://:hun?ter2@h", "unix://:hun?ter2@/tmp/x.sock",
                        "unix://:hun/ter2@/tmp/x.sock", "me:hunter2@127.0.0.1:6379",
                        "127.0.0.1:6379?password=hunter2", "localhost:6379,password=hunter2",
                        "localhost:6379;password=hunter2", "h:6379#password=hunter2",
                        "h:6379/0&password=hunter2", "h:6379 --pass hunter2", "-a hunter2 h:6379",
                        "me:hunter2", "hunter2", "me%3Ahunter2%40h:6379", "redis:hunter2",
                        "redis://h:6379,password=hunter2", "redis://me:hunter2"}) {
    CAPTURE(a);
    try {
      quorum::redis_store refused(with(a));
      FAIL("accepted");
    } catch (const quorum::invalid_options& e) {
      const std::string what = e.what();
      CHECK(what.find("hun") == std::string::npos);
      CHECK(what.find("ter2") == std::string::npos);
    }
  }
  auto negative = with("unix:///run/redis/redis.sock");
  negative.ttl = std::chrono::milliseconds(-1);
  CHECK_THROWS_WITH_AS(quorum::redis_store{negative}, doctest::Contains("ttl"),
                       quorum::invalid_options);
  // A zero limit would mean "none" to hiredis for a reply and "fail at once" for a connection.
  auto zero = with("unix:///run/redis/redis.sock");
  zero.command_timeout = std::chrono::milliseconds(0);
  CHECK_THROWS_WITH_AS(quorum::redis_store{zero}, doctest::Contains("command_timeout = 0ms"),
                       quorum::invalid_options);
  zero = with("unix:///run/redis/redis.sock");
  zero.connect_timeout = std::chrono::milliseconds(0);
  CHECK_THROWS_WITH_AS(quorum::redis_store{zero}, doctest::Contains("connect_timeout = 0ms"),
                       quorum::invalid_options);
  zero = with("unix:///run/redis/redis.sock");
  zero.ttl = zero.reconnect_for = std::chrono::milliseconds(0);  // these two mean something
  CHECK_NOTHROW(quorum::redis_store{zero});
}

TEST_CASE("wait_for(h, 0s) reads the decision back even when the pooled connection went stale" *
          doctest::timeout(60)) {
  // A server that closes idle connections (its `timeout` setting, a restart, CLIENT KILL)
  // leaves the store's pooled connections dead. A call must then reconnect, not report the
  // server as unreachable: it answers at once on a new connection. wait_for(h, 0s), the way a
  // restarted coordinator reads a decision back (docs/redis.md), has a deadline already
  // reached, and must still make that one fresh attempt.
  quorum_test::redis_server server;
  quorum::redis_store store(at(server));
  admin redis(server.socket_path());
  auto h = store.open(spec("stale-pool", 2, quorum::at_least(1)));
  REQUIRE(store.record(h, 0, outcome::success).decided_now);  // leaves a pooled connection

  CHECK(redis({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}) != "0");
  std::optional<decision> d;
  CHECK_NOTHROW(d = store.wait_for(h, 0s));
  CHECK(d == decision::quorum_met);

  // The same with a deadline in the past, and an undecided execution: nothing, no error.
  auto u = store.open(spec("stale-pool-undecided", 2, quorum::at_least(2)));
  CHECK(redis({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}) != "0");
  std::optional<decision> none = decision::cancelled;
  CHECK_NOTHROW(none = store.wait_until(u, std::chrono::steady_clock::now() - 1s));
  CHECK_FALSE(none);
}

TEST_CASE("wait_for with a duration of max() waits for ever, not until a wrapped-around deadline" *
          doctest::timeout(60)) {
  // execution::wait_for's convention (quorum::detail::saturating_add): nanoseconds::max() or
  // hours::max() means for ever. Added to now() unchecked, it wraps into the past (or is
  // undefined), and the wait ends at once without a decision.
  quorum_test::redis_server server;
  quorum::redis_store store(at(server));
  admin redis(server.socket_path());
  auto blocked = [&] {
    auto info = redis({"INFO", "clients"});
    auto at = info.find("blocked_clients:");
    REQUIRE(at != std::string::npos);
    return std::stoul(info.substr(at + 16));
  };
  int k = 0;
  auto forever = [&](auto d) {
    CAPTURE(k);
    auto id = "forever-" + std::to_string(k++);
    auto h = store.open(spec(id, 2, quorum::at_least(1)));
    std::optional<decision> seen;
    std::atomic<bool> returned{false};
    std::jthread waiter([&] {
      seen = store.wait_for(h, d);
      returned = true;
    });
    // Until the waiter blocks in Redis (or, the bug, has already given up). Not a sleep: a
    // condition the server reports.
    while (!returned && blocked() == 0) std::this_thread::yield();
    quorum::redis_store other(at(server));
    CHECK(other.record(other.attach(id), 1, outcome::success).decided_now);
    waiter.join();
    CHECK(seen == decision::quorum_met);
  };
  forever(std::chrono::nanoseconds::max());
  forever(std::chrono::hours::max());
  forever(std::chrono::seconds::max());
}

TEST_CASE("a wait whose connection breaks blocks again only for what is left of its deadline" *
          doctest::timeout(60)) {
  // wait_until blocks in BLMOVE with the time left as the command's timeout. When that
  // connection breaks, resending the same BLMOVE would block for the whole of it again, past
  // the caller's deadline (by up to the whole wait). The second BLMOVE must ask for less.
  quorum_test::redis_server server;
  quorum::redis_store store(at(server));
  admin redis(server.socket_path());
  auto h = store.open(spec("wait-reconnect", 2, quorum::at_least(1)));

  // What the server receives, through MONITOR: the timeouts of the BLMOVEs.
  redisContext* mon = redisConnectUnix(server.socket_path().c_str());
  REQUIRE(mon != nullptr);
  REQUIRE(mon->err == 0);
  auto* ok = static_cast<redisReply*>(redisCommand(mon, "MONITOR"));
  REQUIRE(ok != nullptr);
  freeReplyObject(ok);
  auto next_blmove_timeout = [&] {
    for (;;) {
      void* r = nullptr;
      REQUIRE(redisGetReply(mon, &r) == REDIS_OK);
      std::string line(static_cast<redisReply*>(r)->str, static_cast<redisReply*>(r)->len);
      freeReplyObject(r);
      if (line.find("\"BLMOVE\"") == std::string::npos) continue;
      auto last = line.rfind('"', line.size() - 2);
      return std::stod(line.substr(last + 1, line.size() - last - 2));
    }
  };

  std::optional<decision> seen;
  std::jthread waiter([&] { seen = store.wait_for(h, 1h); });
  const double first = next_blmove_timeout();
  // Let a few milliseconds of the wait pass (not a synchronisation: the time left must
  // visibly shrink), then break the waiter's connection: the blocked client running BLMOVE.
  const auto seen_at = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < seen_at + 5ms) std::this_thread::yield();
  std::string id;
  while (id.empty()) {  // the client list shows it blocked once the server processed it
    std::istringstream clients(redis({"CLIENT", "LIST", "TYPE", "normal"}));
    for (std::string line; std::getline(clients, line);)
      if (line.find(" cmd=blmove ") != std::string::npos)
        id = line.substr(3, line.find(' ') - 3);  // "id=<n> ..."
  }
  CHECK(redis({"CLIENT", "KILL", "ID", id}) == "1");
  const double second = next_blmove_timeout();
  CHECK(second < first);

  quorum::redis_store other(at(server));
  CHECK(other.record(other.attach("wait-reconnect"), 0, outcome::success).decided_now);
  waiter.join();
  CHECK(seen == decision::quorum_met);
  redisFree(mon);
}

TEST_CASE("a server busy when the store first loads its functions is retried, not refused" *
          doctest::timeout(60)) {
  // docs/redis.md: LOADING (a server reading its AOF after a restart) and BUSY are retried
  // like a lost connection. The first connection of a store loads the function library; a
  // busy or loading server answering that FUNCTION LOAD is the same passing state, not a
  // server without Redis 7 functions.
  quorum_test::redis_server server;
  admin redis(server.socket_path());
  REQUIRE(redis({"CONFIG", "SET", "busy-reply-threshold", "10"}) == "OK");
  std::jthread script([&] {  // runs until SCRIPT KILL
    admin busy(server.socket_path());
    busy({"EVAL", "while true do end", "0"});
  });
  while (redis({"PING"}).rfind("BUSY", 0) != 0) std::this_thread::yield();  // busy now

  auto o = at(server);
  o.reconnect_for = 50ms;
  quorum::redis_store store(o);  // never connected: its first connection loads the library
  CHECK_THROWS_WITH_AS(store.ping(), doctest::Contains("no usable answer"), quorum::redis_error);

  CHECK(redis({"SCRIPT", "KILL"}) == "OK");
  script.join();
  CHECK_NOTHROW(store.ping());
  auto h = store.open(spec("after-busy", 1, quorum::at_least(1)));
  CHECK(store.record(h, 0, outcome::success).decided_now);
}
