# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt demo``: build the demo force into a store and run the main job on it."""
from __future__ import annotations

import os
import time

from ._common import progress_bar


def _demo(args) -> int:
    from ..demo import build_demo
    from ..status import store_status
    from ..store import open_store

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
    return 0


def register(sub) -> None:
    demo = sub.add_parser("demo", help="build the demo force into a store and run the main job")
    demo.add_argument("--households", type=int, default=450_000)
    demo.add_argument("--seed", type=int, default=20261122)
    demo.add_argument("--out", default="demo_data", help="folder for the generated files")
    demo.add_argument("--keep", action="store_true", help="add to an existing demo store")
    demo.set_defaults(func=_demo)
