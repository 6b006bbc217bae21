# SPDX-License-Identifier: GPL-3.0-or-later
"""Generate the demo force's files: :func:`generate_demo`."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from spatial_core.demo import crime as _crime
from spatial_core.demo import people as _people
from spatial_core.demo.areas import Areas, make_areas
from spatial_core.demo.census import write_census
from spatial_core.demo.layout import Layout, make_layout
from spatial_core.demo.writers import write_csv, write_geojson, write_rows
from spatial_core.errors import InputError
from spatial_core.geo.crs import STORE_SRID, bng_to_lnglat
from spatial_core.io.imports import Progress

__all__ = ["DemoFiles", "generate_demo", "BOUNDARY_LEVELS", "format_numbers", "quarter_spans",
           "write_people", "DEMO_HOUSEHOLDS", "DEMO_SEED", "DEMO_MONTHS", "DEMO_END_MONTH"]

log = logging.getLogger(__name__)

DEMO_HOUSEHOLDS = 450_000
DEMO_SEED = 20261122
DEMO_MONTHS = 12
DEMO_END_MONTH = "2026-09"
"""The demo force's defaults (households, seed, months of crime and the last month), for
:func:`generate_demo` and :func:`spatial_core.demo.build.build_demo` alike."""

BOUNDARY_LEVELS = ("force", "npa", "beat", "ward", "lsoa")
_PARENT = {"npa": "force", "beat": "npa", "lsoa": "beat"}
_UNIT_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"), dtype=object)  # no C I K M O V
_AREA_LETTERS = (
    "DM",
    "DJ",
    "DK",
    "DU",
    "DW",
    "DZ",
    "DX",
    "DV",
    "DQ",
    "DR",
    "DS",
    "DP",
    "DF",
    "DC",
    "DB",
)  # not real postcode areas
# (intercept, per unit of distance from the town centre, village bonus, big-town bonus)
_OAC_SCORE = {
    1: (-3.5, 2.5, 4.0, 0.0),
    2: (1.2, -5.0, -4.0, 0.8),
    3: (0.2, -3.0, -4.0, 0.8),
    4: (1.3, -2.4, -4.0, 0.6),
    5: (0.6, 0.0, -1.0, 0.0),
    6: (-1.0, 2.8, 0.8, 0.0),
    7: (0.7, -1.2, -1.5, 0.0),
    8: (0.7, -0.3, -0.3, 0.0),
}
DEPRIVATION = {1: -0.8, 2: 0.2, 3: 0.5, 4: 0.7, 5: -0.2, 6: -0.9, 7: 1.0, 8: 0.7}
"""A crude deprivation score per OAC 2011 supergroup, driving crime and priorities."""


@dataclass(frozen=True)
class DemoFiles:
    """The files :func:`generate_demo` wrote, by kind, and what they hold.

    ``boundaries`` maps a level (force, npa, beat, ward, lsoa) to its GeoJSON; ``counts``
    gives the rows of each kind (households, members, crimes …) and ``stats`` a few measures
    of the generated force (crime concentration, membership rate). ``timings`` are seconds.
    """

    out_dir: Path
    boundaries: dict[str, Path]
    classification: Path
    postcodes: Path
    streets: Path
    addresses: Path
    crimes: tuple[Path, ...]
    members: Path
    surveys: Path
    visits: Path
    counts: dict[str, int] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    census: dict[str, Path] = field(default_factory=dict)
    """The census base (``TS021``, ``TS024``, ``TS030``, ``origins``) and the members' answers
    (``member_answers``), written by :func:`spatial_core.demo.census.write_census`."""

    def all_files(self) -> list[Path]:
        return [
            *self.boundaries.values(),
            self.classification,
            self.postcodes,
            self.streets,
            self.addresses,
            *self.crimes,
            self.members,
            self.surveys,
            self.visits,
            *self.census.values(),
        ]


def _months(end_month: str, months: int) -> list[str]:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", str(end_month)):
        raise InputError(f"end_month must be YYYY-MM, got {end_month!r}")
    end = pd.Period(end_month, freq="M")
    return [str(end - k) for k in range(months - 1, -1, -1)]


def quarter_spans(months: list[str]) -> list[tuple[np.datetime64, np.datetime64]]:
    """The calendar quarters the ``YYYY-MM`` months span, as ``(start, end)`` days (end
    exclusive), cut to the first and last month."""
    first = np.datetime64(months[0] + "-01")
    after = (pd.Period(months[-1], freq="M") + 1).start_time.to_datetime64().astype("datetime64[D]")
    qs = sorted({str(pd.Period(m, freq="Q")) for m in months})
    out = []
    for q in qs:
        p = pd.Period(q, freq="Q")
        s = p.start_time.to_datetime64().astype("datetime64[D]")
        e = (p + 1).start_time.to_datetime64().astype("datetime64[D]")
        out.append((max(s, first), min(e, after)))
    return out


def _oac_codes() -> pd.DataFrame:
    text = resources.files("spatial_core").joinpath("data/oac2011_codes.csv").read_text("utf-8")
    from io import StringIO

    return pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)


def _classify(layout: Layout, areas: Areas, rng: np.random.Generator):
    """OAC 2011 supergroup, group and subgroup of each output area."""
    oa = areas.oa
    n = len(oa.code)
    hh_oa = oa.cell_area[layout.hh_cell]
    cnt = np.bincount(hh_oa, minlength=n)
    r = np.bincount(hh_oa, weights=layout.hh_r, minlength=n) / np.maximum(cnt, 1)
    town = np.maximum(oa.town, 0)
    village = layout.town_is_village[town] | (oa.town < 0)
    hh_per_town = np.bincount(layout.hh_town, minlength=len(layout.town_x))
    big = hh_per_town[town] > 60_000
    cx = shapely.get_x(shapely.centroid(oa.geom))
    cy = shapely.get_y(shapely.centroid(oa.geom))
    score = np.empty((n, 8))
    for s in range(1, 9):
        a, b, v, g = _OAC_SCORE[s]
        wl, ph = rng.uniform(2500, 7000, 2), rng.uniform(0, 2 * np.pi, 2)
        field_ = np.sin(cx / wl[0] + ph[0]) + np.sin(cy / wl[1] + ph[1])
        score[:, s - 1] = a + b * r + v * village + g * big + 0.7 * field_
    sg = np.argmax(score + rng.gumbel(size=score.shape), axis=1) + 1
    codes = _oac_codes()
    names = dict(zip(codes["level"] + ":" + codes["code"], codes["name"], strict=True))
    grp = np.empty(n, dtype=object)
    sub = np.empty(n, dtype=object)
    g2 = codes[codes["level"] == "2"]
    g3 = codes[codes["level"] == "3"]
    for s in range(1, 9):
        sel = np.flatnonzero(sg == s)
        groups = g2.loc[g2["parent_code"] == str(s), "code"].to_numpy(dtype=object)
        grp[sel] = groups[rng.integers(0, len(groups), len(sel))]
        for g in groups:
            gsel = sel[grp[sel] == g]
            subs = g3.loc[g3["parent_code"] == g, "code"].to_numpy(dtype=object)
            sub[gsel] = subs[rng.integers(0, len(subs), len(gsel))]
    return sg, grp, sub, names


def _postcodes(layout: Layout, areas: Areas):
    """Postcode index of each household (~15 a postcode, nested in output areas) and codes."""
    hh_oa = areas.oa.cell_area[layout.hh_cell]
    order = np.argsort(hh_oa, kind="stable")  # within an OA, households stay in street order
    n_oa = len(areas.oa.code)
    size = np.bincount(hh_oa, minlength=n_oa)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    rank = np.arange(len(order)) - start[hh_oa[order]]
    per = np.maximum(1, np.rint(size / 15)).astype("int64")
    group = rank * per[hh_oa[order]] // np.maximum(size[hh_oa[order]], 1)
    offset = np.concatenate([[0], np.cumsum(per)[:-1]])
    pc = np.empty(len(order), dtype="int64")
    pc[order] = offset[hh_oa[order]] + group
    used = np.unique(pc)
    pc = np.searchsorted(used, pc)  # number postcodes 0..P-1 without gaps
    k = np.arange(len(used))
    if len(used) > 2000 * 99 * len(_AREA_LETTERS):
        raise InputError("too many households for the demo postcode scheme")
    unit = k % 200
    text = (
        np.asarray(_AREA_LETTERS, dtype=object)[k // 198_000]
        + ((k // 2000) % 99 + 1).astype(str).astype(object)
        + " "
        + ((k // 200) % 10).astype(str).astype(object)
        + _UNIT_LETTERS[unit // 20]
        + _UNIT_LETTERS[unit % 20]
    )
    # the postcode's point is its middle household (Code-Point uses an address point)
    sorted_pc = pc[order]
    first = np.searchsorted(sorted_pc, k)
    last = np.searchsorted(sorted_pc, k, side="right")
    middle = order[(first + last - 1) // 2]
    return pc, text, middle


def format_numbers(values: np.ndarray, decimals: int) -> np.ndarray:
    """Numbers as text with ``decimals`` places; NaN becomes an empty string (a CSV blank)."""
    values = np.asarray(values, dtype="float64")
    out = np.full(len(values), "", dtype=object)
    ok = np.isfinite(values)
    fmt = f"{{:.{decimals}f}}".format
    out[ok] = list(map(fmt, values[ok].tolist()))
    return out


def write_people(out: Path, mem: pd.DataFrame, sur: pd.DataFrame,
                 vis: pd.DataFrame) -> tuple[dict[str, Path], pd.DataFrame]:
    """Write the members, surveys and visits of :func:`spatial_core.demo.people.simulate_people`
    as ``members.csv``, ``surveys.csv`` and ``visits.csv`` in ``out``.

    Returns the paths by kind and the members as written (coordinates to six decimals, a
    missing point blank).
    """
    mem_out = mem.copy()
    mem_out["latitude"] = format_numbers(mem["latitude"].to_numpy(), 6)
    mem_out["longitude"] = format_numbers(mem["longitude"].to_numpy(), 6)
    paths = {"members": write_csv(out / "members.csv", mem_out),
             "surveys": write_csv(out / "surveys.csv", sur),
             "visits": write_csv(out / "visits.csv", vis)}
    return paths, mem_out


def generate_demo(
    out_dir: str | Path,
    *,
    households: int = DEMO_HOUSEHOLDS,
    seed: int = DEMO_SEED,
    months: int = DEMO_MONTHS,
    end_month: str = DEMO_END_MONTH,
    progress: Progress | None = None,
    force_code: str = "DEMO",
    force_name: str = "Demo Police",
    centre: tuple[float, float] | None = None,
) -> DemoFiles:
    """Generate a synthetic police force and write it in the real input formats.

    Parameters
    ----------
    out_dir : path
        Folder for the files (created; existing demo files are overwritten).
    households : int
        Number of households (1,000 to 30,000,000). Members, streets, crime and surveys
        scale with it.
    seed : int
        Same seed and size give byte-identical files.
    months : int
        Months of police.uk crime files, ending with ``end_month``; surveys cover the
        calendar quarters of these months.
    progress : callable, optional
        ``progress(fraction_done, message)``.
    force_code, force_name : str
        The force area's code and name (default ``DEMO``, "Demo Police"); the crime files'
        "Reported by" and "Falls within" carry the name.
    centre : (float, float), optional
        Where the force lies: British National Grid easting and northing of its middle
        (default the East Midlands). The national demo (:mod:`spatial_core.national`) puts
        each force near its real one.

    Returns
    -------
    DemoFiles

    Examples
    --------
    >>> import tempfile
    >>> files = generate_demo(tempfile.mkdtemp(), households=1_000, months=3)
    >>> files.counts["households"], len(files.crimes)
    (1000, 3)
    """
    if not 1_000 <= int(households) <= 30_000_000:
        raise InputError(f"households must be between 1,000 and 30,000,000, got {households:,}")
    if not 1 <= int(months) <= 120:
        raise InputError(f"months must be between 1 and 120, got {months}")
    month_list = _months(end_month, int(months))
    households = int(households)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "crimes").mkdir(exist_ok=True)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, households]).spawn(8)]
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def step(name: str, fraction: float) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now
        if progress:
            progress(fraction, f"demo: {name} done")

    layout = make_layout(households, rngs[0], centre)
    step("layout", 0.1)
    areas = make_areas(layout, households, rngs[1], force_code=force_code,
                       force_name=force_name)
    sg, grp, sub, oac_names = _classify(layout, areas, rngs[1])
    step("areas", 0.2)

    hh_oa = areas.oa.cell_area[layout.hh_cell]
    hh_beat = areas.beat.cell_area[layout.hh_cell]
    hh_ward = areas.ward.cell_area[layout.hh_cell]
    hh_sg = sg[hh_oa]
    pc, pc_text, pc_middle = _postcodes(layout, areas)
    lng, lat = bng_to_lnglat(layout.hh_x, layout.hh_y)
    uprn = (np.arange(households, dtype="int64") + 900_000_000_001).astype(str).astype(object)
    hh = {"uprn": uprn, "postcode": pc_text[pc], "lat": lat, "lng": lng}
    paths: dict[str, Path] = {}

    # boundaries
    level_geo = {}
    for level in BOUNDARY_LEVELS:
        lv = getattr(areas, level)
        props = {f"{level}_code": lv.code, f"{level}_name": lv.name}
        if level in _PARENT:
            parent = getattr(areas, _PARENT[level])
            props[f"{_PARENT[level]}_code"] = parent.code[np.maximum(lv.parent, 0)]
        level_geo[level] = write_geojson(
            out / f"{level}.geojson",
            lv.geom,
            props,
            epsg=STORE_SRID,
            decimals=1,
            name=f"demo_{level}",
        )
    oa_props = {
        "oa_code": areas.oa.code,
        "lsoa_code": areas.lsoa.code[areas.oa.parent],
        "supgrpcode": sg.astype(str).astype(object),
        "supgrpname": np.array([oac_names[f"1:{s}"] for s in sg], dtype=object),
        "grpcode": grp,
        "grpname": np.array([oac_names[f"2:{g}"] for g in grp], dtype=object),
        "subgrpcode": sub,
        "subgrpname": np.array([oac_names[f"3:{s}"] for s in sub], dtype=object),
    }
    paths["classification"] = write_geojson(
        out / "oa_oac2011.geojson",
        areas.oa.geom,
        oa_props,
        epsg=STORE_SRID,
        decimals=1,
        name="demo_oa_oac2011",
    )
    step("write boundaries", 0.3)

    # postcodes (Code-Point Open: no header, 10 columns, whole metres)
    mid = pc_middle
    district = np.char.add("E06", (900_001 + areas.npa.cell_area[layout.hh_cell[mid]]).astype(str))
    cp = pd.DataFrame(
        {
            "Postcode": pc_text,
            "Positional_quality_indicator": 10,
            "Eastings": np.rint(layout.hh_x[mid]).astype("int64"),
            "Northings": np.rint(layout.hh_y[mid]).astype("int64"),
            "Country_code": "E92000001",
            "NHS_regional_HA_code": "E19000001",
            "NHS_HA_code": "E18000003",
            "Admin_county_code": "",
            "Admin_district_code": district,
            "Admin_ward_code": areas.ward.code[hh_ward[mid]],
        }
    )
    paths["postcodes"] = out / "codepoint_demo.csv"
    cp.to_csv(paths["postcodes"], index=False, header=False, quoting=2, lineterminator="\n")

    # streets (OSM-style ways, WGS84) and addresses
    s_lnglat = shapely.transform(
        layout.street_geom, lambda c: np.column_stack(bng_to_lnglat(c[:, 0], c[:, 1]))
    )
    n_streets = len(layout.street_geom)
    paths["streets"] = write_geojson(
        out / "streets_osm.geojson",
        s_lnglat,
        {
            "osm_id": np.arange(n_streets, dtype="int64") + 900_000_001,
            "name": layout.street_name,
            "highway": layout.street_highway,
        },
        decimals=7,
        name="demo_streets",
    )
    paths["addresses"] = write_rows(
        out / "addresses.csv",
        ["uprn", "postcode", "easting", "northing"],
        [uprn, hh["postcode"], layout.hh_x, layout.hh_y],
        ["%s", "%s", "%.2f", "%.2f"],
    )
    step("write postcodes, streets, addresses", 0.45)

    # crime
    snap_oa = areas.oa.cell_area[layout.snap_cell]
    snap_lsoa = areas.lsoa.cell_area[layout.snap_cell]
    snap_beat = areas.beat.cell_area[layout.snap_cell]
    first_seg = np.concatenate(
        [[0], np.cumsum(np.bincount(layout.snap_street, minlength=n_streets))[:-1]]
    )
    seg_n = np.bincount(layout.snap_street, minlength=n_streets)
    mx = np.bincount(layout.snap_street, weights=layout.snap_x, minlength=n_streets) / seg_n
    my = np.bincount(layout.snap_street, weights=layout.snap_y, minlength=n_streets) / seg_n
    t = np.maximum(layout.street_town, 0)
    rel = np.hypot(mx - layout.town_x[t], my - layout.town_y[t]) / layout.town_r[t]
    centre = np.exp(-((rel / 0.3) ** 2)) * ~layout.town_is_village[t]
    deprivation = np.vectorize(DEPRIVATION.get)(sg[snap_oa[first_seg]]).astype(float)
    model = _crime.make_crime_model(
        layout.street_households,
        layout.street_highway,
        centre,
        deprivation,
        layout.snap_street,
        households,
        rngs[2],
    )
    snap_lng, snap_lat = bng_to_lnglat(layout.snap_x, layout.snap_y)
    # once, not per crime
    snap_lng_s, snap_lat_s = format_numbers(snap_lng, 6), format_numbers(snap_lat, 6)
    cats = list(_crime.CATEGORIES)
    n_beats = len(areas.beat.code)
    beat_counts = np.zeros((n_beats, len(cats)))
    street_counts = np.zeros(n_streets)
    crime_paths = []
    n_crimes = n_located = 0
    for mi, month in enumerate(month_list):
        c = _crime.month_crimes(model, month, mi, rngs[2])
        snap = c["snap"]
        loc = c["located"]
        name = np.where(pd.isna(c["poi"]), layout.street_name[c["street"]], c["poi"])
        lsoa = snap_lsoa[snap]
        frame = pd.DataFrame(
            {
                "Crime ID": c["crime_id"],
                "Month": month,
                "Reported by": force_name,
                "Falls within": force_name,
                "Longitude": np.where(loc, snap_lng_s[snap], ""),
                "Latitude": np.where(loc, snap_lat_s[snap], ""),
                "Location": np.where(loc, "On or near " + name.astype(object), "No Location"),
                "LSOA code": np.where(loc, areas.lsoa.code[lsoa], ""),
                "LSOA name": np.where(loc, areas.lsoa.name[lsoa], ""),
                "Crime type": c["category"],
                "Last outcome category": c["outcome"],
                "Context": "",
            }
        )
        frame = frame.iloc[np.argsort(frame["LSOA code"].to_numpy(dtype=str), kind="stable")]
        # every value is free of commas and quotes (names are built from plain word lists)
        crime_paths.append(
            write_rows(
                out / "crimes" / f"{month}-demo-street.csv",
                list(frame.columns),
                [frame[c].to_numpy() for c in frame.columns],
                ["%s"] * len(frame.columns),
            )
        )
        cat_idx = pd.Categorical(c["category"], categories=cats).codes
        np.add.at(beat_counts, (snap_beat[snap], cat_idx), 1)
        street_counts += np.bincount(c["street"][loc], minlength=n_streets)
        n_crimes += len(snap)
        n_located += int(loc.sum())
    step("crime", 0.7)

    # visits, then members (door-knock registrations become members), then surveys
    quarters = quarter_spans(month_list)
    end = quarters[-1][1]
    res, vis, mem, sur = _people.simulate_people(
        quarters, end, hh, hh_beat, areas.beat.code, hh_sg, beat_counts, cats,
        layout.street_name[layout.hh_street], rngs)
    step("people", 0.85)

    people, mem_out = write_people(out, mem, sur, vis)
    paths.update(people)
    census = write_census(out, oa_codes=areas.oa.code, oa_geom=areas.oa.geom, hh_oa=hh_oa,
                          resident_eth=res["eth"], members=mem_out, seed=seed,
                          households=households)
    step("write people", 1.0)

    top = np.sort(street_counts)[::-1]
    k5 = max(1, int(round(0.05 * n_streets)))
    counts = {
        "households": households,
        "postcodes": len(pc_text),
        "streets": n_streets,
        "output_areas": len(areas.oa.code),
        "lsoas": len(areas.lsoa.code),
        "beats": n_beats,
        "npas": len(areas.npa.code),
        "wards": len(areas.ward.code),
        "crimes": n_crimes,
        "crimes_located": n_located,
        "members": len(mem),
        "surveys": len(sur),
        "visits": len(vis),
    }
    stats = {
        "top5pct_street_crime_share": float(top[:k5].sum() / max(top.sum(), 1)),
        "membership_rate": len(mem) / households,
        "households_per_street": households / n_streets,
        "force_area_km2": float(shapely.area(layout.outline) / 1e6),
    }
    log.info("demo force: %s", counts)
    return DemoFiles(
        out,
        level_geo,
        paths["classification"],
        paths["postcodes"],
        paths["streets"],
        paths["addresses"],
        tuple(crime_paths),
        paths["members"],
        paths["surveys"],
        paths["visits"],
        counts,
        stats,
        timings,
        census,
    )
