# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt import KIND FILE...`` and ``lpt index``."""
from __future__ import annotations

import time

from lpt_cli.commands._common import open_from_args, print_json, progress_bar
from spatial_core.errors import InputError

_OPTIONS = ("crs", "encoding", "level", "scheme", "key_type", "id_field", "name_field",
            "parent_field", "boundary_set", "valid_from", "layer", "full_snapshot", "table")


def _import(args) -> int:
    from spatial_core.io.imports import import_files, import_options

    accepted = import_options(args.kind)
    options = {}
    for name in _OPTIONS:
        value = getattr(args, name, None)
        if value is None:
            continue
        if name not in accepted:
            raise InputError(f"option --{name.replace('_', '-')} does not apply to "
                             f"'import {args.kind}'")
        options[name] = value
    progress, close = progress_bar(not args.json)
    options["progress"] = progress  # every importer reports progress (imports.run_import)
    store = open_from_args(args)
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


def _index(args) -> int:
    from spatial_core.store.index import refresh_index

    store = open_from_args(args, create=False)
    progress, close = progress_bar()
    try:
        with store.begin() as conn:
            result = refresh_index(store, conn=conn, progress=progress)
    finally:
        close()
        store.close()
    print_json(result)
    return 0


def register(sub) -> None:
    imp = sub.add_parser("import", help="import files of one kind into the store")
    imp.add_argument("kind", help="crimes, postcodes, boundaries, classification, streets, "
                                  "addresses, members, surveys, visits or census")
    imp.add_argument("files", nargs="+", help="files (or folders, for crimes)")
    imp.add_argument("--crs", type=int, help="EPSG code of the file's coordinates when the file "
                     "does not say or says wrongly (27700 = British National Grid)")
    imp.add_argument("--encoding",
                     help="text encoding of CSV files (default utf-8; cp1252 for Excel)")
    imp.add_argument("--level", help="boundaries: force, npa, beat, ward, lsoa or oa")
    imp.add_argument("--scheme", help="classification: oac2011, oac2021, mosaic or acorn")
    imp.add_argument("--key-type", dest="key_type",
                     help="classification: oa, lsoa, postcode or uprn")
    imp.add_argument("--id-field", dest="id_field", help="boundaries: field holding the area code")
    imp.add_argument("--name-field", dest="name_field", help="boundaries: field holding the name")
    imp.add_argument("--parent-field", dest="parent_field",
                     help="boundaries: field of the parent code")
    imp.add_argument("--boundary-set", dest="boundary_set", help="boundaries: name of a dated set")
    imp.add_argument("--valid-from", dest="valid_from", help="boundaries: date the set starts")
    imp.add_argument("--layer", help="boundaries: layer of a GeoPackage holding several")
    imp.add_argument("--full-snapshot", dest="full_snapshot", action="store_true", default=None,
                     help="members: the files are the whole current export; stored members "
                          "missing from them are marked as left today")
    imp.add_argument("--table", help="census: TS021 (ethnic group), TS024 (main language), "
                     "TS004 (country of birth), TS030 (religion) or origins (default: told "
                     "from the header)")
    imp.add_argument("--json", action="store_true", help="print the import report as JSON")
    imp.set_defaults(func=_import)

    ix = sub.add_parser("index", help="refresh derived assignments (streets, areas, households)")
    ix.set_defaults(func=_index)
