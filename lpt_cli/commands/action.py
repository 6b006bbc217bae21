# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt action``: the actions log (what police and partners did about a local priority)."""
from __future__ import annotations

import argparse
import os
from datetime import date

from lpt_cli.commands._common import open_from_args, print_json, printed_json_or_empty


def _add(args) -> int:
    from spatial_core.engagement.actions import add_action

    by = (args.by or os.environ.get("LPT_OFFICER") or "").strip()
    with open_from_args(args, create=False) as store:
        action_id = add_action(store, done_on=args.date or date.today().isoformat(),
                               priority=args.priority, area_id=args.area, what=args.what,
                               partner=args.partner, recorded_by=by, now=args.now)
    if args.json:
        print_json({"action_id": action_id})
    else:
        print(f"action {action_id} recorded for {args.area}")
    return 0


def _list(args) -> int:
    from spatial_core.engagement.actions import list_actions

    with open_from_args(args, create=False) as store:
        a = list_actions(store, area_id=args.area, period=args.period)
    empty = "no actions recorded" + (f" for {args.area}" if args.area else "")
    if printed_json_or_empty(args, a, empty):
        return 0
    for r in a.itertuples():
        partner = f" (with {r.partner})" if isinstance(r.partner, str) and r.partner else ""
        print(f"{r.done_on}  {str(r.area_name)[:24]:<24}  {str(r.label)[:28]:<28}  "
              f"{r.what}{partner}  [{r.recorded_by}]")
    return 0


def register(sub) -> None:
    p = sub.add_parser("action", help="the actions log: what police and partners did about a "
                                      "local priority")
    ss = p.add_subparsers(dest="action_command", required=True, metavar="ACTION")
    a = ss.add_parser("add", help="record an action")
    a.add_argument("--area", required=True, metavar="AREA_ID", help="beat:…, ward:…, npa:… or "
                                                                   "force:…")
    a.add_argument("--priority", required=True,
                   help="the local priority: asb, road_safety, drugs … (or its label)")
    a.add_argument("--what", required=True, help="what was done")
    a.add_argument("--partner", default=None, help="the partner who did it, if any")
    a.add_argument("--date", default=None, help="when it was done, YYYY-MM-DD (default today)")
    a.add_argument("--by", default=None, metavar="OFFICER",
                   help="who records it (default $LPT_OFFICER)")
    a.add_argument("--now", default=None, help=argparse.SUPPRESS)
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=_add)
    s = ss.add_parser("list", help="list actions, newest first")
    s.add_argument("--area", default=None, metavar="AREA_ID",
                   help="only this area and the areas above it")
    s.add_argument("--period", default=None, help="2026Q3, 2026-01..2026-06 …")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_list)

