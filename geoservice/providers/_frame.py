# SPDX-License-Identifier: GPL-3.0-or-later
"""Collections computed from the store (scores, cell aggregates, area profiles, set-ups,
contacts): one cached frame per process, scoped, filtered, sorted and paged in memory.

A subclass implements ``_load`` (the whole collection as a frame with a ``geometry`` column
of shapely geometries in EPSG:27700), ``_scope`` (a boolean mask of the rows the caller may
see, or an exception) and optionally ``_present`` (columns withheld for some roles). The
frame is cached for ``counts_ttl_s`` seconds (see :func:`geoservice.stores.cached`).

Order of operations in :meth:`FrameProvider.query`, so that nothing widens access: scope
mask, then property equality, ``bbox`` and the CQL2 ``filter`` (each ANDed), then sorting,
``numberMatched`` and paging over what is left.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pygeoapi.provider.base import ProviderInvalidQueryError, ProviderItemNotFoundError

from .. import stores
from ..access import beat_scope, require_police, require_purpose, scope_of
from ..context import RequestContext, current
from ..errors import core_errors
from ..filters import filter_mask
from ._features import (
    answers_json,
    bbox_bounds,
    feature_texts,
    features,
    geojson,
    json_page,
    typed_value,
)
from ._items import Items, ItemsProvider

__all__ = ["FrameProvider"]

log = logging.getLogger(__name__)


_VERSIONS: dict[str, Any] = {}


def _version(location: str) -> str:
    """The store's data version, as the response cache reads it (a GeoPackage's file
    times first: ~20 µs instead of a query on every request)."""
    from ..cache import StoreVersion

    v = _VERSIONS.get(location)
    if v is None:
        v = _VERSIONS.setdefault(location, StoreVersion(location))
    return str(v.current()[0])


class FrameProvider(ItemsProvider):
    """A feature collection over a frame computed from the store."""

    collection: str = ""
    id_column: str = ""
    field_types: dict[str, str] = {}
    personal: bool = False  # audit every access and require a purpose
    ttl: float | None = None  # cache seconds; None: the configured counts_ttl_s
    shared: bool = False
    """Computed once per data version for every worker (never for personal frames)."""

    def __init__(self, provider_def: dict) -> None:
        super().__init__(provider_def)
        self.options = provider_def.get("options") or {}
        self.store = stores.store(self.data)
        self.id_field = self.id_column
        self._fields = self.get_fields()

    def get_fields(self) -> dict:
        return {k: {"type": v} for k, v in self.field_types.items()}

    # -- hooks --------------------------------------------------------------------------
    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        raise NotImplementedError

    def _cache_key(self, ctx: RequestContext) -> tuple:
        return (type(self).__name__, self.data)

    def _scope(self, frame: pd.DataFrame, ctx: RequestContext) -> np.ndarray | None:
        """Rows the caller may see (None: all); raise for a role with no access."""
        raise NotImplementedError

    def _police_beats(self, frame: pd.DataFrame, ctx: RequestContext) -> np.ndarray | None:
        """A police-only collection whose rows carry a ``beat_id``: the rows of the caller's
        beats (None: all), the scope noted for the audit log."""
        require_police(ctx, self.collection)
        scope = scope_of(self.data, ctx.principal)
        ctx.notes["scope"] = "all" if scope.areas is None else beat_scope(self.data,
                                                                           ctx.principal)
        if scope.areas is None:
            return None
        return scope.sees(frame["beat_id"])

    def _withheld(self, ctx: RequestContext) -> set[str]:
        """Fields this caller may not see (nor filter or sort on); default none."""
        return set()

    def _present(self, frame: pd.DataFrame, ctx: RequestContext) -> pd.DataFrame:
        """The rows as this caller may see them: withheld fields set to None."""
        hidden = [c for c in self._withheld(ctx) if c in frame.columns]
        return frame.assign(**{c: None for c in hidden}) if hidden else frame

    # -- helpers ------------------------------------------------------------------------
    def frame(self, ctx: RequestContext) -> pd.DataFrame:
        return self._entry(ctx)[0]

    def visible(self, ctx: RequestContext) -> tuple[pd.DataFrame, dict, np.ndarray]:
        """The whole cached frame, the dict of things derived from it (a cache that lives as
        long as the frame) and the mask of the rows ``ctx``'s caller may see (refusals raise
        and are audited, as for a query). Rows shown must pass through :meth:`present`."""
        full, derived = self._entry(ctx)
        return full, derived, self._checked(ctx, full)

    def present(self, frame: pd.DataFrame, ctx: RequestContext) -> pd.DataFrame:
        """``frame``'s rows as the caller may see them (withheld fields set to None)."""
        return self._present(frame, ctx)

    def _entry(self, ctx: RequestContext) -> tuple[pd.DataFrame, dict]:
        """The cached frame and a dict of things derived from it (GeoJSON per CRS).

        Every frame is kept under the store's data version, so a core write (an import, a
        set-up created or archived) shows at the next request; :attr:`ttl` bounds how long
        rows the version does not follow (recorded visits) may be stale. A :attr:`shared`
        frame is also computed once per data version for all the service's workers
        (:func:`geoservice.stores.shared_frame`); for it the time bound only re-reads the
        shared copy."""
        ttl = self.ttl if self.ttl is not None else float(self.options.get("counts_ttl_s", 60.0))
        key = self._cache_key(ctx)
        version = _version(self.data)
        if not self.shared:  # new data is a new key at once; the time bound catches the rest
            return stores.cached((*key, "v", version), ttl, lambda: (self._prepared(ctx), {}))
        return stores.cached((*key, "v", version), ttl, lambda: (stores.shared_frame(
            key, version, lambda: self._prepared(ctx)), {}))

    def _prepared(self, ctx: RequestContext) -> pd.DataFrame:
        f = self._load(ctx).reset_index(drop=True)
        if "geometry" not in f.columns:
            f["geometry"] = None
        return f

    def _checked(self, ctx: RequestContext, frame: pd.DataFrame) -> np.ndarray:
        try:
            mask = self._scope(frame, ctx)
            if self.personal:
                ctx.notes["purpose"] = require_purpose(ctx)
        except Exception as exc:
            if self.personal:
                self._audit(ctx, "denied", outcome=getattr(exc, "message", str(exc)))
            raise
        return np.ones(len(frame), dtype=bool) if mask is None else np.asarray(mask, bool)

    def _audit(self, ctx: RequestContext, action: str, **entry: Any) -> None:
        if not self.personal or ctx.audit is None:
            return
        p = ctx.principal
        query = ctx.path + (f"?{ctx.query}" if ctx.query else "")
        ctx.audit.append(request_id=ctx.request_id, sub=p.sub, role=p.role, via=p.via,
                         action=action, collection=self.collection, query=query,
                         scope=ctx.notes.get("scope"),
                         purpose=ctx.notes.get("purpose") or ctx.purpose,
                         remote_addr=ctx.remote_addr, **{"outcome": "ok", **entry})

    def _typed(self, name: str, value: Any) -> Any:
        return typed_value(name, self.field_types.get(name), value)

    # -- querying -----------------------------------------------------------------------
    def _matched(self, ctx: RequestContext, items: Items) -> np.ndarray:
        """Positions in the cached frame of the rows the caller may see that match
        ``items``, in order (no copy of the frame: one page's rows are taken later)."""
        self._current = self._entry(ctx)  # one frame version for the whole request
        full = self._current[0]
        keep = self._checked(ctx, full)
        hidden = self._withheld(ctx)
        fields = {k: v for k, v in self.field_types.items() if k not in hidden}
        for name, value in items.properties or []:
            if name in hidden:
                raise ProviderInvalidQueryError(
                    user_msg=f"property {name!r} is not available to your role")
            if name in fields and name in full.columns:
                kind = fields[name]
                if kind in ("object", "array"):
                    raise ProviderInvalidQueryError(
                        user_msg=f"property {name!r} is a {kind}; use a filter instead")
                keep &= (full[name] == self._typed(name, value)).to_numpy(dtype=bool)
        if items.bbox or items.filterq is not None:
            geoms = full["geometry"].to_numpy(dtype=object)
            if items.bbox:
                box = shapely.box(*bbox_bounds(items.bbox))
                hit = np.zeros(len(full), dtype=bool)
                idx = np.flatnonzero(keep)
                hit[idx] = shapely.intersects(geoms[idx], box)
                keep &= hit
            if items.filterq is not None:
                idx = np.flatnonzero(keep)
                hit = np.zeros(len(full), dtype=bool)
                hit[idx] = filter_mask(items.filterq, full.iloc[idx], fields, geoms[idx])
                keep &= hit
        rows = np.flatnonzero(keep)
        if items.sortby:
            names = [s["property"] for s in items.sortby]
            sortable = sorted(k for k, v in fields.items() if v not in ("object", "array"))
            bad = [n for n in names if n not in sortable]
            if bad:
                raise ProviderInvalidQueryError(
                    user_msg=f"cannot sort by {bad}; sortable properties are {sortable}")
            keys = full[list(dict.fromkeys([*names, self.id_column]))].iloc[rows]
            rows = keys.sort_values([*names, self.id_column],
                                    ascending=[s["order"] != "-" for s in items.sortby]
                                    + [True], na_position="last",
                                    kind="stable").index.to_numpy()
        return rows

    def _page(self, ctx: RequestContext, items: Items,
              rows: np.ndarray) -> tuple[list[Any], list[str]]:
        full = self._current[0]
        page = items.page(rows)
        if not len(page):
            return [], []
        ids = full[self.id_column].to_numpy()[page].astype(str).tolist()
        if not items.select_properties and type(self)._present is FrameProvider._present \
                and answers_json():
            return json_page(self._json_rows(ctx, rows, items)), ids
        return self._features(full.iloc[page], ctx, items.select_properties,
                              items.skip_geometry, items.crs_transform_spec), ids

    AHEAD = 1024
    """Rows after a page written with it (the next pages of someone paging through)."""

    def _json_rows(self, ctx: RequestContext, rows: np.ndarray, items: Items) -> list[bytes]:
        """The requested page of ``rows``, each feature written as JSON once per frame, output
        CRS, withheld fields and ``skipGeometry``: a page is then a join of these, not 175
        features built from the frame and encoded again (~6 of the ~12 ms of CPU a page of
        scored streets took). Rows not written yet are written in bulk with the next
        :attr:`AHEAD` rows of ``rows`` (per-call pandas costs make one row at a time slow)."""
        full, derived = self._current
        spec = items.crs_transform_spec
        key = ("json", "" if spec is None else spec.target_crs_wkt,
               tuple(sorted(self._withheld(ctx))), bool(items.skip_geometry))
        done = derived.get(key)
        if done is None or len(done) != len(full):
            done = derived.setdefault(key, [None] * len(full))
        page = items.page(rows)
        if any(done[r] is None for r in page):
            # one thread writes while the others wait (a worker's threads all start on the
            # same rows after new data), then finds its rows written
            with derived.setdefault((*key, "lock"), threading.Lock()):
                ahead = rows[items.offset:items.offset + items.limit + self.AHEAD]
                todo = [int(r) for r in ahead if done[r] is None]
                if todo:
                    made = self._features(full.iloc[todo], ctx, None, items.skip_geometry,
                                          spec)
                    for r, text in zip(todo, feature_texts(made), strict=True):
                        done[r] = text
        return [done[r] for r in page]

    @core_errors
    def get(self, identifier: str, crs_transform_spec=None, **kwargs: Any) -> dict:
        ctx = current()
        self._current = self._entry(ctx)
        full = self._current[0]
        keep = self._checked(ctx, full)
        keep &= (full[self.id_column].astype(str) == str(identifier)).to_numpy(dtype=bool)
        if not keep.any():
            self._audit(ctx, "read", ids=[str(identifier)], outcome="not_found")
            raise ProviderItemNotFoundError(user_msg=f"no item {identifier!r} here")
        feature = self._features(full[keep].iloc[:1], ctx, None, False, crs_transform_spec)[0]
        self._audit(ctx, "read", ids=[str(identifier)])
        return feature

    # -- output -------------------------------------------------------------------------
    def _features(self, rows: pd.DataFrame, ctx: RequestContext, select_properties,
                  skip_geometry: bool, spec) -> list[dict]:
        if not len(rows):
            return []
        rows = self._present(rows, ctx)
        names = [c for c in self.field_types if c in rows.columns]
        if select_properties:
            names = [c for c in names if c in select_properties]
        geometries: list[Any] = [None] * len(rows)
        if not skip_geometry:
            geometries = self._cached_geojson(rows, ctx, spec)
        return features(rows[self.id_column].astype(str).tolist(), geometries, rows[names])


    def _cached_geojson(self, rows: pd.DataFrame, ctx: RequestContext, spec) -> list[Any]:
        """GeoJSON geometries of ``rows``, converted once per frame and output CRS."""
        full, derived = getattr(self, "_current", None) or self._entry(ctx)
        key = "geojson:" + ("" if spec is None else spec.target_crs_wkt)
        done = derived.get(key)
        if done is None or len(done) != len(full):
            done = derived[key] = geojson(full["geometry"].to_numpy(dtype=object), spec)
        return [done[i] for i in rows.index]
