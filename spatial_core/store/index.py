# SPDX-License-Identifier: GPL-3.0-or-later
"""The derived index: which output area, street, beat and ward each address belongs to.

Imports store what a file says; this module keeps the columns that are *derived* from
several tables consistent with each other:

- ``addresses.oa_code``: the output area polygon (``areas`` at level ``oa``) holding the
  point when OA polygons are stored; otherwise the file's own value, or failing that the
  ``oa_code`` of the address's postcode;
- ``addresses.street_id``: the nearest street unit within :data:`MAX_STREET_DISTANCE_M`
  (100 m); an address farther from every street gets none;
- ``addresses.beat_id`` / ``ward_id``: the beat / ward polygon holding the point;
- ``streets.households``: the number of addresses whose ``street_id`` is the street;
- ``streets.beat_id`` / ``ward_id``: the area holding the largest share of the street's
  length.

Everything is computed in bulk (shapely ``STRtree`` queries) and only rows whose values
change are written, with :meth:`Store.update_by_key`, so a refresh after an import that
changed little writes little. When several boundary sets of one level are stored, the
newest (largest ``valid_from``, then ``boundary_set``) is used.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import shapely
from sqlalchemy.engine import Connection

from spatial_core.errors import InputError
from spatial_core.store import schema
from spatial_core.store.data_version import bump_data_version

__all__ = [
    "MAX_STREET_DISTANCE_M",
    "refresh_index",
    "assign_points_to_areas",
    "assign_points_to_streets",
    "line_segments",
    "segment_distance",
    "segment_pairs",
    "points_near_lines",
    "current_areas",
    "assign_addresses",
    "assignment_context",
]

log = logging.getLogger(__name__)

MAX_STREET_DISTANCE_M = 100.0
"""An address farther than this from every street unit is on no street."""

_ADDRESS_DERIVED = ["oa_code", "street_id", "beat_id", "ward_id"]


def current_areas(store, level: str, conn: Connection | None = None) -> pd.DataFrame:
    """The stored areas of ``level`` in the newest boundary set, sorted by ``area_id``.

    Returns a frame with ``area_id``, ``code`` and ``geom`` (shapely, EPSG:27700); empty
    when no area of that level is stored.
    """
    t = schema.table("areas")
    frame = store.read("areas", ["area_id", "code", "boundary_set", "valid_from", "geom"],
                       where=t.c.level == level, conn=conn)
    if len(frame) == 0:
        return pd.DataFrame({"area_id": [], "code": [], "geom": []})
    from spatial_core.store.boundary_sets import newest_set_by_level

    newest = newest_set_by_level(frame.assign(level=level))[level]
    frame = frame[frame["boundary_set"].fillna("") == newest]
    frame = frame[~shapely.is_empty(frame.geometry.to_numpy()) & frame.geometry.notna()]
    frame = frame.sort_values("area_id").reset_index(drop=True)
    return pd.DataFrame({"area_id": frame["area_id"].to_numpy(dtype=object),
                         "code": frame["code"].to_numpy(dtype=object),
                         "geom": frame.geometry.to_numpy()})


def _point_tree(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, shapely.STRtree | None]:
    """The mask of points with coordinates and a tree of them (None when there are none)."""
    ok = np.isfinite(x) & np.isfinite(y)
    return ok, (shapely.STRtree(shapely.points(x[ok], y[ok])) if ok.any() else None)


def _points_in_polygons(x: np.ndarray, y: np.ndarray, polygons: np.ndarray,
                        tree: tuple[np.ndarray, shapely.STRtree | None] | None = None
                        ) -> np.ndarray:
    """Index of the polygon holding each point (-1 when none; the lowest index on a
    shared edge). ``tree``: :func:`_point_tree` of the same points, when the caller tests
    them against several sets of polygons (building it is most of the cost)."""
    out = np.full(len(x), -1, dtype="int64")
    if len(polygons) == 0:
        return out
    ok, points = tree if tree is not None else _point_tree(x, y)
    if points is None:
        return out
    # Polygons as the query side: each is prepared once and tested against the points
    # its box holds (about twice as fast as querying a polygon tree with every point).
    poly, pt = points.query(polygons, predicate="intersects")
    if len(pt):
        # Several hits only on shared edges: keep the lowest polygon index (sorted area_id).
        order = np.lexsort((poly, pt))
        pt, poly = pt[order], poly[order]
        first = np.r_[True, pt[1:] != pt[:-1]]
        hit = np.full(int(ok.sum()), -1, dtype="int64")
        hit[pt[first]] = poly[first]
        out[ok] = hit
    return out


def assign_points_to_areas(store, x, y, level: str, conn: Connection | None = None,
                           *, areas: pd.DataFrame | None = None) -> np.ndarray:
    """The ``area_id`` of the stored area of ``level`` holding each point.

    Parameters
    ----------
    x, y : array_like
        British National Grid coordinates (NaN for no location).
    level : str
        ``beat``, ``ward``, ``oa`` …
    areas : DataFrame, optional
        The result of :func:`current_areas`, when the caller already has it.

    Returns
    -------
    numpy.ndarray of object
        ``area_id`` per point; None outside every area (or when none is stored).
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    if x.shape != y.shape:
        raise InputError(f"x and y differ in length: {x.shape} and {y.shape}")
    if areas is None:
        areas = current_areas(store, level, conn)
    out = np.full(len(x), None, dtype=object)
    idx = _points_in_polygons(x, y, np.asarray(areas["geom"], dtype=object))
    hit = idx >= 0
    out[hit] = np.asarray(areas["area_id"], dtype=object)[idx[hit]]
    return out


def assign_points_to_streets(x, y, street_ids, street_geoms,
                             max_distance: float = MAX_STREET_DISTANCE_M) -> np.ndarray:
    """The ``street_id`` of the nearest street within ``max_distance`` metres of each point
    (None when there is none; on a tie, the street listed first).

    The streets are cut into straight segments no longer than the search radius, so that
    the grid join (:func:`segment_pairs`) on squares of that side lists few candidates. Two
    passes (25 m, then ``max_distance`` for the points not settled) keep the candidate pairs
    few, since most addresses are within a few metres of their street.

    Examples
    --------
    >>> lines = shapely.linestrings([[(0, 0), (100, 0)], [(0, 50), (100, 50)]])
    >>> assign_points_to_streets([10, 10, 10], [5, 40, 300], ["a", "b"], lines).tolist()
    ['a', 'b', None]
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    out = np.full(len(x), None, dtype=object)
    geoms = np.asarray(street_geoms, dtype=object)
    todo = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if len(geoms) == 0 or len(todo) == 0:
        return out
    ids = np.asarray(street_ids, dtype=object)
    for radius in sorted({min(25.0, max_distance), float(max_distance)}):
        start, end, owner = line_segments(geoms, radius)
        if len(owner) == 0:
            return out
        pt, seg, dist = segment_pairs(start, end, x[todo], y[todo], radius, cell=radius)
        if len(pt):
            # The nearest segment of each point (pairs come by point, then segment in street
            # order, so a tie goes to the street listed first).
            group = np.r_[True, pt[1:] != pt[:-1]]
            starts = np.flatnonzero(group)
            best = np.flatnonzero(dist == np.minimum.reduceat(dist, starts)[np.cumsum(group) - 1])
            first = best[np.r_[True, pt[best][1:] != pt[best][:-1]]]
            out[todo[pt[first]]] = ids[owner[seg[first]]]
            settled = np.zeros(len(todo), dtype=bool)
            settled[pt[first]] = True
            todo = todo[~settled]
        if len(todo) == 0:
            break
    return out


def line_segments(geoms, max_length: float | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and end points (``(n, 2)`` arrays) of every straight segment of ``geoms`` and
    the index of the geometry each belongs to; with ``max_length``, long segments are first
    cut so that none is longer.

    Examples
    --------
    >>> start, end, owner = line_segments(shapely.linestrings([[(0, 0), (10, 0), (10, 5)]]))
    >>> start.tolist(), end.tolist(), owner.tolist()
    ([[0.0, 0.0], [10.0, 0.0]], [[10.0, 0.0], [10.0, 5.0]], [0, 0])
    """
    parts, part_owner = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    if max_length is not None:
        parts = shapely.segmentize(parts, max_length)
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[1:] == idx[:-1]
    return coords[:-1][same], coords[1:][same], part_owner[idx[:-1][same]]


def segment_distance(px: np.ndarray, py: np.ndarray, ax: np.ndarray, ay: np.ndarray,
                     bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    """Distance from points to segments, operation for operation as GEOS computes it
    (``Distance::pointToSegment``), so the result is bit-identical to ``shapely.distance``.

    Examples
    --------
    >>> a = np.array
    >>> segment_distance(a([5.0, 13.0]), a([3.0, 4.0]), a([0.0, 0.0]), a([0.0, 0.0]),
    ...                  a([10.0, 10.0]), a([0.0, 0.0])).tolist()
    [3.0, 5.0]
    """
    ex, ey = bx - ax, by - ay
    len2 = ex * ex + ey * ey
    dax, day = px - ax, py - ay
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (dax * ex + day * ey) / len2
        d = np.abs(((ay - py) * ex - (ax - px) * ey) / len2) * np.sqrt(len2)
    to_b = r >= 1.0
    dbx, dby = px[to_b] - bx[to_b], py[to_b] - by[to_b]
    d[to_b] = np.sqrt(dbx * dbx + dby * dby)
    to_a = (r <= 0.0) | ((ax == bx) & (ay == by))  # a zero-length segment is its start point
    d[to_a] = np.sqrt(dax[to_a] * dax[to_a] + day[to_a] * day[to_a])
    return d


_BLOCK = 1 << 16


def segment_pairs(start: np.ndarray, end: np.ndarray, x: np.ndarray, y: np.ndarray,
                  radius: float, *, cell: float | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (point, segment) pair within ``radius`` (``distance <= radius``) and its
    distance (:func:`segment_distance`), ordered by point, then segment.

    Candidates come from a hash join in numpy on a square grid of side ``cell`` (default
    ``radius / 2``): each segment is listed in the squares its box, grown by ``radius``,
    covers, and each point looks up its own square. Short segments (no longer than
    ``cell``) keep the lists short. Points must be finite.
    """
    empty = np.zeros(0, dtype="int64")
    if len(start) == 0 or len(x) == 0:
        return empty, empty, np.zeros(0)
    size = radius / 2.0 if cell is None else float(cell)
    lo = np.floor((np.minimum(start, end) - radius) / size).astype("int64")
    hi = np.floor((np.maximum(start, end) + radius) / size).astype("int64")
    nx, ny = hi[:, 0] - lo[:, 0] + 1, hi[:, 1] - lo[:, 1] + 1
    count = nx * ny
    seg = np.repeat(np.arange(len(start)), count)
    k = np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count)
    key = (lo[seg, 0] + k % nx[seg]) * 4_000_003 + (lo[seg, 1] + k // nx[seg])
    order = np.argsort(key, kind="stable")
    key, seg = key[order], seg[order]
    pkey = np.floor(x / size).astype("int64") * 4_000_003 + np.floor(y / size).astype("int64")
    left = np.searchsorted(key, pkey, side="left")
    n = np.searchsorted(key, pkey, side="right") - left
    pt = np.repeat(np.arange(len(x)), n)
    sg = seg[np.arange(len(pt)) - np.repeat(np.cumsum(n) - n, n) + np.repeat(left, n)]
    ax, ay = np.ascontiguousarray(start[:, 0]), np.ascontiguousarray(start[:, 1])
    bx, by = np.ascontiguousarray(end[:, 0]), np.ascontiguousarray(end[:, 1])
    # In blocks that stay in the CPU cache: the arithmetic is memory-bound (2x faster).
    pts, segs, dists = [empty], [empty], [np.zeros(0)]
    for i in range(0, len(pt), _BLOCK):
        p_, s_ = pt[i:i + _BLOCK], sg[i:i + _BLOCK]
        d = segment_distance(x[p_], y[p_], ax[s_], ay[s_], bx[s_], by[s_])
        near = d <= radius
        pts.append(p_[near])
        segs.append(s_[near])
        dists.append(d[near])
    return np.concatenate(pts), np.concatenate(segs), np.concatenate(dists)


def points_near_lines(geoms, x, y, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (point, line) pair within ``radius`` (``distance <= radius``) and its distance,
    ordered by line then point: what ``STRtree.query(points, "dwithin")`` and
    ``shapely.distance`` give, with the same distances to the bit, in a third of the time.

    The lines are cut into their segments (:func:`line_segments`), joined with the points
    by :func:`segment_pairs`, and the least distance per (point, line) kept. Points that
    are not finite are in no pair.

    Examples
    --------
    >>> lines = shapely.linestrings([[(0, 0), (100, 0)], [(0, 50), (100, 50)]])
    >>> pt, line, d = points_near_lines(lines, np.array([10.0, 10.0]), np.array([5.0, 30.0]),
    ...                                 30.0)
    >>> pt.tolist(), line.tolist(), d.tolist()
    ([0, 1, 1], [0, 0, 1], [5.0, 30.0, 20.0])
    """
    empty = np.zeros(0, dtype="int64")
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    start, end, line = line_segments(geoms)
    if len(ok) == 0 or len(line) == 0:
        return empty, empty, np.zeros(0)
    pt, sg, d = segment_pairs(start, end, x[ok], y[ok], radius)
    pair = line[sg] * len(ok) + pt
    order = np.argsort(pair, kind="stable")
    pair, d = pair[order], d[order]
    first = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]]) if len(pair) else empty
    dist = np.minimum.reduceat(d, first) if len(first) else np.zeros(0)
    pair = pair[first]
    return ok[pair % len(ok)], pair // len(ok), dist


def _street_areas(streets: pd.DataFrame, areas: pd.DataFrame) -> np.ndarray:
    """``area_id`` holding the largest share of each street's length (None outside)."""
    out = np.full(len(streets), None, dtype=object)
    polys = np.asarray(areas["geom"], dtype=object)
    if len(polys) == 0 or len(streets) == 0:
        return out
    lines = np.asarray(streets["geom"], dtype=object)
    poly, line = shapely.STRtree(lines).query(polys, predicate="intersects")
    if len(line) == 0:
        return out
    order = np.lexsort((poly, line))
    line, poly = line[order], poly[order]
    counts = np.bincount(line, minlength=len(lines))
    single = counts[line] == 1
    ids = np.asarray(areas["area_id"], dtype=object)
    out[line[single]] = ids[poly[single]]
    multi = ~single
    if multi.any():
        ml, mp = line[multi], poly[multi]
        share = shapely.length(shapely.intersection(lines[ml], polys[mp]))
        order = np.lexsort((mp, -share, ml))
        ml, mp = ml[order], mp[order]
        first = np.r_[True, ml[1:] != ml[:-1]]
        out[ml[first]] = ids[mp[first]]
    return out


def _changed(old: pd.Series, new: np.ndarray) -> np.ndarray:
    a = old.to_numpy(dtype=object)
    a_null = pd.isna(old).to_numpy()
    b_null = pd.isna(pd.Series(new, dtype=object)).to_numpy()
    same = (a_null & b_null) | (~a_null & ~b_null & (a == new))
    return ~same


def assign_addresses(store, conn, x, y, postcode, given_oa, *, streets, areas_by_level,
                      postcode_oa: dict) -> dict[str, np.ndarray]:
    """Derived columns for address points (shared by :func:`refresh_index` and the importer)."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    out: dict[str, np.ndarray] = {}
    oa_areas = areas_by_level["oa"]
    given = np.asarray(given_oa, dtype=object)
    tree = _point_tree(x, y)  # one tree of the points for the three levels
    if len(oa_areas):
        idx = _points_in_polygons(x, y, np.asarray(oa_areas["geom"], dtype=object), tree)
        codes = np.asarray(oa_areas["code"], dtype=object)
        oa = given.copy()
        oa[idx >= 0] = codes[idx[idx >= 0]]
    else:
        oa = given.copy()
        missing = pd.isna(pd.Series(oa, dtype=object)).to_numpy()
        if missing.any() and postcode_oa:
            oa[missing] = pd.Series(np.asarray(postcode, dtype=object)[missing]).map(
                postcode_oa).to_numpy(dtype=object)
    out["oa_code"] = oa
    out["street_id"] = assign_points_to_streets(x, y, streets["street_id"], streets["geom"])
    for level in ("beat", "ward"):
        areas = areas_by_level[level]
        ids = np.full(len(x), None, dtype=object)
        idx = _points_in_polygons(x, y, np.asarray(areas["geom"], dtype=object), tree)
        ids[idx >= 0] = np.asarray(areas["area_id"], dtype=object)[idx[idx >= 0]]
        out[f"{level}_id"] = ids
    return out


def assignment_context(store, conn) -> dict:
    """What the assignments need from the store, read once."""
    streets = store.read("streets", ["street_id", "geom"], conn=conn)
    streets = pd.DataFrame({"street_id": streets["street_id"].to_numpy(dtype=object),
                            "geom": streets.geometry.to_numpy() if len(streets) else
                            np.array([], dtype=object)})
    areas_by_level = {lvl: current_areas(store, lvl, conn) for lvl in ("oa", "beat", "ward")}
    pcs = store.read("postcodes", ["postcode", "oa_code"], conn=conn)
    pcs = pcs[pcs["oa_code"].notna()]
    postcode_oa = dict(zip(pcs["postcode"], pcs["oa_code"], strict=True))
    return {"streets": streets, "areas_by_level": areas_by_level, "postcode_oa": postcode_oa}


def refresh_index(store, conn: Connection | None = None,
                  progress: Callable[[float, str], None] | None = None, *,
                  tables: Sequence[str] = ("addresses", "streets")) -> dict:
    """Recompute the derived assignments (see the module docstring) and write the changes.

    Parameters
    ----------
    store : Store
    conn : Connection, optional
        Run inside the caller's transaction (importers pass theirs); otherwise in a new one.
    progress : callable, optional
        ``progress(fraction_done, message)``.
    tables : sequence of {"addresses", "streets"}
        What to recompute. The address importer assigns its new rows itself and asks only
        for ``("streets",)`` (households and areas of streets).

    Returns
    -------
    dict
        Rows changed per table and timings: ``addresses_updated``, ``streets_updated``,
        ``addresses``, ``streets``, ``seconds``.
    """
    if conn is None:
        with store.begin() as c:
            return refresh_index(store, c, progress, tables=tables)
    unknown = set(tables) - {"addresses", "streets"}
    if unknown:
        raise InputError(f"cannot refresh {sorted(unknown)}; expected addresses or streets")
    started = time.perf_counter()
    say = progress or (lambda f, m: None)
    say(0.0, "reading streets and areas")
    ctx = assignment_context(store, conn)
    streets = ctx["streets"]
    say(0.2, "assigning addresses")
    if "addresses" in tables:
        addr = store.read("addresses", ["uprn", "x", "y", "postcode", *_ADDRESS_DERIVED],
                          conn=conn)
    else:
        addr = store.read("addresses", ["street_id"], conn=conn)
    if len(addr) and "addresses" in tables:
        new = assign_addresses(store, conn, addr["x"].to_numpy(dtype="float64"),
                                addr["y"].to_numpy(dtype="float64"), addr["postcode"],
                                addr["oa_code"], **ctx)
        changed = np.zeros(len(addr), dtype=bool)
        for col in _ADDRESS_DERIVED:
            changed |= _changed(addr[col], new[col])
        frame = pd.DataFrame({"uprn": addr["uprn"].to_numpy(dtype=object)[changed],
                              **{c: new[c][changed] for c in _ADDRESS_DERIVED}})
        n_addr = store.update_by_key(conn, "addresses", "uprn", frame) if len(frame) else 0
        street_of = pd.Series(new["street_id"], dtype=object)
    else:
        n_addr = 0
        street_of = addr["street_id"]
    say(0.7, "counting households per street")
    n_streets = 0
    if len(streets) and "streets" in tables:
        st = store.read("streets", ["street_id", "households", "beat_id", "ward_id"], conn=conn)
        geoms = dict(zip(streets["street_id"], streets["geom"], strict=True))
        st["geom"] = st["street_id"].map(geoms)
        counts = street_of.dropna().value_counts()
        households = st["street_id"].map(counts).fillna(0).astype("int64").to_numpy()
        beat = _street_areas(st, ctx["areas_by_level"]["beat"])
        ward = _street_areas(st, ctx["areas_by_level"]["ward"])
        changed = (st["households"].fillna(-1).astype("int64").to_numpy() != households)
        changed |= _changed(st["beat_id"], beat) | _changed(st["ward_id"], ward)
        if changed.any():
            frame = pd.DataFrame({"street_id": st["street_id"].to_numpy(dtype=object)[changed],
                                  "households": households[changed],
                                  "beat_id": beat[changed], "ward_id": ward[changed]})
            n_streets = store.update_by_key(conn, "streets", "street_id", frame)
    if n_addr or n_streets:
        bump_data_version(store, conn)  # readers' caches (the geoservice) drop old results
    seconds = time.perf_counter() - started
    say(1.0, "index refreshed")
    log.info("index refreshed in %.2f s: %d addresses and %d streets changed", seconds, n_addr,
             n_streets)
    return {"addresses": int(len(addr)), "streets": int(len(streets)),
            "addresses_updated": int(n_addr), "streets_updated": int(n_streets),
            "seconds": round(seconds, 3)}
