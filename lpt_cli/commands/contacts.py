# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt contacts``: opt a member out, make a contacts key, rotate it.

Contacts are never printed: these commands show member ids and counts only.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from lpt_cli.commands._common import open_from_args, print_json


def _opt_out(args) -> int:
    from spatial_core.engagement.consent import opt_out

    with open_from_args(args, create=False) as store:
        new = opt_out(store, args.member_id, source="officer", recorded_by=args.by,
                      now=args.now)
    if args.json:
        print_json({"member_id": args.member_id, "opted_out": True, "new": new})
    else:
        print(f"member {args.member_id} opted out" if new else
              f"member {args.member_id} had already opted out")
        if new:
            print("  their contact is erased and no message will be sent to them")
    return 0


def _new_key(args) -> int:
    from spatial_core.errors import InputError
    from spatial_core.store.contacts import new_contacts_key

    path = Path(args.out)
    if path.exists():
        raise InputError(f"{path} exists: a key file is never overwritten (a lost key loses "
                         "every stored contact)")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(new_contacts_key() + "\n")
    print(f"new contacts key written to {path} (readable by you only); set "
          f"LPT_CONTACTS_KEY_FILE={path}")
    return 0


def _rotate(args) -> int:
    from spatial_core.errors import InputError
    from spatial_core.store.contacts import contact_cipher, rotate_contacts_key

    old = contact_cipher()
    if old is None:
        raise InputError("no current contacts key: set LPT_CONTACTS_KEY or "
                         "LPT_CONTACTS_KEY_FILE to the key the contacts are encrypted with")
    try:
        text = Path(args.new_key_file).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the new key file {args.new_key_file}: "
                         f"{type(exc).__name__}") from None
    new = contact_cipher(text)
    if new is None:  # pragma: no cover - a given key text never means "messaging off"
        raise InputError(f"{args.new_key_file} holds no key")
    with open_from_args(args, create=False) as store:
        n = rotate_contacts_key(store, old, new)
    if args.json:
        print_json({"reencrypted": n})
    else:
        print(f"contacts of {n} member(s) re-encrypted with the new key; now set "
              f"LPT_CONTACTS_KEY_FILE={args.new_key_file} (or put the new key first in "
              "LPT_CONTACTS_KEY) for every process, then retire the old key")
    return 0


def register(sub) -> None:
    p = sub.add_parser("contacts", help="members' contacts: opt-outs and the encryption key")
    ss = p.add_subparsers(dest="contacts_command", required=True, metavar="ACTION")

    o = ss.add_parser("opt-out", help="record that a member wants no messages (erases the "
                                      "contact at once)")
    o.add_argument("member_id", metavar="MEMBER_ID")
    o.add_argument("--by", required=True, metavar="OFFICER", help="the officer recording it")
    o.add_argument("--now", default=None, help=argparse.SUPPRESS)
    o.add_argument("--json", action="store_true")
    o.set_defaults(func=_opt_out)

    k = ss.add_parser("new-key", help="write a new contacts key to a file (mode 600)")
    k.add_argument("--out", required=True, metavar="FILE")
    k.set_defaults(func=_new_key)

    r = ss.add_parser("rotate-key", help="re-encrypt every contact with a new key")
    r.add_argument("--new-key-file", dest="new_key_file", required=True, metavar="FILE")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=_rotate)

