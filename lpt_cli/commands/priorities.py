# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt priorities``: local priorities per beat, ward, npa or force."""
from __future__ import annotations

import math

from lpt_cli.commands._common import add_level_argument, open_from_args, print_json
from spatial_core.frames import json_records as records  # the CLI's JSON rows


def _pct(v: float) -> str:
    return "   -" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:3.0f}%"


def _num(v, spec: str = ".2f") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def _by_group(args) -> int:
    from spatial_core.analytics.priorities import priorities_by_group

    with open_from_args(args, create=False) as store:
        out = priorities_by_group(store, by=args.by, level=args.level, period=args.period,
                                  min_n=args.min_n, suppress_below=args.suppress_below)
    if args.json:
        print_json({"level": args.level, "period": args.period, "by": args.by,
                    "min_n": args.min_n, "suppress_below": args.suppress_below,
                    **{k: records(v) for k, v in out.items()}})
        return 0
    scores = out["scores"].set_index(["area_id", "group"])
    pri = out["priorities"]
    print(f"Local priorities, confidence and feeling safe by {args.by} per {args.level} "
          f"(period {args.period or 'all'}; at least {args.min_n} respondents"
          + (f"; counts below {args.suppress_below} withheld" if args.suppress_below else "")
          + ")")
    for r in out["people"].itertuples():
        s = scores.loc[(r.area_id, r.group)] if (r.area_id, r.group) in scores.index else None
        print(f"  {r.area_id} {r.group}: {_num(r.people, ',')} people, "
              f"{_num(r.responses, ',')} responses, {_num(r.issues, ',')} issues raised")
        if s is not None:
            for c, what in (("confidence", "confidence"), ("feel_safe", "feel safe")):
                print(f"    {what} {_num(s[c])} ({_num(s[c + '_ci_low'])}-"
                      f"{_num(s[c + '_ci_high'])}), n={_num(s[c + '_n'], '')}")
        top = pri[(pri["area_id"] == r.area_id) & (pri["group"] == r.group)].head(3)
        if len(top) and not bool(top["enough"].iloc[0]):
            print(f"    too few respondents for priorities (n < {args.min_n})")
        elif len(top):
            print("    " + "; ".join(f"{t.label} {_pct(t.share).strip()} ({_pct(t.ci_low).strip()}"
                                      f"-{_pct(t.ci_high).strip()})" for t in top.itertuples()))
    return 0


def _priorities(args) -> int:
    from spatial_core.analytics.priorities import local_priorities, priority_summary

    if args.by:
        return _by_group(args)

    with open_from_args(args, create=False) as store:
        marked = local_priorities(store, level=args.level, period=args.period, rule=args.rule,
                                  top_n=args.top, threshold=args.threshold, min_n=args.min_n)
        summary = priority_summary(store, level=args.level, min_n=args.min_n, priorities=marked)
    if args.json:
        print_json({"level": args.level, "period": args.period, "rule": args.rule,
                    "top_n": args.top, "threshold": args.threshold, "min_n": args.min_n,
                    "summary": records(summary), "areas": records(marked)})
        return 0
    rule = (f"top {args.top}" if args.rule == "top" else f"named by at least {args.threshold:.0%}")
    print(f"Local priorities per {args.level} ({rule}; at least {args.min_n} respondents; "
          f"period {args.period or 'all'})")
    for sentence in summary["sentence"]:
        print(f"  {sentence}")
    print()
    print(f"  {'area':<32}{'n':>5}  priorities (share, 95% CI)")
    for _, rows in marked.groupby("area_id", sort=True):
        first = rows.iloc[0]
        name = str(first["area_name"])[:30]
        if not first["enough"]:
            print(f"  {name:<32}{first['n']:>5}  {first['note']}")
            continue
        chosen = rows[rows["is_priority"]]
        text = "; ".join(f"{r.label} {_pct(r.share).strip()} ({_pct(r.ci_low).strip()}-"
                         f"{_pct(r.ci_high).strip()})" for r in chosen.itertuples())
        print(f"  {name:<32}{first['n']:>5}  {text or '(none named)'}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("priorities", help="local priorities per beat, ward, npa or force")
    add_level_argument(p)
    p.add_argument("--period", help="2026Q1, 2026-03, 2026 or a range 2026-01..2026-06 "
                                    "(default: every response)")
    p.add_argument("--rule", default="top", choices=["top", "share"],
                   help="top: the N most named; share: named by at least --threshold")
    p.add_argument("--top", type=int, default=3, help="N of the top rule (default 3)")
    p.add_argument("--threshold", type=float, default=0.25,
                   help="share of the share rule (default 0.25)")
    p.add_argument("--min-n", dest="min_n", type=int, default=10,
                   help="areas with fewer respondents get no priority (default 10)")
    p.add_argument("--by", default=None,
                   help="split by respondents' group: channel, group (KIN, IAG, Neighbourhood "
                        "Watch), gender, age_band, ethnicity, ethnicity_detailed, language, "
                        "religion or origins: priorities, confidence and feeling safe with n "
                        "and 95%% intervals")
    p.add_argument("--suppress-below", dest="suppress_below", type=int, default=0,
                   help="with --by: withhold counts below this (5 for partner or public "
                        "views; default 0)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_priorities)
