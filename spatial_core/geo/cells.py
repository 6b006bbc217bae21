# SPDX-License-Identifier: GPL-3.0-or-later
"""H3 cells for points, lines and polygons, as arrays of 64-bit integers.

The working resolution is 10 (average hexagon edge about 76 m, 131 m across, area about
0.015 km²): about the length of a street segment, so a street spans two or three cells and a
cell touches a few streets even in a city centre, while police.uk's anonymised map points are
not split finer than the data is. ``docs/h3-resolution.md`` gives the measurements. Parents for
roll-ups (9, 8, 7 …) are derived with bit arithmetic, so they are never stored twice.

h3-py 4 has no array API; :func:`points_to_cells` uses the vectorised ``h3ronpy`` binding
when it is importable and falls back to a loop over ``h3.latlng_to_cell`` otherwise. Both give
the same cells (a test checks this).
"""
from __future__ import annotations

import itertools
import logging

import h3
import numpy as np
import shapely
from h3.api import basic_int as _h3int

from spatial_core.errors import InputError

__all__ = [
    "DEFAULT_RESOLUTION",
    "points_to_cells",
    "cells_to_parents",
    "descendant_ranges",
    "grid_rings",
    "cells_to_points",
    "cells_to_boundaries",
    "lines_to_cells",
    "polygons_to_cells",
    "cells_to_hex",
    "hex_to_cells",
    "cell_resolutions",
    "is_valid_cells",
]

log = logging.getLogger(__name__)

DEFAULT_RESOLUTION = 10

_RES_OFFSET = 52
_RES_MASK = np.uint64(0xF) << np.uint64(_RES_OFFSET)

try:  # pragma: no cover - exercised by whichever branch the environment has
    from h3ronpy import vector as _h3v  # type: ignore[import-untyped]
except Exception:  # noqa: BLE001 - any failure means "use the loop"
    _h3v = None


def _check_res(res: int) -> int:
    if not 0 <= int(res) <= 15:
        raise InputError(f"H3 resolution must be between 0 and 15, got {res}")
    return int(res)


def points_to_cells(lat, lng, res: int = DEFAULT_RESOLUTION) -> np.ndarray:
    """Index points on H3 cells.

    Parameters
    ----------
    lat, lng : array_like
        Coordinates in degrees (WGS84). NaN (or infinity) gives cell 0 (no cell); a finite
        value outside ±90 / ±180 degrees raises :class:`~spatial_core.errors.InputError`.
    res : int
        H3 resolution.

    Returns
    -------
    numpy.ndarray of int64

    Examples
    --------
    >>> cells = points_to_cells([53.7996], [-1.5491], 10)
    >>> cells_to_hex(cells)[0]
    '8a1942c58b4ffff'
    """
    res = _check_res(res)
    lat = np.asarray(lat, dtype="float64")
    lng = np.asarray(lng, dtype="float64")
    if lat.shape != lng.shape:
        raise InputError(f"lat and lng differ in length: {lat.shape} and {lng.shape}")
    out = np.zeros(lat.shape, dtype="int64")
    ok = np.isfinite(lat) & np.isfinite(lng)
    if not ok.any():
        return out
    for name, values, limit in (("lat", lat, 90.0), ("lng", lng, 180.0)):
        bad = np.flatnonzero(ok & (np.abs(values) > limit))
        if bad.size:
            raise InputError(
                f"{'latitude' if name == 'lat' else 'longitude'} must be within ±{limit:g} "
                f"degrees (point {bad[0]} of {lat.size}; {bad.size} such points); are these "
                "British National Grid metres or swapped columns?",
                column=name, value=values[bad[0]],
            )
    out[ok] = _points_to_cells(lat[ok], lng[ok], res)
    return out


def _points_to_cells(lat: np.ndarray, lng: np.ndarray, res: int) -> np.ndarray:
    """The one place that calls an H3 binding for points; swap the binding here."""
    if _h3v is not None:
        arr = _h3v.coordinates_to_cells(lat, lng, res)
        return np.asarray(arr, dtype="uint64").view("int64")
    # h3's integer API on Python floats: about 2.5 times the speed of strings + str_to_int.
    return np.fromiter(
        map(_h3int.latlng_to_cell, lat.tolist(), lng.tolist(), itertools.repeat(res, len(lat))),
        dtype="int64",
        count=len(lat),
    )


def cell_resolutions(cells) -> np.ndarray:
    """Resolution of each cell (vectorised bit arithmetic).

    Examples
    --------
    >>> cell_resolutions(hex_to_cells(['8a1942c58b4ffff', '891942c58b7ffff'])).tolist()
    [10, 9]
    """
    u = np.asarray(cells, dtype="int64").astype("uint64")
    return ((u & _RES_MASK) >> np.uint64(_RES_OFFSET)).astype("int64")


def cells_to_parents(cells, res: int) -> np.ndarray:
    """Parent of each cell at a coarser resolution (vectorised bit arithmetic).

    Cell 0 (no cell) stays 0. Cells already at or above ``res`` are an error, as in h3.

    Examples
    --------
    >>> c = hex_to_cells(['8a1942c58b4ffff'])
    >>> cells_to_hex(cells_to_parents(c, 7))[0] == h3.cell_to_parent('8a1942c58b4ffff', 7)
    True
    """
    res = _check_res(res)
    c = np.asarray(cells, dtype="int64")
    u = c.astype("uint64")
    present = c != 0
    have = cell_resolutions(c)
    if np.any(have[present] < res):
        raise InputError(f"cannot take a parent at resolution {res} of a coarser cell")
    parent = (u & ~_RES_MASK) | (np.uint64(res) << np.uint64(_RES_OFFSET))
    unused_digits = np.uint64((1 << ((15 - res) * 3)) - 1)
    parent = parent | unused_digits
    return np.where(present, parent.astype("int64"), 0)


def descendant_ranges(parents, res: int) -> tuple[np.ndarray, np.ndarray]:
    """The least and greatest index a descendant at ``res`` of each parent can have.

    Every cell at ``res`` below a parent lies in ``[lo, hi]`` and no other cell at ``res``
    does (the descendants differ from the parent only in the digits of the finer
    resolutions), so a SQL ``cell BETWEEN lo AND hi`` selects the points of a parent cell.

    Examples
    --------
    >>> p = hex_to_cells(['861942c57ffffff'])  # resolution 6
    >>> lo, hi = descendant_ranges(p, 9)
    >>> kids = hex_to_cells(sorted(h3.cell_to_children('861942c57ffffff', 9)))
    >>> bool(((kids >= lo[0]) & (kids <= hi[0])).all()), len(kids)
    (True, 343)
    """
    res = _check_res(res)
    p = np.asarray(parents, dtype="int64")
    have = cell_resolutions(p)
    if len(p) and (np.any(have > res) or len(np.unique(have)) > 1):
        raise InputError(f"descendant ranges need parents of one resolution at most {res}")
    pres = int(have[0]) if len(p) else res
    u = p.astype("uint64")
    base = (u & ~_RES_MASK) | (np.uint64(res) << np.uint64(_RES_OFFSET))
    clear = sum(7 << ((15 - r) * 3) for r in range(pres + 1, res + 1))
    sixes = sum(6 << ((15 - r) * 3) for r in range(pres + 1, res + 1))
    lo = base & ~np.uint64(clear)
    hi = lo | np.uint64(sixes)
    return lo.astype("int64"), hi.astype("int64")


def grid_rings(cells, k: int = 1) -> np.ndarray:
    """The cells within ``k`` steps of any of ``cells`` (themselves included), sorted."""
    out = set()
    for c in cells_to_hex(np.unique(np.asarray(cells, dtype="int64"))):
        out.update(h3.grid_disk(c, int(k)))
    return np.sort(hex_to_cells(sorted(out))) if out else np.zeros(0, dtype="int64")


def cells_to_points(cells) -> tuple[np.ndarray, np.ndarray]:
    """Centre (lat, lng) of each cell.

    Examples
    --------
    >>> lat, lng = cells_to_points(hex_to_cells(['8a1942c58b4ffff']))
    >>> round(float(lat[0]), 3), round(float(lng[0]), 3)
    (53.799, -1.549)
    """
    c = np.asarray(cells, dtype="int64")
    lat = np.full(c.shape, np.nan)
    lng = np.full(c.shape, np.nan)
    for i, cell in enumerate(c):
        if cell:
            lat[i], lng[i] = h3.cell_to_latlng(h3.int_to_str(int(cell)))
    return lat, lng


def cells_to_boundaries(cells) -> np.ndarray:
    """Hexagon of each cell as a shapely Polygon in lng/lat order (EPSG:4326); None for cell 0."""
    c = np.asarray(cells, dtype="int64")
    out = np.full(c.shape, None, dtype=object)
    for i, cell in enumerate(c):
        if cell:
            ring = h3.cell_to_boundary(h3.int_to_str(int(cell)))
            out[i] = shapely.Polygon([(b, a) for a, b in ring])
    return out


def cells_to_hex(cells) -> np.ndarray:
    """Hex strings for display (``'8a1942c58b4ffff'``)."""
    c = np.asarray(cells, dtype="int64")
    return np.array([format(int(x) & 0xFFFFFFFFFFFFFFFF, "x") for x in c], dtype=object)


def hex_to_cells(hexes) -> np.ndarray:
    """Integer cells from hex strings."""
    return np.array([int(h, 16) for h in hexes], dtype="int64")


def is_valid_cells(cells) -> np.ndarray:
    """Which values are valid H3 cells."""
    # h3's default API takes hex strings: an int passed straight in is never "valid".
    c = np.asarray(cells, dtype="int64")
    return np.array([c_ > 0 and h3.is_valid_cell(h3.int_to_str(int(c_))) for c_ in c], dtype=bool)


def lines_to_cells(geoms_lnglat, res: int = DEFAULT_RESOLUTION, step_m: float | None = None,
                   geoms_metric=None) -> tuple[np.ndarray, np.ndarray]:
    """Cells that lines pass through.

    Lines are densified (``step_m``, default a third of the average cell edge, about 25 m
    at resolution 10) in a metric copy and every vertex is indexed, so every cell in which
    a line runs for more than ``step_m`` is found, and consecutive vertices always lie in the
    same or neighbouring cells. A cell whose corner a line clips for less than ``step_m``
    may be missed.

    Parameters
    ----------
    geoms_lnglat : array of shapely (Multi)LineString in EPSG:4326 (lng, lat order)
        Used only when ``geoms_metric`` is not given.
    geoms_metric : array of the same lines in a metric CRS, optional
        When given (British National Grid), densification happens here and the vertices
        are transformed back to lat/lng.

    Returns
    -------
    (index, cells) : the position of the line in the input and one cell it touches,
        one pair per distinct (line, cell).
    """
    from spatial_core.geo.crs import bng_to_lnglat, lnglat_to_bng

    res = _check_res(res)
    if step_m is None:
        step_m = h3.average_hexagon_edge_length(res, unit="m") / 3
    if geoms_metric is None:
        # transform keeps each geometry's structure (multi-parts, missing geometries).
        geoms_metric = shapely.transform(
            np.asarray(geoms_lnglat, dtype=object),
            lambda xy: np.column_stack(lnglat_to_bng(xy[:, 0], xy[:, 1])),
        )
    dense = shapely.segmentize(np.asarray(geoms_metric), step_m)
    coords, idx = shapely.get_coordinates(dense, return_index=True)
    lng, lat = bng_to_lnglat(coords[:, 0], coords[:, 1])
    cells = points_to_cells(lat, lng, res)
    pairs = np.unique(np.column_stack([idx.astype("int64"), cells]), axis=0)
    return pairs[:, 0], pairs[:, 1]


def polygons_to_cells(geoms_lnglat, res: int = DEFAULT_RESOLUTION) -> tuple[np.ndarray, np.ndarray]:
    """Cells whose centre lies in each polygon; a polygon smaller than a cell gets the
    cell of its representative point, so no area is left without a cell.

    Returns ``(index, cells)`` as :func:`lines_to_cells`.

    Examples
    --------
    >>> square = shapely.box(-1.56, 53.79, -1.54, 53.80)
    >>> idx, cells = polygons_to_cells([square, None], 9)
    >>> len(cells) > 5, set(idx.tolist())
    (True, {0})
    """
    from h3.api import basic_int

    res = _check_res(res)
    geoms = np.asarray(geoms_lnglat, dtype=object)
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    out_idx: list[np.ndarray] = []
    out_cells: list[np.ndarray] = []
    for i, poly in zip(part_of, parts, strict=True):
        if poly is None or shapely.is_empty(poly) or poly.geom_type != "Polygon":
            continue
        rings = [shapely.get_coordinates(poly.exterior)[:, ::-1]]
        rings += [shapely.get_coordinates(r)[:, ::-1] for r in poly.interiors]
        shape = basic_int.LatLngPoly(*[[tuple(p) for p in r] for r in rings])
        found = basic_int.polygon_to_cells(shape, res)
        if found:
            out_idx.append(np.full(len(found), i, dtype="int64"))
            out_cells.append(np.asarray(found, dtype="uint64").view("int64"))
    idx = np.concatenate(out_idx) if out_idx else np.array([], dtype="int64")
    cells = np.concatenate(out_cells) if out_cells else np.array([], dtype="int64")
    present = np.array([g is not None and not shapely.is_empty(g) for g in geoms], dtype=bool)
    without = np.setdiff1d(np.flatnonzero(present), idx)
    if len(without):  # smaller than a cell: the cell of a point on the surface
        pts = shapely.point_on_surface(geoms[without])
        idx = np.concatenate([idx, without])
        found = points_to_cells(shapely.get_y(pts), shapely.get_x(pts), res)
        cells = np.concatenate([cells, found])
    if len(idx):
        pairs = np.unique(np.column_stack([idx, cells]), axis=0)
        idx, cells = pairs[:, 0], pairs[:, 1]
    return idx, cells
