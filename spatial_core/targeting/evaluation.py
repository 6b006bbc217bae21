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
- :func:`rolling_backtest` repeats that from every origin month (train on the months up to
  *t*, test on *t+1 … t+h*) on street units or H3 cells (:func:`unit_months` builds the unit
  x month matrices once), comparing the score's crime component (:func:`crime_component`,
  the same numbers as ``lpt score``'s ``harm_raw``), the naive prior count, prior harm and the
  oracle; :func:`rolling_summary` gives the mean and spread over origins and
  :func:`tune_crime_parameters` chooses a profile's half-life, ``prior_crimes`` and
  ``smoothing`` by it.

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
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
import shapely

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
    "ROLLING_METHODS",
    "TUNING_GRID",
    "TUNED",
    "UnitMonths",
    "unit_months",
    "selection_share",
    "tied_at_cut",
    "UNIT_KINDS",
    "crime_component",
    "rolling_backtest",
    "rolling_summary",
    "tune_crime_parameters",
]

log = logging.getLogger(__name__)

DEFAULT_FRACTIONS = (0.01, 0.02, 0.05, 0.10, 0.20, 0.50)
DEFAULT_MAX_DISTANCE_M = 50.0
"""A crime farther than this from every street unit is outside the street coverage."""
UNIT_KINDS = ("streets", "cells", "locations")
"""What :func:`unit_months` can put crimes on: street units, the H3 cells holding crime,
police.uk locations (LSOA and "On or near ..."; no street network needed)."""
LOCATION_NEIGHBOUR_M = 100.0
"""``unit_months(units="locations")``: locations this close are neighbours (smoothing)."""
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


def selection_share(values, k: int) -> np.ndarray:
    """Per unit, its share of a place among the top ``k`` by ``values``: 1 above the cut, 0
    below it, and for the units **tied at the cut** the places left over divided among them
    (their chance of being selected when the tie is broken at random).

    A ranking with ties does not say which of the tied units make the top ``k``; breaking
    the tie by an id would give the ranking the luck of the ids (issue 12: the naive count
    of two months ties 17 central Leeds streets for the last 15 of 101 places). Hit rates
    and area shares are therefore expectations over every order of the tied units
    (``selection_share @ test_harm``), for every ranking alike; a ranking without ties at
    the cut is unaffected.

    Examples
    --------
    >>> selection_share([5, 3, 3, 3, 1], 2).round(4).tolist()
    [1.0, 0.3333, 0.3333, 0.3333, 0.0]
    >>> selection_share([5, 4, 3], 2).tolist()
    [1.0, 1.0, 0.0]
    """
    v = np.asarray(values, dtype="float64")
    out = np.zeros(len(v))
    if k <= 0 or not len(v):
        return out
    if k >= len(v):
        out[:] = 1.0
        return out
    cut = np.partition(-v, k - 1)[k - 1] * -1.0
    above = v > cut
    tied = v == cut
    out[above] = 1.0
    out[tied] = (k - int(above.sum())) / int(tied.sum())
    return out


def tied_at_cut(values, k: int) -> tuple[int, int]:
    """``(tied, places)``: how many units share the value at the cut of the top ``k``, and
    how many of the top ``k`` places they share (``(1, 1)`` when there is no tie)."""
    return _tie(selection_share(values, k))


def _tie(share: np.ndarray) -> tuple[int, int]:
    """:func:`tied_at_cut` of a :func:`selection_share` already computed."""
    part = (share > 0) & (share < 1)
    if not part.any():
        return 1, 1
    return int(part.sum()), int(round(float(share[part].sum())))


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
    hit_rate_by_id: float
    tied_at_cut: int
    tied_places: int
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
        Share of streets selected (``ceil(top * n)`` streets; ties at the cut: see Notes).
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
    ``hit_rate`` = selected streets' share of test harm, the streets tied at the cut
    sharing the places left (:func:`selection_share`: the expectation over every order of
    the tie; ``tied_at_cut`` streets share ``tied_places`` places); ``hit_rate_by_id`` breaks
    the tie by ``street_id`` instead, as ``selected`` in the detail does. ``pai_length`` =
    hit rate / their (expected) share of street length; ``pai_streets`` = hit rate / their
    share of streets. The *oracle* selects the same number of streets by the test harm
    itself: the most any ranking could capture.
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
    # Hit rate and length share: expectations over every order of the streets tied at the
    # cut (selection_share); ``selected`` lists one such order (ties by street_id).
    chance = selection_share(values, k)
    tied, places = _tie(chance)
    sel_len = float(chance @ length)
    length_share = sel_len / total_len if total_len > 0 else math.nan
    hit = float(chance @ test_h / total_test) if total_test > 0 else math.nan
    hit_by_id = float(test_h[selected].sum() / total_test) if total_test > 0 else math.nan
    oracle_hit = float(test_h[oracle].sum() / total_test) if total_test > 0 else math.nan
    oracle_len = float(length[oracle].sum() / total_len) if total_len > 0 else math.nan
    a = harm.attrs
    result = BacktestResult(
        train_months=tuple(train), test_months=tuple(test), top=float(top), score=score_name,
        weight="harm (overridden)" if weight == "harm" and harm_overrides else weight,
        max_distance=float(max_distance),
        streets=n, selected=int(k), total_length_m=total_len, selected_length_m=sel_len,
        length_share=length_share, street_share=k / n if n else math.nan,
        test_harm=total_test, test_harm_selected=float(chance @ test_h),
        hit_rate=hit, hit_rate_by_id=hit_by_id, tied_at_cut=tied, tied_places=places,
        pai_length=predictive_accuracy_index(hit, length_share),
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


# -- rolling-origin backtests -------------------------------------------------------------------

ROLLING_METHODS = ("score", "count", "harm", "oracle")
"""The rankings a rolling backtest compares: the score's crime component (``score``), the
naive prior count (``count``: crimes in every month up to the origin), prior harm (``harm``:
their CCHI days) and the ``oracle`` (the test months' harm itself)."""

TUNING_GRID: dict[str, tuple[float, ...]] = {
    "half_life_days": (30.0, 91.0, 182.0, 365.0, 730.0),
    "prior_crimes": (0.0, 10.0, 30.0, 100.0, 300.0, math.inf),
    "smoothing": (0.0, 0.1, 0.25),
    "long_run_months": (0.0, 5.0),
}
"""The crime parameters :func:`tune_crime_parameters` tries by default (every combination)."""
TUNED = ("half_life_days", "prior_crimes", "smoothing", "long_run_months")
"""The profile's crime parameters :func:`tune_crime_parameters` can choose."""


@dataclass(frozen=True, eq=False)
class UnitMonths:
    """Crimes and harm per unit (street unit or H3 cell) and month, built once by
    :func:`unit_months` so that every origin of a rolling backtest is a few matrix
    products (no store access)."""

    kind: str  # "streets" | "cells" | "locations"
    units: np.ndarray  # street ids (sorted), H3 cells (uint64, sorted) or "LSOA | location"
    months: tuple[str, ...]  # every stored crime month, sorted
    crimes: np.ndarray  # U x M crimes
    harm: np.ndarray  # U x M CCHI days
    group: np.ndarray  # per unit: the group (beat) of the harm mix; cells: one group
    length: np.ndarray  # per unit: street length in metres (cells: 1, equal areas)
    neighbour_i: np.ndarray  # (i, j) pairs: touching streets / the ring-1 cells
    neighbour_j: np.ndarray
    resolution: int | None = None
    attrs: dict = field(default_factory=dict)


def _every_crime(cr: pd.DataFrame, harm_overrides) -> tuple:
    """Month, weight 1, harm and read counts of crimes that all land on a unit."""
    harm_w = crime_weights(cr, "harm", harm_overrides) if len(cr) else np.zeros(0)
    attrs = {"crimes_read": int(len(cr)), "crimes_on_streets": int(len(cr)),
             "harm_read": float(harm_w.sum()), "harm_on_streets": float(harm_w.sum())}
    return cr["month"].to_numpy(dtype=object), np.ones(len(cr)), harm_w, attrs


def unit_months(store, *, units: str = "streets", resolution: int | None = None,
                max_distance: float = DEFAULT_MAX_DISTANCE_M,
                harm_overrides: Mapping[str, float] | None = None) -> UnitMonths:
    """Every stored crime on its unit, summed per unit and month.

    ``units="streets"``: the nearest street unit within ``max_distance`` metres
    (:func:`street_harm`, as scoring places crimes); the group is the street's beat;
    neighbours are streets that touch (within
    :data:`spatial_core.targeting.scoring.NEIGHBOUR_M`). ``units="cells"``: the H3 cell of
    each located crime at ``resolution`` (default: the store's); the units are the cells
    holding at least one crime in the store (police.uk places crimes on a fixed set of
    anonymised map points, so other cells never hold any); neighbours are the ring-1 cells
    among them; PAI uses the share of cells (cells have about equal area).
    ``units="locations"``: police.uk's own street-level places, one unit per LSOA and
    ``location`` text ("On or near Hobill Close": the street or place of the anonymised map
    point the crime was moved to), for a force whose store holds no street network; the
    units are the locations holding at least one stored crime; neighbours are the locations
    whose median point lies within :data:`LOCATION_NEIGHBOUR_M` metres; PAI uses the share
    of locations.
    """
    if units == "streets":
        from spatial_core.targeting.scoring import NEIGHBOUR_M

        with store.connect() as conn:
            streets = _streets(store, "beat", conn)
            long = street_harm(store, None, harm_overrides=harm_overrides,
                               max_distance=max_distance, streets=streets, conn=conn)
        ids = streets["street_id"].to_numpy(dtype=object)
        order = np.argsort(ids.astype(str), kind="stable")
        streets = streets.iloc[order].reset_index(drop=True)
        ids = ids[order]
        unit_pos = pd.Index(ids).get_indexer(long["street_id"].to_numpy(dtype=object))
        beats = streets["beat_id"].fillna("").astype(str).to_numpy()
        group = np.unique(beats, return_inverse=True)[1].astype("int64")
        length = streets["length_m"].fillna(0.0).to_numpy(dtype="float64")
        geoms = streets.geometry.to_numpy()
        ni, nj = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=NEIGHBOUR_M)
        month_of = long["month"].to_numpy(dtype=object)
        crimes_w, harm_w = long["crimes"].to_numpy("float64"), long["harm"].to_numpy("float64")
        attrs = dict(long.attrs)
        res = None
    elif units == "cells":
        from h3.api import basic_int as h3int

        from spatial_core.geo.cells import cell_resolutions, cells_to_parents

        t = schema.crimes
        cr = store.read("crimes", ["month", "category", "offence_code", "cell"],
                        where=(t.c.cell != 0) & (t.c.is_outlier == 0))
        cells = cr["cell"].to_numpy().astype("uint64")
        stored_res = int(cell_resolutions(cells[:1])[0]) if len(cells) else 10
        res = stored_res if resolution is None else int(resolution)
        if res > stored_res:
            raise InputError(f"crimes are stored on H3 cells of resolution {stored_res}; "
                             f"resolution {res} is finer")
        if res < stored_res and len(cells):
            cells = cells_to_parents(cells, res)
        ids, unit_pos = np.unique(cells, return_inverse=True)
        group = np.zeros(len(ids), dtype="int64")
        length = np.ones(len(ids))
        rings = [h3int.grid_ring(c, 1) for c in ids.tolist()]
        ni = np.repeat(np.arange(len(ids)), [len(r) for r in rings])
        ring = np.fromiter((c for r in rings for c in r), dtype="uint64", count=len(ni))
        nj = np.minimum(np.searchsorted(ids, ring), max(len(ids) - 1, 0))
        held = ids[nj] == ring if len(ids) else np.zeros(0, dtype=bool)
        ni, nj = ni[held], nj[held]
        month_of, crimes_w, harm_w, attrs = _every_crime(cr, harm_overrides)
    elif units == "locations":
        t = schema.crimes
        cr = store.read("crimes", ["month", "category", "offence_code", "location",
                                   "lsoa_code", "x", "y"],
                        where=(t.c.cell != 0) & (t.c.is_outlier == 0))
        key = (cr["lsoa_code"].fillna("").astype(str) + " | "
               + cr["location"].fillna("").astype(str)).to_numpy(dtype=object)
        ids, unit_pos = np.unique(key, return_inverse=True) if len(cr) else (
            np.array([], dtype=object), np.zeros(0, dtype="int64"))
        group = np.zeros(len(ids), dtype="int64")
        length = np.ones(len(ids))
        at = (pd.DataFrame({"u": unit_pos, "x": cr["x"].to_numpy(dtype="float64"),
                            "y": cr["y"].to_numpy(dtype="float64")})
              .groupby("u")[["x", "y"]].median().reindex(range(len(ids))))
        points = shapely.points(at["x"].to_numpy(), at["y"].to_numpy())
        ni, nj = shapely.STRtree(points).query(points, predicate="dwithin",
                                               distance=LOCATION_NEIGHBOUR_M)
        month_of, crimes_w, harm_w, attrs = _every_crime(cr, harm_overrides)
        res = None
    else:
        raise InputError(f"unknown units {units!r}; expected one of {', '.join(UNIT_KINDS)}")
    months = tuple(sorted(set(month_of.tolist())))
    if not months:
        raise InputError("no located crime is stored: import crimes first")
    m_pos = pd.Index(months).get_indexer(month_of)
    U, M = len(ids), len(months)
    flat = unit_pos.astype("int64") * M + m_pos
    crimes = np.bincount(flat, crimes_w, U * M).reshape(U, M)
    harm = np.bincount(flat, harm_w, U * M).reshape(U, M)
    other = ni != nj
    return UnitMonths(kind=units, units=ids, months=months, crimes=crimes, harm=harm,
                      group=group, length=length, neighbour_i=ni[other].astype("int64"),
                      neighbour_j=nj[other].astype("int64"), resolution=res, attrs=attrs)


def _month_ages(months: Sequence[str], origin: str) -> np.ndarray:
    """Days from each month (dated by its 15th, as scoring dates them) to the last day of
    ``origin`` (the day the score is computed on)."""
    days = pd.to_datetime([f"{m}-15" for m in months], format="%Y-%m-%d")
    as_of = pd.Period(origin, freq="M").end_time.normalize()
    return np.asarray((as_of - days).days, dtype="float64")


def crime_component(data: UnitMonths, origin: str, profile, *,
                    prior_crimes: float | str | None = None) -> np.ndarray:
    """The score's crime component per unit as of the last day of ``origin``, from the
    months up to it: :func:`spatial_core.analytics.harm.expected_harm` with the profile's
    half-life, ``long_run_months`` (:func:`spatial_core.analytics.harm.recency_weights`),
    look-back, ``prior_crimes``, ``mix_within`` and ``smoothing`` (``harm.model =
    "recorded"``: the harm weighted ``0.5 ** (age / half-life)``), in total per unit (a
    backtest measures total harm).

    ``prior_crimes`` replaces the profile's: a number, or ``"auto"`` for
    :func:`~spatial_core.analytics.harm.estimate_prior_crimes` on the months up to ``origin``
    (the profile's when it cannot be estimated: a single month). ``"auto"`` is an experiment
    (``docs/analytics/scoring.md``, "Tried: data-estimated shrinkage"), not a profile setting."""
    from spatial_core.analytics.harm import (
        estimate_prior_crimes,
        expected_harm,
        recency_weights,
    )

    t = data.months.index(origin)
    ages = _month_ages(data.months[:t + 1], origin)
    within = ages <= profile.lookback_days
    w = np.zeros(len(ages))
    w[within] = recency_weights(ages[within], profile.half_life_days,
                                profile.long_run_months if profile.harm_model == "expected"
                                else 0.0)
    n = data.crimes[:, :t + 1] @ w
    h = data.harm[:, :t + 1] @ w
    if profile.harm_model == "recorded" or not w.any():
        return h
    group = data.group if profile.mix_within == "beat" else None
    k = profile.prior_crimes if prior_crimes is None else prior_crimes
    if isinstance(k, str):
        if k != "auto":
            raise InputError(f"prior_crimes must be a number of crimes >= 0 or 'auto', got {k!r}")
        k = estimate_prior_crimes(data.crimes[:, :t + 1], data.harm[:, :t + 1], w, group=group)
        k = profile.prior_crimes if math.isnan(k) else k
    return expected_harm(n, h, w[w > 0], group=group, prior_crimes=float(k),
                         smoothing=profile.smoothing,
                         neighbours=(data.neighbour_i, data.neighbour_j)).harm


def _origins(data: UnitMonths, origins, horizon: int, min_history: int, lead: int = 1,
             history: Sequence[int] | None = None) -> list[str]:
    if horizon < 1:
        raise InputError(f"horizon must be a whole number of months >= 1, got {horizon}")
    if lead < 1:
        raise InputError(f"lead must be a whole number of months >= 1, got {lead}")
    back = _history(history)
    months = list(data.months)
    first = max(min_history - 1, back[0] if back else 0, 0)
    possible = months[first:max(len(months) - horizon - lead + 1, first)]
    if origins is None:
        return possible
    bad = sorted(set(origins) - set(possible))
    if bad:
        need = (f"the months {', '.join(str(b) for b in back)} before it" if back
                else f"{min_history} up to it")
        raise InputError(f"origins {bad} cannot be tested: an origin needs {horizon} stored "
                         f"month(s) from {lead} month(s) after it and {need}")
    return sorted(set(origins))


def _history(history: Sequence[int] | None) -> tuple[int, ...]:
    """Months before the origin a ranking uses, oldest first (``(12, 0)``), or ``()``: all."""
    if history is None:
        return ()
    back = sorted({int(h) for h in history}, reverse=True)
    if not back or back[-1] != 0 or any(h < 0 for h in back):
        raise InputError(f"history must list months before the origin, 0 (the origin) "
                         f"included, none negative; got {list(history)}")
    return tuple(back)


def _origin_view(data: UnitMonths, t: int, back: tuple[int, ...]) -> tuple[UnitMonths, str]:
    """The data a ranking made at origin month ``t`` may use: every month up to it, or only
    the months ``back`` before it (as a store holding only those months)."""
    origin = data.months[t]
    if not back:
        return data, origin
    cols = [t - b for b in back]
    return replace(data, months=tuple(data.months[c] for c in cols), crimes=data.crimes[:, cols],
                   harm=data.harm[:, cols]), origin


def rolling_backtest(data: UnitMonths, *, origins: Sequence[str] | None = None,
                     horizon: int = 1, top: float = 0.05, profile=None,
                     min_history: int = 12, lead: int = 1,
                     history: Sequence[int] | None = None,
                     prior_crimes: float | str | None = None) -> pd.DataFrame:
    """Rolling-origin backtest: for each origin month *t*, rank the units with the months up
    to *t* and measure the harm (and crimes) of months *t+l … t+l+h-1* on the top ``top``
    share (``l = lead``, default 1: the next month; ``h = horizon``).

    Parameters
    ----------
    data : UnitMonths
        From :func:`unit_months` (street units or H3 cells).
    origins : list of "YYYY-MM", optional
        Default: every stored month with ``min_history`` months up to it (itself included)
        and ``horizon`` months after it.
    profile : Profile, optional
        Whose crime parameters make the ``score`` ranking (default: the shipped default).
    lead : int
        Months from the origin to the first test month: 12 tests the month a year on.
    history : list of int, optional
        Months before the origin that every ranking may use, 0 (the origin) included:
        ``(12, 0)`` is a store holding only the origin month and the month a year before it
        (as the two Leeds Julys). Default: every month up to the origin.
    prior_crimes : float or "auto", optional
        Replaces the profile's in the ``score`` ranking (:func:`crime_component`).

    Returns
    -------
    DataFrame, one row per origin and method (:data:`ROLLING_METHODS`): ``origin``,
    ``test_months`` (``first..last``), ``method``, ``units``, ``selected``
    (``ceil(top * units)``), ``area_share`` (their share of street length; of cells for
    cells), ``hit_rate`` (share of the test harm), ``hit_rate_crimes`` (share of the test
    crimes), ``pai`` (hit rate / area share), all with the units tied at the cut sharing the
    places left (:func:`selection_share`); ``hit_rate_by_id`` breaks the tie by unit id
    instead; ``tied_at_cut``: how many units share the value at the cut (1: no tie).
    """
    from spatial_core.targeting.profiles import load_profile

    _check_fraction(top)
    prof = profile if profile is not None else load_profile(None)
    chosen = _origins(data, origins, horizon, min_history, lead, history)
    back = _history(history)
    U = len(data.units)
    k = _top_k(U, top)
    total_length = float(data.length.sum())
    position = np.arange(U)
    rows = []
    for origin in chosen:
        t = data.months.index(origin)
        first, last = t + lead, t + lead + horizon - 1
        test_h = data.harm[:, first:last + 1].sum(axis=1)
        test_c = data.crimes[:, first:last + 1].sum(axis=1)
        seen, _ = _origin_view(data, t, back)
        upto = seen.months.index(origin) + 1
        scores = {"score": crime_component(seen, origin, prof, prior_crimes=prior_crimes),
                  "count": seen.crimes[:, :upto].sum(axis=1),
                  "harm": seen.harm[:, :upto].sum(axis=1),
                  "oracle": test_h}
        th, tc = float(test_h.sum()), float(test_c.sum())
        for method in ROLLING_METHODS:
            chance = selection_share(scores[method], k)
            share = float(chance @ data.length) / total_length if total_length else math.nan
            hit = float(chance @ test_h) / th if th > 0 else math.nan
            by_id = np.lexsort((position, -scores[method]))[:k]
            rows.append({"origin": origin,
                         "test_months": f"{data.months[first]}..{data.months[last]}",
                         "method": method, "units": U, "selected": k, "area_share": share,
                         "hit_rate": hit,
                         "hit_rate_crimes": float(chance @ test_c) / tc if tc > 0 else math.nan,
                         "pai": predictive_accuracy_index(hit, share),
                         "hit_rate_by_id": float(test_h[by_id].sum()) / th if th > 0
                         else math.nan,
                         "tied_at_cut": _tie(chance)[0]})
    out = pd.DataFrame(rows, columns=["origin", "test_months", "method", "units", "selected",
                                      "area_share", "hit_rate", "hit_rate_crimes", "pai",
                                      "hit_rate_by_id", "tied_at_cut"])
    out.attrs.update(kind=data.kind, resolution=data.resolution, top=top, horizon=horizon,
                     lead=lead, history=list(back) or None, profile=prof.name)
    return out


def rolling_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per method of a :func:`rolling_backtest`: ``origins``, the mean, standard deviation
    (over origins), minimum and maximum of ``hit_rate``, the mean ``hit_rate_crimes``, the mean
    and standard deviation of ``pai`` (``pai``, ``pai_sd``), and ``beats_count``: the origins
    where the method's hit rate is above the naive prior count's."""
    count = rows[rows["method"] == "count"].set_index("origin")["hit_rate"]
    out = []
    for method in ROLLING_METHODS:
        r = rows[rows["method"] == method]
        if not len(r):
            continue
        hit = r["hit_rate"].to_numpy(dtype="float64")
        out.append({"method": method, "origins": int(len(r)), "hit_rate": float(hit.mean()),
                    "hit_rate_sd": float(hit.std(ddof=1)) if len(r) > 1 else math.nan,
                    "hit_rate_min": float(hit.min()), "hit_rate_max": float(hit.max()),
                    "hit_rate_crimes": float(r["hit_rate_crimes"].mean()),
                    "pai": float(r["pai"].mean()),
                    "pai_sd": float(r["pai"].std(ddof=1)) if len(r) > 1 else math.nan,
                    "beats_count": int((r.set_index("origin")["hit_rate"]
                                        > count.reindex(r["origin"]).to_numpy()).sum())})
    return pd.DataFrame(out)


def tune_crime_parameters(data: UnitMonths, *, profile=None,
                          grid: Mapping[str, Sequence[float]] | None = None,
                          origins: Sequence[str] | None = None, horizon: int = 1,
                          top: float = 0.05, min_history: int = 12, lead: int = 1,
                          history: Sequence[int] | None = None):
    """The profile's crime parameters (``half_life_days``, ``prior_crimes``, ``smoothing``,
    ``long_run_months``) that give the highest mean hit rate of the ``score`` ranking over
    the origins of a rolling backtest, trying every combination of ``grid`` (default
    :data:`TUNING_GRID`; ties: the earlier combination). The look-back is kept at least four
    half-lives.

    Returns ``(profile, table)``: a copy of ``profile`` (default: the shipped default) with
    the best parameters, named ``<its name>-tuned`` (so a score made with it says so), and
    one row per combination (the parameters, ``hit_rate``,
    ``hit_rate_sd``, ``hit_rate_crimes``) from the best down. The hit rates are in-sample:
    the origins that chose the parameters also measure them. ``lead`` and ``history`` are
    those of :func:`rolling_backtest`.
    """
    from itertools import product

    from spatial_core.targeting.profiles import load_profile

    base = profile if profile is not None else load_profile(None)
    g = dict(TUNING_GRID if grid is None else grid)
    keys = [k for k in TUNED if k in g]
    unknown = set(g) - set(keys)
    if unknown:
        raise InputError(f"unknown tuning parameters {sorted(unknown)}; expected "
                         + ", ".join(TUNED))
    chosen = _origins(data, origins, horizon, min_history, lead, history)
    back = _history(history)
    U = len(data.units)
    k = _top_k(U, top)
    tests = []
    for origin in chosen:
        t = data.months.index(origin)
        tests.append((_origin_view(data, t, back)[0], origin,
                      data.harm[:, t + lead:t + lead + horizon].sum(axis=1),
                      data.crimes[:, t + lead:t + lead + horizon].sum(axis=1)))
    rows = []
    for values in product(*(g[key] for key in keys)):
        params = dict(zip(keys, (float(v) for v in values), strict=True))
        lookback = max(base.lookback_days,
                       int(math.ceil(4 * params.get("half_life_days", base.half_life_days))))
        prof = replace(base, harm_model="expected", lookback_days=lookback, **params)
        hits, hits_c = [], []
        for seen, origin, test_h, test_c in tests:
            chance = selection_share(crime_component(seen, origin, prof), k)
            hits.append(chance @ test_h / test_h.sum() if test_h.sum() > 0 else np.nan)
            hits_c.append(chance @ test_c / test_c.sum() if test_c.sum() > 0 else np.nan)
        rows.append({**params, "lookback_days": lookback, "hit_rate": float(np.nanmean(hits)),
                     "hit_rate_sd": float(np.nanstd(hits, ddof=1)) if len(hits) > 1
                     else math.nan, "hit_rate_crimes": float(np.nanmean(hits_c))})
    table = pd.DataFrame(rows).sort_values("hit_rate", ascending=False, kind="stable")
    table = table.reset_index(drop=True)
    best = table.iloc[0]
    where = "street units" if data.kind == "streets" else f"H3 cells (res {data.resolution})"
    note = (f"Crime parameters tuned by rolling backtest on {len(chosen)} origins "
            f"{chosen[0]}..{chosen[-1]}, {where}, top {top:g}: mean hit rate "
            f"{best['hit_rate']:.4f} (in-sample).") if chosen else ""
    name = base.name if base.name.endswith("-tuned") else f"{base.name}-tuned"
    tuned = replace(base, name=name, harm_model="expected",
                    lookback_days=int(best["lookback_days"]),
                    description=" ".join(x for x in (base.description, note) if x),
                    **{key: float(best[key]) for key in keys})
    table.attrs.update(origins=chosen, top=top, horizon=horizon, lead=lead,
                       history=list(back) or None, kind=data.kind, resolution=data.resolution)
    return tuned, table
