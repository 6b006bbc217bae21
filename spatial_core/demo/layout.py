# SPDX-License-Identifier: GPL-3.0-or-later
"""The physical layout of the demo force: towns, a street lattice, streets and households.

The force sits on one warped lattice of 100 m blocks in British National Grid. Towns (and
villages) are discs of developed blocks; every lattice edge next to a developed block is a
street segment. Consecutive segments along a lattice line are joined into streets of one to
six segments (100-600 m). Households are spread over the segments (denser near a town
centre, sparser on main roads), each a few metres to one side of its street, so it lies in
a known block; areas are built from blocks (:mod:`.areas`), so every household, postcode and
crime point falls inside the areas it is said to belong to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely

from spatial_core.demo.names import street_names, town_names

__all__ = ["Layout", "make_layout", "CELL_M", "HOUSEHOLDS_PER_EDGE"]

log = logging.getLogger(__name__)

CELL_M = 100.0
"""Block (lattice cell) size in metres."""

HOUSEHOLDS_PER_EDGE = 7.0
"""Mean households per 100 m street segment: 2.6 segments per street gives ~18 per street."""

# Centre of the lattice: the East Midlands, so a one-force demo lies well inside England
# (a demo of tens of millions of households spreads over most of it).
_CENTRE = (440_000.0, 320_000.0)
_CUT_P = {0: 0.36, 1: 0.22, 2: 0.12}  # chance a street ends at a lattice node, by class
_HOUSE_FACTOR = {0: 1.0, 1: 0.55, 2: 0.3}  # households per segment relative to residential
HIGHWAYS = np.array(["residential", "tertiary", "primary"], dtype=object)
_MAX_EDGES = 6


@dataclass
class Layout:
    """Everything placed on the ground; arrays indexed by cell, edge, street or household."""

    nx: int
    ny: int
    node_x: np.ndarray  # (ny+1, nx+1) node eastings
    node_y: np.ndarray
    outline: shapely.Geometry  # force outline (BNG)
    town_x: np.ndarray  # town centres (BNG)
    town_y: np.ndarray
    town_r: np.ndarray  # radius in metres
    town_name: list[str]
    town_is_village: np.ndarray
    cell_town: np.ndarray  # (ny*nx,) town index or -1
    # streets
    street_geom: np.ndarray  # LineString (BNG)
    street_name: np.ndarray
    street_highway: np.ndarray
    street_town: np.ndarray
    street_households: np.ndarray
    street_length: np.ndarray
    # street snap points (one per segment, as police.uk map points), offset into a block
    snap_x: np.ndarray
    snap_y: np.ndarray
    snap_street: np.ndarray
    snap_cell: np.ndarray
    # households, in street order
    hh_x: np.ndarray
    hh_y: np.ndarray
    hh_cell: np.ndarray
    hh_street: np.ndarray
    hh_town: np.ndarray
    hh_r: np.ndarray  # distance to own town centre / town radius


def _place_towns(households: int, rng: np.random.Generator):
    """Town sizes (Zipf-like), villages, and non-overlapping positions in cell units."""
    n_towns = max(1, int(round(households / 120_000)))
    village_share = 0.04 if households >= 20_000 else 0.0
    n_villages = 0 if village_share == 0 else max(3, int(households * village_share / 900))
    ranks = np.arange(1, n_towns + 1)
    share = 1.0 / ranks**0.9
    share = share / share.sum() * (1 - village_share)
    sizes = share * households
    if n_villages:
        vsizes = rng.uniform(0.4, 1.6, n_villages)
        sizes = np.concatenate([sizes, vsizes / vsizes.sum() * village_share * households])
    is_village = np.arange(len(sizes)) >= n_towns
    radius = np.sqrt(sizes / (HOUSEHOLDS_PER_EDGE * 2 * np.pi)) * 0.92 + 0.5  # cells
    area = float(np.sum(np.pi * (radius + 8) ** 2))
    side = np.sqrt(area / 0.30)
    cx = np.zeros(len(sizes))
    cy = np.zeros(len(sizes))
    for k in range(len(sizes)):  # a few hundred towns at most: the loop is not a hot path
        for attempt in range(400):
            grow = 1.0 + attempt / 100  # widen the map if it is crowded
            x, y = rng.uniform(0, side * grow, 2)
            if k == 0:
                x, y = side / 2, side / 2
            gap = np.hypot(cx[:k] - x, cy[:k] - y) - radius[:k] - radius[k] - 6
            if k == 0 or gap.min() > 0:
                break
        cx[k], cy[k] = x, y
    return sizes, is_village, radius, cx, cy


def _warp(ny: int, nx: int, rng: np.random.Generator, centre: tuple[float, float] = _CENTRE):
    """Node coordinates: a regular lattice, bent by long waves and shaken a little."""
    x0 = np.floor(centre[0] - nx * CELL_M / 2)
    y0 = np.floor(centre[1] - ny * CELL_M / 2)
    j, i = np.mgrid[0 : ny + 1, 0 : nx + 1].astype("float64")
    dx = np.zeros_like(i)
    dy = np.zeros_like(i)
    for _ in range(3):
        ax, ay, wl = rng.uniform(-25, 25), rng.uniform(-25, 25), rng.uniform(6, 30)
        ph1, ph2 = rng.uniform(0, 2 * np.pi, 2)
        dx += ax * np.sin(2 * np.pi * j / wl + ph1)
        dy += ay * np.sin(2 * np.pi * i / wl + ph2)
    dx += rng.uniform(-8, 8, dx.shape)
    dy += rng.uniform(-8, 8, dy.shape)
    return x0 + i * CELL_M + dx, y0 + j * CELL_M + dy


def _runs(
    developed: np.ndarray, line_start: np.ndarray, cls: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Street number of each edge (-1 if not a street), edges given in line order."""
    n = len(developed)
    prev_dev = np.concatenate([[False], developed[:-1]])
    prev_cls = np.concatenate([[-1], cls[:-1]])
    cut_p = np.select([cls == 2, cls == 1], [_CUT_P[2], _CUT_P[1]], _CUT_P[0])
    brk = developed & (line_start | ~prev_dev | (prev_cls != cls) | (rng.random(n) < cut_p))
    # cap runs at _MAX_EDGES segments: position since the last break, then break again
    idx = np.arange(n)
    start = np.maximum.accumulate(np.where(brk, idx, 0))
    pos = idx - start
    brk |= developed & (pos > 0) & (pos % _MAX_EDGES == 0)
    sid = np.cumsum(brk) - 1
    return np.where(developed, sid, -1)


def make_layout(households: int, rng: np.random.Generator,
                centre: tuple[float, float] | None = None) -> Layout:
    """Lay out towns, streets and ``households`` households around ``centre`` (British
    National Grid easting, northing; default the East Midlands)."""
    sizes, is_village, radius, cx, cy = _place_towns(households, rng)
    reach = radius * 1.25 + 30  # cells: the wobbling edge, then the outline's buffer
    nx = int(np.ceil((cx + reach).max()))
    ny = int(np.ceil((cy + reach).max()))
    shift_x = -int(np.floor((cx - reach).min()))
    shift_y = -int(np.floor((cy - reach).min()))
    cx, cy = cx + shift_x, cy + shift_y
    nx, ny = nx + shift_x, ny + shift_y
    node_x, node_y = _warp(ny, nx, rng, _CENTRE if centre is None else centre)

    # developed cells: inside a town disc whose edge wobbles with the angle
    jj, ii = np.divmod(np.arange(nx * ny), nx)
    pcx, pcy = ii + 0.5, jj + 0.5
    cell_town = np.full(nx * ny, -1, dtype="int64")
    cell_r = np.full(nx * ny, np.inf)
    for t in range(len(sizes)):  # one bounding-box slice per town
        r = radius[t]
        i0, i1 = int(max(cx[t] - 1.25 * r, 0)), int(min(cx[t] + 1.25 * r + 1, nx))
        j0, j1 = int(max(cy[t] - 1.25 * r, 0)), int(min(cy[t] + 1.25 * r + 1, ny))
        bj, bi = np.mgrid[j0:j1, i0:i1]
        flat = (bj * nx + bi).ravel()
        d = np.hypot(pcx[flat] - cx[t], pcy[flat] - cy[t])
        ang = np.arctan2(pcy[flat] - cy[t], pcx[flat] - cx[t])
        ph = rng.uniform(0, 2 * np.pi, 3)
        wobble = 1 + 0.12 * np.sin(3 * ang + ph[0]) + 0.08 * np.sin(5 * ang + ph[1])
        rel = d / (r * wobble)
        inside = (rel < 1) & (rel < cell_r[flat])
        cell_town[flat[inside]] = t
        cell_r[flat[inside]] = rel[inside]
    dev = cell_town >= 0

    # edges: horizontal (i, j)->(i+1, j) for j in 0..ny; vertical (i, j)->(i, j+1), i in 0..nx
    def cell_at(i, j):
        ok = (i >= 0) & (i < nx) & (j >= 0) & (j < ny)
        c = np.where(ok, j * nx + i, 0)
        return np.where(ok & dev[c], c, -1)

    hj, hi = np.divmod(np.arange((ny + 1) * nx), nx)
    h_plus, h_minus = cell_at(hi, hj), cell_at(hi, hj - 1)
    vi, vj = np.divmod(np.arange((nx + 1) * ny), ny)  # column-major: runs go along columns
    v_plus, v_minus = cell_at(vi - 1, vj), cell_at(vi, vj)

    def edge_class(plus, minus, along, offset_of):
        c = np.where(plus >= 0, plus, minus)
        t = np.where(c >= 0, cell_town[np.maximum(c, 0)], -1)
        tt = np.maximum(t, 0)
        off = along - np.floor(offset_of[tt]).astype("int64")
        big = (~is_village[tt]) & (sizes[tt] > 15_000)
        cls = np.where((off == 0) & big, 2, np.where((off % 8 == 0) & (sizes[tt] > 3_000), 1, 0))
        return np.where(t >= 0, cls, 0), t

    h_cls, h_town = edge_class(h_plus, h_minus, hj, cy)
    v_cls, v_town = edge_class(v_plus, v_minus, vi, cx)
    h_dev = (h_plus >= 0) | (h_minus >= 0)
    v_dev = (v_plus >= 0) | (v_minus >= 0)
    h_sid = _runs(h_dev, hi == 0, h_cls, rng)
    v_sid = _runs(v_dev, vj == 0, v_cls, rng)
    n_h = int(h_sid.max() + 1) if h_dev.any() else 0
    v_sid = np.where(v_sid >= 0, v_sid + n_h, -1)

    # one table of street segments (edges that are streets)
    hsel, vsel = np.flatnonzero(h_dev), np.flatnonzero(v_dev)
    ax = np.concatenate([node_x[hj[hsel], hi[hsel]], node_x[vj[vsel], vi[vsel]]])
    ay = np.concatenate([node_y[hj[hsel], hi[hsel]], node_y[vj[vsel], vi[vsel]]])
    bx = np.concatenate([node_x[hj[hsel], hi[hsel] + 1], node_x[vj[vsel] + 1, vi[vsel]]])
    by = np.concatenate([node_y[hj[hsel], hi[hsel] + 1], node_y[vj[vsel] + 1, vi[vsel]]])
    plus = np.concatenate([h_plus[hsel], v_plus[vsel]])
    minus = np.concatenate([h_minus[hsel], v_minus[vsel]])
    cls = np.concatenate([h_cls[hsel], v_cls[vsel]])
    town = np.concatenate([h_town[hsel], v_town[vsel]])
    sid = np.concatenate([h_sid[hsel], v_sid[vsel]])
    n_streets = int(sid.max() + 1)
    n_edges = len(sid)
    # edges are already in line order within each street; position along the street
    first = np.r_[True, sid[1:] != sid[:-1]]
    eidx = np.arange(n_edges)
    pos = eidx - np.maximum.accumulate(np.where(first, eidx, 0))

    # households per segment: denser near the centre, sparser on main roads
    mid_x, mid_y = (ax + bx) / 2, (ay + by) / 2
    tx = node_x[0, 0] + cx * CELL_M
    ty = node_y[0, 0] + cy * CELL_M
    rel = np.hypot(mid_x - tx[town], mid_y - ty[town]) / (radius[town] * CELL_M)
    sides = (plus >= 0).astype(float) + (minus >= 0).astype(float)
    weight = (1.7 - 0.9 * np.clip(rel, 0, 1)) * np.vectorize(_HOUSE_FACTOR.get)(cls) * sides / 2
    weight *= rng.gamma(4.0, 0.25, n_edges)
    counts = rng.multinomial(households, weight / weight.sum())

    e = np.repeat(eidx, counts)
    t_along = rng.uniform(0.12, 0.88, len(e))
    side = np.where(rng.random(len(e)) < 0.5, 1, -1)
    side = np.where(plus[e] < 0, -1, np.where(minus[e] < 0, 1, side))
    dxe, dye = bx[e] - ax[e], by[e] - ay[e]
    norm = np.hypot(dxe, dye)
    off = rng.uniform(9, 16, len(e)) * side / norm
    hh_x = ax[e] + t_along * dxe - dye * off
    hh_y = ay[e] + t_along * dye + dxe * off
    hh_cell = np.where(side > 0, plus[e], minus[e])
    order = np.lexsort((t_along, pos[e], sid[e]))
    e, hh_x, hh_y, hh_cell = e[order], hh_x[order], hh_y[order], hh_cell[order]
    hh_street = sid[e]
    hh_town = town[e]
    hh_r = rel[e]

    # street polylines: start node of every segment, plus the end node of the last one
    last = np.r_[sid[1:] != sid[:-1], True]
    px = np.concatenate([ax, bx[last]])
    py = np.concatenate([ay, by[last]])
    pidx = np.concatenate([sid, sid[last]])
    ppos = np.concatenate([pos, pos[last] + 1])
    o = np.lexsort((ppos, pidx))
    geoms = shapely.linestrings(np.column_stack([px[o], py[o]]), indices=pidx[o])
    s_first = np.flatnonzero(first)
    s_cls = cls[s_first]
    s_town = town[s_first]
    s_house = np.bincount(hh_street, minlength=n_streets)

    # names: order streets spatially (Morton order of the first node) so repeats are far apart
    gx = np.clip(((ax[s_first] - node_x[0, 0]) / CELL_M).astype("int64"), 0, 65535)
    gy = np.clip(((ay[s_first] - node_y[0, 0]) / CELL_M).astype("int64"), 0, 65535)
    morton = _morton(gx, gy)
    names = np.empty(n_streets, dtype=object)
    names[np.argsort(morton, kind="stable")] = street_names(n_streets, rng)

    # snap points: each segment's middle, 4 m into the block that has the households
    sn_side = np.where(plus >= 0, 1, -1)
    sn_off = 4.0 * sn_side / np.hypot(bx - ax, by - ay)
    snap_x = mid_x - (by - ay) * sn_off
    snap_y = mid_y + (bx - ax) * sn_off
    snap_cell = np.where(sn_side > 0, plus, minus)

    outline = _outline(tx, ty, radius * CELL_M, node_x, node_y)
    log.debug(
        "layout: %d towns, %d streets, %d segments, %d households",
        len(sizes),
        n_streets,
        n_edges,
        households,
    )
    return Layout(
        nx=nx,
        ny=ny,
        node_x=node_x,
        node_y=node_y,
        outline=outline,
        town_x=tx,
        town_y=ty,
        town_r=radius * CELL_M,
        town_name=town_names(len(sizes)),
        town_is_village=is_village,
        cell_town=cell_town,
        street_geom=geoms,
        street_name=names,
        street_highway=HIGHWAYS[s_cls],
        street_town=s_town,
        street_households=s_house,
        street_length=shapely.length(geoms),
        snap_x=snap_x,
        snap_y=snap_y,
        snap_street=sid,
        snap_cell=snap_cell,
        hh_x=hh_x,
        hh_y=hh_y,
        hh_cell=hh_cell,
        hh_street=hh_street,
        hh_town=hh_town,
        hh_r=hh_r,
    )


def _morton(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Interleave the bits of two 16-bit grids (Z-order), vectorised."""

    def spread(v):
        v = v.astype("uint64") & np.uint64(0xFFFF)
        for s, m in ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555)):
            v = (v | (v << np.uint64(s))) & np.uint64(m)
        return v

    return spread(x) | (spread(y) << np.uint64(1))


def _outline(tx, ty, tr, node_x, node_y) -> shapely.Geometry:
    """Force outline: the towns' discs widened into one smooth shape, inside the lattice."""
    discs = shapely.buffer(shapely.points(tx, ty), tr * 1.25 + 1500.0, quad_segs=8)
    blob = shapely.union_all(discs).buffer(3000.0, quad_segs=4).buffer(-3000.0, quad_segs=4)
    blob = shapely.convex_hull(blob) if blob.geom_type != "Polygon" else blob
    frame = shapely.box(
        node_x[:, 0].max() + 1,
        node_y[0, :].max() + 1,
        node_x[:, -1].min() - 1,
        node_y[-1, :].min() - 1,
    )
    return shapely.simplify(shapely.intersection(blob, frame), 20.0)
