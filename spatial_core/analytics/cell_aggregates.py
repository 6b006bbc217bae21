# SPDX-License-Identifier: GPL-3.0-or-later
"""Crimes and harm per H3 cell at a coarse resolution, exact or with disclosure control.

:func:`crime_cells` counts the stored crimes (outliers excluded) and sums their harm (CCHI
days, :func:`spatial_core.analytics.harm.crimes_to_harm`) per cell at ``res``, optionally only the
crimes placed in given beats. :func:`disclosed_crime_cells` is the whole-force table safe to
publish: every cell's crime count passes through
:func:`spatial_core.analytics.disclosure.suppress_counts` in the tree *cell -> force* (the force
total
is the sum of all cells, and is itself published by the area counts), so no count in
``1 .. k-1`` is published and no withheld cell can be recovered as the force total minus the
published cells. A cell's harm and its first and last month are withheld whenever its count
is (harm would tell that crimes happened there; a first month tells "at least one crime", a
last month different from it "at least two").
"""
from __future__ import annotations

import pandas as pd

from spatial_core.analytics.disclosure import DEFAULT_K, suppress_counts
from spatial_core.analytics.harm import crimes_to_harm
from spatial_core.errors import InputError
from spatial_core.geo.cells import cells_to_hex, cells_to_parents
from spatial_core.store import schema

__all__ = ["CELL_COLUMNS", "crime_cells", "disclosed_crime_cells"]

CELL_COLUMNS = ("cell", "cell_id", "resolution", "crimes", "harm_days", "first_month",
                "last_month")
"""The columns of :func:`crime_cells`."""


def crime_cells(store, res: int = 7, *, beats: list[str] | None = None) -> pd.DataFrame:
    """Crimes and harm per H3 cell at ``res`` (see the module docstring).

    Parameters
    ----------
    store : Store
    res : int
        The H3 resolution of the published cells (at most the store's resolution).
    beats : list of str, optional
        Count only crimes placed in these beats (None: every crime).

    Returns
    -------
    pandas.DataFrame
        :data:`CELL_COLUMNS`, one row per cell with at least one crime, ordered by cell.
    """
    if not 0 <= int(res) <= store.h3_resolution:
        raise InputError(f"cell resolution must be in 0 .. {store.h3_resolution} (the store's "
                         f"resolution); got {res}")
    t = schema.table("crimes")
    c = store.read("crimes", ["cell", "x", "y", "category", "offence_code", "month"],
                   where=t.c.is_outlier == 0)
    c = c[c["cell"].fillna(0).astype("int64").to_numpy() != 0]
    if beats is not None:
        from spatial_core.store.index import assign_points_to_areas

        beat = assign_points_to_areas(store, c["x"].to_numpy(float), c["y"].to_numpy(float),
                                      "beat")
        c = c[pd.Series(beat, dtype=object).isin(beats).to_numpy(dtype=bool)]
    cell = cells_to_parents(c["cell"].to_numpy(dtype="int64"), int(res))
    harm = crimes_to_harm(c["category"].to_numpy(object), c["offence_code"].to_numpy(object))
    g = pd.DataFrame({"cell": cell, "harm": harm, "month": c["month"].to_numpy(object)})
    out = g.groupby("cell", sort=True).agg(crimes=("harm", "size"), harm_days=("harm", "sum"),
                                           first_month=("month", "min"),
                                           last_month=("month", "max")).reset_index()
    out.insert(1, "cell_id", cells_to_hex(out["cell"].to_numpy("int64")))
    out.insert(2, "resolution", int(res))
    out["crimes"] = out["crimes"].astype("int64")
    out["harm_days"] = out["harm_days"].astype(float).round(1)
    return out[list(CELL_COLUMNS)]


def disclosed_crime_cells(store, res: int = 7, *, k: int = DEFAULT_K) -> pd.DataFrame:
    """:func:`crime_cells` for the whole store with small counts withheld (None).

    Examples
    --------
    The suppression on a small table (cells A, B with 3 and 9 crimes, C with 20): A is
    withheld (primary), then B as well, so that A is not the total minus B and C.

    >>> t = pd.DataFrame({"cell_id": ["a", "b", "c"], "crimes": [3, 9, 20]})
    >>> _suppress(t, 5)["crimes"].tolist()
    [None, None, 20]

    The months of a withheld cell are withheld with its count:

    >>> t["first_month"], t["last_month"] = ["2025-01", "2025-01", "2025-02"], "2025-03"
    >>> _suppress(t, 5)[["first_month", "last_month"]].values.tolist()
    [[None, None], [None, None], ['2025-02', '2025-03']]
    """
    return _suppress(crime_cells(store, res), k)


def _suppress(cells: pd.DataFrame, k: int) -> pd.DataFrame:
    tree = pd.DataFrame({"area_id": ["__total__", *cells["cell_id"].astype(str)],
                         "parent_id": [None, *["__total__"] * len(cells)],
                         "level": ["total", *["cell"] * len(cells)],
                         "crimes": [int(cells["crimes"].sum()),
                                    *cells["crimes"].astype("int64")]})
    safe = suppress_counts(tree, ["crimes"], k=k).iloc[1:]
    out = cells.copy()
    out["crimes"] = safe["crimes"].to_numpy(object)
    withheld = pd.isna(out["crimes"]).to_numpy(dtype=bool)
    out["crimes"] = out["crimes"].astype(object)
    for name in ("harm_days", "first_month", "last_month"):  # they tell crimes happened
        if name in out.columns:
            out[name] = out[name].astype(object)
            out.loc[withheld, name] = None
    out.loc[withheld, "crimes"] = None
    return out
