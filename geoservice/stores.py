# SPDX-License-Identifier: GPL-3.0-or-later
"""One open store per location per process, and small caches of what every request needs.

pygeoapi builds a provider per request; opening the store (and checking its schema) each
time would dominate a request, so providers take the store from here. The area tree and the
area counts change only when data are imported; they are cached for ``ttl`` seconds.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from spatial_core import Store, open_store

__all__ = ["store", "area_tree", "cached", "forget_cached", "clear"]

_lock = threading.Lock()
_stores: dict[str, Store] = {}
_cache: dict[tuple, tuple[float, Any]] = {}


def store(location: str) -> Store:
    """The process's open store at ``location`` (opened on first use, never created)."""
    with _lock:
        s = _stores.get(location)
        if s is None:
            s = _stores[location] = open_store(location, create=False)
        return s


def cached(key: tuple, ttl: float, compute: Callable[[], Any]) -> Any:
    """``compute()``, remembered for ``ttl`` seconds under ``key``."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
    value = compute()
    with _lock:
        _cache[key] = (now, value)
    return value


def area_tree(location: str, ttl: float = 60.0) -> pd.DataFrame:
    """``area_id``, ``level``, ``parent_id`` of every stored area (newest boundary set)."""
    def compute() -> pd.DataFrame:
        a = store(location).read("areas", ["area_id", "level", "parent_id", "boundary_set",
                                           "valid_from"])
        a = (a.assign(_v=a["valid_from"].fillna(""), _b=a["boundary_set"].fillna(""))
             .sort_values(["area_id", "_v", "_b"]).drop_duplicates("area_id", keep="last"))
        return a[["area_id", "level", "parent_id"]].reset_index(drop=True)

    return cached(("area_tree", location), ttl, compute)


def forget_cached() -> None:
    """Forget every cached value (the stores stay open): the data changed."""
    with _lock:
        _cache.clear()


def clear() -> None:
    """Close every store and forget the caches (before forking workers, in tests)."""
    with _lock:
        for s in _stores.values():
            s.close()
        _stores.clear()
        _cache.clear()
