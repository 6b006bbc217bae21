# SPDX-License-Identifier: GPL-3.0-or-later
"""``area_profiles``: beats, wards, npas and the force with their local priorities and
representation, as :func:`spatial_core.api.areas.area_profiles` gives them to the caller's
scope (police roles: their own areas, exact; partners and the public: every area,
disclosure-controlled). The provider caches the computed table per disclosure ``k`` and
applies the scope's row rule (:func:`spatial_core.api.areas.visible_rows`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from spatial_core.api.areas import area_profiles_table, visible_rows

from ..access import scope_of
from ..context import RequestContext
from ._frame import FrameProvider

__all__ = ["AreaProfileProvider", "area_profiles"]

area_profiles = area_profiles_table
"""The computed table (kept under its old name for scripts)."""


class AreaProfileProvider(FrameProvider):
    """Areas with local priorities and representation (aggregates)."""

    collection = "area_profiles"
    shared = True  # computed once per data version for every worker
    id_column = "area_id"
    field_types = {"area_id": "string", "level": "string", "name": "string",
                   "parent_id": "string", "households": "integer", "members": "integer",
                   "crimes": "integer", "respondents": "integer", "priorities": "array",
                   "priority_note": "string", "votes": "object",
                   "under_represented": "array", "representation": "object",
                   "disclosure": "string"}

    def _caller(self, ctx: RequestContext):
        return scope_of(self.data, ctx.principal, int(self.options.get("k", 5)))

    def _cache_key(self, ctx: RequestContext) -> tuple:
        return ("area_profiles", self.data, self._caller(ctx).disclosure_k)

    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        return area_profiles_table(self.store, k=self._caller(ctx).disclosure_k)

    def _scope(self, frame: pd.DataFrame, ctx: RequestContext) -> np.ndarray | None:
        return visible_rows(frame, self._caller(ctx))
