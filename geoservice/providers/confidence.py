# SPDX-License-Identifier: GPL-3.0-or-later
"""``area_confidence`` and ``area_change``: confidence, feeling safe and their change over
time per beat, npa, ward and force, with the area's polygon, as
:func:`spatial_core.api.confidence.area_confidence` and
:func:`spatial_core.api.confidence.area_change` give them to the caller's scope (police
roles: their own areas, exact; partners and the public: every area, disclosure-controlled
by the core). The provider caches the computed table per disclosure ``k`` and data version
and applies the scope's row rule (:func:`spatial_core.api.areas.visible_rows`). ``?level=``
picks a level (a property like any other).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pygeoapi.provider.base import ProviderInvalidQueryError

from spatial_core.api.areas import visible_rows
from spatial_core.api.confidence import (
    CHANGE_MEASURES,
    LEVELS,
    TREND_MEASURES,
    area_change_table,
    area_confidence_table,
)

from ..access import scope_of
from ..context import RequestContext
from ._frame import FrameProvider

__all__ = ["AreaConfidenceProvider", "AreaChangeProvider"]

_AREA = {"area_id": "string", "level": "string", "parent_id": "string", "area_name": "string"}

CONFIDENCE_FIELDS = {
    **_AREA, "households": "integer",
    **{f"{m}{s}": t for m in ("confidence", "feel_safe")
       for s, t in (("_n", "integer"), ("", "number"), ("_ci_low", "number"),
                    ("_ci_high", "number"))},
    "crimes": "integer", "harm": "number", "crime_rate": "number", "harm_rate": "number",
    **{f"{g}{s}": t for g in ("safe", "confidence")
       for s, t in (("_gap", "number"), ("_gap_se", "number"), ("_z", "number"),
                    ("_outlier", "string"))},
    "disclosure": "string",
}
"""The columns of :func:`spatial_core.api.confidence.area_confidence`."""

CHANGE_FIELDS = {
    **_AREA, "quarter_from": "string", "quarter_to": "string", "quarters": "integer",
    "responses": "integer", "confidence_n": "integer", "confidence": "number",
    "feel_safe_n": "integer", "feel_safe": "number", "members_per_100": "number",
    "crimes": "integer",
    **{f"{m}_{s}": "number" for m in CHANGE_MEASURES
       for s in ("change", "change_ci_low", "change_ci_high")},
    **{f"{m}_{s}": "number" for m in TREND_MEASURES
       for s in ("trend", "trend_ci_low", "trend_ci_high")},
    "panel_first": "string", "panel_second": "string",
    **{f"panel_{m}_{s}": ("integer" if s == "n" else "number")
       for m in ("confidence", "feel_safe") for s in ("n", "change", "ci_low", "ci_high")},
    "series": "array", "disclosure": "string",
}
"""The columns of :func:`spatial_core.api.confidence.area_change`."""


def _plain(frame: pd.DataFrame, fields: dict[str, str]) -> pd.DataFrame:
    """JSON-ready columns: integers as int or None, numbers as float (NaN is written null)."""
    out = frame.copy()
    for name, kind in fields.items():
        if name not in out.columns:
            out[name] = None
        elif kind == "integer":
            out[name] = pd.Series([None if v is None or v != v else int(v) for v in out[name]],
                                  index=out.index, dtype=object)
        elif kind == "string":
            out[name] = pd.Series([None if v is None or (isinstance(v, float) and v != v)
                                   or v == "" else str(v) for v in out[name]],
                                  index=out.index, dtype=object)
    return out


class _ScopedAreaFrame(FrameProvider):
    """An area collection computed once per disclosure ``k`` and data version."""

    id_column = "area_id"

    def _caller(self, ctx: RequestContext):
        return scope_of(self.data, ctx.principal, int(self.options.get("k", 5)))

    def _cache_key(self, ctx: RequestContext) -> tuple:
        return (self.collection, self.data, self._caller(ctx).disclosure_k)

    def query(self, *args: Any, properties: list | None = None, **kwargs: Any) -> dict:
        for name, value in properties or []:
            if name == "level" and value not in LEVELS:
                raise ProviderInvalidQueryError(
                    user_msg=f"level {value!r} is not one of {', '.join(LEVELS)}")
        return super().query(*args, properties=properties, **kwargs)

    def _scope(self, frame: pd.DataFrame, ctx: RequestContext) -> np.ndarray | None:
        scope = self._caller(ctx)
        ctx.notes["scope"] = "all" if scope.areas is None or scope.aggregate else \
            sorted(scope.areas)
        return visible_rows(frame, scope)


class AreaConfidenceProvider(_ScopedAreaFrame):
    """Confidence, feeling safe, crime and the outliers per area."""

    collection = "area_confidence"
    shared = True  # computed once per data version for every worker
    field_types = CONFIDENCE_FIELDS

    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        frame = area_confidence_table(self.store, k=self._caller(ctx).disclosure_k)
        return _plain(frame, self.field_types)


class AreaChangeProvider(_ScopedAreaFrame):
    """The newest quarter, the change since the one before, trends and the panel per area."""

    collection = "area_change"
    shared = True  # heavier (a snapshot per level and quarter): once per data version

    field_types = CHANGE_FIELDS

    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        frame = area_change_table(self.store, k=self._caller(ctx).disclosure_k)
        return _plain(frame, self.field_types)
