# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt networks``: beats without a key individual network list, and how the key individual
network and the advisory group compare with the population."""
from __future__ import annotations

import math

from lpt_cli.commands._common import open_from_args, print_json
from lpt_cli.commands.priorities import records


def _fmt(v, spec: str = ".2f") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def _networks(args) -> int:
    from spatial_core.analytics.networks import NETWORKS
    from spatial_core.api import FORCE, Scope
    from spatial_core.api.networks import network_gaps, network_groups

    scope = FORCE if not args.suppress_below else Scope(role="public", k=args.suppress_below)
    networks = list(NETWORKS) if args.network == "both" else [args.network]
    with open_from_args(args, create=False) as store:
        gaps = network_gaps(store, scope, min_members=args.min_members, as_of=args.as_of)
        groups = {net: network_groups(store, scope, network=net, by=args.by,
                                      area_level=args.area_level, scheme=args.scheme,
                                      level=args.level, target=args.target, min_n=args.min_n,
                                      as_of=args.as_of) for net in networks}
    if args.json:
        print_json({"min_members": args.min_members, "by": args.by,
                    "area_level": args.area_level, "target": args.target,
                    "min_n": args.min_n, "as_of": args.as_of,
                    "suppress_below": args.suppress_below, "beats": records(gaps),
                    "groups": {net: records(g) for net, g in groups.items()}})
        return 0
    none = gaps[gaps["no_key_individual"] == True]  # noqa: E712 - None where withheld
    few = gaps[gaps["below_min"] == True]  # noqa: E712
    print(f"Key individual networks per beat: {len(none)} of {len(gaps)} beats have no current "
          f"key individual; {len(few)} have fewer than {args.min_members}")
    print(f"  {'beat':<24}{'households':>11}{'members':>9}{'KIN':>6}{'per 1000':>10}{'IAG':>6}"
          "  note")
    for r in gaps.itertuples():
        print(f"  {str(r.area_name)[:23]:<24}{_fmt(r.households, ','):>11}"
              f"{_fmt(r.members, ','):>9}{_fmt(r.key_individual, 'd'):>6}"
              f"{_fmt(r.key_individual_per_1000, '.1f'):>10}{_fmt(r.iag, 'd'):>6}  {r.note}")
    for net, g in groups.items():
        print()
        print(f"{NETWORKS[net]} against the population by {args.by} per {args.area_level} "
              f"(below {args.target:.0%} of the proportionate share flagged)")
        print(f"  {'area':<20}{'group':<30}{'pop.':>7}{'network':>9}{'ratio (95% CI)':>22}"
              f"{'members':>9}{'ratio':>7}")
        for r in g.itertuples():
            ci = "-" if r.network_member_ratio is None else (
                f"{_fmt(r.network_member_ratio)} ({_fmt(r.network_member_ci_low)}-"
                f"{_fmt(r.network_member_ci_high)})")
            flag = "!" if r.network_member_below is True else " "
            name = str(r.group_name).rsplit(": ", 1)[-1] if len(str(r.group_name)) > 29 \
                else str(r.group_name)
            print(f"  {str(r.area_name)[:19]:<20}{name[:29]:<30}"
                  f"{_fmt(r.population_share, '.0%'):>7}{_fmt(r.network_member_share, '.0%'):>9}"
                  f"{ci:>21}{flag}{_fmt(r.member_share, '.0%'):>9}{_fmt(r.member_ratio):>7}"
                  + (f"  {r.note}" if r.note else ""))
    print("  (! below target)")
    return 0


def register(sub) -> None:
    from spatial_core.analytics.population import AREA_LEVELS
    from spatial_core.analytics.representation import BY

    p = sub.add_parser("networks",
                       help="beats without a key individual network, and how the KIN and IAG "
                            "compare with the population")
    p.add_argument("--min-members", dest="min_members", type=int, default=1,
                   help="flag beats with fewer current key individuals than this (default 1: "
                        "beats with none)")
    p.add_argument("--network", default="both", choices=["both", "key_individual", "iag"])
    p.add_argument("--by", default="class", choices=list(BY),
                   help="groups: class (geodemographic, default), or members' self-declared "
                        "ethnicity, language, religion, origins against the census base")
    p.add_argument("--area-level", dest="area_level", default="force", choices=list(AREA_LEVELS),
                   help="areas the groups are compared within (default force)")
    p.add_argument("--scheme", default="oac2011", help="classification scheme (default oac2011)")
    p.add_argument("--level", default="1", help="level of the scheme (default 1)")
    p.add_argument("--target", type=float, default=0.7,
                   help="flag groups below this share of their proportionate share (default 0.7)")
    p.add_argument("--min-n", dest="min_n", type=float, default=0,
                   help="judge a group only when at least this many network members are "
                        "expected in it (default 0)")
    p.add_argument("--as-of", dest="as_of", default=None,
                   help="the day members are counted on (default today)")
    p.add_argument("--suppress-below", dest="suppress_below", type=int, default=0,
                   help="the partner/public view: counts below this withheld, with what would "
                        "give them away (default 0: exact)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_networks)
