# SPDX-License-Identifier: GPL-3.0-or-later
"""OGC API Features Part 3 filters (CQL2 text and JSON) evaluated as a pandas mask.

pygeoapi parses ``filter=`` (CQL2 text, through pygeofilter's ECQL parser) and a
``POST …/items`` body of type ``application/query-cql-json`` (pygeofilter's CQL2 JSON
parser), moves geometry literals from ``filter-crs`` (CRS84 by default) into the storage CRS
(EPSG:27700) and hands the provider a pygeofilter AST. :func:`filter_mask` evaluates that AST
over the rows the caller's scope already allowed, so a filter can only narrow what the
caller sees, never widen it. Supported: ``AND``/``OR``/``NOT``, ``= <> < <= > >=``,
``BETWEEN``, ``LIKE``, ``IN``, ``IS NULL``, spatial ``INTERSECTS``/``DISJOINT``/``WITHIN``/
``CONTAINS`` and ``BBOX``, on the collection's queryables; anything else is a 400 that says
what is supported.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pygeoapi.provider.base import ProviderInvalidQueryError
from pygeofilter import ast, values

__all__ = ["FilterError", "filter_attributes", "filter_mask", "uses_geometry", "SUPPORTED",
           "bbox_in_storage"]

SUPPORTED = ("AND, OR, NOT, =, <>, <, <=, >, >=, BETWEEN, LIKE, IN, IS NULL, "
             "INTERSECTS, DISJOINT, WITHIN, CONTAINS, BBOX")

GEOMETRY_NAMES = ("geometry", "geom", "the_geom", "shape")

_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Equal: lambda a, b: a == b, ast.NotEqual: lambda a, b: a != b,
    ast.LessThan: lambda a, b: a < b, ast.LessEqual: lambda a, b: a <= b,
    ast.GreaterThan: lambda a, b: a > b, ast.GreaterEqual: lambda a, b: a >= b,
}
_SPATIAL = {
    ast.GeometryIntersects: shapely.intersects, ast.GeometryDisjoint: shapely.disjoint,
    ast.GeometryWithin: shapely.within, ast.GeometryContains: shapely.contains,
}


class FilterError(ProviderInvalidQueryError):
    """A filter this collection cannot evaluate (400 with the reason)."""

    ogc_exception_code = "InvalidParameterValue"


def _walk(node: Any):
    yield node
    if isinstance(node, ast.Node):
        for child in node.get_sub_nodes():
            yield from _walk(child)
    elif isinstance(node, (list, tuple)):
        for child in node:
            yield from _walk(child)


def filter_attributes(node: Any) -> set[str]:
    """The attribute names a filter uses (geometry names included)."""
    return {n.name for n in _walk(node) if isinstance(n, ast.Attribute)}


def uses_geometry(node: Any) -> bool:
    """Whether a filter has a spatial predicate (the rows' geometry must be read)."""
    return any(isinstance(n, (ast.SpatialComparisonPredicate, ast.BBox)) for n in _walk(node))


def filter_mask(node: Any, frame: pd.DataFrame, fields: Mapping[str, Any],
                geometry: np.ndarray | None = None,
                filter_crs: str | None = None) -> np.ndarray:
    """A boolean array: which rows of ``frame`` the filter keeps.

    ``fields`` are the queryables (name -> ``{"type": …}`` or the type); ``geometry`` the
    rows' shapely geometries in the storage CRS (needed only for spatial predicates);
    ``filter_crs`` the CRS of a ``BBOX(…)``'s numbers when it names none (default: the
    request's ``filter-crs``, else CRS84). pygeoapi moves geometry literals into the storage
    CRS but leaves a BBOX's numbers as given: they are moved here.
    """
    ev = _Evaluator(frame, fields, geometry, filter_crs)
    out = ev.value(node)
    if not isinstance(out, np.ndarray) or out.dtype != bool:
        raise FilterError(user_msg="the filter must be a condition (a comparison, a spatial "
                                   f"predicate or a combination of them); supported: {SUPPORTED}")
    return out


class _Column:
    """An attribute's values, with its JSON type and which rows are null."""

    def __init__(self, name: str, values_: np.ndarray, kind: str) -> None:
        self.name, self.values, self.kind = name, values_, kind
        self.null = pd.isna(values_)


class _Evaluator:
    def __init__(self, frame: pd.DataFrame, fields: Mapping[str, Any],
                 geometry: np.ndarray | None, filter_crs: str | None = None) -> None:
        self.frame, self.fields, self.geometry = frame, fields, geometry
        self.filter_crs = filter_crs or _request_filter_crs()
        self.n = len(frame)

    # -- values ---------------------------------------------------------------------------
    def value(self, node: Any) -> Any:
        if isinstance(node, ast.And):
            return self.condition(node.lhs) & self.condition(node.rhs)
        if isinstance(node, ast.Or):
            return self.condition(node.lhs) | self.condition(node.rhs)
        if isinstance(node, ast.Not):
            return ~self.condition(node.sub_node)
        if type(node) in _COMPARE:
            return self.compare(node.lhs, node.rhs, _COMPARE[type(node)], node.op.value)
        if isinstance(node, ast.Between):
            col = self.column(node.lhs)
            low, high = self.literal(node.low, col), self.literal(node.high, col)
            keep = self._op(col, lambda v: (v >= low) & (v <= high))
            return self._not(keep, col, node.not_)
        if isinstance(node, ast.In):
            col = self.column(node.lhs)
            opts = [self.literal(o, col) for o in node.sub_nodes]
            keep = ~col.null & pd.Series(col.values).isin(opts).to_numpy()
            return self._not(keep, col, node.not_)
        if isinstance(node, ast.Like):
            col = self.column(node.lhs)
            if col.kind != "string":
                raise FilterError(user_msg=f"LIKE needs a text property; {col.name!r} is a "
                                           f"{col.kind}")
            rx = _like_regex(node.pattern, node.wildcard, node.singlechar, node.escapechar)
            text = pd.Series(col.values, dtype=object).fillna("").astype(str)
            keep = ~col.null & text.str.fullmatch(
                rx, case=not node.nocase).to_numpy(dtype=bool)
            return self._not(keep, col, node.not_)
        if isinstance(node, ast.IsNull):
            col = self.column(node.lhs)
            return ~col.null if node.not_ else col.null.copy()
        if type(node) in _SPATIAL:
            return self.spatial(node.lhs, node.rhs, _SPATIAL[type(node)])
        if isinstance(node, ast.BBox):
            self.geometry_of(node.lhs)
            box = bbox_in_storage((node.minx, node.miny, node.maxx, node.maxy),
                                  node.crs or self.filter_crs)
            return self.spatial(node.lhs, box, shapely.intersects)
        if isinstance(node, ast.Attribute):
            return self.column(node)
        if isinstance(node, (bool, int, float, str)):
            return node
        raise FilterError(user_msg=f"filter element {_describe(node)} is not supported here; "
                                   f"supported: {SUPPORTED}")

    def condition(self, node: Any) -> np.ndarray:
        out = self.value(node)
        if not isinstance(out, np.ndarray) or out.dtype != bool:
            raise FilterError(user_msg=f"{_describe(node)} is not a condition")
        return out

    def column(self, node: Any) -> _Column:
        if isinstance(node, ast.Node) and not isinstance(node, ast.Attribute):
            raise FilterError(user_msg=f"filter element {_describe(node)} is not supported "
                                       f"here (compare a property with a value); supported: "
                                       f"{SUPPORTED}")
        if not isinstance(node, ast.Attribute):
            raise FilterError(user_msg=f"expected a property name, got {_describe(node)}")
        name = node.name
        if name in GEOMETRY_NAMES:
            raise FilterError(user_msg=f"{name!r} is the geometry: compare it with a spatial "
                                       "predicate such as INTERSECTS(geometry, POLYGON(…))")
        if name not in self.fields or name not in self.frame.columns:
            raise FilterError(user_msg=f"unknown property {name!r} in the filter; queryables "
                                       f"are {sorted(self.fields)}")
        spec = self.fields[name]
        kind = str(spec if isinstance(spec, str) else spec.get("type", "string"))
        if kind in ("object", "array"):
            raise FilterError(user_msg=f"property {name!r} is a {kind} and cannot be compared")
        return _Column(name, self.frame[name].to_numpy(), kind)

    def literal(self, node: Any, col: _Column) -> Any:
        if isinstance(node, bool):
            if col.kind not in ("boolean", "integer"):
                raise FilterError(user_msg=f"{col.name!r} is a {col.kind}; {node!r} is not")
            return node
        if isinstance(node, (int, float)):
            if col.kind not in ("integer", "number", "boolean"):
                raise FilterError(user_msg=f"{col.name!r} is a {col.kind}: compare it with "
                                           f"text in quotes, not the number {node!r}")
            return node
        if isinstance(node, str):
            if col.kind in ("integer", "number"):
                raise FilterError(user_msg=f"{col.name!r} is a {col.kind}; '{node}' is text")
            return node
        raise FilterError(user_msg=f"expected a literal value to compare {col.name!r} with, "
                                   f"got {_describe(node)}")

    def _op(self, col: _Column, op: Callable[[np.ndarray], Any]) -> np.ndarray:
        keep = np.zeros(self.n, dtype=bool)
        ok = ~col.null
        if ok.any():
            keep[ok] = np.asarray(op(col.values[ok]), dtype=bool)
        return keep

    @staticmethod
    def _not(keep: np.ndarray, col: _Column, negate: bool) -> np.ndarray:
        return (~keep & ~col.null) if negate else keep

    def compare(self, lhs: Any, rhs: Any, op: Callable, name: str) -> np.ndarray:
        if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
            flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(name, name)
            return self.compare(rhs, lhs, _COMPARE[_OPS[flipped]], flipped)
        col = self.column(lhs)
        if isinstance(rhs, ast.Attribute):
            other = self.column(rhs)
            keep = np.zeros(self.n, dtype=bool)
            ok = ~col.null & ~other.null
            keep[ok] = np.asarray(op(col.values[ok], other.values[ok]), dtype=bool)
            return keep
        value = self.literal(rhs, col)
        return self._op(col, lambda v: op(v, value))

    def geometry_of(self, node: Any) -> np.ndarray:
        if not (isinstance(node, ast.Attribute) and node.name in GEOMETRY_NAMES):
            raise FilterError(user_msg="a spatial predicate compares the geometry property "
                                       "('geometry') with a literal geometry, got "
                                       f"{_describe(node)}")
        if self.geometry is None:
            raise FilterError(user_msg="this collection has no geometry to filter on")
        return self.geometry

    def spatial(self, lhs: Any, rhs: Any, predicate: Callable) -> np.ndarray:
        if isinstance(rhs, ast.Attribute) and not isinstance(lhs, ast.Attribute):
            lhs, rhs = rhs, lhs
        geoms = self.geometry_of(lhs)
        if isinstance(rhs, values.Geometry):
            try:
                shape = shapely.geometry.shape(rhs.geometry)
            except Exception as exc:  # noqa: BLE001 - any bad literal is a client error
                raise FilterError(user_msg=f"the filter's geometry is not valid: {exc}") from None
        elif isinstance(rhs, values.Envelope):
            shape = shapely.box(rhs.x1, rhs.y1, rhs.x2, rhs.y2)
        elif isinstance(rhs, shapely.Geometry):
            shape = rhs
        else:
            raise FilterError(user_msg=f"expected a literal geometry, got {_describe(rhs)}")
        keep = np.zeros(self.n, dtype=bool)
        has = ~pd.isna(geoms) if len(geoms) else np.zeros(0, dtype=bool)
        if has.any():
            keep[has] = predicate(np.asarray(geoms, dtype=object)[has], shape)
        return keep


_OPS = {"=": ast.Equal, "<>": ast.NotEqual, "<": ast.LessThan, "<=": ast.LessEqual,
        ">": ast.GreaterThan, ">=": ast.GreaterEqual}


STORAGE_EPSG = 27700
DEFAULT_FILTER_CRS = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def _request_filter_crs() -> str:
    """The ``filter-crs`` of the request being served (CRS84 when it gives none)."""
    from urllib.parse import parse_qs

    from .context import current

    got = parse_qs(current().query or "").get("filter-crs")
    return got[-1] if got else DEFAULT_FILTER_CRS


def bbox_in_storage(bounds: tuple[float, float, float, float], crs: str) -> Any:
    """The polygon of a box given in ``crs`` (x/y order: longitude first for CRS84 and
    EPSG:4326), in the storage CRS (British National Grid), its edges densified so that a
    box in degrees keeps its shape.

    >>> b = bbox_in_storage((-1.2, 52.6, -1.1, 52.7), "http://www.opengis.net/def/crs/OGC/1.3/CRS84")
    >>> [round(v, -2) for v in b.bounds]
    [454200.0, 300500.0, 461100.0, 311700.0]
    >>> bbox_in_storage((1, 2, 3, 4), "EPSG:27700").bounds
    (1.0, 2.0, 3.0, 4.0)
    """
    from pygeoapi.util import get_crs_from_uri
    from pyproj import CRS, Transformer

    minx, miny, maxx, maxy = (float(v) for v in bounds)
    box = shapely.box(minx, miny, maxx, maxy)
    try:
        src = get_crs_from_uri(crs) if "/" in str(crs) or str(crs).startswith("urn:") \
            else CRS.from_user_input(crs)
    except Exception:  # noqa: BLE001 - any unknown CRS is the caller's to fix
        raise FilterError(user_msg=f"unknown CRS {crs!r} for the filter's BBOX") from None
    if src.to_epsg() == STORAGE_EPSG:
        return box
    tr = Transformer.from_crs(src, CRS.from_epsg(STORAGE_EPSG), always_xy=True)
    step = max(maxx - minx, maxy - miny) / 32 or 1.0
    dense = shapely.segmentize(box, step)
    return shapely.transform(dense, lambda xy: np.column_stack(tr.transform(xy[:, 0],
                                                                            xy[:, 1])))


def _like_regex(pattern: str, wildcard: str, single: str, escape: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if escape and ch == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == wildcard else "." if ch == single else re.escape(ch))
        i += 1
    return "".join(out)


def _describe(node: Any) -> str:
    if isinstance(node, ast.Node):
        return type(node).__name__
    return repr(node)
