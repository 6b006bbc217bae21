# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt survey``: the quarterly survey invitations (``invite-due``: what cron or a systemd
timer runs) and the survey form.

Delivery and links as ``lpt message send``: ``LPT_SMTP_URL`` (else ``.eml`` files in
``LPT_OUTBOX_DIR``), ``LPT_PUBLIC_URL``, ``LPT_CONTACTS_KEY``.
"""
from __future__ import annotations

from lpt_cli.commands._common import (
    add_public_url_argument,
    open_from_args,
    print_json,
    public_url,
)


def _invite_due(args) -> int:
    from spatial_core.engagement.delivery import delivery_from_env
    from spatial_core.engagement.surveys import invite_due
    from spatial_core.errors import InputError

    if args.every_months < 1:
        raise InputError(f"--every-months must be at least 1, got {args.every_months}")
    link_base = public_url(args)
    delivery = delivery_from_env()
    with open_from_args(args, create=False) as store:
        r = invite_due(store, delivery, public_url=link_base, every_months=args.every_months,
                       now=args.now, organisation=args.organisation)
    if args.json:
        print_json(r.as_dict())
        return 0
    if r.message_id is None:
        print(f"nobody is due a survey invitation (every {args.every_months} months)")
        return 0
    held = ", ".join(f"{v} {k}" for k, v in sorted(r.held_back.items())) or "none"
    print(f"{r.due} member(s) due; invitation {r.message_id}: {r.invited} invited, "
          f"{r.sent} sent, {r.failed} failed; held back: {held}")
    return 0


def _form(args) -> int:
    from spatial_core.engagement.surveys import SURVEY_FORM

    if args.json:
        print_json([dict(q) for q in SURVEY_FORM])
        return 0
    for q in SURVEY_FORM:
        print(f"{q['name']}: {q['label']}")
        for value, label in q.get("options", ()):
            print(f"    {value}: {label}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("survey", help="survey invitations and the survey form")
    ss = p.add_subparsers(dest="survey_command", required=True, metavar="ACTION")
    i = ss.add_parser("invite-due", help="invite members due a survey (run by cron or a "
                                         "systemd timer)")
    i.add_argument("--every-months", dest="every_months", type=int, default=3,
                   help="a member is due when not surveyed or invited for this long (default 3)")
    add_public_url_argument(i)
    i.add_argument("--organisation", default="police",
                   help="whose consent members must have given (default police)")
    i.add_argument("--now", default=None, help="the moment of the run (default the clock)")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=_invite_due)
    f = ss.add_parser("form", help="the survey's questions and answers")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=_form)
