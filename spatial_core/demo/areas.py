# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo force's areas: policing hierarchy, census geography and wards.

Areas are rectangles of lattice blocks found by recursive bisection weighted by households
(a k-d partition), so each holds about the households its level should: neighbourhood
policing areas (~40,000), beats (~5,000), LSOAs (~600) and output areas (~125) nest in one
another. Wards are a second partition of the same blocks (~7,500 households each), with
jittered splits, so they do not line up with beats, as in real forces. Polygons follow the
warped lattice, so neighbours share their boundary exactly, and are clipped to the force
outline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely

from spatial_core.demo.layout import Layout
from spatial_core.demo.names import STREET_BASES

__all__ = ["Areas", "Level", "make_areas", "HOUSEHOLDS_PER"]

log = logging.getLogger(__name__)

HOUSEHOLDS_PER = {"npa": 40_000, "beat": 5_000, "ward": 7_500, "lsoa": 600, "oa": 125}


@dataclass
class Level:
    """One level of areas: codes, names, parents, polygons, and each block's area."""

    code: np.ndarray
    name: np.ndarray
    parent: np.ndarray  # index into the parent level (-1 for none)
    geom: np.ndarray
    cell_area: np.ndarray  # (ny*nx,) area index of each block
    town: np.ndarray  # main town of each area


@dataclass
class Areas:
    force: Level
    npa: Level
    beat: Level
    ward: Level
    lsoa: Level
    oa: Level


class _Tables:
    """Summed tables of households per block, for O(side) marginals of any rectangle."""

    def __init__(self, w: np.ndarray) -> None:
        self.w = w
        self.cy = np.vstack([np.zeros((1, w.shape[1])), np.cumsum(w, axis=0)])
        self.cx = np.hstack([np.zeros((w.shape[0], 1)), np.cumsum(w, axis=1)])

    def marginal(self, rect, axis: int) -> np.ndarray:
        i0, i1, j0, j1 = rect
        if axis == 0:  # along x: column sums
            return self.cy[j1, i0:i1] - self.cy[j0, i0:i1]
        return self.cx[j0:j1, i1] - self.cx[j0:j1, i0]

    def total(self, rect) -> float:
        return float(self.marginal(rect, 0).sum())


def _split(tables: _Tables, rect, frac: float):
    """Two rectangles holding about ``frac`` and ``1 - frac`` of the households, or None."""
    i0, i1, j0, j1 = rect
    axes = (0, 1) if (i1 - i0) >= (j1 - j0) else (1, 0)
    for axis in axes:
        m = tables.marginal(rect, axis)
        if len(m) < 2:
            continue
        cum = np.cumsum(m)
        total = cum[-1]
        k = int(np.searchsorted(cum, frac * total))
        best = None
        for cand in (k, k + 1):  # split before position cand (both sides non-empty)
            if 1 <= cand <= len(m) - 1 and 0 < cum[cand - 1] < total:
                err = abs(cum[cand - 1] - frac * total)
                if best is None or err < best[0]:
                    best = (err, cand)
        if best is None:
            continue
        c = best[1]
        if axis == 0:
            return (i0, i0 + c, j0, j1), (i0 + c, i1, j0, j1)
        return (i0, i1, j0, j0 + c), (i0, i1, j0 + c, j1)
    return None


def _kd(tables: _Tables, rect, n: int, rng: np.random.Generator, jitter: float = 0.0) -> list:
    """Partition ``rect`` into (at most) ``n`` rectangles of about equal households."""
    out = []
    stack = [(rect, n)]
    while stack:
        r, k = stack.pop()
        if k <= 1:
            out.append(r)
            continue
        k1 = k // 2
        frac = k1 / k
        if jitter:
            frac = float(np.clip(frac + rng.uniform(-jitter, jitter), 0.15, 0.85))
        parts = _split(tables, r, frac)
        if parts is None:
            out.append(r)
            continue
        stack.append((parts[1], k - k1))
        stack.append((parts[0], k1))
    return out


def _count(households: float, per: int) -> int:
    return max(1, int(round(households / per)))


def _ring(layout: Layout, rect) -> np.ndarray:
    """Boundary nodes of a block rectangle, anticlockwise, closed."""
    i0, i1, j0, j1 = rect
    nx_, ny_ = layout.node_x, layout.node_y
    ii = np.concatenate(
        [np.arange(i0, i1), np.full(j1 - j0, i1), np.arange(i1, i0, -1), np.full(j1 - j0, i0), [i0]]
    )
    jj = np.concatenate(
        [np.full(i1 - i0, j0), np.arange(j0, j1), np.full(i1 - i0, j1), np.arange(j1, j0, -1), [j0]]
    )
    return np.column_stack([nx_[jj, ii], ny_[jj, ii]])


def _polygons(layout: Layout, rects: list) -> np.ndarray:
    rings = [_ring(layout, r) for r in rects]
    idx = np.repeat(np.arange(len(rings)), [len(r) for r in rings])
    polys = shapely.polygons(shapely.linearrings(np.concatenate(rings), indices=idx))
    shapely.prepare(layout.outline)
    inside = shapely.contains_properly(layout.outline, polys)
    out = polys.copy()
    if (~inside).any():
        out[~inside] = shapely.intersection(polys[~inside], layout.outline)
    return out


def _label(layout: Layout, rects: list) -> np.ndarray:
    grid = np.full((layout.ny, layout.nx), -1, dtype="int64")
    for k, (i0, i1, j0, j1) in enumerate(rects):
        grid[j0:j1, i0:i1] = k
    return grid.ravel()


def _main_town(area_of_hh: np.ndarray, hh_town: np.ndarray, n: int) -> np.ndarray:
    """The town most of each area's households live in (-1 for an area without any)."""
    n_towns = int(hh_town.max()) + 1
    pair = area_of_hh * n_towns + hh_town
    counts = np.bincount(pair, minlength=n * n_towns).reshape(n, n_towns)
    town = counts.argmax(axis=1)
    return np.where(counts.sum(axis=1) > 0, town, -1)


def _level(layout: Layout, rects: list, parent_of_rect: np.ndarray, codes, names) -> Level:
    cell_area = _label(layout, rects)
    town = _main_town(cell_area[layout.hh_cell], layout.hh_town, len(rects))
    return Level(
        np.asarray(codes, dtype=object),
        np.asarray(names, dtype=object),
        np.asarray(parent_of_rect, dtype="int64"),
        _polygons(layout, rects),
        cell_area,
        town,
    )


def _compass(layout: Layout, geoms: np.ndarray, town: np.ndarray) -> np.ndarray:
    c = shapely.centroid(geoms)
    t = np.maximum(town, 0)
    dx = shapely.get_x(c) - layout.town_x[t]
    dy = shapely.get_y(c) - layout.town_y[t]
    ang = np.degrees(np.arctan2(dy, dx)) % 360
    words = np.array(
        ["East", "North East", "North", "North West", "West", "South West", "South", "South East"],
        dtype=object,
    )
    out = words[((ang + 22.5) // 45).astype(int) % 8]
    return np.where(np.hypot(dx, dy) < 0.3 * layout.town_r[t], "Central", out)


def _unique(names: np.ndarray) -> np.ndarray:
    """Number repeated names: "Elmsworth North", "Elmsworth North 2" …"""
    out = names.astype(object).copy()
    seen: dict[str, int] = {}
    for i, n in enumerate(out):  # one name per area: a few thousand at most per level
        seen[n] = seen.get(n, 0) + 1
        if seen[n] > 1:
            out[i] = f"{n} {seen[n]}"
    return out


def make_areas(layout: Layout, households: int, rng: np.random.Generator, *,
               force_code: str = "DEMO", force_name: str = "Demo Police") -> Areas:
    """Partition the force into its areas."""
    w = np.bincount(layout.hh_cell, minlength=layout.nx * layout.ny).reshape(layout.ny, layout.nx)
    tables = _Tables(w.astype("float64"))
    whole = (0, layout.nx, 0, layout.ny)
    tn = np.asarray(layout.town_name + ["Rural"], dtype=object)

    force = _level(layout, [whole], np.array([-1]), [force_code], [force_name])
    n_beats_total = max(8, _count(households, HOUSEHOLDS_PER["beat"]))
    npa_rects = _kd(tables, whole, max(2, _count(households, HOUSEHOLDS_PER["npa"])), rng)
    beat_rects, beat_parent, lsoa_rects, lsoa_parent, oa_rects, oa_parent = [], [], [], [], [], []
    for p, r in enumerate(npa_rects):
        w_npa = tables.total(r)
        for b in _kd(tables, r, max(1, int(round(w_npa / households * n_beats_total))), rng):
            beat_rects.append(b)
            beat_parent.append(p)
            for ls in _kd(tables, b, _count(tables.total(b), HOUSEHOLDS_PER["lsoa"]), rng):
                lsoa_rects.append(ls)
                lsoa_parent.append(len(beat_rects) - 1)
                for o in _kd(tables, ls, _count(tables.total(ls), HOUSEHOLDS_PER["oa"]), rng):
                    oa_rects.append(o)
                    oa_parent.append(len(lsoa_rects) - 1)

    npa_codes = [f"DM{k + 1:02d}" for k in range(len(npa_rects))]
    npa = _level(layout, npa_rects, np.zeros(len(npa_rects)), npa_codes, npa_codes)
    npa.name = _unique(tn[npa.town] + " " + _compass(layout, npa.geom, npa.town))

    beat_parent_a = np.asarray(beat_parent)
    beat_no = np.zeros(len(beat_rects), dtype=int)
    for p in range(len(npa_rects)):
        sel = np.flatnonzero(beat_parent_a == p)
        beat_no[sel] = np.arange(1, len(sel) + 1)
    beat_codes = [f"{npa_codes[p]}B{k:02d}" for p, k in zip(beat_parent, beat_no, strict=True)]
    beat = _level(layout, beat_rects, beat_parent_a, beat_codes, beat_codes)
    beat.name = np.array(
        [f"{npa.name[p]} {k}" for p, k in zip(beat_parent, beat_no, strict=True)], dtype=object
    )

    lsoa_parent_a = np.asarray(lsoa_parent)
    lsoa_codes = [f"E01{400001 + k:06d}" for k in range(len(lsoa_rects))]
    lsoa = _level(layout, lsoa_rects, lsoa_parent_a, lsoa_codes, lsoa_codes)
    # "Elmsworth 012C": town, a number per beat within the town, a letter per LSOA in the beat
    letters = [chr(65 + k % 26) * (1 + k // 26) for k in range(max(26, len(lsoa_rects)))]
    first = np.r_[True, lsoa_parent_a[1:] != lsoa_parent_a[:-1]]
    idx = np.arange(len(lsoa_rects))
    within = idx - np.maximum.accumulate(np.where(first, idx, 0))
    lsoa.name = np.array(
        [
            f"{tn[t]} {lsoa_parent_a[k] + 1:03d}{letters[within[k]]}"
            for k, t in enumerate(lsoa.town)
        ],
        dtype=object,
    )

    oa_codes = [f"E00{400001 + k:06d}" for k in range(len(oa_rects))]
    oa = _level(layout, oa_rects, np.asarray(oa_parent), oa_codes, oa_codes)

    ward_rects = _kd(
        tables, whole, max(6, _count(households, HOUSEHOLDS_PER["ward"])), rng, jitter=0.12
    )
    ward_codes = [f"E05{900001 + k:06d}" for k in range(len(ward_rects))]
    ward = _level(layout, ward_rects, np.full(len(ward_rects), -1), ward_codes, ward_codes)
    bases = np.asarray(STREET_BASES, dtype=object)[rng.permutation(len(STREET_BASES))]
    ward.name = _unique(
        np.array(
            [f"{tn[t]} {bases[k % len(bases)]}" for k, t in enumerate(ward.town)], dtype=object
        )
    )
    log.debug(
        "areas: %d npa, %d beats, %d wards, %d lsoa, %d oa",
        len(npa_rects),
        len(beat_rects),
        len(ward_rects),
        len(lsoa_rects),
        len(oa_rects),
    )
    return Areas(force, npa, beat, ward, lsoa, oa)
