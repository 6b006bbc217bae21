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

    def __init__(self, tag: Any) -> None:
        self.done = threading.Event()
        self.tag = tag
        self.value: Any = None
        self.error: BaseException | None = None


class SingleFlight:
    """Concurrent calls for one key compute it once; the other callers wait for that
    computation and get its value (or its exception).

    ``lock`` is the caller's own lock when a cache lookup and the start of a computation
    must be one step (see :func:`cached`). A flight started under another ``tag`` (an older
    data generation; a callable is asked under the lock) is not joined. A waiter gives up
    after ``timeout`` seconds (:class:`TimeoutError`)."""

    def __init__(self, lock: threading.Lock | None = None) -> None:
        self.lock = lock or threading.Lock()
        self._flights: dict[tuple, _Flight] = {}

    def run(self, key: tuple, compute: Callable[[], Any], *, tag: Any = None,
            hit: Callable[[], Any] | None = None,
            keep: Callable[[Any, Any], None] | None = None,
            timeout: float | None = None) -> tuple[Any, bool]:
        """``(value, led)``: ``compute()``'s value and whether this thread computed it.

        Under the lock, ``hit()`` (when given) is asked first: a value other than None is
        returned at once as ``(value, False)``. ``keep(value, tag)`` is called under the lock
        when this thread's computation succeeds, before waiters are released (so a new
        caller finds the value kept, never a finished flight)."""
        with self.lock:
            if hit is not None:
                found = hit()
                if found is not None:
                    return found, False
            now_tag = tag() if callable(tag) else tag
            flight = self._flights.get(key)
            lead = flight is None or flight.tag != now_tag
            if lead:
                flight = self._flights[key] = _Flight(now_tag)
        assert flight is not None
        if not lead:
            if not flight.done.wait(timeout):
                raise TimeoutError(f"waited {timeout} s for {key!r}")
            if flight.error is not None:
                raise flight.error
            return flight.value, False
        try:
            flight.value = compute()
            return flight.value, True
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self.lock:
                if flight.error is None and keep is not None:
                    keep(flight.value, flight.tag)
                if self._flights.get(key) is flight:
                    del self._flights[key]
            flight.done.set()


_flights = SingleFlight(_lock)
_generation = 0  # bumped by forget_cached: a value computed before it is not kept


def cached(key: tuple, ttl: float, compute: Callable[[], Any]) -> Any:
    """``compute()``, remembered for ``ttl`` seconds under ``key``.

    Concurrent misses of one key compute it once (:class:`SingleFlight`): the other threads
    wait for that result (or its exception). After new data (:func:`forget_cached`) a
    worker's eight threads asking for the same frame at once would otherwise each build it,
    all on two cores. A value whose computation started before :func:`forget_cached` is
    returned to its callers but not kept."""
    now = time.monotonic()

    def hit() -> Any:
        got = _cache.get(key)
        return got if got is not None and now - got[0] < ttl else None

    def keep(value: Any, generation: int) -> None:
        if generation == _generation:
            _cache[key] = value

    value, _led = _flights.run(key, lambda: (now, compute()), tag=lambda: _generation,
                               hit=hit, keep=keep)
    return value[1]


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
