# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt progress``: every live set-up against its targets, beats falling behind, and the
force headline (:func:`spatial_core.api.progress.progress`), by officer, day or beat."""
from __future__ import annotations

from lpt_cli.commands._common import open_from_args, print_json


def _pct(v) -> str:
    return "-" if v is None or v != v else f"{100 * v:.0f}%"


def _n(v) -> str:
    return "<k" if v is None else f"{int(v):,}"


def _target(row, name: str, measure: str) -> str:
    goal = row.get(f"target_{name}")
    if goal is None or goal != goal:
        return ""
    return f"{measure} {_pct(row.get(f'share_{name}'))} of {int(goal):,}"


def _print(report, by: str | None) -> None:
    h = report.headline
    since = f"since {report.since}" if report.since else "all recorded visits"
    print(f"Headline ({since}, to {h['until']}): {_n(h['households_visited'])} houses "
          f"visited ({_n(h['visits'])} visits), {_n(h['registered'])} registered "
          f"({_n(h['joined'])} now members), {_n(h['surveyed'])} surveyed at the door, "
          f"{_n(h['surveyed_online'])} answered online later")
    if report.k:
        print(f"(<k: a count from 1 to {report.k - 1}, withheld)")
        return
    print(f"Rule: {report.rule}")
    if not len(report.setups):
        print("no live set-up")
        return
    for s in report.setups.to_dict(orient="records"):
        flag = ("BEHIND on " + ", ".join(s["behind_on"])) if s["behind"] else "on pace"
        print(f"\n{s['setup_id']}  {s['name']}  ({s['goal']}; day {s['days_elapsed']:.0f}, "
              f"{_pct(s['elapsed'])} of the period)  {flag}")
        goals = [t for t in (_target(s, "visits", "visits"),
                             _target(s, "registrations", "registered"),
                             _target(s, "surveys", "surveyed")) if t]
        if not goals:
            goals = [f"households {_pct(s['share_households'])} of {s['households']:,} "
                     "on the walk lists"]
        print(f"  {s['households_visited']:,} of {s['households']:,} households visited, "
              f"{s['visits']:,} visits, {s['registered']:,} registered ({s['joined']:,} "
              f"joined), {s['surveyed']:,} surveyed (+{s['surveyed_online']:,} online); "
              + "; ".join(goals))
    if by == "beat" or by is None:
        rows = report.beats if by == "beat" else report.behind
        print("\nbeats" + ("" if by == "beat" else " falling behind") + ":"
              + ("" if len(rows) else " none"))
        for b in rows.to_dict(orient="records"):
            flag = ("BEHIND on " + ", ".join(b["behind_on"])) if b["behind"] else ""
            print(f"  {b['setup_id']:<24}{b['beat_id']:<18}{b['households_visited']:>6} of "
                  f"{b['households']:<6} visits {_pct(b['share_visits']):>5}  registered "
                  f"{_pct(b['share_registrations']):>5}  surveyed "
                  f"{_pct(b['share_surveys']):>5}  {flag}")
    if by == "officer":
        print(f"\n{'set-up':<24}{'officer':<28}{'visits':>7}{'houses':>7}{'reg.':>6}"
              f"{'joined':>7}{'surv.':>6}{'online':>7}{'days':>6}")
        for o in report.officers.to_dict(orient="records"):
            print(f"{o['setup_id'][:23]:<24}{str(o['officer'])[:27]:<28}{o['visits']:>7}"
                  f"{o['households_visited']:>7}{o['registered']:>6}{o['joined']:>7}"
                  f"{o['surveyed']:>6}{o['surveyed_online']:>7}{o['days_out']:>6}")
    if by == "day":
        print(f"\n{'set-up':<24}{'day':<12}{'visits':>7}{'houses':>7}{'reg.':>6}"
              f"{'joined':>7}{'surv.':>6}{'online':>7}{'officers':>9}")
        for d in report.days.to_dict(orient="records"):
            print(f"{d['setup_id'][:23]:<24}{d['day']:<12}{d['visits']:>7}"
                  f"{d['households_visited']:>7}{d['registered']:>6}{d['joined']:>7}"
                  f"{d['surveyed']:>6}{d['surveyed_online']:>7}{d['officers']:>9}")


def _progress(args) -> int:
    from spatial_core.api.progress import progress

    with open_from_args(args, create=False) as store:
        report = progress(store, setup_id=args.setup, since=args.since, now=args.now,
                          period_days=args.period_days, behind_below=args.behind_below,
                          grace_days=args.grace_days)
    if args.json:
        data = report.to_dict()
        if args.by:  # the breakdown asked for, with the set-ups and headline
            data = {k: v for k, v in data.items()
                    if k not in {"beats", "officers", "days"} - {f"{args.by}s"}}
        print_json(data)
        return 0
    _print(report, args.by)
    return 0


def register(sub) -> None:
    from spatial_core.targeting.progress import (
        DEFAULT_BEHIND_BELOW,
        DEFAULT_GRACE_DAYS,
        DEFAULT_PERIOD_DAYS,
    )

    p = sub.add_parser("progress", help="live set-ups against their targets, beats falling "
                                        "behind, and the headline (houses visited, "
                                        "registered, surveyed)")
    p.add_argument("--setup", default=None, help="one live set-up only (its id)")
    p.add_argument("--by", default=None, choices=["officer", "day", "beat"],
                   help="a breakdown: per officer, per day or per beat (default: the beats "
                        "falling behind)")
    p.add_argument("--since", default=None,
                   help="YYYY-MM-DD: the headline and the rows per officer and day count "
                        "visits from this day (targets are always judged since creation)")
    p.add_argument("--now", default=None, help="the report moment (default the clock)")
    p.add_argument("--period-days", dest="period_days", type=float,
                   default=DEFAULT_PERIOD_DAYS,
                   help=f"a set-up's period from its creation (default {DEFAULT_PERIOD_DAYS})")
    p.add_argument("--behind-below", dest="behind_below", type=float,
                   default=DEFAULT_BEHIND_BELOW,
                   help="behind when the share of a target done is below this share of the "
                        f"share of the period elapsed (default {DEFAULT_BEHIND_BELOW})")
    p.add_argument("--grace-days", dest="grace_days", type=float, default=DEFAULT_GRACE_DAYS,
                   help=f"judge nothing before this many days (default {DEFAULT_GRACE_DAYS:g})")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_progress)
