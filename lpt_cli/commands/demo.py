# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt demo``: build the demo force into a store and run the main job on it."""
from __future__ import annotations

import os
import time

from lpt_cli.commands._common import progress_bar
from spatial_core.demo.force import DEMO_HOUSEHOLDS, DEMO_SEED


def _demo(args) -> int:
    if args.national:
        return _national_demo(args)
    from spatial_core.demo import build_demo
    from spatial_core.store import open_store
    from spatial_core.store.status import store_status

    location = args.store if args.store_given else os.path.join(args.out, "demo.gpkg")
    if not location.startswith("postgres") and os.path.exists(location) and not args.keep:
        os.remove(location)
    progress, close = progress_bar()
    started = time.perf_counter()
    store = open_store(location)
    try:
        reports = build_demo(store, args.out, households=args.households, seed=args.seed,
                             progress=progress)
        close()
        for step, report in reports.items():
            print(f"{step:<22}read {report.read:>9,}  imported {report.imported:>9,}  "
                  f"skipped {report.skipped:>7,}")
        status = store_status(store)
    finally:
        close()
        store.close()
    print(f"demo force built and loaded in {time.perf_counter() - started:.1f} s: "
          f"{status['counts']['addresses']:,} households, {status['counts']['members']:,} members, "
          f"{status['counts']['streets']:,} streets, {status['counts']['crimes']:,} crimes")
    print(f"store: {location}")
    if not args.no_job:
        _print_main_job(location, args.top)
    if args.serve:
        return _serve_demo(args, location)
    return 0


def _national_demo(args) -> int:
    """``lpt demo --national``: N synthetic forces, one store each, for ``lpt national run``."""
    from spatial_core.national import build_national_demo

    out = args.out if args.out != "demo_data" else "demo_national"
    progress, close = progress_bar()
    started = time.perf_counter()
    try:
        built = build_national_demo(out, forces=args.forces, scale=args.scale, seed=args.seed,
                                    progress=progress)
    finally:
        close()
    for r in built:
        print(f"{r['code']:<22}{r['counts']['addresses']:>9,} households "
              f"{r['counts']['streets']:>7,} streets {r['counts']['members']:>7,} members  "
              f"{r['seconds']:6.1f} s")
    print(f"{len(built)} synthetic forces, {sum(r['households'] for r in built):,} households, "
          f"built in {time.perf_counter() - started:.1f} s into {out}")
    print(f"next: lpt national run --forces-dir {out} --out {os.path.join(out, 'national.gpkg')}")
    return 0


def _serve_demo(args, location: str) -> int:
    """Serve the demo store with a demo sign-in (the service's ``demo-serve`` command)."""
    from lpt_cli.commands._service import hand_to_service

    return hand_to_service(["demo-serve", "--store", location, "--out", args.out,
                            "--host", args.host, "--port", str(args.port)])


def _print_main_job(location: str, top: int) -> None:
    from spatial_core.api.mainjob import run_main_job
    from spatial_core.store import open_store

    store = open_store(location)
    progress, close = progress_bar()
    try:
        job = run_main_job(store, top=top, progress=progress)
    finally:
        close()
        store.close()
    print(f"\nWhich streets, and why ({job.streets_scored:,} streets scored as of {job.as_of}, "
          f"profile {job.profile!r}, stored as run {job.run_id}):")
    beats = job.top_streets["beat_id"].dropna().unique()
    for beat in beats[:3]:
        print(f"  {beat}")
        for r in job.top_streets[job.top_streets["beat_id"] == beat].itertuples():
            print(f"    {r.rank_in_beat}. {r.name}: {r.reasons}")
    if len(beats) > 3:
        print(f"  … and {len(beats) - 3} more beats (lpt score --top {top})")
    print("\nWhat residents say:")
    for sentence in job.priority_sentences:
        print(f"  {sentence}")
    print("\nWhom we are not hearing (members below 70% of their proportionate share):")
    for r in job.underrepresented.itertuples():
        print(f"  {r.group_name or r.group}: {r.member_share:.1%} of members, "
              f"{r.population_share:.1%} of households (ratio {r.member_ratio:.2f})")
    print(f"  {job.low_coverage_beats} beats with low coverage (lpt representation for detail)")


def register(sub) -> None:
    demo = sub.add_parser("demo", help="build the demo force into a store and run the main job")
    demo.add_argument("--households", type=int, default=DEMO_HOUSEHOLDS)
    demo.add_argument("--seed", type=int, default=DEMO_SEED)
    demo.add_argument("--out", default="demo_data", help="folder for the generated files")
    demo.add_argument("--keep", action="store_true", help="add to an existing demo store")
    demo.add_argument("--top", type=int, default=3, help="streets shown per beat")
    demo.add_argument("--serve", action="store_true",
                      help="then serve the demo force (OGC API and the officer map page)")
    demo.add_argument("--host", default="127.0.0.1", help="with --serve (default 127.0.0.1)")
    demo.add_argument("--port", type=int, default=5000, help="with --serve (default 5000)")
    demo.add_argument("--no-job", dest="no_job", action="store_true",
                      help="only build and load the demo force")
    demo.add_argument("--national", action="store_true",
                      help="build a synthetic nation instead: --forces forces of England and "
                           "Wales, each a demo force sized from its real household count x "
                           "--scale, one store each in --out (default demo_national)")
    demo.add_argument("--forces", type=int, default=None,
                      help="with --national: the first N forces in police.uk id order "
                           "(default all 43)")
    demo.add_argument("--scale", type=float, default=0.01,
                      help="with --national: households per real household (default 0.01: "
                           "about 249,000 households for all 43)")
    demo.set_defaults(func=_demo)
