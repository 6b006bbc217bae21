# SPDX-License-Identifier: GPL-3.0-or-later
"""The national run on Dask: a synthetic nation built and scored, against one machine.

In one run, on the same data:

1. **build**: the synthetic nation (``--forces`` forces of England and Wales, each a demo
   force of its real household count x ``--scale``, one GeoPackage each), one Dask task per
   force on a local cluster of ``--build-workers`` workers;
2. **one machine**: :func:`spatial_core.national.run_sequential`, every force's main job one
   after another in one fresh process (a child process, so its peak memory is its own);
3. **Dask, 1, 2, 4 workers** (``--workers``): :func:`spatial_core.national.run_national` on a
   fresh ``LocalCluster`` of that many single-threaded worker processes with
   ``--memory-limit`` each; wall time (with and without starting the cluster), the sum of the
   tasks' CPU seconds, and each worker process's peak resident memory;
4. the street scores of every Dask run are checked equal to the one-machine run's (a hash of
   each force's score frame), and the national store is written from the last run.

This machine has 2 cores: 4 workers on it measure the cost of oversubscription, not a speed-up.
Every figure is printed with the load average before and after, since other work shares the
cores.

Usage: ``python benchmarks/bench_national.py [--scale 0.04] [--forces 43] [--workers 1,2,4]
[--memory-limit 4GB] [--months 12] [--work DIR] [--json PATH]``
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _hashes(run) -> dict[str, str]:
    """One hash per force of its street scores (every value, in order)."""
    import hashlib

    import pandas as pd

    out = {}
    for code, r in run.forces.items():
        h = pd.util.hash_pandas_object(r.streets, index=True).to_numpy()
        out[code] = hashlib.sha256(h.tobytes()).hexdigest()
    return out


def _child_sequential(forces_dir: str) -> int:
    """The one-machine run in this (fresh) process; prints JSON."""
    from spatial_core.national import read_manifest, run_sequential

    started, cpu = time.perf_counter(), time.process_time()
    run = run_sequential(read_manifest(forces_dir))
    print(json.dumps({
        "seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
        "peak_rss_bytes": max(run.workers.values()), "streets": sum(
            len(r.streets) for r in run.forces.values()),
        "hashes": _hashes(run)}))
    return 0


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=0.04,
                    help="households per real household (0.04: about 1M for 43 forces)")
    ap.add_argument("--forces", type=int, default=None, help="the first N forces (all 43)")
    ap.add_argument("--workers", default="1,2,4", help="worker counts of the scaling curve")
    ap.add_argument("--build-workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="4GB", help="per worker")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--work", help="folder for the nation (default: a temporary folder)")
    ap.add_argument("--reuse", action="store_true", help="reuse the nation built in --work")
    ap.add_argument("--no-sequential", action="store_true")
    ap.add_argument("--json", help="write results here")
    ap.add_argument("--child-sequential", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_sequential:
        return _child_sequential(args.child_sequential)

    from spatial_core.national import (
        build_national_demo,
        national_client,
        read_manifest,
        run_national,
        write_national_store,
    )
    from spatial_core.national.run import close_client

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="lpt-bench-nation-"))
    forces_dir = work / "forces"
    results: dict = {"scale": args.scale, "forces": args.forces or 43, "months": args.months,
                     "cores": os.cpu_count(), "memory_limit": args.memory_limit, "runs": []}

    print(f"load average {_load()}")
    if args.reuse and (forces_dir / "forces.json").exists():
        manifest = json.loads((forces_dir / "forces.json").read_text())
        results["households"] = sum(f["households"] for f in manifest["forces"])
        results["build"] = {"reused": True}
    else:
        client = national_client(workers=args.build_workers, memory_limit=args.memory_limit)
        started = time.perf_counter()
        try:
            built = build_national_demo(forces_dir, forces=args.forces, scale=args.scale,
                                        seed=args.seed, months=args.months, client=client)
        finally:
            close_client(client)
        wall = time.perf_counter() - started
        peaks: dict[int, int] = {}
        for r in built:
            peaks[r["worker_pid"]] = max(peaks.get(r["worker_pid"], 0), r["peak_rss_bytes"])
        counts = {k: sum(r["counts"][k] for r in built)
                  for k in ("addresses", "streets", "crimes", "members", "survey_responses")
                  if k in built[0]["counts"]}
        results["households"] = sum(r["households"] for r in built)
        results["build"] = {"workers": args.build_workers, "seconds": wall,
                            "cpu_seconds": sum(r["cpu_seconds"] for r in built),
                            "counts": counts, "store_bytes": sum(
                                os.path.getsize(r["store"]) for r in built),
                            "worker_peak_rss_mb": sorted(round(b / 2**20)
                                                         for b in peaks.values()),
                            "largest_force": max(r["households"] for r in built),
                            "load_after": _load()}
        print(f"built {len(built)} forces, {results['households']:,} households, "
              f"{counts} in {wall:.1f} s wall, "
              f"{results['build']['cpu_seconds']:.1f} CPU s on {args.build_workers} workers; "
              f"peaks {results['build']['worker_peak_rss_mb']} MB; load {_load()}")

    seq_hashes = None
    if not args.no_sequential:
        load_before = _load()
        out = subprocess.run([sys.executable, __file__, "--child-sequential", str(forces_dir)],
                             check=True, capture_output=True, text=True)
        seq = json.loads(out.stdout.strip().splitlines()[-1])
        seq_hashes = seq.pop("hashes")
        results["sequential"] = {**seq, "peak_rss_mb": round(seq["peak_rss_bytes"] / 2**20),
                                 "load_before": load_before, "load_after": _load()}
        print(f"one machine: {seq['seconds']:.1f} s wall, {seq['cpu_seconds']:.1f} CPU s, "
              f"peak {results['sequential']['peak_rss_mb']} MB, {seq['streets']:,} streets; "
              f"load {_load()}")

    stores = read_manifest(forces_dir)
    last = None
    for n in [int(w) for w in args.workers.split(",") if w]:
        load_before = _load()
        started = time.perf_counter()
        client = national_client(workers=n, memory_limit=args.memory_limit)
        ready = time.perf_counter()
        try:
            run = run_national(stores, client=client)
        finally:
            close_client(client)
        total = time.perf_counter() - started
        hashes = _hashes(run)
        row = {"workers": n, "seconds_total": total, "seconds_cluster_start": ready - started,
               "seconds_run": run.seconds,
               "cpu_seconds": sum(r.cpu_seconds for r in run.forces.values()),
               "worker_peak_rss_mb": sorted(round(b / 2**20) for b in run.workers.values()),
               "failures": run.failures,
               "equal_to_one_machine": None if seq_hashes is None else hashes == seq_hashes,
               "load_before": load_before, "load_after": _load()}
        results["runs"].append(row)
        print(f"dask {n} worker(s): {run.seconds:.1f} s run (+{row['seconds_cluster_start']:.1f}"
              f" s cluster start), {row['cpu_seconds']:.1f} CPU s in tasks, peaks "
              f"{row['worker_peak_rss_mb']} MB, equal to one machine: "
              f"{row['equal_to_one_machine']}; load {_load()}")
        last = run
    if last is not None:
        started = time.perf_counter()
        path = write_national_store(work / "national.gpkg", last)
        results["national_store"] = {"seconds": time.perf_counter() - started,
                                     "bytes": os.path.getsize(path)}
        print(f"national store written in {results['national_store']['seconds']:.1f} s "
              f"({results['national_store']['bytes'] / 2**20:.1f} MB)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(not r["failures"] for r in results["runs"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
