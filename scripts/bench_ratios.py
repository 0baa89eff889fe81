#!/usr/bin/env python3
"""Print quorum's benchmark goals as ratios of results from ONE Google Benchmark JSON file.

Usage: scripts/bench_ratios.py RESULTS.json [--markdown]

Each figure is the median of the repetitions when the run has them (aggregate "median"),
otherwise the mean of the runs of that benchmark. Names are matched without the suffixes
Google Benchmark appends (/real_time, /iterations:N, /threads:N), except that
BM_StoreContention rows keep /threads:N (they differ only by it). Those rows have no goal:
after the goal table they are printed as one more table, million records/s per store, mode
and thread count.
"""
import json
import statistics
import sys

UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
CONTENTION = "BM_StoreContention/"


def base_name(name):
    parts = [p for p in name.split("/") if p != "real_time" and ":" not in p]
    if parts and parts[0] + "/" == CONTENTION:  # one row per thread count: keep /threads:N
        parts += [p for p in name.split("/") if p.startswith("threads:")]
    return "/".join(parts)


def load(path):
    with open(path) as f:
        data = json.load(f)
    medians, runs = {}, {}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        key = base_name(b.get("run_name", b["name"]))
        scale = UNIT_NS.get(b.get("time_unit", "ns"), 1.0)
        fig = {"real_time": b.get("real_time", 0.0) * scale}
        for extra in ("decide_to_wake_ns", "items_per_second"):
            if extra in b:
                fig[extra] = b[extra]
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[key] = fig
        else:
            runs.setdefault(key, []).append(fig)
    figures = dict(medians)
    for key, rs in runs.items():
        if key not in figures:
            figures[key] = {k: statistics.mean(r[k] for r in rs) for k in rs[0]}
    return data.get("context", {}), figures


def load_errors(path):
    """The benchmarks that ran and failed (SkipWithError): {name: message}."""
    with open(path) as f:
        data = json.load(f)
    return {base_name(b.get("run_name", b["name"])): b.get("error_message", "")
            for b in data.get("benchmarks", []) if b.get("error_occurred")}


def value(figures, name, field="real_time"):
    f = figures.get(name)
    return None if f is None or field not in f else f[field]


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def rows(figures, failed=()):
    """The goals: (label, ratio or None, op, goal). failed: names of benchmarks that ran and
    failed, which count as present for a goal that exists only when its rows do."""
    v = lambda n, f="real_time": value(figures, n, f)
    bk, e2e, sr = "BM_Bookkeeping/", "BM_EndToEnd/", "BM_StoreRecord/"
    per_branch = lambda n: None if v(bk + "quorum_inline/" + str(n)) is None else v(bk + "quorum_inline/" + str(n)) / n
    out = []
    for n in (3, 16):
        out.append((f"Bookkeeping quorum_inline / floor_inline, N={n}",
                    ratio(v(f"{bk}quorum_inline/{n}"), v(f"{bk}floor_inline/{n}")), "<=", 3.0))
    for peer, label in (("handrolled_pool", "handrolled_pool"), ("asio_group", "asio_group")):
        for nk in ("3/2", "16/9"):
            out.append((f"EndToEnd quorum_pool / {label}, {nk}",
                        ratio(v(f"{e2e}quorum_pool/{nk}"), v(f"{e2e}{peer}/{nk}")), "<=", 0.8))
    out.append(("DecisionLatency quorum_pool / handrolled_pool (decide_to_wake_ns)",
                ratio(v("BM_DecisionLatency/quorum_pool/16/2", "decide_to_wake_ns"),
                      v("BM_DecisionLatency/handrolled_pool/16/2", "decide_to_wake_ns")), "<=", 1.1))
    out.append(("StoreRecord atomic / fetch_or_floor",
                ratio(v(sr + "atomic"), v(sr + "fetch_or_floor")), "<=", 3.0))
    out.append(("StoreRecord memory / naive_map", ratio(v(sr + "memory"), v(sr + "naive_map")), "<=", 0.25))
    out.append(("StoreRecord sharded / naive_map", ratio(v(sr + "sharded"), v(sr + "naive_map")), "<=", 0.25))
    out.append(("Throughput quorum_pool / handrolled_pool (executions/s)",
                ratio(v("BM_Throughput/quorum_pool", "items_per_second"),
                      v("BM_Throughput/handrolled_pool", "items_per_second")), ">=", 1.25))
    out.append(("Bookkeeping per-branch cost, N=1024 / N=64",
                ratio(per_branch(1024), per_branch(64)), "<=", 1.5))
    # bench/bench_redis.cpp is built only with hiredis at hand: without it neither row exists
    # and the goal is left out (as it is when a filter leaves out both). With one of the two
    # rows measured or failed, the goal shows, as the others do: "not measured" or failed.
    if any(n in figures or n in failed for n in (sr + "redis", "BM_RedisPing")):
        out.append(("StoreRecord redis / RedisPing (one round trip each)",
                    ratio(v(sr + "redis"), v("BM_RedisPing")), "<=", 1.5))
    return out


def informational(figures):
    v = lambda n, f="real_time": value(figures, n, f)
    bk = "BM_Bookkeeping/"
    return [
        *[(f"Bookkeeping floor_least / floor_inline, N={n} (the least a library could do)",
           ratio(v(f"{bk}floor_least/{n}"), v(f"{bk}floor_inline/{n}"))) for n in (3, 16)],
        *[(f"Bookkeeping floor_counted / floor_inline, N={n} (one atomic operation per record)",
           ratio(v(f"{bk}floor_counted/{n}"), v(f"{bk}floor_inline/{n}"))) for n in (3, 16)],
        *[(f"Bookkeeping floor_least_counted / floor_inline, N={n} (the least, safe from two threads)",
           ratio(v(f"{bk}floor_least_counted/{n}"), v(f"{bk}floor_inline/{n}"))) for n in (3, 16)],
        *[(f"Bookkeeping floor_result_fixed / floor_inline, N={n} (the fixed fields alone)",
           ratio(v(f"{bk}floor_result_fixed/{n}"), v(f"{bk}floor_inline/{n}"))) for n in (3, 16)],
        *[(f"Bookkeeping floor_result_bare / floor_inline, N={n} (fixed fields in branch_result)",
           ratio(v(f"{bk}floor_result_bare/{n}"), v(f"{bk}floor_inline/{n}"))) for n in (3, 16)],
        *[(f"Bookkeeping floor_result / floor_inline, N={n} (result<T> with names and two clock reads)",
           ratio(v(f"{bk}floor_result/{n}"), v(f"{bk}floor_inline/{n}"))) for n in (3, 16)],
        *[(f"Bookkeeping quorum_inline / floor_result, N={n} (the library's own bookkeeping)",
           ratio(v(f"{bk}quorum_inline/{n}"), v(f"{bk}floor_result/{n}"))) for n in (3, 16)],
        *[(f"Bookkeeping quorum_inline_timed / quorum_inline, N={n} (per-branch time stamps)",
           ratio(v(f"{bk}quorum_inline_timed/{n}"), v(f"{bk}quorum_inline/{n}"))) for n in (3, 16)],
        ("DecisionLatency quorum_pool / asio_group (decide_to_wake_ns)",
         ratio(v("BM_DecisionLatency/quorum_pool/16/2", "decide_to_wake_ns"),
               v("BM_DecisionLatency/asio_group/16/2", "decide_to_wake_ns"))),
        ("EndToEnd quorum_thread / handrolled_pool, 3/2",
         ratio(v("BM_EndToEnd/quorum_thread/3/2"), v("BM_EndToEnd/handrolled_pool/3/2"))),
        ("EndToEnd quorum_thread / handrolled_pool, 16/9",
         ratio(v("BM_EndToEnd/quorum_thread/16/9"), v("BM_EndToEnd/handrolled_pool/16/9"))),
        ("StoreRecord memory / naive_map_presized (a tuned map, not the goal's baseline)",
         ratio(v("BM_StoreRecord/memory"), v("BM_StoreRecord/naive_map_presized"))),
        ("StoreRecord sharded / naive_map_presized",
         ratio(v("BM_StoreRecord/sharded"), v("BM_StoreRecord/naive_map_presized"))),
    ]


def split_contention(figures):
    """(the other figures, the BM_StoreContention table): the table is
    {(store, mode): {threads: million records/s}}, rows in the order of the run."""
    others, table = {}, {}
    for key, f in figures.items():
        parts = key.split("/")
        if not key.startswith(CONTENTION) or len(parts) != 4 or not parts[3].startswith("threads:"):
            others[key] = f
        elif "items_per_second" in f:
            table.setdefault((parts[1], parts[2]), {})[int(parts[3][len("threads:"):])] = (
                f["items_per_second"] / 1e6)
    return others, table


def print_contention(table):
    threads = sorted({t for row in table.values() for t in row})
    print("Store contention (BM_StoreContention, no goal): million records/s of all threads "
          "together;\nshared = all threads in one execution at a time, own = each thread in "
          "executions of its own,\nlifecycle = each thread opens, records and closes executions of its own")
    print()
    print("| store | mode | " + " | ".join(f"threads {t}" for t in threads) + " |")
    print("|---|---|" + "---:|" * len(threads))
    for (store, mode), row in table.items():
        cells = " | ".join("n/a" if t not in row else f"{row[t]:.1f}" for t in threads)
        print(f"| {store} | {mode} | {cells} |")


def fmt(x):
    return "n/a" if x is None else f"{x:.3g}"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    context, figures = load(sys.argv[1])
    figures, contention = split_contention(figures)
    errors = load_errors(sys.argv[1])
    table = rows(figures, errors)
    # A goal without a ratio whose family has a benchmark that failed is failed, not "not
    # measured" (a family: a benchmark's first part without BM_, e.g. StoreRecord or RedisPing,
    # named as a word of the goal's label).
    failed_in = lambda name: sorted(k for k in errors
                                    if k.split("/")[0][len("BM_"):] in name.replace("/", " ").split())
    if all(r is None and not failed_in(name) for name, r, _, _ in table):
        # A run filtered to other rows (e.g. --benchmark_filter=BM_StoreContention): a table
        # of twelve "n/a | NO" lines would only look like twelve failures.
        print("No goal can be computed from this run (filtered?): the goal table needs the "
              "whole suite.")
    else:
        # A filtered run measures some goals only: the others say so, and are not counted as
        # failed (a user's filtered run printed nine "n/a | NO" rows and "1 of 12 goals met").
        print("| ratio | goal | measured | met |")
        print("|---|---|---|---|")
        met = 0
        measured = 0
        for name, r, op, goal in table:
            if r is None and failed_in(name):
                measured += 1
                print(f"| {name} | {op} {goal:g} | failed: {', '.join(failed_in(name))} | NO |")
                continue
            if r is None:
                print(f"| {name} | {op} {goal:g} | not measured | - |")
                continue
            measured += 1
            ok = r <= goal if op == "<=" else r >= goal
            met += ok
            print(f"| {name} | {op} {goal:g} | {fmt(r)} | {'yes' if ok else 'NO'} |")
        print()
        left = len(table) - measured
        print(f"{met} of {measured} goals met"
              + (f" ({left} not measured: the run was filtered)" if left else "")
              + f" ({context.get('num_cpus', '?')} CPUs, {context.get('date', '')}; medians when repeated)")
    print()
    if errors:
        print("Benchmarks that failed (SkipWithError):")
        for key in sorted(errors):
            print(f"  {key}: {errors[key]}")
        print()
    if contention:
        print_contention(contention)
        print()
    also = [(name, r) for name, r in informational(figures)]
    if any(r is not None for _, r in also):
        print("Also measured (no goal):")
        for name, r in also:
            print(f"  {name}: {fmt(r)}")
        print()
    print("Medians (ns; decide_to_wake_ns for DecisionLatency, executions/s for Throughput):")
    for key in sorted(figures):
        f = figures[key]
        extra = "".join(f"  {k}={f[k]:.4g}" for k in ("decide_to_wake_ns", "items_per_second") if k in f)
        print(f"  {key:48s} {f['real_time']:12.1f}{extra}")


if __name__ == "__main__":
    main()
