# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt evaluate``: concentration of harm on streets and a backtest of the street ranking."""
from __future__ import annotations

import math

from lpt_cli.commands._common import open_from_args, print_json
from lpt_cli.commands.priorities import records


def _pct(v) -> str:
    return "    -" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:5.1f}%"


def _evaluate(args) -> int:
    from spatial_core.analytics.harm import crime_months
    from spatial_core.errors import InputError
    from spatial_core.targeting.evaluation import DEFAULT_FRACTIONS, backtest, concentration
    from spatial_core.targeting.profiles import load_profile

    store = open_from_args(args, create=False)
    try:
        stored = crime_months(store)
        if not stored:
            raise InputError("no crime is stored: import crimes first (lpt import crimes FILE)")
        train = crime_months(store, args.train) if args.train else None
        test = crime_months(store, args.test) if args.test else None
        if train is None and test is None and len(stored) >= 2:
            train, test = stored[:-1], stored[-1:]
        elif train is None and test is not None:
            train = [m for m in stored if m < min(test)]
        elif test is None and train is not None:
            test = [m for m in stored if m > max(train)][:1]
        conc_months = test or stored
        conc = concentration(store, conc_months, level=args.level, weight=args.weight,
                             max_distance=args.max_distance)
        result = None
        if train and test:
            result, detail = backtest(store, train, test, top=args.top, weight=args.weight,
                                      half_life_months=args.half_life,
                                      max_distance=args.max_distance, score=args.score,
                                      profile=(load_profile(args.profile)
                                               if args.profile else None))
    finally:
        store.close()
    cols = [c for c in conc.columns if c.startswith("top_")]
    if args.json:
        out: dict[str, object] = {"concentration": {"months": conc_months, "level": args.level,
                                 "weight": args.weight, "max_distance": args.max_distance,
                                 "crimes": {k: conc.attrs.get(k) for k in
                                            ("crimes_read", "crimes_on_streets", "harm_read",
                                             "harm_on_streets")},
                                 "areas": records(conc)},
               "backtest": result.to_dict() if result else None}
        if result is not None:
            out["selected_streets"] = records(detail[detail["selected"]])
        print_json(out)
        return 0
    a = conc.attrs
    when = ", ".join(conc_months) if len(conc_months) <= 4 else f"{len(conc_months)} months"
    print(f"Concentration of {args.weight} on streets, {when} "
          f"({a['crimes_on_streets']:,} of {a['crimes_read']:,} located crimes within "
          f"{args.max_distance:g} m of a street unit)")
    head = "".join(f"{'top ' + format(f * 100, 'g') + '%':>9}" for f in DEFAULT_FRACTIONS)
    print(f"  {'area':<28}{'streets':>8}{'w/ crime':>9}{head}{'gini':>7}")
    for r in conc.itertuples():
        shares = "".join(f"{_pct(getattr(r, c)):>9}" for c in cols)
        gini = "   -" if math.isnan(r.gini) else f"{r.gini:.2f}"
        print(f"  {str(r.area_id)[:27]:<28}{r.streets:>8,}{r.streets_with_harm:>9,}{shares}"
              f"{gini:>7}")
    if result is None:
        print("\nNo backtest: it needs a training month before a test month "
              "(give --train and --test).")
        return 0
    r = result
    print(f"\nBacktest: score with {', '.join(r.train_months)}; test on {', '.join(r.test_months)}")
    print(f"  top {r.top:.0%} of streets: {r.selected:,} of {r.streets:,} "
          f"({_pct(r.length_share).strip()} of the street length)")
    print(f"  hit rate {_pct(r.hit_rate).strip()} of the test {args.weight}; "
          f"PAI {r.pai_length:.2f} (length), {r.pai_streets:.2f} (streets)")
    print(f"  oracle (same number of streets, chosen by the test months): "
          f"{_pct(r.oracle_hit_rate).strip()}, PAI {r.oracle_pai_length:.2f}")
    print(f"  score: {r.score}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="harm concentration on streets and a backtest "
                                        "(hit rate, predictive accuracy index)")
    p.add_argument("--train", nargs="+", metavar="PERIOD",
                   help="months to score with: 2024-03, 2024Q1, 2024-01..2024-06 "
                        "(default: every stored month before the test months)")
    p.add_argument("--test", nargs="+", metavar="PERIOD",
                   help="months to measure on (default: the month after the training months; "
                        "with neither option, the last stored month)")
    p.add_argument("--top", type=float, default=0.05,
                   help="share of streets selected (default 0.05)")
    p.add_argument("--weight", default="harm", choices=["harm", "count"])
    p.add_argument("--score", default="baseline", choices=["baseline", "scoring-harm", "scoring"],
                   help="baseline: recency-weighted harm per street; scoring-harm: the harm "
                        "component of lpt score; scoring: its composite score")
    p.add_argument("--profile", help="targeting profile (name or TOML file) for --score "
                                     "scoring / scoring-harm")
    p.add_argument("--half-life", dest="half_life", type=float, default=6.0,
                   help="recency half-life of the baseline score in months (default 6)")
    p.add_argument("--max-distance", dest="max_distance", type=float, default=50.0,
                   help="metres from a street unit within which a crime counts (default 50)")
    p.add_argument("--level", default="beat", choices=["beat", "ward"],
                   help="areas of the concentration table (default beat)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_evaluate)
