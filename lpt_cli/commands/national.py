# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt national run``: every force's main job on Dask, and the aggregate-only national store;
``lpt national import``: national input files partitioned by force on import.

One Dask task per force store (a local cluster by default, or a real one by
``--scheduler tcp://HOST:8786``, started with ``dask scheduler`` and ``dask worker``).
Progress is a bar on a terminal and one line per finished force otherwise.
"""
from __future__ import annotations

import sys

from lpt_cli.commands._common import print_json, progress_bar


def _progress(as_json: bool):
    """A bar on a terminal; otherwise a line per finished force on stderr."""
    if as_json:
        return None, lambda: None
    if sys.stderr.isatty():
        return progress_bar()

    def line(fraction: float, message: str) -> None:
        print(f"national: {message} ({fraction:.0%})", file=sys.stderr, flush=True)

    return line, lambda: None


def _run(args) -> int:
    from spatial_core.national import (
        national_client,
        read_manifest,
        run_national,
        run_sequential,
        write_national_store,
    )
    from spatial_core.national.run import close_client, dashboard_link

    stores = read_manifest(args.forces_dir)
    if args.force:
        missing = sorted(set(args.force) - set(stores))
        if missing:
            from spatial_core.errors import InputError

            raise InputError(f"no store for force(s) {missing} in {args.forces_dir}")
        stores = {c: stores[c] for c in args.force}
    options = {"profile": args.profile, "parts_res": args.parts_res, "parts": args.parts}
    progress, close = _progress(args.json)
    try:
        if args.sequential:
            run = run_sequential(stores, progress=progress, **options)
        else:
            client = national_client(scheduler=args.scheduler, workers=args.workers,
                                     memory_limit=args.memory_limit)
            try:
                link = dashboard_link(client)
                if link and not args.json:
                    print(f"Dask dashboard: {link}", file=sys.stderr)
                run = run_national(stores, client=client, progress=progress, **options)
            finally:
                close_client(client)
    finally:
        close()
    out = write_national_store(args.out, run, k=args.k)
    summary = {
        "scheduler": run.scheduler,
        "forces": len(run.forces),
        "failed": run.failures,
        "seconds": round(run.seconds, 2),
        "streets_scored": sum(len(r.streets) for r in run.forces.values()),
        "worker_peak_rss_mb": {str(pid): round(b / 2**20) for pid, b in run.workers.items()},
        "national_store": str(out),
    }
    if args.json:
        print_json(summary)
    else:
        print(f"{summary['forces']} forces scored in {summary['seconds']:.1f} s on "
              f"{run.scheduler} ({len(run.workers)} worker process(es), peak "
              f"{max(run.workers.values(), default=0) / 2**20:,.0f} MB): "
              f"{summary['streets_scored']:,} streets")
        for code, r in run.forces.items():
            print(f"  {code:<22}{len(r.streets):>8,} streets  run {r.run_id}  "
                  f"{r.seconds:6.1f} s  pid {r.worker_pid}")
        for code, err in run.failures.items():
            print(f"  {code:<22}FAILED: {err}")
        print(f"national store (aggregates only, counts below {args.k} withheld): {out}")
    return 1 if run.failures else 0


def _import(args) -> int:
    from spatial_core.national.partition import partition_import

    progress, close = _progress(args.json)
    try:
        report = partition_import(args.kind, args.files, args.forces_dir,
                                  scheduler=args.scheduler, workers=args.workers,
                                  memory_limit=args.memory_limit, crs=args.crs,
                                  encoding=args.encoding, only=args.force,
                                  progress=progress)
    finally:
        close()
    if args.json:
        print_json(report.as_dict())
    else:
        print(report.summary())
    return 1 if report.failures else 0


def _cluster_options(p) -> None:
    p.add_argument("--forces-dir", required=True,
                   help="folder of force stores: forces.json (lpt demo --national writes "
                        "it) or one <force-code>.gpkg per force")
    p.add_argument("--scheduler", default=None,
                   help="a running Dask scheduler, e.g. tcp://HOST:8786 (default: a local "
                        "cluster on 127.0.0.1)")
    p.add_argument("--workers", type=int, default=None,
                   help="local cluster: worker processes (default: one per core)")
    p.add_argument("--memory-limit", default="4GB",
                   help="local cluster: memory limit per worker (default 4GB)")
    p.add_argument("--force", action="append", default=[],
                   help="only this force (repeat for more)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")


def register(sub) -> None:
    national = sub.add_parser("national", help="every force on Dask: scores, priorities, "
                              "representation, and the aggregate-only national store")
    nsub = national.add_subparsers(dest="national_command", required=True, metavar="ACTION")
    run = nsub.add_parser("run", help="run the main job of every force store on Dask")
    _cluster_options(run)
    run.add_argument("--out", default="national.gpkg",
                     help="the aggregate-only national GeoPackage (default national.gpkg)")
    run.add_argument("--sequential", action="store_true",
                     help="no Dask: one force after another in this process")
    run.add_argument("--profile", default=None, help="targeting profile (default 'default')")
    run.add_argument("--parts-res", type=int, default=None, choices=range(3, 9),
                     metavar="RES",
                     help="prepare each force's street-score inputs in parts cut at this H3 "
                          "resolution (3-8), each a Dask task with its halo, for forces too "
                          "large for one worker; the same results")
    run.add_argument("--parts", type=int, default=None,
                     help="with --parts-res: at most this many parts per force")
    run.add_argument("--k", type=int, default=5,
                     help="counts 1..k-1 are withheld in the national store (default 5)")
    run.set_defaults(func=_run)
    imp = nsub.add_parser("import", help="import national files (police.uk all-forces crimes, "
                          "Code-Point Open) into each force store, only its own rows, on Dask")
    imp.add_argument("kind", choices=["crimes", "postcodes"])
    imp.add_argument("files", nargs="+", help="files or folders (*.csv, *.csv.gz)")
    _cluster_options(imp)
    imp.add_argument("--crs", type=int, default=None,
                     help="EPSG code of the coordinates when not the format's default")
    imp.add_argument("--encoding", default=None, help="text encoding (default UTF-8)")
    imp.set_defaults(func=_import)
