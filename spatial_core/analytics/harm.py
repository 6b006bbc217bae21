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
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
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
