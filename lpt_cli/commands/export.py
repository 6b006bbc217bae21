# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt export``: write an analytics layer to GeoJSON, GeoPackage or CSV."""
from __future__ import annotations

from lpt_cli.commands._common import add_level_argument, open_from_args, print_json


def _export(args) -> int:
    from spatial_core.api.export import export_layer

    with open_from_args(args, create=False) as store:
        r = export_layer(store, args.layer, args.output, format=args.format,
                         setup_id=args.setup, area=args.area, level=args.level,
                         period=args.period, scheme=args.scheme, class_level=args.class_level,
                         now=args.now, fresh=args.fresh, profile=args.profile, as_of=args.as_of)
    if args.json:
        print_json(r.to_dict())
        return 0
    print(f"wrote {r.rows:,} {r.layer} rows to {r.path} ({r.format})")
    for note in r.notes:
        print(f"  {note}")
    return 0


def register(sub) -> None:
    from spatial_core.api.export import LAYERS

    p = sub.add_parser("export", help="write street scores, priorities, representation or a "
                                      "walk list to a GeoJSON, GeoPackage or CSV file")
    p.add_argument("layer", choices=list(LAYERS), metavar="LAYER",
                   help="one of " + ", ".join(LAYERS))
    p.add_argument("--format", choices=["geojson", "gpkg", "csv"], default=None,
                   help="default: from the file suffix")
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.add_argument("--setup", default=None, metavar="ID",
                   help="the set-up of walk-list and setup-streets")
    p.add_argument("--area", default=None, metavar="ID", help="only this area (beat:… …)")
    add_level_argument(p, help="area level of priorities and representation (default beat)")
    p.add_argument("--period", default=None, help="survey responses counted (default all)")
    p.add_argument("--scheme", default="oac2011", help="representation: classification scheme")
    p.add_argument("--class-level", dest="class_level", type=int, default=1,
                   help="representation: level of the scheme (default 1)")
    p.add_argument("--now", default=None, help="walk-list: the moment (default the clock)")
    p.add_argument("--fresh", action="store_true",
                   help="street-scores: score now instead of using the newest stored run")
    p.add_argument("--profile", default=None, help="street-scores with --fresh: the profile")
    p.add_argument("--as-of", dest="as_of", default=None, help="street-scores with --fresh")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_export)
