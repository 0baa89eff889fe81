// examples/asio_service.cpp — quorum reads inside an Asio service, on the service's own pool.
//
// A service runs its request handlers on an asio::thread_pool. Each handler reads a key from
// three replicas and answers once two agree on having it (K = 2), taking the newest version
// among the answers that counted. The replicas' reads run on the same pool as the handlers.
// That is the case where a plain adapter (execute() only) hangs: both workers wait in a
// handler for branches queued behind them. The adapter below also offers bulk_execute, whose
// batch lets a waiting handler run the branches no worker has taken yet, so every request is
// answered on two threads whatever the number of requests.
//
// Needs Debian's libasio-dev (standalone Asio, header-only). Under g++'s ThreadSanitizer add
// -Wno-tsan: Asio's own std::atomic_thread_fence calls draw a warning there that -Werror makes
// an error (see docs/executors.md, the last paragraph).
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <latch>
#include <memory>
#include <quorum/quorum.hpp>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

// quorum's executor on an asio::thread_pool the service owns (the pool must outlive every
// execution given this adapter).
class asio_pool_executor {
  // One bulk submission: n branches, taken in order by whichever thread comes first (a
  // worker's job or the waiting caller's run_one()).
  template <class F>
  struct branches {
    branches(std::size_t count, F fn) : n(count), f(std::move(fn)) {}
    std::atomic<std::size_t> next{0};  // relaxed: only which thread takes which index matters
    std::size_t n;
    F f;
    bool run_next() noexcept {
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n) return false;
      f(i);  // quorum's task: never throws
      return true;
    }
  };

 public:
  explicit asio_pool_executor(asio::thread_pool& pool) : pool_(&pool) {}

  // One task, copied or moved into Asio's handler queue.
  template <class F>
  void execute(F&& f) {
    asio::post(*pool_, std::forward<F>(f));
  }

  // What bulk_execute returns: quorum calls run_one() while it waits for the branches, from
  // any thread that joins the execution. Default-constructible and assignable, as required.
  template <class F>
  class batch {
   public:
    batch() = default;
    explicit batch(std::shared_ptr<branches<F>> b) : b_(std::move(b)) {}
    bool run_one() noexcept { return b_ && b_->run_next(); }

   private:
    std::shared_ptr<branches<F>> b_;
  };

  // n jobs, one per branch; each takes the next branch not yet taken. A job that finds none
  // left (the caller took it) returns at once. If a post fails after the first, the jobs
  // posted and the caller's run_one() still take every branch, so the error is not passed on.
  template <class F>
  batch<F> bulk_execute(std::size_t n, F f) {
    auto b = std::make_shared<branches<F>>(n, std::move(f));
    for (std::size_t i = 0; i < n; ++i) {
      try {
        asio::post(*pool_, [b] { b->run_next(); });
      } catch (...) {
        if (i == 0) throw;  // nothing handed out: quorum cancels and reports it
        break;
      }
    }
    return batch<F>(std::move(b));
  }

 private:
  asio::thread_pool* pool_;
};
// The adapter's mistakes show here, in one line, rather than at the call that uses it.
static_assert(quorum::executor<asio_pool_executor>);

struct versioned {
  std::string value;
  long version = 0;
};

// Replica r's copy of a key. Replica 1 lags one version behind and answers second: its reply
// is the one that makes the quorum (decided_by), and it is the stale one.
versioned read_replica(int r, const std::string& key, quorum::branch_context& ctx) {
  ctx.sleep_for(std::chrono::milliseconds(5 + 20 * r));  // ends early at the stop request
  ctx.throw_if_stop_requested();
  const long version = r == 1 ? 6 : 7;
  return {key + "@v" + std::to_string(version), version};
}

}  // namespace

int main() {
  asio::thread_pool pool(2);
  asio_pool_executor exec(pool);

  const std::vector<std::string> keys = {"alice", "bob", "carol", "dave", "erin"};
  std::vector<std::string> answers(keys.size());
  std::atomic<int> failed{0};
  std::latch done(static_cast<std::ptrdiff_t>(keys.size()));

  // Five requests on a pool of two: each handler waits for its quorum on a worker.
  for (std::size_t k = 0; k < keys.size(); ++k) {
    asio::post(pool, [&, k] {
      std::vector<std::function<versioned(quorum::branch_context&)>> reads;
      for (int r = 0; r < 3; ++r)
        reads.emplace_back([r, &key = keys[k]](quorum::branch_context& ctx) {
          return read_replica(r, key, ctx);
        });
      const auto res = quorum::quorum_parallel(exec, {.quorum = 2, .timeout = 2s}, reads);
      if (res.ok()) {
        // The newest version among the answers that counted: the reply that decided
        // (res.branches[*res.decided_by]) is only the last to arrive, here the stale one.
        const auto vals = res.values();
        answers[k] = std::max_element(vals.begin(), vals.end(), [](const auto& a, const auto& b) {
                       return a.version < b.version;
                     })->value;
      } else {
        failed.fetch_add(1);
        answers[k] = "no quorum";
      }
      done.count_down();
    });
  }
  done.wait();
  pool.join();

  for (std::size_t k = 0; k < keys.size(); ++k) std::printf("%-6s %s\n", keys[k].c_str(), answers[k].c_str());
  std::printf("%zu requests on 2 threads, %d without a quorum\n", keys.size(), failed.load());
  return failed.load() == 0 ? 0 : 1;
}
