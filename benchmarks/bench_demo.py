# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo force at one-force scale: generated and loaded, step by step.

Target (issue 2): about 450k households and 60k members built and loaded in under a minute.
Each step is timed in wall-clock and CPU seconds (this 2-core machine is often shared, and CPU
time is what a quiet machine would take), with the process's peak memory.

Baseline in the same run: the straightforward way to load the generated address file --
``geopandas.read_file``-free ``pandas.read_csv`` + ``GeoDataFrame.to_file`` into a
GeoPackage with pyogrio, no validation, no keys, no derived index -- to compare with our
address importer, the largest step.

Usage: ``python benchmarks/bench_demo.py [--households N] [--json PATH] [--store PATH]``
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=450_000)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--json", help="write results here")
    ap.add_argument("--keep", help="keep the store and files in this folder")
    args = ap.parse_args()

    import geopandas as gpd
    import pandas as pd

    from spatial_core import open_store
    from spatial_core.demo import generate_demo
    from spatial_core.demo.build import load_demo

    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="lpt-bench-demo-"))
    tmp.mkdir(parents=True, exist_ok=True)
    store_path = tmp / "demo.gpkg"
    if store_path.exists():
        store_path.unlink()
    results: dict = {"households": args.households, "steps": {}}

    started, cpu = time.perf_counter(), time.process_time()
    files = generate_demo(tmp / "files", households=args.households, seed=args.seed)
    results["steps"]["generate"] = {"seconds": time.perf_counter() - started,
                                    "cpu_seconds": time.process_time() - cpu}
    store = open_store(store_path)
    timings: dict = {}
    started, cpu = time.perf_counter(), time.process_time()
    reports = load_demo(store, files, timings=timings)
    load_wall, load_cpu = time.perf_counter() - started, time.process_time() - cpu
    store.close()
    results["steps"].update(timings)
    results["load"] = {"seconds": load_wall, "cpu_seconds": load_cpu}
    gen = results["steps"]["generate"]
    results["total"] = {"seconds": gen["seconds"] + load_wall,
                        "cpu_seconds": gen["cpu_seconds"] + load_cpu}
    results["members"] = reports["members"].imported
    results["streets"] = reports["streets"].read

    # Baseline: the address file the straightforward way.
    started, cpu = time.perf_counter(), time.process_time()
    df = pd.read_csv(files.addresses)
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["easting"], df["northing"]),
                           crs=27700)
    gdf.to_file(tmp / "baseline.gpkg", layer="addresses", driver="GPKG", engine="pyogrio")
    results["baseline_addresses"] = {"seconds": time.perf_counter() - started,
                                     "cpu_seconds": time.process_time() - cpu}
    results["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"{'step':<22}{'wall s':>9}{'cpu s':>9}")
    for step, t in results["steps"].items():
        print(f"{step:<22}{t['seconds']:>9.2f}{t['cpu_seconds']:>9.2f}")
    print(f"{'total':<22}{results['total']['seconds']:>9.2f}{results['total']['cpu_seconds']:>9.2f}"
          f"   (target: under 60 s; {args.households:,} households, "
          f"{results['members']:,} members)")
    b, a = results["baseline_addresses"], results["steps"]["addresses"]
    print(f"addresses: lpt importer {a['cpu_seconds']:.2f} cpu s (validated, keyed, indexed, "
          f"assigned to streets/areas) vs baseline {b['cpu_seconds']:.2f} cpu s (write only): "
          f"{a['cpu_seconds'] / b['cpu_seconds']:.2f}x the baseline's time")
    print(f"peak memory {results['max_rss_mb']:.0f} MB")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
