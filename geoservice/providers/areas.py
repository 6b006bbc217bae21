# SPDX-License-Identifier: GPL-3.0-or-later
"""``areas``: force, npas, beats and wards with counts of households, members and crimes.

Police roles see their own areas with exact counts; partners and the public see every area
with counts passed through :func:`spatial_core.analytics.disclosure.disclosed_area_counts` (no
count in
``1 .. k-1``, secondary suppression across levels).
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import false

from spatial_core.analytics.disclosure import COUNT_COLUMNS, area_counts, disclosed_area_counts
from spatial_core.analytics.population import AREA_LEVELS
from spatial_core.store.boundary_sets import newest_per_area

from .. import stores
from ..access import AGGREGATE_ROLES, area_scope
from ..context import RequestContext
from ._frame import _version
from ._store import StoreProvider

__all__ = ["AreaProvider"]

LEVELS = AREA_LEVELS


class AreaProvider(StoreProvider):
    """Areas of the reporting levels (newest boundary set) with their counts."""

    table = "areas"
    id_column = "area_id"
    columns = ("area_id", "level", "code", "name", "parent_id")
    computed = {c: "integer" for c in COUNT_COLUMNS}

    def _scope(self, ctx: RequestContext):
        level = self.t.c.level.in_(LEVELS)
        areas = area_scope(self.data, ctx.principal)
        if areas is None or ctx.principal.role in AGGREGATE_ROLES:
            return level
        return level & self.t.c.area_id.in_(areas) if areas else false()

    def _index_columns(self) -> list[str]:
        return ["boundary_set", "valid_from"]

    def _dedupe(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One row per area: the newest boundary set."""
        return newest_per_area(frame)

    def _counts(self, ctx: RequestContext) -> pd.DataFrame:
        """The counts of every area (disclosed for partners and the public), computed once per
        data version for every worker (:func:`geoservice.stores.shared_frame`) and prepared
        before the first request (:func:`warm`)."""
        ttl = float(self.options.get("counts_ttl_s", 60.0))
        version = _version(self.data)
        if ctx.principal.role in AGGREGATE_ROLES:
            k = int(self.options.get("k", 5))
            key = ("area_counts", "disclosed", self.data, k)
            compute = lambda: disclosed_area_counts(self.store, k=k)  # noqa: E731
        else:
            key = ("area_counts", "exact", self.data)
            compute = lambda: area_counts(self.store)  # noqa: E731
        return stores.cached((*key, "v", version), ttl,
                             lambda: stores.shared_frame(key, version, compute))

    def warm(self, ctx: RequestContext) -> None:
        """Prepare the caller's counts (:func:`geoservice.app.warm_frames`)."""
        self._counts(ctx)

    def _augment(self, frame: pd.DataFrame, ctx: RequestContext) -> pd.DataFrame:
        counts = self._counts(ctx).set_index("area_id")
        out = frame.copy()
        for c in COUNT_COLUMNS:
            values = out["area_id"].map(counts[c]).astype(object)
            out[c] = values.where(pd.notna(values), None)
        return out
