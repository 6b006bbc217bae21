# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt replies``: residents' replies, urgent first (never a contact)."""
from __future__ import annotations

from lpt_cli.commands._common import open_from_args, printed_json_or_empty


def show_replies(args) -> int:
    """Print the replies (to ``args.message`` when given) as a list or ``--json``."""
    from spatial_core.engagement.replies import list_replies

    with open_from_args(args, create=False) as store:
        r = list_replies(store, message_id=args.message)
    empty = "no replies" + (f" to {args.message}" if args.message else "")
    if printed_json_or_empty(args, r, empty):
        return 0
    if r["urgent"].any():
        print(f"{int(r['urgent'].sum())} URGENT repl(ies) first: this channel is not for "
              "emergencies; act on them now")
    for x in r.itertuples():
        flag = f"URGENT ({x.urgent_words}) " if x.urgent else ""
        answered = f"  answered by {x.answered_by}" if isinstance(x.answered_by, str) else ""
        print(f"{x.received_at}  {x.reply_id}  {x.area_id}  {flag}{x.text}{answered}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("replies", help="residents' replies to messages, urgent first")
    p.add_argument("--message", default=None, metavar="MESSAGE_ID",
                   help="only the replies to this message")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=show_replies)
