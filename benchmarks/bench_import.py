# SPDX-License-Identifier: GPL-3.0-or-later
"""Import rates on the real data, against a straightforward baseline in the same run.

Each case runs in a fresh child process (so its peak memory is its own) and imports into a
fresh store:

- ``crimes_month``: one police.uk month (West Yorkshire, July 2017, 28,537 rows) through
  ``lpt``'s importer, into a GeoPackage and into PostGIS (started here, as the tests do);
- ``crimes_month_baseline``: the straightforward way: ``pandas.read_csv``, one h3-py call per
  row, ``GeoDataFrame.to_file`` into a GeoPackage with pyogrio -- no validation, no keys;
- ``crimes_35_months``: the 35 Leicestershire monthly ``.csv.gz`` files (301,838 rows);
- ``postcodes``: Code-Point Open LS (21,290 rows); ``streets``: the central Leeds OSM ways.

Usage: ``python benchmarks/bench_import.py [--json PATH] [--repeat N] [--no-postgis]``
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("LPT_SHARED", ROOT.parent / "shared")) / "data" / "real"
MONTH = REAL / "leeds/crime/2017-07-west-yorkshire-street.csv"

CASES = {
    "crimes_month": ("crimes", [MONTH], {}),
    "crimes_35_months": ("crimes", [REAL / "leicester/crime"], {}),
    "postcodes": ("postcodes", [REAL / "leeds/postcodes/codepoint_open_2014_ls.csv"], {}),
    "streets": ("streets", [REAL / "leeds/streets/leeds_central_osm_2022.gpkg"], {}),
}


def _child(case: str, location: str) -> dict:
    """Run one case in this (child) process and return its figures."""
    sys.path.insert(0, str(ROOT))
    if case == "crimes_month_baseline":
        return _baseline(location)
    from spatial_core import open_store
    from spatial_core.io.imports import import_files

    kind, paths, options = CASES[case]
    store = open_store(location)
    started = time.perf_counter()
    cpu = time.process_time()
    report = import_files(store, kind, [str(p) for p in paths], **options)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    store.close()
    return {"rows": report.read, "imported": report.imported, "seconds": wall, "cpu_seconds": cpu}


def _baseline(location: str) -> dict:
    import geopandas as gpd
    import h3
    import pandas as pd

    started = time.perf_counter()
    cpu = time.process_time()
    df = pd.read_csv(MONTH)
    cells = [h3.str_to_int(h3.latlng_to_cell(a, b, 10)) if a == a else 0
             for a, b in zip(df["Latitude"], df["Longitude"], strict=True)]
    df["cell"] = cells
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["Longitude"], df["Latitude"]),
                           crs=4326).to_crs(27700)
    gdf.to_file(location, layer="crimes", driver="GPKG", engine="pyogrio")
    return {"rows": len(df), "imported": len(df), "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu}


def _run(case: str, location: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", case, location],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{case} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", help="write results here")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs per case")
    ap.add_argument("--no-postgis", action="store_true")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        result = _child(*args.child)
        result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return 0

    pg = None
    if not args.no_postgis:
        sys.path.insert(0, str(ROOT / "tests"))
        from conftest import _Postgres  # the tests' throw-away PostgreSQL

        pg = _Postgres()
    plan = [("crimes_month_baseline", "geopackage"), ("crimes_month", "geopackage")]
    if pg:
        plan.append(("crimes_month", "postgis"))
    plan += [("crimes_35_months", "geopackage"), ("postcodes", "geopackage"),
             ("streets", "geopackage")]
    if pg:
        plan.append(("crimes_35_months", "postgis"))
    results = []
    try:
        for case, backend in plan:
            best = None
            for _ in range(args.repeat if case != "crimes_35_months" else 1):
                with tempfile.TemporaryDirectory() as tmp:
                    location = pg.new_database() if backend == "postgis" else f"{tmp}/b.gpkg"
                    r = _run(case, location)
                if best is None or r["seconds"] < best["seconds"]:
                    best = r
            best.update(case=case, backend=backend, rows_per_second=best["rows"] / best["seconds"])
            results.append(best)
            print(f"{case:<24}{backend:<11}{best['rows']:>9,} rows {best['seconds']:>7.2f} s "
                  f"{best['rows_per_second']:>10,.0f} rows/s  peak {best['max_rss_mb']:>6.0f} MB",
                  flush=True)
    finally:
        if pg:
            pg.stop()
    base = next(r for r in results if r["case"] == "crimes_month_baseline")
    ours = next(r for r in results if r["case"] == "crimes_month" and r["backend"] == "geopackage")
    ratio = base["seconds"] / ours["seconds"]
    print(f"\none police.uk month, lpt importer vs baseline: {ratio:.2f}x "
          f"the baseline's speed (target: under 2 s; took {ours['seconds']:.2f} s)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
