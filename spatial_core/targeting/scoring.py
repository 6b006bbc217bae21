# SPDX-License-Identifier: GPL-3.0-or-later
"""Explainable street scores: which streets, and why.

Scoring is split in two so that changing weights is instant:

1. :func:`prepare_inputs` does the spatial work once: crimes to their nearest street unit,
   survey respondents to every street within a radius, households (with their class,
   membership and visits) to their street, the last visit per street. It returns
   :class:`ScoringInputs`: flat numpy arrays keyed by street position.
2. :func:`score_streets` turns those arrays and a :class:`~spatial_core.targeting.profiles.Profile`
   into scores with numpy only (bincounts and sorts): a whole one-force demo (25k streets)
   re-scores in well under a second.

Components, each shown raw and scaled to 0..1 within the beat (or the whole targeted area,
``scale_within = "area"``) by dividing by the largest value there, so a beat's worst street
has 1 and a street with none has 0:

- **harm**: the expected crime harm on the street next month, in CCHI days
  (:func:`spatial_core.analytics.harm.expected_harm`): the crimes within ``max_distance_m``
  and ``lookback_days``, each weighted by its month's recency (``half_life_days``,
  ``long_run_months``: :func:`spatial_core.analytics.harm.recency_weights`), give an
  empirical-Bayes crime rate (Poisson-gamma) times the street's harm per crime shrunk
  towards the area's or its beat's (``prior_crimes``, ``mix_within``), optionally
  smoothed over touching streets (``smoothing``); ``harm.model = "recorded"`` uses the
  weighted CCHI days themselves. Per household, per km or in total. The reason names the
  street's most harmful category and how many crimes of which kinds are behind it;
- **voice**: among respondents within ``radius_m`` (``n`` of them), a mix of the share naming
  the street's most named priority, the share with low confidence in the police (1-2 of 5)
  and the share feeling unsafe (1-2 of 5); 0 when ``n < min_n``;
- **representation**: households of the target groups (by default the groups whose share of
  members in the area is below ``target`` times their share of households) with no member;
- **coverage**: households neither visited nor registered;
- **fatigue**: ``1 - days_since_last_visit / window_days`` (0 after the window): a penalty,
  not scaled.

``score = sum(weight x scaled component)``, fatigue subtracted; ``rank_in_beat`` orders
streets by score within their beat (ties: ``street_id``). :func:`save_scores` stores a run
with the profile's TOML text and a fingerprint of its inputs.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import select

from spatial_core.analytics.harm import (
    CATEGORY_NAMES,
    category_weights,
    expected_harm,
    normalise_category,
    offence_code_weights,
    recency_weights,
)
from spatial_core.errors import InputError, NotFoundError
from spatial_core.io.surveys import PRIORITIES
from spatial_core.progress import Progress
from spatial_core.store import schema
from spatial_core.store.boundary_sets import newest_per_area
from spatial_core.store.data_version import bump_data_version
from spatial_core.store.index import assign_points_to_streets, points_near_lines
from spatial_core.targeting.profiles import (
    COMPONENTS,
    UNDER_REPRESENTED,
    Profile,
    profile_from_toml,
    profile_to_toml,
)

__all__ = [
    "ScoringInputs",
    "ScoreRun",
    "SCORE_COLUMNS",
    "prepare_inputs",
    "prepare_part",
    "merge_parts",
    "part_plan",
    "halo_rings",
    "InputsPart",
    "PreparedPart",
    "default_as_of",
    "score_streets",
    "run_scores",
    "save_scores",
    "load_scores",
    "streets_in_area",
]

log = logging.getLogger(__name__)


NEIGHBOUR_M = 1.0
"""Streets closer than this (metres) are neighbours: they touch (the crime component's
smoothing takes a share of a street's crime rate from them)."""
PRIORITY_SLUGS: tuple[str, ...] = tuple(PRIORITIES)
_SHORT_LABELS = {"asb": "ASB"}

SCORE_COLUMNS: tuple[str, ...] = (
    "street_id", "name", "beat_id", "score", "rank_in_beat",
    *[f"{c}{s}" for c in COMPONENTS for s in ("_raw", "")],
    "voice_n", "reasons", "profile",
)
"""The columns of :func:`score_streets`' frame, in order."""


@dataclass(frozen=True, eq=False)
class ScoringInputs:
    """Everything :func:`score_streets` needs, as flat arrays (S streets, in ``street_id``
    order). Build it with :func:`prepare_inputs`; do not change the arrays."""

    area: str | None
    as_of: str
    scheme: str
    level: int
    crime_distance_m: float
    voice_radius_m: float
    streets: pd.DataFrame  # street_id, name, beat_id, households, length_m
    beat_code: np.ndarray  # int per street: the beat (streets without one share a code)
    crime_street: np.ndarray  # per crime: street position
    crime_category: np.ndarray  # per crime: index into CATEGORY_NAMES
    crime_code_days: np.ndarray  # per crime: CCHI days of its offence code, NaN if none
    crime_age_days: np.ndarray
    crime_distance: np.ndarray
    pair_street: np.ndarray  # per (respondent, street within the radius) pair
    pair_respondent: np.ndarray
    pair_distance: np.ndarray
    respondent_age_days: np.ndarray
    respondent_confidence: np.ndarray  # float, NaN when not answered
    respondent_feel_safe: np.ndarray
    priority_respondent: np.ndarray  # exploded (respondent, priority) votes
    priority_index: np.ndarray  # index into PRIORITY_SLUGS
    groups: tuple[str, ...]  # class codes present
    households_by_group: np.ndarray  # S x G households
    member_households_by_group: np.ndarray  # S x G households with a current member
    members_by_group: np.ndarray  # S x G current members living there
    uncovered: np.ndarray  # per street: households neither visited nor registered
    last_visit_days: np.ndarray  # per street: days since its last visit, NaN if never
    fingerprint: str
    # (i, j) pairs of streets that touch (within NEIGHBOUR_M), each direction listed: the
    # neighbours of the crime component's spatial smoothing.
    neighbour_i: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="int64"))
    neighbour_j: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="int64"))
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_streets(self) -> int:
        return len(self.streets)


@dataclass(frozen=True, eq=False)
class ScoreRun:
    """One scoring: the profile, what it was computed on, and the scores."""

    profile: Profile
    area: str | None
    as_of: str
    scheme: str
    level: int
    fingerprint: str
    scores: pd.DataFrame


# -- preparing ----------------------------------------------------------------------------------

def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        raise InputError(f"{what} must be an ISO date such as 2026-03-31", value=text) from None


def _default_as_of(store) -> date:
    """The last day of the newest crime month, else today: scores are reproducible by
    default because they do not depend on the clock when there is crime data."""
    from sqlalchemy import func, select

    newest = store.scalar(select(func.max(schema.table("crimes").c.month)))
    if not newest:
        return date.today()
    year, month = int(newest[:4]), int(newest[5:7])
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def _days_before(as_of: date, iso: pd.Series) -> np.ndarray:
    """Days from each ISO date (or month, taken as its 15th) to ``as_of``."""
    text = iso.fillna("").astype(str)
    text = text.where(text.str.len() > 7, text + "-15")
    days = pd.to_datetime(text.str.slice(0, 10), errors="coerce", format="%Y-%m-%d")
    delta = (pd.Timestamp(as_of) - days).dt.days.to_numpy(dtype="float64")
    return delta


def streets_in_area(store, streets: pd.DataFrame, area: str | None) -> np.ndarray:
    """Mask of the streets in ``area`` (a beat, ward, npa, force, or any stored polygon)."""
    if area is None:
        return np.ones(len(streets), dtype=bool)
    t = schema.table("areas")
    areas = store.read("areas", ["area_id", "level", "parent_id", "boundary_set", "valid_from"])
    if not (areas["area_id"] == area).any():
        known = ", ".join(areas["area_id"].drop_duplicates().head(8))
        raise NotFoundError(f"no area {area!r} in the store (for example: {known})")
    children = newest_per_area(areas)[["area_id", "parent_id", "level"]]  # newest set's rows
    level = children.loc[children["area_id"] == area, "level"].iloc[0]
    if level in ("beat", "ward"):
        return (streets[f"{level}_id"] == area).to_numpy(dtype=bool)
    # Beats below the area through the parent chain (npa -> force).
    below = {area}
    for _ in range(4):
        below |= set(children.loc[children["parent_id"].isin(below), "area_id"])
    beats = children.loc[children["area_id"].isin(below) & (children["level"] == "beat"),
                         "area_id"]
    if len(beats):
        return streets["beat_id"].isin(set(beats)).to_numpy(dtype=bool)
    poly = newest_per_area(store.read("areas", ["area_id", "boundary_set", "valid_from", "geom"],
                                      where=t.c.area_id == area)).geometry.to_numpy()
    mids = shapely.line_interpolate_point(np.asarray(streets["geom"], dtype=object), 0.5,
                                          normalized=True)
    return np.asarray(shapely.intersects(mids, shapely.union_all(poly)), dtype=bool)


def _households(store, as_of: date, scheme: str, level: int, where=None) -> pd.DataFrame:
    """One row per address: uprn, street_id, group, members (current on ``as_of``): the
    columns of :func:`spatial_core.analytics.population.households` that scoring uses, read without
    the others (4.4 -> 1.9 CPU s on the 450k demo)."""
    from spatial_core.analytics.population import street_households

    return street_households(store, scheme=scheme, level=level, as_of=as_of.isoformat(),
                             where=where)


def _fingerprint(parts: dict[str, object]) -> str:
    sha = hashlib.sha256()
    for key in sorted(parts):
        value = parts[key]
        sha.update(key.encode())
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                sha.update("\x1f".join("" if v is None else str(v) for v in value).encode())
            else:
                sha.update(str(value.dtype).encode())
                sha.update(np.ascontiguousarray(value).tobytes())
        else:
            sha.update(repr(value).encode())
    return sha.hexdigest()


PART_RESOLUTIONS = (3, 4, 5, 6, 7, 8)
"""H3 resolutions a force may be cut at for preparing its inputs in parts
(:class:`InputsPart`)."""


def halo_rings(res: int, crime_distance_m: float, voice_radius_m: float) -> int:
    """Rings of cells at ``res`` around a part that hold everything its streets need: the
    respondents within ``voice_radius_m`` and the crimes within ``crime_distance_m``, with
    every street that could be nearer to those crimes (``2 x crime_distance_m``). A ring is
    counted as wide as the narrowest hexagon at ``res`` (``sqrt(3)`` x 0.6 x the average
    edge: H3's edges vary by less than that over the globe)."""
    import h3

    width = np.sqrt(3) * 0.6 * h3.average_hexagon_edge_length(res, unit="m")
    reach = max(voice_radius_m, 2 * crime_distance_m, NEIGHBOUR_M)
    return max(1, int(np.ceil(reach / width)))


@dataclass(frozen=True)
class InputsPart:
    """One part of a force for preparing its scoring inputs apart (a Dask task each).

    The part scores the streets whose **home cell** is one of ``parents``: a street's home is
    the parent at ``res`` of its least stored H3 cell (``street_cells``), so each street has
    exactly one. It reads only what lies in the cells of those streets' parents and one ring
    of cells around them (the halo): the streets there (a crime goes to its nearest street
    among all of them, as in the whole force), the crimes, the respondents and the
    households of its own streets. :func:`merge_parts` joins the parts into the inputs the
    whole force gives, array for array.
    """

    parents: tuple[int, ...]
    res: int = 6


@dataclass(frozen=True, eq=False)
class PreparedPart:
    """What one part (or the whole area) gives :func:`merge_parts`, keyed by ids (street,
    crime ``fid``, survey ``response_id``) instead of positions."""

    streets: pd.DataFrame  # street_id, name, beat_id, households, length_m
    groups: tuple[str, ...]
    households_by_group: np.ndarray
    member_households_by_group: np.ndarray
    members_by_group: np.ndarray
    uncovered: np.ndarray
    last_visit_days: np.ndarray
    crimes: pd.DataFrame  # fid, street_id, category, code_days, age_days, distance
    pairs: pd.DataFrame  # street_id, response_id, distance
    neighbours: pd.DataFrame  # street_id, other (touching streets, both in the area)


def _check_prepare(crime_distance_m: float, voice_radius_m: float) -> None:
    if not (0 < crime_distance_m <= 500) or not (0 < voice_radius_m <= 2000):
        raise InputError("crime_distance_m must be in (0, 500] and voice_radius_m in (0, 2000]")


def _cell_clause(column, parents: np.ndarray, part_res: int, res: int):
    """SQL: ``column`` (cells at ``res``) lies under one of ``parents`` (cells at
    ``part_res``), as ranges (:func:`spatial_core.geo.cells.descendant_ranges`)."""
    from sqlalchemy import and_, false, or_

    from spatial_core.geo.cells import descendant_ranges

    if not len(parents):
        return false()
    lo, hi = descendant_ranges(parents, res)
    return or_(*[and_(column >= int(a), column <= int(b)) for a, b in zip(lo, hi, strict=True)])


def part_plan(store, res: int = 6, *, parts: int | None = None) -> list[InputsPart]:
    """The parts of a force at H3 resolution ``res``: each home cell that holds a street
    (see :class:`InputsPart`), grouped into at most ``parts`` parts of neighbouring home
    cells (by the order of their index; default: one part per home cell)."""
    from spatial_core.geo.cells import cells_to_parents

    if res not in PART_RESOLUTIONS:
        raise InputError(f"a force is cut into parts at H3 resolution "
                         f"{', '.join(map(str, PART_RESOLUTIONS))}, not {res}")
    sc = store.read("street_cells", ["street_id", "cell"])
    if not len(sc):
        return []
    home = np.unique(cells_to_parents(sc.groupby("street_id")["cell"].min().to_numpy("int64"),
                                      res))
    groups = np.array_split(home, min(len(home), parts or len(home)))
    return [InputsPart(tuple(int(c) for c in g), res) for g in groups if len(g)]


def _part_reach(store, part: InputsPart, rings: int) -> tuple[set, np.ndarray]:
    """A part's own streets (ids) and the parent cells it reads (``rings`` of halo)."""
    from spatial_core.geo.cells import cells_to_parents, grid_rings

    res = store.h3_resolution
    sc = schema.table("street_cells")
    parents = np.asarray(part.parents, dtype="int64")
    # Every cell of each street with a cell under the parents: its least cell (so its home)
    # may lie under another part's parent.
    touching = select(sc.c.street_id).where(_cell_clause(sc.c.cell, parents, part.res, res))
    cells = store.read("street_cells", ["street_id", "cell"], where=sc.c.street_id.in_(touching))
    least = cells.groupby("street_id")["cell"].min()
    home = cells_to_parents(least.to_numpy("int64"), part.res)
    own = least.index.to_numpy(dtype=object)[np.isin(home, parents)]
    theirs = cells.loc[cells["street_id"].isin(set(own.tolist())), "cell"].to_numpy("int64")
    # The parents of every cell of the own streets (a street may reach beyond its home),
    # then the halo around them.
    reach = grid_rings(np.union1d(cells_to_parents(theirs, part.res), parents), rings)
    return set(own.tolist()), reach


def prepare_part(store, part: InputsPart | None, *, day: date, area: str | None = None,
                 scheme: str = "oac2011", level: int = 1, crime_distance_m: float = 50.0,
                 voice_radius_m: float = 250.0,
                 progress: Progress | None = None) -> PreparedPart:
    """The spatial work of scoring for one part of a force (``None``: the whole store),
    keyed by ids; :func:`merge_parts` turns parts into :class:`ScoringInputs`."""
    say = progress or (lambda f, m: None)
    _check_prepare(crime_distance_m, voice_radius_m)
    columns = ["street_id", "name", "beat_id", "ward_id", "length_m", "households", "geom"]
    tst, sc = schema.table("streets"), schema.table("street_cells")
    say(0.0, "reading streets")
    if part is None:
        st = store.read("streets", columns, order_by=["street_id"])
        own_ids = None
        near = lambda column: None  # noqa: E731 - no cell limit for the whole store
    else:
        if part.res not in PART_RESOLUTIONS:
            raise InputError(f"a part is cut at H3 resolution "
                             f"{', '.join(map(str, PART_RESOLUTIONS))}, not {part.res}")
        own_ids, reach = _part_reach(store, part, halo_rings(part.res, crime_distance_m,
                                                              voice_radius_m))
        res = store.h3_resolution

        def near(column):
            return _cell_clause(column, reach, part.res, res)

        read = select(sc.c.street_id).where(near(sc.c.cell))
        st = store.read("streets", columns, where=tst.c.street_id.in_(read),
                        order_by=["street_id"])
    st = pd.DataFrame({c: st[c].to_numpy() for c in st.columns if c != "geom"}
                      | {"geom": st.geometry.to_numpy() if len(st) else np.array([], object)})
    in_area = streets_in_area(store, st, area)
    mine = in_area if own_ids is None else in_area & st["street_id"].isin(own_ids).to_numpy()
    all_ids = st["street_id"].to_numpy(dtype=object)
    streets = st[mine].reset_index(drop=True)
    S = len(streets)
    ids = streets["street_id"].to_numpy(dtype=object)
    pos_of = pd.Index(ids)  # street ids are unique
    geoms = np.asarray(streets["geom"], dtype=object)

    say(0.1, "placing crimes on streets")
    t = schema.table("crimes")
    month = f"{day.year:04d}-{day.month:02d}"
    where = (t.c.month <= month) & (t.c.x.isnot(None)) & (t.c.is_outlier == 0)
    if part is not None:
        where = where & near(t.c.cell)
    cr = store.read("crimes", ["fid", "month", "category", "offence_code", "x", "y"],
                    where=where, order_by=["fid"])
    cx, cy = cr["x"].to_numpy(dtype="float64"), cr["y"].to_numpy(dtype="float64")
    # Nearest street among ALL streets read, so a crime by a boundary street outside the
    # area (or the part) is not pulled onto a street inside it.
    sid = assign_points_to_streets(cx, cy, all_ids, st["geom"].to_numpy(),
                                   max_distance=crime_distance_m)
    pos = pos_of.get_indexer(sid).astype("float64")
    pos[pos < 0] = np.nan
    age = np.maximum(_days_before(day, cr["month"]), 0.0)
    keep = np.isfinite(pos) & np.isfinite(age)
    crime_street = pos[keep].astype("int64")
    points = shapely.points(cx[keep], cy[keep])
    crime_distance = shapely.distance(points, geoms[crime_street]) if keep.any() else \
        np.zeros(0)
    # Normalised once per distinct category, not once per crime.
    cat_code, cat_values = pd.factorize(cr["category"][keep].to_numpy(dtype=object),
                                        use_na_sentinel=False)
    lut = np.array([CATEGORY_NAMES.index(normalise_category(c) or "Other crime")
                    for c in cat_values], dtype="int64")
    crimes = pd.DataFrame({
        "fid": cr["fid"].to_numpy(dtype="int64")[keep],
        "street_id": ids[crime_street],
        "category": lut[cat_code] if len(cat_code) else np.zeros(0, dtype="int64"),
        "code_days": offence_code_weights(cr["offence_code"][keep].to_numpy(dtype=object)),
        "age_days": age[keep],
        "distance": np.asarray(crime_distance, dtype="float64"),
    })

    say(0.35, "placing respondents near streets")
    ts = schema.table("surveys")
    where = (ts.c.responded <= day.isoformat()) & ts.c.x.isnot(None)
    if part is not None:
        where = where & near(ts.c.cell)
    sv = store.read("surveys", ["response_id", "x", "y"], where=where, order_by=["response_id"])
    sv = sv.iloc[np.argsort(sv["response_id"].to_numpy(dtype=object).astype(str),
                            kind="stable")].reset_index(drop=True)
    rx, ry = sv["x"].to_numpy(dtype="float64"), sv["y"].to_numpy(dtype="float64")
    if len(sv) and S:
        pr, ps, pd_ = points_near_lines(geoms, rx, ry, voice_radius_m)
    else:
        pr = ps = np.zeros(0, dtype="int64")
        pd_ = np.zeros(0)
    pairs = pd.DataFrame({"street_id": ids[ps],
                          "response_id": sv["response_id"].to_numpy(dtype=object)[pr],
                          "distance": np.asarray(pd_, dtype="float64")})

    say(0.6, "households, members and visits")
    ta = schema.table("addresses")
    on_read = None if part is None else ta.c.street_id.in_(
        select(sc.c.street_id).where(near(sc.c.cell)))
    hh = _households(store, day, scheme, level, where=on_read)
    hpos = pos_of.get_indexer(hh["street_id"].to_numpy(dtype=object))
    on = hpos >= 0
    h_street = hpos[on].astype("int64")
    grp = hh["group"][on].astype(object)
    known = grp.notna().to_numpy()
    groups = tuple(sorted(str(g) for g in grp[known].unique()))
    G = len(groups)
    gidx = grp[known].astype(str).map({g: i for i, g in enumerate(groups)}).to_numpy("int64")
    members = hh["members"][on].to_numpy(dtype="float64")
    flat = h_street[known] * G + gidx

    def by_group(weights: np.ndarray | None) -> np.ndarray:
        return np.bincount(flat, weights=weights, minlength=S * G).reshape(S, G)

    tv = schema.table("visits")
    where = tv.c.visited_at <= day.isoformat() + "T23:59:59"
    if part is not None:
        where = where & tv.c.uprn.in_(select(ta.c.uprn).where(on_read))
    vs = store.read("visits", ["uprn", "visited_at"], where=where)
    visited = hh["uprn"][on].isin(set(vs["uprn"])).to_numpy()
    uncovered = np.bincount(h_street[~visited & (members == 0)], minlength=S).astype("int64")
    street_of_uprn = pd.Series(h_street, index=hh["uprn"][on].to_numpy(dtype=object))
    vpos = vs["uprn"].map(street_of_uprn)
    vdays = _days_before(day, vs["visited_at"].str.slice(0, 10))
    okv = vpos.notna().to_numpy() & np.isfinite(vdays)
    last = np.full(S, np.inf)
    np.minimum.at(last, vpos[okv].to_numpy(dtype="int64"), np.maximum(vdays[okv], 0.0))

    # Touching streets: a part's own streets and every street of the area it read.
    if S:
        others = np.asarray(st["geom"], dtype=object)[in_area]
        ni, nj = shapely.STRtree(others).query(geoms, predicate="dwithin", distance=NEIGHBOUR_M)
        other_ids = all_ids[in_area][nj]
        differ = ids[ni] != other_ids
        neighbours = pd.DataFrame({"street_id": ids[ni][differ], "other": other_ids[differ]})
    else:
        neighbours = pd.DataFrame({"street_id": np.array([], object),
                                   "other": np.array([], object)})
    return PreparedPart(
        streets=pd.DataFrame({
            "street_id": ids,
            "name": streets["name"].to_numpy(dtype=object),
            "beat_id": streets["beat_id"].to_numpy(dtype=object),
            "households": np.bincount(h_street, minlength=S).astype("int64"),
            "length_m": streets["length_m"].to_numpy(dtype="float64"),
        }),
        groups=groups,
        households_by_group=by_group(None).astype("int64"),
        member_households_by_group=by_group((members[known] > 0).astype("float64")
                                            ).astype("int64"),
        members_by_group=by_group(members[known]).astype("int64"),
        uncovered=uncovered, last_visit_days=np.where(np.isfinite(last), last, np.nan),
        crimes=crimes, pairs=pairs, neighbours=neighbours)


def merge_parts(store, parts: list[PreparedPart], *, day: date, area: str | None = None,
                scheme: str = "oac2011", level: int = 1, crime_distance_m: float = 50.0,
                voice_radius_m: float = 250.0) -> ScoringInputs:
    """The :class:`ScoringInputs` of the streets of ``parts`` (each street in one part):
    streets in ``street_id`` order, crimes in stored order, respondent pairs by street then
    respondent, exactly as one :func:`prepare_part` of the whole area gives them. Reads the
    respondents' answers and priorities (no geometry) from the store."""
    streets = pd.concat([p.streets for p in parts], ignore_index=True)
    order = np.argsort(streets["street_id"].to_numpy(dtype=object).astype(str), kind="stable")
    streets = streets.iloc[order].reset_index(drop=True)
    ids = streets["street_id"].to_numpy(dtype=object)
    if len(np.unique(ids.astype(str))) != len(ids):
        raise InputError("a street is in more than one part")
    pos_of = pd.Index(ids)
    S = len(streets)
    _, beat_code = np.unique(streets["beat_id"].fillna("").to_numpy(dtype=object).astype(str),
                             return_inverse=True)
    groups = tuple(sorted({g for p in parts for g in p.groups}))
    G = len(groups)
    mats = {}
    for name in ("households_by_group", "member_households_by_group", "members_by_group"):
        full = np.zeros((S, G), dtype="int64")
        for p in parts:
            if len(p.streets) and len(p.groups):
                rows = pos_of.get_indexer(p.streets["street_id"].to_numpy(dtype=object))
                cols = np.array([groups.index(g) for g in p.groups], dtype="int64")
                full[np.ix_(rows, cols)] = getattr(p, name)
        mats[name] = full
    uncovered = np.zeros(S, dtype="int64")
    last_visit = np.full(S, np.nan)
    for p in parts:
        rows = pos_of.get_indexer(p.streets["street_id"].to_numpy(dtype=object))
        uncovered[rows] = p.uncovered
        last_visit[rows] = p.last_visit_days

    crimes = pd.concat([p.crimes for p in parts], ignore_index=True).sort_values(
        "fid", kind="stable")
    crime_street = pos_of.get_indexer(crimes["street_id"].to_numpy(dtype=object))

    ts = schema.table("surveys")
    sv = store.read("surveys", ["response_id", "responded", "confidence", "feel_safe"],
                    where=(ts.c.responded <= day.isoformat()) & ts.c.x.isnot(None),
                    order_by=["response_id"])
    sv = sv.iloc[np.argsort(sv["response_id"].to_numpy(dtype=object).astype(str),
                            kind="stable")].reset_index(drop=True)
    rpos_of = pd.Series(np.arange(len(sv)), index=sv["response_id"].to_numpy(dtype=object))
    pairs = pd.concat([p.pairs for p in parts], ignore_index=True)
    ps = pos_of.get_indexer(pairs["street_id"].to_numpy(dtype=object)).astype("int64")
    pr = pairs["response_id"].map(rpos_of).to_numpy(dtype="int64")
    by = np.lexsort((pr, ps))  # by street, then respondent: points_near_lines' order
    ps, pr, pdist = ps[by], pr[by], pairs["distance"].to_numpy(dtype="float64")[by]
    vp = store.read("survey_priorities", ["response_id", "priority"])
    rpos = vp["response_id"].map(rpos_of)
    ppos = vp["priority"].map({p: i for i, p in enumerate(PRIORITY_SLUGS)})
    ok = rpos.notna() & ppos.notna()
    prio_r = rpos[ok].to_numpy(dtype="int64")
    prio_p = ppos[ok].to_numpy(dtype="int64")
    porder = np.lexsort((prio_p, prio_r))
    prio_r, prio_p = prio_r[porder], prio_p[porder]

    nb = pd.concat([p.neighbours for p in parts], ignore_index=True)
    ni = pos_of.get_indexer(nb["street_id"].to_numpy(dtype=object)).astype("int64")
    nj = pos_of.get_indexer(nb["other"].to_numpy(dtype=object)).astype("int64")
    inside = nj >= 0  # a touching street outside every part is outside the area
    ni, nj = ni[inside], nj[inside]
    norder = np.lexsort((nj, ni))
    ni, nj = ni[norder], nj[norder]

    streets_out = streets[["street_id", "name", "beat_id", "households", "length_m"]]
    resp_conf = pd.to_numeric(sv["confidence"], errors="coerce").to_numpy(dtype="float64")
    resp_safe = pd.to_numeric(sv["feel_safe"], errors="coerce").to_numpy(dtype="float64")
    resp_age = np.maximum(_days_before(day, sv["responded"]), 0.0)
    arrays: dict[str, Any] = dict(
        beat_code=beat_code.astype("int64"), crime_street=crime_street.astype("int64"),
        crime_category=crimes["category"].to_numpy(dtype="int64"),
        crime_code_days=crimes["code_days"].to_numpy(dtype="float64"),
        crime_age_days=crimes["age_days"].to_numpy(dtype="float64"),
        crime_distance=crimes["distance"].to_numpy(dtype="float64"),
        pair_street=ps, pair_respondent=pr, pair_distance=pdist,
        respondent_age_days=resp_age, respondent_confidence=resp_conf,
        respondent_feel_safe=resp_safe, priority_respondent=prio_r, priority_index=prio_p,
        **mats, uncovered=uncovered, last_visit_days=last_visit,
    )
    meta: dict[str, Any] = dict(
        area=area, as_of=day.isoformat(), scheme=scheme, level=int(level),
        crime_distance_m=float(crime_distance_m), voice_radius_m=float(voice_radius_m))
    fp = _fingerprint({**arrays, **meta, "groups": groups,
                       **{f"streets.{c}": streets_out[c].to_numpy() for c in streets_out}})
    log.info("scoring inputs: %d streets, %d crimes, %d respondent pairs, %d households",
             S, len(crime_street), len(ps), int(streets_out["households"].sum()))
    return ScoringInputs(**meta, streets=streets_out, groups=groups, fingerprint=fp,
                         neighbour_i=ni, neighbour_j=nj, **arrays)


def prepare_inputs(store, *, area: str | None = None, as_of: str | date | None = None,
                   scheme: str = "oac2011", level: int = 1, crime_distance_m: float = 50.0,
                   voice_radius_m: float = 250.0,
                   progress: Progress | None = None) -> ScoringInputs:
    """Do the spatial work of scoring once (see the module docstring).

    Parameters
    ----------
    store : Store
    area : str, optional
        ``beat:…``, ``ward:…``, ``npa:…``, ``force:…`` (or any stored area id): score only its
        streets. None: every street.
    as_of : str or date, optional
        The day scores are computed for: crimes, responses, members and visits after it are
        ignored and ages are counted back from it. Default: the last day of the newest
        crime month (today when no crime is stored).
    scheme, level : str, int
        The geodemographic classification of households (the representation component).
    crime_distance_m, voice_radius_m : float
        The largest crime-to-street distance and respondent radius any profile scored on
        these inputs may use (profiles may use less).
    progress : callable, optional
        ``progress(fraction_done, message)``.

    The whole area is one :func:`prepare_part`; a force too large for one process is
    prepared in parts on Dask (:func:`spatial_core.national.run.prepare_inputs_in_parts`)
    and merged by :func:`merge_parts` into the same inputs.
    """
    say = progress or (lambda f, m: None)
    _check_prepare(crime_distance_m, voice_radius_m)
    day = _default_as_of(store) if as_of is None else (
        as_of if isinstance(as_of, date) else _day(as_of, "as_of"))
    options = dict(day=day, area=area, scheme=scheme, level=level,
                   crime_distance_m=crime_distance_m, voice_radius_m=voice_radius_m)
    whole = prepare_part(store, None, progress=lambda f, m: say(0.95 * f, m), **options)
    say(0.95, "fingerprinting inputs")
    inputs = merge_parts(store, [whole], **options)
    say(1.0, "inputs ready")
    return inputs


def default_as_of(store, as_of: str | date | None = None) -> date:
    """The day scores are computed for (see :func:`prepare_inputs`)."""
    return _default_as_of(store) if as_of is None else (
        as_of if isinstance(as_of, date) else _day(as_of, "as_of"))


# -- scoring ------------------------------------------------------------------------------------

def _group_max(values: np.ndarray, code: np.ndarray, n_groups: int) -> np.ndarray:
    mx = np.zeros(n_groups)
    np.maximum.at(mx, code, values)
    return mx[code]


def _scaled(values: np.ndarray, code: np.ndarray, n_groups: int) -> np.ndarray:
    mx = _group_max(values, code, n_groups)
    return np.divide(values, mx, out=np.zeros_like(values), where=mx > 0)


def _rank_desc(values: np.ndarray, code: np.ndarray, *, ties_share: bool) -> np.ndarray:
    """1-based rank of each value within its group, largest first. ``ties_share``: equal
    values share the best rank ("joint 1st"); otherwise ties go by position."""
    n = len(values)
    order = np.lexsort((np.arange(n), -values, code))
    sc, sv = code[order], values[order]
    new_group = np.r_[True, sc[1:] != sc[:-1]]
    start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    rank_sorted = np.arange(n) - start + 1
    if ties_share:
        new_value = new_group | np.r_[True, sv[1:] != sv[:-1]]
        first = np.maximum.accumulate(np.where(new_value, np.arange(n), 0))
        rank_sorted = rank_sorted[first]
    out = np.empty(n, dtype="int64")
    out[order] = rank_sorted
    return out


def _crimes_text(counts: np.ndarray, names: list[str]) -> str:
    """"5 crimes: 3 burglary, 2 drugs": how many crimes and which, the three most frequent
    categories (ties in category order), then how many others."""
    order = np.lexsort((np.arange(len(counts)), -counts))
    shown = [int(c) for c in order[:3] if counts[c] > 0]
    total = int(counts.sum())
    text = ", ".join(f"{int(counts[c])} {names[c]}" for c in shown)
    rest = total - int(counts[shown].sum())
    if rest:
        text += f", {rest} other"
    return f"{total} {'crime' if total == 1 else 'crimes'}: {text}"


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 13th, 21st."""
    n = int(n)
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _pct(share: np.ndarray) -> np.ndarray:
    """Whole percentages, halves rounded up (not to even)."""
    return np.floor(np.asarray(share) * 100 + 0.5).astype("int64")


def _check_inputs(inputs: ScoringInputs, profile: Profile) -> None:
    if profile.crime_distance_m > inputs.crime_distance_m + 1e-9:
        raise InputError(f"profile harm.max_distance_m = {profile.crime_distance_m:g} is more "
                         f"than the inputs were prepared for ({inputs.crime_distance_m:g} m): "
                         "call prepare_inputs with crime_distance_m >= "
                         f"{profile.crime_distance_m:g}")
    if profile.voice_radius_m > inputs.voice_radius_m + 1e-9:
        raise InputError(f"profile voice.radius_m = {profile.voice_radius_m:g} is more than "
                         f"the inputs were prepared for ({inputs.voice_radius_m:g} m): call "
                         f"prepare_inputs with voice_radius_m >= {profile.voice_radius_m:g}")
    if (profile.scheme, profile.level) != (inputs.scheme, inputs.level):
        raise InputError(f"profile representation uses {profile.scheme} level {profile.level} "
                         f"but the inputs were prepared with {inputs.scheme} level "
                         f"{inputs.level}: call prepare_inputs(scheme=..., level=...) to match")


def _cached(inputs: ScoringInputs, key: tuple, compute: Callable[[], tuple]) -> tuple:
    """Per-street aggregates depend on a few profile settings, not on the weights: keep
    the last few on the inputs so re-weighting does not recompute them."""
    cache = inputs._cache
    if key not in cache:
        if len(cache) >= 8:
            cache.pop(next(iter(cache)))
        cache[key] = compute()
    return cache[key]


def _harm(inputs: ScoringInputs, profile: Profile, code: np.ndarray
          ) -> tuple[np.ndarray, ...]:
    """Harm per street (raw), its top category, the street's rank in that category within
    its beat (or area), and the crimes behind it (per street, and per street and category).

    ``harm.model = "expected"`` (the default): the expected harm next month,
    :func:`spatial_core.analytics.harm.expected_harm` of the recency-weighted crimes (the
    harm mix shrunk towards the area's or the beat's; see ``docs/analytics/scoring.md``);
    ``"recorded"``: the recency-weighted CCHI days themselves. Either is then per household,
    per km or in total. The top category and its rank are of the street's own recorded
    (recency-weighted) harm, so the reason names crimes that happened there."""
    key = ("harm", tuple(profile.harm_overrides.items()), profile.harm_model,
           profile.half_life_days, profile.long_run_months, profile.lookback_days,
           profile.prior_crimes, profile.mix_within, profile.smoothing, profile.crime_distance_m,
           profile.normalisation, profile.min_households, profile.scale_within)
    return _cached(inputs, key, lambda: _compute_harm(inputs, profile, code))


def _compute_harm(inputs: ScoringInputs, profile: Profile, code: np.ndarray
                  ) -> tuple[np.ndarray, ...]:
    S, C = inputs.n_streets, len(CATEGORY_NAMES)
    cat_days = category_weights(profile.harm_overrides)
    overridden = np.zeros(C, dtype=bool)
    for key in profile.harm_overrides:
        overridden[CATEGORY_NAMES.index(key)] = True
    cc = inputs.crime_category
    days = np.where(np.isfinite(inputs.crime_code_days) & ~overridden[cc],
                    inputs.crime_code_days, cat_days[cc])
    keep = ((inputs.crime_distance <= profile.crime_distance_m)
            & (inputs.crime_age_days <= profile.lookback_days))
    # The months covered: those that hold crime (a month is dated by its 15th, so each month
    # has one age), with their recency weights (recency_weights; "recorded": decay alone).
    ages, month_of = np.unique(inputs.crime_age_days[keep], return_inverse=True)
    month_weights = recency_weights(ages, profile.half_life_days,
                                    profile.long_run_months if profile.harm_model == "expected"
                                    else 0.0)
    decay = np.zeros(len(keep))
    decay[keep] = month_weights[month_of]
    flat = inputs.crime_street * C + cc
    by_cat = np.bincount(flat, weights=days * decay, minlength=S * C).reshape(S, C)
    counts = np.bincount(flat, weights=keep.astype("float64"), minlength=S * C).reshape(S, C)
    if profile.harm_model == "expected" and keep.any():
        n = np.bincount(inputs.crime_street, weights=decay, minlength=S)
        group = inputs.beat_code if profile.mix_within == "beat" else None
        total = expected_harm(n, by_cat.sum(axis=1), month_weights, group=group,
                              prior_crimes=profile.prior_crimes, smoothing=profile.smoothing,
                              neighbours=(inputs.neighbour_i, inputs.neighbour_j)).harm
    else:
        total = by_cat.sum(axis=1)
    hh = inputs.streets["households"].to_numpy(dtype="float64")
    if profile.normalisation == "per_household":
        denom = np.maximum(hh, profile.min_households)
    elif profile.normalisation == "per_km":
        denom = np.maximum(inputs.streets["length_m"].fillna(0).to_numpy("float64") / 1000, 0.05)
    else:
        denom = np.ones(S)
    by_cat = by_cat / denom[:, None]
    harm_raw = total / denom
    recorded = by_cat.sum(axis=1)
    top_cat = by_cat.argmax(axis=1) if S else np.zeros(0, dtype="int64")
    top_rank = np.ones(S, dtype="int64")
    for c in np.unique(top_cat[recorded > 0]):
        top_rank = np.where(top_cat == c, _rank_desc(by_cat[:, c], code, ties_share=True),
                            top_rank)
    # With smoothing, part of a street's forecast comes from the streets it touches: the
    # reasons say how many crimes are there, so the score stays explainable.
    nearby = np.zeros(S, dtype="int64")
    if profile.harm_model == "expected" and profile.smoothing > 0 and len(inputs.neighbour_i):
        own = counts.sum(axis=1)
        nearby = np.bincount(inputs.neighbour_i, weights=own[inputs.neighbour_j],
                             minlength=S).round().astype("int64")
    return harm_raw, top_cat, top_rank, counts.astype("int64"), nearby


def _voice(inputs: ScoringInputs, profile: Profile
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Respondents near each street: n, low-confidence share, feeling-unsafe share (of
    those who answered) and votes per (street, priority) for the profile's priorities."""
    key = ("voice", profile.voice_radius_m, profile.voice_lookback_days,
           profile.voice_priorities)
    return _cached(inputs, key, lambda: _compute_voice(inputs, profile))


def _compute_voice(inputs: ScoringInputs, profile: Profile
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    S = inputs.n_streets
    ps, pr = inputs.pair_street, inputs.pair_respondent
    far = inputs.pair_distance > profile.voice_radius_m
    old = inputs.respondent_age_days > profile.voice_lookback_days
    if far.any() or old.any():
        ok = ~far & ~old[pr]
        ps, pr = ps[ok], pr[ok]
    n = np.bincount(ps, minlength=S)
    conf, safe = inputs.respondent_confidence, inputs.respondent_feel_safe

    def share(low: np.ndarray, answered: np.ndarray) -> np.ndarray:
        num = np.bincount(ps, weights=low.astype("float64")[pr], minlength=S)
        den = np.bincount(ps, weights=answered.astype("float64")[pr], minlength=S)
        return np.divide(num, den, out=np.zeros(S), where=den > 0)

    with np.errstate(invalid="ignore"):
        low_conf = share(conf <= 2, np.isfinite(conf))
        low_safe = share(safe <= 2, np.isfinite(safe))
    P = len(PRIORITY_SLUGS)
    chosen = np.ones(P, dtype=bool) if not profile.voice_priorities else np.isin(
        np.array(PRIORITY_SLUGS), list(profile.voice_priorities))
    votes = np.zeros((S, P))
    for p in np.flatnonzero(chosen):
        voted = np.zeros(len(inputs.respondent_age_days))
        voted[inputs.priority_respondent[inputs.priority_index == p]] = 1.0
        votes[:, p] = np.bincount(ps, weights=voted[pr], minlength=S)
    return n, low_conf, low_safe, votes


def score_streets(inputs: ScoringInputs, profile: Profile) -> pd.DataFrame:
    """Score every street of ``inputs`` with ``profile`` (numpy only; no store access).

    Returns
    -------
    pandas.DataFrame
        :data:`SCORE_COLUMNS`: ``street_id``, ``name``, ``beat_id``, ``score``,
        ``rank_in_beat``, each component raw (``harm_raw`` …) and scaled (``harm`` …),
        ``voice_n`` (respondents near the street), ``reasons`` and ``profile`` (its name);
        sorted by ``beat_id`` and ``rank_in_beat``.
    """
    _check_inputs(inputs, profile)
    S = inputs.n_streets
    code = inputs.beat_code if profile.scale_within == "beat" else np.zeros(S, dtype="int64")
    n_codes = int(code.max()) + 1 if S else 1
    where_word = "the beat" if profile.scale_within == "beat" else "the area"
    w = profile.weights

    harm_raw, top_cat, top_rank, crime_counts, crimes_nearby = _harm(inputs, profile, code)
    n, low_conf_share, low_safe_share, votes = _voice(inputs, profile)
    top_p = votes.argmax(axis=1) if S else np.zeros(0, dtype="int64")
    top_share = np.divide(votes.max(axis=1) if S else np.zeros(0), n, out=np.zeros(S),
                          where=n > 0)
    mix = profile.voice_mix
    voice_raw = ((mix["priority"] * top_share + mix["low_confidence"] * low_conf_share
                  + mix["low_feel_safe"] * low_safe_share) / sum(mix.values()))
    enough = n >= profile.voice_min_n
    voice_raw = np.where(enough, voice_raw, 0.0)

    # Representation: households of target groups with no member.
    hbg = inputs.households_by_group
    if profile.target_groups == UNDER_REPRESENTED:
        hh_share = hbg.sum(axis=0) / max(hbg.sum(), 1)
        mem_tot = inputs.members_by_group.sum(axis=0)
        mem_share = mem_tot / max(mem_tot.sum(), 1)
        ratio = np.divide(mem_share, hh_share, out=np.ones(len(hh_share)), where=hh_share > 0)
        target = (hh_share > 0) & (ratio < profile.representation_target)
        group_word = "an under-represented group"
    else:
        unknown = sorted(set(profile.target_groups) - set(inputs.groups))
        if unknown and inputs.groups:
            raise InputError(f"representation.groups has codes not found among the households "
                             f"({inputs.scheme} level {inputs.level}): {unknown}; codes present: "
                             + ", ".join(inputs.groups), column="representation.groups")
        target = np.isin(np.array(inputs.groups, dtype=object), list(profile.target_groups))
        group_word = "a target group"
    target_hh = hbg[:, target].sum(axis=1) if len(target) else np.zeros(S, dtype="int64")
    target_mem_hh = (inputs.member_households_by_group[:, target].sum(axis=1) if len(target)
                     else np.zeros(S, dtype="int64"))
    target_members = (inputs.members_by_group[:, target].sum(axis=1) if len(target)
                      else np.zeros(S, dtype="int64"))
    rep_raw = (target_hh - target_mem_hh).astype("float64")

    coverage_raw = inputs.uncovered.astype("float64")
    since = inputs.last_visit_days
    if profile.fatigue_days > 0:
        fatigue_raw = np.where(np.isfinite(since),
                               np.clip(1.0 - since / profile.fatigue_days, 0.0, 1.0), 0.0)
    else:
        fatigue_raw = np.zeros(S)

    raw = {"harm": harm_raw, "voice": voice_raw, "representation": rep_raw,
           "coverage": coverage_raw, "fatigue": fatigue_raw}
    scaled = {c: _scaled(v, code, n_codes) for c, v in raw.items() if c != "fatigue"}
    scaled["fatigue"] = fatigue_raw
    score = sum(w[c] * scaled[c] for c in COMPONENTS if c != "fatigue") - w["fatigue"] * \
        scaled["fatigue"]
    score = np.asarray(score, dtype="float64") + 0.0  # no -0.0
    rank = _rank_desc(score, inputs.beat_code, ties_share=False)

    reasons = _reasons(
        profile, where_word, group_word,
        **{f"weight_{c}": w[c] * scaled[c] for c in COMPONENTS}, harm_raw=harm_raw, top_cat=top_cat,
        top_rank=top_rank, crime_counts=crime_counts, crimes_nearby=crimes_nearby,
        rep_raw=rep_raw, target_hh=target_hh,
        target_members=target_members,
        n=n, enough=enough, top_p=top_p, top_share=top_share, low_safe_share=low_safe_share,
        low_conf_share=low_conf_share, uncovered=inputs.uncovered, since=since,
        fatigue_raw=fatigue_raw)
    out = pd.DataFrame({
        "street_id": inputs.streets["street_id"].to_numpy(dtype=object),
        "name": inputs.streets["name"].to_numpy(dtype=object),
        "beat_id": inputs.streets["beat_id"].to_numpy(dtype=object),
        "score": score,
        "rank_in_beat": rank,
        **{k: v for c in COMPONENTS for k, v in ((f"{c}_raw", raw[c]), (c, scaled[c]))},
        "voice_n": n.astype("int64"),
        "reasons": reasons,
        "profile": profile.name,
    })
    out = out.iloc[np.lexsort((rank, inputs.beat_code))].reset_index(drop=True)
    return out[list(SCORE_COLUMNS)]


def _reasons(profile: Profile, where_word: str, group_word: str, **a: np.ndarray) -> np.ndarray:
    """Plain-words reasons per street, the component that adds most to its score first (ties
    and components that add nothing in a fixed order: harm; representation; voice; coverage),
    fatigue, which takes away, last. A component with weight 0 says nothing.

    ``a`` holds each component's part of the score (``weight_harm`` … : weight × scaled
    value) and the raw figures the words quote."""
    w, mix = profile.weights, profile.voice_mix
    S = len(a["harm_raw"])
    lst = {k: np.asarray(v).tolist() for k, v in a.items()}  # Python scalars: faster per row
    parts: list[list[tuple[float, int, str]]] = [[] for _ in range(S)]
    order = ("harm", "representation", "voice", "coverage", "fatigue")
    shares = {c: lst[f"weight_{c}"] for c in order}

    def add(component: str, i: int, text: str) -> None:
        """File ``text`` under its part of street ``i``'s score (fatigue takes away)."""
        part = shares[component][i] * (-1.0 if component == "fatigue" else 1.0)
        parts[i].append((-part, order.index(component), text))

    if w["harm"] > 0:
        cats = [c.lower() for c in CATEGORY_NAMES]
        counts = a["crime_counts"]
        near = lst["crimes_nearby"]
        for i in np.flatnonzero((counts.sum(axis=1) > 0) | (a["crimes_nearby"] > 0)).tolist():
            nearby = (f"{near[i]} {'crime' if near[i] == 1 else 'crimes'} on the streets it "
                      "touches (smoothing)") if near[i] else ""
            if counts[i].sum() == 0:
                add("harm", i, f"no crime recorded here; {nearby}")
                continue
            add("harm", i, f"{_ordinal(lst['top_rank'][i])} in {where_word} for "
                           f"{cats[lst['top_cat'][i]]} harm ({_crimes_text(counts[i], cats)}"
                           + (f"; {nearby}" if nearby else "") + ")")
    if w["representation"] > 0:
        for i in np.flatnonzero(a["rep_raw"] > 0).tolist():
            k, m = lst["target_hh"][i], lst["target_members"][i]
            add("representation", i,
                f"{k} {'household' if k == 1 else 'households'} in {group_word}, "
                f"{m} {'member' if m == 1 else 'members'}")
    if w["voice"] > 0:
        labels = [_SHORT_LABELS.get(p, PRIORITIES[p]) for p in PRIORITY_SLUGS]
        n, enough, top_p = lst["n"], lst["enough"], lst["top_p"]
        share, unsafe, unconf = (_pct(a[k]).tolist() for k in (
            "top_share", "low_safe_share", "low_conf_share"))
        for i in np.flatnonzero(a["n"] > 0).tolist():
            k = n[i]
            if not enough[i]:
                add("voice", i, f"only {k} {'respondent' if k == 1 else 'respondents'} "
                                f"nearby (fewer than {profile.voice_min_n}): community voice "
                                "not counted")
                continue
            text = (f"{labels[top_p[i]]} named by {share[i]}% of {k} respondents"
                    if share[i] > 0 and mix["priority"] > 0 else f"{k} respondents nearby")
            if unsafe[i] > 0 and mix["low_feel_safe"] > 0:
                text += f", {unsafe[i]}% feel unsafe"
            if unconf[i] > 0 and mix["low_confidence"] > 0:
                text += f", {unconf[i]}% lack confidence in the police"
            add("voice", i, text)
    if w["coverage"] > 0:
        u = lst["uncovered"]
        for i in np.flatnonzero(a["uncovered"] > 0).tolist():
            add("coverage", i, f"{u[i]} {'household' if u[i] == 1 else 'households'} "
                               "not yet visited or registered")
    if w["fatigue"] > 0:
        for i in np.flatnonzero(a["fatigue_raw"] > 0).tolist():
            d = int(lst["since"][i])
            when = "today" if d == 0 else f"{d} {'day' if d == 1 else 'days'} ago"
            add("fatigue", i, f"visited {when} (held back)")
    out = np.empty(S, dtype=object)
    out[:] = ["; ".join(t for _, _, t in sorted(p)) for p in parts]
    return out


# -- runs ---------------------------------------------------------------------------------------

def run_scores(inputs: ScoringInputs, profile: Profile) -> ScoreRun:
    """Score and keep what the scores were computed from (for :func:`save_scores`)."""
    return ScoreRun(profile=profile, area=inputs.area, as_of=inputs.as_of, scheme=inputs.scheme,
                    level=inputs.level, fingerprint=inputs.fingerprint,
                    scores=score_streets(inputs, profile))


def save_scores(store, run: ScoreRun) -> str:
    """Store a run (``score_runs``, with the profile's TOML) and its scores
    (``street_scores``) in one transaction; returns the new ``run_id``."""
    created = datetime.now(UTC)
    toml = profile_to_toml(run.profile)
    digest = hashlib.sha256((toml + run.fingerprint + created.isoformat()).encode()).hexdigest()
    run_id = f"{created:%Y%m%dT%H%M%S}-{digest[:8]}"
    s = run.scores
    frame = pd.DataFrame({"run_id": run_id,
                          **{c: s[c].to_numpy() for c in SCORE_COLUMNS
                             if c not in ("name", "profile")}})
    head = pd.DataFrame([{
        "run_id": run_id, "created_at": created.isoformat(timespec="seconds"),
        "profile_name": run.profile.name, "profile_toml": toml, "area": run.area,
        "as_of": run.as_of, "scheme": run.scheme, "level": run.level,
        "inputs_fingerprint": run.fingerprint, "streets": len(s)}])
    with store.begin() as conn:
        store.insert_new(conn, "score_runs", head)
        store.insert_new(conn, "street_scores", frame)
        bump_data_version(store, conn)  # readers' caches (the geoservice) drop old results
    log.info("saved score run %s (%d streets, profile %s)", run_id, len(s), run.profile.name)
    return run_id


def load_scores(store, run_id: str | None = None) -> tuple[dict, pd.DataFrame]:
    """A stored run (None: the newest) as ``(run, scores)``: the ``score_runs`` row as a dict
    with ``profile`` (the parsed :class:`Profile`) added, and its scores in the columns of
    :func:`score_streets` (without ``name``), sorted by beat and rank."""
    t = schema.table("score_runs")
    runs = store.read("score_runs", where=None if run_id is None else t.c.run_id == run_id,
                      order_by=["created_at", "fid"])
    if not len(runs):
        raise NotFoundError("no stored score run" + (f" {run_id!r}" if run_id else ""))
    head = runs.iloc[-1].to_dict()
    head.pop("fid", None)
    head["profile"] = profile_from_toml(head["profile_toml"], source=f"run {head['run_id']}")
    ts = schema.table("street_scores")
    scores = store.read("street_scores", where=ts.c.run_id == head["run_id"])
    scores = scores.sort_values(["beat_id", "rank_in_beat"], na_position="first")
    scores["profile"] = head["profile_name"]
    cols = [c for c in SCORE_COLUMNS if c != "name"]
    return head, scores[cols].reset_index(drop=True)
