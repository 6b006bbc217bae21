# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt hotspots``: Getis-Ord Gi* hot and cold spots of crime on H3 cells."""
from __future__ import annotations

from dataclasses import asdict

from lpt_cli.commands._common import open_from_args, print_json, progress_bar
from lpt_cli.commands.priorities import records as _records


def _hotspots(args) -> int:
    from spatial_core.analytics.harm import crime_months
    from spatial_core.analytics.hotspots import classify_trends, find_hotspots, monthly_hotspots
    from spatial_core.geo.cells import cells_to_hex

    store = open_from_args(args, create=False)
    progress, close = progress_bar(not args.json)
    try:
        months = crime_months(store, args.months) if args.months else None
        options = dict(resolution=args.resolution, months=months, k=args.k, q=args.q,
                       weight=args.weight, study=args.study, area_ids=args.area or None)
        if args.by_month:
            monthly = monthly_hotspots(store, progress=progress, **options)
            classes = classify_trends(monthly)
            run = monthly.attrs["run"]
        else:
            result = find_hotspots(store, **options)
            run = result.attrs["run"]
    finally:
        close()
        store.close()
    if args.by_month:
        classes.insert(1, "h3", cells_to_hex(classes["cell"].to_numpy()))
        shown = classes[classes["category"] != "never"]
        if args.json:
            counts = classes["category"].value_counts().to_dict()
            print_json({"run": asdict(run), "categories": {k: int(v) for k, v in counts.items()},
                        "hot_by_month": {m: int(g["hot"].sum())
                                         for m, g in monthly.groupby("month")},
                        "cells": _records(shown)})
            return 0
        print(f"Gi* per month at resolution {run.resolution} (k={run.k}, FDR q={run.q:g}, "
              f"{run.weight}, study area: {run.study}); {len(run.months)} months "
              f"{run.months[0] if run.months else ''} .. {run.months[-1] if run.months else ''}")
        for m, g in monthly.groupby("month"):
            print(f"  {m}: {int(g['hot'].sum()):>5} hot, {int(g['cold'].sum()):>5} cold cells")
        print("  cells by category: " + ", ".join(
            f"{k} {int(v)}" for k, v in classes["category"].value_counts().items()))
        for cat in ("new", "intensifying", "persistent", "diminishing"):
            cells = shown.loc[shown["category"] == cat, "h3"].tolist()
            if cells:
                more = f" (+{len(cells) - args.limit} more)" if len(cells) > args.limit else ""
                print(f"  {cat}: {', '.join(cells[:args.limit])}{more}")
        return 0
    hot = result[result["hot"]].sort_values("z", ascending=False)
    cold = result[result["cold"]].sort_values("z")
    if args.json:
        print_json({"run": asdict(run), "cells": len(result), "hot": len(hot), "cold": len(cold),
                    "cells_outside": result.attrs["cells_outside"],
                    "value_outside": result.attrs["value_outside"],
                    "hot_cells": _records(hot.drop(columns=["cell"])),
                    "cold_cells": _records(cold.drop(columns=["cell"]))})
        return 0
    print(f"Gi* at resolution {run.resolution} (k={run.k}, FDR q={run.q:g}, {run.weight}, "
          f"study area: {run.study}, {len(result):,} cells; months: "
          f"{', '.join(run.months) if len(run.months) <= 6 else f'{len(run.months)} months'})")
    print(f"  {len(hot):,} hot and {len(cold):,} cold cells; "
          f"{result.attrs['cells_outside']:,} cells with crime outside the study area")
    if len(hot):
        print(f"  {'cell':<17}{'value':>9}{'local':>9}{'z':>8}{'q':>10}")
        for r in hot.head(args.limit).itertuples():
            print(f"  {r.h3:<17}{r.value:>9.1f}{r.local_sum:>9.1f}{r.z:>8.2f}{r.p_adjusted:>10.2g}")
        if len(hot) > args.limit:
            print(f"  … {len(hot) - args.limit:,} more (--limit, or --json for all)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("hotspots", help="Getis-Ord Gi* hot spots of crime on H3 cells")
    p.add_argument("--resolution", type=int, help="H3 resolution (default the store's, 10; "
                                                  "9 or coarser uses parent cells)")
    p.add_argument("--months", nargs="+", metavar="PERIOD",
                   help="months to use: 2024-03, 2024Q1, 2024 or 2024-01..2024-06 (default all)")
    p.add_argument("--q", type=float, default=0.05, help="false discovery rate (default 0.05)")
    p.add_argument("--k", type=int, default=1, help="k-ring neighbourhood (default 1)")
    p.add_argument("--weight", default="count", choices=["count", "harm"])
    p.add_argument("--study", default="auto", choices=["auto", "areas", "hull"],
                   help="study area: stored area cells, or the k-ring hull of cells with crime")
    p.add_argument("--area", action="append", metavar="AREA_ID",
                   help="restrict the study area to these areas (repeatable)")
    p.add_argument("--by-month", dest="by_month", action="store_true",
                   help="Gi* per month and the classification new / persistent / "
                        "intensifying / diminishing")
    p.add_argument("--limit", type=int, default=20, help="rows to print (default 20)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_hotspots)
