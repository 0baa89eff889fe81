// examples/custom_store.cpp — a store of your own: an append-only log file.
//
// A store decides in the same atomic step as the record that settles it (quorum::store). This
// one counts under a mutex and logs each step to a file; the inline_executor keeps the log stable.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <quorum/quorum.hpp>
#include <quorum/store_check.hpp>
#include <random>
#include <stdexcept>

class log_store {
  struct entry {
    quorum::rule rule;               // the resolved policy: votes per branch and the threshold
    quorum::execution_record rec{};  // what snapshot() returns
    std::uint64_t yes = 0, no = 0;   // votes of the successes, of the failures
    quorum::tally sum{};             // successes, failures and the decision so far
  };
  using enum quorum::decision;

 public:
  using handle = entry*;
  explicit log_store(const std::filesystem::path& file) : log_(file, std::ios::app) {}

  handle open(const quorum::execution_spec& s) {
    std::lock_guard lk(m_);
    auto [it, fresh] = entries_.try_emplace(s.id, entry{s.rule});
    if (!fresh) throw quorum::duplicate_execution_id("execution_id \"" + s.id + "\" is taken");
    it->second.rec = {.id = s.id, .branches = std::vector<quorum::branch_record>(s.branches)};
    return &it->second;
  }
  // Record, count and decide: one step under the lock. A replay of a branch counts nothing.
  quorum::tally record(handle h, std::size_t i, quorum::outcome o) {
    std::lock_guard lk(m_);
    auto& b = h->rec.branches.at(i);
    const bool fresh = !b.outcome, ok = o == quorum::outcome::success;
    if (fresh) {
      b.outcome = o;
      b.late = h->sum.decision.has_value();
      (ok ? h->yes : h->no) += h->rule.weight(i);
      ++(ok ? h->sum.successes : h->sum.failures);
      write(*h, "branch " + std::to_string(i) + (ok ? " ok" : " failed") + (b.late ? " late" : ""));
    }
    const bool settled = fresh && (ok ? h->rule.met(h->yes) : h->rule.unreachable(h->no));
    quorum::tally t = decide(*h, settled, ok ? quorum_met : unreachable, i);
    t.recorded_now = fresh;
    t.late = b.late;  // a replay too: whether the branch's first record came after the decision
    return t;
  }
  quorum::tally expire(handle h) { return finish(h, timed_out); }
  quorum::tally cancel(handle h) { return finish(h, cancelled); }
  quorum::execution_record snapshot(handle h) {
    std::lock_guard lk(m_);
    return h->rec;
  }
  void close(handle h) {
    const std::string id = h->rec.id;  // a copy: the entry erase() destroys holds h->rec.id
    std::lock_guard lk(m_);
    entries_.erase(id);
  }

 private:
  quorum::tally decide(entry& e, bool now, quorum::decision d, std::optional<std::size_t> by) {
    now = now && !e.sum.decision;  // exactly one decision per execution
    if (now) {
      e.sum.decision = e.rec.decision = d;
      e.sum.decided_by = e.rec.decided_by = by;
      e.rec.successes_at_decision = e.sum.successes;
      e.rec.failures_at_decision = e.sum.failures;
      write(e, "decided " + std::string(quorum::to_string(d)));
    }
    quorum::tally t = e.sum;
    t.decided_now = now;
    return t;
  }
  quorum::tally finish(handle h, quorum::decision d) {
    std::lock_guard lk(m_);
    return decide(*h, true, d, std::nullopt);
  }
  void write(const entry& e, const std::string& s) { log_ << e.rec.id << ": " << s << std::endl; }
  std::mutex m_;
  std::ofstream log_;
  std::map<std::string, entry> entries_;  // a map node never moves: handles stay valid
};
static_assert(quorum::store<log_store>);  // checks the interface only, not store.hpp's promises

int main() {
  log_store scratch("/dev/null");  // store.hpp's promises, checked at run time on a scratch log
  const auto problems = quorum::check_store(scratch);
  for (const auto& p : problems) std::cerr << "log_store breaks a promise: " << p << "\n";
  if (!problems.empty()) return 1;

  auto file = std::filesystem::temp_directory_path() / "quorum-example-";
  file += std::to_string(std::random_device{}()) + ".log";
  log_store store(file);
  auto charge = [] { return 1; };
  auto decline = []() -> int { throw std::runtime_error("card declined"); };
  quorum::options opts{.quorum = 2, .execution_id = "order-1138"};
  auto r = quorum::quorum_parallel(store, quorum::inline_executor{}, opts, charge, decline, charge);
  std::cout << "decision: " << quorum::to_string(r.decision) << "\nthe store's log:\n"
            << std::ifstream(file).rdbuf();
  std::filesystem::remove(file);
}
