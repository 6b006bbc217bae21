# SPDX-License-Identifier: GPL-3.0-or-later
"""What every store-backed provider shares: fields, scoped paging, bbox and GeoJSON output.

A subclass names its table, id column and published columns and implements ``_scope``: the
SQLAlchemy condition limiting rows to what the caller may see (or an exception). ``query``
(:class:`._items.ItemsProvider`) reads a narrow index (``fid`` plus the sort and filter
columns) under that condition, so ``numberMatched`` counts only visible rows, sorts and
pages it, then reads the page's rows.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pygeoapi.provider.base import ProviderItemNotFoundError
from sqlalchemy import Float, Integer, and_

from spatial_core.store import schema

from .. import stores
from ..context import RequestContext, current
from ..errors import core_errors
from ..filters import filter_attributes, filter_mask, uses_geometry
from ._features import bbox_bounds, features, geojson, typed_value
from ._items import Items, ItemsProvider

__all__ = ["StoreProvider"]

log = logging.getLogger(__name__)


def _json_type(column) -> str:
    t = column.type
    for candidate in (t, getattr(t, "impl", None)):
        if isinstance(candidate, Integer):
            return "integer"
        if isinstance(candidate, Float):
            return "number"
    name = type(t).__name__.lower()
    if "int" in name:
        return "integer"
    if "double" in name or "float" in name:
        return "number"
    return "string"



class StoreProvider(ItemsProvider):
    """A feature collection over one spatial_core table."""

    table: str = ""
    id_column: str = ""
    columns: tuple[str, ...] = ()
    point_xy: bool = False  # bbox on x/y columns (points) instead of minx … maxy
    computed: dict[str, str] = {}  # extra properties the subclass adds: name -> JSON type

    def __init__(self, provider_def: dict) -> None:
        super().__init__(provider_def)
        self.options = provider_def.get("options") or {}
        self.store = stores.store(self.data)
        self.t = schema.table(self.table)
        self.id_field = self.id_column
        self._fields = self.get_fields()

    def get_fields(self) -> dict:
        fields = {c: {"type": _json_type(self.t.c[c])} for c in self.columns}
        fields.update({k: {"type": v} for k, v in self.computed.items()})
        return fields

    # -- hooks --------------------------------------------------------------------------
    def _scope(self, ctx: RequestContext):
        """The SQL condition on ``self.t`` the caller may see; None for every row."""
        raise NotImplementedError

    def _augment(self, frame: pd.DataFrame, ctx: RequestContext) -> pd.DataFrame:
        """Add computed columns (keyed by the id column); the default adds none."""
        return frame

    def _dedupe(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame

    # -- querying -------------------------------------------------------------------------
    def _conditions(self, ctx: RequestContext, bbox, properties) -> list:
        where = []
        scope = self._scope(ctx)
        if scope is not None:
            where.append(scope)
        if bbox:
            minx, miny, maxx, maxy = bbox_bounds(bbox)
            c = self.t.c
            if self.point_xy:
                where += [c.x >= minx, c.x <= maxx, c.y >= miny, c.y <= maxy]
            else:
                where += [c.maxx >= minx, c.minx <= maxx, c.maxy >= miny, c.miny <= maxy]
        for name, value in properties or []:
            if name in self.t.c and name in self.columns:
                where.append(self.t.c[name] == self._typed(name, value))
        return where

    def _typed(self, name: str, value: Any) -> Any:
        return typed_value(name, self.fields.get(name, {}).get("type"), value)

    def _matched(self, ctx: RequestContext, items: Items) -> np.ndarray:
        """The fids the caller may see that match ``items``, in order."""
        properties, sortby, filterq = items.properties, items.sortby, items.filterq
        where = self._conditions(ctx, items.bbox, properties)
        sort_cols = [s["property"] for s in sortby or []]
        stored_sort = [c for c in sort_cols if c in self.t.c]
        used = filter_attributes(filterq) if filterq is not None else set()
        stored_filter = [c for c in self.columns if c in used]
        index_cols = list(dict.fromkeys(["fid", self.id_column, *stored_sort, *stored_filter,
                                         *self._index_columns()]))
        idx = self.store.read(self.table, index_cols, where=and_(*where) if where else None)
        idx = self._dedupe(idx)
        if items.bbox:
            idx = self._exact_bbox(idx, items.bbox)
        computed = [n for n, _ in properties or [] if n in self.computed]
        if computed or any(c in self.computed for c in [*sort_cols, *used]):
            idx = self._augment(idx, ctx)
            for name, value in properties or []:
                if name in self.computed:
                    idx = idx[idx[name] == self._typed(name, value)]
        if filterq is not None:  # after the scoped query: a filter only narrows (filters.py)
            geoms = None
            if uses_geometry(filterq) and len(idx):
                g = self.store.read(self.table, ["fid", "geom"],
                                    where=self.t.c.fid.in_(idx["fid"].tolist()))
                geoms = idx["fid"].map(pd.Series(g.geometry.to_numpy(object),
                                                 index=g["fid"].to_numpy())).to_numpy(object)
            elif uses_geometry(filterq):
                geoms = np.array([], dtype=object)
            idx = idx[filter_mask(filterq, idx, self.fields, geoms)]
        if sortby:
            idx = idx.sort_values([*sort_cols, "fid"],
                                  ascending=[s["order"] != "-" for s in sortby] + [True],
                                  na_position="first", kind="stable")
        else:
            idx = idx.sort_values("fid", kind="stable")
        return idx["fid"].to_numpy()

    def _page(self, ctx: RequestContext, items: Items,
              rows: np.ndarray) -> tuple[list[dict], list[str]]:
        features = self._features(items.page(rows), ctx, items.select_properties,
                                  items.skip_geometry, items.crs_transform_spec)
        return features, [f["id"] for f in features]

    def rows_in_box(self, ctx: RequestContext, bbox) -> pd.DataFrame:
        """Every row ``ctx``'s caller may see whose bounds meet ``bbox`` (EPSG:27700), with
        ``fid``, the published columns, the computed ones and the geometry: what a map layer
        of this collection draws (the bounds test is by box; callers clip exactly)."""
        where = self._conditions(ctx, bbox, None)
        cols = ["fid", *dict.fromkeys([self.id_column, *self.columns]), "geom"]
        rows = self._dedupe(self.store.read(self.table, cols, where=and_(*where)))
        if self.computed and len(rows):
            rows = self._augment(rows, ctx)
        return rows

    def _index_columns(self) -> list[str]:
        return []

    def _exact_bbox(self, idx: pd.DataFrame, bbox) -> pd.DataFrame:
        """Keep rows whose geometry intersects the box (the SQL test compared boxes)."""
        if self.point_xy or not len(idx):
            return idx
        box = shapely.box(*bbox_bounds(bbox))
        geoms = self.store.read(self.table, ["fid", "geom"],
                                where=self.t.c.fid.in_(idx["fid"].tolist()))
        hit = set(geoms.loc[shapely.intersects(geoms.geometry.to_numpy(), box), "fid"])
        return idx[idx["fid"].isin(hit)]

    @core_errors
    def get(self, identifier: str, crs_transform_spec=None, **kwargs: Any) -> dict:
        ctx = current()
        where = [self.t.c[self.id_column] == str(identifier)]
        scope = self._scope(ctx)
        if scope is not None:
            where.append(scope)
        idx = self._dedupe(self.store.read(self.table, ["fid", self.id_column,
                                                        *self._index_columns()],
                                           where=and_(*where)))
        if not len(idx):
            self._audit(ctx, "read", ids=[str(identifier)], outcome="not_found")
            raise ProviderItemNotFoundError(user_msg=f"no item {identifier!r} here")
        features = self._features(idx["fid"].to_numpy()[:1], ctx, None, False,
                                  crs_transform_spec)
        self._audit(ctx, "read", ids=[str(identifier)])
        return features[0]

    # -- output ---------------------------------------------------------------------------
    def _features(self, fids: np.ndarray, ctx: RequestContext, select_properties,
                  skip_geometry: bool, crs_transform_spec) -> list[dict]:
        if not len(fids):
            return []
        cols = ["fid", *dict.fromkeys([self.id_column, *self.columns])]
        if not skip_geometry:
            cols.append("geom")
        rows = self.store.read(self.table, cols, where=self.t.c.fid.in_(fids.tolist()))
        rows = rows.set_index("fid").loc[fids].reset_index()
        if self.computed:
            rows = self._augment(rows, ctx)
        names = [c for c in [*self.columns, *self.computed] if c in rows.columns]
        if select_properties:
            names = [c for c in names if c in select_properties]
        geometries: list[Any] = [None] * len(rows)
        if not skip_geometry:
            geometries = geojson(rows.geometry.to_numpy(), crs_transform_spec)
        return features(rows[self.id_column].astype(str).tolist(), geometries, rows[names])
