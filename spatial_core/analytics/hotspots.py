# SPDX-License-Identifier: GPL-3.0-or-later
"""Hot spots: Getis-Ord Gi* on H3 cells, false-discovery-rate control, and a classification
of cells over months (new, persistent, intensifying, diminishing, sporadic).

Method (``docs/analytics/hotspots.md`` gives the formulas and the reasoning):

- **Values.** Crimes (or their harm, ``weight="harm"``) are counted per H3 cell at a
  resolution (the store's, 10, or a parent such as 9). Crimes without a location and crimes
  flagged outside the force are left out.
- **Study area.** The cells of the stored areas (``area_cells``, taken to their parent at a
  coarser resolution), so that cells with no crime count as zeros; with no stored area, the
  k-ring hull of the observed cells (every cell within ``k`` of a cell with a crime). Crimes in
  cells outside the study area are left out and counted (``attrs["cells_outside"]``).
- **Neighbours.** The k-ring (``k=1``: the cell and its six neighbours) within the study area,
  binary weights, the cell itself included (Gi*, not Gi).
- **z-score.** Getis and Ord (1992), Ord and Getis (1995)::

      z_i = (sum_j w_ij x_j - xbar W_i) / (S sqrt((n W_i - W_i^2) / (n - 1)))

  with ``W_i = sum_j w_ij`` (binary weights: also ``sum_j w_ij^2``), ``xbar`` and
  ``S = sqrt(sum x^2 / n - xbar^2)`` over all ``n`` cells of the study area.
- **p and FDR.** Two-sided p-values from the normal approximation; Benjamini-Hochberg at
  ``q`` (default 0.05) over all cells of the run; a rejected cell with ``z > 0`` is *hot*,
  with ``z < 0`` *cold*.
- **Over months.** Gi* per month on the same study area; each cell is then classified by
  :func:`classify_trends`.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spatial_core.analytics.harm import crime_weights
from spatial_core.errors import InputError
from spatial_core.geo.cells import cell_resolutions, cells_to_hex, cells_to_parents
from spatial_core.progress import Progress
from spatial_core.store import schema
from spatial_core.store.boundary_sets import newest_set_by_level

__all__ = [
    "DEFAULT_Q",
    "TREND_CLASSES",
    "HotspotRun",
    "benjamini_hochberg",
    "cells_to_neighbour_pairs",
    "gi_star",
    "mann_kendall",
    "crime_cell_values",
    "study_area_cells",
    "find_hotspots",
    "monthly_hotspots",
    "classify_trends",
]

log = logging.getLogger(__name__)

DEFAULT_Q = 0.05
TREND_CLASSES = ("new", "intensifying", "persistent", "diminishing", "sporadic", "never")


try:  # pragma: no cover - whichever the environment has
    import h3ronpy as _h3ronpy  # type: ignore[import-untyped]
except Exception:  # noqa: BLE001
    _h3ronpy = None


@dataclass(frozen=True)
class HotspotRun:
    """The settings of a hot-spot run, stored with its results so they can be reproduced."""

    resolution: int
    k: int
    q: float
    weight: str
    study: str
    months: tuple[str, ...]


def _normal_two_sided_p(z: np.ndarray) -> np.ndarray:
    """Two-sided p-value of standard normal z (NaN stays NaN)."""
    from scipy.special import erfc

    return erfc(np.abs(np.asarray(z, dtype="float64")) / math.sqrt(2.0))


def benjamini_hochberg(p, q: float = DEFAULT_Q) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini-Hochberg false-discovery-rate control.

    Parameters
    ----------
    p : array_like
        p-values; NaN values are not tests (never rejected, not counted in ``m``).
    q : float
        The false discovery rate to control.

    Returns
    -------
    (rejected, adjusted) : boolean array and the BH-adjusted p-values ("q-values"),
        ``min(1, min_{j >= i} p_(j) m / j)``; NaN where ``p`` is NaN.

    Examples
    --------
    >>> rej, adj = benjamini_hochberg([0.01, 0.04, 0.03, 0.20], q=0.05)
    >>> rej.tolist()
    [True, False, False, False]
    >>> [round(float(a), 3) for a in adj]
    [0.04, 0.053, 0.053, 0.2]
    """
    if not 0 < q < 1:
        raise InputError(f"the false discovery rate q must be between 0 and 1, got {q}")
    from scipy.stats import false_discovery_control

    p = np.asarray(p, dtype="float64")
    rejected = np.zeros(p.shape, dtype=bool)
    adjusted = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        adjusted[ok] = false_discovery_control(p[ok], method="bh")
        rejected[ok] = adjusted[ok] <= q
    return rejected, adjusted


def cells_to_neighbour_pairs(cells, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(i, j)`` of positions in ``cells`` with ``cells[j]`` in the k-ring of
    ``cells[i]`` (the cell itself included).

    ``cells`` must be distinct. Neighbours that are not in ``cells`` are dropped, so the
    pairs are the binary Gi* weights within a study area.

    Examples
    --------
    >>> import h3
    >>> ring = [h3.str_to_int(c) for c in h3.grid_disk('8a1942c58b4ffff', 1)]
    >>> i, j = cells_to_neighbour_pairs(np.array(ring, dtype='int64'), 1)
    >>> len(i), int(np.bincount(i).max()), int(np.bincount(i).min())
    (31, 7, 4)
    """
    cells = np.asarray(cells, dtype="int64")
    if k < 0:
        raise InputError(f"the k-ring size k must be 0 or more, got {k}")
    if len(cells) == 0:
        return np.array([], dtype="int64"), np.array([], dtype="int64")
    disk, owner = _grid_disks(cells, k)
    order = np.argsort(cells, kind="stable")
    sorted_cells = cells[order]
    pos = np.searchsorted(sorted_cells, disk)
    pos = np.minimum(pos, len(cells) - 1)
    found = sorted_cells[pos] == disk
    return owner[found], order[pos[found]]


def _grid_disks(cells: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Every cell of the k-ring of each cell (flattened) and the position of its centre.

    The one place that calls an H3 binding for disks: h3ronpy (vectorised) when importable,
    else a loop over h3-py.
    """
    if _h3ronpy is not None:
        arr = _h3ronpy.grid_disk(cells.view("uint64"), k)
        import pyarrow as pa

        arr = pa.array(arr)
        offsets = arr.offsets.to_numpy()
        flat = np.asarray(arr.flatten().to_numpy(zero_copy_only=False), dtype="uint64")
        flat = flat.view("int64")
        owner = np.repeat(np.arange(len(cells), dtype="int64"), np.diff(offsets))
        return flat, owner
    import h3  # pragma: no cover - fallback

    lists = [[h3.str_to_int(x) for x in h3.grid_disk(h3.int_to_str(int(c)), k)] for c in cells]
    owner = np.repeat(np.arange(len(cells)), [len(x) for x in lists])
    return np.fromiter((x for lst in lists for x in lst), dtype="int64"), owner


def gi_star(cells, values, *, k: int = 1, study_cells=None, q: float = DEFAULT_Q) -> pd.DataFrame:
    """Getis-Ord Gi* of ``values`` on H3 cells, with Benjamini-Hochberg FDR control.

    Parameters
    ----------
    cells, values : array_like
        Observed cells (int64) and their values (counts or harm); repeated cells are summed.
    k : int
        Neighbourhood: the k-ring, the cell itself included.
    study_cells : array_like, optional
        Every cell of the study area; cells absent from ``cells`` count as zero. Default:
        the k-ring hull of the observed cells. Observed cells outside it are dropped
        (their number is ``attrs["cells_outside"]``, their total ``attrs["value_outside"]``).
    q : float
        False discovery rate.

    Returns
    -------
    DataFrame, one row per study cell, sorted by ``cell``: ``cell`` (int64), ``h3`` (hex),
    ``value``, ``neighbours`` (W_i, cells in the k-ring within the study area), ``local_sum``
    (sum of values over them), ``z``, ``p`` (two-sided), ``p_adjusted`` (BH), ``hot``, ``cold``.
    ``z`` is NaN when every cell has the same value (no variation) or a cell's
    neighbourhood is the whole study area.

    Examples
    --------
    >>> import h3
    >>> ring = np.array([h3.str_to_int(c) for c in h3.grid_disk('8a1942c58b4ffff', 3)])
    >>> centre = h3.str_to_int('8a1942c58b4ffff')
    >>> out = gi_star([centre], [10.0], study_cells=ring)
    >>> row = out[out.cell == centre].iloc[0]
    >>> round(float(row.z), 3), bool(row.hot)
    (2.07, False)

    One busy cell among 36 empty ones is not a hot spot once 37 tests share the false
    discovery rate (p = 0.038 before the correction).
    """
    cells = np.asarray(cells, dtype="int64")
    values = np.asarray(values, dtype="float64")
    if cells.shape != values.shape:
        raise InputError(f"cells and values differ in length: {cells.shape} and {values.shape}")
    if np.any(~np.isfinite(values)):
        raise InputError("values must be finite numbers (no NaN or infinity)")
    keep = cells != 0
    cells, values = cells[keep], values[keep]
    res = np.unique(cell_resolutions(cells)) if len(cells) else np.array([], dtype="int64")
    if len(res) > 1:
        raise InputError(f"cells mix H3 resolutions {res.tolist()}; give one resolution")
    if study_cells is None:
        study = np.unique(_grid_disks(np.unique(cells), k)[0]) if len(cells) else cells
    else:
        study = np.unique(np.asarray(study_cells, dtype="int64"))
        study = study[study != 0]
        sres = np.unique(cell_resolutions(study))
        if len(study) and len(res) and (len(sres) > 1 or sres[0] != res[0]):
            raise InputError(f"study cells are at resolution(s) {sres.tolist()} but the values "
                             f"at {res.tolist()}; take both to one resolution (cells_to_parents)")
    x = np.zeros(len(study))
    pos = np.searchsorted(study, cells)
    pos = np.minimum(pos, max(len(study) - 1, 0))
    inside = (study[pos] == cells) if len(study) else np.zeros(len(cells), dtype=bool)
    np.add.at(x, pos[inside], values[inside])
    i, j = cells_to_neighbour_pairs(study, k)
    n = len(study)
    w = np.bincount(i, minlength=n).astype("float64")
    local = np.bincount(i, weights=x[j], minlength=n)
    z = _gi_z(x, w, local)
    p = _normal_two_sided_p(z)
    rejected, adjusted = benjamini_hochberg(p, q)
    out = pd.DataFrame({
        "cell": study,
        "h3": cells_to_hex(study),
        "value": x,
        "neighbours": w.astype("int64"),
        "local_sum": local,
        "z": z,
        "p": p,
        "p_adjusted": adjusted,
        "hot": rejected & (z > 0),
        "cold": rejected & (z < 0),
    })
    out.attrs["cells_outside"] = int((~inside).sum())
    out.attrs["value_outside"] = float(values[~inside].sum())
    out.attrs["k"] = int(k)
    out.attrs["q"] = float(q)
    return out


def _gi_z(x: np.ndarray, w: np.ndarray, local: np.ndarray) -> np.ndarray:
    """The Gi* z-score with binary weights (sum w = sum w^2 = W_i)."""
    n = len(x)
    z = np.full(n, np.nan)
    if n < 2:
        return z
    xbar = x.mean()
    s = math.sqrt(max(float((x * x).mean() - xbar * xbar), 0.0))
    denom_sq = (n * w - w * w) / (n - 1)
    ok = (denom_sq > 0) & (s > 0)
    z[ok] = (local[ok] - xbar * w[ok]) / (s * np.sqrt(denom_sq[ok]))
    return z


def mann_kendall(series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mann-Kendall trend test on each row of a 2-D array (rows = cells, columns = periods).

    NaN values are left out pair by pair. Returns ``(S, z, p)``: the statistic, its normal
    z with continuity correction and the tie-corrected variance
    ``[n(n-1)(2n+5) - sum_t t(t-1)(2t+5)] / 18``, and the two-sided p-value.

    Examples
    --------
    >>> a = np.array([[1., 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1], [1, 1, 1, 1, 1, 1]])
    >>> s, z, p = mann_kendall(a)
    >>> s.tolist(), [round(float(v), 2) for v in z]
    ([15.0, -15.0, 0.0], [2.63, -2.63, 0.0])
    """
    a = np.atleast_2d(np.asarray(series, dtype="float64"))
    rows, t = a.shape
    s = np.zeros(rows)
    for lo in range(t - 1):
        d = a[:, lo + 1:] - a[:, lo:lo + 1]
        s += np.nansum(np.sign(d), axis=1)
    finite = np.isfinite(a)
    n = finite.sum(axis=1).astype("float64")
    # Ties: each value belonging to a group of t equal values adds (t-1)(2t+5); a group
    # then adds t(t-1)(2t+5) in all.
    eq = (a[:, :, None] == a[:, None, :]).sum(axis=2).astype("float64")
    ties = np.where(finite, (eq - 1) * (2 * eq + 5), 0.0).sum(axis=1)
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    z = np.zeros(rows)
    pos = var > 0
    z[pos] = (s[pos] - np.sign(s[pos])) / np.sqrt(var[pos])
    return s, z, _normal_two_sided_p(z)


def crime_cell_values(store, months: Sequence[str] | None = None, *, resolution: int | None = None,
                      weight: str = "count", harm_overrides: Mapping[str, float] | None = None,
                      conn=None) -> pd.DataFrame:
    """Located crimes (not flagged outside the force) per H3 cell and month.

    Returns a frame with ``month``, ``cell`` (at ``resolution``, default the store's) and
    ``value`` (count, or harm in CCHI days with ``weight="harm"``).
    """
    t = schema.crimes
    where = (t.c.cell != 0) & (t.c.is_outlier == 0)
    if months:
        where = where & t.c.month.in_(sorted(set(months)))
    frame = store.read("crimes", ["month", "category", "offence_code", "cell"], where=where,
                       conn=conn)
    res = _resolution(store, resolution)
    if len(frame) == 0:
        return pd.DataFrame({"month": pd.Series([], dtype=object),
                             "cell": pd.Series([], dtype="int64"),
                             "value": pd.Series([], dtype="float64")})
    value = crime_weights(frame, weight, harm_overrides)
    cells = frame["cell"].to_numpy(dtype="int64")
    if res != store.h3_resolution:
        cells = cells_to_parents(cells, res)
    out = (pd.DataFrame({"month": frame["month"].to_numpy(dtype=object), "cell": cells,
                         "value": value})
           .groupby(["month", "cell"], sort=True, as_index=False)["value"].sum())
    return out


def _weight_name(weight: str, harm_overrides) -> str:
    return "harm (overridden)" if weight == "harm" and harm_overrides else weight


def _resolution(store, resolution: int | None) -> int:
    base = store.h3_resolution
    if resolution is None:
        return base
    if not 0 <= int(resolution) <= base:
        raise InputError(f"resolution must be between 0 and the store's resolution {base} "
                         f"(cells are stored at {base}; coarser ones are their parents), "
                         f"got {resolution}")
    return int(resolution)


def study_area_cells(store, *, resolution: int | None = None, area_ids: Sequence[str] | None = None,
                     conn=None) -> np.ndarray:
    """The cells of the stored areas (all of them, or ``area_ids``) at ``resolution``.

    Area cells are the store-resolution cells whose centre lies in the area; at a coarser
    resolution their parents. Only the newest boundary set of each level counts. Empty when
    no area (or none of ``area_ids``) is stored.
    """
    t = schema.area_cells
    where = t.c.area_id.in_(list(area_ids)) if area_ids else None
    frame = store.read("area_cells", ["area_id", "boundary_set", "cell"], where=where, conn=conn)
    frame = frame[_newest_sets(store, frame, conn)]
    if area_ids:
        missing = sorted(set(area_ids) - set(frame["area_id"]))
        if missing:
            raise InputError(f"no stored area {missing[0]!r} (area ids look like 'beat:LS01' or "
                             f"'ward:E05001411'); {len(missing)} unknown in all")
    cells = np.unique(frame["cell"].to_numpy(dtype="int64"))
    res = _resolution(store, resolution)
    if len(cells) and res != store.h3_resolution:
        cells = np.unique(cells_to_parents(cells, res))
    return cells


def _newest_sets(store, cells: pd.DataFrame, conn) -> np.ndarray:
    """Which area-cell rows belong to the newest boundary set of their level (as
    :func:`spatial_core.store.index.current_areas` chooses); cells of areas not in ``areas`` are
    kept."""
    areas = store.read("areas", ["area_id", "level", "boundary_set", "valid_from"], conn=conn)
    if len(areas) == 0 or len(cells) == 0:
        return np.ones(len(cells), dtype=bool)
    areas = areas.fillna({"boundary_set": "", "valid_from": ""})
    newest = newest_set_by_level(areas)
    areas["newest"] = areas["boundary_set"].to_numpy() == newest.reindex(areas["level"]).to_numpy()
    key = pd.MultiIndex.from_frame(areas[["area_id", "boundary_set"]])
    flag = pd.Series(areas["newest"].to_numpy(), index=key)
    flag = flag[~flag.index.duplicated()]
    look = pd.MultiIndex.from_arrays([cells["area_id"].to_numpy(dtype=object),
                                      cells["boundary_set"].fillna("").to_numpy(dtype=object)])
    return flag.reindex(look).fillna(True).to_numpy(dtype=bool)


def _study(store, study: str, resolution: int, area_ids, conn) -> tuple[np.ndarray | None, str]:
    if study not in ("auto", "areas", "hull"):
        raise InputError(f"unknown study area {study!r}; expected 'auto', 'areas' or 'hull'")
    if study == "hull":
        return None, "hull"
    cells = study_area_cells(store, resolution=resolution, area_ids=area_ids, conn=conn)
    if len(cells):
        return cells, "areas"
    if study == "areas":
        raise InputError("no area cells are stored: import boundaries first, or use study='hull'")
    return None, "hull"


def find_hotspots(store, *, resolution: int | None = None, months: Sequence[str] | None = None,
                  k: int = 1, q: float = DEFAULT_Q, weight: str = "count",
                  harm_overrides: Mapping[str, float] | None = None, study: str = "auto",
                  area_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Gi* hot and cold spots of crime in the store, all ``months`` pooled.

    Parameters
    ----------
    resolution : int, optional
        H3 resolution (default the store's, 10; 9 or coarser uses parents).
    months : list of "YYYY-MM", optional
        Default: every month stored.
    k, q : Gi* neighbourhood and false discovery rate.
    weight : "count" or "harm"
        What a crime adds to its cell: 1, or its harm (``harm_overrides``: category -> days).
    study : "auto", "areas" or "hull"
        The study area: stored area cells (``area_ids`` or all), the k-ring hull of the
        observed cells, or (auto) the areas when any are stored, else the hull.

    Returns
    -------
    The frame of :func:`gi_star`; ``attrs["run"]`` is the :class:`HotspotRun`.
    """
    res = _resolution(store, resolution)
    with store.connect() as conn:
        values = crime_cell_values(store, months, resolution=res, weight=weight,
                                   harm_overrides=harm_overrides, conn=conn)
        cells, used = _study(store, study, res, area_ids, conn)
    pooled = values.groupby("cell", as_index=False)["value"].sum()
    out = gi_star(pooled["cell"].to_numpy(), pooled["value"].to_numpy(), k=k,
                  study_cells=cells, q=q)
    run_months = tuple(sorted(set(values["month"]))) if not months else tuple(sorted(set(months)))
    out.attrs["run"] = HotspotRun(res, int(k), float(q), _weight_name(weight, harm_overrides),
                                  used, run_months)
    return out


def monthly_hotspots(store, *, resolution: int | None = None, months: Sequence[str] | None = None,
                     k: int = 1, q: float = DEFAULT_Q, weight: str = "count",
                     harm_overrides: Mapping[str, float] | None = None, study: str = "auto",
                     area_ids: Sequence[str] | None = None,
                     progress: Progress | None = None) -> pd.DataFrame:
    """Gi* for each month on one study area: the long frame of :func:`gi_star` results with
    a ``month`` column first.

    With ``study="hull"`` (or no stored area), the hull is taken over the cells observed in
    *any* of the months, so every month is tested on the same cells. ``months`` default to
    every month stored; a month given but holding no crime is all zeros (``z`` NaN).
    """
    res = _resolution(store, resolution)
    with store.connect() as conn:
        values = crime_cell_values(store, months, resolution=res, weight=weight,
                                   harm_overrides=harm_overrides, conn=conn)
        cells, used = _study(store, study, res, area_ids, conn)
    run_months = sorted(set(months)) if months else sorted(set(values["month"]))
    if cells is None:
        observed = np.unique(values["cell"].to_numpy(dtype="int64"))
        cells = np.unique(_grid_disks(observed, k)[0]) if len(observed) else observed
    frames = []
    by_month = dict(tuple(values.groupby("month")))
    for step, month in enumerate(run_months):
        part = by_month.get(month)
        c = part["cell"].to_numpy() if part is not None else np.array([], dtype="int64")
        v = part["value"].to_numpy() if part is not None else np.array([], dtype="float64")
        one = gi_star(c, v, k=k, study_cells=cells, q=q)
        one.insert(0, "month", month)
        frames.append(one)
        if progress is not None:
            progress((step + 1) / len(run_months), f"Gi* {month}")
    if not frames:
        out = gi_star([], [], k=k, study_cells=cells, q=q)
        out.insert(0, "month", pd.Series([], dtype=object))
    else:
        out = pd.concat(frames, ignore_index=True)
    out.attrs["run"] = HotspotRun(res, int(k), float(q), _weight_name(weight, harm_overrides),
                                  used, tuple(run_months))
    return out


def classify_trends(monthly: pd.DataFrame, *, persistent_share: float = 0.9,
                    alpha: float = 0.05) -> pd.DataFrame:
    """Classify each cell over a sequence of Gi* results (a simplified emerging-hot-spot
    analysis).

    Parameters
    ----------
    monthly : DataFrame
        Columns ``month``, ``cell``, ``z``, ``hot`` (the result of :func:`monthly_hotspots`,
        or any frame with one row per cell and period; periods sort as text).
    persistent_share : float
        A cell hot in at least this share of the periods is *persistent* (or intensifying /
        diminishing).
    alpha : float
        Significance level of the Mann-Kendall trend test on the cell's z-scores.

    Returns
    -------
    DataFrame per cell: ``cell``, ``periods``, ``hot_periods``, ``hot_share``, ``hot_last``,
    ``z_last``, ``z_slope`` (least-squares slope of z per period), ``trend_s``, ``trend_z``,
    ``trend_p`` (Mann-Kendall on z), ``category``. Categories, tested in this order:

    - ``new``: hot in the last period and in no earlier one;
    - ``intensifying``: hot in >= ``persistent_share`` of periods, z trend up (MK p < alpha);
    - ``diminishing``: as above with the trend down;
    - ``persistent``: hot in >= ``persistent_share`` of periods, no significant trend;
    - ``sporadic``: hot in some periods, none of the above;
    - ``never``: never hot.

    Examples
    --------
    >>> m = pd.DataFrame({"month": ["a", "b", "c"] * 2, "cell": [1, 1, 1, 2, 2, 2],
    ...                   "z": [0.1, 0.2, 3.0, 3.0, 3.1, 2.9],
    ...                   "hot": [False, False, True, True, True, True]})
    >>> classify_trends(m)["category"].tolist()
    ['new', 'persistent']
    """
    need = {"month", "cell", "z", "hot"}
    missing = need - set(monthly.columns)
    if missing:
        raise InputError(f"monthly results lack column(s) {sorted(missing)}; "
                         f"expected {sorted(need)}")
    if not 0 < persistent_share <= 1:
        raise InputError(f"persistent_share must be in (0, 1], got {persistent_share}")
    periods = np.array(sorted(set(monthly["month"])), dtype=object)
    cells = np.unique(monthly["cell"].to_numpy(dtype="int64"))
    t = len(periods)
    ci = np.searchsorted(cells, monthly["cell"].to_numpy(dtype="int64"))
    pi = np.searchsorted(periods, monthly["month"].to_numpy(dtype=object))
    z = np.full((len(cells), t), np.nan)
    hot = np.zeros((len(cells), t), dtype=bool)
    z[ci, pi] = monthly["z"].to_numpy(dtype="float64")
    hot[ci, pi] = monthly["hot"].to_numpy(dtype=bool)
    hot_n = hot.sum(axis=1)
    share = hot_n / t if t else np.zeros(len(cells))
    hot_last = hot[:, -1] if t else np.zeros(len(cells), dtype=bool)
    new = hot_last & (hot_n == 1)
    steady = (share >= persistent_share) & ~new
    trend_s = np.zeros(len(cells))
    trend_z = np.zeros(len(cells))
    trend_p = np.ones(len(cells))
    idx = np.flatnonzero(steady)
    if len(idx) and t >= 2:
        trend_s[idx], trend_z[idx], trend_p[idx] = mann_kendall(z[idx])
    slope = _slopes(z)
    category = np.full(len(cells), "never", dtype=object)
    category[hot_n > 0] = "sporadic"
    category[steady] = "persistent"
    sig = steady & (trend_p < alpha)
    category[sig & (trend_s > 0)] = "intensifying"
    category[sig & (trend_s < 0)] = "diminishing"
    category[new] = "new"
    out = pd.DataFrame({
        "cell": cells, "periods": t, "hot_periods": hot_n, "hot_share": share,
        "hot_last": hot_last, "z_last": z[:, -1] if t else np.nan, "z_slope": slope,
        "trend_s": trend_s, "trend_z": trend_z, "trend_p": trend_p, "category": category,
    })
    out.attrs["periods"] = periods.tolist()
    return out


def _slopes(z: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row against 0, 1, 2 … (NaN values left out)."""
    t = z.shape[1]
    if t < 2:
        return np.full(z.shape[0], np.nan)
    x = np.broadcast_to(np.arange(t, dtype="float64"), z.shape)
    ok = np.isfinite(z)
    n = ok.sum(axis=1)
    xm = np.where(ok, x, 0).sum(axis=1) / np.maximum(n, 1)
    zm = np.where(ok, z, 0).sum(axis=1) / np.maximum(n, 1)
    dx = np.where(ok, x - xm[:, None], 0)
    dz = np.where(ok, z - zm[:, None], 0)
    sxx = (dx * dx).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n >= 2) & (sxx > 0), (dx * dz).sum(axis=1) / sxx, np.nan)
