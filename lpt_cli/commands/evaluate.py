# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt evaluate``: concentration of harm on streets, a backtest of the street ranking, and
rolling-origin backtests (``--rolling``) that can tune the crime parameters (``--tune``)."""
from __future__ import annotations

import math

from lpt_cli.commands._common import open_from_args, print_json
from lpt_cli.commands.priorities import records


def _pct(v) -> str:
    return "    -" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:5.1f}%"


def _rolling(args) -> int:
    """``lpt evaluate --rolling``: rolling-origin backtests (and ``--tune``)."""
    from pathlib import Path

    from spatial_core.api.backtest import crime_backtest
    from spatial_core.targeting.profiles import load_profile, profile_to_toml

    store = open_from_args(args, create=False)
    try:
        b = crime_backtest(store, units=args.units, resolution=args.resolution,
                           max_distance=args.max_distance, origins=args.origins,
                           horizon=args.horizon, top=args.top,
                           profile=load_profile(args.profile) if args.profile else None,
                           min_history=args.min_history, lead=args.lead,
                           history=args.history, tune=args.tune)
    finally:
        store.close()
    profile, rows, summary, table = b.profile, b.rows, b.summary, b.tuning
    if b.tuned and args.write_profile:
        Path(args.write_profile).write_text(profile_to_toml(profile), encoding="utf-8")
    if args.json:
        print_json(b.to_dict() | {"profile_written": args.write_profile if b.tuned else None})
        return 0
    if not len(rows):
        print("No origin can be tested: it needs --min-history months up to it and "
              "--horizon months after it.")
        return 0
    first, last = rows["origin"].iloc[0], rows["origin"].iloc[-1]
    ahead = "the next" if args.lead == 1 else f"from {args.lead} months on,"
    seen = ("" if args.history is None else " (ranked with only the months "
            + ", ".join(str(h) for h in sorted(set(args.history), reverse=True))
            + " before the origin)")
    print(f"Rolling backtest on {b.unit_count:,} {b.where}: {summary['origins'].iloc[0]} "
          f"origins {first} .. {last}{seen}, test {ahead} {args.horizon} month(s), "
          f"top {args.top:.0%} ({rows['selected'].iloc[0]:,} units)")
    print(f"  crime component: half-life {profile.half_life_days:g} days, long-run rate "
          f"worth {profile.long_run_months:g} months, look-back "
          f"{profile.lookback_days} days, prior_crimes {profile.prior_crimes:g} (mix of the "
          f"{profile.mix_within}), smoothing {profile.smoothing:g} ({profile.harm_model})")
    print(f"  {'ranking':<10}{'hit rate':>9}{'sd':>6}{'min':>8}{'max':>8}{'crimes':>8}"
          f"{'PAI':>7}{'sd':>6}  ahead of count")
    for r in summary.itertuples():
        sd = "     -" if math.isnan(r.hit_rate_sd) else f"{100 * r.hit_rate_sd:6.1f}"
        pai_sd = "     -" if math.isnan(r.pai_sd) else f"{r.pai_sd:6.2f}"
        print(f"  {r.method:<10}{_pct(r.hit_rate):>9}{sd}"
              f"{_pct(r.hit_rate_min):>8}{_pct(r.hit_rate_max):>8}"
              f"{_pct(r.hit_rate_crimes):>8}{r.pai:7.2f}{pai_sd}  {r.beats_count}/{r.origins}")
    ranked = rows[(rows["tied_at_cut"] > 1) & (rows["method"] != "oracle")]
    tied = ranked.groupby("method")["tied_at_cut"].median()
    if len(tied):
        print("  units tied at the cut share the places left (median tied: "
              + ", ".join(f"{m} {int(v):,}" for m, v in tied.items()) + ")")
    if table is not None:
        b = table.iloc[0]
        print(f"\nTuned (in-sample, {len(table)} combinations): half-life "
              f"{b['half_life_days']:g} days, prior_crimes {b['prior_crimes']:g}, smoothing "
              f"{b['smoothing']:g}, long_run_months {profile.long_run_months:g}: mean hit "
              f"rate {_pct(b['hit_rate']).strip()}")
        if args.write_profile:
            print(f"Profile written to {args.write_profile}")
    return 0


def _evaluate(args) -> int:
    if getattr(args, "what", None) == "setup":  # lpt evaluate setup ID (_evaluate_setup.py)
        from lpt_cli.commands._evaluate_setup import run

        return run(args)
    if args.rolling or args.tune:
        return _rolling(args)
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
    if r.tied_at_cut > 1:
        print(f"  {r.tied_at_cut:,} streets tie at the cut for the last {r.tied_places:,} "
              f"places: the hit rate shares them (by street_id: "
              f"{_pct(r.hit_rate_by_id).strip()})")
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
    r = p.add_argument_group("rolling-origin backtest")
    r.add_argument("--rolling", action="store_true",
                   help="rolling-origin backtest: for each origin month t, rank with the "
                        "months up to t, test on t+1..t+h; compares the profile's crime "
                        "component, the naive prior count, prior harm and the oracle")
    r.add_argument("--units", default="streets", choices=["streets", "cells", "locations"],
                   help="street units, the H3 cells holding crime, or police.uk's own "
                        "locations ('On or near ...' per LSOA; no street network needed) "
                        "(default streets)")
    r.add_argument("--resolution", type=int,
                   help="H3 resolution of --units cells (default: the store's)")
    r.add_argument("--origins", nargs="+", metavar="PERIOD",
                   help="origin months (default: every month with --min-history months up "
                        "to it and --horizon after it)")
    r.add_argument("--horizon", type=int, default=1, help="test months after each origin "
                                                          "(default 1)")
    r.add_argument("--lead", type=int, default=1,
                   help="months from each origin to its first test month (default 1: the next "
                        "month; 12: a year on)")
    r.add_argument("--history", type=int, nargs="+", metavar="MONTHS",
                   help="rank with only these months before each origin, 0 (the origin) "
                        "included: '12 0' is a store holding one month a year (default: every "
                        "month up to the origin)")
    r.add_argument("--min-history", dest="min_history", type=int, default=12,
                   help="months up to an origin, itself included, for the default origins "
                        "(default 12)")
    r.add_argument("--tune", action="store_true",
                   help="choose the profile's half-life, prior_crimes, smoothing and "
                        "long_run_months by the rolling backtest (implies --rolling)")
    r.add_argument("--write-profile", dest="write_profile", metavar="FILE",
                   help="with --tune: write the tuned profile (TOML) here")
    from lpt_cli.commands._evaluate_setup import add_arguments

    add_arguments(p)  # lpt evaluate setup ID [--before-months N]
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_evaluate)
