# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt evaluate setup ID``: did a set-up work? (a sub-mode of ``lpt evaluate``)

Its arguments are added to the ``evaluate`` parser by :func:`add_arguments`; ``_evaluate``
hands over to :func:`run` when the first word is ``setup``. The analysis is
:func:`spatial_core.api.evaluation.evaluate_setup`.
"""
from __future__ import annotations

import math

from lpt_cli.commands._common import open_from_args, print_json, progress_bar

__all__ = ["add_arguments", "run", "WHAT"]

WHAT = ("setup",)
"""What ``lpt evaluate`` can evaluate besides the street ranking."""


def add_arguments(p) -> None:
    """The optional positionals ``setup ID`` and the set-up options of ``lpt evaluate``."""
    p.add_argument("what", nargs="?", choices=list(WHAT), metavar="setup",
                   help="'setup ID': before/after evaluation of a targeting set-up against "
                        "comparable streets not targeted (difference in differences)")
    p.add_argument("setup_id", nargs="?", metavar="ID", help="the set-up id (lpt setup list)")
    g = p.add_argument_group("lpt evaluate setup ID")
    g.add_argument("--before-months", dest="before_months", type=int, default=None,
                   metavar="N", help="months before the start to compare with (default: as "
                                     "many as the after window)")
    g.add_argument("--after-months", dest="after_months", type=int, default=None,
                   metavar="N", help="months from the start (default: to the newest crime "
                                     "month)")
    g.add_argument("--after-from", dest="after_from", default="start",
                   choices=["start", "end"],
                   help="the after window starts at the set-up's start (default) or at its "
                        "end (archived)")
    g.add_argument("--matches", type=int, default=2,
                   help="comparison streets per targeted street (default 2)")
    g.add_argument("--exclude-m", dest="exclude_m", type=float, default=100.0,
                   help="streets this close to a targeted street are never comparison "
                        "streets (default 100 m)")


def _f(v, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:,.{digits}f}"


def run(args) -> int:
    """Evaluate one set-up and print the table (or ``--json``)."""
    from spatial_core.api.evaluation import evaluate_setup
    from spatial_core.errors import InputError

    if not args.setup_id:
        raise InputError("lpt evaluate setup needs a set-up id: lpt evaluate setup ID "
                         "(lpt setup list --all shows them)")
    store = open_from_args(args, create=False)
    progress, close = progress_bar(enabled=not args.json)
    try:
        e = evaluate_setup(store, args.setup_id, before_months=args.before_months,
                           after_months=args.after_months, after_from=args.after_from,
                           matches=args.matches, exclude_m=args.exclude_m, progress=progress)
    finally:
        close()
        store.close()
    if args.json:
        print_json(e.to_dict())
        return 0
    w = e.effect.windows
    d = e.to_dict(streets=False)
    print(f"Set-up {e.setup_id}: {e.name} ({e.goal}, {e.status}; started {e.started}"
          + (f", ended {e.ended}" if e.ended else "") + ")")
    print(f"  before {w.before[0]} .. {w.before[-1]} ({len(w.before)} months), after "
          f"{w.after[0]} .. {w.after[-1]} ({len(w.after)} months), from the "
          f"{e.after_from}")
    print(f"  {d['streets_targeted']} targeted streets against {d['streets_comparison']} "
          f"comparable streets not targeted (same neighbourhood policing area, over "
          f"{e.effect.method['exclude_m']:g} m away, matched on crime, households and "
          f"membership before)")
    print()
    print(f"  {'outcome':<14}{'targeted':>19}{'comparison':>19}{'difference':>12}"
          f"{'95% interval':>20}  n (targeted, comparison)")
    for r in e.outcomes.itertuples():
        t = f"{_f(r.targeted_before)} -> {_f(r.targeted_after)}"
        c = f"{_f(r.comparison_before)} -> {_f(r.comparison_after)}"
        ci = f"{_f(r.ci_low)} .. {_f(r.ci_high)}"
        n = (f"{r.n_targeted_before:,}/{r.n_targeted_after:,}, "
             f"{r.n_comparison_before:,}/{r.n_comparison_after:,} {r.n_what}")
        print(f"  {r.label:<14}{t:>19}{c:>19}{_f(r.did):>12}{ci:>20}  {n}")
    print()
    print("  units: " + "; ".join(f"{r.label.lower()} {r.unit}" for r in e.outcomes.itertuples()))
    b = e.effect.balance
    print("  before the start (targeted / comparison means): " + "; ".join(
        f"{r.label} {_f(r.targeted_mean)} / {_f(r.comparison_mean)}" for r in b.itertuples()))
    trend = e.effect.pre_trend
    if len(trend):
        print(f"  pre-trend check ({trend['before'].iloc[0].replace(',', ' ')} against "
              f"{trend['after'].iloc[0].replace(',', ' ')}; 0 inside the interval is what "
              f"parallel trends expect): " + "; ".join(
                  f"{r.label} {_f(r.did)} ({_f(r.ci_low)} .. {_f(r.ci_high)})"
                  for r in trend.itertuples()))
    print()
    for r in e.outcomes.itertuples():
        print(f"  - {r.verdict}")
    if e.warnings:
        print()
        for text in e.warnings:
            print(f"  ! {text}")
    print()
    print(e.verdict)
    return 0
