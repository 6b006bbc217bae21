# SPDX-License-Identifier: GPL-3.0-or-later
"""The progress callback that every long-running core function accepts.

``progress(fraction_done, message)``: ``fraction_done`` goes from 0.0 to 1.0 and ``message``
says what is being done, for a progress bar in the CLI, a QGIS feedback object or a Dask
run's log. A function that is given no callback reports nothing.
"""
from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "no_progress"]

Progress = Callable[[float, str], None]
"""``progress(fraction_done, message)``."""


def no_progress(fraction: float, message: str) -> None:
    """The :data:`Progress` of a caller that gave none: says nothing."""
