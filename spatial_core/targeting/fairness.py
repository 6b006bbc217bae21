# SPDX-License-Identifier: GPL-3.0-or-later
"""Fairness of a targeting set-up: who was recommended and who was visited, by group, against
the population of the set-up's area.

For each group :func:`fairness_report` gives the population count and share, then for each
stage -- ``recommended`` (households on the walk lists), ``visited`` (households visited as
part of the set-up, :func:`spatial_core.targeting.setups.setup_visits`) and ``registered`` (visits
whose outcome was a registration) -- the count, the share of the stage, and the ratio

    ratio = stage share / population share,

with a 95% interval: the Wilson interval of the stage share divided by the population
share (the population is a count of every household, so its share is treated as known),
exactly as :mod:`spatial_core.analytics.representation` compares members with households. A ratio of
1 is proportionate; below 1 the group is recommended or reached less than its share of the
area; ``below_target`` flags stage ratios under ``target`` (default 0.7).

Groups are the geodemographic classes of the set-up's scheme and level (``by="class"``), or
self-declared demographics where they are known (``by="gender"``, ``"age_band"``,
``"ethnicity"``): households have none, so those stages count the current members living at
the visited (and registering) households, and their population comes from a census-style
table the caller passes (``group, count``); without it only the shares are given.
"""
from __future__ import annotations

import logging
from datetime import datetime

import numpy as np
import pandas as pd

from spatial_core.analytics.priorities import wilson_interval
from spatial_core.errors import InputError

__all__ = ["FAIRNESS_BY", "STAGES", "fairness_report"]

log = logging.getLogger(__name__)

FAIRNESS_BY = ("class", "gender", "age_band", "ethnicity")
STAGES = ("recommended", "visited", "registered")
_NOT_STATED = "not_stated"


def fairness_report(store, setup_id: str, *, now: str | datetime | None = None,
                    by: str = "class", target: float = 0.7,
                    population: pd.DataFrame | None = None) -> pd.DataFrame:
    """Recommended, visited and registered shares of each group against the area's population.

    Parameters
    ----------
    store : Store
    setup_id : str
    now : str or datetime, optional
        Visits up to this moment count (default the clock; an archived set-up stops at its
        ``archived_at``).
    by : {"class", "gender", "age_band", "ethnicity"}
    target : float
        Stage ratios below this are flagged ``<stage>_below``.
    population : DataFrame, optional
        ``group, count``: the population base (required for a ratio of self-declared
        demographics; for ``by="class"`` it replaces the household counts).

    Returns
    -------
    pandas.DataFrame
        One row per group: ``group``, ``group_name``, ``population``, ``population_share``,
        and per stage ``<stage>``, ``<stage>_share``, ``<stage>_ratio``,
        ``<stage>_ci_low``, ``<stage>_ci_high``, ``<stage>_below``; then ``note``. For
        demographics ``recommended`` is NaN (households have no declared demographics).
    """
    from spatial_core.targeting.setups import (
        get_setup,
        setup_area_households,
        setup_visits,
        stored_recommendation,
    )

    if by not in FAIRNESS_BY:
        raise InputError(f"by={by!r} is not one of {', '.join(FAIRNESS_BY)}")
    if not 0.0 < float(target) <= 1.0:
        raise InputError(f"target is a ratio between 0 and 1, got {target}")
    setup = get_setup(store, setup_id)
    _streets, listed = stored_recommendation(store, setup_id)
    visits = setup_visits(store, setup_id, now=now)
    visited = visits.drop_duplicates("uprn")["uprn"]
    registered = visits.loc[visits["outcome"] == "registered", "uprn"].drop_duplicates()
    if by == "class":
        area = setup_area_households(store, setup)
        group_of = pd.concat([listed.set_index("uprn")["grp"],
                              area.set_index("uprn")["group"]])
        group_of = group_of[~group_of.index.duplicated()].dropna().astype(str)
        pop = area["group"].dropna().astype(str).value_counts() if population is None else \
            _population(population)
        stages = {"recommended": listed["grp"].dropna().astype(str).value_counts(),
                  "visited": visited.map(group_of).dropna().value_counts(),
                  "registered": registered.map(group_of).dropna().value_counts()}
        names = _class_names(store, setup.scheme, setup.level)
    else:
        from spatial_core.analytics.population import members_frame

        day = str(visits["visited_at"].max())[:10] if len(visits) else setup.as_of
        m = members_frame(store, scheme=setup.scheme, level=setup.level, as_of=max(day,
                                                                                     setup.as_of))
        m = m[m[by].notna() & (m[by] != _NOT_STATED)]

        def declared(uprns: pd.Series) -> pd.Series:
            return m.loc[m["uprn"].isin(set(uprns)), by].astype(str).value_counts()

        pop = _population(population) if population is not None else pd.Series(dtype="float64")
        stages = {"recommended": None, "visited": declared(visited),
                  "registered": declared(registered)}
        names = {}
    out = _compare(pop, stages, target)
    out.insert(1, "group_name", out["group"].map(names).fillna(out["group"]))
    if by != "class" and population is None:
        out["note"] = (f"no population base for {by}: pass a census table (group, count) to "
                       "compare with the population")
    return out


def _population(population: pd.DataFrame) -> pd.Series:
    missing = {"group", "count"} - set(population.columns)
    if missing:
        raise InputError(f"population table lacks column(s) {sorted(missing)}: expected "
                         "group, count")
    counts = pd.to_numeric(population["count"], errors="coerce")
    if counts.isna().any() or (counts < 0).any():
        raise InputError("population counts must be numbers >= 0")
    return pd.Series(counts.to_numpy(), index=population["group"].astype(str)).groupby(
        level=0).sum()


def _class_names(store, scheme: str, level: int) -> dict:
    from spatial_core.io.classification import class_names

    try:
        return dict(class_names(store, scheme, level))
    except Exception:  # noqa: BLE001 - names are a nicety; codes still identify groups
        log.debug("no class names for %s level %s", scheme, level, exc_info=True)
        return {}


def _compare(pop: pd.Series, stages: dict[str, pd.Series | None], target: float
             ) -> pd.DataFrame:
    """The table from population counts and stage counts, each indexed by group.

    Examples
    --------
    >>> t = _compare(pd.Series({"a": 50, "b": 50}), {"visited": pd.Series({"a": 1, "b": 3})},
    ...              0.7)
    >>> t[["group", "visited_share", "visited_ratio", "visited_below"]].values.tolist()
    [['a', 0.25, 0.5, True], ['b', 0.75, 1.5, False]]
    """
    index = pd.Index(pop.index.astype(str))
    for s in stages.values():
        if s is not None:
            index = index.union(pd.Index(s.index.astype(str)))
    groups = sorted(index.unique(), key=lambda g: (len(g), g))
    out = pd.DataFrame({"group": groups})
    out["population"] = pop.reindex(groups).fillna(0).to_numpy("float64")
    total = out["population"].sum()
    ps = out["population"].to_numpy() / total if total > 0 else np.full(len(out), np.nan)
    out["population_share"] = ps
    notes = np.full(len(out), "", dtype=object)
    for stage, counts in stages.items():
        if counts is None:
            k = np.full(len(out), np.nan)
            n = np.nan
        else:
            k = counts.reindex(groups).fillna(0).to_numpy("float64")
            n = k.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            share = k / n if n and n > 0 else np.full(len(out), np.nan)
            ok = ps > 0
            ratio = np.where(ok, share / ps, np.nan)
            lo, hi = wilson_interval(np.nan_to_num(k), np.full(len(out), n if n == n else 0))
            lo, hi = np.where(ok, lo / ps, np.nan), np.where(ok, hi / ps, np.nan)
        out[stage] = k if counts is None else k.astype("int64")
        out[f"{stage}_share"] = share
        out[f"{stage}_ratio"] = ratio
        out[f"{stage}_ci_low"] = lo
        out[f"{stage}_ci_high"] = hi
        out[f"{stage}_below"] = np.nan_to_num(ratio, nan=np.inf) < target
        if counts is not None and not n:
            notes[notes == ""] = f"no households {stage} yet"
    notes[(out["population"].to_numpy() == 0) & (notes == "")] = "no population in this group"
    out["note"] = notes
    return out
