# SPDX-License-Identifier: GPL-3.0-or-later
"""The rolling-origin backtest of 24 monthly origins on the 35 Leicestershire police.uk months
(H3 cells): seconds and peak memory, against a straightforward pandas baseline in the same run.

Measured, each in a fresh child process (so peak memory is the step's own, ``ru_maxrss``;
CPU seconds are the child's, imports included, and do not count other work on the machine),
on a store built once from ``../shared/data/real/leicester/crime`` (import not timed):

* **rolling**: :func:`spatial_core.targeting.evaluation.unit_months` (read the crimes, cells
  at the resolution, ring-1 neighbours, unit x month matrices) plus
  :func:`~spatial_core.targeting.evaluation.rolling_backtest` of 24 origins (each: the
  crime component, the naive prior count, prior harm and the oracle, top 5%);
* **baseline**: what a straightforward script does: read the same crimes with pandas, then per
  origin a ``groupby`` of the months up to it (counts, harm and recency-weighted counts and
  harm) and of the test month, the empirical-Bayes score on the joined frame, and
  ``nlargest`` for each ranking. Both give the same hit rates (checked at the end).

Usage::

    .venv/bin/python benchmarks/bench_backtest.py [--resolution 10] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ORIGINS = 24


def _rolling(store_path: str, resolution: int) -> dict:
    from spatial_core import open_store
    from spatial_core.targeting.evaluation import rolling_backtest, unit_months

    t0 = time.perf_counter()
    store = open_store(store_path)
    data = unit_months(store, units="cells", resolution=resolution)
    t1 = time.perf_counter()
    rows = rolling_backtest(data, min_history=len(data.months) - ORIGINS)
    t2 = time.perf_counter()
    return {"seconds": t2 - t0, "read_s": t1 - t0, "backtest_s": t2 - t1,
            "origins": int(rows["origin"].nunique()), "units": len(data.units),
            "hits": rows.set_index(["origin", "method"])["hit_rate"].to_dict()}


def _baseline(store_path: str, resolution: int) -> dict:
    import numpy as np
    import pandas as pd

    from spatial_core import open_store
    from spatial_core.analytics.harm import crime_weights, expected_harm, recency_weights
    from spatial_core.geo.cells import cells_to_parents
    from spatial_core.targeting.evaluation import _month_ages
    from spatial_core.targeting.profiles import load_profile

    t0 = time.perf_counter()
    store = open_store(store_path)
    cr = store.read("crimes", ["month", "category", "offence_code", "cell", "is_outlier"])
    cr = cr[(cr["cell"] != 0) & (cr["is_outlier"] == 0)].copy()
    cr["cell"] = cells_to_parents(cr["cell"].to_numpy().astype("uint64"), resolution)
    cr["harm"] = crime_weights(cr)
    t1 = time.perf_counter()
    prof = load_profile(None)
    cells = pd.Index(np.sort(cr["cell"].unique()))
    months = sorted(cr["month"].unique())
    k = int(np.ceil(0.05 * len(cells) - 1e-9))
    hits = {}
    for origin in months[len(months) - ORIGINS - 1:-1]:
        nxt = months[months.index(origin) + 1]
        past = cr[cr["month"] <= origin]
        upto = [m for m in months if m <= origin]
        age = _month_ages(upto, origin)
        within = age <= prof.lookback_days
        mw = recency_weights(age[within], prof.half_life_days, prof.long_run_months)
        weight = dict.fromkeys(upto, 0.0) | dict(zip(np.array(upto)[within], mw, strict=True))
        w = past["month"].map(weight).to_numpy(dtype="float64")
        past = past.assign(w=w, wh=w * past["harm"].to_numpy())
        g = past.groupby("cell").agg(n=("w", "size"), h=("harm", "sum"), wn=("w", "sum"),
                                     wh=("wh", "sum")).reindex(cells, fill_value=0.0)
        test = cr[cr["month"] == nxt].groupby("cell")["harm"].sum().reindex(cells,
                                                                             fill_value=0.0)
        g["score"] = expected_harm(g["wn"].to_numpy(), g["wh"].to_numpy(), mw,
                                   prior_crimes=prof.prior_crimes).harm
        g["oracle"] = test.to_numpy()
        for method, column in (("score", "score"), ("count", "n"), ("harm", "h"),
                               ("oracle", "oracle")):
            # The units tied at the cut share the places left (evaluation.selection_share).
            value = g[column]
            cut = value.sort_values(ascending=False).iloc[k - 1]
            chance = (value > cut).astype("float64")
            chance[value == cut] = (k - (value > cut).sum()) / (value == cut).sum()
            hits[(origin, method)] = float((chance * test).sum() / test.sum())
    t2 = time.perf_counter()
    return {"seconds": t2 - t0, "read_s": t1 - t0, "backtest_s": t2 - t1,
            "origins": ORIGINS, "units": len(cells), "hits": hits}


def _child(which: str, store_path: str, resolution: int) -> None:
    out = (_rolling if which == "rolling" else _baseline)(store_path, resolution)
    use = resource.getrusage(resource.RUSAGE_SELF)
    out["peak_mb"] = use.ru_maxrss / 1024
    out["cpu_s"] = use.ru_utime + use.ru_stime  # the whole child, imports included
    out["hits"] = [[k[0], k[1], v] for k, v in out["hits"].items()]
    print(json.dumps(out))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    p.add_argument("--store", type=Path, default=ROOT / "build" / "bench-leicester.gpkg")
    p.add_argument("--resolution", type=int, default=10)
    p.add_argument("--json", type=Path)
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return 0
    if not args.store.exists():
        from spatial_core import open_store
        from spatial_core.io.imports import import_files

        args.store.parent.mkdir(parents=True, exist_ok=True)
        store = open_store(args.store)
        import_files(store, "crimes", sorted((args.real / "leicester" / "crime")
                                             .glob("*.csv.gz")))
        store.close()
    results = {}
    for which in ("rolling", "baseline"):
        proc = subprocess.run([sys.executable, __file__, "--child", which, str(args.store),
                               str(args.resolution)], capture_output=True, text=True,
                              check=True)
        results[which] = json.loads(proc.stdout.strip().splitlines()[-1])
    a, b = results["rolling"], results["baseline"]
    ha, hb = ({tuple(h[:2]): h[2] for h in r["hits"]} for r in (a, b))
    same = ha.keys() == hb.keys() and all(abs(ha[key] - hb[key]) < 1e-9 for key in ha)
    print(f"Rolling backtest, {a['origins']} origins, {a['units']:,} H3 cells (resolution "
          f"{args.resolution}), Leicestershire police.uk, {platform.python_version()}")
    print(f"{'':<10}{'total s':>9}{'read s':>9}{'origins s':>11}{'CPU s':>8}{'peak MB':>9}")
    for name, r in (("rolling", a), ("baseline", b)):
        print(f"{name:<10}{r['seconds']:>9.2f}{r['read_s']:>9.2f}{r['backtest_s']:>11.2f}"
              f"{r['cpu_s']:>8.2f}{r['peak_mb']:>9.0f}")
    print(f"origins: {b['backtest_s'] / a['backtest_s']:.1f}x faster than the pandas "
          f"baseline; same hit rates: {same}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"resolution": args.resolution, "same_hits": same,
                                         **{k: {x: y for x, y in v.items() if x != "hits"}
                                            for k, v in results.items()}}, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
