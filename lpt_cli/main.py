# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt``: the command line.

Sub-commands live in :mod:`lpt_cli.commands` (one module per group, discovered here).
Errors are one clear message, never a traceback (``--debug`` shows it): exit code 2 for bad
input, 1 for any other failure, 0 on success. Long work shows a progress bar on a terminal.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence

from lpt_cli import commands
from spatial_core import __version__
from spatial_core.errors import InputError, NotFoundError, SpatialCoreError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lpt", description="Local priority targeting for neighbourhood policing.")
    p.add_argument("--version", action="version", version=f"lpt {__version__}")
    p.add_argument("--store", default=None,
                   help="GeoPackage path or postgresql:// URL (default: $LPT_STORE or ./lpt.gpkg)")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.store_given = args.store is not None or "LPT_STORE" in os.environ
    args.store = args.store or os.environ.get("LPT_STORE") or "lpt.gpkg"
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (InputError, NotFoundError) as exc:
        if args.debug:
            raise
        print(f"lpt: error: {exc}", file=sys.stderr)
        return 2
    except SpatialCoreError as exc:
        if args.debug:
            raise
        print(f"lpt: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lpt: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI promises no tracebacks
        if args.debug:
            raise
        print(f"lpt: error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
