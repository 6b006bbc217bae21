# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt representation``: group shares among members and respondents against the population."""
from __future__ import annotations

import math

from lpt_cli.commands._common import add_level_argument, open_from_args, print_json
from lpt_cli.commands.priorities import records


def _fmt(v, spec: str = ".2f") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def _representation(args) -> int:
    from spatial_core.analytics.representation import coverage, representation

    with open_from_args(args, create=False) as store:
        table = representation(store, scheme=args.scheme, level=args.level,
                               area_level=args.area_level, by=args.by, target=args.target,
                               period=args.period, min_n=args.min_n)
        cov = coverage(store, area_level=args.area_level, period=args.period,
                       min_members_per_100=args.min_members_per_100,
                       min_responses=args.min_responses)
    if args.json:
        print_json({"scheme": args.scheme, "level": args.level, "area_level": args.area_level,
                    "by": args.by, "target": args.target, "period": args.period,
                    "min_n": args.min_n,
                    "groups": records(table), "coverage": records(cov)})
        return 0
    below = table[table["member_below"] | table["respondent_below"]]
    groups = args.by if args.by != "class" else f"{args.scheme} level {args.level}"
    print(f"Representation by {groups} per {args.area_level}: groups below "
          f"{args.target:.0%} of their share among members or among respondents "
          f"({len(below)} of {len(table)} area-group rows; "
          f"{int(table['member_below'].sum())} below among members)")
    print(f"  {'area':<24}{'group':<30}{'pop.':>7}{'members':>9}{'ratio (95% CI)':>22}"
          f"{'respondents':>13}{'ratio':>7}")
    for r in below.itertuples():
        ci = f"{_fmt(r.member_ratio)} ({_fmt(r.member_ci_low)}-{_fmt(r.member_ci_high)})"
        flag = "*" if r.member_clearly_below else " "
        name = str(r.group_name)
        if args.by in ("language", "religion", "origins") or len(name) > 29:
            name = name.rsplit(": ", 1)[-1]  # a census category: its last part
        print(f"  {str(r.area_name)[:23]:<24}{name[:29]:<30}"
              f"{_fmt(r.population_share, '.0%'):>7}{_fmt(r.member_share, '.0%'):>9}"
              f"{ci:>21}{flag}{_fmt(r.respondent_share, '.0%'):>13}"
              f"{_fmt(r.respondent_ratio):>7}")
    print("  (* the whole 95% interval is below target)")
    print()
    print(f"Coverage per {args.area_level}")
    print(f"  {'area':<24}{'households':>11}{'members':>9}{'per 100':>9}{'responses':>11}  note")
    for r in cov.itertuples():
        print(f"  {str(r.area_name)[:23]:<24}{r.households:>11,}{r.members:>9,}"
              f"{_fmt(r.members_per_100, '.1f'):>9}{r.responses:>11,}  "
              f"{'LOW: ' + r.reason if r.low_coverage else ''}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("representation",
                       help="who members and respondents are, against the population, per area")
    p.add_argument("--scheme", default="oac2011", help="classification scheme (default oac2011)")
    p.add_argument("--level", default="1",
                   help="level of the scheme: 1 (coarsest, e.g. supergroup) to 3, or its name")
    add_level_argument(p, "--area-level", dest="area_level")
    p.add_argument("--by", default="class",
                   help="groups: class (geodemographic, the default); gender, age_band; or, "
                        "against the census base (lpt import census): ethnicity (the five "
                        "ONS groups), ethnicity_detailed (the 19), language, religion, origins")
    p.add_argument("--min-n", dest="min_n", type=float, default=0,
                   help="judge a group only when at least this many members (respondents) "
                        "are expected in it in the area (default 0: every group)")
    p.add_argument("--target", type=float, default=0.7,
                   help="flag groups below this share of their proportionate share (default 0.7)")
    p.add_argument("--period", help="survey responses counted (default all)")
    p.add_argument("--min-members-per-100", dest="min_members_per_100", type=float, default=5.0,
                   help="low coverage below this many members per 100 households (default 5)")
    p.add_argument("--min-responses", dest="min_responses", type=int, default=10,
                   help="low coverage below this many responses (default 10)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_representation)
