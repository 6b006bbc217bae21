# SPDX-License-Identifier: GPL-3.0-or-later
"""Points indexed on H3 cells per second per core: the vectorised path against an h3-py loop.

Measures, in one run and on the same random points in and around West Yorkshire:

* ``cells.points_to_cells`` (validation + the h3ronpy binding) at 10k, 100k, 1M and 5M points;
* two straightforward baselines, on a smaller sample and extrapolated per point (a loop's
  rate does not depend on the size): the naive h3-py loop most code writes,
  ``h3.str_to_int(h3.latlng_to_cell(lat, lng, res))`` per point, and the loop fallback in
  ``cells._points_to_cells`` used when h3ronpy is missing (h3's integer API);
* ``cells.cells_to_parents`` (bit arithmetic) from resolution 10 to 9 and to 7.

By default the process is pinned to one core (``os.sched_setaffinity``) and the Rust thread
pool is limited to one thread, so the figures are per core; rates are points per CPU-second
of the process (so other work on a shared machine does not count against them), with the
wall-clock rate shown beside. Target (issue 2): at least
1,000,000 points per second per core.

Usage::

    .venv/bin/python benchmarks/bench_cells.py --json out/benchmarks/bench_cells.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

TARGET = 1_000_000


def _pin_to_one_core() -> int | None:
    """Pin this process to the first core it may run on; return that core (None if impossible)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def _best(fn, repeat: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of the best of ``repeat`` calls.

    The per-core rate is taken over the process's CPU time: on a shared machine the wall time
    also counts the time the core spent on other processes, the CPU time does not. With one
    core and one thread the two are equal on an idle machine; both are reported.
    """
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        best = min(best, (time.process_time() - c0, time.perf_counter() - t0))
    return best


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000,5000000",
                        help="comma-separated numbers of points (default: %(default)s)")
    parser.add_argument("--baseline-sample", type=int, default=20_000,
                        help="points for the h3-py loop baseline (default: %(default)s)")
    parser.add_argument("--res", type=int, default=10, help="H3 resolution (default: 10)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed repeats per size; the best is kept (default: 3)")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not pin to one core (figures are then not per core)")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    core = None
    if not args.no_pin:
        os.environ["RAYON_NUM_THREADS"] = "1"  # before h3ronpy starts its thread pool
        core = _pin_to_one_core()

    import h3
    import h3ronpy
    import numpy as np

    from spatial_core.geo import cells

    if cells._h3v is None:
        print("h3ronpy is not importable: the vectorised path would be the loop", file=sys.stderr)
        return 1

    rng = np.random.default_rng(20170701)
    n_max = max(sizes + [args.baseline_sample])
    # West Yorkshire and a margin around it, where the force's points are.
    lat_all = rng.uniform(53.5, 54.0, n_max)
    lng_all = rng.uniform(-2.2, -1.2, n_max)

    print(f"H3 points_to_cells at resolution {args.res}; "
          + (f"pinned to core {core} (per-core figures)" if core is not None
             else "NOT pinned (all cores)"))
    print(f"CPU: {_cpu_model()}; Python {platform.python_version()}, numpy {np.__version__}, "
          f"h3 {h3.__version__}, h3ronpy {h3ronpy.__version__}")

    # Baseline: the h3-py loop, measured once on a sample.
    bn = args.baseline_sample
    blat, blng = lat_all[:bn], lng_all[:bn]
    saved = cells._h3v
    try:
        cells._h3v = None
        base_s, _ = _best(lambda: cells.points_to_cells(blat, blng, args.res), max(1, args.repeat))
        base_cells = cells.points_to_cells(blat, blng, args.res)
    finally:
        cells._h3v = saved
    base_rate = bn / base_s
    if not np.array_equal(base_cells, cells.points_to_cells(blat, blng, args.res)):
        print("the vectorised and loop paths disagree", file=sys.stderr)
        return 1

    def naive(lat, lng, res):
        return np.array([h3.str_to_int(h3.latlng_to_cell(a, b, res))
                         for a, b in zip(lat, lng, strict=True)], dtype="int64")

    naive_s, _ = _best(lambda: naive(blat, blng, args.res), max(1, args.repeat))
    naive_rate = bn / naive_s
    if not np.array_equal(naive(blat, blng, args.res), base_cells):
        print("the naive loop and the fallback disagree", file=sys.stderr)
        return 1

    rows = []
    for n in sizes:
        lat, lng = lat_all[:n], lng_all[:n]
        cells.points_to_cells(lat[:1000], lng[:1000], args.res)  # warm up
        repeat = args.repeat if n <= 1_000_000 else max(1, min(args.repeat, 2))
        secs, wall = _best(lambda lat=lat, lng=lng: cells.points_to_cells(lat, lng, args.res),
                           repeat)
        rate = n / secs
        rows.append({"points": n, "cpu_seconds": secs, "wall_seconds": wall,
                     "points_per_second": rate, "points_per_wall_second": n / wall,
                     "fallback_loop_points_per_second": base_rate,
                     "naive_loop_points_per_second": naive_rate,
                     "naive_loop_extrapolated_seconds": n / naive_rate,
                     "speedup_vs_fallback_loop": rate / base_rate,
                     "speedup_vs_naive_loop": rate / naive_rate,
                     "meets_target": rate >= TARGET})

    # Parents: from the largest size's cells (at most 1M, so memory stays small).
    pn = min(max(sizes), 1_000_000)
    c = cells.points_to_cells(lat_all[:pn], lng_all[:pn], args.res)
    parents = {}
    for pres in (args.res - 1, 7):
        if 0 <= pres < args.res:
            secs, wall = _best(lambda pres=pres: cells.cells_to_parents(c, pres), args.repeat)
            parents[str(pres)] = {"cells": pn, "cpu_seconds": secs, "wall_seconds": wall,
                                  "cells_per_second": pn / secs}

    print()
    print("rates are points per CPU-second of this one-core process (wall-clock rate in brackets)")
    print(f"{'points':>10}  {'vectorised':>12}  {'(wall)':>12}  {'fallback loop':>13}  "
          f"{'naive loop':>12}  {'naive time':>10}  {'x fallback':>10}  {'x naive':>7}  >= 1M/s")
    print(f"{'':>10}  {'pts/s':>12}  {'':>12}  {'pts/s':>13}  {'pts/s':>12}  {'(extrap.)':>10}")
    for r in rows:
        print(f"{r['points']:>10,}  {r['points_per_second']:>12,.0f}  "
              f"{'(' + format(r['points_per_wall_second'], ',.0f') + ')':>12}  "
              f"{r['fallback_loop_points_per_second']:>13,.0f}  "
              f"{r['naive_loop_points_per_second']:>12,.0f}  "
              f"{r['naive_loop_extrapolated_seconds']:>9.2f}s  "
              f"{r['speedup_vs_fallback_loop']:>9.1f}x  {r['speedup_vs_naive_loop']:>6.1f}x  "
              f"{'yes' if r['meets_target'] else 'NO'}")
    print(f"(loops measured on {bn:,} points: fallback {base_s:.3f} s, naive {naive_s:.3f} s "
          "CPU)")
    for pres, p in parents.items():
        print(f"cells_to_parents {args.res} -> {pres}: {p['cells_per_second']:,.0f} cells/s "
              f"({p['cells']:,} cells in {p['cpu_seconds'] * 1000:.1f} ms CPU)")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        result = {
            "benchmark": "bench_cells",
            "command": "benchmarks/bench_cells.py " + " ".join(argv if argv is not None
                                                               else sys.argv[1:]),
            "pinned_core": core,
            "resolution": args.res,
            "cpu": _cpu_model(),
            "versions": {"python": platform.python_version(), "numpy": np.__version__,
                         "h3": h3.__version__, "h3ronpy": h3ronpy.__version__},
            "target_points_per_second_per_core": TARGET,
            "rates": "per CPU-second of a process pinned to one core, best of the repeats",
            "fallback_loop": {"points": bn, "cpu_seconds": base_s,
                              "points_per_second": base_rate},
            "naive_loop": {"points": bn, "cpu_seconds": naive_s, "points_per_second": naive_rate},
            "points_to_cells": rows,
            "cells_to_parents": parents,
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
