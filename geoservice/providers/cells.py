# SPDX-License-Identifier: GPL-3.0-or-later
"""``crime_cells``: crimes and harm per H3 cell (resolution ``cell_resolution``, default 8).

Everyone may read it. Police roles see exact counts of the crimes placed in their beats
(a force analyst: every crime); partners and the public see the whole force with
disclosure control (:func:`spatial_core.analytics.cell_aggregates.disclosed_crime_cells`: no count
in
``1 .. k-1``, secondary suppression against the force total; harm, ``first_month`` and
``last_month`` withheld with the count). Vector tiles of ``crime_cells`` read this frame
(``tiles.py``), so they withhold the same values. The frame of each scope (the disclosed
one, the force analyst's, a beat officer's beats) is computed once per data version for all
workers; the disclosed and the force analyst's before the first request (issue 13: a cold
first page took ~0.5 s on a busy machine).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from spatial_core.analytics.cell_aggregates import crime_cells, disclosed_crime_cells
from spatial_core.geo.cells import cells_to_boundaries
from spatial_core.geo.crs import lnglat_to_bng

from ..access import AGGREGATE_ROLES, beat_scope
from ..context import RequestContext
from ._frame import FrameProvider

__all__ = ["CellProvider"]


def _bng_hexagons(cells: np.ndarray) -> np.ndarray:
    import shapely

    polys = cells_to_boundaries(cells)
    if not len(polys):
        return polys

    def to_bng(coords: np.ndarray) -> np.ndarray:
        x, y = lnglat_to_bng(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(polys, to_bng)


class CellProvider(FrameProvider):
    """H3 cell aggregates of crime; exact for police in their beats, protected for others."""

    collection = "crime_cells"
    shared = True  # per scope, computed once per data version for every worker
    id_column = "cell_id"
    field_types = {"cell_id": "string", "resolution": "integer", "crimes": "integer",
                   "harm_days": "number", "first_month": "string", "last_month": "string",
                   "disclosure": "string"}

    @property
    def res(self) -> int:
        return int(self.options.get("cell_resolution", 8))

    def _cache_key(self, ctx: RequestContext) -> tuple:
        p = ctx.principal
        if p.role in AGGREGATE_ROLES:
            return ("crime_cells", self.data, self.res, "disclosed", int(self.options.get("k", 5)))
        beats = beat_scope(self.data, p)
        return ("crime_cells", self.data, self.res, "exact",
                None if beats is None else tuple(beats))

    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        p = ctx.principal
        if p.role in AGGREGATE_ROLES:
            f = disclosed_crime_cells(self.store, self.res, k=int(self.options.get("k", 5)))
            f["disclosure"] = f"k={int(self.options.get('k', 5))}"
        else:
            f = crime_cells(self.store, self.res, beats=beat_scope(self.data, p))
            f["disclosure"] = "exact"
        f["geometry"] = _bng_hexagons(f["cell"].to_numpy("int64"))
        return f.drop(columns=["cell"])

    def _scope(self, frame: pd.DataFrame, ctx: RequestContext) -> np.ndarray | None:
        return None  # the frame itself is built for the caller (see _cache_key)
