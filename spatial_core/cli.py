# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt``: the command line.

Errors are one clear message, never a traceback (``--debug`` shows it): exit code 2 for bad
input, 1 for any other failure, 0 on success. Long work shows a progress bar on a terminal.
"""
from __future__ import annotations

import argparse
import inspect
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence

from . import __version__
from .errors import InputError, SpatialCoreError

__all__ = ["main"]

log = logging.getLogger(__name__)

_IMPORT_OPTIONS = {
    # CLI flag dest -> importer keyword
    "crs": "crs",
    "encoding": "encoding",
    "level": "level",
    "scheme": "scheme",
    "key_type": "key_type",
    "id_field": "id_field",
    "name_field": "name_field",
    "parent_field": "parent_field",
    "boundary_set": "boundary_set",
    "valid_from": "valid_from",
}


def _progress_bar(enabled: bool) -> tuple[Callable[[float, str], None] | None, Callable[[], None]]:
    """A progress callable drawing a tqdm bar on stderr, and a function that closes it."""
    if not enabled or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=100, file=sys.stderr, leave=False, bar_format="{l_bar}{bar}| {elapsed}")

    def progress(fraction: float, message: str) -> None:
        bar.set_description_str(message[:40])
        bar.n = max(0.0, min(100.0, 100.0 * float(fraction)))
        bar.refresh()

    return progress, bar.close


def _store(args, create: bool = True):
    from .store import open_store

    return open_store(args.store, create=create)


def _cmd_import(args) -> int:
    from .imports import KINDS, import_files

    if args.kind not in KINDS:
        raise InputError(f"unknown import kind {args.kind!r}; expected one of {', '.join(KINDS)}")
    module, func = KINDS[args.kind].split(":")
    import importlib

    fn = getattr(importlib.import_module(module), func)
    accepted = inspect.signature(fn).parameters
    options = {}
    for dest, kw in _IMPORT_OPTIONS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        if kw not in accepted:
            flag = "--" + dest.replace("_", "-")
            raise InputError(f"option {flag} does not apply to 'import {args.kind}'")
        options[kw] = value
    progress, close = _progress_bar(not args.json)
    if "progress" in accepted:
        options["progress"] = progress
    store = _store(args)
    try:
        started = time.perf_counter()
        report = import_files(store, args.kind, args.files, **options)
        elapsed = time.perf_counter() - started
    finally:
        close()
        store.close()
    if args.json:
        print(report.to_json())
    else:
        print(report.summary())
        print(f"  ({elapsed:.1f} s, store {args.store})")
    return 0


def _cmd_status(args) -> int:
    from .status import store_status

    store = _store(args, create=False)
    try:
        status = store_status(store)
    finally:
        store.close()
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(f"store {status['store']} ({status['backend']}, schema v{status['schema_version']}, "
          f"H3 resolution {status['h3_resolution']})")
    for name, n in status["counts"].items():
        rng = status["date_ranges"].get(name)
        extra = f"  {rng['from']} .. {rng['to']}" if rng else ""
        print(f"  {name:<16}{n:>10,}{extra}")
    if status["areas_by_level"]:
        levels = ", ".join(f"{k} {v:,}" for k, v in sorted(status["areas_by_level"].items()))
        print(f"  areas by level: {levels}")
    if status["classification_schemes"]:
        schemes = ", ".join(f"{k} {v:,}" for k, v in status["classification_schemes"].items())
        print(f"  classification keys: {schemes}")
    if status["counts"]["crimes"]:
        print(f"  crimes without location: {status['crimes_without_location']:,}; "
              f"flagged outside the force: {status['crimes_flagged_outside_force']:,}")
    return 0


def _cmd_index(args) -> int:
    from .index import refresh_index

    store = _store(args)
    progress, close = _progress_bar(True)
    try:
        with store.begin() as conn:
            result = refresh_index(store, conn=conn, progress=progress)
    finally:
        close()
        store.close()
    print(json.dumps(result, indent=2, default=str))
    return 0


def _cmd_demo(args) -> int:
    from .demo import build_demo
    from .status import store_status
    from .store import open_store

    location = args.store if args.store_given else os.path.join(args.out, "demo.gpkg")
    if not location.startswith("postgres") and os.path.exists(location) and not args.keep:
        os.remove(location)
    progress, close = _progress_bar(True)
    started = time.perf_counter()
    store = open_store(location)
    try:
        reports = build_demo(store, args.out, households=args.households, seed=args.seed,
                             progress=progress)
        close()
        for report in reports.values():
            print(report.summary().splitlines()[0])
        status = store_status(store)
    finally:
        close()
        store.close()
    print(f"demo force built and loaded in {time.perf_counter() - started:.1f} s: "
          f"{status['counts']['addresses']:,} households, {status['counts']['members']:,} members, "
          f"{status['counts']['streets']:,} streets, {status['counts']['crimes']:,} crimes")
    print(f"store: {location}")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lpt", description="Local priority targeting for neighbourhood policing.")
    p.add_argument("--version", action="version", version=f"lpt {__version__}")
    p.add_argument("--store", default=None,
                   help="GeoPackage path or postgresql:// URL (default: $LPT_STORE or ./lpt.gpkg)")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    imp = sub.add_parser("import", help="import files of one kind into the store")
    imp.add_argument("kind", help="crimes, postcodes, boundaries, classification, streets, "
                                  "addresses, members, surveys or visits")
    imp.add_argument("files", nargs="+", help="files (or folders, for crimes)")
    imp.add_argument("--crs", type=int, help="EPSG code of the file's coordinates, when the file "
                                              "does not say or says wrongly (27700 = British National Grid)")
    imp.add_argument("--encoding", help="text encoding of CSV files (default utf-8; cp1252 for Excel)")
    imp.add_argument("--level", help="boundaries: force, npa, beat, ward, lsoa or oa")
    imp.add_argument("--scheme", help="classification: oac2011, oac2021, mosaic or acorn")
    imp.add_argument("--key-type", dest="key_type", help="classification: oa, lsoa, postcode or uprn")
    imp.add_argument("--id-field", dest="id_field", help="boundaries: field holding the area code")
    imp.add_argument("--name-field", dest="name_field", help="boundaries: field holding the name")
    imp.add_argument("--parent-field", dest="parent_field", help="boundaries: field of the parent code")
    imp.add_argument("--boundary-set", dest="boundary_set", help="boundaries: name of a dated set")
    imp.add_argument("--valid-from", dest="valid_from", help="boundaries: date the set starts")
    imp.add_argument("--json", action="store_true", help="print the import report as JSON")
    imp.set_defaults(func=_cmd_import)

    st = sub.add_parser("status", help="what the store holds")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=_cmd_status)

    ix = sub.add_parser("index", help="refresh derived assignments (streets, areas, households)")
    ix.set_defaults(func=_cmd_index)

    demo = sub.add_parser("demo", help="build the demo force into a store and run the main job")
    demo.add_argument("--households", type=int, default=450_000)
    demo.add_argument("--seed", type=int, default=20261122)
    demo.add_argument("--out", default="demo_data", help="folder for the generated files")
    demo.add_argument("--keep", action="store_true", help="add to an existing demo store")
    demo.set_defaults(func=_cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    args.store_given = args.store is not None or "LPT_STORE" in os.environ
    args.store = args.store or os.environ.get("LPT_STORE") or "lpt.gpkg"
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        if args.debug:
            raise
        print(f"lpt: error: {exc}", file=sys.stderr)
        return 2
    except SpatialCoreError as exc:
        if args.debug:
            raise
        print(f"lpt: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lpt: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI promises no tracebacks
        if args.debug:
            raise
        print(f"lpt: error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
