#!/usr/bin/env python3
"""Draw quorum's benchmark goals (measured ratio vs goal) as a PNG with gnuplot.

Usage: scripts/plot_bench.py RESULTS.json OUT.png
Needs gnuplot (Debian: gnuplot-nox). Reads the same JSON as scripts/bench_ratios.py.
"""
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_ratios  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    _, figures = bench_ratios.load(sys.argv[1])
    table = [(n, r, op, g) for n, r, op, g in bench_ratios.rows(figures) if r is not None]
    if not table:
        print("plot_bench: no ratio can be computed from this run; no plot")
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "ratios.dat")
        with open(data, "w") as f:
            for i, (name, r, op, goal) in enumerate(table):
                ok = r <= goal if op == "<=" else r >= goal
                label = name.replace('"', "'")
                f.write(f'{i} {r} {goal} {1 if ok else 0} "{label} ({op} {goal:g})"\n')
        # Each row's label goes right of its bar or its goal dot, whichever ends further right,
        # so it says what it is: next to a goal dot a bare number read as the goal.
        # The axis starts at the power of ten below the smallest ratio (0.01 at the most), so
        # that every bar shows: a ratio under 0.01 drew no bar at all.
        positive = [r for _, r, _, _ in table if r > 0]
        lo = min([0.01] + [10 ** math.floor(math.log10(min(positive)))] if positive else [0.01])
        script = f"""
set terminal pngcairo size 1400,{120 + 46 * len(table)} font "Sans,11" noenhanced
set output "{sys.argv[2]}"
set title "quorum benchmark ratios (one run; green = goal met, red = not met; black dot = goal)"
set logscale x 10
set xrange [{lo}:{10 ** (len(str(int(max(max(r, g) for _, r, _, g in table) * 10))))}]
set xlabel "ratio (log scale)"
set yrange [{len(table) - 0.3}:-0.7]
set ytics ()
set grid xtics
set style fill solid 0.8 noborder
unset key
set lmargin 70
plot "{data}" using (sqrt($2*{lo})):1:({lo}):2:($1-0.35):($1+0.35):($4 > 0 ? 0x2ca02c : 0xd62728):ytic(5) \\
       with boxxyerror lc rgb variable, \\
     "{data}" using 3:1 with points pt 7 ps 1.5 lc rgb "black", \\
     "{data}" using (($2 > $3 ? $2 : $3) * 1.25):1:(sprintf("measured %.3g", $2)) with labels left
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print(f"wrote {sys.argv[2]}")


if __name__ == "__main__":
    main()
