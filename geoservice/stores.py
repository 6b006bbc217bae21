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
from spatial_core.store.boundary_sets import newest_per_area

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


class _Flight:
    """One computation of a key that other threads wait for."""

    def __init__(self, generation: int) -> None:
        self.done = threading.Event()
        self.generation = generation
        self.value: Any = None
        self.error: BaseException | None = None


_flights: dict[tuple, _Flight] = {}
_generation = 0  # bumped by forget_cached: a value computed before it is not kept


def cached(key: tuple, ttl: float, compute: Callable[[], Any]) -> Any:
    """``compute()``, remembered for ``ttl`` seconds under ``key``.

    Concurrent misses of one key compute it once: the other threads wait for that result
    (or its exception). After new data (:func:`forget_cached`) a worker's eight threads asking
    for the same frame at once would otherwise each build it, all on two cores. A value
    whose computation started before :func:`forget_cached` is returned to its callers but
    not kept."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        flight = _flights.get(key)
        mine = flight is None or flight.generation != _generation
        if mine:
            flight = _flights[key] = _Flight(_generation)
    assert flight is not None
    if not mine:
        flight.done.wait()
        if flight.error is not None:
            raise flight.error
        return flight.value
    try:
        flight.value = compute()
        return flight.value
    except BaseException as exc:
        flight.error = exc
        raise
    finally:
        with _lock:
            if flight.error is None and flight.generation == _generation:
                _cache[key] = (now, flight.value)
            if _flights.get(key) is flight:
                del _flights[key]
        flight.done.set()


def area_tree(location: str, ttl: float = 60.0) -> pd.DataFrame:
    """``area_id``, ``level``, ``parent_id`` of every stored area (newest boundary set)."""
    def compute() -> pd.DataFrame:
        a = store(location).read("areas", ["area_id", "level", "parent_id", "boundary_set",
                                           "valid_from"])
        a = newest_per_area(a)
        return a[["area_id", "level", "parent_id"]].reset_index(drop=True)

    return cached(("area_tree", location), ttl, compute)


def forget_cached() -> None:
    """Forget every cached value (the stores stay open): the data changed."""
    global _generation
    with _lock:
        _cache.clear()
        _generation += 1


def clear() -> None:
    """Close every store and forget the caches (before forking workers, in tests)."""
    global _generation
    with _lock:
        for s in _stores.values():
            s.close()
        _stores.clear()
        _cache.clear()
        _generation += 1
