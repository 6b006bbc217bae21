# SPDX-License-Identifier: GPL-3.0-or-later
"""Representation (proportionality): whom a neighbourhood team hears, against who lives there.

For every area of a level and every group, :func:`representation` compares the group's share
of the *population* with its share among current *members* and among survey *respondents*:

- groups are the classes of a geodemographic scheme at any level (``by="class"``: the
  population is the households, each classified by
  :func:`spatial_core.analytics.population.households`), or self-declared demographics of members
  and respondents (``by="gender"``, ``"age_band"``, ``"ethnicity"`` (the five ONS groups),
  ``"ethnicity_detailed"`` (the 19), ``"language"``, ``"religion"`` or ``"origins"``). Their
  population is the census base imported into the store (:mod:`spatial_core.io.census`,
  :data:`CENSUS_BASE`), each output area's residents shared between the areas its
  households lie in (:func:`population_base`), or a census-style table the caller passes
  (``population``: ``area_id, group, count``); without either only the member and
  respondent shares are reported;
- ``ratio = member share / population share``, with a 95% interval: the Wilson interval of
  the member share divided by the population share. The population share is a count of every
  household (a census, not a sample), so it is treated as known;
- a group is *below target* when its ratio is below ``target`` (default 0.7: "each group at
  least 70% of its proportionate share"); ``clearly_below`` when even the upper end of the
  interval is below it.

:func:`underrepresented_households` is the layer of households of below-target groups with no
member (whom the team is not hearing), :func:`underrepresented_streets` the same per street,
:func:`member_locations` where members already are (counted per street or H3 cell, never their
points) and :func:`coverage` members per 100 households and responses per area.
``docs/analytics/representation.md`` gives the formulas and defaults.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial_core.analytics.population import (
    AREA_LEVELS,
    Period,
    area_table,
    households,
    households_per_area,
    members_frame,
    respondents_frame,
    restrict_to_areas,
)
from spatial_core.analytics.priorities import wilson_interval
from spatial_core.errors import InputError
from spatial_core.geo.crs import STORE_SRID

__all__ = [
    "DEFAULT_TARGET",
    "DEMOGRAPHICS",
    "BY",
    "CENSUS_BASE",
    "check_comparison",
    "population_base",
    "member_answers",
    "community_shares",
    "representation",
    "compare_to_population",
    "population_counts",
    "people_counts",
    "name_rows",
    "underrepresented_households",
    "underrepresented_streets",
    "member_locations",
    "coverage",
]

log = logging.getLogger(__name__)

DEFAULT_TARGET = 0.7
"""Each group should have at least 70% of its proportionate share."""

DEMOGRAPHICS = ("gender", "age_band", "ethnicity")
"""Self-declared demographics recorded for members and respondents."""

CENSUS_BASE: dict[str, tuple[str, str]] = {
    "ethnicity": ("TS021", "parent"),
    "ethnicity_detailed": ("TS021", "grp"),
    "language": ("TS024", "grp"),
    "religion": ("TS030", "grp"),
    "origins": ("origins", "grp"),
}
"""Each census-based ``by``: the census table of its population base and the column of
``census_counts`` that is its group (``parent``: the broad group of the five)."""

BY = ("class", *DEMOGRAPHICS, "ethnicity_detailed", "language", "religion", "origins")
"""Every grouping :func:`representation` takes (the fronts offer these)."""
_BY = BY
NOT_STATED = "not_stated"
_ETHNIC_5_NAMES = {
    "asian": "Asian, Asian British or Asian Welsh",
    "black": "Black, Black British, Black Welsh, Caribbean or African",
    "mixed": "Mixed or Multiple ethnic groups",
    "white": "White",
    "other": "Other ethnic group",
}


def check_comparison(by: str, area_level: str, target: float) -> None:
    """The checks of a comparison with the population: ``by`` one of :data:`BY`, a reporting
    level, a target ratio in (0, 1]."""
    if by not in _BY:
        raise InputError(f"by={by!r} is not one of {', '.join(_BY)}")
    if area_level not in AREA_LEVELS:
        raise InputError(f"area level {area_level!r} is not one of {', '.join(AREA_LEVELS)}")
    if not 0.0 < float(target) <= 1.0:
        raise InputError(f"target is a ratio between 0 and 1 (0.7 = 70% of the proportionate "
                         f"share), got {target}")


def _counts(frame: pd.DataFrame, area_col: str, group_col: str) -> pd.Series:
    f = frame[[area_col, group_col]].dropna()
    return f.groupby([area_col, group_col]).size()


def _population_table(population: pd.DataFrame) -> pd.Series:
    need = {"area_id", "group", "count"}
    missing = need - set(population.columns)
    if missing:
        raise InputError(f"population table lacks column(s) {sorted(missing)}: expected "
                         "area_id, group, count (e.g. census households or residents per group)")
    counts = pd.to_numeric(population["count"], errors="coerce")
    if counts.isna().any() or (counts < 0).any():
        bad = population.loc[counts.isna() | (counts < 0), "count"].iloc[0]
        raise InputError(f"population count {bad!r} is not a non-negative number")
    return pd.Series(counts.to_numpy(), index=pd.MultiIndex.from_arrays(
        [population["area_id"].astype(str), population["group"].astype(str)])).groupby(
        level=[0, 1]).sum()


def member_answers(store, frame: pd.DataFrame, by: str, *, own: str | None = None
                   ) -> np.ndarray:
    """The group of each person of ``frame`` (members or respondents, with ``member_id``) for
    ``by``: the one home of the mapping from self-declared answers to census groups.

    ``ethnicity`` gives the broad group of the five (a detailed answer's parent, a broad-only
    answer itself); ``ethnicity_detailed`` the detailed slug (broad-only answers: None);
    ``language``, ``religion`` and ``origins`` the member's stored answer (a respondent's
    through their member id). ``own`` names a column of ``frame`` holding the person's own
    answer, used first (a survey response's ethnicity).
    """
    from spatial_core.io.census import ETHNIC_19
    from spatial_core.io.members import ETHNICITIES

    if by in ("ethnicity", "ethnicity_detailed"):
        raw = pd.Series(frame[own or "ethnicity"].to_numpy(dtype=object), dtype=object)
        if by == "ethnicity":
            return raw.map(lambda v: ETHNICITIES.get(v, v) if isinstance(v, str) else None
                           ).to_numpy(dtype=object)
        return raw.where(raw.isin(list(ETHNIC_19)) | (raw == NOT_STATED), None).to_numpy(
            dtype=object)
    if by not in ("language", "religion", "origins"):
        return frame[by].to_numpy(dtype=object)
    m = store.read("members", ["member_id", by]).drop_duplicates("member_id")
    return frame["member_id"].map(m.set_index("member_id")[by]).to_numpy(dtype=object)


def population_base(store, by: str, area_level: str = "beat",
                    households_frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """The census population base of ``by`` per area: ``area_id, group, count``.

    Each output area's residents are shared between the areas of ``area_level`` its stored
    households lie in, in proportion to its households there (an output area wholly in one
    beat goes to that beat). Empty when the census table was not imported.
    """
    from spatial_core.io.census import census_counts

    if by not in CENSUS_BASE:
        raise InputError(f"by={by!r} has no census base; expected one of "
                         f"{', '.join(CENSUS_BASE)}")
    if area_level not in AREA_LEVELS:
        raise InputError(f"area level {area_level!r} is not one of {', '.join(AREA_LEVELS)}")
    table, column = CENSUS_BASE[by]
    c = census_counts(store, table)
    empty = pd.DataFrame({"area_id": pd.Series([], dtype=object),
                          "group": pd.Series([], dtype=object),
                          "count": pd.Series([], dtype="float64")})
    if not len(c):
        return empty
    h = households(store) if households_frame is None else households_frame
    col = f"{area_level}_id"
    share = h.dropna(subset=["oa_code", col]).groupby(["oa_code", col]).size().rename("n")
    share = (share / share.groupby(level=0).transform("sum")).rename("w").reset_index()
    c = c.assign(group=c[column]).dropna(subset=["group"])
    c = c[c["group"] != NOT_STATED]
    out = c.merge(share, on="oa_code", how="inner")
    out["count"] = out["count"].astype("float64") * out["w"]
    out = out.groupby([col, "group"], as_index=False)["count"].sum()
    return out.rename(columns={col: "area_id"})[["area_id", "group", "count"]] if len(out) \
        else empty


def _census_names(store, by: str) -> dict:
    from spatial_core.io.census import ETHNIC_19, census_counts

    if by == "ethnicity":
        return dict(_ETHNIC_5_NAMES)
    if by == "ethnicity_detailed":
        return dict(ETHNIC_19)
    c = census_counts(store, CENSUS_BASE[by][0])
    return c.drop_duplicates("grp").set_index("grp")["category"].to_dict() if len(c) else {}


def representation(store, *, scheme: str = "oac2011", level: int | str = 1,
                   area_level: str = "beat", by: str = "class", target: float = DEFAULT_TARGET,
                   period: str | Period | None = None, as_of: str | None = None,
                   population: pd.DataFrame | None = None,
                   households_frame: pd.DataFrame | None = None,
                   min_n: float = 0) -> pd.DataFrame:
    """Population, member and respondent shares of every group in every area, and their ratios.

    Parameters
    ----------
    scheme, level : str, int
        The geodemographic scheme and level (1 = coarsest) of the groups when ``by="class"``;
        members and respondents are classified by where they live.
    area_level : str
        ``beat``, ``ward``, ``npa`` or ``force``.
    by : str
        ``class`` (default), ``gender``, ``age_band``, ``ethnicity`` (the five ONS groups),
        ``ethnicity_detailed`` (the 19), ``language``, ``religion`` or ``origins``
        (:data:`BY`).
    target : float
        The ratio below which a group is flagged (default 0.7).
    period : str, optional
        Survey responses counted (default all); see
        :func:`spatial_core.analytics.population.parse_period`.
    as_of : str, optional
        The day members are counted on (default today).
    population : DataFrame, optional
        ``area_id, group, count``: the population base of self-declared demographics (for
        example census residents per ethnic group per ward); for ``by="class"`` it replaces
        the household counts. Without it a census-based ``by`` (:data:`CENSUS_BASE`) takes
        the stored census base (:func:`population_base`).
    min_n : float
        The smallest expected count (members in the area × the group's population share)
        a group is judged on: below it the group is not flagged and the note says so
        (default 0: every group is judged).
    households_frame : DataFrame, optional
        The :func:`~spatial_core.analytics.population.households` frame (same scheme, level and
        ``as_of``, all areas) when the caller already has it.

    Returns
    -------
    pandas.DataFrame
        One row per (area, group) with anyone in it: ``area_id``, ``area_name``, ``group``,
        ``group_name``, ``population``, ``population_share``, ``members``, ``member_share``,
        ``member_ratio``, ``member_ci_low``, ``member_ci_high``, ``member_below``,
        ``member_clearly_below``, ``member_n`` (members of the area who answered),
        ``member_expected`` (``member_n`` × population share), the same for
        ``respondents``/``respondent_…``, and ``note``.
        Shares are of the area's classified total (for demographics, of those who answered:
        ``not_stated`` is left out); ratios are NaN without a population share.

    Examples
    --------
    The comparison itself, on counts (a group with half its share is below target):

    >>> pop = pd.Series([50, 50], index=pd.MultiIndex.from_tuples(
    ...     [("beat:A", "1"), ("beat:A", "2")]))
    >>> mem = pd.Series([25, 75], index=pop.index)
    >>> t = _compare(pop, mem, mem, 0.7)
    >>> t[["group", "member_ratio", "member_below"]].values.tolist()
    [['1', 0.5, True], ['2', 1.5, False]]
    """
    check_comparison(by, area_level, target)
    h = households(store, scheme=scheme, level=level, as_of=as_of) if households_frame is None \
        else households_frame
    m = members_frame(store, scheme=scheme, level=level, as_of=as_of, addresses=h)
    r = respondents_frame(store, scheme=scheme, level=level, period=period, addresses=h)
    if float(min_n) < 0:
        raise InputError(f"min_n is a count of at least 0, got {min_n}")
    pop, names = population_counts(store, by, area_level, households_frame=h, scheme=scheme,
                                   level=level, population=population)
    out = compare_to_population(pop, {"member": people_counts(store, m, by, area_level),
                                      "respondent": people_counts(store, r, by, area_level)},
                                target, min_n=float(min_n))
    return name_rows(store, out, by, pop, names)


def population_counts(store, by: str, area_level: str, *, households_frame: pd.DataFrame,
                      scheme: str = "oac2011", level: int | str = 1,
                      population: pd.DataFrame | None = None) -> tuple[pd.Series, dict]:
    """The population of every (area, group) of ``by`` at ``area_level`` and the groups'
    names: households per class (``by="class"``), the census base of a census-based ``by``
    (:func:`population_base`), or ``population`` (``area_id, group, count``) when given;
    an empty series when there is none (``gender``, ``age_band`` without a table)."""
    check_comparison(by, area_level, DEFAULT_TARGET)
    h = households_frame
    if by in CENSUS_BASE and population is None:
        population = population_base(store, by, area_level, households_frame=h)
    if by == "class":
        pop = _counts(h, f"{area_level}_id", "group") if population is None \
            else _population_table(population)
        return pop, _class_names(store, scheme, level)
    pop = _population_table(population) if population is not None and len(population) \
        else pd.Series([], dtype="float64", index=pd.MultiIndex.from_arrays([[], []]))
    return pop, (_census_names(store, by) if by in CENSUS_BASE else {})


def people_counts(store, people: pd.DataFrame, by: str, area_level: str) -> pd.Series:
    """People (a :func:`members_frame` or :func:`respondents_frame`, or part of one) per
    (area, group) of ``by``: their class, or their self-declared answer
    (:func:`member_answers`); ``not_stated`` and no answer are left out."""
    col = f"{area_level}_id"
    if by == "class":
        return _counts(people, col, "group")
    p = people.assign(_answer=member_answers(store, people, by))
    # "not stated" is an answer about the question, not a group of people.
    return _counts(p[p["_answer"] != NOT_STATED], col, "_answer")


def name_rows(store, out: pd.DataFrame, by: str, pop: pd.Series, names: dict) -> pd.DataFrame:
    """A :func:`compare_to_population` table with ``area_name`` and ``group_name`` added, and
    a note saying which table to import when ``by`` has no population base."""
    areas = area_table(store)
    out.insert(1, "area_name", out["area_id"].map(areas.set_index("area_id")["name"]).fillna(
        out["area_id"]))
    out.insert(3, "group_name", out["group"].map(names).fillna(out["group"]))
    if by != "class" and not len(pop):
        table = CENSUS_BASE.get(by, ("", ""))[0]
        how = (f"import census table {table} (lpt import census FILE)" if table
               else "pass a census table (area_id, group, count)")
        out["note"] = f"no population base for {by}: {how} to compare with the population"
    return out


def _class_names(store, scheme: str, level: int | str) -> dict:
    from spatial_core.io.classification import class_names

    try:
        return class_names(store, scheme, level)
    except InputError:
        raise
    except Exception:  # noqa: BLE001 - names are a nicety; codes still identify the groups
        log.debug("no class names for %s level %s", scheme, level, exc_info=True)
        return {}


def _compare(pop: pd.Series, mem: pd.Series, resp: pd.Series, target: float,
             min_n: float = 0.0) -> pd.DataFrame:
    """The comparison table from three counts indexed by (area_id, group)."""
    return compare_to_population(pop, {"member": mem, "respondent": resp}, target, min_n)


def compare_to_population(pop: pd.Series, people: Mapping[str, pd.Series], target: float,
                          min_n: float = 0.0) -> pd.DataFrame:
    """Each kind of people's share of every (area, group) against the population's.

    ``pop`` and each series of ``people`` are counts indexed by (area_id, group); for each
    ``who`` of ``people`` the table has ``{who}s`` (the count), ``{who}_share``,
    ``{who}_ratio`` with its Wilson 95% interval ``{who}_ci_low``/``{who}_ci_high`` divided
    by the population share, ``{who}_below`` (ratio under ``target``, judged only where at
    least ``min_n`` are expected), ``{who}_clearly_below``, ``{who}_n`` and
    ``{who}_expected``, then ``note``. :func:`representation` compares members and
    respondents; :mod:`spatial_core.analytics.networks` the key individual network and
    the advisory group.

    Examples
    --------
    >>> pop = pd.Series([80, 20], index=pd.MultiIndex.from_tuples(
    ...     [("beat:A", "1"), ("beat:A", "2")]))
    >>> kin = pd.Series([9, 1], index=pop.index)
    >>> t = compare_to_population(pop, {"network_member": kin}, 0.7)
    >>> t[["group", "network_members", "network_member_ratio", "network_member_below"]
    ...   ].values.tolist()
    [['1', 9, 1.125, False], ['2', 1, 0.5, True]]
    """
    index = pop.index
    for counts in people.values():
        index = index.union(counts.index)
    out = pd.DataFrame(index=pd.MultiIndex.from_tuples(list(index), names=["area_id", "group"])
                       if len(index) else pd.MultiIndex.from_arrays([[], []],
                                                                    names=["area_id", "group"]))
    out["population"] = pop.reindex(out.index).fillna(0).to_numpy(dtype="float64")
    out = out.reset_index()
    total = out.groupby("area_id")["population"].transform("sum")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["population_share"] = np.where(total > 0, out["population"] / total, np.nan)
    key = pd.MultiIndex.from_frame(out[["area_id", "group"]])
    notes = np.full(len(out), "", dtype=object)
    for who, counts in people.items():
        k = counts.reindex(key).fillna(0).to_numpy(dtype="float64")
        n = pd.Series(k).groupby(out["area_id"].to_numpy()).transform("sum").to_numpy()
        plural = f"{who}s"
        out[plural] = k.astype("int64")
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(n > 0, k / n, np.nan)
            ps = out["population_share"].to_numpy(dtype="float64")
            ok = ps > 0
            ratio = np.where(ok, share / ps, np.nan)
            lo, hi = wilson_interval(k, n)
            lo, hi = np.where(ok, lo / ps, np.nan), np.where(ok, hi / ps, np.nan)
        out[f"{who}_share"] = share
        out[f"{who}_ratio"] = ratio
        out[f"{who}_ci_low"] = lo
        out[f"{who}_ci_high"] = hi
        expected = n * out["population_share"].to_numpy(dtype="float64")
        judged = np.nan_to_num(expected, nan=0.0) >= min_n if min_n > 0 else \
            np.ones(len(out), dtype=bool)
        out[f"{who}_below"] = (np.nan_to_num(ratio, nan=np.inf) < target) & judged
        out[f"{who}_clearly_below"] = (np.nan_to_num(hi, nan=np.inf) < target) & judged
        out[f"{who}_n"] = n.astype("int64")
        out[f"{who}_expected"] = expected
        said = plural.replace("_", " ")
        notes[(n == 0) & (notes == "")] = f"no {said} in the area"
        notes[(n > 0) & ~judged & (notes == "")] = (
            f"fewer than {min_n:g} {said} expected in this group: too few to judge")
    notes[(out["population"].to_numpy() == 0) & (notes == "")] = "no population in this group"
    out["note"] = notes
    return out.sort_values(["area_id", "group"], kind="stable").reset_index(drop=True)


def underrepresented_households(store, *, scheme: str = "oac2011", level: int | str = 1,
                                area_level: str = "beat", target: float = DEFAULT_TARGET,
                                areas: Sequence[str] | None = None, as_of: str | None = None,
                                table: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """Households of groups below target (members) in their area that have no member.

    Parameters
    ----------
    areas : list of str, optional
        Only households in these areas (``beat:…``, ``ward:…`` …).
    table : DataFrame, optional
        A :func:`representation` result (``by="class"`` at ``area_level``) to use.

    Returns
    -------
    geopandas.GeoDataFrame
        The :func:`households` columns plus ``member_ratio`` of the group in the area and
        ``geom`` (the address point, EPSG:27700).
    """
    check_comparison("class", area_level, target)
    col = f"{area_level}_id"
    h = households(store, scheme=scheme, level=level, as_of=as_of)
    if table is None:
        table = representation(store, scheme=scheme, level=level, area_level=area_level,
                               target=target, as_of=as_of, households_frame=h)
    below = table[table["member_below"] & (table["population"] > 0)]
    h = restrict_to_areas(h, areas)
    h = h[~h["is_member"] & h["group"].notna()]
    h = h.merge(below[["area_id", "group", "member_ratio"]].rename(columns={"area_id": col}),
                on=[col, "group"], how="inner")
    geom = shapely.points(h["x"].to_numpy(dtype="float64"), h["y"].to_numpy(dtype="float64"))
    return gpd.GeoDataFrame(h.reset_index(drop=True), geometry=gpd.GeoSeries(
        geom, crs=STORE_SRID), crs=STORE_SRID).rename_geometry("geom")


def underrepresented_streets(store, *, scheme: str = "oac2011", level: int | str = 1,
                             area_level: str = "beat", target: float = DEFAULT_TARGET,
                             areas: Sequence[str] | None = None,
                             as_of: str | None = None) -> gpd.GeoDataFrame:
    """Per street: households, members, and under-represented households without a member.

    Returns
    -------
    geopandas.GeoDataFrame
        ``street_id``, ``name``, ``beat_id``, ``ward_id``, ``households``, ``members``
        (households with a member), ``underrepresented`` (households of below-target groups
        with no member), ``groups`` (their group codes, comma-separated) and ``geom``; only
        streets with at least one under-represented household, most first.
    """
    under = underrepresented_households(store, scheme=scheme, level=level, area_level=area_level,
                                        target=target, areas=areas, as_of=as_of)
    h = households(store, scheme=scheme, level=level, areas=areas, as_of=as_of)
    per = h.dropna(subset=["street_id"]).groupby("street_id").agg(
        households=("uprn", "size"), members=("is_member", "sum"))
    u = under.dropna(subset=["street_id"]).groupby("street_id").agg(
        underrepresented=("uprn", "size"),
        groups=("group", lambda g: ",".join(sorted(set(map(str, g))))))
    from spatial_core.store import schema

    t = schema.table("streets")
    ids = u.index.tolist()
    streets = store.read("streets", ["street_id", "name", "beat_id", "ward_id", "geom"],
                         where=t.c.street_id.in_(ids)) if ids else None
    if streets is None or not len(streets):
        return gpd.GeoDataFrame({"street_id": [], "name": [], "beat_id": [], "ward_id": [],
                                 "households": [], "members": [], "underrepresented": [],
                                 "groups": []}, geometry=gpd.GeoSeries([], crs=STORE_SRID),
                                crs=STORE_SRID).rename_geometry("geom")
    out = streets.merge(per, left_on="street_id", right_index=True, how="left").merge(
        u, left_on="street_id", right_index=True, how="inner")
    out["members"] = out["members"].fillna(0).astype("int64")
    out["households"] = out["households"].fillna(0).astype("int64")
    out = out.sort_values(["underrepresented", "street_id"], ascending=[False, True])
    return out[["street_id", "name", "beat_id", "ward_id", "households", "members",
                "underrepresented", "groups", "geom"]].reset_index(drop=True)


def member_locations(store, *, by: str = "street", resolution: int | None = None,
                     scheme: str = "oac2011", level: int | str = 1,
                     as_of: str | None = None) -> pd.DataFrame:
    """Where members already are, counted per street or per H3 cell (never their points).

    Parameters
    ----------
    by : {"street", "cell"}
        ``street``: members whose household is on the street; ``cell``: members per H3 cell
        at ``resolution`` (default one coarser than the store's, about 0.1 km² at 9).

    Returns
    -------
    pandas.DataFrame
        ``street_id`` or ``cell``, ``members``, ``households`` (addresses in the unit),
        ``members_per_100`` (members per 100 households; NaN without households) and
        ``groups`` (member count per group, e.g. ``"1:3,6:12"``).
    """
    if by not in ("street", "cell"):
        raise InputError(f"by={by!r} is not one of street, cell")
    h = households(store, scheme=scheme, level=level, as_of=as_of)
    m = members_frame(store, scheme=scheme, level=level, as_of=as_of, addresses=h)
    if by == "street":
        street = h.drop_duplicates("uprn").set_index("uprn")["street_id"]
        m = m.assign(street_id=m["uprn"].map(street))
        key, hk = "street_id", h["street_id"]
        mk = m["street_id"]
    else:
        res = (store.h3_resolution - 1) if resolution is None else int(resolution)
        if not 0 <= res <= store.h3_resolution:
            raise InputError(f"resolution must be between 0 and the store's {store.h3_resolution},"
                             f" got {resolution}")
        key = "cell"
        hk = _parent_cells(h["cell"], res)
        mk = _parent_cells(m["cell"], res)
    mm = pd.DataFrame({key: mk.to_numpy(), "group": m["group"].to_numpy()}).dropna(subset=[key])
    counts = mm.groupby(key).size().rename("members")
    homes = pd.Series(hk.to_numpy()).dropna().value_counts().rename("households")
    out = pd.concat([counts, homes], axis=1).fillna(0)
    out = out[out["members"] > 0]
    groups = (mm.dropna(subset=["group"]).groupby([key, "group"]).size()
              .rename("k").reset_index())
    groups["text"] = groups["group"].astype(str) + ":" + groups["k"].astype(str)
    out["groups"] = groups.groupby(key)["text"].agg(",".join).reindex(out.index).fillna("")
    out["members"] = out["members"].astype("int64")
    out["households"] = out["households"].astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["members_per_100"] = np.where(out["households"] > 0,
                                          100.0 * out["members"] / out["households"], np.nan)
    out.index.name = key
    out = out.reset_index()
    if key == "cell":
        out["cell"] = out["cell"].astype("int64")
    return out[[key, "members", "households", "members_per_100", "groups"]].sort_values(
        key).reset_index(drop=True)


def _parent_cells(cells, res: int) -> pd.Series:
    """H3 parents at ``res`` (NA for no cell; Int64, since cells do not fit in a float)."""
    from spatial_core.geo.cells import cells_to_parents

    c = np.asarray(cells, dtype="int64")
    ok = c > 0
    out = np.zeros(len(c), dtype="int64")
    if ok.any():
        out[ok] = cells_to_parents(c[ok], res)
    return pd.Series(out, dtype="Int64").mask(~ok)


def coverage(store, *, area_level: str = "beat", period: str | Period | None = None,
             as_of: str | None = None, min_members_per_100: float = 5.0,
             min_responses: int = 10, members: pd.DataFrame | None = None,
             respondents: pd.DataFrame | None = None) -> pd.DataFrame:
    """Members per 100 households and survey responses per area; areas with low coverage.

    Parameters
    ----------
    min_members_per_100 : float
        An area with fewer members per 100 households has low coverage (default 5).
    min_responses : int
        An area with fewer responses in ``period`` has low coverage (default 10, the default
        minimum n of local priorities).
    members, respondents : DataFrame, optional
        :func:`members_frame` as of ``as_of`` and :func:`respondents_frame` of ``period``
        when the caller has read them already (several levels of the same moment).

    Returns
    -------
    pandas.DataFrame
        ``area_id``, ``area_name``, ``households``, ``members``, ``members_per_100``,
        ``responses``, ``responses_per_100``, ``low_coverage`` and ``reason``; every stored
        area of the level, lowest members per 100 first.
    """
    check_comparison("class", area_level, DEFAULT_TARGET)
    col = f"{area_level}_id"
    homes = households_per_area(store, area_level)
    m = members_frame(store, as_of=as_of) if members is None else members
    r = respondents_frame(store, period=period) if respondents is None else respondents
    areas = area_table(store)
    areas = areas[areas["level"] == area_level]
    out = pd.DataFrame({"area_id": sorted(set(areas["area_id"]) | set(homes.index))})
    out["area_name"] = out["area_id"].map(areas.set_index("area_id")["name"]).fillna(
        out["area_id"])
    out["households"] = out["area_id"].map(homes).fillna(0).astype("int64")
    for name, frame in (("members", m), ("responses", r)):
        out[name] = out["area_id"].map(frame[col].value_counts()).fillna(0).astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = out["households"].to_numpy(dtype="float64")
        out["members_per_100"] = np.where(hh > 0, 100.0 * out["members"] / hh, np.nan)
        out["responses_per_100"] = np.where(hh > 0, 100.0 * out["responses"] / hh, np.nan)
    few_m = np.nan_to_num(out["members_per_100"].to_numpy(), nan=0.0) < min_members_per_100
    few_r = out["responses"].to_numpy() < min_responses
    out["low_coverage"] = few_m | few_r
    reason = np.full(len(out), "", dtype=object)
    for i in np.flatnonzero(few_m | few_r):
        parts = []
        if few_m[i] and out["households"].iat[i] == 0:
            parts.append("no households stored in the area")
        elif few_m[i]:
            parts.append(f"{out['members_per_100'].iat[i]:.1f} members per 100 households "
                         f"(< {min_members_per_100:g})")
        if few_r[i]:
            parts.append(f"{out['responses'].iat[i]} responses (< {min_responses})")
        reason[i] = "; ".join(parts)
    out["reason"] = reason
    return out.sort_values(["members_per_100", "area_id"], na_position="first").reset_index(
        drop=True)


def community_shares(store, by: str, group: str, households_frame: pd.DataFrame
                     ) -> tuple[np.ndarray, str, str]:
    """The share of a community in the output area of each household of ``households_frame``
    (a :func:`households` frame): from the census base of ``by`` (:data:`CENSUS_BASE`) when it
    was imported, else from the members' self-declared answers (members living in the output
    area who answered). Returns ``(share per household, group name, source)``.

    ``group`` is the group's slug (``polish``, ``white_other``, ``eastern_european`` …); one
    that is nowhere in the base is an error listing those that are.
    """
    from spatial_core.io.census import census_counts

    if by not in CENSUS_BASE:
        raise InputError(f"a community is one of {', '.join(CENSUS_BASE)} and a group, such "
                         f"as language:polish; got {by!r}")
    table, column = CENSUS_BASE[by]
    h = households_frame
    c = census_counts(store, table)
    if len(c):
        c = c.assign(group=c[column])
        total = c.groupby("oa_code")["count"].sum()
        counts = c[c["group"] == group].groupby("oa_code")["count"].sum()
        available = sorted(set(c["group"].dropna()) - {NOT_STATED})
        source = f"census {table}"
    else:
        m = members_frame(store)
        m = m.assign(_answer=member_answers(store, m, by),
                     oa_code=m["uprn"].map(h.drop_duplicates("uprn").set_index("uprn")[
                         "oa_code"]))
        m = m.dropna(subset=["_answer", "oa_code"])
        m = m[m["_answer"] != NOT_STATED]
        total = m.groupby("oa_code").size()
        counts = m[m["_answer"] == group].groupby("oa_code").size()
        available = sorted(set(m["_answer"]))
        source = "members' self-declared answers"
    if group not in available:
        raise InputError(f"no {by} group {group!r} in the {source}; expected one of "
                         f"{', '.join(available) or '(none: import the census table)'}")
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (counts.reindex(total.index).fillna(0) / total).where(total > 0)
    p = h["oa_code"].map(share).fillna(0.0).to_numpy(dtype="float64")
    names = _census_names(store, by) if len(c) else {}
    name = str(names.get(group, group))
    return p, name if by == "ethnicity_detailed" else name.rsplit(": ", 1)[-1], source
