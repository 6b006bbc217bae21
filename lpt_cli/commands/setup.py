# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt setup``: targeting set-ups (create, list, report, archive, rerun)."""
from __future__ import annotations

import math

from lpt_cli.commands._common import open_from_args, print_json, progress_bar


def _fmt(v, spec: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, spec)


def _create(args) -> int:
    from spatial_core.targeting.setups import create_setup

    groups = args.target_groups
    if groups.strip().lower() != "auto":
        groups = [g.strip() for g in groups.split(",") if g.strip()]
    store = open_from_args(args, create=False)
    progress, close = progress_bar(not args.json)
    try:
        s = create_setup(store, args.name, areas=args.area, goal=args.goal, profile=args.profile,
                         target_groups=groups, target=args.target,
                         revisit_registered=args.revisit_registered,
                         visited_days=args.visited_days, declined_days=args.declined_days,
                         not_in_hours=args.not_in_hours,
                         targets={"visits": args.visits, "registrations": args.registrations,
                                  "surveys": args.surveys},
                         max_streets=args.streets, as_of=args.as_of, now=args.now,
                         setup_id=args.id, area_crs=args.crs, progress=progress,
                         community=args.community)
        close()
        from spatial_core.targeting.setups import stored_recommendation

        streets, hh = stored_recommendation(store, s.setup_id)
    finally:
        close()
        store.close()
    if args.json:
        from lpt_cli.commands.priorities import records

        print_json({"setup": s.to_dict(), "streets": records(streets.drop(columns=["geom"])),
                    "households": int(len(hh)),
                    "to_knock": int(hh["suppressed_until"].isna().sum())})
        return 0
    print(f"set-up {s.setup_id!r} created: {s.name} ({s.goal}) in {s.area_label}")
    print(f"  data as of {s.as_of}, created {s.created_at}, profile {s.profile_name!r}, "
          f"target groups {', '.join(s.target_groups) or 'none'} ({s.target_rule})")
    print(f"  {len(streets)} streets, {len(hh)} households "
          f"({int(hh['suppressed_until'].isna().sum())} to knock now)")
    for r in streets.itertuples():
        print(f"  {r.street_rank:>3}. {str(r.name)[:28]:<28} {r.score:6.2f} "
              f"{r.to_knock:>4} doors  {r.reasons}")
    return 0


def _list(args) -> int:
    from spatial_core.targeting.setups import list_setups

    with open_from_args(args, create=False) as store:
        setups = list_setups(store, include_archived=args.all)
    if args.json:
        print_json([s.to_dict() for s in setups])
        return 0
    if not setups:
        print("no set-ups" + ("" if args.all else " live (--all shows archived ones)"))
        return 0
    print(f"{'id':<28}{'status':<10}{'goal':<9}{'created':<21}area")
    for s in setups:
        print(f"{s.setup_id[:27]:<28}{s.status:<10}{s.goal:<9}{s.created_at:<21}{s.area_label}")
    return 0


def _report(args) -> int:
    from spatial_core.targeting.setups import setup_report

    with open_from_args(args, create=False) as store:
        r = setup_report(store, args.id, now=args.now)
        fair = None
        if args.fairness:
            from spatial_core.targeting.fairness import fairness_report

            fair = fairness_report(store, args.id, now=args.now)
    if args.json:
        from lpt_cli.commands.priorities import records

        data = r.to_dict()
        if fair is not None:
            data["fairness"] = records(fair)
        print_json(data)
        return 0
    t = r.totals
    print(f"set-up {r.setup_id!r} ({r.status}) at {r.now}: {t['visits']} visits to "
          f"{t['households_visited']} of {t['households']} households; {t['to_knock']} doors "
          "still to knock")
    print("  " + ", ".join(f"{k.replace('_', ' ')} {t[k]}" for k in (
        "registered", "surveyed", "spoke", "not_in", "declined", "no_access")))
    for row in r.targets.itertuples():
        if row.target is not None and not (isinstance(row.target, float)
                                           and math.isnan(row.target)):
            print(f"  target {row.measure}: {row.achieved} of {int(row.target)} "
                  f"({_fmt(row.share, '.0%')})")
    print(f"\n  {'#':>3} {'street':<28}{'homes':>6}{'visits':>7}{'reg.':>5}{'surv.':>6}"
          f"{'not in':>7}{'decl.':>6}{'to knock':>9}")
    for s in r.streets.itertuples():
        rank = "" if s.street_rank is None or (isinstance(s.street_rank, float)
                                               and math.isnan(s.street_rank)) else s.street_rank
        print(f"  {str(rank):>3} {str(s.name)[:27]:<28}{s.households:>6}{s.visits:>7}"
              f"{s.registered:>5}{s.surveyed:>6}{s.not_in:>7}{s.declined:>6}{s.to_knock:>9}")
    if fair is not None:
        print("\n  fairness by group: share of population / recommended / visited (ratio)")
        for f in fair.itertuples():
            print(f"  {str(f.group_name)[:30]:<31}{_fmt(f.population_share, '.0%'):>6}"
                  f"{_fmt(f.recommended_share, '.0%'):>7}{_fmt(f.visited_share, '.0%'):>7}"
                  f"  ({_fmt(f.visited_ratio, '.2f')})")
    return 0


def _archive(args) -> int:
    from spatial_core.targeting.setups import archive_setup

    with open_from_args(args, create=False) as store:
        s = archive_setup(store, args.id, now=args.now)
    if args.json:
        print_json(s.to_dict())
    else:
        print(f"set-up {s.setup_id!r} archived at {s.archived_at}: read-only, report kept")
    return 0


def _rerun(args) -> int:
    from spatial_core.targeting.setups import rerun_setup

    with open_from_args(args, create=False) as store:
        r = rerun_setup(store, args.id)
    data = {"setup_id": r.setup.setup_id, "identical": r.identical,
            "same_streets": r.same_streets, "same_walk_lists": r.same_walk_lists,
            "inputs_unchanged": r.inputs_unchanged, "streets": len(r.streets),
            "households": len(r.households)}
    if args.json:
        print_json(data)
    else:
        verdict = "the same streets and walk lists" if r.identical else (
            ("the same streets" if r.same_streets else "different streets")
            + (" and walk lists" if r.same_walk_lists else ", different walk lists"))
        print(f"set-up {r.setup.setup_id!r} re-run on its stored inputs: {verdict} "
              f"({len(r.streets)} streets, {len(r.households)} households); input data "
              + ("unchanged" if r.inputs_unchanged else "CHANGED since it was created"))
    return 0 if r.identical else 1


def register(sub) -> None:
    from spatial_core.targeting.setups import GOALS

    p = sub.add_parser("setup", help="targeting set-ups: streets, walk lists and progress")
    ss = p.add_subparsers(dest="setup_command", required=True, metavar="ACTION")

    c = ss.add_parser("create", help="create a set-up: score its area, pick streets, walk lists")
    c.add_argument("name", help="a name for people, e.g. 'Harehills recruitment'")
    c.add_argument("--area", action="append", required=True, metavar="ID_OR_POLYGON",
                   help="beat:…, ward:…, npa:…, force:…, or a polygon as WKT or GeoJSON "
                        "(EPSG:27700 or 4326); repeat for several")
    c.add_argument("--crs", type=int, default=None,
                   help="EPSG code of a drawn polygon (default: guessed from its coordinates)")
    c.add_argument("--goal", default="recruit", choices=list(GOALS))
    c.add_argument("--profile", default=None, metavar="FILE_OR_NAME",
                   help="targeting profile (.toml or shipped name; default by goal: "
                        "recruit/engage -> engagement, survey -> default)")
    c.add_argument("--target-groups", dest="target_groups", default="auto",
                   metavar="auto|CODE,...",
                   help="'auto' (under-represented among members, resolved now) or class codes")
    c.add_argument("--community", metavar="BY:GROUP",
                   help="target a community instead: e.g. language:polish, "
                        "ethnicity_detailed:white_other, religion:jewish, "
                        "origins:eastern_european (streets where its census share is highest)")
    c.add_argument("--target", type=float, default=0.7,
                   help="auto target groups: member share below this times the household share")
    c.add_argument("--revisit-registered", dest="revisit_registered", action="store_true",
                   help="keep households with a member on the walk lists")
    c.add_argument("--visited-days", dest="visited_days", type=int, default=28)
    c.add_argument("--declined-days", dest="declined_days", type=int, default=90)
    c.add_argument("--not-in-hours", dest="not_in_hours", type=float, default=4.0)
    c.add_argument("--visits", type=int, default=None, help="target number of visits")
    c.add_argument("--registrations", type=int, default=None, help="target registrations")
    c.add_argument("--surveys", type=int, default=None, help="target survey responses")
    c.add_argument("--streets", type=int, default=20, help="streets to recommend (default 20)")
    c.add_argument("--as-of", dest="as_of", default=None,
                   help="data date of the scores (default: the day before now)")
    c.add_argument("--now", default=None, help="creation moment (default: the clock)")
    c.add_argument("--id", default=None, help="set-up id (default: a slug of the name)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_create)

    ls = ss.add_parser("list", help="live set-ups (--all: archived ones too)")
    ls.add_argument("--all", action="store_true")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)

    r = ss.add_parser("report", help="progress against targets, per street")
    r.add_argument("id")
    r.add_argument("--now", default=None, help="report as at this moment (default: the clock)")
    r.add_argument("--fairness", action="store_true",
                   help="add who was recommended and visited, by group, against the population")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=_report)

    a = ss.add_parser("archive", help="archive a set-up: read-only, its report kept")
    a.add_argument("id")
    a.add_argument("--now", default=None)
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=_archive)

    rr = ss.add_parser("rerun", help="recompute a set-up from its stored inputs and compare "
                                     "(exit 1 when the result differs)")
    rr.add_argument("id")
    rr.add_argument("--json", action="store_true")
    rr.set_defaults(func=_rerun)
