# SPDX-License-Identifier: GPL-3.0-or-later
"""The WSGI application: pygeoapi's Flask app with our health, auth, audit and logs.

:func:`create_app` reads our service YAML (argument, else ``$LPT_SERVICE_CONFIG``), writes the
pygeoapi configuration and OpenAPI document it generates into a runtime folder (unless
``lpt serve`` already did: ``$LPT_SERVICE_RUNTIME``), points pygeoapi at them and imports
``pygeoapi.flask_app``. pygeoapi reads its configuration once, when that module is imported,
so one process serves one configuration.

Hooks on the Flask app:

- ``before_request``: authenticate (401 with ``WWW-Authenticate`` for bad credentials; none is
  the public caller) and activate a :class:`~geoservice.context.RequestContext`;
- ``before_request``, next: ``PUT``/``PATCH``/``DELETE`` of a collection item is **405**
  with ``Allow`` (401 for an anonymous caller) before pygeoapi is reached: no provider
  updates or deletes (visits are an append-only record; a correction is a new visit), and
  pygeoapi would answer 500 for an ``editable`` collection (``OPTIONS`` on an item is
  answered here too, so ``Allow`` never lists them); see :func:`item_write_refusal`;
- ``after_request``: HTTP caching headers (:func:`cache_control`) and one JSON log line per
  request (method, path, status, ms, sub, role);
- ``GET /health``: 200 with the store's back end and schema version, 503 when it cannot be
  read.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from .audit import AuditLog
from .auth import Authenticator, AuthError, FailureLimiter
from .config import COLLECTIONS, MVT, ServiceConfig, load_config, pygeoapi_config
from .context import RequestContext, activate, deactivate, request_id
from .engage import loggable_path
from .limits import MAX_BODY_BYTES, body_too_large, json_body_problem
from .ogc import (
    body_links,
    declare_conformance,
    fix_openapi,
    fix_queryables,
    geojson_type,
    items_links,
    status_info,
    unknown_parameters,
)

__all__ = ["create_app", "prepare_runtime", "JsonFormatter", "cache_control", "PERSONAL",
           "VARY", "ITEM_ALLOW", "item_write_refusal"]

log = logging.getLogger(__name__)
access_log = logging.getLogger("geoservice.access")

ENV_CONFIG = "LPT_SERVICE_CONFIG"
ENV_RUNTIME = "LPT_SERVICE_RUNTIME"


PERSONAL = frozenset({"visits", "walk_lists", "key_contacts", "setups", "replies",
                      "messages", "progress_officers"})
"""Collections holding personal data (or pointing at it): never stored by a browser."""

VARY = ("Authorization", "X-API-Key")
"""Request headers every answer depends on (the caller decides what they see)."""


def cache_control(path: str, status: int, authenticated: bool) -> str:
    """The ``Cache-Control`` of an answer the app did not give one.

    - personal collections, jobs and processes (results are the caller's), and every 4xx/5xx:
      ``no-store`` (nothing personal stays on a shared phone or in a proxy);
    - any other answer to an authenticated caller: ``private, no-cache`` (the browser may
      keep it but asks again; shared caches never keep it);
    - public answers: ``public, max-age=60`` (the same for every anonymous caller; the
      service's own cache is invalidated by data changes, a proxy's within a minute).

    >>> cache_control("/collections/visits/items", 200, True)
    'no-store'
    >>> cache_control("/collections/street_scores/items", 200, True)
    'private, no-cache'
    >>> cache_control("/collections/areas/items", 200, False)
    'public, max-age=60'
    """
    parts = path.strip("/").split("/")
    personal = (parts[0] in ("jobs", "processes")
                or (parts[0] == "collections" and len(parts) > 1 and parts[1] in PERSONAL))
    if personal or status >= 400:
        return "no-store"
    return "private, no-cache" if authenticated else "public, max-age=60"


ITEM_ALLOW = "GET, HEAD, OPTIONS"
"""The methods of ``/collections/{id}/items/{item}`` (no collection updates or deletes)."""

_ITEM_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def item_write_refusal(method: str, path: str) -> str | None:
    """The collection whose item ``method path`` would update or delete (None: another
    request). Only our collections: any other path is left to pygeoapi (404).

    >>> item_write_refusal("DELETE", "/collections/visits/items/V1000001")
    'visits'
    >>> item_write_refusal("PUT", "/collections/walk_lists/items/s1/100023")
    'walk_lists'
    >>> item_write_refusal("GET", "/collections/visits/items/V1000001") is None
    True
    >>> item_write_refusal("POST", "/collections/visits/items") is None  # create: allowed
    True
    >>> item_write_refusal("POST", "/collections/visits/items/V1000001")
    'visits'
    """
    return _item_collection(path) if method.upper() in _ITEM_WRITES else None


def _write_collection(path: str) -> str | None:
    """Our collection of ``/collections/{id}/items[/…]`` (None for any other path)."""
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[0] == "collections" and parts[1] in COLLECTIONS \
            and parts[2] == "items":
        return parts[1]
    return None


def _item_collection(path: str) -> str | None:
    """Our collection of ``/collections/{id}/items/{item}`` (None for any other path)."""
    parts = path.strip("/").split("/")
    if (len(parts) >= 4 and parts[0] == "collections" and parts[1] in COLLECTIONS
            and parts[2] == "items" and any(parts[3:])):
        return parts[1]
    return None


def _drop_item_writes(oas: dict) -> dict:
    """The OpenAPI document without PUT/DELETE on items (pygeoapi documents them for an
    ``editable`` collection, meaning only POST here)."""
    for name, ops in (oas.get("paths") or {}).items():
        if "/items/" in name and isinstance(ops, dict):
            for method in ("put", "patch", "delete"):
                ops.pop(method, None)
    return oas


class JsonFormatter(logging.Formatter):
    """One JSON object per log record (structured logs for the service)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname, "logger": record.name, "msg": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            out.update(extra)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def _configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("geoservice").setLevel(level)


def prepare_runtime(cfg: ServiceConfig, *, host: str = "127.0.0.1", port: int = 5000,
                    directory: str | os.PathLike | None = None) -> Path:
    """Write ``pygeoapi-config.yml`` and ``openapi.json`` for ``cfg`` into a folder."""
    from pygeoapi.openapi import get_oas

    from . import stores

    folder = Path(directory or cfg.runtime_dir or tempfile.mkdtemp(prefix="lpt-geoservice-"))
    folder.mkdir(parents=True, exist_ok=True)
    pg = pygeoapi_config(cfg, host=host, port=port)
    (folder / "job-outputs").mkdir(exist_ok=True)
    pg["server"]["manager"] = {"name": "geoservice.processes.manager.ScopedTinyDBManager",
                               "connection": str(folder / "jobs.json"),
                               "output_dir": str(folder / "job-outputs")}
    from .providers.scores import ensure_score_run

    ensure_score_run(stores.store(cfg.store))  # once, before workers: see providers/scores.py
    config_path = folder / "pygeoapi-config.yml"
    config_path.write_text(yaml.safe_dump(pg, sort_keys=False), encoding="utf-8")
    os.environ[ENV_RUNTIME] = str(folder)  # workers share computed frames in it
    warm_frames(cfg, pg)  # once, before the first request and before workers fork
    oas = fix_openapi(_drop_item_writes(get_oas(pg)))
    stores.clear()  # OpenAPI generation opened the store; workers open their own
    (folder / "openapi.json").write_text(json.dumps(oas), encoding="utf-8")
    return folder


def warm_frames(cfg: ServiceConfig, pg: dict | None = None) -> dict[str, float]:
    """Compute the shared frames of the current data version (area profiles as partners and
    the public see them and as police see them, the street scores, the areas' counts …)
    into the runtime folder, so that no request waits for them. Seconds taken per frame
    (0: already there)."""
    from pygeoapi.plugin import load_plugin

    from .context import Principal
    from .providers._frame import FrameProvider

    if pg is None:
        from pygeoapi import flask_app

        pg = flask_app.CONFIG
    took: dict[str, float] = {}
    callers = (Principal(sub="warm", role="public"), Principal(sub="warm", role="force_analyst"))
    for cid, res in pg["resources"].items():
        if res.get("type") != "collection":
            continue
        provider_def = res["providers"][0]
        cls = load_plugin("provider", provider_def)
        warm = getattr(cls, "warm", None)
        if not (isinstance(cls, FrameProvider) and cls.shared) and warm is None:
            continue
        for who in callers:
            started = time.perf_counter()
            try:
                ctx = RequestContext(principal=who, config=cfg)
                cls.warm(ctx) if warm is not None else cls._entry(ctx)
            except Exception as exc:  # noqa: BLE001 - a request will compute it instead
                log.warning("frame not prepared", extra={"fields": {
                    "collection": cid, "role": who.role, "error": str(exc)}})
                continue
            took[f"{cid}:{who.role}"] = round(time.perf_counter() - started, 3)
    log.info("frames prepared", extra={"fields": {"seconds": took}})
    return took


class _Rewarm:
    """Prepares the shared frames again after new data, in one background thread per
    worker: a burst of new data versions (a set-up created after each other) is one more
    preparation after the running one, never a thread per version."""

    def __init__(self, cfg: ServiceConfig) -> None:
        self.cfg = cfg
        self.lock = threading.Lock()
        self.running = False
        self.again = False

    def request(self) -> None:
        with self.lock:
            if self.running:
                self.again = True
                return
            self.running = True
        threading.Thread(target=self._loop, daemon=True, name="lpt-warm-frames").start()

    def _loop(self) -> None:
        while True:
            time.sleep(0.5)  # let a burst of writes settle
            try:
                warm_frames(self.cfg)
            except Exception:  # noqa: BLE001 - requests compute what is missing
                log.exception("frames not prepared")
            with self.lock:
                if not self.again:
                    self.running = False
                    return
                self.again = False


def create_app(config: str | os.PathLike | None = None):
    """The Flask (WSGI) application serving ``config`` (see the module docstring)."""
    _configure_logging()
    path = config or os.environ.get(ENV_CONFIG)
    if not path:
        raise RuntimeError(f"no service configuration: pass a path or set ${ENV_CONFIG}")
    cfg = load_config(path)
    runtime = os.environ.get(ENV_RUNTIME)
    if not runtime or not (Path(runtime) / "pygeoapi-config.yml").exists():
        runtime = str(prepare_runtime(cfg))
    pg_config = str(Path(runtime) / "pygeoapi-config.yml")
    if "pygeoapi.flask_app" in sys.modules and os.environ.get("PYGEOAPI_CONFIG") != pg_config:
        raise RuntimeError("pygeoapi is already serving another configuration in this process")
    os.environ["PYGEOAPI_CONFIG"] = pg_config
    os.environ["PYGEOAPI_OPENAPI"] = str(Path(runtime) / "openapi.json")
    from pygeoapi import flask_app

    app = flask_app.APP
    if app.config.get("LPT_WRAPPED"):
        return app
    declare_conformance()
    _wrap(app, cfg)
    from .cache import install as install_cache

    cache = install_cache(app, cfg)  # non-personal collections answered from memory: cache.py
    if cache is not None:  # new data: the shared frames are prepared again at once
        cache.on_new_version = _Rewarm(cfg).request
    app.config["LPT_WRAPPED"] = True
    log.info("geoservice ready", extra={"fields": {"store": _safe(cfg.store),
                                                   "collections": list(COLLECTIONS)}})
    return app


def _safe(location: str) -> str:
    """A store location without a password."""
    if "://" in location and "@" in location:
        scheme, rest = location.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return location


def _wrap(app, cfg: ServiceConfig) -> None:
    from flask import g, jsonify, request
    from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

    from . import stores

    authenticator = Authenticator(cfg)
    limiter = FailureLimiter(limit=cfg.failed_auth_limit)
    audit = AuditLog(cfg.audit_path)

    def health():
        try:
            s = stores.store(cfg.store)
            body = {"status": "ok", "backend": s.backend, "schema_version": s.schema_version}
            return jsonify(body), 200
        except Exception as exc:  # noqa: BLE001 - health reports any failure
            log.warning("health check failed", extra={"fields": {"error": str(exc)}})
            return jsonify({"status": "unavailable"}), 503

    app.add_url_rule("/health", "lpt_health", health, methods=["GET"])

    from .page import register as register_page

    register_page(app, cfg)  # the officer map page (/app/) and the demo sign-in
    from .html_assets import install as install_html_assets
    install_html_assets(app, cfg)  # pygeoapi's HTML pages: our vendored assets only, CSP
    from .engage import register as register_engage
    register_engage(app, cfg, audit)  # residents' reply/survey/unsubscribe pages, no login

    @app.before_request
    def _authenticate():
        g.lpt_started = time.perf_counter()
        g.lpt_request_id = request_id(request.headers.get("X-Request-ID"))
        credentialed = bool(request.headers.get("Authorization")
                            or request.headers.get("X-API-Key"))
        wait = limiter.retry_after(request.remote_addr) if credentialed else None
        if wait is not None:
            g.lpt_principal = None
            resp = jsonify({"code": "TooManyRequests",
                            "description": "too many failed sign-ins from this address; "
                                           f"try again in {wait} s"})
            resp.status_code = 429
            resp.headers["Retry-After"] = str(wait)
            return resp
        try:
            principal = authenticator.authenticate(request.headers)
        except AuthError as exc:
            limiter.failed(request.remote_addr)
            g.lpt_principal = None
            resp = jsonify({"code": "Unauthorized", "description": str(exc)})
            resp.status_code = 401
            resp.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return resp
        g.lpt_principal = principal
        ctx = RequestContext(principal=principal,
                             purpose=(request.headers.get("X-Purpose") or None),
                             request_id=g.lpt_request_id, method=request.method,
                             path=request.path, query=request.query_string.decode("latin-1"),
                             remote_addr=request.remote_addr, audit=audit, config=cfg)
        g.lpt_token = activate(ctx)
        return None

    @app.before_request
    def _no_item_writes():
        """405 for POST/PUT/PATCH/DELETE on an item, before pygeoapi, for every caller: no
        credentials make it allowed, so an anonymous caller is not asked to sign in."""
        if request.method == "OPTIONS" and _item_collection(request.path):
            resp = app.response_class(status=200)
            resp.headers["Allow"] = ITEM_ALLOW
            return resp
        collection = item_write_refusal(request.method, request.path)
        if collection is None:
            return None
        p = g.lpt_principal
        why = ("visits are an append-only record: a visit is never changed or deleted; "
               "record a correction as a new visit (POST /collections/visits/items)"
               if collection == "visits" else
               f"items of {collection} are not changed or deleted through this service")
        resp = jsonify({"code": "MethodNotAllowed",
                        "description": f"{request.method} is not allowed: {why}"})
        resp.status_code = 405
        resp.headers["Allow"] = ITEM_ALLOW
        if collection in PERSONAL:  # a refusal on personal data is part of the record
            audit.append(request_id=g.lpt_request_id, sub=p.sub, role=p.role, via=p.via,
                         action="denied", collection=collection,
                         query=request.path,
                         ids=["/".join(request.path.strip("/").split("/")[3:])],
                         purpose=request.headers.get("X-Purpose") or p.default_purpose,
                         remote_addr=request.remote_addr,
                         outcome=f"{request.method} refused ({resp.status_code}): "
                                 "items are never updated or deleted")
        return resp

    fields_of = collection_fields(cfg)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES  # a chunked body is cut off too

    def _refusal_audited(status: int, why: str) -> None:
        """A refused write of a personal collection is part of the record."""
        cid = _write_collection(request.path)
        if cid is None or cid not in PERSONAL:
            return
        p = g.lpt_principal
        audit.append(request_id=g.lpt_request_id, sub=p.sub, role=p.role, via=p.via,
                     action="denied", collection=cid, query=request.path,
                     purpose=request.headers.get("X-Purpose") or p.default_purpose,
                     remote_addr=request.remote_addr,
                     outcome=f"{request.method} refused ({status}): {why}")

    @app.before_request
    def _bounded_body():
        """413 for a body over the size bound, 400 for JSON too deep or with too long a
        string (geoservice/limits.py), before any route parses it."""
        if request.method not in ("POST", "PUT", "PATCH"):
            return None
        why = body_too_large(request.content_length)
        status = 413
        if why is None:
            try:
                raw = request.get_data(cache=True)
            except RequestEntityTooLarge:
                why = body_too_large(MAX_BODY_BYTES + 1)
            else:
                status = 400
                why = json_body_problem(raw) if raw[:1].strip() in (b"{", b"[") or (
                    "json" in (request.mimetype or "")) else None
        if why is None:
            return None
        _refusal_audited(status, why)
        resp = jsonify({"code": "PayloadTooLarge" if status == 413 else "InvalidParameterValue",
                        "description": why})
        resp.status_code = status
        return resp

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        """Every HTTP error is JSON with its status (never an HTML page)."""
        resp = jsonify({"code": exc.name.replace(" ", ""), "description": exc.description})
        resp.status_code = exc.code or 500
        return resp

    @app.errorhandler(Exception)
    def _unhandled(exc):
        """A fault of ours: logged with its traceback, answered as JSON without details."""
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        log.exception("unhandled error", extra={"fields": {
            "request_id": getattr(g, "lpt_request_id", None), "path": request.path}})
        resp = jsonify({"code": "ServerError",
                        "description": "the service failed to answer; the request id is in "
                                       "X-Request-ID"})
        resp.status_code = 500
        return resp

    @app.before_request
    def _unknown_parameters():
        """400 for a query parameter the endpoint does not know (OGC API Part 1)."""
        unknown = unknown_parameters(request.path, request.args.keys(), fields_of)
        if not unknown:
            return None
        resp = jsonify({"code": "InvalidParameterValue",
                        "description": f"unknown query parameter(s) {unknown}"})
        resp.status_code = 400
        return resp

    @app.after_request
    def _ogc_answer(response):
        """GeoJSON media type and ``Link`` headers on items, JSON tile errors, a
        status-info document for an asynchronous execute (see :mod:`geoservice.ogc`)."""
        return ogc_answer(request, response)

    @app.after_request
    def _log(response):
        p = getattr(g, "lpt_principal", None)
        started = getattr(g, "lpt_started", None)
        ms = round(1000 * (time.perf_counter() - started), 1) if started else None
        if response.status_code == 401 and "WWW-Authenticate" not in response.headers:
            response.headers["WWW-Authenticate"] = 'Bearer realm="lpt"'
        response.headers["X-Request-ID"] = getattr(g, "lpt_request_id", "")
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = cache_control(
                request.path, response.status_code, bool(p and not p.is_anonymous))
        vary = [v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()]
        response.headers["Vary"] = ", ".join(
            vary + [h for h in VARY if h.lower() not in {v.lower() for v in vary}])
        access_log.info("request", extra={"fields": {
            "request_id": getattr(g, "lpt_request_id", None), "method": request.method,
            "path": loggable_path(request.path),  # a resident's link token is not logged
            "query": request.query_string.decode("latin-1"),
            "status": response.status_code, "ms": ms,
            "sub": p.sub if p else None, "role": p.role if p else None}})
        return response

    @app.teardown_request
    def _deactivate(_exc):
        token = g.pop("lpt_token", None)
        if token is not None:
            deactivate(token)


def collection_fields(cfg: ServiceConfig):
    """``fields(collection)``: the property names of one of our collections (None for any
    other name), read once per process from its provider."""
    from pygeoapi.plugin import load_plugin

    known: dict[str, frozenset[str]] = {}

    def fields(cid: str) -> frozenset[str] | None:
        if cid not in COLLECTIONS:
            return None
        got = known.get(cid)
        if got is None:
            from pygeoapi import flask_app

            provider_def = flask_app.CONFIG["resources"][cid]["providers"][0]
            got = known[cid] = frozenset(load_plugin("provider", provider_def).fields)
        return got

    return fields


_TILE = re.compile(r"^/collections/[^/]+/tiles/[^/]+/[^/]+/[^/]+/[^/]+/?$")
_EXECUTE = re.compile(r"^/processes/(?P<pid>[^/]+)/execution/?$")
_QUERYABLES = re.compile(r"^/collections/(?P<cid>[^/]+)/queryables/?$")
_PROCESSES = re.compile(r"^/processes(?:/[^/]+)?/?$")


def flask_app_url() -> str | None:
    """The service's public base URL (``server.url`` of the pygeoapi configuration)."""
    from pygeoapi import flask_app

    url = flask_app.CONFIG.get("server", {}).get("url")
    return str(url).rstrip("/") if url else None


def _own_job_control(response) -> None:
    """Each process's own ``jobControlOptions`` (pygeoapi offers ``async-execute`` for every
    process when the manager can run jobs; a process that runs synchronously says so)."""
    from pygeoapi import flask_app

    try:
        body = json.loads(response.get_data())
    except ValueError:
        return
    listed = body.get("processes") if isinstance(body, dict) and "processes" in body else [body]
    for proc in listed or []:
        if not isinstance(proc, dict) or proc.get("id") not in flask_app.api_.manager.processes:
            continue
        own = flask_app.api_.manager.get_processor(proc["id"]).metadata.get("jobControlOptions")
        if own:
            proc["jobControlOptions"] = list(own)
    response.set_data(json.dumps(body))


def ogc_answer(request, response):
    """What :mod:`geoservice.ogc` says an answer carries, applied to a Flask response."""
    path = request.path
    ctype = response.headers.get("Content-Type")
    if response.status_code == 200 and not response.direct_passthrough:
        geo = geojson_type(path, ctype)
        if geo is not None:
            response.headers["Content-Type"] = geo
            if path.rstrip("/").endswith("/items"):
                base = flask_app_url() or request.url_root.rstrip("/")
                queryables = base + path.rstrip("/")[:-len("/items")] + "/queryables"
                links = items_links(body_links(response.get_data()), queryables)
                if links:
                    response.headers["Link"] = links
    if (response.status_code == 200 and (ctype or "").startswith("text/csv")
            and not response.direct_passthrough):
        from spatial_core.api.export import csv_safe_text  # the one CSV rule: no formulas

        response.set_data(csv_safe_text(response.get_data(as_text=True)).encode("utf-8"))
    q = _QUERYABLES.match(path)
    if q and response.status_code == 200 and "json" in (ctype or ""):
        try:
            body = json.loads(response.get_data())
        except ValueError:
            body = None
        if isinstance(body, dict):
            response.set_data(json.dumps(fix_queryables(q.group("cid"), body)))
    if (response.status_code >= 400 and _TILE.match(path)
            and (ctype or "").startswith(MVT)):
        response.headers["Content-Type"] = "application/json"
    if (request.method == "GET" and response.status_code == 200 and _PROCESSES.match(path)
            and (ctype or "").startswith("application/json")):
        _own_job_control(response)
    m = _EXECUTE.match(path)
    if (m and request.method == "POST" and response.status_code == 201
            and response.headers.get("Location")):
        try:
            body = json.loads(response.get_data() or b"null")
        except ValueError:
            body = ""
        if not body:
            location = response.headers["Location"]
            response.set_data(json.dumps(status_info(location.rstrip("/").rsplit("/", 1)[-1],
                                                     m.group("pid"), location)))
            response.headers["Content-Type"] = "application/json"
    return response
