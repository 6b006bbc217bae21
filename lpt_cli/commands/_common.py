# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers shared by the sub-commands: opening the store, progress bars, printing JSON."""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

__all__ = ["open_from_args", "add_level_argument", "DEFAULT_PUBLIC_URL", "add_public_url_argument",
           "public_url", "progress_bar", "print_json", "printed_json_or_empty"]

DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"
"""The geoservice's base URL in the links of messages when neither ``--public-url`` nor
``$LPT_PUBLIC_URL`` is given."""


def open_from_args(args, create: bool = True):
    """The store named by ``--store`` / ``$LPT_STORE`` / ``./lpt.gpkg``."""
    from spatial_core.store import open_store

    return open_store(args.store, create=create)


def add_level_argument(parser, flag: str = "--level", **kwargs) -> None:
    """``--level``: a reporting level of :data:`spatial_core.analytics.population.AREA_LEVELS`
    (default beat); ``kwargs`` go to ``add_argument`` (``dest``, ``help``)."""
    from spatial_core.analytics.population import AREA_LEVELS

    parser.add_argument(flag, default="beat", choices=list(AREA_LEVELS), **kwargs)


def add_public_url_argument(parser) -> None:
    """``--public-url``: the base URL of the reply, survey and unsubscribe links."""
    parser.add_argument("--public-url", dest="public_url", default=None,
                        help=f"base URL of the links (default $LPT_PUBLIC_URL, else "
                             f"{DEFAULT_PUBLIC_URL})")


def public_url(args) -> str:
    """``--public-url``, else ``$LPT_PUBLIC_URL``, else :data:`DEFAULT_PUBLIC_URL`."""
    return args.public_url or os.environ.get("LPT_PUBLIC_URL") or DEFAULT_PUBLIC_URL


def progress_bar(
    enabled: bool = True,
) -> tuple[Callable[[float, str], None] | None, Callable[[], None]]:
    """A progress callable drawing a tqdm bar on stderr (on a terminal), and its closer."""
    if not enabled or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=100, file=sys.stderr, leave=False, bar_format="{l_bar}{bar}| {elapsed}")

    def progress(fraction: float, message: str) -> None:
        bar.set_description_str(message[:40])
        bar.n = max(0.0, min(100.0, 100.0 * float(fraction)))
        bar.refresh()

    return progress, bar.close


def print_json(data) -> None:
    print(json.dumps(data, indent=2, default=str))


def printed_json_or_empty(args, frame, empty: str) -> bool:
    """A listing's start: under ``--json`` its rows as JSON records, else ``empty`` when it has
    no rows; whether that was printed (the listing is then done)."""
    if args.json:
        from lpt_cli.commands.priorities import records

        print_json(records(frame))
        return True
    if not len(frame):
        print(empty)
        return True
    return False
