# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt score``: explainable street scores, the top streets of each beat with reasons and
the recommended action of each (``--actions FILE`` for your own rules)."""
from __future__ import annotations

from lpt_cli.commands._common import open_from_args, print_json, progress_bar
from spatial_core.frames import json_records as records


def _score(args) -> int:
    from spatial_core.api import FORCE
    from spatial_core.api.scores import action_rules, score_streets_for
    from spatial_core.targeting.profiles import load_profile, profile_to_dict
    from spatial_core.targeting.scoring import save_scores

    profile = load_profile(args.profile)
    rules = action_rules(args.actions)  # a bad rules file fails before any scoring
    store = open_from_args(args, create=False)
    progress, close = progress_bar(not args.json)
    try:
        run = score_streets_for(store, FORCE, profile, area=args.area, as_of=args.as_of,
                                actions=rules, progress=progress)
        close()
        run_id = save_scores(store, run) if args.save else None
    finally:
        close()
        store.close()
    scores = run.scores
    top = scores[scores["rank_in_beat"] <= args.top]
    if args.json:
        print_json({"run_id": run_id, "profile": profile_to_dict(profile), "area": run.area,
                    "as_of": run.as_of, "inputs_fingerprint": run.fingerprint,
                    "actions": rules.source,
                    "streets": len(scores), "top": args.top, "scores": records(top)})
        return 0
    where = f" in {run.area}" if run.area else ""
    print(f"street scores{where} as of {run.as_of}, profile {profile.name!r} "
          f"({len(scores):,} streets; weights "
          + ", ".join(f"{k} {v:g}" for k, v in profile.weights.items()) + ")")
    for beat, g in top.groupby(top["beat_id"].fillna("(no beat)"), sort=True):
        print(f"\n{beat}")
        for r in g.itertuples():
            print(f"  {r.rank_in_beat:>3}. {r.name:<28.28} {r.score:6.2f}  {r.reasons}")
            print(f"       -> {r.action_label}: {r.action_reason}")
    if run_id:
        print(f"\nsaved as run {run_id}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("score", help="score streets for targeting, with reasons")
    p.add_argument("--profile", default=None, metavar="FILE_OR_NAME",
                   help="a targeting profile: a .toml file or a shipped name "
                        "(default, harm, engagement); default: default")
    p.add_argument("--area", default=None, metavar="ID",
                   help="score only this area's streets (beat:…, ward:…, npa:…, force:…)")
    p.add_argument("--as-of", dest="as_of", default=None, metavar="DATE",
                   help="score as on this day (default: the end of the newest crime month)")
    p.add_argument("--top", type=int, default=5, metavar="N",
                   help="streets shown per beat (default 5)")
    p.add_argument("--actions", default=None, metavar="FILE",
                   help="recommended-action rules (TOML, docs/analytics/recommended-actions.md;"
                        " default: the shipped rules)")
    p.add_argument("--save", action="store_true",
                   help="store the run and its scores (tables score_runs, street_scores)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_score)
