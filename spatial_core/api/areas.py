# SPDX-License-Identifier: GPL-3.0-or-later
"""Area profiles: beats, wards, npas and the force with their local priorities
(:func:`spatial_core.analytics.priorities.local_priorities`) and representation
(:func:`spatial_core.analytics.representation.representation`).

Police roles see their own areas (as in ``areas``) with vote counts and the per-group table
(population, members, respondents, ratios). Partners and the public see every area as
aggregates only: the respondent count passes through
:func:`spatial_core.analytics.disclosure.suppress_counts` over the area tree (households,
members and crimes also against the overlaps of beats and npas with wards, as in ``areas``, and
respondents against the same overlaps); priorities are published
only where that count is published and the area had enough respondents; the
under-represented groups are published only where the area's member count is (from
:func:`~spatial_core.analytics.disclosure.disclosed_area_counts`); votes per priority and the
per-group table are never published to them.

The disclosure decision is the scope's (:attr:`spatial_core.api.Scope.disclosure_k`): the CLI,
the service's ``area_profiles`` collection and the plugin get the same rows for the same scope.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from spatial_core.analytics.disclosure import counts_and_overlaps, pair_counts, suppress_counts
from spatial_core.analytics.population import AREA_LEVELS, respondents_frame
from spatial_core.api import FORCE, Scope
from spatial_core.store.boundary_sets import newest_per_area

__all__ = ["area_profiles", "area_profiles_table", "visible_rows", "LEVELS"]

LEVELS = AREA_LEVELS
"""The reporting levels profiled."""


def area_profiles(store, scope: Scope = FORCE, *, min_n: int = 10) -> pd.DataFrame:
    """The area profiles ``scope`` may see: police roles their own areas, exact; aggregate
    roles (partners, the public) every area, disclosure-controlled at ``scope.k``."""
    frame = area_profiles_table(store, k=scope.disclosure_k, min_n=min_n)
    mask = visible_rows(frame, scope)
    return frame if mask is None else frame[mask].reset_index(drop=True)


def visible_rows(frame: pd.DataFrame, scope: Scope) -> np.ndarray | None:
    """Which rows of :func:`area_profiles_table` ``scope`` may see (None: all). Aggregate
    roles see every area (their table is the disclosure-controlled one)."""
    if scope.aggregate or scope.areas is None:
        return None
    return scope.sees(frame["area_id"])


def area_profiles_table(store, *, k: int | None = None, min_n: int = 10) -> pd.DataFrame:
    """One row per area of every reporting level: priorities and representation; ``k``
    given: disclosure-controlled (see the module docstring). Every area, whoever asks:
    :func:`area_profiles` limits it to a scope."""
    from spatial_core.analytics.priorities import local_priorities
    from spatial_core.analytics.representation import representation

    counts, overlaps = counts_and_overlaps(store)
    a = store.read("areas", ["area_id", "level", "name", "boundary_set", "valid_from", "geom"],
                   where=None)
    a = a[a["level"].isin(LEVELS).to_numpy(dtype=bool)]
    a = pd.DataFrame({"area_id": a["area_id"].to_numpy(object),
                      "level": a["level"].to_numpy(object), "name": a["name"].to_numpy(object),
                      "valid_from": a["valid_from"].to_numpy(object),
                      "boundary_set": a["boundary_set"].to_numpy(object),
                      "geometry": a.geometry.to_numpy(object) if len(a) else []})
    a = newest_per_area(a)
    out = counts.merge(a[["area_id", "name", "geometry"]], on="area_id", how="left")
    respondents = respondents_frame(store)
    votes = pd.concat([local_priorities(store, level=lv, min_n=min_n, respondents=respondents)
                       for lv in LEVELS], ignore_index=True)
    n = votes.groupby("area_id")["n"].max()
    out["respondents"] = out["area_id"].map(n).fillna(0).astype("int64")
    pri = votes[votes["is_priority"].astype(bool)].sort_values(["area_id", "rank", "priority"])
    out["priorities"] = out["area_id"].map(pri.groupby("area_id")["label"].agg(list))
    note = votes.groupby("area_id")["note"].first()
    out["priority_note"] = out["area_id"].map(note)
    v = votes[votes["votes"] > 0].sort_values(["area_id", "rank", "priority"])
    out["votes"] = out["area_id"].map(v.groupby("area_id")[["priority", "votes"]].apply(
        lambda g: dict(zip(g["priority"], g["votes"].astype(int), strict=True))))
    reps = pd.concat([representation(store, area_level=lv) for lv in LEVELS],
                     ignore_index=True)
    below = reps[reps["member_below"].astype(bool)].sort_values(["area_id", "member_ratio"])
    out["under_represented"] = out["area_id"].map(below.groupby("area_id")["group_name"]
                                                  .agg(list))
    cols = ["group", "group_name", "population", "members", "member_ratio", "respondents",
            "respondent_ratio", "member_below"]
    table = reps[cols].astype(object).where(pd.notna(reps[cols]), None)
    table["area_id"] = reps["area_id"]
    out["representation"] = out["area_id"].map(
        table.groupby("area_id")[cols].apply(lambda g: g.to_dict("records")))
    for c in ("priorities", "under_represented"):
        out[c] = [x if isinstance(x, list) else [] for x in out[c]]
    if k is not None:
        # The respondent count (respondents naming a priority, as local_priorities counts
        # them) in every beat-ward and npa-ward overlap, so that a ward minus a beat inside
        # it cannot give away a small count of respondents either.
        named = store.read("survey_priorities", ["response_id"])["response_id"]
        r = respondents[respondents["response_id"].isin(set(named))]
        overlaps = overlaps.merge(
            pair_counts(r["beat_id"], r["npa_id"], r["ward_id"]).rename("respondents")
            .reset_index(), on=["area_a", "area_b"], how="outer")
        overlaps = overlaps.fillna(0)
        safe = suppress_counts(out[["area_id", "level", "parent_id", "respondents",
                                    "members", "households"]],
                               ["respondents", "members", "households"], k=k,
                               overlaps=overlaps)
        out["respondents"] = safe["respondents"].to_numpy(object)
        out["members"] = safe["members"].to_numpy(object)
        out["households"] = safe["households"].to_numpy(object)
        no_n = pd.isna(out["respondents"]).to_numpy(dtype=bool)
        no_m = pd.isna(out["members"]).to_numpy(dtype=bool)
        out["priorities"] = [None if w else p for p, w in zip(out["priorities"], no_n,
                                                              strict=True)]
        out.loc[no_n, "priority_note"] = (
            f"withheld: fewer than {k} respondents here, or withheld so that a small count "
            "elsewhere cannot be worked out from this one")
        out["under_represented"] = [None if w else u for u, w in
                                    zip(out["under_represented"], no_m, strict=True)]
        out["votes"] = None
        out["representation"] = None
        out["disclosure"] = f"k={k}"
    else:
        out["disclosure"] = "exact"
    out["crimes"] = out["crimes"].astype(object)
    if k is not None:
        out["crimes"] = suppress_counts(out[["area_id", "level", "parent_id", "crimes"]]
                                        .assign(crimes=out["crimes"].astype("int64")),
                                        ["crimes"], k=k, overlaps=overlaps
                                        )["crimes"].to_numpy(object)
    out["geometry"] = [g if isinstance(g, shapely.Geometry) else None for g in out["geometry"]]
    return out.reset_index(drop=True)
