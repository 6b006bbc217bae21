# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers shared by the sub-commands: opening the store, progress bars, printing JSON."""
from __future__ import annotations

import json
import sys
from collections.abc import Callable

__all__ = ["open_from_args", "progress_bar", "print_json"]


def open_from_args(args, create: bool = True):
    """The store named by ``--store`` / ``$LPT_STORE`` / ``./lpt.gpkg``."""
    from spatial_core.store import open_store

    return open_store(args.store, create=create)


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
