# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt change``: quarterly snapshots per area, changes, trends and the paired change."""
from __future__ import annotations

import math

from lpt_cli.commands._common import (
    add_level_argument,
    open_from_args,
    print_json,
    progress_bar,
)
from lpt_cli.commands.priorities import records


def _f(v, digits: int = 2) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _change(args) -> int:
    from spatial_core.analytics.change import (
        paired_change,
        quarter_changes,
        quarter_trends,
        quarterly_snapshots,
    )

    store = open_from_args(args, create=False)
    progress, close = progress_bar(not args.json)
    try:
        snap = quarterly_snapshots(store, level=args.level, quarters=args.quarters,
                                   scheme=args.scheme, representation=args.representation,
                                   progress=progress)
        changes = quarter_changes(snap)
        trends = quarter_trends(snap)
        first, second = (args.paired if args.paired else
                         (snap.quarters[-2:] if len(snap.quarters) >= 2 else (None, None)))
        paired = (paired_change(store, first, second, level=args.level)
                  if first and second else None)
    finally:
        close()
        store.close()
    if args.json:
        print_json({"level": snap.level, "quarters": list(snap.quarters),
                    "snapshots": records(snap.areas), "priorities": records(snap.priorities),
                    "representation": (records(snap.representation)
                                       if snap.representation is not None else None),
                    "changes": records(changes), "trends": records(trends),
                    "paired": {"first": first, "second": second, "rows": records(paired)}
                    if paired is not None else None})
        return 0
    print(f"Quarterly snapshots per {snap.level}: {', '.join(snap.quarters)}")
    last = changes[changes["quarter_to"] == snap.quarters[-1]] if len(snap.quarters) > 1 else None
    print(f"  {'area':<28}{'resp':>6}{'conf':>6}{'safe':>6}{'mem/100':>9}{'crimes':>8}"
          + ("   change since the quarter before (95% CI)" if last is not None else ""))
    now = snap.areas[snap.areas["quarter"] == snap.quarters[-1]]
    for r in now.itertuples():
        text = ""
        if last is not None:
            mine = last[last["area_id"] == r.area_id].set_index("measure")
            bits = []
            for m, label in (("confidence_mean", "conf"), ("feel_safe_mean", "safe"),
                             ("crimes", "crimes")):
                if m in mine.index and not math.isnan(mine.at[m, "change"]):
                    c = mine.loc[m]
                    bits.append(f"{label} {c['change']:+.2f} "
                                f"({_f(c['ci_low'])}..{_f(c['ci_high'])})")
            text = "   " + "; ".join(bits)
        print(f"  {str(r.area_name)[:27]:<28}{r.responses:>6}{_f(r.confidence_mean, 1):>6}"
              f"{_f(r.feel_safe_mean, 1):>6}{_f(r.members_per_100, 1):>9}{r.crimes:>8}{text}")
    if paired is not None:
        print(f"\nSame people, {first} -> {second} (members who answered in both):")
        for r in paired[paired["area_id"] == "all"].itertuples():
            print(f"  {r.measure:<11} n={r.n:<5} {_f(r.mean_first)} -> {_f(r.mean_second)}: "
                  f"change {_f(r.mean_change)} (95% CI {_f(r.ci_low)} .. {_f(r.ci_high)})")
    if snap.representation is None:
        print("\n(representation not included)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("change", help="quarterly snapshots per area: priorities, confidence, "
                                      "coverage, representation, crime; changes and trends")
    add_level_argument(p)
    p.add_argument("--quarters", nargs="+", metavar="QUARTER",
                   help="quarters such as 2025Q4 2026Q1 (default: all with surveys or crime)")
    p.add_argument("--paired", nargs=2, metavar=("FIRST", "SECOND"),
                   help="two periods for the paired change of the same people "
                        "(default: the last two quarters)")
    p.add_argument("--scheme", default="oac2011", help="geodemographic scheme of the "
                                                       "representation table")
    p.add_argument("--no-representation", dest="representation", action="store_false",
                   help="leave out the representation table (faster)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_change)
