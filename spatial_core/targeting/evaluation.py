# SPDX-License-Identifier: GPL-3.0-or-later
"""Evaluation: how concentrated harm is on streets, and how well a street ranking made with
the months up to *t* finds the harm of the months after.

- :func:`concentration_curve`, :func:`gini`, :func:`top_share` work on any array of
  per-street values; :func:`street_harm` places crimes on street units (the nearest unit
  within ``max_distance`` metres, :func:`~spatial_core.store.index.assign_points_to_streets`) and
  :func:`concentration` reports the share of harm on the top x% of streets per beat (or
  ward) and for the force.
- :func:`backtest` ranks streets by a score made from the training months, takes the top
  ``top`` share of streets (default 5%), and measures on the test months the *hit rate*
  (share of test harm on those streets) and the predictive accuracy index
  ``PAI = hit rate / area share``, where the area share is the top streets' share of the
  total street length (Chainey, Tompson and Uhlig 2008, with street length standing in for
  area). :func:`predictive_accuracy_index` is the formula.

Harm is the crime's weight in CCHI days from :mod:`spatial_core.analytics.harm` (``weight="harm"``,
with a profile's ``harm_overrides``), or a count (``weight="count"``). Crimes without a
location, flagged outside the force, or farther than ``max_distance`` from every street unit
are left out and counted. ``docs/analytics/evaluation.md`` explains the method and
``docs/leeds-evaluation.md`` reports it on the real Leeds data.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from spatial_core.analytics.harm import crime_weights
from spatial_core.errors import InputError
from spatial_core.store import schema
from spatial_core.store.index import assign_points_to_streets

__all__ = [
    "DEFAULT_FRACTIONS",
    "DEFAULT_MAX_DISTANCE_M",
    "DEFAULT_HALF_LIFE_MONTHS",
    "BacktestResult",
    "concentration_curve",
    "gini",
    "top_share",
    "predictive_accuracy_index",
    "street_harm",
    "concentration",
    "recency_weighted_scores",
    "backtest",
]

log = logging.getLogger(__name__)

DEFAULT_FRACTIONS = (0.01, 0.02, 0.05, 0.10, 0.20, 0.50)
DEFAULT_MAX_DISTANCE_M = 50.0
"""A crime farther than this from every street unit is outside the street coverage."""
DEFAULT_HALF_LIFE_MONTHS = 6.0
"""Recency decay of the baseline score: a crime this many months older counts half."""


def _ranked(values, ids=None) -> np.ndarray:
    """Order of streets from the highest value down; ties by ``ids`` (else position)."""
    v = np.asarray(values, dtype="float64")
    tie = np.arange(len(v)) if ids is None else np.asarray(ids, dtype=object)
    if ids is None:
        return np.lexsort((tie, -v))
    # lexsort needs comparable keys: rank ids as text first.
    tie_rank = pd.Series(tie).astype(str).rank(method="first").to_numpy()
    return np.lexsort((tie_rank, -v))


def concentration_curve(values, *, lengths=None) -> pd.DataFrame:
    """The concentration (Lorenz-style) curve of per-street values, highest first.

    Parameters
    ----------
    values : array_like
        Harm (or crimes) per street, zeros included: streets with no harm count.
    lengths : array_like, optional
        Street lengths, for the cumulative share of length.

    Returns
    -------
    DataFrame with one row per street from the highest value down: ``position`` (1 …),
    ``value``, ``street_share`` (position / n), ``length_share`` (when lengths are given) and
    ``harm_share`` (cumulative share of the total).

    Examples
    --------
    >>> concentration_curve([0, 10, 30, 0])[["street_share", "harm_share"]].values.tolist()
    [[0.25, 0.75], [0.5, 1.0], [0.75, 1.0], [1.0, 1.0]]
    """
    v = np.asarray(values, dtype="float64")
    if np.any(v < 0) or np.any(~np.isfinite(v)):
        raise InputError("per-street values must be finite and not negative")
    order = _ranked(v)
    n = len(v)
    total = v.sum()
    out = pd.DataFrame({
        "position": np.arange(1, n + 1),
        "value": v[order],
        "street_share": np.arange(1, n + 1) / n if n else np.array([]),
    })
    if lengths is not None:
        lengths = np.asarray(lengths, dtype="float64")
        if lengths.shape != v.shape:
            raise InputError(f"lengths and values differ in length: {lengths.shape} and {v.shape}")
        total_length = lengths.sum()
        out["length_share"] = (np.cumsum(lengths[order]) / total_length if total_length > 0
                               else np.nan)
    out["harm_share"] = np.cumsum(v[order]) / total if total > 0 else np.nan
    return out


def gini(values) -> float:
    """Gini coefficient of per-street values (0 = even, (n-1)/n = all on one street).

    ``G = 2 sum_i i x_(i) / (n sum x) - (n + 1) / n`` with ``x`` sorted ascending; NaN when
    the total is zero.

    Examples
    --------
    >>> gini([0, 0, 0, 12]), gini([5, 5, 5, 5])
    (0.75, 0.0)
    """
    v = np.sort(np.asarray(values, dtype="float64"))
    n = len(v)
    total = v.sum()
    if n == 0 or total <= 0:
        return math.nan
    i = np.arange(1, n + 1)
    return float(2.0 * (i * v).sum() / (n * total) - (n + 1) / n)


def top_share(values, fraction: float, ids=None) -> float:
    """Share of the total on the top ``fraction`` of streets (``ceil(fraction * n)`` streets,
    at least one; ties broken by ``ids``).

    Examples
    --------
    >>> top_share([0, 0, 0, 0, 0, 0, 0, 0, 0, 100], 0.05)
    1.0
    >>> top_share([1] * 20, 0.05)
    0.05
    """
    v = np.asarray(values, dtype="float64")
    _check_fraction(fraction)
    total = v.sum()
    if len(v) == 0 or total <= 0:
        return math.nan
    k = _top_k(len(v), fraction)
    return float(v[_ranked(v, ids)[:k]].sum() / total)


def _check_fraction(fraction: float) -> None:
    if not 0 < fraction <= 1:
        raise InputError(f"the top share of streets must be in (0, 1], got {fraction}")


def _top_k(n: int, fraction: float) -> int:
    # A small tolerance so that 0.05 * 100 is 5, not 6.
    return max(1, int(math.ceil(fraction * n - 1e-9))) if n else 0


def predictive_accuracy_index(hit_rate: float, area_share: float) -> float:
    """PAI = hit rate / area share (Chainey, Tompson and Uhlig 2008).

    ``hit_rate`` is the share of the test period's harm on the selected streets;
    ``area_share`` their share of the street length (or of the streets). 1 is no better than
    chance; NaN when the area share is zero.

    Examples
    --------
    >>> round(predictive_accuracy_index(0.30, 0.05), 6)
    6.0
    """
    if not area_share > 0:
        return math.nan
    return float(hit_rate) / float(area_share)


def _streets(store, level: str, conn=None) -> pd.DataFrame:
    if level not in ("beat", "ward"):
        raise InputError(f"unknown level {level!r}; expected 'beat' or 'ward'")
    frame = store.read("streets", ["street_id", "beat_id", "ward_id", "length_m", "geom"],
                       conn=conn, order_by=["street_id"])
    if len(frame) == 0:
        raise InputError("no streets are stored: import streets first (lpt import streets FILE)")
    return frame


def street_harm(store, months: Sequence[str] | None = None, *, weight: str = "harm",
                harm_overrides: Mapping[str, float] | None = None,
                max_distance: float = DEFAULT_MAX_DISTANCE_M, streets: pd.DataFrame | None = None,
                conn=None) -> pd.DataFrame:
    """Crimes of ``months`` placed on street units: harm and crimes per street and month.

    Returns a long frame ``street_id``, ``month``, ``crimes``, ``harm`` (streets without
    crime in a month have no row). ``attrs`` hold ``crimes_read`` (located, not flagged),
    ``crimes_on_streets`` and ``harm_read`` / ``harm_on_streets``.
    """
    if max_distance <= 0:
        raise InputError(f"max_distance must be positive metres, got {max_distance}")
    t = schema.crimes
    where = (t.c.cell != 0) & (t.c.is_outlier == 0)
    if months:
        where = where & t.c.month.in_(sorted(set(months)))
    crimes = store.read("crimes", ["month", "category", "offence_code", "x", "y"], where=where,
                        conn=conn)
    if streets is None:
        streets = _streets(store, "beat", conn)
    w = (crime_weights(crimes, weight, harm_overrides) if len(crimes)
         else np.array([], dtype="float64"))
    sid = assign_points_to_streets(crimes["x"].to_numpy(dtype="float64"),
                                   crimes["y"].to_numpy(dtype="float64"),
                                   streets["street_id"].to_numpy(dtype=object),
                                   streets.geometry.to_numpy(), max_distance)
    on = pd.notna(sid)
    out = (pd.DataFrame({"street_id": sid[on], "month": crimes["month"].to_numpy(dtype=object)[on],
                         "crimes": 1, "harm": w[on]})
           .groupby(["street_id", "month"], as_index=False, sort=True)
           .agg(crimes=("crimes", "sum"), harm=("harm", "sum")))
    out.attrs.update(crimes_read=int(len(crimes)), crimes_on_streets=int(on.sum()),
                     harm_read=float(w.sum()), harm_on_streets=float(w[on].sum()),
                     max_distance=float(max_distance))
    return out


def _per_street(streets: pd.DataFrame, harm: pd.DataFrame, column: str = "harm") -> np.ndarray:
    s = harm.groupby("street_id")[column].sum()
    return s.reindex(streets["street_id"]).fillna(0.0).to_numpy(dtype="float64")


def concentration(store, months: Sequence[str] | None = None, *, level: str = "beat",
                  fractions: Sequence[float] = DEFAULT_FRACTIONS, weight: str = "harm",
                  harm_overrides: Mapping[str, float] | None = None,
                  max_distance: float = DEFAULT_MAX_DISTANCE_M) -> pd.DataFrame:
    """Share of harm on the top x% of streets, for the force and each beat (or ward).

    Returns one row per group: ``area_id`` (``"force"`` first, then each ``<level>`` id;
    streets with no area are ``None``), ``streets``, ``streets_with_harm``, ``harm``,
    ``crimes``, ``gini``, and ``top_<x>pct`` (share of the group's harm on its top x% of
    streets) for each fraction. All streets count, those without crime too.
    """
    for f in fractions:
        _check_fraction(f)
    with store.connect() as conn:
        streets = _streets(store, level, conn)
        harm = street_harm(store, months, weight=weight, harm_overrides=harm_overrides,
                           max_distance=max_distance, streets=streets, conn=conn)
    h = _per_street(streets, harm)
    c = _per_street(streets, harm, "crimes")
    group = streets[f"{level}_id"].to_numpy(dtype=object)
    ids = streets["street_id"].to_numpy(dtype=object)
    rows = [_concentration_row("force", h, c, ids, fractions)]
    keys = pd.Series(group).fillna("\x00")
    for key, idx in sorted(keys.groupby(keys).indices.items()):
        rows.append(_concentration_row(None if key == "\x00" else key, h[idx], c[idx], ids[idx],
                                       fractions))
    out = pd.DataFrame(rows)
    out.attrs.update(harm.attrs)
    out.attrs["level"] = level
    out.attrs["months"] = sorted(set(months)) if months else sorted(set(harm["month"]))
    return out


def _pct(f: float) -> str:
    return f"top_{f * 100:g}pct".replace(".", "_")


def _concentration_row(area_id, h, c, ids, fractions) -> dict:
    row = {"area_id": area_id, "streets": int(len(h)), "streets_with_harm": int((h > 0).sum()),
           "harm": float(h.sum()), "crimes": int(c.sum()), "gini": gini(h)}
    for f in fractions:
        row[_pct(f)] = top_share(h, f, ids) if len(h) else math.nan
    return row


def _month_index(months) -> np.ndarray:
    m = pd.Series(months, dtype=object).astype(str)
    year = m.str.slice(0, 4).astype(int).to_numpy()
    mon = m.str.slice(5, 7).astype(int).to_numpy()
    return year * 12 + mon - 1


def recency_weighted_scores(harm: pd.DataFrame, street_ids, *, as_of: str,
                            half_life_months: float = DEFAULT_HALF_LIFE_MONTHS) -> np.ndarray:
    """The baseline street score: harm with each month weighted ``0.5 ** (age / half_life)``,
    ``age`` in months before ``as_of`` (the last training month counts fully).

    Examples
    --------
    >>> h = pd.DataFrame({"street_id": ["a", "a", "b"], "month": ["2024-01", "2024-07", "2024-07"],
    ...                   "harm": [8.0, 1.0, 2.0]})
    >>> recency_weighted_scores(h, ["a", "b", "c"], as_of="2024-07").tolist()
    [5.0, 2.0, 0.0]
    """
    if half_life_months <= 0:
        raise InputError(f"half_life_months must be positive, got {half_life_months}")
    if len(harm) == 0:
        return np.zeros(len(street_ids))
    age = _month_index([as_of])[0] - _month_index(harm["month"].to_numpy())
    if np.any(age < 0):
        raise InputError(f"harm after as_of={as_of!r} cannot score a backtest")
    weighted = harm["harm"].to_numpy(dtype="float64") * 0.5 ** (age / half_life_months)
    s = pd.Series(weighted).groupby(harm["street_id"].to_numpy()).sum()
    return s.reindex(pd.Index(street_ids)).fillna(0.0).to_numpy(dtype="float64")


@dataclass(frozen=True)
class BacktestResult:
    """The outcome of :func:`backtest`; :meth:`to_dict` is the JSON form."""

    train_months: tuple[str, ...]
    test_months: tuple[str, ...]
    top: float
    score: str
    weight: str
    max_distance: float
    streets: int
    selected: int
    total_length_m: float
    selected_length_m: float
    length_share: float
    street_share: float
    test_harm: float
    test_harm_selected: float
    hit_rate: float
    pai_length: float
    pai_streets: float
    oracle_hit_rate: float
    oracle_pai_length: float
    train_streets_with_harm: int
    test_streets_with_harm: int
    crimes: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def backtest(store, train_months: Sequence[str], test_months: Sequence[str], *,
             top: float = 0.05, weight: str = "harm",
             harm_overrides: Mapping[str, float] | None = None,
             half_life_months: float = DEFAULT_HALF_LIFE_MONTHS,
             max_distance: float = DEFAULT_MAX_DISTANCE_M,
             scores: pd.Series | None = None, score: str = "baseline",
             profile=None) -> tuple[BacktestResult, pd.DataFrame]:
    """Score streets with the training months, select the top ``top`` share, measure the
    test months' harm they capture.

    Parameters
    ----------
    train_months, test_months : lists of "YYYY-MM"
        Every training month must come before every test month.
    top : float
        Share of streets selected (``ceil(top * n)`` streets; ties broken by ``street_id``).
    scores : Series indexed by ``street_id``, optional
        A ready score; it replaces ``score``.
    score : "baseline", "scoring-harm" or "scoring"
        ``baseline``: :func:`recency_weighted_scores` of the training months' harm.
        ``scoring-harm``: the harm component (``harm_raw``) of
        :func:`spatial_core.targeting.scoring.score_streets` computed as of the last day of the last
        training month with ``profile`` (default the shipped default profile): recency decay
        in days, the profile's harm overrides, and every crime up to that day (earlier months
        than ``train_months`` too). ``scoring``: that run's whole composite score
        (harm, community voice, representation, coverage, fatigue).

    Returns
    -------
    (BacktestResult, DataFrame) : the measures, and per street ``street_id``, ``length_m``,
    ``score``, ``rank``, ``selected``, ``train_harm``, ``test_harm``.

    Notes
    -----
    ``hit_rate`` = selected streets' share of test harm. ``pai_length`` = hit rate / their
    share of street length; ``pai_streets`` = hit rate / their share of streets. The
    *oracle* selects the same number of streets by the test harm itself: the most any
    ranking could capture.
    """
    _check_fraction(top)
    train = sorted(set(train_months))
    test = sorted(set(test_months))
    if not train or not test:
        raise InputError("a backtest needs at least one training month and one test month")
    if max(train) >= min(test):
        raise InputError(f"training months must all come before the test months; got training "
                         f"up to {max(train)} and testing from {min(test)}")
    with store.connect() as conn:
        streets = _streets(store, "beat", conn)
        harm = street_harm(store, train + test, weight=weight, harm_overrides=harm_overrides,
                           max_distance=max_distance, streets=streets, conn=conn)
    ids = streets["street_id"].to_numpy(dtype=object)
    length = streets["length_m"].fillna(0.0).to_numpy(dtype="float64")
    is_train = harm["month"].isin(train).to_numpy()
    train_h = _per_street(streets, harm[is_train])
    test_h = _per_street(streets, harm[~is_train])
    if scores is not None:
        score_name = "given"
    elif score == "baseline":
        score_name = f"baseline: {weight} per street, half-life {half_life_months:g} months"
    elif score in ("scoring", "scoring-harm"):
        scores, score_name = _scoring_scores(store, train[-1], score, profile, max_distance)
    else:
        raise InputError(f"unknown score {score!r}; expected 'baseline', 'scoring-harm' or "
                         "'scoring'")
    if scores is None:
        values = recency_weighted_scores(harm[is_train], ids, as_of=train[-1],
                                         half_life_months=half_life_months)
    else:
        values = pd.Series(scores).reindex(pd.Index(ids)).fillna(0.0).to_numpy(dtype="float64")
    n = len(ids)
    k = _top_k(n, top)
    order = _ranked(values, ids)
    selected = np.zeros(n, dtype=bool)
    selected[order[:k]] = True
    rank = np.empty(n, dtype="int64")
    rank[order] = np.arange(1, n + 1)
    oracle = np.zeros(n, dtype=bool)
    oracle[_ranked(test_h, ids)[:k]] = True
    total_len = float(length.sum())
    total_test = float(test_h.sum())
    sel_len = float(length[selected].sum())
    length_share = sel_len / total_len if total_len > 0 else math.nan
    hit = float(test_h[selected].sum() / total_test) if total_test > 0 else math.nan
    oracle_hit = float(test_h[oracle].sum() / total_test) if total_test > 0 else math.nan
    oracle_len = float(length[oracle].sum() / total_len) if total_len > 0 else math.nan
    a = harm.attrs
    result = BacktestResult(
        train_months=tuple(train), test_months=tuple(test), top=float(top), score=score_name,
        weight="harm (overridden)" if weight == "harm" and harm_overrides else weight,
        max_distance=float(max_distance),
        streets=n, selected=int(k), total_length_m=total_len, selected_length_m=sel_len,
        length_share=length_share, street_share=k / n if n else math.nan,
        test_harm=total_test, test_harm_selected=float(test_h[selected].sum()),
        hit_rate=hit, pai_length=predictive_accuracy_index(hit, length_share),
        pai_streets=predictive_accuracy_index(hit, k / n if n else 0.0),
        oracle_hit_rate=oracle_hit,
        oracle_pai_length=predictive_accuracy_index(oracle_hit, oracle_len),
        train_streets_with_harm=int((train_h > 0).sum()),
        test_streets_with_harm=int((test_h > 0).sum()),
        crimes={"read": a.get("crimes_read"), "on_streets": a.get("crimes_on_streets"),
                "harm_read": a.get("harm_read"), "harm_on_streets": a.get("harm_on_streets")},
    )
    detail = pd.DataFrame({"street_id": ids, "length_m": length, "score": values, "rank": rank,
                           "selected": selected, "train_harm": train_h, "test_harm": test_h})
    return result, detail.sort_values("rank", kind="stable").reset_index(drop=True)


def _scoring_scores(store, last_month: str, which: str, profile, max_distance: float
                    ) -> tuple[pd.Series, str]:
    """Street scores of :mod:`spatial_core.targeting.scoring` as of the end of ``last_month``."""
    from datetime import date, timedelta

    from spatial_core.targeting.profiles import load_profile
    from spatial_core.targeting.scoring import prepare_inputs, score_streets

    year, month = int(last_month[:4]), int(last_month[5:7])
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    as_of = first_next - timedelta(days=1)
    prof = profile if profile is not None else load_profile(None)
    inputs = prepare_inputs(store, as_of=as_of, crime_distance_m=max(max_distance,
                                                                      prof.crime_distance_m))
    scored = score_streets(inputs, prof)
    column = "harm_raw" if which == "scoring-harm" else "score"
    name = (f"scoring module ({'harm component' if column == 'harm_raw' else 'composite score'}"
            f", profile {prof.name}, as of {as_of.isoformat()})")
    return pd.Series(scored[column].to_numpy(dtype="float64"),
                     index=scored["street_id"].to_numpy(dtype=object)), name
