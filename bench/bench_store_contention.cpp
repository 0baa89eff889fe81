// BM_StoreContention/{memory,sharded,atomic,naive_map}/{shared,own,lifecycle}/.../threads:T
//
// How each store scales with threads, for comparing backends (no goal: scripts/bench_ratios.py
// prints a table of million records/s per store, mode and thread count after its goal table).
// Executions of N = 16 branches (K = 9); every record is a first record (never a replay).
//   shared:    all T threads record into one shared execution at a time, BM_StoreRecord's
//              case for any T: thread t records branches t, t+T, ... of execution e, then
//              moves to e + 1 (so T divides 16)
//   own:       each thread records all 16 branches of executions of its own, one after
//              another; no two threads touch one execution. Only record() is timed, and it
//              reaches the execution through its handle: memory_store and sharded_store take
//              the execution's own lock there, not the map's, so they should not differ
//              (naive_map looks every record up in its one map under its one mutex)
//   lifecycle: each thread runs whole executions of its own: open, 16 records, close. Open and
//              close go through the store's id map, memory_store's one lock or sharded_store's
//              lock per shard: the case sharded_store is for (many short executions at once)
// T = 1, 2, 4, ... up to std::thread::hardware_concurrency() (at least 2, at most 16); Google
// Benchmark appends /threads:T. 2^20 records per thread, as BM_StoreRecord and for the same
// reason (the threads overlap for most of the run). In shared and own, thread 0 opens the
// run's executions before the timed loop and closes them after it.
// items_per_second counts the records of all threads together. At T = 1 shared and own are the
// same work (one thread, all 16 branches of each execution in turn): their difference is noise.
//
// Your own store: a default-constructible type modelling quorum::store gets the same rows
// (BM_StoreContention/mine/{shared,own,lifecycle}/...) from one line in the list below,
//     bench::register_contention<my_store>("mine");
// or from that call at static initialisation in a bench/*.cpp of your own that includes
// "store_bench.hpp" (the body, bench::BM_contention, is there). The same file may call
// bench::register_store_record<my_store>("mine") for a BM_StoreRecord/mine row.
#include <quorum/quorum.hpp>

#include "store_bench.hpp"

namespace {

const auto registered = [] {
  bench::register_contention<quorum::memory_store>("memory");
  bench::register_contention<quorum::sharded_store>("sharded");
  bench::register_contention<quorum::atomic_store>("atomic");
  bench::register_contention<bench::naive_map_store<false>>("naive_map");
  return true;
}();

}  // namespace
