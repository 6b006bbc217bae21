# SPDX-License-Identifier: GPL-3.0-or-later
"""What the service says about itself to OGC API clients, in one place.

pygeoapi gives the protocol; these are the rules where its defaults say more (or less) than
this service does, found with clients nobody here wrote (``ogctests``, GDAL, OWSLib, QGIS):

- :data:`CONFORMANCE`: ``/conformance`` declares exactly what is implemented: Part 3
  filtering with CQL2 text and JSON (``geoservice/filters.py``) in, Part 4
  create-replace-delete out (items are never replaced or deleted: ``app.item_write_refusal``;
  visits are created with ``POST``, which Part 4 alone does not describe);
- :func:`unknown_parameters`: a query parameter the endpoint does not know is a 400
  (Part 1, ``/req/core/query-param-unknown``), so a typo is never silently ignored and a
  throwaway parameter never gets past the response cache;
- :func:`geojson_type`: GeoJSON answers are ``application/geo+json``;
- :func:`link_header`: the ``next``/``prev`` links of ``/items`` as an HTTP ``Link`` header;
- :func:`fix_openapi`: the OpenAPI document with our security schemes, the 401/403 answers
  and no reference to a moving branch of another repository.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["CONFORMANCE", "NOT_CONFORMANT", "declare_conformance", "ITEMS_PARAMETERS",
           "unknown_parameters", "geojson_type", "link_header", "items_links", "fix_openapi",
           "GEOJSON", "status_info", "fix_queryables", "GEOMETRY_FORMATS", "body_links"]

GEOJSON = "application/geo+json"

_F3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf"

CONFORMANCE: tuple[str, ...] = (
    f"{_F3}/filter",
    f"{_F3}/features-filter",
    f"{_CQL2}/cql2-text",
    f"{_CQL2}/cql2-json",
    f"{_CQL2}/basic-cql2",
    f"{_CQL2}/advanced-comparison-operators",
    f"{_CQL2}/basic-spatial-functions",
    f"{_CQL2}/basic-spatial-functions-plus",
)
"""Conformance classes we add to pygeoapi's: Part 3 filtering and the CQL2 classes
:mod:`geoservice.filters` evaluates (AND/OR/NOT, comparisons, IS NULL, LIKE, BETWEEN, IN,
S_INTERSECTS on points, lines and polygons and the bbox). Not declared: temporal, array,
case/accent-insensitive and arithmetic classes, ``spatial-functions`` (S_CROSSES, S_TOUCHES,
S_OVERLAPS, S_EQUALS are not evaluated)."""

NOT_CONFORMANT: tuple[str, ...] = (
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
)
"""Classes pygeoapi declares that this service does not implement: no item is ever
replaced, updated or deleted (405)."""


def declare_conformance() -> None:
    """Make pygeoapi's ``/conformance`` say :data:`CONFORMANCE` and not
    :data:`NOT_CONFORMANT` (its class lists are module lists it extends per request)."""
    from pygeoapi import api as root
    from pygeoapi.api import itemtypes

    for lst in (root.CONFORMANCE_CLASSES, itemtypes.CONFORMANCE_CLASSES_FEATURES):
        lst[:] = [c for c in lst if c not in NOT_CONFORMANT]
    for c in CONFORMANCE:
        if c not in itemtypes.CONFORMANCE_CLASSES_FEATURES:
            itemtypes.CONFORMANCE_CLASSES_FEATURES.append(c)


ITEMS_PARAMETERS = frozenset({
    "f", "lang", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "resulttype",
    "sortby", "properties", "skipGeometry", "filter", "filter-lang", "filter-crs",
})
"""The query parameters of ``/collections/{id}/items`` besides the collection's queryable
properties (Part 1 equality filters such as ``?beat_id=…``)."""

_COMMON = frozenset({"f", "lang"})
_ITEM = _COMMON | {"crs", "properties", "skipGeometry"}

_ITEMS_PATH = re.compile(r"^/collections/(?P<cid>[^/]+)/items/?$")
_ITEM_PATH = re.compile(r"^/collections/[^/]+/items/[^/]+/?$")
_PLAIN = re.compile(r"^/(?:|conformance|collections|collections/[^/]+|"
                    r"collections/[^/]+/(?:queryables|schema))/?$")


def unknown_parameters(path: str, names: Iterable[str],
                       fields: Callable[[str], Iterable[str] | None]) -> list[str] | None:
    """The query parameters in ``names`` that ``path`` does not know (sorted), or None for a
    path whose parameters are not checked here (tiles, processes, jobs, our own pages).

    ``fields(collection)`` gives a collection's property names (None: not a collection of
    ours, left to pygeoapi's 404).

    >>> props = lambda cid: ["beat_id", "score"] if cid == "street_scores" else None
    >>> unknown_parameters("/collections/street_scores/items", ["limit", "ooga"], props)
    ['ooga']
    >>> unknown_parameters("/collections/street_scores/items", ["beat_id", "f"], props)
    []
    >>> unknown_parameters("/collections/street_scores/items/s1", ["limit"], props)
    ['limit']
    >>> unknown_parameters("/processes/score-area", ["ooga"], props) is None
    True
    """
    m = _ITEMS_PATH.match(path)
    if m:
        known = fields(m.group("cid"))
        if known is None:
            return None
        allowed = ITEMS_PARAMETERS | set(known)
    elif _ITEM_PATH.match(path):
        allowed = _ITEM
    elif _PLAIN.match(path):
        allowed = _COMMON
    else:
        return None
    return sorted({n for n in names if n not in allowed})


def geojson_type(path: str, content_type: str | None) -> str | None:
    """The ``Content-Type`` a JSON answer of ``/items`` or an item should have
    (``application/geo+json``), or None to leave it.

    >>> geojson_type("/collections/areas/items", "application/json")
    'application/geo+json'
    >>> geojson_type("/collections/areas/items/a1", "application/json; charset=UTF-8")
    'application/geo+json'
    >>> geojson_type("/collections/areas", "application/json") is None
    True
    >>> geojson_type("/collections/areas/items", "text/html") is None
    True
    """
    if not (_ITEMS_PATH.match(path) or _ITEM_PATH.match(path)):
        return None
    base = (content_type or "").split(";")[0].strip().lower()
    return GEOJSON if base == "application/json" else None


QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


def link_header(links: Iterable[Mapping[str, Any]],
                rels: Iterable[str] | None = None) -> str | None:
    """An HTTP ``Link`` header (RFC 8288) with the body's links (of the given relations;
    None: all). Commas in a target are percent-encoded (simple clients split the header on
    them) and a target with quotes or angle brackets is left out.

    >>> link_header([{"href": "http://x/items?offset=10", "rel": "next",
    ...               "type": "application/geo+json"}, {"href": "http://x", "rel": "self"}],
    ...             rels=["next"])
    '<http://x/items?offset=10>; rel="next"; type="application/geo+json"'
    >>> link_header([{"href": "http://x/items?bbox=1,2,3,4", "rel": "self"}])
    '<http://x/items?bbox=1%2C2%2C3%2C4>; rel="self"'
    >>> link_header([{"href": "http://x", "rel": "self"}], rels=["next"]) is None
    True
    """
    wanted = None if rels is None else set(rels)
    parts = []
    for link in links:
        if not isinstance(link, Mapping) or not link.get("rel"):
            continue
        if wanted is not None and link.get("rel") not in wanted:
            continue
        href = str(link.get("href") or "").replace(",", "%2C")
        if not href or any(c in href for c in '<>"\r\n ') or '"' in str(link["rel"]):
            continue
        part = f'<{href}>; rel="{link["rel"]}"'
        kind = str(link.get("type") or "")
        if kind and not any(c in kind for c in '",;\r\n'):
            part += f'; type="{kind}"'
        parts.append(part)
    return ", ".join(parts) or None


def body_links(body: bytes) -> list:
    """The top-level ``links`` of a GeoJSON feature collection without parsing its features:
    pygeoapi writes them after the features, so the last ``"links":`` is read from there
    (the whole body is parsed only when that fails).

    >>> body_links(b'{"features": [{"links": [1]}], "links": [{"rel": "next"}], "t": 1}')
    [{'rel': 'next'}]
    """
    import json

    at = body.rfind(b'"links":')
    if at >= 0:
        try:
            got, _ = json.JSONDecoder().raw_decode(body[at + 8:].lstrip().decode("utf-8"))
            if isinstance(got, list):
                return got
        except ValueError:
            pass
    try:
        whole = json.loads(body)
    except ValueError:
        return []
    return list(whole.get("links") or []) if isinstance(whole, dict) else []


def items_links(body_links: list, queryables_href: str) -> str | None:
    """The ``Link`` header of ``/items``: the body's links and the collection's queryables
    (Part 3: a filterable resource links its queryables)."""
    extra = [{"href": queryables_href, "rel": QUERYABLES_REL, "type": "application/schema+json"}]
    return link_header(list(body_links) + extra)


GEOMETRY_FORMATS: dict[str, str | None] = {
    "streets": "geometry-multilinestring", "street_scores": "geometry-multilinestring",
    "areas": "geometry-multipolygon", "area_profiles": "geometry-multipolygon",
    "setups": "geometry-multipolygon", "engagement": "geometry-multipolygon",
    "crime_cells": "geometry-polygon",
    "visits": "geometry-point", "walk_lists": "geometry-point", "key_contacts": "geometry-point",
    "messages": None, "replies": None, "actions": None,
}
"""The geometry of each collection's features as Part 3 queryables name it (None: features
without geometry); pygeoapi says ``geometry-any`` for every collection."""

JSON_SCHEMA = "https://json-schema.org/draft/2019-09/schema"


def fix_queryables(cid: str, body: dict) -> dict:
    """A ``/queryables`` document with the JSON Schema URI Part 3 requires (https) and the
    collection's geometry type (or no geometry property for a collection without one).

    >>> fix_queryables("visits", {"$schema": "http://json-schema.org/draft/2019-09/schema",
    ...     "properties": {"geometry": {"format": "geometry-any"}}})["properties"]
    {'geometry': {'format': 'geometry-point'}}
    >>> fix_queryables("messages", {"properties": {"geometry": {}, "a": {}}})["properties"]
    {'a': {}}
    """
    if "$schema" in body:
        body["$schema"] = JSON_SCHEMA
    props = body.get("properties")
    if isinstance(props, dict) and isinstance(props.get("geometry"), dict) \
            and cid in GEOMETRY_FORMATS:
        kind = GEOMETRY_FORMATS[cid]
        if kind is None:
            props.pop("geometry")
        else:
            props["geometry"]["format"] = kind
    return body


def status_info(job_id: str, process_id: str, location: str, status: str = "accepted"
                ) -> dict[str, Any]:
    """The status-info document (OGC API Processes ``statusInfo.yaml``) of a job just
    created by an asynchronous execute."""
    return {"type": "process", "jobID": job_id, "processID": process_id, "status": status,
            "links": [{"href": location, "rel": "monitor", "type": "application/json",
                       "title": "job status"},
                      {"href": location, "rel": "status", "type": "application/json",
                       "title": "job status"}]}


_MOVING = ("https://raw.githubusercontent.com/",)

_SORTBY = {
    "name": "sortby", "in": "query", "required": False, "style": "form", "explode": False,
    "description": "Properties to sort by, comma-separated; a leading '-' sorts descending "
                   "('+' or none: ascending).",
    "schema": {"type": "array", "minItems": 1,
               "items": {"type": "string", "pattern": r"[+|-]?[A-Za-z_].*"}},
}
_Q = {"name": "q", "in": "query", "required": False, "style": "form", "explode": False,
      "description": "Free-text search terms.",
      "schema": {"type": "array", "items": {"type": "string"}}}

_PROBLEM = {"application/json": {"schema": {"type": "object", "properties": {
    "code": {"type": "string"}, "description": {"type": "string"}}}}}

SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": "An OpenID Connect access token (RS256/ES256) from the "
                                  "force's identity provider; its role and areas claims "
                                  "decide what is seen."},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "A system client's key (configured by its SHA-256)."},
}


def fix_openapi(oas: dict) -> dict:
    """``oas`` with :data:`SECURITY_SCHEMES` (optional: anonymous callers see public data),
    401 and 403 answers on every operation, and the parameters pygeoapi refers to on a
    moving branch of another repository (``sortby``, ``q``) written out in place."""
    comps = oas.setdefault("components", {})
    comps.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    comps.setdefault("responses", {}).update({
        "Unauthorized": {"description": "The credentials are missing where required, expired "
                                        "or not valid (WWW-Authenticate says which).",
                         "content": _PROBLEM},
        "Forbidden": {"description": "The caller's role may not read or run this.",
                      "content": _PROBLEM},
    })
    oas["security"] = [{}, {"bearerAuth": []}, {"apiKey": []}]
    for ops in (oas.get("paths") or {}).values():
        if not isinstance(ops, dict):
            continue
        for method, op in ops.items():
            if method not in ("get", "post", "put", "patch", "delete") or not isinstance(op, dict):
                continue
            responses = op.setdefault("responses", {})
            responses.setdefault("401", {"$ref": "#/components/responses/Unauthorized"})
            responses.setdefault("403", {"$ref": "#/components/responses/Forbidden"})
            params = op.get("parameters")
            if isinstance(params, list):
                op["parameters"] = [_pinned(p) for p in params]
    return _drop_moving_refs(oas)


def _pinned(param: Any) -> Any:
    ref = param.get("$ref") if isinstance(param, dict) else None
    if isinstance(ref, str) and ref.startswith(_MOVING):
        if ref.endswith("/sortby.yaml"):
            return dict(_SORTBY)
        if ref.endswith("/q.yaml"):
            return dict(_Q)
    return param


def _drop_moving_refs(node: Any) -> Any:
    """Any other ``$ref`` to a moving branch replaced by an open schema (none is expected)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_MOVING):
            return {"description": "see the service's documentation"}
        return {k: _drop_moving_refs(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_drop_moving_refs(v) for v in node]
    return node
