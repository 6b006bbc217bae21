# SPDX-License-Identifier: GPL-3.0-or-later
"""A response cache for the collections that hold no personal data (WSGI middleware).

A beat officer's map asks for the same layer again and again, and building it (pygeoapi's
pipeline, 175 features of GeoJSON with reasons) costs ~20 ms of CPU; at 32 concurrent
clients on two cores that is a queue, not a response time. This middleware, wrapped around
the Flask app by :func:`install`, answers a repeated ``GET`` from memory.

What is cached
    ``GET`` of ``/collections/{id}``, ``/collections/{id}/items``,
    ``/collections/{id}/items/{item}``, ``/collections/{id}/queryables``,
    ``/collections/{id}/schema`` and the vector tiles (``/collections/{id}/tiles``, its tile
    set metadata and each ``/tiles/{tms}/{z}/{y}/{x}`` tile, a binary body kept as it is)
    for the collections in :data:`CACHEABLE` (``street_scores``, ``streets``, ``areas``,
    ``area_profiles``, ``crime_cells``), and only ``200`` answers without ``Set-Cookie``.
    Personal collections (``visits``, ``walk_lists``, ``key_contacts``, members), set-ups,
    processes and jobs are never looked at: they pass through untouched, so every read of
    them is still authorised and audited by the app.

The key
    path, the query string (parameters sorted by name, order of repeated ones kept), the
    ``Accept`` and ``Accept-Language`` headers (the format and language pygeoapi negotiates;
    ``f=`` is in the query), and the caller's **scope**: their role and the area ids their
    role allows (:func:`geoservice.access.area_scope`: a beat officer's beats, a supervisor's
    npas and beats, ``all`` for a force analyst, nothing for partner and public). Never the
    token or API key itself. The caller is authenticated on every request (a bad token is
    passed to the app, which answers 401), so a hit is served only to a caller whose scope
    is the one the answer was computed for: two officers of the same beat share an entry, an
    officer of another beat never does.

Freshness
    Each entry is stored under the store's data version (:class:`StoreVersion`: the
    ``data_version`` token in ``lpt_meta``, which every write of data the cache holds bumps:
    imports (:func:`spatial_core.io.imports.import_files`), the index refresh, set-up creation,
    change and archiving, saved score runs). Recording a visit does not bump it: no cached
    answer is computed from visits, and officers record them all day. The version is checked
    on every cacheable request (~20 µs for a GeoPackage whose file has not changed: two
    ``stat`` calls; one ``lpt_meta`` query when the file changed, ~0.3 ms, and always on
    PostGIS). When it changes, the worker drops its
    responses and its computed frames (:func:`geoservice.stores.forget_cached`), so every
    worker serves the new data on its next request. Entries also expire after
    ``counts_ttl_s`` seconds, the bound that applies to writes that bump nothing (a
    GeoPackage edited in QGIS, SQL run on PostGIS).

Size
    An LRU bounded by bytes (identity + gzip bodies), ``$LPT_RESPONSE_CACHE_MB`` per worker
    process (default 64; ``0`` turns the cache off). The gzip body is made when a client
    that accepts it (``Vary: Accept-Encoding``) first asks, at zlib level 1, and again at
    level 6 when the entry is asked for a second time (:data:`FIRST_LEVEL`,
    :data:`BEST_LEVEL`): most pages never repeat, and those that do get the smaller body.
    Concurrent misses on one key wait for the first to finish instead of all computing it.
"""
from __future__ import annotations

import gzip
import logging
import os
import re
import struct
import threading
import time
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

from spatial_core.store.data_version import data_version

from . import stores
from .access import area_scope
from .auth import Authenticator, AuthError
from .context import Principal
from .context import request_id as new_request_id

__all__ = ["CACHEABLE", "ResponseCache", "StoreVersion", "install", "ENV_CACHE_MB",
           "worker_tag"]

log = logging.getLogger(__name__)
access_log = logging.getLogger("geoservice.access")

CACHEABLE = frozenset({"street_scores", "streets", "areas", "area_profiles", "crime_cells"})
"""Collections whose answers may be cached: aggregates and non-personal layers only."""

ENV_CACHE_MB = "LPT_RESPONSE_CACHE_MB"

_PATH = re.compile(
    r"^/collections/(?P<cid>[^/]+)(?:/(?:items(?:/[^/]+)?|queryables|schema"
    r"|tiles(?:/[^/]+(?:/metadata|/[^/]+/[^/]+/[^/]+)?)?))?/?$")
# ``…/tiles``, ``…/tiles/{tms}``, ``…/tiles/{tms}/metadata`` and ``…/tiles/{tms}/{z}/{y}/{x}``
# too: a tile is an answer like the items (binary; see providers/tiles.py)
# Headers that belong to one response, not to the cached representation.
_DROP = frozenset({"content-length", "content-encoding", "date", "server", "x-request-id",
                   "x-cache", "x-cache-worker", "connection", "transfer-encoding"})

StartResponse = Callable[..., Any]


_STAMP = re.compile(rb'"timeStamp": ?"([^"\\]{0,40})"')

FIRST_LEVEL = 1
"""zlib level of an entry's first gzip answer. Most answers are asked for once (an analyst
paging through a force): level 1 takes a third of level 6's time (0.9 against 2.7 ms for a
page of 175 scored streets) for a body about a third larger."""
BEST_LEVEL = 6
"""zlib level an entry is compressed at when it is asked for again (a beat's layer that
every officer opens): once, then every later answer is the smaller body."""


def _now_stamp() -> bytes:
    """pygeoapi's ``timeStamp`` format (UTC, microseconds)."""
    t = time.time()
    return (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
            + f".{int(t % 1 * 1e6):06d}Z").encode()


def _deflate(data: bytes, last: bool, level: int = BEST_LEVEL) -> bytes:
    """Raw deflate blocks of ``data``, ending on a byte boundary with no back-references
    past it (a full flush), so that such pieces can be put one after another; ``last``: the
    final piece (its last block marked final)."""
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, mtime 0


@dataclass(frozen=True)
class _Entry:
    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    gz: bytes
    version: tuple
    created: float
    stamp: tuple[int, int] | None = None
    """Where the body's ``timeStamp`` value is (start, end): each answer gets its own time.
    ``gz`` is then the deflate blocks before it and ``gz_tail`` those after it; an answer
    is one gzip member: header, those blocks with the time's between them, CRC and size."""
    gz_tail: bytes = b""
    level: int = 0
    """zlib level of ``gz`` (0: not compressed yet, made when a client first takes gzip)."""

    @property
    def size(self) -> int:
        return (len(self.body) + len(self.gz) + len(self.gz_tail)
                + 64 * (len(self.headers) + 4))

    @classmethod
    def make(cls, status: str, headers: tuple, body: bytes, version: tuple,
             level: int = 0) -> _Entry:
        at = body.rfind(b'"timeStamp"')  # pygeoapi writes it last, after the features
        m = _STAMP.match(body, at) if at >= 0 else None
        e = cls(status=status, headers=headers, body=body, gz=b"", version=version,
                created=time.monotonic(), stamp=None if m is None else (m.start(1), m.end(1)))
        return e.compressed(level) if level else e

    def compressed(self, level: int) -> _Entry:
        """This entry with its gzip body made at ``level``."""
        if self.stamp is None:
            return replace(self, gz=gzip.compress(self.body, compresslevel=level, mtime=0),
                           level=level)
        start, end = self.stamp
        return replace(self, gz=_deflate(self.body[:start], False, level),
                       gz_tail=_deflate(self.body[end:], True, level), level=level)

    def bodies(self) -> tuple[bytes, bytes]:
        """(identity, gzip) bodies of one answer, with the time of this answer (gzip: empty
        while :attr:`level` is 0)."""
        if self.stamp is None:
            return self.body, self.gz
        start, end = self.stamp
        now = _now_stamp()
        body = self.body[:start] + now + self.body[end:]
        if not self.level:
            return body, b""
        gz = b"".join((_GZIP_HEADER, self.gz, _deflate(now, False), self.gz_tail,
                       struct.pack("<II", zlib.crc32(body), len(body) & 0xFFFFFFFF)))
        return body, gz


class StoreVersion:
    """The store's data version as seen by this process (see the module docstring).

    Parameters
    ----------
    location : str
        The store location served (GeoPackage path or ``postgresql://`` URL).
    racy_s : float
        A GeoPackage modified less than this many seconds ago has its ``lpt_meta`` token
        re-read on every check (a file time can miss two writes within one clock tick).
    """

    def __init__(self, location: str, *, racy_s: float = 2.0) -> None:
        self.location = location
        self.path = None if "://" in location else location
        self.racy_ns = int(racy_s * 1e9)
        self._state: tuple[tuple, str] | None = None

    def _signature(self) -> tuple:
        assert self.path is not None
        sig: list[int] = []
        for p in (self.path, self.path + "-wal"):
            try:
                st = os.stat(p)
            except FileNotFoundError:
                sig += [0, 0]
                continue
            sig += [st.st_mtime_ns, st.st_size]
        return tuple(sig)

    def current(self) -> tuple:
        """A value that changes whenever data the cache holds may have changed: the
        store's data version. For a GeoPackage the file's time and size only decide when
        to read the version again (a write that bumps it changes the file)."""
        if self.path is None:
            return (data_version(stores.store(self.location)),)
        sig = self._signature()
        state = self._state
        racy = time.time_ns() - max(sig[0], sig[2]) < self.racy_ns
        if state is None or state[0] != sig or racy:
            state = (sig, data_version(stores.store(self.location)))
            self._state = state
        return (state[1],)


_WORKER: list = [None, ""]


def worker_tag() -> str:
    """An opaque tag of this worker process (random, made once per process), sent as
    ``X-Cache-Worker`` so that a client can tell which worker's cache answered (the tests
    prove both workers cached a layer) without learning anything about the host."""
    pid = os.getpid()
    if _WORKER[0] != pid:
        _WORKER[:] = [pid, uuid.uuid4().hex[:8]]
    return _WORKER[1]


def _accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        return q > 0
    return False


class ResponseCache:
    """WSGI middleware caching ``200`` answers of :data:`CACHEABLE` collections.

    Parameters
    ----------
    app : WSGI application
        The Flask app's ``wsgi_app``.
    location : str
        The store location (for the caller's scope and the data version).
    authenticator : geoservice.auth.Authenticator
        Turns the request's credentials into a principal (the same rules as the app).
    max_bytes : int
        Bound of the cache (identity and gzip bodies together).
    ttl : float
        Seconds an entry may be served at most.
    max_entry_bytes : int, optional
        Larger answers are not cached (default an eighth of ``max_bytes``).
    """

    def __init__(self, app: Callable, location: str, authenticator: Authenticator, *,
                 max_bytes: int = 64 << 20, ttl: float = 60.0,
                 max_entry_bytes: int | None = None,
                 collections: Iterable[str] = CACHEABLE) -> None:
        self.app = app
        self.location = location
        self.authenticator = authenticator
        self.max_bytes = int(max_bytes)
        self.max_entry_bytes = int(max_entry_bytes or self.max_bytes // 8)
        self.ttl = float(ttl)
        self.collections = frozenset(collections)
        self.version = StoreVersion(location)
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._bytes = 0
        self._seen_version: tuple | None = None
        self._flights = stores.SingleFlight(self._lock)
        self._scopes: dict[tuple, tuple[str, ...]] = {}
        self.stats = {"hits": 0, "misses": 0, "stored": 0, "evicted": 0, "invalidated": 0}
        self.on_new_version: Callable[[], Any] | None = None
        """Called (under the cache's lock: it must only start work) when the data
        version changes."""

    # -- public helpers ----------------------------------------------------------------
    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self._scopes.clear()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    # -- the key -----------------------------------------------------------------------
    def _scope(self, p: Principal) -> tuple[str, ...]:
        tree = stores.area_tree(self.location)
        memo = (id(tree), p.role, p.areas)
        scope = self._scopes.get(memo)
        if scope is None:
            allowed = area_scope(self.location, p)
            scope = ("*all*",) if allowed is None else tuple(sorted(allowed))
            self._scopes[memo] = scope
        return scope

    def _key(self, environ: dict, p: Principal) -> tuple:
        pairs = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True,
                          errors="surrogateescape")
        query = tuple(sorted(pairs, key=lambda kv: kv[0]))  # stable: repeats keep order
        return (environ.get("PATH_INFO", "").rstrip("/"), query,
                " ".join(environ.get("HTTP_ACCEPT", "").split()),
                " ".join(environ.get("HTTP_ACCEPT_LANGUAGE", "").split()),
                p.role, self._scope(p))

    # -- WSGI --------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if self.max_bytes <= 0 or environ.get("REQUEST_METHOD") != "GET":
            return self.app(environ, start_response)
        m = _PATH.match(environ.get("PATH_INFO", ""))
        if m is None or m.group("cid") not in self.collections:
            return self.app(environ, start_response)
        headers = {name: environ[var] for name, var in (
            ("Authorization", "HTTP_AUTHORIZATION"), ("X-API-Key", "HTTP_X_API_KEY"))
            if environ.get(var)}
        try:
            principal = self.authenticator.authenticate(headers)
        except AuthError:
            return self.app(environ, start_response)  # the app answers 401 and logs it
        try:
            version = self._check_version()
            key = self._key(environ, principal)
        except Exception as exc:  # noqa: BLE001 - the cache must never break a request
            log.warning("response cache bypassed", extra={"fields": {"error": str(exc)}})
            return self.app(environ, start_response)
        gz_ok = _accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        started = time.perf_counter()
        entry = self._get(key, version)
        if entry is not None:
            return self._respond(environ, start_response, key, entry, gz_ok, "HIT",
                                 principal, started)
        entry, (status, hdrs, body) = self._compute(environ, key, version)
        if entry is None:  # not cacheable (an error, a cookie): the app's answer as it was
            start_response(status, hdrs)
            return [body]
        if not status:  # another thread computed it while this one waited
            return self._respond(environ, start_response, key, entry, gz_ok, "WAIT",
                                 principal, started)
        rid = [v for k, v in hdrs if k.lower() == "x-request-id"]
        return self._respond(environ, start_response, key, entry, gz_ok, "MISS", None, None,
                             request_id=rid[0] if rid else None)

    def _check_version(self) -> tuple:
        version = self.version.current()
        if version != self._seen_version:
            with self._lock:
                if version != self._seen_version:
                    if self._seen_version is not None:
                        self._entries.clear()
                        self._bytes = 0
                        self._scopes.clear()
                        stores.forget_cached()  # computed frames of the old data too
                        self.stats["invalidated"] += 1
                        if self.on_new_version is not None:
                            self.on_new_version()
                    self._seen_version = version
        return version

    def _get(self, key: tuple, version: tuple) -> _Entry | None:
        now = time.monotonic()
        with self._lock:
            e = self._entries.get(key)
            if e is None:
                return None
            if e.version != version or now - e.created >= self.ttl:
                self._bytes -= e.size
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            self.stats["hits"] += 1
            return e

    def _compute(self, environ: dict, key: tuple,
                 version: tuple) -> tuple[_Entry | None, tuple[str, list, bytes]]:
        computed = []

        def compute() -> tuple[_Entry | None, tuple[str, list, bytes]]:
            computed.append(True)
            with self._lock:
                self.stats["misses"] += 1
            status, headers, body = self._call(environ)
            return self._store(key, version, status, headers, body), (status, headers, body)

        try:
            (entry, answer), led = self._flights.run(key, compute, timeout=60)
        except Exception:
            if computed:  # this thread's own computation failed
                raise
            led = False  # the other thread's failed, or it took over 60 s: compute below
        if led:
            return entry, answer
        # Another thread computed this key: its answer if it was kept, else our own (an
        # answer not cacheable, e.g. an error or a cookie, is never shared).
        e = self._get(key, version)
        if e is not None:
            return e, ("", [], b"")
        return compute()

    def _call(self, environ: dict) -> tuple[str, list, bytes]:
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def capture(status: str, headers: list, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return chunks.append

        result = self.app(environ, capture)
        try:
            for chunk in result:
                chunks.append(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return captured["status"], list(captured["headers"]), b"".join(chunks)

    def _store(self, key: tuple, version: tuple, status: str, headers: list,
               body: bytes) -> _Entry | None:
        names = {k.lower() for k, _ in headers}
        if (not status.startswith("200") or "set-cookie" in names
                or "content-encoding" in names or len(body) > self.max_entry_bytes):
            return None
        kept = tuple((k, v) for k, v in headers if k.lower() not in _DROP)
        entry = _Entry.make(status, kept, body, version)
        with self._lock:
            if self._seen_version != version:
                return entry  # the data changed while this was computed: serve, don't keep
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = entry
            self._bytes += entry.size
            self.stats["stored"] += 1
            while self._bytes > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.size
                self.stats["evicted"] += 1
        return entry

    def _compressed(self, key: tuple, e: _Entry, level: int) -> _Entry:
        """``e`` with its gzip body at ``level``, kept in its place when it is still there."""
        done = e.compressed(level)
        with self._lock:
            if self._entries.get(key) is e:
                self._entries[key] = done
                self._bytes += done.size - e.size
        return done

    def _respond(self, environ: dict, start_response: StartResponse, key: tuple, e: _Entry,
                 gz_ok: bool, how: str, principal: Principal | None, started: float | None,
                 request_id: str | None = None) -> list[bytes]:
        want = FIRST_LEVEL if how == "MISS" else BEST_LEVEL
        if gz_ok and e.level < want:  # see FIRST_LEVEL and BEST_LEVEL
            e = self._compressed(key, e, want)
        identity, gz = e.bodies()
        body = gz if gz_ok else identity
        vary = [v.strip() for k, val in e.headers if k.lower() == "vary"
                for v in val.split(",") if v.strip()]  # the app's (the caller's headers)
        if "accept-encoding" not in {v.lower() for v in vary}:
            vary.append("Accept-Encoding")
        headers = [(k, v) for k, v in e.headers if k.lower() != "vary"]
        if gz_ok:
            headers.append(("Content-Encoding", "gzip"))
        headers += [("Content-Length", str(len(body))), ("Vary", ", ".join(vary)),
                    ("X-Cache", how), ("X-Cache-Worker", worker_tag())]
        request_id = request_id or new_request_id(environ.get("HTTP_X_REQUEST_ID"))
        headers.append(("X-Request-ID", request_id))
        if how != "MISS":  # the app logged the miss
            if access_log.isEnabledFor(logging.INFO) and principal is not None:
                ms = round(1000 * (time.perf_counter() - started), 1) if started else None
                access_log.info("request", extra={"fields": {
                    "request_id": request_id, "method": "GET",
                    "path": environ.get("PATH_INFO"), "query": environ.get("QUERY_STRING"),
                    "status": int(e.status[:3]), "ms": ms, "sub": principal.sub,
                    "role": principal.role, "cache": how.lower()}})
        start_response(e.status, headers)
        return [body] if environ.get("REQUEST_METHOD") != "HEAD" else [b""]


def install(app, cfg) -> ResponseCache | None:
    """Wrap a Flask app's ``wsgi_app`` in a :class:`ResponseCache` for ``cfg``.

    The size comes from ``$LPT_RESPONSE_CACHE_MB`` (default 64, per worker process; 0: no
    cache), the time bound from ``cfg.counts_ttl_s``. Returns the cache (None when off).
    """
    mb = float(os.environ.get(ENV_CACHE_MB, "64") or 0)
    if mb <= 0:
        log.info("response cache off ($%s=0)", ENV_CACHE_MB)
        return None
    cache = ResponseCache(app.wsgi_app, cfg.store, Authenticator(cfg),
                          max_bytes=int(mb * (1 << 20)), ttl=cfg.counts_ttl_s)
    app.wsgi_app = cache
    app.extensions["lpt_response_cache"] = cache
    return cache
