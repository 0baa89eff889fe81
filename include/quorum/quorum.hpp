// quorum/quorum.hpp — the umbrella header: include this one.
//
//   #include <quorum/quorum.hpp>
//   using namespace std::chrono_literals;
//
//   quorum::options opts{.quorum = 2, .timeout = 15s};
//   auto r = quorum::quorum_parallel(opts,
//       [](std::stop_token st) { return write_replica("a", st); },
//       [](std::stop_token st) { return write_replica("b", st); },
//       [] { return write_replica_fast("c"); });
//   if (r.decision == quorum::decision::quorum_met) { /* two replicas have the write */ }
//   std::puts(quorum::to_json(r).c_str());
#pragma once

#include "branch_context.hpp"
#include "clock.hpp"
#include "errors.hpp"
#include "execution.hpp"
#include "executor.hpp"
#include "json.hpp"
#include "observer.hpp"
#include "options.hpp"
#include "policy.hpp"
#include "pool_executor.hpp"
#include "quorum_parallel.hpp"
#include "result.hpp"
#include "retry.hpp"
#include "store.hpp"
#include "stores/atomic.hpp"
#include "stores/memory.hpp"
#include "stores/sharded.hpp"
