# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt serve`` and ``lpt audit``: the geoservice's commands (:mod:`geoservice.cli`)."""
from __future__ import annotations

import argparse

from lpt_cli.commands._service import hand_to_service


def _serve(args) -> int:
    store = ["--store", args.store] if args.store_given else []
    return hand_to_service(["serve", *store, *args.rest])


def _audit(args) -> int:
    return hand_to_service(["audit", *args.rest])


def register(sub) -> None:
    # The service parses its own options (prefix "+" here so that every "-" option is passed
    # on untouched; "lpt serve --help" is the service's help).
    sv = sub.add_parser("serve", add_help=False, prefix_chars="+",
                        help="run the OGC API geoservice under gunicorn (lpt serve --help)")
    sv.add_argument("rest", nargs=argparse.REMAINDER)
    sv.set_defaults(func=_serve)
    au = sub.add_parser("audit", add_help=False, prefix_chars="+",
                        help="export or verify the geoservice audit log (lpt audit --help)")
    au.add_argument("rest", nargs=argparse.REMAINDER)
    au.set_defaults(func=_audit)
