# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt audit``: export and verify the geoservice's audit log of personal data."""
from __future__ import annotations

import sys
from pathlib import Path


def _log_path(args) -> str:
    if args.log:
        return args.log
    if args.config:
        from geoservice.config import load_config

        return load_config(args.config).audit_path
    raise SystemExit("lpt audit: give --log FILE or --config SERVICE.yml")


def _export(args) -> int:
    from geoservice.audit import export

    text = export(_log_path(args), fmt=args.format, since=args.since, until=args.until,
                  sub=args.sub)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _verify(args) -> int:
    from geoservice.audit import verify

    n, problem = verify(_log_path(args))
    if problem:
        print(f"audit log broken: {problem}", file=sys.stderr)
        return 1
    print(f"audit log intact: {n} entries")
    return 0


def register(sub) -> None:
    au = sub.add_parser("audit", help="export or verify the geoservice audit log")
    ausub = au.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    for name, func, helptext in (("export", _export, "entries as JSON Lines or CSV"),
                                 ("verify", _verify, "check the hash chain")):
        p = ausub.add_parser(name, help=helptext)
        p.add_argument("--log", help="the audit log (JSON Lines)")
        p.add_argument("--config", help="service YAML naming the log")
        if name == "export":
            p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
            p.add_argument("--since", help="ISO time, inclusive")
            p.add_argument("--until", help="ISO time, exclusive")
            p.add_argument("--sub", help="only this user")
            p.add_argument("--output", "-o", help="file to write (default stdout)")
        p.set_defaults(func=func)
