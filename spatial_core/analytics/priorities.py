# SPDX-License-Identifier: GPL-3.0-or-later
"""Local priorities: what survey respondents name, per beat, ward, neighbourhood policing area
(npa) and force, for any period.

- :func:`count_votes`: votes per priority per area, each share with its n and a Wilson 95%
  confidence interval;
- :func:`local_priorities`: the same rows marked ``is_priority`` by a rule: the ``top`` N
  priorities of the area (ties at the N-th place included) or every priority whose ``share``
  reaches a threshold. An area with fewer than ``min_n`` respondents gets no priority, and
  its rows say so;
- :func:`priority_summary`: per priority, on how many areas it is a local priority, out of
  the areas with enough respondents: "Anti-social behaviour is a local priority on 62 of
  our 66 beats".

A *respondent* of an area is a survey response of the period placed in that area (see
:func:`spatial_core.analytics.population.respondents_frame`) that named at least one priority; the
share of a priority is the number of those respondents who named it divided by their number.
Respondents may name several priorities, so shares do not add up to one.

``docs/analytics/priorities.md`` gives the formulas and defaults.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from spatial_core.analytics.population import AREA_LEVELS, Period, area_table, respondents_frame
from spatial_core.errors import InputError

__all__ = [
    "Z95",
    "RULES",
    "LEVEL_NOUNS",
    "wilson_interval",
    "count_votes",
    "local_priorities",
    "priority_summary",
    "PRIORITY_GROUPINGS",
    "priorities_by_group",
]

log = logging.getLogger(__name__)

Z95 = 1.959963984540054
"""The standard normal quantile of a two-sided 95% interval."""

RULES = ("top", "share")
LEVEL_NOUNS = {"beat": ("beat", "beats"), "ward": ("ward", "wards"),
               "npa": ("neighbourhood policing area", "neighbourhood policing areas"),
               "force": ("force", "forces")}


def wilson_interval(successes, n, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval of a proportion ``successes / n`` (NaN where ``n`` is 0).

    Unlike the normal ("Wald") interval it stays inside [0, 1] and behaves for small n and
    shares near 0 or 1, which is most beats.

    Examples
    --------
    >>> lo, hi = wilson_interval([6, 0], [10, 20])
    >>> [round(v, 4) for v in (lo[0], hi[0], lo[1], hi[1])]
    [0.3127, 0.8318, 0.0, 0.1611]
    """
    k = np.asarray(successes, dtype="float64")
    n = np.asarray(n, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        z2 = z * z
        denom = 1.0 + z2 / n
        centre = (p + z2 / (2.0 * n)) / denom
        half = z * np.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
        lo = np.clip(centre - half, 0.0, 1.0)
        hi = np.clip(centre + half, 0.0, 1.0)
    bad = ~(n > 0)
    lo = np.where(bad, np.nan, lo)
    hi = np.where(bad, np.nan, hi)
    return lo, hi


def _check_level(level: str) -> str:
    if level not in AREA_LEVELS:
        raise InputError(f"level {level!r} is not one of {', '.join(AREA_LEVELS)}")
    return level


def count_votes(store, *, level: str = "beat", period: str | Period | None = None,
                respondents: pd.DataFrame | None = None) -> pd.DataFrame:
    """Votes per priority per area at ``level``, with shares and Wilson 95% intervals.

    Parameters
    ----------
    store : Store
    level : str
        ``beat``, ``ward``, ``npa`` or ``force``.
    period : str, optional
        ``"2026Q1"``, ``"2026-01..2026-06"`` … (see
        :func:`spatial_core.analytics.population.parse_period`);
        None counts every response.
    respondents : DataFrame, optional
        A :func:`~spatial_core.analytics.population.respondents_frame` the caller already has.

    Returns
    -------
    pandas.DataFrame
        One row per (area, priority), for every stored area of the level and every priority of
        :data:`spatial_core.io.surveys.PRIORITIES` (plus any other slug named): ``area_id``,
        ``area_name``, ``priority``, ``label``, ``votes``, ``n`` (respondents of the area who
        named at least one priority), ``responses`` (all responses placed in the area),
        ``share`` (``votes / n``; NaN when n is 0), ``ci_low``, ``ci_high``. Sorted by area,
        then votes (most first).
    """
    from spatial_core.io.surveys import PRIORITIES

    _check_level(level)
    col = f"{level}_id"
    r = respondents_frame(store, period=period) if respondents is None else respondents
    pri = store.read("survey_priorities", ["response_id", "priority"])
    areas = area_table(store)
    areas = areas[areas["level"] == level]
    placed = r[["response_id", col]].dropna()
    votes = pri.merge(placed, on="response_id", how="inner")
    n = votes.groupby(col)["response_id"].nunique()
    responses = placed.groupby(col).size()
    counts = votes.groupby([col, "priority"]).size()
    area_ids = sorted(set(areas["area_id"]) | set(responses.index))
    slugs = list(PRIORITIES) + sorted(set(votes["priority"]) - set(PRIORITIES))
    grid = pd.MultiIndex.from_product([area_ids, slugs], names=["area_id", "priority"])
    out = pd.DataFrame(index=grid).reset_index()
    key = pd.MultiIndex.from_frame(out[["area_id", "priority"]])
    out["votes"] = counts.reindex(key).fillna(0).to_numpy(dtype="int64")
    out["n"] = out["area_id"].map(n).fillna(0).astype("int64")
    out["responses"] = out["area_id"].map(responses).fillna(0).astype("int64")
    names = areas.set_index("area_id")["name"]
    out.insert(1, "area_name", out["area_id"].map(names).fillna(out["area_id"]))
    out.insert(3, "label", out["priority"].map(PRIORITIES).fillna(out["priority"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share"] = np.where(out["n"] > 0, out["votes"] / out["n"].where(out["n"] > 0), np.nan)
    out["ci_low"], out["ci_high"] = wilson_interval(out["votes"], out["n"])
    out = out.sort_values(["area_id", "votes", "priority"], ascending=[True, False, True],
                          kind="stable").reset_index(drop=True)
    return out


def local_priorities(store, *, level: str = "beat", period: str | Period | None = None,
                     rule: str = "top", top_n: int = 3, threshold: float = 0.25,
                     min_n: int = 10, respondents: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`count_votes` with each area's local priorities marked.

    Parameters
    ----------
    rule : {"top", "share"}
        ``top``: the ``top_n`` most named priorities of the area (a priority tied with the
        ``top_n``-th is included; a priority nobody named never is). ``share``: every priority
        named by at least ``threshold`` of the area's respondents.
    min_n : int
        Areas with fewer respondents get no local priority (``enough`` is False and ``note``
        says why): two answers must never set a beat's priorities.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`count_votes` plus ``rank`` (1 = most named; ties share the
        smaller rank), ``enough`` (n ≥ min_n), ``is_priority`` and ``note``.

    Examples
    --------
    The rule applied to counts (the store is only read for them):

    >>> votes = pd.DataFrame({"area_id": ["beat:A"] * 3, "area_name": ["A"] * 3,
    ...     "priority": ["asb", "drugs", "theft"], "label": ["ASB", "Drugs", "Theft"],
    ...     "votes": [8, 5, 1], "n": [10] * 3, "responses": [10] * 3,
    ...     "share": [0.8, 0.5, 0.1], "ci_low": [0.0] * 3, "ci_high": [1.0] * 3})
    >>> _mark(votes, rule="top", top_n=2, threshold=0.25, min_n=10)["is_priority"].tolist()
    [True, True, False]
    >>> _mark(votes, rule="share", top_n=2, threshold=0.6, min_n=10)["is_priority"].tolist()
    [True, False, False]
    """
    _check_rule(rule, top_n, threshold, min_n)
    votes = count_votes(store, level=level, period=period, respondents=respondents)
    return _mark(votes, rule=rule, top_n=top_n, threshold=threshold, min_n=min_n)


def _check_rule(rule: str, top_n: int, threshold: float, min_n: int) -> None:
    if rule not in RULES:
        raise InputError(f"rule {rule!r} is not one of {', '.join(RULES)}")
    if int(top_n) < 1:
        raise InputError(f"top_n must be at least 1, got {top_n}")
    if not 0.0 < float(threshold) <= 1.0:
        raise InputError(f"threshold is a share between 0 and 1, got {threshold}")
    if int(min_n) < 1:
        raise InputError(f"min_n must be at least 1, got {min_n}")


def _mark(votes: pd.DataFrame, *, rule: str, top_n: int, threshold: float,
          min_n: int) -> pd.DataFrame:
    out = votes.copy()
    out["rank"] = out.groupby("area_id")["votes"].rank(method="min", ascending=False).astype(
        "int64")
    out["enough"] = out["n"] >= min_n
    if rule == "top":
        chosen = (out["rank"] <= top_n) & (out["votes"] > 0)
    else:
        chosen = out["share"].fillna(0.0) >= threshold
    out["is_priority"] = (chosen & out["enough"]).astype(bool)
    note = np.full(len(out), "", dtype=object)
    few = ~out["enough"].to_numpy(dtype=bool)
    note[few] = [f"too few respondents (n={k} < {min_n}): no local priority"
                 for k in out["n"].to_numpy()[few]]
    out["note"] = note
    return out


def priority_summary(store, *, level: str = "beat", period: str | Period | None = None,
                     rule: str = "top", top_n: int = 3, threshold: float = 0.25,
                     min_n: int = 10, respondents: pd.DataFrame | None = None,
                     priorities: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per priority: on how many areas it is a local priority.

    Parameters
    ----------
    priorities : DataFrame, optional
        A :func:`local_priorities` result to summarise (the other options are then ignored).

    Returns
    -------
    pandas.DataFrame
        ``priority``, ``label``, ``areas`` (on which it is a local priority), ``areas_enough``
        (areas with at least ``min_n`` respondents), ``areas_total`` (areas of the level),
        ``share_of_areas`` (``areas / areas_enough``), ``votes`` (in all areas), and
        ``sentence``, e.g. "Anti-social behaviour is a local priority on 62 of our 66
        beats". Sorted by ``areas`` (most first); priorities that are nowhere a priority and
        nobody named are left out.
    """
    if priorities is None:
        priorities = local_priorities(store, level=level, period=period, rule=rule, top_n=top_n,
                                      threshold=threshold, min_n=min_n, respondents=respondents)
    return _summarise(priorities, level, min_n)


def _summarise(marked: pd.DataFrame, level: str, min_n: int) -> pd.DataFrame:
    one, many = LEVEL_NOUNS[level]
    per_area = marked.drop_duplicates("area_id")
    total = int(len(per_area))
    enough = int(per_area["enough"].sum())
    g = marked.groupby(["priority", "label"], sort=False)
    out = g.agg(areas=("is_priority", "sum"), votes=("votes", "sum")).reset_index()
    out["areas"] = out["areas"].astype("int64")
    out = out[(out["areas"] > 0) | (out["votes"] > 0)]
    out["areas_enough"] = enough
    out["areas_total"] = total
    out["share_of_areas"] = out["areas"] / enough if enough else np.nan
    out["sentence"] = [_sentence(lab, k, enough, total, one, many, min_n)
                       for lab, k in zip(out["label"], out["areas"], strict=True)]
    cols = ["priority", "label", "areas", "areas_enough", "areas_total", "share_of_areas",
            "votes", "sentence"]
    return out.sort_values(["areas", "votes"], ascending=False, kind="stable")[cols].reset_index(
        drop=True)


def _sentence(label: str, k: int, enough: int, total: int, one: str, many: str,
              min_n: int) -> str:
    if total == 1 and enough == 1:
        return f"{label} is {'a' if k else 'not a'} local priority of the {one}"
    if enough == 0:
        return (f"{label}: no {one} has the {min_n} respondents needed to say (all {total} "
                f"{one if total == 1 else many} had too few)")
    noun = one if enough == 1 else many
    if k == 0:
        # "a local priority on 0 of our 8 beats" reads as a claim; say it plainly.
        text = (f"{label} is not a local priority on any of our {enough} {noun}" if enough > 1
                else f"{label} is not a local priority on our {enough} {noun}")
    else:
        text = f"{label} is a local priority on {k} of our {enough} {noun}"
    if enough < total:
        rest = total - enough
        text += (f" with at least {min_n} respondents ({rest} more "
                 f"{one if rest == 1 else many} had too few to say)")
    return text



PRIORITY_GROUPINGS = ("channel", "group", "gender", "age_band", "ethnicity",
                      "ethnicity_detailed", "language", "religion", "origins")
"""What :func:`priorities_by_group` splits respondents by: the survey channel, the member's
community groups (Key Individual Network, IAG, Neighbourhood Watch …; ``not_a_member``), or a
self-declared demographic (see :func:`spatial_core.analytics.representation.member_answers`)."""


def _respondent_groups(store, r: pd.DataFrame, by: str) -> pd.DataFrame:
    """``response_id`` → ``grp`` pairs (a member in several community groups is in each)."""
    if by == "channel":
        return pd.DataFrame({"response_id": r["response_id"], "grp": r["channel"]})
    if by == "group":
        g = store.read("member_groups", ["member_id", "grp"])
        pairs = r[["response_id", "member_id"]].merge(g, on="member_id", how="left")
        pairs["grp"] = pairs["grp"].where(pairs["grp"].notna(), np.where(
            pairs["member_id"].notna(), "no_group", "not_a_member"))
        return pairs[["response_id", "grp"]]
    from spatial_core.analytics.representation import member_answers

    own = "ethnicity" if by in ("ethnicity", "ethnicity_detailed") else None
    values = member_answers(store, r, by, own=own) if by not in ("gender", "age_band") else \
        r[by].to_numpy(dtype=object)
    out = pd.DataFrame({"response_id": r["response_id"].to_numpy(), "grp": values})
    return out[out["grp"].notna() & (out["grp"] != "not_stated")]


def priorities_by_group(store, *, by: str = "channel", level: str = "force",
                        period: str | Period | None = None, min_n: int = 10,
                        suppress_below: int = 0) -> dict[str, pd.DataFrame]:
    """Local priorities, confidence and feeling safe split by a group of respondents.

    Parameters
    ----------
    by : str
        One of :data:`PRIORITY_GROUPINGS`.
    level : str
        ``beat``, ``ward``, ``npa`` or ``force`` (default: the whole force).
    min_n : int
        A (area, group) with fewer respondents is not judged (``enough`` False).
    suppress_below : int
        For partner and public views: counts ``1 .. suppress_below - 1`` (people, responses,
        votes, answers) are withheld (None) with the shares, means and intervals they would
        give away (primary suppression per cell; 0, the default, withholds nothing).

    Returns
    -------
    dict
        ``"people"``: per (area, group) ``people`` (distinct members, or responses of
        non-members), ``responses`` and ``issues`` (priorities named): "17,283 people raised
        40,496 issues"; ``"priorities"``: per (area, group, priority) ``votes``, ``n``
        (respondents who named at least one), ``share`` with its Wilson 95% interval,
        ``rank`` and ``enough``; ``"scores"``: per (area, group) ``confidence`` and
        ``feel_safe`` means with ``_n`` and 95% intervals (as
        :func:`spatial_core.analytics.confidence.area_confidence` computes them).
    """
    from spatial_core.analytics.confidence import _means
    from spatial_core.io.surveys import PRIORITIES

    if by not in PRIORITY_GROUPINGS:
        raise InputError(f"by={by!r} is not one of {', '.join(PRIORITY_GROUPINGS)}")
    _check_level(level)
    if int(min_n) < 1 or int(suppress_below) < 0:
        raise InputError(f"min_n must be at least 1 and suppress_below at least 0, got "
                         f"{min_n} and {suppress_below}")
    col = f"{level}_id"
    r = respondents_frame(store, period=period)
    pairs = _respondent_groups(store, r, by).merge(
        r[["response_id", col, "member_id", "confidence", "feel_safe"]], on="response_id")
    pairs = pairs.dropna(subset=[col]).rename(columns={col: "area_id"})
    pri = store.read("survey_priorities", ["response_id", "priority"])
    votes = pairs[["response_id", "area_id", "grp"]].merge(pri, on="response_id")
    key = ["area_id", "grp"]
    person = pairs["member_id"].where(pairs["member_id"].notna(), "r:" + pairs["response_id"])
    people = pairs.assign(_person=person).groupby(key).agg(
        people=("_person", "nunique"), responses=("response_id", "nunique"))
    people["issues"] = votes.groupby(key).size().reindex(people.index).fillna(0).astype("int64")
    n = votes.groupby(key)["response_id"].nunique()
    counts = votes.groupby([*key, "priority"]).size().rename("votes").reset_index()
    grid = n.reset_index()[key].merge(pd.DataFrame({"priority": sorted(
        set(PRIORITIES) | set(counts["priority"]))}), how="cross")
    p = grid.merge(counts, on=[*key, "priority"], how="left")
    p["votes"] = p["votes"].fillna(0).astype("int64")
    p["n"] = pd.MultiIndex.from_frame(p[key]).map(n).to_numpy(dtype="int64") if len(p) else \
        np.zeros(0, dtype="int64")
    p["label"] = p["priority"].map(PRIORITIES).fillna(p["priority"])
    with np.errstate(divide="ignore", invalid="ignore"):
        p["share"] = np.where(p["n"] > 0, p["votes"] / p["n"].where(p["n"] > 0), np.nan)
    p["ci_low"], p["ci_high"] = wilson_interval(p["votes"], p["n"])
    p["rank"] = p.groupby(key)["votes"].rank(method="min", ascending=False).astype("int64") \
        if len(p) else np.zeros(0, dtype="int64")
    p["enough"] = p["n"] >= int(min_n)
    p = p.sort_values([*key, "votes", "priority"], ascending=[True, True, False, True],
                      kind="stable").reset_index(drop=True)
    joined = pairs.assign(_key=pairs["area_id"] + "\x1f" + pairs["grp"].astype(str))
    scores = pd.concat([_means(joined, c, "_key", c) for c in ("confidence", "feel_safe")],
                       axis=1)
    scores = scores[[c for c in scores.columns if not c.startswith("_")]]
    scores.index = pd.MultiIndex.from_tuples([tuple(k.split("\x1f", 1)) for k in scores.index],
                                             names=key) if len(scores) else \
        pd.MultiIndex.from_arrays([[], []], names=key)
    scores = scores.reset_index()
    people = people.reset_index()
    for frame in (people, p, scores):
        frame.rename(columns={"grp": "group"}, inplace=True)
    if suppress_below:
        _withhold(people, ["people", "responses", "issues"], [], int(suppress_below))
        _withhold(p, ["votes", "n"], ["share", "ci_low", "ci_high"], int(suppress_below))
        for c in ("confidence", "feel_safe"):
            _withhold(scores, [f"{c}_n"], [c, f"{c}_ci_low", f"{c}_ci_high"],
                      int(suppress_below))
    return {"people": people, "priorities": p, "scores": scores}


def _withhold(frame: pd.DataFrame, counts: list[str], derived: list[str], k: int) -> None:
    """Counts 1..k-1 become None, with the ``derived`` columns of their rows (in place)."""
    small = np.zeros(len(frame), dtype=bool)
    for c in counts:
        v = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype="float64")
        hide = (v >= 1) & (v < k)
        small |= hide
        frame[c] = frame[c].astype(object).where(~hide, None)
    for c in derived:
        frame[c] = frame[c].astype(object).where(~small, None)
    frame["note"] = np.where(small, f"withheld: a count below {k}", "")
