# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt draft``: the "You said, we did" draft for an area, to edit and send with
``lpt message create --kind you_said_we_did --text-file …``."""
from __future__ import annotations

from lpt_cli.commands._common import open_from_args, print_json


def _draft(args) -> int:
    from spatial_core.engagement.actions import you_said_we_did_draft

    with open_from_args(args, create=False) as store:
        d = you_said_we_did_draft(store, args.area, period=args.period, min_n=args.min_n)
    if args.json:
        print_json({"area_id": d.area_id, "area_name": d.area_name, "period": d.period,
                    "respondents": d.respondents, "subject": d.subject, "body": d.body,
                    "priorities": list(d.priorities)})
        return 0
    if not args.body:
        print(f"Subject: {d.subject}\n")
    print(d.body)
    return 0


def register(sub) -> None:
    p = sub.add_parser("draft", help='draft a "You said, we did" message for an area')
    p.add_argument("--area", required=True, metavar="AREA_ID",
                   help="beat:…, ward:…, npa:… or force:…")
    p.add_argument("--period", default=None,
                   help="survey responses and actions counted: 2026Q3, 2026-04..2026-09 … "
                        "(default all)")
    p.add_argument("--min-n", dest="min_n", type=int, default=10,
                   help="fewest respondents for local priorities (default 10)")
    p.add_argument("--body", action="store_true",
                   help="only the message text (for --text-file), no subject line")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_draft)
