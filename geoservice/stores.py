# SPDX-License-Identifier: GPL-3.0-or-later
"""One open store per location per process, and small caches of what every request needs.

pygeoapi builds a provider per request; opening the store (and checking its schema) each
time would dominate a request, so providers take the store from here. The area tree and the
area counts change only when data are imported; they are cached for ``ttl`` seconds.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from spatial_core import Store, open_store
from spatial_core.store.boundary_sets import newest_per_area

__all__ = ["store", "area_tree", "cached", "forget_cached", "clear", "shared_frame",
           "frames_folder", "ENV_RUNTIME"]

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


ENV_RUNTIME = "LPT_SERVICE_RUNTIME"


def frames_folder() -> Path | None:
    """Where computed frames are shared by the workers: ``frames/`` in the service's runtime
    folder (made by ``lpt serve``, readable by the service's user only); None when the
    process has no runtime folder (frames then stay in the process)."""
    runtime = os.environ.get(ENV_RUNTIME)
    if not runtime or not Path(runtime).is_dir():
        return None
    folder = Path(runtime) / "frames"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def shared_frame(key: tuple, version: str, compute: Callable[[], Any],
                 folder: Path | None = None) -> Any:
    """``compute()`` once per ``key`` and data ``version`` for every worker of the service.

    The value is kept as a file in :func:`frames_folder` named by the key and the version;
    the first worker to need it computes it under an exclusive lock on that key while the
    others wait, then read the file. Files of older versions of the key are removed. Without
    a folder this is ``compute()``. Each computation is noted in ``computed.jsonl`` there
    (key, version, process, seconds). Only non-personal frames are kept this way (aggregates
    and scores: the folder is the service's own, 0700)."""
    folder = folder if folder is not None else frames_folder()
    if folder is None:
        return compute()
    tag = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:24]
    safe_version = hashlib.sha256(str(version).encode("utf-8")).hexdigest()[:16]
    path = folder / f"{tag}-{safe_version}.pickle"
    value = _read_frame(path)
    if value is not None:
        return value[0]
    with open(folder / f"{tag}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            value = _read_frame(path)
            if value is not None:
                return value[0]
            started = time.perf_counter()
            got = compute()
            took = round(time.perf_counter() - started, 3)
            with open(folder / "computed.jsonl", "a", encoding="utf-8") as log_fh:
                log_fh.write(json.dumps({"key": [str(k) for k in key], "version": str(version),
                                         "pid": os.getpid(), "seconds": took}) + "\n")
            tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                pickle.dump((got,), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
            for old in folder.glob(f"{tag}-*.pickle"):
                if old != path:
                    old.unlink(missing_ok=True)
            return got
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_frame(path: Path) -> tuple | None:
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own 0700 runtime folder
    except FileNotFoundError:
        return None
