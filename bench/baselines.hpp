// bench/baselines.hpp — what quorum is measured against, and the branches every variant runs.
//
// handrolled: what a competent engineer writes by hand for "K of N on a pool": a 2-thread
// pool with a mutex + condition-variable queue of std::function, one packed atomic counter
// (successes low 32 bits, failures high 32 bits), atomic::wait for the decision, a
// std::stop_source for the stragglers, and a wait for every task at the end.
//
// asio_group: asio::experimental::make_parallel_group on asio::thread_pool(2) with a K-of-N
// cancellation condition (Asio 1.22: the variadic form only, so N ops are a pack).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

#if QUORUM_BENCH_HAVE_ASIO
#include <asio/associated_cancellation_slot.hpp>
#include <asio/async_result.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#endif

namespace bench {

using clock_type = std::chrono::steady_clock;

[[nodiscard]] inline std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
      .count();
}

// A trivial branch: succeeds at once with a value.
inline int trivial() { return 1; }

// A straggler: blocks until its stop token is requested (as a well-behaved branch would).
inline int straggler(std::stop_token st) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lk(m);
  cv.wait(lk, st, [] { return false; });
  return 0;
}

// The timestamp taken just before the K-th success is counted: every succeeding branch of the
// DecisionLatency case stamps when it is about to report; the latest stamp is the K-th.
struct latest_stamp {
  std::atomic<std::int64_t> ns{0};
  void stamp() noexcept {
    const std::int64_t t = now_ns();
    std::int64_t seen = ns.load(std::memory_order_relaxed);
    while (seen < t && !ns.compare_exchange_weak(seen, t, std::memory_order_relaxed)) {
    }
  }
};

// ---- the hand-rolled pool ---------------------------------------------------------------

class handrolled_pool {
 public:
  explicit handrolled_pool(std::size_t threads = 2) {
    for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
  }
  handrolled_pool(const handrolled_pool&) = delete;
  handrolled_pool& operator=(const handrolled_pool&) = delete;
  ~handrolled_pool() {
    {
      std::lock_guard lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    threads_.clear();
  }

  void submit(std::function<void()> f) {
    {
      std::lock_guard lk(m_);
      q_.push_back(std::move(f));
    }
    cv_.notify_one();
  }

 private:
  void work() {
    std::unique_lock lk(m_);
    for (;;) {
      cv_.wait(lk, [&] { return stop_ || !q_.empty(); });
      if (q_.empty()) return;
      auto f = std::move(q_.front());
      q_.pop_front();
      lk.unlock();
      f();
      lk.lock();
    }
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> q_;
  bool stop_ = false;
  std::vector<std::jthread> threads_;
};

// One hand-rolled K-of-N execution in flight.
class handrolled_execution {
 public:
  enum : std::uint32_t { undecided = 0, met = 1, unreachable = 2 };

  // branches[i](stop_token) -> int; a throw is a failure.
  template <class Fs>
  handrolled_execution(handrolled_pool& pool, const Fs& branches, std::size_t k)
      : sh_(std::make_shared<shared>(branches.size(), k)) {
    for (std::size_t i = 0; i < branches.size(); ++i)
      pool.submit([sh = sh_, f = branches[i]] {
        if (!sh->stop.stop_requested()) {
          bool ok = true;
          try {
            (void)f(sh->stop.get_token());
          } catch (...) {
            ok = false;
          }
          sh->count(ok);
        }
        if (sh->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) sh->remaining.notify_all();
      });
  }

  // Block until the decision.
  std::uint32_t wait_decided() {
    sh_->decided.wait(undecided, std::memory_order_acquire);
    return sh_->decided.load(std::memory_order_acquire);
  }

  // Block until every task ended.
  void wait_all() {
    for (auto r = sh_->remaining.load(std::memory_order_acquire); r != 0;
         r = sh_->remaining.load(std::memory_order_acquire))
      sh_->remaining.wait(r, std::memory_order_acquire);
  }

 private:
  struct shared {
    shared(std::size_t branches, std::size_t k)
        : n(branches), k(k), remaining(static_cast<int>(branches)) {}
    void count(bool ok) {
      const std::uint64_t inc = ok ? 1u : std::uint64_t{1} << 32;
      const std::uint64_t w = counter.fetch_add(inc, std::memory_order_acq_rel) + inc;
      const std::uint64_t s = w & 0xffffffffu, f = w >> 32;
      // exactly one fetch_add crosses each threshold, and both cannot be crossed
      if ((ok && s == k) || (!ok && f == n - k + 1)) {
        decided.store(ok ? met : unreachable, std::memory_order_release);
        decided.notify_all();
        stop.request_stop();
      }
    }
    const std::size_t n, k;
    std::atomic<std::uint64_t> counter{0};
    std::atomic<std::uint32_t> decided{undecided};
    std::atomic<int> remaining;
    std::stop_source stop;
  };
  std::shared_ptr<shared> sh_;
};

// ---- Asio's parallel_group --------------------------------------------------------------

#if QUORUM_BENCH_HAVE_ASIO

// An async op that runs f() on the pool and completes with (error_code): success unless f
// throws.
template <class F>
auto asio_branch(asio::thread_pool& pool, F f) {
  return [&pool, f](auto token) {
    return asio::async_initiate<decltype(token), void(std::error_code)>(
        [&pool, f](auto handler) {
          asio::post(pool, [f, h = std::move(handler)]() mutable {
            std::error_code ec;
            try {
              (void)f();
            } catch (...) {
              ec = std::make_error_code(std::errc::io_error);
            }
            std::move(h)(ec);
          });
        },
        token);
  };
}

// An async op that completes only when the group cancels it (a straggler): a timer that never
// expires on its own.
inline auto asio_straggler(asio::thread_pool& pool) {
  return [&pool](auto token) {
    return asio::async_initiate<decltype(token), void(std::error_code)>(
        [&pool](auto handler) {
          auto t =
              std::make_shared<asio::steady_timer>(pool, asio::steady_timer::time_point::max());
          auto slot = asio::get_associated_cancellation_slot(handler);
          t->async_wait(asio::bind_cancellation_slot(
              slot, [t, h = std::move(handler)](std::error_code ec) mutable { std::move(h)(ec); }));
        },
        token);
  };
}

// K of N: cancel the rest once K succeeded or N-K+1 failed. Completions may run on both pool
// threads at once, so the counts are atomic.
struct asio_k_of_n {
  std::size_t n, k;
  std::shared_ptr<std::atomic<std::uint64_t>> counts =
      std::make_shared<std::atomic<std::uint64_t>>(0);
  asio::cancellation_type_t operator()(std::error_code ec) const {
    const std::uint64_t inc = ec ? std::uint64_t{1} << 32 : 1u;
    const std::uint64_t w = counts->fetch_add(inc, std::memory_order_acq_rel) + inc;
    const std::uint64_t s = w & 0xffffffffu, f = w >> 32;
    return s >= k || f > n - k ? asio::cancellation_type::all : asio::cancellation_type::none;
  }
};

#endif

}  // namespace bench
