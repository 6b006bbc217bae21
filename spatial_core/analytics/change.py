# SPDX-License-Identifier: GPL-3.0-or-later
"""Change over time: quarterly snapshots per area, the change between consecutive quarters,
linear trends, and the paired change of people who answered in two periods.

Everything is built from the other analytics, so a snapshot of a quarter says what those
would say for that quarter:

- survey measures from :func:`spatial_core.analytics.population.respondents_frame` (responses made
in
  the quarter, placed in their area): responses, mean confidence and feeling safe (1-5);
- priorities from :func:`spatial_core.analytics.priorities.count_votes` (share of respondents naming
  each priority, Wilson interval);
- coverage from :func:`spatial_core.analytics.representation.coverage` with members counted on the
  quarter's last day: members per 100 households;
- representation from :func:`spatial_core.analytics.representation.representation` (member and
  respondent ratio per geodemographic group), members on the quarter's last day;
- recorded crime: crimes and harm (:func:`spatial_core.analytics.harm.crimes_to_harm`) of the
quarter's
  months, placed in the area polygon holding the crime's point.

``docs/analytics/change.md`` gives the formulas of the intervals.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spatial_core.errors import InputError
from spatial_core.progress import Progress
from spatial_core.store import schema

__all__ = [
    "MEASURES",
    "Snapshots",
    "quarters_between",
    "quarter_end",
    "quarterly_snapshots",
    "snapshots_by_level",
    "quarter_changes",
    "quarter_trends",
    "paired_change",
]

log = logging.getLogger(__name__)


Z95 = 1.959963984540054

MEASURES = ("responses", "confidence_mean", "feel_safe_mean", "members_per_100", "crimes", "harm")
"""The per-area measures of a snapshot that :func:`quarter_changes` and :func:`quarter_trends`
follow (plus ``priority:<slug>`` shares)."""


def _t975(df) -> np.ndarray:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom (NaN where df <= 0)."""
    from scipy.stats import t

    df = np.asarray(df, dtype="float64")
    with np.errstate(invalid="ignore"):
        return np.where(df > 0, t.ppf(0.975, np.maximum(df, 1)), np.nan)


def _quarter_index(label: str) -> int:
    text = str(label).strip().upper().replace("-", "").replace(" ", "")
    if len(text) != 6 or text[4] != "Q" or not text[:4].isdigit() or text[5] not in "1234":
        raise InputError(f"quarter {label!r} is not understood: expected a quarter such as 2026Q1")
    return int(text[:4]) * 4 + int(text[5]) - 1


def _quarter_label(index: int) -> str:
    return f"{index // 4}Q{index % 4 + 1}"


def quarters_between(first: str, last: str) -> list[str]:
    """Every quarter from ``first`` to ``last``, both included.

    Examples
    --------
    >>> quarters_between("2025Q3", "2026Q2")
    ['2025Q3', '2025Q4', '2026Q1', '2026Q2']
    """
    a, b = _quarter_index(first), _quarter_index(last)
    if b < a:
        raise InputError(f"quarter {last!r} comes before {first!r}")
    return [_quarter_label(i) for i in range(a, b + 1)]


def quarter_end(label: str) -> str:
    """The last day of a quarter.

    Examples
    --------
    >>> quarter_end("2026Q1"), quarter_end("2025Q4")
    ('2026-03-31', '2025-12-31')
    """
    i = _quarter_index(label)
    year, q = i // 4, i % 4
    return f"{year}-{('03-31', '06-30', '09-30', '12-31')[q]}"


def _month_quarters(months) -> np.ndarray:
    m = pd.Series(months, dtype=object)
    q = (pd.to_numeric(m.str.slice(5, 7), errors="coerce") - 1) // 3 + 1
    return (m.str.slice(0, 4) + "Q" + q.astype("Int64").astype(str)).to_numpy(dtype=object)


@dataclass(frozen=True)
class Snapshots:
    """Quarterly snapshots of one area level.

    ``areas``: one row per (area, quarter) with ``area_id``, ``area_name``, ``quarter``,
    ``responses``, ``confidence_n``, ``confidence_mean``, ``confidence_sd``, ``feel_safe_n``,
    ``feel_safe_mean``, ``feel_safe_sd``, ``households``, ``members``, ``members_per_100``,
    ``crimes``, ``harm``.
    ``priorities``: one row per (area, quarter, priority) of
    :func:`spatial_core.analytics.priorities.count_votes` with ``quarter`` added.
    ``representation``: one row per (area, quarter, group) of
    :func:`spatial_core.analytics.representation.representation` with ``quarter`` added; None when
    the
    representation module is not available.
    """

    level: str
    quarters: tuple[str, ...]
    areas: pd.DataFrame
    priorities: pd.DataFrame
    representation: pd.DataFrame | None


def _default_quarters(store) -> list[str]:
    from sqlalchemy import func, select

    s, c = schema.surveys, schema.crimes
    with store.connect() as conn:
        lo1, hi1 = conn.execute(select(func.min(s.c.responded), func.max(s.c.responded))).one()
        lo2, hi2 = conn.execute(select(func.min(c.c.month), func.max(c.c.month))).one()
    ends = [v for v in (lo1, hi1, lo2, hi2) if v]
    if not ends:
        raise InputError("no survey response and no crime is stored: nothing to snapshot")
    q = _month_quarters([min(ends)[:7], max(ends)[:7]])
    return quarters_between(q[0], q[1])


def _crime_by_area(store, level: str, quarters: list[str],
                   harm_overrides: Mapping[str, float] | None) -> pd.DataFrame:
    from spatial_core.analytics.harm import crimes_to_harm
    from spatial_core.analytics.population import add_area_columns, area_table
    from spatial_core.store.index import assign_points_to_areas

    t = schema.crimes
    months = sorted({f"{q[:4]}-{m:02d}" for q in quarters
                     for m in range(3 * int(q[5]) - 2, 3 * int(q[5]) + 1)})
    crimes = store.read("crimes", ["month", "category", "offence_code", "x", "y"],
                        where=(t.c.cell != 0) & (t.c.is_outlier == 0) & t.c.month.in_(months))
    if not len(crimes):
        return pd.DataFrame({"area_id": [], "quarter": [], "crimes": [], "harm": []})
    x = crimes["x"].to_numpy(dtype="float64")
    y = crimes["y"].to_numpy(dtype="float64")
    frame = pd.DataFrame({"quarter": _month_quarters(crimes["month"].to_numpy(dtype=object)),
                          "harm": crimes_to_harm(crimes["category"], crimes["offence_code"],
                                                 harm_overrides)})
    if level in ("beat", "ward"):
        frame["area_id"] = assign_points_to_areas(store, x, y, level)
    else:
        frame["beat_id"] = assign_points_to_areas(store, x, y, "beat")
        add_area_columns(frame, area_table(store))
        frame["area_id"] = frame[f"{level}_id"]
    frame = frame[frame["area_id"].notna()]
    return (frame.assign(crimes=1).groupby(["area_id", "quarter"], as_index=False)
            .agg(crimes=("crimes", "sum"), harm=("harm", "sum")))


def _survey_means(r: pd.DataFrame, col: str) -> pd.DataFrame:
    out = []
    for measure in ("confidence", "feel_safe"):
        g = r.dropna(subset=[measure]).groupby(col)[measure]
        out.append(pd.DataFrame({f"{measure}_n": g.size(), f"{measure}_mean": g.mean(),
                                 f"{measure}_sd": g.std(ddof=1)}))
    resp = r.groupby(col).size().rename("responses")
    return pd.concat([resp, *out], axis=1)


def quarterly_snapshots(store, *, level: str = "beat", quarters: Sequence[str] | None = None,
                        scheme: str = "oac2011", class_level: int | str = 1,
                        harm_overrides: Mapping[str, float] | None = None,
                        representation: bool = True,
                        progress: Progress | None = None) -> Snapshots:
    """Snapshots of every area of ``level`` for each quarter.

    Parameters
    ----------
    level : str
        ``beat``, ``ward``, ``npa`` or ``force``.
    quarters : list of str, optional
        ``["2025Q4", "2026Q1"]``; default every quarter from the first to the last stored
        survey response or crime month.
    scheme, class_level : the geodemographic groups of the representation table.
    representation : bool
        Include the representation table (it reads the households once per quarter).
    """
    return snapshots_by_level(store, (level,), quarters=quarters, scheme=scheme,
                              class_level=class_level, harm_overrides=harm_overrides,
                              representation=representation, progress=progress)[level]


def snapshots_by_level(store, levels: Sequence[str], *, quarters: Sequence[str] | None = None,
                       scheme: str = "oac2011", class_level: int | str = 1,
                       harm_overrides: Mapping[str, float] | None = None,
                       representation: bool = True,
                       progress: Progress | None = None) -> dict[str, Snapshots]:
    """:func:`quarterly_snapshots` of several levels at once: the households, and each
    quarter's respondents and members, are read and placed once for all the levels."""
    from spatial_core.analytics.population import (
        AREA_LEVELS,
        area_table,
        households,
        members_frame,
        respondents_frame,
    )
    from spatial_core.analytics.priorities import count_votes
    from spatial_core.analytics.representation import coverage

    for level in levels:
        if level not in AREA_LEVELS:
            raise InputError(f"level {level!r} is not one of {', '.join(AREA_LEVELS)}")
    qs = [_quarter_label(_quarter_index(q)) for q in quarters] if quarters else \
        _default_quarters(store)
    qs = sorted(set(qs), key=_quarter_index)
    every = area_table(store)
    for level in levels:
        if not (every["level"] == level).any():
            raise InputError(f"no {level} is stored (levels stored: "
                             f"{', '.join(sorted(set(every['level'])))}); import {level} "
                             "boundaries or choose another level")
    h = households(store)
    crime = {lv: _crime_by_area(store, lv, qs, harm_overrides) for lv in levels}
    rows: dict[str, list] = {lv: [] for lv in levels}
    pri: dict[str, list] = {lv: [] for lv in levels}
    rep: dict[str, list] = {lv: [] for lv in levels}
    for step, q in enumerate(qs):
        r = respondents_frame(store, period=q, addresses=h)
        m = members_frame(store, as_of=quarter_end(q))
        for level in levels:
            col = f"{level}_id"
            areas = every[every["level"] == level]
            cov = coverage(store, area_level=level, period=q, as_of=quarter_end(q),
                           members=m, respondents=r)
            ids = sorted(set(areas["area_id"]) | set(cov["area_id"]) | set(r[col].dropna()))
            snap = pd.DataFrame({"area_id": ids, "quarter": q})
            snap = snap.join(_survey_means(r, col), on="area_id")
            snap = snap.merge(cov[["area_id", "households", "members", "members_per_100"]],
                              on="area_id", how="left")
            rows[level].append(snap)
            votes = count_votes(store, level=level, period=q, respondents=r)
            pri[level].append(votes.assign(quarter=q))
            if representation:
                rep[level].append(_representation(store, level, q, scheme, class_level))
        if progress is not None:
            progress((step + 1) / len(qs), f"snapshot {q}")
    out = {}
    for level in levels:
        areas = every[every["level"] == level]
        frame = pd.concat(rows[level], ignore_index=True)
        frame = frame.merge(crime[level], on=["area_id", "quarter"], how="left")
        for c in ("responses", "confidence_n", "feel_safe_n", "households", "members",
                  "crimes"):
            frame[c] = frame[c].fillna(0).astype("int64")
        frame["harm"] = frame["harm"].fillna(0.0)
        frame.insert(1, "area_name", frame["area_id"].map(areas.set_index("area_id")["name"])
                     .fillna(frame["area_id"]))
        frame = frame[["area_id", "area_name", "quarter", "responses", "confidence_n",
                       "confidence_mean", "confidence_sd", "feel_safe_n", "feel_safe_mean",
                       "feel_safe_sd", "households", "members", "members_per_100", "crimes",
                       "harm"]]
        reps = pd.concat(rep[level], ignore_index=True) if representation and rep[level] \
            else None
        frame = frame.sort_values(["area_id", "quarter"]).reset_index(drop=True)
        out[level] = Snapshots(level, tuple(qs), frame, pd.concat(pri[level], ignore_index=True),
                               reps)
    return out


def _representation(store, level: str, quarter: str, scheme: str, class_level) -> pd.DataFrame:
    from spatial_core.analytics.representation import representation

    return representation(store, scheme=scheme, level=class_level, area_level=level,
                          period=quarter, as_of=quarter_end(quarter)).assign(quarter=quarter)


def _long(snap: Snapshots) -> pd.DataFrame:
    """area_id, quarter, measure, value, se (NaN when no interval applies)."""
    a = snap.areas
    parts = []
    for m in MEASURES:
        se = np.full(len(a), np.nan)
        if m in ("confidence_mean", "feel_safe_mean"):
            base = m[:-5]
            n = a[f"{base}_n"].to_numpy(dtype="float64")
            with np.errstate(invalid="ignore", divide="ignore"):
                se = a[f"{base}_sd"].to_numpy(dtype="float64") / np.sqrt(n)
        elif m in ("crimes", "responses"):
            se = np.sqrt(a[m].to_numpy(dtype="float64"))  # Poisson
        elif m == "members_per_100":
            with np.errstate(invalid="ignore", divide="ignore"):
                se = 100.0 * np.sqrt(a["members"].to_numpy(dtype="float64")) / \
                    a["households"].to_numpy(dtype="float64")
        parts.append(pd.DataFrame({"area_id": a["area_id"], "quarter": a["quarter"], "measure": m,
                                   "value": a[m].to_numpy(dtype="float64"), "se": se}))
    p = snap.priorities
    if len(p):
        share = p["share"].to_numpy(dtype="float64")
        n = p["n"].to_numpy(dtype="float64")
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(share * (1 - share) / n)
        parts.append(pd.DataFrame({"area_id": p["area_id"], "quarter": p["quarter"],
                                   "measure": "priority:" + p["priority"].astype(str),
                                   "value": share, "se": se}))
    return pd.concat(parts, ignore_index=True)


def quarter_changes(snap: Snapshots) -> pd.DataFrame:
    """The change of every measure between consecutive quarters, with a 95% interval.

    Returns one row per (area, measure, pair of consecutive quarters): ``area_id``,
    ``measure``, ``quarter_from``, ``quarter_to``, ``value_from``, ``value_to``, ``change``,
    ``ci_low``, ``ci_high``. Intervals: ``change ± 1.96 sqrt(se_from² + se_to²)`` with the
    standard error of a mean (sd / sqrt n), of a Poisson count (sqrt count; members per 100
    households: 100 sqrt(members) / households) or of a share (sqrt(p(1-p)/n)); harm has no
    interval (NaN).
    """
    long = _long(snap)
    order = {q: i for i, q in enumerate(snap.quarters)}
    long = long.assign(_i=long["quarter"].map(order)).sort_values(["area_id", "measure", "_i"])
    nxt = long.groupby(["area_id", "measure"]).shift(-1)
    keep = (nxt["_i"] == long["_i"] + 1).to_numpy()
    change = nxt["value"].to_numpy() - long["value"].to_numpy()
    half = Z95 * np.sqrt(long["se"].to_numpy() ** 2 + nxt["se"].to_numpy() ** 2)
    out = pd.DataFrame({"area_id": long["area_id"].to_numpy(),
                        "measure": long["measure"].to_numpy(),
                        "quarter_from": long["quarter"].to_numpy(),
                        "quarter_to": nxt["quarter"].to_numpy(),
                        "value_from": long["value"].to_numpy(), "value_to": nxt["value"].to_numpy(),
                        "change": change, "ci_low": change - half, "ci_high": change + half})
    return out[keep].reset_index(drop=True)


def quarter_trends(snap: Snapshots) -> pd.DataFrame:
    """Least-squares linear trend of every measure over the quarters (per quarter).

    Returns per (area, measure): ``quarters`` (with a value), ``first``, ``last``, ``slope``,
    ``ci_low``, ``ci_high`` (t interval of the slope, n - 2 degrees of freedom; NaN with
    fewer than 3 quarters).

    Examples
    --------
    >>> a = pd.DataFrame({"area_id": "b", "quarter": ["2025Q1", "2025Q2", "2025Q3"],
    ...                   **{m: [1.0, 2.0, 3.0] for m in MEASURES}})
    >>> s = Snapshots("beat", ("2025Q1", "2025Q2", "2025Q3"), a, pd.DataFrame(), None)
    >>> t = quarter_trends(s).set_index("measure")
    >>> float(t.loc["crimes", "slope"]), float(t.loc["crimes", "ci_low"])
    (1.0, 1.0)
    """
    long = _long_values(snap)
    order = {q: i for i, q in enumerate(snap.quarters)}
    long = long.assign(x=long["quarter"].map(order).astype("float64"))
    long = long[np.isfinite(long["value"].to_numpy(dtype="float64"))]
    g = long.groupby(["area_id", "measure"], sort=True)
    n = g.size()
    xm = g["x"].mean()
    ym = g["value"].mean()
    key = pd.MultiIndex.from_frame(long[["area_id", "measure"]])
    dx = long["x"].to_numpy() - xm.reindex(key).to_numpy()
    dy = long["value"].to_numpy(dtype="float64") - ym.reindex(key).to_numpy()
    sums = pd.DataFrame({"sxx": dx * dx, "sxy": dx * dy, "syy": dy * dy}, index=key)
    sums = sums.groupby(level=[0, 1]).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = sums["sxy"] / sums["sxx"]
        resid = (sums["syy"] - slope * sums["sxy"]).clip(lower=0)
        se = np.sqrt(resid / (n - 2) / sums["sxx"])
    half = _t975(n.to_numpy() - 2) * se.to_numpy()
    half = np.where(n.to_numpy() >= 3, half, np.nan)
    first = g.apply(lambda d: d.loc[d["x"].idxmin(), "value"], include_groups=False)
    last = g.apply(lambda d: d.loc[d["x"].idxmax(), "value"], include_groups=False)
    out = pd.DataFrame({"quarters": n, "first": first, "last": last, "slope": slope,
                        "ci_low": slope.to_numpy() - half, "ci_high": slope.to_numpy() + half})
    return out.reset_index()


def _long_values(snap: Snapshots) -> pd.DataFrame:
    a = snap.areas
    parts = [pd.DataFrame({"area_id": a["area_id"], "quarter": a["quarter"], "measure": m,
                           "value": a[m].to_numpy(dtype="float64")}) for m in MEASURES]
    p = snap.priorities
    if len(p):
        parts.append(pd.DataFrame({"area_id": p["area_id"], "quarter": p["quarter"],
                                   "measure": "priority:" + p["priority"].astype(str),
                                   "value": p["share"].to_numpy(dtype="float64")}))
    return pd.concat(parts, ignore_index=True)


def paired_change(store, first: str, second: str, *, level: str = "beat",
                  respondents: pd.DataFrame | None = None) -> pd.DataFrame:
    """The change in confidence and feeling safe among the same people: members who
    answered in both periods.

    Parameters
    ----------
    first, second : str
        Periods (``2025Q4``, ``2026-01..2026-06`` …; see
        :func:`spatial_core.analytics.population.parse_period`); they must not overlap.
    level : str
        Areas of the breakdown; a person counts in the area of their latest answer in
        ``second``. The force total is the first row (``area_id`` ``"all"``).
    respondents : DataFrame, optional
        A :func:`spatial_core.analytics.population.respondents_frame` of all periods (columns
        ``member_id``, ``responded``, ``confidence``, ``feel_safe``, ``<level>_id``).

    Returns
    -------
    DataFrame per (area, measure): ``area_id``, ``measure`` (``confidence`` / ``feel_safe``),
    ``n`` (people with an answer in both periods), ``mean_first``, ``mean_second``,
    ``mean_change`` (mean of each person's second minus first; a person with several answers
    in a period counts with their mean), ``sd_change``, ``ci_low``, ``ci_high`` (t interval,
    n - 1 degrees of freedom).
    """
    from spatial_core.analytics.population import (
        AREA_LEVELS,
        parse_period,
        period_mask,
        respondents_frame,
    )

    if level not in AREA_LEVELS:
        raise InputError(f"level {level!r} is not one of {', '.join(AREA_LEVELS)}")
    a, b = parse_period(first), parse_period(second)
    if a is None or b is None:
        raise InputError("paired change needs two periods, such as 2025Q4 and 2026Q1")
    if not (a.end < b.start or b.end < a.start):
        raise InputError(f"periods {a.label} and {b.label} overlap; give two separate periods")
    r = respondents_frame(store) if respondents is None else respondents
    col = f"{level}_id"
    r = r[r["member_id"].notna()]
    in_a = period_mask(r["responded"], a)
    in_b = period_mask(r["responded"], b)
    rows = []
    for measure in ("confidence", "feel_safe"):
        ra = r[in_a].dropna(subset=[measure]).groupby("member_id")[measure].mean()
        rb_rows = r[in_b].dropna(subset=[measure]).sort_values("responded")
        rb = rb_rows.groupby("member_id")[measure].mean()
        area = rb_rows.groupby("member_id")[col].last()
        both = ra.index.intersection(rb.index)
        d = pd.DataFrame({"first": ra.reindex(both), "second": rb.reindex(both),
                          "area_id": area.reindex(both)})
        d["diff"] = d["second"] - d["first"]
        rows.append(_paired_row("all", measure, d))
        for area_id, part in d.dropna(subset=["area_id"]).groupby("area_id", sort=True):
            rows.append(_paired_row(area_id, measure, part))
    out = pd.DataFrame(rows)
    out.attrs["first"], out.attrs["second"] = a.label, b.label
    return out


def _paired_row(area_id, measure: str, d: pd.DataFrame) -> dict:
    n = len(d)
    mean = float(d["diff"].mean()) if n else math.nan
    sd = float(d["diff"].std(ddof=1)) if n > 1 else math.nan
    half = float(_t975(n - 1)) * sd / math.sqrt(n) if n > 1 else math.nan
    return {"area_id": area_id, "measure": measure, "n": n,
            "mean_first": float(d["first"].mean()) if n else math.nan,
            "mean_second": float(d["second"].mean()) if n else math.nan,
            "mean_change": mean, "sd_change": sd, "ci_low": mean - half, "ci_high": mean + half}
