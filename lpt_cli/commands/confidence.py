# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt confidence``: confidence, feeling safe and crime per area, and the outliers."""
from __future__ import annotations

import math

from lpt_cli.commands._common import add_level_argument, open_from_args, print_json
from lpt_cli.commands.priorities import records


def _f(v, spec: str = ".2f") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def _confidence(args) -> int:
    from spatial_core.analytics.confidence import area_confidence

    with open_from_args(args, create=False) as store:
        table = area_confidence(store, level=args.level, period=args.period,
                                crime_period=args.crime_period, rate=args.rate,
                                min_n=args.min_n, z_flag=args.z)
    if args.json:
        print_json({"level": args.level, "period": args.period,
                    "crime_period": args.crime_period, "rate": args.rate, "min_n": args.min_n,
                    "z_flag": args.z, "fits": table.attrs.get("fits"),
                    "months_of_crime": table.attrs.get("months"), "areas": records(table)})
        return 0
    print(f"Confidence, feeling safe and crime per {args.level} (period {args.period or 'all'}; "
          f"outliers |z| > {args.z:g} with n >= {args.min_n})")
    print(f"  {'area':<24}{'n':>5}{'confident':>10}{'safe':>7}{args.rate + '/1k/yr':>13}"
          f"{'safe gap (z)':>16}{'conf. gap (z)':>16}")
    for r in table.itertuples():
        print(f"  {str(r.area_name)[:23]:<24}{r.feel_safe_n:>5}{_f(r.confidence):>10}"
              f"{_f(r.feel_safe):>7}{_f(getattr(r, args.rate + '_rate'), '.0f'):>13}"
              f"{_f(r.safe_gap, '+.2f') + ' (' + _f(r.safe_z, '+.1f') + ')':>16}"
              f"{_f(r.confidence_gap, '+.2f') + ' (' + _f(r.confidence_z, '+.1f') + ')':>16}")
    flagged = table[(table["safe_outlier"] != "") | (table["confidence_outlier"] != "")]
    if len(flagged):
        print()
        for r in flagged.itertuples():
            words = "; ".join(w for w in (r.safe_outlier, r.confidence_outlier) if w)
            print(f"  {r.area_name}: {words}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("confidence",
                       help="confidence, feeling safe and crime per area, and the outliers")
    add_level_argument(p)
    p.add_argument("--period", help="survey responses counted (default all)")
    p.add_argument("--crime-period", dest="crime_period",
                   help="months of crime counted (default: --period, else all)")
    p.add_argument("--rate", default="crime", choices=["crime", "harm"],
                   help="compare feeling safe with the crime rate or the harm-weighted rate")
    p.add_argument("--min-n", dest="min_n", type=int, default=10,
                   help="areas with fewer answers are never flagged (default 10)")
    p.add_argument("--z", type=float, default=2.0, help="flag |z| above this (default 2)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_confidence)
