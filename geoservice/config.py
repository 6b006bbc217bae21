# SPDX-License-Identifier: GPL-3.0-or-later
"""The service configuration (our YAML) and the pygeoapi configuration generated from it.

Our YAML names the store, the identity provider, API keys, the disclosure threshold and the
audit log; ``${VAR}`` (or ``${VAR:-default}``) anywhere in a value is replaced by the
environment variable, so secrets stay out of the file. :func:`pygeoapi_config` turns it into
the dict pygeoapi reads, with our providers registered by dotted path.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spatial_core.api import ROLES as CORE_ROLES

__all__ = ["ServiceConfig", "OidcConfig", "ApiKey", "ConfigError", "load_config",
           "parse_config", "pygeoapi_config", "ROLES", "COLLECTIONS", "PROCESSES", "TILES",
           "MVT", "raw_config", "page_settings", "data_attribution_lines"]

ROLES = CORE_ROLES
"""The roles a token or API key can carry, most privileged first
(:data:`spatial_core.api.ROLES`)."""

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
BNG = "http://www.opengis.net/def/crs/EPSG/0/27700"

COLLECTIONS: dict[str, dict[str, Any]] = {
    "streets": {
        "title": "Street units",
        "description": "Street units (a street cut at beat boundaries) with their households.",
        "provider": "geoservice.providers.streets.StreetProvider",
        "id_field": "street_id", "title_field": "name", "keywords": ["streets"],
    },
    "areas": {
        "title": "Policing areas",
        "description": "Force, neighbourhood policing areas, beats and wards with counts of "
                       "households, current members and crimes (small counts withheld for "
                       "partners and the public).",
        "provider": "geoservice.providers.areas.AreaProvider",
        "id_field": "area_id", "title_field": "name", "keywords": ["beats", "wards"],
    },
    "visits": {
        "title": "Door-knock visits",
        "description": "Visits recorded by officers (personal data: police roles only, in "
                       "their areas; every read and write is audited).",
        "provider": "geoservice.providers.visits.VisitProvider",
        "id_field": "visit_id", "title_field": "visit_id", "keywords": ["visits"],
        "editable": True,
    },
    "street_scores": {
        "title": "Street scores",
        "description": "The newest stored score run: each street's score, rank in its beat, "
                       "components and reasons (police roles, in their beats).",
        "provider": "geoservice.providers.scores.ScoreProvider",
        "id_field": "street_id", "title_field": "name", "keywords": ["scores", "streets"],
    },
    "crime_cells": {
        "title": "Crime per H3 cell",
        "description": "Crimes and harm (CCHI days) per H3 cell: exact for police roles in "
                       "their beats, small counts withheld for partners and the public.",
        "provider": "geoservice.providers.cells.CellProvider",
        "id_field": "cell_id", "title_field": "cell_id", "keywords": ["h3", "crime"],
    },
    "area_profiles": {
        "title": "Local priorities and representation",
        "description": "Force, npas, beats and wards with their local priorities and "
                       "representation (aggregates; small counts withheld for partners and "
                       "the public).",
        "provider": "geoservice.providers.area_profiles.AreaProfileProvider",
        "id_field": "area_id", "title_field": "name", "keywords": ["priorities"],
    },
    "setups": {
        "title": "Targeting set-ups",
        "description": "Targeting set-ups (police roles, set-ups with streets in their beats).",
        "provider": "geoservice.providers.setups.SetupProvider",
        "id_field": "setup_id", "title_field": "name", "keywords": ["setups"],
    },
    "walk_lists": {
        "title": "Walk lists",
        "description": "Addresses to visit per set-up, in walking order (police roles, in "
                       "their beats; every read is audited).",
        "provider": "geoservice.providers.setups.WalkListProvider",
        "id_field": "walk_id", "title_field": "walk_id", "keywords": ["walk lists"],
    },
    "key_contacts": {
        "title": "Key contacts",
        "description": "Current members of the key individual network and advisory group "
                       "(personal data: police roles in their beats, names for supervisors "
                       "and analysts only; every read is audited).",
        "provider": "geoservice.providers.contacts.KeyContactProvider",
        "id_field": "member_id", "title_field": "member_id", "keywords": ["contacts"],
    },
}
"""The collections we publish: title, provider class (dotted path) and id field."""

MVT = "application/vnd.mapbox-vector-tile"

TILES: dict[str, dict[str, Any]] = {
    "street_scores": {
        "zoom": {"min": 10, "max": 15}, "detail_zoom": 14, "geometry_dimension": 1,
        "properties": ["street_id", "name", "beat_id", "score", "rank_in_beat"],
        "detail_properties": ["ward_id", "households", "harm", "voice", "representation",
                              "coverage", "fatigue", "voice_n", "reasons", "profile",
                              "run_id", "as_of"],
    },
    "streets": {
        "zoom": {"min": 10, "max": 15}, "detail_zoom": 14, "geometry_dimension": 1,
        "properties": ["street_id", "name", "beat_id", "highway"],
        "detail_properties": ["ward_id", "length_m", "households"],
    },
    "crime_cells": {
        "zoom": {"min": 8, "max": 14}, "detail_zoom": 8, "geometry_dimension": 2,
        "id_property": "cell_id",
        "properties": ["cell_id", "resolution", "crimes", "harm_days", "first_month",
                       "last_month", "disclosure"],
    },
}
"""Collections offered as vector tiles (WebMercatorQuad, MVT; ``providers/tiles.py``): the
zooms served, the zoom from which the ``detail_properties`` are added, and which properties
a tile feature carries. Never a personal collection (visits, walk lists, key contacts)."""

PROCESSES: dict[str, str] = {
    "score-area": "geoservice.processes.score_area.ScoreAreaProcessor",
    "area-representation": "geoservice.processes.representation.RepresentationProcessor",
    "create-setup": "geoservice.processes.create_setup.CreateSetupProcessor",
}
"""The processes we offer: id -> processor class (dotted path)."""

from .engage_registry import ENGAGE_COLLECTIONS, ENGAGE_PROCESSES  # noqa: E402

COLLECTIONS.update(ENGAGE_COLLECTIONS)  # messages, replies, actions, engagement
PROCESSES.update(ENGAGE_PROCESSES)  # compose/send a message, actions, answers, door surveys


def _merge_registries() -> None:
    """Merge the collections, processes and tiles of each module of
    :mod:`geoservice.registries` (``COLLECTIONS``, ``PROCESSES``, ``TILES`` dicts, each
    optional), so that a group of collections is added by adding one module."""
    import importlib
    import pkgutil

    from . import registries

    for info in sorted(pkgutil.iter_modules(registries.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{registries.__name__}.{info.name}")
        for target, name in ((COLLECTIONS, "COLLECTIONS"), (PROCESSES, "PROCESSES"),
                             (TILES, "TILES")):
            extra = getattr(module, name, {})
            clash = set(extra) & set(target)
            if clash:
                raise ImportError(f"geoservice.registries.{info.name} redefines "
                                  f"{name} {sorted(clash)}")
            target.update(extra)


_merge_registries()


class ConfigError(ValueError):
    """The service configuration is missing something or has a wrong value."""


@dataclass(frozen=True)
class OidcConfig:
    """Where bearer tokens come from and how their claims map to our roles."""

    issuer: str
    audience: str
    jwks_file: str | None = None
    jwks_url: str | None = None
    algorithms: tuple[str, ...] = ("RS256",)
    role_claim: str = "role"
    areas_claim: str = "areas"
    leeway_s: int = 30
    max_token_lifetime_s: int = 12 * 3600
    """Longest lifetime (``exp - iat``) of a token accepted; ``iat`` is required."""


@dataclass(frozen=True)
class ApiKey:
    """A system client: the SHA-256 of its key, its role, areas and default purpose."""

    name: str
    sha256: str
    role: str
    areas: tuple[str, ...] = ()
    purpose: str | None = None


@dataclass(frozen=True)
class ServiceConfig:
    """Everything the service needs, read once at start."""

    store: str
    url: str | None = None
    title: str = "Local priority targeting"
    oidc: OidcConfig | None = None
    api_keys: tuple[ApiKey, ...] = ()
    k: int = 5
    audit_path: str = "lpt-audit.jsonl"
    require_purpose: bool = True
    purposes: tuple[str, ...] = ()
    """``audit.purposes``: the purposes a caller may state (``X-Purpose``); empty: any."""
    free_text_purpose: bool = True
    """``audit.free_text_purpose``: a purpose outside the list is accepted (default: only
    when no list is configured)."""
    failed_auth_limit: int = 20
    """``auth.failed_auth_per_minute``: failed authentications one address may make in a
    minute (per worker process) before its credentialed requests are refused (429)."""
    counts_ttl_s: float = 60.0
    runtime_dir: str | None = None
    source: str | None = None
    cell_resolution: int = 8
    basemap: tuple[str, str] | None = None
    """``server.basemap``: (tile URL template, attribution HTML); None: no base map."""
    raw: dict | None = field(default=None, repr=False, compare=False)
    """The YAML as read by :func:`load_config` (``${VAR}`` filled), for the sections other
    modules read (:func:`raw_config`)."""


_ENV = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def _expand(value: Any, where: str) -> Any:
    """``${VAR}`` / ``${VAR:-default}`` replaced in every string of a parsed YAML value."""
    if isinstance(value, dict):
        return {k: _expand(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match) -> str:
        got = os.environ.get(m.group(1))
        if got is not None:
            return got
        if m.group(2) is not None:
            return m.group(2)
        raise ConfigError(f"{where}: environment variable {m.group(1)} is not set "
                          f"(the configuration says ${{{m.group(1)}}})")

    return _ENV.sub(sub, value)


def load_config(path: str | os.PathLike) -> ServiceConfig:
    """Read our service YAML (``${VAR}`` placeholders filled from the environment)."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"service configuration {p} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"service configuration {p} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"service configuration {p}: expected a mapping at the top")
    cfg = parse_config(raw, base=p.parent)
    return ServiceConfig(**{**cfg.__dict__, "source": str(p.resolve()),
                            "raw": _expand(raw, "config")})


def raw_config(cfg: ServiceConfig) -> dict[str, Any]:
    """The service YAML of ``cfg`` (``${VAR}`` filled), read once by :func:`load_config`; {}
    for a configuration not read from a file. Every module reading a section of its own
    (``server.page``, ``auth.page_client``, ``auth.demo_idp``, ``engagement``) asks here."""
    if cfg.raw is not None:
        return cfg.raw
    if not cfg.source:
        return {}
    raw = yaml.safe_load(Path(cfg.source).read_text(encoding="utf-8")) or {}
    return _expand(raw, "config") if isinstance(raw, dict) else {}


def page_settings(cfg: ServiceConfig) -> tuple[list[str] | None, dict[str, Any] | None]:
    """``server.page.attributions`` and ``auth.page_client`` (the browser client) from the
    YAML (a configuration not read from a file has neither)."""
    raw = raw_config(cfg)
    page = (raw.get("server") or {}).get("page") or {}
    lines = page.get("attributions")
    client = (raw.get("auth") or {}).get("page_client")
    if client:
        missing = [k for k in ("authorization_endpoint", "token_endpoint", "client_id")
                   if not client.get(k)]
        if missing:
            raise ConfigError(f"auth.page_client: {missing} required for the page's sign-in "
                              "(authorisation code with PKCE)")
        if cfg.oidc is None:
            raise ConfigError("auth.page_client needs auth.oidc (issuer, audience, jwks_url "
                              "or jwks_file): the service verifies the tokens the page gets")
        client = {"authorization_endpoint": client["authorization_endpoint"],
                  "token_endpoint": client["token_endpoint"],
                  "client_id": client["client_id"],
                  "scope": client.get("scope", "openid"),
                  "end_session_endpoint": client.get("end_session_endpoint")}
    return ([str(x) for x in lines] if lines else None), (client or None)


def data_attribution_lines(cfg: ServiceConfig) -> list[str]:
    """The attribution lines of the officer page and the HTML maps: ``server.page.attributions``
    from the YAML, else the lines the imported data's licences ask for
    (:func:`spatial_core.api.attribution.data_attributions`)."""
    from spatial_core import open_store
    from spatial_core.api.attribution import data_attributions

    lines, _client = page_settings(cfg)
    if lines is not None:
        return lines
    store = open_store(cfg.store, create=False)
    try:
        return data_attributions(store, "map")
    finally:
        store.close()


def _path(value: str | None, base: Path | None) -> str | None:
    if value is None or "://" in value or base is None:
        return value
    return str((base / value).resolve()) if not os.path.isabs(value) else value


def parse_config(raw: dict, base: Path | None = None) -> ServiceConfig:
    """A :class:`ServiceConfig` from the parsed YAML; relative paths are relative to ``base``."""
    raw = _expand(raw, "config")
    known = {"store", "server", "auth", "disclosure", "audit", "engagement"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"unknown section(s) {unknown}; sections are {sorted(known)}")
    if not raw.get("store"):
        raise ConfigError("store: give the GeoPackage path or postgresql:// URL of the store")
    server = raw.get("server") or {}
    auth = raw.get("auth") or {}
    oidc = None
    if auth.get("oidc"):
        o = dict(auth["oidc"])
        for key in ("issuer", "audience"):
            if not o.get(key):
                raise ConfigError(f"auth.oidc.{key} is required")
        if bool(o.get("jwks_file")) == bool(o.get("jwks_url")):
            raise ConfigError("auth.oidc: give exactly one of jwks_file or jwks_url")
        if isinstance(o.get("algorithms"), str):
            o["algorithms"] = [o["algorithms"]]
        o["algorithms"] = tuple(o.get("algorithms") or ("RS256",))
        if any(a.upper().startswith("HS") or a.lower() == "none" for a in o["algorithms"]):
            raise ConfigError("auth.oidc.algorithms: only public-key algorithms (RS256, ES256 "
                              "…) are accepted")
        o["jwks_file"] = _path(o.get("jwks_file"), base)
        try:
            oidc = OidcConfig(**o)
        except TypeError as exc:
            raise ConfigError(f"auth.oidc: {exc}") from None
    keys = []
    for i, k in enumerate(auth.get("api_keys") or []):
        where = f"auth.api_keys[{i}]"
        digest = str(k.get("sha256") or "").lower()
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ConfigError(f"{where}.sha256: expected the 64 hex digits of the key's SHA-256 "
                              "(sha256sum of the key), never the key itself")
        role = k.get("role")
        if role not in ROLES:
            raise ConfigError(f"{where}.role: {role!r} is not a role; roles are {list(ROLES)}")
        keys.append(ApiKey(name=str(k.get("name") or f"key{i}"), sha256=digest, role=role,
                           areas=tuple(k.get("areas") or ()), purpose=k.get("purpose")))
    disclosure = raw.get("disclosure") or {}
    k_value = int(disclosure.get("k", 5))
    if k_value < 2:
        raise ConfigError(f"disclosure.k must be at least 2 (got {k_value})")
    audit = raw.get("audit") or {}
    store = str(raw["store"])
    if "://" not in store:
        store = _path(store, base) or store
    return ServiceConfig(
        store=store,
        url=str(server["url"]).rstrip("/") if server.get("url") else None,
        title=str(server.get("title", "Local priority targeting")),
        oidc=oidc, api_keys=tuple(keys), k=k_value,
        audit_path=_path(str(audit.get("path", "lpt-audit.jsonl")), base) or "lpt-audit.jsonl",
        require_purpose=bool(audit.get("require_purpose", True)),
        purposes=tuple(str(x).strip() for x in (audit.get("purposes") or []) if str(x).strip()),
        free_text_purpose=bool(audit.get("free_text_purpose", not audit.get("purposes"))),
        failed_auth_limit=_positive(auth.get("failed_auth_per_minute", 20),
                                    "auth.failed_auth_per_minute"),
        counts_ttl_s=float(disclosure.get("counts_ttl_s", 60.0)),
        runtime_dir=_path(server.get("runtime_dir"), base),
        cell_resolution=_cell_resolution(disclosure.get("cell_resolution", 8)),
        basemap=_basemap(server.get("basemap")),
    )


def _positive(value: Any, where: str) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n < 1:
        raise ConfigError(f"{where} must be a whole number of at least 1 (got {value!r})")
    return n


def _cell_resolution(value: Any) -> int:
    try:
        res = int(value)
    except (TypeError, ValueError):
        res = -1
    if not 0 <= res <= 15:
        raise ConfigError(f"disclosure.cell_resolution must be an H3 resolution 0 .. 15 "
                          f"(got {value!r})")
    return res


_TILE_URL = re.compile(r"https?://[^\s/'\"\\<>&{}]*(?:\{s\}[^\s/'\"\\<>&{}]*)?"
                       r"/[^\s'\"\\<>&]*")


def _basemap(value: Any) -> tuple[str, str] | None:
    """``server.basemap`` (``{url, attribution}``) checked; absent or ``none``: no base map.

    The url is an XYZ tile template (``{z}``, ``{x}``, ``{y}``; ``{s}`` allowed in the host)
    on http(s), without ``&``, quotes, backslashes or spaces (pygeoapi writes it, HTML-escaped,
    into a JavaScript string); the attribution (HTML) is required: tile licences ask for it.
    """
    if value in (None, False, "none"):
        return None
    if not isinstance(value, dict):
        raise ConfigError("server.basemap: expected a mapping {url, attribution} (leave it out "
                          "for no base map)")
    unknown = sorted(set(value) - {"url", "attribution"})
    if unknown:
        raise ConfigError(f"server.basemap: unknown key(s) {unknown}; keys are "
                          "['attribution', 'url']")
    url = str(value.get("url") or "")
    if not _TILE_URL.fullmatch(url) or not all(p in url for p in ("{z}", "{x}", "{y}")):
        raise ConfigError(f"server.basemap.url: {url!r} is not an http(s) tile URL template "
                          "with {z}, {x} and {y} (no '&', quotes, backslashes or spaces)")
    attribution = str(value.get("attribution") or "").strip()
    if not attribution:
        raise ConfigError("server.basemap.attribution is required (the tile server's licence "
                          "asks for it; it is shown on every map)")
    return url, attribution


def _extent(store_location: str) -> list[float]:
    """The WGS84 bounding box of the stored areas (the whole UK when there are none)."""
    from spatial_core import open_store
    from spatial_core.geo.crs import bng_to_lnglat

    store = open_store(store_location, create=False)
    try:
        a = store.read("areas", ["minx", "miny", "maxx", "maxy"])
    finally:
        store.close()
    if not len(a) or a["minx"].isna().all():
        return [-8.7, 49.8, 1.8, 60.9]
    lng, lat = bng_to_lnglat([a["minx"].min(), a["maxx"].max()],
                             [a["miny"].min(), a["maxy"].max()])
    return [round(float(lng[0]), 5), round(float(lat[0]), 5),
            round(float(lng[1]), 5), round(float(lat[1]), 5)]


TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
"""pygeoapi's ``server.templates.path``: our versions of the pygeoapi templates that load
scripts, stylesheets or data (vendored copies under ``/app/vendor``, script-safe JSON); pygeoapi
falls back to its own for every other template."""


def _map_section(cfg: ServiceConfig) -> dict[str, str]:
    """pygeoapi's ``server.map``: no third-party tiles unless ``server.basemap`` is set, and the
    data's attribution lines (:mod:`geoservice.html_assets`)."""
    from .html_assets import map_section

    return map_section(cfg.basemap, data_attribution_lines(cfg))


def pygeoapi_config(cfg: ServiceConfig, *, host: str = "127.0.0.1", port: int = 5000) -> dict:
    """The pygeoapi configuration dict: server, metadata and our collections."""
    bbox = _extent(cfg.store)
    url = cfg.url or f"http://{host}:{port}"
    resources = {}
    for cid, c in COLLECTIONS.items():
        resources[cid] = {
            "type": "collection",
            "title": c["title"],
            "description": c["description"],
            "keywords": c["keywords"],
            "links": [],
            "extents": {"spatial": {"bbox": bbox, "crs": CRS84}},
            "providers": [{
                "type": "feature",
                "name": c["provider"],
                "data": cfg.store,
                "id_field": c["id_field"],
                "title_field": c["title_field"],
                "editable": bool(c.get("editable", False)),
                "storage_crs": BNG,
                "crs": [CRS84, BNG],
                "options": {"k": cfg.k, "counts_ttl_s": cfg.counts_ttl_s,
                            "cell_resolution": cfg.cell_resolution},
            }],
        }
        if cid in TILES:
            resources[cid]["providers"].append({
                "type": "tile",
                "name": "geoservice.providers.tiles.VectorTileProvider",
                "data": cfg.store,
                "options": {"layer": cid, "features": c["provider"],
                            "id_field": c["id_field"], "k": cfg.k,
                            "counts_ttl_s": cfg.counts_ttl_s,
                            "cell_resolution": cfg.cell_resolution, "bounds": bbox,
                            **TILES[cid]},
                "format": {"name": "mvt", "mimetype": MVT},
            })
    for pid, name in PROCESSES.items():
        resources[pid] = {"type": "process",
                          "processor": {"name": name, "data": cfg.store,
                                        "options": {"k": cfg.k}}}
    return {
        "server": {
            "bind": {"host": host, "port": port},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "gzip": False,
            "languages": ["en-GB"],
            "pretty_print": False,
            "limits": {"default_items": 100, "max_items": 10000, "on_exceed": "throttle"},
            "map": _map_section(cfg),
            # our versions of pygeoapi's templates that load assets (geoservice/templates/)
            "templates": {"path": str(TEMPLATES_DIR)},
        },
        "logging": {"level": "WARNING"},
        "metadata": {
            "identification": {
                "title": cfg.title,
                "description": "Street scores, policing areas and visits for neighbourhood "
                               "policing (OGC API Features, vector tiles).",
                "keywords": ["policing", "neighbourhood", "targeting"],
                "keywords_type": "theme",
                "terms_of_service": "https://www.nationalarchives.gov.uk/doc/open-government-licence/",
                "url": url,
            },
            "license": {"name": "OGL-UK-3.0",
                        "url": "https://www.nationalarchives.gov.uk/doc/open-government-licence/"},
            "provider": {"name": "Local priority targeting", "url": url},
            "contact": {"name": "Neighbourhood policing analyst", "position": "Analyst",
                        "email": "analyst@example.invalid", "role": "pointOfContact"},
        },
        "resources": resources,
    }
