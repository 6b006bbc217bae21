# SPDX-License-Identifier: GPL-3.0-or-later
"""Crime harm weights: an approximation of the Cambridge Crime Harm Index (CCHI).

The CCHI (Sherman, Neyroud & Neyroud, 2016, *Policing* 10(3)) weighs each offence by the
number of days of imprisonment in the Sentencing Council's starting-point sentence for a
first offender in the least serious category of the offence; non-custodial starting points
are converted to days as well. The table shipped here,
``spatial_core/data/harm_weights.csv``, is **an approximation made for this project, not
the published CCHI table**:

- one value per police.uk category, taken from a representative offence of the category
  (named, with its guideline starting point, in the ``basis`` column of every row);
- a value per Home Office offence code where the guideline gives a clearly different figure
  (murder, s.18 wounding, rape, robbery …); other codes take their category's value;
- non-custodial starting points are converted with round numbers: Band A fine 3.5 days,
  Band B 7, Band C 10 (days of a week's income), low / medium / high-level community
  order 10 / 20 / 40 days;
- anti-social behaviour is not a crime and has no sentence: it gets 1 day, a small
  non-zero weight so that persistent ASB still shows.

Forces that hold the current CCHI table (Cambridge Centre for Evidence-Based Policing,
updated May 2023) should put its values in a targeting profile's harm overrides.

:func:`expected_harm` turns recorded crimes and harm per street (or cell) into a forecast of
next month's harm (empirical Bayes), with the months weighted by :func:`recency_weights`
(recent rate blended with the long-run rate): the crime component of the street score and of
the rolling backtests (``docs/analytics/scoring.md``).
"""
from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from io import StringIO

import numpy as np
import pandas as pd

from spatial_core.errors import InputError
from spatial_core.io.crimes import CATEGORIES, ho_code_candidates

__all__ = [
    "ASB",
    "CATEGORY_NAMES",
    "harm_table",
    "category_weights",
    "offence_code_weights",
    "crimes_to_harm",
    "normalise_category",
    "crime_weights",
    "crime_months",
    "recency_weights",
    "ExpectedHarm",
    "expected_harm",
    "estimate_prior_crimes",
]

log = logging.getLogger(__name__)

ASB = "Anti-social behaviour"
CATEGORY_NAMES: tuple[str, ...] = tuple(CATEGORIES.values())
"""The police.uk category names, in a fixed order (column order of per-category arrays)."""


@lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    text = resources.files("spatial_core").joinpath("data/harm_weights.csv").read_text("utf-8")
    frame = pd.read_csv(StringIO(text), dtype={"kind": str, "key": str, "basis": str})
    cats = frame[frame["kind"] == "category"]
    missing = sorted(set(CATEGORY_NAMES) - set(cats["key"]))
    unknown = sorted(set(cats["key"]) - set(CATEGORY_NAMES))
    if missing or unknown:  # pragma: no cover - guards the shipped table
        raise RuntimeError(f"harm_weights.csv: categories missing {missing}, unknown {unknown}")
    return frame


def harm_table() -> pd.DataFrame:
    """The shipped harm table: ``kind`` (``category`` | ``offence_code``), ``key``,
    ``cchi_days`` and ``basis`` (the representative offence and its starting point).

    Examples
    --------
    >>> t = harm_table()
    >>> t.set_index("key").loc["Burglary", "cchi_days"]
    40.0
    """
    return _table().copy()


def normalise_category(name: str) -> str | None:
    """The police.uk display name for a display name or API slug (any case); None if unknown.

    Examples
    --------
    >>> normalise_category("burglary"), normalise_category("anti-social-behaviour")
    ('Burglary', 'Anti-social behaviour')
    """
    low = str(name).strip().lower()
    for slug, display in CATEGORIES.items():
        if low in (slug, display.lower()):
            return display
    return None


def category_weights(overrides: Mapping[str, float] | None = None) -> np.ndarray:
    """CCHI days per category, in :data:`CATEGORY_NAMES` order, with ``overrides`` applied.

    ``overrides`` maps a category (display name or slug) to a non-negative number of days.

    Examples
    --------
    >>> w = category_weights({"burglary": 100})
    >>> float(w[CATEGORY_NAMES.index("Burglary")]), float(w[CATEGORY_NAMES.index(ASB)])
    (100.0, 1.0)
    """
    t = _table()
    cats = t[t["kind"] == "category"].set_index("key")["cchi_days"]
    out = np.array([float(cats[c]) for c in CATEGORY_NAMES])
    for key, value in (overrides or {}).items():
        name = normalise_category(key)
        if name is None:
            raise InputError(f"harm override for unknown category {key!r}; expected one of "
                             + ", ".join(CATEGORY_NAMES))
        v = float(value)
        if not np.isfinite(v) or v < 0:
            raise InputError(f"harm override for {name!r} must be a number of days >= 0",
                             value=value)
        out[CATEGORY_NAMES.index(name)] = v
    return out


def offence_code_weights(codes) -> np.ndarray:
    """CCHI days for Home Office offence codes that have their own value in the table; NaN
    for empty codes and codes that take their category's value.

    Codes are matched most specific first, as
    :func:`spatial_core.io.crimes.offence_codes_to_categories` does (``"019C/01"`` tries
    ``19C/1``, ``19C``, ``19``).

    Examples
    --------
    >>> offence_code_weights(["001", "19C", "028E", None]).tolist()
    [5475.0, 1825.0, nan, nan]
    """
    t = _table()
    table = dict(zip(t.loc[t["kind"] == "offence_code", "key"].str.upper(),
                     t.loc[t["kind"] == "offence_code", "cchi_days"].astype(float), strict=True))
    values = pd.Series(codes, dtype=object).fillna("").astype(str)
    lookup: dict[str, float] = {}
    for code in values.unique():  # a force uses a few hundred distinct codes at most
        lookup[code] = next((table[c] for c in ho_code_candidates(code) if c in table), np.nan)
    return values.map(lookup).to_numpy(dtype="float64")


def crimes_to_harm(categories, offence_codes=None,
                   overrides: Mapping[str, float] | None = None) -> np.ndarray:
    """CCHI days for each crime.

    A crime whose offence code has its own value takes it, unless the profile overrides the
    crime's category: an override applies to every crime of the category. Otherwise the
    crime takes its category's value.

    Examples
    --------
    >>> crimes_to_harm(["Burglary", "Violence and sexual offences", "Robbery"],
    ...                [None, "1", None]).tolist()
    [40.0, 5475.0, 365.0]
    >>> crimes_to_harm(["Violence and sexual offences"], ["1"], {"violent-crime": 10}).tolist()
    [10.0]
    """
    cats = pd.Series(categories, dtype=object)
    idx = cats.map({c: i for i, c in enumerate(CATEGORY_NAMES)})
    if idx.isna().any():
        bad = cats[idx.isna()].iloc[0]
        raise InputError("expected a police.uk crime category: " + ", ".join(CATEGORY_NAMES),
                         value=bad)
    cat_idx = idx.to_numpy(dtype="int64")
    weights = category_weights(overrides)[cat_idx]
    if offence_codes is None:
        return weights
    code_w = offence_code_weights(offence_codes)
    overridden = np.zeros(len(CATEGORY_NAMES), dtype=bool)
    for key in overrides or {}:
        overridden[CATEGORY_NAMES.index(normalise_category(key))] = True
    use_code = np.isfinite(code_w) & ~overridden[cat_idx]
    return np.where(use_code, code_w, weights)


def crime_weights(frame: pd.DataFrame, weight: str = "harm",
                  harm_overrides: Mapping[str, float] | None = None) -> np.ndarray:
    """The weight of each crime row (columns ``category`` and, when present, ``offence_code``):
    its harm in CCHI days (:func:`spatial_core.analytics.harm.crimes_to_harm`, with a profile's
    ``harm_overrides``) for ``weight="harm"``, 1 for ``weight="count"``."""
    if weight == "count":
        return np.ones(len(frame))
    if weight == "harm":
        codes = frame["offence_code"] if "offence_code" in frame else None
        return np.asarray(crimes_to_harm(frame["category"], codes, harm_overrides), dtype="float64")
    raise InputError(f"unknown weight {weight!r}; expected 'harm' or 'count'")


def crime_months(store, periods: Sequence[str] | None = None, conn=None) -> list[str]:
    """The stored crime months (``YYYY-MM``), all of them or those falling in any of
    ``periods`` (``2016-07``, ``2016Q3``, ``2016``, ``2016-01..2016-06``; see
    :func:`spatial_core.analytics.population.parse_period`). A period holding no stored month is
    an error.
    """
    from sqlalchemy import select

    from spatial_core.analytics.population import parse_period
    from spatial_core.store import schema

    t = schema.crimes
    stmt = select(t.c.month).distinct().order_by(t.c.month)
    if conn is None:
        with store.connect() as c:
            stored = [r[0] for r in c.execute(stmt)]
    else:
        stored = [r[0] for r in conn.execute(stmt)]
    if not periods:
        return stored
    out: set[str] = set()
    for text in periods:
        p = parse_period(text)
        if p is None:
            continue
        hit = [m for m in stored if p.start[:7] <= m <= p.end[:7]]
        if not hit:
            have = f"{stored[0]} .. {stored[-1]}" if stored else "none"
            raise InputError(f"no crime is stored for {text!r}; stored months: {have}")
        out.update(hit)
    return sorted(out)


# -- expected harm (the crime component's forecast) ---------------------------------------------

def recency_weights(ages_days, half_life_days: float, long_run_months: float = 0.0
                    ) -> np.ndarray:
    """The weight of each month of data in the crime component, from its age (days before
    the day scored for; one age per month, every month in the look-back that holds crime).

    A street's rate next month is its recent rate (months weighted ``0.5 ** (age /
    half_life)``) credibility-weighted with its **long-run** rate (every month of the
    look-back weighed the same), the long-run rate counting as ``long_run_months`` months
    of data (``L``). With ``M`` months that is, per month,
    ``w = (L / M + 0.5 ** (age / half_life)) / (1 + L / M)``: the long-run part is shared
    out over the months there are, so

    - with many consecutive months (``M`` = 24) it adds little to each (``L / M`` = 0.2 for
      ``L`` = 5) and the weights decay nearly as ``0.5 ** (age / half_life)``;
    - with a few months far apart (two Julys a year apart: ``L / M`` = 2.5) each is a
      separate look at the lasting rate and they weigh nearly the same (0.98 and 0.78
      instead of 0.94 and 0.23).

    Exponential decay alone is memoryless: a month a year old weighs a quarter of the
    latest whether eleven months lie between them or none. ``L = 0`` is that decay. The
    weights are scaled so that a month of age 0 weighs 1 (a weighted crime is at most one
    crime, so ``prior_crimes`` keeps its meaning).

    Examples
    --------
    Two months, 0 and 180 days old, half-life 180 days: decay alone gives 1 and 0.5; with
    ``L = 2`` (one long-run month for each of the two) ``(1 + 1) / 2`` and ``(1 + 0.5) / 2``.

    >>> recency_weights([0, 180], 180.0).tolist(), recency_weights([0, 180], 180.0, 2).tolist()
    ([1.0, 0.5], [1.0, 0.75])
    """
    a = np.asarray(ages_days, dtype="float64")
    if not half_life_days > 0:
        raise InputError(f"half_life_days must be > 0, got {half_life_days}")
    if not long_run_months >= 0 or math.isinf(long_run_months):
        raise InputError(f"long_run_months must be a number of months >= 0, got "
                         f"{long_run_months}")
    decay = np.power(0.5, a / half_life_days)
    if not len(a) or long_run_months == 0:
        return decay
    share = long_run_months / len(a)
    return (share + decay) / (1.0 + share)


@dataclass(frozen=True)
class ExpectedHarm:
    """The outcome of :func:`expected_harm` for U units (streets or cells)."""

    harm: np.ndarray  # expected harm per unit per month (CCHI days)
    rate: np.ndarray  # expected crimes per unit per month (Poisson-gamma posterior mean)
    harm_per_crime: np.ndarray  # the unit's harm per crime shrunk towards its group's
    prior_shape: float  # the fitted gamma prior of the monthly rate: shape a, rate b
    prior_rate: float


def expected_harm(crimes, harm, month_weights, *, group=None, prior_crimes: float = 100.0,
                  smoothing: float = 0.0, neighbours: tuple | None = None) -> ExpectedHarm:
    """Expected harm per unit next month, from its (recency-weighted) crimes and their harm.

    Recorded harm is a poor forecast: one rare serious crime (a robbery, 365 days) makes a
    street look like the worst in the beat for a year, and it seldom repeats at the same
    place; the number of crimes repeats much better. The forecast splits harm into *how
    many crimes* times *how harmful a crime there is*, and shrinks both (empirical Bayes):

    - **rate** (crimes per month): Poisson counts with a gamma prior fitted to all units by
      the method of moments. With month weights ``w`` (recency), ``n`` the weighted crimes,
      ``r = n / sum(w)`` is a unit's monthly rate, whose chance variance is the rate over
      ``E = sum(w) ** 2 / sum(w ** 2)`` effective months (``E`` = the number of months when
      every weight is 1). With mean ``m`` and variance ``v`` of ``r`` over the units, the
      between-unit variance is ``t = v - m / E``; the prior is ``Gamma(a = m b, b = m / t)``
      and the posterior mean is ``(a + r E) / (b + E)``. When ``t <= 0`` (no more spread
      than chance) every unit gets ``m``.
    - **harm per crime**: ``(h + k mu_g) / (n + k)``, the unit's harm per crime shrunk
      towards its group's (``mu_g = sum h / sum n`` over the group: the beat's harm mix) with
      the weight of ``k = prior_crimes`` crimes (a Dirichlet-multinomial mean of the
      category mix, each category valued in CCHI days). ``k = 0``: the unit's own mix;
      ``k = inf``: every unit takes its group's mix (harm is then the rate times a constant).
    - **smoothing** ``s`` in [0, 1]: the rate becomes ``(1 - s) rate + s * mean(rate of
      neighbours)`` (``neighbours = (i, j)`` pairs, each direction listed; units without a
      neighbour keep their rate).

    ``harm = rate * harm_per_crime``.

    Parameters
    ----------
    crimes, harm : array_like
        Per unit: recency-weighted crimes and their harm (CCHI days), the same weights.
    month_weights : array_like
        The recency weight of each month of data the counts cover (all 1: unweighted).
    group : array_like of int, optional
        Per unit: the group (beat) whose harm mix the unit is shrunk towards; None: one group.

    Examples
    --------
    Two streets with one crime each, a robbery (365 days) and a burglary (40 days), and a
    street with none, one month, ``k = 1``: the mix is ``405 / 2`` days per crime; there is
    no spread beyond chance, so each street's rate is the mean, 2/3 of a crime a month.

    >>> e = expected_harm([1, 1, 0], [365, 40, 0], [1.0], prior_crimes=1)
    >>> e.rate.round(4).tolist(), e.harm_per_crime.tolist()
    ([0.6667, 0.6667, 0.6667], [283.75, 121.25, 202.5])
    """
    n = np.asarray(crimes, dtype="float64")
    h = np.asarray(harm, dtype="float64")
    if n.shape != h.shape or n.ndim != 1:
        raise InputError("crimes and harm must be 1-d arrays of the same length")
    w = np.asarray(month_weights, dtype="float64").ravel()
    if not (len(w) and np.all(w >= 0) and w.sum() > 0):
        raise InputError("month_weights must hold at least one weight > 0 and none < 0")
    months = float(w.sum())
    exposure = months ** 2 / float((w ** 2).sum())
    if not prior_crimes >= 0:
        raise InputError(f"prior_crimes must be >= 0, got {prior_crimes}")
    if not 0 <= smoothing <= 1:
        raise InputError(f"smoothing must be in [0, 1], got {smoothing}")
    U = len(n)
    g = np.zeros(U, dtype="int64") if group is None else np.asarray(group, dtype="int64")
    G = int(g.max()) + 1 if U else 1
    n_g, h_g = np.bincount(g, n, G), np.bincount(g, h, G)
    mu = np.divide(h_g, n_g, out=np.zeros(G), where=n_g > 0)[g]
    if np.isinf(prior_crimes):
        per_crime = mu
    else:
        den = n + prior_crimes
        per_crime = np.divide(h + prior_crimes * mu, den, out=mu.copy(), where=den > 0)
    r = n / months
    m = float(r.mean()) if U else 0.0
    t = float(r.var()) - m / exposure if U else 0.0
    if t > 0 and m > 0:
        b = m / t
        a = m * b
        rate = (a + r * exposure) / (b + exposure)
    else:
        a, b = math.inf, math.inf
        rate = np.full(U, m)
    if smoothing > 0 and neighbours is not None and len(neighbours[0]):
        i, j = (np.asarray(x, dtype="int64") for x in neighbours)
        deg = np.bincount(i, minlength=U)
        around = np.divide(np.bincount(i, rate[j], U), deg, out=rate.copy(), where=deg > 0)
        rate = (1.0 - smoothing) * rate + smoothing * around
    return ExpectedHarm(harm=rate * per_crime, rate=rate, harm_per_crime=per_crime,
                        prior_shape=float(a), prior_rate=float(b))


def estimate_prior_crimes(crimes, harm, month_weights, *, group=None) -> float:
    """A data-estimated ``prior_crimes`` *k* for :func:`expected_harm` (empirical Bayes,
    method of moments; an experiment, not the default: ``docs/analytics/scoring.md``, "Tried:
    data-estimated shrinkage").

    The credibility of a unit's own harm per crime is ``n / (n + k)`` with ``k = s2 / t2``
    (Buhlmann): ``s2`` the variance of the harm of one crime about its unit's mean (chance),
    ``t2`` the variance of the units' lasting means about their group's mix ``mu``. The months
    (newest first) are dealt alternately into two halves A and B, and for the units with crime
    in both halves (weights ``o = nA nB / (nA + nB)``, harm per crime ``xA``, ``xB``):

    - ``t2 = sum o (xA - mu)(xB - mu) / sum o``: what the two halves share (chance does not
      repeat from one half to the other);
    - ``s2 = sum o (xA - xB)^2 / sum o (cA / nA + cB / nB)``: what they do not share, per
      crime, with ``c = sum w^2 / sum w`` over a half's month weights (a weighted crime's
      chance variance; 1 when the weights are 1);
    - ``k = s2 c / t2`` in weighted crimes (``c`` over all the months).

    Parameters
    ----------
    crimes, harm : array_like, U x M
        Per unit and month: crimes and their harm (CCHI days), unweighted.
    month_weights : array_like, M
        The recency weight of each month (0: a month left out).
    group : array_like of int, optional
        As in :func:`expected_harm`: whose mix ``mu`` is.

    Returns
    -------
    float
        ``k``; ``inf`` when ``t2 <= 0`` (the halves share nothing beyond the mix: every unit
        takes its group's mix); ``nan`` when it cannot be estimated (fewer than two months
        with weight, or no unit with crime in both halves).

    Examples
    --------
    Three units, two months of weight 1; the mix is 350 / 7 = 50 days a crime. Unit 0: 2
    crimes of 40 days each (newest month), 2 of 60; unit 1: 1 of 10, 1 of 30; unit 2: one
    crime of 110 days, newest month only. Units 0 and 1 have crime in both halves, with
    ``o`` = 1 and 0.5: ``t2 = (1 (-10)(10) + 0.5 (-40)(-20)) / 1.5 = 200``,
    ``s2 = (1 * 400 + 0.5 * 400) / (1 * 1 + 0.5 * 2) = 300``, ``k = 1.5``.

    >>> estimate_prior_crimes([[2, 2], [1, 1], [0, 1]], [[120, 80], [30, 10], [0, 110]],
    ...                       [1.0, 1.0])
    1.5
    """
    C = np.asarray(crimes, dtype="float64")
    Hm = np.asarray(harm, dtype="float64")
    w = np.asarray(month_weights, dtype="float64").ravel()
    if C.ndim != 2 or C.shape != Hm.shape or C.shape[1] != len(w):
        raise InputError("crimes and harm must be U x M arrays, month_weights M weights")
    if np.any(w < 0):
        raise InputError("month_weights must not be < 0")
    used = np.flatnonzero(w > 0)
    if len(used) < 2:
        return math.nan
    U = C.shape[0]
    g = np.zeros(U, dtype="int64") if group is None else np.asarray(group, dtype="int64")
    G = int(g.max()) + 1 if U else 1
    n, h = C[:, used] @ w[used], Hm[:, used] @ w[used]
    n_g, h_g = np.bincount(g, n, G), np.bincount(g, h, G)
    mu = np.divide(h_g, n_g, out=np.zeros(G), where=n_g > 0)[g]
    halves = used[::-1][0::2], used[::-1][1::2]  # newest first, dealt alternately
    (nA, hA), (nB, hB) = ((C[:, s] @ w[s], Hm[:, s] @ w[s]) for s in halves)
    both = (nA > 0) & (nB > 0)
    if not both.any():
        return math.nan
    nA, nB, hA, hB, mu = nA[both], nB[both], hA[both], hB[both], mu[both]
    o = nA * nB / (nA + nB)
    xA, xB = hA / nA, hB / nB
    cA, cB = ((w[s] ** 2).sum() / w[s].sum() for s in halves)
    t2 = float((o * (xA - mu) * (xB - mu)).sum() / o.sum())
    s2 = float((o * (xA - xB) ** 2).sum() / (o * (cA / nA + cB / nB)).sum())
    if not t2 > 0:
        return math.inf
    c = float((w[used] ** 2).sum() / w[used].sum())
    return s2 * c / t2
