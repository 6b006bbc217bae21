# SPDX-License-Identifier: GPL-3.0-or-later
"""Synthetic people on real areas: :func:`add_synthetic_people`.

A store holding real public data (for example Leeds: wards as beats, OAC 2011 output areas,
Code-Point Open postcodes, OSM streets, police.uk crime) has no households, members, survey
responses or door-knock visits: those are not published. This module places households along
the stored street units (each with its nearest stored postcode), then draws residents,
members, surveys and visits with the demo force's own model (:mod:`spatial_core.demo.people`:
membership under-represented by OAC supergroup, age and ethnic group; survey priorities
following the beat's crime), writes them in the real input formats (generic address CSV,
members, surveys and visits CSV; see ``docs/formats``) and imports them through
:func:`spatial_core.io.imports.import_files`. Seeded: the same store and seed give the same files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from spatial_core.demo import people as _people
from spatial_core.demo.crime import CATEGORIES
from spatial_core.demo.force import quarter_spans, write_people
from spatial_core.demo.writers import write_rows
from spatial_core.errors import InputError
from spatial_core.geo.crs import bng_to_lnglat
from spatial_core.io.imports import ImportReport, Progress, import_files

__all__ = ["SyntheticPeople", "add_synthetic_people", "HIGHWAY_WEIGHT"]

log = logging.getLogger(__name__)

HIGHWAY_WEIGHT = {
    "residential": 1.0,
    "living_street": 1.0,
    "unclassified": 0.6,
    "tertiary": 0.5,
    "secondary": 0.3,
    "service": 0.2,
}
"""Households per metre of street by OSM ``highway``, relative to a residential street; other
types (trunk, primary, pedestrian, footways …) get none."""

_UPRN_BASE = 950_000_000_001


@dataclass
class SyntheticPeople:
    """The files written, the rows in each and the import report of each."""

    files: dict[str, Path]
    counts: dict[str, int]
    reports: dict[str, ImportReport] = field(default_factory=dict)


def _areas(store, level: str) -> pd.DataFrame:
    a = store.read("areas", ["area_id", "level", "code", "geom"])
    a = a[a["level"] == level].drop_duplicates("area_id").sort_values("area_id")
    return a.reset_index(drop=True)


def _within(points: np.ndarray, polys: np.ndarray) -> np.ndarray:
    """Index of the first polygon holding each point, -1 for none (vectorised)."""
    out = np.full(len(points), -1, dtype="int64")
    if len(polys) == 0:
        return out
    tree = shapely.STRtree(polys)
    pt, poly = tree.query(points, predicate="within")
    first = np.unique(pt, return_index=True)[1]
    out[pt[first]] = poly[first]
    return out


def add_synthetic_people(
    store,
    out_dir: str | Path,
    *,
    households: int = 3_000,
    seed: int = 20170701,
    scheme: str = "oac2011",
    progress: Progress | None = None,
) -> SyntheticPeople:
    """Write and import synthetic households, members, surveys and visits for a real store.

    Parameters
    ----------
    store : Store
        Holding beats (level ``beat``, else ``ward`` areas are used as beats), output areas
        (level ``oa``) classified with ``scheme`` (supergroup ``l1`` = ``1`` … ``8``), live
        postcodes and street units; crimes, when stored, drive the survey priorities and set
        the survey quarters (else the four quarters to September 2017).
    out_dir : str or Path
        Folder for ``addresses.csv``, ``members.csv``, ``surveys.csv`` and ``visits.csv``.
    households : int
        Households drawn (placed on residential streets in proportion to their length);
        those outside every classified output area or beat are dropped.
    seed : int
        The random seed: the same store and seed write the same files.

    Returns
    -------
    SyntheticPeople
        ``files`` and ``counts`` by kind (``addresses``, ``members``, ``surveys``,
        ``visits``), ``reports`` of the imports.

    Raises
    ------
    InputError
        When the store lacks streets, postcodes, beats/wards or classified output areas.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rngs = [np.random.default_rng([seed, k]) for k in range(8)]

    streets = store.read("streets", ["street_id", "name", "highway", "length_m", "geom"])
    streets = streets.sort_values("street_id").reset_index(drop=True)
    beats = _areas(store, "beat")
    if beats.empty:
        beats = _areas(store, "ward")
    oas = _areas(store, "oa")
    pcs = store.read("postcodes", ["postcode", "x", "y", "terminated"])
    pcs = pcs[pcs["terminated"].isna() & pcs["x"].notna()].sort_values("postcode")
    cls = store.read("classifications", ["scheme", "key_type", "key", "l1"])
    cls = cls[(cls["scheme"] == scheme) & (cls["key_type"] == "oa")]
    missing = [
        what
        for what, frame in (
            ("street units", streets),
            ("beats or wards", beats),
            ("output areas (level oa)", oas),
            ("live postcodes", pcs),
            (f"{scheme} classes of output areas", cls),
        )
        if frame.empty
    ]
    if missing:
        raise InputError(
            "synthetic people need " + ", ".join(missing) + " in the store; import them first"
        )

    # households along the streets, 5-15 m off the centre line on either side
    w = streets["highway"].map(HIGHWAY_WEIGHT).fillna(0.0).to_numpy() * streets[
        "length_m"
    ].fillna(0).to_numpy(float)
    if w.sum() <= 0:
        raise InputError("no residential street units in the store to place households on")
    rng = rngs[0]
    st = rng.choice(len(streets), households, p=w / w.sum())
    geoms = streets.geometry.to_numpy()[st]
    length = shapely.length(geoms)
    d = rng.random(households) * np.maximum(length - 1.0, 0.0)
    p1 = shapely.line_interpolate_point(geoms, d)
    p2 = shapely.line_interpolate_point(geoms, d + 1.0)
    x1, y1 = shapely.get_x(p1), shapely.get_y(p1)
    dx, dy = shapely.get_x(p2) - x1, shapely.get_y(p2) - y1
    norm = np.maximum(np.hypot(dx, dy), 1e-9)
    off = rng.uniform(5, 15, households) * np.where(rng.random(households) < 0.5, -1, 1)
    hx = np.round(x1 - dy / norm * off, 1)
    hy = np.round(y1 + dx / norm * off, 1)
    pts = shapely.points(hx, hy)

    oa_i = _within(pts, oas.geometry.to_numpy())
    beat_i = _within(pts, beats.geometry.to_numpy())
    sg_of_oa = pd.Series(pd.to_numeric(cls["l1"], errors="coerce").to_numpy(), index=cls["key"])
    sg = np.zeros(households, dtype="int64")
    has_oa = oa_i >= 0
    sg[has_oa] = (
        sg_of_oa.reindex(oas["code"].to_numpy()[oa_i[has_oa]]).fillna(0).to_numpy().astype(int)
    )
    keep = (beat_i >= 0) & (sg >= 1) & (sg <= 8)
    hx, hy, st, sg, beat_i, pts = hx[keep], hy[keep], st[keep], sg[keep], beat_i[keep], pts[keep]
    n = len(hx)
    if n == 0:
        raise InputError("no household fell inside both a beat and a classified output area")

    pc_tree = shapely.STRtree(shapely.points(pcs["x"].to_numpy(float), pcs["y"].to_numpy(float)))
    hh_i, pc_i = pc_tree.query_nearest(pts, all_matches=False)
    postcode = np.empty(n, dtype=object)
    postcode[hh_i] = pcs["postcode"].to_numpy(dtype=object)[pc_i]
    lng, lat = bng_to_lnglat(hx, hy)
    uprn = (np.arange(n, dtype="int64") + _UPRN_BASE).astype(str).astype(object)
    hh = {"uprn": uprn, "postcode": postcode, "lat": np.asarray(lat), "lng": np.asarray(lng)}

    # beats with households only, so rates per household are defined
    used, hh_beat = np.unique(beat_i, return_inverse=True)
    beat_codes = beats["code"].to_numpy(dtype=object)[used]
    n_beats = len(used)
    cats = list(CATEGORIES)
    beat_counts = np.zeros((n_beats, len(cats)))
    crimes = store.read("crimes", ["month", "category", "x", "y"])
    crimes = crimes[crimes["x"].notna()]
    if len(crimes):
        c_beat = _within(
            shapely.points(crimes["x"].to_numpy(float), crimes["y"].to_numpy(float)),
            beats.geometry.to_numpy(),
        )
        pos = np.searchsorted(used, c_beat).clip(0, max(n_beats - 1, 0))
        ok = (c_beat >= 0) & (used[pos] == c_beat)
        cat = pd.Categorical(crimes["category"], categories=cats).codes
        ok &= cat >= 0
        np.add.at(beat_counts, (pos[ok], cat[ok]), 1)
        months = sorted(crimes["month"].unique())
    else:
        months = [str(pd.Period("2017-09", freq="M") - k) for k in range(11, -1, -1)]
    quarters = quarter_spans(months)
    end = quarters[-1][1]
    if progress:
        progress(0.2, f"synthetic people: {n} households placed")

    # the demo force's model, step for step (spatial_core/demo/force.py)
    res, vis, mem, sur = _people.simulate_people(
        quarters, end, hh, hh_beat, beat_codes, sg, beat_counts, cats,
        streets["name"].to_numpy(dtype=object)[st], rngs)
    if progress:
        progress(0.4, "synthetic people drawn")

    files = {
        "addresses": write_rows(
            out / "addresses.csv",
            ["uprn", "postcode", "easting", "northing"],
            [uprn, postcode, hx, hy],
            ["%s", "%s", "%.1f", "%.1f"],
        )
    }
    files.update(write_people(out, mem, sur, vis)[0])
    counts = {"addresses": n, "members": len(mem), "surveys": len(sur), "visits": len(vis)}

    result = SyntheticPeople(files, counts)
    for k, kind in enumerate(files):
        if progress:
            progress(0.4 + 0.6 * k / len(files), f"importing {kind}")
        result.reports[kind] = import_files(store, kind, [files[kind]])
    if progress:
        progress(1.0, "synthetic people loaded")
    log.info("synthetic people: %s", counts)
    return result
