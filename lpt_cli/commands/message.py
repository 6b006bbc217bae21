# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt message``: compose a message to an area, set-up or group, preview its reach, send it.

Delivery and links are configured by the environment: ``LPT_SMTP_URL``
(``smtp://user:pass@host:port`` or ``smtps://…``; without it ``.eml`` files go to
``LPT_OUTBOX_DIR``, default ``./outbox``), ``LPT_PUBLIC_URL`` (the geoservice's public base
URL, for the reply, survey and unsubscribe links) and ``LPT_CONTACTS_KEY`` /
``LPT_CONTACTS_KEY_FILE`` (messaging needs contacts; see ``docs/engagement.md``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from lpt_cli.commands._common import (
    add_public_url_argument,
    open_from_args,
    print_json,
    public_url,
)


def _officer(args) -> str:
    return (args.by or os.environ.get("LPT_OFFICER") or os.environ.get("USER") or "").strip()


def _text(args) -> str:
    from spatial_core.errors import InputError

    if args.text_file is None:
        return args.text
    try:
        return Path(args.text_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the message text from {args.text_file}: "
                         f"{type(exc).__name__}") from None


def _create(args) -> int:
    from spatial_core.engagement.messages import create_message
    from spatial_core.store.contacts import MESSAGING_OFF, contact_cipher

    text = _text(args)
    cipher = contact_cipher()  # a bad key is an error before anything is written
    with open_from_args(args, create=False) as store:
        p = create_message(store, created_by=_officer(args), scope_areas=None, kind=args.kind,
                           subject=args.subject, body=text, areas=args.area,
                           setup_id=args.setup, group=args.group,
                           organisation=args.organisation, now=args.now)
    if args.json:
        print_json(p.to_dict())
    else:
        h = p.held_back
        print(f"message {p.message_id} prepared ({p.kind}, {p.area_id}): {p.recipients} "
              f"recipient(s); held back: {h['opted_out']} opted out, {h['consent']} without "
              f"consent, {h['no_contact']} without a contact, {h['cap']} by the frequency cap")
        print(f"  send it with: lpt message send {p.message_id}")
    if cipher is None and p.held_back["no_contact"]:
        print(f"lpt: note: {MESSAGING_OFF}", file=sys.stderr)
    return 0


def _send(args) -> int:
    from spatial_core.engagement.delivery import delivery_from_env
    from spatial_core.engagement.messages import send_message

    link_base = public_url(args)
    delivery = delivery_from_env()
    with open_from_args(args, create=False) as store:
        r = send_message(store, args.message_id, delivery, public_url=link_base, now=args.now,
                         max_attempts=args.attempts, backoff_s=args.backoff)
    if args.json:
        data = r.to_dict()
        data["channel"] = delivery.channel
        print_json(data)
        return 0 if r.status == "sent" else 1
    print(f"message {r.message_id} through {delivery!r}: {r.sent} sent, {r.failed} failed, "
          f"{r.retried} retried, {r.uncertain} uncertain"
          + (f", {r.held} held (contact gone since it was prepared)" if r.held else "")
          + (f"; {r.pending} still to send: run the command again" if r.pending else ""))
    if r.uncertain:
        print("  uncertain: claimed by a send that was stopped; not resent, so nobody gets the "
              "message twice (docs/engagement.md)")
    return 0 if r.status == "sent" else 1


def _list(args) -> int:
    from spatial_core.engagement.messages import list_messages

    with open_from_args(args, create=False) as store:
        m = list_messages(store)
    if args.json:
        print_json([{k: (None if v != v else v) for k, v in row.items()}  # NaN -> null
                    for row in m.to_dict(orient="records")])
        return 0
    if not len(m):
        print("no messages")
        return 0
    print(f"{'message':<26}{'status':<9}{'kind':<17}{'area':<22}{'by':<12}{'created':<21}"
          f"{'recip.':>7}{'sent':>6}{'failed':>7}{'held':>6}")
    for r in m.itertuples():
        print(f"{r.message_id:<26}{r.status:<9}{r.kind:<17}{str(r.area_id)[:21]:<22}"
              f"{str(r.created_by)[:11]:<12}{r.created_at:<21}{r.recipients:>7}{r.sent:>6}"
              f"{r.failed:>7}{r.held:>6}")
    return 0


def _message_replies(args) -> int:
    from lpt_cli.commands.reply import show_replies

    return show_replies(args)


def register(sub) -> None:
    p = sub.add_parser("message", help="messages to residents: compose, preview, send, list")
    ss = p.add_subparsers(dest="message_command", required=True, metavar="ACTION")

    c = ss.add_parser("create", help="compose a message and preview its reach (nothing is sent)")
    c.add_argument("--area", action="append", required=True, metavar="AREA_ID",
                   help="beat:…, ward:…, npa:…, force:… or a street id; repeat for several")
    c.add_argument("--kind", required=True,
                   help="update, you_said_we_did, survey (invitation) or appeal")
    c.add_argument("--subject", default=None, help="default: the kind's usual subject")
    text = c.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", default=None, help="the message text")
    text.add_argument("--text-file", dest="text_file", default=None, metavar="FILE",
                      help="read the text from a UTF-8 file")
    c.add_argument("--setup", default=None, metavar="ID",
                   help="only the households of this targeting set-up")
    c.add_argument("--group", default=None,
                   help="only this group: key_individual, iag, neighbourhood_watch …, a class "
                        "'oac2011:<code>' or 'ethnicity:<group>'")
    c.add_argument("--by", default=None, metavar="OFFICER",
                   help="who composes it (default $LPT_OFFICER, else $USER)")
    c.add_argument("--organisation", default="police",
                   help="whose consent members must have given (default police)")
    c.add_argument("--now", default=None, help="moment of preparation (default the clock)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_create)

    s = ss.add_parser("send", help="send a prepared message (SMTP from $LPT_SMTP_URL, else .eml "
                                   "files in $LPT_OUTBOX_DIR or ./outbox)")
    s.add_argument("message_id", metavar="MESSAGE_ID")
    add_public_url_argument(s)
    s.add_argument("--attempts", type=int, default=4,
                   help="tries per recipient on temporary failures (default 4)")
    s.add_argument("--backoff", type=float, default=10.0,
                   help="seconds before the first retry, doubling each time (default 10)")
    s.add_argument("--now", default=None, help="send moment (default the clock)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_send)

    ls = ss.add_parser("list", help="messages, newest first, with their counts")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)

    r = ss.add_parser("replies", help="residents' replies to this message, urgent first "
                                      "(the same as lpt replies --message)")
    r.add_argument("message", metavar="MESSAGE_ID")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=_message_replies)
