# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt engagement``: messages sent, delivered, replied, unsubscribed, surveys completed per
area, message, sender or group; ``lpt engagement effect``: the effect of "You said, we did"
on confidence (observational)."""
from __future__ import annotations

import math

from lpt_cli.commands._common import open_from_args, print_json
from lpt_cli.commands.priorities import records


def _pct(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}%"


def _n(v) -> str:
    return "<k" if v is None else str(v)


def _figures(args) -> int:
    from spatial_core.engagement.tracking import engagement

    k = None if args.k == 0 else args.k
    with open_from_args(args, create=False) as store:
        e = engagement(store, by=args.by, level=args.level, k=k)
    if args.json:
        print_json({"by": args.by, "level": args.level, "k": k, "rows": records(e)})
        return 0
    if not len(e):
        print("no messages yet")
        return 0
    if args.by == "group":
        print(f"{'dimension':<10}{'group':<12}{'reached':>9}{'replied':>9}{'share reached':>15}"
              f"{'share replied':>15}{'ratio':>7}")
        for r in e.itertuples():
            ratio = "-" if r.ratio != r.ratio else f"{r.ratio:.2f}"
            print(f"{r.dimension:<10}{str(r.group)[:11]:<12}{_n(r.delivered):>9}"
                  f"{_n(r.replied):>9}{_pct(r.share_delivered):>15}{_pct(r.share_replied):>15}"
                  f"{ratio:>7}")
        return 0
    key = {"area": "area_name", "message": "message_id", "sender": "created_by"}[args.by]
    print(f"{args.by:<28}{'sent':>7}{'deliv.':>7}{'bounce':>7}{'replied':>8}{'unsub.':>7}"
          f"{'surveys':>8}{'reply':>8}{'unsub.':>8}")
    for r in e.to_dict(orient="records"):
        print(f"{str(r[key])[:27]:<28}{_n(r['sent']):>7}{_n(r['delivered']):>7}"
              f"{_n(r['bounced']):>7}{_n(r['replied']):>8}{_n(r['unsubscribed']):>7}"
              f"{_n(r['surveys']):>8}{_pct(r['reply_rate']):>8}{_pct(r['unsubscribe_rate']):>8}")
    if k:
        print(f"(<k: a count from 1 to {k - 1}, withheld)")
    return 0


def _effect(args) -> int:
    from spatial_core.engagement.tracking import feedback_effect

    with open_from_args(args, create=False) as store:
        f = feedback_effect(store, measure=args.measure, follow_up_days=args.follow_up_days)
    if args.json:
        print_json(f.as_dict())
        return 0
    if f.treated == 0:
        print('no members sent "You said, we did" have answered surveys before and after: '
              "nothing to compare yet")
        return 0
    print(f'Effect of "You said, we did" on {f.measure} (1-5): {f.estimate:+.3f} '
          f"({f.level:.0%} CI {f.ci_low:+.3f} to {f.ci_high:+.3f})")
    print(f"  {f.treated} members sent it against {f.controls} comparable members in "
          f"{f.strata} strata (beat x baseline band x group); {f.unmatched} had no match")
    print(f"  change: sent {f.treated_change:+.3f}, not sent {f.control_change:+.3f}; "
          f"unmatched difference {f.naive:+.3f}")
    print(f"  {f.statement}")
    return 0


def _engagement(args) -> int:
    if args.view == "effect" or args.effect:
        return _effect(args)
    return _figures(args)


def register(sub) -> None:
    p = sub.add_parser("engagement", help="engagement figures per area, message, sender or "
                                          "group; 'effect' for the effect of feedback")
    p.add_argument("view", nargs="?", default="figures", choices=["figures", "effect"],
                   help="figures (default) or effect")
    p.add_argument("--effect", action="store_true", help="same as 'lpt engagement effect'")
    p.add_argument("--by", default="area", choices=["area", "message", "sender", "group"])
    p.add_argument("--level", default="beat", choices=["beat", "npa", "ward", "force"])
    p.add_argument("--k", type=int, default=5,
                   help="withhold counts from 1 to k-1 (default 5; 0 shows exact counts)")
    p.add_argument("--measure", default="confidence",
                   choices=["confidence", "feel_safe", "understands"],
                   help="the answer the effect is measured on (default confidence)")
    p.add_argument("--follow-up-days", dest="follow_up_days", type=int, default=120,
                   help="the follow-up answer is the first within this many days (default 120)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_engagement)
