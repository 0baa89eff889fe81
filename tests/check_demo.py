#!/usr/bin/env python3
"""End-to-end check of examples/seed_workflow (registered in CTest as example.seed_workflow_check).

For many seeds and settings it runs
    seed_workflow --seed S --time-scale 0.01 --json a.json --svg a.svg --trace a.trace.json ...
and checks that
  * the JSON record (stdout and --json) agrees with its decision:
      quorum_met  => at least K successful processes, timeout_occurred false
      timed_out   => timeout_occurred true, fewer than K successes, at most N-K failures
      unreachable => more than N-K failed processes, timeout_occurred false
    no process is listed twice, and decided_by names a process unless the run timed out;
  * the SVG parses as XML (an <svg> root naming every process);
  * the trace parses as JSON with a track for every process and its attempts;
  * the draws are the same for the same seed;
  * bad flags exit with status 2 and a message; --help exits 0.
Usage: check_demo.py PATH/TO/seed_workflow
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.dom.minidom

failures = []


def fail(what):
    failures.append(what)
    print("FAIL:", what, file=sys.stderr)


def run(binary, args, cwd):
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def check_record(label, rec, k, n):
    ok = rec.get("successful_processes", [])
    bad = rec.get("failed_processes", [])
    late = rec.get("late_processes", [])
    decision = rec.get("decision")
    timeout = rec.get("timeout_occurred")
    names = [b["name"] for b in rec.get("branches", [])]
    if len(names) != n:
        fail(f"{label}: {len(names)} branches, expected {n}")
    for listed in (ok, bad, late):
        if len(set(listed)) != len(listed):
            fail(f"{label}: a process is listed twice: {listed}")
        if not set(listed) <= set(names):
            fail(f"{label}: unknown process in {listed}")
    if set(ok) & set(bad) or (set(ok) | set(bad)) & set(late):
        fail(f"{label}: a process is in two lists: {ok} {bad} {late}")
    if decision == "quorum_met":
        if len(ok) < k or timeout is not False:
            fail(f"{label}: quorum_met with {len(ok)} < {k} successes or timeout_occurred={timeout}")
    elif decision == "timed_out":
        if timeout is not True or len(ok) >= k or len(bad) > n - k:
            fail(f"{label}: timed_out but timeout_occurred={timeout}, {len(ok)} ok, {len(bad)} failed")
    elif decision == "unreachable":
        if len(bad) <= n - k or timeout is not False:
            fail(f"{label}: unreachable with only {len(bad)} failures (N-K = {n - k}) "
                 f"or timeout_occurred={timeout}")
    else:
        fail(f"{label}: unexpected decision {decision!r}")
    if (rec.get("decided_by") is None) != (decision == "timed_out"):
        fail(f"{label}: decided_by {rec.get('decided_by')!r} with decision {decision}")
    for b in rec.get("branches", []):
        if b["status"] == "succeeded" and not b["late"] and b["name"] not in ok:
            fail(f"{label}: {b['name']} succeeded but is not in successful_processes")
    return decision


def check_svg(label, path, rec):
    try:
        doc = xml.dom.minidom.parse(path)
    except Exception as e:  # any parse error is a failure
        fail(f"{label}: SVG does not parse as XML: {e}")
        return
    root = doc.documentElement
    if root.tagName != "svg" or root.getAttribute("xmlns") != "http://www.w3.org/2000/svg":
        fail(f"{label}: SVG root is <{root.tagName}>")
    texts = " ".join(t.firstChild.data for t in doc.getElementsByTagName("text") if t.firstChild)
    for b in rec["branches"]:
        if b["name"] not in texts:
            fail(f"{label}: SVG does not name {b['name']}")


def check_trace(label, path, rec):
    try:
        with open(path, encoding="utf-8") as f:
            trace = json.load(f)
    except Exception as e:
        fail(f"{label}: trace does not parse as JSON: {e}")
        return
    events = trace.get("traceEvents")
    if not isinstance(events, list) or not events:
        fail(f"{label}: no traceEvents")
        return
    tracks = {e["args"]["name"]: e["tid"] for e in events
              if e.get("ph") == "M" and e.get("name") == "thread_name"}
    for b in rec["branches"]:
        tid = tracks.get(b["name"])
        if tid is None:
            fail(f"{label}: no track for {b['name']}")
            continue
        attempts = [e for e in events if e.get("tid") == tid and e.get("cat") == "attempt"]
        if len(attempts) != b["attempts"]:
            fail(f"{label}: {b['name']} made {b['attempts']} attempts, the trace shows {len(attempts)}")
    if not any(e.get("name") == "deadline" and e.get("ph") == "i" for e in events):
        fail(f"{label}: no deadline instant event")
    if not any(e.get("cat") == "decision" and e.get("ph") == "i" for e in events):
        fail(f"{label}: no decision instant event")


def draws(rec):
    """What each process drew on its first attempt, where the record shows it."""
    out = {}
    for b in rec["branches"]:
        if b["late"] or b["attempts"] != 1:
            continue
        if b["status"] == "succeeded":
            out[b["name"]] = b["value"]
        elif b["status"] == "failed" and b["error"].startswith("drew"):
            out[b["name"]] = int(b["error"].split()[1].rstrip(":"))
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    # (flags, K, N); each runs for every seed given with it.
    plans = [
        ([], 2, 3, range(1, 31)),
        (["--transient-rate", "0.4"], 2, 3, range(1, 16)),
        (["--quorum", "3", "--processes", "5", "--transient-rate", "0.2"], 3, 5, range(1, 11)),
        (["--quorum", "1"], 1, 3, range(1, 6)),
        (["--timeout", "0.5"], 2, 3, range(1, 11)),  # nothing finishes in time: timed_out or unreachable
    ]
    seen = {}
    runs = 0
    with tempfile.TemporaryDirectory() as tmp:
        first_draws = {}
        for flags, k, n, seeds in plans:
            for seed in seeds:
                label = f"seed {seed} {' '.join(flags)}".strip()
                args = ["--seed", str(seed), "--time-scale", "0.01", "--json", "a.json",
                        "--svg", "a.svg", "--trace", "a.trace.json", *flags]
                p = run(binary, args, tmp)
                runs += 1
                if p.returncode != 0:
                    fail(f"{label}: exit {p.returncode}: {p.stderr.strip()}")
                    continue
                try:
                    rec = json.loads(p.stdout)
                    with open(os.path.join(tmp, "a.json"), encoding="utf-8") as f:
                        file_rec = json.load(f)
                except ValueError as e:
                    fail(f"{label}: the JSON record does not parse: {e}")
                    continue
                if rec != file_rec:
                    fail(f"{label}: stdout and --json differ")
                if f"--seed {seed}" not in p.stderr:
                    fail(f"{label}: the seed is not printed on stderr")
                decision = check_record(label, rec, k, n)
                seen[decision] = seen.get(decision, 0) + 1
                check_svg(label, os.path.join(tmp, "a.svg"), rec)
                check_trace(label, os.path.join(tmp, "a.trace.json"), rec)
                # The same seed draws the same numbers (where both runs show the first draw).
                key = (seed, n)
                d = draws(rec)
                if key in first_draws:
                    for name, v in d.items():
                        if name in first_draws[key] and first_draws[key][name] != v:
                            fail(f"{label}: {name} drew {v}, but {first_draws[key][name]} before")
                else:
                    first_draws[key] = d

        # Every decision shows up (seed 1 meets the quorum, seed 4 cannot, and with a 0.5 s
        # deadline seed 1 times out: the draws are fixed by the seed).
        for decision in ("quorum_met", "unreachable", "timed_out"):
            if decision not in seen:
                fail(f"no run decided {decision}: {seen}")

        for bad in (["--bogus"], ["--quorum"], ["--quorum", "x"], ["--quorum", "4"],
                    ["--quorum", "0"], ["--processes", "0"], ["--time-scale", "-1"],
                    ["--transient-rate", "2"], ["--seed", "-5"], ["--timeout", "nan"],
                    ["--json", os.path.join(tmp, "no", "such", "dir", "a.json")]):
            p = run(binary, bad, tmp)
            if p.returncode != 2 or "seed_workflow:" not in p.stderr or p.stdout:
                fail(f"bad flags {bad}: exit {p.returncode}, stderr {p.stderr.strip()!r}")
        p = run(binary, ["--help"], tmp)
        if p.returncode != 0 or "--transient-rate" not in p.stdout:
            fail(f"--help: exit {p.returncode}")

    print(f"check_demo: {runs} runs, decisions {seen}, "
          f"{'all checks held' if not failures else str(len(failures)) + ' checks failed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
