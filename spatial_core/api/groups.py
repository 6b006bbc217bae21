# SPDX-License-Identifier: GPL-3.0-or-later
"""Groups and communities for a scope: an area's representation by group, and local
priorities, confidence and feeling safe by group.

- :func:`area_representation`: :func:`spatial_core.analytics.representation.representation`
  and :func:`~spatial_core.analytics.representation.coverage` of one area, the same rows the
  CLI prints (``lpt representation --by …``);
- :func:`group_priorities`: :func:`spatial_core.analytics.priorities.priorities_by_group`
  (``lpt priorities --by …``).

Police roles see the areas of their scope with exact counts (an area outside it is "not
found"). Partners and the public see aggregates only: in :func:`area_representation` each
area's group counts (population, members, respondents) and the area's total form one
equation per count, to which :func:`spatial_core.analytics.disclosure.suppress_counts`
applies (:func:`disclose_group_counts`), and the shares, ratios, intervals and flags of a
withheld count are withheld with it; in :func:`group_priorities` every count from 1 to k-1
(people, responses, issues, votes, respondents, answers) is withheld with the shares, means
and intervals it would give away, and so are votes whose complement (``n - votes``) is from 1
to k-1 (primary suppression per cell and its complement: the limit is in
``docs/analytics/priorities.md``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from spatial_core.api import FORCE, Scope
from spatial_core.errors import NotFoundError

__all__ = ["area_representation", "group_priorities", "disclose_group_counts",
           "REPRESENTATION_DERIVED", "REPRESENTATION_TOTALS"]

REPRESENTATION_DERIVED: dict[str, tuple[str, ...]] = {
    "population": ("population_share", "member_ratio", "member_ci_low", "member_ci_high",
                   "member_expected", "respondent_ratio", "respondent_ci_low",
                   "respondent_ci_high", "respondent_expected"),
    "members": ("member_share", "member_ratio", "member_ci_low", "member_ci_high",
                "member_below", "member_clearly_below"),
    "respondents": ("respondent_share", "respondent_ratio", "respondent_ci_low",
                    "respondent_ci_high", "respondent_below", "respondent_clearly_below"),
}
"""Per count of a representation row, the columns that would give a withheld count away."""

REPRESENTATION_TOTALS: dict[str, tuple[str, tuple[str, ...]]] = {
    "members": ("member_n", ("member_expected",)),
    "respondents": ("respondent_n", ("respondent_expected",)),
}
"""Per count, the column of the area's total of it and what that total gives away."""


def disclose_group_counts(rows: pd.DataFrame, derived: Mapping[str, Sequence[str]], k: int,
                          area_column: str = "area_id",
                          totals: Mapping[str, tuple[str, Sequence[str]]] | None = None
                          ) -> pd.DataFrame:
    """Group rows with their counts disclosure-controlled, area by area: within an area the
    groups' counts and their total form one equation per count (``derived``'s keys), to
    which :func:`~spatial_core.analytics.disclosure.suppress_counts` applies (published
    counts are whole numbers); each column of ``derived[count]`` is withheld where the count
    is, and ``note`` says so. ``totals`` names, per count, the column holding the area's
    total of it (``members`` -> ``member_n``) and the columns derived from that total: the
    total is published as the equation's own, suppressed, total.

    Examples
    --------
    >>> rows = pd.DataFrame({"area_id": ["a", "a", "a"], "members": [2, 10, 30],
    ...                      "member_share": [0.05, 0.24, 0.71], "note": ""})
    >>> out = disclose_group_counts(rows, {"members": ["member_share"]}, k=5)
    >>> out["members"].tolist(), out["member_share"].tolist()
    ([None, None, 30], [None, None, 0.71])
    """
    parts = [_one_area(g, derived, int(k), totals or {})
             for _, g in rows.groupby(area_column, sort=False)]
    return pd.concat(parts, ignore_index=True) if parts else rows.copy()


def _one_area(rows: pd.DataFrame, derived: Mapping[str, Sequence[str]], k: int,
              totals: Mapping[str, tuple[str, Sequence[str]]]) -> pd.DataFrame:
    from spatial_core.analytics.disclosure import suppress_counts

    rows = rows.reset_index(drop=True)
    counts = list(derived)
    frame = pd.DataFrame({"area_id": ["*", *[f"g{i}" for i in range(len(rows))]],
                          "parent_id": [None, *["*"] * len(rows)]})
    for c in counts:
        v = np.rint(pd.to_numeric(rows[c], errors="coerce").fillna(0).to_numpy(
            dtype="float64")).astype("int64")
        frame[c] = np.concatenate([[int(v.sum())], v])
    everything = suppress_counts(frame, counts, k=k, level_column=None)
    shown = everything.iloc[1:]
    out = rows.copy()
    held = np.zeros(len(out), dtype=bool)
    for c, (column, of_total) in totals.items():
        total = everything[c].iloc[0]
        out[column] = [total] * len(out)
        if total is None or pd.isna(total):
            for d in of_total:
                if d in out.columns:
                    out[d] = None
    for c in counts:
        values = shown[c].to_numpy(dtype=object)
        withheld = pd.isna(values)
        held |= withheld
        out[c] = values
        for d in derived[c]:
            if d in out.columns:
                out[d] = out[d].astype(object)
                out.loc[withheld, d] = None
    out["note"] = out["note"].astype(object) if "note" in out.columns else ""
    out.loc[held, "note"] = f"withheld: a count below {k}, or one that would give it away"
    return out


def area_representation(store, area_id: str, scope: Scope = FORCE, *, by: str = "class",
                        scheme: str = "oac2011", level: int | str = 1, target: float = 0.7,
                        min_n: float = 0, period: str | None = None,
                        min_members_per_100: float = 5.0, min_responses: int = 10
                        ) -> dict[str, pd.DataFrame]:
    """Representation by ``by`` and coverage of ``area_id`` (at its own level) as ``scope``
    may see them: ``{"groups": …, "coverage": …}`` (the module docstring). An area that is
    not stored, or outside a police scope, is :class:`~spatial_core.errors.NotFoundError`."""
    from spatial_core.analytics.population import area_table
    from spatial_core.analytics.representation import coverage, representation

    areas = area_table(store)
    row = areas[areas["area_id"] == area_id]
    if not len(row) or (not scope.aggregate and not bool(scope.sees([area_id])[0])):
        raise NotFoundError(f"no area {area_id!r} here")
    area_level = str(row["level"].iloc[0])
    groups = representation(store, scheme=scheme, level=level, area_level=area_level, by=by,
                            target=target, period=period, min_n=min_n,
                            as_of=scope.as_of)
    groups = groups[groups["area_id"] == area_id].reset_index(drop=True)
    cov = coverage(store, area_level=area_level, period=period, as_of=scope.as_of,
                   min_members_per_100=min_members_per_100, min_responses=min_responses)
    cov = cov[cov["area_id"] == area_id].reset_index(drop=True)
    k = scope.disclosure_k
    if k is not None:
        groups = disclose_group_counts(groups, REPRESENTATION_DERIVED, k,
                                       totals=REPRESENTATION_TOTALS)
        cov = _disclosed_coverage(store, cov, k, period)
    return {"groups": groups, "coverage": cov}


def _disclosed_coverage(store, cov: pd.DataFrame, k: int, period: str | None) -> pd.DataFrame:
    """Coverage rows with households and members as the ``areas`` collection publishes them
    (:func:`~spatial_core.analytics.disclosure.disclosed_area_counts`) and responses below k
    withheld, with the rates they give away."""
    from spatial_core.analytics.disclosure import disclosed_area_counts

    shown = disclosed_area_counts(store, k=k).set_index("area_id")
    out = cov.copy()
    for c in ("households", "members"):
        out[c] = out["area_id"].map(shown[c]).to_numpy(dtype=object)
    r = out["responses"].to_numpy(dtype="int64")
    out["responses"] = [None if 1 <= v < k else int(v) for v in r]
    for rate, parts in (("members_per_100", ("households", "members")),
                        ("responses_per_100", ("households", "responses"))):
        gone = pd.isna(out[list(parts)]).any(axis=1).to_numpy(dtype=bool)
        out[rate] = out[rate].astype(object)
        out.loc[gone, rate] = None
    out["reason"] = np.where(pd.isna(out[["households", "members", "responses"]]).any(axis=1),
                             "withheld", out["reason"])
    return out


def group_priorities(store, scope: Scope = FORCE, *, by: str = "channel",
                     level: str = "force", period: str | None = None,
                     min_n: int = 10) -> dict[str, pd.DataFrame]:
    """:func:`~spatial_core.analytics.priorities.priorities_by_group` as ``scope`` may see
    it: police roles the areas of their scope, exact; partners and the public every area
    with counts below ``scope.k`` withheld (the module docstring). Each frame gains
    ``area_name``."""
    from spatial_core.analytics.population import area_table
    from spatial_core.analytics.priorities import priorities_by_group

    k = scope.disclosure_k
    out = priorities_by_group(store, by=by, level=level, period=period, min_n=min_n,
                              suppress_below=k or 0)
    if k is not None:
        _withhold_complements(out["priorities"], k)
    names = area_table(store).set_index("area_id")["name"]
    shown = {}
    for key, frame in out.items():
        if k is None:
            frame = frame[scope.sees(frame["area_id"])]
        frame = frame.reset_index(drop=True)
        frame.insert(1, "area_name", frame["area_id"].map(names).fillna(frame["area_id"]))
        shown[key] = frame
    return shown


def _withhold_complements(p: pd.DataFrame, k: int) -> None:
    """Votes whose complement (respondents of the group who did not name the priority,
    ``n - votes``) is from 1 to k-1 are withheld with their share and interval (in place):
    with ``n`` published, the votes would give that small count away.

    Examples
    --------
    >>> p = pd.DataFrame({"votes": [9, 5, 0], "n": [10, 10, 20], "share": [0.9, 0.5, 0.0],
    ...                   "ci_low": 0.0, "ci_high": 1.0, "note": ""})
    >>> _withhold_complements(p, 5)
    >>> p["votes"].tolist(), p["share"].tolist()
    ([None, 5, 0], [None, 0.5, 0.0])
    """
    votes = pd.to_numeric(p["votes"], errors="coerce").to_numpy(dtype="float64")
    n = pd.to_numeric(p["n"], errors="coerce").to_numpy(dtype="float64")
    rest = n - votes
    hide = (rest >= 1) & (rest < k)
    for c in ("votes", "share", "ci_low", "ci_high"):
        p[c] = p[c].astype(object).where(~hide, None)
    p["note"] = np.where(hide, f"withheld: those not naming it are fewer than {k}",
                         p["note"].astype(object))
